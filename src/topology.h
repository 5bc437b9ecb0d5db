/* topology: the repmgr.nodes rows, node naming rules (peer URLs), location scope, and the
 * topology cache file. Pure but for the cache file's read and atomic write.
 * bool: true = ok. */
#ifndef PRIMGR_TOPOLOGY_H
#define PRIMGR_TOPOLOGY_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

/* Rows beyond this make the node list invalid (a cluster is a handful of nodes; this bounds
 * memory and the O(n^2) checks against a garbage table or cache file). */
#define TOPOLOGY_MAX_NODES 1024
/* The topology cache file is never read past this size. */
#define TOPOLOGY_CACHE_MAX (1024 * 1024)

enum node_type { NODE_PRIMARY, NODE_STANDBY, NODE_WITNESS, NODE_OTHER };

/* One repmgr.nodes row plus what primgr derives from it. */
struct node {
	int id;
	char name[CONFIG_NAME_MAX];
	enum node_type type;
	bool active;
	int upstream_id;                   /* 0 = none */
	char location[CONFIG_NAME_MAX];
	int priority;
	char host[256];                    /* host from conninfo ("" if none) */
	char url[CONFIG_URL_MAX];          /* this node's primgr base URL, no trailing '/' */
	bool in_scope;                     /* votes (registered in the consensus scope) */
};

/* Builds a node from one repmgr.nodes row as text (NULL = SQL NULL):
 * node_id, node_name, type, active ('t'/'f'), upstream_node_id, location, priority, conninfo. */
bool topology_node_from_row(const char *const f[8], struct node *n, char *err, size_t errlen) WUR;

/* Expands the peer URL of n: [peers] override, else url_template with {name} (after
 * replacements and suffix), {host}, {id}. */
bool topology_peer_url(const struct config *cfg, const struct node *n, char *url, size_t size) WUR;

/* Sets in_scope and url on every node; self_location is this node's location. */
void topology_apply_rules(const struct config *cfg, struct node *nodes, size_t n, const char *self_location);

/* Checks a node list for what makes a verdict impossible (no rows, duplicate ids or names).
 * Returns false with the reason in err. */
bool topology_check(const struct node *nodes, size_t n, char *err, size_t errlen) WUR;

/* Finds a node by id (NULL if absent). */
const struct node *topology_find(const struct node *nodes, size_t n, int id);

/* The topology cache: JSON, written atomically. Read returns a malloc'd array. */
int topology_cache_write(const char *path, const struct node *nodes, size_t n) WUR;
bool topology_cache_read(const char *path, struct node **nodes, size_t *n, char *err, size_t errlen) WUR;

const char *topology_type_name(enum node_type t);

#endif

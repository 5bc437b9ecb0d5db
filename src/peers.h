/* peers: HTTP to other primgr instances through one libcurl multi handle inside libev.
 * All peers in parallel, connect and total timeouts, a capped body. Also the pure
 * parsers of their replies (fuzzed). */
#ifndef PRIMGR_PEERS_H
#define PRIMGR_PEERS_H

#include <curl/curl.h>
#include <ev.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

#define PEERS_MAX_BODY 4096

struct peer_reply {
	bool transferred;                  /* false: see error (connect, timeout, too large) */
	long http_code;
	char body[PEERS_MAX_BODY + 1];
	size_t body_len;
	int64_t ms;                        /* transfer time */
	char error[96];
};

typedef void (*peers_done_cb)(struct peer_reply *replies, size_t n, void *arg);

struct peers;

struct peers *peers_new(struct ev_loop *loop, const struct config *cfg);
void peers_reconfigure(struct peers *p, const struct config *cfg);
void peers_free(struct peers *p);

/* GETs base_url + path for each of urls[0..n) in parallel; cb runs once with all replies
 * (same order) when the last transfer ends or times out. Returns false on a setup error. */
bool peers_fetch(struct peers *p, const char *const *urls, size_t n, const char *path,
		 peers_done_cb cb, void *arg) WUR;

/* Limits an easy handle to plain HTTP and HTTPS without redirects: peer URLs come from
 * configuration, repmgr.nodes or a remote /cluster reply. */
CURLcode peers_curl_http_only(CURL *e);

/* A /primary reply that names a primary, and who gave it. */
struct primary_answer {
	char name[CONFIG_NAME_MAX];        /* the primary it names */
	int id;
	char by_name[CONFIG_NAME_MAX];     /* the node that answered ("answered_by") */
	int by_id;
};

/* Parses a /primary reply {"Primary": "name", "node_id": N, "answered_by": "name",
 * "answered_by_id": N}: NULL with *out filled, else what is wrong with it (a static string).
 * Every key is required: a vote names its node by name and id, and says who cast it, so that
 * a URL that reaches the wrong node (two rows on one URL, a typo in [peers]) casts no vote. */
const char *peers_parse_primary(const char *body, size_t len, struct primary_answer *out) WUR;

/* Parses a /state reply {"state": "Primary", "node_id": N, "node_name": "name", ...}: true
 * with the state word and the id and name of the node that answered. */
bool peers_parse_state(const char *body, size_t len, char *state, size_t ssize,
		       char *name, size_t nsize, int *id) WUR;

#endif

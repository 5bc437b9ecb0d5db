/* api: the JSON that primgr speaks, both ways. The bodies of /state, /primary, /replica,
 * /health, /cluster and /realPrimary are built here, and a peer's /primary and /state
 * replies are parsed here, each by one function with one set of rules (pure, table-tested,
 * fuzzed). Which path gets which body is http.c's route table. */
#ifndef PRIMGR_API_H
#define PRIMGR_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "consensus.h"
#include "state.h"
#include "util.h"

/* ---- bodies ---- */

/* What a read check asks for beyond the configured limits (/replica, /read-only,
 * /readiness and their query parameters). */
struct api_replica_check {
	bool include_primary;              /* the Primary passes too */
	int64_t max_lag_bytes;             /* ?lag=16MB: -1 none */
	int64_t max_lag_ms;                /* ?lag=10s: -1 none */
	bool streaming;                    /* ?replication_state=streaming */
};

/* What one request sees. */
struct api_view {
	const struct snapshot *s;
	const struct config *cfg;
	int64_t now_ms;
	enum verdict v;                    /* state_verdict at now_ms */
	const struct api_replica_check *check; /* NULL: the configured limits alone */
};

/* Each appends its JSON body to body and returns the HTTP status code, or 500 when the
 * body could not be built (body then holds a part of it: the caller resets it). */
int api_state(const struct api_view *x, struct buf *body);
int api_primary(const struct api_view *x, struct buf *body);
int api_replica(const struct api_view *x, struct buf *body);
int api_health(const struct api_view *x, struct buf *body);
int api_cluster(const struct api_view *x, struct buf *body);

/* {"error":"msg"}; msg is a fixed ASCII text. */
bool api_error(struct buf *out, const char *msg) WUR;

/* A node as /realPrimary names it. */
struct api_node_ref {
	char name[CONFIG_NAME_MAX];
	int id;
};

/* The /realPrimary body of a fan-out: {"realPrimary": name, "node_id": id} for exactly one
 * claim, else {"realPrimary": null, "candidates": [claims], "reason": reason,
 * "unreachable": [unreachable]}. A malloc'd string, NULL when out of memory (or a name is
 * not UTF-8). */
char *api_realprimary(const struct api_node_ref *claims, size_t nclaims, const char *reason,
		      const char *const *unreachable, size_t nunreachable);

/* The /realPrimary bodies without a fan-out's result (static strings). */
enum api_realprimary_unanswered {
	API_RP_NO_FANOUT,                  /* nothing in this process asks the nodes */
	API_RP_TIMED_OUT,                  /* the request's timeout ran out first */
	API_RP_NO_MEMORY,                  /* the fan-out's body could not be built */
};
const char *api_realprimary_unanswered(enum api_realprimary_unanswered why);

/* ---- a peer's replies ---- */

/* What a /primary reply says. */
enum api_primary_kind {
	API_PRIMARY_NAMES,                 /* a vote: it names a primary and who cast it */
	API_PRIMARY_NONE,                  /* {"Primary": null, "reason": "..."}: no primary */
	API_PRIMARY_MALFORMED,             /* anything else */
	API_PRIMARY_LEGACY,                /* {"Primary": "name"} without node_id, answered_by
	                                    * or answered_by_id: the Python service's form. Only
	                                    * name is set; a vote only from a legacy peer */
};

struct api_primary {
	char name[CONFIG_NAME_MAX];        /* the primary it names */
	int id;
	char by_name[CONFIG_NAME_MAX];     /* the node that answered ("answered_by") */
	int by_id;
	char reason[96];                   /* API_PRIMARY_NONE: the peer's reason (may be "") */
	const char *error;                 /* not API_PRIMARY_NAMES: why it is no vote */
	bool has_lsn;                      /* API_PRIMARY_NAMES with a valid "lsn" */
	uint64_t lsn;                      /* the answering primary's WAL position */
};

/* Parses a /primary reply. A vote {"Primary": "name", "node_id": N, "answered_by": "name",
 * "answered_by_id": N} needs every key: a vote names its node by name and id, and says who
 * cast it, so that a URL that reaches the wrong node (two rows on one URL, a typo in
 * [peers]) casts no vote. A reply with a name and none of the other three keys is
 * API_PRIMARY_LEGACY (name set, no error); one with any of them is checked in full.
 * Anything but API_PRIMARY_NAMES and API_PRIMARY_LEGACY leaves the names and ids empty.
 * Every reply is one JSON object of at most PEERS_MAX_BODY bytes, without duplicate keys,
 * NULs or trailing bytes. A vote may carry "lsn": "X/Y" (PostgreSQL's notation, hex), the
 * answering node's current WAL position when its database is a primary (what standbys
 * measure their lag against); a missing or invalid one leaves has_lsn false and the vote
 * stands. */
enum api_primary_kind api_parse_primary(const char *body, size_t len, struct api_primary *out);

/* Formats an LSN as PostgreSQL does ("0/3000060"); parses one back (strict: hex digits,
 * one '/', each part at most 8 digits). */
void api_format_lsn(uint64_t lsn, char *buf, size_t size);
bool api_parse_lsn(const char *s, size_t len, uint64_t *out) WUR;

/* A /state reply {"state": "Primary", "node_id": N, "node_name": "name", "votes": N, ...}. */
struct api_state_reply {
	enum verdict verdict;
	char name[CONFIG_NAME_MAX];        /* the node that answered */
	int id;
	bool voted;                        /* "votes" is an integer above 0 */
};

/* Parses a /state reply (the same JSON rules as api_parse_primary): true with out filled
 * when it has a state word, a node name and a node id. */
bool api_parse_state(const char *body, size_t len, struct api_state_reply *out) WUR;

#endif

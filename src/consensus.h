/* consensus: the pure rule of DESIGN.md section 3. Observations in, verdict out:
 * no I/O, no clock, no libev. */
#ifndef PRIMGR_CONSENSUS_H
#define PRIMGR_CONSENSUS_H

#include <stdbool.h>
#include <stddef.h>

#include "topology.h"

enum verdict { VERDICT_UNKNOWN, VERDICT_DOWN, VERDICT_STANDBY, VERDICT_PRIMARY };

/* What one peer's /primary said in the last round. */
enum peer_status {
	PEER_UNPOLLED,     /* self, or not in scope */
	PEER_UNREACHABLE,  /* connect/timeout/transfer error */
	PEER_BAD_REPLY,    /* non-200 (but the 503 below), oversized or malformed JSON */
	PEER_ANSWERED      /* named a primary (see named_id/named_name), or none (a 503
	                    * {"Primary":null}) */
};

struct peer_vote {
	enum peer_status status;
	int named_id;                       /* 0 when the peer names no primary */
	char named_name[CONFIG_NAME_MAX];
	int answered_id;                    /* who answered, by its own account */
	char answered_name[CONFIG_NAME_MAX];
	bool legacy;                        /* the reply had the Python service's form,
	                                     * {"Primary": name}: nobody said who answered */
	char detail[96];                    /* error text for logs */
};

struct consensus_input {
	bool stale;                         /* last good refresh older than stale_after */
	bool db_up;
	char db_error[160];
	bool in_recovery;
	int self_id;
	const char *self_name;
	const char *self_location;          /* repmgr.conf's; NULL = not checked */
	const struct node *nodes;           /* the local repmgr.nodes view, in_scope set */
	size_t nnodes;
	const struct peer_vote *votes;      /* parallel to nodes; NULL = nobody answered */
	/* [consensus] legacy_peers: node names whose legacy replies count, the URL's node
	 * taken as the answerer (a rolling migration from the Python service) */
	const char (*legacy_peers)[CONFIG_NAME_MAX];
	int nlegacy_peers;
};

struct consensus_result {
	enum verdict verdict;
	int primary_id;                     /* active primary in the local view, 0 if none/ambiguous */
	int voters;                         /* N */
	int quorum;                         /* N/2 + 1 */
	int votes;
	int legacy_votes;                   /* of votes: legacy replies of legacy_peers */
	char reason[256];
};

void consensus_decide(const struct consensus_input *in, struct consensus_result *out);

/* The local view's active primary: the one row with type primary and active; 0 when
 * there is none, -1 when there are several. */
int consensus_local_primary(const struct node *nodes, size_t n);

const char *consensus_verdict_name(enum verdict v);    /* "Primary", "Standby", "Down", "Unknown" */
int consensus_verdict_http_code(enum verdict v);       /* 200, 202, 503, 509 */

#endif

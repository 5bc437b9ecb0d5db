/* state: the immutable snapshot that every request reads, the admin state, and the
 * log line for each transition. Single-threaded: a handler formats its whole answer
 * from state_current() before returning to the loop. */
#ifndef PRIMGR_STATE_H
#define PRIMGR_STATE_H

#include <stdbool.h>
#include <stdint.h>

#include "consensus.h"
#include "topology.h"

enum admin_state { ADMIN_READY, ADMIN_DRAIN, ADMIN_MAINT };

struct node_view {
	struct node node;                  /* the row, in_scope and url set */
	struct peer_vote vote;             /* what its /primary said this round */
	int64_t reply_ms;                  /* -1 when not polled */
};

struct snapshot {
	uint64_t seq;
	int64_t made_ms;                   /* monotonic time the refresh finished */
	int64_t made_wall_ms;
	int64_t refresh_ms;                /* how long the refresh took */

	struct consensus_result c;         /* verdict, primary_id, votes, quorum, reason */
	bool db_up;
	bool in_recovery;
	bool from_cache;                   /* node list from the topology cache (DB down) */
	int timeline;
	uint64_t lsn;                      /* current WAL (primary) or last replayed (standby) */
	uint64_t receive_lsn;
	bool lag_known;
	int64_t lag_ms;                    /* replay lag; 0 when caught up */
	int64_t lag_bytes;
	int64_t lag_over_since_ms;         /* monotonic, 0 when lag <= max_lag */

	int self_id;
	char self_name[CONFIG_NAME_MAX];
	char self_location[CONFIG_NAME_MAX];
	char primary_name[CONFIG_NAME_MAX];  /* local view's active primary ("" if none) */

	size_t nnodes;
	struct node_view *nodes;
};

/* The current snapshot; never NULL (an Unknown "starting" one before the first refresh). */
const struct snapshot *state_current(void);

/* True once the first refresh has published: a whole round (the local database probed,
 * the peers answered or timed out) stands behind the snapshot. */
bool state_has_round(void);

/* Takes ownership of s (malloc'd, nodes malloc'd), replaces and frees the previous one,
 * logs a transition at notice when the verdict or the reason class changed. */
void state_publish(struct snapshot *s);

/* The verdict a request should see now: Unknown when the snapshot is older than
 * stale_after_ms. */
enum verdict state_verdict(const struct snapshot *s, int64_t now_ms, uint32_t stale_after_ms);

/* Replica weight in percent (1-100) for a standby, or 0 when it must be down for lag:
 * 100 at or below lag_full, linear down to min_weight at max_lag, min_weight above it,
 * and 0 once lag_over_since_ms is at least lag_grace old. Unknown lag (a standby that
 * cannot tell) weighs min_weight and counts as over max_lag: state_publish sets
 * lag_over_since_ms from the first such snapshot when the producer left it 0. 100 when
 * not in recovery. */
int state_replica_weight(const struct snapshot *s, const struct config *cfg, int64_t now_ms);

/* Wall clock time of the last verdict change, 0 when none yet. */
int64_t state_last_transition_wall_ms(void);

void snapshot_free(struct snapshot *s);
void state_shutdown(void);

enum admin_state state_admin(void);
/* Sets the admin state; leaving drain or maint for ready opens the ready window. */
void state_set_admin(enum admin_state a);
/* What the admin-state file said (a) and its mtime (wall ms; 0 = no file). A file that
 * says ready and was written (by primgr ctl) since it was last seen, or before this
 * process started, opens the ready window from its mtime: a restart inside the window
 * still sends ready, and `primgr ctl ready` says ready again even when already ready. */
void state_admin_seen(enum admin_state a, int64_t mtime_wall_ms);
/* True when agent replies carry "ready" at now_ms: always with send_ready = always, else
 * while the admin state is ready and it left drain/maint less than ready_window ago. */
bool state_admin_says_ready(const struct config *cfg, int64_t now_ms);
const char *state_admin_name(enum admin_state a);    /* "ready", "drain", "maint" */
bool state_admin_parse(const char *s, enum admin_state *out) WUR;
/* Reads the admin-state file (missing file = ready). */
bool state_admin_read(const char *path, enum admin_state *out, char *err, size_t errlen) WUR;
int state_admin_write(const char *path, enum admin_state a) WUR;

#endif

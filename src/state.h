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

/* Why a standby counts as lagging (the agent's and /replica's down reason). */
enum lag_cause {
	LAG_CAUSE_NONE,
	LAG_CAUSE_LAG,                     /* over max_lag or max_lag_bytes, or lag unknown */
	LAG_CAUSE_NOT_STREAMING,           /* no streaming WAL receiver for over max_lag */
	LAG_CAUSE_NO_PRIMARY_LSN,          /* the primary's LSN not learned for over max_lag */
};

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
	int64_t lag_over_since_ms;         /* monotonic: lagging since (lag model), 0 within limits */
	/* the lag model (state_lag_update): a standby measured against its primary */
	bool streaming;                    /* WAL receiver streaming */
	char receiver_status[16];          /* pg_stat_wal_receiver.status, "" none */
	uint64_t primary_lsn;              /* the primary's LSN as last learned, 0 never */
	bool lag_bytes_known;              /* lag_bytes = primary_lsn - lsn */
	enum lag_cause lag_cause;          /* set while lag_over_since_ms is */

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

/* ---- the lag model: a standby measured against the primary ---- */

/* What one refresh of a standby tells. */
struct lag_sample {
	bool streaming;                    /* pg_stat_wal_receiver status streaming */
	bool receipt_known;
	int64_t receipt_age_ms;            /* since the receiver's last message */
	uint64_t replay_lsn, receive_lsn;
	bool replay_lag_known;
	int64_t replay_lag_ms;             /* replay-timestamp lag, 0 when all received is replayed */
	bool primary_known;                /* the primary's primgr told its LSN this refresh */
	uint64_t primary_lsn;
	bool primary_legacy;               /* the primary is in legacy_peers: no LSN to learn */
};

/* What the model keeps between refreshes (zeroed: nothing known yet). */
struct lag_track {
	int64_t caught_up_ms;              /* monotonic: last known caught up, 0 never */
	uint64_t primary_lsn;              /* last learned, and when */
	int64_t primary_at_ms;
	int64_t unhealthy_since_ms;        /* not streaming or no primary LSN since; 0 fine */
	int64_t over_since_ms;
};

struct lag_result {
	bool known;                        /* time lag known (caught up once since start) */
	int64_t ms;                        /* now - last known caught up */
	bool bytes_known;
	int64_t bytes;                     /* primary LSN (last learned) - replay LSN */
	uint64_t primary_lsn;
	int64_t over_since_ms;             /* 0 when within the limits */
	enum lag_cause cause;
};

/* One refresh of a standby. Caught up at now when replay >= the primary's LSN learned
 * now; at the time an older learned LSN was learned when replay passed it; when streaming,
 * at the last message from upstream if everything received is replayed, else the
 * replay-timestamp lag ago. Lagging (over_since set) when the time lag is over max_lag,
 * the byte lag over max_lag_bytes (when set), the lag unknown, or the standby has not
 * been streaming (or could not learn the primary's LSN) for longer than max_lag. */
void state_lag_update(struct lag_track *t, const struct lag_sample *in,
		      const struct config *cfg, int64_t now_ms, struct lag_result *out);

/* "lag" or "not-streaming": the agent's down reason for a standby out for lag. */
const char *state_lag_reason(const struct snapshot *s);

/* Replica weight in percent (1-100) for a standby, or 0 when it must be down for lag:
 * 100 at or below lag_full, linear down to min_weight at max_lag, min_weight above it,
 * and 0 once lag_over_since_ms is at least lag_grace old. Unknown lag (a standby that
 * cannot tell) weighs min_weight and counts as over max_lag: state_publish sets
 * lag_over_since_ms from the first such snapshot when the producer left it 0. With
 * max_lag_bytes and a known byte lag, the same curve on bytes (full weight up to
 * max_lag_bytes * lag_full / max_lag) and the lower weight counts; lagging for any
 * cause (lag_over_since_ms set) weighs min_weight until lag_grace. 100 when not in
 * recovery. */
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

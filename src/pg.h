/* pg: the local PostgreSQL through async libpq inside libev. Persistent connections
 * (at most pool_size), reconnect with backoff, every step bounded by db_timeout.
 * No call here blocks the loop. */
#ifndef PRIMGR_PG_H
#define PRIMGR_PG_H

#include <ev.h>
#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "topology.h"

/* The result of one probe of the local database. */
struct pg_probe {
	bool ok;                           /* false: see error */
	char error[160];
	bool in_recovery;
	int timeline;
	uint64_t lsn;                      /* pg_current_wal_lsn() or pg_last_wal_replay_lsn() */
	uint64_t receive_lsn;              /* standby only */
	bool lag_known;
	int64_t lag_ms;                    /* 0 when everything received is replayed */
	int64_t lag_bytes;                 /* received but not replayed */
	bool receiver;                     /* standby: a WAL receiver runs */
	bool streaming;                    /* its status is streaming (or hidden: see pg.c) */
	char receiver_status[16];          /* pg_stat_wal_receiver.status, "" when none */
	bool receipt_known;
	int64_t receipt_age_ms;            /* since its last message from upstream */
	bool nodes_ok;                     /* repmgr.nodes read (false: see nodes_error) */
	char nodes_error[160];
	bool nodes_invalid;                /* read, but a row is invalid: no old list stands in */
	struct node *nodes;                /* malloc'd; caller frees */
	size_t nnodes;
};

typedef void (*pg_probe_cb)(struct pg_probe *probe, void *arg);

struct pg;

/* conninfo: the local database; application_name and statement_timeout are added. */
struct pg *pg_new(struct ev_loop *loop, const struct config *cfg, const char *conninfo);
/* Starts one probe; cb is called exactly once (from the loop, never from inside pg_probe).
 * Returns false when a probe is already running. */
bool pg_probe(struct pg *pg, pg_probe_cb cb, void *arg) WUR;
/* Applies reloadable settings (timeouts). */
void pg_reconfigure(struct pg *pg, const struct config *cfg);
/* Closes every connection; a running probe's callback is not called. */
void pg_free(struct pg *pg);
/* Connections currently open (for metrics and tests). */
int pg_connections(const struct pg *pg);

/* The probe's status row: fields as text, NULL for SQL NULL (rec, timeline, lsn,
 * receive_lsn, lag_ms, lag_bytes, receiver status, ms since the receiver's last message).
 * Fills p (ok true) or p->error. Pure, for tests. */
#define PG_STATUS_FIELDS 8
bool pg_parse_status_row(const char *const *f, int nfields, struct pg_probe *p) WUR;

/* Counters since pg_new (for metrics and logs). */
struct pg_stats {
	uint64_t probes, probes_failed;
	uint64_t connects, connects_failed;  /* attempts that reached / did not reach the DB */
	uint64_t timeouts;                   /* steps that ran past db_timeout */
	uint64_t closed;                     /* connections closed after an error or by the server */
	uint32_t backoff_ms;                 /* current reconnect backoff, 0 when none */
};
void pg_get_stats(const struct pg *pg, struct pg_stats *out);

#endif

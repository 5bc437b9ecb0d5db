/* realprimary: /realPrimary. Every other known node's /state (all locations; witnesses
 * are never Primary and are skipped) in one fan-out shared by every request that arrives
 * meanwhile, this node's own verdict, the answer, and the count of nodes claiming Primary
 * that the metrics show. */
#ifndef PRIMGR_REALPRIMARY_H
#define PRIMGR_REALPRIMARY_H

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include "config.h"
#include "identity.h"
#include "topology.h"

struct realprimary_result {
	int code;                          /* 200 exactly one Primary, else 503 */
	const char *body;                  /* JSON, valid during the callback */
};

struct rp_waiter;
TAILQ_HEAD(rp_waiters, rp_waiter);

/* A request (or the metrics scrape) waiting for an answer. Its owner sets cb. */
struct rp_waiter {
	TAILQ_ENTRY(rp_waiter) entry;
	struct rp_waiters *list;           /* the list it is on, NULL when on none */
	void (*cb)(struct rp_waiter *w, const struct realprimary_result *r);
};

/* Fan-outs ask the nodes of refresh_known_nodes through refresh_peers (refresh_start
 * first); this node answers for itself as id, from its current snapshot. */
void realprimary_start(struct ev_loop *loop, const struct config *cfg, const struct identity *id);
void realprimary_reconfigure(const struct config *cfg);
/* Drops every waiter unanswered (their connections close with the server). */
void realprimary_stop(void);

/* Queues w for the running fan-out, or starts one. Its cb runs once, from the loop; at
 * once (a 503) when nothing in this process asks the nodes. */
void realprimary_wait(struct rp_waiter *w);
bool realprimary_waiting(const struct rp_waiter *w);
/* Takes w off its list unanswered (its connection closed); nothing when not waiting. */
void realprimary_cancel(struct rp_waiter *w);
/* Takes w off its list and answers it at once with the 503 of a fan-out that took too
 * long (the request's own timeout). */
void realprimary_give_up(struct rp_waiter *w);

/* For the metrics scrape: starts a fan-out when the scrape's own waiter is not waiting
 * for one and the last ended over interval_ms ago, so that the claims stay fresh while
 * Prometheus scrapes, even if nobody else asks /realPrimary (the scrape shows the
 * previous round's count). */
void realprimary_scrape(uint32_t interval_ms);
/* Nodes claiming Primary in the last fan-out (saying Primary, or Unknown with their own
 * vote), -1 before the first; *wall_ms when it ended (0 none yet). */
int realprimary_claims(int64_t *wall_ms);

/* ---- for unit tests ---- */

/* Fan-outs call ask instead of asking the nodes; ask ends each with realprimary_deliver.
 * NULL: as before realprimary_start (a 503 at once). */
void realprimary_fake(void (*ask)(void));
/* Ends the running fan-out: records claims (unless negative), answers every waiter with
 * code and body and returns how many it answered. */
size_t realprimary_deliver(int code, const char *body, int claims);

struct realprimary_counts {
	uint64_t answered;                 /* waiters answered by a fan-out */
	uint64_t cancelled;                /* taken off unanswered, or given up */
	size_t waiting;                    /* on a list now */
};
void realprimary_counts(struct realprimary_counts *out);

#endif

/* refresh: the cycle. Every refresh_interval: probe the local database (pg), derive the
 * node list and peer URLs (topology), ask the peers' /primary (peers), decide
 * (consensus) and publish the snapshot (state). Also /realPrimary's shared fan-out. */
#ifndef PRIMGR_REFRESH_H
#define PRIMGR_REFRESH_H

#include <ev.h>
#include <stdbool.h>

#include "config.h"
#include "identity.h"
#include "topology.h"

struct refresh;

bool refresh_start(struct ev_loop *loop, const struct config *cfg, const struct identity *id,
		   char *err, size_t errlen) WUR;
void refresh_reconfigure(const struct config *cfg);
void refresh_stop(void);

/* /realPrimary: every known node's /state (all locations), one fan-out shared by every
 * concurrent request. The waiter's cb runs once, from the loop. */
struct realprimary_result {
	int code;                          /* 200 exactly one Primary, else 503 */
	const char *body;                  /* JSON, valid during the callback */
};

struct rp_waiter {
	struct rp_waiter *next, *prev;
	void (*cb)(struct rp_waiter *w, const struct realprimary_result *r);
};

void refresh_real_primary(struct rp_waiter *w);
/* Removes a waiter whose connection closed first (no-op if already answered). */
void refresh_real_primary_cancel(struct rp_waiter *w);

#endif

/* refresh: the cycle. Every refresh_interval: probe the local database (pg), derive the
 * node list and peer URLs (topology), ask the peers' /primary (peers), decide
 * (consensus) and publish the snapshot (state). Also the node list for /realPrimary. */
#ifndef PRIMGR_REFRESH_H
#define PRIMGR_REFRESH_H

#include <ev.h>
#include <stdbool.h>

#include "config.h"
#include "identity.h"
#include "topology.h"

struct peers;

bool refresh_start(struct ev_loop *loop, const struct config *cfg, const struct identity *id,
		   char *err, size_t errlen) WUR;
void refresh_reconfigure(const struct config *cfg);
void refresh_stop(void);

/* Every known node (the last rows read, else the topology cache's) with the current
 * naming and scope rules applied: a malloc'd copy, or NULL with *n 0 when none is known
 * (or out of memory). */
struct node *refresh_known_nodes(size_t *n);
/* The libcurl multi the cycle asks its peers through, shared with /realPrimary's fan-out;
 * NULL before refresh_start. */
struct peers *refresh_peers(void);

#endif

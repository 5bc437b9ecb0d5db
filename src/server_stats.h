/* server_stats: server.c's counters (connections and agent answers), read by metrics.c
 * when scraped. */
#ifndef PRIMGR_SERVER_STATS_H
#define PRIMGR_SERVER_STATS_H

#include <stdint.h>

struct server_stats {
	uint64_t agent_up, agent_down, agent_drain, agent_maint;
	uint64_t conns_accepted, conns_rejected, conns_timed_out;
	uint64_t conns_denied;             /* [http] allow: closed at accept */
	uint64_t tls_handshake_failures;   /* failed or timed out */
	int64_t conns_current;
};

/* Since the start of the process; never NULL. */
const struct server_stats *server_stats(void);

#endif

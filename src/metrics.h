/* metrics: process-wide counters and the Prometheus text exposition (format 0.0.4). */
#ifndef PRIMGR_METRICS_H
#define PRIMGR_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "util.h"

enum metrics_endpoint {
	EP_STATE, EP_PRIMARY, EP_REALPRIMARY, EP_REPLICA, EP_HEALTH, EP_CLUSTER, EP_METRICS,
	EP_OPTIONS, EP_OTHER, EP_COUNT
};

#define METRICS_REFRESH_BUCKETS 10
/* The status codes primgr can send, counted one by one (see metrics_code_index); the
 * last slot counts anything else. */
#define METRICS_HTTP_CODES 14

struct metrics {
	uint64_t http_requests[EP_COUNT][METRICS_HTTP_CODES];
	uint64_t agent_up, agent_down, agent_drain, agent_maint;
	uint64_t conns_accepted, conns_rejected, conns_timed_out;
	int64_t conns_current;
	uint64_t refresh_count;
	uint64_t refresh_bucket[METRICS_REFRESH_BUCKETS + 1];  /* cumulative at write time */
	double refresh_sum_s;
	int64_t last_transition_wall_ms;
	int64_t start_wall_ms;                 /* first metrics_note_config */
	bool reload_failed;                    /* the last reload's file was refused */
	int64_t config_ok_wall_ms;             /* last successful load (start or reload) */
	uint64_t reloads_ok, reloads_failed;
};

extern struct metrics metrics;

void metrics_count_http(enum metrics_endpoint ep, int code);
/* Slot of a status code in http_requests (METRICS_HTTP_CODES - 1 for any other code),
 * and back (0 for the "other" slot). */
int metrics_code_index(int code);
int metrics_code_at(int index);
/* Counts one agent reply line by its effective word (maint, drain, up or down). */
void metrics_count_agent(const char *line);
void metrics_observe_refresh(int64_t ms);
/* A configuration load: the first call is the start, later ones SIGHUP reloads. */
void metrics_note_config(bool ok);
/* Appends the exposition of every metric (uses the current snapshot); may start a
 * /realPrimary fan-out (realprimary_scrape) so that the next scrape's claims are fresh. */
bool metrics_format(struct buf *out, const struct config *cfg, int64_t now_ms) WUR;

#endif

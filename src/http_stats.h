/* http_stats: http.c's count of responses by endpoint and status code, read by metrics.c
 * when scraped. */
#ifndef PRIMGR_HTTP_STATS_H
#define PRIMGR_HTTP_STATS_H

#include <stdint.h>

enum http_endpoint {
	EP_STATE, EP_PRIMARY, EP_REALPRIMARY, EP_REPLICA, EP_HEALTH, EP_CLUSTER, EP_METRICS,
	EP_UI, EP_OPTIONS, EP_OTHER, EP_COUNT
};

/* The status codes primgr can send, counted one by one (see http_code_index); the last
 * slot counts anything else. */
#define HTTP_STATS_CODES 14

struct http_stats {
	uint64_t requests[EP_COUNT][HTTP_STATS_CODES];
};

/* Since the start of the process; never NULL. */
const struct http_stats *http_stats(void);
/* Counts one response (an endpoint out of range counts as EP_OTHER). */
void http_count_response(enum http_endpoint ep, int code);
/* Slot of a status code in requests (HTTP_STATS_CODES - 1 for any other code), and back
 * (0 for the "other" slot). */
int http_code_index(int code);
int http_code_at(int index);

#endif

/* refresh_stats: refresh.c's histogram of refresh cycle durations, read by metrics.c
 * when scraped. */
#ifndef PRIMGR_REFRESH_STATS_H
#define PRIMGR_REFRESH_STATS_H

#include <stdint.h>

#define REFRESH_STATS_BUCKETS 10

struct refresh_stats {
	uint64_t count;
	uint64_t bucket[REFRESH_STATS_BUCKETS + 1]; /* per bucket; cumulative when written */
	double sum_s;
};

/* Upper bounds of the buckets, in milliseconds. */
extern const int64_t refresh_stats_bounds_ms[REFRESH_STATS_BUCKETS];

/* Since the start of the process; never NULL. */
const struct refresh_stats *refresh_stats(void);
/* Counts one finished cycle of ms milliseconds (the refresh cycle's own call; tests). */
void refresh_stats_observe(int64_t ms);

#endif

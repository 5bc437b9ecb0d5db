/* helpers.h: small helpers more than one unit test needs.
 *   test_config(cfg)       the daemon's defaults with the lag and replica settings the
 *                          agent and HTTP tests expect (test_agent.c, test_http.c)
 *   struct gap_tick        a 10 ms ev_timer that records the longest gap between its ticks,
 *                          so that a stalled loop shows (test_peers.c, test_pg.c):
 *                          gap_tick_start(loop, &t) ... t.max_gap_ms ... gap_tick_stop(loop, &t);
 *                          t.next_gap_ms is the second longest (one stall of a loaded machine
 *                          aside: a loop blocked on a call stalls every time it makes it)
 *   t_within(ms)           a latency bound judged by a test, times the scale of the
 *                          integration tests (PRIMGR_TEST_TIMEOUT_SCALE, else 3 under
 *                          PRIMGR_TEST_STRESS=1, else 1: tests/lib/cluster.sh's `within`) */
#ifndef PRIMGR_TEST_HELPERS_H
#define PRIMGR_TEST_HELPERS_H

#include <ev.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "util.h"

__attribute__((unused)) static void test_config(struct config *cfg)
{
	config_defaults(cfg);
	cfg->replica_include_primary = false;
	cfg->stale_after_ms = 5000;
	cfg->lag_full_ms = 5000;
	cfg->max_lag_ms = 30000;
	cfg->lag_grace_ms = 10000;
	cfg->min_weight = 10;
}

__attribute__((unused)) static int64_t t_within(int64_t ms)
{
	const char *scale = getenv("PRIMGR_TEST_TIMEOUT_SCALE"),
	           *stress = getenv("PRIMGR_TEST_STRESS");
	double k = 1;

	if (scale && *scale)
		k = strtod(scale, NULL);
	else if (stress && strcmp(stress, "1") == 0)
		k = 3;
	return k > 0 ? (int64_t)((double)ms * k) : ms;
}

struct gap_tick {
	ev_timer w;
	int64_t last_ms, max_gap_ms, next_gap_ms;
};

__attribute__((unused)) static void gap_tick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct gap_tick *t = container_of(w, struct gap_tick, w);
	int64_t now = util_now_ms();

	(void)loop;
	(void)revents;
	if (t->last_ms && now - t->last_ms > t->max_gap_ms) {
		t->next_gap_ms = t->max_gap_ms;
		t->max_gap_ms = now - t->last_ms;
	} else if (t->last_ms && now - t->last_ms > t->next_gap_ms) {
		t->next_gap_ms = now - t->last_ms;
	}
	t->last_ms = now;
}

/* Starts (or restarts) the 10 ms timer with a fresh record. */
__attribute__((unused)) static void gap_tick_start(struct ev_loop *loop, struct gap_tick *t)
{
	t->last_ms = 0;
	t->max_gap_ms = 0;
	t->next_gap_ms = 0;
	ev_timer_init(&t->w, gap_tick_cb, 0.01, 0.01);
	ev_timer_start(loop, &t->w);
}

__attribute__((unused)) static void gap_tick_stop(struct ev_loop *loop, struct gap_tick *t)
{
	ev_timer_stop(loop, &t->w);
}

#endif

/* agent: every verdict x role x admin state -> the exact line haproxy reads; replica
 * weights at the lag boundaries and the grace time; agent-send parsing; the admin file
 * and the snapshot store (transition logging). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "log.h"
#include "state.h"
#include "helpers.h"
#include "t.h"

#define NOW 1000000   /* a monotonic "now" in ms for the snapshots */

/* The shipped defaults, with the lag settings the cases below are written for. */
static struct snapshot *snap(enum verdict v, int64_t made_ms)
{
	struct snapshot *s = calloc(1, sizeof(*s));

	s->made_ms = made_ms;
	s->c.verdict = v;
	snprintf(s->c.reason, sizeof(s->c.reason), "test %s", consensus_verdict_name(v));
	s->db_up = v != VERDICT_DOWN;
	s->in_recovery = v == VERDICT_STANDBY;
	s->lag_known = true;
	s->self_id = 1;
	snprintf(s->self_name, sizeof(s->self_name), "node1");
	return s;
}

static const char *line_for(const struct snapshot *s, enum admin_state a, enum role r,
			    const struct config *cfg, int64_t now)
{
	static char buf[AGENT_MAX_LINE];
	size_t n = agent_format(s, a, false, r, cfg, now, buf, sizeof(buf));

	if (n != strlen(buf))
		return "(length mismatch)";
	return buf;
}

static void test_table(void)
{
	static const struct {
		enum verdict v;
		enum role r;
		enum admin_state a;
		bool include_primary;
		const char *want;
	} cases[] = {
		{ VERDICT_PRIMARY, ROLE_PRIMARY, ADMIN_READY, false, "up\n" },
		{ VERDICT_PRIMARY, ROLE_REPLICA, ADMIN_READY, false, "down #primary\n" },
		{ VERDICT_PRIMARY, ROLE_REPLICA, ADMIN_READY, true, "up 100%\n" },
		{ VERDICT_STANDBY, ROLE_PRIMARY, ADMIN_READY, false, "down #standby\n" },
		{ VERDICT_STANDBY, ROLE_REPLICA, ADMIN_READY, false, "up 100%\n" },
		{ VERDICT_UNKNOWN, ROLE_PRIMARY, ADMIN_READY, false, "down #unknown\n" },
		{ VERDICT_UNKNOWN, ROLE_REPLICA, ADMIN_READY, false, "down #unknown\n" },
		{ VERDICT_DOWN, ROLE_PRIMARY, ADMIN_READY, false, "down #db-down\n" },
		{ VERDICT_DOWN, ROLE_REPLICA, ADMIN_READY, false, "down #db-down\n" },

		{ VERDICT_PRIMARY, ROLE_PRIMARY, ADMIN_DRAIN, false, "drain\n" },
		{ VERDICT_PRIMARY, ROLE_REPLICA, ADMIN_DRAIN, false, "down drain #primary\n" },
		{ VERDICT_PRIMARY, ROLE_REPLICA, ADMIN_DRAIN, true, "drain\n" },
		{ VERDICT_STANDBY, ROLE_PRIMARY, ADMIN_DRAIN, false, "down drain #standby\n" },
		{ VERDICT_STANDBY, ROLE_REPLICA, ADMIN_DRAIN, false, "drain\n" },
		{ VERDICT_UNKNOWN, ROLE_PRIMARY, ADMIN_DRAIN, false, "down drain #unknown\n" },
		{ VERDICT_UNKNOWN, ROLE_REPLICA, ADMIN_DRAIN, false, "down drain #unknown\n" },
		{ VERDICT_DOWN, ROLE_PRIMARY, ADMIN_DRAIN, false, "down drain #db-down\n" },
		{ VERDICT_DOWN, ROLE_REPLICA, ADMIN_DRAIN, false, "down drain #db-down\n" },

		{ VERDICT_PRIMARY, ROLE_PRIMARY, ADMIN_MAINT, false, "maint\n" },
		{ VERDICT_PRIMARY, ROLE_REPLICA, ADMIN_MAINT, false, "maint\n" },
		{ VERDICT_STANDBY, ROLE_PRIMARY, ADMIN_MAINT, false, "maint\n" },
		{ VERDICT_STANDBY, ROLE_REPLICA, ADMIN_MAINT, false, "maint\n" },
		{ VERDICT_UNKNOWN, ROLE_PRIMARY, ADMIN_MAINT, false, "maint\n" },
		{ VERDICT_UNKNOWN, ROLE_REPLICA, ADMIN_MAINT, false, "maint\n" },
		{ VERDICT_DOWN, ROLE_PRIMARY, ADMIN_MAINT, false, "maint\n" },
		{ VERDICT_DOWN, ROLE_REPLICA, ADMIN_MAINT, false, "maint\n" },

		/* A listener of role send never formats: it parses a line first. */
		{ VERDICT_PRIMARY, ROLE_SEND, ADMIN_READY, false, AGENT_BAD_REQUEST },
	};
	static const char *admin_names[] = { "ready", "drain", "maint" };
	static const char *role_names[] = { "primary", "replica", "send" };
	struct config cfg;
	char name[160];

	test_config(&cfg);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct snapshot *s = snap(cases[i].v, NOW - 100);
		cfg.replica_include_primary = cases[i].include_primary;
		snprintf(name, sizeof(name), "%s, role %s, admin %s%s",
			 consensus_verdict_name(cases[i].v), role_names[cases[i].r],
			 admin_names[cases[i].a],
			 cases[i].include_primary ? ", include_primary" : "");
		T_EQ_STR(line_for(s, cases[i].a, cases[i].r, &cfg, NOW), cases[i].want, name);
		snapshot_free(s);
	}
}

static void test_stale(void)
{
	struct config cfg;
	struct snapshot *s = snap(VERDICT_PRIMARY, NOW - 5000);

	test_config(&cfg);
	T_EQ_STR(line_for(s, ADMIN_READY, ROLE_PRIMARY, &cfg, NOW), "up\n",
		 "Primary exactly stale_after old is still Primary");
	T_EQ_STR(line_for(s, ADMIN_READY, ROLE_PRIMARY, &cfg, NOW + 1), "down #unknown\n",
		 "Primary older than stale_after: down #unknown");
	T_EQ_INT(state_verdict(s, NOW + 1, cfg.stale_after_ms), VERDICT_UNKNOWN,
		 "state_verdict: stale is Unknown");
	T_EQ_INT(state_verdict(state_current(), NOW, cfg.stale_after_ms), VERDICT_UNKNOWN,
		 "the starting snapshot is Unknown");
	snapshot_free(s);
}

static void test_weights(void)
{
	static const struct {
		int64_t lag_ms;
		int64_t over_for_ms;   /* -1: lag_over_since_ms = 0 */
		int want;
		const char *line;
	} cases[] = {
		{ 0, -1, 100, "up 100%\n" },
		{ 5000, -1, 100, "up 100%\n" },       /* at lag_full */
		{ 5001, -1, 100, "up 100%\n" },       /* rounds to 100 */
		{ 5300, -1, 99, "up 99%\n" },
		{ 17500, -1, 55, "up 55%\n" },        /* halfway: 100 - 90/2, rounded */
		{ 29999, -1, 10, "up 10%\n" },
		{ 30000, -1, 10, "up 10%\n" },        /* at max_lag: min_weight */
		{ 45000, 0, 10, "up 10%\n" },         /* over max_lag, grace just started */
		{ 45000, 9999, 10, "up 10%\n" },      /* still within lag_grace */
		{ 45000, 10000, 0, "down #lag\n" },         /* grace over */
		{ 45000, 60000, 0, "down #lag\n" },
		{ 45000, -1, 10, "up 10%\n" },        /* over, but no since: stays up */
	};
	struct config cfg;
	char name[128];

	test_config(&cfg);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct snapshot *s = snap(VERDICT_STANDBY, NOW - 10);
		s->lag_ms = cases[i].lag_ms;
		s->lag_over_since_ms = cases[i].over_for_ms < 0 ? 0 : NOW - cases[i].over_for_ms;
		snprintf(name, sizeof(name), "lag %lld ms, over max_lag for %lld ms: weight %d",
			 (long long)cases[i].lag_ms, (long long)cases[i].over_for_ms,
			 cases[i].want);
		T_EQ_INT(state_replica_weight(s, &cfg, NOW), cases[i].want, name);
		T_EQ_STR(line_for(s, ADMIN_READY, ROLE_REPLICA, &cfg, NOW), cases[i].line, name);
		snapshot_free(s);
	}

	/* min_weight outside 1-100 is clamped: never 0 (that would be down) */
	cfg.min_weight = 0;
	{
		struct snapshot *s = snap(VERDICT_STANDBY, NOW - 10);
		s->lag_ms = 30000;
		T_EQ_INT(state_replica_weight(s, &cfg, NOW), 1, "min_weight 0 clamps to 1%");
		snapshot_free(s);
	}
	/* max_lag at or below lag_full (validation should refuse it): a step, no division */
	test_config(&cfg);
	cfg.max_lag_ms = cfg.lag_full_ms;
	{
		struct snapshot *s = snap(VERDICT_STANDBY, NOW - 10);
		s->lag_ms = 5001;
		T_EQ_INT(state_replica_weight(s, &cfg, NOW), 10, "max_lag == lag_full: a step");
		snapshot_free(s);
	}
}

/* Unknown lag on a standby: min_weight, then down #lag once it has been unknown for
 * lag_grace (state_publish remembers since when). */
static void test_unknown_lag(void)
{
	struct config cfg;
	struct snapshot *s;

	test_config(&cfg);
	s = snap(VERDICT_STANDBY, NOW);
	s->lag_known = false;
	state_publish(s);
	T_EQ_INT(state_current()->lag_over_since_ms, NOW, "unknown lag: since set at publish");
	T_EQ_STR(line_for(state_current(), ADMIN_READY, ROLE_REPLICA, &cfg, NOW + 1000),
		 "up 10%\n", "unknown lag within grace: min_weight");

	s = snap(VERDICT_STANDBY, NOW + 8000);
	s->lag_known = false;
	state_publish(s);
	T_EQ_INT(state_current()->lag_over_since_ms, NOW, "unknown lag again: since carried over");
	T_EQ_STR(line_for(state_current(), ADMIN_READY, ROLE_REPLICA, &cfg, NOW + 9999),
		 "up 10%\n", "unknown lag 9999 ms: still up");
	T_EQ_STR(line_for(state_current(), ADMIN_READY, ROLE_REPLICA, &cfg, NOW + 10000),
		 "down #lag\n", "unknown lag for lag_grace: down #lag");

	s = snap(VERDICT_STANDBY, NOW + 9000);
	s->lag_ms = 100;
	state_publish(s);
	T_EQ_INT(state_current()->lag_over_since_ms, 0, "known lag again: since cleared");
	T_EQ_STR(line_for(state_current(), ADMIN_READY, ROLE_REPLICA, &cfg, NOW + 10000),
		 "up 100%\n", "known small lag: up 100%");

	s = snap(VERDICT_STANDBY, NOW + 9500);
	s->lag_known = false;
	s->lag_over_since_ms = NOW - 50000;
	state_publish(s);
	T_EQ_INT(state_current()->lag_over_since_ms, NOW - 50000,
		 "a producer's lag_over_since_ms is kept");
	state_shutdown();
}

#define N LAG_CAUSE_NONE
#define L LAG_CAUSE_LAG
#define NS LAG_CAUSE_NOT_STREAMING
#define NP LAG_CAUSE_NO_PRIMARY_LSN

/* The lag model: one standby over a few refreshes (state_lag_update), and what its
 * snapshot then weighs and says. max_lag 3s, lag_grace 2s, lag_full 1s. */
struct lag_step {
	int64_t t;                         /* ms since the start */
	bool streaming;
	int64_t receipt_age;               /* -1 unknown */
	uint64_t replay, receive;
	int64_t replay_lag;                /* -1 unknown */
	int64_t primary;                   /* -1: not learned this refresh; -2: a legacy primary */
	/* expected */
	bool known;
	int64_t ms;
	int64_t bytes;                     /* -1: not known */
	enum lag_cause cause;
	int64_t over_since;                /* -1: 0 (not lagging) */
	const char *line;                  /* the replica agent line */
};

static void run_lag_steps(const char *what, const struct lag_step *st, size_t n,
			  int64_t max_lag_bytes)
{
	struct config cfg;
	struct lag_track t = {0};
	char name[160];

	test_config(&cfg);
	cfg.lag_full_ms = 1000;
	cfg.max_lag_ms = 3000;
	cfg.lag_grace_ms = 2000;
	cfg.max_lag_bytes = max_lag_bytes;
	for (size_t i = 0; i < n; i++) {
		const struct lag_step *x = &st[i];
		struct lag_sample in = {
			.streaming = x->streaming,
			.receipt_known = x->receipt_age >= 0,
			.receipt_age_ms = x->receipt_age,
			.replay_lsn = x->replay,
			.receive_lsn = x->receive,
			.replay_lag_known = x->replay_lag >= 0,
			.replay_lag_ms = x->replay_lag,
			.primary_known = x->primary >= 0,
			.primary_lsn = x->primary >= 0 ? (uint64_t)x->primary : 0,
			.primary_legacy = x->primary == -2,
		};
		struct lag_result out;
		struct snapshot *s = snap(VERDICT_STANDBY, NOW + x->t);

		state_lag_update(&t, &in, &cfg, NOW + x->t, &out);
		snprintf(name, sizeof(name), "%s, t=%lld: lag %s%lld ms, %lld bytes, cause %d, since %lld",
			 what, (long long)x->t, x->known ? "" : "unknown ", (long long)x->ms,
			 (long long)x->bytes, (int)x->cause, (long long)x->over_since);
		T_OK(out.known == x->known && (!x->known || out.ms == x->ms) &&
			     out.bytes_known == (x->bytes >= 0) && (x->bytes < 0 || out.bytes == x->bytes) &&
			     out.cause == x->cause &&
			     out.over_since_ms == (x->over_since < 0 ? 0 : NOW + x->over_since),
		     name);
		if (out.known != x->known || out.ms != x->ms || out.cause != x->cause ||
		    out.over_since_ms != (x->over_since < 0 ? 0 : NOW + x->over_since))
			printf("#   got known %d ms %lld bytes %lld cause %d since %lld\n", out.known,
			       (long long)out.ms, (long long)out.bytes, (int)out.cause,
			       (long long)(out.over_since_ms ? out.over_since_ms - NOW : -1));
		s->lag_known = out.known;
		s->lag_ms = out.ms;
		s->lag_bytes_known = out.bytes_known;
		s->lag_bytes = out.bytes;
		s->lag_over_since_ms = out.over_since_ms;
		s->lag_cause = out.cause;
		s->streaming = x->streaming;
		T_EQ_STR(line_for(s, ADMIN_READY, ROLE_REPLICA, &cfg, NOW + x->t), x->line, name);
		snapshot_free(s);
	}
}

static void test_lag_model(void)
{
	/* idle: nothing written, streaming, replay at the primary's LSN: always fresh */
	static const struct lag_step idle[] = {
		{ 0, true, 20000, 500, 500, 0, 500, true, 0, 0, N, -1, "up 100%\n" },
		{ 4000, true, 24000, 500, 500, 0, 500, true, 0, 0, N, -1, "up 100%\n" },
		{ 9000, true, 29000, 500, 500, 0, 500, true, 0, 0, N, -1, "up 100%\n" },
	};
	/* writes, streaming: the primary is ahead by what is in flight; fresh by the receipt */
	static const struct lag_step writing[] = {
		{ 0, true, 100, 500, 500, 0, 900, true, 100, 400, N, -1, "up 100%\n" },
		{ 1000, true, 50, 1500, 1500, 0, 1700, true, 50, 200, N, -1, "up 100%\n" },
		/* replay behind what was received (timestamp lag 2s), but it was known caught up
		 * at t=950: the time since then counts */
		{ 2000, true, 50, 1600, 2500, 2000, 2600, true, 1050, 1000, N, -1, "up 98%\n" },
		{ 3000, true, 50, 2600, 2600, 0, 2700, true, 50, 100, N, -1, "up 100%\n" },
	};
	/* the receiver stops at t=0 (primary_conninfo broken), the primary keeps writing */
	static const struct lag_step stopped[] = {
		{ 0, true, 10, 1000, 1000, 0, 1000, true, 0, 0, N, -1, "up 100%\n" },
		{ 500, false, -1, 1000, 1000, 0, 1200, true, 500, 200, N, -1, "up 100%\n" },
		{ 2000, false, -1, 1000, 1000, 0, 1500, true, 2000, 500, N, -1, "up 55%\n" },
		/* the time lag crosses max_lag first (at 3001), then not streaming for max_lag
		 * (since 500) names the cause */
		{ 3500, false, -1, 1000, 1000, 0, 1900, true, 3500, 900, L, 3001, "up 10%\n" },
		{ 4900, false, -1, 1000, 1000, 0, 2400, true, 4900, 1400, NS, 3001, "up 10%\n" },
		{ 5001, false, -1, 1000, 1000, 0, 2500, true, 5001, 1500, NS, 3001,
		  "down #not-streaming\n" },
		/* streaming again, caught up with what it receives: back at once */
		{ 6000, true, 10, 2600, 2600, 0, 2600, true, 0, 0, N, -1, "up 100%\n" },
	};
	/* not streaming but nothing written: still lagging after max_lag (it would not see
	 * writes), down after lag_grace */
	static const struct lag_step idle_stopped[] = {
		{ 0, false, -1, 700, 700, 0, 700, true, 0, 0, N, -1, "up 100%\n" },
		{ 3000, false, -1, 700, 700, 0, 700, true, 0, 0, N, -1, "up 100%\n" },
		{ 3500, false, -1, 700, 700, 0, 700, true, 0, 0, NS, 3001, "up 10%\n" },
		{ 5001, false, -1, 700, 700, 0, 700, true, 0, 0, NS, 3001, "down #not-streaming\n" },
	};
	/* streaming, but the primary's primgr does not answer: its LSN last learned at t=0 */
	static const struct lag_step no_primary[] = {
		{ 0, true, 10, 800, 800, 0, 800, true, 0, 0, N, -1, "up 100%\n" },
		{ 2000, true, 10, 900, 900, 0, -1, true, 10, 0, N, -1, "up 100%\n" },
		{ 3500, true, 10, 950, 950, 0, -1, true, 10, 0, N, -1, "up 100%\n" },
		{ 5500, true, 10, 970, 970, 0, -1, true, 10, 0, NP, 5001, "up 10%\n" },
		{ 7001, true, 10, 990, 990, 0, -1, true, 10, 0, NP, 5001, "down #lag\n" },
		{ 7500, true, 10, 1000, 1000, 0, 1000, true, 0, 0, N, -1, "up 100%\n" },
	};
	/* says streaming, but nothing arrives (a silent upstream): the receipt ages */
	static const struct lag_step silent[] = {
		{ 0, true, 0, 400, 400, 0, 400, true, 0, 0, N, -1, "up 100%\n" },
		{ 2000, true, 2000, 400, 400, 0, 600, true, 2000, 200, N, -1, "up 55%\n" },
		{ 4000, true, 4000, 400, 400, 0, 800, true, 4000, 400, L, 3001, "up 10%\n" },
		{ 5001, true, 5001, 400, 400, 0, 900, true, 5001, 500, L, 3001, "down #lag\n" },
	};
	/* a fresh process on a standby that is neither streaming nor caught up: lag unknown,
	 * lagging from the first refresh (as an unknown lag always was) */
	static const struct lag_step unknown[] = {
		{ 0, false, -1, 100, 100, 0, 900, false, 0, 800, L, 0, "up 10%\n" },
		{ 2000, false, -1, 100, 100, 0, 950, false, 0, 850, L, 0, "down #lag\n" },
	};
	/* max_lag_bytes 1000: the byte curve (full up to 333) and its limit */
	static const struct lag_step bytes[] = {
		{ 0, true, 10, 1000, 1000, 0, 1300, true, 10, 300, N, -1, "up 100%\n" },
		{ 1000, true, 10, 2000, 2000, 0, 2666, true, 10, 666, N, -1, "up 55%\n" },
		{ 2000, true, 10, 3000, 3000, 0, 4500, true, 10, 1500, L, 2000, "up 10%\n" },
		{ 4000, true, 10, 4000, 4000, 0, 5600, true, 10, 1600, L, 2000, "down #lag\n" },
		{ 5000, true, 10, 6000, 6000, 0, 6100, true, 10, 100, N, -1, "up 100%\n" },
	};

	/* the primary still runs the Python service (legacy_peers): it cannot tell its LSN, so a
	 * standby is measured on its own while it streams, as before the lag model */
	static const struct lag_step legacy[] = {
		{ 0, true, 10, 800, 800, 0, -2, true, 10, -1, N, -1, "up 100%\n" },
		{ 2000, true, 10, 900, 900, 0, -2, true, 10, -1, N, -1, "up 100%\n" },
		{ 5500, true, 10, 970, 970, 0, -2, true, 10, -1, N, -1, "up 100%\n" },
		{ 9000, true, 10, 990, 990, 0, -2, true, 10, -1, N, -1, "up 100%\n" },
		{ 9500, false, -1, 990, 990, 0, -2, true, 510, -1, N, -1, "up 100%\n" },
		{ 12501, false, -1, 990, 990, 0, -2, true, 3511, -1, NS, 12501, "up 10%\n" },
	};

	run_lag_steps("idle", idle, ARRAY_SIZE(idle), 0);
	run_lag_steps("a legacy primary", legacy, ARRAY_SIZE(legacy), 0);
	run_lag_steps("writing", writing, ARRAY_SIZE(writing), 0);
	run_lag_steps("receiver stopped", stopped, ARRAY_SIZE(stopped), 0);
	run_lag_steps("idle, receiver stopped", idle_stopped, ARRAY_SIZE(idle_stopped), 0);
	run_lag_steps("primary's LSN unknown", no_primary, ARRAY_SIZE(no_primary), 0);
	run_lag_steps("silent upstream", silent, ARRAY_SIZE(silent), 0);
	run_lag_steps("unknown from the start", unknown, ARRAY_SIZE(unknown), 0);
	run_lag_steps("max_lag_bytes", bytes, ARRAY_SIZE(bytes), 1000);
}

#undef N
#undef L
#undef NS
#undef NP

static void test_parse_role(void)
{
	static const struct {
		const char *line;
		bool ok;
		enum role r;
	} cases[] = {
		{ "primary\n", true, ROLE_PRIMARY },   { "replica\n", true, ROLE_REPLICA },
		{ "primary\r\n", true, ROLE_PRIMARY }, { "replica", true, ROLE_REPLICA },
		{ "Primary\n", false, 0 },             { "primary \n", false, 0 },
		{ " primary\n", false, 0 },            { "replicas\n", false, 0 },
		{ "prim\n", false, 0 },                { "\n", false, 0 },
		{ "", false, 0 },                      { "primary\nreplica\n", false, 0 },
		{ "send\n", false, 0 },                { "primary\n\n", false, 0 },
	};
	char name[64];

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		enum role r = ROLE_SEND;
		bool ok = agent_parse_role(cases[i].line, strlen(cases[i].line), &r);
		snprintf(name, sizeof(name), "agent_parse_role(\"%.*s\")",
			 (int)strcspn(cases[i].line, "\r\n"), cases[i].line);
		T_EQ_INT(ok, cases[i].ok, name);
		if (ok)
			T_EQ_INT(r, cases[i].r, name);
	}
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
}

static void test_admin_file(void)
{
	static const struct {
		const char *text;
		bool ok;
		enum admin_state want;
	} cases[] = {
		{ "ready\n", true, ADMIN_READY }, { "drain\n", true, ADMIN_DRAIN },
		{ "maint\n", true, ADMIN_MAINT }, { "maint", true, ADMIN_MAINT },
		{ "  drain \r\n", true, ADMIN_DRAIN }, { "DRAIN\n", true, ADMIN_DRAIN },
		{ "", false, 0 },                  { "drained\n", false, 0 },
		{ "ready\nmaint\n", false, 0 },
	};
	char dir[] = "/tmp/primgr-test-agent-XXXXXX", path[128], err[256], name[96];
	enum admin_state a;
	size_t len;
	char *text;

	if (!mkdtemp(dir)) {
		T_OK(false, "mkdtemp");
		return;
	}
	snprintf(path, sizeof(path), "%s/admin-state", dir);
	T_OK(state_admin_read(path, &a, err, sizeof(err)) && a == ADMIN_READY,
	     "missing admin file: ready");
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		a = ADMIN_MAINT == cases[i].want ? ADMIN_READY : ADMIN_MAINT;
		write_file(path, cases[i].text);
		snprintf(name, sizeof(name), "admin file \"%.*s\"",
			 (int)strcspn(cases[i].text, "\r\n"), cases[i].text);
		err[0] = '\0';
		T_EQ_INT(state_admin_read(path, &a, err, sizeof(err)), cases[i].ok, name);
		if (cases[i].ok)
			T_EQ_INT(a, cases[i].want, name);
		else
			T_OK(strstr(err, "invalid admin state") && strstr(err, path), name);
	}
	{
		FILE *f = fopen(path, "w");
		fwrite("rea\0dy\n", 1, 7, f);
		fclose(f);
		T_OK(!state_admin_read(path, &a, err, sizeof(err)), "admin file with a NUL byte");
	}
	/* garbage with a control byte is shown safely */
	write_file(path, "x\x1b[31my\n");
	T_OK(!state_admin_read(path, &a, err, sizeof(err)) && !strchr(err, '\x1b'),
	     "admin file error text has no control bytes");

	T_EQ_INT(state_admin_write(path, ADMIN_DRAIN), 0, "state_admin_write drain");
	text = util_read_file(path, 64, &len);
	T_EQ_STR(text, "drain\n", "admin file holds one word and a newline");
	free(text);
	T_OK(state_admin_read(path, &a, err, sizeof(err)) && a == ADMIN_DRAIN,
	     "written admin state reads back");
	snprintf(name, sizeof(name), "%s/missing-dir/admin-state", dir);
	T_OK(state_admin_write(name, ADMIN_MAINT) != 0, "write into a missing directory fails");

	state_set_admin(ADMIN_MAINT);
	T_EQ_INT(state_admin(), ADMIN_MAINT, "state_set_admin");
	state_set_admin(ADMIN_READY);
	T_EQ_STR(state_admin_name(ADMIN_MAINT), "maint", "state_admin_name");

	unlink(path);
	rmdir(dir);
}

/* Reads what the log wrote to the temp file since offset *off. */
static char *log_since(int fd, off_t *off)
{
	static char buf[8192];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, *off);

	n = n < 0 ? 0 : n;
	buf[n] = '\0';
	*off += n;
	return buf;
}

static void test_transitions(void)
{
	char path[] = "/tmp/primgr-test-log-XXXXXX";
	int fd = mkstemp(path), saved = dup(2);
	off_t off = 0;
	struct snapshot *s;
	const char *text;

	fflush(stderr);
	dup2(fd, 2);
	log_open(LOG_TARGET_STDERR, LOG_NOTICE, LOG_DAEMON);

	s = snap(VERDICT_PRIMARY, NOW);
	snprintf(s->c.reason, sizeof(s->c.reason), "3 of 3 votes, quorum 2");
	state_publish(s);
	text = log_since(fd, &off);
	T_OK(strstr(text, "verdict Primary (first refresh): 3 of 3 votes, quorum 2") != NULL,
	     "first publish logs the first verdict");

	s = snap(VERDICT_PRIMARY, NOW + 1000);
	snprintf(s->c.reason, sizeof(s->c.reason), "2 of 3 votes, quorum 2 (node3 unreachable)");
	state_publish(s);
	T_EQ_STR(log_since(fd, &off), "", "same verdict, same reason class: nothing at notice");

	s = snap(VERDICT_UNKNOWN, NOW + 2000);
	snprintf(s->c.reason, sizeof(s->c.reason),
		 "1 of 3 votes (node2 names node3, node3 unreachable)");
	state_publish(s);
	text = log_since(fd, &off);
	T_OK(strstr(text, "verdict Primary -> Unknown: 1 of 3 votes (node2 names node3, "
			  "node3 unreachable)") != NULL,
	     "Primary -> Unknown logged once at notice");
	T_OK(strchr(text, '\n') == strrchr(text, '\n'), "one line");

	for (int i = 0; i < 5; i++) {
		s = snap(VERDICT_UNKNOWN, NOW + 3000 + i);
		snprintf(s->c.reason, sizeof(s->c.reason), "1 of 3 votes (node%d unreachable)", i);
		state_publish(s);
	}
	T_EQ_STR(log_since(fd, &off), "", "repeats are not logged at notice");

	s = snap(VERDICT_UNKNOWN, NOW + 4000);
	snprintf(s->c.reason, sizeof(s->c.reason), "witness: never routable");
	state_publish(s);
	text = log_since(fd, &off);
	T_OK(strstr(text, "verdict stays Unknown: witness: never routable") != NULL,
	     "same verdict, new reason class: notice");

	log_set_level(LOG_DEBUG);
	s = snap(VERDICT_UNKNOWN, NOW + 5000);
	snprintf(s->c.reason, sizeof(s->c.reason), "witness: never routable");
	state_publish(s);
	T_OK(strstr(log_since(fd, &off), "[debug]: verdict Unknown: witness") != NULL,
	     "repeat logged at debug");
	log_set_level(LOG_NOTICE);

	T_OK(state_current()->made_ms == NOW + 5000, "state_current is the last published");
	state_shutdown();
	T_OK(state_current()->made_ms == 0 && state_current()->c.verdict == VERDICT_UNKNOWN,
	     "after shutdown: the starting snapshot");

	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	close(fd);
	unlink(path);
}

/* The word "ready": in every admin-ready reply form while it is due, and when it is due. */
static void test_ready_word(void)
{
	static const struct {
		enum verdict v;
		enum role r;
		enum admin_state a;
		const char *want;
	} cases[] = {
		{ VERDICT_PRIMARY, ROLE_PRIMARY, ADMIN_READY, "up ready\n" },
		{ VERDICT_PRIMARY, ROLE_REPLICA, ADMIN_READY, "down ready #primary\n" },
		{ VERDICT_STANDBY, ROLE_REPLICA, ADMIN_READY, "up ready 100%\n" },
		{ VERDICT_UNKNOWN, ROLE_PRIMARY, ADMIN_READY, "down ready #unknown\n" },
		/* never with drain or maint: those words are the admin state */
		{ VERDICT_PRIMARY, ROLE_PRIMARY, ADMIN_DRAIN, "drain\n" },
		{ VERDICT_STANDBY, ROLE_PRIMARY, ADMIN_DRAIN, "down drain #standby\n" },
		{ VERDICT_PRIMARY, ROLE_PRIMARY, ADMIN_MAINT, "maint\n" },
	};
	struct config cfg;
	char buf[AGENT_MAX_LINE];
	int64_t now = util_now_ms(), wall = util_wall_ms();

	test_config(&cfg);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct snapshot *s = snap(cases[i].v, NOW - 100);
		char name[AGENT_MAX_LINE + 16];

		/* a name of its own: GCC's -Wformat-overflow (sanitizer builds) takes the
		 * expected text, which T_EQ_STR tests for NULL, for a possibly NULL name */
		snprintf(name, sizeof(name), "ready word: %s", cases[i].want);
		agent_format(s, cases[i].a, true, cases[i].r, &cfg, NOW, buf, sizeof(buf));
		T_EQ_STR(buf, cases[i].want, name);
		snapshot_free(s);
	}

	cfg.ready_window_ms = 30000;
	state_admin_seen(ADMIN_READY, 0);
	T_OK(!state_admin_says_ready(&cfg, now), "no admin file at start: no ready");
	state_admin_seen(ADMIN_READY, wall - 60000);
	T_OK(!state_admin_says_ready(&cfg, now), "file written 60 s ago (window 30 s): no ready");
	state_admin_seen(ADMIN_READY, wall - 10000);
	T_OK(state_admin_says_ready(&cfg, now), "ctl ready 10 s ago (a restart): ready");
	T_OK(!state_admin_says_ready(&cfg, now + 20500), "... until the window from the write ends");
	state_admin_seen(ADMIN_READY, wall - 10000);
	T_OK(state_admin_says_ready(&cfg, now), "the same file again: the window is unchanged");
	state_admin_seen(ADMIN_MAINT, wall);
	T_OK(!state_admin_says_ready(&cfg, now), "maint: no ready");
	state_admin_seen(ADMIN_READY, wall - 3600000); /* an old mtime: the change dates it */
	T_OK(state_admin_says_ready(&cfg, util_now_ms()), "maint -> ready seen: ready");
	T_OK(!state_admin_says_ready(&cfg, util_now_ms() + 30000), "... for ready_window");
	cfg.send_ready = SEND_READY_ALWAYS;
	T_OK(state_admin_says_ready(&cfg, util_now_ms() + 30000), "send_ready = always");
	state_set_admin(ADMIN_DRAIN);
	T_OK(state_admin_says_ready(&cfg, now), "send_ready = always: even in drain (unused)");
	state_set_admin(ADMIN_READY);
}

int main(void)
{
	test_table();
	test_stale();
	test_weights();
	test_unknown_lag();
	test_lag_model();
	test_parse_role();
	test_ready_word(); /* first: it needs an admin state that never changed */
	test_admin_file();
	test_transitions();
	return t_done();
}

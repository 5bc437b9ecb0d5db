/* operator: what a person reads. The Prometheus exposition (every family has HELP and TYPE,
 * derived gauges, the reload and fan-out metrics), the log lines of each transition
 * (stories of a failover from the old primary, the new primary and a standby: exact notice
 * lines per refresh), and `primgr status` (table and JSON from fixed /cluster answers). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "log.h"
#include "metrics.h"
#include "realprimary.h"
#include "state.h"
#include "t.h"

#define NOW 5000000

static void test_config(struct config *cfg)
{
	config_defaults(cfg);
	cfg->stale_after_ms = 5000;
	cfg->refresh_interval_ms = 1000;
}

/* ---- snapshots ------------------------------------------------------------------------ */

/* Peer observations, one word per node, space separated: "-" not polled (self, or a round
 * without votes), "u" unreachable, "b" bad reply, a node name: answered naming it. NULL:
 * nobody polled. */
static struct snapshot *snap3(enum verdict v, const char *reason, int self, const char *primary,
			      const char *peers, int64_t made_ms)
{
	struct snapshot *s = calloc(1, sizeof(*s));

	s->made_ms = made_ms;
	s->made_wall_ms = 1700000000000 + made_ms;
	s->c.verdict = v;
	snprintf(s->c.reason, sizeof(s->c.reason), "%s", reason);
	s->c.voters = 3;
	s->c.quorum = 2;
	s->c.votes = v == VERDICT_PRIMARY ? 2 : 0;
	s->db_up = v != VERDICT_DOWN;
	s->in_recovery = v == VERDICT_STANDBY;
	s->lag_known = s->in_recovery;
	s->timeline = 1;
	s->self_id = self;
	snprintf(s->self_name, sizeof(s->self_name), "node%d", self);
	snprintf(s->primary_name, sizeof(s->primary_name), "%s", primary ? primary : "");
	s->c.primary_id = primary ? primary[4] - '0' : 0;
	s->nnodes = 3;
	s->nodes = calloc(3, sizeof(*s->nodes));
	for (int i = 0; i < 3; i++) {
		struct node_view *nv = &s->nodes[i];
		struct peer_vote *pv = &nv->vote;
		char word[16] = "-";

		nv->node.id = i + 1;
		snprintf(nv->node.name, sizeof(nv->node.name), "node%d", i + 1);
		nv->node.type = i == 0 ? NODE_PRIMARY : NODE_STANDBY;
		nv->node.active = true;
		nv->node.in_scope = true;
		nv->reply_ms = -1;
		if (peers) {
			const char *p = peers + strspn(peers, " ");
			for (int k = 0; k < i; k++) {
				p += strcspn(p, " ");
				p += strspn(p, " ");
			}
			snprintf(word, sizeof(word), "%.*s", (int)strcspn(p, " "), p);
		}
		switch (strlen(word) == 1 ? word[0] : 'v') {
		case 'v':
			pv->status = PEER_ANSWERED;
			snprintf(pv->named_name, sizeof(pv->named_name), "%s", word);
			pv->named_id = word[4] - '0';
			nv->reply_ms = 3;
			break;
		case 'u':
			pv->status = PEER_UNREACHABLE;
			snprintf(pv->detail, sizeof(pv->detail), "connect timeout after 250ms");
			nv->reply_ms = 250;
			break;
		case 'b':
			pv->status = PEER_BAD_REPLY;
			snprintf(pv->detail, sizeof(pv->detail), "HTTP 503");
			nv->reply_ms = 2;
			break;
		default:
			pv->status = PEER_UNPOLLED;
		}
	}
	return s;
}

static const char *format_metrics(const struct config *cfg, int64_t now)
{
	static struct buf out;

	buf_free(&out);
	buf_init(&out, 1 << 20);
	if (!metrics_format(&out, cfg, now) || !buf_append(&out, "", 1))
		return "";
	return out.data;
}

/* The text format's rules that a reader of the exposition relies on: each family has one
 * HELP and one TYPE before its samples, names are [a-zA-Z_:][a-zA-Z0-9_:]*, counters end
 * in _total, every sample belongs to the family announced last, no family twice. */
static bool lint_exposition(const char *text, char *why, size_t size)
{
	char family[128] = "", seen[8192] = " ";
	const char *line = text;

	while (*line) {
		const char *end = strchr(line, '\n');
		char name[128], kind[16];
		size_t n;

		if (!end) {
			snprintf(why, size, "last line has no newline");
			return false;
		}
		if (sscanf(line, "# HELP %127s", name) == 1) {
			char key[140];
			snprintf(key, sizeof(key), " %s ", name);
			if (strstr(seen, key)) {
				snprintf(why, size, "%s announced twice", name);
				return false;
			}
			strncat(seen, key + 1, sizeof(seen) - strlen(seen) - 1);
			snprintf(family, sizeof(family), "%s", name);
			if (strncmp(line + 7 + strlen(name), " ", 1) != 0 ||
			    end - line <= (long)(8 + strlen(name))) {
				snprintf(why, size, "%s has an empty HELP", name);
				return false;
			}
		} else if (sscanf(line, "# TYPE %127s %15s", name, kind) == 2) {
			if (strcmp(name, family) != 0) {
				snprintf(why, size, "TYPE %s without its HELP first", name);
				return false;
			}
			if (strcmp(kind, "counter") == 0 &&
			    (strlen(name) < 6 || strcmp(name + strlen(name) - 6, "_total") != 0)) {
				snprintf(why, size, "counter %s does not end in _total", name);
				return false;
			}
		} else {
			n = strspn(line, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_:"
					 "0123456789");
			if (n == 0 || n >= sizeof(name) || (line[n] != ' ' && line[n] != '{')) {
				snprintf(why, size, "bad sample line: %.*s", (int)(end - line),
					 line);
				return false;
			}
			memcpy(name, line, n);
			name[n] = '\0';
			if (strncmp(name, family, strlen(family)) != 0 ||
			    (name[strlen(family)] != '\0' &&
			     strcmp(name + strlen(family), "_bucket") != 0 &&
			     strcmp(name + strlen(family), "_sum") != 0 &&
			     strcmp(name + strlen(family), "_count") != 0)) {
				snprintf(why, size, "sample %.60s outside its family %.60s", name,
					 family);
				return false;
			}
		}
		line = end + 1;
	}
	return true;
}

static int fake_kicks;

/* realprimary.c's fan-out, faked: it starts here and ends with fake_finish. */
static void fake_realprimary(void)
{
	fake_kicks++;
}

static void fake_finish(int claims)
{
	realprimary_deliver(claims == 1 ? 200 : 503, "{}", claims);
}

static void test_metrics(void)
{
	static const char *split = "node1 - node2", *agreed = "- node1 u";
	static struct config cfg;
	const char *m;
	char why[256] = "";

	test_config(&cfg);
	metrics_note_config(true);

	/* a primary whose peers name two different primaries: the views disagree */
	state_publish(snap3(VERDICT_PRIMARY, "2 of 3 votes, quorum 2 (node1 names node1)", 2,
			    "node2", split, NOW));
	m = format_metrics(&cfg, NOW + 100);
	T_OK(lint_exposition(m, why, sizeof(why)), "exposition: HELP, TYPE, names, families");
	if (why[0])
		printf("#   %s\n", why);
	T_OK(strstr(m, "# TYPE primgr_named_primaries gauge\nprimgr_named_primaries 2\n") != NULL,
	     "named_primaries: node2 (own view, node3's) and node1 (node1's) = 2");
	T_OK(strstr(m, "primgr_verdict{state=\"Primary\"} 1\n") != NULL, "verdict Primary");
	T_OK(strstr(m, "primgr_build_info{version=\"") != NULL, "build_info");
	T_OK(strstr(m, "primgr_start_time_seconds ") != NULL, "start time");

	state_publish(snap3(VERDICT_PRIMARY, "2 of 3 votes, quorum 2 (node3 unreachable)", 1,
			    "node1", agreed, NOW + 1000));
	m = format_metrics(&cfg, NOW + 1100);
	T_OK(strstr(m, "primgr_named_primaries 1\n") != NULL,
	     "named_primaries 1 when every answer names this node (an unreachable one names none)");
	T_OK(strstr(m, "primgr_peer_up{node=\"node2\"} 1\nprimgr_peer_up{node=\"node3\"} 0\n") !=
		     NULL,
	     "peer_up per polled peer");
	T_OK(strstr(m, "primgr_peer_reply_seconds{node=\"node3\"} 0.25\n") != NULL ||
		     strstr(m, "primgr_peer_reply_seconds{node=\"node3\"} 0.250\n") != NULL,
	     "peer_reply_seconds per polled peer");

	state_publish(snap3(VERDICT_STANDBY, "in recovery (upstream node1)", 3, "node1", NULL,
			    NOW + 2000));
	m = format_metrics(&cfg, NOW + 2100);
	T_OK(strstr(m, "# TYPE primgr_named_primaries gauge\n# HELP") != NULL,
	     "named_primaries: no sample on a node that polled nobody");
	T_OK(strstr(m, "primgr_replay_lag_seconds 0\n") != NULL &&
		     strstr(m, "primgr_replay_lag_bytes 0\n") != NULL,
	     "standby: replay lag seconds and bytes");
	T_OK(lint_exposition(m, why, sizeof(why)), "standby exposition lints");

	/* /realPrimary claims: none before a fan-out, then the count and its time */
	T_OK(strstr(m, "# TYPE primgr_realprimary_claims gauge\n# HELP") != NULL,
	     "realprimary_claims: no sample before any fan-out");
	fake_finish(2);
	m = format_metrics(&cfg, NOW + 2200);
	T_OK(strstr(m, "primgr_realprimary_claims 2\n") != NULL, "realprimary_claims 2");
	T_OK(strstr(m, "primgr_realprimary_timestamp_seconds 1") != NULL,
	     "realprimary_timestamp_seconds set by the fan-out");

	/* a scrape keeps the claims fresh: one fan-out at a time, at most one per interval */
	cfg.refresh_interval_ms = 0;
	realprimary_fake(fake_realprimary);
	format_metrics(&cfg, NOW + 3000);
	T_EQ_INT(fake_kicks, 1, "a scrape starts a /realPrimary fan-out");
	format_metrics(&cfg, NOW + 3001);
	T_EQ_INT(fake_kicks, 1, "not a second one while the first runs");
	fake_finish(1);
	m = format_metrics(&cfg, NOW + 3002);
	T_OK(strstr(m, "primgr_realprimary_claims 1\n") != NULL, "the fan-out's count is shown");
	T_EQ_INT(fake_kicks, 2, "the next scrape starts the next one");
	fake_finish(1);
	cfg.refresh_interval_ms = 3600000;
	format_metrics(&cfg, NOW + 3003);
	T_EQ_INT(fake_kicks, 2, "none within refresh_interval of the last");
	realprimary_fake(NULL);

	/* reloads */
	m = format_metrics(&cfg, NOW);
	T_OK(strstr(m, "primgr_config_last_reload_successful 1\n") != NULL, "config loaded: 1");
	metrics_note_config(false);
	m = format_metrics(&cfg, NOW);
	T_OK(strstr(m, "primgr_config_last_reload_successful 0\n") != NULL &&
		     strstr(m, "primgr_config_reloads_total{result=\"failed\"} 1\n") != NULL,
	     "a refused reload: successful 0, counted as failed");
	metrics_note_config(true);
	m = format_metrics(&cfg, NOW);
	T_OK(strstr(m, "primgr_config_last_reload_successful 1\n") != NULL &&
		     strstr(m, "primgr_config_reloads_total{result=\"ok\"} 1\n") != NULL &&
		     strstr(m, "primgr_config_last_reload_success_timestamp_seconds 1") != NULL,
	     "a good reload: successful 1, counted, timestamp");
	T_OK(lint_exposition(m, why, sizeof(why)), "exposition still lints");
	state_shutdown();
}

/* ---- transition logs -------------------------------------------------------------------- */

struct step {
	enum verdict v;
	const char *reason;
	const char *primary;               /* local view's active primary */
	const char *peers;                 /* as snap3; NULL nobody polled */
	int lag;                           /* standby: -1 unknown, else ms; over 30000 = over */
	const char *want;                  /* notice lines, '|' between them, "" none */
};

static char *log_since(int fd, off_t *off)
{
	static char buf[16384];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, *off);

	n = n < 0 ? 0 : n;
	buf[n] = '\0';
	*off += n;
	return buf;
}

/* The log lines without their time and level, joined by '|'. */
static void strip_prefixes(const char *text, char *out, size_t size)
{
	size_t o = 0;

	out[0] = '\0';
	for (const char *l = text; *l;) {
		const char *end = strchr(l, '\n'), *msg = strstr(l, "]: ");
		size_t len;

		if (!end)
			end = l + strlen(l);
		msg = msg && msg < end ? msg + 3 : l;
		len = (size_t)(end - msg);
		if (o + len + 2 < size) {
			if (o)
				out[o++] = '|';
			memcpy(out + o, msg, len);
			o += len;
			out[o] = '\0';
		}
		l = *end ? end + 1 : end;
	}
}

static void run_story(const char *title, int self, const struct step *steps, size_t n)
{
	char path[] = "/tmp/primgr-test-log-XXXXXX", got[4096], name[160];
	int fd = mkstemp(path), saved = dup(2);
	off_t off = 0;

	fflush(stderr);
	dup2(fd, 2);
	log_open(LOG_TARGET_STDERR, LOG_NOTICE, LOG_DAEMON);
	for (size_t i = 0; i < n; i++) {
		const struct step *st = &steps[i];
		struct snapshot *s = snap3(st->v, st->reason, self, st->primary,
					   st->peers,
					   NOW + (int64_t)i * 1000);
		if (s->in_recovery) {
			s->lag_known = st->lag >= 0;
			s->lag_ms = st->lag > 0 ? st->lag : 0;
			s->lag_over_since_ms = st->lag > 30000 ? NOW : 0;
		}
		state_publish(s);
		fflush(stderr);
		strip_prefixes(log_since(fd, &off), got, sizeof(got));
		snprintf(name, sizeof(name), "%s, refresh %zu: %s", title, i + 1,
			 st->want[0] ? st->want : "nothing at notice");
		T_EQ_STR(got, st->want, name);
	}
	state_shutdown();   /* also forgets what the peers said */
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	close(fd);
	unlink(path);
}

static void test_transition_logs(void)
{
	/* The old primary, node1: a peer dies and comes back, then its own database dies and
	 * it comes back after a failover to node2. */
	static const struct step old_primary[] = {
		{ VERDICT_PRIMARY, "3 of 3 votes, quorum 2", "node1",
		  "- node1 node1", 0,
		  "verdict Primary (first refresh): 3 of 3 votes, quorum 2" },
		{ VERDICT_PRIMARY, "2 of 3 votes, quorum 2 (node3 unreachable)", "node1",
		  "- node1 u", 0,
		  "peer node3: votes for node1 -> unreachable (connect timeout after 250ms)" },
		{ VERDICT_PRIMARY, "2 of 3 votes, quorum 2 (node3 unreachable)", "node1",
		  "- node1 u", 0, "" },
		{ VERDICT_PRIMARY, "2 of 3 votes, quorum 2 (node3 unreachable)", "node1",
		  "- node1 u", 0, "" },
		{ VERDICT_PRIMARY, "3 of 3 votes, quorum 2", "node1",
		  "- node1 node1", 0,
		  "peer node3: unreachable -> votes for node1" },
		{ VERDICT_DOWN, "connection refused (reconnect backoff 500ms)", "node1", NULL, 0,
		  "verdict Primary -> Down: connection refused (reconnect backoff 500ms)" },
		{ VERDICT_DOWN, "connection refused (reconnect backoff 1000ms)", "node1", NULL,
		  0, "" },
		{ VERDICT_UNKNOWN, "1 of 3 votes, quorum 2 (node2 names node2, node3 names node2)",
		  "node1", "- node2 node2", 0,
		  "verdict Down -> Unknown: 1 of 3 votes, quorum 2 (node2 names node2, node3 names "
		  "node2)" },
	};
	/* The new primary, node2: promoted, its view changes, node3 follows late. */
	static const struct step new_primary[] = {
		{ VERDICT_STANDBY, "in recovery (upstream node1)", "node1", NULL, 0,
		  "verdict Standby (first refresh): in recovery (upstream node1)" },
		{ VERDICT_UNKNOWN, "not in recovery, but repmgr.nodes names node1 (node_id 1) the "
				   "primary", "node1", NULL, 0,
		  "verdict Standby -> Unknown: not in recovery, but repmgr.nodes names node1 "
		  "(node_id 1) the primary" },
		{ VERDICT_UNKNOWN, "1 of 3 votes, quorum 2 (node1 bad reply, node3 names node1)",
		  "node2", "b - node1", 0,
		  "repmgr.nodes: primary node1 -> node2|verdict stays Unknown: 1 of 3 votes, "
		  "quorum 2 (node1 bad reply, node3 names node1)" },
		{ VERDICT_UNKNOWN, "1 of 3 votes, quorum 2 (node1 unreachable, node3 names node1)",
		  "node2", "u - node1", 0,
		  "peer node1: bad reply -> unreachable (connect timeout after 250ms)" },
		{ VERDICT_PRIMARY, "2 of 3 votes, quorum 2 (node1 unreachable)", "node2",
		  "u - node2", 0,
		  "verdict Unknown -> Primary: 2 of 3 votes, quorum 2 (node1 unreachable)" },
		{ VERDICT_PRIMARY, "2 of 3 votes, quorum 2 (node1 unreachable)", "node2",
		  "u - node2", 0, "" },
	};
	/* A standby, node3: follows node2; its replay lag goes over max_lag and back. */
	static const struct step standby[] = {
		{ VERDICT_STANDBY, "in recovery (upstream node1)", "node1", NULL, 0,
		  "verdict Standby (first refresh): in recovery (upstream node1)" },
		{ VERDICT_STANDBY, "in recovery (upstream node1)", "node1", NULL, 100, "" },
		{ VERDICT_STANDBY, "in recovery (upstream node2)", "node2", NULL, 100,
		  "repmgr.nodes: primary node1 -> node2" },
		{ VERDICT_STANDBY, "in recovery (upstream node2)", "node2", NULL, 42000,
		  "replay lag 42.0s is over max_lag: replica checks turn down #lag after "
		  "lag_grace" },
		{ VERDICT_STANDBY, "in recovery (upstream node2)", "node2", NULL, 43000, "" },
		{ VERDICT_STANDBY, "in recovery (upstream node2)", "node2", NULL, 200,
		  "replay lag 0.2s, back within max_lag" },
		{ VERDICT_STANDBY, "in recovery (upstream node2)", "node2", NULL, -1,
		  "replay lag unknown: replica checks turn down #lag after lag_grace" },
		{ VERDICT_STANDBY, "in recovery (upstream node2)", "node2", NULL, -1, "" },
		{ VERDICT_STANDBY, "in recovery (upstream node2)", "node2", NULL, 0,
		  "replay lag 0.0s, back within max_lag" },
	};
	/* A first refresh that already says Unknown, then another class of reason. */
	static const struct step starting[] = {
		{ VERDICT_UNKNOWN, "1 of 3 votes, quorum 2 (node2 unreachable, node3 unreachable)",
		  "node1", "- u u", 0,
		  "verdict Unknown (first refresh): 1 of 3 votes, quorum 2 (node2 unreachable, "
		  "node3 unreachable)" },
		{ VERDICT_UNKNOWN, "repmgr.nodes unreadable: permission denied", "node1", NULL,
		  0, "verdict stays Unknown: repmgr.nodes unreadable: permission denied" },
	};

	run_story("old primary", 1, old_primary, ARRAY_SIZE(old_primary));
	run_story("new primary", 2, new_primary, ARRAY_SIZE(new_primary));
	run_story("standby", 3, standby, ARRAY_SIZE(standby));
	run_story("first refresh Unknown", 1, starting, ARRAY_SIZE(starting));
}

/* ---- primgr status ---------------------------------------------------------------------- */

static const char *asked =
	"{\"self\":{\"node_id\":2,\"node_name\":\"node2\",\"location\":\"dc1\"},"
	"\"verdict\":\"Primary\",\"nodes\":["
	"{\"node_id\":1,\"node_name\":\"node1\",\"type\":\"primary\",\"active\":false,"
	"\"location\":\"dc1\",\"url\":\"http://n1\"},"
	"{\"node_id\":2,\"node_name\":\"node2\",\"type\":\"primary\",\"active\":true,"
	"\"location\":\"dc1\",\"url\":\"http://n2\"},"
	"{\"node_id\":3,\"node_name\":\"node3\",\"type\":\"standby\",\"active\":true,"
	"\"location\":\"dc1\",\"url\":\"http://n3\"}]}";

static const char *view(const char *verdict, bool in_recovery, int timeline, const char *reason,
			const char *admin)
{
	static char bufs[4][1024];
	static int k;
	char *b = bufs[k++ % 4];

	snprintf(b, sizeof(bufs[0]),
		 "{\"verdict\":\"%s\",\"reason\":\"%s\",\"votes\":%d,\"quorum\":2,\"voters\":3,"
		 "\"db_up\":%s,\"in_recovery\":%s,\"timeline\":%d,\"admin\":\"%s\","
		 "\"lag\":{\"known\":%s,\"ms\":%s,\"bytes\":%s,\"bytes_vs_primary\":%s,"
		 "\"streaming\":%s}}",
		 verdict, reason, strcmp(verdict, "Primary") == 0 ? 2 : 1,
		 strcmp(verdict, "Down") == 0 ? "false" : "true", in_recovery ? "true" : "false",
		 timeline, admin, in_recovery ? "true" : "false", in_recovery ? "1500" : "null",
		 in_recovery ? "81920" : "null", in_recovery ? "true" : "false",
		 in_recovery ? "true" : "null");
	return b;
}

static int report(const struct ctl_view *v, bool as_json, char *out, size_t size)
{
	FILE *f = fmemopen(out, size, "w");
	int rc = ctl_status_report("http://n2", asked, strlen(asked), v, 3, as_json, f);

	fclose(f);
	return rc;
}

/* The line of the table that starts with name. */
static const char *row(const char *table, const char *name)
{
	static char line[512];
	size_t len = strlen(name);

	for (const char *l = table; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		if (strncmp(l, name, len) == 0 && l[len] == ' ') {
			snprintf(line, sizeof(line), "%.*s", (int)strcspn(l, "\n"), l);
			return line;
		}
	}
	return "";
}

/* Whitespace-separated words of a line, joined by single spaces. */
static const char *words(const char *line)
{
	static char out[512];
	size_t o = 0;

	for (const char *p = line; *p && o + 2 < sizeof(out); p++) {
		if (*p == ' ') {
			if (o && out[o - 1] != ' ')
				out[o++] = ' ';
		} else {
			out[o++] = *p;
		}
	}
	while (o && out[o - 1] == ' ')
		o--;
	out[o] = '\0';
	return out;
}

static void test_status(void)
{
	static char out[8192];
	const char *split_reason = "1 of 3 votes, quorum 2 (node2 names node2, node3 names node2)";
	struct ctl_view v[3];
	json_t *j;
	int rc;

	/* split brain: node1 runs as a primary on timeline 1, node2 is the agreed primary */
	v[0] = (struct ctl_view){ .body = view("Unknown", false, 1, split_reason, "ready"),
				  .code = 200 };
	v[1] = (struct ctl_view){ .body = view("Primary", false, 2,
					       "2 of 3 votes, quorum 2 (node1 names node1)",
					       "ready"),
				  .code = 200 };
	v[2] = (struct ctl_view){ .body = view("Standby", true, 2, "in recovery (upstream node2)",
					       "drain"),
				  .code = 200 };
	for (int i = 0; i < 3; i++)
		v[i].len = strlen(v[i].body);
	rc = report(v, false, out, sizeof(out));
	T_EQ_INT(rc, 0, "split brain with one agreed primary: exit 0");
	T_EQ_STR(words(row(out, "NODE")),
		 "NODE ID LOCATION REPMGR ACTIVE PRIMGR REACHABLE TL LAG BEHIND STREAM ADMIN REASON",
		 "table header");
	T_EQ_STR(words(row(out, "node1")),
		 "node1 1 dc1 primary no Unknown yes 1 - - - ready 1 of 3 votes, quorum 2 (node2 names "
		 "node2, node3 names node2)",
		 "node1 row: Unknown, timeline 1, the reason");
	T_EQ_STR(words(row(out, "node2")),
		 "node2 2 dc1 primary yes Primary yes 2 - - - ready 2 of 3 votes, quorum 2 (node1 "
		 "names node1)",
		 "node2 row: Primary");
	T_EQ_STR(words(row(out, "node3")),
		 "node3 3 dc1 standby yes Standby yes 2 1.5s 80.0kB yes drain in recovery (upstream node2)",
		 "node3 row: lag, admin drain");
	T_OK(strstr(out, "agreed primary: node2 (2 of 3 votes, quorum 2, timeline 2)\n") != NULL,
	     "agreed primary line with votes, quorum, timeline");
	T_OK(strstr(out, "WARNING: split brain: node1 is not in recovery (timeline 1) but node2 "
			 "is the agreed primary (timeline 2)") != NULL,
	     "split brain warning names the other writable node");
	T_OK(strstr(out, "repmgr.nodes as node2 sees it (http://n2)") != NULL,
	     "says whose repmgr view the REPMGR and ACTIVE columns are");

	rc = report(v, true, out, sizeof(out));
	j = json_loads(out, 0, NULL);
	T_EQ_INT(rc, 0, "--json: exit 0");
	T_EQ_STR(json_string_value(json_object_get(j, "agreed_primary")), "node2",
		 "--json agreed_primary");
	T_OK(json_is_true(json_object_get(j, "split_brain")), "--json split_brain true");
	T_EQ_STR(json_string_value(json_array_get(json_object_get(j, "writable"), 0)), "node1",
		 "--json writable lists node1 first");
	T_EQ_INT(json_integer_value(json_object_get(
			 json_array_get(json_object_get(j, "nodes"), 0), "timeline")), 1,
		 "--json node timeline");
	T_EQ_STR(json_string_value(json_object_get(json_array_get(json_object_get(j, "nodes"), 0),
						   "reason")),
		 split_reason, "--json node reason");
	T_EQ_INT(json_integer_value(json_object_get(
			 json_array_get(json_object_get(j, "nodes"), 2), "lag_ms")), 1500,
		 "--json lag_ms");
	T_OK(json_is_true(json_object_get(json_array_get(json_object_get(j, "nodes"), 2),
					  "streaming")),
	     "--json streaming");
	json_decref(j);

	/* node1 down and unreachable: exit 0, reason is the error */
	v[0] = (struct ctl_view){ .body = NULL, .error = "Failed to connect: Connection refused" };
	rc = report(v, false, out, sizeof(out));
	T_EQ_INT(rc, 0, "one node unreachable, one agreed primary: exit 0");
	T_EQ_STR(words(row(out, "node1")),
		 "node1 1 dc1 primary no - no - - - - - Failed to connect: Connection refused",
		 "unreachable row: REACHABLE no, the error as reason");
	T_OK(strstr(out, "WARNING") == NULL, "no split brain warning");

	/* no Primary */
	v[1].body = view("Unknown", false, 2, "1 of 3 votes, quorum 2 (node3 unreachable)",
			 "ready");
	v[1].len = strlen(v[1].body);
	rc = report(v, false, out, sizeof(out));
	T_EQ_INT(rc, 1, "no node says Primary: exit 1");
	T_OK(strstr(out, "agreed primary: none (no node says Primary)\n") != NULL,
	     "none line");

	/* two Primary */
	v[0] = v[1];
	v[0].body = view("Primary", false, 1, "2 of 3 votes, quorum 2", "ready");
	v[0].len = strlen(v[0].body);
	v[1].body = view("Primary", false, 2, "2 of 3 votes, quorum 2", "ready");
	v[1].len = strlen(v[1].body);
	rc = report(v, false, out, sizeof(out));
	T_EQ_INT(rc, 1, "two nodes say Primary: exit 1");
	T_OK(strstr(out, "agreed primary: none (2 nodes say Primary: node1, node2)\n") != NULL,
	     "several line names them");

	/* garbage from the asked daemon */
	{
		FILE *f = fmemopen(out, sizeof(out), "w");
		T_EQ_INT(ctl_status_report("http://n2", "{\"x\":1}", 7, v, 0, false, f), 2,
			 "not a /cluster answer: exit 2");
		fclose(f);
	}
}

int main(void)
{
	log_open(LOG_TARGET_STDERR, LOG_WARNING, LOG_DAEMON);
	test_metrics();
	test_transition_logs();
	test_status();
	return t_done();
}

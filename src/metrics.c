/* metrics: the Prometheus text exposition (format 0.0.4), written when scraped from the
 * snapshot, the counters each module keeps (http_stats.h, server_stats.h,
 * refresh_stats.h, state.h) and realprimary.c's claims; plus the configuration loads. */
#include "metrics.h"

#include <string.h>

#include "consensus.h"
#include "http_stats.h"
#include "realprimary.h"
#include "refresh_stats.h"
#include "server_stats.h"
#include "state.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "unknown"
#endif

/* The configuration loads (metrics_note_config). */
static struct {
	int64_t start_wall_ms;                 /* first metrics_note_config */
	bool reload_failed;                    /* the last reload's file was refused */
	int64_t config_ok_wall_ms;             /* last successful load (start or reload) */
	uint64_t reloads_ok, reloads_failed;
} loads;

static const char *endpoint_names[EP_COUNT] = {
	[EP_STATE] = "state",     [EP_PRIMARY] = "primary", [EP_REALPRIMARY] = "realPrimary",
	[EP_REPLICA] = "replica", [EP_HEALTH] = "health",   [EP_CLUSTER] = "cluster",
	[EP_METRICS] = "metrics", [EP_UI] = "ui",           [EP_OPTIONS] = "options",
	[EP_OTHER] = "other",
};

void metrics_note_config(bool ok)
{
	int64_t now = util_wall_ms();

	if (!loads.start_wall_ms) {
		loads.start_wall_ms = now;
	} else if (ok) {
		loads.reloads_ok++;
	} else {
		loads.reloads_failed++;
	}
	loads.reload_failed = !ok;
	if (ok)
		loads.config_ok_wall_ms = now;
}

/* A label value with Prometheus escaping (backslash, double quote, newline). */
static bool put_label(struct buf *out, const char *v)
{
	for (const char *p = v; *p; p++) {
		const char *esc = *p == '\\'   ? "\\\\"
				  : *p == '"'  ? "\\\""
				  : *p == '\n' ? "\\n"
						: NULL;

		if (!(esc ? buf_append(out, esc, 2) : buf_append(out, p, 1)))
			return false;
	}
	return true;
}

static bool head(struct buf *out, const char *name, const char *type, const char *help)
{
	return buf_printf(out, "# HELP primgr_%s %s\n# TYPE primgr_%s %s\n", name, help, name,
			  type);
}

static bool gauge(struct buf *out, const char *name, const char *help, double v)
{
	return head(out, name, "gauge", help) && buf_printf(out, "primgr_%s %.15g\n", name, v);
}

static bool counter(struct buf *out, const char *name, const char *help, uint64_t v)
{
	return head(out, name, "counter", help) &&
	       buf_printf(out, "primgr_%s %llu\n", name, (unsigned long long)v);
}

static bool format_verdict(struct buf *out, const struct snapshot *s, enum verdict v)
{
	static const enum verdict all[] = { VERDICT_PRIMARY, VERDICT_STANDBY, VERDICT_DOWN,
					    VERDICT_UNKNOWN };
	bool ok = head(out, "verdict", "gauge", "1 for the verdict a request sees now.");

	for (size_t i = 0; ok && i < ARRAY_SIZE(all); i++)
		ok = buf_printf(out, "primgr_verdict{state=\"%s\"} %d\n",
				consensus_verdict_name(all[i]), all[i] == v);
	return ok && gauge(out, "votes", "Votes for this node as primary in the last refresh.",
			   s->c.votes) &&
	       gauge(out, "legacy_votes",
		     "Of the votes, legacy replies (no answered_by) from [consensus] legacy_peers.",
		     s->c.legacy_votes) &&
	       gauge(out, "quorum", "Votes needed (N/2 + 1).", s->c.quorum) &&
	       gauge(out, "voters", "Voters in scope (N).", s->c.voters) &&
	       gauge(out, "db_up", "1 when the last probe of the local database succeeded.",
		     s->db_up) &&
	       gauge(out, "in_recovery", "1 when the local database is a standby.",
		     s->in_recovery) &&
	       gauge(out, "timeline", "Timeline of the local database.", s->timeline);
}

static bool format_peers(struct buf *out, const struct snapshot *s)
{
	bool ok = head(out, "peer_up", "gauge",
		       "1 when the peer's /primary answered in the last refresh.");

	for (size_t i = 0; ok && i < s->nnodes; i++) {
		const struct node_view *nv = &s->nodes[i];
		if (nv->vote.status == PEER_UNPOLLED)
			continue;
		ok = buf_printf(out, "primgr_peer_up{node=\"") && put_label(out, nv->node.name) &&
		     buf_printf(out, "\"} %d\n", nv->vote.status != PEER_UNREACHABLE);
	}
	ok = ok && head(out, "peer_reply_seconds", "gauge",
			"Time the peer's /primary took in the last refresh.");
	for (size_t i = 0; ok && i < s->nnodes; i++) {
		const struct node_view *nv = &s->nodes[i];
		if (nv->vote.status == PEER_UNPOLLED || nv->reply_ms < 0)
			continue;
		ok = buf_printf(out, "primgr_peer_reply_seconds{node=\"") &&
		     put_label(out, nv->node.name) &&
		     buf_printf(out, "\"} %.15g\n", (double)nv->reply_ms / 1000.0);
	}
	return ok;
}

/* Distinct nodes named the active primary by this node's view and by the /primary answers
 * of the peers it polled in the last refresh; -1 when it polled nobody (a standby, or a
 * node whose view names another primary). More than one: the repmgr views disagree, as
 * when an old primary runs again without a rejoin. */
static int named_primaries(const struct snapshot *s)
{
	const char *seen[TOPOLOGY_MAX_NODES + 1];
	int n = 0;
	bool polled = false;

	if (s->primary_name[0])
		seen[n++] = s->primary_name;
	for (size_t i = 0; i < s->nnodes && n <= TOPOLOGY_MAX_NODES; i++) {
		const struct peer_vote *v = &s->nodes[i].vote;
		bool known = false;

		if (v->status == PEER_UNPOLLED)
			continue;
		polled = true;
		if (v->status != PEER_ANSWERED || !v->named_name[0])
			continue;
		for (int k = 0; k < n && !known; k++)
			known = strcmp(seen[k], v->named_name) == 0;
		if (!known)
			seen[n++] = v->named_name;
	}
	return polled ? n : -1;
}

static bool format_refresh(struct buf *out)
{
	const struct refresh_stats *r = refresh_stats();
	uint64_t cum = 0;
	bool ok = head(out, "refresh_duration_seconds", "histogram",
		       "Duration of the refresh cycle (database probe and peer votes).");

	for (int i = 0; ok && i < REFRESH_STATS_BUCKETS; i++) {
		cum += r->bucket[i];
		ok = buf_printf(out, "primgr_refresh_duration_seconds_bucket{le=\"%g\"} %llu\n",
				(double)refresh_stats_bounds_ms[i] / 1000.0, (unsigned long long)cum);
	}
	return ok &&
	       buf_printf(out, "primgr_refresh_duration_seconds_bucket{le=\"+Inf\"} %llu\n",
			  (unsigned long long)r->count) &&
	       buf_printf(out, "primgr_refresh_duration_seconds_sum %.6f\n",
			  r->sum_s) &&
	       buf_printf(out, "primgr_refresh_duration_seconds_count %llu\n",
			  (unsigned long long)r->count);
}

static bool format_lag(struct buf *out, const struct snapshot *s, const struct config *cfg,
		       int64_t now_ms)
{
	bool ok = head(out, "replay_lag_seconds", "gauge",
		       "Time since this standby was last known caught up with the primary.") &&
		  (!s->in_recovery || !s->lag_known ||
		   buf_printf(out, "primgr_replay_lag_seconds %.15g\n",
			      (double)s->lag_ms / 1000.0));

	ok = ok && head(out, "replay_lag_bytes", "gauge", "WAL received but not yet replayed.") &&
	     (!s->in_recovery || !s->lag_known ||
	      buf_printf(out, "primgr_replay_lag_bytes %lld\n",
			 (long long)(s->receive_lsn > s->lsn ? s->receive_lsn - s->lsn : 0)));
	ok = ok && head(out, "replica_lag_bytes", "gauge",
			"WAL this standby has not replayed yet behind the primary's LSN (as last "
			"learned from the primary's primgr).") &&
	     (!s->in_recovery || !s->lag_bytes_known ||
	      buf_printf(out, "primgr_replica_lag_bytes %lld\n", (long long)s->lag_bytes));
	ok = ok && head(out, "replica_streaming", "gauge",
			"1 when this standby's WAL receiver is streaming, 0 when not.") &&
	     (!s->in_recovery || !s->db_up ||
	      buf_printf(out, "primgr_replica_streaming %d\n", s->streaming ? 1 : 0));
	return ok && head(out, "replica_weight", "gauge", "Replica weight in percent, 0 = down.") &&
	       (!s->in_recovery || buf_printf(out, "primgr_replica_weight %d\n",
					      state_replica_weight(s, cfg, now_ms)));
}

static bool format_http(struct buf *out)
{
	const struct http_stats *h = http_stats();
	bool ok = head(out, "http_requests_total", "counter",
		       "HTTP responses by endpoint and code.");

	for (int ep = 0; ok && ep < EP_COUNT; ep++) {
		for (int c = 0; ok && c < HTTP_STATS_CODES; c++) {
			uint64_t v = h->requests[ep][c];
			int code = http_code_at(c);
			char label[16] = "other";

			if (v == 0)
				continue;
			if (code)
				snprintf(label, sizeof(label), "%d", code);
			ok = buf_printf(out,
					"primgr_http_requests_total{endpoint=\"%s\",code=\"%s\"} "
					"%llu\n",
					endpoint_names[ep], label, (unsigned long long)v);
		}
	}
	return ok;
}

static bool format_agent(struct buf *out)
{
	const struct server_stats *st = server_stats();

	return head(out, "agent_answers_total", "counter", "Agent-check replies by word.") &&
	       buf_printf(out,
			  "primgr_agent_answers_total{answer=\"up\"} %llu\n"
			  "primgr_agent_answers_total{answer=\"down\"} %llu\n"
			  "primgr_agent_answers_total{answer=\"drain\"} %llu\n"
			  "primgr_agent_answers_total{answer=\"maint\"} %llu\n",
			  (unsigned long long)st->agent_up,
			  (unsigned long long)st->agent_down,
			  (unsigned long long)st->agent_drain,
			  (unsigned long long)st->agent_maint);
}

static bool format_admin(struct buf *out)
{
	enum admin_state a = state_admin();
	bool ok = head(out, "admin_state", "gauge", "1 for the admin state (primgr ctl).");

	for (int i = ADMIN_READY; ok && i <= ADMIN_MAINT; i++)
		ok = buf_printf(out, "primgr_admin_state{state=\"%s\"} %d\n",
				state_admin_name((enum admin_state)i), (int)a == i);
	return ok;
}

static bool format_cluster(struct buf *out, const struct snapshot *s)
{
	int named = named_primaries(s);
	int64_t claims_wall_ms;
	int claims = realprimary_claims(&claims_wall_ms);
	bool ok;

	ok = head(out, "named_primaries", "gauge",
		  "Distinct nodes named the primary by this node's repmgr view and the peers it "
		  "polled in the last refresh; over 1: the views disagree (split brain).") &&
	     (named < 0 || buf_printf(out, "primgr_named_primaries %d\n", named));
	ok = ok && head(out, "realprimary_claims", "gauge",
			"Nodes claiming to be the primary in the last /realPrimary fan-out: "
			"Primary, or Unknown with its own vote (a primary database without "
			"quorum); over 1: split brain.") &&
	     (claims < 0 || buf_printf(out, "primgr_realprimary_claims %d\n", claims));
	return ok && head(out, "realprimary_timestamp_seconds", "gauge",
			  "Wall clock time the last /realPrimary fan-out ended.") &&
	       (!claims_wall_ms || buf_printf(out, "primgr_realprimary_timestamp_seconds %.3f\n",
					      (double)claims_wall_ms / 1000.0));
}

static bool format_config(struct buf *out)
{
	return gauge(out, "config_last_reload_successful",
		     "0 when the last SIGHUP found a bad file (the running configuration stays).",
		     !loads.reload_failed) &&
	       gauge(out, "config_last_reload_success_timestamp_seconds",
		     "Wall clock time the configuration was last loaded (start or reload).",
		     (double)loads.config_ok_wall_ms / 1000.0) &&
	       head(out, "config_reloads_total", "counter", "SIGHUP reloads by result.") &&
	       buf_printf(out,
			  "primgr_config_reloads_total{result=\"ok\"} %llu\n"
			  "primgr_config_reloads_total{result=\"failed\"} %llu\n",
			  (unsigned long long)loads.reloads_ok,
			  (unsigned long long)loads.reloads_failed) &&
	       gauge(out, "start_time_seconds", "Wall clock time the daemon started.",
		     (double)loads.start_wall_ms / 1000.0) &&
	       head(out, "build_info", "gauge", "Always 1; the version is in the label.") &&
	       buf_printf(out, "primgr_build_info{version=\"") && put_label(out, PACKAGE_VERSION) &&
	       buf_printf(out, "\"} 1\n");
}

bool metrics_format(struct buf *out, const struct config *cfg, int64_t now_ms)
{
	const struct snapshot *s = state_current();
	const struct server_stats *st = server_stats();
	enum verdict v = state_verdict(s, now_ms, cfg->stale_after_ms);

	realprimary_scrape(cfg->refresh_interval_ms);
	return format_verdict(out, s, v) &&
	       gauge(out, "snapshot_age_seconds", "Age of the snapshot requests read.",
		     s->made_ms ? (double)(now_ms - s->made_ms) / 1000.0 : -1) &&
	       format_peers(out, s) && format_refresh(out) && format_lag(out, s, cfg, now_ms) &&
	       format_http(out) && format_agent(out) &&
	       gauge(out, "connections", "Client connections open now.",
		     (double)st->conns_current) &&
	       counter(out, "connections_accepted_total", "Client connections accepted.",
		       st->conns_accepted) &&
	       counter(out, "connections_rejected_total",
		       "Connections closed at once because max_connections was reached.",
		       st->conns_rejected) &&
	       counter(out, "connections_timed_out_total",
		       "Connections cut by client_timeout or send_timeout.",
		       st->conns_timed_out) &&
	       counter(out, "connections_denied_total",
		       "HTTP connections closed at accept: the client is outside [http] allow.",
		       st->conns_denied) &&
	       counter(out, "tls_handshake_failures_total",
		       "TLS handshakes that failed or ran out of client_timeout.",
		       st->tls_handshake_failures) &&
	       gauge(out, "last_transition_timestamp_seconds",
		     "Wall clock time of the last verdict change (0 = none yet).",
		     (double)state_last_transition_wall_ms() / 1000.0) &&
	       format_admin(out) && format_cluster(out, s) && format_config(out);
}

/* refresh: the cycle that makes every snapshot, and the node list it keeps.
 *
 * One cycle: pg_probe -> admin state file -> node list (this probe's rows, else the last
 * good list, else the topology cache read at start) -> naming and scope rules -> peers'
 * /primary (only when the database is up, not in recovery and its view names this node
 * the active primary: no vote can change any other verdict; a standby instead asks the
 * primary its view names for that primary's LSN, one request, for the lag model) ->
 * consensus_decide -> state_publish. Cycles never overlap: a tick that finds one still running is skipped.
 * Every step is bounded (db_timeout per pg step, peer_timeout per transfer), so a cycle
 * always ends.
 *
 * When the database is up but repmgr.nodes cannot be read (a statement timeout, a
 * permission), the last good list stands in (snapshot.from_cache): the peers' votes are
 * still fresh, so a primary they all name stays Primary.
 *
 * realprimary.c reads the node list (refresh_known_nodes) and asks its fan-out through the
 * same libcurl multi (refresh_peers). */
#include "refresh.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api.h"
#include "consensus.h"
#include "log.h"
#include "peers.h"
#include "pg.h"
#include "refresh_stats.h"
#include "state.h"
#include "util.h"

struct cycle {
	int64_t start_ms;
	struct pg_probe probe; /* nodes moved out */
	struct node *nodes;    /* working list, rules applied */
	size_t nnodes;
	bool from_cache;
	struct peer_vote *votes; /* parallel to nodes (NULL when there are none) */
	size_t *polled;          /* reply i belongs to nodes[polled[i]] */
	size_t npolled;
	bool primary_known;      /* standby: the primary's primgr told its LSN */
	bool primary_legacy;     /* standby: its primary is in legacy_peers (no LSN to ask) */
	uint64_t primary_lsn;
	char primary_error[128]; /* standby: why not ("" when known or not asked) */
};

static struct {
	bool started;
	struct ev_loop *loop;
	struct config cfg;
	struct identity id;
	struct pg *pg;
	struct peers *peers;
	ev_timer timer;

	/* the last good node list (rows only) and whether the cache file holds it */
	struct node *nodes;
	size_t nnodes;
	bool cache_dirty;
	bool cache_failing;
	char admin_error[160]; /* last admin-state read error, logged once */

	bool running;
	struct cycle cy;
	uint64_t seq;
	struct lag_track lag;  /* the lag model's memory while this node is a standby */
	char primary_lsn_error[128]; /* last reason the primary's LSN was not learned, logged once */
} R;

static struct refresh_stats stats;

const int64_t refresh_stats_bounds_ms[REFRESH_STATS_BUCKETS] = {
	5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000,
};

const struct refresh_stats *refresh_stats(void)
{
	return &stats;
}

void refresh_stats_observe(int64_t ms)
{
	int i = 0;

	while (i < REFRESH_STATS_BUCKETS && ms > refresh_stats_bounds_ms[i])
		i++;
	stats.bucket[i]++;
	stats.count++;
	stats.sum_s += (double)ms / 1000.0;
}

/* Same row (the fields repmgr.nodes holds; url and in_scope are derived from config). */
static bool node_same(const struct node *a, const struct node *b)
{
	return a->id == b->id && strcmp(a->name, b->name) == 0 && a->type == b->type &&
	       a->active == b->active && a->upstream_id == b->upstream_id &&
	       strcmp(a->location, b->location) == 0 && a->priority == b->priority &&
	       strcmp(a->host, b->host) == 0;
}

static bool list_same(const struct node *a, size_t na, const struct node *b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (!node_same(&a[i], &b[i]))
			return false;
	return true;
}

static const char *self_location(const struct node *nodes, size_t n)
{
	const struct node *self = topology_find(nodes, n, R.id.node_id);

	return self ? self->location : R.id.location;
}

/* A copy of the last good list with the current naming and scope rules applied. */
struct node *refresh_known_nodes(size_t *n)
{
	struct node *w;

	*n = 0;
	if (R.nnodes == 0)
		return NULL;
	w = malloc(R.nnodes * sizeof(*w));
	if (!w)
		return NULL;
	memcpy(w, R.nodes, R.nnodes * sizeof(*w));
	topology_apply_rules(&R.cfg, w, R.nnodes, self_location(w, R.nnodes));
	*n = R.nnodes;
	return w;
}

static void cache_write(void)
{
	if (!R.cfg.topology_cache[0] || R.nnodes == 0)
		return;
	if (topology_cache_write(R.cfg.topology_cache, R.nodes, R.nnodes) != 0) {
		if (!R.cache_failing)
			log_msg(LOG_WARNING, "topology cache %s: cannot write: %m",
			        R.cfg.topology_cache);
		R.cache_failing = true;
		R.cache_dirty = true;
		return;
	}
	if (R.cache_failing)
		log_msg(LOG_NOTICE, "topology cache %s: written again", R.cfg.topology_cache);
	R.cache_failing = false;
	R.cache_dirty = false;
}

/* The admin state file is read every cycle: `primgr ctl` only writes the file. */
static void read_admin(void)
{
	enum admin_state a;
	char err[160];
	struct stat st;
	int64_t mtime_ms = 0;

	if (!R.cfg.admin_state_file[0])
		return;
	if (!state_admin_read(R.cfg.admin_state_file, &a, err, sizeof(err))) {
		if (strcmp(err, R.admin_error) != 0)
			log_msg(LOG_WARNING, "admin state unchanged (%s): %s",
			        state_admin_name(state_admin()), err);
		util_copy_cut(R.admin_error, err, sizeof(R.admin_error));
		return;
	}
	R.admin_error[0] = '\0';
	/* The mtime dates primgr ctl's last write: the ready window survives a restart. */
	if (stat(R.cfg.admin_state_file, &st) == 0)
		mtime_ms = (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
	state_admin_seen(a, mtime_ms); /* logs a change itself */
}

/* Takes this probe's rows as the last good list when they were read. */
static void cycle_take_rows(struct pg_probe *p)
{
	if (p->ok && p->nodes_ok) {
		if (!list_same(p->nodes, p->nnodes, R.nodes, R.nnodes)) {
			log_msg(R.nnodes ? LOG_NOTICE : LOG_INFO, "repmgr.nodes: %zu node%s%s",
			        p->nnodes, p->nnodes == 1 ? "" : "s", R.nnodes ? " (changed)" : "");
			R.cache_dirty = true;
		}
		free(R.nodes);
		R.nodes = p->nodes;
		R.nnodes = p->nnodes;
		p->nodes = NULL;
		if (R.cache_dirty)
			cache_write();
	}
	free(p->nodes);
	p->nodes = NULL;
	p->nnodes = 0;
}

/* The standby's lag against the primary (state_lag_update) into s; a primary or a node
 * whose database is down has no lag to measure (its memory restarts when it is a standby). */
static void cycle_lag(struct snapshot *s, int64_t now)
{
	struct cycle *cy = &R.cy;
	const struct pg_probe *p = &cy->probe;
	struct lag_sample in = {0};
	struct lag_result out;

	if (!p->ok || !p->in_recovery) {
		if (p->ok)
			memset(&R.lag, 0, sizeof(R.lag));
		s->lag_known = p->lag_known;
		s->lag_ms = p->lag_ms;
		s->lag_bytes = p->lag_bytes;
		return;
	}
	in.streaming = p->streaming;
	in.receipt_known = p->receipt_known;
	in.receipt_age_ms = p->receipt_age_ms;
	in.replay_lsn = p->lsn;
	in.receive_lsn = p->receive_lsn;
	in.replay_lag_known = p->lag_known;
	in.replay_lag_ms = p->lag_ms;
	in.primary_known = cy->primary_known;
	in.primary_lsn = cy->primary_lsn;
	in.primary_legacy = cy->primary_legacy;
	state_lag_update(&R.lag, &in, &R.cfg, now, &out);
	s->streaming = p->streaming;
	util_copy_cut(s->receiver_status, p->receiver_status, sizeof(s->receiver_status));
	s->lag_known = out.known;
	s->lag_ms = out.ms;
	s->lag_bytes_known = out.bytes_known;
	s->lag_bytes = out.bytes_known ? out.bytes : p->lag_bytes;
	s->primary_lsn = out.primary_lsn;
	s->lag_over_since_ms = out.over_since_ms;
	s->lag_cause = out.cause;
	/* a transition at notice, a changed detail (a timeout's milliseconds) at debug */
	if (strcmp(cy->primary_error, R.primary_lsn_error) != 0) {
		if (cy->primary_error[0])
			log_msg(R.primary_lsn_error[0] ? LOG_DEBUG : LOG_NOTICE,
			        "primary's LSN not learned: %s", cy->primary_error);
		else if (cy->primary_known)
			log_msg(LOG_NOTICE, "primary's LSN learned again");
		util_copy_cut(R.primary_lsn_error, cy->primary_error, sizeof(R.primary_lsn_error));
	}
}

/* Decides and publishes; replies (parallel to cy->polled) give the transfer times. */
static void cycle_publish(const struct peer_reply *replies)
{
	struct cycle *cy = &R.cy;
	struct consensus_input in = {0};
	struct snapshot *s = calloc(1, sizeof(*s));
	int64_t now = util_now_ms();
	int primary;

	if (!s) {
		log_msg(LOG_ERR, "refresh: out of memory, snapshot not published");
		return;
	}
	in.db_up = cy->probe.ok;
	util_copy_cut(in.db_error, cy->probe.error, sizeof(in.db_error));
	in.in_recovery = cy->probe.in_recovery;
	in.self_id = R.id.node_id;
	in.self_name = R.id.node_name;
	in.self_location = R.cfg.repmgr_conf[0] ? R.id.location : NULL;
	in.nodes = cy->nodes;
	in.nnodes = cy->nnodes;
	in.votes = cy->votes;
	in.legacy_peers = R.cfg.legacy_peers;
	in.nlegacy_peers = R.cfg.nlegacy_peers;
	consensus_decide(&in, &s->c);
	/* a primary without any node list: say why the list is missing */
	if (s->c.verdict == VERDICT_UNKNOWN && cy->nnodes == 0 && cy->probe.nodes_error[0])
		snprintf(s->c.reason, sizeof(s->c.reason), "repmgr.nodes unreadable: %s",
		         cy->probe.nodes_error);

	s->seq = ++R.seq;
	s->made_ms = now;
	s->made_wall_ms = util_wall_ms();
	s->refresh_ms = now - cy->start_ms;
	s->db_up = cy->probe.ok;
	s->in_recovery = cy->probe.in_recovery;
	s->from_cache = cy->from_cache;
	s->timeline = cy->probe.timeline;
	s->lsn = cy->probe.lsn;
	s->receive_lsn = cy->probe.receive_lsn;
	cycle_lag(s, now);
	s->self_id = R.id.node_id;
	util_copy_cut(s->self_name, R.id.node_name, sizeof(s->self_name));
	util_copy_cut(s->self_location, self_location(cy->nodes, cy->nnodes), sizeof(s->self_location));
	primary = consensus_local_primary(cy->nodes, cy->nnodes);
	if (primary > 0) {
		const struct node *p = topology_find(cy->nodes, cy->nnodes, primary);

		if (p)
			util_copy_cut(s->primary_name, p->name, sizeof(s->primary_name));
	}
	if (cy->nnodes > 0) {
		s->nodes = calloc(cy->nnodes, sizeof(*s->nodes));
		if (s->nodes) {
			s->nnodes = cy->nnodes;
			for (size_t i = 0; i < cy->nnodes; i++) {
				s->nodes[i].node = cy->nodes[i];
				s->nodes[i].vote.status = PEER_UNPOLLED;
				s->nodes[i].reply_ms = -1;
				if (cy->votes)
					s->nodes[i].vote = cy->votes[i];
			}
			for (size_t i = 0; replies && i < cy->npolled; i++)
				s->nodes[cy->polled[i]].reply_ms = replies[i].ms;
		}
	}
	refresh_stats_observe(s->refresh_ms);
	state_publish(s);
}

static void cycle_end(void)
{
	struct cycle *cy = &R.cy;

	free(cy->nodes);
	free(cy->votes);
	free(cy->polled);
	free(cy->probe.nodes);
	memset(cy, 0, sizeof(*cy));
	R.running = false;
}

/* What one peer's /primary reply means as a vote. A 503 that names no primary (the peer's
 * database is down, or its view is stale or has no single active primary) is an answer
 * without a vote: the operator reads "names no primary" and why. */
static void vote_from_reply(const struct peer_reply *r, struct peer_vote *v)
{
	struct api_primary a;
	enum api_primary_kind kind;

	memset(v, 0, sizeof(*v));
	if (!r->transferred) {
		v->status = PEER_UNREACHABLE;
		util_copy_cut(v->detail, r->error, sizeof(v->detail));
		return;
	}
	kind = api_parse_primary(r->body, r->body_len, &a);
	if (r->http_code == 503 && kind == API_PRIMARY_NONE) {
		v->status = PEER_ANSWERED;
		util_copy_cut(v->detail, a.reason, sizeof(v->detail));
	} else if (r->http_code != 200) {
		v->status = PEER_BAD_REPLY;
		snprintf(v->detail, sizeof(v->detail), "HTTP %ld", r->http_code);
	} else if (kind == API_PRIMARY_LEGACY) {
		/* whether it counts is consensus's call: only from a peer in legacy_peers */
		v->status = PEER_ANSWERED;
		v->legacy = true;
		util_copy_cut(v->named_name, a.name, sizeof(v->named_name));
	} else if (kind != API_PRIMARY_NAMES) {
		v->status = PEER_BAD_REPLY;
		snprintf(v->detail, sizeof(v->detail), "malformed /primary reply: %s", a.error);
	} else {
		v->status = PEER_ANSWERED;
		v->named_id = a.id;
		util_copy_cut(v->named_name, a.name, sizeof(v->named_name));
		v->answered_id = a.by_id;
		util_copy_cut(v->answered_name, a.by_name, sizeof(v->answered_name));
	}
}

static void cycle_peers_cb(struct peer_reply *replies, size_t n, void *arg)
{
	struct cycle *cy = &R.cy;

	(void)arg;
	for (size_t i = 0; i < n && i < cy->npolled; i++)
		vote_from_reply(&replies[i], &cy->votes[cy->polled[i]]);
	cycle_publish(replies);
	cycle_end();
}

static bool is_voter(const struct node *n)
{
	return n->in_scope &&
	       (n->type == NODE_PRIMARY || n->type == NODE_STANDBY || n->type == NODE_WITNESS);
}

/* Asks every in-scope voter but self for its /primary. Returns false when nobody was
 * asked; cy->votes then says why for each voter. */
static bool cycle_ask_peers(void)
{
	struct cycle *cy = &R.cy;
	const char **urls;
	bool ok;

	cy->polled = calloc(cy->nnodes, sizeof(*cy->polled));
	urls = calloc(cy->nnodes, sizeof(*urls));
	if (!cy->polled || !urls) {
		free(urls);
		return false;
	}
	for (size_t i = 0; i < cy->nnodes; i++) {
		const struct node *n = &cy->nodes[i];

		if (n->id == R.id.node_id || !is_voter(n))
			continue;
		if (!n->url[0]) {
			cy->votes[i].status = PEER_BAD_REPLY;
			util_copy_cut(cy->votes[i].detail, "no URL", sizeof(cy->votes[i].detail));
			continue;
		}
		cy->polled[cy->npolled] = i;
		urls[cy->npolled++] = n->url;
	}
	ok = cy->npolled > 0 &&
	     peers_fetch(R.peers, urls, cy->npolled, "/primary", cycle_peers_cb, NULL);
	free(urls);
	if (!ok && cy->npolled > 0) {
		log_msg(LOG_WARNING, "refresh: cannot start the requests to %zu peers",
		        cy->npolled);
		for (size_t k = 0; k < cy->npolled; k++) {
			struct peer_vote *v = &cy->votes[cy->polled[k]];

			v->status = PEER_UNREACHABLE;
			util_copy_cut(v->detail, "fan-out failed", sizeof(v->detail));
		}
		cy->npolled = 0;
	}
	return ok;
}

/* The primary's /primary reply to a standby: its LSN, when it is the node asked. */
static void cycle_upstream_cb(struct peer_reply *replies, size_t n, void *arg)
{
	struct cycle *cy = &R.cy;
	const struct peer_reply *r = n > 0 ? &replies[0] : NULL;
	int asked = (int)(intptr_t)arg;
	struct api_primary a;

	if (!r || !r->transferred) {
		snprintf(cy->primary_error, sizeof(cy->primary_error), "unreachable: %s",
		         r ? r->error : "no reply");
	} else if (api_parse_primary(r->body, r->body_len, &a) != API_PRIMARY_NAMES ||
	           r->http_code != 200) {
		snprintf(cy->primary_error, sizeof(cy->primary_error), "HTTP %ld, no vote", r->http_code);
	} else if (a.by_id != asked) {
		snprintf(cy->primary_error, sizeof(cy->primary_error),
		         "answered by node %d, not the node asked", a.by_id);
	} else if (!a.has_lsn || a.lsn == 0) {
		snprintf(cy->primary_error, sizeof(cy->primary_error), "its reply has no \"lsn\"");
	} else {
		cy->primary_known = true;
		cy->primary_lsn = a.lsn;
	}
	cycle_publish(NULL);
	cycle_end();
}

/* A standby asks the primary its repmgr.nodes names for its LSN (one request per refresh,
 * bounded by peer_timeout). Returns false when nothing was asked (primary_error says why). */
static bool cycle_ask_primary_lsn(void)
{
	struct cycle *cy = &R.cy;
	int id = consensus_local_primary(cy->nodes, cy->nnodes);
	const struct node *p = id > 0 ? topology_find(cy->nodes, cy->nnodes, id) : NULL;
	const char *url;

	if (!p) {
		util_copy_cut(cy->primary_error, "repmgr.nodes names no single active primary",
		              sizeof(cy->primary_error));
		return false;
	}
	if (id == R.id.node_id) {
		util_copy_cut(cy->primary_error, "repmgr.nodes names this standby the primary",
		              sizeof(cy->primary_error));
		return false;
	}
	if (!p->url[0]) {
		snprintf(cy->primary_error, sizeof(cy->primary_error), "no URL for %s", p->name);
		return false;
	}
	for (int i = 0; i < R.cfg.nlegacy_peers; i++) {
		if (strcmp(R.cfg.legacy_peers[i], p->name) == 0) {
			cy->primary_legacy = true;
			snprintf(cy->primary_error, sizeof(cy->primary_error),
			         "%s is in legacy_peers: lag measured on this standby alone", p->name);
			return false;
		}
	}
	url = p->url;
	if (!peers_fetch(R.peers, &url, 1, "/primary", cycle_upstream_cb, (void *)(intptr_t)id)) {
		util_copy_cut(cy->primary_error, "cannot start the request",
		              sizeof(cy->primary_error));
		return false;
	}
	return true;
}

static void cycle_probe_cb(struct pg_probe *p, void *arg)
{
	struct cycle *cy = &R.cy;

	(void)arg;
	cy->probe = *p;
	read_admin();
	cycle_take_rows(&cy->probe);
	cy->from_cache = !(cy->probe.ok && cy->probe.nodes_ok);
	/* Rows that were read but make no sense are no outage: the old list must not stand in
	 * for them (the verdict says why instead). */
	if (!cy->probe.nodes_invalid)
		cy->nodes = refresh_known_nodes(&cy->nnodes);
	if (cy->nnodes > 0) {
		cy->votes = calloc(cy->nnodes, sizeof(*cy->votes));
		if (!cy->votes) {
			log_msg(LOG_ERR, "refresh: out of memory, cycle dropped");
			cycle_end();
			return;
		}
	}
	/* A standby: its verdict needs no votes, its lag needs the primary's LSN. */
	if (cy->probe.ok && cy->probe.in_recovery && cycle_ask_primary_lsn())
		return;
	/* Down, Standby, a primary in nobody's view, or nobody to ask: decide now. */
	if (!cy->probe.ok || cy->probe.in_recovery || cy->nnodes == 0 ||
	    consensus_local_primary(cy->nodes, cy->nnodes) != R.id.node_id || !cycle_ask_peers()) {
		cycle_publish(NULL);
		cycle_end();
	}
}

static void refresh_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
	if (R.running) {
		log_msg(LOG_DEBUG, "refresh: previous cycle still running (%lld ms), tick skipped",
		        (long long)(util_now_ms() - R.cy.start_ms));
		return;
	}
	memset(&R.cy, 0, sizeof(R.cy));
	R.cy.start_ms = util_now_ms();
	R.running = true;
	if (!pg_probe(R.pg, cycle_probe_cb, NULL)) {
		log_msg(LOG_DEBUG, "refresh: database probe still running, tick skipped");
		R.running = false;
	}
}

/* ---- start, reload, stop ---- */

static void load_cache(void)
{
	char err[256];
	struct node *nodes;
	size_t n;

	if (!R.cfg.topology_cache[0])
		return;
	if (access(R.cfg.topology_cache, F_OK) != 0) {
		log_msg(LOG_INFO, "topology cache %s: none yet", R.cfg.topology_cache);
		return;
	}
	if (!topology_cache_read(R.cfg.topology_cache, &nodes, &n, err, sizeof(err))) {
		log_msg(LOG_WARNING, "topology cache: %s (ignored)", err);
		return;
	}
	R.nodes = nodes;
	R.nnodes = n;
	log_msg(LOG_INFO, "topology cache %s: %zu node%s", R.cfg.topology_cache, n,
	        n == 1 ? "" : "s");
}

/* One warning per legacy peer at start, and again when a reload changes the list: a
 * legacy peer's vote is trusted on its URL alone, which the operator should not forget. */
static void warn_legacy_peers(const struct config *old, const struct config *cfg)
{
	bool same = old && old->nlegacy_peers == cfg->nlegacy_peers;

	for (int i = 0; same && i < cfg->nlegacy_peers; i++)
		same = strcmp(old->legacy_peers[i], cfg->legacy_peers[i]) == 0;
	if (same)
		return;
	for (int i = 0; i < cfg->nlegacy_peers; i++)
		log_msg(LOG_WARNING,
			"[consensus] legacy_peers: %s may answer /primary without answered_by "
			"(the Python service): its URL's node is taken as the answerer",
			cfg->legacy_peers[i]);
	if (old && cfg->nlegacy_peers == 0)
		log_msg(LOG_NOTICE, "[consensus] legacy_peers: none now, every vote must say who "
			"answered");
}

bool refresh_start(struct ev_loop *loop, const struct config *cfg, const struct identity *id,
                   char *err, size_t errlen)
{
	const char *conninfo = cfg->conninfo[0] ? cfg->conninfo : id->conninfo;

	if (R.started) {
		snprintf(err, errlen, "refresh already started");
		return false;
	}
	memset(&R, 0, sizeof(R));
	R.loop = loop;
	R.cfg = *cfg;
	R.id = *id;
	if (!conninfo[0]) {
		snprintf(err, errlen, "no conninfo: set [node] conninfo or conninfo in %s",
		         cfg->repmgr_conf);
		return false;
	}
	R.pg = pg_new(loop, cfg, conninfo);
	R.peers = peers_new(loop, cfg);
	if (!R.pg || !R.peers) {
		snprintf(err, errlen, "cannot set up %s: out of memory",
		         R.pg ? "libcurl" : "libpq");
		goto fail;
	}
	load_cache();
	warn_legacy_peers(NULL, cfg);
	/* the first cycle at once, then every refresh_interval */
	ev_timer_init(&R.timer, refresh_timer_cb, 0.0, cfg->refresh_interval_ms / 1000.0);
	ev_timer_start(loop, &R.timer);
	R.started = true;
	return true;
fail:
	pg_free(R.pg);
	peers_free(R.peers);
	memset(&R, 0, sizeof(R));
	return false;
}

void refresh_reconfigure(const struct config *cfg)
{
	bool new_interval;

	if (!R.started)
		return;
	new_interval = cfg->refresh_interval_ms != R.cfg.refresh_interval_ms;
	if (strcmp(cfg->topology_cache, R.cfg.topology_cache) != 0)
		R.cache_dirty = true;
	warn_legacy_peers(&R.cfg, cfg);
	R.cfg = *cfg;
	pg_reconfigure(R.pg, cfg);
	peers_reconfigure(R.peers, cfg);
	if (new_interval) {
		R.timer.repeat = cfg->refresh_interval_ms / 1000.0;
		ev_timer_again(R.loop, &R.timer);
	}
}

struct peers *refresh_peers(void)
{
	return R.started ? R.peers : NULL;
}

void refresh_stop(void)
{
	if (!R.started)
		return;
	ev_timer_stop(R.loop, &R.timer);
	/* neither calls back once freed (nor does /realPrimary's fan-out on R.peers) */
	pg_free(R.pg);
	peers_free(R.peers);
	free(R.cy.nodes);
	free(R.cy.votes);
	free(R.cy.polled);
	free(R.cy.probe.nodes);
	free(R.nodes);
	memset(&R, 0, sizeof(R));
}

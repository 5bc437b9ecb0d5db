/* realprimary: the /realPrimary fan-out and its waiters.
 *
 * One fan-out at a time asks every other known node's /state (all locations; witnesses
 * are never Primary and are skipped) through their URLs; every request that arrives while
 * it runs waits for the same answer. This node answers for itself from its own current
 * snapshot (the verdict a request would see now), which avoids a request to itself and
 * works whatever its own URL is. The node list and the libcurl multi are refresh's, read
 * through refresh_known_nodes and refresh_peers. */
#include "realprimary.h"

#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "consensus.h"
#include "peers.h"
#include "refresh.h"
#include "state.h"
#include "util.h"

static void rp_ask_nodes(void);

static struct {
	struct ev_loop *loop;
	uint32_t stale_after_ms;
	int self_id;
	char self_name[CONFIG_NAME_MAX];
	void (*ask)(void);                 /* starts a fan-out; NULL: nothing asks the nodes */

	struct rp_waiters waiters;         /* waiting for the running fan-out */
	struct rp_waiters delivering;      /* being answered now */
	bool running;
	struct node *nodes;                /* nodes asked, parallel to the replies */
	size_t n;
	ev_timer kick;                     /* answers from the loop when the fan-out failed */

	int claims;                        /* of the last fan-out, -1 none yet */
	int64_t claims_wall_ms;
	struct rp_waiter scrape;           /* the metrics scrape's own place in the list */
	int64_t scrape_wall_ms;            /* when the scrape last started a fan-out */
	struct realprimary_counts counts;
} RP = {
	.waiters = TAILQ_HEAD_INITIALIZER(RP.waiters),
	.delivering = TAILQ_HEAD_INITIALIZER(RP.delivering),
	.claims = -1,
};

static void rp_remove(struct rp_waiter *w)
{
	TAILQ_REMOVE(w->list, w, entry);
	w->list = NULL;
}

static void rp_insert(struct rp_waiters *list, struct rp_waiter *w)
{
	TAILQ_INSERT_TAIL(list, w, entry);
	w->list = list;
}

size_t realprimary_deliver(int code, const char *body, int claims)
{
	struct realprimary_result res = {.code = code, .body = body};
	struct rp_waiter *w;
	size_t n = 0;

	if (claims >= 0) {
		RP.claims = claims;
		RP.claims_wall_ms = util_wall_ms();
	}
	/* Waiters arriving from inside a callback start a new fan-out. */
	while ((w = TAILQ_FIRST(&RP.waiters))) {
		rp_remove(w);
		rp_insert(&RP.delivering, w);
	}
	RP.running = false;
	while ((w = TAILQ_FIRST(&RP.delivering))) {
		rp_remove(w);
		RP.counts.answered++;
		n++;
		w->cb(w, &res);
	}
	return n;
}

static void rp_finish(const struct peer_reply *replies, size_t n, bool failed)
{
	const struct snapshot *snap = state_current();
	struct api_node_ref *claims = calloc(RP.n + 1, sizeof(*claims));
	const char **silent = calloc(RP.n + 1, sizeof(*silent));
	size_t nclaims = 0, nsilent = 0, nunreachable = 0, ncontenders = 0;
	enum verdict self;
	char *body = NULL, reason[160] = "";
	int code = 503, nclaiming = -1;

	if (!claims || !silent)
		goto out;
	/* self, from the verdict a request would see now */
	self = state_verdict(snap, util_now_ms(), RP.stale_after_ms);
	if (self == VERDICT_PRIMARY) {
		util_copy_cut(claims[0].name, RP.self_name, sizeof(claims[0].name));
		claims[0].id = RP.self_id;
		nclaims = 1;
	} else if (self == VERDICT_UNKNOWN && snap->c.votes > 0) {
		ncontenders++;
	}
	for (size_t i = 0; i < RP.n; i++) {
		const struct peer_reply *r = i < n ? &replies[i] : NULL;
		struct api_state_reply st;

		/* a reply from another node than the one asked (two rows on one URL) is no answer */
		if (failed || !r || !r->transferred ||
		    !api_parse_state(r->body, r->body_len, &st) || st.id != RP.nodes[i].id ||
		    strcmp(st.name, RP.nodes[i].name) != 0) {
			nsilent++;
			if (failed || !r || !r->transferred)
				silent[nunreachable++] = RP.nodes[i].name;
			continue;
		}
		/* Unknown with votes: its database runs as the primary its own repmgr view names
		 * but it lacks the quorum, as an old primary started again after a failover. It
		 * claims the role without getting it. */
		if (st.verdict == VERDICT_UNKNOWN && st.voted)
			ncontenders++;
		if (r->http_code != 200 || st.verdict != VERDICT_PRIMARY)
			continue;
		/* named as this node knows it: the URL asked belongs to that row */
		util_copy_cut(claims[nclaims].name, RP.nodes[i].name, sizeof(claims[0].name));
		claims[nclaims++].id = RP.nodes[i].id;
	}
	nclaiming = (int)(nclaims + ncontenders);

	if (nclaims == 1) {
		code = 200;
	} else {
		size_t off = 0;

		if (nclaims == 0)
			(void)!util_appendf(reason, sizeof(reason), &off, "no node says Primary");
		else
			(void)!util_appendf(reason, sizeof(reason), &off, "%zu nodes say Primary",
			                    nclaims);
		if (failed)
			(void)!util_appendf(reason, sizeof(reason), &off,
			                    " (the requests to %zu nodes could not start)", RP.n);
		else if (nsilent)
			(void)!util_appendf(reason, sizeof(reason), &off,
			                    " (%zu of %zu nodes gave no state)", nsilent, RP.n + 1);
	}
	body = api_realprimary(claims, nclaims, reason, silent, nunreachable);
out:
	free(silent);
	free(claims);
	free(RP.nodes);
	RP.nodes = NULL;
	RP.n = 0;
	if (!body)
		code = 503;
	realprimary_deliver(code, body ? body : api_realprimary_unanswered(API_RP_NO_MEMORY),
	                    nclaiming);
	free(body);
}

static void rp_peers_cb(struct peer_reply *replies, size_t n, void *arg)
{
	(void)arg;
	rp_finish(replies, n, false);
}

static void rp_kick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
	rp_finish(NULL, 0, true);
}

/* Starts a fan-out of /state to every known node but self. With nobody to ask the
 * batch is empty and still completes from the loop. */
static void rp_ask_nodes(void)
{
	struct peers *peers = refresh_peers();
	struct node *all;
	size_t n, k = 0;
	const char **urls;

	all = refresh_known_nodes(&n);
	urls = calloc(n ? n : 1, sizeof(*urls));
	RP.nodes = calloc(n ? n : 1, sizeof(*RP.nodes));
	if (!peers || !urls || !RP.nodes || (n && !all))
		goto fail;
	for (size_t i = 0; i < n; i++) {
		if (all[i].id == RP.self_id || !all[i].url[0] || all[i].type == NODE_WITNESS)
			continue;
		RP.nodes[k] = all[i];
		urls[k] = RP.nodes[k].url;
		k++;
	}
	RP.n = k;
	if (!peers_fetch(peers, urls, k, "/state", rp_peers_cb, NULL))
		goto fail;
	free(urls);
	free(all);
	return;
fail:
	free(urls);
	free(all);
	ev_timer_set(&RP.kick, 0.0, 0.0);
	ev_timer_start(RP.loop, &RP.kick);
}

void realprimary_wait(struct rp_waiter *w)
{
	if (!RP.ask) {
		struct realprimary_result res = {
		    .code = 503, .body = api_realprimary_unanswered(API_RP_NO_FANOUT)};

		w->cb(w, &res);
		return;
	}
	rp_insert(&RP.waiters, w);
	if (!RP.running) {
		RP.running = true;
		RP.ask();
	}
}

bool realprimary_waiting(const struct rp_waiter *w)
{
	return w->list != NULL;
}

void realprimary_cancel(struct rp_waiter *w)
{
	if (!w->list)
		return;
	rp_remove(w);
	RP.counts.cancelled++;
}

void realprimary_give_up(struct rp_waiter *w)
{
	struct realprimary_result res = {.code = 503,
	                                 .body = api_realprimary_unanswered(API_RP_TIMED_OUT)};

	realprimary_cancel(w);
	w->cb(w, &res);
}

static void scrape_done_cb(struct rp_waiter *w, const struct realprimary_result *r)
{
	/* the count is recorded by the fan-out itself (realprimary_deliver) */
	(void)w;
	(void)r;
}

void realprimary_scrape(uint32_t interval_ms)
{
	int64_t now = util_wall_ms(), last = RP.claims_wall_ms;

	if (!RP.ask || realprimary_waiting(&RP.scrape))
		return;
	if (RP.scrape_wall_ms > last)
		last = RP.scrape_wall_ms;
	if (last && now - last < (int64_t)interval_ms)
		return;
	RP.scrape_wall_ms = now;
	RP.scrape.cb = scrape_done_cb;
	realprimary_wait(&RP.scrape);
}

int realprimary_claims(int64_t *wall_ms)
{
	*wall_ms = RP.claims_wall_ms;
	return RP.claims;
}

void realprimary_start(struct ev_loop *loop, const struct config *cfg, const struct identity *id)
{
	RP.loop = loop;
	RP.stale_after_ms = cfg->stale_after_ms;
	RP.self_id = id->node_id;
	util_copy_cut(RP.self_name, id->node_name, sizeof(RP.self_name));
	ev_init(&RP.kick, rp_kick_cb);
	RP.ask = rp_ask_nodes;
}

void realprimary_reconfigure(const struct config *cfg)
{
	RP.stale_after_ms = cfg->stale_after_ms;
}

void realprimary_stop(void)
{
	struct rp_waiter *w;

	if (RP.loop)
		ev_timer_stop(RP.loop, &RP.kick);
	/* a fan-out in flight never calls back: refresh_stop frees the transfers */
	while ((w = TAILQ_FIRST(&RP.waiters)))
		rp_remove(w);
	while ((w = TAILQ_FIRST(&RP.delivering)))
		rp_remove(w);
	free(RP.nodes);
	RP.nodes = NULL;
	RP.n = 0;
	RP.running = false;
	RP.ask = NULL;
	RP.loop = NULL;
}

void realprimary_fake(void (*ask)(void))
{
	RP.ask = ask;
}

void realprimary_counts(struct realprimary_counts *out)
{
	struct rp_waiter *w;

	*out = RP.counts;
	out->waiting = 0;
	TAILQ_FOREACH(w, &RP.waiters, entry)
		out->waiting++;
	TAILQ_FOREACH(w, &RP.delivering, entry)
		out->waiting++;
}

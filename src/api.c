/* api: the JSON bodies primgr sends (built with jansson, a /state head cached) and the
 * parsers of the replies it gets from its peers, with one set of rules for every reply. */
#include "api.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "peers.h"
#include "topology.h"

/* ---- bodies ---- */

/* A JSON string that never fails on bad UTF-8 (names and libpq errors are bytes):
 * invalid bytes become '?'. */
static json_t *jstr(const char *s)
{
	json_t *j = json_string(s);
	char *copy;

	if (j)
		return j;
	copy = strdup(s);
	if (!copy)
		return NULL;
	for (char *p = copy; *p; p++)
		if ((unsigned char)*p >= 0x80 || (unsigned char)*p < 0x20)
			*p = '?';
	j = json_string(copy);
	free(copy);
	return j;
}

/* A string, or null when empty. */
static json_t *jstr_or_null(const char *s)
{
	return s && *s ? jstr(s) : json_null();
}

/* Sets key to value; a NULL value (allocation failure) marks the object failed. */
static void jset(json_t *obj, const char *key, json_t *value, bool *ok)
{
	if (!value || json_object_set_new(obj, key, value) != 0)
		*ok = false;
}

/* Dumps j (consumed) into out. */
static bool json_emit(json_t *j, bool ok, struct buf *out)
{
	char *text = ok && j ? json_dumps(j, JSON_COMPACT) : NULL;
	bool done = text && buf_append(out, text, strlen(text));

	free(text);
	json_decref(j);
	return done;
}

static int64_t snapshot_age(const struct api_view *x)
{
	return x->s->made_ms ? x->now_ms - x->s->made_ms : -1;
}

/* The reason a request sees: the snapshot's, or why it is stale. */
static const char *visible_reason(const struct api_view *x, char *buf, size_t size)
{
	if (x->v == VERDICT_UNKNOWN && x->s->c.verdict != VERDICT_UNKNOWN) {
		snprintf(buf, size, "stale: last refresh %lld ms ago (was %s: %s)",
			 (long long)snapshot_age(x), consensus_verdict_name(x->s->c.verdict),
			 x->s->c.reason);
		return buf;
	}
	return x->s->c.reason;
}

/* /state is what haproxy and the peers poll, up to tens of thousands of times a second,
 * and between two refreshes only age_ms changes: the body up to it is built with jansson
 * once per (verdict, snapshot fields) and kept, keyed on the fields themselves so that no
 * snapshot (reused memory, tests) can get another's text. */
static struct {
	bool valid;
	enum verdict v;
	int self_id, votes, quorum, timeline;
	char self_name[CONFIG_NAME_MAX];
	char reason[sizeof(((struct consensus_result *)0)->reason)];
	char head[1024];                   /* the JSON object without age_ms and '}' */
	size_t head_len;
} state_cache;

static bool state_cache_hit(const struct api_view *x)
{
	const struct snapshot *s = x->s;

	return state_cache.valid && state_cache.v == x->v && state_cache.self_id == s->self_id &&
	       state_cache.votes == s->c.votes && state_cache.quorum == s->c.quorum &&
	       state_cache.timeline == s->timeline &&
	       strcmp(state_cache.self_name, s->self_name) == 0 &&
	       strcmp(state_cache.reason, s->c.reason) == 0;
}

/* Remembers text (jansson's whole object, age_ms last) without its age_ms member. */
static void state_cache_store(const struct api_view *x, const char *text, size_t len)
{
	static const char age_key[] = ",\"age_ms\":";
	const char *age = NULL;

	state_cache.valid = false;
	for (const char *p = text; (p = strstr(p, age_key)); p++)
		age = p;
	if (!age || (size_t)(age - text) >= sizeof(state_cache.head) || len == 0)
		return;
	memcpy(state_cache.head, text, (size_t)(age - text));
	state_cache.head_len = (size_t)(age - text);
	state_cache.v = x->v;
	state_cache.self_id = x->s->self_id;
	state_cache.votes = x->s->c.votes;
	state_cache.quorum = x->s->c.quorum;
	state_cache.timeline = x->s->timeline;
	snprintf(state_cache.self_name, sizeof(state_cache.self_name), "%s", x->s->self_name);
	snprintf(state_cache.reason, sizeof(state_cache.reason), "%s", x->s->c.reason);
	state_cache.valid = true;
}

int api_state(const struct api_view *x, struct buf *body)
{
	char why[512];
	json_t *j;
	bool ok, stale = x->v == VERDICT_UNKNOWN && x->s->c.verdict != VERDICT_UNKNOWN;
	int64_t age = snapshot_age(x);
	size_t start = body->len;

	/* A stale reason carries the age, so it is built every time (rare: DB refresh failing). */
	if (!stale && state_cache_hit(x)) {
		bool done = buf_append(body, state_cache.head, state_cache.head_len) &&
			    (age >= 0 ? buf_printf(body, ",\"age_ms\":%lld}", (long long)age)
				      : buf_printf(body, ",\"age_ms\":null}"));
		return done ? consensus_verdict_http_code(x->v) : 500;
	}
	j = json_object();
	ok = j != NULL;
	if (j) {
		jset(j, "state", json_string(consensus_verdict_name(x->v)), &ok);
		jset(j, "node_id", json_integer(x->s->self_id), &ok);
		jset(j, "node_name", jstr_or_null(x->s->self_name), &ok);
		jset(j, "reason", jstr(visible_reason(x, why, sizeof(why))), &ok);
		jset(j, "votes", json_integer(x->s->c.votes), &ok);
		jset(j, "quorum", json_integer(x->s->c.quorum), &ok);
		jset(j, "timeline", json_integer(x->s->timeline), &ok);
		jset(j, "age_ms", age >= 0 ? json_integer(age) : json_null(), &ok);
	}
	if (!json_emit(j, ok, body))
		return 500;
	if (stale)
		state_cache.valid = false;
	else
		state_cache_store(x, body->data + start, body->len - start);
	return consensus_verdict_http_code(x->v);
}

int api_primary(const struct api_view *x, struct buf *body)
{
	const struct snapshot *s = x->s;
	char why[300];
	json_t *j = json_object();
	bool ok = j != NULL, stale = x->now_ms - s->made_ms > (int64_t)x->cfg->stale_after_ms;
	int code = 503;

	/* Peers vote with this answer: only a fresh view of a reachable database counts. */
	if (!s->made_ms)
		snprintf(why, sizeof(why), "%s", s->c.reason);
	else if (stale)
		snprintf(why, sizeof(why), "stale: last refresh %lld ms ago",
			 (long long)snapshot_age(x));
	else if (!s->db_up)
		snprintf(why, sizeof(why), "%s", s->c.reason);
	else if (s->c.primary_id <= 0 || !s->primary_name[0])
		snprintf(why, sizeof(why), "no single active primary in the local view");
	else if (s->self_id <= 0 || !s->self_name[0])
		snprintf(why, sizeof(why), "own node id and name unknown");
	else
		code = 200;
	if (j && code == 200) {
		jset(j, "Primary", jstr(s->primary_name), &ok);
		jset(j, "node_id", json_integer(s->c.primary_id), &ok);
	} else if (j) {
		jset(j, "Primary", json_null(), &ok);
		jset(j, "reason", jstr(why), &ok);
	}
	/* a primary's WAL position: its standbys measure their lag against it */
	if (j && !stale && s->made_ms && s->db_up && !s->in_recovery && s->lsn) {
		char lsn[24];

		api_format_lsn(s->lsn, lsn, sizeof(lsn));
		jset(j, "lsn", json_string(lsn), &ok);
	}
	/* who answers: a vote counts only from the node its URL was meant to reach */
	if (j) {
		jset(j, "answered_by", jstr_or_null(s->self_name), &ok);
		jset(j, "answered_by_id", s->self_id > 0 ? json_integer(s->self_id) : json_null(), &ok);
	}
	return json_emit(j, ok, body) ? code : 500;
}

/* Why a standby within the configured limits still fails the request's own check, or NULL. */
static const char *replica_check_fails(const struct api_view *x, char *why, size_t size)
{
	const struct snapshot *s = x->s;
	const struct api_replica_check *chk = x->check;

	if (!chk)
		return NULL;
	if ((chk->max_lag_bytes >= 0 || chk->max_lag_ms >= 0) && !s->lag_known) {
		snprintf(why, size, "replay lag unknown, the query asks for lag");
		return why;
	}
	if (chk->max_lag_bytes >= 0 && s->lag_bytes > chk->max_lag_bytes) {
		snprintf(why, size, "replay lag %lld bytes over the query's lag %lld bytes",
			 (long long)s->lag_bytes, (long long)chk->max_lag_bytes);
		return why;
	}
	if (chk->max_lag_ms >= 0 && s->lag_ms > chk->max_lag_ms) {
		snprintf(why, size, "replay lag %lld ms over the query's lag %lld ms",
			 (long long)s->lag_ms, (long long)chk->max_lag_ms);
		return why;
	}
	/* replication_state=streaming: pg_stat_wal_receiver's status this refresh */
	if (chk->streaming && !s->streaming) {
		snprintf(why, size, "not streaming: WAL receiver %s",
			 s->receiver_status[0] ? s->receiver_status : "not running");
		return why;
	}
	return NULL;
}

int api_replica(const struct api_view *x, struct buf *body)
{
	const struct snapshot *s = x->s;
	char why[512];
	const char *reason = why, *fails;
	json_t *j = json_object();
	bool ok = j != NULL, up = false;
	bool include_primary = x->check ? x->check->include_primary
					: x->cfg->replica_include_primary;
	int weight = 0;

	if (x->v == VERDICT_STANDBY) {
		weight = state_replica_weight(s, x->cfg, x->now_ms);
		up = weight > 0;
		if (up && (fails = replica_check_fails(x, why, sizeof(why))))
			up = false;
		else if (up && s->lag_known)
			snprintf(why, sizeof(why), "standby, replay lag %lld ms",
				 (long long)s->lag_ms);
		else if (up)
			snprintf(why, sizeof(why), "standby, replay lag unknown");
		else if (s->lag_cause == LAG_CAUSE_NOT_STREAMING)
			snprintf(why, sizeof(why), "down #not-streaming: no streaming WAL receiver "
				 "for over max_lag and lag_grace");
		else if (s->lag_cause == LAG_CAUSE_NO_PRIMARY_LSN)
			snprintf(why, sizeof(why), "down #lag: the primary's LSN not learned for "
				 "over max_lag and lag_grace");
		else
			snprintf(why, sizeof(why), "down #lag: lag over max_lag%s for lag_grace",
				 x->cfg->max_lag_bytes > 0 ? " or max_lag_bytes" : "");
	} else if (x->v == VERDICT_PRIMARY) {
		up = include_primary;
		weight = up ? 100 : 0;
		snprintf(why, sizeof(why),
			 !up ? "primary"
			 : x->cfg->replica_include_primary ? "primary (replica_include_primary)"
							    : "primary (read-only: serves reads)");
	} else {
		reason = visible_reason(x, why, sizeof(why));
	}
	if (j) {
		jset(j, "replica", json_boolean(up), &ok);
		jset(j, "state", json_string(consensus_verdict_name(x->v)), &ok);
		jset(j, "weight", json_integer(weight), &ok);
		jset(j, "lag_ms", s->lag_known ? json_integer(s->lag_ms) : json_null(), &ok);
		jset(j, "lag_bytes", s->lag_known ? json_integer(s->lag_bytes) : json_null(), &ok);
		jset(j, "streaming", s->in_recovery ? json_boolean(s->streaming) : json_null(), &ok);
		jset(j, "reason", jstr(reason), &ok);
	}
	if (!json_emit(j, ok, body))
		return 500;
	return up ? 200 : 503;
}

int api_health(const struct api_view *x, struct buf *body)
{
	return buf_printf(body, "{\"status\":\"ok\"}") ? 200 : 500;
}

static const char *peer_status_name(enum peer_status st)
{
	switch (st) {
	case PEER_UNREACHABLE: return "unreachable";
	case PEER_BAD_REPLY: return "bad-reply";
	case PEER_ANSWERED: return "answered";
	case PEER_UNPOLLED:
	default: return "unpolled";
	}
}

static json_t *cluster_node(const struct node_view *nv, bool *ok)
{
	const struct node *n = &nv->node;
	const struct peer_vote *pv = &nv->vote;
	json_t *j = json_object(), *vote = json_object();

	if (!j || !vote) {
		json_decref(j);
		json_decref(vote);
		*ok = false;
		return NULL;
	}
	jset(j, "node_id", json_integer(n->id), ok);
	jset(j, "node_name", jstr(n->name), ok);
	jset(j, "type", json_string(topology_type_name(n->type)), ok);
	jset(j, "active", json_boolean(n->active), ok);
	jset(j, "location", jstr(n->location), ok);
	jset(j, "upstream_id", n->upstream_id ? json_integer(n->upstream_id) : json_null(), ok);
	jset(j, "priority", json_integer(n->priority), ok);
	jset(j, "in_scope", json_boolean(n->in_scope), ok);
	jset(j, "url", jstr_or_null(n->url), ok);
	jset(j, "reachable",
	     pv->status == PEER_UNPOLLED ? json_null()
					 : json_boolean(pv->status != PEER_UNREACHABLE),
	     ok);
	jset(vote, "status", json_string(peer_status_name(pv->status)), ok);
	jset(vote, "named_id", pv->named_id ? json_integer(pv->named_id) : json_null(), ok);
	jset(vote, "named_name", jstr_or_null(pv->named_name), ok);
	jset(vote, "legacy", json_boolean(pv->legacy), ok);
	jset(vote, "detail", jstr_or_null(pv->detail), ok);
	jset(j, "vote", vote, ok);
	jset(j, "reply_ms", nv->reply_ms >= 0 ? json_integer(nv->reply_ms) : json_null(), ok);
	return j;
}

int api_cluster(const struct api_view *x, struct buf *body)
{
	const struct snapshot *s = x->s;
	char why[512];
	json_t *j = json_object(), *self = json_object(), *lag = json_object(),
	       *nodes = json_array();
	bool ok = j && self && lag && nodes;
	int64_t age = snapshot_age(x);

	if (!ok) {
		json_decref(self);
		json_decref(lag);
		json_decref(nodes);
		json_decref(j);
		return 500;
	}
	jset(self, "node_id", json_integer(s->self_id), &ok);
	jset(self, "node_name", jstr_or_null(s->self_name), &ok);
	jset(self, "location", jstr_or_null(s->self_location), &ok);
	jset(j, "self", self, &ok);
	jset(j, "verdict", json_string(consensus_verdict_name(x->v)), &ok);
	jset(j, "reason", jstr(visible_reason(x, why, sizeof(why))), &ok);
	jset(j, "votes", json_integer(s->c.votes), &ok);
	jset(j, "quorum", json_integer(s->c.quorum), &ok);
	jset(j, "voters", json_integer(s->c.voters), &ok);
	jset(j, "primary_id", s->c.primary_id > 0 ? json_integer(s->c.primary_id) : json_null(),
	     &ok);
	jset(j, "primary_name", jstr_or_null(s->primary_name), &ok);
	jset(j, "db_up", json_boolean(s->db_up), &ok);
	jset(j, "in_recovery", json_boolean(s->in_recovery), &ok);
	jset(j, "from_cache", json_boolean(s->from_cache), &ok);
	jset(j, "timeline", json_integer(s->timeline), &ok);
	jset(j, "age_ms", age >= 0 ? json_integer(age) : json_null(), &ok);
	jset(j, "refresh_ms", json_integer(s->refresh_ms), &ok);
	jset(j, "admin", json_string(state_admin_name(state_admin())), &ok);
	jset(lag, "known", json_boolean(s->lag_known), &ok);
	jset(lag, "ms", s->lag_known ? json_integer(s->lag_ms) : json_null(), &ok);
	jset(lag, "bytes", s->lag_known ? json_integer(s->lag_bytes) : json_null(), &ok);
	jset(lag, "bytes_vs_primary", json_boolean(s->lag_bytes_known), &ok);
	jset(lag, "streaming", s->in_recovery ? json_boolean(s->streaming) : json_null(), &ok);
	jset(lag, "receiver_status",
	     s->in_recovery ? jstr_or_null(s->receiver_status) : json_null(), &ok);
	if (s->primary_lsn) {
		char lsn[24];

		api_format_lsn(s->primary_lsn, lsn, sizeof(lsn));
		jset(lag, "primary_lsn", json_string(lsn), &ok);
	} else {
		jset(lag, "primary_lsn", json_null(), &ok);
	}
	jset(lag, "cause",
	     s->lag_over_since_ms && s->in_recovery
		     ? json_string(s->lag_cause == LAG_CAUSE_NOT_STREAMING ? "not-streaming"
				   : s->lag_cause == LAG_CAUSE_NO_PRIMARY_LSN ? "no-primary-lsn"
									       : "lag")
		     : json_null(),
	     &ok);
	jset(lag, "weight",
	     s->in_recovery ? json_integer(state_replica_weight(s, x->cfg, x->now_ms))
			    : json_null(),
	     &ok);
	jset(j, "lag", lag, &ok);
	for (size_t i = 0; i < s->nnodes; i++) {
		json_t *n = cluster_node(&s->nodes[i], &ok);
		if (!n || json_array_append_new(nodes, n) != 0)
			ok = false;
	}
	jset(j, "nodes", nodes, &ok);
	return json_emit(j, ok, body) ? 200 : 500;
}

bool api_error(struct buf *out, const char *msg)
{
	return buf_printf(out, "{\"error\":\"%s\"}", msg);
}

/* ---- /realPrimary ---- */

static const char *const rp_unanswered[] = {
	[API_RP_NO_FANOUT] = "{\"realPrimary\":null,\"candidates\":[],\"reason\":\"no "
			     "/realPrimary fan-out in this process\"}",
	[API_RP_TIMED_OUT] = "{\"realPrimary\":null,\"candidates\":[],\"reason\":\"timed out "
			     "waiting for the nodes' /state\"}",
	[API_RP_NO_MEMORY] = "{\"realPrimary\":null,\"candidates\":[],"
			     "\"reason\":\"out of memory\"}",
};

const char *api_realprimary_unanswered(enum api_realprimary_unanswered why)
{
	return (unsigned)why < ARRAY_SIZE(rp_unanswered) ? rp_unanswered[why]
							  : rp_unanswered[API_RP_NO_MEMORY];
}

char *api_realprimary(const struct api_node_ref *claims, size_t nclaims, const char *reason,
		      const char *const *unreachable, size_t nunreachable)
{
	json_t *root, *cand, *silent;
	char *body;

	if (nclaims == 1) {
		root = json_pack("{s:s, s:i}", "realPrimary", claims[0].name, "node_id",
				 claims[0].id);
	} else {
		silent = json_array();
		for (size_t i = 0; silent && i < nunreachable; i++)
			json_array_append_new(silent, json_string(unreachable[i]));
		cand = json_array();
		for (size_t i = 0; cand && i < nclaims; i++)
			json_array_append_new(cand, json_string(claims[i].name));
		/* "o" takes the references, also when packing fails */
		root = json_pack("{s:n, s:o, s:s, s:o}", "realPrimary", "candidates", cand,
				 "reason", reason, "unreachable", silent);
	}
	body = root ? json_dumps(root, JSON_COMPACT) : NULL;
	json_decref(root);
	return body;
}

/* ---- a peer's replies ---- */

/* Parses body as one JSON object (no trailing bytes, no NUL, bounded size). */
static json_t *parse_object(const char *body, size_t len)
{
	json_error_t err;
	json_t *root;

	if (!body || len == 0 || len > PEERS_MAX_BODY)
		return NULL;
	root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &err);
	if (root && !json_is_object(root)) {
		json_decref(root);
		return NULL;
	}
	return root;
}

/* A node name fits when it is 1..size-1 bytes of printable characters (no control
 * bytes that could end up in a log line or a header). */
static bool copy_name(const json_t *v, char *out, size_t size)
{
	const char *s;
	size_t len;

	if (!json_is_string(v))
		return false;
	s = json_string_value(v);
	len = json_string_length(v);
	if (len == 0 || len >= size || len >= CONFIG_NAME_MAX || strlen(s) != len)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	memcpy(out, s, len + 1);
	return true;
}

/* A node id: an integer 1..INT32_MAX. */
static bool copy_id(const json_t *v, int *out)
{
	json_int_t i;

	if (!json_is_integer(v))
		return false;
	i = json_integer_value(v);
	if (i < 1 || i > INT32_MAX)
		return false;
	*out = (int)i;
	return true;
}

void api_format_lsn(uint64_t lsn, char *buf, size_t size)
{
	snprintf(buf, size, "%X/%X", (unsigned)(lsn >> 32), (unsigned)(lsn & 0xffffffffu));
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

bool api_parse_lsn(const char *s, size_t len, uint64_t *out)
{
	uint64_t part[2] = { 0, 0 };
	size_t i = 0;

	for (int k = 0; k < 2; k++) {
		size_t digits = 0;

		for (; i < len && hexval(s[i]) >= 0; i++, digits++) {
			if (digits == 8)
				return false;
			part[k] = part[k] << 4 | (uint64_t)hexval(s[i]);
		}
		if (digits == 0 || (k == 0 && (i >= len || s[i++] != '/')))
			return false;
	}
	if (i != len)
		return false;
	*out = part[0] << 32 | part[1];
	return true;
}

/* The optional "lsn" of a vote. */
static void parse_lsn_member(json_t *root, struct api_primary *out)
{
	json_t *v = json_object_get(root, "lsn");

	out->has_lsn = json_is_string(v) &&
		       api_parse_lsn(json_string_value(v), json_string_length(v), &out->lsn);
	if (!out->has_lsn)
		out->lsn = 0;
}

enum api_primary_kind api_parse_primary(const char *body, size_t len, struct api_primary *out)
{
	static const char *const no_name = "no valid \"Primary\" name";
	json_t *root = parse_object(body, len), *primary;
	enum api_primary_kind kind = API_PRIMARY_MALFORMED;
	const char *err = NULL, *reason;

	memset(out, 0, sizeof(*out));
	if (!root) {
		out->error = "not one JSON object";
		return API_PRIMARY_MALFORMED;
	}
	primary = json_object_get(root, "Primary");
	if (json_is_null(primary)) {
		/* The peer's view names no primary (its database is down, or its view is stale
		 * or has no single active primary): not a vote, but not a faulty peer either. */
		reason = json_string_value(json_object_get(root, "reason"));
		util_copy_cut(out->reason, reason ? reason : "", sizeof(out->reason));
		kind = API_PRIMARY_NONE;
		err = no_name;
	} else if (!copy_name(primary, out->name, sizeof(out->name))) {
		err = no_name;
	} else if (!json_object_get(root, "node_id") && !json_object_get(root, "answered_by") &&
		   !json_object_get(root, "answered_by_id")) {
		/* The Python service's {"Primary": name}: says no more than the name. */
		kind = API_PRIMARY_LEGACY;
	} else if (!copy_id(json_object_get(root, "node_id"), &out->id)) {
		err = "no valid \"node_id\"";
	} else if (!copy_name(json_object_get(root, "answered_by"), out->by_name,
			      sizeof(out->by_name))) {
		err = "no valid \"answered_by\" name";
	} else if (!copy_id(json_object_get(root, "answered_by_id"), &out->by_id)) {
		err = "no valid \"answered_by_id\"";
	} else {
		kind = API_PRIMARY_NAMES;
	}
	if (kind == API_PRIMARY_NAMES)
		parse_lsn_member(root, out);
	json_decref(root);
	if (kind != API_PRIMARY_NAMES && kind != API_PRIMARY_LEGACY) {
		out->name[0] = out->by_name[0] = '\0';
		out->id = out->by_id = 0;
		out->error = err;
	}
	return kind;
}

bool api_parse_state(const char *body, size_t len, struct api_state_reply *out)
{
	static const enum verdict verdicts[] = { VERDICT_PRIMARY, VERDICT_STANDBY, VERDICT_DOWN,
						 VERDICT_UNKNOWN };
	json_t *root = parse_object(body, len), *v, *votes;
	bool ok = false;

	memset(out, 0, sizeof(*out));
	if (!root)
		return false;
	v = json_object_get(root, "state");
	if (!json_is_string(v))
		goto out;
	for (size_t i = 0; i < ARRAY_SIZE(verdicts); i++) {
		const char *word = consensus_verdict_name(verdicts[i]);

		if (strcmp(json_string_value(v), word) == 0 && strlen(word) == json_string_length(v)) {
			out->verdict = verdicts[i];
			ok = true;
			break;
		}
	}
	ok = ok && copy_name(json_object_get(root, "node_name"), out->name, sizeof(out->name)) &&
	     copy_id(json_object_get(root, "node_id"), &out->id);
	/* Unknown with votes: its database runs as the primary its own view names (consensus
	 * counts votes only then), short of the quorum. */
	votes = json_object_get(root, "votes");
	out->voted = ok && json_is_integer(votes) && json_integer_value(votes) > 0;
out:
	json_decref(root);
	if (!ok)
		memset(out, 0, sizeof(*out));
	return ok;
}

#include "http.h"

#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "consensus.h"
#include "metrics.h"
#include "topology.h"

#define HTTP_ALLOW "Allow: GET, HEAD, OPTIONS\r\n"
#define HTTP_JSON "application/json"
#define HTTP_METRICS_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define HTTP_MAX_LEADING_EMPTY 4   /* RFC 9112 2.2: ignore a few empty lines before a request */

/* ---- parser ---- */

static bool is_tchar(unsigned char c)
{
	return c != 0 && (isalnum(c) || strchr("!#$%&'*+-.^_`|~", c));
}

/* Field values and targets: visible ASCII, and obs-text in values. */
static bool is_value_char(unsigned char c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

/* Trims OWS at both ends of [*p, *p + *n). */
static void trim_ows(const char **p, size_t *n)
{
	while (*n > 0 && (**p == ' ' || **p == '\t')) {
		(*p)++;
		(*n)--;
	}
	while (*n > 0 && ((*p)[*n - 1] == ' ' || (*p)[*n - 1] == '\t'))
		(*n)--;
}

static bool span_eq(const char *p, size_t n, const char *word)
{
	return strlen(word) == n && strncasecmp(p, word, n) == 0;
}

/* Stores the path of an origin-form or absolute-form target, without query or fragment. */
static enum http_parse parse_target(const char *t, size_t n, struct http_request *req)
{
	const char *path = t, *end;
	size_t plen;

	for (size_t i = 0; i < n; i++)
		if ((unsigned char)t[i] <= 0x20 || (unsigned char)t[i] >= 0x7f)
			return HTTP_PARSE_BAD;
	if (n >= 7 && strncasecmp(t, "http://", 7) == 0)
		path = t + 7;
	else if (n >= 8 && strncasecmp(t, "https://", 8) == 0)
		path = t + 8;
	if (path != t) {
		/* absolute-form: skip the authority; an empty path is "/". */
		while (path < t + n && *path != '/' && *path != '?' && *path != '#')
			path++;
		if (path == t + n || *path != '/') {
			strcpy(req->path, "/");
			return HTTP_PARSE_OK;
		}
	} else if (!(n == 1 && *t == '*') && *t != '/') {
		/* authority-form (CONNECT) and the like: only unknown methods get that far. */
		if (req->method != HTTP_OTHER)
			return HTTP_PARSE_BAD;
	}
	end = path;
	while (end < t + n && *end != '?' && *end != '#')
		end++;
	plen = (size_t)(end - path);
	if (plen >= sizeof(req->path))
		return HTTP_PARSE_URI_TOO_LONG;
	memcpy(req->path, path, plen);
	req->path[plen] = '\0';
	return HTTP_PARSE_OK;
}

static enum http_parse parse_request_line(const char *l, size_t n, struct http_request *req)
{
	const char *sp1 = memchr(l, ' ', n), *sp2, *v;
	size_t mlen, tlen, vlen;

	if (!sp1 || sp1 == l)
		return HTTP_PARSE_BAD;
	mlen = (size_t)(sp1 - l);
	for (size_t i = 0; i < mlen; i++)
		if (!is_tchar((unsigned char)l[i]))
			return HTTP_PARSE_BAD;
	sp2 = memchr(sp1 + 1, ' ', n - mlen - 1);
	if (!sp2 || sp2 == sp1 + 1)
		return HTTP_PARSE_BAD;
	tlen = (size_t)(sp2 - sp1 - 1);
	v = sp2 + 1;
	vlen = n - (size_t)(v - l);

	if (mlen == 3 && memcmp(l, "GET", 3) == 0)
		req->method = HTTP_GET;
	else if (mlen == 4 && memcmp(l, "HEAD", 4) == 0)
		req->method = HTTP_HEAD;
	else if (mlen == 7 && memcmp(l, "OPTIONS", 7) == 0)
		req->method = HTTP_OPTIONS;
	else
		req->method = HTTP_OTHER;

	/* HTTP-version = "HTTP/" DIGIT "." DIGIT; a well-formed other version is 505. */
	if (vlen != 8 || memcmp(v, "HTTP/", 5) != 0 || !isdigit((unsigned char)v[5]) ||
	    v[6] != '.' || !isdigit((unsigned char)v[7]))
		return HTTP_PARSE_BAD;
	if (v[5] != '1' || (v[7] != '0' && v[7] != '1'))
		return HTTP_PARSE_VERSION;
	req->minor = v[7] - '0';

	return parse_target(sp1 + 1, tlen, req);
}

struct header_seen {
	bool close, keep_alive;
};

static enum http_parse parse_header(const char *l, size_t n, struct http_request *req,
				    struct header_seen *seen)
{
	const char *colon = memchr(l, ':', n), *v;
	size_t nlen, vlen;

	/* No name, a space before the colon, or obs-fold (a line starting with space). */
	if (!colon || colon == l)
		return HTTP_PARSE_BAD;
	nlen = (size_t)(colon - l);
	for (size_t i = 0; i < nlen; i++)
		if (!is_tchar((unsigned char)l[i]))
			return HTTP_PARSE_BAD;
	v = colon + 1;
	vlen = n - nlen - 1;
	for (size_t i = 0; i < vlen; i++)
		if (!is_value_char((unsigned char)v[i]))
			return HTTP_PARSE_BAD;
	trim_ows(&v, &vlen);

	if (span_eq(l, nlen, "Connection")) {
		/* A comma list of tokens. */
		const char *p = v, *end = v + vlen;

		while (p < end) {
			const char *comma = memchr(p, ',', (size_t)(end - p));
			const char *tok = p;
			size_t tlen = (size_t)((comma ? comma : end) - p);

			trim_ows(&tok, &tlen);
			if (span_eq(tok, tlen, "close"))
				seen->close = true;
			else if (span_eq(tok, tlen, "keep-alive"))
				seen->keep_alive = true;
			p = comma ? comma + 1 : end;
		}
	} else if (span_eq(l, nlen, "Content-Length")) {
		if (vlen == 0)
			return HTTP_PARSE_BAD;
		for (size_t i = 0; i < vlen; i++) {
			if (!isdigit((unsigned char)v[i]))
				return HTTP_PARSE_BAD;
			if (v[i] != '0')
				req->has_body = true;
		}
	} else if (span_eq(l, nlen, "Transfer-Encoding")) {
		req->has_body = true;
	}
	return HTTP_PARSE_OK;
}

/* Finds the next line in [*pos, lim): returns its length without the "\r\n" or "\n"
 * and advances *pos past it, or returns -1 when no whole line is there yet. */
static long next_line(const char *buf, size_t lim, size_t *pos, const char **line)
{
	const char *start = buf + *pos, *nl = memchr(start, '\n', lim - *pos);
	size_t n;

	if (!nl)
		return -1;
	n = (size_t)(nl - start);
	*pos += n + 1;
	if (n > 0 && start[n - 1] == '\r')
		n--;
	*line = start;
	return (long)n;
}

enum http_parse http_parse_request(const char *buf, size_t len, struct http_request *req)
{
	size_t lim = len < HTTP_MAX_HEAD ? len : HTTP_MAX_HEAD, pos = 0;
	enum http_parse more = len >= HTTP_MAX_HEAD ? HTTP_PARSE_TOO_LARGE : HTTP_PARSE_INCOMPLETE;
	struct header_seen seen = { false, false };
	const char *line;
	long n;
	enum http_parse r;

	memset(req, 0, sizeof(*req));
	for (int i = 0;; i++) {
		size_t at = pos;
		n = next_line(buf, lim, &pos, &line);
		if (n != 0) {
			pos = at;
			break;
		}
		if (i == HTTP_MAX_LEADING_EMPTY)
			return HTTP_PARSE_BAD;
	}
	n = next_line(buf, lim, &pos, &line);
	if (n < 0) {
		/* Reject garbage (a TLS hello, binary) before the line is whole: the method
		 * must be a token. */
		for (size_t i = pos; i < lim && buf[i] != ' '; i++)
			if (!is_tchar((unsigned char)buf[i]) && !(buf[i] == '\r' && i + 1 == lim))
				return HTTP_PARSE_BAD;
		return more;
	}
	if (memchr(line, '\r', (size_t)n))
		return HTTP_PARSE_BAD;
	r = parse_request_line(line, (size_t)n, req);
	if (r != HTTP_PARSE_OK)
		return r;
	for (;;) {
		n = next_line(buf, lim, &pos, &line);
		if (n < 0)
			return more;
		if (n == 0)
			break;
		if (memchr(line, '\r', (size_t)n))
			return HTTP_PARSE_BAD;
		r = parse_header(line, (size_t)n, req, &seen);
		if (r != HTTP_PARSE_OK)
			return r;
	}
	req->head_len = pos;
	req->keep_alive = !req->has_body && !seen.close && (req->minor == 1 || seen.keep_alive);
	return HTTP_PARSE_OK;
}

/* ---- responses ---- */

const char *http_reason(int code)
{
	switch (code) {
	case 200: return "OK";
	case 202: return "Accepted";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 414: return "URI Too Long";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	case 509: return "Unknown";  /* seed's code for "no consensus"; not a registered code */
	default: return "Unknown";
	}
}

bool http_format_response(struct buf *out, int code, const char *content_type,
			  const char *body, size_t body_len, bool head_only, bool keep_alive,
			  const char *extra_headers)
{
	if (!buf_printf(out, "HTTP/1.1 %d %s\r\n", code, http_reason(code)))
		return false;
	if (content_type && !buf_printf(out, "Content-Type: %s\r\n", content_type))
		return false;
	if (!buf_printf(out,
			"Content-Length: %zu\r\nCache-Control: no-store\r\n"
			"Connection: %s\r\n%s\r\n",
			body_len, keep_alive ? "keep-alive" : "close",
			extra_headers ? extra_headers : ""))
		return false;
	return head_only || body_len == 0 || buf_append(out, body, body_len);
}

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

static bool json_error(struct buf *out, const char *msg)
{
	return buf_printf(out, "{\"error\":\"%s\"}", msg);
}

struct route_ctx {
	const struct snapshot *s;
	const struct config *cfg;
	int64_t now_ms;
	enum verdict v;                    /* state_verdict at now_ms */
};

static int64_t snapshot_age(const struct route_ctx *x)
{
	return x->s->made_ms ? x->now_ms - x->s->made_ms : -1;
}

/* The reason a request sees: the snapshot's, or why it is stale. */
static const char *visible_reason(const struct route_ctx *x, char *buf, size_t size)
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

static bool state_cache_hit(const struct route_ctx *x)
{
	const struct snapshot *s = x->s;

	return state_cache.valid && state_cache.v == x->v && state_cache.self_id == s->self_id &&
	       state_cache.votes == s->c.votes && state_cache.quorum == s->c.quorum &&
	       state_cache.timeline == s->timeline &&
	       strcmp(state_cache.self_name, s->self_name) == 0 &&
	       strcmp(state_cache.reason, s->c.reason) == 0;
}

/* Remembers text (jansson's whole object, age_ms last) without its age_ms member. */
static void state_cache_store(const struct route_ctx *x, const char *text, size_t len)
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

static int route_state(const struct route_ctx *x, struct buf *body)
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

static int route_primary(const struct route_ctx *x, struct buf *body)
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
	/* who answers: a vote counts only from the node its URL was meant to reach */
	if (j) {
		jset(j, "answered_by", jstr_or_null(s->self_name), &ok);
		jset(j, "answered_by_id", s->self_id > 0 ? json_integer(s->self_id) : json_null(), &ok);
	}
	return json_emit(j, ok, body) ? code : 500;
}

static int route_replica(const struct route_ctx *x, struct buf *body)
{
	const struct snapshot *s = x->s;
	char why[512];
	const char *reason = why;
	json_t *j = json_object();
	bool ok = j != NULL, up = false;
	int weight = 0;

	if (x->v == VERDICT_STANDBY) {
		weight = state_replica_weight(s, x->cfg, x->now_ms);
		up = weight > 0;
		if (up && s->lag_known)
			snprintf(why, sizeof(why), "standby, replay lag %lld ms",
				 (long long)s->lag_ms);
		else if (up)
			snprintf(why, sizeof(why), "standby, replay lag unknown");
		else
			snprintf(why, sizeof(why), "replay lag over max_lag for lag_grace");
	} else if (x->v == VERDICT_PRIMARY) {
		up = x->cfg->replica_include_primary;
		weight = up ? 100 : 0;
		snprintf(why, sizeof(why), up ? "primary (replica_include_primary)" : "primary");
	} else {
		reason = visible_reason(x, why, sizeof(why));
	}
	if (j) {
		jset(j, "replica", json_boolean(up), &ok);
		jset(j, "state", json_string(consensus_verdict_name(x->v)), &ok);
		jset(j, "weight", json_integer(weight), &ok);
		jset(j, "lag_ms", s->lag_known ? json_integer(s->lag_ms) : json_null(), &ok);
		jset(j, "lag_bytes", s->lag_known ? json_integer(s->lag_bytes) : json_null(), &ok);
		jset(j, "reason", jstr(reason), &ok);
	}
	if (!json_emit(j, ok, body))
		return 500;
	return up ? 200 : 503;
}

static int route_health(const struct route_ctx *x, struct buf *body)
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
	jset(vote, "detail", jstr_or_null(pv->detail), ok);
	jset(j, "vote", vote, ok);
	jset(j, "reply_ms", nv->reply_ms >= 0 ? json_integer(nv->reply_ms) : json_null(), ok);
	return j;
}

static int route_cluster(const struct route_ctx *x, struct buf *body)
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

static int route_metrics(const struct route_ctx *x, struct buf *body)
{
	return metrics_format(body, x->cfg, x->now_ms) ? 200 : 500;
}

static const struct route {
	const char *path;
	enum metrics_endpoint ep;
	int (*fn)(const struct route_ctx *x, struct buf *body);
	const char *content_type;
} routes[] = {
	{ "/state", EP_STATE, route_state, HTTP_JSON },
	{ "/primary", EP_PRIMARY, route_primary, HTTP_JSON },
	{ "/realPrimary", EP_REALPRIMARY, NULL, HTTP_JSON },
	{ "/replica", EP_REPLICA, route_replica, HTTP_JSON },
	{ "/health", EP_HEALTH, route_health, HTTP_JSON },
	{ "/cluster", EP_CLUSTER, route_cluster, HTTP_JSON },
	{ "/metrics", EP_METRICS, route_metrics, HTTP_METRICS_TYPE },
};

static const struct route *route_find(const char *path)
{
	for (size_t i = 0; i < ARRAY_SIZE(routes); i++)
		if (strcmp(routes[i].path, path) == 0)
			return &routes[i];
	return NULL;
}

/* Formats a whole response whose body is in body (or an empty body) and counts it. */
static bool respond(struct buf *out, const struct http_request *req, enum metrics_endpoint ep,
		    int code, const char *ctype, const struct buf *body, const char *extra)
{
	metrics_count_http(ep, code);
	return http_format_response(out, code, ctype, body && body->data ? body->data : "",
				    body ? body->len : 0, req->method == HTTP_HEAD,
				    req->keep_alive, extra);
}

bool http_respond(const struct http_request *req, const struct config *cfg, int64_t now_ms,
		  struct buf *out)
{
	const struct route *rt = route_find(req->path);
	struct route_ctx x = { .s = state_current(), .cfg = cfg, .now_ms = now_ms };
	struct buf body;
	int code;
	bool done;

	buf_init(&body, 16 * 1024 * 1024);
	if (req->method == HTTP_OPTIONS) {
		done = respond(out, req, EP_OPTIONS, 200, NULL, NULL, HTTP_ALLOW);
		goto out;
	}
	if (req->method == HTTP_OTHER) {
		done = json_error(&body, "method not allowed") &&
		       respond(out, req, rt ? rt->ep : EP_OTHER, 405, HTTP_JSON, &body, HTTP_ALLOW);
		goto out;
	}
	if (!rt) {
		done = json_error(&body, "not found") &&
		       respond(out, req, EP_OTHER, 404, HTTP_JSON, &body, NULL);
		goto out;
	}
	if (!rt->fn) {
		/* /realPrimary: the server waits for the shared fan-out. */
		buf_free(&body);
		return false;
	}
	x.v = state_verdict(x.s, now_ms, cfg->stale_after_ms);
	code = rt->fn(&x, &body);
	if (code == 500) {
		buf_reset(&body);
		done = json_error(&body, "internal error") &&
		       respond(out, req, rt->ep, 500, HTTP_JSON, &body, NULL);
	} else {
		done = respond(out, req, rt->ep, code, rt->content_type, &body, NULL);
	}
out:
	buf_free(&body);
	/* A response that did not fit is still an answer: the smallest one. */
	if (!done) {
		buf_reset(out);
		if (!http_format_response(out, 500, NULL, "", 0, true, false, NULL))
			buf_reset(out);
	}
	return true;
}

bool http_respond_error(enum http_parse r, struct buf *out)
{
	static const struct {
		enum http_parse r;
		int code;
		const char *msg;
	} errors[] = {
		{ HTTP_PARSE_BAD, 400, "{\"error\":\"bad request\"}" },
		{ HTTP_PARSE_TOO_LARGE, 431, "{\"error\":\"request head too large\"}" },
		{ HTTP_PARSE_VERSION, 505, "{\"error\":\"HTTP version not supported\"}" },
		{ HTTP_PARSE_URI_TOO_LONG, 414, "{\"error\":\"path too long\"}" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(errors); i++) {
		if (errors[i].r == r) {
			metrics_count_http(EP_OTHER, errors[i].code);
			return http_format_response(out, errors[i].code, HTTP_JSON, errors[i].msg,
						    strlen(errors[i].msg), false, false, NULL);
		}
	}
	metrics_count_http(EP_OTHER, 500);
	return http_format_response(out, 500, NULL, "", 0, false, false, NULL);
}

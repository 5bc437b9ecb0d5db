/* http: a bounded HTTP/1.x request parser, the response framing, and the route table that
 * sends each path to its body builder in api.c. */
#include "http.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api.h"
#include "http_stats.h"
#include "ui.h"

#define HTTP_ALLOW "Allow: GET, HEAD, OPTIONS\r\n"
#define HTTP_JSON "application/json"
#define HTTP_METRICS_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define HTTP_HTML "text/html; charset=utf-8"
#define HTTP_MAX_LEADING_EMPTY 4   /* RFC 9112 2.2: ignore a few empty lines before a request */

/* ---- counters ---- */

static struct http_stats stats;

/* Every code primgr sends; the last slot is "anything else". */
static const int http_codes[HTTP_STATS_CODES - 1] = {
	200, 202, 400, 404, 405, 408, 414, 431, 500, 503, 505, 509, 504,
};

int http_code_index(int code)
{
	for (int i = 0; i < HTTP_STATS_CODES - 1; i++)
		if (http_codes[i] == code)
			return i;
	return HTTP_STATS_CODES - 1;
}

int http_code_at(int index)
{
	return index >= 0 && index < HTTP_STATS_CODES - 1 ? http_codes[index] : 0;
}

void http_count_response(enum http_endpoint ep, int code)
{
	if ((unsigned)ep >= EP_COUNT)
		ep = EP_OTHER;
	stats.requests[ep][http_code_index(code)]++;
}

const struct http_stats *http_stats(void)
{
	return &stats;
}

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
			end = path;
			goto query;
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
query:
	if (end < t + n && *end == '?') {
		const char *q = end + 1, *qend = q;

		while (qend < t + n && *qend != '#')
			qend++;
		if ((size_t)(qend - q) >= sizeof(req->query))
			return HTTP_PARSE_URI_TOO_LONG;
		memcpy(req->query, q, (size_t)(qend - q));
		req->query[qend - q] = '\0';
	}
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
	} else if (span_eq(l, nlen, "Origin") && vlen < sizeof(req->origin)) {
		memcpy(req->origin, v, vlen);
		req->origin[vlen] = '\0';
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

static http_metrics_fn *metrics_writer;

void http_set_metrics(http_metrics_fn *fn)
{
	metrics_writer = fn;
}

static int route_metrics(const struct api_view *x, struct buf *body)
{
	return metrics_writer && metrics_writer(body, x->cfg, x->now_ms) ? 200 : 500;
}

static int route_ui(const struct api_view *x, struct buf *body)
{
	(void)x;
	return ui_page(body) ? 200 : 500;
}

static bool route_ui_headers(const struct http_request *req, const struct api_view *x,
			     struct buf *out)
{
	(void)req;
	return ui_headers(x->s, out);
}

/* The page /ui served by one node reads the others' /cluster. */
static bool route_cluster_headers(const struct http_request *req, const struct api_view *x,
				  struct buf *out)
{
	return ui_cors_headers(x->s, req->origin, out);
}

/* ---- the status code table ---- */

/* What a route answers, per verdict. GET, HEAD and OPTIONS get the same code; HEAD has the
 * GET body's headers and no body, OPTIONS has no body and an Allow header. */
enum route_kind {
	RK_STATE,      /* /state, /: the verdict's code */
	RK_LEADER,     /* /read-write, /leader, /master: the agreed primary only */
	RK_REPLICA,    /* /replica: a standby within the limits */
	RK_READ_ONLY,  /* /read-only, /readiness: the primary, or a standby within the limits */
	RK_ALIVE,      /* /health, /liveness: the daemon answers */
	RK_VIEW,       /* /primary: this node's view names a primary (a vote, not a verdict) */
	RK_INFO,       /* /cluster, /metrics, /ui */
	RK_FANOUT,     /* /realPrimary: the server answers after the fan-out */
	RK_COUNT
};

/* Cells that are not a fixed code. */
#define C_LIMITS (-1) /* 200 within the replica limits and the query's, else 503 (api.c) */
#define C_VIEW (-2)   /* 200 when the fresh local view names a primary, else 503 (api.c) */
#define C_FANOUT (-3) /* the /realPrimary fan-out's code (realprimary.c) */

/* THE table: (route kind, verdict) -> code, for GET, HEAD and OPTIONS alike. tests/test_http.c
 * checks every method x route x verdict against its own copy. */
static const int route_codes[RK_COUNT][4] = {
	/*                 Primary   Standby   Down      Unknown */
	[RK_STATE]     = { 200,      202,      503,      509 },
	[RK_LEADER]    = { 200,      503,      503,      503 },
	[RK_REPLICA]   = { C_LIMITS, C_LIMITS, 503,      503 }, /* Primary: replica_include_primary */
	[RK_READ_ONLY] = { 200,      C_LIMITS, 503,      503 },
	[RK_ALIVE]     = { 200,      200,      200,      200 },
	[RK_VIEW]      = { C_VIEW,   C_VIEW,   C_VIEW,   C_VIEW },
	[RK_INFO]      = { 200,      200,      200,      200 },
	[RK_FANOUT]    = { C_FANOUT, C_FANOUT, C_FANOUT, C_FANOUT },
};

static int verdict_column(enum verdict v)
{
	switch (v) {
	case VERDICT_PRIMARY: return 0;
	case VERDICT_STANDBY: return 1;
	case VERDICT_DOWN: return 2;
	case VERDICT_UNKNOWN: break;
	}
	return 3;
}

/* Which query parameters a route understands. */
#define Q_LAG (1u << 0)               /* lag=<bytes | size like 16MB | duration like 10s> */
#define Q_REPLICATION_STATE (1u << 1) /* replication_state=streaming */

/* Which path gets which body and which row of the table. */
static const struct route {
	const char *path;
	enum route_kind kind;
	enum http_endpoint ep;
	int (*fn)(const struct api_view *x, struct buf *body); /* NULL: answered later */
	const char *content_type;
	unsigned query;                                      /* Q_* it understands */
	/* more response headers, or NULL */
	bool (*headers)(const struct http_request *req, const struct api_view *x, struct buf *out);
} routes[] = {
	{ "/state", RK_STATE, EP_STATE, api_state, HTTP_JSON, 0, NULL },
	/* haproxy's bare "option httpchk" sends OPTIONS / and passes any 2xx: / must fail
	 * closed on a standby (/state's 202 would pass it), so it is a leader check. */
	{ "/", RK_LEADER, EP_STATE, api_state, HTTP_JSON, 0, NULL },
	{ "/read-write", RK_LEADER, EP_STATE, api_state, HTTP_JSON, 0, NULL },
	{ "/leader", RK_LEADER, EP_STATE, api_state, HTTP_JSON, 0, NULL },
	{ "/master", RK_LEADER, EP_STATE, api_state, HTTP_JSON, 0, NULL },
	{ "/primary", RK_VIEW, EP_PRIMARY, api_primary, HTTP_JSON, 0, NULL },
	{ "/realPrimary", RK_FANOUT, EP_REALPRIMARY, NULL, HTTP_JSON, 0, NULL },
	{ "/replica", RK_REPLICA, EP_REPLICA, api_replica, HTTP_JSON,
	  Q_LAG | Q_REPLICATION_STATE, NULL },
	{ "/read-only", RK_READ_ONLY, EP_REPLICA, api_replica, HTTP_JSON,
	  Q_LAG | Q_REPLICATION_STATE, NULL },
	{ "/readiness", RK_READ_ONLY, EP_REPLICA, api_replica, HTTP_JSON,
	  Q_LAG | Q_REPLICATION_STATE, NULL },
	{ "/health", RK_ALIVE, EP_HEALTH, api_health, HTTP_JSON, 0, NULL },
	{ "/liveness", RK_ALIVE, EP_HEALTH, api_health, HTTP_JSON, 0, NULL },
	{ "/cluster", RK_INFO, EP_CLUSTER, api_cluster, HTTP_JSON, 0, route_cluster_headers },
	{ "/metrics", RK_INFO, EP_METRICS, route_metrics, HTTP_METRICS_TYPE, 0, NULL },
	{ "/ui", RK_INFO, EP_UI, route_ui, HTTP_HTML, 0, route_ui_headers },
};

static const struct route *route_find(const char *path)
{
	for (size_t i = 0; i < ARRAY_SIZE(routes); i++)
		if (strcmp(routes[i].path, path) == 0)
			return &routes[i];
	return NULL;
}

/* ---- query parameters ---- */

/* A whole number, then an optional unit (case-insensitive): none or B, kB, MB, GB, TB
 * (bytes, 1024-based as in PostgreSQL and Patroni; KiB.. TiB too), or ms, s, min, h, d (a
 * duration). */
static bool parse_lag(const char *v, size_t n, struct api_replica_check *chk)
{
	static const struct {
		const char *unit;
		int64_t mult;
		bool time;
	} units[] = {
		{ "", 1, false },          { "B", 1, false },
		{ "kB", 1024, false },     { "KiB", 1024, false },
		{ "MB", 1 << 20, false },  { "MiB", 1 << 20, false },
		{ "GB", 1 << 30, false },  { "GiB", 1 << 30, false },
		{ "TB", 1LL << 40, false }, { "TiB", 1LL << 40, false },
		{ "ms", 1, true },         { "s", 1000, true },
		{ "min", 60000, true },    { "h", 3600000, true },
		{ "d", 86400000, true },
	};
	int64_t num = 0;
	size_t i = 0;

	for (; i < n && isdigit((unsigned char)v[i]); i++) {
		if (num > (INT64_MAX - 9) / 10)
			return false;
		num = num * 10 + (v[i] - '0');
	}
	if (i == 0)
		return false;
	for (size_t u = 0; u < ARRAY_SIZE(units); u++) {
		if (!span_eq(v + i, n - i, units[u].unit))
			continue;
		if (num > INT64_MAX / units[u].mult)
			return false;
		if (units[u].time)
			chk->max_lag_ms = num * units[u].mult;
		else
			chk->max_lag_bytes = num * units[u].mult;
		return true;
	}
	return false;
}

/* Reads the query into chk; false with a reason (JSON-safe: no quotes or backslashes) when a
 * parameter is not understood. */
static bool parse_query(const struct route *rt, const char *q, struct api_replica_check *chk,
			char *why, size_t whylen)
{
	unsigned seen = 0;

	chk->max_lag_bytes = chk->max_lag_ms = -1;
	chk->streaming = false;
	while (*q) {
		const char *amp = strchr(q, '&'), *end = amp ? amp : q + strlen(q);
		const char *eq = memchr(q, '=', (size_t)(end - q));
		size_t klen = (size_t)((eq ? eq : end) - q), vlen = eq ? (size_t)(end - eq - 1) : 0;
		const char *val = eq ? eq + 1 : end;
		char shown[65];
		unsigned bit = 0;

		snprintf(shown, sizeof(shown), "%.*s", (int)(end - q > 64 ? 64 : end - q), q);
		for (char *p = shown; *p; p++)
			if (*p == '"' || *p == '\\' || *p == '%')
				*p = '?';
		if (end == q) {
			/* "a=1&&b=2", a trailing '&': nothing to misread */
		} else if (strncmp(q, "lag", klen) == 0 && klen == 3) {
			bit = Q_LAG;
			if ((rt->query & bit) && !parse_lag(val, vlen, chk)) {
				snprintf(why, whylen, "query parameter %s: want bytes (16777216), a "
				 "size (16MB) or a duration (10s)", shown);
				return false;
			}
		} else if (strncmp(q, "replication_state", klen) == 0 && klen == 17) {
			bit = Q_REPLICATION_STATE;
			if ((rt->query & bit) && !span_eq(val, vlen, "streaming")) {
				snprintf(why, whylen,
					 "query parameter %s: only replication_state=streaming is known",
					 shown);
				return false;
			}
			chk->streaming = true;
		}
		if (end != q && (bit == 0 || !(rt->query & bit))) {
			snprintf(why, whylen, "query parameter %s is not understood on %s", shown,
				 rt->path);
			return false;
		}
		if (bit & seen) {
			snprintf(why, whylen, "query parameter %s given twice", shown);
			return false;
		}
		seen |= bit;
		q = amp ? amp + 1 : end;
	}
	return true;
}

/* ---- responding ---- */

/* Formats a whole response whose body is in body (or an empty body) and counts it. HEAD
 * keeps the body's Content-Length; OPTIONS sends none of it, with Allow. */
static bool respond(struct buf *out, const struct http_request *req, enum http_endpoint ep,
		    int code, const char *ctype, const struct buf *body, const char *extra)
{
	bool options = req->method == HTTP_OPTIONS;

	http_count_response(options ? EP_OPTIONS : ep, code);
	if (options)
		return http_format_response(out, code, NULL, "", 0, true, req->keep_alive,
					    code == 404 ? NULL : HTTP_ALLOW);
	return http_format_response(out, code, ctype, body && body->data ? body->data : "",
				    body ? body->len : 0, req->method == HTTP_HEAD,
				    req->keep_alive, extra);
}

bool http_respond(const struct http_request *req, const struct config *cfg, int64_t now_ms,
		  struct buf *out)
{
	const struct route *rt = route_find(req->path);
	struct api_replica_check chk;
	struct api_view x = { .s = state_current(), .cfg = cfg, .now_ms = now_ms, .check = &chk };
	struct buf body, extra;
	char why[256];
	int code, cell;
	bool done;

	buf_init(&body, 16 * 1024 * 1024);
	buf_init(&extra, 64 * 1024);
	if (!rt) {
		done = api_error(&body, "not found") &&
		       respond(out, req, EP_OTHER, 404, HTTP_JSON, &body, NULL);
		goto out;
	}
	if (req->method == HTTP_OTHER) {
		done = api_error(&body, "method not allowed") &&
		       respond(out, req, rt->ep, 405, HTTP_JSON, &body, HTTP_ALLOW);
		goto out;
	}
	if (!parse_query(rt, req->query, &chk, why, sizeof(why))) {
		done = api_error(&body, why) &&
		       respond(out, req, rt->ep, 400, HTTP_JSON, &body, NULL);
		goto out;
	}
	if (!rt->fn) {
		/* /realPrimary: the server waits for the shared fan-out. */
		buf_free(&body);
		return false;
	}
	x.v = state_verdict(x.s, now_ms, cfg->stale_after_ms);
	chk.include_primary = rt->kind == RK_READ_ONLY || cfg->replica_include_primary;
	code = rt->fn(&x, &body);
	cell = route_codes[rt->kind][verdict_column(x.v)];
	if (code != 500 && cell > 0)
		code = cell; /* C_LIMITS, C_VIEW: the body builder's decision */
	if (code == 500) {
		buf_reset(&body);
		done = api_error(&body, "internal error") &&
		       respond(out, req, rt->ep, 500, HTTP_JSON, &body, NULL);
	} else {
		done = (!rt->headers || rt->headers(req, &x, &extra)) &&
		       respond(out, req, rt->ep, code, rt->content_type, &body, extra.data);
	}
out:
	buf_free(&body);
	buf_free(&extra);
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
			http_count_response(EP_OTHER, errors[i].code);
			return http_format_response(out, errors[i].code, HTTP_JSON, errors[i].msg,
						    strlen(errors[i].msg), false, false, NULL);
		}
	}
	http_count_response(EP_OTHER, 500);
	return http_format_response(out, 500, NULL, "", 0, false, false, NULL);
}

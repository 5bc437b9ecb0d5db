/* http: a table of raw requests -> parse result (also fed one byte at a time, as the
 * server re-calls the parser with the accumulated buffer), and the routes for every
 * verdict -> exact status code and body. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "http_stats.h"
#include "log.h"
#include "metrics.h"
#include "refresh_stats.h"
#include "state.h"
#include "ui.h"
#include "helpers.h"
#include "t.h"

#define NOW 5000000
#define HTTP_ALLOW_LINE "Allow: GET, HEAD, OPTIONS\r\n"

struct pcase {
	const char *name;
	const char *raw;
	size_t len;                 /* 0: strlen(raw) */
	enum http_parse want;
	enum http_method method;
	const char *path;
	int minor;
	bool keep_alive, has_body;
	size_t head_len;            /* 0: the whole input */
};

#define REQ(name, raw, m, path, minor, ka) \
	{ name, raw, 0, HTTP_PARSE_OK, m, path, minor, ka, false, 0 }
#define BAD(name, raw, want) { name, raw, 0, want, 0, NULL, 0, false, false, 0 }

static const struct pcase pcases[] = {
	REQ("1.1 with Host", "GET /state HTTP/1.1\r\nHost: x\r\n\r\n", HTTP_GET, "/state", 1, true),
	REQ("1.0, no Host", "GET /state HTTP/1.0\r\n\r\n", HTTP_GET, "/state", 0, false),
	REQ("haproxy's default httpchk", "OPTIONS / HTTP/1.0\r\n\r\n", HTTP_OPTIONS, "/", 0, false),
	REQ("1.0 with keep-alive", "GET /state HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
	    HTTP_GET, "/state", 0, true),
	REQ("1.1 Connection: close", "GET /state HTTP/1.1\r\nConnection: close\r\n\r\n", HTTP_GET,
	    "/state", 1, false),
	REQ("Connection list, case-insensitive name and tokens",
	    "GET /state HTTP/1.1\r\ncOnNeCtIoN:  Keep-Alive ,CLOSE \r\n\r\n", HTTP_GET, "/state",
	    1, false),
	REQ("Connection: upgrade only", "GET /state HTTP/1.1\r\nConnection: Upgrade\r\n\r\n",
	    HTTP_GET, "/state", 1, true),
	REQ("bare LF", "HEAD /primary HTTP/1.1\nHost: x\n\n", HTTP_HEAD, "/primary", 1, true),
	REQ("CRLF and LF mixed", "GET /state HTTP/1.1\r\nHost: x\n\r\n", HTTP_GET, "/state", 1,
	    true),
	REQ("absolute-form", "GET http://h/state HTTP/1.1\r\n\r\n", HTTP_GET, "/state", 1, true),
	REQ("absolute-form, port, no path", "GET http://h:8432 HTTP/1.1\r\n\r\n", HTTP_GET, "/", 1,
	    true),
	REQ("absolute-form https, query", "GET HTTPS://h:1/cluster?x=1 HTTP/1.1\r\n\r\n", HTTP_GET,
	    "/cluster", 1, true),
	REQ("absolute-form, query, no path", "GET http://h?x=1 HTTP/1.1\r\n\r\n", HTTP_GET, "/", 1,
	    true),
	REQ("query and fragment stripped", "GET /state?verbose=1#frag HTTP/1.1\r\n\r\n", HTTP_GET,
	    "/state", 1, true),
	REQ("asterisk-form", "OPTIONS * HTTP/1.1\r\n\r\n", HTTP_OPTIONS, "*", 1, true),
	REQ("lowercase method is another method", "get /state HTTP/1.1\r\n\r\n", HTTP_OTHER,
	    "/state", 1, true),
	REQ("unknown method", "DELETE /state HTTP/1.1\r\n\r\n", HTTP_OTHER, "/state", 1, true),
	REQ("CONNECT authority-form", "CONNECT h:443 HTTP/1.1\r\n\r\n", HTTP_OTHER, "h:443", 1,
	    true),
	REQ("empty header value", "GET /state HTTP/1.1\r\nX-Empty:\r\n\r\n", HTTP_GET, "/state", 1,
	    true),
	REQ("obs-text in a value", "GET /state HTTP/1.1\r\nX-Name: n\xc3\xa9\tx\r\n\r\n", HTTP_GET,
	    "/state", 1, true),
	REQ("Content-Length: 0 is no body", "GET /state HTTP/1.1\r\nContent-Length: 00\r\n\r\n",
	    HTTP_GET, "/state", 1, true),
	REQ("leading empty lines are skipped", "\r\n\n\r\nGET /state HTTP/1.1\r\n\r\n", HTTP_GET,
	    "/state", 1, true),
	{ "pipelined: the first request only", "GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n", 0,
	  HTTP_PARSE_OK, HTTP_GET, "/a", 1, true, false, 19 },
	{ "body: answer and close", "POST /state HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello", 0,
	  HTTP_PARSE_OK, HTTP_OTHER, "/state", 1, false, true, 43 },
	{ "chunked body", "GET /state HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 0,
	  HTTP_PARSE_OK, HTTP_GET, "/state", 1, false, true, 51 },

	BAD("nothing yet", "", HTTP_PARSE_INCOMPLETE),
	BAD("half a method", "GE", HTTP_PARSE_INCOMPLETE),
	BAD("request line without end", "GET /state HTTP/1.1", HTTP_PARSE_INCOMPLETE),
	BAD("no empty line yet", "GET /state HTTP/1.1\r\nHost: x\r\n", HTTP_PARSE_INCOMPLETE),
	BAD("CR of the empty line", "GET /state HTTP/1.1\r\n\r", HTTP_PARSE_INCOMPLETE),
	BAD("empty lines only", "\r\n\r\n", HTTP_PARSE_INCOMPLETE),
	BAD("too many leading empty lines", "\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\n\r\n",
	    HTTP_PARSE_BAD),
	BAD("TLS client hello", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", HTTP_PARSE_BAD),
	BAD("binary before the line ends", "GE\x01", HTTP_PARSE_BAD),
	BAD("HTTP/0.9 (no version)", "GET /state\r\n\r\n", HTTP_PARSE_BAD),
	BAD("HTTP/2.0", "GET /state HTTP/2.0\r\n\r\n", HTTP_PARSE_VERSION),
	BAD("HTTP/1.2", "GET /state HTTP/1.2\r\n\r\n", HTTP_PARSE_VERSION),
	BAD("HTTP/0.9 with version", "GET /state HTTP/0.9\r\n\r\n", HTTP_PARSE_VERSION),
	BAD("version garbage", "GET /state HTTP/one\r\n\r\n", HTTP_PARSE_BAD),
	BAD("lowercase http version", "GET /state http/1.1\r\n\r\n", HTTP_PARSE_BAD),
	BAD("trailing space after version", "GET /state HTTP/1.1 \r\n\r\n", HTTP_PARSE_BAD),
	BAD("two spaces", "GET  /state HTTP/1.1\r\n\r\n", HTTP_PARSE_BAD),
	BAD("relative target", "GET state HTTP/1.1\r\n\r\n", HTTP_PARSE_BAD),
	BAD("CR inside the request line", "GET /sta\rte HTTP/1.1\r\n\r\n", HTTP_PARSE_BAD),
	BAD("control byte in the target", "GET /st\x7f HTTP/1.1\r\n\r\n", HTTP_PARSE_BAD),
	BAD("non-ASCII target", "GET /\xc3\xa9 HTTP/1.1\r\n\r\n", HTTP_PARSE_BAD),
	BAD("space before the colon", "GET /state HTTP/1.1\r\nHost : x\r\n\r\n", HTTP_PARSE_BAD),
	BAD("obs-fold", "GET /state HTTP/1.1\r\nX: a\r\n folded\r\n\r\n", HTTP_PARSE_BAD),
	BAD("header without colon", "GET /state HTTP/1.1\r\nNoColon\r\n\r\n", HTTP_PARSE_BAD),
	BAD("empty header name", "GET /state HTTP/1.1\r\n: x\r\n\r\n", HTTP_PARSE_BAD),
	BAD("bare CR in a header", "GET /state HTTP/1.1\r\nX: a\rb\r\n\r\n", HTTP_PARSE_BAD),
	BAD("bad Content-Length", "GET /state HTTP/1.1\r\nContent-Length: 1x\r\n\r\n",
	    HTTP_PARSE_BAD),
	BAD("negative Content-Length", "GET /state HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
	    HTTP_PARSE_BAD),
	{ "NUL in a header value", "GET /state HTTP/1.1\r\nX: a\0b\r\n\r\n", 31, HTTP_PARSE_BAD,
	  0, NULL, 0, false, false, 0 },
	{ "NUL in the method", "G\0T / HTTP/1.1\r\n\r\n", 18, HTTP_PARSE_BAD, 0, NULL, 0, false,
	  false, 0 },
};

static void check_parse(const struct pcase *c, const char *raw, size_t len, const char *name)
{
	struct http_request req;
	enum http_parse r = http_parse_request(raw, len, &req);

	T_EQ_INT(r, c->want, name);
	if (r != HTTP_PARSE_OK || c->want != HTTP_PARSE_OK)
		return;
	T_OK(req.method == c->method && strcmp(req.path, c->path) == 0 && req.minor == c->minor &&
		     req.keep_alive == c->keep_alive && req.has_body == c->has_body &&
		     req.head_len == (c->head_len ? c->head_len : len),
	     name);
	if (strcmp(req.path, c->path) != 0)
		printf("#   path \"%s\", want \"%s\"\n", req.path, c->path);
}

static void test_parse_table(void)
{
	char name[160];

	for (size_t i = 0; i < ARRAY_SIZE(pcases); i++) {
		const struct pcase *c = &pcases[i];
		size_t len = c->len ? c->len : strlen(c->raw);
		snprintf(name, sizeof(name), "parse: %s", c->name);
		check_parse(c, c->raw, len, name);
	}
}

/* Every prefix of a valid request is INCOMPLETE (never a wrong early verdict), and of a
 * bad one INCOMPLETE or the same error; the whole gives the table's answer. */
static void test_parse_split(void)
{
	static const char *which[] = { "1.1 with Host", "bare LF", "absolute-form",
				       "leading empty lines are skipped", "body: answer and close",
				       "obs-fold", "HTTP/2.0", "Connection list, case-insensitive "
							      "name and tokens" };
	char name[160];

	for (size_t w = 0; w < ARRAY_SIZE(which); w++) {
		for (size_t i = 0; i < ARRAY_SIZE(pcases); i++) {
			const struct pcase *c = &pcases[i];
			size_t len = c->len ? c->len : strlen(c->raw), head = c->head_len;
			bool fine = true;

			if (strcmp(c->name, which[w]) != 0)
				continue;
			if (!head)
				head = len;
			for (size_t k = 0; k < head; k++) {
				struct http_request req;
				/* A copy of exactly k bytes, so that ASan sees any over-read. */
				char *part = malloc(k ? k : 1);
				enum http_parse r;
				memcpy(part, c->raw, k);
				r = http_parse_request(part, k, &req);
				free(part);
				if (r != HTTP_PARSE_INCOMPLETE && r != c->want) {
					printf("#   %s: %zu bytes gave %d\n", c->name, k, r);
					fine = false;
				}
				if (r == HTTP_PARSE_OK)
					fine = false;
			}
			snprintf(name, sizeof(name), "split at every byte: %s", c->name);
			T_OK(fine, name);
			check_parse(c, c->raw, len, name);
		}
	}
}

static void test_parse_sizes(void)
{
	static char buf[HTTP_MAX_HEAD + 2048];
	struct http_request req;
	size_t n;

	/* A head of exactly HTTP_MAX_HEAD bytes is fine; one more byte is 431. */
	n = (size_t)snprintf(buf, sizeof(buf), "GET /state HTTP/1.1\r\nX-Pad: ");
	memset(buf + n, 'a', HTTP_MAX_HEAD - n - 4);
	memcpy(buf + HTTP_MAX_HEAD - 4, "\r\n\r\n", 4);
	T_EQ_INT(http_parse_request(buf, HTTP_MAX_HEAD, &req), HTTP_PARSE_OK,
		 "head of exactly 8 KiB: ok");
	T_EQ_INT(req.head_len, HTTP_MAX_HEAD, "head_len 8 KiB");
	memset(buf + n, 'a', HTTP_MAX_HEAD - n - 3);
	memcpy(buf + HTTP_MAX_HEAD - 3, "\r\n\r\n", 4);
	T_EQ_INT(http_parse_request(buf, HTTP_MAX_HEAD + 1, &req), HTTP_PARSE_TOO_LARGE,
		 "head of 8 KiB + 1: 431");
	memset(buf + n, 'a', sizeof(buf) - n);
	T_EQ_INT(http_parse_request(buf, HTTP_MAX_HEAD - 1, &req), HTTP_PARSE_INCOMPLETE,
		 "8 KiB - 1 without end: incomplete");
	T_EQ_INT(http_parse_request(buf, HTTP_MAX_HEAD, &req), HTTP_PARSE_TOO_LARGE,
		 "8 KiB without end: 431");
	T_EQ_INT(http_parse_request(buf, sizeof(buf), &req), HTTP_PARSE_TOO_LARGE,
		 "10 KiB without end: 431");
	/* A request line alone longer than the head limit. */
	buf[0] = 'G', buf[1] = 'E', buf[2] = 'T', buf[3] = ' ', buf[4] = '/';
	T_EQ_INT(http_parse_request(buf, sizeof(buf), &req), HTTP_PARSE_TOO_LARGE,
		 "endless request line: 431");

	/* Paths up to HTTP_MAX_PATH - 1 bytes; longer is 414. */
	n = (size_t)snprintf(buf, sizeof(buf), "GET /");
	memset(buf + n, 'p', HTTP_MAX_PATH - 2);
	n += HTTP_MAX_PATH - 2;
	n += (size_t)snprintf(buf + n, sizeof(buf) - n, " HTTP/1.1\r\n\r\n");
	T_EQ_INT(http_parse_request(buf, n, &req), HTTP_PARSE_OK, "path of 1023 bytes: ok");
	T_EQ_INT(strlen(req.path), HTTP_MAX_PATH - 1, "path kept whole");
	n = (size_t)snprintf(buf, sizeof(buf), "GET /");
	memset(buf + n, 'p', HTTP_MAX_PATH - 1);
	n += HTTP_MAX_PATH - 1;
	n += (size_t)snprintf(buf + n, sizeof(buf) - n, "?q=1 HTTP/1.1\r\n\r\n");
	T_EQ_INT(http_parse_request(buf, n, &req), HTTP_PARSE_URI_TOO_LONG,
		 "path of 1024 bytes: 414");
}

/* ---- routes ---- */

struct resp {
	int code;
	char head[2048];
	char body[8192];
	size_t body_len;
};

/* Sends raw through the parser and http_respond; false when the answer is pending. */
static bool get(const char *raw, int64_t now, const struct config *cfg, struct resp *r)
{
	struct http_request req;
	struct buf out;
	const char *sep;
	bool done;

	memset(r, 0, sizeof(*r));
	buf_init(&out, 1 << 20);
	if (http_parse_request(raw, strlen(raw), &req) != HTTP_PARSE_OK) {
		r->code = -1;
		return true;
	}
	done = http_respond(&req, cfg, now, &out);
	if (done && out.data) {
		sep = strstr(out.data, "\r\n\r\n");
		sscanf(out.data, "HTTP/1.1 %d", &r->code);
		if (sep) {
			snprintf(r->head, sizeof(r->head), "%.*s", (int)(sep + 2 - out.data),
				 out.data);
			r->body_len = out.len - (size_t)(sep + 4 - out.data);
			snprintf(r->body, sizeof(r->body), "%s", sep + 4);
		}
	}
	buf_free(&out);
	return done;
}

static struct node_view *three_nodes(void)
{
	static const char *names[] = { "node1", "node2", "node3" };
	struct node_view *nv = calloc(3, sizeof(*nv));

	for (int i = 0; i < 3; i++) {
		nv[i].node.id = i + 1;
		snprintf(nv[i].node.name, sizeof(nv[i].node.name), "%s", names[i]);
		nv[i].node.type = i == 0 ? NODE_PRIMARY : NODE_STANDBY;
		nv[i].node.active = true;
		nv[i].node.upstream_id = i == 0 ? 0 : 1;
		snprintf(nv[i].node.location, sizeof(nv[i].node.location), "dc1");
		snprintf(nv[i].node.url, sizeof(nv[i].node.url), "http://%s:8432", names[i]);
		nv[i].node.in_scope = true;
		nv[i].reply_ms = i == 0 ? -1 : 3 + i;
		nv[i].vote.status = i == 0   ? PEER_UNPOLLED
				    : i == 1 ? PEER_ANSWERED
					     : PEER_UNREACHABLE;
		if (i == 1) {
			nv[i].vote.named_id = 1;
			snprintf(nv[i].vote.named_name, sizeof(nv[i].vote.named_name), "node1");
		} else if (i == 2) {
			snprintf(nv[i].vote.detail, sizeof(nv[i].vote.detail), "timed out");
		}
	}
	return nv;
}

/* A snapshot as the refresh would publish it for node self (1 = the primary). */
static void publish(enum verdict v, int self, int64_t made_ms)
{
	struct snapshot *s = calloc(1, sizeof(*s));

	s->seq = 7;
	s->made_ms = made_ms;
	s->made_wall_ms = 1700000000000;
	s->refresh_ms = 12;
	s->c.verdict = v;
	s->db_up = v != VERDICT_DOWN;
	s->in_recovery = v == VERDICT_STANDBY;
	s->timeline = 1;
	s->self_id = self;
	snprintf(s->self_name, sizeof(s->self_name), "node%d", self);
	snprintf(s->self_location, sizeof(s->self_location), "dc1");
	s->lag_known = s->in_recovery;
	s->lag_ms = s->in_recovery ? 250 : 0;
	s->lag_bytes = s->in_recovery ? 4096 : 0;
	s->c.voters = 3;
	s->c.quorum = 2;
	switch (v) {
	case VERDICT_PRIMARY:
		s->c.votes = 2;
		snprintf(s->c.reason, sizeof(s->c.reason),
			 "2 of 3 votes, quorum 2 (node3 unreachable)");
		break;
	case VERDICT_STANDBY:
		snprintf(s->c.reason, sizeof(s->c.reason), "in recovery (upstream node1)");
		break;
	case VERDICT_UNKNOWN:
		s->c.votes = 1;
		snprintf(s->c.reason, sizeof(s->c.reason),
			 "1 of 3 votes, quorum 2 (node2 names node3, node3 unreachable)");
		break;
	case VERDICT_DOWN:
		snprintf(s->c.reason, sizeof(s->c.reason),
			 "database unreachable: connection refused");
		break;
	}
	if (v != VERDICT_DOWN) {
		s->c.primary_id = 1;
		snprintf(s->primary_name, sizeof(s->primary_name), "node1");
		s->nnodes = 3;
		s->nodes = three_nodes();
	}
	state_publish(s);
}

static void test_routes_by_verdict(void)
{
	static const struct {
		enum verdict v;
		int self;
		const char *path;
		int code;
		const char *body;
	} cases[] = {
		{ VERDICT_PRIMARY, 1, "/state", 200,
		  "{\"state\":\"Primary\",\"node_id\":1,\"node_name\":\"node1\","
		  "\"reason\":\"2 of 3 votes, quorum 2 (node3 unreachable)\","
		  "\"votes\":2,\"quorum\":2,\"timeline\":1,"
		  "\"age_ms\":120}" },
		{ VERDICT_STANDBY, 2, "/state", 202,
		  "{\"state\":\"Standby\",\"node_id\":2,\"node_name\":\"node2\",\"reason\":\"in "
		  "recovery (upstream node1)\",\"votes\":0,\"quorum\":2,\"timeline\":1,"
		  "\"age_ms\":120}" },
		{ VERDICT_DOWN, 1, "/state", 503,
		  "{\"state\":\"Down\",\"node_id\":1,\"node_name\":\"node1\",\"reason\":\"database "
		  "unreachable: connection refused\",\"votes\":0,\"quorum\":2,\"timeline\":1,"
		  "\"age_ms\":120}" },
		{ VERDICT_UNKNOWN, 1, "/state", 509,
		  "{\"state\":\"Unknown\",\"node_id\":1,\"node_name\":\"node1\","
		  "\"reason\":\"1 of 3 votes, quorum 2 (node2 names node3, node3 unreachable)\","
		  "\"votes\":1,\"quorum\":2,"
		  "\"timeline\":1,\"age_ms\":120}" },

		{ VERDICT_PRIMARY, 1, "/primary", 200, "{\"Primary\":\"node1\",\"node_id\":1"
		  ",\"answered_by\":\"node1\",\"answered_by_id\":1}" },
		{ VERDICT_STANDBY, 2, "/primary", 200, "{\"Primary\":\"node1\",\"node_id\":1"
		  ",\"answered_by\":\"node2\",\"answered_by_id\":2}" },
		{ VERDICT_UNKNOWN, 1, "/primary", 200, "{\"Primary\":\"node1\",\"node_id\":1"
		  ",\"answered_by\":\"node1\",\"answered_by_id\":1}" },
		{ VERDICT_DOWN, 1, "/primary", 503,
		  "{\"Primary\":null,\"reason\":\"database unreachable: connection refused\""
		  ",\"answered_by\":\"node1\",\"answered_by_id\":1}" },

		{ VERDICT_PRIMARY, 1, "/replica", 503,
		  "{\"replica\":false,\"state\":\"Primary\",\"weight\":0,\"lag_ms\":null,"
		  "\"lag_bytes\":null,\"streaming\":null,\"reason\":\"primary\"}" },
		{ VERDICT_STANDBY, 2, "/replica", 200,
		  "{\"replica\":true,\"state\":\"Standby\",\"weight\":100,\"lag_ms\":250,"
		  "\"lag_bytes\":4096,\"streaming\":false,\"reason\":\"standby, replay lag 250 ms\"}" },
		{ VERDICT_DOWN, 1, "/replica", 503,
		  "{\"replica\":false,\"state\":\"Down\",\"weight\":0,\"lag_ms\":null,"
		  "\"lag_bytes\":null,\"streaming\":null,\"reason\":\"database unreachable: connection refused\"}" },
		{ VERDICT_UNKNOWN, 1, "/replica", 503,
		  "{\"replica\":false,\"state\":\"Unknown\",\"weight\":0,\"lag_ms\":null,"
		  "\"lag_bytes\":null,\"streaming\":null,\"reason\":\"1 of 3 votes, quorum 2 (node2 names node3, "
		  "node3 unreachable)\"}" },

		{ VERDICT_PRIMARY, 1, "/health", 200, "{\"status\":\"ok\"}" },
		{ VERDICT_STANDBY, 2, "/health", 200, "{\"status\":\"ok\"}" },
		{ VERDICT_DOWN, 1, "/health", 200, "{\"status\":\"ok\"}" },
		{ VERDICT_UNKNOWN, 1, "/health", 200, "{\"status\":\"ok\"}" },

		{ VERDICT_PRIMARY, 1, "/nope", 404, "{\"error\":\"not found\"}" },
		{ VERDICT_DOWN, 1, "/state/", 404, "{\"error\":\"not found\"}" },
		{ VERDICT_UNKNOWN, 1, "/favicon.ico", 404, "{\"error\":\"not found\"}" },
	};
	struct config cfg;
	struct resp r;
	char raw[128], name[160];

	test_config(&cfg);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		publish(cases[i].v, cases[i].self, NOW - 120);
		snprintf(raw, sizeof(raw), "GET %s HTTP/1.1\r\n\r\n", cases[i].path);
		snprintf(name, sizeof(name), "GET %s when %s", cases[i].path,
			 consensus_verdict_name(cases[i].v));
		T_OK(get(raw, NOW, &cfg, &r), name);
		T_EQ_INT(r.code, cases[i].code, name);
		T_EQ_STR(r.body, cases[i].body, name);
		T_OK(strstr(r.head, "Content-Type: application/json\r\n") &&
			     strstr(r.head, "Cache-Control: no-store\r\n") &&
			     strstr(r.head, "Connection: keep-alive\r\n"),
		     "headers: Content-Type, Cache-Control, Connection");
		snprintf(raw, sizeof(raw), "Content-Length: %zu\r\n", strlen(cases[i].body));
		T_OK(strstr(r.head, raw) != NULL, "Content-Length is the body's");

		/* HEAD: the same status and headers, no body */
		snprintf(raw, sizeof(raw), "HEAD %s HTTP/1.0\r\n\r\n", cases[i].path);
		snprintf(name, sizeof(name), "HEAD %s when %s", cases[i].path,
			 consensus_verdict_name(cases[i].v));
		T_OK(get(raw, NOW, &cfg, &r), name);
		T_OK(r.code == cases[i].code && r.body_len == 0 &&
			     strstr(r.head, "Connection: close\r\n"),
		     name);
		snprintf(raw, sizeof(raw), "Content-Length: %zu\r\n", strlen(cases[i].body));
		T_OK(strstr(r.head, raw) != NULL, "HEAD: Content-Length of the GET body");
	}

	/* replica_include_primary: the primary serves reads too */
	cfg.replica_include_primary = true;
	publish(VERDICT_PRIMARY, 1, NOW - 120);
	T_OK(get("GET /replica HTTP/1.1\r\n\r\n", NOW, &cfg, &r) && r.code == 200 &&
		     strstr(r.body, "\"replica\":true,\"state\":\"Primary\",\"weight\":100"),
	     "/replica on the primary with replica_include_primary: 200");
	cfg.replica_include_primary = false;
}

static void test_routes_special(void)
{
	struct config cfg;
	struct resp r;
	json_t *j, *nodes;
	json_error_t jerr;

	test_config(&cfg);

	/* stale: Unknown with the reason why, /primary refuses to vote */
	publish(VERDICT_PRIMARY, 1, NOW - 6000);
	get("GET /state HTTP/1.1\r\n\r\n", NOW, &cfg, &r);
	T_EQ_INT(r.code, 509, "stale Primary snapshot: 509");
	T_EQ_STR(r.body,
		 "{\"state\":\"Unknown\",\"node_id\":1,\"node_name\":\"node1\",\"reason\":\"stale: "
		 "last refresh 6000 ms ago (was Primary: 2 of 3 votes, quorum 2 (node3 "
		 "unreachable))\",\"votes\":2,\"quorum\":2,\"timeline\":1,\"age_ms\":6000}",
		 "stale body");
	get("GET /primary HTTP/1.1\r\n\r\n", NOW, &cfg, &r);
	T_EQ_INT(r.code, 503, "stale: /primary 503");
	T_EQ_STR(r.body,
		 "{\"Primary\":null,\"reason\":\"stale: last refresh 6000 ms ago\","
		 "\"answered_by\":\"node1\",\"answered_by_id\":1}",
		 "stale /primary body");

	/* lag over max_lag past the grace: /replica 503 */
	publish(VERDICT_STANDBY, 2, NOW - 10);
	((struct snapshot *)state_current())->lag_ms = 40000;
	((struct snapshot *)state_current())->lag_over_since_ms = NOW - 20000;
	get("GET /replica HTTP/1.1\r\n\r\n", NOW, &cfg, &r);
	T_EQ_INT(r.code, 503, "standby lagging past grace: /replica 503");
	T_OK(strstr(r.body, "\"weight\":0") && strstr(r.body, "over max_lag"), "lag reason");
	((struct snapshot *)state_current())->lag_over_since_ms = NOW - 2000;
	get("GET /replica HTTP/1.1\r\n\r\n", NOW, &cfg, &r);
	T_OK(r.code == 200 && strstr(r.body, "\"weight\":10,"), "lagging within grace: 200, 10%");

	/* the starting snapshot */
	state_shutdown();
	get("GET /state HTTP/1.1\r\n\r\n", NOW, &cfg, &r);
	T_EQ_INT(r.code, 509, "before the first refresh: 509");
	T_EQ_STR(r.body,
		 "{\"state\":\"Unknown\",\"node_id\":0,\"node_name\":null,"
		 "\"reason\":\"starting: no refresh has finished yet\","
		 "\"votes\":0,\"quorum\":0,\"timeline\":0,"
		 "\"age_ms\":null}",
		 "starting body");
	get("GET /primary HTTP/1.1\r\n\r\n", NOW, &cfg, &r);
	T_EQ_INT(r.code, 503, "before the first refresh: /primary 503");

	/* names are escaped, bad UTF-8 does not break the JSON */
	publish(VERDICT_PRIMARY, 1, NOW - 1);
	{
		struct snapshot *s = (struct snapshot *)state_current();
		snprintf(s->self_name, sizeof(s->self_name), "no\"de\\1\n");
		snprintf(s->c.reason, sizeof(s->c.reason), "bytes \xff\xfe here");
	}
	get("GET /state HTTP/1.1\r\n\r\n", NOW, &cfg, &r);
	T_OK(strstr(r.body, "\"node_name\":\"no\\\"de\\\\1\\n\"") != NULL, "name escaped");
	T_OK(strstr(r.body, "\"reason\":\"bytes ?? here\"") != NULL, "bad UTF-8 replaced");
	j = json_loads(r.body, 0, &jerr);
	T_OK(j != NULL, "escaped body is valid JSON");
	json_decref(j);

	/* /cluster */
	publish(VERDICT_PRIMARY, 1, NOW - 100);
	state_set_admin(ADMIN_DRAIN);
	get("GET /cluster HTTP/1.1\r\n\r\n", NOW, &cfg, &r);
	state_set_admin(ADMIN_READY);
	T_EQ_INT(r.code, 200, "/cluster 200");
	j = json_loads(r.body, 0, &jerr);
	T_OK(j != NULL, "/cluster is JSON");
	T_EQ_STR(json_string_value(json_object_get(j, "verdict")), "Primary", "/cluster verdict");
	T_EQ_INT(json_integer_value(json_object_get(j, "votes")), 2, "/cluster votes");
	T_EQ_INT(json_integer_value(json_object_get(j, "quorum")), 2, "/cluster quorum");
	T_EQ_STR(json_string_value(json_object_get(j, "admin")), "drain", "/cluster admin");
	T_EQ_STR(json_string_value(json_object_get(json_object_get(j, "self"), "node_name")),
		 "node1", "/cluster self");
	nodes = json_object_get(j, "nodes");
	T_EQ_INT(json_array_size(nodes), 3, "/cluster lists every node");
	T_OK(json_is_null(json_object_get(json_array_get(nodes, 0), "reachable")),
	     "self: reachable null (not polled)");
	T_OK(json_is_true(json_object_get(json_array_get(nodes, 1), "reachable")),
	     "node2 reachable");
	T_EQ_STR(json_string_value(json_object_get(
			 json_object_get(json_array_get(nodes, 1), "vote"), "named_name")),
		 "node1", "node2 names node1");
	T_EQ_INT(json_integer_value(json_object_get(json_array_get(nodes, 1), "reply_ms")), 4,
		 "node2 reply_ms");
	T_OK(json_is_false(json_object_get(json_array_get(nodes, 2), "reachable")),
	     "node3 unreachable");
	T_EQ_STR(json_string_value(json_object_get(json_array_get(nodes, 2), "type")), "standby",
		 "node3 type");
	T_EQ_STR(json_string_value(json_object_get(json_array_get(nodes, 2), "url")),
		 "http://node3:8432", "node3 url");
	T_OK(json_is_true(json_object_get(json_array_get(nodes, 2), "in_scope")), "node3 in scope");
	T_OK(json_object_get(j, "lag") != NULL, "/cluster has lag");
	json_decref(j);

	/* /metrics */
	refresh_stats_observe(30);
	refresh_stats_observe(3000);
	get("GET /metrics HTTP/1.1\r\n\r\n", NOW, &cfg, &r);
	T_EQ_INT(r.code, 200, "/metrics 200");
	T_OK(strstr(r.head, "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n") != NULL,
	     "/metrics content type");
	T_OK(strstr(r.body, "# TYPE primgr_verdict gauge\nprimgr_verdict{state=\"Primary\"} 1\n"
			    "primgr_verdict{state=\"Standby\"} 0\n") != NULL,
	     "/metrics verdict gauge");
	T_OK(strstr(r.body, "primgr_votes 2\n") && strstr(r.body, "primgr_quorum 2\n") &&
		     strstr(r.body, "primgr_db_up 1\n"),
	     "/metrics votes, quorum, db_up");
	T_OK(strstr(r.body, "primgr_peer_up{node=\"node2\"} 1\n"
			    "primgr_peer_up{node=\"node3\"} 0\n") != NULL,
	     "/metrics peers");
	T_OK(strstr(r.body, "primgr_refresh_duration_seconds_bucket{le=\"0.025\"} 0\n"
			    "primgr_refresh_duration_seconds_bucket{le=\"0.05\"} 1\n") &&
		     strstr(r.body, "primgr_refresh_duration_seconds_bucket{le=\"2.5\"} 1\n"
				    "primgr_refresh_duration_seconds_bucket{le=\"5\"} 2\n"
				    "primgr_refresh_duration_seconds_bucket{le=\"+Inf\"} 2\n") &&
		     strstr(r.body, "primgr_refresh_duration_seconds_count 2\n"),
	     "/metrics refresh histogram is cumulative");
	T_OK(strstr(r.body, "primgr_http_requests_total{endpoint=\"state\",code=\"509\"}") &&
		     strstr(r.body, "primgr_http_requests_total{endpoint=\"other\",code=\"404\"}"),
	     "/metrics http requests by endpoint and real code");
	T_OK(strstr(r.body, "primgr_admin_state{state=\"ready\"} 1\n") != NULL, "/metrics admin");
	T_OK(strstr(r.body, "# TYPE primgr_realprimary_claims gauge\n") != NULL,
	     "/metrics realprimary_claims");

	/* methods */
	get("OPTIONS / HTTP/1.0\r\n\r\n", NOW, &cfg, &r);
	T_OK(r.code == 200 && strstr(r.head, "Allow: GET, HEAD, OPTIONS\r\n") &&
		     strstr(r.head, "Content-Length: 0\r\n") &&
		     strstr(r.head, "Connection: close\r\n"),
	     "OPTIONS / HTTP/1.0: 200 with Allow, closes");
	get("OPTIONS /whatever HTTP/1.1\r\n\r\n", NOW, &cfg, &r);
	T_OK(r.code == 404 && r.body_len == 0, "OPTIONS an unknown path: 404, no body");
	get("POST /state HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}", NOW, &cfg, &r);
	T_OK(r.code == 405 && strstr(r.head, "Allow: GET, HEAD, OPTIONS\r\n") &&
		     strstr(r.head, "Connection: close\r\n"),
	     "POST: 405 with Allow, closes (body)");
	get("DELETE /nope HTTP/1.1\r\n\r\n", NOW, &cfg, &r);
	T_EQ_INT(r.code, 404, "DELETE an unknown path: 404");
	get("GET http://h:1/state? HTTP/1.1\r\n\r\n", NOW, &cfg, &r);
	T_EQ_INT(r.code, 200, "absolute-form with an empty query routes to /state");
	get("GET http://h:1/state?x HTTP/1.1\r\n\r\n", NOW, &cfg, &r);
	T_EQ_INT(r.code, 400, "absolute-form, a query /state does not understand: 400");
	get("GET http://h:1?lag=1 HTTP/1.1\r\n\r\n", NOW, &cfg, &r);
	T_EQ_INT(r.code, 400, "absolute-form, no path, a query: / as /state, 400");
	T_OK(!get("GET /realPrimary HTTP/1.1\r\n\r\n", NOW, &cfg, &r), "/realPrimary is pending");
	T_OK(!get("HEAD /realPrimary HTTP/1.1\r\n\r\n", NOW, &cfg, &r),
	     "HEAD /realPrimary is pending");
	T_OK(get("HEAD /realPrimary?x=1 HTTP/1.1\r\n\r\n", NOW, &cfg, &r) && r.code == 400,
	     "HEAD /realPrimary?x=1: 400 before the fan-out");
	state_shutdown();
}

/* The code table, written out here apart from http.c: every method x route x verdict. */
#define PENDING 0 /* /realPrimary: answered by the server after the fan-out */

static void test_code_table(void)
{
	static const struct {
		const char *path;
		int code[4]; /* Primary, Standby, Down, Unknown */
	} rows[] = {
		{ "/state", { 200, 202, 503, 509 } },
		{ "/", { 200, 503, 503, 503 } }, /* bare "option httpchk": only the agreed primary passes */
		{ "/read-write", { 200, 503, 503, 503 } },
		{ "/leader", { 200, 503, 503, 503 } },
		{ "/master", { 200, 503, 503, 503 } },
		{ "/replica", { 503, 200, 503, 503 } },
		{ "/read-only", { 200, 200, 503, 503 } },
		{ "/readiness", { 200, 200, 503, 503 } },
		{ "/health", { 200, 200, 200, 200 } },
		{ "/liveness", { 200, 200, 200, 200 } },
		{ "/primary", { 200, 200, 503, 200 } }, /* this node's view, not a leader check */
		{ "/cluster", { 200, 200, 200, 200 } },
		{ "/metrics", { 200, 200, 200, 200 } },
		{ "/ui", { 200, 200, 200, 200 } },
		{ "/realPrimary", { PENDING, PENDING, PENDING, PENDING } },
		{ "/nope", { 404, 404, 404, 404 } },
		{ "/ui/", { 404, 404, 404, 404 } },
		{ "/ui.js", { 404, 404, 404, 404 } },
		{ "/State", { 404, 404, 404, 404 } },
		{ "/state/", { 404, 404, 404, 404 } },
		{ "/master/", { 404, 404, 404, 404 } },
		{ "*", { 404, 404, 404, 404 } },
	};
	static const struct {
		enum verdict v;
		int self;
	} verdicts[] = { { VERDICT_PRIMARY, 1 }, { VERDICT_STANDBY, 2 }, { VERDICT_DOWN, 1 },
			 { VERDICT_UNKNOWN, 1 } };
	static const char *const methods[] = { "GET", "HEAD", "OPTIONS", "DELETE" };
	struct config cfg;
	struct resp r;
	char raw[160], name[200];

	test_config(&cfg);
	for (size_t v = 0; v < ARRAY_SIZE(verdicts); v++) {
		publish(verdicts[v].v, verdicts[v].self, NOW - 120);
		for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
			for (size_t m = 0; m < ARRAY_SIZE(methods); m++) {
				int want = rows[i].code[v];
				bool other = m == 3, done;

				if (other)
					want = want == 404 ? 404 : 405;
				snprintf(raw, sizeof(raw), "%s %s HTTP/1.1\r\n\r\n", methods[m],
					 rows[i].path);
				snprintf(name, sizeof(name), "table: %s %s when %s", methods[m],
					 rows[i].path, consensus_verdict_name(verdicts[v].v));
				done = get(raw, NOW, &cfg, &r);
				if (want == PENDING) {
					T_OK(!done, name);
					continue;
				}
				T_OK(done, name);
				T_EQ_INT(r.code, want, name);
				if (m == 0 || other)
					T_OK(r.body_len > 0, "GET (and 405/404) has a body");
				else if (m == 1)
					T_OK(r.body_len == 0 && !strstr(r.head, "Content-Length: 0\r\n"),
					     "HEAD: no body, the GET body's length");
				else
					T_OK(r.body_len == 0 && strstr(r.head, "Content-Length: 0\r\n") &&
						     (want == 404) !=
							     (strstr(r.head, HTTP_ALLOW_LINE) != NULL),
					     "OPTIONS: no body; Allow unless 404");
			}
		}
	}
	state_shutdown();
}

/* Patroni's query parameters: lag (bytes, size, duration), replication_state; anything
 * else is a 400 with the reason. */
static void test_query(void)
{
	enum { P, S, SU, SS }; /* Primary; Standby 250 ms / 4096 bytes; lag unknown; streaming */
	static const struct {
		int snap;
		const char *target;
		int code;
		const char *in_body;
	} cases[] = {
		{ S, "/replica?lag=4096", 200, "\"replica\":true" },
		{ S, "/replica?lag=4095", 503, "replay lag 4096 bytes over the query's lag 4095" },
		{ S, "/replica?lag=4kB", 200, NULL },
		{ S, "/replica?lag=1kB", 503, NULL },
		{ S, "/replica?lag=1KiB", 503, NULL },
		{ S, "/replica?lag=16MB", 200, NULL },
		{ S, "/replica?lag=16mb", 200, NULL },
		{ S, "/replica?lag=1GB", 200, NULL },
		{ S, "/replica?lag=0", 503, NULL },
		{ S, "/replica?lag=250ms", 200, NULL },
		{ S, "/replica?lag=249ms", 503, "replay lag 250 ms over the query's lag 249 ms" },
		{ S, "/replica?lag=10s", 200, NULL },
		{ S, "/replica?lag=1min", 200, NULL },
		{ S, "/replica?lag=1h", 200, NULL },
		{ S, "/read-only?lag=1", 503, NULL },
		{ S, "/readiness?lag=16MB", 200, NULL },
		{ S, "/replica?lag=16MB&", 200, NULL },
		{ S, "/replica?", 200, NULL },
		{ S, "/replica?lag=16MB#frag", 200, NULL },
		{ SU, "/replica", 200, NULL },   /* the configured limits: min_weight, within grace */
		{ SU, "/replica?lag=1GB", 503, "replay lag unknown" },
		{ SU, "/replica?lag=1h", 503, "replay lag unknown" },
		{ S, "/replica?replication_state=streaming", 503, "not streaming" },
		{ SS, "/replica?replication_state=streaming", 200, NULL },
		{ SS, "/replica?replication_state=STREAMING", 200, NULL },
		{ SS, "/replica?lag=16MB&replication_state=streaming", 200, NULL },
		{ SS, "/replica?replication_state=streaming&lag=1", 503, NULL },
		{ SS, "/read-only?replication_state=streaming", 200, NULL },
		{ P, "/replica?lag=1", 503, NULL },
		{ P, "/read-only?lag=1", 200, NULL },
		{ P, "/read-only?replication_state=streaming", 200, NULL },
		{ P, "/readiness", 200, NULL },
		{ P, "/state?", 200, NULL },

		{ S, "/replica?lag=", 400, "query parameter lag=: want bytes" },
		{ S, "/replica?lag", 400, "query parameter lag: want bytes" },
		{ S, "/replica?lag=abc", 400, "want bytes (16777216), a size (16MB) or a duration" },
		{ S, "/replica?lag=16XB", 400, NULL },
		{ S, "/replica?lag=-1", 400, NULL },
		{ S, "/replica?lag=1.5s", 400, NULL },
		{ S, "/replica?lag=99999999999999999999", 400, NULL },
		{ S, "/replica?lag=9999999999TB", 400, NULL },
		{ S, "/replica?lag=1&lag=2", 400, "given twice" },
		{ S, "/replica?replication_state=stopped", 400, "only replication_state=streaming" },
		{ S, "/replica?tag_key=value", 400, "query parameter tag_key=value is not understood "
						    "on /replica" },
		{ S, "/replica?Lag=1", 400, "not understood" },
		{ S, "/replica?lag=1&x", 400, "query parameter x is not understood" },
		{ S, "/replica?a\"b\\c=1", 400, "query parameter a?b?c=1 is not understood" },
		{ P, "/state?x", 400, "query parameter x is not understood on /state" },
		{ P, "/?lag=1", 400, "not understood on /" },
		{ P, "/master?lag=1", 400, "not understood on /master" },
		{ P, "/leader?replication_state=streaming", 400, NULL },
		{ P, "/health?verbose=1", 400, NULL },
		{ P, "/primary?x=1", 400, NULL },
		{ P, "/cluster?x=1", 400, NULL },
		{ P, "/metrics?name[]=x", 400, NULL },
		{ P, "/nope?lag=1", 404, NULL },
	};
	struct config cfg;
	struct resp r;
	char raw[256], name[300];
	json_t *j;
	json_error_t jerr;

	static const struct {
		const char *raw, *path, *query;
	} parsed[] = {
		{ "GET /replica?lag=1#x HTTP/1.1\r\n\r\n", "/replica", "lag=1" },
		{ "GET /replica? HTTP/1.1\r\n\r\n", "/replica", "" },
		{ "GET /replica#?lag=1 HTTP/1.1\r\n\r\n", "/replica", "" },
		{ "GET http://h:1?a=b HTTP/1.1\r\n\r\n", "/", "a=b" },
		{ "GET https://h/x?a=b&c HTTP/1.1\r\n\r\n", "/x", "a=b&c" },
	};
	static char big[HTTP_MAX_PATH + 64];
	struct http_request req;
	size_t n;

	for (size_t i = 0; i < ARRAY_SIZE(parsed); i++) {
		T_OK(http_parse_request(parsed[i].raw, strlen(parsed[i].raw), &req) == HTTP_PARSE_OK &&
			     strcmp(req.path, parsed[i].path) == 0 &&
			     strcmp(req.query, parsed[i].query) == 0,
		     "the query is parsed apart from the path, the fragment dropped");
	}
	n = (size_t)snprintf(big, sizeof(big), "GET /replica?");
	memset(big + n, 'q', HTTP_MAX_PATH);
	n += HTTP_MAX_PATH;
	n += (size_t)snprintf(big + n, sizeof(big) - n, " HTTP/1.1\r\n\r\n");
	T_EQ_INT(http_parse_request(big, n, &req), HTTP_PARSE_URI_TOO_LONG, "query of 1024: 414");

	test_config(&cfg);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct snapshot *s;

		publish(cases[i].snap == P ? VERDICT_PRIMARY : VERDICT_STANDBY,
			cases[i].snap == P ? 1 : 2, NOW - 120);
		s = (struct snapshot *)state_current();
		if (cases[i].snap == SU) {
			s->lag_known = false;
			s->lag_over_since_ms = NOW - 1000;
		}
		if (cases[i].snap == SS) {
			s->receive_lsn = 0x3000060;
			s->streaming = true;
		}
		snprintf(raw, sizeof(raw), "GET %s HTTP/1.1\r\n\r\n", cases[i].target);
		snprintf(name, sizeof(name), "query: GET %s", cases[i].target);
		T_OK(get(raw, NOW, &cfg, &r), name);
		T_EQ_INT(r.code, cases[i].code, name);
		if (cases[i].in_body && !strstr(r.body, cases[i].in_body))
			printf("#   body %s\n", r.body);
		T_OK(!cases[i].in_body || strstr(r.body, cases[i].in_body), name);
		j = json_loads(r.body, 0, &jerr);
		T_OK(j != NULL, "the body is JSON");
		json_decref(j);
		/* OPTIONS and HEAD: the same code, no body */
		snprintf(raw, sizeof(raw), "OPTIONS %s HTTP/1.1\r\n\r\n", cases[i].target);
		T_OK(get(raw, NOW, &cfg, &r) && r.code == cases[i].code && r.body_len == 0,
		     "OPTIONS: the same code, no body");
		snprintf(raw, sizeof(raw), "HEAD %s HTTP/1.1\r\n\r\n", cases[i].target);
		T_OK(get(raw, NOW, &cfg, &r) && r.code == cases[i].code && r.body_len == 0,
		     "HEAD: the same code, no body");
	}
	state_shutdown();
}

static void test_errors(void)
{
	static const struct {
		enum http_parse r;
		int code;
	} cases[] = { { HTTP_PARSE_BAD, 400 }, { HTTP_PARSE_TOO_LARGE, 431 },
		      { HTTP_PARSE_VERSION, 505 }, { HTTP_PARSE_URI_TOO_LONG, 414 } };
	char name[64];

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct buf out;
		int code = 0;
		int slot = http_code_index(cases[i].code);
		uint64_t before = http_stats()->requests[EP_OTHER][slot];
		buf_init(&out, 4096);
		T_OK(http_respond_error(cases[i].r, &out), "http_respond_error");
		sscanf(out.data, "HTTP/1.1 %d", &code);
		snprintf(name, sizeof(name), "parse error %d", cases[i].code);
		T_EQ_INT(code, cases[i].code, name);
		T_OK(strstr(out.data, "Connection: close\r\n") &&
			     strstr(out.data, "\r\n\r\n{\"error\""),
		     "error closes, JSON body");
		T_EQ_INT(http_stats()->requests[EP_OTHER][slot], before + 1, "error counted");
		buf_free(&out);
	}
	T_EQ_STR(http_reason(431), "Request Header Fields Too Large", "http_reason 431");
	T_EQ_INT(http_code_at(http_code_index(509)), 509, "metrics code table round trip");
	T_EQ_INT(http_code_index(418), HTTP_STATS_CODES - 1, "unlisted code: other slot");
}

/* /state keeps its body up to age_ms between requests: it must follow every field. */
static void test_state_cache(void)
{
	struct config cfg;
	struct resp r;
	struct snapshot *s;

	test_config(&cfg);
	publish(VERDICT_PRIMARY, 1, NOW - 120);
	get("GET /state HTTP/1.1\r\n\r\n", NOW, &cfg, &r);
	get("GET /state HTTP/1.1\r\n\r\n", NOW + 5, &cfg, &r);
	T_EQ_STR(r.body,
		 "{\"state\":\"Primary\",\"node_id\":1,\"node_name\":\"node1\","
		 "\"reason\":\"2 of 3 votes, quorum 2 (node3 unreachable)\","
		 "\"votes\":2,\"quorum\":2,\"timeline\":1,\"age_ms\":125}",
		 "second /state: the same body, a new age_ms");
	s = (struct snapshot *)state_current();
	snprintf(s->c.reason, sizeof(s->c.reason), "a \"quoted\" reason");
	get("GET /state HTTP/1.1\r\n\r\n", NOW + 6, &cfg, &r);
	T_OK(strstr(r.body, "\"reason\":\"a \\\"quoted\\\" reason\",") != NULL,
	     "/state follows a new reason in the same snapshot");
	s->timeline = 7;
	get("GET /state HTTP/1.1\r\n\r\n", NOW + 6, &cfg, &r);
	T_EQ_STR(r.body,
		 "{\"state\":\"Primary\",\"node_id\":1,\"node_name\":\"node1\","
		 "\"reason\":\"a \\\"quoted\\\" reason\",\"votes\":2,\"quorum\":2,"
		 "\"timeline\":7,\"age_ms\":126}",
		 "/state follows a new reason and timeline in the same snapshot");
	s->c.votes = 3;
	snprintf(s->self_name, sizeof(s->self_name), "node9");
	get("GET /state HTTP/1.1\r\n\r\n", NOW + 7, &cfg, &r);
	T_OK(strstr(r.body, "\"node_name\":\"node9\"") && strstr(r.body, "\"votes\":3,") &&
		     strstr(r.body, "\"age_ms\":127}"),
	     "/state follows votes and node_name");
	get("GET /state HTTP/1.1\r\n\r\n", NOW + 6000, &cfg, &r);
	T_OK(r.code == 509 && strstr(r.body, "stale: last refresh 6120 ms ago"),
	     "then stale: built again, with the age in the reason");
	get("GET /state HTTP/1.1\r\n\r\n", NOW + 8, &cfg, &r);
	T_OK(r.code == 200 && strstr(r.body, "\"state\":\"Primary\"") &&
		     strstr(r.body, "\"age_ms\":128}"),
	     "fresh again: Primary");
}

/* /ui: the page, confined by its headers; /cluster lets the node origins read it. */
static void test_ui(void)
{
	static const struct {
		const char *url, *origin; /* origin NULL: not usable */
	} origins[] = {
		{ "http://node1:8432", "http://node1:8432" },
		{ "HTTP://Node1.Example:8432/", "http://node1.example:8432" },
		{ "http://node1:80", "http://node1" },
		{ "https://node1:443/x?y", "https://node1" },
		{ "https://node1:80", "https://node1:80" },
		{ "http://[::1]:8432", "http://[::1]:8432" },
		{ "http://[::1]:80", "http://[::1]" },
		{ "http://10.0.0.1", "http://10.0.0.1" },
		{ "http://::1:8432", NULL },
		{ "http://user@node1:8432", NULL },
		{ "http://no de:8432", NULL },
		{ "http://node1;x:8432", NULL },
		{ "http://:8432", NULL },
		{ "http://", NULL },
		{ "ftp://node1", NULL },
		{ "null", NULL },
		{ "", NULL },
	};
	struct config cfg;
	struct resp r;
	struct http_request req;
	char o[CONFIG_URL_MAX], name[200], raw[600];

	for (size_t i = 0; i < ARRAY_SIZE(origins); i++) {
		bool ok = ui_url_origin(origins[i].url, o, sizeof(o));

		snprintf(name, sizeof(name), "origin of \"%s\"", origins[i].url);
		T_OK(ok == (origins[i].origin != NULL), name);
		if (ok && origins[i].origin)
			T_EQ_STR(o, origins[i].origin, name);
	}
	T_OK(!ui_url_origin("http://node1:8432", o, 17), "origin: too small a buffer");

	test_config(&cfg);
	publish(VERDICT_STANDBY, 2, NOW - 120);
	T_OK(get("GET /ui HTTP/1.1\r\n\r\n", NOW, &cfg, &r) && r.code == 200, "GET /ui: 200");
	T_OK(strstr(r.head, "Content-Type: text/html; charset=utf-8\r\n") != NULL,
	     "/ui is HTML");
	T_OK(strncmp(r.body, "<!DOCTYPE html>", 15) == 0 && r.body_len > 1000, "/ui: the page");
	T_OK(!strstr(r.body, " src=") && !strstr(r.body, " href=") && !strstr(r.body, "url("),
	     "/ui: no external assets");
	T_OK(!strstr(r.body, "method=") && !strstr(r.body, "\"POST\""), "/ui: no action");
	T_OK(strstr(r.head, "Content-Security-Policy: default-src 'none'; script-src 'sha256-") &&
		     strstr(r.head, "; style-src 'sha256-") &&
		     strstr(r.head, "; connect-src 'self' http://node1:8432 http://node2:8432 "
				    "http://node3:8432; base-uri 'none'; form-action 'none'; "
				    "frame-ancestors 'none'\r\n") &&
		     !strstr(r.head, "unsafe"),
	     "/ui: CSP allows only its script, style and the nodes' /cluster");
	T_OK(strstr(r.head, "X-Content-Type-Options: nosniff\r\n") &&
		     strstr(r.head, "X-Frame-Options: DENY\r\n") &&
		     strstr(r.head, "Referrer-Policy: no-referrer\r\n") &&
		     strstr(r.head, "Cache-Control: no-store\r\n"),
	     "/ui: nosniff, no framing, no referrer, not cached");
	T_OK(get("HEAD /ui HTTP/1.1\r\n\r\n", NOW, &cfg, &r) && r.code == 200 &&
		     r.body_len == 0 && strstr(r.head, "Content-Security-Policy: ") &&
		     !strstr(r.head, "Content-Length: 0\r\n"),
	     "HEAD /ui: the headers, no body");
	T_OK(get("POST /ui HTTP/1.1\r\nContent-Length: 0\r\n\r\n", NOW, &cfg, &r) &&
		     r.code == 405 && strstr(r.head, HTTP_ALLOW_LINE),
	     "POST /ui: 405");
	get("GET /metrics HTTP/1.1\r\n\r\n", NOW, &cfg, &r);
	T_OK(strstr(r.body, "primgr_http_requests_total{endpoint=\"ui\",code=\"200\"} ") != NULL,
	     "/ui counts under endpoint=\"ui\"");
	publish(VERDICT_DOWN, 1, NOW - 120); /* no node list */
	T_OK(get("GET /ui HTTP/1.1\r\n\r\n", NOW, &cfg, &r) && r.code == 200 &&
		     strstr(r.head, "; connect-src 'self'; base-uri"),
	     "/ui without a node list: connect-src 'self'");

	/* /cluster's CORS: only an origin of a node URL, as that node's URL says it */
	publish(VERDICT_STANDBY, 2, NOW - 120);
	static const struct {
		const char *origin, *allowed;
	} cors[] = {
		{ "http://node1:8432", "http://node1:8432" },
		{ "http://NODE3:8432", "http://node3:8432" },
		{ "http://node1:8433", NULL },
		{ "https://node1:8432", NULL },
		{ "http://evil.example", NULL },
		{ "null", NULL },
		{ "http://node1:8432/", NULL }, /* no browser sends that */
	};
	for (size_t i = 0; i < ARRAY_SIZE(cors); i++) {
		snprintf(raw, sizeof(raw), "GET /cluster HTTP/1.1\r\nOrigin: %s\r\n\r\n",
			 cors[i].origin);
		snprintf(name, sizeof(name), "/cluster from Origin %s", cors[i].origin);
		get(raw, NOW, &cfg, &r);
		if (!cors[i].allowed) {
			T_OK(!strstr(r.head, "Access-Control-Allow-Origin"), name);
			continue;
		}
		snprintf(o, sizeof(o), "Access-Control-Allow-Origin: %s\r\nVary: Origin\r\n",
			 cors[i].allowed);
		T_OK(r.code == 200 && strstr(r.head, o), name);
	}
	get("GET /cluster HTTP/1.1\r\n\r\n", NOW, &cfg, &r);
	T_OK(r.code == 200 && !strstr(r.head, "Access-Control"), "/cluster without Origin: no CORS");
	get("GET /state HTTP/1.1\r\nOrigin: http://node1:8432\r\n\r\n", NOW, &cfg, &r);
	T_OK(!strstr(r.head, "Access-Control"), "/state: no CORS");

	/* the parser keeps Origin, and drops one too long to be a node's */
	snprintf(raw, sizeof(raw), "GET /cluster HTTP/1.1\r\norigin:  http://a:1 \r\n\r\n");
	T_OK(http_parse_request(raw, strlen(raw), &req) == HTTP_PARSE_OK &&
		     strcmp(req.origin, "http://a:1") == 0,
	     "Origin kept, trimmed");
	snprintf(raw, sizeof(raw), "GET /cluster HTTP/1.1\r\nOrigin: http://%0300d\r\n\r\n", 1);
	T_OK(http_parse_request(raw, strlen(raw), &req) == HTTP_PARSE_OK && req.origin[0] == '\0',
	     "Origin over 255 bytes: ignored");
	state_shutdown();
}

int main(void)
{
	log_open(LOG_TARGET_STDERR, LOG_WARNING, LOG_DAEMON);
	http_set_metrics(metrics_format);
	test_parse_table();
	test_parse_split();
	test_parse_sizes();
	test_routes_by_verdict();
	test_routes_special();
	test_code_table();
	test_query();
	test_state_cache();
	test_errors();
	test_ui();
	return t_done();
}

/* http: a bounded HTTP/1.x request parser (pure, table-tested, fuzzed), the response
 * framing, and the routes: which path gets which body (api.h) and which status code. */
#ifndef PRIMGR_HTTP_H
#define PRIMGR_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "state.h"
#include "util.h"

#define HTTP_MAX_HEAD 8192
#define HTTP_MAX_PATH 1024

enum http_parse {
	HTTP_PARSE_INCOMPLETE,  /* need more bytes */
	HTTP_PARSE_OK,          /* req filled; req->head_len bytes consumed */
	HTTP_PARSE_BAD,         /* 400 */
	HTTP_PARSE_TOO_LARGE,   /* 431: head over HTTP_MAX_HEAD */
	HTTP_PARSE_VERSION,     /* 505: not HTTP/1.0 or 1.1 */
	HTTP_PARSE_URI_TOO_LONG /* 414: path over HTTP_MAX_PATH - 1 */
};

enum http_method { HTTP_GET, HTTP_HEAD, HTTP_OPTIONS, HTTP_OTHER };

struct http_request {
	enum http_method method;
	char path[HTTP_MAX_PATH];   /* origin-form path, query stripped, from absolute-form too */
	char query[HTTP_MAX_PATH];  /* the query without '?' (fragment stripped), "" if none */
	int minor;                  /* HTTP/1.<minor> */
	bool keep_alive;            /* 1.1 unless "Connection: close"; 1.0 only with keep-alive;
				     * false when has_body */
	bool has_body;              /* Content-Length > 0 or Transfer-Encoding: we answer and close */
	char origin[256];           /* the Origin header, "" if none or longer (/cluster's CORS) */
	size_t head_len;
};

enum http_parse http_parse_request(const char *buf, size_t len, struct http_request *req) WUR;

/* The status code a route answers: one table maps (method, route, verdict) to a code.
 * GET, HEAD and OPTIONS on a route get the same code (HEAD and OPTIONS without a body);
 * an unknown path is 404 whatever the method; other methods on a route are 405. */
/* Routes a parsed request. Returns true with a whole response in out, or false when the
 * answer is pending (/realPrimary): the server then waits and calls
 * http_format_response with the fan-out's result. */
bool http_respond(const struct http_request *req, const struct config *cfg, int64_t now_ms,
		  struct buf *out) WUR;

/* The whole response (Connection: close) to a request that did not parse (r is not
 * HTTP_PARSE_OK or HTTP_PARSE_INCOMPLETE); counts it (http_stats.h). */
bool http_respond_error(enum http_parse r, struct buf *out) WUR;

/* Writes status line, headers and (unless head_only) the body. */
bool http_format_response(struct buf *out, int code, const char *content_type,
			  const char *body, size_t body_len, bool head_only, bool keep_alive,
			  const char *extra_headers) WUR;

const char *http_reason(int code);

/* Writes /metrics' body; false when it did not fit. main.c hands in metrics_format, so
 * that http.c does not depend on the metrics module; unset, /metrics answers 500. */
typedef bool http_metrics_fn(struct buf *out, const struct config *cfg, int64_t now_ms);
void http_set_metrics(http_metrics_fn *fn);

#endif

/* ui: the read-only status page GET /ui (src/ui.html, embedded at build time), the headers
 * that confine it, and which browser origins may read /cluster from it. */
#ifndef PRIMGR_UI_H
#define PRIMGR_UI_H

#include <stdbool.h>
#include <stddef.h>

#include "state.h"
#include "util.h"

/* Appends the page. */
bool ui_page(struct buf *body) WUR;

/* Appends the page's response headers: a Content-Security-Policy that allows only the
 * page's own inline script and style (by hash) and fetches from this origin and the nodes'
 * (from s's node URLs), nosniff, no framing, no referrer. */
bool ui_headers(const struct snapshot *s, struct buf *out) WUR;

/* Appends "Access-Control-Allow-Origin: ORIGIN" when ORIGIN (a request's Origin header) is
 * the origin of one of s's node URLs, so that the page served by one node can read the
 * others' /cluster; nothing otherwise. */
bool ui_cors_headers(const struct snapshot *s, const char *origin, struct buf *out) WUR;

/* The origin of a primgr base URL as a browser writes it: lowercase scheme and host, the
 * default port dropped ("http://Node1:80/x" -> "http://node1"). False for a URL that is not
 * http(s), has user info, or characters that have no place in a header. */
bool ui_url_origin(const char *url, char *out, size_t size) WUR;

#endif

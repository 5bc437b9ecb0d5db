/* ui: GET /ui, a read-only page that reads /cluster once a second, and its confinement. */
#include "ui.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "ui_page.h" /* made from src/ui.html by scripts/embed-ui.sh */

bool ui_page(struct buf *body)
{
	return buf_append(body, ui_page_html, sizeof(ui_page_html) - 1);
}

bool ui_url_origin(const char *url, char *out, size_t size)
{
	const char *scheme, *host, *end, *colon, *bracket, *after;
	const char *dflt;
	size_t n, hn;

	if (strncasecmp(url, "http://", 7) == 0) {
		scheme = "http://";
		dflt = "80";
	} else if (strncasecmp(url, "https://", 8) == 0) {
		scheme = "https://";
		dflt = "443";
	} else {
		return false;
	}
	host = url + strlen(scheme);
	end = host + strcspn(host, "/?#");
	n = (size_t)(end - host);
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)host[i]) && !strchr(".-_:[]", host[i]))
			return false; /* '@' (user info), '%', spaces, quotes, ';', ',' */
	bracket = memchr(host, ']', n);
	after = bracket ? bracket : host; /* the port's colon comes after an IPv6 address */
	colon = memchr(after, ':', (size_t)(end - after));
	if (!bracket && colon && memchr(colon + 1, ':', (size_t)(end - colon - 1)))
		return false; /* an IPv6 address without brackets */
	hn = colon ? (size_t)(colon - host) : n;
	if (hn == 0 || strlen(scheme) + n + 1 > size)
		return false;
	if (colon && (size_t)(end - colon - 1) == strlen(dflt) &&
	    memcmp(colon + 1, dflt, strlen(dflt)) == 0)
		n = hn; /* the default port: a browser leaves it out */
	strcpy(out, scheme);
	for (size_t i = 0; i < n; i++)
		out[strlen(scheme) + i] = i < hn ? (char)tolower((unsigned char)host[i]) : host[i];
	out[strlen(scheme) + n] = '\0';
	return true;
}

bool ui_headers(const struct snapshot *s, struct buf *out)
{
	char origin[CONFIG_URL_MAX];

	if (!buf_printf(out,
	                "Content-Security-Policy: default-src 'none'; script-src %s; "
	                "style-src %s; connect-src 'self'",
	                UI_SCRIPT_SRC, UI_STYLE_SRC))
		return false;
	for (size_t i = 0; i < s->nnodes; i++)
		if (ui_url_origin(s->nodes[i].node.url, origin, sizeof(origin)) &&
		    !buf_printf(out, " %s", origin))
			return false;
	return buf_printf(out, "; base-uri 'none'; form-action 'none'; frame-ancestors 'none'\r\n"
	                       "X-Content-Type-Options: nosniff\r\n"
	                       "X-Frame-Options: DENY\r\n"
	                       "Referrer-Policy: no-referrer\r\n");
}

bool ui_cors_headers(const struct snapshot *s, const char *origin, struct buf *out)
{
	char want[CONFIG_URL_MAX], node[CONFIG_URL_MAX];

	/* a serialized origin (RFC 6454) as browsers send it: nothing after the port */
	if (!*origin || !ui_url_origin(origin, want, sizeof(want)) || strcasecmp(want, origin) != 0)
		return true;
	for (size_t i = 0; i < s->nnodes; i++)
		if (ui_url_origin(s->nodes[i].node.url, node, sizeof(node)) &&
		    strcmp(node, want) == 0)
			return buf_printf(
			    out, "Access-Control-Allow-Origin: %s\r\nVary: Origin\r\n", node);
	return true;
}

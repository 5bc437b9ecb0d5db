/* peers: HTTP to other primgr instances through one libcurl multi handle inside libev.
 * All peers in parallel, connect and total timeouts, a capped body. What the bodies say
 * is api.h's to parse. */
#ifndef PRIMGR_PEERS_H
#define PRIMGR_PEERS_H

#include <curl/curl.h>
#include <ev.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

#define PEERS_MAX_BODY 4096

struct peer_reply {
	bool transferred;                  /* false: see error (connect, timeout, too large) */
	long http_code;
	char body[PEERS_MAX_BODY + 1];
	size_t body_len;
	int64_t ms;                        /* transfer time */
	char error[96];
};

typedef void (*peers_done_cb)(struct peer_reply *replies, size_t n, void *arg);

struct peers;

struct peers *peers_new(struct ev_loop *loop, const struct config *cfg);
void peers_reconfigure(struct peers *p, const struct config *cfg);
void peers_free(struct peers *p);

/* GETs base_url + path for each of urls[0..n) in parallel; cb runs once with all replies
 * (same order) when the last transfer ends or times out. Returns false on a setup error. */
bool peers_fetch(struct peers *p, const char *const *urls, size_t n, const char *path,
		 peers_done_cb cb, void *arg) WUR;

/* Limits an easy handle to plain HTTP and HTTPS without redirects: peer URLs come from
 * configuration, repmgr.nodes or a remote /cluster reply. */
CURLcode peers_curl_http_only(CURL *e);

#endif

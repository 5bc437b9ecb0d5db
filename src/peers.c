/* peers: libcurl's multi interface driven by libev (the "multi_socket" API): curl tells us
 * which sockets to watch (socket_cb) and when to call it back (timer_cb); we tell curl
 * what happened (curl_multi_socket_action) and collect finished transfers (multi_done).
 * A batch is one peers_fetch call; it completes when its last transfer has ended. */
#include "peers.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "log.h"
#include "util.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0"
#endif

/* The settings a transfer needs, copied so a reload cannot pull them from under us. */
struct peers_settings {
	uint32_t timeout_ms, connect_timeout_ms;
	char ca_file[CONFIG_PATH_MAX], cert[CONFIG_PATH_MAX], key[CONFIG_PATH_MAX];
};

struct peers {
	struct ev_loop *loop;
	CURLM *multi;
	ev_timer timer; /* curl's single timeout (CURLMOPT_TIMERFUNCTION) */
	struct peers_settings set;
	LIST_HEAD(, batch) batches; /* in flight */
};

/* One socket curl asked us to watch (attached to it with curl_multi_assign). */
struct sock {
	ev_io io;
	struct peers *p;
};

struct transfer {
	CURL *easy;
	struct batch *b;
	struct peer_reply *reply;
	int64_t start_ms;
	bool too_large;
	char errbuf[CURL_ERROR_SIZE];
};

struct batch {
	LIST_ENTRY(batch) entry; /* in p->batches */
	struct peers *p;
	size_t n, pending;
	struct peer_reply *replies;
	struct transfer *xfers;
	peers_done_cb cb;
	void *arg;
	ev_timer kick; /* completes a batch with nothing to transfer */
};

static void batch_free(struct batch *b)
{
	struct peers *p = b->p;

	ev_timer_stop(p->loop, &b->kick);
	for (size_t i = 0; i < b->n; i++) {
		if (b->xfers[i].easy) {
			curl_multi_remove_handle(p->multi, b->xfers[i].easy);
			curl_easy_cleanup(b->xfers[i].easy);
		}
	}
	free(b->xfers);
	free(b->replies);
	free(b);
}

/* Hands the replies to the owner. The batch leaves the list first so the callback may
 * start new batches. */
static void batch_complete(struct batch *b)
{
	LIST_REMOVE(b, entry);
	b->cb(b->replies, b->n, b->arg);
	batch_free(b);
}

static void batch_kick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct batch *b = container_of(w, struct batch, kick);

	(void)loop;
	(void)revents;
	if (b->pending == 0)
		batch_complete(b);
}

static void transfer_finish(struct peers *p, struct transfer *t, CURLcode rc)
{
	struct peer_reply *r = t->reply;
	struct batch *b = t->b;

	r->ms = util_now_ms() - t->start_ms;
	if (rc == CURLE_OK) {
		r->transferred = true;
		curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &r->http_code);
	} else if (t->too_large || rc == CURLE_FILESIZE_EXCEEDED) {
		snprintf(r->error, sizeof(r->error), "reply too large (over %d bytes)",
		         PEERS_MAX_BODY);
	} else if (rc == CURLE_OPERATION_TIMEDOUT) {
		double connect_s = 0;
		uint32_t ms = p->set.timeout_ms;
		const char *what = "";

		curl_easy_getinfo(t->easy, CURLINFO_CONNECT_TIME, &connect_s);
		if (connect_s <= 0) {
			what = "connect ";
			ms = p->set.connect_timeout_ms;
		}
		snprintf(r->error, sizeof(r->error), "%stimeout after %ums", what, ms);
	} else {
		util_copy_cut(r->error, t->errbuf[0] ? t->errbuf : curl_easy_strerror(rc),
		         sizeof(r->error));
	}
	if (!r->transferred)
		r->body_len = 0;
	r->body[r->body_len] = '\0';

	curl_multi_remove_handle(p->multi, t->easy);
	curl_easy_cleanup(t->easy);
	t->easy = NULL;
	if (--b->pending == 0)
		batch_complete(b);
}

/* Collects every transfer curl reports as done. */
static void multi_done(struct peers *p)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(p->multi, &left))) {
		struct transfer *t = NULL;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&t);
		if (t)
			transfer_finish(p, t, msg->data.result);
	}
}

static void sock_event_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct sock *s = container_of(w, struct sock, io);
	struct peers *p = s->p;
	int action = ((revents & EV_READ) ? CURL_CSELECT_IN : 0) |
	             ((revents & EV_WRITE) ? CURL_CSELECT_OUT : 0);
	int running;

	(void)loop;
	/* s may be freed by socket_cb inside this call: use only p afterwards. */
	curl_multi_socket_action(p->multi, w->fd, action, &running);
	multi_done(p);
}

static void timer_event_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct peers *p = container_of(w, struct peers, timer);
	int running;

	(void)loop;
	(void)revents;
	curl_multi_socket_action(p->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	multi_done(p);
}

/* CURLMOPT_TIMERFUNCTION: only (re)arms our timer; calling curl from here is not allowed. */
static int multi_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct peers *p = userp;

	(void)multi;
	ev_timer_stop(p->loop, &p->timer);
	if (timeout_ms >= 0) {
		ev_timer_set(&p->timer, (double)timeout_ms / 1000.0, 0.0);
		ev_timer_start(p->loop, &p->timer);
	}
	return 0;
}

/* CURLMOPT_SOCKETFUNCTION: start, change or stop watching one socket. */
static int multi_socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	struct peers *p = userp;
	struct sock *s = socketp;
	int events = 0;

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (s) {
			ev_io_stop(p->loop, &s->io);
			curl_multi_assign(p->multi, fd, NULL);
			free(s);
		}
		return 0;
	}
	if (!s) {
		s = calloc(1, sizeof(*s));
		if (!s)
			return -1; /* curl fails the transfer */
		s->p = p;
		ev_init(&s->io, sock_event_cb);
		curl_multi_assign(p->multi, fd, s);
	}
	if (what & CURL_POLL_IN)
		events |= EV_READ;
	if (what & CURL_POLL_OUT)
		events |= EV_WRITE;
	ev_io_stop(p->loop, &s->io);
	ev_io_set(&s->io, fd, events);
	ev_io_start(p->loop, &s->io);
	return 0;
}

/* Keeps at most PEERS_MAX_BODY bytes; anything more aborts the transfer (a peer's
 * /primary or /state is a few hundred bytes; more is a wrong or hostile server). */
static size_t write_cb(char *data, size_t size, size_t nmemb, void *userp)
{
	struct transfer *t = userp;
	struct peer_reply *r = t->reply;
	size_t len = size * nmemb;

	if (len > PEERS_MAX_BODY - r->body_len) {
		t->too_large = true;
		return 0;
	}
	memcpy(r->body + r->body_len, data, len);
	r->body_len += len;
	return len;
}

static void settings_from_config(struct peers_settings *s, const struct config *cfg)
{
	s->timeout_ms = cfg->peer_timeout_ms;
	s->connect_timeout_ms = cfg->peer_connect_timeout_ms;
	/* same sizes as in struct config: these always fit */
	util_copy_cut(s->ca_file, cfg->peer_ca_file, sizeof(s->ca_file));
	util_copy_cut(s->cert, cfg->peer_cert, sizeof(s->cert));
	util_copy_cut(s->key, cfg->peer_key, sizeof(s->key));
}

struct peers *peers_new(struct ev_loop *loop, const struct config *cfg)
{
	struct peers *p = calloc(1, sizeof(*p));
	const curl_version_info_data *v;

	if (!p)
		return NULL;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		free(p);
		return NULL;
	}
	p->multi = curl_multi_init();
	if (!p->multi)
		goto fail;
	p->loop = loop;
	settings_from_config(&p->set, cfg);
	ev_init(&p->timer, timer_event_cb);
	curl_multi_setopt(p->multi, CURLMOPT_SOCKETFUNCTION, multi_socket_cb);
	curl_multi_setopt(p->multi, CURLMOPT_SOCKETDATA, p);
	curl_multi_setopt(p->multi, CURLMOPT_TIMERFUNCTION, multi_timer_cb);
	curl_multi_setopt(p->multi, CURLMOPT_TIMERDATA, p);

	/* A libcurl built without an asynchronous resolver would block the loop on DNS. */
	v = curl_version_info(CURLVERSION_NOW);
	if (!(v->features & CURL_VERSION_ASYNCHDNS))
		log_msg(LOG_WARNING,
		        "libcurl %s resolves names synchronously: use IP addresses "
		        "in peer URLs",
		        v->version);
	return p;
fail:
	curl_global_cleanup();
	free(p);
	return NULL;
}

void peers_reconfigure(struct peers *p, const struct config *cfg)
{
	settings_from_config(&p->set, cfg);
}

void peers_free(struct peers *p)
{
	if (!p)
		return;
	while (!LIST_EMPTY(&p->batches)) {
		struct batch *b = LIST_FIRST(&p->batches);

		LIST_REMOVE(b, entry);
		batch_free(b);
	}
	ev_timer_stop(p->loop, &p->timer);
	curl_multi_cleanup(p->multi);
	curl_global_cleanup();
	free(p);
}

/* Prepares one easy handle; false with the reason in t->reply->error. */
static bool transfer_setup(struct peers *p, struct transfer *t, const char *base, const char *path)
{
	struct peer_reply *r = t->reply;
	char url[CONFIG_URL_MAX + 256];
	size_t blen = strlen(base);
	CURL *e;
	CURLcode rc = CURLE_OK;

	while (blen > 0 && base[blen - 1] == '/')
		blen--;
	if (blen == 0 ||
	    (size_t)snprintf(url, sizeof(url), "%.*s%s", (int)blen, base, path) >= sizeof(url)) {
		snprintf(r->error, sizeof(r->error), blen ? "URL too long" : "no URL");
		return false;
	}
	e = curl_easy_init();
	if (!e) {
		snprintf(r->error, sizeof(r->error), "curl_easy_init failed");
		return false;
	}
	t->easy = e;
#define SETOPT(opt, val)                                                                           \
	do {                                                                                       \
		if (rc == CURLE_OK)                                                                \
			rc = curl_easy_setopt(e, opt, val);                                        \
	} while (0)
	SETOPT(CURLOPT_URL, url);
	SETOPT(CURLOPT_PRIVATE, t);
	SETOPT(CURLOPT_ERRORBUFFER, t->errbuf);
	SETOPT(CURLOPT_WRITEFUNCTION, write_cb);
	SETOPT(CURLOPT_WRITEDATA, t);
	SETOPT(CURLOPT_NOSIGNAL, 1L);
	SETOPT(CURLOPT_CONNECTTIMEOUT_MS, (long)p->set.connect_timeout_ms);
	SETOPT(CURLOPT_TIMEOUT_MS, (long)p->set.timeout_ms);
	if (rc == CURLE_OK)
		rc = peers_curl_http_only(e);
	SETOPT(CURLOPT_USERAGENT, "primgr/" PACKAGE_VERSION);
	SETOPT(CURLOPT_MAXFILESIZE, (long)PEERS_MAX_BODY);
	if (p->set.ca_file[0])
		SETOPT(CURLOPT_CAINFO, p->set.ca_file);
	if (p->set.cert[0])
		SETOPT(CURLOPT_SSLCERT, p->set.cert);
	if (p->set.key[0])
		SETOPT(CURLOPT_SSLKEY, p->set.key);
#undef SETOPT
	if (rc != CURLE_OK) {
		snprintf(r->error, sizeof(r->error), "%s", curl_easy_strerror(rc));
		goto fail;
	}
	t->start_ms = util_now_ms();
	if (curl_multi_add_handle(p->multi, e) != CURLM_OK) {
		snprintf(r->error, sizeof(r->error), "curl_multi_add_handle failed");
		goto fail;
	}
	return true;
fail:
	curl_easy_cleanup(e);
	t->easy = NULL;
	return false;
}

bool peers_fetch(struct peers *p, const char *const *urls, size_t n, const char *path,
                 peers_done_cb cb, void *arg)
{
	struct batch *b = calloc(1, sizeof(*b));

	if (!b)
		return false;
	b->p = p;
	b->n = n;
	b->cb = cb;
	b->arg = arg;
	ev_timer_init(&b->kick, batch_kick_cb, 0.0, 0.0);
	if (n > 0) {
		b->replies = calloc(n, sizeof(*b->replies));
		b->xfers = calloc(n, sizeof(*b->xfers));
		if (!b->replies || !b->xfers) {
			free(b->replies);
			free(b->xfers);
			free(b);
			return false;
		}
	}
	LIST_INSERT_HEAD(&p->batches, b, entry);

	for (size_t i = 0; i < n; i++) {
		struct transfer *t = &b->xfers[i];

		t->b = b;
		t->reply = &b->replies[i];
		if (transfer_setup(p, t, urls[i] ? urls[i] : "", path))
			b->pending++;
	}
	/* Nothing started: complete from the loop, never from inside this call. */
	if (b->pending == 0)
		ev_timer_start(p->loop, &b->kick);
	return true;
}

CURLcode peers_curl_http_only(CURL *e)
{
	CURLcode rc = curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);

#if LIBCURL_VERSION_NUM >= 0x075500
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(e, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	return rc;
}

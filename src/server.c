/* server: listeners, accept, one struct conn per client with its state machine and timeout
 * timer, and the connection cap. Answers agent checks (agent.c) and HTTP (http.c) from the
 * snapshot; /realPrimary waits for realprimary.c. */
#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <fcntl.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent.h"
#include "http.h"
#include "log.h"
#include "http_stats.h"
#include "realprimary.h"
#include "server_stats.h"
#include "state.h"
#include "tls.h"

#define SERVER_BACKLOG 4096
#define SERVER_ACCEPT_PAUSE 0.1           /* s without accepting after EMFILE/ENFILE */
#define SERVER_OUT_MAX (16 * 1024 * 1024) /* largest response (/metrics, /cluster) */
#define SERVER_LINGER_MAX_MS 2000         /* wait for the client's FIN after our reply */
#define SERVER_LINGER_BYTES 65536         /* discard at most this much meanwhile */
#define SERVER_SPARE_FDS 64               /* listeners, database, peers, logs */
/* A new process holds every answer until its first complete round, at most this long
 * after start: below haproxy's "timeout check" (2s in haproxy/primgr.cfg) with room for
 * the check's connect. Past it, the answer is what the snapshot says (Unknown). */
#define SERVER_HOLD_MS 1500
#define SERVER_MAX_INHERITED 64           /* LISTEN_FDS descriptors taken */
#define SERVER_LISTEN_FDS_START 3         /* sd_listen_fds(3): SD_LISTEN_FDS_START */
#define SERVER_HOLD_POLL_MS 10            /* how often a held answer looks again */

struct listener {
	struct listener *next;
	ev_io io;
	int fd;
	bool agent;
	bool tls;                          /* an [http] tls_listen socket */
	enum role role;
	int index;                         /* entry in cfg->http_listen / agent_listen */
	uint16_t port;                     /* bound port */
	char name[300];
};

enum conn_state {
	CONN_AGENT_READ_SEND,              /* reading haproxy's agent-send line */
	CONN_AGENT_WRITE,                  /* writing the agent reply */
	CONN_HTTP_READ,                    /* reading a request head (or idle on keep-alive) */
	CONN_HTTP_WRITE,                   /* writing a response */
	CONN_HTTP_WAIT_REALPRIMARY,        /* waiting for the /realPrimary fan-out */
	CONN_LINGER,                       /* reply sent, write side shut, draining to EOF */
	CONN_AGENT_HOLD,                   /* agent reply waits for the first round */
	CONN_HTTP_HOLD,                    /* parsed request waits for the first round */
	CONN_TLS_HANDSHAKE,                /* TLS listener: handshake before any request */
};

struct conn {
	LIST_ENTRY(conn) entry;            /* in srv.conns */
	int fd;
	enum conn_state state;
	const struct listener *l;          /* accepted on */
	struct ssl_st *tls;                /* a TLS listener's session, else NULL */
	int tls_wait;                      /* EV_READ/EV_WRITE OpenSSL needs instead of ours */
	ev_io io;
	ev_timer timer;
	struct buf in;                     /* request bytes not yet answered, or agent line */
	struct buf out;                    /* the reply being sent */
	size_t out_off;
	size_t lingered;
	bool close_after;                  /* linger and close once out is sent */
	bool idle;                         /* keep-alive, waiting for a next request */
	bool head_only, keep_alive;        /* of the request being answered */
	bool peer_eof;                     /* client shut its write side */
	bool drained;                      /* the last recv emptied the socket's queue */
	bool quiet;                        /* nothing unread and nothing more expected */
	bool probe_quiet;                  /* fixed-role agent check: peek before closing */
	enum role hold_role;               /* CONN_AGENT_HOLD: the role to answer for */
	struct rp_waiter rp;               /* waiting for /realPrimary (realprimary_waiting) */
};

static struct {
	struct ev_loop *loop;
	struct config *cfg;                /* our own copy */
	struct listener *listeners;
	struct ssl_ctx_st *tls_ctx;        /* new TLS sessions start from it; NULL: no TLS */
	LIST_HEAD(, conn) conns;
	ev_timer accept_pause;
	bool accept_error_logged;
	int64_t hold_until_ms;             /* answers wait for the first round until then */
	int inherited[SERVER_MAX_INHERITED]; /* systemd's LISTEN_FDS; -1 once taken */
	int ninherited;
} srv;

static struct server_stats stats;

static void conn_io_cb(struct ev_loop *loop, ev_io *w, int revents);
static void conn_timer_cb(struct ev_loop *loop, ev_timer *w, int revents);
static void conn_http_process(struct conn *c);

/* ---- connection basics ---- */

static void conn_close(struct conn *c)
{
	ev_io_stop(srv.loop, &c->io);
	ev_timer_stop(srv.loop, &c->timer);
	realprimary_cancel(&c->rp);
	if (c->tls)
		tls_session_free(c->tls);
	close(c->fd);
	buf_free(&c->in);
	buf_free(&c->out);
	LIST_REMOVE(c, entry);
	stats.conns_current--;
	free(c);
}

static void conn_io(struct conn *c, int events)
{
	if (c->tls && events) {
		/* A read that must write first (or the reverse) waits for that alone: the
		 * callback of the state retries the same operation. */
		if (c->tls_wait)
			events = c->tls_wait;
		/* Bytes OpenSSL already decrypted make no socket event: read them now. */
		if ((events & EV_READ) && tls_pending(c->tls))
			ev_feed_event(srv.loop, &c->io, EV_READ);
	}
	if (ev_is_active(&c->io) && (c->io.events & (EV_READ | EV_WRITE)) == events)
		return;
	ev_io_stop(srv.loop, &c->io);
	if (events) {
		ev_io_set(&c->io, c->fd, events);
		ev_io_start(srv.loop, &c->io);
	}
}

static void conn_timer(struct conn *c, uint32_t ms)
{
	ev_timer_stop(srv.loop, &c->timer);
	ev_timer_set(&c->timer, ms / 1000.0, 0.);
	ev_timer_start(srv.loop, &c->timer);
}

/* No verdict before the first round: a fresh process has not probed its database nor
 * heard its peers, and its "starting" snapshot is Unknown. Held for at most
 * SERVER_HOLD_MS after start; true when c was put on hold in state st. */
static bool conn_hold(struct conn *c, enum conn_state st)
{
	if (state_has_round() || util_now_ms() >= srv.hold_until_ms)
		return false;
	c->state = st;
	conn_io(c, 0);
	conn_timer(c, SERVER_HOLD_POLL_MS);
	return true;
}

static bool errno_is_reset(int e)
{
	return e == EPIPE || e == ECONNRESET || e == ENOTCONN;
}

enum flush { FLUSH_DONE, FLUSH_WAIT, FLUSH_ERROR };

/* Sends what is left of out; never closes. */
static enum flush conn_flush(struct conn *c)
{
	while (c->tls && c->out_off < c->out.len) {
		size_t n;

		switch (tls_write(c->tls, c->out.data + c->out_off, c->out.len - c->out_off, &n)) {
		case TLS_IO_OK:
			c->tls_wait = 0;
			c->out_off += n;
			continue;
		case TLS_IO_WANT_WRITE:
			c->tls_wait = 0;
			return FLUSH_WAIT;
		case TLS_IO_WANT_READ:
			c->tls_wait = EV_READ;
			return FLUSH_WAIT;
		default:
			return FLUSH_ERROR;
		}
	}
	while (c->out_off < c->out.len) {
		ssize_t n = send(c->fd, c->out.data + c->out_off, c->out.len - c->out_off,
				 MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return FLUSH_WAIT;
			if (!errno_is_reset(errno))
				log_msg(LOG_DEBUG, "send: %s", strerror(errno));
			return FLUSH_ERROR;
		}
		c->out_off += (size_t)n;
	}
	return FLUSH_DONE;
}

/* A fixed-role agent check expects no bytes from the client (haproxy sends agent-send
 * only to /send listeners): one peek says whether any arrived anyway. Nothing yet, or
 * the client's FIN already (it read the reply and closed first), leaves nothing unread. */
static bool conn_rcvq_empty(int fd)
{
	char b;
	ssize_t n = recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);

	return n == 0 || (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
}

/* After the reply: shut our side and read to the client's EOF, so that unread request
 * bytes (an agent-send line, a body, pipelined requests) never make the kernel answer
 * with a RST that could destroy the reply before the client has read it. A quiet
 * connection has nothing unread and owes nothing more, so close() alone sends a FIN: that
 * saves the shutdown, the wait for the client's FIN and two epoll changes on every
 * agent check and every Connection: close request (bench/run.sh), as nginx does. */
static void conn_linger(struct conn *c)
{
	c->state = CONN_LINGER;
	if (c->probe_quiet)
		c->quiet = conn_rcvq_empty(c->fd);
	if (c->tls) {
		/* From here on the socket is only drained to the client's FIN. */
		tls_close_notify(c->tls);
		c->tls_wait = 0;
		tls_session_free(c->tls);
		c->tls = NULL;
	}
	if (c->quiet || c->peer_eof || shutdown(c->fd, SHUT_WR) < 0) {
		conn_close(c);
		return;
	}
	conn_timer(c, srv.cfg->client_timeout_ms < SERVER_LINGER_MAX_MS ? srv.cfg->client_timeout_ms
									: SERVER_LINGER_MAX_MS);
	conn_io(c, EV_READ);
}

/* Sends the queued reply. Returns true when the connection is ready to answer its next
 * (pipelined) request; false when it waits for the socket, lingers or was closed. */
static bool conn_write(struct conn *c)
{
	switch (conn_flush(c)) {
	case FLUSH_WAIT:
		conn_io(c, EV_WRITE);
		return false;
	case FLUSH_ERROR:
		conn_close(c);
		return false;
	case FLUSH_DONE:
		break;
	}
	buf_reset(&c->out);
	c->out_off = 0;
	if (c->close_after) {
		conn_linger(c);
		return false;
	}
	c->state = CONN_HTTP_READ;
	c->idle = c->in.len == 0;
	conn_timer(c, c->idle ? srv.cfg->idle_timeout_ms : srv.cfg->client_timeout_ms);
	conn_io(c, EV_READ);
	return !c->idle;
}

/* ---- agent-check ---- */

/* Counts one agent reply line by its effective word (maint, drain, up or down). */
static void count_agent(const char *line)
{
	const char *hash = strchr(line, '#');
	size_t n = hash ? (size_t)(hash - line) : strlen(line);

	/* The admin word wins: "down drain #db-down" is a drain answer. */
	if (memmem(line, n, "maint", 5))
		stats.agent_maint++;
	else if (memmem(line, n, "drain", 5))
		stats.agent_drain++;
	else if (strncmp(line, "up", 2) == 0)
		stats.agent_up++;
	else
		stats.agent_down++;
}

static void conn_agent_reply(struct conn *c, enum role r, bool parsed)
{
	char line[AGENT_MAX_LINE];
	size_t n;

	if (parsed && conn_hold(c, CONN_AGENT_HOLD)) {
		c->hold_role = r;
		return;
	}
	if (parsed) {
		int64_t now = util_now_ms();

		n = agent_format(state_current(), state_admin(),
				 state_admin_says_ready(srv.cfg, now), r, srv.cfg, now, line,
				 sizeof(line));
	}
	else
		n = (size_t)snprintf(line, sizeof(line), "%s", AGENT_BAD_REQUEST);
	count_agent(line);
	buf_reset(&c->out);
	if (!buf_append(&c->out, line, n)) {
		conn_close(c);
		return;
	}
	c->out_off = 0;
	c->close_after = true;
	c->state = CONN_AGENT_WRITE;
	conn_timer(c, srv.cfg->agent_timeout_ms);
	conn_write(c);
}

/* Answers the agent-send line read so far (at a newline, EOF, a full buffer or timeout). */
static void conn_agent_answer(struct conn *c)
{
	const char *nl = c->in.len ? memchr(c->in.data, '\n', c->in.len) : NULL;
	size_t len = nl ? (size_t)(nl - c->in.data) + 1 : c->in.len;
	enum role r = ROLE_PRIMARY;
	bool ok = len > 0 && agent_parse_role(c->in.data, len, &r);

	if (!ok)
		log_msg(LOG_DEBUG, "agent-send: unknown line of %zu bytes", len);
	c->quiet = nl && len == c->in.len && c->drained;
	conn_agent_reply(c, r, ok);
}

static void conn_agent_read(struct conn *c)
{
	char tmp[AGENT_MAX_LINE];
	size_t space = AGENT_MAX_LINE - c->in.len;
	ssize_t n = recv(c->fd, tmp, space, 0);

	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return;
		conn_close(c);
		return;
	}
	c->drained = (size_t)n < space;
	if (n == 0) {
		c->peer_eof = true;
		conn_agent_answer(c);
		return;
	}
	if (!buf_append(&c->in, tmp, (size_t)n)) {
		conn_close(c);
		return;
	}
	if (memchr(c->in.data, '\n', c->in.len) || c->in.len >= AGENT_MAX_LINE)
		conn_agent_answer(c);
}

/* ---- HTTP ---- */

static void conn_respond_error(struct conn *c, enum http_parse r)
{
	c->quiet = false;    /* the client may still be sending what we refused */
	buf_reset(&c->out);
	if (!http_respond_error(r, &c->out)) {
		conn_close(c);
		return;
	}
	c->close_after = true;
	c->state = CONN_HTTP_WRITE;
	conn_timer(c, srv.cfg->client_timeout_ms);
	conn_write(c);
}

/* Queues a /realPrimary answer; body is JSON. */
static bool conn_queue_realprimary(struct conn *c, int code, const char *body)
{
	bool keep = c->keep_alive && !c->peer_eof;

	http_count_response(EP_REALPRIMARY, code);
	buf_reset(&c->out);
	c->out_off = 0;
	c->close_after = !keep;
	c->state = CONN_HTTP_WRITE;
	conn_timer(c, srv.cfg->client_timeout_ms);
	return http_format_response(&c->out, code, "application/json", body, strlen(body),
				    c->head_only, keep, NULL);
}

static void conn_rp_cb(struct rp_waiter *w, const struct realprimary_result *r)
{
	struct conn *c = container_of(w, struct conn, rp);

	if (!conn_queue_realprimary(c, r->code, r->body ? r->body : "{}")) {
		conn_close(c);
		return;
	}
	/* Not from inside the fan-out's callback: a pipelined /realPrimary would join the
	 * waiter list while it is being walked. The next loop iteration handles it. */
	if (conn_write(c))
		ev_feed_event(srv.loop, &c->io, EV_CUSTOM);
}

/* client_timeout ran out first: a 503 without the fan-out's answer, and close. */
static void conn_rp_timeout(struct conn *c)
{
	c->keep_alive = false;
	stats.conns_timed_out++;
	realprimary_give_up(&c->rp); /* answers through conn_rp_cb */
}

/* Starts the /realPrimary wait; c must not be touched afterwards (the answer may come at
 * once). */
static void conn_wait_realprimary(struct conn *c)
{
	c->state = CONN_HTTP_WAIT_REALPRIMARY;
	/* Keep reading: a reset client is noticed (and its waiter cancelled) at once. */
	conn_io(c, EV_READ);
	conn_timer(c, srv.cfg->client_timeout_ms);
	c->rp.cb = conn_rp_cb;
	realprimary_wait(&c->rp);
}

/* Answers every whole request in the buffer, one at a time. */
static void conn_http_process(struct conn *c)
{
	for (;;) {
		const char *data = c->in.data ? c->in.data : "";
		struct http_request req;
		enum http_parse r = http_parse_request(data, c->in.len, &req);

		if (r == HTTP_PARSE_INCOMPLETE) {
			c->state = CONN_HTTP_READ;
			conn_io(c, EV_READ);
			return;
		}
		if (r != HTTP_PARSE_OK) {
			conn_respond_error(c, r);
			return;
		}
		if (conn_hold(c, CONN_HTTP_HOLD))
			return; /* parsed again when the hold ends */
		memmove(c->in.data, c->in.data + req.head_len, c->in.len - req.head_len);
		c->in.len -= req.head_len;
		c->in.data[c->in.len] = '\0';
		c->head_only = req.method != HTTP_GET; /* HEAD, OPTIONS: no body */
		c->keep_alive = req.keep_alive;
		c->close_after = !req.keep_alive;
		/* A short read that ended with this request: the client sent nothing after
		 * it, and a request without a body owes us nothing more. */
		c->quiet = !req.has_body && c->in.len == 0 && c->drained;
		c->idle = false;
		buf_reset(&c->out);
		c->out_off = 0;
		if (!http_respond(&req, srv.cfg, util_now_ms(), &c->out)) {
			conn_wait_realprimary(c);
			return;
		}
		c->state = CONN_HTTP_WRITE;
		conn_timer(c, srv.cfg->client_timeout_ms);
		if (!conn_write(c))
			return;
	}
}

/* conn_recv of a TLS connection: reads until OpenSSL wants the socket or in is full. */
static bool conn_recv_tls(struct conn *c, bool *eof)
{
	char tmp[4096];

	c->tls_wait = 0;
	for (;;) {
		size_t space = HTTP_MAX_HEAD - c->in.len, n;

		if (space == 0) {
			c->drained = !tls_pending(c->tls);
			return true;
		}
		switch (tls_read(c->tls, tmp, space < sizeof(tmp) ? space : sizeof(tmp), &n)) {
		case TLS_IO_OK:
			if (!buf_append(&c->in, tmp, n)) {
				conn_close(c);
				return false;
			}
			continue;
		case TLS_IO_WANT_WRITE:
			c->tls_wait = EV_WRITE;
			/* fall through */
		case TLS_IO_WANT_READ:
			c->drained = true;
			return true;
		case TLS_IO_EOF:
			*eof = true;
			return false;
		case TLS_IO_ERROR:
			break;
		}
		conn_close(c);
		return false;
	}
}

/* Reads into in; returns false when the connection was closed or hit EOF (*eof). */
static bool conn_recv(struct conn *c, bool *eof)
{
	char tmp[4096];
	size_t space = HTTP_MAX_HEAD - c->in.len;
	ssize_t n;

	*eof = false;
	if (c->tls)
		return conn_recv_tls(c, eof);
	if (space == 0)
		return true;
	if (space > sizeof(tmp))
		space = sizeof(tmp);
	n = recv(c->fd, tmp, space, 0);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return true;
		if (!errno_is_reset(errno))
			log_msg(LOG_DEBUG, "recv: %s", strerror(errno));
		conn_close(c);
		return false;
	}
	if (n == 0) {
		*eof = true;
		return false;
	}
	c->drained = (size_t)n < space;
	if (!buf_append(&c->in, tmp, (size_t)n)) {
		conn_close(c);
		return false;
	}
	return true;
}

static void conn_http_read(struct conn *c)
{
	bool eof;

	if (!conn_recv(c, &eof)) {
		if (eof)
			conn_close(c);
		return;
	}
	if (c->idle && c->in.len > 0) {
		/* A next request started: it gets client_timeout, not idle_timeout. */
		c->idle = false;
		conn_timer(c, srv.cfg->client_timeout_ms);
	}
	conn_http_process(c);
}

static void conn_wait_read(struct conn *c)
{
	bool eof;

	if (!conn_recv(c, &eof)) {
		if (eof) {
			/* A half-close still wants its answer: stop reading, keep waiting. */
			c->peer_eof = true;
			conn_io(c, 0);
		}
		return;
	}
	c->quiet = false;        /* pipelined bytes arrived meanwhile */
	if (c->in.len >= HTTP_MAX_HEAD)
		conn_io(c, 0);   /* pipelined bytes wait until this answer is sent */
}

static void conn_linger_read(struct conn *c)
{
	char tmp[4096];
	ssize_t n = recv(c->fd, tmp, sizeof(tmp), 0);

	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n <= 0) {
		conn_close(c);
		return;
	}
	c->lingered += (size_t)n;
	if (c->lingered > SERVER_LINGER_BYTES)
		conn_close(c);
}

/* One step of the handshake; once done the connection reads requests as any other. */
static void conn_tls_handshake(struct conn *c)
{
	char why[200];

	switch (tls_handshake(c->tls, why, sizeof(why))) {
	case TLS_IO_OK:
		c->state = CONN_HTTP_READ;
		conn_http_read(c); /* the first request may have come with the handshake */
		return;
	case TLS_IO_WANT_READ:
		conn_io(c, EV_READ);
		return;
	case TLS_IO_WANT_WRITE:
		conn_io(c, EV_WRITE);
		return;
	default:
		break;
	}
	stats.tls_handshake_failures++;
	log_msg(LOG_DEBUG, "TLS handshake on %s failed: %s", c->l->name, why);
	conn_close(c);
}

static void conn_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct conn *c = container_of(w, struct conn, io);

	if (revents & EV_CUSTOM) {
		if (c->state == CONN_HTTP_READ)
			conn_http_process(c);
		return;
	}
	switch (c->state) {
	case CONN_AGENT_READ_SEND:
		conn_agent_read(c);
		break;
	case CONN_AGENT_WRITE:
	case CONN_HTTP_WRITE:
		if (conn_write(c))
			conn_http_process(c);
		break;
	case CONN_HTTP_READ:
		conn_http_read(c);
		break;
	case CONN_HTTP_WAIT_REALPRIMARY:
		conn_wait_read(c);
		break;
	case CONN_LINGER:
		conn_linger_read(c);
		break;
	case CONN_TLS_HANDSHAKE:
		conn_tls_handshake(c);
		break;
	case CONN_AGENT_HOLD:
	case CONN_HTTP_HOLD:
		break;
	}
}

static void conn_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct conn *c = container_of(w, struct conn, timer);

	switch (c->state) {
	case CONN_AGENT_HOLD:
		conn_agent_reply(c, c->hold_role, true);
		return;
	case CONN_HTTP_HOLD:
		c->state = CONN_HTTP_READ;
		conn_http_process(c);
		return;
	case CONN_AGENT_READ_SEND:
		/* Silence would leave haproxy's last state in place: always answer. */
		stats.conns_timed_out++;
		conn_agent_answer(c);
		return;
	case CONN_HTTP_WAIT_REALPRIMARY:
		conn_rp_timeout(c);
		return;
	case CONN_HTTP_READ:
		if (!c->idle)
			stats.conns_timed_out++;
		break;
	case CONN_AGENT_WRITE:
	case CONN_HTTP_WRITE:
		stats.conns_timed_out++;
		break;
	case CONN_TLS_HANDSHAKE:
		stats.conns_timed_out++;
		stats.tls_handshake_failures++;
		log_msg(LOG_DEBUG, "TLS handshake on %s: client_timeout ran out", c->l->name);
		break;
	case CONN_LINGER:
		break;
	}
	conn_close(c);
}

static void conn_new(int fd, const struct listener *l)
{
	struct conn *c = calloc(1, sizeof(*c));

	if (!c) {
		close(fd);
		return;
	}
	c->fd = fd;
	c->l = l;
	ev_init(&c->io, conn_io_cb);
	ev_io_set(&c->io, fd, EV_READ);
	ev_init(&c->timer, conn_timer_cb);
	buf_init(&c->in, l->agent ? AGENT_MAX_LINE : HTTP_MAX_HEAD);
	buf_init(&c->out, SERVER_OUT_MAX);
	LIST_INSERT_HEAD(&srv.conns, c, entry);
	stats.conns_current++;
	stats.conns_accepted++;

	if (l->agent && l->role == ROLE_SEND) {
		c->state = CONN_AGENT_READ_SEND;
		conn_timer(c, srv.cfg->agent_timeout_ms);
		conn_io(c, EV_READ);
	} else if (l->agent) {
		c->probe_quiet = true;
		conn_agent_reply(c, l->role, true);
	} else if (l->tls) {
		/* The handshake counts against client_timeout, as the request would. */
		int one = 1;

		/* The handshake's last flight and the session ticket go out as separate writes:
		 * with Nagle the second waits for the client's delayed ACK (40 ms). */
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c->tls = tls_session_new(srv.tls_ctx, fd);
		if (!c->tls) {
			conn_close(c);
			return;
		}
		c->state = CONN_TLS_HANDSHAKE;
		conn_timer(c, srv.cfg->client_timeout_ms);
		conn_io(c, EV_READ);
	} else {
		c->state = CONN_HTTP_READ;
		conn_timer(c, srv.cfg->client_timeout_ms);
		conn_io(c, EV_READ);
	}
}

const struct server_stats *server_stats(void)
{
	return &stats;
}

/* ---- listeners ---- */

static void accept_pause_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	for (struct listener *l = srv.listeners; l; l = l->next)
		ev_io_start(srv.loop, &l->io);
}

/* Out of descriptors: stop accepting for a moment instead of spinning on a listener
 * that stays readable. */
static void accept_pause(int err)
{
	log_msg(srv.accept_error_logged ? LOG_DEBUG : LOG_WARNING,
		"accept: %s: pausing accepts for %.0f ms", strerror(err),
		SERVER_ACCEPT_PAUSE * 1000);
	srv.accept_error_logged = true;
	for (struct listener *l = srv.listeners; l; l = l->next)
		ev_io_stop(srv.loop, &l->io);
	ev_timer_set(&srv.accept_pause, SERVER_ACCEPT_PAUSE, 0.);
	ev_timer_start(srv.loop, &srv.accept_pause);
}

/* [http] allow: the client's address is in one of the blocks, or there are none. A
 * dual-stack socket gives IPv4 clients as ::ffff:a.b.c.d: they are matched as IPv4. */
static bool addr_allowed(const struct sockaddr_storage *ss, socklen_t len)
{
	int family = ss->ss_family;
	const uint8_t *a;

	if (srv.cfg->nallow == 0)
		return true;
	if (family == AF_INET && len >= sizeof(struct sockaddr_in)) {
		a = (const uint8_t *)&((const struct sockaddr_in *)ss)->sin_addr;
	} else if (family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
		const struct in6_addr *six = &((const struct sockaddr_in6 *)ss)->sin6_addr;

		a = six->s6_addr;
		if (IN6_IS_ADDR_V4MAPPED(six)) {
			family = AF_INET;
			a += 12;
		}
	} else {
		return false; /* not an IP client: no block can name it */
	}
	for (int i = 0; i < srv.cfg->nallow; i++)
		if (util_cidr_match(&srv.cfg->allow[i], family, a))
			return true;
	return false;
}

static void accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct listener *l = container_of(w, struct listener, io);

	for (;;) {
		struct sockaddr_storage ss;
		socklen_t sslen = sizeof(ss);
		int fd = accept4(l->fd, (struct sockaddr *)&ss, &sslen, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM) {
				accept_pause(errno);
				return;
			}
			log_msg(LOG_WARNING, "accept on %s: %s", l->name, strerror(errno));
			return;
		}
		srv.accept_error_logged = false;
		if (!l->agent && !addr_allowed(&ss, sslen)) {
			/* Closed before any byte is read. */
			stats.conns_denied++;
			close(fd);
			continue;
		}
		if (stats.conns_current >= srv.cfg->max_connections) {
			stats.conns_rejected++;
			close(fd);
			continue;
		}
		conn_new(fd, l);
	}
}

static uint16_t sockaddr_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return 0;
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

/* Opens one listening socket; returns the fd or -1 with errno set. */
static int listen_socket(const struct sockaddr *sa, socklen_t salen, bool dual_stack)
{
	int one = 1, v6only = dual_stack ? 0 : 1, saved;
	int backlog = SOMAXCONN > SERVER_BACKLOG ? SOMAXCONN : SERVER_BACKLOG;
	int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
		goto fail;
	if (sa->sa_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only)) < 0)
		goto fail;
	if (bind(fd, sa, salen) < 0 || listen(fd, backlog) < 0)
		goto fail;
	return fd;
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

/* ---- systemd socket activation (sd_listen_fds semantics, without libsystemd) ---- */

/* Takes the listening sockets systemd passed (LISTEN_PID is us, LISTEN_FDS of them from
 * fd 3) and unsets the variables so that no child inherits them. Connections that arrive
 * while primgr restarts wait in these sockets' accept queues instead of being refused. */
static bool inherit_sockets(char *err, size_t errlen)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
	char *end;
	long n, p;

	srv.ninherited = 0;
	if (!pid || !fds)
		return true;
	p = strtol(pid, &end, 10);
	if (*end || p != (long)getpid()) {
		unsetenv("LISTEN_PID"), unsetenv("LISTEN_FDS"), unsetenv("LISTEN_FDNAMES");
		return true; /* meant for another process */
	}
	n = strtol(fds, &end, 10);
	unsetenv("LISTEN_PID"), unsetenv("LISTEN_FDS"), unsetenv("LISTEN_FDNAMES");
	if (*end || n < 0 || n > SERVER_MAX_INHERITED) {
		snprintf(err, errlen, "LISTEN_FDS=%s: expected 0-%d descriptors", fds,
			 SERVER_MAX_INHERITED);
		return false;
	}
	for (int i = 0; i < n; i++) {
		int fd = SERVER_LISTEN_FDS_START + i, type = 0, acc = 0, fl;
		socklen_t len = sizeof(type);

		if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0 || type != SOCK_STREAM ||
		    (len = sizeof(acc), getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &len)) < 0 ||
		    !acc) {
			snprintf(err, errlen,
				 "LISTEN_FDS descriptor %d is not a listening stream socket", fd);
			return false;
		}
		fl = fcntl(fd, F_GETFL);
		if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ||
		    fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
			snprintf(err, errlen, "LISTEN_FDS descriptor %d: %s", fd, strerror(errno));
			return false;
		}
		srv.inherited[srv.ninherited++] = fd;
	}
	if (n > 0)
		log_msg(LOG_NOTICE, "socket activation: %ld listening socket(s) from systemd", n);
	return true;
}

static bool addr_is_any(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ((const struct sockaddr_in *)ss)->sin_addr.s_addr == htonl(INADDR_ANY);
	return ss->ss_family == AF_INET6 &&
	       IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)ss)->sin6_addr);
}

static uint16_t addr_port(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
	return ntohs(((const struct sockaddr_in *)ss)->sin_port);
}

/* Takes the inherited socket bound to sa ("*": any address, when sa is NULL, on port);
 * returns its fd or -1 when none is. */
static int inherited_take(const struct sockaddr *sa, uint16_t port)
{
	for (int i = 0; i < srv.ninherited; i++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		int fd = srv.inherited[i];
		bool match;

		if (fd < 0 || getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
			continue;
		if (!sa)
			match = addr_is_any(&ss) && addr_port(&ss) == port;
		else if (sa->sa_family == AF_INET && ss.ss_family == AF_INET)
			match = memcmp(&((const struct sockaddr_in *)sa)->sin_addr,
				       &((struct sockaddr_in *)&ss)->sin_addr,
				       sizeof(struct in_addr)) == 0 &&
				((const struct sockaddr_in *)sa)->sin_port ==
					((struct sockaddr_in *)&ss)->sin_port;
		else if (sa->sa_family == AF_INET6 && ss.ss_family == AF_INET6)
			match = memcmp(&((const struct sockaddr_in6 *)sa)->sin6_addr,
				       &((struct sockaddr_in6 *)&ss)->sin6_addr,
				       sizeof(struct in6_addr)) == 0 &&
				((const struct sockaddr_in6 *)sa)->sin6_port ==
					((struct sockaddr_in6 *)&ss)->sin6_port;
		else
			match = false;
		if (match) {
			srv.inherited[i] = -1;
			return fd;
		}
	}
	return -1;
}

/* Every inherited socket must be a configured address: one left over means the socket
 * unit and primgr.ini disagree, and checks sent to it would queue unanswered forever. */
static bool inherited_all_taken(char *err, size_t errlen)
{
	for (int i = 0; i < srv.ninherited; i++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		char host[INET6_ADDRSTRLEN] = "?";
		int fd = srv.inherited[i];

		if (fd < 0)
			continue;
		if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0)
			inet_ntop(ss.ss_family,
				  ss.ss_family == AF_INET6
					  ? (void *)&((struct sockaddr_in6 *)&ss)->sin6_addr
					  : (void *)&((struct sockaddr_in *)&ss)->sin_addr,
				  host, sizeof(host));
		snprintf(err, errlen,
			 "socket activation: descriptor %d (%s%s%s:%u) matches no [http] or [agent] "
			 "listen address of the configuration; make primgr.socket's ListenStream= "
			 "and primgr.ini agree",
			 fd, ss.ss_family == AF_INET6 ? "[" : "", host,
			 ss.ss_family == AF_INET6 ? "]" : "", addr_port(&ss));
		return false;
	}
	return true;
}

static void inherited_close(void)
{
	for (int i = 0; i < srv.ninherited; i++)
		if (srv.inherited[i] >= 0)
			close(srv.inherited[i]);
	srv.ninherited = 0;
}

static bool listener_add(int fd, const struct listen_addr *a, bool agent, bool tls, int index)
{
	struct listener *l = calloc(1, sizeof(*l));

	if (!l)
		return false;
	l->fd = fd;
	l->agent = agent;
	l->tls = tls;
	l->role = a->role;
	l->index = index;
	l->port = sockaddr_port(fd);
	config_format_listen(a, agent, l->name, sizeof(l->name));
	ev_io_init(&l->io, accept_cb, fd, EV_READ);
	/* Appended, so that the first socket of an entry is found first. */
	struct listener **tail = &srv.listeners;
	while (*tail)
		tail = &(*tail)->next;
	*tail = l;
	return true;
}

/* Opens every socket of one listen entry. */
static bool listen_entry(const struct listen_addr *a, bool agent, bool tls, int index,
			 char *err, size_t errlen)
{
	char name[300], port[8];
	struct addrinfo hints = { .ai_flags = AI_PASSIVE | AI_NUMERICSERV,
				  .ai_socktype = SOCK_STREAM };
	struct addrinfo *res = NULL;
	int fd, rc, opened = 0;

	config_format_listen(a, agent, name, sizeof(name));
	if (!a->host[0]) {
		/* "*": one dual-stack socket on ::, or 0.0.0.0 where IPv6 is off. */
		struct sockaddr_in6 six = { .sin6_family = AF_INET6, .sin6_addr = in6addr_any,
					    .sin6_port = htons(a->port) };
		struct sockaddr_in four = { .sin_family = AF_INET,
					    .sin_addr.s_addr = htonl(INADDR_ANY),
					    .sin_port = htons(a->port) };

		fd = inherited_take(NULL, a->port);
		if (fd < 0)
			fd = listen_socket((struct sockaddr *)&six, sizeof(six), true);
		if (fd < 0 && (errno == EAFNOSUPPORT || errno == EADDRNOTAVAIL))
			fd = listen_socket((struct sockaddr *)&four, sizeof(four), false);
		if (fd < 0 || !listener_add(fd, a, agent, tls, index)) {
			if (fd >= 0)
				close(fd);
			goto fail;
		}
		return true;
	}
	snprintf(port, sizeof(port), "%u", a->port);
	rc = getaddrinfo(a->host, port, &hints, &res);
	if (rc != 0) {
		snprintf(err, errlen, "listen %s: %s", name, gai_strerror(rc));
		return false;
	}
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		fd = inherited_take(ai->ai_addr, a->port);
		if (fd < 0)
			fd = listen_socket(ai->ai_addr, ai->ai_addrlen, false);
		if (fd < 0 || !listener_add(fd, a, agent, tls, index)) {
			if (fd >= 0)
				close(fd);
			freeaddrinfo(res);
			goto fail;
		}
		opened++;
	}
	freeaddrinfo(res);
	return opened > 0;
fail:
	snprintf(err, errlen, "listen %s: %s", name, strerror(errno ? errno : ENOMEM));
	return false;
}

/* Room for max_connections: raise the soft descriptor limit towards the hard one. */
static void server_raise_nofile(int max_connections)
{
	struct rlimit rl;
	rlim_t want = (rlim_t)max_connections + SERVER_SPARE_FDS;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= want)
		return;
	rl.rlim_cur = rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want ? rl.rlim_max : want;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		log_msg(LOG_WARNING, "cannot raise the open files limit to %llu: %s",
			(unsigned long long)rl.rlim_cur, strerror(errno));
	if (rl.rlim_cur < want)
		log_msg(LOG_WARNING,
			"open files limit %llu is below max_connections + %d: connections past it "
			"wait for accept to recover",
			(unsigned long long)rl.rlim_cur, SERVER_SPARE_FDS);
}

static void server_close_listeners(void)
{
	while (srv.listeners) {
		struct listener *l = srv.listeners;
		srv.listeners = l->next;
		ev_io_stop(srv.loop, &l->io);
		close(l->fd);
		free(l);
	}
}

bool server_start(struct ev_loop *loop, const struct config *cfg, char *err, size_t errlen)
{
	if (srv.cfg) {
		snprintf(err, errlen, "server already started");
		return false;
	}
	srv.cfg = malloc(sizeof(*srv.cfg));
	if (!srv.cfg) {
		snprintf(err, errlen, "out of memory");
		return false;
	}
	memcpy(srv.cfg, cfg, sizeof(*cfg));
	srv.loop = loop;
	srv.hold_until_ms = util_now_ms() + SERVER_HOLD_MS;
	ev_init(&srv.accept_pause, accept_pause_cb);
	server_raise_nofile(cfg->max_connections);
	if (cfg->ntls_listen > 0 && !(srv.tls_ctx = tls_context_new(cfg, err, errlen)))
		goto fail;
	if (!inherit_sockets(err, errlen))
		goto fail;
	for (int i = 0; i < cfg->nhttp_listen; i++)
		if (!listen_entry(&cfg->http_listen[i], false, false, i, err, errlen))
			goto fail;
	for (int i = 0; i < cfg->ntls_listen; i++)
		if (!listen_entry(&cfg->tls_listen[i], false, true, i, err, errlen))
			goto fail;
	for (int i = 0; i < cfg->nagent_listen; i++)
		if (!listen_entry(&cfg->agent_listen[i], true, false, i, err, errlen))
			goto fail;
	if (!inherited_all_taken(err, errlen))
		goto fail;
	for (struct listener *l = srv.listeners; l; l = l->next) {
		ev_io_start(loop, &l->io);
		log_msg(LOG_NOTICE, "listening on %s (%s, port %u)", l->name,
			l->agent ? "agent-check" : l->tls ? "https" : "http", l->port);
	}
	return true;
fail:
	server_close_listeners();
	inherited_close();
	tls_context_free(srv.tls_ctx);
	srv.tls_ctx = NULL;
	free(srv.cfg);
	srv.cfg = NULL;
	return false;
}

bool server_reload_tls(const struct config *cfg, char *err, size_t errlen)
{
	struct ssl_ctx_st *ctx;

	if (!srv.tls_ctx)
		return true;
	if (!cfg->tls_cert_file[0]) {
		/* tls_listen itself changes only at a restart */
		snprintf(err, errlen, "[http] tls_cert_file: empty, but the running tls_listen "
			 "serves until a restart and needs a certificate");
		return false;
	}
	ctx = tls_context_new(cfg, err, errlen);
	if (!ctx)
		return false;
	/* Connections already open keep the old context through their sessions. */
	tls_context_free(srv.tls_ctx);
	srv.tls_ctx = ctx;
	return true;
}

void server_reconfigure(const struct config *cfg)
{
	if (srv.cfg)
		memcpy(srv.cfg, cfg, sizeof(*cfg));
}

void server_stop(void)
{
	if (!srv.cfg)
		return;
	ev_timer_stop(srv.loop, &srv.accept_pause);
	server_close_listeners();
	while (!LIST_EMPTY(&srv.conns))
		conn_close(LIST_FIRST(&srv.conns));
	tls_context_free(srv.tls_ctx);
	srv.tls_ctx = NULL;
	free(srv.cfg);
	srv.cfg = NULL;
}

uint16_t server_local_port(bool agent, int index)
{
	for (struct listener *l = srv.listeners; l; l = l->next)
		if (l->agent == agent && !l->tls && l->index == index)
			return l->port;
	return 0;
}

uint16_t server_local_tls_port(int index)
{
	for (struct listener *l = srv.listeners; l; l = l->next)
		if (l->tls && l->index == index)
			return l->port;
	return 0;
}

/* pg: async libpq inside libev.
 *
 * A connection is a small state machine (CONNECTING -> IDLE -> QUERY -> IDLE ...) with one
 * ev_io on its socket and one ev_timer bounding the current step (connect, or send + read
 * of the probe) by db_timeout. On expiry the connection is dropped with PQfinish: a
 * PQcancel would block the loop on a hung server. Idle connections stay open (at most
 * pool_size) and are watched for EOF so a restarted server is noticed before the next
 * probe. A probe is one round trip: two statements in one simple-query message. Probes
 * run one at a time, so in practice one connection serves them all; pool_size is the
 * bound, not a target.
 *
 * Timeline: on a primary the first 8 hex digits of pg_walfile_name(pg_current_wal_lsn())
 * are the timeline WAL is written on now; pg_control_checkpoint().timeline_id lags after
 * a promotion until the next checkpoint. On a standby pg_walfile_name() is not allowed;
 * pg_stat_wal_receiver.received_tli is the timeline being streamed, falling back to the
 * last restartpoint's timeline when no walreceiver runs.
 *
 * Host names: libpq resolves a conninfo host that is a name with a blocking getaddrinfo()
 * inside PQconnectStart/PQconnectPoll, which would stall the loop for as long as DNS takes.
 * A connection whose host list holds names (and no hostaddr) is RESOLVING first: resolve.c
 * looks the names up in a thread, bounded by db_timeout like every step, and libpq gets the
 * addresses as hostaddr, one host entry per address (host stays for TLS and .pgpass). */
#include "pg.h"

#include <errno.h>
#include <libpq-fe.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "conninfo.h"
#include "log.h"
#include "resolve.h"
#include "util.h"

#define PG_MAX_NODES TOPOLOGY_MAX_NODES
_Static_assert(TOPOLOGY_MAX_NODES == 1024, "update the LIMIT in probe_sql");
#define PG_BACKOFF_BASE_MS 500

/* Statement 1 reads pg_is_in_recovery() once (MATERIALIZED) so that a promotion during
 * the statement cannot mix a standby's answer with a primary's. */
static const char probe_sql[] =
    "WITH r AS MATERIALIZED (SELECT pg_is_in_recovery() AS rec) "
    "SELECT r.rec, "
    "CASE WHEN r.rec THEN coalesce((SELECT received_tli FROM pg_stat_wal_receiver), "
    "(pg_control_checkpoint()).timeline_id) "
    "ELSE ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int END, "
    "(CASE WHEN r.rec THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END) "
    "- '0/0'::pg_lsn, "
    "CASE WHEN r.rec THEN pg_last_wal_receive_lsn() - '0/0'::pg_lsn END, "
    "CASE WHEN NOT r.rec THEN 0 "
    "WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0 "
    "ELSE (extract(epoch FROM now() - pg_last_xact_replay_timestamp()) * 1000)::bigint END, "
    "CASE WHEN r.rec THEN pg_last_wal_receive_lsn() - pg_last_wal_replay_lsn() ELSE 0 END, "
    "CASE WHEN r.rec THEN (SELECT coalesce(status, CASE WHEN pid IS NOT NULL THEN '?' END) "
    "FROM pg_stat_wal_receiver) END, "
    "CASE WHEN r.rec THEN (SELECT (extract(epoch FROM clock_timestamp() - last_msg_receipt_time) "
    "* 1000)::bigint FROM pg_stat_wal_receiver) END "
    "FROM r; "
    "SELECT node_id, node_name, type, active, upstream_node_id, location, priority, conninfo "
    "FROM repmgr.nodes ORDER BY node_id LIMIT 1025";

enum conn_state { CONN_RESOLVING, CONN_CONNECTING, CONN_IDLE, CONN_QUERY };

_Static_assert(CONNINFO_MAX_HOSTS <= RESOLVE_MAX_NAMES, "one lookup takes every host name");
_Static_assert(CONNINFO_MAX_ADDRS <= RESOLVE_MAX_ADDRS, "addresses per name");

struct pg_conn {
	LIST_ENTRY(pg_conn) entry; /* in pg->conns */
	struct pg *pg;
	PGconn *conn;
	enum conn_state state;
	ev_io io;
	ev_timer timer;   /* bounds the current step */
	const char *step; /* for "timeout after 2s while <step>" */
	bool flushing;    /* PQflush returned 1: wait for write */
	int nresults;
	unsigned gen; /* settings generation it was opened with */
	struct conninfo_hosts hosts; /* while RESOLVING */
};

struct pg {
	struct ev_loop *loop;
	char *conninfo;
	char conninfo_error[160]; /* conninfo_check's complaint, "" when valid */
	struct resolver *resolver;
	int pool_size;
	uint32_t db_timeout_ms, statement_timeout_ms, reconnect_max_ms;
	unsigned gen;

	LIST_HEAD(, pg_conn) conns;
	int nconns;

	int failures; /* consecutive failed connections/probes */
	uint32_t backoff_ms;
	int64_t retry_at_ms;
	char last_error[160];

	bool busy;              /* a probe runs or waits for delivery */
	struct pg_conn *active; /* the connection serving it */
	pg_probe_cb cb;
	void *cb_arg;
	struct pg_probe probe;
	ev_timer deliver; /* calls cb from the loop */

	struct pg_stats stats;
};

static void conn_io_cb(struct ev_loop *loop, ev_io *w, int revents);
static void conn_timer_cb(struct ev_loop *loop, ev_timer *w, int revents);
static void conn_start_query(struct pg_conn *c);

/* libpq's messages end in a newline and may continue with a hint line: keep the first. */
static void first_line(char *dst, size_t size, const char *msg)
{
	size_t n = strcspn(msg ? msg : "", "\n");

	if (n >= size)
		n = size - 1;
	memcpy(dst, msg ? msg : "", n);
	dst[n] = '\0';
	if (!dst[0])
		util_copy_cut(dst, "unknown error", size);
}

/* The server's message without the "ERROR:  " prefix. */
static void result_error(char *dst, size_t size, const PGresult *res)
{
	const char *primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);

	first_line(dst, size, primary && primary[0] ? primary : PQresultErrorMessage(res));
}

static void probe_deliver_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct pg *pg = container_of(w, struct pg, deliver);
	struct pg_probe result = pg->probe;
	pg_probe_cb cb = pg->cb;
	void *arg = pg->cb_arg;

	(void)loop;
	(void)revents;
	memset(&pg->probe, 0, sizeof(pg->probe));
	pg->busy = false;
	pg->active = NULL;
	pg->cb = NULL;
	if (!result.ok)
		pg->stats.probes_failed++;
	/* last: the callback may start the next probe or free pg */
	cb(&result, arg);
}

/* Ends the running probe; the callback runs from the loop on the next iteration. */
static void probe_finish(struct pg *pg)
{
	pg->active = NULL;
	ev_timer_set(&pg->deliver, 0.0, 0.0);
	ev_timer_start(pg->loop, &pg->deliver);
}

static void probe_fail(struct pg *pg, const char *msg)
{
	struct pg_probe *p = &pg->probe;

	free(p->nodes);
	memset(p, 0, sizeof(*p));
	util_copy_cut(p->error, msg, sizeof(p->error));
	probe_finish(pg);
}

static void backoff_note_failure(struct pg *pg, const char *msg)
{
	uint64_t b = PG_BACKOFF_BASE_MS;

	pg->failures++;
	for (int i = 1; i < pg->failures && b < pg->reconnect_max_ms; i++)
		b *= 2;
	if (b > pg->reconnect_max_ms)
		b = pg->reconnect_max_ms;
	pg->backoff_ms = (uint32_t)b;
	pg->retry_at_ms = util_now_ms() + (int64_t)b;
	pg->stats.backoff_ms = pg->backoff_ms;
	util_copy_cut(pg->last_error, msg, sizeof(pg->last_error));
}

static void backoff_reset(struct pg *pg)
{
	pg->failures = 0;
	pg->backoff_ms = 0;
	pg->retry_at_ms = 0;
	pg->stats.backoff_ms = 0;
}

static void conn_close(struct pg_conn *c)
{
	struct pg *pg = c->pg;

	if (c->state == CONN_RESOLVING)
		resolve_cancel(pg->resolver);
	conninfo_hosts_free(&c->hosts);
	ev_io_stop(pg->loop, &c->io);
	ev_timer_stop(pg->loop, &c->timer);
	if (c->conn)
		PQfinish(c->conn);
	LIST_REMOVE(c, entry);
	pg->nconns--;
	if (pg->active == c)
		pg->active = NULL;
	free(c);
}

/* A connection failed (error or timeout): close it, back off, fail its probe. */
static void conn_fail(struct pg_conn *c, const char *msg)
{
	struct pg *pg = c->pg;
	bool was_active = pg->active == c;
	bool connecting = c->state == CONN_CONNECTING || c->state == CONN_RESOLVING;
	char text[320], b[32];

	if (connecting)
		pg->stats.connects_failed++;
	pg->stats.closed++;
	backoff_note_failure(pg, msg);
	util_format_duration(pg->backoff_ms, b, sizeof(b));
	snprintf(text, sizeof(text), "%s (reconnect backoff %s)", msg, b);
	if (pg->failures == 1)
		log_msg(LOG_NOTICE, "database: %s", text);
	else
		log_msg(LOG_DEBUG, "database: %s", text);
	conn_close(c);
	if (was_active)
		probe_fail(pg, text);
}

/* Re-reads the socket (libpq may have replaced it) and watches it for events. */
static bool conn_watch(struct pg_conn *c, int events)
{
	struct pg *pg = c->pg;
	int fd = PQsocket(c->conn);

	ev_io_stop(pg->loop, &c->io);
	if (fd < 0)
		return false;
	/* ev_io_set also tells libev the fd may be a new one with an old number */
	ev_io_set(&c->io, fd, events);
	ev_io_start(pg->loop, &c->io);
	return true;
}

static void conn_step(struct pg_conn *c, const char *step)
{
	struct pg *pg = c->pg;

	c->step = step;
	ev_timer_stop(pg->loop, &c->timer);
	ev_timer_set(&c->timer, pg->db_timeout_ms / 1000.0, 0.0);
	ev_timer_start(pg->loop, &c->timer);
}

static void conn_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct pg_conn *c = container_of(w, struct pg_conn, timer);
	char msg[128], d[32];

	(void)loop;
	(void)revents;
	c->pg->stats.timeouts++;
	util_format_duration(c->pg->db_timeout_ms, d, sizeof(d));
	snprintf(msg, sizeof(msg), "timeout after %s while %s", d, c->step);
	conn_fail(c, msg);
}

/* Starts libpq on the conninfo plus application_name (unless the user set one) and
 * statement_timeout appended to options (conninfo_params_build). */
static PGconn *conn_start(struct pg *pg, const char *host, const char *hostaddr,
                          const char *port, char *err, size_t errlen)
{
	const struct conninfo_extra x = {
	    .host = host,
	    .hostaddr = hostaddr,
	    .port = port,
	    .application_name = "primgr",
	    .statement_timeout_ms = pg->statement_timeout_ms,
	};
	struct conninfo_params p;
	PGconn *conn;

	if (!conninfo_params_build(pg->conninfo, &x, &p, err, errlen))
		return NULL;
	conn = PQconnectStartParams(p.keys, p.vals, 0);
	if (!conn)
		util_copy_cut(err, "out of memory", errlen);
	conninfo_params_free(&p);
	return conn;
}

/* Server notices and errors that arrive outside a query (a shutdown's FATAL) would go
 * to stderr raw; log them instead. */
static void conn_notice_cb(void *arg, const PGresult *res)
{
	char msg[160];

	(void)arg;
	result_error(msg, sizeof(msg), res);
	log_msg(LOG_INFO, "database says: %s", msg);
}

/* Starts libpq on c (host, hostaddr and port replace the conninfo's when not NULL). */
static void conn_begin(struct pg_conn *c, const char *host, const char *hostaddr,
                       const char *port)
{
	struct pg *pg = c->pg;
	char err[160];

	c->state = CONN_CONNECTING;
	c->conn = conn_start(pg, host, hostaddr, port, err, sizeof(err));
	if (!c->conn) {
		conn_fail(c, err);
		return;
	}
	if (PQstatus(c->conn) == CONNECTION_BAD) {
		first_line(err, sizeof(err), PQerrorMessage(c->conn));
		conn_fail(c, err);
		return;
	}
	PQsetNoticeReceiver(c->conn, conn_notice_cb, NULL);
	conn_step(c, "connecting");
	/* after PQconnectStart, act as if PQconnectPoll had said PGRES_POLLING_WRITING */
	if (!conn_watch(c, EV_WRITE))
		conn_fail(c, "no socket after connection start");
}

/* The lookup of c's host names ended: one host entry per address for libpq. */
static void conn_resolved(const struct resolve_answer *answers, size_t n, void *arg)
{
	struct pg_conn *c = arg;
	struct conninfo_lookup found[CONNINFO_MAX_HOSTS];
	struct conninfo_addrs a;
	char err[160];

	if (n > ARRAY_SIZE(found))
		n = ARRAY_SIZE(found);
	for (size_t k = 0; k < n; k++) {
		found[k].naddrs = answers[k].naddrs;
		if (found[k].naddrs > CONNINFO_MAX_ADDRS)
			found[k].naddrs = CONNINFO_MAX_ADDRS;
		for (size_t j = 0; j < found[k].naddrs; j++)
			found[k].addr[j] = answers[k].addrs[j];
		found[k].error = answers[k].error;
	}
	if (!conninfo_hosts_expand(&c->hosts, found, n, &a, err, sizeof(err))) {
		conn_fail(c, err);
	} else {
		conninfo_hosts_free(&c->hosts);
		conn_begin(c, a.host.data, a.hostaddr.data, a.per_host_port ? a.port.data : NULL);
	}
	conninfo_addrs_free(&a);
}

/* Opens a new connection for the running probe. */
static void conn_open(struct pg *pg)
{
	struct pg_conn *c = calloc(1, sizeof(*c));
	char err[160];

	if (!c) {
		probe_fail(pg, "out of memory");
		return;
	}
	c->pg = pg;
	c->gen = pg->gen;
	c->state = CONN_CONNECTING;
	ev_init(&c->io, conn_io_cb);
	ev_init(&c->timer, conn_timer_cb);
	LIST_INSERT_HEAD(&pg->conns, c, entry);
	pg->nconns++;
	pg->active = c;

	if (!conninfo_hosts_split(pg->conninfo, &c->hosts)) {
		conn_begin(c, NULL, NULL, NULL);
		return;
	}
	c->state = CONN_RESOLVING;
	conn_step(c, "looking up the database host name");
	if (!pg->resolver)
		pg->resolver = resolver_new(pg->loop);
	if (!pg->resolver) {
		conn_fail(c, "out of memory");
		return;
	}
	if (!resolve_start(pg->resolver, c->hosts.names, c->hosts.nnames, conn_resolved, c, err,
	                   sizeof(err))) {
		c->state = CONN_CONNECTING; /* nothing to cancel */
		conn_fail(c, err);
	}
}

static void conn_go_idle(struct pg_conn *c)
{
	struct pg *pg = c->pg;

	c->state = CONN_IDLE;
	c->step = "idle";
	ev_timer_stop(pg->loop, &c->timer);
	/* settings changed while it was busy, or more open than allowed now */
	if (c->gen != pg->gen || pg->nconns > pg->pool_size) {
		conn_close(c);
		return;
	}
	/* watch for EOF or server messages while idle */
	if (!conn_watch(c, EV_READ))
		conn_close(c);
}

static void conn_connect_poll(struct pg_conn *c)
{
	struct pg *pg = c->pg;
	char err[160];

	switch (PQconnectPoll(c->conn)) {
	case PGRES_POLLING_READING:
		if (!conn_watch(c, EV_READ))
			conn_fail(c, "connection lost its socket");
		return;
	case PGRES_POLLING_WRITING:
		if (!conn_watch(c, EV_WRITE))
			conn_fail(c, "connection lost its socket");
		return;
	case PGRES_POLLING_OK:
		break;
	case PGRES_POLLING_FAILED:
	default:
		first_line(err, sizeof(err), PQerrorMessage(c->conn));
		conn_fail(c, err);
		return;
	}
	if (PQsetnonblocking(c->conn, 1) != 0) {
		first_line(err, sizeof(err), PQerrorMessage(c->conn));
		conn_fail(c, err);
		return;
	}
	pg->stats.connects++;
	if (pg->failures > 0)
		log_msg(LOG_NOTICE, "database: connected again after %d failure%s", pg->failures,
		        pg->failures == 1 ? "" : "s");
	backoff_reset(pg);
	if (pg->active == c) {
		conn_start_query(c);
	} else {
		conn_go_idle(c);
	}
}

static bool parse_u64(const char *s, uint64_t *out)
{
	char *end;

	errno = 0;
	*out = strtoull(s, &end, 10);
	return errno == 0 && end != s && *end == '\0' && s[0] != '-';
}

static bool parse_i64(const char *s, int64_t *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	*out = v;
	return errno == 0 && end != s && *end == '\0';
}

bool pg_parse_status_row(const char *const *f, int nfields, struct pg_probe *p)
{
	long tl;
	int64_t v;

	if (nfields != PG_STATUS_FIELDS || !f[0] || !f[1] || !f[2]) {
		util_copy_cut(p->error, "unexpected status row", sizeof(p->error));
		return false;
	}
	p->in_recovery = f[0][0] == 't';
	if (!util_parse_int(f[1], 0, INT32_MAX, &tl) || !parse_u64(f[2], &p->lsn)) {
		util_copy_cut(p->error, "unexpected timeline or LSN", sizeof(p->error));
		return false;
	}
	p->timeline = (int)tl;
	if (f[3] && !parse_u64(f[3], &p->receive_lsn)) {
		util_copy_cut(p->error, "unexpected receive LSN", sizeof(p->error));
		return false;
	}
	p->lag_known = f[4] && parse_i64(f[4], &v);
	p->lag_ms = p->lag_known && v > 0 ? v : 0;
	if (f[5] && parse_i64(f[5], &v))
		p->lag_bytes = v > 0 ? v : 0;
	/* The WAL receiver: "streaming", another state, or "?" when primgr's role may not see
	 * its details (not pg_read_all_stats): a receiver runs, so count it as streaming;
	 * the primary's LSN still shows whether it keeps up. NULL: no receiver. */
	if (f[6]) {
		p->receiver = true;
		p->streaming = strcmp(f[6], "streaming") == 0 || strcmp(f[6], "?") == 0;
		util_copy_cut(p->receiver_status, f[6], sizeof(p->receiver_status));
	}
	p->receipt_known = f[7] && parse_i64(f[7], &v);
	p->receipt_age_ms = p->receipt_known ? (v > 0 ? v : 0) : 0;
	p->ok = true;
	return true;
}

/* Statement 1: one row (rec, timeline, lsn, receive_lsn, lag_ms, lag_bytes, receiver
 * status, ms since the last message from upstream). */
static void probe_read_status(struct pg_probe *p, const PGresult *res)
{
	const char *f[PG_STATUS_FIELDS];
	int nf = PQnfields(res);

	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		result_error(p->error, sizeof(p->error), res);
		return;
	}
	if (PQntuples(res) != 1 || nf != PG_STATUS_FIELDS) {
		util_copy_cut(p->error, "unexpected status row", sizeof(p->error));
		return;
	}
	for (int i = 0; i < nf; i++)
		f[i] = PQgetisnull(res, 0, i) ? NULL : PQgetvalue(res, 0, i);
	if (!pg_parse_status_row(f, nf, p))
		p->ok = false; /* p->error says why */
}

/* Statement 2: the repmgr.nodes rows. Any bad row fails the whole list: dropping a
 * row would shrink the number of voters. */
static void probe_read_nodes(struct pg_probe *p, const PGresult *res)
{
	int rows = PQntuples(res);
	char err[120];

	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		result_error(p->nodes_error, sizeof(p->nodes_error), res);
		return;
	}
	if (PQnfields(res) != 8) {
		util_copy_cut(p->nodes_error, "repmgr.nodes: unexpected columns",
		         sizeof(p->nodes_error));
		return;
	}
	if (rows > PG_MAX_NODES) {
		snprintf(p->nodes_error, sizeof(p->nodes_error), "repmgr.nodes: more than %d rows",
		         PG_MAX_NODES);
		p->nodes_invalid = true;
		return;
	}
	p->nodes = calloc(rows > 0 ? (size_t)rows : 1, sizeof(*p->nodes));
	if (!p->nodes) {
		util_copy_cut(p->nodes_error, "out of memory", sizeof(p->nodes_error));
		return;
	}
	for (int r = 0; r < rows; r++) {
		const char *f[8];

		for (int i = 0; i < 8; i++)
			f[i] = PQgetisnull(res, r, i) ? NULL : PQgetvalue(res, r, i);
		if (!topology_node_from_row(f, &p->nodes[r], err, sizeof(err))) {
			snprintf(p->nodes_error, sizeof(p->nodes_error), "repmgr.nodes: %s", err);
			p->nodes_invalid = true;
			free(p->nodes);
			p->nodes = NULL;
			return;
		}
	}
	p->nnodes = (size_t)rows;
	p->nodes_ok = true;
}

static void conn_query_done(struct pg_conn *c)
{
	struct pg *pg = c->pg;
	struct pg_probe *p = &pg->probe;

	if (c->nresults == 0 && !p->error[0])
		util_copy_cut(p->error, "no result", sizeof(p->error));
	if (p->ok && c->nresults < 2 && !p->nodes_error[0])
		util_copy_cut(p->nodes_error, "repmgr.nodes: no result", sizeof(p->nodes_error));
	if (!p->ok) {
		/* the probe failed but the connection is fine: keep the error only */
		free(p->nodes);
		p->nodes = NULL;
		p->nnodes = 0;
		p->nodes_ok = false;
		p->nodes_invalid = false;
	}
	if (pg->active == c)
		probe_finish(pg);
	conn_go_idle(c);
}

/* Reads every result that is complete; false when the connection failed. */
static void conn_read_results(struct pg_conn *c)
{
	struct pg *pg = c->pg;
	PGresult *res;

	while (!PQisBusy(c->conn)) {
		res = PQgetResult(c->conn);
		if (!res) {
			conn_query_done(c);
			return;
		}
		c->nresults++;
		if (c->nresults == 1)
			probe_read_status(&pg->probe, res);
		else if (c->nresults == 2 && pg->probe.ok)
			probe_read_nodes(&pg->probe, res);
		PQclear(res);
	}
}

/* Sends what libpq still buffers; false when the connection failed (c is freed). */
static bool conn_flush(struct pg_conn *c)
{
	char err[160];
	int r = PQflush(c->conn);

	if (r < 0) {
		first_line(err, sizeof(err), PQerrorMessage(c->conn));
		conn_fail(c, err);
		return false;
	}
	c->flushing = r == 1;
	if (!c->flushing)
		c->step = "waiting for the result";
	/* while flushing, also read: the server may send before it reads everything */
	if (!conn_watch(c, c->flushing ? EV_READ | EV_WRITE : EV_READ)) {
		conn_fail(c, "connection lost its socket");
		return false;
	}
	return true;
}

static void conn_start_query(struct pg_conn *c)
{
	char err[160];

	c->state = CONN_QUERY;
	c->nresults = 0;
	conn_step(c, "sending the query");
	if (!PQsendQuery(c->conn, probe_sql)) {
		first_line(err, sizeof(err), PQerrorMessage(c->conn));
		conn_fail(c, err);
		return;
	}
	conn_flush(c); /* on failure c is gone */
}

/* An idle connection became readable: EOF (server restart, backend terminated) or a
 * notice. Drop it when it is dead so the next probe opens a fresh one. */
static void conn_idle_event(struct pg_conn *c)
{
	struct pg *pg = c->pg;
	PGnotify *n;
	PGresult *res;

	if (!PQconsumeInput(c->conn) || PQstatus(c->conn) != CONNECTION_OK) {
		char err[160];

		first_line(err, sizeof(err), PQerrorMessage(c->conn));
		log_msg(LOG_INFO, "database: idle connection closed: %s", err);
		pg->stats.closed++;
		conn_close(c);
		return;
	}
	while ((n = PQnotifies(c->conn)))
		PQfreemem(n);
	while (!PQisBusy(c->conn) && (res = PQgetResult(c->conn)))
		PQclear(res);
}

static void conn_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct pg_conn *c = container_of(w, struct pg_conn, io);
	char err[160];

	(void)loop;
	switch (c->state) {
	case CONN_RESOLVING:
		return; /* no socket yet */
	case CONN_CONNECTING:
		conn_connect_poll(c);
		return;
	case CONN_IDLE:
		conn_idle_event(c);
		return;
	case CONN_QUERY:
		break;
	}
	if ((revents & EV_READ) && !PQconsumeInput(c->conn)) {
		first_line(err, sizeof(err), PQerrorMessage(c->conn));
		conn_fail(c, err);
		return;
	}
	if (c->flushing && (!conn_flush(c) || c->flushing))
		return; /* failed (c is gone), or still sending */
	conn_read_results(c);
}

struct pg *pg_new(struct ev_loop *loop, const struct config *cfg, const char *conninfo)
{
	struct pg *pg = calloc(1, sizeof(*pg));
	char why[128];

	if (!pg)
		return NULL;
	pg->conninfo = strdup(conninfo ? conninfo : "");
	if (!pg->conninfo) {
		free(pg);
		return NULL;
	}
	pg->loop = loop;
	ev_init(&pg->deliver, probe_deliver_cb);
	pg_reconfigure(pg, cfg);
	/* check the conninfo once; a bad one fails every probe with the reason */
	if (!conninfo_check(pg->conninfo, why, sizeof(why)))
		snprintf(pg->conninfo_error, sizeof(pg->conninfo_error), "invalid conninfo: %s",
		         why);
	return pg;
}

void pg_reconfigure(struct pg *pg, const struct config *cfg)
{
	bool new_params = pg->statement_timeout_ms != cfg->statement_timeout_ms;

	pg->pool_size = cfg->pool_size > 0 ? cfg->pool_size : 1;
	pg->db_timeout_ms = cfg->db_timeout_ms ? cfg->db_timeout_ms : 2000;
	pg->statement_timeout_ms = cfg->statement_timeout_ms;
	pg->reconnect_max_ms = cfg->reconnect_max_ms ? cfg->reconnect_max_ms : PG_BACKOFF_BASE_MS;
	if (new_params) {
		struct pg_conn *c, *next;

		/* connections carry the old statement_timeout: replace them as they idle */
		pg->gen++;
		for (c = LIST_FIRST(&pg->conns); c; c = next) {
			next = LIST_NEXT(c, entry);
			if (c->state == CONN_IDLE)
				conn_close(c);
		}
	}
}

bool pg_probe(struct pg *pg, pg_probe_cb cb, void *arg)
{
	struct pg_conn *c, *next;
	int64_t now = util_now_ms();

	if (pg->busy)
		return false;
	pg->busy = true;
	pg->cb = cb;
	pg->cb_arg = arg;
	pg->stats.probes++;
	memset(&pg->probe, 0, sizeof(pg->probe));

	if (pg->conninfo_error[0]) {
		probe_fail(pg, pg->conninfo_error);
		return true;
	}
	for (c = LIST_FIRST(&pg->conns); c; c = next) {
		next = LIST_NEXT(c, entry);
		if (c->state != CONN_IDLE)
			continue;
		if (PQstatus(c->conn) != CONNECTION_OK) {
			pg->stats.closed++;
			conn_close(c);
			continue;
		}
		pg->active = c;
		conn_start_query(c);
		return true;
	}
	if (pg->nconns >= pg->pool_size) {
		char msg[96];

		snprintf(msg, sizeof(msg), "all %d database connections busy", pg->nconns);
		probe_fail(pg, msg);
		return true;
	}
	if (pg->failures > 0 && now < pg->retry_at_ms) {
		char msg[320], b[32], left[32];

		util_format_duration(pg->backoff_ms, b, sizeof(b));
		util_format_duration((uint32_t)(pg->retry_at_ms - now), left, sizeof(left));
		snprintf(msg, sizeof(msg), "%s (reconnect backoff %s, next attempt in %s)",
		         pg->last_error, b, left);
		probe_fail(pg, msg);
		return true;
	}
	conn_open(pg);
	return true;
}

void pg_free(struct pg *pg)
{
	if (!pg)
		return;
	ev_timer_stop(pg->loop, &pg->deliver);
	while (!LIST_EMPTY(&pg->conns))
		conn_close(LIST_FIRST(&pg->conns));
	resolver_free(pg->resolver);
	free(pg->probe.nodes);
	free(pg->conninfo);
	free(pg);
}

int pg_connections(const struct pg *pg)
{
	return pg->nconns;
}

void pg_get_stats(const struct pg *pg, struct pg_stats *out)
{
	*out = pg->stats;
}

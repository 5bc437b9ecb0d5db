/* server: real sockets against server_start in a forked child (its own libev loop and
 * process, as in the daemon), ports picked by the kernel at run time. The child takes
 * commands on a pipe (publish a verdict, set the admin state) and reports its ports and,
 * at exit, how many /realPrimary waiters realprimary.c answered and cancelled (its fan-out
 * faked: realprimary_fake); under ASan its exit status also says it leaked nothing.
 *
 * PRIMGR_TEST_SERVER_HOLD=N keeps a server running N seconds after the tests and prints
 * its ports (for curl/nc transcripts). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "agent.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "realprimary.h"
#include "server.h"
#include "state.h"
#include "helpers.h"
#include "selfsigned.h"
#include "t.h"

enum { HTTP4, HTTP_ANY, AGENT_PRIMARY, AGENT_REPLICA, AGENT_SEND, TLS4, NPORTS };

struct child {
	pid_t pid;
	int info_fd, cmd_fd;
	uint16_t port[NPORTS];
};

/* ---- the child: a server and a fake /realPrimary fan-out ---- */

static struct ev_loop *child_loop;
static ev_timer fake_timer;
static int child_info_fd;
static bool child_fresh;   /* the child starts with no snapshot: a fresh process */

static void fake_answer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	realprimary_deliver(200, "{\"realPrimary\":\"node2\",\"node_id\":2}", -1);
}

/* A fan-out that answers node2 after 200 ms. */
static void fake_ask(void)
{
	ev_timer_set(&fake_timer, 0.2, 0.);
	ev_timer_start(child_loop, &fake_timer);
}

static void child_publish(enum verdict v)
{
	struct snapshot *s = calloc(1, sizeof(*s));

	s->made_ms = util_now_ms();
	s->c.verdict = v;
	s->c.votes = v == VERDICT_PRIMARY ? 3 : 1;
	s->c.quorum = 2;
	s->c.voters = 3;
	snprintf(s->c.reason, sizeof(s->c.reason), "test verdict %s", consensus_verdict_name(v));
	s->db_up = v != VERDICT_DOWN;
	s->in_recovery = v == VERDICT_STANDBY;
	s->lag_known = true;
	s->timeline = 1;
	s->self_id = 1;
	snprintf(s->self_name, sizeof(s->self_name), "node1");
	s->c.primary_id = 1;
	snprintf(s->primary_name, sizeof(s->primary_name), "node1");
	state_publish(s);
}

static void child_cmd_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	char line[128];
	ssize_t n = read(w->fd, line, sizeof(line) - 1);
	enum admin_state a;

	if (n <= 0) {
		ev_break(loop, EVBREAK_ALL);
		return;
	}
	line[n] = '\0';
	line[strcspn(line, "\n")] = '\0';
	if (strncmp(line, "V ", 2) == 0) {
		for (int v = VERDICT_UNKNOWN; v <= VERDICT_PRIMARY; v++)
			if (strcmp(line + 2, consensus_verdict_name((enum verdict)v)) == 0)
				child_publish((enum verdict)v);
	} else if (strncmp(line, "A ", 2) == 0 && state_admin_parse(line + 2, &a)) {
		state_set_admin(a);
	}
	if (write(child_info_fd, "K\n", 2) != 2)
		ev_break(loop, EVBREAK_ALL);
}

static void child_term_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	ev_break(loop, EVBREAK_ALL);
}

/* The unit tests' configuration (helpers.h) with a snapshot that never goes stale, short
 * timeouts and kernel-picked ports. */
static void server_test_config(struct config *cfg)
{
	test_config(cfg);
	cfg->stale_after_ms = 3600000;
	cfg->max_connections = 10000;
	cfg->client_timeout_ms = 300;
	cfg->idle_timeout_ms = 1000;
	cfg->agent_timeout_ms = 300;
	memset(cfg->http_listen, 0, sizeof(cfg->http_listen));
	memset(cfg->agent_listen, 0, sizeof(cfg->agent_listen));
	snprintf(cfg->http_listen[0].host, sizeof(cfg->http_listen[0].host), "127.0.0.1");
	cfg->http_listen[1].host[0] = '\0';   /* "*:0" */
	cfg->nhttp_listen = 2;
	for (int i = 0; i < 3; i++) {
		snprintf(cfg->agent_listen[i].host, sizeof(cfg->agent_listen[i].host), "127.0.0.1");
		cfg->agent_listen[i].role = (enum role)i;
	}
	cfg->nagent_listen = 3;
}

static void child_main(const struct config *cfg, bool hook, int nofile, int info_fd, int cmd_fd)
{
	char err[256];
	ev_io cmd;
	ev_signal term;
	struct realprimary_counts counts;

	if (nofile > 0) {
		/* Soft and hard: server_start cannot raise it past this. */
		struct rlimit rl = { (rlim_t)nofile, (rlim_t)nofile };
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	child_info_fd = info_fd;
	signal(SIGPIPE, SIG_IGN);
	child_loop = ev_default_loop(0);
	log_open(LOG_TARGET_STDERR, LOG_WARNING, LOG_DAEMON);
	if (!child_fresh)
		child_publish(VERDICT_PRIMARY);
	http_set_metrics(metrics_format);
	if (!server_start(child_loop, cfg, err, sizeof(err))) {
		dprintf(info_fd, "E %s\n", err);
		exit(2);
	}
	if (hook)
		realprimary_fake(fake_ask);
	ev_init(&fake_timer, fake_answer_cb);
	dprintf(info_fd, "P %u %u %u %u %u %u\n", server_local_port(false, 0),
		server_local_port(false, 1), server_local_port(true, 0), server_local_port(true, 1),
		server_local_port(true, 2), server_local_tls_port(0));
	ev_io_init(&cmd, child_cmd_cb, cmd_fd, EV_READ);
	ev_io_start(child_loop, &cmd);
	ev_signal_init(&term, child_term_cb, SIGTERM);
	ev_signal_start(child_loop, &term);
	ev_run(child_loop, 0);
	server_stop();
	state_shutdown();
	ev_timer_stop(child_loop, &fake_timer);
	realprimary_counts(&counts);
	realprimary_stop();
	dprintf(info_fd, "S %d %d %d\n", (int)counts.answered, (int)counts.cancelled,
		(int)counts.waiting);
	exit(0);
}

/* Reads one line from the child's info pipe (bounded wait). */
static bool child_line(struct child *c, char *line, size_t size, int timeout_ms)
{
	size_t n = 0;
	struct pollfd p = { c->info_fd, POLLIN, 0 };

	while (n + 1 < size) {
		if (poll(&p, 1, timeout_ms) <= 0 || read(c->info_fd, line + n, 1) != 1)
			return false;
		if (line[n++] == '\n')
			break;
	}
	line[n] = '\0';
	return true;
}

static bool child_spawn_limited(struct child *c, const struct config *cfg, bool hook, int nofile)
{
	int info[2], cmd[2];
	char line[256];

	if (pipe(info) < 0 || pipe(cmd) < 0)
		return false;
	fflush(stdout);
	fflush(stderr);
	c->pid = fork();
	if (c->pid == 0) {
		close(info[0]);
		close(cmd[1]);
		child_main(cfg, hook, nofile, info[1], cmd[0]);
	}
	close(info[1]);
	close(cmd[0]);
	c->info_fd = info[0];
	c->cmd_fd = cmd[1];
	if (!child_line(c, line, sizeof(line), 5000) ||
	    sscanf(line, "P %hu %hu %hu %hu %hu %hu", &c->port[0], &c->port[1], &c->port[2],
		   &c->port[3], &c->port[4], &c->port[5]) != 6) {
		printf("# child did not start: %s", line);
		return false;
	}
	return true;
}

static bool child_spawn(struct child *c, const struct config *cfg, bool hook)
{
	return child_spawn_limited(c, cfg, hook, 0);
}

static bool child_cmd(struct child *c, const char *cmd)
{
	char line[64];

	return write(c->cmd_fd, cmd, strlen(cmd)) == (ssize_t)strlen(cmd) &&
	       child_line(c, line, sizeof(line), 2000) && strcmp(line, "K\n") == 0;
}

/* Stops the child; returns its exit status (0 = clean, no leak under ASan) and its
 * /realPrimary counters. */
static int child_stop(struct child *c, int *answered, int *cancelled, int *left)
{
	char line[128] = "";
	int status = -1;

	kill(c->pid, SIGTERM);
	if (!child_line(c, line, sizeof(line), 10000) ||
	    sscanf(line, "S %d %d %d", answered, cancelled, left) != 3)
		*answered = *cancelled = *left = -1;
	waitpid(c->pid, &status, 0);
	close(c->info_fd);
	close(c->cmd_fd);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* ---- the client side ---- */

static int tcp_connect_to(const char *host, uint16_t port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd;

	memset(&ss, 0, sizeof(ss));
	if (strchr(host, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		inet_pton(AF_INET6, host, &s6->sin6_addr);
		len = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		inet_pton(AF_INET, host, &s4->sin_addr);
		len = sizeof(*s4);
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&ss, len) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int tcp_connect(uint16_t port)
{
	return tcp_connect_to("127.0.0.1", port);
}

static bool send_str(int fd, const char *s)
{
	size_t n = strlen(s);
	return send(fd, s, n, MSG_NOSIGNAL) == (ssize_t)n;
}

/* Reads until EOF or timeout; returns the bytes read, *eof when the peer closed. */
static size_t read_until_eof(int fd, char *buf, size_t size, int timeout_ms, bool *eof)
{
	size_t n = 0;
	int64_t end = util_now_ms() + timeout_ms;

	*eof = false;
	while (n + 1 < size) {
		struct pollfd p = { fd, POLLIN, 0 };
		int64_t left = end - util_now_ms();
		ssize_t r;
		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			break;
		r = recv(fd, buf + n, size - n - 1, 0);
		if (r <= 0) {
			*eof = true;
			break;
		}
		n += (size_t)r;
	}
	buf[n] = '\0';
	return n;
}

/* A connection with a read buffer, for keep-alive and pipelining. */
struct client {
	int fd;
	char buf[65536];
	size_t len;
};

/* Reads one whole response (head and Content-Length body) into out. */
static bool read_response(struct client *c, bool head_only, int timeout_ms, char *out,
			  size_t size)
{
	int64_t end = util_now_ms() + timeout_ms;

	for (;;) {
		char *sep = memmem(c->buf, c->len, "\r\n\r\n", 4);
		if (sep) {
			const char *cl = strcasestr(c->buf, "Content-Length: ");
			size_t head = (size_t)(sep + 4 - c->buf), body = 0, total;
			if (cl && cl < sep && !head_only)
				body = strtoul(cl + 16, NULL, 10);
			total = head + body;
			if (c->len >= total) {
				snprintf(out, size, "%.*s", (int)total, c->buf);
				memmove(c->buf, c->buf + total, c->len - total);
				c->len -= total;
				return true;
			}
		}
		struct pollfd p = { c->fd, POLLIN, 0 };
		int64_t left = end - util_now_ms();
		ssize_t r;
		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			return false;
		r = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len - 1, 0);
		if (r <= 0)
			return false;
		c->len += (size_t)r;
		c->buf[c->len] = '\0';
	}
}

static int status_of(const char *resp)
{
	int code = 0;
	sscanf(resp, "HTTP/1.1 %d", &code);
	return code;
}

static const char *body_of(const char *resp)
{
	const char *sep = strstr(resp, "\r\n\r\n");
	return sep ? sep + 4 : "";
}

/* One request on a fresh connection, read to EOF. */
static int http_once(uint16_t port, const char *raw, char *out, size_t size)
{
	int fd = tcp_connect(port);
	bool eof;

	if (fd < 0)
		return -1;
	send_str(fd, raw);
	read_until_eof(fd, out, size, 3000, &eof);
	close(fd);
	return status_of(out);
}

/* The agent's line on a fresh connection (sending send first when not NULL). */
static void agent_once(uint16_t port, const char *send, char *out, size_t size)
{
	int fd = tcp_connect(port);
	bool eof;

	out[0] = '\0';
	if (fd < 0)
		return;
	if (send)
		send_str(fd, send);
	read_until_eof(fd, out, size, 3000, &eof);
	close(fd);
}

/* ---- the tests ---- */

static void test_agent(struct child *c)
{
	static const struct {
		const char *verdict, *admin;
		int port;
		const char *send, *want;
	} cases[] = {
		{ "Primary", "ready", AGENT_PRIMARY, NULL, "up\n" },
		{ "Primary", "ready", AGENT_REPLICA, NULL, "down #primary\n" },
		{ "Primary", "ready", AGENT_SEND, "primary\n", "up\n" },
		{ "Primary", "ready", AGENT_SEND, "replica\r\n", "down #primary\n" },
		{ "Primary", "ready", AGENT_SEND, "bogus\n", "down #bad-request\n" },
		{ "Primary", "ready", AGENT_PRIMARY, "replica\n", "up\n" },
		{ "Standby", "ready", AGENT_PRIMARY, NULL, "down #standby\n" },
		{ "Standby", "ready", AGENT_REPLICA, NULL, "up 100%\n" },
		{ "Standby", "ready", AGENT_SEND, "replica\n", "up 100%\n" },
		{ "Down", "ready", AGENT_PRIMARY, NULL, "down #db-down\n" },
		{ "Unknown", "ready", AGENT_REPLICA, NULL, "down #unknown\n" },
		{ "Primary", "drain", AGENT_PRIMARY, NULL, "drain\n" },
		{ "Primary", "maint", AGENT_SEND, "replica\n", "maint\n" },
	};
	char cmd[64], got[256], name[128];

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		snprintf(cmd, sizeof(cmd), "V %s\n", cases[i].verdict);
		child_cmd(c, cmd);
		snprintf(cmd, sizeof(cmd), "A %s\n", cases[i].admin);
		child_cmd(c, cmd);
		agent_once(c->port[cases[i].port], cases[i].send, got, sizeof(got));
		snprintf(name, sizeof(name), "agent socket: %s, admin %s, port %d, send %s",
			 cases[i].verdict, cases[i].admin, cases[i].port,
			 cases[i].send ? "yes" : "no");
		T_EQ_STR(got, cases[i].want, name);
	}
	child_cmd(c, "V Primary\n");
	child_cmd(c, "A ready\n"); /* leaves maint: replies say ready for ready_window */

	/* agent-send: a line without newline, then EOF: still answered */
	{
		int fd = tcp_connect(c->port[AGENT_SEND]);
		bool eof;
		send_str(fd, "primary");
		shutdown(fd, SHUT_WR);
		read_until_eof(fd, got, sizeof(got), 2000, &eof);
		close(fd);
		T_EQ_STR(got, "up ready\n", "agent-send without newline, then EOF (maint just left)");
	}
	/* agent-send: silence is answered at send_timeout, never left hanging */
	{
		int fd = tcp_connect(c->port[AGENT_SEND]);
		int64_t t0 = util_now_ms();
		bool eof;
		read_until_eof(fd, got, sizeof(got), 3000, &eof);
		close(fd);
		T_EQ_STR(got, "down #bad-request\n", "agent-send silence: bad-request");
		T_OK(util_now_ms() - t0 >= 250 && util_now_ms() - t0 < 1500,
		     "agent-send silence answered at send_timeout");
	}
	/* agent-send: an endless line is cut at AGENT_MAX_LINE */
	{
		char big[AGENT_MAX_LINE * 2];
		int fd = tcp_connect(c->port[AGENT_SEND]);
		bool eof;
		memset(big, 'p', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		send_str(fd, big);
		read_until_eof(fd, got, sizeof(got), 2000, &eof);
		close(fd);
		T_EQ_STR(got, "down #bad-request\n", "agent-send line too long: bad-request");
	}
	/* a client that resets at once does no harm */
	for (int i = 0; i < 20; i++) {
		int fd = tcp_connect(c->port[AGENT_PRIMARY]);
		struct linger lg = { 1, 0 };
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(fd);
	}
	agent_once(c->port[AGENT_PRIMARY], NULL, got, sizeof(got));
	T_EQ_STR(got, "up ready\n", "agent still answers after resets");
}

static void test_http_basics(struct child *c)
{
	char resp[65536];
	int code;

	code = http_once(c->port[HTTP4], "GET /state HTTP/1.1\r\nConnection: close\r\n\r\n", resp,
			 sizeof(resp));
	T_EQ_INT(code, 200, "/state over a socket: 200");
	T_OK(strncmp(body_of(resp), "{\"state\":\"Primary\",\"node_id\":1,\"node_name\":\"node1\"",
		     50) == 0,
	     "/state body");
	T_OK(strstr(resp, "Connection: close\r\n") != NULL, "Connection: close answered");

	code = http_once(c->port[HTTP4], "OPTIONS / HTTP/1.0\r\n\r\n", resp, sizeof(resp));
	T_OK(code == 200 && strstr(resp, "Allow: GET, HEAD, OPTIONS\r\n"),
	     "OPTIONS / HTTP/1.0 (haproxy httpchk): 200, closed");

	code = http_once(c->port[HTTP_ANY], "GET /health HTTP/1.0\r\n\r\n", resp, sizeof(resp));
	T_EQ_INT(code, 200, "the * listener answers on 127.0.0.1");
	{
		int fd = tcp_connect_to("::1", c->port[HTTP_ANY]);
		bool eof;
		if (fd < 0) {
			printf("ok %d # SKIP no IPv6 loopback\n", ++t_count);
		} else {
			send_str(fd, "GET /health HTTP/1.0\r\n\r\n");
			read_until_eof(fd, resp, sizeof(resp), 2000, &eof);
			close(fd);
			T_EQ_INT(status_of(resp), 200,
				 "the * listener answers on ::1 (dual stack)");
		}
	}

	code = http_once(c->port[HTTP4], "GARBAGE\r\n\r\n", resp, sizeof(resp));
	T_OK(code == 400 && strstr(resp, "Connection: close\r\n"), "garbage: 400 and close");
	code = http_once(c->port[HTTP4], "GET / HTTP/2.0\r\n\r\n", resp, sizeof(resp));
	T_EQ_INT(code, 505, "HTTP/2.0: 505");
	{
		char big[HTTP_MAX_HEAD + 200];
		int n = snprintf(big, sizeof(big), "GET /state HTTP/1.1\r\nX: ");
		memset(big + n, 'x', sizeof(big) - (size_t)n - 1);
		big[sizeof(big) - 1] = '\0';
		code = http_once(c->port[HTTP4], big, resp, sizeof(resp));
		T_EQ_INT(code, 431, "oversized head: 431");
	}
	code = http_once(c->port[HTTP4],
			 "POST /state HTTP/1.1\r\nContent-Length: 10\r\n\r\n0123456789", resp,
			 sizeof(resp));
	T_OK(code == 405 && strstr(resp, "Connection: close\r\n"), "POST with body: 405, close");

	code = http_once(c->port[HTTP4], "GET /metrics HTTP/1.0\r\n\r\n", resp, sizeof(resp));
	T_OK(code == 200 && strstr(resp, "primgr_agent_answers_total{answer=\"up\"}") &&
		     strstr(resp, "primgr_http_requests_total{endpoint=\"state\",code=\"200\"}"),
	     "/metrics counts agent answers and requests");
}

static void test_keepalive(struct child *c)
{
	struct client *cl = calloc(1, sizeof(*cl));
	char resp[8192];
	bool eof;
	int64_t t0;

	cl->fd = tcp_connect(c->port[HTTP4]);
	send_str(cl->fd, "GET /state HTTP/1.1\r\nHost: x\r\n\r\n");
	T_OK(read_response(cl, false, 2000, resp, sizeof(resp)) && status_of(resp) == 200 &&
		     strstr(resp, "Connection: keep-alive\r\n"),
	     "keep-alive: first request");
	send_str(cl->fd, "HEAD /health HTTP/1.1\r\nHost: x\r\n\r\n");
	T_OK(read_response(cl, true, 2000, resp, sizeof(resp)) && status_of(resp) == 200,
	     "keep-alive: second request on the same connection (HEAD)");
	send_str(cl->fd, "GET /health HTTP/1.1\r\n\r\nGET /state HTTP/1.1\r\n\r\nGET /primary "
			 "HTTP/1.1\r\nConnection: close\r\n\r\n");
	T_OK(read_response(cl, false, 2000, resp, sizeof(resp)) && status_of(resp) == 200 &&
		     strstr(resp, "{\"status\":\"ok\"}"),
	     "pipelined: first answer");
	T_OK(read_response(cl, false, 2000, resp, sizeof(resp)) &&
		     strstr(resp, "\"state\":\"Primary\""),
	     "pipelined: second answer");
	T_OK(read_response(cl, false, 2000, resp, sizeof(resp)) &&
		     strstr(resp, "{\"Primary\":\"node1\",\"node_id\":1,\"answered_by\":") &&
		     strstr(resp, "Connection: close\r\n"),
	     "pipelined: third answer, close");
	read_until_eof(cl->fd, resp, sizeof(resp), 2000, &eof);
	T_OK(eof, "closed after Connection: close");
	close(cl->fd);

	/* the idle keep-alive connection is closed at idle_timeout (1 s here) */
	cl->fd = tcp_connect(c->port[HTTP4]);
	cl->len = 0;
	send_str(cl->fd, "GET /health HTTP/1.1\r\n\r\n");
	read_response(cl, false, 2000, resp, sizeof(resp));
	t0 = util_now_ms();
	read_until_eof(cl->fd, resp, sizeof(resp), 3000, &eof);
	T_OK(eof && util_now_ms() - t0 >= 900 && util_now_ms() - t0 < 2000,
	     "idle keep-alive closed at idle_timeout");
	close(cl->fd);
	free(cl);
}

static void test_slowloris(struct child *c)
{
	char resp[1024];
	bool eof;
	int64_t t0 = util_now_ms();
	int fd = tcp_connect(c->port[HTTP4]);

	/* a byte every 50 ms never completes the head: cut at client_timeout (300 ms) */
	for (int i = 0; i < 40; i++) {
		if (!send_str(fd, "X"))
			break;
		struct pollfd p = { fd, POLLIN, 0 };
		if (poll(&p, 1, 50) > 0)
			break;
	}
	read_until_eof(fd, resp, sizeof(resp), 2000, &eof);
	T_OK(eof && resp[0] == '\0', "slowloris: closed without an answer");
	T_OK(util_now_ms() - t0 >= 250 && util_now_ms() - t0 < 1000,
	     "slowloris: cut at client_timeout, not extended by trickling bytes");
	close(fd);

	/* a connection that says nothing is cut too */
	t0 = util_now_ms();
	fd = tcp_connect(c->port[HTTP4]);
	read_until_eof(fd, resp, sizeof(resp), 2000, &eof);
	T_OK(eof && util_now_ms() - t0 < 1000, "silent connection: cut at client_timeout");
	close(fd);
}

static void test_realprimary(struct child *c)
{
	struct client *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
	char resp[8192];
	struct pollfd p;
	int64_t t0 = util_now_ms();

	a->fd = tcp_connect(c->port[HTTP4]);
	b->fd = tcp_connect(c->port[HTTP4]);
	send_str(a->fd, "GET /realPrimary HTTP/1.1\r\n\r\nGET /state HTTP/1.1\r\n\r\n");
	send_str(b->fd, "HEAD /realPrimary HTTP/1.0\r\n\r\n");
	p = (struct pollfd){ a->fd, POLLIN, 0 };
	T_EQ_INT(poll(&p, 1, 100), 0, "/realPrimary: pending while the fan-out runs");
	T_OK(read_response(a, false, 2000, resp, sizeof(resp)) && status_of(resp) == 200 &&
		     strcmp(body_of(resp), "{\"realPrimary\":\"node2\",\"node_id\":2}") == 0,
	     "/realPrimary: answered by the fan-out");
	T_OK(util_now_ms() - t0 >= 150, "/realPrimary: after the fan-out's 200 ms");
	T_OK(read_response(a, false, 2000, resp, sizeof(resp)) && status_of(resp) == 200 &&
		     strstr(resp, "\"state\":\"Primary\""),
	     "/realPrimary: the pipelined request after it is answered too");
	T_OK(read_response(b, true, 2000, resp, sizeof(resp)) && status_of(resp) == 200 &&
		     strstr(resp, "Connection: close\r\n") && *body_of(resp) == '\0',
	     "HEAD /realPrimary on HTTP/1.0: head only, close");
	close(a->fd);
	close(b->fd);

	/* clients that go away while pending: FIN, and RST */
	for (int i = 0; i < 5; i++) {
		int fd = tcp_connect(c->port[HTTP4]);
		send_str(fd, "GET /realPrimary HTTP/1.1\r\n\r\n");
		if (i % 2) {
			struct linger lg = { 1, 0 };
			setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		}
		usleep(20000);
		close(fd);
	}
	usleep(400000);
	T_EQ_INT(http_once(c->port[HTTP4], "GET /health HTTP/1.0\r\n\r\n", resp, sizeof(resp)),
		 200, "server fine after clients left while pending");
	free(a);
	free(b);
}

static void test_cap(void)
{
	struct config cfg;
	struct child c;
	int fds[5], fd, answered, cancelled, left;
	char resp[8192];
	bool eof;
	int64_t t0;

	server_test_config(&cfg);
	cfg.max_connections = 5;
	cfg.client_timeout_ms = 10000;
	if (!child_spawn(&c, &cfg, false)) {
		T_OK(false, "cap server starts");
		return;
	}
	for (int i = 0; i < 5; i++)
		fds[i] = tcp_connect(c.port[HTTP4]);
	usleep(100000);
	t0 = util_now_ms();
	fd = tcp_connect(c.port[HTTP4]);
	send_str(fd, "GET /state HTTP/1.0\r\n\r\n");
	read_until_eof(fd, resp, sizeof(resp), 2000, &eof);
	T_OK(eof && resp[0] == '\0' && util_now_ms() - t0 < 200,
	     "over max_connections: closed at once");
	close(fd);
	/* Hang up the 5 and wait until the server has closed its side of each (not a fixed
	 * moment): only then is there room under the cap for the next one. */
	left = 0;
	for (int i = 0; i < 5; i++) {
		shutdown(fds[i], SHUT_WR);
		read_until_eof(fds[i], resp, sizeof(resp), 5000, &eof);
		left += !eof;
		close(fds[i]);
	}
	if (left)
		printf("#   %d of the 5 connections not closed by the server within 5 s\n", left);
	T_EQ_INT(http_once(c.port[HTTP4], "GET /metrics HTTP/1.0\r\n\r\n", resp, sizeof(resp)), 200,
		 "under the cap again: answered");
	T_OK(strstr(resp, "primgr_connections_rejected_total 1\n") != NULL,
	     "the rejected connection is counted");
	T_EQ_INT(http_once(c.port[HTTP4], "GET /realPrimary HTTP/1.0\r\n\r\n", resp, sizeof(resp)),
		 503, "/realPrimary without a fan-out hook: 503");
	T_OK(strstr(body_of(resp), "\"realPrimary\":null") != NULL, "503 body names no primary");
	T_EQ_INT(child_stop(&c, &answered, &cancelled, &left), 0, "cap server exits cleanly");
}

static void test_many_idle(void)
{
	enum { IDLE = 2000 };
	struct config cfg;
	struct child c;
	struct rlimit rl;
	static int fds[IDLE];
	int opened = 0, answered, cancelled, left;
	char resp[8192];
	int64_t t0, agent_ms, state_ms;

	getrlimit(RLIMIT_NOFILE, &rl);
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < IDLE + 100) {
		printf("ok %d # SKIP open files hard limit %llu < %d\n", ++t_count,
		       (unsigned long long)rl.rlim_max, IDLE + 100);
		return;
	}
	if (rl.rlim_cur < IDLE + 100) {
		rl.rlim_cur = IDLE + 100;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	server_test_config(&cfg);
	cfg.client_timeout_ms = 30000;
	cfg.idle_timeout_ms = 30000;
	if (!child_spawn(&c, &cfg, false)) {
		T_OK(false, "idle server starts");
		return;
	}
	/* Half never send anything, half are keep-alive idle after one request. */
	for (int i = 0; i < IDLE; i++) {
		fds[i] = tcp_connect(c.port[HTTP4]);
		if (fds[i] < 0)
			break;
		opened++;
		if (i % 2 && send_str(fds[i], "GET /health HTTP/1.1\r\n\r\n")) {
			struct client cl = { .fd = fds[i] };
			read_response(&cl, false, 2000, resp, sizeof(resp));
		}
	}
	T_EQ_INT(opened, IDLE, "2000 idle connections open");
	usleep(100000);

	t0 = util_now_ms();
	agent_once(c.port[AGENT_PRIMARY], NULL, resp, sizeof(resp));
	agent_ms = util_now_ms() - t0;
	T_EQ_STR(resp, "up\n", "agent answer with 2000 idle connections");
	T_OK(agent_ms < 50, "agent answer in under 50 ms");
	printf("#   agent answer took %lld ms\n", (long long)agent_ms);

	t0 = util_now_ms();
	http_once(c.port[HTTP4], "GET /state HTTP/1.1\r\nConnection: close\r\n\r\n", resp,
		  sizeof(resp));
	state_ms = util_now_ms() - t0;
	T_EQ_INT(status_of(resp), 200, "/state answer with 2000 idle connections");
	T_OK(state_ms < 50, "/state answer in under 50 ms");
	printf("#   /state answer took %lld ms\n", (long long)state_ms);

	T_EQ_INT(http_once(c.port[HTTP4], "GET /metrics HTTP/1.0\r\n\r\n", resp, sizeof(resp)), 200,
		 "/metrics with 2000 idle connections");
	T_OK(strstr(resp, "primgr_connections 2001\n") != NULL, "2000 idle + this one counted");

	for (int i = 0; i < opened; i++)
		close(fds[i]);
	T_EQ_INT(child_stop(&c, &answered, &cancelled, &left), 0,
		 "idle server closes 2000 connections and exits cleanly");
}

/* CPU time (user + system, in clock ticks) the process has used. */
static long cpu_ticks(pid_t pid)
{
	char path[64], stat[1024], *p;
	unsigned long ut = 0, st = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (!fgets(stat, sizeof(stat), f)) {
		fclose(f);
		return -1;
	}
	fclose(f);
	p = strrchr(stat, ')');
	/* after ")": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt,
	 * then utime stime */
	if (!p ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
		return -1;
	return (long)(ut + st);
}

/* Out of descriptors: the server pauses accepting instead of spinning, and recovers. */
static void test_emfile(void)
{
	enum { CONNS = 60 };
	struct config cfg;
	struct child c;
	int fds[CONNS], answered, cancelled, left;
	long before, after;
	char resp[8192];

	server_test_config(&cfg);
	cfg.client_timeout_ms = 20000;
	if (!child_spawn_limited(&c, &cfg, false, 32)) {
		T_OK(false, "EMFILE server starts");
		return;
	}
	for (int i = 0; i < CONNS; i++)
		fds[i] = tcp_connect(c.port[HTTP4]);
	usleep(200000);
	before = cpu_ticks(c.pid);
	usleep(1000000);
	after = cpu_ticks(c.pid);
	T_OK(before >= 0 && after - before < 20, "EMFILE: no busy loop while out of descriptors");
	printf("#   %ld ticks of CPU in 1 s at EMFILE\n", after - before);
	for (int i = 0; i < CONNS; i++)
		close(fds[i]);
	/* the server works through the closed connections first: ask until it answers (10 s) */
	{
		int code = 0;
		int64_t t0 = util_now_ms();

		while ((code = http_once(c.port[HTTP4], "GET /health HTTP/1.0\r\n\r\n", resp,
					 sizeof(resp))) != 200 &&
		       util_now_ms() - t0 < 10000)
			usleep(100000);
		T_EQ_INT(code, 200, "EMFILE: accepts again once descriptors are free");
		printf("#   answered %lld ms after the descriptors were freed\n",
		       (long long)(util_now_ms() - t0));
	}
	T_EQ_INT(child_stop(&c, &answered, &cancelled, &left), 0, "EMFILE server exits cleanly");
}

/* No verdict before the first round: a fresh server holds its answers until the first
 * snapshot (then answers from it at once), or for at most 1.5 s (then Unknown). */
static void test_first_round(void)
{
	struct config cfg;
	struct child c;
	char got[512];
	int64_t t0, ms;
	int answered, cancelled, left, afd, hfd;
	bool eof;

	server_test_config(&cfg);
	child_fresh = true;
	if (!child_spawn(&c, &cfg, false)) {
		child_fresh = false;
		T_OK(false, "fresh server starts");
		return;
	}
	child_fresh = false;
	afd = tcp_connect(c.port[AGENT_PRIMARY]);
	hfd = tcp_connect(c.port[HTTP4]);
	send_str(hfd, "GET /state HTTP/1.0\r\n\r\n");
	read_until_eof(afd, got, sizeof(got), 300, &eof);
	T_OK(!eof && got[0] == '\0', "fresh server: agent check held (no Unknown before the first round)");
	t0 = util_now_ms();
	T_OK(child_cmd(&c, "V Primary\n"), "first round publishes");
	read_until_eof(afd, got, sizeof(got), 1000, &eof);
	ms = util_now_ms() - t0;
	T_EQ_STR(got, "up\n", "held agent check answered from the first round");
	T_OK(ms < 500, "... at once");
	read_until_eof(hfd, got, sizeof(got), 1000, &eof);
	T_EQ_INT(status_of(got), 200, "held /state answered 200 from the first round");
	close(afd);
	close(hfd);
	T_EQ_INT(child_stop(&c, &answered, &cancelled, &left), 0, "fresh server exits cleanly");

	child_fresh = true;
	if (!child_spawn(&c, &cfg, false)) {
		child_fresh = false;
		T_OK(false, "fresh server starts (no round)");
		return;
	}
	child_fresh = false;
	t0 = util_now_ms();
	agent_once(c.port[AGENT_PRIMARY], NULL, got, sizeof(got));
	ms = util_now_ms() - t0;
	T_EQ_STR(got, "down #unknown\n", "no first round within the hold: Unknown, as before");
	T_OK(ms >= 1000 && ms < 1900, "... after the hold bound (1.5 s from start)");
	printf("#   answered after %lld ms\n", (long long)ms);
	T_OK(http_once(c.port[HTTP4], "GET /state HTTP/1.0\r\n\r\n", got, sizeof(got)) >= 500,
	     "after the hold: /state answers Unknown (5xx) at once");
	T_EQ_INT(child_stop(&c, &answered, &cancelled, &left), 0, "fresh server exits cleanly (2)");
}

static void hold_for_transcripts(void)
{
	const char *hold = getenv("PRIMGR_TEST_SERVER_HOLD");
	struct config cfg;
	struct child c;
	int answered, cancelled, left;

	if (!hold || atoi(hold) <= 0)
		return;
	server_test_config(&cfg);
	cfg.client_timeout_ms = 5000;
	if (!child_spawn(&c, &cfg, true))
		return;
	printf("# holding: http %u, agent primary %u replica %u send %u, for %s s\n",
	       c.port[HTTP4], c.port[AGENT_PRIMARY], c.port[AGENT_REPLICA], c.port[AGENT_SEND],
	       hold);
	fflush(stdout);
	sleep((unsigned)atoi(hold));
	if (child_stop(&c, &answered, &cancelled, &left) != 0)
		printf("# hold server did not exit cleanly\n");
}

/* ---- TLS listeners and the allowlist ---- */

/* A blocking TLS client on port: with cert/key when given. NULL when the handshake failed
 * (*fdp keeps the socket, for the caller to read what the server did). */
static SSL *tls_client(SSL_CTX *ctx, uint16_t port, int *fdp)
{
	int fd = tcp_connect(port);
	SSL *ssl = fd >= 0 ? SSL_new(ctx) : NULL;

	*fdp = fd;
	if (!ssl)
		return NULL;
	SSL_set_fd(ssl, fd);
	if (SSL_connect(ssl) != 1) {
		SSL_free(ssl);
		ERR_clear_error();
		return NULL;
	}
	return ssl;
}

/* Sends req and reads until the server's close_notify, EOF or timeout; returns the bytes. */
static size_t tls_exchange(SSL *ssl, const char *req, char *out, size_t size)
{
	size_t n = 0, got;
	struct timeval tv = { 2, 0 };

	setsockopt(SSL_get_fd(ssl), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (SSL_write(ssl, req, (int)strlen(req)) <= 0)
		return 0;
	while (n + 1 < size && SSL_read_ex(ssl, out + n, size - n - 1, &got) == 1)
		n += got;
	out[n] = '\0';
	ERR_clear_error();
	return n;
}

static void test_tls(void)
{
	char cert[] = "/tmp/test_server_cert.XXXXXX", key[] = "/tmp/test_server_key.XXXXXX";
	char ocert[] = "/tmp/test_server_ocert.XXXXXX", okey[] = "/tmp/test_server_okey.XXXXXX";
	struct config cfg;
	struct child c;
	SSL_CTX *good = NULL, *bare = NULL, *other = NULL;
	SSL *ssl;
	char resp[16384];
	bool eof;
	int fd, answered, cancelled, left;
	int64_t t0;

	if (!T_OK(selfsigned_write("primgr", cert, key) && selfsigned_write("other", ocert, okey),
		  "TLS: test certificates made"))
		goto done;
	server_test_config(&cfg);
	snprintf(cfg.tls_listen[0].host, sizeof(cfg.tls_listen[0].host), "127.0.0.1");
	cfg.ntls_listen = 1;
	snprintf(cfg.tls_cert_file, sizeof(cfg.tls_cert_file), "%s", cert);
	snprintf(cfg.tls_key_file, sizeof(cfg.tls_key_file), "%s", key);
	snprintf(cfg.tls_client_ca_file, sizeof(cfg.tls_client_ca_file), "%s", cert);
	if (!child_spawn(&c, &cfg, false)) {
		T_OK(false, "TLS server starts");
		goto done;
	}
	T_OK(c.port[TLS4] != 0, "TLS: listens on tls_listen");
	good = SSL_CTX_new(TLS_client_method());
	bare = SSL_CTX_new(TLS_client_method());
	other = SSL_CTX_new(TLS_client_method());
	if (!good || !bare || !other || SSL_CTX_use_certificate_file(good, cert, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_use_PrivateKey_file(good, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_use_certificate_file(other, ocert, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_use_PrivateKey_file(other, okey, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_load_verify_locations(good, cert, NULL) != 1) {
		T_OK(false, "TLS: client contexts");
		child_stop(&c, &answered, &cancelled, &left);
		goto done;
	}
	SSL_CTX_set_verify(good, SSL_VERIFY_PEER, NULL);

	/* keep-alive and pipelining over TLS, with the server's certificate verified */
	ssl = tls_client(good, c.port[TLS4], &fd);
	T_OK(ssl != NULL, "TLS: a client with a certificate from the CA completes the handshake");
	if (ssl) {
		tls_exchange(ssl, "GET /state HTTP/1.1\r\n\r\nGET /health HTTP/1.1\r\n\r\n"
				  "GET /primary HTTP/1.1\r\nConnection: close\r\n\r\n",
			     resp, sizeof(resp));
		T_OK(strstr(resp, "\"state\":\"Primary\"") && strstr(resp, "{\"status\":\"ok\"}") &&
			     strstr(resp, "{\"Primary\":\"node1\""),
		     "TLS: three pipelined requests on one connection, three answers");
		SSL_free(ssl);
	}
	close(fd);

	/* no certificate, or one from another CA: the handshake fails (TLS 1.3 reports it on
	 * the first read), nothing is answered */
	ssl = tls_client(bare, c.port[TLS4], &fd);
	T_OK(!ssl || tls_exchange(ssl, "GET /state HTTP/1.1\r\n\r\n", resp, sizeof(resp)) == 0,
	     "TLS: a client without a certificate gets no answer");
	SSL_free(ssl);
	close(fd);
	ssl = tls_client(other, c.port[TLS4], &fd);
	T_OK(!ssl || tls_exchange(ssl, "GET /state HTTP/1.1\r\n\r\n", resp, sizeof(resp)) == 0,
	     "TLS: a client certificate from another CA gets no answer");
	SSL_free(ssl);
	close(fd);

	/* plain HTTP and garbage are closed at once; a silent client at client_timeout */
	t0 = util_now_ms();
	fd = tcp_connect(c.port[TLS4]);
	send_str(fd, "GET /state HTTP/1.1\r\n\r\n");
	read_until_eof(fd, resp, sizeof(resp), 2000, &eof);
	T_OK(eof && !strstr(resp, "HTTP/1.1") && util_now_ms() - t0 < 250,
	     "TLS: plain HTTP on the TLS port is closed at once, unanswered");
	close(fd);
	t0 = util_now_ms();
	fd = tcp_connect(c.port[TLS4]);
	{
		/* a handshake record of 5 bytes that is no ClientHello (it holds a NUL: send) */
		static const char junk[] = "\x16\x03\x01\x00\x05hello garbage";
		(void)!send(fd, junk, sizeof(junk) - 1, MSG_NOSIGNAL);
	}
	read_until_eof(fd, resp, sizeof(resp), 2000, &eof);
	if (!T_OK(eof && util_now_ms() - t0 < 250, "TLS: a garbage ClientHello is closed at once"))
		printf("#   eof %d after %lld ms\n", eof, (long long)(util_now_ms() - t0));
	close(fd);
	t0 = util_now_ms();
	fd = tcp_connect(c.port[TLS4]);
	send_str(fd, "\x16\x03\x01"); /* a record header cut short */
	read_until_eof(fd, resp, sizeof(resp), 2000, &eof);
	T_OK(eof && util_now_ms() - t0 >= 250 && util_now_ms() - t0 < 1000,
	     "TLS: a stalled handshake is cut at client_timeout");
	close(fd);

	T_EQ_INT(http_once(c.port[HTTP4], "GET /metrics HTTP/1.0\r\n\r\n", resp, sizeof(resp)), 200,
		 "TLS: the plain listener still answers");
	T_OK(strstr(resp, "primgr_tls_handshake_failures_total 5\n") != NULL,
	     "TLS: the five failed handshakes are counted");
	T_EQ_INT(child_stop(&c, &answered, &cancelled, &left), 0,
		 "TLS server exits cleanly (no leak under ASan)");

	/* the allowlist: 127.0.0.1 is outside 10.0.0.0/8 and ::1, on both kinds of listener;
	 * the agent listeners are not under it */
	server_test_config(&cfg);
	snprintf(cfg.tls_listen[0].host, sizeof(cfg.tls_listen[0].host), "127.0.0.1");
	cfg.ntls_listen = 1;
	snprintf(cfg.tls_cert_file, sizeof(cfg.tls_cert_file), "%s", cert);
	snprintf(cfg.tls_key_file, sizeof(cfg.tls_key_file), "%s", key);
	cfg.nallow = 2;
	T_OK(util_parse_cidr("10.0.0.0/8", &cfg.allow[0]) && util_parse_cidr("::1", &cfg.allow[1]),
	     "allow: blocks parsed");
	if (!child_spawn(&c, &cfg, false)) {
		T_OK(false, "allowlist server starts");
		goto done;
	}
	fd = tcp_connect(c.port[HTTP4]);
	send_str(fd, "GET /health HTTP/1.0\r\n\r\n");
	read_until_eof(fd, resp, sizeof(resp), 2000, &eof);
	T_OK(eof && resp[0] == '\0', "allow: a client outside it is closed without an answer");
	close(fd);
	ssl = tls_client(bare, c.port[TLS4], &fd);
	T_OK(ssl == NULL, "allow: ... on the TLS listener too (no handshake)");
	SSL_free(ssl);
	close(fd);
	fd = tcp_connect(c.port[HTTP_ANY]);
	send_str(fd, "GET /health HTTP/1.0\r\n\r\n");
	read_until_eof(fd, resp, sizeof(resp), 2000, &eof);
	T_OK(eof && resp[0] == '\0',
	     "allow: an IPv4 client of the dual-stack listener is matched as IPv4 (outside)");
	close(fd);
	fd = tcp_connect_to("::1", c.port[HTTP_ANY]);
	if (fd >= 0) {
		send_str(fd, "GET /health HTTP/1.0\r\n\r\n");
		read_until_eof(fd, resp, sizeof(resp), 2000, &eof);
		T_EQ_INT(status_of(resp), 200, "allow: a client inside it (::1) is answered");
		close(fd);
	} else {
		T_OK(true, "allow: a client inside it (::1) is answered # SKIP no IPv6 loopback");
	}
	agent_once(c.port[AGENT_PRIMARY], NULL, resp, sizeof(resp));
	T_OK(strncmp(resp, "up", 2) == 0, "allow: agent listeners are not under it");
	T_EQ_INT(child_stop(&c, &answered, &cancelled, &left), 0,
		 "allowlist server exits cleanly");
done:
	SSL_CTX_free(good);
	SSL_CTX_free(bare);
	SSL_CTX_free(other);
	unlink(cert);
	unlink(key);
	unlink(ocert);
	unlink(okey);
}

int main(void)
{
	struct config cfg;
	struct child c;
	int answered, cancelled, left;

	signal(SIGPIPE, SIG_IGN);
	server_test_config(&cfg);
	if (!child_spawn(&c, &cfg, true)) {
		T_OK(false, "server starts");
		return t_done();
	}
	T_OK(c.port[HTTP4] && c.port[HTTP_ANY] && c.port[AGENT_SEND],
	     "server listens on every entry");
	test_agent(&c);
	test_http_basics(&c);
	test_keepalive(&c);
	test_slowloris(&c);
	test_realprimary(&c);
	T_EQ_INT(child_stop(&c, &answered, &cancelled, &left), 0,
		 "server exits cleanly (no leak under ASan)");
	T_OK(answered >= 2 && cancelled >= 1 && left == 0,
	     "every /realPrimary waiter answered or cancelled");
	printf("#   waiters answered %d, cancelled %d, left %d\n", answered, cancelled, left);

	test_first_round();
	test_tls();
	test_cap();
	test_emfile();
	test_many_idle();
	hold_for_transcripts();
	return t_done();
}

/* agent_load: the agent-check load generator of bench/run.sh. What haproxy does for each
 * agent check, as fast as one core allows: a new TCP connection, read the reply up to '\n',
 * close. CONC connections are in flight at all times (a closed loop; -r caps the rate of new
 * checks instead), all non-blocking under one epoll. Prints one line:
 *
 *   requests=N errors=N unexpected=N seconds=S rps=R p50_us=X p99_us=Y max_us=Z
 *
 * where a request's latency runs from socket() to the reply's '\n'.
 *
 *   agent_load -p PORT [-H 127.0.0.1] [-c CONC] [-d SECONDS] [-r RATE] [-e PREFIX] [-t MS]
 *   agent_load -p PORT -i N [-s REQUEST] [-d SECONDS]
 *
 * -e counts replies that do not start with PREFIX as "unexpected" (they still count as
 * requests). -i holds N idle connections open instead (to show what they cost the server):
 * each sends REQUEST once (\r and \n escapes understood, e.g. an HTTP keep-alive request),
 * reads whatever comes back and stays open; one that the server closes is opened again.
 * "ready open=N" is printed once all N are established (and answered, with -s), then
 * "idle open=N reopened=N errors=N" at the end (-d 0: run until SIGTERM or SIGINT).
 *
 * No dependencies: cc -O2 -o agent_load agent_load.c */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define REPLY_MAX 256
#define SAMPLES_MAX (64u << 20)   /* 256 MiB of samples at most: > 10 s at 6M checks/s */
#define RETRY_NS 1000000          /* wait after a failed connect (out of ports or fds) */
#define SWEEP_NS 1000000          /* timeouts and the rate are checked this often */
#define IDLE_SWEEP_NS 100000000   /* idle mode: rarely, so that holding costs no CPU */

struct slot {
	int fd;                           /* -1: not connected */
	uint64_t started_ns;
	uint64_t retry_ns;                /* not before this time after a connect error */
	size_t got;
	size_t sent;
	bool answered;                    /* idle mode: the request was answered */
	char reply[REPLY_MAX];
};

static struct {
	struct sockaddr_in addr;
	int epfd;
	struct slot *slots;
	size_t nslots;
	bool idle_mode;
	const char *request;
	size_t request_len;
	const char *expect;
	uint64_t timeout_ns;
	double rate;
	uint64_t issued;                  /* checks started (for the rate) */
	uint64_t t0_ns;
	uint64_t requests, errors, unexpected, reopened;
	uint32_t *samples;                /* latencies in ns, capped at UINT32_MAX */
	size_t nsamples, samples_cap;
} L;

static volatile sig_atomic_t stop_flag;

static void stop_cb(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void die(const char *what)
{
	fprintf(stderr, "agent_load: %s: %s\n", what, strerror(errno));
	exit(2);
}

static void usage(void)
{
	fprintf(stderr, "usage: agent_load -p PORT [-H ADDR] [-c CONC] [-d SECONDS] [-r RATE] "
			"[-e PREFIX] [-t MS]\n"
			"       agent_load -p PORT -i N [-s REQUEST] [-d SECONDS]\n");
	exit(2);
}

/* Turns the \r and \n escapes of s into bytes, in place; returns the new length. */
static size_t unescape(char *s)
{
	char *r = s, *w = s;

	while (*r) {
		if (r[0] == '\\' && (r[1] == 'n' || r[1] == 'r')) {
			*w++ = r[1] == 'n' ? '\n' : '\r';
			r += 2;
		} else {
			*w++ = *r++;
		}
	}
	*w = '\0';
	return (size_t)(w - s);
}

static void sample_add(uint64_t ns)
{
	if (L.nsamples == L.samples_cap) {
		size_t cap = L.samples_cap ? L.samples_cap * 2 : 65536;
		uint32_t *p;

		if (cap > SAMPLES_MAX)
			return;   /* the percentiles then come from the first SAMPLES_MAX checks */
		p = realloc(L.samples, cap * sizeof(*p));
		if (!p)
			return;
		L.samples = p;
		L.samples_cap = cap;
	}
	L.samples[L.nsamples++] = ns > UINT32_MAX ? UINT32_MAX : (uint32_t)ns;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

/* The nearest-rank percentile of the sorted samples, in µs. */
static double percentile_us(double p)
{
	size_t k;

	if (L.nsamples == 0)
		return 0;
	k = (size_t)(p / 100.0 * (double)L.nsamples + 0.5);
	if (k > 0)
		k--;
	if (k >= L.nsamples)
		k = L.nsamples - 1;
	return L.samples[k] / 1000.0;
}

static void slot_close(struct slot *s)
{
	if (s->fd >= 0) {
		/* close() removes it from the epoll set too: no epoll_ctl(DEL) on the hot path */
		close(s->fd);
		s->fd = -1;
	}
}

/* Starts a connection on slot s; on failure the slot retries a little later. */
static void slot_connect(struct slot *s, uint64_t now)
{
	struct epoll_event ev = { .data.ptr = s };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	s->started_ns = now;
	s->got = 0;
	s->sent = 0;
	s->answered = false;
	if (fd < 0)
		goto fail;
	if (connect(fd, (struct sockaddr *)&L.addr, sizeof(L.addr)) < 0 && errno != EINPROGRESS) {
		close(fd);
		goto fail;
	}
	/* The server speaks first in agent-check: readable means the reply (or an error). */
	ev.events = EPOLLIN | (L.request_len ? EPOLLOUT : 0);
	if (epoll_ctl(L.epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		close(fd);
		goto fail;
	}
	s->fd = fd;
	return;
fail:
	L.errors++;
	s->fd = -1;
	s->retry_ns = now + RETRY_NS;
}

/* May a new check start now (the -r cap)? */
static bool rate_allows(uint64_t now)
{
	if (L.rate <= 0)
		return true;
	return (double)L.issued < L.rate * (double)(now - L.t0_ns) / 1e9 + 1;
}

static void slot_next(struct slot *s, uint64_t now)
{
	if (stop_flag || !rate_allows(now))
		return;
	L.issued++;
	slot_connect(s, now);
}

static void slot_failed(struct slot *s, uint64_t now)
{
	slot_close(s);
	if (L.idle_mode) {
		L.reopened++;
		slot_connect(s, now);
		return;
	}
	L.errors++;
	slot_next(s, now);
}

static void slot_write(struct slot *s, uint64_t now)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = s };

	while (s->sent < L.request_len) {
		ssize_t n = send(s->fd, L.request + s->sent, L.request_len - s->sent, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			if (errno == EINTR)
				continue;
			slot_failed(s, now);
			return;
		}
		s->sent += (size_t)n;
	}
	if (epoll_ctl(L.epfd, EPOLL_CTL_MOD, s->fd, &ev) < 0)
		slot_failed(s, now);
}

static void slot_read(struct slot *s, uint64_t now)
{
	for (;;) {
		char tmp[REPLY_MAX];
		size_t room = REPLY_MAX - 1 - s->got;
		ssize_t n = recv(s->fd, L.idle_mode || room == 0 ? tmp : s->reply + s->got,
				 L.idle_mode || room == 0 ? sizeof(tmp) : room, 0);

		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			if (errno == EINTR)
				continue;
			slot_failed(s, now);
			return;
		}
		if (n == 0) {
			slot_failed(s, now);
			return;
		}
		if (L.idle_mode) {
			s->answered = true;
			continue;
		}
		if (room == 0)
			continue;
		s->got += (size_t)n;
		s->reply[s->got] = '\0';
		if (memchr(s->reply, '\n', s->got)) {
			L.requests++;
			if (L.expect && strncmp(s->reply, L.expect, strlen(L.expect)) != 0)
				L.unexpected++;
			sample_add(now - s->started_ns);
			slot_close(s);
			slot_next(s, now);
			return;
		}
	}
}

static void event_cb(struct slot *s, uint32_t events, uint64_t now)
{
	if (s->fd < 0)
		return;
	if ((events & EPOLLOUT) && s->sent < L.request_len) {
		slot_write(s, now);
		if (s->fd < 0)
			return;
	}
	if (events & (EPOLLIN | EPOLLERR | EPOLLHUP))
		slot_read(s, now);
}

/* Timeouts, connect retries and checks held back by the rate (every SWEEP_NS). */
static void slots_sweep(uint64_t now)
{
	for (size_t i = 0; i < L.nslots; i++) {
		struct slot *s = &L.slots[i];

		if (s->fd >= 0) {
			if (!L.idle_mode && now - s->started_ns > L.timeout_ns) {
				slot_close(s);
				L.errors++;
				slot_next(s, now);
			}
		} else if (now >= s->retry_ns) {
			if (L.idle_mode)
				slot_connect(s, now);
			else
				slot_next(s, now);
		}
	}
}

static size_t idle_ready(void)
{
	size_t n = 0;

	for (size_t i = 0; i < L.nslots; i++)
		if (L.slots[i].fd >= 0 && (!L.request_len || L.slots[i].answered))
			n++;
	return n;
}

/* As many descriptors as the hard limit allows: -i 5000 needs more than the usual 1024. */
static void raise_nofile(size_t want)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= want + 16)
		return;
	rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want + 16 ? want + 16
									     : rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		fprintf(stderr, "agent_load: cannot raise the open files limit: %s\n",
			strerror(errno));
}

int main(int argc, char **argv)
{
	const char *host = "127.0.0.1";
	long port = 0, conc = 1, idle = 0;
	double seconds = 10, timeout_ms = 5000;
	char *request = NULL;
	struct epoll_event events[256];
	uint64_t end_ns, last_sweep = 0, sweep_ns;
	bool ready_said = false;
	int opt;

	while ((opt = getopt(argc, argv, "H:p:c:d:r:e:t:i:s:")) != -1) {
		switch (opt) {
		case 'H': host = optarg; break;
		case 'p': port = strtol(optarg, NULL, 10); break;
		case 'c': conc = strtol(optarg, NULL, 10); break;
		case 'd': seconds = strtod(optarg, NULL); break;
		case 'r': L.rate = strtod(optarg, NULL); break;
		case 'e': L.expect = optarg; break;
		case 't': timeout_ms = strtod(optarg, NULL); break;
		case 'i': idle = strtol(optarg, NULL, 10); break;
		case 's': request = optarg; break;
		default: usage();
		}
	}
	if (port < 1 || port > 65535 || conc < 1 || conc > 100000 || idle < 0 || idle > 1000000 ||
	    seconds < 0 || timeout_ms <= 0 || optind != argc)
		usage();
	L.addr.sin_family = AF_INET;
	L.addr.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &L.addr.sin_addr) != 1) {
		fprintf(stderr, "agent_load: %s: not an IPv4 address\n", host);
		return 2;
	}
	if (request) {
		L.request_len = unescape(request);
		L.request = request;
	}
	L.idle_mode = idle > 0;
	L.nslots = L.idle_mode ? (size_t)idle : (size_t)conc;
	L.timeout_ns = (uint64_t)(timeout_ms * 1e6);
	raise_nofile(L.nslots);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, stop_cb);
	signal(SIGINT, stop_cb);

	L.slots = calloc(L.nslots, sizeof(*L.slots));
	L.epfd = epoll_create1(EPOLL_CLOEXEC);
	if (!L.slots)
		die("calloc");
	if (L.epfd < 0)
		die("epoll_create1");
	sweep_ns = L.idle_mode ? IDLE_SWEEP_NS : SWEEP_NS;
	L.t0_ns = now_ns();
	end_ns = seconds > 0 ? L.t0_ns + (uint64_t)(seconds * 1e9) : UINT64_MAX;
	for (size_t i = 0; i < L.nslots; i++) {
		L.slots[i].fd = -1;
		if (L.idle_mode)
			slot_connect(&L.slots[i], L.t0_ns);
		else
			slot_next(&L.slots[i], L.t0_ns);
	}

	while (!stop_flag) {
		uint64_t now = now_ns();
		int n;

		if (now >= end_ns)
			break;
		if (now - last_sweep >= sweep_ns) {
			slots_sweep(now);
			last_sweep = now;
			if (L.idle_mode && !ready_said && idle_ready() == L.nslots) {
				printf("ready open=%zu\n", L.nslots);
				fflush(stdout);
				ready_said = true;
			}
		}
		n = epoll_wait(L.epfd, events, (int)(sizeof(events) / sizeof(events[0])),
			       (int)(sweep_ns / 1000000));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("epoll_wait");
		}
		now = now_ns();
		for (int i = 0; i < n; i++)
			event_cb(events[i].data.ptr, events[i].events, now);
	}

	if (L.idle_mode) {
		size_t open = 0;
		for (size_t i = 0; i < L.nslots; i++)
			open += L.slots[i].fd >= 0;
		printf("idle open=%zu reopened=%llu errors=%llu\n", open,
		       (unsigned long long)L.reopened, (unsigned long long)L.errors);
	} else {
		double secs = (double)(now_ns() - L.t0_ns) / 1e9;

		qsort(L.samples, L.nsamples, sizeof(*L.samples), cmp_u32);
		printf("requests=%llu errors=%llu unexpected=%llu seconds=%.3f rps=%.1f p50_us=%.1f "
		       "p99_us=%.1f max_us=%.1f\n",
		       (unsigned long long)L.requests, (unsigned long long)L.errors,
		       (unsigned long long)L.unexpected, secs, (double)L.requests / secs,
		       percentile_us(50), percentile_us(99),
		       L.nsamples ? L.samples[L.nsamples - 1] / 1000.0 : 0.0);
	}
	for (size_t i = 0; i < L.nslots; i++)
		slot_close(&L.slots[i]);
	free(L.slots);
	free(L.samples);
	close(L.epfd);
	return 0;
}

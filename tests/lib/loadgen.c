/* loadgen: a tiny paced load generator for the integration tests (a bash loop cannot do
 * thousands of checks a second). Opens one TCP connection per check at a fixed rate, with a
 * bound on concurrent connections, optionally sends a request, reads the reply until the
 * server closes, and reports counts and latencies on one line:
 *
 *   loadgen -p PORT [-H 127.0.0.1] [-r RATE/s] [-d SECONDS] [-c CONCURRENCY]
 *           [-s REQUEST] [-e EXPECTED_PREFIX] [-t TIMEOUT_MS]
 *
 * REQUEST understands \r and \n escapes ("GET /state HTTP/1.0\r\n\r\n"); without it the
 * client only reads (agent-check). A reply is "ok" when it starts with EXPECTED_PREFIX (or
 * any reply when none is given). Built by the tests with `cc -O2`; no dependencies. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONC 1024
#define MAX_SAMPLES (1 << 20)
#define REPLY_MAX 512

struct slot {
	int fd;            /* -1 = free */
	double started;    /* seconds, monotonic */
	size_t sent;
	size_t got;
	char reply[REPLY_MAX];
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Turns the \r and \n escapes of s into bytes, in place. */
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

static int open_conn(const struct sockaddr_in *sa)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0 && errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	return fd;
}

int main(int argc, char **argv)
{
	const char *host = "127.0.0.1", *expect = "";
	char *request = NULL;
	size_t reqlen = 0;
	int port = 0, conc = 64, opt;
	double rate = 1000, duration = 5, timeout = 2.0;

	while ((opt = getopt(argc, argv, "H:p:r:d:c:s:e:t:")) != -1) {
		switch (opt) {
		case 'H': host = optarg; break;
		case 'p': port = atoi(optarg); break;
		case 'r': rate = atof(optarg); break;
		case 'd': duration = atof(optarg); break;
		case 'c': conc = atoi(optarg); break;
		case 's': request = optarg; reqlen = unescape(request); break;
		case 'e': expect = optarg; break;
		case 't': timeout = atof(optarg) / 1000.0; break;
		default: goto usage;
		}
	}
	if (port <= 0 || port > 65535 || rate <= 0 || duration <= 0 || conc < 1 || conc > MAX_CONC)
		goto usage;

	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		goto usage;

	static struct slot slots[MAX_CONC];
	static struct pollfd pfd[MAX_CONC];
	static int pidx[MAX_CONC];
	double *lat = malloc(sizeof(double) * MAX_SAMPLES);
	if (!lat) {
		perror("malloc");
		return 2;
	}
	for (int i = 0; i < conc; i++)
		slots[i].fd = -1;

	long started = 0, nok = 0, nbad = 0, nerr = 0, ntimeout = 0, nlat = 0, inflight = 0;
	long behind_max = 0;
	double t0 = now_s(), end = t0 + duration;

	for (;;) {
		double t = now_s();
		long due = t < end ? (long)((t - t0) * rate) + 1 : (long)(duration * rate);
		if (due - started > behind_max)
			behind_max = due - started;
		/* start what the schedule asks for, as far as the concurrency bound allows */
		for (int i = 0; i < conc && started < due; i++) {
			if (slots[i].fd >= 0)
				continue;
			started++;
			slots[i].fd = open_conn(&sa);
			if (slots[i].fd < 0) {
				nerr++;
				continue;
			}
			slots[i].started = now_s();
			slots[i].sent = slots[i].got = 0;
			inflight++;
		}
		if (inflight == 0 && t >= end)
			break;

		int n = 0;
		for (int i = 0; i < conc; i++) {
			if (slots[i].fd < 0)
				continue;
			pfd[n].fd = slots[i].fd;
			pfd[n].events = slots[i].sent < reqlen ? POLLOUT : POLLIN;
			pfd[n].revents = 0;
			pidx[n++] = i;
		}
		double next = t0 + (double)started / rate;
		int wait_ms = started < due ? 0 : (int)((next - now_s()) * 1000.0);
		if (wait_ms < 0)
			wait_ms = 0;
		if (wait_ms > 10)
			wait_ms = 10;
		if (poll(pfd, (nfds_t)n, wait_ms) < 0 && errno != EINTR) {
			perror("poll");
			return 2;
		}

		t = now_s();
		for (int k = 0; k < n; k++) {
			struct slot *s = &slots[pidx[k]];
			int done = 0, failed = 0;
			if (pfd[k].revents & POLLOUT) {
				ssize_t w = send(s->fd, request + s->sent, reqlen - s->sent, MSG_NOSIGNAL);
				if (w > 0)
					s->sent += (size_t)w;
				else if (w < 0 && errno != EAGAIN)
					failed = 1;
			} else if (pfd[k].revents & (POLLIN | POLLHUP | POLLERR)) {
				char buf[4096];
				ssize_t r = recv(s->fd, buf, sizeof(buf), 0);
				if (r > 0) {
					size_t room = REPLY_MAX - 1 - s->got;
					size_t c = (size_t)r < room ? (size_t)r : room;
					memcpy(s->reply + s->got, buf, c);
					s->got += c;
				} else if (r == 0) {
					done = 1;
				} else if (errno != EAGAIN) {
					/* a reset after a complete reply still counts as a reply */
					if (s->got > 0)
						done = 1;
					else
						failed = 1;
				}
			}
			if (!done && !failed && t - s->started > timeout) {
				ntimeout++;
				failed = 2; /* counted as a timeout, not an error */
			}
			if (!done && !failed)
				continue;
			if (done) {
				s->reply[s->got] = '\0';
				if (strncmp(s->reply, expect, strlen(expect)) == 0 && s->got > 0)
					nok++;
				else
					nbad++;
				if (nlat < MAX_SAMPLES)
					lat[nlat++] = (t - s->started) * 1000.0;
			} else if (failed == 1) {
				nerr++;
			}
			close(s->fd);
			s->fd = -1;
			inflight--;
		}
	}

	double elapsed = now_s() - t0;
	qsort(lat, (size_t)nlat, sizeof(double), cmp_double);
	double p50 = nlat ? lat[nlat / 2] : 0, p99 = nlat ? lat[(nlat * 99) / 100] : 0;
	double max = nlat ? lat[nlat - 1] : 0;
	printf("requests=%ld ok=%ld bad=%ld errors=%ld timeouts=%ld rate=%.0f p50_ms=%.2f "
	       "p99_ms=%.2f max_ms=%.2f behind_max=%ld\n",
	       started, nok, nbad, nerr, ntimeout, (double)(nok + nbad) / elapsed, p50, p99, max,
	       behind_max);
	free(lat);
	return nerr + ntimeout + nbad > 0 ? 1 : 0;

usage:
	fprintf(stderr, "usage: loadgen -p PORT [-H IPv4] [-r RATE] [-d SECONDS] [-c CONCURRENCY] "
			"[-s REQUEST] [-e EXPECTED_PREFIX] [-t TIMEOUT_MS]\n");
	return 64;
}

/* statepoll: asks several primgr HTTP ports for /state every INTERVAL ms, all at once, and
 * prints one line per port and tick on stdout, for tests/chaos/run.sh's verdict timeline:
 *
 *     <wall ms at the tick> http://<host>:<port>/state <status code, 000 if none>
 *
 * A port is PORT (on 127.0.0.1) or IPV4:PORT. A port that refuses, resets, or has not sent
 * its status line TIMEOUT ms after the tick (a killed or SIGSTOPped primgr) gets 000. One
 * process instead of a curl per tick, so the ticks stay ~INTERVAL apart on a loaded machine.
 * Runs until SIGTERM/SIGINT.
 *
 * With -a it reads the whole reply and adds a fifth column: the wall ms at which the verdict
 * it answered was made (the time of the reply minus the body's "age_ms"), or - when the reply
 * had none (tests/partition/run.sh: when primgr changed its mind, not when a poll saw it).
 *
 * Usage: statepoll [-a] [-i INTERVAL_MS] [-t TIMEOUT_MS] [IPV4:]PORT...
 * Build: cc -O2 -o statepoll statepoll.c */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_PORTS 16

static volatile sig_atomic_t stop;

static void stop_cb(int sig)
{
	(void)sig;
	stop = 1;
}

static long long clock_ms(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct probe {
	int port, fd, code;
	struct in_addr addr;
	char host[INET_ADDRSTRLEN];
	size_t sent, got;
	long long made; /* -a: wall ms the answered verdict was made, -1 when unknown */
	char buf[4096];
};

static int want_age;

static const char request[] = "GET /state HTTP/1.0\r\nHost: primgr\r\n\r\n";

static void probe_start(struct probe *p)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)p->port) };

	p->code = 0;
	p->made = -1;
	p->sent = p->got = 0;
	sa.sin_addr = p->addr;
	p->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (p->fd < 0)
		return;
	if (connect(p->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS) {
		close(p->fd);
		p->fd = -1;
	}
}

static void probe_end(struct probe *p)
{
	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
}

/* One step when the socket is ready: send the rest of the request, or read toward the
 * status line ("HTTP/1.x NNN "). */
static void probe_step(struct probe *p, short revents)
{
	ssize_t n;

	if (p->sent < sizeof(request) - 1) {
		if (revents & (POLLERR | POLLHUP)) {
			probe_end(p);
			return;
		}
		n = send(p->fd, request + p->sent, sizeof(request) - 1 - p->sent, MSG_NOSIGNAL);
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			probe_end(p);
		else if (n > 0)
			p->sent += (size_t)n;
		return;
	}
	n = recv(p->fd, p->buf + p->got, sizeof(p->buf) - 1 - p->got, 0);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n > 0)
		p->got += (size_t)n;
	p->buf[p->got] = '\0';
	if (p->got >= 12 && strncmp(p->buf, "HTTP/1.", 7) == 0 && !p->code) {
		int code = atoi(p->buf + 9);

		p->code = code >= 100 && code <= 999 ? code : 0;
		if (!want_age)
			probe_end(p);
	}
	if (p->fd >= 0 && (n <= 0 || p->got == sizeof(p->buf) - 1)) {
		const char *age = strstr(p->buf, "\"age_ms\":");

		if (want_age && p->code && age && age[9] >= '0' && age[9] <= '9')
			p->made = clock_ms(CLOCK_REALTIME) - atoll(age + 9);
		probe_end(p);
	}
}

int main(int argc, char **argv)
{
	struct probe probes[MAX_PORTS];
	struct pollfd pfd[MAX_PORTS];
	long interval = 100, timeout = 250;
	int np = 0, c;

	while ((c = getopt(argc, argv, "ai:t:")) != -1) {
		switch (c) {
		case 'a': want_age = 1; break;
		case 'i': interval = strtol(optarg, NULL, 10); break;
		case 't': timeout = strtol(optarg, NULL, 10); break;
		default: return 64;
		}
	}
	for (int i = optind; i < argc && np < MAX_PORTS; i++) {
		struct probe *p = &probes[np];
		const char *colon = strrchr(argv[i], ':');

		snprintf(p->host, sizeof(p->host), "127.0.0.1");
		if (colon) {
			if ((size_t)(colon - argv[i]) >= sizeof(p->host))
				return 64;
			memcpy(p->host, argv[i], (size_t)(colon - argv[i]));
			p->host[colon - argv[i]] = '\0';
		}
		if (inet_pton(AF_INET, p->host, &p->addr) != 1)
			return 64;
		p->port = atoi(colon ? colon + 1 : argv[i]);
		if (p->port <= 0 || p->port > 65535)
			return 64;
		p->fd = -1;
		np++;
	}
	if (np == 0 || interval < 10 || timeout < 1 || timeout > interval * 10) {
		fprintf(stderr, "usage: statepoll [-a] [-i INTERVAL_MS] [-t TIMEOUT_MS] [IPV4:]PORT...\n");
		return 64;
	}
	signal(SIGTERM, stop_cb);
	signal(SIGINT, stop_cb);
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);

	for (long long tick = clock_ms(CLOCK_MONOTONIC); !stop; tick += interval) {
		long long wall = clock_ms(CLOCK_REALTIME), now;
		int open;

		for (int i = 0; i < np; i++)
			probe_start(&probes[i]);
		while (!stop) {
			open = 0;
			for (int i = 0; i < np; i++) {
				pfd[i].fd = probes[i].fd;
				pfd[i].events = probes[i].sent < sizeof(request) - 1 ? POLLOUT : POLLIN;
				pfd[i].revents = 0;
				open += probes[i].fd >= 0;
			}
			now = clock_ms(CLOCK_MONOTONIC);
			if (open == 0 || now >= tick + timeout)
				break;
			if (poll(pfd, (nfds_t)np, (int)(tick + timeout - now)) < 0 && errno != EINTR)
				break;
			for (int i = 0; i < np; i++)
				if (probes[i].fd >= 0 && pfd[i].revents)
					probe_step(&probes[i], pfd[i].revents);
		}
		for (int i = 0; i < np; i++) {
			probe_end(&probes[i]);
			printf("%lld http://%s:%d/state %03d", wall, probes[i].host, probes[i].port,
			       probes[i].code);
			if (want_age && probes[i].made >= 0)
				printf(" %lld\n", probes[i].made);
			else
				printf(want_age ? " -\n" : "\n");
		}
		/* the next tick on the schedule; after a long stall, from now */
		now = clock_ms(CLOCK_MONOTONIC);
		if (now > tick + interval)
			tick = now - interval;
		else if (!stop)
			usleep((useconds_t)(tick + interval - now) * 1000);
	}
	return 0;
}

/* minimal_server: the physical limit for bench/run.sh's agent-check cells. The least a
 * single-threaded agent-check server can do per check: accept, write "up\n", close. A
 * blocking accept loop, so no event loop cost at all: any real server (primgr included)
 * does at least this much work per check.
 *
 *   minimal_server -p PORT [-H 127.0.0.1]       accept, write "up\n", close
 *   minimal_server -p PORT [-H 127.0.0.1] -b    black hole: accept, never answer
 *
 * The black hole stands for a hung peer (accepts, then silence): it reads and discards what
 * arrives and closes a connection only when the client does (or when it holds
 * BLACKHOLE_MAX). With -p 0 the kernel picks the port; "listening port=N" is printed once
 * the socket listens either way.
 *
 * No dependencies: cc -O2 -o minimal_server minimal_server.c */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define BLACKHOLE_MAX 4096

static void die(const char *what)
{
	fprintf(stderr, "minimal_server: %s: %s\n", what, strerror(errno));
	exit(2);
}

static int listen_on(const char *host, long port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	socklen_t len = sizeof(a);
	int one = 1, fd;

	if (inet_pton(AF_INET, host, &a.sin_addr) != 1) {
		fprintf(stderr, "minimal_server: %s: not an IPv4 address\n", host);
		exit(2);
	}
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket");
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
		die("SO_REUSEADDR");
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		die("bind");
	if (listen(fd, 4096) < 0)
		die("listen");
	if (getsockname(fd, (struct sockaddr *)&a, &len) < 0)
		die("getsockname");
	printf("listening port=%u\n", ntohs(a.sin_port));
	fflush(stdout);
	return fd;
}

static void serve_up(int lfd)
{
	static const char reply[] = "up\n";

	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE) {
				usleep(1000);
				continue;
			}
			die("accept");
		}
		/* The client sends nothing, so closing at once never turns into a RST. */
		if (send(fd, reply, sizeof(reply) - 1, MSG_NOSIGNAL) < 0 && errno != EPIPE &&
		    errno != ECONNRESET)
			perror("minimal_server: send");
		close(fd);
	}
}

static void serve_blackhole(int lfd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = lfd }, events[64];
	int epfd = epoll_create1(EPOLL_CLOEXEC), held = 0;

	if (epfd < 0 || epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &ev) < 0)
		die("epoll");
	for (;;) {
		int n = epoll_wait(epfd, events, 64, -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("epoll_wait");
		}
		for (int i = 0; i < n; i++) {
			int fd = events[i].data.fd;

			if (fd == lfd) {
				int c = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
				struct epoll_event cev = { .events = EPOLLIN, .data.fd = c };

				if (c < 0)
					continue;
				if (held >= BLACKHOLE_MAX ||
				    epoll_ctl(epfd, EPOLL_CTL_ADD, c, &cev) < 0) {
					close(c);
					continue;
				}
				held++;
			} else {
				char tmp[4096];
				ssize_t r = recv(fd, tmp, sizeof(tmp), 0);

				if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
					close(fd);
					held--;
				}
			}
		}
	}
}

int main(int argc, char **argv)
{
	const char *host = "127.0.0.1";
	long port = -1;
	bool blackhole = false;
	int opt, lfd;

	while ((opt = getopt(argc, argv, "H:p:b")) != -1) {
		switch (opt) {
		case 'H': host = optarg; break;
		case 'p': port = strtol(optarg, NULL, 10); break;
		case 'b': blackhole = true; break;
		default: port = -1; optind = argc + 1; break;
		}
	}
	if (port < 0 || port > 65535 || optind != argc) {
		fprintf(stderr, "usage: minimal_server -p PORT [-H ADDR] [-b]\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	lfd = listen_on(host, port);
	if (blackhole)
		serve_blackhole(lfd);
	else
		serve_up(lfd);
	return 0;
}

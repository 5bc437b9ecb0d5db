/* slowdns: an LD_PRELOAD getaddrinfo() for tests/integration/pg.sh, a DNS that is slow or
 * fails on demand. Names ending in
 *   .slow.primgr.test      answer as 127.0.0.1 after PRIMGR_SLOWDNS_MS (default 3000) ms
 *   .slowfail.primgr.test  fail (EAI_AGAIN) after the same delay
 *   .fail.primgr.test      fail (EAI_NONAME) at once
 * and any other name goes to the real getaddrinfo().
 *
 * cc -shared -fPIC -o slowdns.so slowdns.c -ldl */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef int (*gai_fn)(const char *, const char *, const struct addrinfo *, struct addrinfo **);

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

static void delay(void)
{
	const char *env = getenv("PRIMGR_SLOWDNS_MS");
	long ms = env ? strtol(env, NULL, 10) : 3000;
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0)
		;
}

int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
                struct addrinfo **res)
{
	gai_fn real = (gai_fn)dlsym(RTLD_NEXT, "getaddrinfo");

	if (!real)
		return EAI_SYSTEM;
	if (node && ends_with(node, ".fail.primgr.test"))
		return EAI_NONAME;
	if (node && ends_with(node, ".slowfail.primgr.test")) {
		delay();
		return EAI_AGAIN;
	}
	if (node && ends_with(node, ".slow.primgr.test")) {
		delay();
		return real("127.0.0.1", service, hints, res);
	}
	return real(node, service, hints, res);
}

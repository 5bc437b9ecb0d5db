/* resolve: host names to numeric addresses without blocking the loop.
 *
 * getaddrinfo() may wait seconds on DNS, and libpq calls it inside PQconnectStart and
 * PQconnectPoll for a conninfo host that is a name. pg.c therefore resolves such names here
 * first, in a thread of its own, and gives libpq the addresses as hostaddr. One lookup runs
 * at a time. The caller bounds it with its own timer and may abandon it (resolve_cancel);
 * the thread then finishes alone and frees what it holds, and a new lookup is refused until
 * it has (so a dead DNS server costs at most one thread). */
#ifndef PRIMGR_RESOLVE_H
#define PRIMGR_RESOLVE_H

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>

#define RESOLVE_MAX_NAMES 16   /* host names in one conninfo */
#define RESOLVE_MAX_ADDRS 16   /* addresses kept per name */
#define RESOLVE_ADDR_MAX 46    /* INET6_ADDRSTRLEN */

struct resolve_answer {
	size_t naddrs;                     /* 0: error says why */
	char addrs[RESOLVE_MAX_ADDRS][RESOLVE_ADDR_MAX];
	char error[128];
};

/* answers[i] belongs to names[i] of resolve_start; valid during the call only. */
typedef void (*resolve_cb)(const struct resolve_answer *answers, size_t n, void *arg);

struct resolver;

struct resolver *resolver_new(struct ev_loop *loop);
/* Abandons a running lookup (its callback never runs) and frees the resolver. */
void resolver_free(struct resolver *r);

/* Starts looking up names[0..n) (TCP addresses, IPv4 and IPv6); cb runs from the loop once
 * all are done. False with err when a lookup (perhaps an abandoned one) still runs or the
 * thread cannot start. */
bool resolve_start(struct resolver *r, const char *const *names, size_t n, resolve_cb cb,
		   void *arg, char *err, size_t errlen);

/* Abandons the running lookup: its callback never runs. */
void resolve_cancel(struct resolver *r);

#endif

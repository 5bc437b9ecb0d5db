/* conninfo: libpq connection strings, read with PQconninfoParse and never edited as text.
 * Pure: no I/O, no libev. bool: true = ok; an error is one line in err (libpq's message
 * without its newline, or "out of memory"). */
#ifndef PRIMGR_CONNINFO_H
#define PRIMGR_CONNINFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define CONNINFO_MAX_HOSTS 16 /* host list entries primgr looks up itself */
#define CONNINFO_MAX_ADDRS 16 /* addresses used per host name */

/* Checks that libpq can parse conninfo. */
bool conninfo_check(const char *conninfo, char *err, size_t errlen) WUR;

/* The host a node's primgr is reached at: the first entry of host, else of hostaddr; ""
 * for a Unix socket or no host. False when conninfo does not parse, or with "host too
 * long" when the host does not fit in size. */
bool conninfo_peer_host(const char *conninfo, char *host, size_t size, char *err,
                        size_t errlen) WUR;

/* True for a host that needs no lookup: NULL, empty, a Unix socket directory ('/'), an
 * abstract socket ('@') or a numeric IPv4 or IPv6 address. */
bool conninfo_host_is_literal(const char *host);

/* A conninfo's host and port lists split at the commas (libpq's syntax: no escapes), and
 * the hosts that are names to look up, in order (pointers into host[]). */
struct conninfo_hosts {
	char *host_copy, *port_copy;
	const char *host[CONNINFO_MAX_HOSTS];
	const char *port[CONNINFO_MAX_HOSTS];
	size_t nhosts, nports;
	const char *names[CONNINFO_MAX_HOSTS];
	size_t nnames;
};

/* Fills h when conninfo has hosts, no hostaddr, lists libpq would accept and at least
 * one host name, and returns true: the names must be looked up before libpq connects
 * (its getaddrinfo blocks). Otherwise returns false with h empty: libpq can connect as
 * is (a conninfo that does not parse or a failed allocation included). */
bool conninfo_hosts_split(const char *conninfo, struct conninfo_hosts *h);
void conninfo_hosts_free(struct conninfo_hosts *h);

/* What the lookup of one of conninfo_hosts' names found: naddrs numeric addresses, or
 * none and why. */
struct conninfo_lookup {
	size_t naddrs;
	const char *addr[CONNINFO_MAX_ADDRS];
	const char *error;
};

/* The host, hostaddr and port lists for libpq after the lookup: one entry per address
 * (host stays, for TLS and .pgpass; a literal host keeps one entry with an empty
 * hostaddr). port is set only when the conninfo had one port per host. */
struct conninfo_addrs {
	struct buf host, hostaddr, port;
	bool per_host_port;
};

/* Builds out from h and found[k] (the lookup of h->names[k]); names not found are left
 * out. False with "cannot resolve host ..." when no host is left, or "out of memory".
 * out is always initialised: free it with conninfo_addrs_free. */
bool conninfo_hosts_expand(const struct conninfo_hosts *h, const struct conninfo_lookup *found,
                           size_t nfound, struct conninfo_addrs *out, char *err, size_t errlen) WUR;
void conninfo_addrs_free(struct conninfo_addrs *a);

/* What conninfo_params_build puts over the conninfo. host, hostaddr and port replace the
 * conninfo's when not NULL (hostaddr is only used with host). application_name is added
 * unless the conninfo sets one; "-c statement_timeout=N" is appended to options. */
struct conninfo_extra {
	const char *host, *hostaddr, *port;
	const char *application_name;
	uint32_t statement_timeout_ms;
};

/* Keyword/value arrays for PQconnectStartParams (NULL-terminated, expand_dbname 0). */
struct conninfo_params {
	const char **keys, **vals;
	void *parsed;  /* the PQconninfoOption array the values point into */
	char *options; /* the options value built here */
};

bool conninfo_params_build(const char *conninfo, const struct conninfo_extra *x,
                           struct conninfo_params *p, char *err, size_t errlen) WUR;
void conninfo_params_free(struct conninfo_params *p);

#endif

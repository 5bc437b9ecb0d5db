/* conninfo: every reading of a libpq conninfo (checks, a node's host, the host names to
 * look up, the parameters of a connection) in one place, without I/O so that it can be
 * tested on tables. */
#include "conninfo.h"

#include <arpa/inet.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ADDRS_MAX (64 * 1024) /* bound of each list built for libpq */

/* Parses conninfo; on failure writes libpq's message (first line, no trailing blanks). */
static PQconninfoOption *parse(const char *conninfo, char *err, size_t errlen)
{
	char *msg = NULL;
	PQconninfoOption *opts = PQconninfoParse(conninfo, &msg);
	size_t n;

	if (opts)
		return opts;
	if (!msg) {
		util_fail(err, errlen, "out of memory");
		return NULL;
	}
	n = strcspn(msg, "\n");
	while (n > 0 && (msg[n - 1] == ' ' || msg[n - 1] == '\t' || msg[n - 1] == '\r'))
		n--;
	if (n)
		util_fail(err, errlen, "%.*s", (int)n, msg);
	else
		util_fail(err, errlen, "unknown error");
	PQfreemem(msg);
	return NULL;
}

/* The value of keyword in a parsed conninfo (NULL when unset). */
static const char *value_of(const PQconninfoOption *opts, const char *keyword)
{
	for (const PQconninfoOption *o = opts; o->keyword; o++)
		if (strcmp(o->keyword, keyword) == 0)
			return o->val;
	return NULL;
}

bool conninfo_check(const char *conninfo, char *err, size_t errlen)
{
	PQconninfoOption *opts = parse(conninfo, err, errlen);

	PQconninfoFree(opts);
	return opts != NULL;
}

/* The first element of a (possibly comma-separated) libpq host list; sockets give "". */
static bool host_first(const char *list, char *host, size_t size)
{
	size_t len = strcspn(list, ",");

	host[0] = '\0';
	if (len == 0 || list[0] == '/' || list[0] == '@')
		return true;
	if (len >= size)
		return false;
	memcpy(host, list, len);
	host[len] = '\0';
	return true;
}

bool conninfo_peer_host(const char *conninfo, char *host, size_t size, char *err, size_t errlen)
{
	PQconninfoOption *opts;
	const char *h, *ha;
	bool ok = true;

	if (size == 0)
		return util_fail(err, errlen, "host too long");
	host[0] = '\0';
	opts = parse(conninfo, err, errlen);
	if (!opts)
		return false;
	h = value_of(opts, "host");
	ha = value_of(opts, "hostaddr");
	if (h && h[0])
		ok = host_first(h, host, size);
	if (ok && !host[0] && ha && ha[0])
		ok = host_first(ha, host, size);
	PQconninfoFree(opts);
	if (!ok)
		return util_fail(err, errlen, "host too long");
	return true;
}

bool conninfo_host_is_literal(const char *host)
{
	unsigned char buf[sizeof(struct in6_addr)];

	return !host || !host[0] || host[0] == '/' || host[0] == '@' ||
	       inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

/* Splits list at the commas into out[] (at most CONNINFO_MAX_HOSTS); false when longer. */
static bool split_list(char *list, const char **out, size_t *n)
{
	*n = 0;
	for (char *p = list;;) {
		char *comma = strchr(p, ',');

		if (*n == CONNINFO_MAX_HOSTS)
			return false;
		out[(*n)++] = p;
		if (!comma)
			return true;
		*comma = '\0';
		p = comma + 1;
	}
}

bool conninfo_hosts_split(const char *conninfo, struct conninfo_hosts *h)
{
	PQconninfoOption *opts = PQconninfoParse(conninfo, NULL);
	const char *host, *hostaddr, *port;

	memset(h, 0, sizeof(*h));
	if (!opts)
		return false;
	host = value_of(opts, "host");
	hostaddr = value_of(opts, "hostaddr");
	port = value_of(opts, "port");
	if (host && host[0] && !(hostaddr && hostaddr[0])) {
		h->host_copy = strdup(host);
		h->port_copy = port && port[0] ? strdup(port) : NULL;
		if (h->host_copy && (!port || !port[0] || h->port_copy) &&
		    split_list(h->host_copy, h->host, &h->nhosts) &&
		    (!h->port_copy || split_list(h->port_copy, h->port, &h->nports)) &&
		    (h->nports <= 1 || h->nports == h->nhosts)) {
			for (size_t i = 0; i < h->nhosts; i++)
				if (!conninfo_host_is_literal(h->host[i]))
					h->names[h->nnames++] = h->host[i];
		}
	}
	PQconninfoFree(opts);
	if (h->nnames == 0)
		conninfo_hosts_free(h);
	return h->nnames > 0;
}

void conninfo_hosts_free(struct conninfo_hosts *h)
{
	free(h->host_copy);
	free(h->port_copy);
	memset(h, 0, sizeof(*h));
}

bool conninfo_hosts_expand(const struct conninfo_hosts *h, const struct conninfo_lookup *found,
                           size_t nfound, struct conninfo_addrs *out, char *err, size_t errlen)
{
	bool ok = true, any = false;
	const char *why = NULL, *failed = NULL;
	size_t k = 0;

	buf_init(&out->host, ADDRS_MAX);
	buf_init(&out->hostaddr, ADDRS_MAX);
	buf_init(&out->port, ADDRS_MAX);
	out->per_host_port = h->nports > 1;
	for (size_t i = 0; i < h->nhosts && ok; i++) {
		const struct conninfo_lookup *a = NULL;
		size_t naddrs = 1;

		if (k < h->nnames && h->names[k] == h->host[i]) {
			a = k < nfound ? &found[k] : NULL;
			k++;
			naddrs = a ? a->naddrs : 0;
			if (naddrs > CONNINFO_MAX_ADDRS)
				naddrs = CONNINFO_MAX_ADDRS;
			if (naddrs == 0 && !failed) {
				failed = h->host[i];
				why = a && a->error ? a->error : "no answer";
			}
		}
		for (size_t j = 0; j < naddrs && ok; j++) {
			const char *sep = any ? "," : "";

			ok = buf_printf(&out->host, "%s%s", sep, h->host[i]) &&
			     buf_printf(&out->hostaddr, "%s%s", sep, a ? a->addr[j] : "") &&
			     (!out->per_host_port ||
			      buf_printf(&out->port, "%s%s", sep, h->port[i]));
			any = true;
		}
	}
	if (!ok)
		return util_fail(err, errlen, "out of memory");
	if (!any)
		return util_fail(err, errlen, "cannot resolve host \"%.60s\": %.80s",
		                 failed ? failed : "", why ? why : "no answer");
	return true;
}

void conninfo_addrs_free(struct conninfo_addrs *a)
{
	buf_free(&a->host);
	buf_free(&a->hostaddr);
	buf_free(&a->port);
}

bool conninfo_params_build(const char *conninfo, const struct conninfo_extra *x,
                           struct conninfo_params *p, char *err, size_t errlen)
{
	PQconninfoOption *opts, *o;
	const char *user_options = NULL;
	bool have_app = false;
	size_t n = 0, i = 0;

	memset(p, 0, sizeof(*p));
	opts = parse(conninfo, err, errlen);
	if (!opts)
		return false;
	p->parsed = opts;
	for (o = opts; o->keyword; o++)
		n++;
	p->keys = calloc(n + 6, sizeof(*p->keys));
	p->vals = calloc(n + 6, sizeof(*p->vals));
	if (!p->keys || !p->vals)
		goto fail;
	for (o = opts; o->keyword; o++) {
		if (!o->val)
			continue;
		if (strcmp(o->keyword, "options") == 0) {
			user_options = o->val;
			continue;
		}
		if (strcmp(o->keyword, "application_name") == 0 && o->val[0])
			have_app = true;
		if ((x->host && strcmp(o->keyword, "host") == 0) ||
		    (x->hostaddr && strcmp(o->keyword, "hostaddr") == 0) ||
		    (x->port && strcmp(o->keyword, "port") == 0))
			continue; /* replaced below */
		p->keys[i] = o->keyword;
		p->vals[i++] = o->val;
	}
	if (x->host) {
		p->keys[i] = "host";
		p->vals[i++] = x->host;
		p->keys[i] = "hostaddr";
		p->vals[i++] = x->hostaddr;
	}
	if (x->port) {
		p->keys[i] = "port";
		p->vals[i++] = x->port;
	}
	if (!have_app && x->application_name) {
		p->keys[i] = "application_name";
		p->vals[i++] = x->application_name;
	}
	if (asprintf(&p->options, "%s%s-c statement_timeout=%u", user_options ? user_options : "",
	             user_options && user_options[0] ? " " : "", x->statement_timeout_ms) < 0) {
		p->options = NULL;
		goto fail;
	}
	p->keys[i] = "options";
	p->vals[i++] = p->options;
	p->keys[i] = NULL;
	p->vals[i] = NULL;
	return true;
fail:
	conninfo_params_free(p);
	return util_fail(err, errlen, "out of memory");
}

void conninfo_params_free(struct conninfo_params *p)
{
	PQconninfoFree(p->parsed);
	free(p->options);
	free(p->keys);
	free(p->vals);
	memset(p, 0, sizeof(*p));
}

/* test_conninfo: conninfo strings -> checks, a node's host, the host names to look up,
 * the lists libpq gets after the lookup and the connection parameters, all on tables. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conninfo.h"
#include "t.h"

#define LONG_HOST                                                                                  \
	"hhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh" \
	"hh"

static void test_check(void)
{
	static const struct {
		const char *conninfo, *err; /* err NULL: valid */
	} cases[] = {
	    {"", NULL},
	    {"host=db1 port=5432 user=repmgr dbname=repmgr connect_timeout=2", NULL},
	    {"host=a password='x ;y #z'", NULL},
	    {"postgresql://repmgr@db1:5433/repmgr?sslmode=require", NULL},
	    {"host", "missing \"=\" after \"host\" in connection info string"},
	    {"hots=x", "invalid connection option \"hots\""},
	    {"host='x", "unterminated quoted string in connection info string"},
	    {"postgresql://db1?nosuch=1", "invalid URI query parameter: \"nosuch\""},
	};
	char err[256], name[160];

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		bool ok;
		strcpy(err, "unchanged");
		ok = conninfo_check(cases[i].conninfo, err, sizeof(err));
		snprintf(name, sizeof(name), "check \"%s\": %s", cases[i].conninfo,
		         cases[i].err ? "refused" : "valid");
		T_OK(ok == !cases[i].err, name);
		if (cases[i].err) {
			snprintf(name, sizeof(name), "check \"%s\": libpq's message, one line",
			         cases[i].conninfo);
			T_EQ_STR(err, cases[i].err, name);
		}
	}
	T_OK(!conninfo_check("hots=x", err, 8), "check: small buffer");
	T_EQ_STR(err, "invalid", "check: message cut and terminated");
}

static void test_peer_host(void)
{
	static const struct {
		const char *conninfo;
		size_t size;
		const char *host, *err; /* err NULL: ok */
	} cases[] = {
	    {"host=db1 port=5432", 64, "db1", NULL},
	    {"host=db1,db2 port=5432,5433", 64, "db1", NULL},
	    {"host=db1.example.com dbname=repmgr", 64, "db1.example.com", NULL},
	    {"host=/run/postgresql", 64, "", NULL},
	    {"host=@abstract", 64, "", NULL},
	    {"host=/run/postgresql hostaddr=10.0.0.1", 64, "10.0.0.1", NULL},
	    {"hostaddr=10.0.0.1,10.0.0.2", 64, "10.0.0.1", NULL},
	    {"host=db1 hostaddr=10.0.0.1", 64, "db1", NULL},
	    {"host=,db2", 64, "", NULL},
	    {"dbname=repmgr", 64, "", NULL},
	    {"", 64, "", NULL},
	    {"postgresql://repmgr@db3:5433/repmgr", 64, "db3", NULL},
	    {"postgresql://[::1]:5432/repmgr", 64, "::1", NULL},
	    {"host=" LONG_HOST, 64, NULL, "host too long"},
	    {"host=abcd", 5, "abcd", NULL},
	    {"host=abcde", 5, NULL, "host too long"},
	    {"host", 64, NULL, "missing \"=\" after \"host\" in connection info string"},
	};
	char host[64], err[256], name[160];

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		bool ok;
		err[0] = '\0';
		ok = conninfo_peer_host(cases[i].conninfo, host, cases[i].size, err, sizeof(err));
		snprintf(name, sizeof(name), "peer host of \"%.60s\": %s", cases[i].conninfo,
		         cases[i].err ? "error" : "ok");
		T_OK(ok == !cases[i].err, name);
		snprintf(name, sizeof(name), "peer host of \"%.60s\": %s", cases[i].conninfo,
		         cases[i].err ? cases[i].err : cases[i].host);
		if (cases[i].err)
			T_EQ_STR(err, cases[i].err, name);
		else
			T_EQ_STR(host, cases[i].host, name);
	}
}

static void test_literal(void)
{
	static const struct {
		const char *host;
		bool literal;
	} cases[] = {
	    {"", true},           {"/run/postgresql", true},
	    {"@abstract", true},  {"127.0.0.1", true},
	    {"::1", true},        {"fe80::1", true},
	    {"db1", false},       {"db1.example.com", false},
	    {"10.0.0", false},    {"[::1]", false},
	    {"localhost", false},
	};
	char name[96];

	T_OK(conninfo_host_is_literal(NULL), "literal: NULL");
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		snprintf(name, sizeof(name), "literal \"%s\": %s", cases[i].host,
		         cases[i].literal ? "yes" : "no");
		T_OK(conninfo_host_is_literal(cases[i].host) == cases[i].literal, name);
	}
}

/* "a,b,c" from n strings. */
static const char *join(const char *const *v, size_t n, char *buf, size_t size)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n; i++)
		if (!util_appendf(buf, size, &off, "%s%s", i ? "," : "", v[i]))
			break;
	return buf;
}

#define H17 "h1,h2,h3,h4,h5,h6,h7,h8,h9,h10,h11,h12,h13,h14,h15,h16,h17"
#define H16 "h1,h2,h3,h4,h5,h6,h7,h8,h9,h10,h11,h12,h13,h14,h15,h16"

static void test_hosts_split(void)
{
	static const struct {
		const char *conninfo;
		bool lookup;
		const char *hosts, *ports, *names;
	} cases[] = {
	    {"host=db1", true, "db1", "", "db1"},
	    {"host=db1 port=5433", true, "db1", "5433", "db1"},
	    {"host=db1,10.0.0.2,db3 port=5432", true, "db1,10.0.0.2,db3", "5432", "db1,db3"},
	    {"host=db1,db2 port=1,2", true, "db1,db2", "1,2", "db1,db2"},
	    {"host=/tmp,db2", true, "/tmp,db2", "", "db2"},
	    {"host=db1,", true, "db1,", "", "db1"},
	    {"postgresql://u@db1:5433,db2:5434/x", true, "db1,db2", "5433,5434", "db1,db2"},
	    {"host=" H16, true, H16, "", H16},
	    /* libpq connects as is */
	    {"host=127.0.0.1", false, "", "", ""},
	    {"host=127.0.0.1,::1", false, "", "", ""},
	    {"host=/run/postgresql", false, "", "", ""},
	    {"host=db1 hostaddr=10.0.0.1", false, "", "", ""},
	    {"host=db1,db2 port=1,2,3", false, "", "", ""},
	    {"host=" H17, false, "", "", ""},
	    {"hostaddr=10.0.0.1", false, "", "", ""},
	    {"dbname=x", false, "", "", ""},
	    {"", false, "", "", ""},
	    {"host", false, "", "", ""},
	};
	char name[160], got[256];

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct conninfo_hosts h;
		bool lookup = conninfo_hosts_split(cases[i].conninfo, &h);

		snprintf(name, sizeof(name), "split \"%.60s\": %s", cases[i].conninfo,
		         cases[i].lookup ? "names to look up" : "connect as is");
		T_OK(lookup == cases[i].lookup, name);
		snprintf(name, sizeof(name), "split \"%.60s\": hosts", cases[i].conninfo);
		T_EQ_STR(join(h.host, h.nhosts, got, sizeof(got)), cases[i].hosts, name);
		snprintf(name, sizeof(name), "split \"%.60s\": ports", cases[i].conninfo);
		T_EQ_STR(join(h.port, h.nports, got, sizeof(got)), cases[i].ports, name);
		snprintf(name, sizeof(name), "split \"%.60s\": names", cases[i].conninfo);
		T_EQ_STR(join(h.names, h.nnames, got, sizeof(got)), cases[i].names, name);
		conninfo_hosts_free(&h);
	}
}

static void test_hosts_expand(void)
{
	static const struct {
		const char *name, *conninfo;
		size_t nfound;
		struct {
			size_t naddrs;
			const char *addr[3];
			const char *error;
		} found[3];
		const char *host, *hostaddr, *port, *err; /* err NULL: ok */
	} cases[] = {
	    {"one name, two addresses",
	     "host=db1",
	     1,
	     {{2, {"10.0.0.1", "10.0.0.2"}, NULL}},
	     "db1,db1",
	     "10.0.0.1,10.0.0.2",
	     "",
	     NULL},
	    {"a literal between names keeps an empty hostaddr",
	     "host=db1,127.0.0.1,db2 port=5432",
	     2,
	     {{1, {"10.0.0.1"}, NULL}, {1, {"fd00::2"}, NULL}},
	     "db1,127.0.0.1,db2",
	     "10.0.0.1,,fd00::2",
	     "",
	     NULL},
	    {"one port per host follows each address",
	     "host=db1,/tmp,db2 port=1,2,3",
	     2,
	     {{2, {"10.0.0.1", "10.0.0.2"}, NULL}, {1, {"10.0.0.3"}, NULL}},
	     "db1,db1,/tmp,db2",
	     "10.0.0.1,10.0.0.2,,10.0.0.3",
	     "1,1,2,3",
	     NULL},
	    {"a name not found is left out",
	     "host=db1,db2 port=1,2",
	     2,
	     {{0, {NULL}, "Name or service not known"}, {1, {"10.0.0.2"}, NULL}},
	     "db2",
	     "10.0.0.2",
	     "2",
	     NULL},
	    {"a name without an answer is left out",
	     "host=db1,db2",
	     1,
	     {{1, {"10.0.0.1"}, NULL}},
	     "db1",
	     "10.0.0.1",
	     "",
	     NULL},
	    {"nothing found names the first failure",
	     "host=db1,db2",
	     2,
	     {{0, {NULL}, "Name or service not known"}, {0, {NULL}, "Temporary failure"}},
	     NULL,
	     NULL,
	     NULL,
	     "cannot resolve host \"db1\": Name or service not known"},
	    {"no answers at all",
	     "host=db1",
	     0,
	     {{0, {NULL}, NULL}},
	     NULL,
	     NULL,
	     NULL,
	     "cannot resolve host \"db1\": no answer"},
	    {"a failure without a reason",
	     "host=db1",
	     1,
	     {{0, {NULL}, NULL}},
	     NULL,
	     NULL,
	     NULL,
	     "cannot resolve host \"db1\": no answer"},
	};
	char name[160], err[160];

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct conninfo_hosts h;
		struct conninfo_lookup found[3];
		struct conninfo_addrs a;
		bool ok;

		memset(found, 0, sizeof(found));
		for (size_t k = 0; k < cases[i].nfound; k++) {
			found[k].naddrs = cases[i].found[k].naddrs;
			for (size_t j = 0; j < found[k].naddrs; j++)
				found[k].addr[j] = cases[i].found[k].addr[j];
			found[k].error = cases[i].found[k].error;
		}
		snprintf(name, sizeof(name), "expand, %s: names to look up", cases[i].name);
		T_OK(conninfo_hosts_split(cases[i].conninfo, &h), name);
		err[0] = '\0';
		ok = conninfo_hosts_expand(&h, found, cases[i].nfound, &a, err, sizeof(err));
		snprintf(name, sizeof(name), "expand, %s: %s", cases[i].name,
		         cases[i].err ? "fails" : "ok");
		T_OK(ok == !cases[i].err, name);
		if (cases[i].err) {
			snprintf(name, sizeof(name), "expand, %s: message", cases[i].name);
			T_EQ_STR(err, cases[i].err, name);
		} else {
			snprintf(name, sizeof(name), "expand, %s: host", cases[i].name);
			T_EQ_STR(a.host.data, cases[i].host, name);
			snprintf(name, sizeof(name), "expand, %s: hostaddr", cases[i].name);
			T_EQ_STR(a.hostaddr.data, cases[i].hostaddr, name);
			snprintf(name, sizeof(name), "expand, %s: port", cases[i].name);
			T_EQ_STR(a.per_host_port ? a.port.data : "", cases[i].port, name);
		}
		conninfo_addrs_free(&a);
		conninfo_hosts_free(&h);
	}
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The parameters as sorted "key=value" words (libpq's keyword order is its own). */
static const char *params_text(const struct conninfo_params *p, char *buf, size_t size)
{
	char *words[64];
	size_t n = 0, off = 0;

	for (size_t i = 0; p->keys[i] && n < ARRAY_SIZE(words); i++)
		if (asprintf(&words[n], "%s=%s", p->keys[i], p->vals[i] ? p->vals[i] : "(null)") >=
		    0)
			n++;
	qsort(words, n, sizeof(words[0]), cmp_str);
	buf[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		if (!util_appendf(buf, size, &off, "%s%s", i ? " " : "", words[i]))
			break;
	}
	for (size_t i = 0; i < n; i++)
		free(words[i]);
	return buf;
}

static void test_params(void)
{
	static const struct {
		const char *name, *conninfo;
		struct conninfo_extra x;
		const char *want, *err; /* err NULL: ok */
	} cases[] = {
	    {"application_name and statement_timeout added",
	     "host=h dbname=d",
	     {.application_name = "primgr", .statement_timeout_ms = 1000},
	     "application_name=primgr dbname=d host=h options=-c statement_timeout=1000",
	     NULL},
	    {"the user's application_name and options stay",
	     "host=h application_name=me options='-c work_mem=1MB'",
	     {.application_name = "primgr", .statement_timeout_ms = 250},
	     "application_name=me host=h options=-c work_mem=1MB -c statement_timeout=250",
	     NULL},
	    {"an empty application_name is overridden",
	     "host=h application_name='' options=''",
	     {.application_name = "primgr", .statement_timeout_ms = 5},
	     "application_name= application_name=primgr host=h options=-c statement_timeout=5",
	     NULL},
	    {"host, hostaddr and port replaced",
	     "host=db1,db2 hostaddr=10.9.9.9 port=1,2 user=u",
	     {.host = "db1,db1",
	      .hostaddr = "10.0.0.1,10.0.0.2",
	      .port = "7,7",
	      .application_name = "primgr",
	      .statement_timeout_ms = 1000},
	     "application_name=primgr host=db1,db1 hostaddr=10.0.0.1,10.0.0.2 "
	     "options=-c statement_timeout=1000 port=7,7 user=u",
	     NULL},
	    {"host replaced, port kept",
	     "host=db1 port=5433",
	     {.host = "db1", .hostaddr = "10.0.0.1", .statement_timeout_ms = 1},
	     "host=db1 hostaddr=10.0.0.1 options=-c statement_timeout=1 port=5433",
	     NULL},
	    {"a URI is read the same way",
	     "postgresql://u@db1:5433/d",
	     {.application_name = "primgr", .statement_timeout_ms = 1000},
	     "application_name=primgr dbname=d host=db1 options=-c statement_timeout=1000 "
	     "port=5433 user=u",
	     NULL},
	    {"empty conninfo",
	     "",
	     {.application_name = "primgr", .statement_timeout_ms = 1000},
	     "application_name=primgr options=-c statement_timeout=1000",
	     NULL},
	    {"invalid conninfo",
	     "host",
	     {.application_name = "primgr"},
	     NULL,
	     "missing \"=\" after \"host\" in connection info string"},
	};
	char name[160], err[160], got[512];

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct conninfo_params p;
		bool ok;

		err[0] = '\0';
		ok = conninfo_params_build(cases[i].conninfo, &cases[i].x, &p, err, sizeof(err));
		snprintf(name, sizeof(name), "params, %s: %s", cases[i].name,
		         cases[i].err ? "fails" : "ok");
		T_OK(ok == !cases[i].err, name);
		snprintf(name, sizeof(name), "params, %s: %s", cases[i].name,
		         cases[i].err ? "message" : "keywords and values");
		if (cases[i].err)
			T_EQ_STR(err, cases[i].err, name);
		else
			T_EQ_STR(params_text(&p, got, sizeof(got)), cases[i].want, name);
		conninfo_params_free(&p);
	}
}

int main(void)
{
	test_check();
	test_peer_host();
	test_literal();
	test_hosts_split();
	test_hosts_expand();
	test_params();
	return t_done();
}

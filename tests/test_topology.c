/* topology: repmgr.conf, repmgr.nodes rows, naming rules, scope and the cache file. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "identity.h"
#include "topology.h"
#include "util.h"
#include "t.h"

static char tmpdir[] = "/tmp/primgr-test-topology.XXXXXX";

static const char *fixture(const char *name)
{
	static char path[CONFIG_PATH_MAX];
	const char *top = getenv("top_srcdir");

	snprintf(path, sizeof(path), "%s/tests/fixtures/%s", top ? top : ".", name);
	return path;
}

static const char *tmpfile_path(const char *name)
{
	static char path[CONFIG_PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	return path;
}

static void write_file(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
		printf("# cannot write %s: %s\n", path, strerror(errno));
		exit(2);
	}
}

/* An error is matched exactly, or as a prefix when the expectation ends in '*'. */
static bool err_matches(const char *got, const char *want)
{
	size_t wl = strlen(want);

	if (wl && want[wl - 1] == '*')
		return strncmp(got, want, wl - 1) == 0;
	return strcmp(got, want) == 0;
}

static void check_err(bool ok, const char *err, const char *want, const char *name)
{
	char n[300];

	snprintf(n, sizeof(n), "%s: fails", name);
	T_OK(!ok, n);
	snprintf(n, sizeof(n), "%s: error text", name);
	if (!T_OK(err_matches(err, want), n))
		printf("#   got  \"%s\"\n#   want \"%s\"\n", err, want);
}

/* ---- repmgr.conf text --------------------------------------------------------------- */

static const struct {
	const char *name, *text;
	int node_id;
	const char *node_name, *conninfo, *location;
} conf_ok[] = {
    {"quoted values with spaces", "node_id = 3\nnode_name = 'db node'\nlocation='dc 2'\n", 3,
     "db node", "", "dc 2"},
    {"doubled quote and backslash escapes", "node_name='it''s'\nconninfo='a\\'b\\tc'\n", 0, "it's",
     "a'b\tc", "default"},
    {"bare values", "node_id=1\nnode_name=node1\nconninfo=host=x\n", 1, "node1", "host=x",
     "default"},
    {"repmgr's quoted conninfo",
     "conninfo='host=127.0.0.1 port=5432 user=repmgr dbname=repmgr'\nnode_id=1\n", 1, "",
     "host=127.0.0.1 port=5432 user=repmgr dbname=repmgr", "default"},
    {"comments after values, '#' inside quotes", "node_id=4 # the id\nnode_name='n#4' # x\n", 4,
     "n#4", "", "default"},
    {"octal escape", "node_name='n\\101'\n", 0, "nA", "", "default"},
    {"'=' is optional", "node_id 5\nnode_name 'five'\n", 5, "five", "", "default"},
    {"CRLF line ends", "node_id=6\r\nnode_name=six\r\n", 6, "six", "", "default"},
    {"no final newline", "node_id=7", 7, "", "", "default"},
    {"unknown and dotted keys ignored", "foo.bar = 'x'\nrepmgrd_service_start_command=x\nnode_id=8",
     8, "", "", "default"},
    {"the last value wins", "node_id=1\nnode_id=2\n", 2, "", "", "default"},
    {"blank and comment lines", "\n   \n\t# comment\n#node_id=9\n", 0, "", "", "default"},
    {"empty quoted value", "location=''\n", 0, "", "", ""},
    {"empty file", "", 0, "", "", "default"},
    {"unknown key with a long value",
     "comment='"
     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
     "'\nnode_id=1",
     1, "", "", "default"},
    {"node_name of 63 bytes",
     "node_name=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n", 0,
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "", "default"},
};

static const struct {
	const char *name, *text, *err;
} conf_bad[] = {
    {"node_id not a number", "node_id=abc\n",
     "t.conf:1: node_id: invalid value \"abc\" (expected 1-2147483647)"},
    {"node_id zero", "node_id=0\n",
     "t.conf:1: node_id: invalid value \"0\" (expected 1-2147483647)"},
    {"node_id negative", "node_id=-3\n",
     "t.conf:1: node_id: invalid value \"-3\" (expected 1-2147483647)"},
    {"node_id overflow", "node_id=2147483648\n",
     "t.conf:1: node_id: invalid value \"2147483648\" (expected 1-2147483647)"},
    {"node_id trailing text", "node_id='1x'\n",
     "t.conf:1: node_id: invalid value \"1x\" (expected 1-2147483647)"},
    {"line numbers count every line", "\n\n# c\nnode_id=x\n",
     "t.conf:4: node_id: invalid value \"x\" (expected 1-2147483647)"},
    {"unterminated quote", "node_name='x\nnode_id=1\n",
     "t.conf:1: node_name: unterminated quoted string"},
    {"unterminated quote in an unknown key", "foo='x\n",
     "t.conf:1: foo: unterminated quoted string"},
    {"no key", "=5\n", "t.conf:1: syntax error (expected key = value)"},
    {"key starts with a digit", "1node=5\n", "t.conf:1: syntax error (expected key = value)"},
    {"two values", "node_id=1 2\n", "t.conf:1: node_id: syntax error after the value"},
    {"text after a quoted value", "node_name='a'b\n",
     "t.conf:1: node_name: syntax error after the value"},
    {"missing value", "node_name=\n", "t.conf:1: node_name: missing value"},
    {"missing value before a comment", "node_name= # none\n", "t.conf:1: node_name: missing value"},
    {"node_name too long",
     "node_name=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
     "t.conf:1: node_name: too long (max 63 bytes)"},
    {"NUL through an escape", "node_name='a\\0b'\n", "t.conf:1: node_name: contains a NUL byte"},
};

static void test_conf_text(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(conf_ok); i++) {
		struct identity id;
		char err[256] = "", n[300];
		bool ok =
		    identity_parse_repmgr_conf(conf_ok[i].text, "t.conf", &id, err, sizeof(err));
		snprintf(n, sizeof(n), "repmgr.conf %s: parses", conf_ok[i].name);
		if (!T_OK(ok, n))
			printf("#   %s\n", err);
		snprintf(n, sizeof(n), "repmgr.conf %s: node_id", conf_ok[i].name);
		T_EQ_INT(id.node_id, conf_ok[i].node_id, n);
		snprintf(n, sizeof(n), "repmgr.conf %s: node_name", conf_ok[i].name);
		T_EQ_STR(id.node_name, conf_ok[i].node_name, n);
		snprintf(n, sizeof(n), "repmgr.conf %s: conninfo", conf_ok[i].name);
		T_EQ_STR(id.conninfo, conf_ok[i].conninfo, n);
		snprintf(n, sizeof(n), "repmgr.conf %s: location", conf_ok[i].name);
		T_EQ_STR(id.location, conf_ok[i].location, n);
	}
	for (size_t i = 0; i < ARRAY_SIZE(conf_bad); i++) {
		struct identity id;
		char err[256] = "", n[300];
		bool ok =
		    identity_parse_repmgr_conf(conf_bad[i].text, "t.conf", &id, err, sizeof(err));
		snprintf(n, sizeof(n), "repmgr.conf %s", conf_bad[i].name);
		check_err(ok, err, conf_bad[i].err, n);
	}
}

static void test_conf_long_conninfo(void)
{
	char text[CONFIG_CONNINFO_MAX + 64], err[256] = "";
	struct identity id;
	size_t off = 0;

	off += (size_t)snprintf(text, sizeof(text), "conninfo='host=x application_name=");
	memset(text + off, 'a', CONFIG_CONNINFO_MAX);
	strcpy(text + off + CONFIG_CONNINFO_MAX - 40, "'\n");
	T_OK(identity_parse_repmgr_conf(text, "t.conf", &id, err, sizeof(err)),
	     "repmgr.conf: conninfo of 2 KiB minus a bit fits");
	T_EQ_INT(strlen(id.conninfo), off - 10 + CONFIG_CONNINFO_MAX - 40,
	         "long conninfo kept whole");
	memset(text + off, 'a', CONFIG_CONNINFO_MAX);
	strcpy(text + off + CONFIG_CONNINFO_MAX, "'\n");
	char want[64];
	snprintf(want, sizeof(want), "t.conf:1: conninfo: too long (max %d bytes)",
		 CONFIG_CONNINFO_MAX - 1);
	check_err(identity_parse_repmgr_conf(text, "t.conf", &id, err, sizeof(err)), err, want,
	          "repmgr.conf: conninfo too long");
}

/* ---- identity: file + INI overrides -------------------------------------------------- */

static void cfg_init(struct config *cfg, const char *repmgr_conf)
{
	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->repmgr_conf, sizeof(cfg->repmgr_conf), "%s", repmgr_conf);
	strcpy(cfg->url_template, "http://{name}:8432");
}

static void test_identity(void)
{
	struct config cfg;
	struct identity id;
	char err[2048] = "", want[2048];
	const char *p;

	cfg_init(&cfg, fixture("repmgr-quoted.conf"));
	T_OK(identity_load(&cfg, &id, err, sizeof(err)), "identity: quoted fixture");
	T_EQ_INT(id.node_id, 1, "identity: quoted node_id");
	T_EQ_STR(id.node_name, "node1", "identity: quoted node_name");
	T_EQ_STR(id.conninfo,
	         "host=127.0.0.1 port=5432 user=repmgr dbname=repmgr connect_timeout=2",
	         "identity: quoted conninfo");
	T_EQ_STR(id.location, "dc1", "identity: quoted location");
	T_EQ_STR(id.data_directory, "/var/lib/postgresql/15/node1", "identity: data_directory");

	cfg_init(&cfg, fixture("repmgr-unquoted.conf"));
	T_OK(identity_load(&cfg, &id, err, sizeof(err)), "identity: unquoted fixture");
	T_EQ_INT(id.node_id, 2, "identity: unquoted node_id");
	T_EQ_STR(id.node_name, "db-node-2", "identity: unquoted node_name");
	T_EQ_STR(id.conninfo, "host=db-node-2.example.com user=repmgr dbname=repmgr",
	         "identity: unquoted conninfo");
	T_EQ_STR(id.location, "default", "identity: location defaults to repmgr's \"default\"");

	p = fixture("repmgr-no-node-id.conf");
	cfg_init(&cfg, p);
	snprintf(want, sizeof(want),
	         "%s: node_id not set (expected node_id in repmgr.conf or [node])", p);
	check_err(identity_load(&cfg, &id, err, sizeof(err)), err, want,
	          "identity: missing node_id");
	cfg.node_id = 3;
	T_OK(identity_load(&cfg, &id, err, sizeof(err)), "identity: node_id from the INI");
	T_EQ_INT(id.node_id, 3, "identity: INI node_id used");
	T_EQ_STR(id.node_name, "node3", "identity: name still from repmgr.conf");

	cfg_init(&cfg, fixture("repmgr-quoted.conf"));
	cfg.node_id = 11;
	strcpy(cfg.node_name, "override");
	strcpy(cfg.conninfo, "host=/run/postgresql dbname=repmgr");
	T_OK(identity_load(&cfg, &id, err, sizeof(err)), "identity: overrides");
	T_EQ_INT(id.node_id, 11, "identity: node_id overridden");
	T_EQ_STR(id.node_name, "override", "identity: node_name overridden");
	T_EQ_STR(id.conninfo, "host=/run/postgresql dbname=repmgr",
	         "identity: conninfo overridden");
	T_EQ_STR(id.location, "dc1", "identity: location kept");

	p = fixture("repmgr-bad.conf");
	cfg_init(&cfg, p);
	snprintf(want, sizeof(want), "%s:3: node_name: unterminated quoted string", p);
	check_err(identity_load(&cfg, &id, err, sizeof(err)), err, want,
	          "identity: syntax error names file and line");

	p = tmpfile_path("missing.conf");
	cfg_init(&cfg, p);
	snprintf(want, sizeof(want), "%s: cannot read: No such file or directory", p);
	check_err(identity_load(&cfg, &id, err, sizeof(err)), err, want,
	          "identity: missing file without overrides");
	cfg.node_id = 5;
	strcpy(cfg.node_name, "five");
	check_err(identity_load(&cfg, &id, err, sizeof(err)), err, want,
	          "identity: missing file, conninfo not overridden");
	strcpy(cfg.conninfo, "host=127.0.0.1");
	T_OK(identity_load(&cfg, &id, err, sizeof(err)),
	     "identity: missing file is fine with every override");
	T_EQ_STR(id.node_name, "five", "identity: name from the INI");
	T_EQ_STR(id.location, "default", "identity: default location without repmgr.conf");

	cfg_init(&cfg, "");
	check_err(identity_load(&cfg, &id, err, sizeof(err)), err,
	          "[node]: node_id not set (expected node_id in repmgr.conf or [node])",
	          "identity: no repmgr_conf and no overrides");
	cfg.node_id = 5;
	check_err(identity_load(&cfg, &id, err, sizeof(err)), err,
	          "[node]: node_name not set (expected node_name in repmgr.conf or [node])",
	          "identity: no node_name");
	strcpy(cfg.node_name, "five");
	check_err(identity_load(&cfg, &id, err, sizeof(err)), err,
	          "[node]: conninfo not set (expected conninfo in repmgr.conf or [node])",
	          "identity: no conninfo");

	p = tmpfile_path("nul.conf");
	write_file(p, "node_id=1\0\nnode_name=x\n", 23);
	cfg_init(&cfg, p);
	snprintf(want, sizeof(want), "%s: contains a NUL byte", p);
	check_err(identity_load(&cfg, &id, err, sizeof(err)), err, want,
	          "identity: NUL byte in the file");

	p = tmpfile_path("huge.conf");
	{
		size_t len = 1024 * 1024 + 1;
		char *big = malloc(len);
		memset(big, '#', len);
		write_file(p, big, len);
		free(big);
	}
	cfg_init(&cfg, p);
	snprintf(want, sizeof(want), "%s: cannot read: larger than 1 MiB", p);
	check_err(identity_load(&cfg, &id, err, sizeof(err)), err, want,
	          "identity: oversized file");

	p = tmpfile_path("ctl.conf");
	write_file(p, "node_id=1\nnode_name='a\\nb'\nconninfo=x\n", 38);
	cfg_init(&cfg, p);
	snprintf(want, sizeof(want), "%s: node_name: not printable UTF-8", p);
	check_err(identity_load(&cfg, &id, err, sizeof(err)), err, want,
	          "identity: control character in node_name");
}

/* ---- repmgr.nodes rows ---------------------------------------------------------------- */

#define CI "host=127.0.0.1 port=5432 user=repmgr dbname=repmgr"
#define N63 "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn"

static const struct {
	const char *name;
	const char *f[8];
	enum node_type type;
	bool active;
	int upstream;
	const char *location, *host;
	int priority;
} row_ok[] = {
    {"primary",
     {"1", "node1", "primary", "t", NULL, "dc1", "100", CI},
     NODE_PRIMARY,
     true,
     0,
     "dc1",
     "127.0.0.1",
     100},
    {"standby with upstream",
     {"2", "node2", "standby", "t", "1", "dc1", "0", CI},
     NODE_STANDBY,
     true,
     1,
     "dc1",
     "127.0.0.1",
     0},
    {"inactive old primary",
     {"1", "node1", "primary", "f", NULL, "dc1", "100", CI},
     NODE_PRIMARY,
     false,
     0,
     "dc1",
     "127.0.0.1",
     100},
    {"witness",
     {"3", "w", "witness", "t", "1", "dc1", "0", CI},
     NODE_WITNESS,
     true,
     1,
     "dc1",
     "127.0.0.1",
     0},
    {"bdr is other",
     {"4", "b", "bdr", "t", NULL, "dc1", "100", CI},
     NODE_OTHER,
     true,
     0,
     "dc1",
     "127.0.0.1",
     100},
    {"NULL location is default",
     {"1", "n", "primary", "t", NULL, NULL, "100", CI},
     NODE_PRIMARY,
     true,
     0,
     "default",
     "127.0.0.1",
     100},
    {"negative priority",
     {"1", "n", "standby", "t", NULL, "x", "-5", CI},
     NODE_STANDBY,
     true,
     0,
     "x",
     "127.0.0.1",
     -5},
    {"63-byte name",
     {"1", N63, "primary", "t", NULL, "dc1", "100", CI},
     NODE_PRIMARY,
     true,
     0,
     "dc1",
     "127.0.0.1",
     100},
    {"UTF-8 name",
     {"1",
      "n\xc3\xb6"
      "de",
      "primary", "t", NULL, "dc1", "100", CI},
     NODE_PRIMARY,
     true,
     0,
     "dc1",
     "127.0.0.1",
     100},
    {"hostaddr when no host",
     {"1", "n", "primary", "t", NULL, "dc1", "1", "hostaddr=10.1.2.3"},
     NODE_PRIMARY,
     true,
     0,
     "dc1",
     "10.1.2.3",
     1},
    {"host wins over hostaddr",
     {"1", "n", "primary", "t", NULL, "dc1", "1", "host=db1 hostaddr=10.1.2.3"},
     NODE_PRIMARY,
     true,
     0,
     "dc1",
     "db1",
     1},
    {"unix socket gives no host",
     {"1", "n", "primary", "t", NULL, "dc1", "1", "host=/var/run/postgresql dbname=x"},
     NODE_PRIMARY,
     true,
     0,
     "dc1",
     "",
     1},
    {"socket host, then hostaddr",
     {"1", "n", "primary", "t", NULL, "dc1", "1", "host=/tmp hostaddr=10.0.0.9"},
     NODE_PRIMARY,
     true,
     0,
     "dc1",
     "10.0.0.9",
     1},
    {"no host at all",
     {"1", "n", "primary", "t", NULL, "dc1", "1", "dbname=repmgr"},
     NODE_PRIMARY,
     true,
     0,
     "dc1",
     "",
     1},
    {"first of several hosts",
     {"1", "n", "primary", "t", NULL, "dc1", "1", "host=a,b port=1,2"},
     NODE_PRIMARY,
     true,
     0,
     "dc1",
     "a",
     1},
    {"URI conninfo",
     {"1", "n", "primary", "t", NULL, "dc1", "1",
      "postgresql://repmgr@db1.example.com:5432/repmgr"},
     NODE_PRIMARY,
     true,
     0,
     "dc1",
     "db1.example.com",
     1},
    {"IPv6 host",
     {"1", "n", "primary", "t", NULL, "dc1", "1", "host=::1 port=5432"},
     NODE_PRIMARY,
     true,
     0,
     "dc1",
     "::1",
     1},
    {"IPv6 URI",
     {"1", "n", "primary", "t", NULL, "dc1", "1", "postgresql://[fd00::5]:5432/x"},
     NODE_PRIMARY,
     true,
     0,
     "dc1",
     "fd00::5",
     1},
    {"NULL conninfo",
     {"1", "n", "primary", "t", NULL, "dc1", "1", NULL},
     NODE_PRIMARY,
     true,
     0,
     "dc1",
     "",
     1},
};

static const struct {
	const char *name;
	const char *f[8];
	const char *err;
} row_bad[] = {
    {"NULL node_id",
     {NULL, "n", "primary", "t", NULL, "dc1", "1", CI},
     "repmgr.nodes row: node_id is NULL"},
    {"node_id not a number",
     {"abc", "n", "primary", "t", NULL, "dc1", "1", CI},
     "repmgr.nodes row: invalid node_id \"abc\""},
    {"node_id zero",
     {"0", "n", "primary", "t", NULL, "dc1", "1", CI},
     "repmgr.nodes row: invalid node_id \"0\""},
    {"node_id empty",
     {"", "n", "primary", "t", NULL, "dc1", "1", CI},
     "repmgr.nodes row: invalid node_id \"\""},
    {"node_id overflow",
     {"2147483648", "n", "primary", "t", NULL, "dc1", "1", CI},
     "repmgr.nodes row: invalid node_id \"2147483648\""},
    {"node_id with spaces",
     {" 1", "n", "primary", "t", NULL, "dc1", "1", CI},
     "repmgr.nodes row: invalid node_id \" 1\""},
    {"NULL name",
     {"7", NULL, "primary", "t", NULL, "dc1", "1", CI},
     "node_id 7: node_name is NULL"},
    {"empty name",
     {"7", "", "primary", "t", NULL, "dc1", "1", CI},
     "node_id 7: node_name is empty"},
    {"64-byte name",
     {"7", N63 "n", "primary", "t", NULL, "dc1", "1", CI},
     "node_id 7: node_name too long (max 63 bytes)"},
    {"newline in name",
     {"7", "a\nb", "primary", "t", NULL, "dc1", "1", CI},
     "node_id 7: node_name: not printable UTF-8"},
    {"invalid UTF-8 name",
     {"7", "a\xff", "primary", "t", NULL, "dc1", "1", CI},
     "node_id 7: node_name: not printable UTF-8"},
    {"overlong UTF-8 name",
     {"7", "\xc0\xaf", "primary", "t", NULL, "dc1", "1", CI},
     "node_id 7: node_name: not printable UTF-8"},
    {"truncated UTF-8 name",
     {"7", "a\xe2\x82", "primary", "t", NULL, "dc1", "1", CI},
     "node_id 7: node_name: not printable UTF-8"},
    {"NULL type", {"7", "n", NULL, "t", NULL, "dc1", "1", CI}, "node_id 7: type is NULL"},
    {"upper-case type",
     {"7", "n", "PRIMARY", "t", NULL, "dc1", "1", CI},
     "node_id 7: unknown type \"PRIMARY\" (expected primary, standby, witness or bdr)"},
    {"old type name",
     {"7", "n", "master", "t", NULL, "dc1", "1", CI},
     "node_id 7: unknown type \"master\" (expected primary, standby, witness or bdr)"},
    {"NULL active",
     {"7", "n", "primary", NULL, NULL, "dc1", "1", CI},
     "node_id 7: invalid active \"NULL\" (expected t or f)"},
    {"active spelled out",
     {"7", "n", "primary", "true", NULL, "dc1", "1", CI},
     "node_id 7: invalid active \"true\" (expected t or f)"},
    {"bad upstream",
     {"7", "n", "standby", "t", "one", "dc1", "1", CI},
     "node_id 7: invalid upstream_node_id \"one\""},
    {"zero upstream",
     {"7", "n", "standby", "t", "0", "dc1", "1", CI},
     "node_id 7: invalid upstream_node_id \"0\""},
    {"64-byte location",
     {"7", "n", "standby", "t", NULL, N63 "l", "1", CI},
     "node_id 7: location too long (max 63 bytes)"},
    {"NULL priority",
     {"7", "n", "standby", "t", NULL, "dc1", NULL, CI},
     "node_id 7: invalid priority \"NULL\""},
    {"bad priority",
     {"7", "n", "standby", "t", NULL, "dc1", "1.5", CI},
     "node_id 7: invalid priority \"1.5\""},
    {"garbage conninfo",
     {"7", "n", "standby", "t", NULL, "dc1", "1", "garbage"},
     "node_id 7: conninfo: missing \"=\" after \"garbage\"*"},
    {"unknown conninfo keyword",
     {"7", "n", "standby", "t", NULL, "dc1", "1", "hots=x"},
     "node_id 7: conninfo: invalid connection option \"hots\"*"},
    {"control character in host",
     {"7", "n", "standby", "t", NULL, "dc1", "1", "host='a\tb'"},
     "node_id 7: conninfo: host not printable UTF-8"},
};

static void test_rows(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(row_ok); i++) {
		struct node nd;
		char err[256] = "", n[300];
		bool ok = topology_node_from_row(row_ok[i].f, &nd, err, sizeof(err));
		snprintf(n, sizeof(n), "row %s", row_ok[i].name);
		if (!T_OK(ok, n)) {
			printf("#   %s\n", err);
			continue;
		}
		T_EQ_STR(nd.name, row_ok[i].f[1], n);
		T_EQ_INT(nd.type, row_ok[i].type, n);
		T_EQ_INT(nd.active, row_ok[i].active, n);
		T_EQ_INT(nd.upstream_id, row_ok[i].upstream, n);
		T_EQ_STR(nd.location, row_ok[i].location, n);
		T_EQ_STR(nd.host, row_ok[i].host, n);
		T_EQ_INT(nd.priority, row_ok[i].priority, n);
		T_OK(!nd.in_scope && nd.url[0] == '\0', n);
	}
	for (size_t i = 0; i < ARRAY_SIZE(row_bad); i++) {
		struct node nd;
		char err[256] = "", n[300];
		bool ok = topology_node_from_row(row_bad[i].f, &nd, err, sizeof(err));
		snprintf(n, sizeof(n), "row %s", row_bad[i].name);
		check_err(ok, err, row_bad[i].err, n);
	}
}

static void test_row_long_host(void)
{
	char conninfo[400], err[256] = "";
	const char *f[8] = {"9", "n", "standby", "t", NULL, "dc1", "1", conninfo};
	struct node nd;

	strcpy(conninfo, "host=");
	memset(conninfo + 5, 'h', 300);
	conninfo[305] = '\0';
	check_err(topology_node_from_row(f, &nd, err, sizeof(err)), err,
	          "node_id 9: conninfo: host too long", "row with a 300-byte host");
}

/* ---- peer URLs -------------------------------------------------------------------------- */

static const struct {
	const char *name;
	const char *tmpl, *replace, *suffix, *override; /* override: "name=url" */
	const char *node, *host;
	int id;
	size_t size;      /* 0: CONFIG_URL_MAX */
	const char *want; /* NULL: no URL */
} url_cases[] = {
    {"plain name", "http://{name}:8432", "", "", "", "node1", "", 1, 0, "http://node1:8432"},
    {"'-' replaced by '_'", "http://{name}:8432", "-:_", "", "", "db-node-1", "", 1, 0,
     "http://db_node_1:8432"},
    {"two replacements", "http://{name}:8432", "-:_,.:-", "", "", "a-b.c", "", 1, 0,
     "http://a_b-c:8432"},
    {"first replacement wins", "http://{name}:8432", "-:_,-:.", "", "", "a-b", "", 1, 0,
     "http://a_b:8432"},
    {"replacement and suffix", "http://{name}:8432", "-:_", ".db.example.com", "", "db-node-1", "",
     1, 0, "http://db_node_1.db.example.com:8432"},
    {"{host} name", "http://{host}:8432", "", "", "", "n", "db1.example.com", 1, 0,
     "http://db1.example.com:8432"},
    {"{host} IPv4", "http://{host}:8432", "", "", "", "n", "10.0.0.5", 1, 0,
     "http://10.0.0.5:8432"},
    {"{host} IPv6 in brackets", "http://{host}:8432", "", "", "", "n", "::1", 1, 0,
     "http://[::1]:8432"},
    {"{host} IPv4-mapped IPv6", "https://{host}:8432", "", "", "", "n", "::ffff:10.0.0.1", 1, 0,
     "https://[::ffff:10.0.0.1]:8432"},
    {"{host} IPv6 zone refused", "http://{host}:8432", "", "", "", "n", "fe80::1%eth0", 1, 0, NULL},
    {"{host} empty refused", "http://{host}:8432", "", "", "", "n", "", 1, 0, NULL},
    {"{host} with a slash refused", "http://{host}:8432", "", "", "", "n", "a/b", 1, 0, NULL},
    {"{host} with a user part refused", "http://{host}:8432", "", "", "", "n", "u@h", 1, 0, NULL},
    {"{id}", "http://10.0.0.{id}:8432", "", "", "", "n", "", 42, 0, "http://10.0.0.42:8432"},
    {"all three", "http://{name}-{id}.{host}:1", "", "", "", "a", "b", 3, 0, "http://a-3.b:1"},
    {"no placeholder", "http://fixed:8432", "", "", "", "n", "", 1, 0, "http://fixed:8432"},
    {"trailing slashes stripped", "http://{name}:8432//", "", "", "", "n", "", 1, 0,
     "http://n:8432"},
    {"override wins", "http://{name}:8432", "", "", "node1=https://node1.example.com:9443/",
     "node1", "", 1, 0, "https://node1.example.com:9443"},
    {"override wins even for an unsafe name", "http://{name}:8432", "", "",
     "my node=http://10.0.0.1:8432", "my node", "", 1, 0, "http://10.0.0.1:8432"},
    {"override for another node", "http://{name}:8432", "", "", "node1=http://x:1", "node2", "", 2,
     0, "http://node2:8432"},
    {"override is matched exactly", "http://{name}:8432", "", "", "Node1=http://x:1", "node1", "",
     1, 0, "http://node1:8432"},
    {"override too long for the buffer", "http://{name}:8432", "", "",
     "node1=http://a-long-override.example.com:8432", "node1", "", 1, 20, NULL},
    {"unknown placeholder", "http://{name}:{port}", "", "", "", "n", "", 1, 0, NULL},
    {"empty placeholder", "http://{}:8432", "", "", "", "n", "", 1, 0, NULL},
    {"unterminated placeholder", "http://{name:8432", "", "", "", "n", "", 1, 0, NULL},
    {"result too long", "http://{name}:8432", "", "", "", "node1", "", 1, 17, NULL},
    {"result just fits", "http://{name}:8432", "", "", "", "node1", "", 1, 18, "http://node1:8432"},
    {"empty result", "", "", "", "", "n", "", 1, 0, NULL},
    {"name with a slash", "http://{name}:8432", "", "", "", "node/1", "", 1, 0, NULL},
    {"name with a space", "http://{name}:8432", "", "", "", "a b", "", 1, 0, NULL},
    {"name with '@'", "http://{name}:8432", "", "", "", "x@evil", "", 1, 0, NULL},
    {"name with ':'", "http://{name}:8432", "", "", "", "node1:80", "", 1, 0, NULL},
    {"name with '?'", "http://{name}:8432", "", "", "", "a?b", "", 1, 0, NULL},
    {"name '..'", "http://gw/{name}", "", "", "", "..", "", 1, 0, NULL},
    {"name starting with '-'", "http://{name}:8432", "", "", "", "-x", "", 1, 0, NULL},
    {"non-ASCII name", "http://{name}:8432", "", "", "",
     "n\xc3\xb6"
     "de",
     "", 1, 0, NULL},
    {"replacement makes a name unsafe", "http://{name}:8432", "-:/", "", "", "a-b", "", 1, 0, NULL},
    {"replacement makes a name safe", "http://{name}:8432", " :_", "", "", "a b", "", 1, 0,
     "http://a_b:8432"},
    {"unsafe suffix", "http://{name}:8432", "", "/x", "", "a", "", 1, 0, NULL},
    {"63-byte name and 63-byte suffix", "http://{name}:8432", "", N63, "", N63, "", 1, 0,
     "http://" N63 N63 ":8432"},
};

static void url_cfg(struct config *cfg, const char *tmpl, const char *replace, const char *suffix,
                    const char *override)
{
	cfg_init(cfg, "");
	snprintf(cfg->url_template, sizeof(cfg->url_template), "%s", tmpl);
	snprintf(cfg->name_suffix, sizeof(cfg->name_suffix), "%s", suffix);
	for (const char *p = replace; p[0] && p[1] == ':' && p[2]; p += p[3] ? 4 : 3) {
		cfg->replace[cfg->nreplace].from = p[0];
		cfg->replace[cfg->nreplace].to = p[2];
		cfg->nreplace++;
		if (!p[3])
			break;
	}
	if (override[0]) {
		const char *eq = strchr(override, '=');
		snprintf(cfg->peers[0].name, sizeof(cfg->peers[0].name), "%.*s",
		         (int)(eq - override), override);
		snprintf(cfg->peers[0].url, sizeof(cfg->peers[0].url), "%s", eq + 1);
		cfg->npeers = 1;
	}
}

static void test_urls(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(url_cases); i++) {
		struct config cfg;
		struct node nd;
		char url[CONFIG_URL_MAX], n[300];
		size_t size = url_cases[i].size ? url_cases[i].size : sizeof(url);
		bool ok;

		url_cfg(&cfg, url_cases[i].tmpl, url_cases[i].replace, url_cases[i].suffix,
		        url_cases[i].override);
		memset(&nd, 0, sizeof(nd));
		nd.id = url_cases[i].id;
		snprintf(nd.name, sizeof(nd.name), "%s", url_cases[i].node);
		snprintf(nd.host, sizeof(nd.host), "%s", url_cases[i].host);
		memset(url, 'X', sizeof(url));
		ok = topology_peer_url(&cfg, &nd, url, size);
		snprintf(n, sizeof(n), "url %s", url_cases[i].name);
		if (url_cases[i].want) {
			if (T_OK(ok, n))
				T_EQ_STR(url, url_cases[i].want, n);
		} else {
			T_OK(!ok, n);
			T_EQ_STR(url, "", n);
		}
	}
}

/* ---- scope ------------------------------------------------------------------------------- */

static const struct {
	const char *name;
	enum scope scope;
	const char *locations; /* comma list for SCOPE_LIST */
	const char *self_location;
	const char *want; /* in_scope per node of scope_nodes, as 0/1 */
} scope_cases[] = {
    {"location dc1", SCOPE_LOCATION, "", "dc1", "110100"},
    {"location dc2", SCOPE_LOCATION, "", "dc2", "001000"},
    {"location without a match", SCOPE_LOCATION, "", "dc9", "000000"},
    {"location NULL is default", SCOPE_LOCATION, "", NULL, "000001"},
    {"cluster", SCOPE_CLUSTER, "", "dc1", "111101"},
    {"list dc1,dc2", SCOPE_LIST, "dc1,dc2", "dc1", "111100"},
    {"list dc2 from dc1", SCOPE_LIST, "dc2", "dc1", "001000"},
    {"list default", SCOPE_LIST, "default", "dc1", "000001"},
    {"empty list", SCOPE_LIST, "", "dc1", "000000"},
};

static const struct {
	const char *name, *type, *location;
} scope_nodes[] = {
    {"node1", "primary", "dc1"},    {"node-2", "standby", "dc1"}, {"node3", "standby", "dc2"},
    {"witness1", "witness", "dc1"}, {"bdr1", "bdr", "dc1"},       {"bad name", "standby", NULL},
};

static void test_scope(void)
{
	struct node nodes[ARRAY_SIZE(scope_nodes)];

	for (size_t i = 0; i < ARRAY_SIZE(scope_nodes); i++) {
		char id[8], err[256];
		const char *f[8] = {id,
		                    scope_nodes[i].name,
		                    scope_nodes[i].type,
		                    "t",
		                    NULL,
		                    scope_nodes[i].location,
		                    "100",
		                    "host=10.0.0.1"};
		snprintf(id, sizeof(id), "%zu", i + 1);
		if (!topology_node_from_row(f, &nodes[i], err, sizeof(err))) {
			printf("# bad scope node: %s\n", err);
			exit(2);
		}
	}
	for (size_t c = 0; c < ARRAY_SIZE(scope_cases); c++) {
		struct config cfg;
		char got[ARRAY_SIZE(scope_nodes) + 1], n[300], *loc, *save = NULL;

		cfg_init(&cfg, "");
		cfg.scope = scope_cases[c].scope;
		loc = strdup(scope_cases[c].locations);
		for (char *l = strtok_r(loc, ",", &save); l; l = strtok_r(NULL, ",", &save))
			snprintf(cfg.locations[cfg.nlocations++], CONFIG_NAME_MAX, "%s", l);
		free(loc);
		cfg.replace[0] = (struct name_replace){'-', '_'};
		cfg.nreplace = 1;
		topology_apply_rules(&cfg, nodes, ARRAY_SIZE(nodes), scope_cases[c].self_location);
		for (size_t i = 0; i < ARRAY_SIZE(nodes); i++)
			got[i] = nodes[i].in_scope ? '1' : '0';
		got[ARRAY_SIZE(nodes)] = '\0';
		snprintf(n, sizeof(n), "scope %s", scope_cases[c].name);
		T_EQ_STR(got, scope_cases[c].want, n);
	}
	T_EQ_STR(nodes[1].url, "http://node_2:8432", "apply_rules: url with replacements");
	T_EQ_STR(nodes[2].url, "http://node3:8432", "apply_rules: url for out-of-scope nodes too");
	T_EQ_STR(nodes[5].url, "", "apply_rules: unsafe name gets no url");
}

/* ---- check, find, type names ------------------------------------------------------------ */

static void test_check_find(void)
{
	struct node nodes[3];
	char err[256];

	memset(nodes, 0, sizeof(nodes));
	nodes[0].id = 1;
	strcpy(nodes[0].name, "a");
	nodes[1].id = 2;
	strcpy(nodes[1].name, "b");
	nodes[2].id = 3;
	strcpy(nodes[2].name, "c");
	T_OK(topology_check(nodes, 3, err, sizeof(err)), "check: distinct ids and names");
	check_err(topology_check(NULL, 0, err, sizeof(err)), err, "no rows in repmgr.nodes",
	          "check: no rows");
	check_err(topology_check(nodes, TOPOLOGY_MAX_NODES + 1, err, sizeof(err)), err,
	          "too many rows in repmgr.nodes (1025, max 1024)", "check: too many rows");
	nodes[2].id = 1;
	check_err(topology_check(nodes, 3, err, sizeof(err)), err,
	          "duplicate node_id 1 in repmgr.nodes", "check: duplicate id");
	nodes[2].id = 3;
	strcpy(nodes[2].name, "b");
	check_err(topology_check(nodes, 3, err, sizeof(err)), err,
	          "duplicate node_name b in repmgr.nodes (node_id 2 and 3)",
	          "check: duplicate name");
	T_OK(topology_find(nodes, 3, 2) == &nodes[1], "find: present");
	T_OK(topology_find(nodes, 3, 9) == NULL, "find: absent");
	T_OK(topology_find(NULL, 0, 1) == NULL, "find: empty");
	T_EQ_STR(topology_type_name(NODE_PRIMARY), "primary", "type name primary");
	T_EQ_STR(topology_type_name(NODE_STANDBY), "standby", "type name standby");
	T_EQ_STR(topology_type_name(NODE_WITNESS), "witness", "type name witness");
	T_EQ_STR(topology_type_name(NODE_OTHER), "other", "type name other");
}

/* ---- cache ------------------------------------------------------------------------------- */

static void test_cache_roundtrip(void)
{
	static const char *const rows[][8] = {
	    {"1", "node1", "primary", "f", NULL, "dc1", "100", "host=10.0.0.1"},
	    {"2", "node \"2\" \\ \xc3\xa9", "primary", "t", NULL, "dc1", "-3", "host=::1"},
	    {"3", "node3", "standby", "t", "2", "dc2", "0", "host=/tmp"},
	    {"4", "w", "witness", "t", "2", NULL, "0", NULL},
	    {"5", "b", "bdr", "f", NULL, "", "7", "hostaddr=10.0.0.5"},
	};
	struct node in[ARRAY_SIZE(rows)], *out = NULL;
	size_t n = 0;
	char err[256] = "";
	const char *p = tmpfile_path("topology.json");
	struct stat st;
	bool same = true;

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		if (!topology_node_from_row(rows[i], &in[i], err, sizeof(err))) {
			printf("# bad cache row: %s\n", err);
			exit(2);
		}
	}
	umask(022);
	T_EQ_INT(topology_cache_write(p, in, ARRAY_SIZE(in)), 0, "cache: write");
	T_OK(stat(p, &st) == 0 && (st.st_mode & 0777) == 0644, "cache: mode 0644");
	if (!T_OK(topology_cache_read(p, &out, &n, err, sizeof(err)), "cache: read back"))
		printf("#   %s\n", err);
	T_EQ_INT(n, ARRAY_SIZE(in), "cache: node count");
	for (size_t i = 0; out && i < n && i < ARRAY_SIZE(in); i++) {
		same = same && out[i].id == in[i].id && strcmp(out[i].name, in[i].name) == 0 &&
		       out[i].type == in[i].type && out[i].active == in[i].active &&
		       out[i].upstream_id == in[i].upstream_id &&
		       strcmp(out[i].location, in[i].location) == 0 &&
		       out[i].priority == in[i].priority && strcmp(out[i].host, in[i].host) == 0 &&
		       !out[i].in_scope && !out[i].url[0];
	}
	T_OK(same, "cache: every field survives");
	free(out);

	/* Rewriting replaces the file whole; no temp file is left behind. */
	T_EQ_INT(topology_cache_write(p, in, 1), 0, "cache: rewrite");
	T_OK(topology_cache_read(p, &out, &n, err, sizeof(err)) && n == 1, "cache: rewritten");
	free(out);
	{
		char tmp[CONFIG_PATH_MAX + 32];
		snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", p, (long)getpid());
		T_OK(access(tmp, F_OK) != 0, "cache: no temp file left");
	}

	errno = 0;
	T_EQ_INT(topology_cache_write(tmpfile_path("no/such/dir/t.json"), in, 1), -1,
	         "cache: write into a missing directory fails");
	T_EQ_INT(errno, ENOENT, "cache: with ENOENT");
	strcpy(in[0].name, "bad\xff");
	errno = 0;
	T_EQ_INT(topology_cache_write(tmpfile_path("bad.json"), in, 1), -1,
	         "cache: a name that is not UTF-8 fails the write");
	T_EQ_INT(errno, EINVAL, "cache: with EINVAL");
	T_OK(access(tmpfile_path("bad.json"), F_OK) != 0, "cache: nothing written");
}

#define NODE_OK                                                                                    \
	"{\"id\":1,\"name\":\"n\",\"type\":\"primary\",\"active\":true,\"upstream_id\":null,"      \
	"\"location\":\"dc1\",\"priority\":100,\"host\":\"h\"}"
#define WRAP(nodes) "{\"version\":1,\"nodes\":[" nodes "]}"

static const struct {
	const char *name, *text, *err; /* err after "<path>": */
} cache_cases[] = {
    {"minimal valid", WRAP(NODE_OK), NULL},
    {"upstream 0 and extra keys accepted",
     WRAP("{\"id\":1,\"name\":\"n\",\"type\":\"standby\",\"active\":false,\"upstream_id\":0,"
          "\"location\":\"\",\"priority\":-1,\"host\":\"\",\"future\":[1]}"),
     NULL},
    {"empty file", "", ":1:0: '[' or '{' expected near end of file"},
    {"not JSON", "hello", ":1:5: '[' or '{' expected near 'hello'"},
    {"truncated", "{\"version\":1,\"nodes\":[{\"id\":1", ":1:29: *"},
    {"binary garbage", "\x01\x02\xff\xfe", ":1:*"},
    {"trailing garbage", WRAP(NODE_OK) "x", ":1:*"},
    {"array at the top", "[]", ": expected an object with \"version\": 1"},
    {"wrong version", "{\"version\":2,\"nodes\":[]}", ": expected an object with \"version\": 1"},
    {"version as a string", "{\"version\":\"1\",\"nodes\":[]}",
     ": expected an object with \"version\": 1"},
    {"duplicate keys", "{\"version\":1,\"version\":1,\"nodes\":[]}", ":1:*"},
    {"no nodes", "{\"version\":1}", ": \"nodes\": expected an array"},
    {"nodes not an array", "{\"version\":1,\"nodes\":{}}", ": \"nodes\": expected an array"},
    {"empty nodes", WRAP(""), ": \"nodes\": expected 1-1024 nodes, got 0"},
    {"node not an object", WRAP("1"), ": nodes[0]: expected an object"},
    {"second node not an object", WRAP(NODE_OK ",null"), ": nodes[1]: expected an object"},
    {"missing id", WRAP("{\"name\":\"n\"}"), ": nodes[0]: \"id\": expected an integer"},
    {"id as a string", WRAP("{\"id\":\"1\"}"), ": nodes[0]: \"id\": expected an integer"},
    {"id zero", WRAP("{\"id\":0}"), ": nodes[0]: \"id\": 0 out of range"},
    {"id too big", WRAP("{\"id\":1099511627776}"),
     ": nodes[0]: \"id\": 1099511627776 out of range"},
    {"id as a real", WRAP("{\"id\":1.0}"), ": nodes[0]: \"id\": expected an integer"},
    {"empty name", WRAP("{\"id\":1,\"name\":\"\"}"),
     ": nodes[0]: \"name\": expected non-empty printable text of at most 63 bytes"},
    {"long name", WRAP("{\"id\":1,\"name\":\"" N63 "n\"}"),
     ": nodes[0]: \"name\": expected non-empty printable text of at most 63 bytes"},
    {"NUL in name (jansson refuses it)", WRAP("{\"id\":1,\"name\":\"a\\u0000b\"}"),
     ":1:47: \\u0000 is not allowed*"},
    {"newline in name", WRAP("{\"id\":1,\"name\":\"a\\nb\"}"),
     ": nodes[0]: \"name\": expected non-empty printable text of at most 63 bytes"},
    {"name not a string", WRAP("{\"id\":1,\"name\":5}"), ": nodes[0]: \"name\": expected a string"},
    {"unknown type",
     WRAP("{\"id\":1,\"name\":\"n\",\"type\":\"master\",\"active\":true,"
          "\"location\":\"\",\"priority\":1,\"host\":\"\"}"),
     ": nodes[0]: unknown type \"master\""},
    {"active as a string",
     WRAP("{\"id\":1,\"name\":\"n\",\"type\":\"primary\",\"active\":\"t\","
          "\"location\":\"\",\"priority\":1,\"host\":\"\"}"),
     ": nodes[0]: \"active\": expected a boolean"},
    {"bad upstream", WRAP("{\"id\":1,\"name\":\"n\",\"type\":\"primary\",\"upstream_id\":\"2\"}"),
     ": nodes[0]: \"upstream_id\": expected an integer"},
    {"negative upstream", WRAP("{\"id\":1,\"name\":\"n\",\"type\":\"primary\",\"upstream_id\":-2}"),
     ": nodes[0]: \"upstream_id\": -2 out of range"},
    {"priority real",
     WRAP("{\"id\":1,\"name\":\"n\",\"type\":\"primary\",\"location\":\"\","
          "\"priority\":1.5}"),
     ": nodes[0]: \"priority\": expected an integer"},
    {"priority overflow",
     WRAP("{\"id\":1,\"name\":\"n\",\"type\":\"primary\",\"location\":\"\","
          "\"priority\":2147483648}"),
     ": nodes[0]: \"priority\": 2147483648 out of range"},
    {"missing host",
     WRAP("{\"id\":1,\"name\":\"n\",\"type\":\"primary\",\"location\":\"\","
          "\"priority\":1}"),
     ": nodes[0]: \"host\": expected a string"},
    {"duplicate ids", WRAP(NODE_OK "," NODE_OK), ": duplicate node_id 1 in repmgr.nodes"},
};

static void test_cache_corrupt(void)
{
	const char *p = tmpfile_path("corrupt.json");

	for (size_t i = 0; i < ARRAY_SIZE(cache_cases); i++) {
		struct node *out = (struct node *)1;
		size_t n = 99;
		char err[2048] = "", want[2048], name[300];
		bool ok;

		write_file(p, cache_cases[i].text, strlen(cache_cases[i].text));
		ok = topology_cache_read(p, &out, &n, err, sizeof(err));
		snprintf(name, sizeof(name), "cache %s", cache_cases[i].name);
		if (!cache_cases[i].err) {
			if (!T_OK(ok && n == 1 && out, name))
				printf("#   %s\n", err);
			free(out);
			continue;
		}
		snprintf(want, sizeof(want), "%s%s", p, cache_cases[i].err);
		check_err(ok, err, want, name);
		T_OK(out == NULL && n == 0, name);
	}
}

static void test_cache_limits(void)
{
	const char *p = tmpfile_path("big.json");
	struct buf b;
	struct node *out;
	size_t n;
	char err[2048], want[2048];

	/* 1025 valid, distinct nodes: refused by count, not by size. */
	buf_init(&b, 2 * 1024 * 1024);
	T_OK(buf_printf(&b, "{\"version\":1,\"nodes\":["), "build big cache");
	for (int i = 1; i <= TOPOLOGY_MAX_NODES + 1; i++)
		if (!buf_printf(
		        &b,
		        "%s{\"id\":%d,\"name\":\"n%d\",\"type\":\"standby\",\"active\":true,"
		        "\"location\":\"x\",\"priority\":1,\"host\":\"h\"}",
		        i > 1 ? "," : "", i, i))
			break;
	T_OK(buf_printf(&b, "]}"), "build big cache: end");
	write_file(p, b.data, b.len);
	snprintf(want, sizeof(want), "%s: \"nodes\": expected 1-1024 nodes, got 1025", p);
	check_err(topology_cache_read(p, &out, &n, err, sizeof(err)), err, want,
	          "cache with 1025 nodes");

	/* Past 1 MiB the file is not even parsed. */
	buf_reset(&b);
	T_OK(buf_printf(&b, "{\"version\":1,\"nodes\":[" NODE_OK "],\"pad\":\""), "build huge");
	while (b.len <= TOPOLOGY_CACHE_MAX)
		if (!buf_printf(&b, "%s", "pppppppppppppppppppppppppppppppppppppppppppppppp"))
			break;
	T_OK(buf_printf(&b, "\"}"), "build huge: end");
	write_file(p, b.data, b.len);
	snprintf(want, sizeof(want), "%s: cannot read: larger than 1 MiB", p);
	check_err(topology_cache_read(p, &out, &n, err, sizeof(err)), err, want,
	          "cache over 1 MiB");
	buf_free(&b);

	p = tmpfile_path("absent.json");
	snprintf(want, sizeof(want), "%s: cannot read: No such file or directory", p);
	check_err(topology_cache_read(p, &out, &n, err, sizeof(err)), err, want, "cache missing");
}

static void cleanup(void)
{
	static const char *const names[] = {"nul.conf",      "huge.conf",    "ctl.conf",
	                                    "topology.json", "corrupt.json", "big.json"};

	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		unlink(tmpfile_path(names[i]));
	if (rmdir(tmpdir) != 0)
		printf("# cannot remove %s: %s\n", tmpdir, strerror(errno));
}

int main(void)
{
	if (!mkdtemp(tmpdir)) {
		printf("# mkdtemp: %s\n", strerror(errno));
		return 2;
	}
	test_conf_text();
	test_conf_long_conninfo();
	test_identity();
	test_rows();
	test_row_long_host();
	test_urls();
	test_scope();
	test_check_find();
	test_cache_roundtrip();
	test_cache_corrupt();
	test_cache_limits();
	cleanup();
	return t_done();
}

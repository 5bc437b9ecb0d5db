/* test_config: INI fixtures -> exact error text, good files -> values, print/reload round
 * trips, long lines, the docs (example INI and man page name every key). */
#include "config.h"
#include "log.h"
#include "t.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *srcdir;
static char tmpdir[] = "/tmp/primgr-test-config.XXXXXX";

/* Broken files: the error after "<path>". */
static const struct {
	const char *file;
	const char *err;
} bad[] = {
    /* phase 1: syntax */
    {"bad-port.ini", ":14: [http] listen: invalid port \"abc\" (expected 1-65535)"},
    {"missing-eq.ini", ":2: syntax error: missing '=' in \"listen *:8432\" (expected key = value)"},
    {"missing-bracket.ini", ":1: syntax error: missing ']' after section name"},
    {"text-after-section.ini", ":1: syntax error: text after ']'"},
    {"empty-key.ini", ":2: syntax error: missing key name before '='"},
    {"key-before-section.ini", ":1: key \"pool_size\" before any [section]"},
    {"unknown-section.ini", ":3: unknown section [databse]"},
    {"unknown-key.ini", ":3: unknown key \"foo\" in [database]"},
    {"duplicate-key.ini", ":5: [database] pool_size: duplicate key (first set on line 3)"},
    {"duplicate-peer.ini", ":3: [peers] node1: duplicate key (first set on line 2)"},
    {"unterminated-quote.ini", ":2: [node] node_name: missing closing '\"'"},
    /* phase 1: values */
    {"bad-duration.ini", ":2: [database] refresh_interval: invalid duration \"2x\" (expected a "
                         "whole number and ms, s, m or h, e.g. 500ms)"},
    {"duration-range.ini",
     ":2: [database] refresh_interval: duration \"50ms\" out of range (expected 100ms-1h)"},
    {"pool-range.ini", ":2: [database] pool_size: \"100\" out of range (expected 1-64)"},
    {"pool-notint.ini", ":2: [database] pool_size: invalid integer \"three\" (expected 1-64)"},
    {"bad-scope.ini", ":2: [consensus] scope: invalid value \"world\" (expected location, "
                      "cluster or list)"},
    {"bad-level.ini", ":2: [log] level: invalid value \"loud\" (expected debug, info, notice, "
                      "warning or error)"},
    {"bad-bool.ini", ":2: [server] allow_root: invalid boolean \"maybe\" (expected true or false)"},
    {"bad-role.ini", ":2: [agent] listen: invalid role \"/master\" in \"*:8434/master\" "
                     "(expected /primary, /replica or /send)"},
    {"missing-role.ini", ":2: [agent] listen: missing role in \"*:8433\" (expected /primary, "
                         "/replica or /send)"},
    {"http-role.ini", ":2: [http] listen: role suffix in \"*:8432/primary\" (only [agent] "
                      "listen takes /primary, /replica or /send)"},
    {"ipv6-brackets.ini", ":2: [http] listen: invalid address \"::1:8432\" (write IPv6 "
                          "addresses as [::1]:port)"},
    {"empty-list-item.ini", ":2: [http] listen: empty address in the list"},
    {"relative-path.ini",
     ":2: [files] pidfile: relative path \"run/primgr.pid\" (expected an absolute path)"},
    {"empty-required.ini", ":2: [files] admin_state: empty value (expected an absolute path)"},
    {"bad-conninfo.ini", ":2: [node] conninfo: invalid conninfo: missing \"=\" after \"host\" in "
                         "connection info string"},
    {"bad-template.ini", ":2: [consensus] url_template: invalid URL template "
                         "\"ftp://{host}:8432\" (expected http://... or https://..., no spaces)"},
    {"template-placeholder.ini", ":2: [consensus] url_template: unknown placeholder in "
                                 "\"http://{hostname}:8432\" (expected {name}, {host} or {id})"},
    {"template-none.ini", ":2: [consensus] url_template: \"http://db.example.com:8432\" has "
                          "no {name}, {host} or {id} (every peer would get the same URL)"},
    {"bad-replace.ini", ":2: [consensus] name_replace: invalid replacement \"-_\" (expected "
                        "from:to, two characters, e.g. -:_)"},
    {"bad-suffix.ini", ":2: [consensus] name_suffix: invalid character '/' in "
                       "\".example.com/x\" (expected letters, digits, '.', '-' or '_')"},
    {"bad-peer-url.ini", ":3: [peers] node2: invalid URL \"node2:8432\" (expected "
                         "http://host:port or https://host:port)"},
    {"duplicate-location.ini", ":3: [consensus] locations: location \"dc1\" listed twice"},
    /* phase 2: cross-field */
    {"statement-timeout.ini", ":2: [database] statement_timeout: 3s must not be longer than "
                              "db_timeout (2s, default)"},
    {"stale-after.ini",
     ":3: [database] stale_after: 5s must be longer than db_timeout (6s, line 2)"},
    {"refresh-stale.ini",
     ":4: [database] stale_after: 1s must be longer than refresh_interval (1s, default)"},
    {"peer-timeout.ini", ":2: [consensus] peer_timeout: 5s must be shorter than [database] "
                         "stale_after (5s, default)"},
    {"connect-timeout.ini", ":2: [consensus] peer_connect_timeout: 1s must not be longer than "
                            "peer_timeout (500ms, default)"},
    {"bad-size.ini", ":2: [replica] max_lag_bytes: invalid size \"16 MB\" (expected none, or a "
                     "whole number and B, kB, MB, GB or TB, e.g. 16MB)"},
    {"lag.ini", ":2: [replica] lag_full: 30s must be shorter than max_lag (30s, default)"},
    {"scope-list.ini", ":2: [consensus] scope: list needs locations (expected e.g. locations = "
                       "dc1,dc2)"},
    {"locations-no-list.ini", ":2: [consensus] locations: only used with scope = list (scope "
                              "is location, default)"},
    {"cert-no-key.ini",
     ":2: [consensus] peer_cert: set without peer_key (expected both or neither)"},
    {"no-repmgr-conf.ini", ":2: [node] repmgr_conf: empty, so node_id, node_name and conninfo "
                           "must all be set (conninfo is not)"},
    {"no-http.ini", ":2: [http] listen: no address, nor in tls_listen (expected at least one: peers fetch "
                    "/primary from it)"},
    {"listen-conflict.ini", ":5: [agent] listen: 127.0.0.1:8432/primary conflicts with *:8432 "
                            "in [http] listen (line 2)"},
    {"listen-same.ini", ":2: [http] listen: *:8432 conflicts with 127.0.0.1:8432 in the same list"},
    {"tls-listen-conflict.ini", ":3: [http] tls_listen: 127.0.0.1:8432 conflicts with *:8432 in "
                                "[http] listen (line 2)"},
    {"tls-no-cert.ini", ":2: [http] tls_listen: set without tls_cert_file and tls_key_file "
                        "(expected both: the listener's certificate and key)"},
    {"tls-cert-no-key.ini",
     ":3: [http] tls_cert_file: set without tls_key_file (expected both or neither)"},
    {"bad-allow.ini", ":2: [http] allow: invalid address \"10.1.0.0/8\" (expected an IPv4 or "
                      "IPv6 address, or a CIDR block without host bits such as 10.0.0.0/8 or "
                      "2001:db8::/32)"},
    {"bad-tls-version.ini", ":2: [http] tls_min_version: invalid value \"1.1\" (expected 1.2 or "
                            "1.3)"},
    {"same-file.ini", ":3: [files] pidfile: same file as admin_state (line 2)"},
};

/* Index of a key in the table, as used by key_line. */
static int key_idx(const char *section, const char *name)
{
	const char *s, *n;

	for (int i = 0; config_key_at(i, &s, &n); i++)
		if (strcmp(s, section) == 0 && strcmp(n, name) == 0)
			return i;
	return -1;
}

static char *fixture(const char *name)
{
	static char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/tests/fixtures/%s", srcdir, name);
	return path;
}

static char *tmpfile_path(const char *name)
{
	static char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	return path;
}

static char *write_tmp(const char *name, const char *data, size_t len)
{
	char *path = tmpfile_path(name);
	FILE *f = fopen(path, "w");

	if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
		printf("# cannot write %s: %s\n", path, strerror(errno));
		exit(1);
	}
	return path;
}

/* The printed configuration without its first line (which names the file). */
static char *print_body(const struct config *cfg)
{
	char *text = NULL, *body;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	config_print(f, cfg);
	fclose(f);
	body = strdup(strchr(text, '\n') + 1);
	free(text);
	return body;
}

static void test_bad_files(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct config cfg;
		char err[1024] = "", want[PATH_MAX + 512], name[128];
		const char *path = fixture(bad[i].file);

		snprintf(want, sizeof(want), "%s%s", path, bad[i].err);
		snprintf(name, sizeof(name), "%s is rejected", bad[i].file);
		T_OK(!config_load(path, &cfg, err, sizeof(err)), name);
		snprintf(name, sizeof(name), "%s: exact error text", bad[i].file);
		T_EQ_STR(err, want, name);
	}
}

static void test_defaults(void)
{
	struct config cfg;
	char err[512] = "";

	config_defaults(&cfg);
	T_EQ_STR(cfg.repmgr_conf, "/etc/repmgr.conf", "default repmgr_conf");
	T_EQ_INT(cfg.node_id, 0, "default node_id");
	T_EQ_INT(cfg.pool_size, 3, "default pool_size");
	T_EQ_INT(cfg.refresh_interval_ms, 1000, "default refresh_interval");
	T_EQ_INT(cfg.db_timeout_ms, 2000, "default db_timeout");
	T_EQ_INT(cfg.statement_timeout_ms, 1000, "default statement_timeout");
	T_EQ_INT(cfg.stale_after_ms, 5000, "default stale_after");
	T_EQ_INT(cfg.reconnect_max_ms, 10000, "default reconnect_max");
	T_EQ_INT(cfg.scope, SCOPE_LOCATION, "default scope");
	T_EQ_INT(cfg.nlocations, 0, "default locations");
	T_EQ_INT(cfg.peer_timeout_ms, 500, "default peer_timeout");
	T_EQ_INT(cfg.peer_connect_timeout_ms, 250, "default peer_connect_timeout");
	T_EQ_STR(cfg.url_template, "http://{host}:8432", "default url_template");
	T_EQ_INT(cfg.nreplace, 0, "default name_replace: none");
	T_EQ_INT(cfg.nhttp_listen, 1, "default http listeners");
	T_OK(cfg.http_listen[0].host[0] == '\0' && cfg.http_listen[0].port == 8432,
	     "default http listen *:8432");
	T_OK(cfg.nagent_listen == 2 && cfg.agent_listen[0].port == 8433 &&
	         cfg.agent_listen[0].role == ROLE_PRIMARY && cfg.agent_listen[1].port == 8434 &&
	         cfg.agent_listen[1].role == ROLE_REPLICA,
	     "default agent listen *:8433/primary, *:8434/replica");
	T_EQ_INT(cfg.agent_timeout_ms, 1000, "default send_timeout");
	T_EQ_INT(cfg.max_connections, 10000, "default max_connections");
	T_EQ_INT(cfg.client_timeout_ms, 5000, "default client_timeout");
	T_EQ_INT(cfg.idle_timeout_ms, 60000, "default idle_timeout");
	T_OK(!cfg.allow_root, "default allow_root");
	T_EQ_INT(cfg.lag_full_ms, 5000, "default lag_full");
	T_EQ_INT(cfg.max_lag_ms, 30000, "default max_lag");
	T_EQ_INT(cfg.lag_grace_ms, 10000, "default lag_grace");
	T_EQ_INT(cfg.min_weight, 10, "default min_weight");
	T_OK(!cfg.replica_include_primary, "default include_primary");
	T_OK(cfg.max_lag_bytes == 0, "default max_lag_bytes none");
	T_EQ_STR(cfg.admin_state_file, "/var/lib/primgr/admin-state", "default admin_state");
	T_EQ_STR(cfg.topology_cache, "/var/lib/primgr/topology.json", "default topology_cache");
	T_EQ_STR(cfg.pidfile, "", "default pidfile");
	T_EQ_INT(cfg.log_target, LOG_TARGET_STDERR, "default log target");
	T_EQ_INT(cfg.log_level, LOG_NOTICE, "default log level");
	T_EQ_INT(cfg.log_facility, LOG_DAEMON, "default log facility");
	T_OK(config_validate(&cfg, err, sizeof(err)), "defaults validate");
	T_EQ_STR(err, "", "no error for defaults");
}

static void test_good_files(void)
{
	struct config cfg, def;
	char err[1024] = "";
	char *a, *b;

	config_defaults(&def);
	T_OK(config_load(fixture("good-empty.ini"), &cfg, err, sizeof(err)),
	     "comments only: loads");
	a = print_body(&cfg);
	b = print_body(&def);
	T_EQ_STR(a, b, "comments only: same as the defaults");
	free(a);
	free(b);

	T_OK(config_load(fixture("good-full.ini"), &cfg, err, sizeof(err)), "full file loads");
	T_EQ_STR(err, "", "full file: no error");
	T_EQ_STR(cfg.repmgr_conf, "/etc/repmgr/15/repmgr.conf", "full: repmgr_conf");
	T_EQ_INT(cfg.node_id, 7, "full: node_id");
	T_EQ_STR(cfg.node_name, "db-node-7", "full: quoted node_name");
	T_EQ_STR(cfg.conninfo,
	         "host=/var/run/postgresql port=5433 user=repmgr dbname=repmgr connect_timeout=2",
	         "full: conninfo");
	T_EQ_INT(cfg.pool_size, 2, "full: pool_size");
	T_EQ_INT(cfg.refresh_interval_ms, 500, "full: refresh_interval");
	T_EQ_INT(cfg.db_timeout_ms, 1500, "full: db_timeout");
	T_EQ_INT(cfg.scope, SCOPE_LIST, "full: scope");
	T_OK(cfg.nlocations == 2 && strcmp(cfg.locations[0], "dc1") == 0 &&
	         strcmp(cfg.locations[1], "dc2") == 0,
	     "full: locations trimmed");
	T_OK(cfg.nreplace == 2 && cfg.replace[0].from == '_' && cfg.replace[0].to == '-' &&
	         cfg.replace[1].from == '.' && cfg.replace[1].to == '-',
	     "full: name_replace");
	T_EQ_STR(cfg.url_template, "https://{name}:8432", "full: url_template");
	T_EQ_STR(cfg.name_suffix, ".db.example.com", "full: name_suffix");
	T_EQ_INT(cfg.npeers, 2, "full: two peers");
	T_EQ_STR(cfg.peers[0].name, "db_node_1", "full: peer name");
	T_EQ_STR(cfg.peers[0].url, "https://10.0.0.1:8432", "full: peer URL without trailing /");
	T_EQ_STR(cfg.peers[1].url, "http://[fd00::2]:8432", "full: IPv6 peer URL");
	T_EQ_INT(cfg.peers[1].line, 30, "full: peer line");
	T_OK(cfg.nhttp_listen == 2 && strcmp(cfg.http_listen[0].host, "127.0.0.1") == 0 &&
	         strcmp(cfg.http_listen[1].host, "::1") == 0 && cfg.http_listen[1].port == 8432,
	     "full: http listen with IPv6");
	T_OK(cfg.nagent_listen == 3 && cfg.agent_listen[2].role == ROLE_SEND &&
	         cfg.agent_listen[2].port == 8435,
	     "full: agent /send listener");
	T_EQ_INT(cfg.agent_timeout_ms, 2000, "full: send_timeout");
	T_EQ_INT(cfg.idle_timeout_ms, 120000, "full: idle_timeout 2m");
	T_OK(cfg.allow_root, "full: allow_root yes");
	T_EQ_INT(cfg.lag_grace_ms, 0, "full: lag_grace 0ms");
	T_EQ_INT(cfg.min_weight, 25, "full: min_weight");
	T_OK(cfg.replica_include_primary, "full: include_primary on");
	T_EQ_STR(cfg.pidfile, "/run/primgr/primgr.pid", "full: pidfile");
	T_EQ_INT(cfg.log_target, LOG_TARGET_SYSLOG, "full: log target");
	T_EQ_INT(cfg.log_level, LOG_DEBUG, "full: log level");
	T_EQ_INT(cfg.log_facility, LOG_LOCAL3, "full: log facility");
	T_EQ_INT(cfg.key_line[key_idx("node", "repmgr_conf")], 3,
	         "full: line of [node] repmgr_conf");

	/* The shipped example must load (every key is commented out at its default). */
	T_OK(config_load(fixture("../../etc/primgr.ini"), &cfg, err, sizeof(err)),
	     "etc/primgr.ini loads");
	T_EQ_STR(err, "", "etc/primgr.ini: no error");
}

/* The example's commented settings (";key = value") are the defaults, each key once. */
static void test_example_defaults(void)
{
	char path[PATH_MAX], err[1024] = "", *text, *out, *p, *a, *b;
	struct config cfg, def;
	size_t o = 0;
	int settings = 0, nkeys = 0;
	const char *s, *n;

	snprintf(path, sizeof(path), "%s/etc/primgr.ini", srcdir);
	text = util_read_file(path, 1 << 20, NULL);
	if (!text) {
		T_OK(false, "etc/primgr.ini readable");
		return;
	}
	out = malloc(strlen(text) + 1);
	for (p = text; *p;) {
		char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) + 1 : strlen(p);
		size_t k = 1;
		while (p[0] == ';' && (islower((unsigned char)p[k]) || p[k] == '_'))
			k++;
		if (p[0] == ';' && k > 1 && strncmp(p + k, " =", 2) == 0) {
			p++;
			len--;
			settings++;
		}
		memcpy(out + o, p, len);
		o += len;
		p += len;
	}
	while (config_key_at(nkeys, &s, &n))
		nkeys++;
	T_EQ_INT(settings, nkeys, "etc/primgr.ini has one commented setting per key");
	p = write_tmp("example-active.ini", out, o);
	T_OK(config_load(p, &cfg, err, sizeof(err)), "example with every setting active loads");
	if (err[0])
		printf("#   %s\n", err);
	config_defaults(&def);
	a = print_body(&cfg);
	b = print_body(&def);
	T_EQ_STR(a, b, "example's commented values are the defaults");
	free(a);
	free(b);
	free(out);
	free(text);
}

/* Odd but valid spellings: CRLF, a byte order mark, indentation, upper case names, quotes. */
static void test_spellings(void)
{
	static const char text[] = "\xef\xbb\xbf; written on Windows\r\n"
	                           "[Database]\r\n"
	                           "   Pool_Size   =   5   \r\n"
	                           "\t[node]\r\n"
	                           "\tnode_name = \"  spaced name \"\r\n"
	                           "conninfo = \"host=a password='x ;y #z'\"\r\n"
	                           "[log]\r\n"
	                           "level=DEBUG\r\n"
	                           "[peers]\r\n"
	                           "Node-A = http://a:8432//\r\n";
	struct config cfg, again;
	char err[512] = "";
	char *path = write_tmp("spellings.ini", text, sizeof(text) - 1);
	char *a, *b;
	FILE *f;

	T_OK(config_load(path, &cfg, err, sizeof(err)), "CRLF, BOM, indentation, case load");
	T_EQ_STR(err, "", "spellings: no error");
	T_EQ_INT(cfg.pool_size, 5, "case-insensitive section and key");
	T_EQ_INT(cfg.key_line[key_idx("database", "pool_size")], 3,
	         "line counted after a BOM and CRLF");
	T_EQ_STR(cfg.node_name, "  spaced name ", "quotes keep blanks");
	T_EQ_STR(cfg.conninfo, "host=a password='x ;y #z'", "no inline comments in values");
	T_EQ_INT(cfg.log_level, LOG_DEBUG, "enum names are case-insensitive");
	T_EQ_STR(cfg.peers[0].name, "Node-A", "peer names keep their case");
	T_EQ_STR(cfg.peers[0].url, "http://a:8432", "trailing slashes dropped");

	/* print -> load -> print gives the same text, blanks and all */
	path = tmpfile_path("spellings-printed.ini");
	f = fopen(path, "w");
	config_print(f, &cfg);
	fclose(f);
	T_OK(config_load(path, &again, err, sizeof(err)), "printed spellings load again");
	T_EQ_STR(again.node_name, "  spaced name ", "quoted blanks survive the round trip");
	a = print_body(&cfg);
	b = print_body(&again);
	T_EQ_STR(b, a, "spellings: print is stable");
	free(a);
	free(b);
}

/* Values with a '"' at an edge must be printed so that they read back the same. */
static void test_quote_edges(void)
{
	static const char text[] = "[node]\nnode_name = \"\"quoted\"\n";
	struct config cfg, again;
	char err[512] = "", *path;
	FILE *f;

	T_OK(config_load(write_tmp("quote.ini", text, sizeof(text) - 1), &cfg, err, sizeof(err)),
	     "value starting with a quote loads");
	T_EQ_STR(cfg.node_name, "\"quoted", "outer quotes only are stripped");
	path = tmpfile_path("quote-printed.ini");
	f = fopen(path, "w");
	config_print(f, &cfg);
	fclose(f);
	T_OK(config_load(path, &again, err, sizeof(err)), "printed quote file loads");
	T_EQ_STR(again.node_name, "\"quoted", "leading quote survives the round trip");
}

static void round_trip(const char *label, const struct config *cfg)
{
	struct config again;
	char err[1024] = "", name[160], *path, *a, *b;
	FILE *f;

	path = tmpfile_path("printed.ini");
	f = fopen(path, "w");
	config_print(f, cfg);
	fclose(f);
	snprintf(name, sizeof(name), "%s: printed config loads again", label);
	T_OK(config_load(path, &again, err, sizeof(err)), name);
	if (err[0])
		printf("#   %s\n", err);
	a = print_body(cfg);
	b = print_body(&again);
	snprintf(name, sizeof(name), "%s: reloaded config prints the same", label);
	T_EQ_STR(b, a, name);
	free(a);
	free(b);
}

static void test_round_trips(void)
{
	struct config cfg;
	char err[1024];

	config_defaults(&cfg);
	round_trip("defaults", &cfg);
	if (config_load(fixture("good-full.ini"), &cfg, err, sizeof(err)))
		round_trip("full", &cfg);
	else
		T_OK(false, err);
	if (config_load(fixture("good-long-conninfo.ini"), &cfg, err, sizeof(err)))
		round_trip("long conninfo", &cfg);
	else
		T_OK(false, err);
}

static void test_long_lines(void)
{
	struct config cfg, again;
	char err[1024] = "", want[PATH_MAX + 128], *path, *text, *value;
	size_t n;
	FILE *f;

	/* 600 characters, from a fixture */
	T_OK(config_load(fixture("good-long-conninfo.ini"), &cfg, err, sizeof(err)),
	     "600-char conninfo loads");
	T_EQ_INT(strlen(cfg.conninfo), 600, "600-char conninfo read whole");
	T_OK(strncmp(cfg.conninfo, "host=db-node-1.example.com ", 27) == 0 &&
	         strcmp(cfg.conninfo + 594, "pppppp") == 0,
	     "600-char conninfo: both ends intact");
	T_EQ_INT(cfg.key_line[key_idx("node", "conninfo")], 3, "600-char line: its line number");
	T_EQ_INT(cfg.key_line[key_idx("database", "pool_size")], 6,
	         "the line after it: its line number");
	T_EQ_INT(cfg.pool_size, 2, "the key after a long line is read");

	/* 5000 characters, generated: one conninfo option with a long value */
	value = malloc(5001);
	n = (size_t)snprintf(value, 5001, "host=/tmp dbname=repmgr application_name=");
	memset(value + n, 'x', 5000 - n);
	value[5000] = '\0';
	text = malloc(6000);
	n = (size_t)snprintf(text, 6000,
	                     "[node]\n; long\nconninfo = %s\n[database]\npool_size = 4\n", value);
	path = write_tmp("long5000.ini", text, n);
	T_OK(config_load(path, &cfg, err, sizeof(err)), "5000-char conninfo loads");
	T_EQ_STR(cfg.conninfo, value, "5000-char conninfo read exactly");
	T_EQ_INT(cfg.key_line[key_idx("node", "conninfo")], 3, "5000-char line: its line number");
	T_EQ_INT(cfg.key_line[key_idx("database", "pool_size")], 5,
	         "line after the 5000-char line");
	path = tmpfile_path("long5000-printed.ini");
	f = fopen(path, "w");
	config_print(f, &cfg);
	fclose(f);
	T_OK(config_load(path, &again, err, sizeof(err)), "printed 5000-char config loads");
	T_EQ_STR(again.conninfo, value, "5000-char conninfo round-trips exactly");
	free(text);
	free(value);

	/* 1 MiB line: a clear error, no crash */
	n = 1 << 20;
	text = malloc(n + 64);
	memcpy(text, "[node]\nconninfo = ", 18);
	memset(text + 18, 'a', n - 18);
	memcpy(text + n, "\n", 2);
	path = write_tmp("long1m.ini", text, n + 1);
	T_OK(!config_load(path, &cfg, err, sizeof(err)), "1 MiB line is rejected");
	snprintf(want, sizeof(want), "%s:2: line too long (1048569 bytes, at most 16384)", path);
	T_EQ_STR(err, want, "1 MiB line: clear error");
	free(text);

	/* a value longer than its field */
	text = malloc(3000);
	n = (size_t)snprintf(text, 3000, "[files]\npidfile = /%02000d\n", 0);
	path = write_tmp("longpath.ini", text, n);
	T_OK(!config_load(path, &cfg, err, sizeof(err)), "2001-byte path is rejected");
	snprintf(want, sizeof(want),
	         "%s:2: [files] pidfile: value too long (2001 bytes, at most 1023)", path);
	T_EQ_STR(err, want, "too long path: error text");
	free(text);
}

/* Every list key goes through one loop: its messages name the key's own items. */
static void test_lists(void)
{
	static const struct {
		const char *ini, *err;
	} cases[] = {
	    {"[consensus]\nname_replace = -:_,a:b,c:d,e:f,g:h,i:j,k:l,m:n,o:p\n",
	     ":2: [consensus] name_replace: too many replacements (at most 8)"},
	    {"[consensus]\nname_replace = -:_,,a:b\n",
	     ":2: [consensus] name_replace: empty replacement in the list"},
	    {"[consensus]\nname_replace = -:_, -:. \n",
	     ":2: [consensus] name_replace: '-' is replaced twice"},
	    {"[consensus]\nname_replace = -:_,0123456789abcdef\n",
	     ":2: [consensus] name_replace: invalid replacement \"0123456789abcdef\" (expected "
	     "from:to, two characters, e.g. -:_)"},
	    {"[consensus]\nlegacy_peers = node1, node2, node1\n",
	     ":2: [consensus] legacy_peers: node name \"node1\" listed twice"},
	    {"[consensus]\nscope = list\nlocations = dc1,\n",
	     ":3: [consensus] locations: empty location in the list"},
	    {"[http]\nallow = 10.0.0.0/8, 10.0.0.1/8\n",
	     ":2: [http] allow: invalid address \"10.0.0.1/8\" (expected an IPv4 or IPv6 address, "
	     "or a CIDR block without host bits such as 10.0.0.0/8 or 2001:db8::/32)"},
	    {"[http]\nallow = 127.0.0.1,,::1\n", ":2: [http] allow: empty address in the list"},
	    {"[agent]\nlisten = *:1/primary,*:2/primary,*:3/primary,*:4/primary,*:5/primary,"
	     "*:6/primary,*:7/primary,*:8/primary,*:9/primary,*:10/primary,*:11/primary,"
	     "*:12/primary,*:13/primary,*:14/primary,*:15/primary,*:16/primary,*:17/primary\n",
	     ":2: [agent] listen: too many addresses (at most 16)"},
	};
	char name[128];

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct config cfg;
		char err[1024] = "", want[PATH_MAX + 512];
		const char *path = write_tmp("list.ini", cases[i].ini, strlen(cases[i].ini));

		snprintf(want, sizeof(want), "%s%s", path, cases[i].err);
		snprintf(name, sizeof(name), "list case %zu is rejected", i);
		T_OK(!config_load(path, &cfg, err, sizeof(err)), name);
		snprintf(name, sizeof(name), "list case %zu: exact error text", i);
		T_EQ_STR(err, want, name);
	}
}

static void test_file_errors(void)
{
	struct config cfg;
	char err[1024] = "", want[PATH_MAX + 128], *path, *big;
	static const char nul[] = "[node]\nnode_name = a\0b\n";
	static const char ctl[] = "[node]\n\nnode_name = a\x01"
	                          "b\n";
	size_t n;

	path = tmpfile_path("does-not-exist.ini");
	T_OK(!config_load(path, &cfg, err, sizeof(err)), "missing file is an error");
	snprintf(want, sizeof(want), "%s: No such file or directory", path);
	T_EQ_STR(err, want, "missing file: error text");

	T_OK(!config_load(tmpdir, &cfg, err, sizeof(err)), "directory is an error");
	snprintf(want, sizeof(want), "%s: is a directory", tmpdir);
	T_EQ_STR(err, want, "directory: error text");

	path = write_tmp("nul.ini", nul, sizeof(nul) - 1);
	T_OK(!config_load(path, &cfg, err, sizeof(err)), "NUL byte is an error");
	snprintf(want, sizeof(want), "%s:2: NUL byte in line", path);
	T_EQ_STR(err, want, "NUL byte: error text");

	path = write_tmp("ctl.ini", ctl, sizeof(ctl) - 1);
	T_OK(!config_load(path, &cfg, err, sizeof(err)), "control character is an error");
	snprintf(want, sizeof(want), "%s:3: control character 0x01 in line", path);
	T_EQ_STR(err, want, "control character: error text");

	n = CONFIG_FILE_MAX + 1;
	big = malloc(n);
	memset(big, '\n', n);
	path = write_tmp("big.ini", big, n);
	free(big);
	T_OK(!config_load(path, &cfg, err, sizeof(err)), "file over 4 MiB is an error");
	snprintf(want, sizeof(want), "%s: file too large (more than %d bytes)", path,
	         CONFIG_FILE_MAX);
	T_EQ_STR(err, want, "big file: error text");
	unlink(path);

	/* a tiny error buffer is filled, terminated, and not overrun */
	{
		char small[12];
		memset(small, 'Z', sizeof(small));
		T_OK(!config_load(fixture("bad-port.ini"), &cfg, small, 8), "small buffer: error");
		T_OK(strlen(small) == 7 && small[8] == 'Z', "small buffer: cut, not overrun");
	}
}

/* config_validate on a struct built in code: "(default)" names both sides. */
static void test_validate_struct(void)
{
	struct config cfg;
	char err[512] = "";

	config_defaults(&cfg);
	cfg.statement_timeout_ms = 3000;
	T_OK(!config_validate(&cfg, err, sizeof(err)), "struct: statement_timeout > db_timeout");
	T_EQ_STR(err,
	         "[database] statement_timeout: 3s (default) must not be longer than db_timeout "
	         "(2s, default)",
	         "struct: both sides are defaults");

	config_defaults(&cfg);
	cfg.nhttp_listen = 0;
	T_OK(!config_validate(&cfg, err, sizeof(err)), "struct: no http listener");

	config_defaults(&cfg);
	cfg.nagent_listen = 0;
	T_OK(config_validate(&cfg, err, sizeof(err)), "struct: no agent listener is fine");

	config_defaults(&cfg);
	snprintf(cfg.peer_key, sizeof(cfg.peer_key), "/k");
	T_OK(!config_validate(&cfg, err, sizeof(err)), "struct: peer_key without peer_cert");
	T_EQ_STR(err, "[consensus] peer_key: set without peer_cert (expected both or neither)",
	         "struct: peer_key message");
}

/* The one formatter of a listen address (messages, --print-config, listener names). */
static void test_format_listen(void)
{
	static const struct {
		struct listen_addr a;
		bool agent;
		size_t size;
		const char *want;
	} cases[] = {
	    {{"", 8432, ROLE_PRIMARY}, false, 64, "*:8432"},
	    {{"127.0.0.1", 80, ROLE_PRIMARY}, false, 64, "127.0.0.1:80"},
	    {{"::1", 8433, ROLE_PRIMARY}, true, 64, "[::1]:8433/primary"},
	    {{"db1.example.com", 8434, ROLE_REPLICA}, true, 64, "db1.example.com:8434/replica"},
	    {{"", 8435, ROLE_SEND}, true, 64, "*:8435/send"},
	    {{"", 8435, ROLE_SEND}, false, 64, "*:8435"},
	    {{"::", 1, ROLE_PRIMARY}, false, 5, "[::]"},
	};
	char buf[64], name[96];

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		memset(buf, 'x', sizeof(buf));
		config_format_listen(&cases[i].a, cases[i].agent, buf, cases[i].size);
		snprintf(name, sizeof(name), "format listen %zu: %s", i, cases[i].want);
		T_EQ_STR(buf, cases[i].want, name);
	}
}

static void test_needs_restart(void)
{
	struct config a, b;
	char what[128], changed[256];

	config_defaults(&a);
	config_defaults(&b);
	b.pool_size = 5;
	b.refresh_interval_ms = 2000;
	T_OK(!config_diff(&a, &b, changed, sizeof(changed), what, sizeof(what)),
	     "reloadable keys need no restart");
	T_EQ_STR(what, "", "nothing listed");
	T_EQ_STR(changed, "[database] pool_size, [database] refresh_interval",
	         "reloadable keys listed as changed");

	b.http_listen[0].port = 9000;
	snprintf(b.pidfile, sizeof(b.pidfile), "/run/x.pid");
	T_OK(config_diff(&a, &b, changed, sizeof(changed), what, sizeof(what)),
	     "listen and pidfile need a restart");
	T_EQ_STR(what, "[http] listen, [files] pidfile", "keys listed");
	T_EQ_STR(changed, "[database] pool_size, [database] refresh_interval",
	         "restart keys are not listed as changed");
	T_OK(b.http_listen[0].port == 8432 && b.pidfile[0] == '\0' && b.pool_size == 5,
	     "the running listen and pidfile stay, the reloadable keys change");

	config_defaults(&b);
	b.agent_listen[1].role = ROLE_SEND;
	T_OK(config_diff(&a, &b, changed, sizeof(changed), what, sizeof(what)),
	     "agent role change needs a restart");
	T_EQ_STR(what, "[agent] listen", "agent listed");
	T_EQ_INT(b.agent_listen[1].role, ROLE_REPLICA, "agent role kept");

	config_defaults(&b);
	b.nagent_listen = 1;
	T_OK(config_diff(&a, &b, changed, sizeof(changed), what, 5), "small buffer: still true");
	T_EQ_STR(what, "[age", "small buffer: cut and terminated");
	T_EQ_INT(b.nagent_listen, 2, "agent listener count kept");
}

/* What `reload` logs as changed: every key, [peers] entries added, removed or changed,
 * values compared as printed, a long list ending in "...". */
static void test_diff_changed(void)
{
	struct config a, b;
	char what[128], changed[512];

	config_defaults(&a);
	config_defaults(&b);
	T_OK(!config_diff(&a, &b, changed, sizeof(changed), what, sizeof(what)),
	     "same: no restart");
	T_EQ_STR(changed, "", "same: nothing changed");

	b.peer_timeout_ms = 400;
	b.max_lag_ms = 20000;
	b.log_level = LOG_INFO;
	b.nlocations = 1;
	snprintf(b.locations[0], sizeof(b.locations[0]), "dc1");
	T_OK(!config_diff(&a, &b, changed, sizeof(changed), what, sizeof(what)),
	     "operator.sh's reload: no restart");
	T_EQ_STR(changed,
	         "[consensus] locations, [consensus] peer_timeout, [replica] max_lag, [log] level",
	         "changed keys in table order");

	config_defaults(&a);
	config_defaults(&b);
	a.npeers = 3;
	snprintf(a.peers[0].name, sizeof(a.peers[0].name), "node1");
	snprintf(a.peers[0].url, sizeof(a.peers[0].url), "http://a:1");
	snprintf(a.peers[1].name, sizeof(a.peers[1].name), "node2");
	snprintf(a.peers[1].url, sizeof(a.peers[1].url), "http://b:1");
	snprintf(a.peers[2].name, sizeof(a.peers[2].name), "node3");
	snprintf(a.peers[2].url, sizeof(a.peers[2].url), "http://c:1");
	b.npeers = 3;
	b.peers[0] = a.peers[2];
	b.peers[1] = a.peers[0];
	snprintf(b.peers[1].url, sizeof(b.peers[1].url), "http://a:2");
	snprintf(b.peers[2].name, sizeof(b.peers[2].name), "node4");
	snprintf(b.peers[2].url, sizeof(b.peers[2].url), "http://d:1");
	T_OK(!config_diff(&a, &b, changed, sizeof(changed), what, sizeof(what)),
	     "peers: no restart");
	T_EQ_STR(changed, "[peers] node1, [peers] node2, [peers] node4",
	         "peers changed, removed, added (order moved only: not listed)");

	config_defaults(&a);
	config_defaults(&b);
	b.refresh_interval_ms = 1000; /* "1s" either way */
	b.stale_after_ms = 6000;
	b.min_weight = 20;
	b.max_connections = 5;
	T_OK(!config_diff(&a, &b, changed, 40, what, sizeof(what)), "short list: no restart");
	T_EQ_STR(changed, "[database] stale_after, ...", "short list ends in ...");
	T_OK(!config_diff(&a, &b, changed, 20, what, sizeof(what)), "tiny list: no restart");
	T_EQ_STR(changed, "...", "tiny list is ...");
}

/* Every key the table marks restart-only, changed alone in a file: reload keeps the
 * running value and names exactly that key, as main.c's warning does. */
static void test_restart_keys(void)
{
	static const struct {
		const char *section, *name, *value;
		const char *also; /* lines the key needs beside it, in the same section */
	} values[] = {
	    {"node", "repmgr_conf", "/etc/repmgr/16/repmgr.conf", NULL},
	    {"node", "node_id", "7", NULL},
	    {"node", "node_name", "elsewhere", NULL},
	    {"node", "conninfo", "host=db9 dbname=repmgr", NULL},
	    {"http", "listen", "127.0.0.1:9432", NULL},
	    {"http", "tls_listen", "127.0.0.1:9443",
	     "tls_cert_file = /etc/primgr/tls.pem\ntls_key_file = /etc/primgr/tls.key\n"},
	    {"agent", "listen", "*:8433/primary, *:8434/send", NULL},
	    {"server", "allow_root", "true", NULL},
	    {"files", "pidfile", "/run/primgr/primgr.pid", NULL},
	};
	struct config old, nw;
	const char *s, *n;
	char err[512], what[128], changed[256], name[160], want[96], text[256];
	int nrestart = 0;

	for (int i = 0; config_key_at(i, &s, &n); i++) {
		const char *value = NULL, *also = "";
		char *a, *b;

		if (!config_key_needs_restart(i))
			continue;
		nrestart++;
		for (size_t j = 0; j < ARRAY_SIZE(values); j++)
			if (strcmp(values[j].section, s) == 0 && strcmp(values[j].name, n) == 0)
				value = values[j].value, also = values[j].also ? values[j].also : "";
		snprintf(name, sizeof(name), "restart key [%s] %s: the test has a value for it", s,
		         n);
		if (!T_OK(value != NULL, name))
			continue;
		/* The running configuration has what the key needs beside it, unchanged. */
		config_defaults(&old);
		snprintf(text, sizeof(text), "[%s]\n%s", s, also);
		if (also[0] && !T_OK(config_load(write_tmp("running.ini", text, strlen(text)), &old,
		                                 err, sizeof(err)),
		                     "restart key: the running configuration loads"))
			printf("#   %s\n", err);
		snprintf(text, sizeof(text), "[%s]\n%s%s = %s\n", s, also, n, value);
		snprintf(name, sizeof(name), "restart key [%s] %s: a file changing it loads", s, n);
		if (!T_OK(config_load(write_tmp("restart.ini", text, strlen(text)), &nw, err,
		                      sizeof(err)),
		          name)) {
			printf("#   %s\n", err);
			continue;
		}
		snprintf(name, sizeof(name), "restart key [%s] %s: needs a restart", s, n);
		T_OK(config_diff(&old, &nw, changed, sizeof(changed), what, sizeof(what)), name);
		snprintf(want, sizeof(want), "[%s] %s", s, n);
		snprintf(name, sizeof(name), "restart key [%s] %s: named alone", s, n);
		T_EQ_STR(what, want, name);
		snprintf(name, sizeof(name), "restart key [%s] %s: not listed as changed", s, n);
		T_EQ_STR(changed, "", name);
		a = print_body(&old);
		b = print_body(&nw);
		snprintf(name, sizeof(name), "restart key [%s] %s: the running value stays", s, n);
		T_EQ_STR(b, a, name);
		free(a);
		free(b);
	}
	T_EQ_INT(nrestart, ARRAY_SIZE(values), "every restart key of the test is one in the table");
}

static void test_key_table(void)
{
	const char *s, *n, *s2, *n2;
	int count = 0;
	bool unique = true;

	while (config_key_at(count, &s, &n))
		count++;
	T_OK(count > 30 && count <= CONFIG_MAX_KEYS, "key table size within CONFIG_MAX_KEYS");
	T_OK(!config_key_at(-1, &s, &n) && !config_key_at(count, &s, &n), "past the ends: false");
	for (int i = 0; i < count; i++) {
		if (!config_key_at(i, &s, &n))
			continue;
		for (int j = i + 1; j < count; j++)
			if (config_key_at(j, &s2, &n2) && strcmp(s, s2) == 0 && strcmp(n, n2) == 0)
				unique = false;
	}
	T_OK(unique, "no key is listed twice");
	T_OK(config_key_at(0, &s, &n) && strcmp(s, "node") == 0 && strcmp(n, "repmgr_conf") == 0,
	     "key 0 is [node] repmgr_conf");
	T_EQ_STR(config_role_name(ROLE_SEND), "send", "role name");
	T_EQ_STR(config_scope_name(SCOPE_CLUSTER), "cluster", "scope name");
}

/* Does text contain, inside "[section]" (INI) or ".SS [section]" (man), a line naming key? */
static bool doc_has_key(const char *text, bool man, const char *section, const char *key)
{
	char head[80], line[256];
	const char *p;
	size_t klen = strlen(key);

	snprintf(head, sizeof(head), man ? ".SS [%s]\n" : "[%s]\n", section);
	p = strstr(text, head);
	if (!p)
		return false;
	p += strlen(head);
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		if (len >= sizeof(line))
			len = sizeof(line) - 1;
		memcpy(line, p, len);
		line[len] = '\0';
		if (man && strncmp(line, ".SS ", 4) == 0)
			return false;
		if (!man && line[0] == '[')
			return false;
		if (man && strncmp(line, ".B ", 3) == 0 && strcmp(line + 3, key) == 0)
			return true;
		if (!man) {
			const char *l = line;
			while (*l == ';' || *l == ' ')
				l++;
			if (strncmp(l, key, klen) == 0 && (l[klen] == ' ' || l[klen] == '='))
				return true;
		}
		if (!nl)
			break;
		p = nl + 1;
	}
	return false;
}

static void test_docs(void)
{
	static const struct {
		const char *file;
		bool man;
	} docs[] = {{"etc/primgr.ini", false}, {"man/primgr.ini.5", true}};

	for (size_t d = 0; d < ARRAY_SIZE(docs); d++) {
		char path[PATH_MAX], name[160];
		const char *s, *n;
		char *text;

		snprintf(path, sizeof(path), "%s/%s", srcdir, docs[d].file);
		text = util_read_file(path, 1 << 20, NULL);
		if (!text) {
			snprintf(name, sizeof(name), "%s readable", docs[d].file);
			T_OK(false, name);
			continue;
		}
		for (int i = 0; config_key_at(i, &s, &n); i++) {
			snprintf(name, sizeof(name), "%s documents [%s] %s", docs[d].file, s, n);
			T_OK(doc_has_key(text, docs[d].man, s, n), name);
		}
		free(text);
	}
}

/* Mangled copies of a good file: each loads or fails with one line naming the file. */
static void test_mangled(void)
{
	char *good = util_read_file(fixture("good-full.ini"), 1 << 20, NULL);
	size_t len = good ? strlen(good) : 0;
	int bad_lines = 0, loaded = 0, failed = 0;
	unsigned seed = 12345;

	if (!good) {
		T_OK(false, "good-full.ini readable");
		return;
	}
	for (int round = 0; round < 400; round++) {
		char *text = strdup(good), err[1024], *path;
		struct config cfg;

		for (int k = 0; k < 1 + round % 5; k++) {
			seed = seed * 1103515245u + 12345u;
			size_t at = (seed >> 8) % len;
			static const char junk[] = "=[]\";#,:/ \n\t{}x0-\xff";
			text[at] = junk[(seed >> 20) % (sizeof(junk) - 1)];
		}
		path = write_tmp("mangled.ini", text, len);
		err[0] = '\0';
		if (config_load(path, &cfg, err, sizeof(err))) {
			loaded++;
		} else {
			failed++;
			if (strncmp(err, path, strlen(path)) != 0 || strchr(err, '\n'))
				bad_lines++;
		}
		free(text);
	}
	printf("# mangled: %d loaded, %d rejected\n", loaded, failed);
	T_EQ_INT(bad_lines, 0, "mangled files: every error is one line naming the file");
	T_OK(failed > 0, "mangled files: some are rejected");
	free(good);
}

/* Removes every file the tests wrote, then the directory. */
static void cleanup(void)
{
	DIR *d = opendir(tmpdir);
	struct dirent *e;

	while (d && (e = readdir(d)))
		if (e->d_name[0] != '.')
			unlink(tmpfile_path(e->d_name));
	if (d)
		closedir(d);
	if (rmdir(tmpdir) != 0)
		printf("# cannot remove %s: %s\n", tmpdir, strerror(errno));
}

int main(void)
{
	srcdir = getenv("top_srcdir");
	if (!srcdir || !*srcdir)
		srcdir = ".";
	if (!mkdtemp(tmpdir)) {
		printf("# mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	test_defaults();
	test_bad_files();
	test_good_files();
	test_example_defaults();
	test_spellings();
	test_quote_edges();
	test_round_trips();
	test_long_lines();
	test_lists();
	test_file_errors();
	test_validate_struct();
	test_format_listen();
	test_needs_restart();
	test_diff_changed();
	test_restart_keys();
	test_key_table();
	test_docs();
	test_mangled();
	cleanup();
	return t_done();
}

/* config: one table of keys drives parsing, defaults, --print-config and the docs check.
 *
 * Why not libinih: Debian's libinih 55 (INI_MAX_LINE 200, handler without a line number)
 * cuts longer lines and parses the tail as a new line, so a long conninfo is silently
 * truncated, or its tail becomes a bogus key. Working around that through ini_parse_stream
 * (presenting the tail as indented continuation lines) was tried and rejected:
 *  - it relies on how the system library was built: with INI_ALLOW_MULTILINE=0 the
 *    continuation lines are syntax errors, and only Debian exports the options at run time;
 *  - a continuation line that starts with ';' or '#' is dropped as a comment, a chunk edge
 *    on whitespace is trimmed away, and " ;" starts an inline comment that ends only the
 *    chunk, so the split points depend on the value and a long run of blanks cannot be
 *    split at all;
 *  - inih also takes ':' as a separator ("listen *:8432" becomes key "listen *"), glues an
 *    indented "key = value" line onto the previous value, truncates section names to 49
 *    characters and reports syntax errors only as a line count of its own, so the reader
 *    would have to redo the line classification anyway.
 * What is left is a few dozen lines, below: lines of any length up to CONFIG_LINE_MAX,
 * exact line numbers, '=' only, no inline comments (a conninfo may hold " ;"). */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "conninfo.h"
#include "log.h"

enum key_type {
	KEY_PATH,     /* absolute path, or empty unless KEY_REQUIRED */
	KEY_STRING,   /* free text */
	KEY_HOSTPART, /* [A-Za-z0-9._-]*: goes into a host name */
	KEY_CONNINFO, /* libpq conninfo (checked with conninfo_check) */
	KEY_URL_TEMPLATE,
	KEY_INT,
	KEY_BOOL,
	KEY_DURATION,
	KEY_SIZE,     /* bytes (16MB), or none = 0 */
	KEY_ENUM,
	KEY_LISTEN,       /* host:port list */
	KEY_AGENT_LISTEN, /* host:port/role list */
	KEY_LOCATIONS,    /* list of names: repmgr locations, or node names */
	KEY_REPLACE,      /* list of from:to characters */
	KEY_CIDRS,        /* list of addresses and CIDR blocks */
};

#define KEY_REQUIRED 1u
/* Read once at start: a reload keeps the running value and says a restart is needed
 * (listeners and the pidfile are open, the identity is who this node is, allow_root was
 * checked before the loop). pgbouncer's table marks its keys the same way. */
#define KEY_RESTART 2u

struct enum_ops {
	int (*from_name)(const char *name);
	const char *(*to_name)(int value);
	const char *expected;
};

struct key {
	const char *section;
	const char *name;
	enum key_type type;
	size_t off;       /* the field in struct config */
	size_t size;      /* string buffer size */
	size_t count_off; /* lists: the int holding the count */
	long min, max;    /* int and duration (ms) range */
	unsigned flags;
	const struct enum_ops *ops; /* KEY_ENUM */
	const char *def;            /* the default, as text; parsed like a file value */
	const char *help;
};

static int scope_from_name(const char *name)
{
	for (int s = SCOPE_LOCATION; s <= SCOPE_LIST; s++)
		if (strcasecmp(name, config_scope_name((enum scope)s)) == 0)
			return s;
	return -1;
}

static const char *scope_to_name(int s)
{
	return config_scope_name((enum scope)s);
}

static int target_from_name(const char *name)
{
	if (strcasecmp(name, "stderr") == 0)
		return LOG_TARGET_STDERR;
	if (strcasecmp(name, "syslog") == 0)
		return LOG_TARGET_SYSLOG;
	return -1;
}

static const char *target_to_name(int t)
{
	return t == LOG_TARGET_SYSLOG ? "syslog" : "stderr";
}

static int send_ready_from_name(const char *name)
{
	if (strcasecmp(name, "on-change") == 0)
		return SEND_READY_ON_CHANGE;
	if (strcasecmp(name, "always") == 0)
		return SEND_READY_ALWAYS;
	return -1;
}

static const char *send_ready_to_name(int v)
{
	return v == SEND_READY_ALWAYS ? "always" : "on-change";
}

static int tls_min_from_name(const char *name)
{
	if (strcmp(name, "1.2") == 0)
		return TLS_MIN_1_2;
	if (strcmp(name, "1.3") == 0)
		return TLS_MIN_1_3;
	return -1;
}

static const char *tls_min_to_name(int v)
{
	return v == TLS_MIN_1_3 ? "1.3" : "1.2";
}

static const struct enum_ops tls_min_ops = {tls_min_from_name, tls_min_to_name, "1.2 or 1.3"};
static const struct enum_ops send_ready_ops = {send_ready_from_name, send_ready_to_name,
                                               "on-change or always"};
static const struct enum_ops scope_ops = {scope_from_name, scope_to_name,
                                          "location, cluster or list"};
static const struct enum_ops target_ops = {target_from_name, target_to_name, "stderr or syslog"};
static const struct enum_ops level_ops = {log_level_from_name, log_level_name,
                                          "debug, info, notice, warning or error"};
static const struct enum_ops facility_ops = {log_facility_from_name, log_facility_name,
                                             "daemon, user or local0-local7"};

#define FIELD(f) .off = offsetof(struct config, f), .size = sizeof(((struct config *)0)->f)
#define TEXT(t, s, n, f, flg, d, h)                                                                \
	{                                                                                          \
		s, n, t, FIELD(f), .flags = flg, .def = d, .help = h                               \
	}
/* INT, BOOL and LIST take optional trailing designators, e.g. RESTART. */
#define RESTART .flags = KEY_RESTART
#define INT(s, n, f, lo, hi, d, h, ...)                                                            \
	{                                                                                          \
		s, n, KEY_INT, FIELD(f), .min = lo, .max = hi, .def = d, .help = h, __VA_ARGS__    \
	}
#define DUR(s, n, f, lo, hi, d, h)                                                                 \
	{                                                                                          \
		s, n, KEY_DURATION, FIELD(f), .min = lo, .max = hi, .def = d, .help = h            \
	}
#define BOOL(s, n, f, d, h, ...)                                                                   \
	{                                                                                          \
		s, n, KEY_BOOL, FIELD(f), .def = d, .help = h, __VA_ARGS__                         \
	}
#define SIZE(s, n, f, d, h)                                                                        \
	{                                                                                          \
		s, n, KEY_SIZE, FIELD(f), .def = d, .help = h                                      \
	}
#define ENUM(s, n, f, o, d, h)                                                                     \
	{                                                                                          \
		s, n, KEY_ENUM, FIELD(f), .ops = o, .def = d, .help = h                            \
	}
#define LIST(t, s, n, f, c, d, h, ...)                                                             \
	{                                                                                          \
		s, n, t, FIELD(f), .count_off = offsetof(struct config, c), .def = d, .help = h,   \
		__VA_ARGS__                                                                        \
	}
#define MS_1H 3600000L
#define MS_1D 86400000L

/* clang-format off */
static const struct key keys[] = {
	TEXT(KEY_PATH, "node", "repmgr_conf", repmgr_conf, KEY_RESTART, "/etc/repmgr.conf",
	     "repmgr.conf to read node_id, node_name, conninfo and location from"),
	INT("node", "node_id", node_id, 0, INT_MAX, "0",
	    "this node's repmgr node_id; 0 = from repmgr.conf", RESTART),
	TEXT(KEY_STRING, "node", "node_name", node_name, KEY_RESTART, "",
	     "this node's repmgr node_name; empty = from repmgr.conf"),
	TEXT(KEY_CONNINFO, "node", "conninfo", conninfo, KEY_RESTART, "",
	     "libpq conninfo of the local database; empty = repmgr.conf's"),

	INT("database", "pool_size", pool_size, 1, 64, "3", "connections to the local database"),
	DUR("database", "refresh_interval", refresh_interval_ms, 100, MS_1H, "1s",
	    "how often the database and the peers are asked"),
	DUR("database", "db_timeout", db_timeout_ms, 10, MS_1H, "2s",
	    "bound on each connect or query step"),
	DUR("database", "statement_timeout", statement_timeout_ms, 10, MS_1H, "1s",
	    "statement_timeout of primgr's sessions"),
	DUR("database", "stale_after", stale_after_ms, 100, MS_1D, "5s",
	    "a last good refresh older than this makes the verdict Unknown"),
	DUR("database", "reconnect_max", reconnect_max_ms, 100, MS_1H, "10s",
	    "longest wait between reconnect attempts"),

	ENUM("consensus", "scope", scope, &scope_ops, "location",
	     "which registered nodes vote: location, cluster or list"),
	LIST(KEY_LOCATIONS, "consensus", "locations", locations, nlocations, "",
	     "the voting locations when scope = list"),
	LIST(KEY_LOCATIONS, "consensus", "legacy_peers", legacy_peers, nlegacy_peers, "",
	     "node names still on the Python service: their replies may lack answered_by"),
	DUR("consensus", "peer_timeout", peer_timeout_ms, 10, MS_1H, "500ms",
	    "bound on each request to a peer"),
	DUR("consensus", "peer_connect_timeout", peer_connect_timeout_ms, 10, MS_1H, "250ms",
	    "bound on connecting to a peer"),
	TEXT(KEY_URL_TEMPLATE, "consensus", "url_template", url_template, KEY_REQUIRED,
	     "http://{host}:8432", "a peer's primgr URL: {name}, {host}, {id} are replaced"),
	LIST(KEY_REPLACE, "consensus", "name_replace", replace, nreplace, "",
	     "from:to character replacements applied to {name}"),
	TEXT(KEY_HOSTPART, "consensus", "name_suffix", name_suffix, 0, "",
	     "appended to {name}, e.g. .db.example.com"),
	TEXT(KEY_PATH, "consensus", "peer_ca_file", peer_ca_file, 0, "",
	     "CA bundle to verify https peers; empty = system default"),
	TEXT(KEY_PATH, "consensus", "peer_cert", peer_cert, 0, "",
	     "client certificate for https peers"),
	TEXT(KEY_PATH, "consensus", "peer_key", peer_key, 0, "", "client key for https peers"),

	LIST(KEY_LISTEN, "http", "listen", http_listen, nhttp_listen, "*:8432",
	     "HTTP addresses: host:port, [v6]:port or *:port, comma separated", RESTART),
	LIST(KEY_LISTEN, "http", "tls_listen", tls_listen, ntls_listen, "",
	     "HTTPS addresses, as listen; empty = none", RESTART),
	TEXT(KEY_PATH, "http", "tls_cert_file", tls_cert_file, 0, "",
	     "PEM certificate of the TLS listeners, leaf first, then its chain"),
	TEXT(KEY_PATH, "http", "tls_key_file", tls_key_file, 0, "",
	     "PEM private key of tls_cert_file"),
	TEXT(KEY_PATH, "http", "tls_client_ca_file", tls_client_ca_file, 0, "",
	     "CA bundle: set, TLS clients must present a certificate it signed"),
	ENUM("http", "tls_min_version", tls_min_version, &tls_min_ops, "1.2",
	     "oldest TLS version accepted: 1.2 or 1.3"),
	LIST(KEY_CIDRS, "http", "allow", allow, nallow, "",
	     "clients allowed on every HTTP listener: addresses and CIDRs; empty = all"),

	LIST(KEY_AGENT_LISTEN, "agent", "listen", agent_listen, nagent_listen,
	     "*:8433/primary, *:8434/replica",
	     "agent-check addresses with /primary, /replica or /send", RESTART),
	DUR("agent", "send_timeout", agent_timeout_ms, 10, MS_1H, "1s",
	    "wait for haproxy's agent-send line on /send listeners"),
	ENUM("agent", "send_ready", send_ready, &send_ready_ops, "on-change",
	     "replies carry ready: on-change (for ready_window) or always"),
	DUR("agent", "ready_window", ready_window_ms, 0, MS_1H, "30s",
	    "how long replies carry ready after the admin state leaves drain or maint"),

	INT("server", "max_connections", max_connections, 1, 1000000, "10000",
	    "concurrent client connections"),
	DUR("server", "client_timeout", client_timeout_ms, 10, MS_1H, "5s",
	    "time a client has to send a whole request"),
	DUR("server", "idle_timeout", idle_timeout_ms, 10, MS_1H, "60s",
	    "idle keep-alive connections are closed after this"),
	BOOL("server", "allow_root", allow_root, "false", "allow running as root", RESTART),

	DUR("replica", "lag_full", lag_full_ms, 0, MS_1D, "5s",
	    "replay lag up to which a replica gets full weight"),
	DUR("replica", "max_lag", max_lag_ms, 1, MS_1D, "30s",
	    "replay lag past which a replica is down #lag"),
	DUR("replica", "lag_grace", lag_grace_ms, 0, MS_1H, "10s",
	    "how long lag must stay past max_lag before down #lag"),
	INT("replica", "min_weight", min_weight, 1, 100, "10", "weight percentage at max_lag"),
	BOOL("replica", "include_primary", replica_include_primary, "false",
	     "replica listeners also answer up for the primary"),
	SIZE("replica", "max_lag_bytes", max_lag_bytes, "none",
	     "WAL behind the primary past which a replica is down #lag (e.g. 16MB); none = no limit"),

	TEXT(KEY_PATH, "files", "admin_state", admin_state_file, KEY_REQUIRED,
	     "/var/lib/primgr/admin-state", "drain/maint state written by primgr ctl"),
	TEXT(KEY_PATH, "files", "topology_cache", topology_cache, KEY_REQUIRED,
	     "/var/lib/primgr/topology.json", "last known node list"),
	TEXT(KEY_PATH, "files", "pidfile", pidfile, KEY_RESTART, "", "PID file; empty = none"),

	ENUM("log", "target", log_target, &target_ops, "stderr", "stderr or syslog"),
	ENUM("log", "level", log_level, &level_ops, "notice", "lowest priority logged"),
	ENUM("log", "facility", log_facility, &facility_ops, "daemon", "syslog facility"),
};
/* clang-format on */

_Static_assert(ARRAY_SIZE(keys) <= CONFIG_MAX_KEYS, "raise CONFIG_MAX_KEYS");
_Static_assert(sizeof(enum scope) == sizeof(int), "enum fields are stored as int");

#define NKEYS ((int)ARRAY_SIZE(keys))

static const char *const sections[] = {"node",  "database", "consensus", "peers", "http",
                                       "agent", "server",   "replica",   "files", "log"};

static void *key_field(const struct key *k, struct config *cfg)
{
	return (char *)cfg + k->off;
}

static const void *key_cfield(const struct key *k, const struct config *cfg)
{
	return (const char *)cfg + k->off;
}

static int *key_count(const struct key *k, struct config *cfg)
{
	return (int *)(void *)((char *)cfg + k->count_off);
}

static int key_ccount(const struct key *k, const struct config *cfg)
{
	return *(const int *)(const void *)((const char *)cfg + k->count_off);
}

static int key_index(const char *section, const char *name)
{
	for (int i = 0; i < NKEYS; i++)
		if (strcmp(keys[i].section, section) == 0 && strcmp(keys[i].name, name) == 0)
			return i;
	abort(); /* a rule names a key that is not in the table */
}

/* A value for a message: quoted, cut after 60 bytes so a long conninfo stays one line. */
static const char *quote(const char *s, char *buf, size_t size)
{
	size_t n = strlen(s);

	if (n > 60)
		snprintf(buf, size, "\"%.60s...\"", s);
	else
		snprintf(buf, size, "\"%s\"", s);
	return buf;
}

/* ---- per-type parsing (phase 1). Each writes what was wrong into why. */

static bool has_space(const char *s)
{
	for (; *s; s++)
		if (isspace((unsigned char)*s))
			return true;
	return false;
}

static bool parse_text(const struct key *k, const char *v, char *field, char *why, size_t n)
{
	char q[80];
	size_t len = strlen(v);

	if (len >= k->size) {
		snprintf(why, n, "value too long (%zu bytes, at most %zu)", len, k->size - 1);
		return false;
	}
	if (len == 0 && (k->flags & KEY_REQUIRED)) {
		snprintf(why, n, "empty value (expected %s)",
		         k->type == KEY_PATH ? "an absolute path" : "a value");
		return false;
	}
	switch (k->type) {
	case KEY_PATH:
		if (len > 0 && v[0] != '/') {
			snprintf(why, n, "relative path %s (expected an absolute path)",
			         quote(v, q, sizeof(q)));
			return false;
		}
		break;
	case KEY_HOSTPART:
		for (const char *p = v; *p; p++) {
			if (!isalnum((unsigned char)*p) && !strchr("._-", *p)) {
				char c[8];
				if (isprint((unsigned char)*p))
					snprintf(c, sizeof(c), "'%c'", *p);
				else
					snprintf(c, sizeof(c), "0x%02x", (unsigned char)*p);
				snprintf(why, n,
				         "invalid character %s in %s (expected letters, digits, "
				         "'.', '-' or '_')",
				         c, quote(v, q, sizeof(q)));
				return false;
			}
		}
		break;
	case KEY_CONNINFO:
		if (len > 0) {
			char msg[512];
			if (!conninfo_check(v, msg, sizeof(msg)))
				return util_fail(why, n, "invalid conninfo: %s", msg);
		}
		break;
	default:
		break;
	}
	memcpy(field, v, len + 1);
	return true;
}

static bool url_scheme_ok(const char *v, size_t *rest)
{
	if (strncasecmp(v, "http://", 7) == 0)
		*rest = 7;
	else if (strncasecmp(v, "https://", 8) == 0)
		*rest = 8;
	else
		return false;
	return v[*rest] != '\0' && v[*rest] != '/';
}

static bool parse_url_template(const struct key *k, const char *v, char *field, char *why, size_t n)
{
	static const char *const holders[] = {"{name}", "{host}", "{id}"};
	char q[80];
	size_t rest;
	int found = 0;

	if (!url_scheme_ok(v, &rest) || has_space(v)) {
		snprintf(why, n,
		         "invalid URL template %s (expected http://... or https://..., "
		         "no spaces)",
		         quote(v, q, sizeof(q)));
		return false;
	}
	for (const char *p = strchr(v, '{'); p; p = strchr(p + 1, '{')) {
		size_t i;
		for (i = 0; i < ARRAY_SIZE(holders); i++)
			if (strncmp(p, holders[i], strlen(holders[i])) == 0)
				break;
		if (i == ARRAY_SIZE(holders)) {
			snprintf(why, n,
			         "unknown placeholder in %s (expected {name}, {host} or {id})",
			         quote(v, q, sizeof(q)));
			return false;
		}
		found++;
	}
	if (found == 0) {
		snprintf(why, n,
		         "%s has no {name}, {host} or {id} (every peer would get the same "
		         "URL)",
		         quote(v, q, sizeof(q)));
		return false;
	}
	return parse_text(k, v, field, why, n);
}

static bool parse_duration_value(const struct key *k, const char *v, uint32_t *ms, char *why,
                                 size_t n)
{
	char q[80], lo[16], hi[16];

	util_format_duration((uint32_t)k->min, lo, sizeof(lo));
	util_format_duration((uint32_t)k->max, hi, sizeof(hi));
	if (!util_parse_duration(v, ms)) {
		snprintf(why, n,
		         "invalid duration %s (expected a whole number and ms, s, m or h, "
		         "e.g. 500ms)",
		         quote(v, q, sizeof(q)));
		return false;
	}
	if (*ms < (uint32_t)k->min || *ms > (uint32_t)k->max) {
		snprintf(why, n, "duration %s out of range (expected %s-%s)",
		         quote(v, q, sizeof(q)), lo, hi);
		return false;
	}
	return true;
}

static bool parse_size_value(const char *v, int64_t *bytes, char *why, size_t n)
{
	char q[80];

	if (strcasecmp(v, "none") == 0) {
		*bytes = 0;
		return true;
	}
	if (!util_parse_size(v, bytes)) {
		snprintf(why, n,
		         "invalid size %s (expected none, or a whole number and B, kB, MB, GB or "
		         "TB, e.g. 16MB)",
		         quote(v, q, sizeof(q)));
		return false;
	}
	return true;
}

static bool parse_int_value(const struct key *k, const char *v, int *out, char *why, size_t n)
{
	char q[80];
	long x;

	if (!util_parse_int(v, LONG_MIN, LONG_MAX, &x)) {
		snprintf(why, n, "invalid integer %s (expected %ld-%ld)", quote(v, q, sizeof(q)),
		         k->min, k->max);
		return false;
	}
	if (x < k->min || x > k->max) {
		snprintf(why, n, "%s out of range (expected %ld-%ld)", quote(v, q, sizeof(q)),
		         k->min, k->max);
		return false;
	}
	*out = (int)x;
	return true;
}

/* Copies the next comma-separated item of *p, trimmed, into item. Returns false at the
 * end of the list; *fit is false when the item did not fit. */
static bool list_next(const char **p, char *item, size_t size, bool *fit)
{
	const char *s = *p, *comma;
	size_t len;

	if (!s)
		return false;
	comma = strchr(s, ',');
	len = comma ? (size_t)(comma - s) : strlen(s);
	*fit = len < size;
	if (*fit) {
		memcpy(item, s, len);
		item[len] = '\0';
		util_trim(item);
	} else {
		item[0] = '\0';
	}
	*p = comma ? comma + 1 : NULL;
	return true;
}

static bool role_from_name(const char *s, enum role *r)
{
	static const char *const names[] = {"primary", "replica", "send"};

	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		if (strcmp(s, names[i]) == 0) {
			*r = (enum role)i;
			return true;
		}
	}
	return false;
}

static bool parse_addr(const char *s, bool agent, struct listen_addr *a, char *why, size_t n)
{
	char text[300], q[80];
	char *slash, *port;
	long p;

	if (!util_strlcpy(text, s, sizeof(text))) {
		snprintf(why, n, "address %s too long", quote(s, q, sizeof(q)));
		return false;
	}
	a->role = ROLE_PRIMARY;
	slash = strchr(text, '/');
	if (slash) {
		*slash = '\0';
		if (!agent) {
			snprintf(why, n,
			         "role suffix in %s (only [agent] listen takes /primary, "
			         "/replica or /send)",
			         quote(s, q, sizeof(q)));
			return false;
		}
		if (!role_from_name(slash + 1, &a->role)) {
			snprintf(why, n,
			         "invalid role \"/%s\" in %s (expected /primary, /replica or "
			         "/send)",
			         slash + 1, quote(s, q, sizeof(q)));
			return false;
		}
	} else if (agent) {
		snprintf(why, n, "missing role in %s (expected /primary, /replica or /send)",
		         quote(s, q, sizeof(q)));
		return false;
	}
	if (text[0] == '[') {
		char *close = strchr(text, ']');
		port = close && close[1] == ':' ? close + 2 : NULL;
	} else {
		char *colon = strrchr(text, ':');
		if (colon && memchr(text, ':', (size_t)(colon - text))) {
			snprintf(why, n, "invalid address %s (write IPv6 addresses as [::1]:port)",
			         quote(s, q, sizeof(q)));
			return false;
		}
		port = colon ? colon + 1 : NULL;
	}
	if (!port) {
		snprintf(why, n, "invalid address %s (expected host:port, [v6]:port or *:port)",
		         quote(s, q, sizeof(q)));
		return false;
	}
	if (!util_parse_int(port, 1, 65535, &p)) {
		snprintf(why, n, "invalid port %s (expected 1-65535)", quote(port, q, sizeof(q)));
		return false;
	}
	if (has_space(text) || !util_split_hostport(text, a->host, sizeof(a->host), &a->port) ||
	    (a->host[0] == '\0' && strncmp(text, "*:", 2) != 0)) {
		snprintf(why, n, "invalid address %s (expected host:port, [v6]:port or *:port)",
		         quote(s, q, sizeof(q)));
		return false;
	}
	return true;
}

/* A list key: what its items are called in messages, how long one may be, and how one is
 * parsed into slot i of the key's array (the loop has checked that slot i exists). */
struct list_kind {
	const char *one, *many;
	size_t item_size;
	bool (*item)(const struct key *k, const struct list_kind *kind, const char *item,
	             struct config *cfg, int i, char *why, size_t n);
};

static bool listen_item(const struct key *k, const struct list_kind *kind, const char *item,
                        struct config *cfg, int i, char *why, size_t n)
{
	struct listen_addr *arr = key_field(k, cfg);
	(void)kind;

	return parse_addr(item, k->type == KEY_AGENT_LISTEN, &arr[i], why, n);
}

static bool cidr_item(const struct key *k, const struct list_kind *kind, const char *item,
                      struct config *cfg, int i, char *why, size_t n)
{
	struct cidr *arr = key_field(k, cfg);
	char q[80];
	(void)kind;

	if (util_parse_cidr(item, &arr[i]))
		return true;
	snprintf(why, n,
	         "invalid address %s (expected an IPv4 or IPv6 address, or a CIDR block without "
	         "host bits such as 10.0.0.0/8 or 2001:db8::/32)",
	         quote(item, q, sizeof(q)));
	return false;
}

static bool name_item(const struct key *k, const struct list_kind *kind, const char *item,
                      struct config *cfg, int i, char *why, size_t n)
{
	char(*arr)[CONFIG_NAME_MAX] = key_field(k, cfg);
	char q[80];

	for (int j = 0; j < i; j++) {
		if (strcmp(arr[j], item) == 0) {
			snprintf(why, n, "%s %s listed twice", kind->one,
			         quote(item, q, sizeof(q)));
			return false;
		}
	}
	memcpy(arr[i], item, strlen(item) + 1);
	return true;
}

static bool replace_item(const struct key *k, const struct list_kind *kind, const char *item,
                         struct config *cfg, int i, char *why, size_t n)
{
	struct name_replace *arr = key_field(k, cfg);
	char q[80];
	(void)kind;

	if (strlen(item) != 3 || item[1] != ':' || !isgraph((unsigned char)item[0]) ||
	    !isgraph((unsigned char)item[2])) {
		snprintf(why, n,
		         "invalid replacement %s (expected from:to, two characters, e.g. -:_)",
		         quote(item, q, sizeof(q)));
		return false;
	}
	for (int j = 0; j < i; j++) {
		if (arr[j].from == item[0]) {
			snprintf(why, n, "'%c' is replaced twice", item[0]);
			return false;
		}
	}
	arr[i].from = item[0];
	arr[i].to = item[2];
	return true;
}

static const struct list_kind listen_list = {"address", "addresses", 512, listen_item};
static const struct list_kind cidr_list = {"address", "addresses", 80, cidr_item};
static const struct list_kind location_list = {"location", "locations", CONFIG_NAME_MAX,
                                               name_item};
static const struct list_kind node_name_list = {"node name", "node names", CONFIG_NAME_MAX,
                                                name_item};
/* a long replacement reaches replace_item, which says what one looks like */
static const struct list_kind replace_list = {"replacement", "replacements", 512, replace_item};

/* Parses a comma-separated list key into its array of at most max items. An empty value is
 * the empty list; an empty item, an item that does not fit, one too many, or an item its
 * kind refuses is an error. */
static bool parse_list(const struct key *k, const char *v, struct config *cfg,
                       const struct list_kind *kind, int max, char *why, size_t n)
{
	int *count = key_count(k, cfg);
	char item[512];
	size_t size = kind->item_size < sizeof(item) ? kind->item_size : sizeof(item);
	bool fit;

	*count = 0;
	if (v[0] == '\0')
		return true;
	while (list_next(&v, item, size, &fit)) {
		if (!fit) {
			snprintf(why, n, "%s too long (at most %zu bytes)", kind->one, size - 1);
			return false;
		}
		if (item[0] == '\0') {
			snprintf(why, n, "empty %s in the list", kind->one);
			return false;
		}
		if (*count == max) {
			snprintf(why, n, "too many %s (at most %d)", kind->many, max);
			return false;
		}
		if (!kind->item(k, kind, item, cfg, *count, why, n))
			return false;
		(*count)++;
	}
	return true;
}

static bool parse_value(const struct key *k, const char *v, struct config *cfg, char *why, size_t n)
{
	char q[80];
	void *field = key_field(k, cfg);

	switch (k->type) {
	case KEY_PATH:
	case KEY_STRING:
	case KEY_HOSTPART:
	case KEY_CONNINFO:
		return parse_text(k, v, field, why, n);
	case KEY_URL_TEMPLATE:
		return parse_url_template(k, v, field, why, n);
	case KEY_INT:
		return parse_int_value(k, v, field, why, n);
	case KEY_BOOL:
		if (!util_parse_bool(v, field)) {
			snprintf(why, n, "invalid boolean %s (expected true or false)",
			         quote(v, q, sizeof(q)));
			return false;
		}
		return true;
	case KEY_DURATION:
		return parse_duration_value(k, v, field, why, n);
	case KEY_SIZE:
		return parse_size_value(v, field, why, n);
	case KEY_ENUM: {
		int x = k->ops->from_name(v);
		if (x < 0) {
			snprintf(why, n, "invalid value %s (expected %s)", quote(v, q, sizeof(q)),
			         k->ops->expected);
			return false;
		}
		*(int *)field = x;
		return true;
	}
	case KEY_LISTEN:
	case KEY_AGENT_LISTEN:
		return parse_list(k, v, cfg, &listen_list, CONFIG_MAX_LISTEN, why, n);
	case KEY_CIDRS:
		return parse_list(k, v, cfg, &cidr_list, CONFIG_MAX_ALLOW, why, n);
	case KEY_LOCATIONS:
		return parse_list(k, v, cfg,
		                  strcmp(k->name, "locations") == 0 ? &location_list
		                                                    : &node_name_list,
		                  (int)(k->size / CONFIG_NAME_MAX), why, n);
	case KEY_REPLACE:
		return parse_list(k, v, cfg, &replace_list, CONFIG_MAX_REPLACE, why, n);
	}
	return false;
}

/* ---- formatting (--print-config and messages) */

static void format_value(const struct key *k, const struct config *cfg, char *buf, size_t size)
{
	const void *field = key_cfield(k, cfg);
	size_t off = 0;
	bool ok = true;

	buf[0] = '\0';
	switch (k->type) {
	case KEY_PATH:
	case KEY_STRING:
	case KEY_HOSTPART:
	case KEY_CONNINFO:
	case KEY_URL_TEMPLATE:
		ok = util_strlcpy(buf, field, size);
		break;
	case KEY_INT:
		snprintf(buf, size, "%d", *(const int *)field);
		break;
	case KEY_BOOL:
		snprintf(buf, size, "%s", *(const bool *)field ? "true" : "false");
		break;
	case KEY_DURATION:
		util_format_duration(*(const uint32_t *)field, buf, size);
		break;
	case KEY_SIZE:
		if (*(const int64_t *)field == 0)
			snprintf(buf, size, "none");
		else
			util_format_size(*(const int64_t *)field, buf, size);
		break;
	case KEY_ENUM:
		snprintf(buf, size, "%s", k->ops->to_name(*(const int *)field));
		break;
	case KEY_LISTEN:
	case KEY_AGENT_LISTEN:
		for (int i = 0; ok && i < key_ccount(k, cfg); i++) {
			char a[320];
			config_format_listen((const struct listen_addr *)field + i,
			                     k->type == KEY_AGENT_LISTEN, a, sizeof(a));
			ok = util_appendf(buf, size, &off, "%s%s", i ? ", " : "", a);
		}
		break;
	case KEY_CIDRS:
		for (int i = 0; ok && i < key_ccount(k, cfg); i++) {
			char a[INET6_ADDRSTRLEN + 8];
			util_format_cidr((const struct cidr *)field + i, a, sizeof(a));
			ok = util_appendf(buf, size, &off, "%s%s", i ? ", " : "", a);
		}
		break;
	case KEY_LOCATIONS:
		for (int i = 0; ok && i < key_ccount(k, cfg); i++)
			ok = util_appendf(buf, size, &off, "%s%s", i ? "," : "",
			                  ((const char(*)[CONFIG_NAME_MAX])field)[i]);
		break;
	case KEY_REPLACE:
		for (int i = 0; ok && i < key_ccount(k, cfg); i++) {
			const struct name_replace *r = (const struct name_replace *)field + i;
			ok = util_appendf(buf, size, &off, "%s%c:%c", i ? "," : "", r->from, r->to);
		}
		break;
	}
	(void)ok; /* the callers' buffers hold the longest value of every type */
}

/* ---- the file reader */

struct reader {
	const char *path;
	int line;
	const char *section; /* from sections[], NULL before the first header */
	struct config *cfg;
	char *err;
	size_t errlen;
};

/* "file:line: message" into the reader's error buffer; returns false. */
#define read_fail(r, ...) util_fail_at((r)->err, (r)->errlen, (r)->path, (r)->line, __VA_ARGS__)

static bool read_peer(struct reader *r, const char *name, const char *v)
{
	struct config *cfg = r->cfg;
	struct peer_override *p;
	char q[80];
	size_t rest, len = strlen(v);

	if (strlen(name) >= CONFIG_NAME_MAX)
		return read_fail(r, "[peers] node name %s too long (at most %d bytes)",
		                 quote(name, q, sizeof(q)), CONFIG_NAME_MAX - 1);
	if (has_space(name))
		return read_fail(r, "[peers] node name %s contains a space",
		                 quote(name, q, sizeof(q)));
	for (int i = 0; i < cfg->npeers; i++)
		if (strcmp(cfg->peers[i].name, name) == 0)
			return read_fail(r, "[peers] %s: duplicate key (first set on line %d)",
			                 name, cfg->peers[i].line);
	if (cfg->npeers == CONFIG_MAX_PEERS)
		return read_fail(r, "[peers] %s: too many peers (at most %d)", name,
		                 CONFIG_MAX_PEERS);
	if (!url_scheme_ok(v, &rest) || has_space(v))
		return read_fail(r,
		                 "[peers] %s: invalid URL %s (expected http://host:port or "
		                 "https://host:port)",
		                 name, quote(v, q, sizeof(q)));
	while (len > rest + 1 && v[len - 1] == '/')
		len--; /* base URL: paths are appended with their own '/' */
	if (len >= CONFIG_URL_MAX)
		return read_fail(r, "[peers] %s: URL too long (%zu bytes, at most %d)", name, len,
		                 CONFIG_URL_MAX - 1);
	p = &cfg->peers[cfg->npeers++];
	memcpy(p->name, name, strlen(name) + 1);
	memcpy(p->url, v, len);
	p->url[len] = '\0';
	p->line = r->line;
	return true;
}

/* Optional double quotes keep leading or trailing blanks; only the outer pair goes and
 * nothing is escaped. Returns the value, or NULL when the closing quote is missing. */
static char *unquote(char *v)
{
	size_t len = strlen(v);

	if (v[0] != '"')
		return v;
	if (len < 2 || v[len - 1] != '"')
		return NULL;
	v[len - 1] = '\0';
	return v + 1;
}

static bool read_key(struct reader *r, const char *name, char *v)
{
	char why[512], q[80];
	const struct key *k = NULL;
	int i;

	if (!r->section)
		return read_fail(r, "key %s before any [section]", quote(name, q, sizeof(q)));
	if (strcmp(r->section, "peers") == 0) {
		if (!(v = unquote(v)))
			return read_fail(r, "[peers] %.60s: missing closing '\"'", name);
		return read_peer(r, name, v);
	}
	for (i = 0; i < NKEYS && !k; i++)
		if (strcmp(keys[i].section, r->section) == 0 && strcasecmp(keys[i].name, name) == 0)
			k = &keys[i];
	if (!k)
		return read_fail(r, "unknown key %s in [%s]", quote(name, q, sizeof(q)),
		                 r->section);
	i = (int)(k - keys);
	if (r->cfg->key_line[i])
		return read_fail(r, "[%s] %s: duplicate key (first set on line %d)", k->section,
		                 k->name, r->cfg->key_line[i]);
	if (!(v = unquote(v)))
		return read_fail(r, "[%s] %s: missing closing '\"'", k->section, k->name);
	if (!parse_value(k, v, r->cfg, why, sizeof(why)))
		return read_fail(r, "[%s] %s: %s", k->section, k->name, why);
	r->cfg->key_line[i] = r->line;
	return true;
}

static bool read_line(struct reader *r, char *s)
{
	char q[80];
	char *eq;

	for (const char *p = s; *p; p++)
		if ((iscntrl((unsigned char)*p) && *p != '\t'))
			return read_fail(r, "control character 0x%02x in line", (unsigned char)*p);
	util_trim(s);
	if (s[0] == '\0' || s[0] == ';' || s[0] == '#')
		return true;
	if (s[0] == '[') {
		char *close = strchr(s, ']');
		if (!close)
			return read_fail(r, "syntax error: missing ']' after section name");
		if (close[1] != '\0')
			return read_fail(r, "syntax error: text after ']'");
		*close = '\0';
		util_trim(s + 1);
		for (size_t i = 0; i < ARRAY_SIZE(sections); i++) {
			if (strcasecmp(s + 1, sections[i]) == 0) {
				r->section = sections[i];
				return true;
			}
		}
		return read_fail(r, "unknown section [%.60s]", s + 1);
	}
	eq = strchr(s, '=');
	if (!eq)
		return read_fail(r, "syntax error: missing '=' in %s (expected key = value)",
		                 quote(s, q, sizeof(q)));
	*eq = '\0';
	util_trim(s);
	if (s[0] == '\0')
		return read_fail(r, "syntax error: missing key name before '='");
	return read_key(r, s, util_trim(eq + 1));
}

static bool read_text(struct reader *r, char *text, size_t len)
{
	char *p = text, *end = text + len;

	if (len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
		p += 3; /* UTF-8 byte order mark, as some editors write it */
	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		char *eol = nl ? nl : end;
		size_t n = (size_t)(eol - p);

		r->line++;
		if (n > 0 && eol[-1] == '\r')
			n--;
		if (n > CONFIG_LINE_MAX)
			return read_fail(r, "line too long (%zu bytes, at most %d)", n,
			                 CONFIG_LINE_MAX);
		if (memchr(p, '\0', n))
			return read_fail(r, "NUL byte in line");
		p[n] = '\0';
		if (!read_line(r, p))
			return false;
		p = eol + 1;
	}
	return true;
}

/* ---- public functions */

void config_defaults(struct config *cfg)
{
	char why[256];

	memset(cfg, 0, sizeof(*cfg));
	for (int i = 0; i < NKEYS; i++) {
		if (!parse_value(&keys[i], keys[i].def, cfg, why, sizeof(why))) {
			fprintf(stderr, "primgr: bad default of [%s] %s: %s\n", keys[i].section,
			        keys[i].name, why);
			abort();
		}
	}
}

bool config_load(const char *path, struct config *cfg, char *err, size_t errlen)
{
	struct reader r = {.path = path, .cfg = cfg, .err = err, .errlen = errlen};
	struct stat st;
	char *text;
	size_t len;
	bool ok;

	config_defaults(cfg);
	if (!util_strlcpy(cfg->path, path, sizeof(cfg->path))) {
		snprintf(err, errlen, "%.100s...: path too long", path);
		return false;
	}
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s: is a directory", path);
		return false;
	}
	text = util_read_file(path, CONFIG_FILE_MAX, &len);
	if (!text) {
		if (errno == EFBIG)
			snprintf(err, errlen, "%s: file too large (more than %d bytes)", path,
			         CONFIG_FILE_MAX);
		else
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return false;
	}
	ok = read_text(&r, text, len);
	free(text);
	return ok && config_validate(cfg, err, errlen);
}

/* ---- phase 2: cross-field validation */

struct check {
	const struct config *cfg;
	char *err;
	size_t errlen;
};

/* "file:line: " for key i, or "file: " when it has its default; returns false. */
#define check_fail(c, i, ...)                                                                      \
	util_fail_at((c)->err, (c)->errlen, (c)->cfg->path, (c)->cfg->key_line[i], __VA_ARGS__)

/* "line 5" or "default": where key i's value came from. */
static const char *origin(const struct config *cfg, int i, char *buf, size_t size)
{
	if (cfg->key_line[i] > 0)
		snprintf(buf, size, "line %d", cfg->key_line[i]);
	else
		snprintf(buf, size, "default");
	return buf;
}

/* The key to blame: one set in the file (the later one when both are), else a. */
static bool blame_second(const struct config *cfg, int a, int b)
{
	return cfg->key_line[b] > cfg->key_line[a];
}

/* "[section] key" for other, or just "key" when it shares a's section. */
static const char *other_name(int a, int other, char *buf, size_t size)
{
	if (strcmp(keys[a].section, keys[other].section) == 0)
		snprintf(buf, size, "%s", keys[other].name);
	else
		snprintf(buf, size, "[%s] %s", keys[other].section, keys[other].name);
	return buf;
}

/* Duration rule: a < b (strict) or a <= b. */
static bool check_order(struct check *c, const char *sa, const char *na, const char *sb,
                        const char *nb, bool strict)
{
	int a = key_index(sa, na), b = key_index(sb, nb);
	uint32_t va = *(const uint32_t *)key_cfield(&keys[a], c->cfg);
	uint32_t vb = *(const uint32_t *)key_cfield(&keys[b], c->cfg);
	char ta[16], tb[16], where[32], self[32], name[80];
	bool second = blame_second(c->cfg, a, b);
	int blamed = second ? b : a, other = second ? a : b;
	const char *verb;

	if (strict ? va < vb : va <= vb)
		return true;
	util_format_duration(second ? vb : va, ta, sizeof(ta));
	util_format_duration(second ? va : vb, tb, sizeof(tb));
	if (second)
		verb = strict ? "must be longer than" : "must not be shorter than";
	else
		verb = strict ? "must be shorter than" : "must not be longer than";
	snprintf(self, sizeof(self), "%s", c->cfg->key_line[blamed] ? "" : " (default)");
	return check_fail(c, blamed, "[%s] %s: %s%s %s %s (%s, %s)", keys[blamed].section,
	                  keys[blamed].name, ta, self, verb,
	                  other_name(blamed, other, name, sizeof(name)), tb,
	                  origin(c->cfg, other, where, sizeof(where)));
}

static bool is_wildcard(const char *host)
{
	return host[0] == '\0' || strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0;
}

/* Two listeners that cannot both bind: same port, and same host or one is a wildcard. */
static bool addr_conflict(const struct listen_addr *x, const struct listen_addr *y)
{
	return x->port == y->port &&
	       (strcmp(x->host, y->host) == 0 || is_wildcard(x->host) || is_wildcard(y->host));
}

static bool check_listeners(struct check *c)
{
	const struct config *cfg = c->cfg;
	int ih = key_index("http", "listen"), ia = key_index("agent", "listen");
	int it = key_index("http", "tls_listen");
	struct {
		const struct listen_addr *a;
		int key;
	} all[3 * CONFIG_MAX_LISTEN];
	int n = 0;

	if (cfg->nhttp_listen == 0 && cfg->ntls_listen == 0)
		return check_fail(c, ih,
		                  "[http] listen: no address, nor in tls_listen (expected at least "
		                  "one: peers fetch /primary from it)");
	for (int i = 0; i < cfg->nhttp_listen && i < CONFIG_MAX_LISTEN; i++)
		all[n++] = (typeof(all[0])){&cfg->http_listen[i], ih};
	for (int i = 0; i < cfg->ntls_listen && i < CONFIG_MAX_LISTEN; i++)
		all[n++] = (typeof(all[0])){&cfg->tls_listen[i], it};
	for (int i = 0; i < cfg->nagent_listen && i < CONFIG_MAX_LISTEN; i++)
		all[n++] = (typeof(all[0])){&cfg->agent_listen[i], ia};
	for (int j = 1; j < n; j++) {
		for (int i = 0; i < j; i++) {
			char x[320], y[320], where[32];
			int blamed = all[j].key, other = all[i].key;
			const struct listen_addr *bad = all[j].a, *first = all[i].a;
			if (!addr_conflict(all[i].a, all[j].a))
				continue;
			if (all[i].key != all[j].key && blame_second(cfg, all[j].key, all[i].key)) {
				blamed = all[i].key, other = all[j].key;
				bad = all[i].a, first = all[j].a;
			}
			config_format_listen(bad, blamed == ia, x, sizeof(x));
			config_format_listen(first, other == ia, y, sizeof(y));
			if (blamed == other)
				return check_fail(c, blamed,
				                  "[%s] %s: %s conflicts with %s in "
				                  "the same list",
				                  keys[blamed].section, keys[blamed].name, x, y);
			return check_fail(c, blamed, "[%s] %s: %s conflicts with %s in [%s] %s (%s)",
			                  keys[blamed].section, keys[blamed].name, x, y,
			                  keys[other].section, keys[other].name,
			                  origin(cfg, other, where, sizeof(where)));
		}
	}
	return true;
}

static bool check_tls(struct check *c)
{
	const struct config *cfg = c->cfg;
	int it = key_index("http", "tls_listen"), ic = key_index("http", "tls_cert_file");
	int ik = key_index("http", "tls_key_file");

	if (!cfg->tls_cert_file[0] != !cfg->tls_key_file[0]) {
		bool has_cert = cfg->tls_cert_file[0];
		return check_fail(c, has_cert ? ic : ik,
		                  "[http] %s: set without %s (expected both or neither)",
		                  has_cert ? "tls_cert_file" : "tls_key_file",
		                  has_cert ? "tls_key_file" : "tls_cert_file");
	}
	if (cfg->ntls_listen > 0 && !cfg->tls_cert_file[0])
		return check_fail(c, it,
		                  "[http] tls_listen: set without tls_cert_file and tls_key_file "
		                  "(expected both: the listener's certificate and key)");
	return true;
}

static bool check_files(struct check *c)
{
	static const char *const names[] = {"admin_state", "topology_cache", "pidfile"};

	for (size_t j = 1; j < ARRAY_SIZE(names); j++) {
		for (size_t i = 0; i < j; i++) {
			int a = key_index("files", names[i]), b = key_index("files", names[j]);
			const char *va = key_cfield(&keys[a], c->cfg);
			const char *vb = key_cfield(&keys[b], c->cfg);
			char where[32];
			if (va[0] == '\0' || strcmp(va, vb) != 0)
				continue;
			if (blame_second(c->cfg, a, b))
				return check_fail(c, b, "[files] %s: same file as %s (%s)",
				                  names[j], names[i],
				                  origin(c->cfg, a, where, sizeof(where)));
			return check_fail(c, a, "[files] %s: same file as %s (%s)", names[i],
			                  names[j], origin(c->cfg, b, where, sizeof(where)));
		}
	}
	return true;
}

bool config_validate(const struct config *cfg, char *err, size_t errlen)
{
	struct check c = {cfg, err, errlen};
	char where[32];
	int scope = key_index("consensus", "scope"), locs = key_index("consensus", "locations");
	int cert = key_index("consensus", "peer_cert"), pkey = key_index("consensus", "peer_key");
	int rconf = key_index("node", "repmgr_conf");

	if (!check_order(&c, "database", "statement_timeout", "database", "db_timeout", false) ||
	    !check_order(&c, "database", "db_timeout", "database", "stale_after", true) ||
	    !check_order(&c, "database", "refresh_interval", "database", "stale_after", true) ||
	    !check_order(&c, "consensus", "peer_timeout", "database", "stale_after", true) ||
	    !check_order(&c, "consensus", "peer_connect_timeout", "consensus", "peer_timeout",
	                 false) ||
	    !check_order(&c, "replica", "lag_full", "replica", "max_lag", true))
		return false;

	if (cfg->scope == SCOPE_LIST && cfg->nlocations == 0)
		return check_fail(&c, blame_second(cfg, scope, locs) ? locs : scope,
		                  "[consensus] scope: list needs locations (expected e.g. "
		                  "locations = dc1,dc2)");
	if (cfg->scope != SCOPE_LIST && cfg->nlocations > 0)
		return check_fail(
		    &c, blame_second(cfg, locs, scope) ? scope : locs,
		    "[consensus] locations: only used with scope = list (scope is %s, "
		    "%s)",
		    config_scope_name(cfg->scope), origin(cfg, scope, where, sizeof(where)));

	if (!cfg->peer_cert[0] != !cfg->peer_key[0]) {
		bool has_cert = cfg->peer_cert[0];
		return check_fail(&c, has_cert ? cert : pkey,
		                  "[consensus] %s: set without %s (expected both or neither)",
		                  has_cert ? "peer_cert" : "peer_key",
		                  has_cert ? "peer_key" : "peer_cert");
	}

	if (cfg->repmgr_conf[0] == '\0' &&
	    (cfg->node_id == 0 || !cfg->node_name[0] || !cfg->conninfo[0]))
		return check_fail(&c, rconf,
		                  "[node] repmgr_conf: empty, so node_id, node_name and "
		                  "conninfo must all be set (%s is not)",
		                  cfg->node_id == 0    ? "node_id"
		                  : !cfg->node_name[0] ? "node_name"
		                                       : "conninfo");

	return check_listeners(&c) && check_tls(&c) && check_files(&c);
}

void config_print(FILE *out, const struct config *cfg)
{
	char value[CONFIG_LINE_MAX];
	const char *section = NULL;

	fputs("; primgr effective configuration", out);
	if (cfg->path[0]) {
		/* a newline in the file name would end the comment */
		fputs(" from ", out);
		for (const char *p = cfg->path; *p; p++)
			fputc(iscntrl((unsigned char)*p) ? '?' : *p, out);
	}
	fputc('\n', out);
	for (int i = 0; i < NKEYS; i++) {
		const struct key *k = &keys[i];
		size_t len;

		if (!section || strcmp(section, k->section) != 0) {
			section = k->section;
			fprintf(out, "\n[%s]\n", section);
		}
		format_value(k, cfg, value, sizeof(value));
		len = strlen(value);
		/* Quote what the reader would trim or strip, so the value reads back the same. */
		if (len > 0 && (isspace((unsigned char)value[0]) ||
		                isspace((unsigned char)value[len - 1]) || value[0] == '"'))
			fprintf(out, "%s = \"%s\"\n", k->name, value);
		else
			fprintf(out, "%s =%s%s\n", k->name, len ? " " : "", value);
	}
	fprintf(out, "\n[peers]\n");
	for (int i = 0; i < cfg->npeers; i++)
		fprintf(out, "%s = %s\n", cfg->peers[i].name, cfg->peers[i].url);
}

bool config_key_at(int i, const char **section, const char **name)
{
	if (i < 0 || i >= NKEYS)
		return false;
	*section = keys[i].section;
	*name = keys[i].name;
	return true;
}

bool config_key_needs_restart(int i)
{
	return i >= 0 && i < NKEYS && (keys[i].flags & KEY_RESTART);
}

/* Appends ", [section] name" to a list that ends in "..." once the next name would not
 * fit (room for ", ..." is always kept). */
static void diff_add(char *list, size_t size, size_t *off, bool *full, const char *section,
                     const char *name)
{
	char item[192];
	size_t len;

	if (*full || size == 0)
		return;
	snprintf(item, sizeof(item), "%s[%s] %s", *off ? ", " : "", section, name);
	len = strlen(item);
	if (*off + len + sizeof(", ...") > size) {
		snprintf(list + *off, size - *off, "%s", *off ? ", ..." : "...");
		*full = true;
		return;
	}
	memcpy(list + *off, item, len + 1);
	*off += len;
}

static const struct peer_override *peer_find(const struct config *cfg, const char *name)
{
	for (int i = 0; i < cfg->npeers && i < CONFIG_MAX_PEERS; i++)
		if (strcmp(cfg->peers[i].name, name) == 0)
			return &cfg->peers[i];
	return NULL;
}

bool config_diff(const struct config *old, struct config *nw, char *changed, size_t csize,
                 char *restart, size_t rsize)
{
	char a[CONFIG_LINE_MAX], b[CONFIG_LINE_MAX];
	size_t coff = 0, roff = 0;
	bool cfull = false, differ = false;

	if (csize > 0)
		changed[0] = '\0';
	if (rsize > 0)
		restart[0] = '\0';
	/* Values compare as --print-config writes them: "1000ms" and "1s" are the same. */
	for (int i = 0; i < NKEYS; i++) {
		const struct key *k = &keys[i];

		format_value(k, old, a, sizeof(a));
		format_value(k, nw, b, sizeof(b));
		if (strcmp(a, b) == 0)
			continue;
		if (!(k->flags & KEY_RESTART)) {
			diff_add(changed, csize, &coff, &cfull, k->section, k->name);
			continue;
		}
		differ = true;
		(void)!util_appendf(restart, rsize, &roff, "%s[%s] %s", roff ? ", " : "",
		                    k->section, k->name); /* a cut list still says enough */
		memcpy(key_field(k, nw), key_cfield(k, old), k->size);
		if (k->count_off) /* a list: its count too */
			*key_count(k, nw) = key_ccount(k, old);
	}
	for (int i = 0; i < old->npeers && i < CONFIG_MAX_PEERS; i++) {
		const struct peer_override *p = peer_find(nw, old->peers[i].name);
		if (!p || strcmp(p->url, old->peers[i].url) != 0)
			diff_add(changed, csize, &coff, &cfull, "peers", old->peers[i].name);
	}
	for (int i = 0; i < nw->npeers && i < CONFIG_MAX_PEERS; i++)
		if (!peer_find(old, nw->peers[i].name))
			diff_add(changed, csize, &coff, &cfull, "peers", nw->peers[i].name);
	return differ;
}

void config_format_listen(const struct listen_addr *a, bool agent, char *buf, size_t size)
{
	bool v6 = strchr(a->host, ':') != NULL;

	snprintf(buf, size, "%s%s%s:%u%s%s", v6 ? "[" : "", a->host[0] ? a->host : "*",
	         v6 ? "]" : "", a->port, agent ? "/" : "", agent ? config_role_name(a->role) : "");
}

const char *config_role_name(enum role r)
{
	switch (r) {
	case ROLE_PRIMARY:
		return "primary";
	case ROLE_REPLICA:
		return "replica";
	case ROLE_SEND:
		return "send";
	}
	return "?";
}

const char *config_scope_name(enum scope s)
{
	switch (s) {
	case SCOPE_LOCATION:
		return "location";
	case SCOPE_CLUSTER:
		return "cluster";
	case SCOPE_LIST:
		return "list";
	}
	return "?";
}

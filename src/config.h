/* config: the INI key table, parsing (syntax per key, then cross-field validation),
 * --print-config and reload. Functions return bool (true = ok) unless noted. */
#ifndef PRIMGR_CONFIG_H
#define PRIMGR_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "util.h"

#define CONFIG_DEFAULT_PATH "/etc/primgr/primgr.ini"
#define CONFIG_MAX_LISTEN 16
#define CONFIG_MAX_PEERS 64
#define CONFIG_MAX_LOCATIONS 16
#define CONFIG_MAX_REPLACE 8
#define CONFIG_MAX_LEGACY 16   /* [consensus] legacy_peers */
#define CONFIG_MAX_ALLOW 64    /* [http] allow */
#define CONFIG_NAME_MAX 64     /* node names, locations (repmgr caps node_name at 63) */
#define CONFIG_URL_MAX 512
#define CONFIG_CONNINFO_MAX 8192   /* a conninfo with many options and paths must fit */
#define CONFIG_PATH_MAX 1024
#define CONFIG_MAX_KEYS 64     /* >= the number of keys in config.c's table */
#define CONFIG_LINE_MAX 16384  /* longest INI line accepted */
#define CONFIG_FILE_MAX (4 << 20)
#define CONFIG_EXIT_USAGE 64   /* EX_USAGE */
#define CONFIG_EXIT_CONFIG 78  /* EX_CONFIG */

/* What an agent listener answers for. ROLE_SEND reads haproxy's agent-send line. */
enum role { ROLE_PRIMARY, ROLE_REPLICA, ROLE_SEND };
/* Which nodes vote: own location (default), the whole cluster, or a list of locations. */
enum scope { SCOPE_LOCATION, SCOPE_CLUSTER, SCOPE_LIST };
/* When agent replies carry "ready": for ready_window after the admin state leaves drain or
 * maint (haproxy's own maint stays respected otherwise), or in every reply. */
enum send_ready { SEND_READY_ON_CHANGE, SEND_READY_ALWAYS };
/* [http] tls_min_version. */
enum tls_min { TLS_MIN_1_2, TLS_MIN_1_3 };

struct listen_addr {
	char host[256];  /* "" = every address ("*") */
	uint16_t port;
	enum role role;  /* agent listeners only */
};

struct peer_override {
	char name[CONFIG_NAME_MAX];
	char url[CONFIG_URL_MAX];
	int line;        /* where it was set, for messages */
};

struct name_replace {
	char from, to;   /* e.g. '-' -> '_' */
};

struct config {
	char path[CONFIG_PATH_MAX];
	/* Line each table key was set on (index as config_key_at), 0 = default; cross-field
	 * errors name it. */
	int key_line[CONFIG_MAX_KEYS];

	/* [node] */
	char repmgr_conf[CONFIG_PATH_MAX];
	int node_id;                           /* 0 = from repmgr.conf */
	char node_name[CONFIG_NAME_MAX];       /* "" = from repmgr.conf */
	char conninfo[CONFIG_CONNINFO_MAX];    /* "" = repmgr.conf's conninfo */

	/* [database] */
	int pool_size;                         /* 1-64, default 3 */
	uint32_t refresh_interval_ms;
	uint32_t db_timeout_ms;                /* bounds each connect/query step */
	uint32_t statement_timeout_ms;
	uint32_t stale_after_ms;               /* older last good refresh => Unknown */
	uint32_t reconnect_max_ms;             /* backoff cap */

	/* [consensus] */
	enum scope scope;
	char locations[CONFIG_MAX_LOCATIONS][CONFIG_NAME_MAX];
	int nlocations;
	char legacy_peers[CONFIG_MAX_LEGACY][CONFIG_NAME_MAX]; /* on the Python service */
	int nlegacy_peers;
	uint32_t peer_timeout_ms;              /* total per peer transfer */
	uint32_t peer_connect_timeout_ms;
	char url_template[CONFIG_URL_MAX];     /* {name} {host} {id} */
	struct name_replace replace[CONFIG_MAX_REPLACE];
	int nreplace;
	char name_suffix[CONFIG_NAME_MAX];
	char peer_ca_file[CONFIG_PATH_MAX];
	char peer_cert[CONFIG_PATH_MAX];
	char peer_key[CONFIG_PATH_MAX];

	/* [peers] node_name = URL */
	struct peer_override peers[CONFIG_MAX_PEERS];
	int npeers;

	/* [http] */
	struct listen_addr http_listen[CONFIG_MAX_LISTEN];
	int nhttp_listen;
	struct listen_addr tls_listen[CONFIG_MAX_LISTEN];
	int ntls_listen;
	char tls_cert_file[CONFIG_PATH_MAX];   /* PEM chain, leaf first */
	char tls_key_file[CONFIG_PATH_MAX];
	char tls_client_ca_file[CONFIG_PATH_MAX]; /* set: a client certificate is required */
	int tls_min_version;                   /* enum tls_min */
	struct cidr allow[CONFIG_MAX_ALLOW];   /* none = every client */
	int nallow;

	/* [agent] */
	struct listen_addr agent_listen[CONFIG_MAX_LISTEN];
	int nagent_listen;
	uint32_t agent_timeout_ms;             /* wait for an agent-send line */
	int send_ready;                        /* enum send_ready */
	uint32_t ready_window_ms;              /* "ready" after leaving drain/maint */

	/* [server] */
	int max_connections;
	uint32_t client_timeout_ms;            /* to receive a whole request */
	uint32_t idle_timeout_ms;              /* keep-alive idle */
	bool allow_root;

	/* [replica] */
	uint32_t lag_full_ms;                  /* at or below: full weight */
	uint32_t max_lag_ms;                   /* above (for lag_grace): down #lag */
	uint32_t lag_grace_ms;
	int min_weight;                        /* % at max_lag */
	bool replica_include_primary;
	int64_t max_lag_bytes;                 /* WAL behind the primary for down #lag; 0 none */

	/* [files] */
	char admin_state_file[CONFIG_PATH_MAX];
	char topology_cache[CONFIG_PATH_MAX];
	char pidfile[CONFIG_PATH_MAX];

	/* [log] */
	int log_target;                        /* enum log_target */
	int log_level;                         /* LOG_DEBUG.. */
	int log_facility;
};

/* Fills cfg with every default. */
void config_defaults(struct config *cfg);

/* Parses path into cfg (defaults first) and validates it. On failure writes one line
 * "file:line: [section] key: what was wrong (expected ...)" into err and returns false. */
bool config_load(const char *path, struct config *cfg, char *err, size_t errlen) WUR;

/* Cross-field validation only (the second phase). */
bool config_validate(const struct config *cfg, char *err, size_t errlen) WUR;

/* Writes the effective configuration, defaults included, as a loadable INI file. */
void config_print(FILE *out, const struct config *cfg);

/* The key table, for the docs check: key i's section and name; false past the end. */
bool config_key_at(int i, const char **section, const char **name);

/* True when key i (as config_key_at) is read only at start: a reload keeps its running
 * value (listeners, pidfile, the [node] identity, allow_root). */
bool config_key_needs_restart(int i);

/* What a reload from old to nw changes, key by key as --print-config writes them, and
 * every [peers] entry. Keys that need a restart keep their running values in nw; their
 * names go to restart ("[http] listen, [files] pidfile", cut to rsize). The names of every
 * other key that differs go to changed (ending in "..." when they do not all fit).
 * Returns true when a key that needs a restart differs. */
bool config_diff(const struct config *old, struct config *nw, char *changed, size_t csize,
                 char *restart, size_t rsize);

/* A listen address as the INI writes it: host:port, [v6]:port or *:port, and "/role"
 * when agent. Cut to size, always terminated. */
void config_format_listen(const struct listen_addr *a, bool agent, char *buf, size_t size);

const char *config_role_name(enum role r);
const char *config_scope_name(enum scope s);

#endif

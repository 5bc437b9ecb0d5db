/* ctl: the client commands. `primgr ctl drain|maint|ready` writes the admin-state file
 * for the daemon's next refresh; `primgr status` asks a daemon's /cluster and prints it
 * as a table. */
#include "ctl.h"

#include <errno.h>
#include <getopt.h>
#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "peers.h"
#include "state.h"
#include "util.h"

static int ctl_usage(FILE *out, int code)
{
	fprintf(out, "Usage: primgr ctl [-c FILE] drain|maint|ready|show\n"
		     "  drain  haproxy stops sending new connections; existing ones finish\n"
		     "  maint  haproxy takes the server out\n"
		     "  ready  back to normal\n"
		     "  show   print the admin state\n");
	return code;
}

/* Loads the configuration for the admin-state file path; prints the error itself. */
static bool ctl_load(const char *path, struct config *cfg)
{
	char err[512];

	if (!config_load(path, cfg, err, sizeof(err))) {
		fprintf(stderr, "primgr: %s\n", err);
		return false;
	}
	return true;
}

int ctl_main(int argc, char **argv, const char *config_path)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct config cfg;
	enum admin_state want;
	char err[256];
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		if (c == 'c')
			config_path = optarg;
		else if (c == 'h')
			return ctl_usage(stdout, 0);
		else
			return ctl_usage(stderr, CONFIG_EXIT_USAGE);
	}
	if (optind != argc - 1)
		return ctl_usage(stderr, CONFIG_EXIT_USAGE);
	if (!ctl_load(config_path, &cfg))
		return CONFIG_EXIT_CONFIG;

	if (strcmp(argv[optind], "show") == 0) {
		enum admin_state now;
		if (!state_admin_read(cfg.admin_state_file, &now, err, sizeof(err))) {
			fprintf(stderr, "primgr: %s\n", err);
			return 1;
		}
		printf("%s\n", state_admin_name(now));
		return 0;
	}
	if (!state_admin_parse(argv[optind], &want))
		return ctl_usage(stderr, CONFIG_EXIT_USAGE);
	if (state_admin_write(cfg.admin_state_file, want) < 0) {
		fprintf(stderr, "primgr: %s: %s\n", cfg.admin_state_file, strerror(errno));
		return 1;
	}
	printf("admin state: %s (the daemon applies it within %ums)\n", state_admin_name(want),
	       (unsigned)cfg.refresh_interval_ms);
	return 0;
}

/* ---- primgr status ------------------------------------------------------------------ */

#define STATUS_MAX_NODES 64
#define STATUS_MAX_BODY (256 * 1024)

struct fetch {
	CURL *easy;
	struct buf body;
	long code;
	bool ok;
	char error[CURL_ERROR_SIZE];
};

static size_t status_write_cb(char *data, size_t size, size_t nmemb, void *arg)
{
	struct fetch *f = arg;

	if (!buf_append(&f->body, data, size * nmemb))
		return 0; /* over STATUS_MAX_BODY: abort the transfer */
	return size * nmemb;
}

/* https:// daemons: the CA to verify them, and a client certificate for a tls_listen
 * with tls_client_ca_file. Empty: curl's defaults, no client certificate. */
struct status_tls {
	const char *cacert, *cert, *key;
};

/* GETs every url + path in parallel, each bounded by timeout_ms. */
static void status_fetch_all(struct fetch *f, const char *const *urls, size_t n, const char *path,
			     long timeout_ms, const struct status_tls *tls)
{
	CURLM *multi = curl_multi_init();
	int running = 0;

	for (size_t i = 0; i < n; i++) {
		char url[CONFIG_URL_MAX + 32];
		buf_init(&f[i].body, STATUS_MAX_BODY);
		f[i].error[0] = '\0';
		f[i].easy = curl_easy_init();
		if (!multi || !f[i].easy) {
			snprintf(f[i].error, sizeof(f[i].error), "out of memory");
			continue;
		}
		/* node URLs come from a remote /cluster reply */
		if (peers_curl_http_only(f[i].easy) != CURLE_OK) {
			snprintf(f[i].error, sizeof(f[i].error), "cannot limit the request to HTTP(S)");
			continue;
		}
		snprintf(url, sizeof(url), "%s%s", urls[i], path);
		curl_easy_setopt(f[i].easy, CURLOPT_URL, url);
		curl_easy_setopt(f[i].easy, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(f[i].easy, CURLOPT_TIMEOUT_MS, timeout_ms);
		curl_easy_setopt(f[i].easy, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
		curl_easy_setopt(f[i].easy, CURLOPT_WRITEFUNCTION, status_write_cb);
		curl_easy_setopt(f[i].easy, CURLOPT_WRITEDATA, &f[i]);
		curl_easy_setopt(f[i].easy, CURLOPT_ERRORBUFFER, f[i].error);
		curl_easy_setopt(f[i].easy, CURLOPT_PRIVATE, &f[i]);
		if (tls->cacert && tls->cacert[0])
			curl_easy_setopt(f[i].easy, CURLOPT_CAINFO, tls->cacert);
		if (tls->cert && tls->cert[0])
			curl_easy_setopt(f[i].easy, CURLOPT_SSLCERT, tls->cert);
		if (tls->key && tls->key[0])
			curl_easy_setopt(f[i].easy, CURLOPT_SSLKEY, tls->key);
		curl_multi_add_handle(multi, f[i].easy);
	}
	if (multi) {
		do {
			curl_multi_perform(multi, &running);
			if (running)
				curl_multi_poll(multi, NULL, 0, 200, NULL);
		} while (running);
		CURLMsg *m;
		int left;
		while ((m = curl_multi_info_read(multi, &left))) {
			struct fetch *fe;
			if (m->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&fe);
			curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &fe->code);
			fe->ok = m->data.result == CURLE_OK;
			if (!fe->ok && !fe->error[0])
				snprintf(fe->error, sizeof(fe->error), "%s",
					 curl_easy_strerror(m->data.result));
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (f[i].easy) {
			if (multi)
				curl_multi_remove_handle(multi, f[i].easy);
			curl_easy_cleanup(f[i].easy);
		}
	}
	curl_multi_cleanup(multi);
}

static const char *jtext(json_t *obj, const char *key, const char *dflt)
{
	const char *s = json_string_value(json_object_get(obj, key));
	return s ? s : dflt;
}

/* The daemon's own URL from the first [http] listener (tls_listen when there is none). */
static void status_local_url(const struct config *cfg, char *url, size_t size)
{
	bool tls = cfg->nhttp_listen == 0;
	const struct listen_addr *l = tls ? &cfg->tls_listen[0] : &cfg->http_listen[0];
	const char *host = l->host;
	const char *scheme = tls ? "https" : "http";

	if (!host[0] || strcmp(host, "0.0.0.0") == 0)
		host = "127.0.0.1";
	else if (strcmp(host, "::") == 0)
		host = "::1";
	if (strchr(host, ':'))
		snprintf(url, size, "%s://[%s]:%u", scheme, host, (unsigned)l->port);
	else
		snprintf(url, size, "%s://%s:%u", scheme, host, (unsigned)l->port);
}

static int status_usage(FILE *out, int code)
{
	fprintf(out, "Usage: primgr status [-c FILE] [--host URL] [--json] [--timeout DURATION]\n"
		     "                     [--cacert FILE] [--cert FILE --key FILE]\n"
		     "Asks a primgr daemon (default: this node's, from the configuration) for the\n"
		     "cluster, then every node for its own view, and prints one table.\n"
		     "https:// daemons are verified with --cacert and shown --cert and --key\n"
		     "(default: [consensus] peer_ca_file, peer_cert, peer_key without --host).\n"
		     "Exit status: 0 exactly one agreed primary, 1 none or several, 2 the daemon\n"
		     "cannot be reached or answered garbage, 64 usage, 78 bad configuration.\n");
	return code;
}

/* ---- the report -------------------------------------------------------------------- */

struct status_row {
	json_t *row;                       /* the node in the asked daemon's view (borrowed) */
	json_t *view;                      /* its own /cluster, NULL when not fetched */
	const char *error;                 /* why not */
	char lag[32];
	char bytes[32];                    /* WAL behind the primary */
	const char *stream;                /* yes, no, - */
	char tl[16];
};

static json_int_t jint(json_t *obj, const char *key, json_int_t dflt)
{
	json_t *v = json_object_get(obj, key);
	return json_is_integer(v) ? json_integer_value(v) : dflt;
}

static void status_fill_row(struct status_row *r, const struct ctl_view *v)
{
	json_t *lag;

	snprintf(r->lag, sizeof(r->lag), "-");
	snprintf(r->bytes, sizeof(r->bytes), "-");
	r->stream = "-";
	snprintf(r->tl, sizeof(r->tl), "-");
	r->error = v->error && v->error[0] ? v->error : "no answer";
	if (v->body && v->code != 200) {
		r->error = "unexpected HTTP status";
	} else if (v->body) {
		r->view = json_loadb(v->body, v->len, 0, NULL);
		if (!json_is_object(r->view) ||
		    !json_is_string(json_object_get(r->view, "verdict"))) {
			json_decref(r->view);
			r->view = NULL;
			r->error = "not a primgr /cluster answer";
		}
	}
	if (!r->view)
		return;
	r->error = NULL;
	lag = json_object_get(r->view, "lag");
	if (json_is_true(json_object_get(r->view, "in_recovery")) &&
	    json_is_integer(json_object_get(lag, "ms")))
		snprintf(r->lag, sizeof(r->lag), "%.1fs",
			 (double)json_integer_value(json_object_get(lag, "ms")) / 1000.0);
	if (json_is_true(json_object_get(r->view, "in_recovery")) &&
	    json_is_true(json_object_get(lag, "bytes_vs_primary")) &&
	    json_is_integer(json_object_get(lag, "bytes"))) {
		double b = (double)json_integer_value(json_object_get(lag, "bytes"));

		if (b < 10240)
			snprintf(r->bytes, sizeof(r->bytes), "%.0fB", b);
		else if (b < 10485760)
			snprintf(r->bytes, sizeof(r->bytes), "%.1fkB", b / 1024);
		else
			snprintf(r->bytes, sizeof(r->bytes), "%.1fMB", b / 1048576);
	}
	if (json_is_boolean(json_object_get(lag, "streaming")))
		r->stream = json_is_true(json_object_get(lag, "streaming")) ? "yes" : "no";
	if (json_is_true(json_object_get(r->view, "db_up")))
		snprintf(r->tl, sizeof(r->tl), "%lld",
			 (long long)jint(r->view, "timeline", 0));
}

/* A data node whose database runs and is not in recovery: it accepts writes. */
static bool status_writable(const struct status_row *r)
{
	return r->view && json_is_true(json_object_get(r->view, "db_up")) &&
	       !json_is_true(json_object_get(r->view, "in_recovery")) &&
	       strcmp(jtext(r->row, "type", ""), "witness") != 0;
}

static const char *status_verdict(const struct status_row *r)
{
	return r->view ? jtext(r->view, "verdict", "?") : "-";
}

static void status_print_table(FILE *out, const char *base, json_t *cluster,
			       const struct status_row *rows, size_t n)
{
	static const char *const head[] = { "NODE", "ID", "LOCATION", "REPMGR", "ACTIVE",
					     "PRIMGR", "REACHABLE", "TL", "LAG", "BEHIND",
					     "STREAM", "ADMIN" };
	int w[ARRAY_SIZE(head)];
	const char *cell[ARRAY_SIZE(head)];
	char id[24];

	for (size_t c = 0; c < ARRAY_SIZE(head); c++)
		w[c] = (int)strlen(head[c]);
	/* two passes: widths, then the lines */
	for (int pass = 0; pass < 2; pass++) {
		if (pass == 1) {
			fprintf(out, "repmgr.nodes as %s sees it (%s); each node's own verdict:\n",
				jtext(json_object_get(cluster, "self"), "node_name", "?"), base);
			for (size_t c = 0; c < ARRAY_SIZE(head); c++)
				fprintf(out, "%-*s  ", w[c], head[c]);
			fprintf(out, "REASON\n");
		}
		for (size_t i = 0; i < n; i++) {
			const struct status_row *r = &rows[i];

			snprintf(id, sizeof(id), "%lld", (long long)jint(r->row, "node_id", 0));
			cell[0] = jtext(r->row, "node_name", "?");
			cell[1] = id;
			cell[2] = jtext(r->row, "location", "-");
			cell[3] = jtext(r->row, "type", "?");
			cell[4] = json_is_true(json_object_get(r->row, "active")) ? "yes" : "no";
			cell[5] = status_verdict(r);
			cell[6] = r->view ? "yes" : "no";
			cell[7] = r->tl;
			cell[8] = r->lag;
			cell[9] = r->bytes;
			cell[10] = r->stream;
			cell[11] = r->view ? jtext(r->view, "admin", "-") : "-";
			for (size_t c = 0; c < ARRAY_SIZE(head); c++) {
				int len = (int)strlen(cell[c]);
				if (pass == 0 && len > w[c])
					w[c] = len;
				if (pass == 1)
					fprintf(out, c == 1 ? "%*s  " : "%-*s  ", w[c], cell[c]);
			}
			if (pass == 1)
				fprintf(out, "%s\n",
					r->view ? jtext(r->view, "reason", "") : r->error);
		}
	}
}

int ctl_status_report(const char *base, const char *cluster_text, size_t len,
		      const struct ctl_view *views, size_t n, bool as_json, FILE *out)
{
	json_t *cluster = json_loadb(cluster_text, len, 0, NULL);
	json_t *nodes = json_object_get(cluster, "nodes");
	struct status_row *rows = NULL;
	const struct status_row *agreed = NULL;
	size_t claims = 0, nwritable = 0;
	int rc = 2;

	if (!json_is_object(cluster) || !json_is_array(nodes)) {
		fprintf(stderr, "primgr: %s/cluster: not a primgr cluster answer\n", base);
		goto done;
	}
	if (n > json_array_size(nodes))
		n = json_array_size(nodes);
	rows = calloc(n ? n : 1, sizeof(*rows));
	if (!rows) {
		fprintf(stderr, "primgr: out of memory\n");
		goto done;
	}
	for (size_t i = 0; i < n; i++) {
		rows[i].row = json_array_get(nodes, i);
		status_fill_row(&rows[i], &views[i]);
		if (strcmp(status_verdict(&rows[i]), "Primary") == 0) {
			claims++;
			agreed = &rows[i];
		}
		if (status_writable(&rows[i]))
			nwritable++;
	}
	if (claims != 1)
		agreed = NULL;

	if (as_json) {
		json_t *doc = json_object(), *list = json_array(), *writable = json_array();
		char *text;

		for (size_t i = 0; i < n; i++) {
			const struct status_row *r = &rows[i];
			json_t *v = r->view, *lag = json_object_get(v, "lag");
			json_t *o = json_pack(
				"{s:O?, s:s?, s:s?, s:s?, s:b, s:b, s:s, s:s?, s:O?, s:O?, s:O?, "
				"s:O?, s:O?, s:O?, s:O?, s:O?, s:O?, s:O?, s:O?, s:s?}",
				"node_id", json_object_get(r->row, "node_id"),
				"node_name", jtext(r->row, "node_name", NULL),
				"location", jtext(r->row, "location", NULL),
				"type", jtext(r->row, "type", NULL),
				"active", json_is_true(json_object_get(r->row, "active")),
				"reachable", v != NULL,
				"verdict", v ? status_verdict(r) : "unreachable",
				"reason", v ? jtext(v, "reason", NULL) : r->error,
				"votes", json_object_get(v, "votes"),
				"quorum", json_object_get(v, "quorum"),
				"voters", json_object_get(v, "voters"),
				"db_up", json_object_get(v, "db_up"),
				"in_recovery", json_object_get(v, "in_recovery"),
				"timeline", json_object_get(v, "timeline"),
				"lag_ms", json_object_get(lag, "ms"),
				"lag_bytes", json_object_get(lag, "bytes"),
				"streaming", json_object_get(lag, "streaming"),
				"primary_lsn", json_object_get(lag, "primary_lsn"),
				"weight", json_object_get(lag, "weight"),
				"admin", v ? jtext(v, "admin", NULL) : NULL);
			if (o)
				json_array_append_new(list, o);
			if (status_writable(r))
				json_array_append_new(writable,
						      json_string(jtext(r->row, "node_name", "?")));
		}
		json_object_set_new(doc, "asked", json_string(base));
		json_object_set_new(doc, "view_of",
				    json_string(jtext(json_object_get(cluster, "self"),
						      "node_name", "?")));
		json_object_set_new(doc, "nodes", list);
		json_object_set_new(doc, "agreed_primary",
				    agreed ? json_string(jtext(agreed->row, "node_name", "?"))
					   : json_null());
		json_object_set_new(doc, "claims", json_integer((json_int_t)claims));
		json_object_set_new(doc, "writable", writable);
		json_object_set_new(doc, "split_brain", json_boolean(nwritable > 1));
		text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		if (text)
			fprintf(out, "%s\n", text);
		free(text);
		json_decref(doc);
	} else {
		status_print_table(out, base, cluster, rows, n);
		if (agreed) {
			fprintf(out,
				"agreed primary: %s (%lld of %lld votes, quorum %lld, timeline "
				"%lld)\n",
				jtext(agreed->row, "node_name", "?"),
				(long long)jint(agreed->view, "votes", 0),
				(long long)jint(agreed->view, "voters", 0),
				(long long)jint(agreed->view, "quorum", 0),
				(long long)jint(agreed->view, "timeline", 0));
		} else if (claims == 0) {
			fprintf(out, "agreed primary: none (no node says Primary)\n");
		} else {
			fprintf(out, "agreed primary: none (%zu nodes say Primary:", claims);
			for (size_t i = 0, k = 0; i < n; i++)
				if (strcmp(status_verdict(&rows[i]), "Primary") == 0)
					fprintf(out, "%s %s", k++ ? "," : "",
						jtext(rows[i].row, "node_name", "?"));
			fprintf(out, ")\n");
		}
		/* Two writable databases are a split brain even when routing is safe (the
		 * other one has no quorum): say so, with what to do. */
		for (size_t i = 0; nwritable > 1 && i < n; i++) {
			const struct status_row *r = &rows[i];
			if (!status_writable(r) || r == agreed)
				continue;
			if (agreed)
				fprintf(out,
					"WARNING: split brain: %s is not in recovery (timeline "
					"%s) but %s is the agreed primary (timeline %s); rejoin "
					"%s to it (repmgr node rejoin --force-rewind)\n",
					jtext(r->row, "node_name", "?"), r->tl,
					jtext(agreed->row, "node_name", "?"), agreed->tl,
					jtext(r->row, "node_name", "?"));
			else
				fprintf(out,
					"WARNING: split brain: %s is not in recovery (timeline "
					"%s)\n",
					jtext(r->row, "node_name", "?"), r->tl);
		}
	}
	rc = agreed ? 0 : 1;
done:
	for (size_t i = 0; rows && i < n; i++)
		json_decref(rows[i].view);
	free(rows);
	json_decref(cluster);
	return rc;
}

int ctl_status_main(int argc, char **argv, const char *config_path)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "host", required_argument, NULL, 'H' },
		{ "json", no_argument, NULL, 'j' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "cacert", required_argument, NULL, 'A' },
		{ "cert", required_argument, NULL, 'E' },
		{ "key", required_argument, NULL, 'K' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct config cfg;
	const char *host = NULL;
	struct status_tls tls = { NULL, NULL, NULL };
	bool as_json = false;
	uint32_t timeout_ms = 2000;
	char base[CONFIG_URL_MAX];
	const char *urls[STATUS_MAX_NODES];
	struct fetch first = { 0 }, *each = NULL;
	struct ctl_view *views = NULL;
	json_t *cluster = NULL, *nodes;
	size_t n = 0;
	int c, rc = 2;

	optind = 1;
	while ((c = getopt_long(argc, argv, "c:jh", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config_path = optarg;
			break;
		case 'H':
			host = optarg;
			break;
		case 'A':
			tls.cacert = optarg;
			break;
		case 'E':
			tls.cert = optarg;
			break;
		case 'K':
			tls.key = optarg;
			break;
		case 'j':
			as_json = true;
			break;
		case 'T':
			if (!util_parse_duration(optarg, &timeout_ms) || timeout_ms == 0) {
				fprintf(stderr, "primgr: --timeout: invalid duration \"%s\" "
						"(expected e.g. 500ms, 2s)\n", optarg);
				return CONFIG_EXIT_USAGE;
			}
			break;
		case 'h':
			return status_usage(stdout, 0);
		default:
			return status_usage(stderr, CONFIG_EXIT_USAGE);
		}
	}
	if (optind != argc)
		return status_usage(stderr, CONFIG_EXIT_USAGE);
	if (!tls.cert != !tls.key) {
		fprintf(stderr, "primgr: --%s without --%s (expected both or neither)\n",
			tls.cert ? "cert" : "key", tls.cert ? "key" : "cert");
		return CONFIG_EXIT_USAGE;
	}
	if (host) {
		size_t len = strlen(host);
		while (len > 0 && host[len - 1] == '/')
			len--;
		snprintf(base, sizeof(base), "%.*s", (int)len, host);
	} else {
		if (!ctl_load(config_path, &cfg))
			return CONFIG_EXIT_CONFIG;
		status_local_url(&cfg, base, sizeof(base));
		/* The nodes' URLs are the peer URLs: ask them as the daemon does. */
		if (!tls.cacert)
			tls.cacert = cfg.peer_ca_file;
		if (!tls.cert)
			tls.cert = cfg.peer_cert, tls.key = cfg.peer_key;
	}

	curl_global_init(CURL_GLOBAL_DEFAULT);
	urls[0] = base;
	status_fetch_all(&first, urls, 1, "/cluster", (long)timeout_ms, &tls);
	if (!first.ok || first.code != 200) {
		fprintf(stderr, "primgr: %s/cluster: %s\n", base,
			first.ok ? "unexpected HTTP status" : first.error);
		goto done;
	}
	/* The node list; ctl_status_report parses the answer again and judges it. */
	cluster = json_loadb(first.body.data, first.body.len, 0, NULL);
	nodes = json_object_get(cluster, "nodes");
	n = json_is_array(nodes) ? json_array_size(nodes) : 0;
	if (n > STATUS_MAX_NODES)
		n = STATUS_MAX_NODES;
	for (size_t i = 0; i < n; i++) {
		const char *u = jtext(json_array_get(nodes, i), "url", NULL);
		urls[i] = u ? u : "http://invalid.";
	}
	each = calloc(n ? n : 1, sizeof(*each));
	views = calloc(n ? n : 1, sizeof(*views));
	if (!each || !views) {
		fprintf(stderr, "primgr: out of memory\n");
		goto done;
	}
	status_fetch_all(each, urls, n, "/cluster", (long)timeout_ms, &tls);
	for (size_t i = 0; i < n; i++) {
		views[i].body = each[i].ok ? each[i].body.data : NULL;
		views[i].len = each[i].body.len;
		views[i].code = each[i].code;
		views[i].error = each[i].error;
		if (views[i].body == NULL && each[i].ok)
			views[i].body = "";
	}
	rc = ctl_status_report(base, first.body.data ? first.body.data : "", first.body.len, views,
			       n, as_json, stdout);
done:
	for (size_t i = 0; each && i < n; i++)
		buf_free(&each[i].body);
	free(each);
	free(views);
	buf_free(&first.body);
	json_decref(cluster);
	curl_global_cleanup();
	return rc;
}

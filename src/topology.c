/* topology: what the repmgr.nodes rows say (nodes, types, hosts), the naming rules that
 * make each node's primgr URL, the voting scope, and the topology cache file. */
#include "topology.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conninfo.h"
#include "identity.h"

/* ---- repmgr.nodes rows ---------------------------------------------------------------- */

static bool type_from_name(const char *s, enum node_type *t)
{
	if (strcmp(s, "primary") == 0)
		*t = NODE_PRIMARY;
	else if (strcmp(s, "standby") == 0)
		*t = NODE_STANDBY;
	else if (strcmp(s, "witness") == 0)
		*t = NODE_WITNESS;
	else if (strcmp(s, "bdr") == 0 || strcmp(s, "other") == 0)
		*t = NODE_OTHER;
	else
		return false;
	return true;
}

const char *topology_type_name(enum node_type t)
{
	switch (t) {
	case NODE_PRIMARY:
		return "primary";
	case NODE_STANDBY:
		return "standby";
	case NODE_WITNESS:
		return "witness";
	case NODE_OTHER:
		break;
	}
	return "other";
}

/* The host primgr can reach the node's primgr at: host, else hostaddr, else none. */
static bool conninfo_host(const char *conninfo, int id, char *host, size_t size, char *err,
                          size_t errlen)
{
	char why[512];

	if (!conninfo_peer_host(conninfo, host, size, why, sizeof(why)))
		return util_fail(err, errlen, "node_id %d: conninfo: %s", id, why);
	if (!util_text_ok(host))
		return util_fail(err, errlen, "node_id %d: conninfo: host not printable UTF-8", id);
	return true;
}

static bool row_text(const char *v, int id, const char *what, bool allow_empty, char *dst,
                     size_t size, char *err, size_t errlen)
{
	if (!v)
		return util_fail(err, errlen, "node_id %d: %s is NULL", id, what);
	if (!allow_empty && !v[0])
		return util_fail(err, errlen, "node_id %d: %s is empty", id, what);
	if (!util_strlcpy(dst, v, size))
		return util_fail(err, errlen, "node_id %d: %s too long (max %zu bytes)", id, what,
		                 size - 1);
	if (!util_text_ok(dst))
		return util_fail(err, errlen, "node_id %d: %s: not printable UTF-8", id, what);
	return true;
}

bool topology_node_from_row(const char *const f[8], struct node *n, char *err, size_t errlen)
{
	long l;
	int id;

	memset(n, 0, sizeof(*n));
	if (!f[0])
		return util_fail(err, errlen, "repmgr.nodes row: node_id is NULL");
	if (!util_parse_int(f[0], 1, INT_MAX, &l))
		return util_fail(err, errlen, "repmgr.nodes row: invalid node_id \"%.32s\"", f[0]);
	id = n->id = (int)l;

	if (!row_text(f[1], id, "node_name", false, n->name, sizeof(n->name), err, errlen))
		return false;
	if (!f[2])
		return util_fail(err, errlen, "node_id %d: type is NULL", id);
	if (!type_from_name(f[2], &n->type))
		return util_fail(err, errlen,
		                 "node_id %d: unknown type \"%.32s\" (expected primary, standby, "
		                 "witness or bdr)",
		                 id, f[2]);
	if (!f[3] || (strcmp(f[3], "t") != 0 && strcmp(f[3], "f") != 0))
		return util_fail(err, errlen,
		                 "node_id %d: invalid active \"%.8s\" (expected t or f)", id,
		                 f[3] ? f[3] : "NULL");
	n->active = f[3][0] == 't';
	if (f[4]) {
		if (!util_parse_int(f[4], 1, INT_MAX, &l))
			return util_fail(err, errlen,
			                 "node_id %d: invalid upstream_node_id \"%.32s\"", id,
			                 f[4]);
		n->upstream_id = (int)l;
	}
	if (!row_text(f[5] ? f[5] : IDENTITY_DEFAULT_LOCATION, id, "location", true, n->location,
	              sizeof(n->location), err, errlen))
		return false;
	if (!f[6] || !util_parse_int(f[6], INT_MIN, INT_MAX, &l))
		return util_fail(err, errlen, "node_id %d: invalid priority \"%.32s\"", id,
		                 f[6] ? f[6] : "NULL");
	n->priority = (int)l;
	if (f[7] && !conninfo_host(f[7], id, n->host, sizeof(n->host), err, errlen))
		return false;
	return true;
}

/* ---- naming rules ----------------------------------------------------------------------- */

/* What may stand for a host in a URL without escaping: letters, digits, '.', '_', '-',
 * not starting with '.' or '-' (no "..", no option-looking names). */
static bool host_label_ok(const char *s)
{
	if (!s[0] || s[0] == '.' || s[0] == '-')
		return false;
	for (const char *p = s; *p; p++) {
		char c = *p;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

/* An IPv6 literal (no zone: a '%' would need escaping in a URL). */
static bool ipv6_ok(const char *s)
{
	for (const char *p = s; *p; p++) {
		char c = *p;
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
		      c == ':' || c == '.'))
			return false;
	}
	return s[0] != '\0';
}

static bool peer_name(const struct config *cfg, const struct node *n, char *out, size_t size)
{
	int nrep = cfg->nreplace < 0 ? 0 : cfg->nreplace;
	size_t len = 0, nlen = strnlen(n->name, sizeof(n->name));

	if (nrep > CONFIG_MAX_REPLACE)
		nrep = CONFIG_MAX_REPLACE;
	for (size_t i = 0; i < nlen; i++) {
		char c = n->name[i];
		for (int r = 0; r < nrep; r++) {
			if (cfg->replace[r].from == c) {
				c = cfg->replace[r].to;
				break;
			}
		}
		if (len + 1 >= size)
			return false;
		out[len++] = c;
	}
	out[len] = '\0';
	if (!util_strlcpy(out + len, cfg->name_suffix, size - len))
		return false;
	return host_label_ok(out);
}

static bool expand_placeholder(const struct config *cfg, const struct node *n, const char *ph,
                               size_t phlen, char *url, size_t size, size_t *off)
{
	char name[CONFIG_NAME_MAX * 2];

	if (phlen == 4 && memcmp(ph, "name", 4) == 0) {
		if (!peer_name(cfg, n, name, sizeof(name)))
			return false;
		return util_appendf(url, size, off, "%s", name);
	}
	if (phlen == 4 && memcmp(ph, "host", 4) == 0) {
		if (strchr(n->host, ':')) {
			if (!ipv6_ok(n->host))
				return false;
			return util_appendf(url, size, off, "[%s]", n->host);
		}
		if (!host_label_ok(n->host))
			return false;
		return util_appendf(url, size, off, "%s", n->host);
	}
	if (phlen == 2 && memcmp(ph, "id", 2) == 0)
		return util_appendf(url, size, off, "%d", n->id);
	return false;
}

static bool url_finish(char *url, size_t len)
{
	while (len > 0 && url[len - 1] == '/')
		url[--len] = '\0';
	return len > 0;
}

bool topology_peer_url(const struct config *cfg, const struct node *n, char *url, size_t size)
{
	int npeers = cfg->npeers < 0 ? 0 : cfg->npeers;
	const char *t = cfg->url_template;
	size_t off = 0;

	if (size == 0)
		return false;
	url[0] = '\0';
	if (npeers > CONFIG_MAX_PEERS)
		npeers = CONFIG_MAX_PEERS;
	for (int i = 0; i < npeers; i++) {
		if (strcmp(cfg->peers[i].name, n->name) != 0)
			continue;
		if (!util_strlcpy(url, cfg->peers[i].url, size) || !url_finish(url, strlen(url))) {
			url[0] = '\0';
			return false;
		}
		return true;
	}
	while (*t) {
		bool ok;
		if (*t == '{') {
			const char *close = strchr(t, '}');
			if (!close)
				goto fail;
			ok = expand_placeholder(cfg, n, t + 1, (size_t)(close - t - 1), url, size,
			                        &off);
			t = close + 1;
		} else {
			size_t lit = strcspn(t, "{");
			ok = util_appendf(url, size, &off, "%.*s", (int)lit, t);
			t += lit;
		}
		if (!ok)
			goto fail;
	}
	if (!url_finish(url, off))
		goto fail;
	return true;
fail:
	url[0] = '\0';
	return false;
}

static bool in_scope(const struct config *cfg, const struct node *n, const char *self_location)
{
	int nloc = cfg->nlocations < 0 ? 0 : cfg->nlocations;

	if (n->type != NODE_PRIMARY && n->type != NODE_STANDBY && n->type != NODE_WITNESS)
		return false;
	switch (cfg->scope) {
	case SCOPE_CLUSTER:
		return true;
	case SCOPE_LIST:
		if (nloc > CONFIG_MAX_LOCATIONS)
			nloc = CONFIG_MAX_LOCATIONS;
		for (int i = 0; i < nloc; i++)
			if (strcmp(cfg->locations[i], n->location) == 0)
				return true;
		return false;
	case SCOPE_LOCATION:
		break;
	}
	return strcmp(n->location, self_location ? self_location : IDENTITY_DEFAULT_LOCATION) == 0;
}

void topology_apply_rules(const struct config *cfg, struct node *nodes, size_t n,
                          const char *self_location)
{
	for (size_t i = 0; i < n; i++) {
		nodes[i].in_scope = in_scope(cfg, &nodes[i], self_location);
		/* A node without a usable URL simply gets no vote. */
		if (!topology_peer_url(cfg, &nodes[i], nodes[i].url, sizeof(nodes[i].url)))
			nodes[i].url[0] = '\0';
	}
}

bool topology_check(const struct node *nodes, size_t n, char *err, size_t errlen)
{
	if (n == 0)
		return util_fail(err, errlen, "no rows in repmgr.nodes");
	if (n > TOPOLOGY_MAX_NODES)
		return util_fail(err, errlen, "too many rows in repmgr.nodes (%zu, max %d)", n,
		                 TOPOLOGY_MAX_NODES);
	for (size_t i = 0; i < n; i++) {
		for (size_t j = i + 1; j < n; j++) {
			if (nodes[i].id == nodes[j].id)
				return util_fail(err, errlen,
				                 "duplicate node_id %d in repmgr.nodes",
				                 nodes[i].id);
			if (strcmp(nodes[i].name, nodes[j].name) == 0)
				return util_fail(
				    err, errlen,
				    "duplicate node_name %s in repmgr.nodes (node_id %d "
				    "and %d)",
				    nodes[i].name, nodes[i].id, nodes[j].id);
		}
	}
	return true;
}

const struct node *topology_find(const struct node *nodes, size_t n, int id)
{
	for (size_t i = 0; i < n; i++)
		if (nodes[i].id == id)
			return &nodes[i];
	return NULL;
}

/* ---- topology cache --------------------------------------------------------------------- */

int topology_cache_write(const char *path, const struct node *nodes, size_t n)
{
	json_t *root = NULL, *arr;
	char *text = NULL;
	int rc = -1, saved = EINVAL;

	if (n > TOPOLOGY_MAX_NODES)
		goto fail;
	arr = json_array();
	root = json_pack("{s:i,s:o}", "version", 1, "nodes", arr);
	if (!root)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		const struct node *nd = &nodes[i];
		json_t *up = nd->upstream_id ? json_integer(nd->upstream_id) : json_null();
		/* json_pack refuses strings that are not UTF-8: that fails the write. */
		json_t *o = json_pack("{s:i,s:s,s:s,s:b,s:o,s:s,s:i,s:s}", "id", nd->id, "name",
		                      nd->name, "type", topology_type_name(nd->type), "active",
		                      nd->active, "upstream_id", up, "location", nd->location,
		                      "priority", nd->priority, "host", nd->host);
		if (!o || json_array_append_new(arr, o) != 0)
			goto fail;
	}
	text = json_dumps(root, JSON_INDENT(1));
	if (!text) {
		saved = ENOMEM;
		goto fail;
	}
	if (util_write_file_atomic(path, text, strlen(text), 0644) != 0) {
		saved = errno;
		goto fail;
	}
	rc = 0;
fail:
	free(text);
	json_decref(root);
	if (rc != 0)
		errno = saved;
	return rc;
}

/* Field readers for one cache entry: each names the path, entry and key on error. */
struct cache_ctx {
	const char *path;
	size_t index;
	char *err;
	size_t errlen;
};

static bool cache_int(const struct cache_ctx *c, json_t *o, const char *key, long min, long max,
                      bool null_ok, int *out)
{
	json_t *v = json_object_get(o, key);
	json_int_t x;

	if (null_ok && (!v || json_is_null(v))) {
		*out = 0;
		return true;
	}
	if (!json_is_integer(v))
		return util_fail(c->err, c->errlen, "%s: nodes[%zu]: \"%s\": expected an integer",
		                 c->path, c->index, key);
	x = json_integer_value(v);
	if (x < min || x > max)
		return util_fail(c->err, c->errlen, "%s: nodes[%zu]: \"%s\": %lld out of range",
		                 c->path, c->index, key, (long long)x);
	*out = (int)x;
	return true;
}

static bool cache_str(const struct cache_ctx *c, json_t *o, const char *key, bool empty_ok,
                      char *dst, size_t size)
{
	json_t *v = json_object_get(o, key);
	const char *s;
	size_t len;

	if (!json_is_string(v))
		return util_fail(c->err, c->errlen, "%s: nodes[%zu]: \"%s\": expected a string",
		                 c->path, c->index, key);
	s = json_string_value(v);
	len = json_string_length(v);
	if (len != strlen(s) || len >= size || (!empty_ok && len == 0) || !util_text_ok(s))
		return util_fail(
		    c->err, c->errlen,
		    "%s: nodes[%zu]: \"%s\": expected %s printable text of at most %zu "
		    "bytes",
		    c->path, c->index, key, empty_ok ? "" : "non-empty", size - 1);
	memcpy(dst, s, len + 1);
	return true;
}

static bool cache_node(const struct cache_ctx *c, json_t *o, struct node *n)
{
	char type[16];
	json_t *active;

	memset(n, 0, sizeof(*n));
	if (!json_is_object(o))
		return util_fail(c->err, c->errlen, "%s: nodes[%zu]: expected an object", c->path,
		                 c->index);
	if (!cache_int(c, o, "id", 1, INT_MAX, false, &n->id) ||
	    !cache_str(c, o, "name", false, n->name, sizeof(n->name)) ||
	    !cache_str(c, o, "type", false, type, sizeof(type)) ||
	    !cache_int(c, o, "upstream_id", 0, INT_MAX, true, &n->upstream_id) ||
	    !cache_str(c, o, "location", true, n->location, sizeof(n->location)) ||
	    !cache_int(c, o, "priority", INT_MIN, INT_MAX, false, &n->priority) ||
	    !cache_str(c, o, "host", true, n->host, sizeof(n->host)))
		return false;
	if (!type_from_name(type, &n->type))
		return util_fail(c->err, c->errlen, "%s: nodes[%zu]: unknown type \"%s\"", c->path,
		                 c->index, type);
	active = json_object_get(o, "active");
	if (!json_is_boolean(active))
		return util_fail(c->err, c->errlen,
		                 "%s: nodes[%zu]: \"active\": expected a boolean", c->path,
		                 c->index);
	n->active = json_is_true(active);
	return true;
}

bool topology_cache_read(const char *path, struct node **nodes, size_t *n, char *err, size_t errlen)
{
	struct cache_ctx c = {.path = path, .err = err, .errlen = errlen};
	json_error_t jerr;
	json_t *root = NULL, *arr, *version;
	struct node *list = NULL;
	char *data;
	size_t len, count;
	char check[192];

	*nodes = NULL;
	*n = 0;
	data = util_read_file(path, TOPOLOGY_CACHE_MAX, &len);
	if (!data)
		return util_fail(err, errlen, "%s: cannot read: %s", path,
		                 errno == EFBIG ? "larger than 1 MiB" : strerror(errno));
	root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
	free(data);
	if (!root) {
		util_fail(err, errlen, "%s:%d:%d: %s", path, jerr.line, jerr.column, jerr.text);
		goto fail;
	}
	version = json_object_get(root, "version");
	if (!json_is_integer(version) || json_integer_value(version) != 1) {
		util_fail(err, errlen, "%s: expected an object with \"version\": 1", path);
		goto fail;
	}
	arr = json_object_get(root, "nodes");
	if (!json_is_array(arr)) {
		util_fail(err, errlen, "%s: \"nodes\": expected an array", path);
		goto fail;
	}
	count = json_array_size(arr);
	if (count == 0 || count > TOPOLOGY_MAX_NODES) {
		util_fail(err, errlen, "%s: \"nodes\": expected 1-%d nodes, got %zu", path,
		          TOPOLOGY_MAX_NODES, count);
		goto fail;
	}
	list = calloc(count, sizeof(*list));
	if (!list) {
		util_fail(err, errlen, "%s: out of memory", path);
		goto fail;
	}
	for (c.index = 0; c.index < count; c.index++)
		if (!cache_node(&c, json_array_get(arr, c.index), &list[c.index]))
			goto fail;
	if (!topology_check(list, count, check, sizeof(check))) {
		util_fail(err, errlen, "%s: %s", path, check);
		goto fail;
	}
	json_decref(root);
	*nodes = list;
	*n = count;
	return true;
fail:
	free(list);
	json_decref(root);
	return false;
}

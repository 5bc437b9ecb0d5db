/* identity: who this node is. repmgr.conf's node_id, node_name, conninfo, location and
 * data_directory, with the [node] keys of the INI over them. Read once, at start. */
#include "identity.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* repmgr.conf is tiny; anything this large is not one. */
#define REPMGR_CONF_MAX (1024 * 1024)

/* repmgr reads its file with a scanner modelled on postgresql.conf's: "key = value" with an
 * optional '=', values bare or single-quoted ('' and backslash escapes inside quotes), and
 * '#' comments. Only the keys primgr needs are kept; unknown keys are skipped. */

static bool conf_is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

static bool conf_is_key_start(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool conf_is_key_char(char c)
{
	return conf_is_key_start(c) || (c >= '0' && c <= '9') || c == '.' || c == '-';
}

/* A value being collected; overflow is only an error for the keys primgr keeps. */
struct conf_value {
	char buf[CONFIG_CONNINFO_MAX + 1];
	size_t len;
	bool too_long;
};

static void conf_value_put(struct conf_value *v, char c)
{
	if (v->len + 1 >= sizeof(v->buf)) {
		v->too_long = true;
		return;
	}
	v->buf[v->len++] = c;
	v->buf[v->len] = '\0';
}

/* Reads a quoted value starting after the opening quote; returns the position after the
 * closing quote, or NULL when the line ends first. */
static const char *conf_read_quoted(const char *p, const char *end, struct conf_value *v)
{
	while (p < end) {
		char c = *p++;
		if (c == '\'') {
			if (p < end && *p == '\'') {
				conf_value_put(v, '\'');
				p++;
				continue;
			}
			return p;
		}
		if (c == '\\' && p < end) {
			c = *p++;
			switch (c) {
			case 'b':
				c = '\b';
				break;
			case 'f':
				c = '\f';
				break;
			case 'n':
				c = '\n';
				break;
			case 'r':
				c = '\r';
				break;
			case 't':
				c = '\t';
				break;
			case '0' ... '7': {
				int o = c - '0';
				for (int k = 0; k < 2 && p < end && *p >= '0' && *p <= '7'; k++)
					o = o * 8 + (*p++ - '0');
				c = (char)(o & 0xff);
				break;
			}
			default:
				break;
			}
		}
		conf_value_put(v, c);
	}
	return NULL;
}

static bool conf_copy(const char *fname, int line, const char *key, const struct conf_value *v,
                      char *dst, size_t size, char *err, size_t errlen)
{
	if (v->too_long || !util_strlcpy(dst, v->buf, size))
		return util_fail(err, errlen, "%s:%d: %s: too long (max %zu bytes)", fname, line,
		                 key, size - 1);
	return true;
}

static bool conf_apply(const char *fname, int line, const char *key, const struct conf_value *v,
                       struct identity *id, char *err, size_t errlen)
{
	static const char *const known[] = {"node_id", "node_name", "conninfo", "location",
	                                    "data_directory"};
	bool keep = false;
	long l;

	for (size_t i = 0; i < ARRAY_SIZE(known); i++)
		keep = keep || strcmp(key, known[i]) == 0;
	if (!keep)
		return true;
	/* A quoted "\0" would silently cut the value short. */
	if (memchr(v->buf, '\0', v->len))
		return util_fail(err, errlen, "%s:%d: %s: contains a NUL byte", fname, line, key);
	if (strcmp(key, "node_id") == 0) {
		if (v->too_long || !util_parse_int(v->buf, 1, INT_MAX, &l))
			return util_fail(err, errlen,
			                 "%s:%d: node_id: invalid value \"%.64s\" (expected 1-%d)",
			                 fname, line, v->buf, INT_MAX);
		id->node_id = (int)l;
		return true;
	}
	if (strcmp(key, "node_name") == 0)
		return conf_copy(fname, line, key, v, id->node_name, sizeof(id->node_name), err,
		                 errlen);
	if (strcmp(key, "conninfo") == 0)
		return conf_copy(fname, line, key, v, id->conninfo, sizeof(id->conninfo), err,
		                 errlen);
	if (strcmp(key, "location") == 0)
		return conf_copy(fname, line, key, v, id->location, sizeof(id->location), err,
		                 errlen);
	return conf_copy(fname, line, key, v, id->data_directory, sizeof(id->data_directory), err,
	                 errlen);
}

static void identity_init(struct identity *id)
{
	memset(id, 0, sizeof(*id));
	strcpy(id->location, IDENTITY_DEFAULT_LOCATION);
}

/* One logical line [p, end): blank, comment, or key [=] value [# comment]. */
static bool conf_parse_line(const char *p, const char *end, const char *fname, int line,
                            struct identity *id, char *err, size_t errlen)
{
	char key[64];
	size_t klen = 0;
	struct conf_value v = {.len = 0};

	while (p < end && conf_is_space(*p))
		p++;
	if (p == end || *p == '#')
		return true;
	if (!conf_is_key_start(*p))
		return util_fail(err, errlen, "%s:%d: syntax error (expected key = value)", fname,
		                 line);
	while (p < end && conf_is_key_char(*p)) {
		if (klen + 1 < sizeof(key))
			key[klen++] = *p;
		p++;
	}
	key[klen] = '\0';
	while (p < end && conf_is_space(*p))
		p++;
	if (p < end && *p == '=')
		p++;
	while (p < end && conf_is_space(*p))
		p++;
	if (p == end || *p == '#')
		return util_fail(err, errlen, "%s:%d: %s: missing value", fname, line, key);
	if (*p == '\'') {
		p = conf_read_quoted(p + 1, end, &v);
		if (!p)
			return util_fail(err, errlen, "%s:%d: %s: unterminated quoted string",
			                 fname, line, key);
	} else {
		while (p < end && !conf_is_space(*p) && *p != '#')
			conf_value_put(&v, *p++);
	}
	while (p < end && conf_is_space(*p))
		p++;
	if (p < end && *p != '#')
		return util_fail(err, errlen, "%s:%d: %s: syntax error after the value", fname,
		                 line, key);
	return conf_apply(fname, line, key, &v, id, err, errlen);
}

bool identity_parse_repmgr_conf(const char *text, const char *fname, struct identity *id, char *err,
                                size_t errlen)
{
	const char *p = text;
	int line = 1;

	identity_init(id);
	while (*p) {
		const char *nl = strchr(p, '\n');
		const char *end = nl ? nl : p + strlen(p);
		if (!conf_parse_line(p, end, fname, line, id, err, errlen))
			return false;
		if (!nl)
			break;
		p = nl + 1;
		line++;
	}
	return true;
}

bool identity_load(const struct config *cfg, struct identity *id, char *err, size_t errlen)
{
	const char *path = cfg->repmgr_conf;
	bool overrides = cfg->node_id > 0 && cfg->node_name[0] && cfg->conninfo[0];
	const char *where = path[0] ? path : "[node]";

	identity_init(id);
	if (path[0]) {
		size_t len;
		char *data = util_read_file(path, REPMGR_CONF_MAX, &len);
		bool ok;

		if (!data) {
			/* Every key primgr needs may come from the INI instead. */
			if (!(errno == ENOENT && overrides))
				return util_fail(err, errlen, "%s: cannot read: %s", path,
				                 errno == EFBIG ? "larger than 1 MiB"
				                                : strerror(errno));
		} else {
			if (strlen(data) != len)
				ok = util_fail(err, errlen, "%s: contains a NUL byte", path);
			else
				ok = identity_parse_repmgr_conf(data, path, id, err, errlen);
			free(data);
			if (!ok)
				return false;
		}
	}
	if (cfg->node_id > 0)
		id->node_id = cfg->node_id;
	if (cfg->node_name[0] &&
	    !util_strlcpy(id->node_name, cfg->node_name, sizeof(id->node_name)))
		return util_fail(err, errlen, "[node] node_name: too long");
	if (cfg->conninfo[0] && !util_strlcpy(id->conninfo, cfg->conninfo, sizeof(id->conninfo)))
		return util_fail(err, errlen, "[node] conninfo: too long");

	if (id->node_id <= 0)
		return util_fail(err, errlen,
		                 "%s: node_id not set (expected node_id in repmgr.conf or [node])",
		                 where);
	if (!id->node_name[0])
		return util_fail(
		    err, errlen,
		    "%s: node_name not set (expected node_name in repmgr.conf or [node])", where);
	if (!util_text_ok(id->node_name))
		return util_fail(err, errlen, "%s: node_name: not printable UTF-8", where);
	if (!id->conninfo[0])
		return util_fail(
		    err, errlen,
		    "%s: conninfo not set (expected conninfo in repmgr.conf or [node])", where);
	if (!util_text_ok(id->location))
		return util_fail(err, errlen, "%s: location: not printable UTF-8", where);
	return true;
}

/* identity: who this node is, from repmgr.conf and the INI's [node] overrides.
 * bool: true = ok, else "file:line: ..." in err. */
#ifndef PRIMGR_IDENTITY_H
#define PRIMGR_IDENTITY_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

#define IDENTITY_DEFAULT_LOCATION "default" /* repmgr's default for nodes.location */

/* What repmgr.conf says about this node. */
struct identity {
	int node_id;
	char node_name[CONFIG_NAME_MAX];
	char conninfo[CONFIG_CONNINFO_MAX];
	char location[CONFIG_NAME_MAX];
	char data_directory[CONFIG_PATH_MAX];
};

/* Reads cfg's repmgr.conf (key=value, optional quotes, '#' comments) and applies the INI
 * overrides of cfg. A missing file is fine when the INI sets node_id, node_name and
 * conninfo. */
bool identity_load(const struct config *cfg, struct identity *id, char *err, size_t errlen) WUR;

/* Parses repmgr.conf text (for tests and fuzzing); fname goes into the messages. */
bool identity_parse_repmgr_conf(const char *text, const char *fname, struct identity *id, char *err,
                                size_t errlen) WUR;

#endif

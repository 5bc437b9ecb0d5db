/* ctl: the client side of the primgr command: `primgr ctl drain|maint|ready` (writes the
 * admin-state file) and `primgr status` (asks a daemon's /cluster, prints a table).
 * Each returns the process exit code. */
#ifndef PRIMGR_CTL_H
#define PRIMGR_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

int ctl_main(int argc, char **argv, const char *config_path);
int ctl_status_main(int argc, char **argv, const char *config_path);

/* One node's own /cluster answer, or why there is none. */
struct ctl_view {
	const char *body;                  /* NULL: not fetched (see error) */
	size_t len;
	long code;                         /* HTTP status */
	const char *error;
};

/* The report of `primgr status`: from the /cluster answer of the daemon at base (its node
 * list and repmgr view) and views[i], the own /cluster of its i-th node, writes the table
 * (or JSON) to out. Returns the exit code: 0 exactly one node says Primary, 1 none or
 * several, 2 when cluster is not a primgr /cluster answer. */
int ctl_status_report(const char *base, const char *cluster, size_t len,
		      const struct ctl_view *views, size_t n, bool as_json, FILE *out);

#endif

/* agent: haproxy's agent-check text protocol. One line from the snapshot, per role.
 * Pure: no I/O. */
#ifndef PRIMGR_AGENT_H
#define PRIMGR_AGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "state.h"

#define AGENT_MAX_LINE 128   /* an agent-send line longer than this is a bad request */

/* Writes the reply line (ending in "\n") for snapshot s seen at now_ms by a listener of
 * role r (ROLE_PRIMARY or ROLE_REPLICA) into buf; returns its length. With ready (see
 * state_admin_says_ready) an admin-ready reply carries the word "ready", which cancels any
 * maint or drain haproxy holds, its own operator's too. */
size_t agent_format(const struct snapshot *s, enum admin_state admin, bool ready,
		    enum role r, const struct config *cfg, int64_t now_ms, char *buf, size_t size);

/* Parses haproxy's agent-send line ("primary" or "replica", optional "\r\n"/"\n").
 * Returns false for anything else. */
bool agent_parse_role(const char *line, size_t len, enum role *r) WUR;

/* The reply to an unparseable agent-send line. */
#define AGENT_BAD_REQUEST "down #bad-request\n"

#endif

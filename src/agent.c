/* agent: haproxy's agent-check replies. One line per role (primary or replica) from the
 * snapshot and the admin state, and the role an agent-send line asks for. Pure: no I/O. */
#include "agent.h"

#include <stdio.h>
#include <string.h>

/* The health part of the reply, before the admin state is applied (DESIGN.md section 4).
 * Returns true when the node is up for this role; *reason is the down reason. */
static bool agent_health(const struct snapshot *s, enum role r, const struct config *cfg,
			 int64_t now_ms, const char **reason, int *weight)
{
	*weight = 100;
	switch (state_verdict(s, now_ms, cfg->stale_after_ms)) {
	case VERDICT_PRIMARY:
		if (r == ROLE_PRIMARY || cfg->replica_include_primary)
			return true;
		*reason = "primary";
		return false;
	case VERDICT_STANDBY:
		if (r == ROLE_PRIMARY) {
			*reason = "standby";
			return false;
		}
		*weight = state_replica_weight(s, cfg, now_ms);
		if (*weight > 0)
			return true;
		*reason = state_lag_reason(s);
		return false;
	case VERDICT_DOWN:
		*reason = "db-down";
		return false;
	case VERDICT_UNKNOWN:
	default:
		*reason = "unknown";
		return false;
	}
}

size_t agent_format(const struct snapshot *s, enum admin_state admin, bool ready,
		    enum role r, const struct config *cfg, int64_t now_ms, char *buf, size_t size)
{
	const char *rd = ready ? " ready" : "";
	const char *reason = "";
	int weight, n;
	bool up;

	if (r != ROLE_PRIMARY && r != ROLE_REPLICA) {
		n = snprintf(buf, size, "%s", AGENT_BAD_REQUEST);
		goto out;
	}
	up = agent_health(s, r, cfg, now_ms, &reason, &weight);
	if (admin == ADMIN_MAINT) {
		n = snprintf(buf, size, "maint\n");
	} else if (admin == ADMIN_DRAIN) {
		/* "drain" alone keeps haproxy's sticky up/down state: a drained node whose
		 * database then dies must still be marked down, so say both. */
		n = up ? snprintf(buf, size, "drain\n")
		       : snprintf(buf, size, "down drain #%s\n", reason);
	} else if (!up) {
		/* "ready" in a down reply too while it is due: haproxy keeps an agent's maint
		 * or drain until the agent says ready, also in a backend where the node is
		 * down (a standby in the write backend after `primgr ctl maint` then `ready`). */
		n = snprintf(buf, size, "down%s #%s\n", rd, reason);
	} else if (r == ROLE_REPLICA) {
		/* Always send the weight: haproxy keeps the last one it was told. */
		n = snprintf(buf, size, "up%s %d%%\n", rd, weight);
	} else {
		n = snprintf(buf, size, "up%s\n", rd);
	}
out:
	if (n < 0 || size == 0)
		return 0;
	return (size_t)n < size ? (size_t)n : size - 1;
}

bool agent_parse_role(const char *line, size_t len, enum role *r)
{
	static const struct {
		const char *word;
		enum role role;
	} words[] = { { "primary", ROLE_PRIMARY }, { "replica", ROLE_REPLICA } };

	if (len > 0 && line[len - 1] == '\n')
		len--;
	if (len > 0 && line[len - 1] == '\r')
		len--;
	for (size_t i = 0; i < ARRAY_SIZE(words); i++) {
		if (len == strlen(words[i].word) && memcmp(line, words[i].word, len) == 0) {
			*r = words[i].role;
			return true;
		}
	}
	return false;
}

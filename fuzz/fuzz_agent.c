/* fuzz_agent: haproxy's agent-send line (agent_parse_role, as the server calls it on the
 * bytes up to the first newline) and the reply line for a snapshot built from the rest of
 * the input (agent_format, state_replica_weight: lag arithmetic on any values).
 * Input: the agent-send line up to '\n', then binary fields for the snapshot and config. */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "agent.h"
#include "fuzz.h"
#include "log.h"
#include "state.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	log_set_level(LOG_ERR);
	return 0;
}

static void check_reply(const char *line, size_t n, size_t size)
{
	FUZZ_CHECK(n > 0 && n < size && line[n] == '\0' && strlen(line) == n);
	FUZZ_CHECK(line[n - 1] == '\n' && memchr(line, '\n', n) == line + n - 1);
	FUZZ_CHECK(strncmp(line, "up", 2) == 0 || strncmp(line, "down", 4) == 0 ||
	           strcmp(line, "drain\n") == 0 || strcmp(line, "maint\n") == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	const uint8_t *nl = memchr(data, '\n', size);
	size_t len = nl ? (size_t)(nl - data) + 1 : size;
	struct snapshot s;
	struct config cfg;
	enum role r = ROLE_SEND;
	char line[AGENT_MAX_LINE];
	bool ok;
	int64_t now;
	int w;

	/* The server reads at most AGENT_MAX_LINE bytes and passes the line with its '\n'. */
	if (len > AGENT_MAX_LINE)
		len = AGENT_MAX_LINE;
	ok = agent_parse_role((const char *)data, len, &r);
	if (ok) {
		FUZZ_CHECK(r == ROLE_PRIMARY || r == ROLE_REPLICA);
		FUZZ_CHECK(len >= 7 && (memcmp(data, "primary", 7) == 0 ||
		                        memcmp(data, "replica", 7) == 0));
	}
	in.p += len;
	in.n -= len;

	memset(&s, 0, sizeof(s));
	config_defaults(&cfg);
	s.made_ms = fuzz_i64(&in);
	s.c.verdict = (enum verdict)(fuzz_byte(&in) % 4);
	s.db_up = fuzz_byte(&in) & 1;
	s.in_recovery = fuzz_byte(&in) & 1;
	s.lag_known = fuzz_byte(&in) & 1;
	s.lag_ms = fuzz_i64(&in);
	s.lag_over_since_ms = fuzz_i64(&in);
	cfg.lag_full_ms = fuzz_u32(&in);
	cfg.max_lag_ms = fuzz_u32(&in);
	cfg.lag_grace_ms = fuzz_u32(&in);
	cfg.stale_after_ms = fuzz_u32(&in);
	cfg.min_weight = (int)fuzz_u32(&in);
	cfg.replica_include_primary = fuzz_byte(&in) & 1;
	now = fuzz_i64(&in);
	/* config_validate guarantees lag_full < max_lag and min_weight 1-100: only such
	 * configurations reach the daemon. */
	if (cfg.lag_full_ms >= cfg.max_lag_ms || cfg.min_weight < 1 || cfg.min_weight > 100)
		return 0;
	/* Monotonic milliseconds since boot, and snapshots made before now. */
	if (now < 0 || s.made_ms < 0 || s.made_ms > now || s.lag_over_since_ms < 0 ||
	    s.lag_over_since_ms > now)
		return 0;

	w = state_replica_weight(&s, &cfg, now);
	FUZZ_CHECK(w >= 0 && w <= 100);
	for (int role = ROLE_PRIMARY; role <= ROLE_SEND; role++) {
		for (int a = ADMIN_READY; a <= ADMIN_MAINT; a++) {
			/* with and without the ready word, by the input's low bit */
			size_t n = agent_format(&s, (enum admin_state)a, (now & 1) != 0,
			                        (enum role)role, &cfg, now, line, sizeof(line));
			check_reply(line, n, sizeof(line));
			if (role == ROLE_SEND)
				FUZZ_CHECK(strcmp(line, AGENT_BAD_REQUEST) == 0);
			/* Only a fresh Primary verdict may ever say "up" for the primary role. */
			if (role == ROLE_PRIMARY && strncmp(line, "up", 2) == 0)
				FUZZ_CHECK(state_verdict(&s, now, cfg.stale_after_ms) ==
				           VERDICT_PRIMARY);
		}
	}
	return 0;
}

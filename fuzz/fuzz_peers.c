/* fuzz_peers: api.c's parsers of a peer's replies, /primary (votes) and /state (the
 * /realPrimary fan-out). The body is whatever a peer sent, up to PEERS_MAX_BODY bytes,
 * with NULs and bad UTF-8. Checks: names stay terminated within their buffers, a vote
 * names somebody, a reply naming none says so, a state is one of the four verdicts.
 * Input: one selector byte (kept so the corpus still fits), the body. */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "fuzz.h"
#include "api.h"
#include "peers.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	uint8_t sel = fuzz_byte(&in);
	/* peers.c NUL-terminates the body after the bytes received. */
	char body[PEERS_MAX_BODY + 1];
	size_t len = in.n < PEERS_MAX_BODY ? in.n : PEERS_MAX_BODY;
	struct api_primary a;
	struct api_state_reply st;
	enum api_primary_kind kind;

	(void)sel;
	memcpy(body, in.p, len);
	body[len] = '\0';
	memset(&a, 0x55, sizeof(a));
	kind = api_parse_primary(body, len, &a);
	FUZZ_CHECK(fuzz_terminated(a.name, sizeof(a.name)));
	FUZZ_CHECK(fuzz_terminated(a.by_name, sizeof(a.by_name)));
	FUZZ_CHECK(fuzz_terminated(a.reason, sizeof(a.reason)));
	if (kind == API_PRIMARY_NAMES) {
		FUZZ_CHECK(a.name[0] != '\0' && a.by_name[0] != '\0');
		FUZZ_CHECK(a.id > 0 && a.by_id > 0);
		FUZZ_CHECK(memmem(body, len, "Primary", 7) != NULL);
		FUZZ_CHECK(a.has_lsn || a.lsn == 0);
	} else if (kind == API_PRIMARY_LEGACY) {
		FUZZ_CHECK(a.name[0] != '\0' && a.by_name[0] == '\0' && a.id == 0 && a.by_id == 0);
		FUZZ_CHECK(a.error == NULL && memmem(body, len, "Primary", 7) != NULL);
	} else {
		FUZZ_CHECK(!a.has_lsn && a.lsn == 0);
		FUZZ_CHECK(kind == API_PRIMARY_NONE || kind == API_PRIMARY_MALFORMED);
		FUZZ_CHECK(a.name[0] == '\0' && a.by_name[0] == '\0' && a.id == 0 && a.by_id == 0);
		FUZZ_CHECK(a.error != NULL);
		FUZZ_CHECK(kind != API_PRIMARY_NONE || memmem(body, len, "null", 4) != NULL);
	}
	memset(&st, 0x55, sizeof(st));
	if (api_parse_state(body, len, &st)) {
		FUZZ_CHECK(fuzz_terminated(st.name, sizeof(st.name)));
		FUZZ_CHECK(st.name[0] != '\0' && st.id > 0);
		FUZZ_CHECK(st.verdict == VERDICT_PRIMARY || st.verdict == VERDICT_STANDBY ||
		           st.verdict == VERDICT_DOWN || st.verdict == VERDICT_UNKNOWN);
	} else {
		FUZZ_CHECK(st.name[0] == '\0' && st.id == 0 && !st.voted);
	}
	return 0;
}

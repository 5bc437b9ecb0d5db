/* fuzz_peers: the parsers of a peer's replies, /primary (votes) and /state (the
 * /realPrimary fan-out). The body is whatever a peer sent, up to PEERS_MAX_BODY bytes,
 * with NULs and bad UTF-8. Checks: names stay terminated within their buffers, a vote
 * names somebody, a state is one of the four words. Input: one selector byte, the body. */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "fuzz.h"
#include "peers.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	uint8_t sel = fuzz_byte(&in);
	/* peers.c NUL-terminates the body after the bytes received. */
	char body[PEERS_MAX_BODY + 1];
	size_t len = in.n < PEERS_MAX_BODY ? in.n : PEERS_MAX_BODY;
	/* Small buffers now and then: a name longer than the buffer must fail, not cut. */
	size_t nsize = (sel & 0x80) ? 1 + (sel & 0x0f) : CONFIG_NAME_MAX;
	char name[CONFIG_NAME_MAX], state[16];
	struct primary_answer a;
	int id = -1;

	memcpy(body, in.p, len);
	body[len] = '\0';
	memset(&a, 0x55, sizeof(a));
	if (peers_parse_primary(body, len, &a) == NULL) {
		FUZZ_CHECK(fuzz_terminated(a.name, sizeof(a.name)));
		FUZZ_CHECK(fuzz_terminated(a.by_name, sizeof(a.by_name)));
		FUZZ_CHECK(a.name[0] != '\0' && a.by_name[0] != '\0');
		FUZZ_CHECK(a.id > 0 && a.by_id > 0);
		FUZZ_CHECK(memmem(body, len, "Primary", 7) != NULL);
	} else {
		FUZZ_CHECK(a.name[0] == '\0' && a.by_name[0] == '\0' && a.id == 0 && a.by_id == 0);
	}
	memset(name, 0x55, sizeof(name));
	if (peers_parse_state(body, len, state, (sel & 0x40) ? 1 + (sel & 0x07) : sizeof(state),
	                      name, nsize, &id)) {
		FUZZ_CHECK(fuzz_terminated(name, nsize));
		FUZZ_CHECK(id > 0);
		FUZZ_CHECK(strcmp(state, "Primary") == 0 || strcmp(state, "Standby") == 0 ||
		           strcmp(state, "Down") == 0 || strcmp(state, "Unknown") == 0);
	}
	return 0;
}

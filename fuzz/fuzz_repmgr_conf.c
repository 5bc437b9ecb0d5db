/* fuzz_repmgr_conf: repmgr.conf parsing (identity_parse_repmgr_conf), the text primgr
 * reads for its identity. Checks: fields stay terminated within their sizes, the error
 * is one line, and a NUL inside the text only ends it early (as for a C string). */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "fuzz.h"
#include "identity.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	static struct identity id;
	char err[512];
	size_t len;
	char *text = fuzz_rest(&in, &len);

	memset(err, 0x55, sizeof(err));
	if (identity_parse_repmgr_conf(text, "repmgr.conf", &id, err, sizeof(err))) {
		FUZZ_CHECK(id.node_id >= 0);
		FUZZ_CHECK(fuzz_terminated(id.node_name, sizeof(id.node_name)));
		FUZZ_CHECK(fuzz_terminated(id.conninfo, sizeof(id.conninfo)));
		FUZZ_CHECK(fuzz_terminated(id.location, sizeof(id.location)));
		FUZZ_CHECK(fuzz_terminated(id.data_directory, sizeof(id.data_directory)));
	} else {
		FUZZ_CHECK(fuzz_terminated(err, sizeof(err)));
		FUZZ_CHECK(strncmp(err, "repmgr.conf:", 12) == 0);
	}
	free(text);
	return 0;
}

/* fuzz_topology_cache: the topology cache file (JSON that primgr wrote, or that a full
 * disk, an editor or another version left behind). topology_cache_read must refuse
 * anything but a valid node list; what it accepts must survive topology_cache_write and
 * read back identical. */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "topology.h"

static char path[64], path2[80];
static int fd = -1;

static void remove_files(void)
{
	if (fd >= 0) {
		unlink(path);
		unlink(path2);
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";

	snprintf(path, sizeof(path), "%s/primgr-fuzz-cache.XXXXXX", dir);
	fd = mkstemp(path);
	if (fd < 0) {
		perror(path);
		abort();
	}
	snprintf(path2, sizeof(path2), "%s.again", path);
	atexit(remove_files);
	return 0;
}

static bool same_node(const struct node *a, const struct node *b)
{
	return a->id == b->id && strcmp(a->name, b->name) == 0 && a->type == b->type &&
	       a->active == b->active && a->upstream_id == b->upstream_id &&
	       strcmp(a->location, b->location) == 0 && a->priority == b->priority &&
	       strcmp(a->host, b->host) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct node *nodes = NULL, *again = NULL;
	size_t n = 0, n2 = 0;
	char err[512];

	FUZZ_CHECK(ftruncate(fd, 0) == 0);
	FUZZ_CHECK(pwrite(fd, data, size, 0) == (ssize_t)size);
	memset(err, 0x55, sizeof(err));
	if (!topology_cache_read(path, &nodes, &n, err, sizeof(err))) {
		FUZZ_CHECK(nodes == NULL && n == 0);
		FUZZ_CHECK(fuzz_terminated(err, sizeof(err)));
		return 0;
	}
	FUZZ_CHECK(n > 0 && n <= TOPOLOGY_MAX_NODES);
	FUZZ_CHECK(topology_check(nodes, n, err, sizeof(err)));
	FUZZ_CHECK(topology_cache_write(path2, nodes, n) == 0);
	if (!topology_cache_read(path2, &again, &n2, err, sizeof(err))) {
		fprintf(stderr, "cache written from an accepted cache does not read: %s\n", err);
		abort();
	}
	FUZZ_CHECK(n2 == n);
	for (size_t i = 0; i < n; i++)
		FUZZ_CHECK(same_node(&nodes[i], &again[i]));
	free(nodes);
	free(again);
	return 0;
}

/* fuzz_config: the INI loader (config_load: reader, per-key parsers, cross-field
 * validation) on a file holding the input. When it loads, --print-config must read back:
 * printing, loading the printed text and printing again gives the same text. */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "fuzz.h"
#include "log.h"

static char path[64];
static int fd = -1;

static void remove_file(void)
{
	if (fd >= 0)
		unlink(path);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";

	log_set_level(LOG_ERR);
	snprintf(path, sizeof(path), "%s/primgr-fuzz-config.XXXXXX", dir);
	fd = mkstemp(path);
	if (fd < 0) {
		perror(path);
		abort();
	}
	atexit(remove_file);
	return 0;
}

static void put_file(const void *data, size_t size)
{
	FUZZ_CHECK(ftruncate(fd, 0) == 0);
	FUZZ_CHECK(pwrite(fd, data, size, 0) == (ssize_t)size);
}

/* The --print-config text of cfg, malloc'd. */
static char *print_config(const struct config *cfg, size_t *len)
{
	char *text = NULL;
	FILE *f = open_memstream(&text, len);

	FUZZ_CHECK(f != NULL);
	config_print(f, cfg);
	FUZZ_CHECK(fclose(f) == 0);
	return text;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct config cfg, again;
	char err[1024], err2[1024];
	char *p1, *p2;
	size_t l1, l2;

	put_file(data, size);
	memset(err, 0x55, sizeof(err));
	if (!config_load(path, &cfg, err, sizeof(err))) {
		/* One line naming the file. */
		FUZZ_CHECK(fuzz_terminated(err, sizeof(err)));
		FUZZ_CHECK(strncmp(err, path, strlen(path)) == 0 || err[0] == '[');
		FUZZ_CHECK(strchr(err, '\n') == NULL);
		return 0;
	}
	p1 = print_config(&cfg, &l1);
	put_file(p1, l1);
	if (!config_load(path, &again, err2, sizeof(err2))) {
		fprintf(stderr, "printed config does not load: %s\n--- printed:\n%s\n", err2, p1);
		abort();
	}
	p2 = print_config(&again, &l2);
	if (l1 != l2 || memcmp(p1, p2, l1) != 0) {
		fprintf(stderr, "printed config changes on reload:\n--- first:\n%s\n--- second:\n%s\n",
		        p1, p2);
		abort();
	}
	free(p1);
	free(p2);
	return 0;
}

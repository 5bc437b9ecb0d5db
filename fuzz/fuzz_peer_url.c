/* fuzz_peer_url: a repmgr.nodes row (as pg.c hands it over: text fields, NULL for SQL
 * NULL; the conninfo goes through PQconninfoParse) turned into a node, and its peer URL
 * expanded from a fuzzed template, name replacements, suffix and [peers] override
 * (topology_node_from_row, topology_peer_url, topology_apply_rules, topology_check).
 * Checks: the URL is terminated within its buffer, never ends in '/', and expansion only
 * ever inserts host-safe characters: a node name or conninfo host cannot smuggle '@', '/',
 * '?', '#', '%' or spaces into the URL primgr fetches.
 * Input, one field per line: template, suffix, replacements (pairs of bytes), the 8 row
 * fields ("\N" = NULL), override name, override URL. */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "fuzz.h"
#include "log.h"
#include "topology.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	log_set_level(LOG_ERR);
	return 0;
}

static bool expansion_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == '-' || c == ':' || c == '[' || c == ']';
}

static void check_url(const struct config *cfg, const struct node *n, const char *url,
                      size_t size, bool override)
{
	size_t len;

	FUZZ_CHECK(fuzz_terminated(url, size));
	len = strlen(url);
	FUZZ_CHECK(len > 0 && url[len - 1] != '/');
	if (override)
		return;
	for (size_t i = 0; i < len; i++)
		FUZZ_CHECK(expansion_char(url[i]) || strchr(cfg->url_template, url[i]));
	(void)n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	static struct config cfg;
	static char fields[8][CONFIG_CONNINFO_MAX + 16];
	const char *f[8];
	char rep[2 * CONFIG_MAX_REPLACE + 1], err[256], url[CONFIG_URL_MAX];
	struct node nodes[2];
	size_t nrep, urlsize;
	bool override = false;

	config_defaults(&cfg);
	fuzz_field(&in, cfg.url_template, sizeof(cfg.url_template));
	fuzz_field(&in, cfg.name_suffix, sizeof(cfg.name_suffix));
	nrep = fuzz_field(&in, rep, sizeof(rep));
	cfg.nreplace = (int)(nrep / 2);
	for (int i = 0; i < cfg.nreplace; i++) {
		cfg.replace[i].from = rep[2 * i];
		cfg.replace[i].to = rep[2 * i + 1];
	}
	for (int i = 0; i < 8; i++) {
		fuzz_field(&in, fields[i], sizeof(fields[i]));
		f[i] = strcmp(fields[i], "\\N") == 0 ? NULL : fields[i];
	}
	if (in.n > 0) {
		fuzz_field(&in, cfg.peers[0].name, sizeof(cfg.peers[0].name));
		fuzz_field(&in, cfg.peers[0].url, sizeof(cfg.peers[0].url));
		cfg.npeers = 1;
	}

	memset(err, 0x55, sizeof(err));
	if (!topology_node_from_row(f, &nodes[0], err, sizeof(err))) {
		FUZZ_CHECK(fuzz_terminated(err, sizeof(err)));
		return 0;
	}
	FUZZ_CHECK(nodes[0].id > 0);
	FUZZ_CHECK(fuzz_terminated(nodes[0].name, sizeof(nodes[0].name)));
	FUZZ_CHECK(fuzz_terminated(nodes[0].host, sizeof(nodes[0].host)));
	FUZZ_CHECK(fuzz_terminated(nodes[0].location, sizeof(nodes[0].location)));
	override = cfg.npeers == 1 && strcmp(cfg.peers[0].name, nodes[0].name) == 0;

	/* Every buffer size down to nothing: a long expansion fails, never overruns. */
	urlsize = (size_t)(nrep * 37 % sizeof(url));
	memset(url, 0x55, sizeof(url));
	if (topology_peer_url(&cfg, &nodes[0], url, urlsize))
		check_url(&cfg, &nodes[0], url, urlsize, override);
	if (topology_peer_url(&cfg, &nodes[0], url, sizeof(url)))
		check_url(&cfg, &nodes[0], url, sizeof(url), override);
	else
		FUZZ_CHECK(url[0] == '\0');

	nodes[1] = nodes[0];
	topology_apply_rules(&cfg, nodes, 2, "dc1");
	FUZZ_CHECK(strcmp(nodes[0].url, nodes[1].url) == 0);
	if (nodes[0].url[0])
		check_url(&cfg, &nodes[0], nodes[0].url, sizeof(nodes[0].url), override);
	/* Two copies of one row: a duplicate, never a verdict. */
	FUZZ_CHECK(!topology_check(nodes, 2, err, sizeof(err)));
	FUZZ_CHECK(topology_check(nodes, 1, err, sizeof(err)));
	return 0;
}

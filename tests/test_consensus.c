/* consensus: observations in, verdict out. Each case is a small picture of a cluster:
 *
 *   rows   "id name type active [location [upstream]], ..."   the local repmgr.nodes view
 *   votes  one word per row, what that peer's /primary said:
 *            -  not polled (self)     x  unreachable     ?  bad reply
 *            0  names no primary      N  names node N (id from the rows)   N#7  ...with id 7
 *            N@M  names node N, but the reply says node M answered (id from the rows;
 *                 M = ? for a reply that says nobody). Without @, the row's node answered.
 *            ~N   a legacy reply {"Primary": "N"}: no id, nobody said who answered
 *   flags  self=ID selfname=NAME selfloc=LOC (repmgr.conf's location) stale down recovery
 *          novotes scope=cluster scope=list:a,b legacy=a,b ([consensus] legacy_peers)
 *
 * The rows go through topology_node_from_row and topology_apply_rules as in the daemon. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consensus.h"
#include "topology.h"
#include "t.h"

#define MAXN 32

struct ccase {
	const char *name;
	const char *rows;
	const char *votes;
	const char *flags;
	enum verdict want;
	int votes_want, voters, quorum; /* -1: not checked */
	const char *reason;             /* a substring of the reason */
};

#define HEALTHY3 "1 node1 primary t dc1, 2 node2 standby t dc1 1, 3 node3 standby t dc1 1"
#define FAILOVER3 "1 node1 primary f dc1, 2 node2 primary t dc1, 3 node3 standby t dc1 2"
#define WITNESS3 "1 node1 primary t dc1, 2 node2 standby t dc1 1, 3 witness1 witness t dc1 1"
#define FIVE                                                                                       \
	"1 node1 primary t dc1, 2 node2 standby t dc1, 3 node3 standby t dc1, "                    \
	"4 node4 standby t dc1, 5 node5 standby t dc1"
#define TWOLOC                                                                                     \
	"1 node1 primary t dc1, 2 node2 standby t dc1, 3 node3 standby t dc1, "                    \
	"4 node4 standby t dc2"

static const struct ccase cases[] = {
    {"healthy 3 nodes: node1 Primary 3/3", HEALTHY3, "- node1 node1", "", VERDICT_PRIMARY, 3, 3, 2,
     "3 of 3 votes, quorum 2"},
    {"healthy 3 nodes, one peer unreachable: Primary 2/3", HEALTHY3, "- node1 x", "",
     VERDICT_PRIMARY, 2, 3, 2, "2 of 3 votes, quorum 2 (node3 unreachable)"},
    {"healthy 3 nodes, both peers unreachable: Unknown 1/3", HEALTHY3, "- x x", "", VERDICT_UNKNOWN,
     1, 3, 2, "1 of 3 votes, quorum 2 (node2 unreachable, node3 unreachable)"},
    {"bad reply and unreachable: Unknown", HEALTHY3, "- ? x", "", VERDICT_UNKNOWN, 1, 3, 2,
     "(node2 bad reply, node3 unreachable)"},
    {"healthy 3 nodes seen from standby node2", HEALTHY3, "node1 - node1", "self=2 recovery",
     VERDICT_STANDBY, 0, 3, 2, "in recovery (upstream node1)"},
    {"after failover from node2: Primary", FAILOVER3, "x - node2", "self=2", VERDICT_PRIMARY, 2, 3,
     2, "2 of 3 votes, quorum 2 (node1 unreachable)"},
    {"after failover from node3: Standby", FAILOVER3, "x node2 -", "self=3 recovery",
     VERDICT_STANDBY, -1, -1, -1, "in recovery (upstream node2)"},
    {"split brain, old primary with frozen rows: Unknown 1/3", HEALTHY3, "- node2 node2", "",
     VERDICT_UNKNOWN, 1, 3, 2, "1 of 3 votes, quorum 2 (node2 names node2, node3 names node2)"},
    {"split brain, new primary keeps its quorum", FAILOVER3, "node1 - node2", "self=2",
     VERDICT_PRIMARY, 2, 3, 2, "(node1 names node1)"},
    {"2 data nodes + witness: all vote", WITNESS3, "- node1 node1", "", VERDICT_PRIMARY, 3, 3, 2,
     "3 of 3 votes"},
    {"2 data nodes + witness: Primary on the witness vote only", WITNESS3, "- x node1", "",
     VERDICT_PRIMARY, 2, 3, 2, "(node2 unreachable)"},
    {"2 data nodes + witness: the witness is never Primary", WITNESS3, "node1 node1 -", "self=3",
     VERDICT_UNKNOWN, 0, 3, 2, "witness: never routable"},
    {"2 data nodes + witness, both peers gone: Unknown", WITNESS3, "- x x", "", VERDICT_UNKNOWN, 1,
     3, 2, "1 of 3 votes"},
    {"5 nodes, 2 down: Primary 3/5", FIVE, "- node1 node1 x x", "", VERDICT_PRIMARY, 3, 5, 3,
     "3 of 5 votes, quorum 3 (node4 unreachable, node5 unreachable)"},
    {"5 nodes, 3 down: Unknown 2/5", FIVE, "- node1 x x x", "", VERDICT_UNKNOWN, 2, 5, 3,
     "2 of 5 votes, quorum 3"},
    {"2 locations, scope location: dc2 does not count", TWOLOC, "- node1 x node1", "",
     VERDICT_PRIMARY, 2, 3, 2, "2 of 3 votes, quorum 2 (node3 unreachable)"},
    {"2 locations, scope location: a dc2 vote is not enough", TWOLOC, "- x x node1", "",
     VERDICT_UNKNOWN, 1, 3, 2, "1 of 3 votes"},
    {"2 locations, scope cluster: dc2 counts in N and votes", TWOLOC, "- x x node1",
     "scope=cluster", VERDICT_UNKNOWN, 2, 4, 3, "2 of 4 votes, quorum 3"},
    {"2 locations, scope cluster: Primary 3/4", TWOLOC, "- node1 x node1", "scope=cluster",
     VERDICT_PRIMARY, 3, 4, 3, "3 of 4 votes, quorum 3 (node3 unreachable)"},
    {"2 locations, scope list dc1,dc2 = cluster", TWOLOC, "- node1 x node1", "scope=list:dc1,dc2",
     VERDICT_PRIMARY, 3, 4, 3, "3 of 4 votes"},
    {"2 locations, scope list without self's location", TWOLOC, "- node1 node1 node1",
     "scope=list:dc2", VERDICT_UNKNOWN, 0, 1, 1, "self (location dc1) is outside"},
    {"peers name a different node", HEALTHY3, "- node3 node3", "", VERDICT_UNKNOWN, 1, 3, 2,
     "(node2 names node3, node3 names node3)"},
    {"peer names no primary", HEALTHY3, "- 0 x", "", VERDICT_UNKNOWN, 1, 3, 2,
     "node2 names no primary"},
    {"peer names an unknown node by name only", HEALTHY3, "- node9 node1", "", VERDICT_PRIMARY, 2,
     3, 2, "(node2 names node9)"},
    {"single node: Primary on its own vote", "1 node1 primary t dc1", "-", "", VERDICT_PRIMARY, 1,
     1, 1, "1 of 1 votes, quorum 1"},
    {"single node in default location", "1 solo primary t", "-", "", VERDICT_PRIMARY, 1, 1, 1,
     "1 of 1 votes"},
    {"inactive rows still count in N",
     "1 node1 primary t dc1, 2 node2 standby f dc1, "
     "3 node3 standby f dc1",
     "- x x", "", VERDICT_UNKNOWN, 1, 3, 2, "1 of 3 votes, quorum 2"},
    {"inactive peer that still votes counts",
     "1 node1 primary t dc1, 2 node2 standby f dc1, "
     "3 node3 standby f dc1",
     "- node1 x", "", VERDICT_PRIMARY, 2, 3, 2, "2 of 3 votes"},
    {"bdr rows are not voters",
     "1 node1 primary t dc1, 2 node2 standby t dc1, "
     "3 node3 bdr t dc1",
     "- node1 node1", "", VERDICT_PRIMARY, 2, 2, 2, "2 of 2 votes, quorum 2"},
    {"stale snapshot: Unknown, never Primary", HEALTHY3, "- node1 node1", "stale", VERDICT_UNKNOWN,
     0, 3, 2, "stale: "},
    {"stale beats down", HEALTHY3, "- x x", "stale down", VERDICT_UNKNOWN, 0, -1, -1,
     "stale: no successful refresh within stale_after (last error: connection refused)"},
    {"db down: Down with the error", HEALTHY3, "- node1 node1", "down", VERDICT_DOWN, 0, -1, -1,
     "connection refused"},
    {"db down without rows: Down", "", "", "down", VERDICT_DOWN, 0, 0, 0, "connection refused"},
    {"in recovery: Standby even when peers name it", HEALTHY3, "- node1 node1", "recovery",
     VERDICT_STANDBY, 0, 3, 2, "in recovery"},
    {"in recovery without rows: Standby", "", "", "recovery self=2", VERDICT_STANDBY, 0, 0, 0,
     "in recovery"},
    {"no rows: Unknown", "", "", "", VERDICT_UNKNOWN, 0, 0, 0, "no rows in repmgr.nodes"},
    {"duplicate names: Unknown", "1 node1 primary t dc1, 2 node1 standby t dc1", "- node1", "",
     VERDICT_UNKNOWN, 0, 0, 0, "duplicate node_name node1 in repmgr.nodes (node_id 1 and 2)"},
    {"duplicate ids: Unknown", "1 node1 primary t dc1, 1 node2 standby t dc1", "- node1", "",
     VERDICT_UNKNOWN, 0, 0, 0, "duplicate node_id 1"},
    {"two active primaries in the local view: Unknown",
     "1 node1 primary t dc1, 2 node2 primary t dc1, 3 node3 standby t dc1", "- node1 node1", "",
     VERDICT_UNKNOWN, 0, 3, 2, "several active primaries in repmgr.nodes (node1, node2)"},
    {"no active primary in the local view: Unknown",
     "1 node1 primary f dc1, 2 node2 standby t dc1, 3 node3 standby t dc1", "- node1 node1", "",
     VERDICT_UNKNOWN, 0, 3, 2, "no active primary in repmgr.nodes"},
    {"local view names another node: Unknown", HEALTHY3, "node1 - node2", "self=2", VERDICT_UNKNOWN,
     0, 3, 2, "repmgr.nodes names node1 (node_id 1) the primary"},
    {"self missing from the rows: Unknown", HEALTHY3, "node1 node1 node1", "self=9",
     VERDICT_UNKNOWN, 0, -1, -1, "self (node_id 9) not in repmgr.nodes"},
    {"self's row has another name: Unknown", HEALTHY3, "- node1 node1", "selfname=nodeX",
     VERDICT_UNKNOWN, 0, 3, 2, "self (node_id 1) is named node1 in repmgr.nodes, not nodeX"},
    {"self's row is in another location than repmgr.conf's: Unknown", HEALTHY3, "- node1 node1",
     "selfloc=dc2", VERDICT_UNKNOWN, 0, 3, 2,
     "self (node_id 1) is in location dc1 in repmgr.nodes, not dc2 (repmgr.conf)"},
    {"self's row location as in repmgr.conf: Primary", HEALTHY3, "- node1 node1", "selfloc=dc1",
     VERDICT_PRIMARY, 3, 3, 2, "3 of 3 votes"},
    {"right name, wrong id: no vote", HEALTHY3, "- node1#7 node1", "", VERDICT_PRIMARY, 2, 3, 2,
     "(node2 names node1 with node_id 7)"},
    {"right name, wrong id twice: Unknown", HEALTHY3, "- node1#7 node1#7", "", VERDICT_UNKNOWN, 1,
     3, 2, "1 of 3 votes"},
    {"name only (id 0) casts no vote", HEALTHY3, "- node1#0 node1#0", "", VERDICT_UNKNOWN, 1, 3,
     2, "(node2 names node1 with node_id 0, node3 names node1 with node_id 0)"},
    {"right id, wrong name: no vote", HEALTHY3, "- Node1#1 node1#1", "", VERDICT_PRIMARY, 2, 3, 2,
     "(node2 names Node1)"},
    {"unpolled peers give no vote", HEALTHY3, "- - -", "", VERDICT_UNKNOWN, 1, 3, 2,
     "(node2 not polled, node3 not polled)"},
    {"nobody answered (votes NULL)", HEALTHY3, "", "novotes", VERDICT_UNKNOWN, 1, 3, 2,
     "(node2 not polled, node3 not polled)"},
    {"a witness on node1's URL: node1's own answer casts no vote", WITNESS3, "- x node1@node1", "",
     VERDICT_UNKNOWN, 1, 3, 2, "(node2 unreachable, witness1's URL answered as node1 (id 1))"},
    {"two rows on one URL: one reply, one vote", HEALTHY3, "- node1 node1@node2", "",
     VERDICT_PRIMARY, 2, 3, 2, "(node3's URL answered as node2 (id 2))"},
    {"a reply that says nobody answered casts no vote", HEALTHY3, "- node1@? node1", "",
     VERDICT_PRIMARY, 2, 3, 2, "(node2's URL answered as  (id 0))"},
    {"a vote for self from its own slot is ignored",
     "1 node1 primary t dc1, 2 node2 standby t "
     "dc1",
     "node1 x", "", VERDICT_UNKNOWN, 1, 2, 2, "1 of 2 votes, quorum 2 (node2 unreachable)"},
    /* [consensus] legacy_peers: a rolling migration from the Python service */
    {"legacy peer's {\"Primary\": name} counts", HEALTHY3, "- ~node1 x", "legacy=node2",
     VERDICT_PRIMARY, 2, 3, 2, "2 of 3 votes, quorum 2 (node3 unreachable)"},
    {"the same reply from a peer not in legacy_peers does not", HEALTHY3, "- ~node1 x",
     "legacy=node3", VERDICT_UNKNOWN, 1, 3, 2,
     "(node2 answered without answered_by (not in legacy_peers), node3 unreachable)"},
    {"no legacy_peers: no legacy vote", HEALTHY3, "- ~node1 ~node1", "", VERDICT_UNKNOWN, 1, 3,
     2, "node3 answered without answered_by (not in legacy_peers))"},
    {"legacy peer naming another node gives no vote", HEALTHY3, "- ~node2 node1",
     "legacy=node2", VERDICT_PRIMARY, 2, 3, 2, "(node2 names node2)"},
    {"two legacy peers naming another node: Unknown", HEALTHY3, "- ~node3 ~node3",
     "legacy=node2,node3", VERDICT_UNKNOWN, 1, 3, 2, "(node2 names node3, node3 names node3)"},
    {"legacy peer with a full reply is checked as today", HEALTHY3, "- node1@node3 x",
     "legacy=node2", VERDICT_UNKNOWN, 1, 3, 2, "(node2's URL answered as node3 (id 3)"},
    {"legacy and primgr peers together", HEALTHY3, "- ~node1 node1", "legacy=node2",
     VERDICT_PRIMARY, 3, 3, 2, "3 of 3 votes"},
    {"split brain: a legacy peer following the new primary fences the old", HEALTHY3,
     "- ~node2 ~node2", "legacy=node2,node3", VERDICT_UNKNOWN, 1, 3, 2, "1 of 3 votes"},
};

/* How many of the votes were legacy ones ([consensus] legacy_peers), for /metrics. */
static const struct {
	const char *votes, *flags;
	int legacy_votes;
} legacy_cases[] = {
    {"- ~node1 node1", "legacy=node2", 1},
    {"- ~node1 ~node1", "legacy=node2,node3", 2},
    {"- ~node1 ~node1", "legacy=node3", 1},
    {"- ~node1 ~node1", "", 0},
    {"- ~node2 node1", "legacy=node2", 0},
    {"- node1 node1", "legacy=node2,node3", 0},
};

struct world {
	struct node nodes[MAXN];
	struct peer_vote votes[MAXN];
	size_t n;
	struct config cfg;
	struct consensus_input in;
	char selfname[CONFIG_NAME_MAX];
	char selfloc[CONFIG_NAME_MAX];
	char legacy[CONFIG_MAX_LEGACY][CONFIG_NAME_MAX];
};

static void parse_rows(struct world *w, const char *rows)
{
	char *copy = strdup(rows), *save = NULL;

	for (char *item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		char id[16], name[64], type[16], active[4], loc[64] = "", up[16] = "";
		const char *f[8];
		char err[256];
		int k =
		    sscanf(item, "%15s %63s %15s %3s %63s %15s", id, name, type, active, loc, up);
		if (k < 4) {
			printf("# bad row in test table: %s\n", item);
			exit(2);
		}
		f[0] = id;
		f[1] = name;
		f[2] = type;
		f[3] = active;
		f[4] = k >= 6 ? up : NULL;
		f[5] = k >= 5 ? loc : NULL;
		f[6] = "100";
		f[7] = "host=127.0.0.1 port=5432 user=repmgr dbname=repmgr";
		if (!topology_node_from_row(f, &w->nodes[w->n], err, sizeof(err))) {
			printf("# bad row in test table: %s: %s\n", item, err);
			exit(2);
		}
		w->n++;
	}
	free(copy);
}

static int id_of(const struct world *w, const char *name)
{
	for (size_t i = 0; i < w->n; i++)
		if (strcmp(w->nodes[i].name, name) == 0)
			return w->nodes[i].id;
	return 0;
}

static void parse_votes(struct world *w, const char *votes)
{
	char *copy = strdup(votes), *save = NULL;
	size_t i = 0;

	for (char *tok = strtok_r(copy, " ", &save); tok && i < MAXN;
	     tok = strtok_r(NULL, " ", &save), i++) {
		struct peer_vote *v = &w->votes[i];
		char *hash;
		if (strcmp(tok, "-") == 0) {
			v->status = PEER_UNPOLLED;
		} else if (strcmp(tok, "x") == 0) {
			v->status = PEER_UNREACHABLE;
		} else if (strcmp(tok, "?") == 0) {
			v->status = PEER_BAD_REPLY;
		} else if (strcmp(tok, "0") == 0) {
			v->status = PEER_ANSWERED;
		} else if (tok[0] == '~') {
			v->status = PEER_ANSWERED;
			v->legacy = true;
			snprintf(v->named_name, sizeof(v->named_name), "%s", tok + 1);
		} else {
			char *at = strchr(tok, '@');

			v->status = PEER_ANSWERED;
			v->answered_id = i < w->n ? w->nodes[i].id : 0;
			snprintf(v->answered_name, sizeof(v->answered_name), "%s",
			         i < w->n ? w->nodes[i].name : "");
			if (at) {
				*at = '\0';
				v->answered_id = strcmp(at + 1, "?") == 0 ? 0 : id_of(w, at + 1);
				snprintf(v->answered_name, sizeof(v->answered_name), "%s",
				         strcmp(at + 1, "?") == 0 ? "" : at + 1);
			}
			hash = strchr(tok, '#');
			if (hash) {
				*hash = '\0';
				v->named_id = atoi(hash + 1);
			} else {
				v->named_id = id_of(w, tok);
			}
			snprintf(v->named_name, sizeof(v->named_name), "%s", tok);
		}
	}
	free(copy);
}

static void build(struct world *w, const struct ccase *c)
{
	char *flags = strdup(c->flags), *save = NULL;
	const struct node *self;
	const char *self_location;

	memset(w, 0, sizeof(*w));
	strcpy(w->cfg.url_template, "http://{name}:8432");
	w->in.self_id = 1;
	w->in.db_up = true;
	parse_rows(w, c->rows);
	parse_votes(w, c->votes);
	w->in.votes = w->votes;
	for (char *tok = strtok_r(flags, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		if (strncmp(tok, "self=", 5) == 0) {
			w->in.self_id = atoi(tok + 5);
		} else if (strncmp(tok, "selfname=", 9) == 0) {
			snprintf(w->selfname, sizeof(w->selfname), "%s", tok + 9);
		} else if (strncmp(tok, "selfloc=", 8) == 0) {
			snprintf(w->selfloc, sizeof(w->selfloc), "%s", tok + 8);
			w->in.self_location = w->selfloc;
		} else if (strcmp(tok, "stale") == 0) {
			w->in.stale = true;
		} else if (strcmp(tok, "down") == 0) {
			w->in.db_up = false;
			strcpy(w->in.db_error, "connection refused");
		} else if (strcmp(tok, "recovery") == 0) {
			w->in.in_recovery = true;
		} else if (strcmp(tok, "novotes") == 0) {
			w->in.votes = NULL;
		} else if (strncmp(tok, "legacy=", 7) == 0) {
			char *lsave = NULL;
			for (char *l = strtok_r(tok + 7, ",", &lsave); l;
			     l = strtok_r(NULL, ",", &lsave))
				snprintf(w->legacy[w->in.nlegacy_peers++], CONFIG_NAME_MAX, "%s", l);
			w->in.legacy_peers = w->legacy;
		} else if (strcmp(tok, "scope=cluster") == 0) {
			w->cfg.scope = SCOPE_CLUSTER;
		} else if (strncmp(tok, "scope=list:", 11) == 0) {
			char *lsave = NULL;
			w->cfg.scope = SCOPE_LIST;
			for (char *l = strtok_r(tok + 11, ",", &lsave); l;
			     l = strtok_r(NULL, ",", &lsave))
				snprintf(w->cfg.locations[w->cfg.nlocations++], CONFIG_NAME_MAX,
				         "%s", l);
		} else {
			printf("# bad flag in test table: %s\n", tok);
			exit(2);
		}
	}
	free(flags);
	self = topology_find(w->nodes, w->n, w->in.self_id);
	if (!w->selfname[0] && self)
		snprintf(w->selfname, sizeof(w->selfname), "%s", self->name);
	self_location = self ? self->location : "default";
	topology_apply_rules(&w->cfg, w->nodes, w->n, self_location);
	w->in.self_name = w->selfname;
	w->in.nodes = w->nodes;
	w->in.nnodes = w->n;
}

static void run_case(const struct ccase *c)
{
	struct world w;
	struct consensus_result r;
	char name[256];

	build(&w, c);
	consensus_decide(&w.in, &r);
	printf("# %s -> %s: %s\n", c->name, consensus_verdict_name(r.verdict), r.reason);
	snprintf(name, sizeof(name), "%s: verdict", c->name);
	T_EQ_STR(consensus_verdict_name(r.verdict), consensus_verdict_name(c->want), name);
	if (c->votes_want >= 0) {
		snprintf(name, sizeof(name), "%s: votes", c->name);
		T_EQ_INT(r.votes, c->votes_want, name);
	}
	if (c->voters >= 0) {
		snprintf(name, sizeof(name), "%s: voters", c->name);
		T_EQ_INT(r.voters, c->voters, name);
	}
	if (c->quorum >= 0) {
		snprintf(name, sizeof(name), "%s: quorum", c->name);
		T_EQ_INT(r.quorum, c->quorum, name);
	}
	snprintf(name, sizeof(name), "%s: reason", c->name);
	if (!T_OK(strstr(r.reason, c->reason) != NULL, name))
		printf("#   reason \"%s\"\n#   lacks  \"%s\"\n", r.reason, c->reason);
}

/* Many unreachable peers with long names: the reason is cut, terminated and marked. */
static void test_reason_bounded(void)
{
	struct world w;
	struct consensus_result r;
	char rows[4096] = "1 node1 primary t dc1";
	size_t off = strlen(rows);

	for (int i = 2; i <= 20; i++)
		off += (size_t)snprintf(rows + off, sizeof(rows) - off,
		                        ", %d a-rather-long-node-name-for-a-database-server-%02d "
		                        "standby t dc1",
		                        i, i);
	memset(&w, 0, sizeof(w));
	strcpy(w.cfg.url_template, "http://{name}:8432");
	parse_rows(&w, rows);
	for (size_t i = 1; i < w.n; i++)
		w.votes[i].status = PEER_UNREACHABLE;
	topology_apply_rules(&w.cfg, w.nodes, w.n, "dc1");
	w.in = (struct consensus_input){.db_up = true,
	                                .self_id = 1,
	                                .self_name = "node1",
	                                .nodes = w.nodes,
	                                .nnodes = w.n,
	                                .votes = w.votes};
	consensus_decide(&w.in, &r);
	T_EQ_STR(consensus_verdict_name(r.verdict), "Unknown", "long reason: Unknown");
	T_EQ_INT(strlen(r.reason), sizeof(r.reason) - 1, "long reason: fills the buffer exactly");
	T_OK(strncmp(r.reason, "1 of 20 votes, quorum 11 (", 26) == 0, "long reason: starts whole");
	T_EQ_STR(r.reason + strlen(r.reason) - 3, "...", "long reason: ends in ...");
}

/* What a peer sends is data: control bytes and non-ASCII never reach the reason raw. */
static void test_reason_sanitized(void)
{
	struct world w;
	struct consensus_result r;
	bool clean = true;

	memset(&w, 0, sizeof(w));
	strcpy(w.cfg.url_template, "http://{name}:8432");
	parse_rows(&w, HEALTHY3);
	w.votes[1].status = PEER_ANSWERED;
	strcpy(w.votes[1].named_name, "evil\n\x1b[31m\xc3");
	w.votes[1].answered_id = 2;
	strcpy(w.votes[1].answered_name, "node2");
	w.votes[2].status = PEER_ANSWERED;
	w.votes[2].answered_id = 3;
	strcpy(w.votes[2].answered_name, "node3");
	memset(w.votes[2].named_name, 'A', sizeof(w.votes[2].named_name)); /* unterminated */
	topology_apply_rules(&w.cfg, w.nodes, w.n, "dc1");
	w.in = (struct consensus_input){.db_up = true,
	                                .self_id = 1,
	                                .self_name = "node1",
	                                .nodes = w.nodes,
	                                .nnodes = w.n,
	                                .votes = w.votes};
	consensus_decide(&w.in, &r);
	for (const char *p = r.reason; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			clean = false;
	T_OK(clean, "peer bytes: reason is printable ASCII");
	T_OK(strstr(r.reason, "node2 names evil??[31m?") != NULL, "peer bytes: replaced by ?");
	T_OK(strstr(r.reason, "node3 names AAAAAAAA") != NULL,
	     "peer bytes: unterminated name bounded");
	T_EQ_INT(r.votes, 1, "peer bytes: no vote");
}

static void test_local_primary(void)
{
	struct world w;

	memset(&w, 0, sizeof(w));
	parse_rows(&w, HEALTHY3);
	T_EQ_INT(consensus_local_primary(w.nodes, w.n), 1, "local primary: healthy");
	memset(&w, 0, sizeof(w));
	parse_rows(&w, FAILOVER3);
	T_EQ_INT(consensus_local_primary(w.nodes, w.n), 2, "local primary: after failover");
	memset(&w, 0, sizeof(w));
	parse_rows(&w, "1 node1 primary f, 2 node2 standby t");
	T_EQ_INT(consensus_local_primary(w.nodes, w.n), 0, "local primary: none active");
	memset(&w, 0, sizeof(w));
	parse_rows(&w, "1 node1 primary t, 2 node2 primary t");
	T_EQ_INT(consensus_local_primary(w.nodes, w.n), -1, "local primary: two");
	T_EQ_INT(consensus_local_primary(NULL, 0), 0, "local primary: empty");
}

static void test_primary_id(void)
{
	struct world w;
	struct consensus_result r;
	const struct ccase standby = {"", FAILOVER3, "", "self=3 recovery", 0, 0, 0, 0, ""};
	const struct ccase two = {"", "1 a primary t, 2 b primary t", "", "", 0, 0, 0, 0, ""};

	build(&w, &standby);
	consensus_decide(&w.in, &r);
	T_EQ_INT(r.primary_id, 2, "primary_id: a standby reports its view's primary");
	build(&w, &two);
	consensus_decide(&w.in, &r);
	T_EQ_INT(r.primary_id, 0, "primary_id: 0 when ambiguous");
}

static void test_names_and_codes(void)
{
	static const struct {
		enum verdict v;
		const char *name;
		int code;
	} t[] = {
	    {VERDICT_PRIMARY, "Primary", 200},
	    {VERDICT_STANDBY, "Standby", 202},
	    {VERDICT_DOWN, "Down", 503},
	    {VERDICT_UNKNOWN, "Unknown", 509},
	};

	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		T_EQ_STR(consensus_verdict_name(t[i].v), t[i].name, "verdict name");
		T_EQ_INT(consensus_verdict_http_code(t[i].v), t[i].code, t[i].name);
	}
	T_EQ_STR(consensus_verdict_name((enum verdict)42), "Unknown", "out of range name");
	T_EQ_INT(consensus_verdict_http_code((enum verdict)42), 509, "out of range code");
}

static void test_legacy_votes(void)
{
	char name[200];

	for (size_t i = 0; i < ARRAY_SIZE(legacy_cases); i++) {
		struct ccase c = {"legacy", HEALTHY3, legacy_cases[i].votes, legacy_cases[i].flags,
		                  VERDICT_UNKNOWN, -1, -1, -1, ""};
		struct world w;
		struct consensus_result r;

		build(&w, &c);
		consensus_decide(&w.in, &r);
		snprintf(name, sizeof(name), "legacy_votes: \"%s\" %s", c.votes, c.flags);
		T_EQ_INT(r.legacy_votes, legacy_cases[i].legacy_votes, name);
	}
}

int main(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		run_case(&cases[i]);
	test_legacy_votes();
	test_reason_bounded();
	test_reason_sanitized();
	test_local_primary();
	test_primary_id();
	test_names_and_codes();
	return t_done();
}

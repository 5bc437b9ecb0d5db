/* consensus: the pure verdict rule. Observations of this node and its peers' votes in,
 * the verdict and its reason out (a strict majority of the registered voters in scope);
 * no I/O, no clock, no libev. */
#include "consensus.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

/* The reason is built piecewise and must never overflow: once full it ends in "..." so a
 * reader can tell it was cut. Only printable ASCII is kept, so that a truncation can never
 * split a UTF-8 sequence and a peer's bytes can never reach a log or a JSON body raw. */
struct reason {
	char *buf;
	size_t size, off;
	bool full;
};

static void reason_init(struct reason *r, char *buf, size_t size)
{
	r->buf = buf;
	r->size = size;
	r->off = 0;
	r->full = false;
	buf[0] = '\0';
}

__attribute__((format(printf, 2, 3))) static void reason_add(struct reason *r, const char *fmt, ...)
{
	va_list ap;
	size_t start = r->off;
	int n;

	if (r->full)
		return;
	va_start(ap, fmt);
	n = vsnprintf(r->buf + r->off, r->size - r->off, fmt, ap);
	va_end(ap);
	if (n < 0) {
		r->buf[r->off] = '\0';
		return;
	}
	if ((size_t)n >= r->size - r->off) {
		r->off = r->size - 1;
		r->full = true;
	} else {
		r->off += (size_t)n;
	}
	for (size_t i = start; i < r->off; i++) {
		unsigned char c = (unsigned char)r->buf[i];
		if (c < 0x20 || c > 0x7e)
			r->buf[i] = '?';
	}
	if (r->full && r->size > 4)
		memcpy(r->buf + r->size - 4, "...", 4);
}

int consensus_local_primary(const struct node *nodes, size_t n)
{
	int found = 0;

	for (size_t i = 0; i < n; i++) {
		if (nodes[i].type != NODE_PRIMARY || !nodes[i].active)
			continue;
		if (found != 0)
			return -1;
		found = nodes[i].id;
	}
	return found;
}

static bool is_voter(const struct node *n)
{
	return n->in_scope &&
	       (n->type == NODE_PRIMARY || n->type == NODE_STANDBY || n->type == NODE_WITNESS);
}

static int count_voters(const struct node *nodes, size_t n)
{
	int voters = 0;

	for (size_t i = 0; i < n; i++)
		if (is_voter(&nodes[i]))
			voters++;
	return voters;
}

/* The reply asked of peer p came from p itself, by its own account: a URL that reaches
 * another node (two rows on one URL, self's own URL, a typo in [peers]) casts no vote. */
static bool answered_by(const struct peer_vote *v, const struct node *p)
{
	return v->answered_id == p->id &&
	       strncmp(v->answered_name, p->name, sizeof(v->answered_name)) == 0;
}

/* Peer p may answer in the Python service's form (no answered_by): it is in legacy_peers. */
static bool legacy_peer(const struct consensus_input *in, const struct node *p)
{
	for (int i = 0; i < in->nlegacy_peers; i++)
		if (strncmp(in->legacy_peers[i], p->name, CONFIG_NAME_MAX) == 0)
			return true;
	return false;
}

/* Peer p's vote counts when p itself answered and named this node by name and id. A
 * legacy reply says neither who answered nor an id: it counts only from a legacy peer,
 * whose URL's node is then taken as the answerer, and names this node by name. */
static bool vote_names(const struct consensus_input *in, const struct peer_vote *v,
                       const struct node *p, const struct node *self)
{
	if (v->status != PEER_ANSWERED)
		return false;
	if (v->legacy)
		return legacy_peer(in, p) &&
		       strncmp(v->named_name, self->name, sizeof(v->named_name)) == 0;
	if (!answered_by(v, p))
		return false;
	return strncmp(v->named_name, self->name, sizeof(v->named_name)) == 0 &&
	       v->named_id == self->id;
}

/* Why peer p gave no vote, in a few words. The id is only worth showing when the name
 * alone would look like a vote for self. */
static void reason_add_refusal(struct reason *r, const struct consensus_input *in,
                               const struct node *self, const struct node *p,
                               const struct peer_vote *v, bool first)
{
	const char *sep = first ? "" : ", ";
	int namelen = v ? (int)strnlen(v->named_name, sizeof(v->named_name)) : 0;

	if (!v || v->status == PEER_UNPOLLED)
		reason_add(r, "%s%s not polled", sep, p->name);
	else if (v->status == PEER_UNREACHABLE)
		reason_add(r, "%s%s unreachable", sep, p->name);
	else if (v->status == PEER_BAD_REPLY)
		reason_add(r, "%s%s bad reply", sep, p->name);
	else if (namelen == 0)
		reason_add(r, "%s%s names no primary", sep, p->name);
	else if (v->legacy && !legacy_peer(in, p))
		reason_add(r, "%s%s answered without answered_by (not in legacy_peers)", sep,
		           p->name);
	else if (!v->legacy && !answered_by(v, p))
		reason_add(r, "%s%s's URL answered as %.*s (id %d)", sep, p->name,
		           (int)strnlen(v->answered_name, sizeof(v->answered_name)),
		           v->answered_name, v->answered_id);
	else if (strncmp(v->named_name, self->name, sizeof(v->named_name)) == 0)
		reason_add(r, "%s%s names %s with node_id %d", sep, p->name, self->name,
		           v->named_id);
	else
		reason_add(r, "%s%s names %.*s", sep, p->name, namelen, v->named_name);
}

static void decide_standby(const struct consensus_input *in, struct consensus_result *out,
                           struct reason *r)
{
	const struct node *self = topology_find(in->nodes, in->nnodes, in->self_id);
	const struct node *up = self && self->upstream_id
	                            ? topology_find(in->nodes, in->nnodes, self->upstream_id)
	                            : NULL;

	out->verdict = VERDICT_STANDBY;
	if (up)
		reason_add(r, "in recovery (upstream %s)", up->name);
	else
		reason_add(r, "in recovery");
}

/* The vote count once the local view is known to name self the one active primary. */
static void decide_votes(const struct consensus_input *in, const struct node *self,
                         struct consensus_result *out, struct reason *r)
{
	bool first = true;

	out->votes = 1; /* self: its own view names it the active primary */
	for (size_t i = 0; i < in->nnodes; i++) {
		const struct node *p = &in->nodes[i];
		if (p == self || !is_voter(p))
			continue;
		if (in->votes && vote_names(in, &in->votes[i], p, self)) {
			out->votes++;
			if (in->votes[i].legacy)
				out->legacy_votes++;
		}
	}
	out->verdict = out->votes >= out->quorum ? VERDICT_PRIMARY : VERDICT_UNKNOWN;
	reason_add(r, "%d of %d votes, quorum %d", out->votes, out->voters, out->quorum);
	for (size_t i = 0; i < in->nnodes; i++) {
		const struct node *p = &in->nodes[i];
		const struct peer_vote *v = in->votes ? &in->votes[i] : NULL;
		if (p == self || !is_voter(p) || (v && vote_names(in, v, p, self)))
			continue;
		reason_add(r, "%s", first ? " (" : "");
		reason_add_refusal(r, in, self, p, v, first);
		first = false;
	}
	if (!first)
		reason_add(r, ")");
}

void consensus_decide(const struct consensus_input *in, struct consensus_result *out)
{
	struct reason r;
	char check[192];
	const struct node *self;
	bool rows_ok;
	int primary;

	memset(out, 0, sizeof(*out));
	out->verdict = VERDICT_UNKNOWN;
	reason_init(&r, out->reason, sizeof(out->reason));

	primary = in->nnodes ? consensus_local_primary(in->nodes, in->nnodes) : 0;
	out->primary_id = primary > 0 ? primary : 0;
	/* N and the quorum are reported for every verdict the rows allow, as information. */
	rows_ok = topology_check(in->nodes, in->nnodes, check, sizeof(check));
	if (rows_ok) {
		out->voters = count_voters(in->nodes, in->nnodes);
		out->quorum = out->voters / 2 + 1;
	}

	if (in->stale) {
		reason_add(&r, "stale: no successful refresh within stale_after");
		if (in->db_error[0])
			reason_add(&r, " (last error: %.*s)",
			           (int)strnlen(in->db_error, sizeof(in->db_error)), in->db_error);
		return;
	}
	if (!in->db_up) {
		out->verdict = VERDICT_DOWN;
		if (in->db_error[0])
			reason_add(&r, "%.*s", (int)strnlen(in->db_error, sizeof(in->db_error)),
			           in->db_error);
		else
			reason_add(&r, "database unreachable");
		return;
	}
	if (in->in_recovery) {
		decide_standby(in, out, &r);
		return;
	}
	if (!rows_ok) {
		reason_add(&r, "%s", check);
		return;
	}
	self = topology_find(in->nodes, in->nnodes, in->self_id);
	if (!self) {
		reason_add(&r, "self (node_id %d) not in repmgr.nodes", in->self_id);
		return;
	}
	if (in->self_name && in->self_name[0] && strcmp(in->self_name, self->name) != 0) {
		reason_add(&r, "self (node_id %d) is named %s in repmgr.nodes, not %s", self->id,
		           self->name, in->self_name);
		return;
	}
	/* The scope follows the row's location: an edited row must not shrink the quorum. */
	if (in->self_location && strcmp(in->self_location, self->location) != 0) {
		reason_add(&r,
		           "self (node_id %d) is in location %s in repmgr.nodes, not %s "
		           "(repmgr.conf)",
		           self->id, self->location, in->self_location);
		return;
	}
	if (self->type == NODE_WITNESS) {
		reason_add(&r, "witness: never routable");
		return;
	}
	if (!self->in_scope) {
		reason_add(&r, "self (location %s) is outside the consensus scope", self->location);
		return;
	}
	if (primary == 0) {
		reason_add(&r, "no active primary in repmgr.nodes");
		return;
	}
	if (primary < 0) {
		bool first = true;
		reason_add(&r, "several active primaries in repmgr.nodes (");
		for (size_t i = 0; i < in->nnodes; i++) {
			if (in->nodes[i].type == NODE_PRIMARY && in->nodes[i].active) {
				reason_add(&r, "%s%s", first ? "" : ", ", in->nodes[i].name);
				first = false;
			}
		}
		reason_add(&r, ")");
		return;
	}
	if (primary != self->id) {
		const struct node *p = topology_find(in->nodes, in->nnodes, primary);
		reason_add(&r,
		           "not in recovery, but repmgr.nodes names %s (node_id %d) the primary",
		           p ? p->name : "?", primary);
		return;
	}
	decide_votes(in, self, out, &r);
}

const char *consensus_verdict_name(enum verdict v)
{
	switch (v) {
	case VERDICT_PRIMARY:
		return "Primary";
	case VERDICT_STANDBY:
		return "Standby";
	case VERDICT_DOWN:
		return "Down";
	case VERDICT_UNKNOWN:
		break;
	}
	return "Unknown";
}

int consensus_verdict_http_code(enum verdict v)
{
	switch (v) {
	case VERDICT_PRIMARY:
		return 200;
	case VERDICT_STANDBY:
		return 202;
	case VERDICT_DOWN:
		return 503;
	case VERDICT_UNKNOWN:
		break;
	}
	return 509;
}

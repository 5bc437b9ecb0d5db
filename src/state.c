/* state: the snapshot every request reads (replaced whole by each refresh), its
 * staleness and replica weight, the admin state and its file, and the log line and time
 * of each transition. */
#include "state.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"

/* What every request sees until the first refresh has published. */
static struct snapshot starting = {
	.c = { .verdict = VERDICT_UNKNOWN, .reason = "starting: no refresh has finished yet" },
};

static struct snapshot *current;
static int64_t last_transition_wall_ms; /* 0: none yet */

/* What each peer said the last time it was polled, for the nodes of the current snapshot:
 * a peer's line is logged when this changes, never per refresh, so a dead peer is one line. */
struct peer_seen {
	int id;
	enum peer_status status;
	char named[CONFIG_NAME_MAX];
};

static struct peer_seen *peers_seen;
static size_t npeers_seen;
static enum admin_state admin = ADMIN_READY;
static bool ready_open;         /* the ready window has a start */
static int64_t ready_since_ms;  /* monotonic start of the ready window */
static bool admin_file_seen;
static int64_t admin_mtime_ms;  /* the admin-state file's mtime when last read */

const struct snapshot *state_current(void)
{
	return current ? current : &starting;
}

int64_t state_last_transition_wall_ms(void)
{
	return last_transition_wall_ms;
}

bool state_has_round(void)
{
	return current != NULL;
}

void snapshot_free(struct snapshot *s)
{
	if (!s || s == &starting)
		return;
	free(s->nodes);
	free(s);
}

void state_shutdown(void)
{
	snapshot_free(current);
	current = NULL;
	free(peers_seen);
	peers_seen = NULL;
	npeers_seen = 0;
}

/* A reason's class is its text before the first ':' or '(' without digits: "1 of 3 votes
 * (node3 unreachable)" and "2 of 3 votes (node2 names node3)" are one class, so a flapping
 * peer detail is logged at debug, but "database unreachable" -> "not in recovery..." is a
 * transition. Peers have their own lines (log_peers). */
static void reason_class(const char *reason, char *out, size_t size)
{
	size_t n = 0;

	for (const char *p = reason; *p && *p != ':' && *p != '(' && n + 1 < size; p++)
		if (!isdigit((unsigned char)*p))
			out[n++] = *p;
	while (n > 0 && isspace((unsigned char)out[n - 1]))
		n--;
	out[n] = '\0';
}

/* Unknown lag on a standby counts as lag over max_lag from the first snapshot that lacked
 * it, unless the producer already set lag_over_since_ms: a standby that cannot say how far
 * behind it is goes down #lag after lag_grace, never at once and never never. */
static void fill_lag_over_since(struct snapshot *s, const struct snapshot *prev)
{
	if (!s->db_up || !s->in_recovery || s->lag_known || s->lag_over_since_ms != 0)
		return;
	if (prev && prev->db_up && prev->in_recovery && !prev->lag_known &&
	    prev->lag_over_since_ms != 0)
		s->lag_over_since_ms = prev->lag_over_since_ms;
	else
		s->lag_over_since_ms = s->made_ms ? s->made_ms : 1;
}

static bool peer_same(const struct peer_seen *a, const struct peer_vote *v)
{
	return a->status == v->status &&
	       (v->status != PEER_ANSWERED || strcmp(a->named, v->named_name) == 0);
}

/* "votes for node1", "names node2", "unreachable", "bad reply". */
static void peer_words(enum peer_status st, const char *named, const char *self, char *out,
		       size_t size)
{
	if (st == PEER_UNREACHABLE)
		snprintf(out, size, "unreachable");
	else if (st == PEER_BAD_REPLY)
		snprintf(out, size, "bad reply");
	else if (!named[0])
		snprintf(out, size, "names no primary");
	else if (strcmp(named, self) == 0)
		snprintf(out, size, "votes for %s", named);
	else
		snprintf(out, size, "names %s", named);
}

/* One line per peer whose answer changed since it was last polled; a first answer that is
 * a vote for this node is the normal case and says nothing. prio is LOG_INFO when the
 * verdict line just listed the peers. */
static void log_peers(const struct snapshot *s, int prio)
{
	struct peer_seen *next = calloc(s->nnodes ? s->nnodes : 1, sizeof(*next));
	size_t n = 0;

	for (size_t i = 0; next && i < s->nnodes; i++) {
		const struct node_view *nv = &s->nodes[i];
		const struct peer_vote *v = &nv->vote;
		const struct peer_seen *old = NULL;
		char was[CONFIG_NAME_MAX + 16], now[CONFIG_NAME_MAX + 16];

		for (size_t k = 0; k < npeers_seen && !old; k++)
			if (peers_seen[k].id == nv->node.id)
				old = &peers_seen[k];
		if (v->status == PEER_UNPOLLED || nv->node.id == s->self_id) {
			if (old)
				next[n++] = *old;
			continue;
		}
		peer_words(v->status, v->named_name, s->self_name, now, sizeof(now));
		if (old && !peer_same(old, v)) {
			peer_words(old->status, old->named, s->self_name, was, sizeof(was));
			log_msg(prio, "peer %s: %s -> %s%s%s%s", nv->node.name, was, now,
				v->detail[0] ? " (" : "", v->detail, v->detail[0] ? ")" : "");
		} else if (!old && !(v->status == PEER_ANSWERED &&
				     strcmp(v->named_name, s->self_name) == 0)) {
			log_msg(prio, "peer %s: %s%s%s%s", nv->node.name, now,
				v->detail[0] ? " (" : "", v->detail, v->detail[0] ? ")" : "");
		}
		next[n].id = nv->node.id;
		next[n].status = v->status;
		snprintf(next[n].named, sizeof(next[n].named), "%s", v->named_name);
		n++;
	}
	if (!next && s->nnodes)
		return;    /* out of memory: keep the old memory, lose a log line at most */
	free(peers_seen);
	peers_seen = next;
	npeers_seen = n;
}

static bool lag_over(const struct snapshot *s)
{
	return s->db_up && s->in_recovery && s->lag_over_since_ms != 0;
}

/* A standby's replay lag crossing max_lag (or becoming unknown), and back. */
static void log_lag(const struct snapshot *prev, const struct snapshot *s)
{
	bool was = prev != &starting && lag_over(prev), now = lag_over(s);

	if (!was && now && s->lag_cause == LAG_CAUSE_NOT_STREAMING)
		log_msg(LOG_NOTICE,
			"WAL receiver not streaming (%s) for over max_lag: replica checks turn "
			"down #not-streaming after lag_grace",
			s->receiver_status[0] ? s->receiver_status : "not running");
	else if (!was && now && s->lag_cause == LAG_CAUSE_NO_PRIMARY_LSN)
		log_msg(LOG_NOTICE, "the primary's LSN not learned for over max_lag: replica "
				    "checks turn down #lag after lag_grace");
	else if (!was && now && s->lag_known)
		log_msg(LOG_NOTICE,
			"replay lag %.1fs is over max_lag: replica checks turn down #lag after "
			"lag_grace",
			(double)s->lag_ms / 1000.0);
	else if (!was && now)
		log_msg(LOG_NOTICE,
			"replay lag unknown: replica checks turn down #lag after lag_grace");
	else if (was && !now && s->db_up && s->in_recovery && s->lag_known)
		log_msg(LOG_NOTICE, "replay lag %.1fs, back within max_lag",
			(double)s->lag_ms / 1000.0);
}

void state_publish(struct snapshot *s)
{
	const struct snapshot *prev = state_current();
	char was[256], now[256];
	const char *from = consensus_verdict_name(prev->c.verdict);
	const char *to = consensus_verdict_name(s->c.verdict);
	bool said = true;

	fill_lag_over_since(s, current);
	reason_class(prev->c.reason, was, sizeof(was));
	reason_class(s->c.reason, now, sizeof(now));
	if (prev != &starting && strcmp(prev->primary_name, s->primary_name) != 0)
		log_msg(LOG_NOTICE, "repmgr.nodes: primary %s -> %s",
			prev->primary_name[0] ? prev->primary_name : "none",
			s->primary_name[0] ? s->primary_name : "none");
	if (prev->c.verdict != s->c.verdict)
		last_transition_wall_ms = s->made_wall_ms;
	if (prev == &starting) {
		log_msg(LOG_NOTICE, "verdict %s (first refresh): %s", to, s->c.reason);
	} else if (prev->c.verdict != s->c.verdict) {
		log_msg(LOG_NOTICE, "verdict %s -> %s: %s", from, to, s->c.reason);
	} else if (strcmp(was, now) != 0) {
		log_msg(LOG_NOTICE, "verdict stays %s: %s", to, s->c.reason);
	} else {
		log_msg(LOG_DEBUG, "verdict %s: %s", to, s->c.reason);
		said = false;
	}
	log_lag(prev, s);
	log_peers(s, said ? LOG_INFO : LOG_NOTICE);
	snapshot_free(current);
	current = s;
}

enum verdict state_verdict(const struct snapshot *s, int64_t now_ms, uint32_t stale_after_ms)
{
	if (s == &starting || now_ms - s->made_ms > (int64_t)stale_after_ms)
		return VERDICT_UNKNOWN;
	return s->c.verdict;
}

/* The weight curve: 100 up to full, linear to minw at max, minw above. */
static int weight_curve(int64_t lag, int64_t full, int64_t max, int minw)
{
	if (lag <= full)
		return 100;
	if (lag >= max)
		return minw;
	/* Linear from 100% at full to min_weight at max, rounded to nearest. */
	return 100 - (int)(((100 - minw) * (lag - full) * 2 + (max - full)) / (2 * (max - full)));
}

int state_replica_weight(const struct snapshot *s, const struct config *cfg, int64_t now_ms)
{
	int64_t full = cfg->lag_full_ms, max = cfg->max_lag_ms;
	int minw = cfg->min_weight < 1 ? 1 : cfg->min_weight > 100 ? 100 : cfg->min_weight;
	int w;

	if (!s->in_recovery)
		return 100;
	if (s->lag_over_since_ms != 0 &&
	    now_ms - s->lag_over_since_ms >= (int64_t)cfg->lag_grace_ms)
		return 0;
	/* Unknown lag, or lagging within the grace time: still up, at the lowest weight. */
	if (!s->lag_known || s->lag_over_since_ms != 0)
		return minw;
	w = weight_curve(s->lag_ms, full, max, minw);
	if (cfg->max_lag_bytes > 0 && s->lag_bytes_known) {
		/* the byte curve has the time curve's shape: full weight up to the same fraction */
		int64_t bmax = cfg->max_lag_bytes;
		int64_t bfull = max > 0 ? (int64_t)((double)bmax * (double)full / (double)max) : 0;
		int wb = weight_curve(s->lag_bytes, bfull < bmax ? bfull : bmax - 1, bmax, minw);

		if (wb < w)
			w = wb;
	}
	return w;
}

void state_lag_update(struct lag_track *t, const struct lag_sample *in,
		      const struct config *cfg, int64_t now_ms, struct lag_result *out)
{
	int64_t caught = t->caught_up_ms, max = cfg->max_lag_ms;
	/* a legacy primary (the Python service) cannot tell its LSN: while it is one, a standby
	 * is judged on its own receiver, as before this model (a rolling migration) */
	bool unhealthy = !in->streaming || (!in->primary_known && !in->primary_legacy);
	enum lag_cause cause = LAG_CAUSE_NONE;
	int64_t since = now_ms;

	memset(out, 0, sizeof(*out));
	/* an LSN learned at an earlier refresh that replay has passed: caught up then */
	if (t->primary_lsn && in->replay_lsn >= t->primary_lsn && t->primary_at_ms > caught)
		caught = t->primary_at_ms;
	if (in->primary_known) {
		if (in->replay_lsn >= in->primary_lsn)
			caught = now_ms;
		t->primary_lsn = in->primary_lsn;
		t->primary_at_ms = now_ms;
	}
	if (in->streaming) {
		int64_t at = caught;

		if (in->receive_lsn <= in->replay_lsn)
			at = now_ms - (in->receipt_known ? in->receipt_age_ms : 0);
		else if (in->replay_lag_known)
			at = now_ms - in->replay_lag_ms;
		if (at > caught)
			caught = at < now_ms ? at : now_ms;
	}
	t->caught_up_ms = caught;
	out->known = caught != 0;
	out->ms = out->known ? now_ms - caught : 0;
	out->primary_lsn = t->primary_lsn;
	out->bytes_known = t->primary_lsn != 0;
	if (out->bytes_known)
		out->bytes = t->primary_lsn > in->replay_lsn ? (int64_t)(t->primary_lsn - in->replay_lsn)
							    : 0;

	if (!unhealthy)
		t->unhealthy_since_ms = 0;
	else if (!t->unhealthy_since_ms)
		t->unhealthy_since_ms = now_ms;
	/* Lagging since the moment the limit was crossed (not this refresh): lag_grace then
	 * runs from there, so the refresh interval does not add to max_lag + lag_grace. */
	if (unhealthy && now_ms - t->unhealthy_since_ms > max) {
		cause = !in->streaming ? LAG_CAUSE_NOT_STREAMING : LAG_CAUSE_NO_PRIMARY_LSN;
		since = t->unhealthy_since_ms + max + 1;
	} else if (out->known && out->ms > max) {
		cause = LAG_CAUSE_LAG;
		since = caught + max + 1;
	} else if (!out->known ||
		   (cfg->max_lag_bytes > 0 && out->bytes_known && out->bytes > cfg->max_lag_bytes)) {
		cause = LAG_CAUSE_LAG;
	}
	if (cause == LAG_CAUSE_NONE)
		t->over_since_ms = 0;
	else if (!t->over_since_ms)
		t->over_since_ms = since < now_ms ? since : now_ms;
	out->over_since_ms = t->over_since_ms;
	out->cause = cause;
}

const char *state_lag_reason(const struct snapshot *s)
{
	return s->lag_cause == LAG_CAUSE_NOT_STREAMING ? "not-streaming" : "lag";
}

static const char *admin_names[] = { "ready", "drain", "maint" };

enum admin_state state_admin(void)
{
	return admin;
}

void state_set_admin(enum admin_state a)
{
	if (a != admin)
		log_msg(LOG_NOTICE, "admin state %s -> %s", admin_names[admin], admin_names[a]);
	if (a == ADMIN_READY && admin != ADMIN_READY) {
		ready_open = true;
		ready_since_ms = util_now_ms();
	} else if (a != ADMIN_READY) {
		ready_open = false;
	}
	admin = a;
}

void state_admin_seen(enum admin_state a, int64_t mtime_wall_ms)
{
	bool written = mtime_wall_ms > 0 && (!admin_file_seen || mtime_wall_ms != admin_mtime_ms);

	if (a == ADMIN_READY && admin == ADMIN_READY && written) {
		/* Written by primgr ctl while this process was not looking: date the window
		 * from the write, not from now (a wall clock step only moves it). */
		int64_t age = util_wall_ms() - mtime_wall_ms;
		int64_t since = util_now_ms() - (age > 0 ? age : 0);

		if (!ready_open || since > ready_since_ms) {
			ready_open = true;
			ready_since_ms = since;
		}
	}
	admin_file_seen = true;
	admin_mtime_ms = mtime_wall_ms;
	state_set_admin(a);
}

bool state_admin_says_ready(const struct config *cfg, int64_t now_ms)
{
	if (cfg->send_ready == SEND_READY_ALWAYS)
		return true;
	return admin == ADMIN_READY && ready_open &&
	       now_ms - ready_since_ms < (int64_t)cfg->ready_window_ms;
}

const char *state_admin_name(enum admin_state a)
{
	return (unsigned)a < ARRAY_SIZE(admin_names) ? admin_names[a] : "?";
}

bool state_admin_parse(const char *s, enum admin_state *out)
{
	for (size_t i = 0; i < ARRAY_SIZE(admin_names); i++) {
		if (strcasecmp(s, admin_names[i]) == 0) {
			*out = (enum admin_state)i;
			return true;
		}
	}
	return false;
}

bool state_admin_read(const char *path, enum admin_state *out, char *err, size_t errlen)
{
	char shown[40];
	size_t len, n = 0;
	char *text = util_read_file(path, 64, &len);

	if (!text) {
		if (errno == ENOENT) {
			*out = ADMIN_READY;
			return true;
		}
		snprintf(err, errlen, "%s: %s", path,
			 errno == EFBIG ? "too large for an admin state" : strerror(errno));
		return false;
	}
	if (strlen(text) == len && state_admin_parse(util_trim(text), out)) {
		free(text);
		return true;
	}
	/* Show the garbage safely: printable ASCII only, short. */
	for (const char *p = text; *p && n + 1 < sizeof(shown); p++)
		shown[n++] = (*p >= 0x20 && *p < 0x7f) ? *p : '?';
	shown[n] = '\0';
	snprintf(err, errlen, "%s: invalid admin state \"%s\" (expected ready, drain or maint)",
		 path, shown);
	free(text);
	return false;
}

int state_admin_write(const char *path, enum admin_state a)
{
	char line[16];
	int n = snprintf(line, sizeof(line), "%s\n", state_admin_name(a));

	return util_write_file_atomic(path, line, (size_t)n, 0644);
}

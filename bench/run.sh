#!/bin/bash
# bench/run.sh: primgr against the physical limit and against nginx, side by side in one run
# (GitHub issue 8). Builds primgr with -O2 in a temp VPATH build, starts a real single-node
# repmgr PostgreSQL 15 (with pg_stat_statements) and primgr with tests/lib/cluster.sh, and
# measures, with every server pinned to CPU 0 and the load generators to CPU 1:
#
#   agent-check, a new connection per check: bench/agent_load against primgr and against
#       bench/minimal_server (accept, write "up\n", close: the limit);
#   HTTP GET /state with wrk, Connection: close and keep-alive, against primgr and against
#       nginx `return 200` with the same body (the limit);
#   the same over TLS (issue 17): primgr's tls_listen and an nginx `listen ... ssl` with the
#       same certificate (EC P-256, made here), a new TLS connection (full handshake) per
#       request and keep-alive; no client certificates (wrk cannot show one);
#   at 1 and 50 concurrent connections, as fast as they go (a closed loop: at saturation
#   the latency is mostly queueing, 50 / req/s) and paced at 2,000 checks/s (the latency of a
#   server that keeps up: the p99 target); SQL statements/s at 1 check/s and at up to 20,000
#   checks/s; then a phase with one peer black-holed and a phase with 5,000 idle HTTP
#   connections held open; last, a standby phase: a standby (node2) is cloned and its primgr
#   measured on its replica agent port, once as shipped (each refresh it asks the primary's
#   primgr for the primary's LSN, the lag model's one extra request) and once without that
#   request (node1 listed in legacy_peers, which asks nothing): the extra request must leave
#   the standby's SQL/s and p99 where they were.
#   The memory floor: bench/rss_floor loads and starts primgr's libraries (libpq connected,
#   libcurl, libev, jansson) and does nothing else; its RSS is in the table's header.
#
# Each cell: a warm-up, then the measurement, repeated; the cells are interleaved per
# repetition so that the ratios compare numbers from the same minutes of a noisy machine.
# Per cell: requests/s, p50/p99 latency, server CPU µs per request (utime+stime of the server
# process from /proc/PID/stat, before/after, over the requests answered), RSS before the cell
# (VmRSS) and its peak during the cell (VmHWM, reset before each cell), its private part
# (RssAnon) and its proportional share (Pss: shared library pages divided among the processes
# that map them), and the SQL statements per second that reached PostgreSQL
# (pg_stat_statements, every role but the benchmark's own).
#
# Prints a Markdown table and the targets of issue 8 with their ratios; saves the raw
# measurements and the table in bench/results/<date>.{raw,md} (and latest.md, with its chart
# latest.png by bench/chart.sh: `bench/chart.sh` alone draws it again from latest.md). Stops every
# process it started (by pid) and removes its temp dirs. As root it installs what is
# missing (wrk, nginx-light, util-linux) with apt-get and runs the servers as user postgres.
#
#   bench/run.sh [--quick] [--reps N] [--seconds S] [--warmup S] [--primgr PATH] [--out DIR]
#                [--only PREFIX]
#   bench/run.sh --summary FILE.raw      (the table again, from saved measurements)
#
# --quick: 2 s cells, 1 repetition, 1 s warm-up (development and the CI smoke test).
# --primgr PATH: measure that binary instead of building one (the table says so).
# --only PREFIX: only the cells whose name starts with PREFIX (e.g. --only tls: the TLS rows,
#   a few minutes), and only the phases that have some (BENCH_ONLY in the environment too).
# KEEP_TMP=1 keeps the temp dirs.
# Awk programs and commands for ssh-like runners are single-quoted on purpose (SC2016); CT_*
# settings are read by tests/lib/cluster.sh (SC2034); `A && B || die` is meant (SC2015).
# shellcheck disable=SC2016,SC2034,SC2015
set -o pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top_srcdir=$(cd "$BENCH_DIR/.." && pwd)
export top_srcdir

REPS=3
SECONDS_CELL=10
WARMUP=2
PRIMGR_GIVEN=
OUT_DIR=$BENCH_DIR/results
SUMMARY_ONLY=
IDLE_CONNS=5000
PACED_RATE=2000         # the paced cells: checks/s offered, 50 connections at most in flight
SQL_RATE=20000          # the "20,000 checks/s" cell: a cap, the table shows what was reached
ONLY=${BENCH_ONLY:-}

usage() {
	sed -n '/^#   bench/,/^# KEEP_TMP/p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
	exit 64
}

while [ $# -gt 0 ]; do
	case "$1" in
	--quick) REPS=1 SECONDS_CELL=2 WARMUP=1 ;;
	--reps) REPS=$2; shift ;;
	--seconds) SECONDS_CELL=$2; shift ;;
	--warmup) WARMUP=$2; shift ;;
	--primgr) PRIMGR_GIVEN=$2; shift ;;
	--out) OUT_DIR=$2; shift ;;
	--only) ONLY=$2; shift ;;
	--summary) SUMMARY_ONLY=$2; shift ;;
	-h | --help) usage ;;
	*) echo "bench/run.sh: unknown option $1" >&2; usage ;;
	esac
	shift
done
for v in "$REPS" "$SECONDS_CELL" "$WARMUP"; do
	# wrk takes whole seconds
	case "$v" in '' | *[!0-9]*) echo "bench/run.sh: --reps/--seconds/--warmup take whole numbers" >&2; exit 64 ;; esac
done
[ "$REPS" -ge 1 ] && [ "$SECONDS_CELL" -ge 1 ] && [ "$WARMUP" -ge 1 ] || usage

say() { echo "bench: $*" >&2; }
die() {
	echo "bench: error: $*" >&2
	exit 1
}

# ---------------------------------------------------------------------------------------------
# The cells: id -> "kind server conns rate phase", in the order of the table.
#   kind: agent (agent_load), close / keepalive (wrk GET /state), http (agent_load sending
#   GET /state with Connection: close, a new connection per request: for the paced cells),
#   tlsclose / tlska (wrk GET https://.../state: Connection: close, a full TLS handshake per
#   request; keep-alive)
#   server: minimal, primgr, nginx;  rate: 0 = as fast as possible (closed loop)
#   phase: main (interleaved per repetition), blackhole, idle, tls (last: 50 handshaking
#   connections leave the heap larger, as the idle phase does)

CELLS=(agent_min_1 agent_primgr_1 agent_min_50 agent_primgr_50
	close_nginx_1 close_primgr_1 close_nginx_50 close_primgr_50
	ka_nginx_1 ka_primgr_1 ka_nginx_50 ka_primgr_50
	tlsclose_nginx_1 tlsclose_primgr_1 tlsclose_nginx_50 tlsclose_primgr_50
	tlska_nginx_1 tlska_primgr_1 tlska_nginx_50 tlska_primgr_50
	agent_min_paced agent_primgr_paced http_nginx_paced http_primgr_paced
	sql_1 sql_max
	bh_agent_50 bh_ka_50 bh_agent_paced idle_agent_50 idle_ka_50 idle_agent_paced
	sb_ask_paced sb_ask_sql_1 sb_ask_sql_max sb_noask_paced sb_noask_sql_1 sb_noask_sql_max)
declare -A CELL=(
	[agent_min_1]="agent minimal 1 0 main"
	[agent_primgr_1]="agent primgr 1 0 main"
	[agent_min_50]="agent minimal 50 0 main"
	[agent_primgr_50]="agent primgr 50 0 main"
	[close_nginx_1]="close nginx 1 0 main"
	[close_primgr_1]="close primgr 1 0 main"
	[close_nginx_50]="close nginx 50 0 main"
	[close_primgr_50]="close primgr 50 0 main"
	[ka_nginx_1]="keepalive nginx 1 0 main"
	[ka_primgr_1]="keepalive primgr 1 0 main"
	[ka_nginx_50]="keepalive nginx 50 0 main"
	[ka_primgr_50]="keepalive primgr 50 0 main"
	[tlsclose_nginx_1]="tlsclose nginx 1 0 tls"
	[tlsclose_primgr_1]="tlsclose primgr 1 0 tls"
	[tlsclose_nginx_50]="tlsclose nginx 50 0 tls"
	[tlsclose_primgr_50]="tlsclose primgr 50 0 tls"
	[tlska_nginx_1]="tlska nginx 1 0 tls"
	[tlska_primgr_1]="tlska primgr 1 0 tls"
	[tlska_nginx_50]="tlska nginx 50 0 tls"
	[tlska_primgr_50]="tlska primgr 50 0 tls"
	[agent_min_paced]="agent minimal 50 $PACED_RATE main"
	[agent_primgr_paced]="agent primgr 50 $PACED_RATE main"
	[http_nginx_paced]="http nginx 50 $PACED_RATE main"
	[http_primgr_paced]="http primgr 50 $PACED_RATE main"
	[sql_1]="agent primgr 1 1 main"
	[sql_max]="agent primgr 50 $SQL_RATE main"
	[bh_agent_50]="agent primgr 50 0 blackhole"
	[bh_ka_50]="keepalive primgr 50 0 blackhole"
	[bh_agent_paced]="agent primgr 50 $PACED_RATE blackhole"
	[idle_agent_50]="agent primgr 50 0 idle"
	[idle_ka_50]="keepalive primgr 50 0 idle"
	[idle_agent_paced]="agent primgr 50 $PACED_RATE idle"
	[sb_ask_paced]="agent standby 50 $PACED_RATE standby_ask"
	[sb_ask_sql_1]="agent standby 1 1 standby_ask"
	[sb_ask_sql_max]="agent standby 50 $SQL_RATE standby_ask"
	[sb_noask_paced]="agent standby 50 $PACED_RATE standby_noask"
	[sb_noask_sql_1]="agent standby 1 1 standby_noask"
	[sb_noask_sql_max]="agent standby 50 $SQL_RATE standby_noask"
)

# ---------------------------------------------------------------------------------------------
# The summary: raw TSV in, Markdown out. Median and range (min-max) over the repetitions.

summarize() {
	awk -F'\t' -v sqlrate="$SQL_RATE" -v idle="$IDLE_CONNS" -v paced="$PACED_RATE" '
	function median(s,   n, a, i, j, t) {
		n = split(s, a, " ")
		for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] + 0 > t + 0; j--) a[j + 1] = a[j]; a[j + 1] = t }
		if (n == 0) return ""
		return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	}
	function lo(s,   n, a, i, m) { n = split(s, a, " "); m = a[1]; for (i = 2; i <= n; i++) if (a[i] + 0 < m + 0) m = a[i]; return m }
	function hi(s,   n, a, i, m) { n = split(s, a, " "); m = a[1]; for (i = 2; i <= n; i++) if (a[i] + 0 > m + 0) m = a[i]; return m }
	function cnt(s,   a) { return split(s, a, " ") }
	function rng(s, fmt) { return cnt(s) > 1 ? sprintf(" (" fmt "-" fmt ")", lo(s), hi(s)) : "" }
	function label(c) {
		if (c == "bh_agent_paced") return sprintf("agent-check, paced at %d/s, 1 peer black-holed", paced)
		if (c == "idle_agent_paced") return sprintf("agent-check, paced at %d/s, %d idle conns open", paced, idle)
		if (c ~ /^sb_/) {
			t = (c ~ /^sb_ask/) ? "standby, asks the primary for its LSN" : "standby, asks nothing (legacy_peers)"
			if (c ~ /_paced$/) return sprintf("replica agent-check, %s, paced at %d/s", t, paced)
			if (c ~ /_sql_1$/) return sprintf("replica agent-check, %s, 1 check/s (SQL)", t)
			return sprintf("replica agent-check, %s, <= %d checks/s (SQL)", t, sqlrate)
		}
		if (c ~ /^agent_.*_paced$/) return sprintf("agent-check, new conn, paced at %d/s", paced)
		if (c ~ /^http_.*_paced$/) return sprintf("HTTP /state, Connection: close, paced at %d/s", paced)
		if (c ~ /^agent_/) return "agent-check, new conn"
		if (c ~ /^close_/) return "HTTP /state, Connection: close"
		if (c ~ /^ka_/) return "HTTP /state, keep-alive"
		if (c ~ /^tlsclose_/) return "HTTPS /state, new TLS conn per request"
		if (c ~ /^tlska_/) return "HTTPS /state, keep-alive"
		if (c == "sql_1") return "agent-check at 1 check/s (SQL)"
		if (c == "sql_max") return sprintf("agent-check at <= %d checks/s (SQL)", sqlrate)
		if (c == "bh_agent_50") return "agent-check, 1 peer black-holed"
		if (c == "bh_ka_50") return "HTTP keep-alive, 1 peer black-holed"
		if (c == "idle_agent_50") return sprintf("agent-check, %d idle conns open", idle)
		if (c == "idle_ka_50") return sprintf("HTTP keep-alive, %d idle conns open", idle)
		return c
	}
	/^# floor:/ { nf = split($0, fw, " "); for (i = 3; i <= nf; i++) if (split(fw[i], kv, "=") == 2) FLOOR[kv[1]] = kv[2] + 0 }
	/^#/ { if ($0 ~ /^# (date|host|cpu|kernel|primgr|build|cells|note|floor):/) meta[++nmeta] = substr($0, 3); next }
	$1 == "cell" { next }
	{
		c = $1
		if (!(c in seen)) { seen[c] = 1; order[++n] = c; srv[c] = $3; conns[c] = $4 }
		rps[c] = rps[c] " " $10; p50[c] = p50[c] " " $11; p99[c] = p99[c] " " $12
		cpu[c] = cpu[c] " " $13; rssi[c] = rssi[c] " " $14; rssl[c] = rssl[c] " " $15
		R[c, $5, "cpu"] = $13; R[c, $5, "p99"] = $12; if ($5 + 0 > nrep) nrep = $5 + 0
		sql[c] = sql[c] " " $16; anon[c] = anon[c] " " $17; pss[c] = pss[c] " " $18
		err[c] += $7 + $8
	}
	END {
		for (i = 1; i <= nmeta; i++) print "- " meta[i]
		print "- figures: each cell is the median over the repetitions (min-max); a target comparing two cells"
		print "  is taken in each repetition, and the one shown is the median repetition, with its own two values"
		print ""
		print "| check | server | conns | req/s | p50 µs | p99 µs | CPU µs/req | RSS idle MiB | RSS load MiB | private MiB | PSS MiB | SQL/s | errors |"
		print "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
		for (i = 1; i <= n; i++) {
			c = order[i]
			printf "| %s | %s | %s | %.0f%s | %.0f | %.0f%s | %.1f%s | %.1f | %.1f | %.1f | %.1f | %.2f | %d |\n",
				label(c), srv[c], conns[c], median(rps[c]), rng(rps[c], "%.0f"), median(p50[c]),
				median(p99[c]), rng(p99[c], "%.0f"), median(cpu[c]), rng(cpu[c], "%.1f"),
				median(rssi[c]) / 1024, median(rssl[c]) / 1024, median(anon[c]) / 1024,
				median(pss[c]) / 1024, median(sql[c]), err[c]
			M[c, "rps"] = median(rps[c]); M[c, "p99"] = median(p99[c]); M[c, "cpu"] = median(cpu[c])
			M[c, "rss"] = hi(rssl[c]); M[c, "anon"] = hi(anon[c]); M[c, "sql"] = median(sql[c])
			M[c, "pss"] = hi(pss[c])
		}
		print ""
		print "| target | measured | limit | result |"
		print "|---|---:|---:|---|"
		ratio("agent-check CPU µs/req, primgr / minimal server, 1 conn", "agent_primgr_1", "agent_min_1")
		ratio("agent-check CPU µs/req, primgr / minimal server, 50 conns", "agent_primgr_50", "agent_min_50")
		ratio("HTTP close CPU µs/req, primgr / nginx, 1 conn", "close_primgr_1", "close_nginx_1")
		ratio("HTTP close CPU µs/req, primgr / nginx, 50 conns", "close_primgr_50", "close_nginx_50")
		ratio("HTTP keep-alive CPU µs/req, primgr / nginx, 1 conn", "ka_primgr_1", "ka_nginx_1")
		ratio("HTTP keep-alive CPU µs/req, primgr / nginx, 50 conns", "ka_primgr_50", "ka_nginx_50")
		ratio("HTTPS new TLS conn CPU µs/req, primgr / nginx, 1 conn", "tlsclose_primgr_1", "tlsclose_nginx_1")
		ratio("HTTPS new TLS conn CPU µs/req, primgr / nginx, 50 conns", "tlsclose_primgr_50", "tlsclose_nginx_50")
		ratio("HTTPS keep-alive CPU µs/req, primgr / nginx, 1 conn", "tlska_primgr_1", "tlska_nginx_1")
		ratio("HTTPS keep-alive CPU µs/req, primgr / nginx, 50 conns", "tlska_primgr_50", "tlska_nginx_50")
		rss = 0; priv = 0; ps = 0
		for (i = 1; i <= n; i++) {
			c = order[i]
			if (srv[c] != "primgr" || c ~ /^(idle|tls)/) continue
			if (M[c, "rss"] > rss) rss = M[c, "rss"]
			if (M[c, "anon"] > priv) priv = M[c, "anon"]
			if (M[c, "pss"] > ps) ps = M[c, "pss"]
		}
		# What primgr controls is its private memory: most of its RSS is the shared pages of
		# libpq, libcurl and OpenSSL (the floor below), counted whole in every process.
		tlspriv = 0
		for (i = 1; i <= n; i++)
			if (srv[order[i]] == "primgr" && order[i] ~ /^tls/ && M[order[i], "anon"] > tlspriv) tlspriv = M[order[i], "anon"]
		# (none of those cells: a run of --only tls)
		if (rss > 0) {
			verdict("primgr private memory under load (RssAnon, peak over the cells but the idle-connection and TLS rows)",
				sprintf("%.1f MiB", priv / 1024), "2 MiB", priv > 0 && priv <= 2 * 1024)
			if (ps > 0)
				verdict("primgr PSS under load (its shared pages divided among the processes mapping them)",
					sprintf("%.1f MiB", ps / 1024), "8 MiB", ps <= 8 * 1024)
			reference("primgr RSS under load (VmHWM; mostly shared library pages)", sprintf("%.1f MiB", rss / 1024))
		}
		if (tlspriv > 0) {
			tlspss = 0; tlsrss = 0
			for (i = 1; i <= n; i++) {
				c = order[i]
				if (srv[c] != "primgr" || c !~ /^tls/) continue
				if (M[c, "pss"] > tlspss) tlspss = M[c, "pss"]
				if (M[c, "rss"] > tlsrss) tlsrss = M[c, "rss"]
			}
			reference("primgr memory after the TLS rows (50 connections in TLS handshakes at once)",
				sprintf("private %.1f MiB, PSS %.1f MiB, RSS %.1f MiB", tlspriv / 1024, tlspss / 1024, tlsrss / 1024))
		}
		if (FLOOR["rss_kib"] > 0) {
			reference("the floor: bench/rss_floor (the libraries of primgr started, no work)",
				sprintf("RSS %.1f MiB, private %.1f MiB, PSS %.1f MiB", FLOOR["rss_kib"] / 1024,
					FLOOR["anon_kib"] / 1024, FLOOR["pss_kib"] / 1024))
			if (rss > 0)
				reference("primgr RSS under load above that floor (what primgr itself adds)",
					sprintf("%.1f MiB", (rss - FLOOR["rss_kib"]) / 1024))
		}
		if (("sql_1", "sql") in M && ("sql_max", "sql") in M) {
			a = M["sql_1", "sql"]; b = M["sql_max", "sql"]
			# equal within the granularity of one refresh in a short window
			verdict(sprintf("SQL statements/s at %.0f checks/s vs at 1 check/s", M["sql_max", "rps"]),
				sprintf("%.2f vs %.2f", b, a), "equal (+-20%)",
				a > 0 && b <= a * 1.2 + 0.05 && b >= a * 0.8 - 0.05)
		}
		tail_latency("agent_primgr_paced", sprintf("agent-check paced at %d/s", paced), "agent_min_paced", "minimal server")
		tail_latency("http_primgr_paced", sprintf("HTTP close paced at %d/s", paced), "http_nginx_paced", "nginx")
		saturated("agent_primgr_50", "agent-check", "agent_min_50", "minimal server")
		saturated("close_primgr_50", "HTTP close", "close_nginx_50", "nginx")
		saturated("ka_primgr_50", "HTTP keep-alive", "ka_nginx_50", "nginx")
		saturated("tlsclose_primgr_50", "HTTPS new TLS conn", "tlsclose_nginx_50", "nginx")
		saturated("tlska_primgr_50", "HTTPS keep-alive", "tlska_nginx_50", "nginx")
		change(sprintf("agent-check p99 paced at %d/s, 1 peer black-holed", paced), "bh_agent_paced", "agent_primgr_paced")
		change("HTTP keep-alive p99 at saturation, 1 peer black-holed", "bh_ka_50", "ka_primgr_50")
		change(sprintf("agent-check p99 paced at %d/s, %d idle conns", paced, idle), "idle_agent_paced", "agent_primgr_paced")
		change(sprintf("HTTP keep-alive p99 at saturation, %d idle conns", idle), "idle_ka_50", "ka_primgr_50")
		# The lag model: a standby asks the primary (its primgr) once per refresh for its LSN.
		for (k = 1; k <= 2; k++) {
			a = k == 1 ? "sb_ask_sql_1" : "sb_ask_sql_max"; b = k == 1 ? "sb_noask_sql_1" : "sb_noask_sql_max"
			if (!((a, "sql") in M) || !((b, "sql") in M)) continue
			verdict(sprintf("standby SQL statements/s at %.0f checks/s, asking the primary vs not", M[a, "rps"]),
				sprintf("%.2f vs %.2f", M[a, "sql"], M[b, "sql"]), "equal (+-20%)",
				M[b, "sql"] > 0 && M[a, "sql"] <= M[b, "sql"] * 1.2 + 0.05 && M[a, "sql"] >= M[b, "sql"] * 0.8 - 0.05)
		}
		tail_latency("sb_ask_paced", sprintf("standby agent-check paced at %d/s, asking the primary", paced), "sb_noask_paced", "asking nothing")
		change(sprintf("standby agent-check p99 paced at %d/s, asking the primary vs not", paced), "sb_ask_paced", "sb_noask_paced")
		if (("agent_primgr_50", "p99") in M) {
			reference("agent-check p99 at saturation, 1 peer black-holed (queueing: see the paced row)",
				sprintf("%.0f vs %.0f µs", M["bh_agent_50", "p99"], M["agent_primgr_50", "p99"]))
			reference(sprintf("agent-check p99 at saturation, %d idle conns (queueing: see the paced row)", idle),
				sprintf("%.0f vs %.0f µs", M["idle_agent_50", "p99"], M["agent_primgr_50", "p99"]))
		}
	}
	function reference(what, got) {
		printf "| %s | %s | - | reference |\n", what, got
	}
	function verdict(what, got, limit, pass) {
		printf "| %s | %s | %s | %s |\n", what, got, limit, pass ? "PASS" : "**MISS**"
	}
	# per_rep(A, B, KEY, PCT): A / B (or the change from B to A in percent) for each
	# repetition, A and B measured minutes apart in the same repetition, not the medians of
	# each cell, which may come from different minutes of a noisy machine. The figure shown is
	# that of the median repetition (the lower middle one when their count is even), with its
	# own A and B, so the figure and the two values beside it always agree. Sets PR_MED (the
	# figure), PR_A and PR_B (its two values), PR_REP (which repetition) and PR_RNG (the range).
	function per_rep(a, b, key, pct,   r, s, v, k, order_v, order_r, i, j, t, tr) {
		s = ""; k = 0
		for (r = 1; r <= nrep; r++) {
			if (!((a, r, key) in R) || !((b, r, key) in R) || R[b, r, key] + 0 <= 0) continue
			v = R[a, r, key] / R[b, r, key]
			v = pct ? (v - 1) * 100 : v
			s = s " " v
			k++; order_v[k] = v; order_r[k] = r
		}
		if (k == 0) return 0
		for (i = 2; i <= k; i++) {
			t = order_v[i]; tr = order_r[i]
			for (j = i - 1; j >= 1 && order_v[j] + 0 > t + 0; j--) { order_v[j + 1] = order_v[j]; order_r[j + 1] = order_r[j] }
			order_v[j + 1] = t; order_r[j + 1] = tr
		}
		i = int((k + 1) / 2)
		PR_MED = order_v[i]; PR_REP = order_r[i]
		PR_A = R[a, PR_REP, key]; PR_B = R[b, PR_REP, key]
		PR_RNG = k > 1 ? sprintf(pct ? "; %d reps: %+.0f%% to %+.0f%%" : "; %d reps: %.2fx-%.2fx", k, lo(s), hi(s)) : ""
		return 1
	}
	function ratio(what, a, b) {
		if (!per_rep(a, b, "cpu", 0)) return
		verdict(what, sprintf("%.2fx (%.1f / %.1f in the median rep%s)", PR_MED, PR_A, PR_B, PR_RNG),
			"1.3x", PR_MED <= 1.3)
	}
	# The p99 target holds for a server that keeps up with its load: the paced cells.
	function tail_latency(c, what, b, bname) {
		if (!((c, "p99") in M)) return
		verdict("p99 at 50 conns, " what, sprintf("%.2f ms (%s %.2f ms)", M[c, "p99"] / 1000,
			bname, M[b, "p99"] / 1000), "2 ms", M[c, "p99"] <= 2000)
	}
	# With a closed loop at 50 connections the latency is mostly queueing (50 / req/s): the
	# p99 of the limit server in the same conditions says what the machine allowed.
	function saturated(c, what, b, bname) {
		if (!((c, "p99") in M)) return
		reference("p99 at 50 conns at saturation, " what " (queueing)", sprintf("%.2f ms (%s %.2f ms)",
			M[c, "p99"] / 1000, bname, M[b, "p99"] / 1000))
	}
	function change(what, a, b) {
		if (!per_rep(a, b, "p99", 1)) return
		verdict(what, sprintf("%+.0f%% (%.0f vs %.0f µs in the median rep%s)", PR_MED, PR_A, PR_B, PR_RNG),
			"< 20%", PR_MED < 20)
	}
	' "$1"
}

if [ -n "$SUMMARY_ONLY" ]; then
	[ -r "$SUMMARY_ONLY" ] || die "cannot read $SUMMARY_ONLY"
	summarize "$SUMMARY_ONLY"
	exit 0
fi

# ---------------------------------------------------------------------------------------------
# Programs

IS_ROOT=false
[ "$(id -u)" -eq 0 ] && IS_ROOT=true

# The Debian packages the benchmark needs beyond the test dependencies.
bench_install() {
	local pkgs=() p
	command -v wrk >/dev/null 2>&1 || pkgs+=(wrk)
	command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || pkgs+=(nginx-light)
	command -v taskset >/dev/null 2>&1 || pkgs+=(util-linux)
	[ ${#pkgs[@]} -eq 0 ] && return 0
	$IS_ROOT && command -v apt-get >/dev/null 2>&1 ||
		die "missing: ${pkgs[*]} (install these Debian packages)"
	say "installing ${pkgs[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -q --no-install-recommends "${pkgs[@]}" >/dev/null 2>&1 ||
		{ apt-get update -q >/dev/null 2>&1 &&
			apt-get install -y -q --no-install-recommends "${pkgs[@]}" >/dev/null 2>&1; } ||
		die "apt-get install ${pkgs[*]} failed"
	for p in wrk taskset; do command -v "$p" >/dev/null 2>&1 || die "$p still missing"; done
}
bench_install
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$NGINX" ] || die "nginx is not installed"
[ "$(nproc)" -ge 2 ] || die "needs 2 CPUs (server on CPU 0, load on CPU 1)"

BT=$(mktemp -d "${TMPDIR:-/tmp}/primgr-bench.XXXXXX") || die "mktemp"
BENCH_PIDS=()           # our helpers (nginx, minimal server, black hole, idle holder)
bench_cleanup() {
	local p n
	trap - EXIT
	for p in "${BENCH_PIDS[@]}"; do kill -CONT "$p" 2>/dev/null; kill -TERM "$p" 2>/dev/null; done
	for ((n = 0; n < 30; n++)); do
		local alive=
		for p in "${BENCH_PIDS[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
		[ -z "$alive" ] && break
		sleep 0.1
	done
	for p in "${BENCH_PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
	for p in "${BENCH_PIDS[@]}"; do wait "$p" 2>/dev/null; done
	if declare -F cluster_cleanup >/dev/null; then cluster_cleanup >/dev/null 2>&1; fi
	if [ "${KEEP_TMP:-0}" = 1 ]; then say "KEEP_TMP=1: kept $BT"; else rm -rf "$BT"; fi
}
trap bench_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A copy of the sources and a VPATH build with -O2 (-g for the profilers): the developer's
# tree is often configured in place, which a VPATH build of it refuses.
bench_build() {
	local src=$BT/src bld=$BT/build log=$BT/build.log
	mkdir -p "$src" "$bld"
	if git -C "$top_srcdir" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		(cd "$top_srcdir" && git ls-files -co --exclude-standard -z |
			tar --null --ignore-failed-read -T - -cf - 2>/dev/null) | tar -xf - -C "$src" ||
			die "copying the sources failed"
	else
		cp -a "$top_srcdir/." "$src/" || die "copying the sources failed"
		[ -f "$src/Makefile" ] && make -C "$src" distclean >/dev/null 2>&1
	fi
	rm -rf "$src/bench/results"
	say "building primgr with -O2 in $bld"
	{
		(cd "$src" && autoreconf -fi) &&
			(cd "$bld" && "$src/configure" CFLAGS="-O2 -g") &&
			make -C "$bld" -j2 src/primgr
	} >"$log" 2>&1 || {
		tail -n 30 "$log" >&2
		die "the build failed (log above)"
	}
	PRIMGR=$bld/src/primgr
	BUILD_NOTE="-O2 -g, VPATH build of $(git -C "$top_srcdir" describe --always --dirty 2>/dev/null || echo 'the source tree')"
}

mkdir -p "$BT/bin"
if [ -n "$PRIMGR_GIVEN" ]; then
	[ -x "$PRIMGR_GIVEN" ] || die "--primgr $PRIMGR_GIVEN: not an executable"
	PRIMGR=$(cd "$(dirname "$PRIMGR_GIVEN")" && pwd)/$(basename "$PRIMGR_GIVEN")
	BUILD_NOTE="given binary $PRIMGR (not the -O2 benchmark build)"
else
	bench_build
fi
export PRIMGR
for t in agent_load minimal_server; do
	${CC:-cc} -O2 -Wall -o "$BT/bin/$t" "$BENCH_DIR/$t.c" || die "cannot build bench/$t.c"
done
# shellcheck disable=SC2046 # pkg-config's words are meant to split
${CC:-cc} -O2 -Wall -o "$BT/bin/rss_floor" "$BENCH_DIR/rss_floor.c" \
	$(pkg-config --cflags --libs libpq libcurl jansson) -lev || die "cannot build bench/rss_floor.c"
AGENT_LOAD=$BT/bin/agent_load

# ---------------------------------------------------------------------------------------------
# The cluster: one repmgr primary with pg_stat_statements, primgr beside it (the shipped
# defaults for the refresh cycle, long idle timeout so that the idle connections stay).

CLUSTER_LIB=${PRIMGR_CLUSTER_LIB:-$top_srcdir/tests/lib/cluster.sh}
[ -r "$CLUSTER_LIB" ] || die "$CLUSTER_LIB is missing"
CT_REFRESH=1s CT_DB_TIMEOUT=2s CT_STALE_AFTER=5s CT_PEER_TIMEOUT=500ms
# shellcheck source=../tests/lib/cluster.sh disable=SC1091
. "$CLUSTER_LIB"

for p in "$PG_BINDIR/pg_ctl" "$PG_BINDIR/initdb" "$PG_BINDIR/psql" "$REPMGR" curl jq; do
	command -v "$p" >/dev/null 2>&1 || die "missing $p"
done
if $IS_ROOT && ! id postgres >/dev/null 2>&1; then die "running as root needs a user postgres"; fi

say "starting PostgreSQL + repmgr"
# cluster.sh's temp dir first: it sets its own EXIT trap, and ours calls its cleanup.
cluster_tmp || die "cluster_tmp"
trap bench_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
cluster_init 1 --pgss >"$BT/cluster.log" 2>&1 || { cat "$BT/cluster.log" >&2; die "cluster_init"; }
for t in minimal_server rss_floor; do
	cp "$BT/bin/$t" "$CT_DIR/bin/$t" && chmod 755 "$CT_DIR/bin/$t" || die "cannot copy $t"
done

MINIMAL_PORT=$(ct_free_port) || die "no free port"
PRIMGR_TLS_PORT=$(ct_free_port) || die "no free port"
NGINX_TLS_PORT=$(ct_free_port) || die "no free port"
# One certificate for both TLS servers.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=bench \
	-addext subjectAltName=IP:127.0.0.1 -keyout "$CT_DIR/tls.key" -out "$CT_DIR/tls.crt" \
	>"$BT/openssl.log" 2>&1 || { cat "$BT/openssl.log" >&2; die "openssl: the certificate"; }
$IS_ROOT && chown postgres:postgres "$CT_DIR/tls.key" "$CT_DIR/tls.crt"
BLACKHOLE_PORT=$(ct_free_port) || die "no free port"
NGINX_PORT=$(ct_free_port) || die "no free port"

# bench_spawn NAME CMD...: a helper as postgres (cluster.sh's ct_spawn), remembered for the cleanup.
bench_spawn() {
	ct_spawn "$@" || die "cannot start $1"
	BENCH_PIDS+=("$SPAWNED_PID")
}

# primgr knows two more nodes (registered only during the black-hole phase): node2 votes
# through nginx's /primary, node3 is the black hole.
primgr_start 1 log.level=notice server.idle_timeout=10m "http.tls_listen=127.0.0.1:$PRIMGR_TLS_PORT" \
	"http.tls_cert_file=$CT_DIR/tls.crt" "http.tls_key_file=$CT_DIR/tls.key" \
	"peers.node2=http://127.0.0.1:$NGINX_PORT" "peers.node3=http://127.0.0.1:$BLACKHOLE_PORT" \
	>"$BT/primgr-start.log" 2>&1 || { cat "$BT/primgr-start.log" >&2; die "primgr did not start"; }
PRIMGR_PID=$(primgr_pid 1)
taskset -a -p -c 0 "$PRIMGR_PID" >/dev/null || die "taskset primgr"
wait_for 15 http_is 1 /state 200 || die "primgr's /state is not 200 (Primary): $(http_get 1 /state)"
STATE_BODY=$(http_body 1 /state)

bench_spawn minimal "$CT_DIR/minimal.log" taskset -c 0 "$CT_DIR/bin/minimal_server" -p "$MINIMAL_PORT"
MINIMAL_PID=$SPAWNED_PID
bench_spawn blackhole "$CT_DIR/blackhole.log" "$CT_DIR/bin/minimal_server" -p "$BLACKHOLE_PORT" -b

# The memory floor: primgr's libraries started, connected to the same database, no work.
bench_spawn floor "$CT_DIR/floor.log" "$CT_DIR/bin/rss_floor" "$(node_conninfo 1)"
FLOOR_PID=$SPAWNED_PID
wait_for 15 grep -q '^ready' "$CT_DIR/floor.log" || die "rss_floor did not start: $(cat "$CT_DIR/floor.log")"
grep -q '^ready db=failed' "$CT_DIR/floor.log" && say "warning: rss_floor: $(cat "$CT_DIR/floor.log")"

# nginx: one worker, the same /state body as primgr's, logs off, every path in our dir.
NG=$CT_DIR/nginx
mkdir -p "$NG/tmp"
nginx_temp_paths() {
	local m
	for m in client_body proxy fastcgi uwsgi scgi; do
		case "$("$NGINX" -V 2>&1)" in *"without-http_${m}_module"*) continue ;; esac
		echo "	${m}_temp_path $NG/tmp/$m;"
	done
}
body=${STATE_BODY//\\/\\\\}
body=${body//\'/\\\'}
body=${body//\$/_}
cat >"$NG/nginx.conf" <<EOF
worker_processes 1;
daemon off;
master_process on;
pid $NG/nginx.pid;
error_log $NG/error.log warn;
worker_rlimit_nofile 20000;
events { worker_connections 10000; }
http {
	access_log off;
$(nginx_temp_paths)
	keepalive_requests 100000000;
	keepalive_timeout 600s;
	server {
		listen 127.0.0.1:$NGINX_PORT;
		default_type application/json;
		location = /primary { return 200 '{"Primary":"${NODE_NAME[1]}","node_id":1,"answered_by":"node2","answered_by_id":2}'; }
		location / { return 200 '$body'; }
	}
	server {
		listen 127.0.0.1:$NGINX_TLS_PORT ssl;
		ssl_certificate $CT_DIR/tls.crt;
		ssl_certificate_key $CT_DIR/tls.key;
		# nginx 1.22 (Debian 12) offers TLS 1.0-1.2 by default; primgr and wrk speak 1.3:
		# compare the same handshake
		ssl_protocols TLSv1.2 TLSv1.3;
		default_type application/json;
		location / { return 200 '$body'; }
	}
}
EOF
$IS_ROOT && chown -R postgres:postgres "$NG"
as_pg "$NGINX" -t -q -p "$NG" -c "$NG/nginx.conf" -e "$NG/error.log" >"$BT/nginx-t.log" 2>&1 ||
	{ cat "$BT/nginx-t.log" >&2; die "nginx -t"; }
bench_spawn nginx "$NG/stderr.log" taskset -c 0 "$NGINX" -p "$NG" -c "$NG/nginx.conf" -e "$NG/error.log"
NGINX_MASTER=$SPAWNED_PID
nginx_worker() { ps -o pid= --ppid "$NGINX_MASTER" 2>/dev/null | tr -d ' ' | head -n 1; }
wait_for 10 eval '[ -n "$(nginx_worker)" ]' || die "nginx has no worker"
NGINX_WORKER=$(nginx_worker)
BENCH_PIDS+=("$NGINX_WORKER")
wait_for 10 eval '[ "$(curl -s --noproxy "*" -o /dev/null -w "%{http_code}" http://127.0.0.1:$NGINX_PORT/state)" = 200 ]' ||
	die "nginx does not answer"
wait_for 10 eval '[ "$(curl -sk --noproxy "*" -o /dev/null -w "%{http_code}" https://127.0.0.1:$NGINX_TLS_PORT/state)" = 200 ]' ||
	die "nginx does not answer over TLS"
wait_for 10 eval '[ "$(curl -sk --noproxy "*" -o /dev/null -w "%{http_code}" https://127.0.0.1:$PRIMGR_TLS_PORT/state)" = 200 ]' ||
	die "primgr does not answer over TLS"
wait_for 10 eval '[ "$(timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$MINIMAL_PORT && cat <&3")" = up ]' ||
	die "the minimal server does not answer"

# ---------------------------------------------------------------------------------------------
# Measurement

CLK_TCK=$(getconf CLK_TCK)
proc_ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; }
proc_kib() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }
proc_pss() { awk '$1 == "Pss:" { print $2 }' "/proc/$1/smaps_rollup" 2>/dev/null; }
# The peak RSS starts again from the current RSS (Linux >= 4.0; as root or the owner).
hwm_reset() { echo 5 >"/proc/$1/clear_refs" 2>/dev/null; }

# sql_calls [NODE]: statements executed on NODE's PostgreSQL (default node1) by every role
# but ours (the benchmark queries as postgres).
sql_calls() {
	node_psql_db "${1:-1}" repmgr "SELECT coalesce(sum(calls), 0) FROM pg_stat_statements
		WHERE userid <> (SELECT oid FROM pg_roles WHERE rolname = current_user)" 2>/dev/null
}

server_port() {
	case "$1:$2" in
	agent:minimal) echo "$MINIMAL_PORT" ;;
	agent:primgr) echo "${NODE_AGENT[1]}" ;;
	tls*:nginx) echo "$NGINX_TLS_PORT" ;;
	tls*:primgr) echo "$PRIMGR_TLS_PORT" ;;
	agent:standby) echo "${NODE_RAGENT[2]}" ;;
	*:nginx) echo "$NGINX_PORT" ;;
	*:primgr) echo "${NODE_HTTP[1]}" ;;
	esac
}
server_pid() {
	case "$1" in
	minimal) echo "$MINIMAL_PID" ;;
	primgr) echo "$PRIMGR_PID" ;;
	standby) echo "$STANDBY_PID" ;;
	nginx) echo "$NGINX_WORKER" ;;
	esac
}

# wrk's report -> agent_load's line (latencies in µs).
wrk_parse() {
	awk '
	function us(v) { if (v ~ /us$/) return v + 0; if (v ~ /ms$/) return v * 1000; if (v ~ /s$/) return v * 1e6; return v + 0 }
	$1 == "50%" { p50 = us($2) }
	$1 == "99%" { p99 = us($2) }
	/ requests in / { req = $1; secs = $4 + 0 }
	/Socket errors:/ { gsub(/,/, ""); err = $4 + $6 + $8 + $10 }
	/Non-2xx or 3xx responses:/ { bad = $NF }
	/^Requests\/sec:/ { rps = $2 }
	END {
		if (req == "") exit 1
		printf "requests=%d errors=%d unexpected=%d seconds=%.3f rps=%.1f p50_us=%.1f p99_us=%.1f\n",
			req, err, bad, secs, rps, p50, p99
	}'
}

# load_run KIND SERVER CONNS RATE SECONDS: the load generator on CPU 1; agent_load's line.
load_run() {
	local kind=$1 port conns=$3 rate=$4 secs=$5 out
	port=$(server_port "$1" "$2")
	case "$kind" in
	agent)
		timeout $((secs + 30)) taskset -c 1 "$AGENT_LOAD" -p "$port" -c "$conns" -d "$secs" \
			-r "$rate" -e up
		;;
	http)
		timeout $((secs + 30)) taskset -c 1 "$AGENT_LOAD" -p "$port" -c "$conns" -d "$secs" \
			-r "$rate" -e "HTTP/1.1 200" \
			-s 'GET /state HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n'
		;;
	close | keepalive | tlsclose | tlska)
		local hdr=() scheme=http
		case "$kind" in close | tlsclose) hdr=(-H "Connection: close") ;; esac
		case "$kind" in tls*) scheme=https ;; esac
		out=$(timeout $((secs + 30)) taskset -c 1 wrk -t 1 -c "$conns" -d "${secs}s" --latency \
			"${hdr[@]}" "$scheme://127.0.0.1:$port/state" 2>&1)
		echo "$out" >>"$BT/wrk.log"
		wrk_parse <<<"$out"
		;;
	esac
}

field() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p"; }

RAW_HEADER="cell	kind	server	conns	rep	requests	errors	unexpected	seconds	rps	p50_us	p99_us	cpu_us_per_req	rss_idle_kib	rss_load_kib	sql_per_s	anon_kib	pss_kib"

# measure CELL REP: one warm-up and one measurement; appends a raw line.
measure() {
	local cell=$1 rep=$2 kind server conns rate phase pid line
	local rss0 sql0 sql1 t0 t1 c0 c1 hwm anon pss req cpu sqls sqlnode
	read -r kind server conns rate phase <<<"${CELL[$cell]}"
	pid=$(server_pid "$server")
	[ "$rate" = 1 ] || load_run "$kind" "$server" "$conns" "$rate" "$WARMUP" >/dev/null
	rss0=$(proc_kib "$pid" VmRSS)
	hwm_reset "$pid"
	sqlnode=1
	[ "$server" = standby ] && sqlnode=2
	sql0=$(sql_calls "$sqlnode")
	t0=$(now_ms)
	c0=$(proc_ticks "$pid")
	line=$(load_run "$kind" "$server" "$conns" "$rate" "$SECONDS_CELL")
	c1=$(proc_ticks "$pid")
	sql1=$(sql_calls "$sqlnode")
	t1=$(now_ms)
	hwm=$(proc_kib "$pid" VmHWM)
	anon=$(proc_kib "$pid" RssAnon)
	pss=$(proc_pss "$pid")
	req=$(field "$line" requests)
	if [ -z "$req" ] || [ -z "$c0" ] || [ -z "$c1" ]; then
		say "$cell rep $rep: no measurement (${line:-the load generator failed})"
		return 1
	fi
	cpu=$(awk -v a="$c0" -v b="$c1" -v hz="$CLK_TCK" -v n="$req" \
		'BEGIN { printf "%.2f", (n > 0 ? (b - a) / hz * 1e6 / n : 0) }')
	sqls=$(awk -v a="$sql0" -v b="$sql1" -v t="$((t1 - t0))" \
		'BEGIN { printf "%.3f", (a == "" || b == "" ? -1 : (b - a) / (t / 1000)) }')
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$cell" "$kind" \
		"$server" "$conns" "$rep" "$req" "$(field "$line" errors)" "$(field "$line" unexpected)" \
		"$(field "$line" seconds)" "$(field "$line" rps)" "$(field "$line" p50_us)" \
		"$(field "$line" p99_us)" "$cpu" "$rss0" "$hwm" "$sqls" "$anon" "${pss:-0}" >>"$RAW"
	say "$(printf '%-16s rep %d/%d: %8.0f req/s  p50 %6.0f µs  p99 %7.0f µs  %6.1f CPU µs/req  RSS %5d KiB  SQL %.2f/s' \
		"$cell" "$rep" "$REPS" "$(field "$line" rps)" "$(field "$line" p50_us)" \
		"$(field "$line" p99_us)" "$cpu" "$hwm" "$sqls")"
}

# phase_cells PHASE: the cells of a phase, in table order (those of --only).
phase_cells() {
	local c
	for c in "${CELLS[@]}"; do
		case "$c" in "$ONLY"*) ;; *) continue ;; esac
		[ "$(awk '{ print $5 }' <<<"${CELL[$c]}")" = "$1" ] && echo "$c"
	done
}

# run_phase PHASE REP: the cells of one phase, once.
run_phase() {
	local c
	for c in $(phase_cells "$1"); do measure "$c" "$2"; done
}

# The black-hole phase: two more voters in repmgr.nodes, node2 answering through nginx and
# node3 a listener that accepts and never answers, so that every refresh waits peer_timeout
# for it while node1 stays Primary with 2 votes of 3.
blackhole_on() {
	node_psql 1 "INSERT INTO repmgr.nodes (node_id, upstream_node_id, active, node_name, type,
		location, priority, conninfo, repluser, slot_name, config_file)
		VALUES (2, 1, true, 'node2', 'standby', '${NODE_LOC[1]}', 100,
			'host=127.0.0.1 port=1 dbname=repmgr user=repmgr', 'repmgr', NULL, '/dev/null'),
		       (3, 1, true, 'node3', 'standby', '${NODE_LOC[1]}', 100,
			'host=127.0.0.1 port=1 dbname=repmgr user=repmgr', 'repmgr', NULL, '/dev/null')" \
		>/dev/null || return 1
	wait_for 15 eval '[ "$(http_json 1 /state ".state,.votes,.quorum" | tr "\n" " ")" = "Primary 2 2 " ]'
}
blackhole_off() {
	node_psql 1 "DELETE FROM repmgr.nodes WHERE node_id IN (2, 3)" >/dev/null &&
		wait_for 15 eval '[ "$(http_json 1 /state ".state,.votes,.quorum" | tr "\n" " ")" = "Primary 1 1 " ]'
}

IDLE_PID=
idle_on() {
	local f=$BT/idle.out
	: >"$f"
	taskset -c 1 "$AGENT_LOAD" -p "${NODE_HTTP[1]}" -i "$IDLE_CONNS" -d 0 \
		-s 'GET /health HTTP/1.1\r\nHost: bench\r\n\r\n' >"$f" 2>&1 &
	IDLE_PID=$!
	BENCH_PIDS+=("$IDLE_PID")
	wait_for 60 grep -q '^ready' "$f"
}
idle_off() {
	[ -n "$IDLE_PID" ] || return 0
	kill -TERM "$IDLE_PID" 2>/dev/null
	wait "$IDLE_PID" 2>/dev/null
	say "idle holder: $(tail -n 1 "$BT/idle.out")"
	IDLE_PID=
}

# The standby phase: node2, a standby cloned from node1, and its primgr (pinned beside the
# others on CPU 0), started as shipped (MODE ask: every refresh it asks node1's primgr for the
# primary's LSN) or with node1 in legacy_peers (MODE noask: it asks nothing and judges its lag
# on its own receiver). node1's peers.node2 stays nginx: node1 keeps its 2 votes.
STANDBY_PID=
standby_setup() {
	node_add >"$BT/standby.log" 2>&1 || { cat "$BT/standby.log" >&2; return 1; }
	[ "$NODE_ADDED" = 2 ] || { say "the standby is node$NODE_ADDED, not node2"; return 1; }
}
standby_primgr() {
	local mode=$1 extra=()
	primgr_stop 2
	STANDBY_PID=
	[ "$mode" = noask ] && extra=("consensus.legacy_peers=${NODE_NAME[1]}")
	primgr_start 2 log.level=notice server.idle_timeout=10m "peers.${NODE_NAME[1]}=http://127.0.0.1:${NODE_HTTP[1]}" \
		"${extra[@]}" >>"$BT/standby.log" 2>&1 || return 1
	STANDBY_PID=$(primgr_pid 2)
	taskset -a -p -c 0 "$STANDBY_PID" >/dev/null || return 1
	wait_for 20 http_is 2 /state 202 || { say "node2 is not a Standby: $(http_get 2 /state)"; return 1; }
	# as shipped, the standby learns the primary's LSN (the request is made): the gauge of
	# its lag against the primary appears; asking nothing, it has no such figure
	if [ "$mode" = ask ]; then
		wait_for 20 standby_knows_primary_lsn || say "warning: node2 (ask) shows no primgr_replica_lag_bytes"
	elif standby_knows_primary_lsn; then
		say "warning: node2 (noask) knows the primary's LSN: it asked"
	fi
}
standby_knows_primary_lsn() {
	curl -s --noproxy '*' -m 2 "http://127.0.0.1:${NODE_HTTP[2]}/metrics" | grep -q '^primgr_replica_lag_bytes '
}

FLOOR_LINE="rss_kib=$(proc_kib "$FLOOR_PID" VmRSS) anon_kib=$(proc_kib "$FLOOR_PID" RssAnon) pss_kib=$(proc_pss "$FLOOR_PID")"
say "memory floor (bench/rss_floor): $FLOOR_LINE"

mkdir -p "$OUT_DIR" || die "cannot create $OUT_DIR"
STAMP=$(date +%Y%m%d-%H%M%S)
RAW=$OUT_DIR/$STAMP.raw
{
	echo "# date: $(date -u '+%Y-%m-%d %H:%M UTC'), $REPS repetition(s) of ${SECONDS_CELL} s per cell after a ${WARMUP} s warm-up"
	echo "# host: $(nproc) CPUs, $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), load average $(cut -d' ' -f1-3 /proc/loadavg) at the start"
	echo "# kernel: $(uname -sr)"
	echo "# primgr: $("$PRIMGR" --version 2>&1 | head -n 1), $BUILD_NOTE"
	echo "# build: servers on CPU 0 (primgr, bench/minimal_server, nginx $("$NGINX" -v 2>&1 | sed 's|.*/||') with 1 worker), load on CPU 1 (bench/agent_load, wrk $(wrk -v 2>&1 | awk 'NR == 1 { print $2 }'))"
	echo "# floor: $FLOOR_LINE (bench/rss_floor: primgr's libraries started, no work)"
	echo "# note: primgr refresh_interval=$CT_REFRESH, PostgreSQL 15 + repmgr, one node; CPU µs/req = utime+stime of the server process / requests"
	echo "$RAW_HEADER"
} >"$RAW"

say "measuring: $REPS repetition(s), ${SECONDS_CELL} s cells after ${WARMUP} s warm-up"
# Every repetition runs the main and black-hole phases, so that the black-hole rows are
# compared with main rows measured minutes, not a quarter of an hour, before them on a shared
# machine. The idle phase comes after them: the heap keeps part of what 5,000 connections
# used after they close, which would inflate the RSS of every cell after it; the TLS phase
# last, for the same reason (50 connections in handshakes at once).
for ((rep = 1; rep <= REPS; rep++)); do
	run_phase main "$rep"
	[ -n "$(phase_cells blackhole)" ] || continue
	if blackhole_on; then
		say "black-hole phase: node3 -> 127.0.0.1:$BLACKHOLE_PORT never answers ($(http_body 1 /state))"
		run_phase blackhole "$rep"
		blackhole_off || say "warning: /state did not return to 1 vote of 1 after the black-hole phase"
	else
		say "warning: the black-hole phase did not start: $(http_body 1 /state)"
		blackhole_off
	fi
done
if [ -z "$(phase_cells idle)" ]; then
	:
elif idle_on; then
	say "idle phase: $(head -n 1 "$BT/idle.out") on primgr's HTTP port"
	for ((rep = 1; rep <= REPS; rep++)); do run_phase idle "$rep"; done
	idle_off
else
	say "warning: $IDLE_CONNS idle connections could not be opened: $(cat "$BT/idle.out")"
	idle_off
fi

if [ -z "$(phase_cells standby_ask)$(phase_cells standby_noask)" ]; then
	:
elif standby_setup; then
	say "standby phase: node2 cloned from node1 ($(http_body 1 /state))"
	for ((rep = 1; rep <= REPS; rep++)); do
		for mode in ask noask; do
			if standby_primgr "$mode"; then
				run_phase "standby_$mode" "$rep"
			else
				say "warning: node2's primgr ($mode) did not start: $(tail -n 5 "$BT/standby.log")"
			fi
		done
	done
	primgr_stop 2
else
	say "warning: the standby phase did not start"
fi
for ((rep = 1; rep <= REPS; rep++)); do run_phase tls "$rep"; done

TABLE=$OUT_DIR/$STAMP.md
summarize "$RAW" >"$TABLE"
cp "$TABLE" "$OUT_DIR/latest.md"
# the chart beside it, drawn from the Markdown alone (bench/chart.sh; gnuplot)
bash "$BENCH_DIR/chart.sh" -o "$OUT_DIR/latest.png" "$OUT_DIR/latest.md" >&2 ||
	say "warning: no chart (bench/chart.sh failed; install gnuplot-nox)"
cat "$TABLE"
say "raw measurements: $RAW; table: $TABLE"

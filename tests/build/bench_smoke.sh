#!/bin/bash
# The benchmark in CI, as a smoke test: bench/run.sh in its shortest mode (1 s cells, one
# repetition, the primgr already built) against a real PostgreSQL + repmgr, nginx and the
# minimal server. Checks that the run ends cleanly, that the table has every row with
# numbers in it, that every request got the expected answer, that --summary rebuilds the
# same table from the raw file and that nothing is left behind. The figures themselves are
# not judged here (a shared CI machine is too noisy): bench/run.sh prints the targets.
# About 2 to 3 minutes.
# shellcheck source-path=SCRIPTDIR source=../lib/cluster.sh
. "$(dirname "$0")/../lib/cluster.sh"

primgr_require
for p in wrk nginx taskset; do
	command -v "$p" >/dev/null 2>&1 || [ -x "/usr/sbin/$p" ] ||
		skip_all "no $p (scripts/install-deps.sh, BENCH: wrk nginx-light)"
done
if [ ! -x "$PG_BINDIR/pg_ctl" ] || [ ! -x "$PG_BINDIR/repmgr" ]; then
	skip_all "no PostgreSQL 15 + repmgr"
fi
[ "$(nproc)" -ge 2 ] || skip_all "bench/run.sh needs 2 CPUs"
[ -r /usr/lib/postgresql/15/lib/pg_stat_statements.so ] ||
	skip_all "no pg_stat_statements (postgresql-15 ships it)"

out=$(mktemp -d "${TMPDIR:-/tmp}/primgr-bench-smoke.XXXXXX") || exit 1
trap 'rm -rf "$out"' EXIT
mkdir -p "$out/tmp" "$out/results"
chmod 755 "$out" "$out/tmp"   # the servers run as postgres under it

start=$(date +%s)
TMPDIR=$out/tmp "$top_srcdir/bench/run.sh" --quick --seconds 1 --warmup 1 --primgr "$PRIMGR" \
	--out "$out/results" >"$out/stdout" 2>"$out/stderr"
rc=$?
secs=$(($(date +%s) - start))
if [ "$rc" -eq 0 ]; then
	ok "bench/run.sh --quick --seconds 1 ends with status 0 (${secs} s)"
else
	not_ok "bench/run.sh --quick --seconds 1 ends with status 0 (got $rc)"
	diag "$(tail -n 20 "$out/stderr")"
fi

md=$out/results/latest.md
raw=$(find "$out/results" -name '*.raw' | head -n 1)
check "latest.md and the raw file are written" test -s "$md" -a -n "$raw" -a -s "${raw:-/nonexistent}"
check "the table is printed on stdout too" cmp -s "$md" "$out/stdout"

# Every row of the table, in order: label, server, connections.
expected="agent-check, new conn|minimal|1
agent-check, new conn|primgr|1
agent-check, new conn|minimal|50
agent-check, new conn|primgr|50
HTTP /state, Connection: close|nginx|1
HTTP /state, Connection: close|primgr|1
HTTP /state, Connection: close|nginx|50
HTTP /state, Connection: close|primgr|50
HTTP /state, keep-alive|nginx|1
HTTP /state, keep-alive|primgr|1
HTTP /state, keep-alive|nginx|50
HTTP /state, keep-alive|primgr|50
agent-check, new conn, paced at 2000/s|minimal|50
agent-check, new conn, paced at 2000/s|primgr|50
HTTP /state, Connection: close, paced at 2000/s|nginx|50
HTTP /state, Connection: close, paced at 2000/s|primgr|50
agent-check at 1 check/s (SQL)|primgr|1
agent-check at <= 20000 checks/s (SQL)|primgr|50
agent-check, 1 peer black-holed|primgr|50
HTTP keep-alive, 1 peer black-holed|primgr|50
agent-check, paced at 2000/s, 1 peer black-holed|primgr|50
agent-check, 5000 idle conns open|primgr|50
HTTP keep-alive, 5000 idle conns open|primgr|50
agent-check, paced at 2000/s, 5000 idle conns open|primgr|50
HTTPS /state, new TLS conn per request|nginx|1
HTTPS /state, new TLS conn per request|primgr|1
HTTPS /state, new TLS conn per request|nginx|50
HTTPS /state, new TLS conn per request|primgr|50
HTTPS /state, keep-alive|nginx|1
HTTPS /state, keep-alive|primgr|1
HTTPS /state, keep-alive|nginx|50
HTTPS /state, keep-alive|primgr|50"
rows=$(awk -F' *\\| *' '/^\| / && $3 ~ /^(minimal|primgr|nginx)$/ { print $2 "|" $3 "|" $4 }' \
	"$md" 2>/dev/null)
if [ "$rows" = "$expected" ]; then
	ok "the table has all 32 rows in order"
else
	not_ok "the table has all 32 rows in order"
	diag "$(diff <(echo "$expected") <(echo "$rows"))"
fi

# Every row measured something: req/s, CPU µs/req (but the 1 check/s row, whose few
# requests may cost less than one clock tick) and RSS are positive numbers.
bad=$(awk -F' *\\| *' '/^\| / && $3 ~ /^(minimal|primgr|nginx)$/ {
	if (!($5 + 0 > 0) || !($10 + 0 > 0) || ($2 !~ /1 check\/s/ && !($8 + 0 > 0))) print $2 " " $3 " " $4
}' "$md" 2>/dev/null)
check "every row has req/s, CPU µs/req and RSS${bad:+ (not: $bad)}" [ -z "$bad" ]

sql_bad=$(awk -F' *\\| *' '/^\| / && $3 == "primgr" && !($13 + 0 > 0) { print $2 }' "$md" 2>/dev/null)
check "primgr's SQL statements reach pg_stat_statements in every row${sql_bad:+ (not: $sql_bad)}" \
	[ -z "$sql_bad" ]

# Column 7 errors, 8 unexpected replies (agent: not "up", HTTP: not 2xx).
wrong=$(awk -F'\t' 'NF >= 17 && $1 != "cell" && $1 !~ /^#/ && ($7 + $8) > 0 {
	print $1 " errors=" $7 " unexpected=" $8 }' "${raw:-/dev/null}")
check "every request got the expected answer${wrong:+ (not: $wrong)}" [ -z "$wrong" ]
check "32 raw measurements of primgr, nginx and the minimal server" \
	[ "$(awk -F'\t' '$3 ~ /^(minimal|primgr|nginx)$/' "${raw:-/dev/null}" | wc -l)" -eq 32 ]
floor=$(sed -n 's/^# floor: rss_kib=\([0-9]*\) .*/\1/p' "${raw:-/dev/null}")
check "the memory floor is measured (${floor:-no} KiB)" [ "${floor:-0}" -gt 0 ]
check "the table judges primgr's private memory and PSS, with RSS above the floor as a reference" \
	eval "grep -q '^| primgr private memory under load .* | 2 MiB | ' '$md' &&
		grep -q '^| primgr PSS under load .* | 8 MiB | ' '$md' &&
		grep -q '^| primgr RSS under load above that floor .* | reference |\$' '$md'"

targets=$(grep -c '| \(PASS\|\*\*MISS\*\*\) |$' "$md" 2>/dev/null)
check "the targets are judged (${targets:-0} verdicts)" [ "${targets:-0}" -ge 19 ]
# A figure and the two values beside it agree: "X.XXx (A / B ..." and "+N% (A vs B µs ...",
# within what the rounding of the two printed values allows (A and B to 0.1 and to 1: with
# a small B, +5093% beside "11316 vs 218" is 11316 / 217.6).
disagree=$(awk -F' *\\| *' '
	$3 ~ /^[0-9.]+x \([0-9.]+ \/ [0-9.]+ / {
		split($3, w, /[ (\/x]+/)
		if (w[3] > 0.05 && (w[1] < (w[2] - 0.05) / (w[3] + 0.05) - 0.01 || w[1] > (w[2] + 0.05) / (w[3] - 0.05) + 0.01)) print $2 ": " $3 }
	$3 ~ /^[-+][0-9]+% \([0-9]+ vs [0-9]+ / {
		split($3, w, /[ (%]+(vs +)?/)
		if (w[3] > 0.5 && (w[1] < ((w[2] - 0.5) / (w[3] + 0.5) - 1) * 100 - 1 || w[1] > ((w[2] + 0.5) / (w[3] - 0.5) - 1) * 100 + 1)) print $2 ": " $3 }
' "$md" 2>/dev/null)
n_fig=$(grep -Ec '\| [0-9.]+x \(|\| [-+][0-9]+% \(' "$md" 2>/dev/null)
check "every ratio and change (${n_fig:-0}) agrees with the two values beside it${disagree:+ (not: $disagree)}" \
	[ -z "$disagree" ] && [ "${n_fig:-0}" -ge 8 ]
check "the black-hole phase ran (node1 Primary with 2 of 3 votes)" \
	grep -q 'black-hole phase: .*"votes":2,"quorum":2' "$out/stderr"
check "the idle phase held 5000 connections" grep -q 'idle phase: ready open=5000' "$out/stderr"

check "latest.png is drawn beside latest.md, from it (bench/chart.sh --check)" \
	bash "$top_srcdir/bench/chart.sh" --check "$md" "$out/results/latest.png"

check "--summary rebuilds the same table from the raw file" \
	cmp -s <("$top_srcdir/bench/run.sh" --summary "$raw" 2>/dev/null) "$md"

left=$(ls -A "$out/tmp" 2>/dev/null)
check "bench/run.sh removed its temp dirs${left:+ (left: $left)}" [ -z "$left" ]
procs=$(pgrep -f "$out/tmp/" 2>/dev/null | tr '\n' ' ')
check "no process of the run is left${procs:+ (pids $procs)}" [ -z "$procs" ]

tap_done

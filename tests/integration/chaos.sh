#!/bin/bash
# Issue 9 in CI: tests/chaos/run.sh with 3 cycles (three different faults from the shuffled
# bag, a new seed each run: the seed is printed so a failure can be replayed with
# `tests/chaos/run.sh -n 3 --seed S`). One TAP line per cycle: ok when no row landed on a node
# that primgr did not call Primary and the cluster healed; then one for run.sh's own verdict.
# CHAOS_CYCLES and CHAOS_SEED override the defaults. The run draws its timeline (tests/chaos/plot.sh)
# into tests/logs/chaos-timeline.png: one more TAP line checks that it is a PNG.
# shellcheck source-path=SCRIPTDIR source=../lib/cluster.sh
. "$(dirname "$0")/../lib/cluster.sh"
# shellcheck source=../lib/haproxy.sh
. "$(dirname "$0")/../lib/haproxy.sh"

cluster_require cc
ha_require
primgr_require

n=${CHAOS_CYCLES:-3}
run=$(dirname "$0")/../chaos/run.sh
out=$(mktemp "${TMPDIR:-/tmp}/primgr-chaos.XXXXXX") || bail_out "mktemp"
trap 'rm -f "$out"' EXIT

# the judge itself must be able to fail: a made-up timeline with known split-brain rows
if sout=$(bash "$run" --selftest 2>&1); then
	ok "run.sh --selftest: the row judge finds the split-brain, lag and lost rows it should"
else
	not_ok "run.sh --selftest: the row judge finds the split-brain, lag and lost rows it should"
fi
diag "$sout"

png=${top_builddir:-.}/tests/logs/chaos-timeline.png
mkdir -p "${png%/*}" && rm -f "$png"
bash "$run" -n "$n" ${CHAOS_SEED:+--seed "$CHAOS_SEED"} --plot "$png" >"$out" 2>&1
rc=$?
# run.sh's progress lines are TAP comments already; its table and final line become comments
sed -e '/^#/!s/^/# /' "$out"

# the table: cycle fault rows sb-writes lag lost outage_ms dual_ms healed_ms ok target; notes
seen=0
while read -r c fault rows sbw _ _ outage _ healed cok rest; do
	[[ "$c" =~ ^[0-9]+$ ]] || continue
	seen=$((seen + 1))
	desc="cycle $c $fault ($rest): $rows rows, $sbw split-brain writes, longest outage $outage ms, healed after $healed ms"
	if [ "$cok" = yes ] && [ "$sbw" = 0 ]; then ok "$desc"; else not_ok "$desc"; fi
done < <(sed -n '/^cycle  fault/,/^chaos /p' "$out")
[ "$seen" -eq "$n" ] || not_ok "run.sh printed $seen of $n cycles in its summary table"
# the run's timeline picture (tests/chaos/plot.sh, gnuplot)
if ! command -v gnuplot >/dev/null; then
	skip "the run's timeline PNG: no gnuplot (scripts/install-deps.sh installs gnuplot-nox)"
elif [ "$(head -c 8 "$png" 2>/dev/null | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ]; then
	ok "the run's timeline is drawn: $png ($(wc -c <"$png") bytes)"
else
	not_ok "the run's timeline is drawn: no PNG in $png"
fi
final=$(grep '^chaos ' "$out" | tail -n 1)
if [ "$rc" -eq 0 ]; then
	ok "tests/chaos/run.sh -n $n exits 0 (${final:-no final line})"
else
	not_ok "tests/chaos/run.sh -n $n exits 0 (exit $rc: ${final:-no final line})"
fi
tap_done

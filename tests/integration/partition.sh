#!/bin/bash
# Issue 18 in CI: tests/partition/run.sh with 3 cycles on a cluster whose nodes each live in a
# network namespace (tests/lib/netns.sh): the minority-primary fault (the primary cut from its
# peers, still reachable by haproxy), its one-way variant, and the primary cut from everyone.
# One TAP line per cycle: ok when no row landed on a node primgr did not call Primary, the
# cycle healed, and the old primary's first non-Primary verdict came within refresh_interval
# + peer_timeout of the cut; then one for run.sh's own verdict. A new seed each run (printed:
# replay with `tests/partition/run.sh -n 3 --faults ... --seed S`). A reported skip when not
# root or network namespaces / nft do not work here, a failure under CI=true.
# PARTITION_CYCLES, PARTITION_FAULTS and PARTITION_SEED override the defaults. The run draws its
# timeline (tests/chaos/plot.sh) into tests/logs/partition-timeline.png: one TAP line checks it.
# shellcheck source-path=SCRIPTDIR source=../lib/cluster.sh
. "$(dirname "$0")/../lib/cluster.sh"
# shellcheck source=../lib/haproxy.sh
. "$(dirname "$0")/../lib/haproxy.sh"
# shellcheck source=../lib/netns.sh
. "$(dirname "$0")/../lib/netns.sh"

netns_usable || skip_all "$NETNS_WHY"
cluster_require cc
ha_require
primgr_require

n=${PARTITION_CYCLES:-3}
faults=${PARTITION_FAULTS:-minority,oneway_in,isolated}
run=$(dirname "$0")/../partition/run.sh
out=$(mktemp "${TMPDIR:-/tmp}/primgr-partition.XXXXXX") || bail_out "mktemp"
trap 'rm -f "$out"' EXIT

t0=$(now_ms)
png=${top_builddir:-.}/tests/logs/partition-timeline.png
mkdir -p "${png%/*}" && rm -f "$png"
bash "$run" -n "$n" --faults "$faults" ${PARTITION_SEED:+--seed "$PARTITION_SEED"} --plot "$png" \
	>"$out" 2>&1
rc=$?
# run.sh's progress lines are TAP comments already; its table and summary become comments
sed -e '/^#/!s/^/# /' "$out"
if [ "$rc" = 77 ]; then
	skip_all "$(grep '^partition SKIP' "$out")"
fi

# the table: cycle fault rows sb-writes lag lost gone outage_ms detect_ms dual_ms healed_ms ok target; notes
nseen=0
while read -r c fault rows sbw _ lost _ outage det _ healed cok rest; do
	[[ "$c" =~ ^[0-9]+$ ]] || continue
	nseen=$((nseen + 1))
	desc="cycle $c $fault ($rest): $rows rows, $sbw split-brain writes, $lost acknowledged and lost, detection $det ms, longest outage $outage ms, healed after $healed ms"
	if [ "$cok" = yes ] && [ "$sbw" = 0 ] && [ "$healed" != - ]; then ok "$desc"; else not_ok "$desc"; fi
done < <(sed -n '/^cycle  fault/,/^$/p' "$out")
[ "$nseen" -eq "$n" ] || not_ok "run.sh printed $nseen of $n cycles in its summary table"
# the run's timeline picture (tests/chaos/plot.sh, gnuplot)
if ! command -v gnuplot >/dev/null; then
	skip "the run's timeline PNG: no gnuplot (scripts/install-deps.sh installs gnuplot-nox)"
elif [ "$(head -c 8 "$png" 2>/dev/null | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ]; then
	ok "the run's timeline is drawn: $png ($(wc -c <"$png") bytes)"
else
	not_ok "the run's timeline is drawn: no PNG in $png"
fi
final=$(grep '^partition ' "$out" | tail -n 1)
if [ "$rc" -eq 0 ]; then
	ok "tests/partition/run.sh -n $n exits 0 (${final:-no final line})"
else
	not_ok "tests/partition/run.sh -n $n exits 0 (exit $rc: ${final:-no final line})"
fi
diag "wall time $((($(now_ms) - t0) / 1000)) s"
# the run's namespaces (and with them its bridge, veths and nft rules) are gone
prefix=$(sed -n 's/^# partition: in namespaces \(pgm[0-9x]*\)h .*/\1/p' "$out" | head -n 1)
if [ -z "$prefix" ]; then
	not_ok "run.sh names its namespaces"
elif left=$(ip netns list 2>/dev/null | awk '{ print $1 }' | grep "^${prefix}[hn]"); then
	not_ok "the run's namespaces ${prefix}* are deleted (left: $(echo "$left" | tr '\n' ' '))"
else
	ok "the run's namespaces ${prefix}h, ${prefix}n1.. are deleted"
fi
tap_done

#!/bin/bash
# tests/chaos/run.sh: random faults on a real 3-node repmgr cluster with primgr on every node,
# behind a real haproxy configured from the shipped haproxy/primgr.cfg (GitHub issue 9).
#
#   tests/chaos/run.sh [-n CYCLES] [--seed S] [--grace MS] [--plot PNG]
#   tests/chaos/run.sh --selftest     (the row judge on a made-up timeline; no cluster)
#
# Each cycle applies one fault, then waits until the cluster is healthy again (one node's
# /state says Primary, the others Standby and streaming from it, haproxy's pg_write routes to
# that node only, and the writer commits there) before the next cycle. The faults come from a
# shuffled bag (every fault once per six cycles, in a random order); --seed replays a run.
#
#   failover    pg_ctl stop -m immediate of the primary, `repmgr standby promote` of a
#               standby, `standby follow` of the other, then `node rejoin --force-rewind` of
#               the old primary
#   splitbrain  the same failover, then the old primary starts again as a primary for a few
#               seconds (primgr must call it Unknown, haproxy must keep it DOWN in pg_write),
#               then `node rejoin --force-rewind`
#   rejoin      pg_ctl stop -m fast of a standby for 1-4 s, then `node rejoin --force-rewind`
#               (not -m immediate: pg_rewind's crash recovery of a standby that stopped
#               mid-record writes a checkpoint over the torn record, on the same timeline, and
#               the standby can never stream again; repmgr-side, seen with seed 42)
#   dbkill      pg_ctl stop -m immediate of any node for 1-4 s, then pg_ctl start
#   primgrkill  SIGKILL of any node's primgr for 1-4 s, then a restart
#   blackhole   SIGSTOP of any node's primgr for 2-6 s (a peer that accepts connections and
#               never answers), then SIGCONT
#
# Throughout, tests/lib/pgwriter.c inserts numbered rows through haproxy's write frontend (a
# new connection per row); each row records the port of the node that committed it, and the
# commit time (track_commit_timestamp). tests/chaos/statepoll.c asks every node's primgr for
# /state every 100 ms (all at once, 250 ms timeout) and logs "ms URL code". After each cycle every row committed
# in the cycle (each node's own rows, read from that node's table, before a rewind can erase
# them, plus the rows the writer saw acknowledged) is judged against that timeline:
#
#   ok         the node's primgr said Primary (200) at the last answered poll before the
#              commit, or at the next answered poll if that came within 500 ms (the verdict
#              may have changed between two polls); polls nobody answered (a killed or
#              stopped primgr) keep the last word
#   lag        not Primary then, but it was within the --grace window before (default 1000
#              ms): haproxy acts on a verdict at its next check (agent every 500 ms), so a
#              few commits can follow a verdict change; counted, reported, not a failure
#   split-brain  anything else: a row that landed on a node primgr did not call Primary
#
# Also per cycle: the longest write outage (the largest gap between consecutive commits the
# writer saw acknowledged), acknowledged rows missing from every table afterwards ("lost": an
# immediate stop loses what asynchronous replication had not shipped), and how long two nodes
# were called Primary at once (informational). Prints a summary table and a final line; exits
# 1 when any row is a split-brain write, a cycle does not heal, or a split brain is routed or
# not called Unknown. KEEP_TMP=1 keeps the temp dir (logs, poll timeline, rows);
# CHAOS_PRIMGR_INI="section.key=value ..." adds primgr.ini keys (e.g. log.level=debug).
# The run's timeline (tests/chaos/plot.sh: every node's verdict, every row where it landed,
# the faults) is drawn into --plot PNG, by default chaos-SEED.png in the current directory.
# shellcheck source-path=SCRIPTDIR disable=SC2016
# (SC2016: the single-quoted strings given to eval expand when evaluated, on purpose)

usage() {
	echo "usage: $0 [-n CYCLES] [--seed S] [--grace MS] [--plot PNG] | --selftest" >&2
	exit 64
}

CYCLES=20
SEED=
GRACE_MS=1000
SELFTEST=0
PLOT=
while [ $# -gt 0 ]; do
	case "$1" in
	-n) CYCLES=${2:-}; shift ;;
	--seed) SEED=${2:-}; shift ;;
	--grace) GRACE_MS=${2:-}; shift ;;
	--plot) PLOT=${2:-}; [ -n "$PLOT" ] || usage; shift ;;
	--selftest) SELFTEST=1 ;;
	-h | --help) usage ;;
	*) usage ;;
	esac
	shift
done
[[ "$CYCLES" =~ ^[1-9][0-9]*$ ]] || usage
[[ "$GRACE_MS" =~ ^[0-9]+$ ]] || usage
if [ -z "$SEED" ]; then
	SEED=${EPOCHREALTIME//[.,]/}
	SEED=$((SEED % 1000000))
fi
[[ "$SEED" =~ ^[0-9]+$ ]] || usage
PLOT=${PLOT:-chaos-$SEED.png}

# primgr's own defaults (as in tests/integration/haproxy.sh): the outages are what users get.
# shellcheck source=../lib/shipped.sh
. "$(dirname "$0")/../lib/shipped.sh"

# --- the plan, drawn from the seed before anything else uses $RANDOM ---------------------------
FAULTS=(failover splitbrain rejoin dbkill primgrkill blackhole)
declare -a PLAN_FAULT PLAN_PICK PLAN_MS
RANDOM=$SEED
bag=()
for ((c = 1; c <= CYCLES; c++)); do
	if [ ${#bag[@]} -eq 0 ]; then
		bag=("${FAULTS[@]}")
		for ((k = ${#bag[@]} - 1; k > 0; k--)); do
			j=$((RANDOM % (k + 1)))
			t=${bag[k]} bag[k]=${bag[j]} bag[j]=$t
		done
	fi
	PLAN_FAULT[c]=${bag[0]}
	bag=("${bag[@]:1}")
	PLAN_PICK[c]=$RANDOM
	PLAN_MS[c]=$((1000 + RANDOM % 3001))
	[ "${PLAN_FAULT[c]}" = blackhole ] && PLAN_MS[c]=$((2000 + RANDOM % 4001))
done

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

if [ "$SELFTEST" = 1 ]; then
	selftest
	exit
fi

# primgr.ini keys beyond the harness's (none by default; e.g. log.level=debug)
read -r -a PRIMGR_INI <<<"${CHAOS_PRIMGR_INI:-}"

echo "# chaos: $CYCLES cycle(s), seed $SEED (replay: $0 -n $CYCLES --seed $SEED)"
cluster_require cc
ha_require
primgr_require

cluster_init 3 --pg-conf "track_commit_timestamp = on" || bail_out "cluster_init 3"
primgr_start_all "${PRIMGR_INI[@]}" || bail_out "primgr starts on every node"
writer_build || bail_out "pgwriter builds (cc, libpq-dev)"
writer_table 1 || bail_out "the writer's table on node1"
ha_start || bail_out "haproxy starts from the shipped configuration"

poll_start || bail_out "statepoll builds (cc) and starts"
plot_init

# --- the run ---------------------------------------------------------------------------------
if wait_for 30 healthy; then
	diag "cluster healthy: node$CT_PRIMARY primary, haproxy routes writes to it"
else
	bail_out "the new cluster is not healthy ($(ha_view pg_write))"
fi
writer_start 20
wait_for 10 eval '[ -n "$(writer_first "${NODE_PORT[CT_PRIMARY]}")" ]' ||
	bail_out "the writer does not commit through haproxy"
sleep 1

declare -a R_OK R_FAULT R_TARGET R_ROWS R_SBW R_LAG R_LOST R_DUAL R_OUT R_HEAL R_NOTES
T_START=$(now_ms)
t0=$T_START
for ((c = 1; c <= CYCLES; c++)); do
	f=${PLAN_FAULT[c]}
	NOTES='' TARGET=
	ROWS=$CT_DIR/rows-$c
	: >"$ROWS"
	diag "cycle $c/$CYCLES: $f (primary node$CT_PRIMARY)"
	t_fault=$(now_ms)
	CF=0
	"fault_$f" "${PLAN_PICK[c]}" "${PLAN_MS[c]}" || CF=1
	plot_fault "$t_fault" "$(now_ms)" "$f $TARGET"
	# heal: one agreed primary, the others standbys, haproxy routing to it, commits on it
	if wait_for 60 healthy &&
		wait_for 15 eval '[ -n "$(writer_first "${NODE_PORT[CT_PRIMARY]}" "$(($(now_ms) - 500))")" ]'; then
		R_HEAL[c]=$(($(now_ms) - t_fault))
	else
		R_HEAL[c]=-
		note "not healthy 60 s after the fault: $(ha_view pg_write);$(for i in $(data_nodes); do
			printf ' node%s %s' "$i" "$(http_code "$i" /state)"; done)"
		CF=1
	fi
	sleep 1
	t1=$(now_ms)
	for i in $(data_nodes); do own_rows "$i" "$t0"; done
	j=$(judge "$t0" "$t1" "$POLL_LOG" "$ROWS" "$WRITER_LOG")
	read -r rows sbw lag lost dual <<<"$(head -n 1 <<<"$j")"
	R_ROWS[c]=$rows R_SBW[c]=$sbw R_LAG[c]=$lag R_LOST[c]=$lost R_DUAL[c]=$dual
	tail -n +2 <<<"$j" | head -n 20 | while IFS= read -r l; do diag "  $l"; done
	[ "${R_SBW[c]}" = 0 ] || CF=1
	R_OK[c]=yes
	[ "$CF" = 0 ] || { R_OK[c]=no; FAILED=1; }
	R_OUT[c]=$(outage "$t0" "$t1")
	R_FAULT[c]=$f R_TARGET[c]=$TARGET R_NOTES[c]=$NOTES
	diag "cycle $c: $f $TARGET: ${R_ROWS[c]} rows, ${R_SBW[c]} split-brain, ${R_LAG[c]} lag, ${R_LOST[c]} lost, outage ${R_OUT[c]} ms, healthy after ${R_HEAL[c]} ms"
	[ "${R_HEAL[c]}" = - ] && break
	t0=$t1
done
T_END=$(now_ms)
writer_stop
poll_stop

# --- summary -----------------------------------------------------------------------------------
echo
echo "# chaos summary (seed $SEED, grace ${GRACE_MS} ms)"
# fixed columns first (tests/integration/chaos.sh reads them), then the free text
fmt='%5s  %-10s  %5s  %9s  %4s  %4s  %9s  %7s  %9s  %3s  %s\n'
# shellcheck disable=SC2059 # the format is ours
printf "$fmt" cycle fault rows sb-writes lag lost outage_ms dual_ms healed_ms ok "target; notes"
tot_rows=0 tot_sbw=0 tot_lag=0 tot_lost=0 max_out=0 max_c=0 done_c=0
for ((c = 1; c <= CYCLES; c++)); do
	[ -n "${R_FAULT[c]:-}" ] || continue
	done_c=$c
	# shellcheck disable=SC2059
	printf "$fmt" "$c" "${R_FAULT[c]}" "${R_ROWS[c]}" "${R_SBW[c]}" "${R_LAG[c]}" \
		"${R_LOST[c]}" "${R_OUT[c]}" "${R_DUAL[c]}" "${R_HEAL[c]}" "${R_OK[c]}" \
		"${R_TARGET[c]}${R_NOTES[c]:+; ${R_NOTES[c]}}"
	tot_rows=$((tot_rows + R_ROWS[c])) tot_sbw=$((tot_sbw + R_SBW[c]))
	tot_lag=$((tot_lag + R_LAG[c])) tot_lost=$((tot_lost + R_LOST[c]))
	[ "${R_OUT[c]}" -gt "$max_out" ] && max_out=${R_OUT[c]} max_c=$c
done
# how fine the verdict timeline was: the gaps between one node's consecutive polls
mapfile -t gaps < <(awk -v u="$(state_url 1)" '$2 == u { if (l) print $1 - l; l = $1 }' \
	"$POLL_LOG" | sort -n)
if [ ${#gaps[@]} -gt 0 ]; then
	echo "# /state polls per node: ${#gaps[@]}, gap median ${gaps[${#gaps[@]} / 2]} ms," \
		"p99 ${gaps[${#gaps[@]} * 99 / 100]} ms, max ${gaps[${#gaps[@]} - 1]} ms"
fi
verdict=FAIL
if [ "$FAILED" -eq 0 ] && [ "$done_c" -eq "$CYCLES" ]; then verdict=PASS; fi
plot_draw "$PLOT" "tests/chaos/run.sh -n $CYCLES --seed $SEED: $tot_rows rows, $tot_sbw split-brain writes, $tot_lag in haproxy's reaction window" "$POLL_LOG"
echo "chaos $verdict: $done_c/$CYCLES cycles in $(((T_END - T_START) / 1000)) s, seed $SEED," \
	"$tot_rows rows, $tot_sbw split-brain writes, $tot_lag in haproxy's reaction window," \
	"$tot_lost acknowledged and lost, longest outage ${max_out} ms (cycle $max_c${R_FAULT[max_c]:+ ${R_FAULT[max_c]}})"
[ "$verdict" = PASS ]

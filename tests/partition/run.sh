#!/bin/bash
# tests/partition/run.sh: network partitions on a real 3-node repmgr cluster whose nodes each
# live in a network namespace of their own (tests/lib/netns.sh), with primgr on every node
# and a real haproxy (the shipped haproxy/primgr.cfg) in front, in the hub namespace with
# the writer and the pollers (GitHub issue 18). Needs root, ip netns and nft.
#
#   tests/partition/run.sh [-n CYCLES] [--seed S] [--grace MS] [--witness] [--faults F,F,...]
#                          [--plot PNG]
#
# Each cycle applies one fault, heals the network, then waits until the cluster is healthy
# again (one node's /state says Primary, the others Standby and streaming from it, haproxy's
# pg_write routes to that node only, and the writer commits there). Faults come from a
# shuffled bag (every fault once per bag, in a random order; --seed replays a run), or, with
# --faults, in the order given, repeated. Network faults (nftables drops: a connect hangs):
#
#   minority    isolate_from_peers on the primary: haproxy and clients still reach it, its
#               peers do not. After a repmgrd-like detection time (2-5 s, from the plan) a
#               standby on the majority side is promoted and the other follows; the old
#               primary keeps running, writable and reachable by haproxy, for 2-4 s more,
#               then the partition heals and it is rejoined (node rejoin --force-rewind)
#   isolated    the same, the primary cut from haproxy and clients too (isolate)
#   oneway_out  the same, but only the packets from the primary to its peers are lost
#   oneway_in   the same, but only the packets from its peers to the primary are lost
#   standby     isolate a standby for 3-8 s (the primary keeps its quorum: it must stay
#               Primary throughout)
#   witness     (--witness only) isolate the witness for 3-8 s (same check)
#   flapping    the primary's links to its peers cut and healed every 0.5-3 s for 20 s; no
#               failover
#   promotecut  minority, but the other standby is cut off (isolate) while the promote
#               runs: no node may be Primary until that standby is back and follows
#   + the process faults of tests/chaos/run.sh: failover splitbrain rejoin dbkill
#     primgrkill blackhole
#
# Judged as in tests/chaos (tests/chaos/lib.sh): every row committed in the cycle (each
# node's table, read before a rewind erases it, plus the rows the writer saw acknowledged)
# against the verdict timeline of a poller in the hub: split-brain writes (must be 0), rows
# in haproxy's reaction window (lag), acknowledged rows lost, the longest write outage. Also,
# for the faults that cut the primary from its peers, the detection time: from just before
# the nft command that cuts it to the making of its first non-Primary verdict (a second
# poller inside each node's own namespace reads /state every 50 ms, and the reply's age_ms
# dates the verdict). It must be at most refresh_interval + peer_timeout (DETECT_BOUND_MS);
# "seen" is when that poller first saw it. Must never happen, watched for the whole window:
# the old primary says Primary again after it lost its peers (until it is rejoined); a
# node other than the primary says Primary while a standby or the witness is cut off, or the
# primary stops saying Primary then; any node says Primary while promotecut leaves none with
# a quorum; two nodes say Primary at once for longer than refresh_interval + peer_timeout.
# During flapping, the primary's verdict may change at most once per refresh (the number of
# changes and the shortest time between two are reported).
#
# Prints one line per cycle, a summary table, the distributions (median, p95, max) of the
# detection time and of the write outage per fault, and a final line
#   partition PASS: N/N cycles in S s, seed S, R rows, 0 split-brain writes, ...
# Exits 1 when any row is a split-brain write, a cycle does not heal or breaks a rule above;
# 77 when network namespaces cannot be used here. KEEP_TMP=1 keeps the temp dir;
# PARTITION_PRIMGR_INI="section.key=value ..." adds primgr.ini keys. The run's timeline
# (tests/chaos/plot.sh: every node's verdict as the hub and the node's own poller saw it,
# every row where it landed, the faults) is drawn into --plot PNG, by default
# partition-SEED.png in the current directory.
# shellcheck source-path=SCRIPTDIR disable=SC2016
# (SC2016: the single-quoted strings given to eval expand when evaluated, on purpose)

usage() {
	echo "usage: $0 [-n CYCLES] [--seed S] [--grace MS] [--witness] [--faults F,F,...] [--plot PNG]" >&2
	exit 64
}

CYCLES=20
SEED=
GRACE_MS=1000
WITNESS=0
FAULT_LIST=
PLOT=
ARGS=() # the arguments without --seed
while [ $# -gt 0 ]; do
	case "$1" in
	-n) CYCLES=${2:-}; ARGS+=("$1" "$CYCLES"); shift ;;
	--seed) SEED=${2:-}; shift ;;
	--grace) GRACE_MS=${2:-}; ARGS+=("$1" "$GRACE_MS"); shift ;;
	--witness) WITNESS=1; ARGS+=("$1") ;;
	--faults) FAULT_LIST=${2:-}; ARGS+=("$1" "$FAULT_LIST"); shift ;;
	--plot) PLOT=${2:-}; [ -n "$PLOT" ] || usage; shift ;;
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
PLOT=${PLOT:-partition-$SEED.png}

NET_FAULTS=(minority isolated oneway_out oneway_in standby flapping promotecut)
[ "$WITNESS" = 1 ] && NET_FAULTS+=(witness)
PROC_FAULTS=(failover splitbrain rejoin dbkill primgrkill blackhole)
if [ -n "$FAULT_LIST" ]; then
	IFS=, read -r -a FAULTS <<<"$FAULT_LIST"
	for f in "${FAULTS[@]}"; do
		case " ${NET_FAULTS[*]} ${PROC_FAULTS[*]} " in *" $f "*) ;; *) echo "unknown fault $f" >&2; usage ;; esac
	done
else
	FAULTS=("${NET_FAULTS[@]}" "${PROC_FAULTS[@]}")
fi

# primgr's own defaults (as tests/chaos/run.sh): the outages are what users get.
# shellcheck source=../lib/shipped.sh
. "$(dirname "$0")/../lib/shipped.sh"
DETECT_BOUND_MS=$(($(duration_ms "$CT_REFRESH") + $(duration_ms "$CT_PEER_TIMEOUT")))
REFRESH_MS=$(duration_ms "$CT_REFRESH")
PEER_TIMEOUT_MS=$(duration_ms "$CT_PEER_TIMEOUT")

# shellcheck source=../lib/netns.sh
. "$(dirname "$0")/../lib/netns.sh"

if ! netns_usable; then
	echo "partition SKIP: $NETNS_WHY"
	exit 77
fi
[ -z "${PGM_NETNS:-}" ] && echo "# partition: $CYCLES cycle(s), seed $SEED (replay: $0 ${ARGS[*]} --seed $SEED)"
# from here on, in the hub namespace (the outer run waits, then deletes the namespaces)
netns_enter "$0" "${ARGS[@]}" --seed "$SEED" --plot "$PLOT"

# shellcheck source=../chaos/lib.sh
. "$(dirname "$0")/../chaos/lib.sh"

# --- the plan, drawn from the seed before anything else uses $RANDOM ---------------------------
declare -a PLAN_FAULT PLAN_PICK PLAN_MS PLAN_MS2 PLAN_FLAP
RANDOM=$SEED
bag=()
for ((c = 1; c <= CYCLES; c++)); do
	if [ -n "$FAULT_LIST" ]; then
		PLAN_FAULT[c]=${FAULTS[(c - 1) % ${#FAULTS[@]}]}
	else
		if [ ${#bag[@]} -eq 0 ]; then
			bag=("${FAULTS[@]}")
			for ((k = ${#bag[@]} - 1; k > 0; k--)); do
				j=$((RANDOM % (k + 1)))
				t=${bag[k]} bag[k]=${bag[j]} bag[j]=$t
			done
		fi
		PLAN_FAULT[c]=${bag[0]}
		bag=("${bag[@]:1}")
	fi
	PLAN_PICK[c]=$RANDOM
	case "${PLAN_FAULT[c]}" in
	blackhole) PLAN_MS[c]=$((2000 + RANDOM % 4001)) ;;
	minority | isolated | oneway_out | oneway_in | promotecut) PLAN_MS[c]=$((2000 + RANDOM % 3001)) ;;
	standby | witness) PLAN_MS[c]=$((3000 + RANDOM % 5001)) ;;
	*) PLAN_MS[c]=$((1000 + RANDOM % 3001)) ;;
	esac
	PLAN_MS2[c]=$((2000 + RANDOM % 2001))
	# flapping: cut/heal durations of 0.5-3 s, 20 s in all
	PLAN_FLAP[c]=$(for ((k = 0, s = 0; s < 20000; k++)); do
		d=$((500 + RANDOM % 2501))
		echo "$d"
		s=$((s + d))
	done | tr '\n' ' ')
done

# --- helpers ---------------------------------------------------------------------------------
ms_sleep() { sleep "$(awk -v m="$1" 'BEGIN { printf "%.3f", (m > 0 ? m : 0) / 1000 }')"; }
# sleep_until MS: until the wall clock (ms) reaches MS.
sleep_until() { ms_sleep $(($1 - $(now_ms))); }

# The detectors: statepoll -a inside each node's namespace on that node's own address, every
# 50 ms; DET_LOG[i] has "ms URL code made_ms" lines. Started once, for the whole run.
declare -a DET_LOG
det_start() {
	local i
	for i in $(all_nodes); do
		DET_LOG[i]=$CT_DIR/det-node$i.log
		# not through node_exec: $! must be the poller itself (ip execs it), for the cleanup
		ip netns exec "$(node_ns "$i")" "$STATEPOLL" -a -i 50 -t 400 \
			"$(node_host "$i"):${NODE_HTTP[i]}" >"${DET_LOG[i]}" 2>&1 </dev/null &
		CT_BG_PIDS+=("$!")
	done
}

# det_first_not_primary I FROM_MS: "made seen" of node I's first answered non-Primary verdict
# polled at or after FROM_MS (empty when none yet).
det_first_not_primary() {
	awk -v a="$2" '$1 >= a && $3 != "200" && $3 != "000" && $4 != "-" { print $4, $1; exit }' "${DET_LOG[$1]}"
}

# det_count I CODE FROM_MS TO_MS: node I's polls answering CODE in the window.
det_count() {
	awk -v c="$2" -v a="$3" -v b="$4" '$1 >= a && $1 <= b && $3 == c { n++ } END { print n + 0 }' "${DET_LOG[$1]}"
}

# det_not_primary_count I FROM_MS TO_MS: node I's answered polls that were not Primary.
det_not_primary_count() {
	awk -v a="$2" -v b="$3" '$1 >= a && $1 <= b && $3 != "200" && $3 != "000" { n++ } END { print n + 0 }' "${DET_LOG[$1]}"
}

# det_dual FROM_MS TO_MS: the longest stretch (ms) in which two nodes' own pollers both saw
# Primary (verdict made-times from age_ms; each node's state holds until its next answer).
det_dual() {
	local i files=()
	for i in $(data_nodes); do files+=("${DET_LOG[i]}"); done
	sort -n -k1,1 "${files[@]}" | awk -v a="$1" -v b="$2" '
		$3 == "000" || $4 == "-" { next }
		{
			cur[$2] = ($3 == "200")
			n = 0; for (u in cur) n += cur[u]
			if ($1 >= a && $1 <= b) {
				if (n >= 2) { if (!start) start = $1; if ($1 - start > max) max = $1 - start }
				else start = 0
			}
		}
		END { print max + 0 }'
}

# det_changes I FROM_MS TO_MS: "N MIN_GAP_MS" - how often node I's verdict (Primary or not)
# changed in the window, and the shortest time between two changes (by verdict made-time).
det_changes() {
	awk -v a="$2" -v b="$3" '
		$3 == "000" || $4 == "-" { next }
		{
			p = ($3 == "200")
			if (seen && p != last && $4 >= a && $4 <= b && $4 != lastmade) {
				n++
				if (prev && (min == "" || $4 - prev < min)) min = $4 - prev
				prev = $4
			}
			seen = 1; last = p; lastmade = $4
		}
		END { print n + 0, (min == "" ? "-" : min) }' "${DET_LOG[$1]}"
}

# gone T0 T1: acknowledged rows committed in [T0, T1] that the primary does not have now
# (rewound off an old primary, or lost by an immediate stop: asynchronous replication).
gone() {
	local first
	first=$(awk -v a="$1" 'NF == 3 && $2 != "ERR" && $3 >= a { print $1; exit }' "$WRITER_LOG")
	[ -n "$first" ] || { echo 0; return; }
	node_psql_db "$CT_PRIMARY" postgres "SELECT n FROM primgr_writes WHERE n >= $first" 2>/dev/null |
		awk -v a="$1" -v b="$2" 'FILENAME == "-" { have[$1] = 1; next }
			NF == 3 && $2 != "ERR" && $3 >= a && $3 <= b && !($1 in have) { n++ }
			END { print n + 0 }' - "$WRITER_LOG"
}

# timeline: TIMELINE, the hub's poll log and the data nodes' own pollers, by time.
timeline() {
	local i files=("$POLL_LOG")
	TIMELINE=$CT_DIR/timeline.log
	for i in $(data_nodes); do files+=("${DET_LOG[i]}"); done
	sort -s -n -k1,1 "${files[@]}" >"$TIMELINE"
}

# detect OLD: waits (20 s) for OLD's first non-Primary verdict after the cut and records
# DETECT_MS (from NETNS_CUT_MS, when the nft command that completed the cut had returned, to
# the making of that verdict), SEEN_MS (to the poll that first saw it) and CUT_WIN_MS (how
# long that nft command took: the cut came into force at most that much before
# NETNS_CUT_MS); a verdict later than DETECT_BOUND_MS fails the cycle.
detect() {
	local old=$1 r made seen
	if ! wait_for 20 eval '[ -n "$(det_first_not_primary "$old" "$NETNS_CUT_FROM_MS")" ]'; then
		note "node$old still says Primary 20 s after it was cut from its peers"
		CF=1
		return 1
	fi
	r=$(det_first_not_primary "$old" "$NETNS_CUT_FROM_MS")
	made=${r% *} seen=${r#* }
	DETECT_MS=$((made - NETNS_CUT_MS))
	SEEN_MS=$((seen - NETNS_CUT_MS))
	CUT_WIN_MS=$((NETNS_CUT_MS - NETNS_CUT_FROM_MS))
	T_DETECT=$made
	diag "  node$old: first non-Primary verdict made ${DETECT_MS} ms after the cut (seen by its poller after ${SEEN_MS} ms; the nft command took ${CUT_WIN_MS} ms; bound ${DETECT_BOUND_MS} ms)"
	if [ "$DETECT_MS" -gt "$DETECT_BOUND_MS" ]; then
		note "detection ${DETECT_MS} ms > refresh_interval + peer_timeout = ${DETECT_BOUND_MS} ms"
		CF=1
	fi
}

# lsn_num LSN: "0/5023350" as a number.
lsn_num() {
	local hi=${1%/*} lo=${1#*/}
	[[ "$hi" =~ ^[0-9A-Fa-f]+$ && "$lo" =~ ^[0-9A-Fa-f]+$ ]] || { echo -1; return; }
	echo $((16#$hi * 4294967296 + 16#$lo))
}

# promote_pick PICK: the standby repmgrd would promote: the one that received the most WAL
# (the others can then follow it: a standby ahead of the new primary's fork point cannot);
# among equals, the plan's pick.
promote_pick() {
	local pick=$1 k l best=-1 cands=() sb=()
	mapfile -t sb < <(standbys)
	for k in "${sb[@]}"; do
		l=$(lsn_num "$(node_psql "$k" "SELECT coalesce(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())" 2>/dev/null)")
		if [ "$l" -gt "$best" ]; then best=$l cands=("$k"); elif [ "$l" -eq "$best" ]; then cands+=("$k"); fi
	done
	echo "${cands[$((pick % ${#cands[@]}))]}"
}

# promote_to J [SKIP]: `repmgr standby promote` of J (it cannot reach the old primary: it
# waits out connect_timeout), then `standby follow` of every other running data node but the
# old primary and SKIP.
promote_to() {
	local j=$1 skip=${2:-} old=$CT_PRIMARY k
	ct_run "node$j standby promote" "$REPMGR" -f "$(node_conf "$j")" standby promote || return 1
	CT_PRIMARY=$j
	NODE_TYPE[old]=primary-old
	NODE_TYPE[j]=primary
	for k in $(data_nodes); do
		[ "$k" = "$j" ] || [ "$k" = "$old" ] || [ "$k" = "$skip" ] && continue
		follow "$k" "$j" || return 1
	done
	witness_sync_all
}

# follow K J: `standby follow` of K to J; if K cannot (it is past J's fork point), a rejoin
# (or a clone), as an operator would do.
follow() {
	node_running "$1" || return 0
	if ct_run "node$1 standby follow" "$REPMGR" -f "$(node_conf "$1")" standby follow \
		--upstream-node-id="$2"; then
		node_track "$1"
		return 0
	fi
	note "node$1 cannot follow node$2, rejoined"
	rejoin_or_clone "$1" "$2"
}

# old_stays_down OLD FROM: OLD's own poller never saw Primary from FROM until now (it lost
# its peers; a Primary now would be a second primary).
old_stays_down() {
	local n
	n=$(det_count "$1" 200 "$2" "$(now_ms)")
	[ "$n" = 0 ] || { note "node$1 said Primary $n time(s) after it lost its peers"; CF=1; }
}

# --- the network faults: each sets TARGET --------------------------------------------------------
# cut_primary KIND OLD: the cut of the minority-primary family.
cut_primary() {
	local old=$2 k peers
	case "$1" in
	minority) isolate_from_peers "$old" ;;
	isolated) isolate "$old" ;;
	oneway_out)
		# cut once the last peer stops hearing it
		for k in $(netns_others "$old"); do netns_drop "$k" "$old" || return 1; done
		netns_cut_done
		;;
	oneway_in)
		mapfile -t peers < <(netns_others "$old")
		netns_drop "$old" "${peers[@]}" && netns_cut_done
		;;
	esac
}

# minority-primary family: cut, detection, a repmgrd-like wait, promote + follow on the
# majority side, the old primary left running for PLAN_MS2, heal, rejoin.
net_minority() {
	local kind=$1 old=$CT_PRIMARY new t_cut
	cut_primary "$kind" "$old" || { note "the cut failed"; return 1; }
	t_cut=$NETNS_CUT_MS
	detect "$old"
	sleep_until $((t_cut + $3))
	new=$(promote_pick "$2")
	TARGET="node$old (primary), node$new promoted after ${3}ms"
	promote_to "$new" || { note "promote of node$new failed"; heal; return 1; }
	# the old primary runs on, writable (and, but for "isolated", reachable by haproxy)
	ms_sleep "$4"
	[ "$(node_in_recovery "$old")" = f ] || note "node$old was not a running primary during the partition"
	old_stays_down "$old" "$T_DETECT"
	heal
	# healed: its peers name node$new, so it must stay non-Primary until it is rejoined
	wait_for 10 eval '[ "$(http_code "$old" /state)" = 509 ]' ||
		{ note "node$old /state is $(http_code "$old" /state) after the heal, not 509"; CF=1; }
	own_rows "$old" "$t_cut"
	old_stays_down "$old" "$T_DETECT"
	rejoin_or_clone "$old" "$new" || { note "node$old does not come back"; return 1; }
}

fault_minority() { net_minority minority "$@"; }
fault_isolated() { net_minority isolated "$@"; }
fault_oneway_out() { net_minority oneway_out "$@"; }
fault_oneway_in() { net_minority oneway_in "$@"; }

# standby / witness: cut off for PLAN_MS; the primary keeps its quorum and must stay Primary,
# and no other node may say Primary.
net_cut_voter() {
	local v=$1 ms=$2 p=$CT_PRIMARY t_cut t_end k n
	isolate "$v" || { note "the cut failed"; return 1; }
	t_cut=$NETNS_CUT_MS
	ms_sleep "$ms"
	t_end=$(now_ms)
	heal
	# the verdict made before the cut may be answered for one more refresh: from then on
	n=$(det_not_primary_count "$p" "$((t_cut + REFRESH_MS + PEER_TIMEOUT_MS))" "$t_end")
	[ "$n" = 0 ] || { note "primary node$p was not Primary $n time(s) while ${NODE_NAME[v]} was cut off"; CF=1; }
	for k in $(data_nodes); do
		[ "$k" = "$p" ] && continue
		n=$(det_count "$k" 200 "$t_cut" "$t_end")
		[ "$n" = 0 ] || { note "node$k said Primary $n time(s) while ${NODE_NAME[v]} was cut off"; CF=1; }
	done
}

fault_standby() {
	local s
	s=$(pick_of "$1" standbys)
	TARGET="node$s ${2}ms"
	net_cut_voter "$s" "$2"
}

fault_witness() {
	local w
	w=$(all_nodes | while read -r k; do [ "${NODE_TYPE[k]}" = witness ] && echo "$k"; done | head -n 1)
	TARGET="${NODE_NAME[w]} ${2}ms"
	net_cut_voter "$w" "$2"
}

# flapping: the primary's peer links cut and healed in turn (durations from the plan); no
# failover. Its verdict may change at most once per refresh.
fault_flapping() {
	local p=$CT_PRIMARY d cut=1 t0 t1 n gap k first=1
	TARGET="node$p (primary) 20 s"
	t0=$(now_ms)
	for d in $PLAN_FLAP_C; do
		[ $(($(now_ms) - t0)) -lt 20000 ] || break
		if [ "$cut" = 1 ]; then
			isolate_from_peers "$p" || { note "the cut failed"; heal; return 1; }
			if [ "$first" = 1 ]; then
				first=0
				detect "$p"
			fi
		else
			heal
		fi
		cut=$((1 - cut))
		sleep_until $(($(now_ms) + d))
	done
	heal
	t1=$(now_ms)
	read -r n gap <<<"$(det_changes "$p" "$t0" "$((t1 + REFRESH_MS + PEER_TIMEOUT_MS))")"
	diag "  node$p: verdict changed $n time(s) in $(((t1 - t0) / 1000)) s of flapping, shortest gap $gap ms"
	note "verdict changed $n times, shortest gap ${gap} ms"
	# two cycle ends are at least refresh_interval - peer_timeout apart (less the jitter of
	# the local probe, whose time one cycle has and the other not)
	if [ "$gap" != - ] && [ "$gap" -lt $((REFRESH_MS - PEER_TIMEOUT_MS - 200)) ]; then
		note "two verdict changes ${gap} ms apart: faster than one per refresh"
		CF=1
	fi
	for k in $(data_nodes); do
		[ "$k" = "$p" ] && continue
		n=$(det_count "$k" 200 "$t0" "$t1")
		[ "$n" = 0 ] || { note "node$k said Primary $n time(s) during the flapping"; CF=1; }
	done
}

# promotecut: minority, then the other standby is cut off (isolate) while the promote runs.
# Nobody has a quorum until it is back: no node may say Primary. Then it comes back and
# follows, the new primary gets its vote, the old primary's cut heals, it is rejoined.
fault_promotecut() {
	local old=$CT_PRIMARY new other k t_cut t_quiet t_back pid rc n
	isolate_from_peers "$old" || { note "the cut failed"; return 1; }
	t_cut=$NETNS_CUT_MS
	detect "$old"
	sleep_until $((t_cut + $2))
	new=$(promote_pick "$1")
	for k in $(standbys); do [ "$k" = "$new" ] || other=$k; done
	TARGET="node$old (primary), node$new promoted after ${2}ms, node$other cut during it"
	ct_run "node$new standby promote" "$REPMGR" -f "$(node_conf "$new")" standby promote &
	pid=$!
	ms_sleep 300
	NETNS_TAG=standby isolate "$other" || { note "the cut of node$other failed"; }
	wait "$pid"
	rc=$?
	[ "$rc" = 0 ] || { note "promote of node$new failed (exit $rc)"; heal; return 1; }
	CT_PRIMARY=$new
	NODE_TYPE[old]=primary-old
	NODE_TYPE[new]=primary
	witness_sync_all
	# from one verdict after the cut of the other standby: nobody may say Primary
	t_quiet=$((NETNS_CUT_MS + REFRESH_MS + PEER_TIMEOUT_MS))
	ms_sleep "$3"
	t_back=$(now_ms)
	for k in $(data_nodes); do
		n=$(det_count "$k" 200 "$t_quiet" "$t_back")
		[ "$n" = 0 ] || { note "node$k said Primary $n time(s) while no node had a quorum"; CF=1; }
	done
	heal standby
	follow "$other" "$new" || { note "node$other does not follow node$new"; heal; return 1; }
	witness_sync_all
	old_stays_down "$old" "$T_DETECT"
	heal
	wait_for 10 eval '[ "$(http_code "$old" /state)" = 509 ]' ||
		{ note "node$old /state is $(http_code "$old" /state) after the heal, not 509"; CF=1; }
	own_rows "$old" "$t_cut"
	old_stays_down "$old" "$T_DETECT"
	rejoin_or_clone "$old" "$new" || { note "node$old does not come back"; return 1; }
}

# --- the run ---------------------------------------------------------------------------------
read -r -a PRIMGR_INI <<<"${PARTITION_PRIMGR_INI:-}"

echo "# partition: in namespaces ${NETNS_P}h (hub, 198.18.0.2) and ${NETNS_P}n1..n$NETNS_NODES"
cluster_require cc nft
ha_require
primgr_require

wit=()
[ "$WITNESS" = 1 ] && wit=(--witness)
cluster_init 3 "${wit[@]}" --pg-conf "track_commit_timestamp = on" || bail_out "cluster_init 3"
primgr_start_all "${PRIMGR_INI[@]}" || bail_out "primgr starts on every node"
writer_build || bail_out "pgwriter builds (cc, libpq-dev)"
writer_table 1 || bail_out "the writer's table on node1"
ha_start || bail_out "haproxy starts from the shipped configuration"
poll_start || bail_out "statepoll builds (cc) and starts"
det_start
plot_init

if wait_for 60 healthy; then
	diag "cluster healthy: node$CT_PRIMARY primary, haproxy routes writes to it"
else
	bail_out "the new cluster is not healthy ($(ha_view pg_write))"
fi
writer_start 20
wait_for 10 eval '[ -n "$(writer_first "${NODE_PORT[CT_PRIMARY]}")" ]' ||
	bail_out "the writer does not commit through haproxy"
sleep 1

declare -a R_OK R_FAULT R_TARGET R_ROWS R_SBW R_LAG R_LOST R_DUAL R_OUT R_HEAL R_NOTES R_DET R_SEEN R_WIN R_GONE
T_START=$(now_ms)
t0=$T_START
for ((c = 1; c <= CYCLES; c++)); do
	f=${PLAN_FAULT[c]}
	NOTES='' TARGET='' DETECT_MS=- SEEN_MS=- CUT_WIN_MS=- T_DETECT=0
	PLAN_FLAP_C=${PLAN_FLAP[c]}
	ROWS=$CT_DIR/rows-$c
	: >"$ROWS"
	diag "cycle $c/$CYCLES: $f (primary node$CT_PRIMARY)"
	t_fault=$(now_ms)
	CF=0
	"fault_$f" "${PLAN_PICK[c]}" "${PLAN_MS[c]}" "${PLAN_MS2[c]}" || CF=1
	plot_fault "$t_fault" "$(now_ms)" "$f $TARGET"
	if [ -n "$(netns_rules)" ]; then
		note "rules left after the fault ($(netns_rules)): healed"
		heal
	fi
	if wait_for 90 healthy &&
		wait_for 15 eval '[ -n "$(writer_first "${NODE_PORT[CT_PRIMARY]}" "$(($(now_ms) - 500))")" ]'; then
		R_HEAL[c]=$(($(now_ms) - t_fault))
	else
		R_HEAL[c]=-
		note "not healthy 90 s after the fault: $(ha_view pg_write);$(for i in $(data_nodes); do
			printf ' node%s %s' "$i" "$(http_code "$i" /state)"; done)"
		CF=1
	fi
	sleep 1
	t1=$(now_ms)
	for i in $(data_nodes); do own_rows "$i" "$t0"; done
	# the verdict timeline: the hub's poller and each node's own (which sees it when cut off)
	timeline
	j=$(judge "$t0" "$t1" "$TIMELINE" "$ROWS" "$WRITER_LOG")
	read -r rows sbw lag lost _ <<<"$(head -n 1 <<<"$j")"
	R_ROWS[c]=$rows R_SBW[c]=$sbw R_LAG[c]=$lag R_LOST[c]=$lost R_GONE[c]=$(gone "$t0" "$t1")
	R_DUAL[c]=$(det_dual "$t0" "$t1")
	if [ "${R_DUAL[c]}" -gt "$DETECT_BOUND_MS" ]; then
		note "two nodes said Primary at once for ${R_DUAL[c]} ms"
		CF=1
	fi
	tail -n +2 <<<"$j" | head -n 20 | while IFS= read -r l; do diag "  $l"; done
	[ "${R_SBW[c]}" = 0 ] || CF=1
	R_OK[c]=yes
	[ "$CF" = 0 ] || { R_OK[c]=no; FAILED=1; }
	R_OUT[c]=$(outage "$t0" "$t1")
	R_DET[c]=$DETECT_MS R_SEEN[c]=$SEEN_MS R_WIN[c]=$CUT_WIN_MS
	R_FAULT[c]=$f R_TARGET[c]=$TARGET R_NOTES[c]=$NOTES
	diag "cycle $c: $f $TARGET: ${R_ROWS[c]} rows, ${R_SBW[c]} split-brain, ${R_LAG[c]} lag, ${R_LOST[c]} lost, ${R_GONE[c]} gone, outage ${R_OUT[c]} ms, detection ${R_DET[c]} ms, healthy after ${R_HEAL[c]} ms"
	[ "${R_HEAL[c]}" = - ] && break
	t0=$t1
done
T_END=$(now_ms)
writer_stop
poll_stop

# --- summary -----------------------------------------------------------------------------------
echo
echo "# partition summary (seed $SEED, grace ${GRACE_MS} ms, refresh_interval $CT_REFRESH, peer_timeout $CT_PEER_TIMEOUT)"
# fixed columns first (tests/integration/partition.sh reads them), then the free text
fmt='%5s  %-10s  %5s  %9s  %4s  %4s  %4s  %9s  %9s  %7s  %9s  %3s  %s\n'
# shellcheck disable=SC2059 # the format is ours
printf "$fmt" cycle fault rows sb-writes lag lost gone outage_ms detect_ms dual_ms healed_ms ok "target; notes"
tot_rows=0 tot_sbw=0 tot_lag=0 tot_lost=0 tot_gone=0 max_out=0 max_c=0 done_c=0
for ((c = 1; c <= CYCLES; c++)); do
	[ -n "${R_FAULT[c]:-}" ] || continue
	done_c=$c
	# shellcheck disable=SC2059
	printf "$fmt" "$c" "${R_FAULT[c]}" "${R_ROWS[c]}" "${R_SBW[c]}" "${R_LAG[c]}" \
		"${R_LOST[c]}" "${R_GONE[c]}" "${R_OUT[c]}" "${R_DET[c]}" "${R_DUAL[c]}" "${R_HEAL[c]}" "${R_OK[c]}" \
		"${R_TARGET[c]}${R_NOTES[c]:+; ${R_NOTES[c]}}"
	tot_rows=$((tot_rows + R_ROWS[c])) tot_sbw=$((tot_sbw + R_SBW[c]))
	tot_lag=$((tot_lag + R_LAG[c])) tot_lost=$((tot_lost + R_LOST[c])) tot_gone=$((tot_gone + R_GONE[c]))
	[ "${R_OUT[c]}" -gt "$max_out" ] && max_out=${R_OUT[c]} max_c=$c
done

# dist VALUES...: "n N, median M, p95 P, max X" (nearest rank)
dist() {
	printf '%s\n' "$@" | grep -E '^-?[0-9]+$' | sort -n | awk '
		{ v[++n] = $1 }
		END {
			if (!n) { print "n 0"; exit }
			m = v[int((n + 1) / 2)]; p = v[int(n * 0.95 + 0.999999)]; if (p == "") p = v[n]
			printf "n %d, median %d, p95 %d, max %d\n", n, m, p, v[n]
		}'
}
echo
echo "# distributions (ms; median and p95 by nearest rank)"
dets=() seens=() wins=()
for ((c = 1; c <= done_c; c++)); do
	[ "${R_DET[c]:--}" = - ] || { dets+=("${R_DET[c]}"); seens+=("${R_SEEN[c]}"); wins+=("${R_WIN[c]}"); }
done
echo "detection (cut in force -> first non-Primary verdict made, bound $DETECT_BOUND_MS): $(dist "${dets[@]}")"
echo "detection seen by a 50 ms poller in the node's namespace: $(dist "${seens[@]}")"
echo "the nft command that completed the cut took (the cut may predate it by that much): $(dist "${wins[@]}")"
for f in "${NET_FAULTS[@]}" "${PROC_FAULTS[@]}"; do
	outs=()
	for ((c = 1; c <= done_c; c++)); do [ "${R_FAULT[c]}" = "$f" ] && outs+=("${R_OUT[c]}"); done
	[ ${#outs[@]} -gt 0 ] && printf 'write outage %-10s %s\n' "$f:" "$(dist "${outs[@]}")"
done
mapfile -t gaps < <(awk -v u="$(state_url 1)" '$2 == u { if (l) print $1 - l; l = $1 }' \
	"$POLL_LOG" | sort -n)
if [ ${#gaps[@]} -gt 0 ]; then
	echo "# /state polls per node: ${#gaps[@]}, gap median ${gaps[${#gaps[@]} / 2]} ms," \
		"p99 ${gaps[${#gaps[@]} * 99 / 100]} ms, max ${gaps[${#gaps[@]} - 1]} ms"
fi
read -r dn dmed dmax <<<"$(dist "${dets[@]}" | awk '{ gsub(",", ""); print $2, ($4 == "" ? "-" : $4), ($8 == "" ? "-" : $8) }')"
verdict=FAIL
if [ "${FAILED:-0}" -eq 0 ] && [ "$done_c" -eq "$CYCLES" ]; then verdict=PASS; fi
timeline
plot_draw "$PLOT" "tests/partition/run.sh ${ARGS[*]} --seed $SEED: $tot_rows rows, $tot_sbw split-brain writes, $tot_lag in haproxy's reaction window" "$TIMELINE"
echo "partition $verdict: $done_c/$CYCLES cycles in $(((T_END - T_START) / 1000)) s, seed $SEED," \
	"$tot_rows rows, $tot_sbw split-brain writes, $tot_lag in haproxy's reaction window," \
	"$tot_lost acknowledged and lost ($tot_gone acknowledged and gone from the primary)," \
	"detection median ${dmed} ms max ${dmax} ms over $dn cut(s)" \
	"(bound $DETECT_BOUND_MS ms), longest outage ${max_out} ms (cycle $max_c${R_FAULT[max_c]:+ ${R_FAULT[max_c]}})"
[ "$verdict" = PASS ]

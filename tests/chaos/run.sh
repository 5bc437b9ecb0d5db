#!/bin/bash
# tests/chaos/run.sh: random faults on a real 3-node repmgr cluster with primgr on every node,
# behind a real haproxy configured from the shipped haproxy/primgr.cfg (GitHub issue 9).
#
#   tests/chaos/run.sh [-n CYCLES] [--seed S] [--grace MS]
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
# shellcheck source-path=SCRIPTDIR source=../lib/cluster.sh disable=SC2016
# (SC2016: the single-quoted strings given to eval expand when evaluated, on purpose)

usage() {
	echo "usage: $0 [-n CYCLES] [--seed S] [--grace MS] | --selftest" >&2
	exit 64
}

CYCLES=20
SEED=
GRACE_MS=1000
SELFTEST=0
while [ $# -gt 0 ]; do
	case "$1" in
	-n) CYCLES=${2:-}; shift ;;
	--seed) SEED=${2:-}; shift ;;
	--grace) GRACE_MS=${2:-}; shift ;;
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

# primgr's own defaults (as in tests/integration/haproxy.sh): the outages are what users get.
CT_REFRESH=${CT_REFRESH:-1s}
CT_DB_TIMEOUT=${CT_DB_TIMEOUT:-2s}
CT_STALE_AFTER=${CT_STALE_AFTER:-5s}
CT_PEER_TIMEOUT=${CT_PEER_TIMEOUT:-500ms}
. "$(dirname "$0")/../lib/cluster.sh"
# shellcheck source=../lib/haproxy.sh
. "$(dirname "$0")/../lib/haproxy.sh"

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

# --- helpers ---------------------------------------------------------------------------------
standbys() {
	local i
	for i in $(data_nodes); do [ "$i" = "$CT_PRIMARY" ] || echo "$i"; done
}
# pick_of PICK standbys|nodes: one standby (or any data node), chosen by the plan's number.
pick_of() {
	local l=()
	if [ "$2" = standbys ]; then mapfile -t l < <(standbys); else mapfile -t l < <(data_nodes); fi
	echo "${l[$(($1 % ${#l[@]}))]}"
}

# healthy: one agreed primary (CT_PRIMARY) and every other node a standby streaming from it,
# as primgr, PostgreSQL and haproxy see it.
healthy() {
	local i want=() code
	for i in $(data_nodes); do
		code=$(http_code "$i" /state)
		if [ "$i" = "$CT_PRIMARY" ]; then
			[ "$code" = 200 ] || return 1
			want+=("${NODE_NAME[i]}:UP")
		else
			[ "$code" = 202 ] || return 1
			want+=("${NODE_NAME[i]}:DOWN")
		fi
	done
	[ "$(ha_view pg_write)" = "${want[*]}" ] || return 1
	[ "$(node_psql "$CT_PRIMARY" "SELECT count(*) FROM pg_stat_replication
		WHERE state = 'streaming'" 2>/dev/null)" = $(($(data_nodes | wc -l) - 1)) ]
}

ROWS=
# own_rows I FROM_MS: the rows in node I's table (its own and those it replicated) committed
# since FROM_MS (a second earlier), as "n port commit_ms T" lines appended to $ROWS.
own_rows() {
	local i=$1
	node_running "$i" || return 0
	node_psql_db "$i" postgres "SELECT n, port, (extract(epoch FROM
			coalesce(pg_xact_commit_timestamp(xmin), at)) * 1000)::bigint, 'T'
		FROM primgr_writes WHERE at >= to_timestamp($2 / 1000.0 - 1)" 2>/dev/null | tr '|' ' ' >>"$ROWS"
}

NOTES=
note() {
	NOTES="${NOTES:+$NOTES; }$*"
	diag "  ! $*"
}
FAILED=0 # any cycle failed
CF=0     # this cycle failed

# rejoin_or_clone I J: `repmgr node rejoin --force-rewind` of node I to node J; when that fails,
# a fresh `standby clone` (what primgr's autostart does too). Seen twice: after a stop -m
# immediate, pg_rewind's crash recovery of the target (repmgr removes standby.signal for it)
# writes a checkpoint past the fork point, pg_rewind then copies nothing, and the node can
# never stream from J ("new timeline forked off ... before current recovery point"). That is
# repmgr/pg_rewind, not primgr: noted, and the cycle goes on.
rejoin_or_clone() {
	local i=$1 j=$2
	# rejoin may exit 0 and still leave a node that never streams (the case above)
	if CT_CMD_TIMEOUT=40 node_rejoin "$i" "$j"; then
		wait_for 30 eval '[ "$(node_psql "$i" "SELECT status FROM pg_stat_wal_receiver" \
			2>/dev/null)" = streaming ]' && return 0
		note "node$i rejoined but does not stream from node$j, cloned again"
	else
		note "rejoin of node$i failed, cloned again"
	fi
	node_stop "$i" immediate >/dev/null 2>&1
	rm -rf "$(node_data "$i")"
	ct_run "node$i standby clone" "$REPMGR" -f "$(node_conf "$i")" -h 127.0.0.1 \
		-p "${NODE_PORT[$j]}" -U repmgr -d repmgr --fast-checkpoint standby clone &&
		node_start "$i" &&
		ct_run "node$i standby register" "$REPMGR" -f "$(node_conf "$i")" standby register \
			--force --upstream-node-id="$j" || return 1
	NODE_TYPE[i]=standby
}

# --- the faults: each sets TARGET (what it hit) -------------------------------------------------
fault_failover() {
	local old=$CT_PRIMARY new
	new=$(pick_of "$1" standbys)
	TARGET="node$old->node$new"
	failover_to "$new" || { note "failover to node$new failed"; return 1; }
	rejoin_or_clone "$old" "$new" || { note "node$old does not come back"; return 1; }
}

fault_splitbrain() {
	local old=$CT_PRIMARY new t_sb up=0 st
	new=$(pick_of "$1" standbys)
	TARGET="node$old->node$new, node$old up"
	failover_to "$new" || { note "failover to node$new failed"; return 1; }
	t_sb=$(now_ms)
	start_as_primary "$old" || { note "node$old does not start as a primary"; return 1; }
	[ "$(node_in_recovery "$old")" = f ] || { note "node$old is not a primary after its start"; CF=1; }
	# for 5 s: haproxy must never route writes to it, primgr must never call it Primary
	while [ $(($(now_ms) - t_sb)) -lt 5000 ]; do
		st=$(ha_status pg_write "${NODE_NAME[old]}")
		[ "$st" = UP ] && up=$((up + 1))
		sleep 0.2
	done
	[ "$up" -eq 0 ] || { note "haproxy had node$old UP in pg_write $up time(s)"; CF=1; }
	# its verdict comes with a refresh or two: waited for, not read once
	wait_for 15 eval '[ "$(http_code "$old" /state)" = 509 ]'
	st=$(http_code "$old" /state)
	[ "$st" = 509 ] || { note "node$old /state $st during split brain, not 509"; CF=1; }
	st=$(awk -v u="http://127.0.0.1:${NODE_HTTP[old]}/state" -v t="$t_sb" \
		'$1 >= t && $2 == u && $3 == 200 { n++ } END { print n + 0 }' "$POLL_LOG")
	[ "$st" = 0 ] || { note "node$old /state said Primary $st time(s) during split brain"; CF=1; }
	# its own rows before the rewind erases them
	own_rows "$old" "$t_sb"
	rejoin_or_clone "$old" "$new" || { note "node$old does not come back"; return 1; }
}

fault_rejoin() {
	local s
	s=$(pick_of "$1" standbys)
	TARGET="node$s"
	node_stop "$s" fast || { note "stop of node$s failed"; return 1; }
	sleep "$(awk -v m="$2" 'BEGIN { printf "%.3f", m / 1000 }')"
	rejoin_or_clone "$s" "$CT_PRIMARY" || { note "node$s does not come back"; return 1; }
}

fault_dbkill() {
	local i
	i=$(pick_of "$1" nodes)
	TARGET="node$i$([ "$i" = "$CT_PRIMARY" ] && echo ' (primary)') ${2}ms"
	node_stop "$i" immediate || { note "stop of node$i failed"; return 1; }
	sleep "$(awk -v m="$2" 'BEGIN { printf "%.3f", m / 1000 }')"
	node_start "$i" || { note "start of node$i failed"; return 1; }
}

fault_primgrkill() {
	local i
	i=$(pick_of "$1" nodes)
	TARGET="node$i$([ "$i" = "$CT_PRIMARY" ] && echo ' (primary)') ${2}ms"
	primgr_kill "$i" KILL || { note "SIGKILL of primgr on node$i failed"; return 1; }
	NODE_PRIMGR_PID[i]=
	sleep "$(awk -v m="$2" 'BEGIN { printf "%.3f", m / 1000 }')"
	primgr_start "$i" "${PRIMGR_INI[@]}" || { note "primgr does not restart on node$i"; return 1; }
}

fault_blackhole() {
	local i
	i=$(pick_of "$1" nodes)
	TARGET="node$i$([ "$i" = "$CT_PRIMARY" ] && echo ' (primary)') ${2}ms"
	primgr_kill "$i" STOP || { note "SIGSTOP of primgr on node$i failed"; return 1; }
	sleep "$(awk -v m="$2" 'BEGIN { printf "%.3f", m / 1000 }')"
	primgr_kill "$i" CONT || { note "SIGCONT of primgr on node$i failed"; return 1; }
}

# judge T0 T1 POLL_LOG ROWS WRITER_LOG: judges the table rows (ROWS) and the writer's
# acknowledged rows committed in [T0, T1] against the poll timeline. Prints "rows sbw lag lost
# dual_ms" on the first line, then one line per split-brain or lag row for the record.
judge() {
	local ports=() map=() i
	for i in $(data_nodes); do
		ports+=("${NODE_PORT[i]}")
		map+=("http://127.0.0.1:${NODE_HTTP[i]}/state=${NODE_PORT[i]}")
	done
	awk -v t0="$1" -v t1="$2" -v grace="$GRACE_MS" -v ports="${ports[*]}" -v map="${map[*]}" '
		BEGIN {
			n = split(map, m, " ")
			for (i = 1; i <= n; i++) { eq = index(m[i], "="); pg[substr(m[i], 1, eq - 1)] = substr(m[i], eq + 1) }
		}
		FILENAME == ARGV[1] {            # poll log: ms URL code -> by the node'"'"'s PostgreSQL port
			if ($3 == "000" || $3 == "" || !($2 in pg)) next
			$2 = pg[$2]
			k = ++ns[$2]; st[$2, k] = $1; sc[$2, k] = $3
			if ($1 >= t0 - 10000 && $1 <= t1) { ev[++ne] = $1; evp[ne] = $2; evc[ne] = $3 }
			next
		}
		FILENAME == ARGV[2] {            # table rows: n port ms T
			if ($1 in seen) next
			seen[$1] = 1
			if ($3 < t0 || $3 > t1) next
			rn[++nr] = $1; rp[nr] = $2; rt[nr] = $3; rs[nr] = "T"
			next
		}
		{                                # writer log: n port ms | n ERR ms reason
			if (NF != 3 || $2 == "ERR" || $3 < t0 || $3 > t1) next
			acked[$1] = 1
			if ($1 in seen) next
			seen[$1] = 1; rn[++nr] = $1; rp[nr] = $2; rt[nr] = $3; rs[nr] = "W"
		}
		# last answered sample of port p at or before t (0 when none)
		function before(p, t,   lo, hi, mid) {
			lo = 1; hi = ns[p]
			if (hi == 0 || st[p, 1] > t) return 0
			while (lo < hi) { mid = int((lo + hi + 1) / 2); if (st[p, mid] <= t) lo = mid; else hi = mid - 1 }
			return lo
		}
		END {
			sbw = 0; lag = 0; lost = 0
			for (r = 1; r <= nr; r++) {
				p = rp[r]; t = rt[r]; k = before(p, t)
				verdict = k ? sc[p, k] : "none"
				if (verdict == "200") continue
				if (k < ns[p] && sc[p, k + 1] == "200" && st[p, k + 1] - t <= 500) continue
				last200 = 0
				for (j = k; j >= 1 && st[p, j] >= t - grace; j--)
					if (sc[p, j] == "200") { last200 = st[p, j]; break }
				kind = last200 ? "lag" : "split-brain"
				if (last200) lag++; else sbw++
				line[++nl] = sprintf("%s row %d on port %d at %d (%s): primgr said %s at %d%s", kind,
					rn[r], p, t, rs[r] == "T" ? "its table" : "acked, not in a table",
					verdict, k ? st[p, k] : 0, last200 ? sprintf(", Primary at %d", last200) : "")
			}
			for (r = 1; r <= nr; r++) if (rs[r] == "W") lost++
			# two nodes called Primary at once (answered samples; informational)
			n = split(ports, pp, " ")
			dual = 0; prev = 0
			for (e = 1; e <= ne; e++) {
				cnt = 0
				for (q = 1; q <= n; q++) cnt += (cur[pp[q]] == "200")
				if (cnt >= 2 && prev >= t0) dual += ev[e] - prev
				cur[evp[e]] = evc[e]; prev = ev[e]
			}
			print nr, sbw, lag, lost, dual
			for (l = 1; l <= nl; l++) print line[l]
		}' "$3" "$4" "$5"
}

# outage T0 T1: the largest gap (ms) between consecutive acknowledged commits from the last
# one before T0 to the last one before T1.
outage() {
	awk -v t0="$1" -v t1="$2" '
		NF == 3 && $2 != "ERR" {
			if ($3 < t0) { last = $3; next }
			if ($3 > t1) exit
			if (last && $3 - last > max) max = $3 - last
			last = $3
		}
		END { print max + 0 }' "$WRITER_LOG"
}

# selftest: judge on a made-up timeline, so that the check is known to be able to fail.
# node1 (PostgreSQL port 1001) is Primary until 5000 ms, then Unknown; node2 (1002) is a
# Standby until 6000 ms, then Primary, its primgr silent (000) from 8000 to 9000 ms.
selftest() {
	local d got expect='7 2 1 1 0'
	d=$(mktemp -d "${TMPDIR:-/tmp}/primgr-chaos-selftest.XXXXXX") || return 1
	CT_N=2 NODE_TYPE=(x primary standby) NODE_PORT=(x 1001 1002) NODE_HTTP=(x 2001 2002)
	awk 'BEGIN {
		for (t = 1000; t <= 10000; t += 100) {
			printf "%d http://127.0.0.1:2001/state %s\n", t, t < 5000 ? 200 : 509
			printf "%d http://127.0.0.1:2002/state %s\n", t, t < 6000 ? 202 : (t >= 8000 && t <= 9000) ? "000" : 200
		}
	}' >"$d/poll"
	# ok on node1 / lag / split-brain on node1 after the grace / ok just before node2 is seen
	# Primary / ok while node2's primgr is silent / split-brain on the standby
	printf '%s\n' "1 1001 4000 T" "2 1001 5500 T" "3 1001 7000 T" "4 1002 5950 T" \
		"5 1002 8500 T" "6 1002 3000 T" >"$d/rows"
	# acknowledged and in a table / acknowledged and lost (ok on node2) / a failure
	printf '%s\n' "1 1001 4001" "7 1002 7000" "8 ERR 7100 connection_refused" >"$d/writer"
	got=$(judge 1000 10000 "$d/poll" "$d/rows" "$d/writer")
	rm -rf "$d"
	diag "$got"
	[ "$(head -n 1 <<<"$got")" = "$expect" ] || { echo "# selftest: expected '$expect'"; return 1; }
	echo "# selftest passed: the judge finds 2 split-brain rows, 1 lag row, 1 lost row"
}
if [ "$SELFTEST" = 1 ]; then
	selftest
	exit
fi

# --- the verdict timeline: every node's /state every ~100 ms -----------------------------------
POLL_LOG=
# statepoll_build: tests/chaos/statepoll.c (one process polling every primgr's /state) into
# $CT_DIR/bin, where the harness's programs live.
statepoll_build() {
	STATEPOLL=$CT_DIR/bin/statepoll
	[ -x "$STATEPOLL" ] || ${CC:-cc} -O2 -o "$STATEPOLL" "$(dirname "$0")/statepoll.c"
}

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

statepoll_build || bail_out "statepoll builds (cc)"
POLL_LOG=$CT_DIR/poll.log
mapfile -t http_ports < <(for i in $(data_nodes); do echo "${NODE_HTTP[i]}"; done)
"$STATEPOLL" -i 100 -t 250 "${http_ports[@]}" >"$POLL_LOG" 2>&1 </dev/null &
POLL_PID=$!
CT_BG_PIDS+=("$POLL_PID")

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
kill -TERM "$POLL_PID" 2>/dev/null
wait "$POLL_PID" 2>/dev/null

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
mapfile -t gaps < <(awk -v u="http://127.0.0.1:${NODE_HTTP[1]}/state" '$2 == u { if (l) print $1 - l; l = $1 }' \
	"$POLL_LOG" | sort -n)
if [ ${#gaps[@]} -gt 0 ]; then
	echo "# /state polls per node: ${#gaps[@]}, gap median ${gaps[${#gaps[@]} / 2]} ms," \
		"p99 ${gaps[${#gaps[@]} * 99 / 100]} ms, max ${gaps[${#gaps[@]} - 1]} ms"
fi
verdict=FAIL
if [ "$FAILED" -eq 0 ] && [ "$done_c" -eq "$CYCLES" ]; then verdict=PASS; fi
echo "chaos $verdict: $done_c/$CYCLES cycles in $(((T_END - T_START) / 1000)) s, seed $SEED," \
	"$tot_rows rows, $tot_sbw split-brain writes, $tot_lag in haproxy's reaction window," \
	"$tot_lost acknowledged and lost, longest outage ${max_out} ms (cycle $max_c${R_FAULT[max_c]:+ ${R_FAULT[max_c]}})"
[ "$verdict" = PASS ]

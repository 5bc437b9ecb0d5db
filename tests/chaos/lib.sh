# shellcheck shell=bash disable=SC2016,SC2034
# (SC2016: the single-quoted strings given to eval expand when evaluated, on purpose; SC2034:
# the variables set here are read by the scripts that source this file)
# tests/chaos/lib.sh: the parts of the chaos run that tests/chaos/run.sh and
# tests/partition/run.sh share: the health check, the row judge and the write outage, the
# process faults, the rejoin (or clone) of a node, the verdict timeline (statepoll) and its
# picture (plot.sh).
# Source it after tests/lib/cluster.sh and tests/lib/haproxy.sh. It reads GRACE_MS,
# POLL_LOG, WRITER_LOG and PRIMGR_INI from the script, and sets NOTES, TARGET, CF, ROWS.
CHAOS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
GRACE_MS=${GRACE_MS:-1000}

# state_url I: node I's /state URL as statepoll writes it in the poll log.
state_url() { echo "http://$(node_host "$1"):${NODE_HTTP[$1]}/state"; }

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
	ct_run "node$i standby clone" "$REPMGR" -f "$(node_conf "$i")" -h "$(node_host "$j")" \
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
	st=$(awk -v u="$(state_url "$old")" -v t="$t_sb" \
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
# dual_ms" on the first line, then one line per split-brain or lag row for the record. With
# JUDGE_MARKS set (plot_init), appends "ms state_url ok|lag|split-brain" per row to that file.
judge() {
	local ports=() map=() i
	for i in $(data_nodes); do
		ports+=("${NODE_PORT[i]}")
		map+=("$(state_url "$i")=${NODE_PORT[i]}")
	done
	awk -v t0="$1" -v t1="$2" -v grace="$GRACE_MS" -v ports="${ports[*]}" -v map="${map[*]}" \
		-v marks="${JUDGE_MARKS:-}" '
		BEGIN {
			n = split(map, m, " ")
			for (i = 1; i <= n; i++) {
				eq = index(m[i], "="); pg[substr(m[i], 1, eq - 1)] = substr(m[i], eq + 1)
				url[substr(m[i], eq + 1)] = substr(m[i], 1, eq - 1)
			}
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
				kind = "ok"
				if (verdict != "200" && !(k < ns[p] && sc[p, k + 1] == "200" && st[p, k + 1] - t <= 500)) {
					last200 = 0
					for (j = k; j >= 1 && st[p, j] >= t - grace; j--)
						if (sc[p, j] == "200") { last200 = st[p, j]; break }
					kind = last200 ? "lag" : "split-brain"
					if (last200) lag++; else sbw++
					line[++nl] = sprintf("%s row %d on port %d at %.0f (%s): primgr said %s at %.0f%s", kind,
						rn[r], p, t, rs[r] == "T" ? "its table" : "acked, not in a table",
						verdict, k ? st[p, k] : 0, last200 ? sprintf(", Primary at %.0f", last200) : "")
				}
				# every row for the timeline picture: "ms state_url kind"
				if (marks != "") printf "%.0f %s %s\n", t, url[p], kind >>marks
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

# --- the verdict timeline: every node's /state every ~100 ms -----------------------------------
POLL_LOG=
# statepoll_build: tests/chaos/statepoll.c (one process polling every primgr's /state) into
# $CT_DIR/bin, where the harness's programs live.
statepoll_build() {
	STATEPOLL=$CT_DIR/bin/statepoll
	[ -x "$STATEPOLL" ] || ${CC:-cc} -O2 -o "$STATEPOLL" "$CHAOS_DIR/statepoll.c"
}

# poll_start: statepoll of every data node's /state every 100 ms (250 ms
# timeout) into $CT_DIR/poll.log (POLL_LOG), in the background (POLL_PID).
poll_start() {
	local i targets=()
	statepoll_build || return 1
	POLL_LOG=$CT_DIR/poll.log
	for i in $(data_nodes); do targets+=("$(node_host "$i"):${NODE_HTTP[i]}"); done
	"$STATEPOLL" -i 100 -t 250 "${targets[@]}" >"$POLL_LOG" 2>&1 </dev/null &
	POLL_PID=$!
	CT_BG_PIDS+=("$POLL_PID")
}

# poll_stop: ends the poller.
poll_stop() {
	[ -n "${POLL_PID:-}" ] || return 0
	kill -TERM "$POLL_PID" 2>/dev/null
	wait "$POLL_PID" 2>/dev/null
	POLL_PID=
}

# --- the timeline picture: tests/chaos/plot.sh ---------------------------------------------------
# plot_init: the files it is drawn from, in $CT_DIR: plot-nodes (a lane per node), plot-marks
# (JUDGE_MARKS: judge's class of every row), plot-faults (plot_fault); the polls are the run's.
plot_init() {
	local i
	PLOT_NODES=$CT_DIR/plot-nodes PLOT_FAULTS=$CT_DIR/plot-faults JUDGE_MARKS=$CT_DIR/plot-marks
	: >"$PLOT_FAULTS"
	: >"$JUDGE_MARKS"
	for i in $(all_nodes); do echo "${NODE_NAME[i]} $(state_url "$i")"; done >"$PLOT_NODES"
}

# plot_fault START_MS END_MS LABEL...: one fault's span.
plot_fault() { echo "$*" >>"$PLOT_FAULTS"; }

# plot_draw PNG TITLE POLLS: draws the run's timeline into PNG. A picture that cannot be drawn
# (no gnuplot) is reported, and does not fail the run.
plot_draw() {
	if bash "$CHAOS_DIR/plot.sh" -o "$1" -t "$2" "$PLOT_NODES" "$3" "$JUDGE_MARKS" "$PLOT_FAULTS"; then
		echo "# timeline: $1"
	else
		echo "# timeline: not drawn"
	fi
}

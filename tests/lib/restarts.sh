# shellcheck shell=bash disable=SC2034,SC2016
# (SC2034: RS_* are read by the scripts that source this file; SC2016: single-quoted strings
# given to eval expand when evaluated)
# tests/lib/restarts.sh: what a restart of primgr on node 1 costs the clients of haproxy's
# write frontend (issue 15), for tests/integration/restart.sh and systemd.sh. Source it after
# cluster.sh and haproxy.sh, with the writer built (writer_build) and haproxy started:
#
#   rs_run_mode NAME RESTARTS RESTART_FN FIRST_N
#
# runs a long session (psql, pg_sleep) and pgwriter (a new connection per 100 ms, numbered
# from FIRST_N) through HA_WRITE while RESTART_FN restarts primgr on node 1 RESTARTS times,
# and sets RS_KILLED (sessions killed: 0 or 1) and RS_FAILED (writes failed while the
# restarts ran), with RS_WRITES the writes attempted meanwhile.
#
# No fixed sleeps: after each restart it waits until haproxy has been answered by the new
# process (a /state 200 and an agent "up" in its own counters), so that every restart is
# one that haproxy's checks went through, and the session ends when the restarts do (it is
# cancelled on node 1; a session that was killed is not there to cancel).

# rs_metric I SERIES: the value of SERIES (a name with its labels, as /metrics prints it) on
# node I's primgr; 0 when it is absent or nothing answers.
rs_metric() {
	curl -s --noproxy '*' -m 2 "http://$(node_host "$1"):${NODE_HTTP[$1]}/metrics" 2>/dev/null |
		awk -v m="$2" '$1 == m { v = $2 } END { print v + 0 }'
}

# rs_served I: the primgr now on node I answers, and has itself answered haproxy's HTTP
# check of /state (200) and its agent check (up). Only haproxy asks /state and the agent
# here, and a new process starts its counters at 0: true once haproxy has checked it.
rs_served() {
	[ "$(http_code "$1" /health)" = 200 ] &&
		[ "$(rs_metric "$1" 'primgr_http_requests_total{endpoint="state",code="200"}')" -ge 1 ] &&
		[ "$(rs_metric "$1" 'primgr_agent_answers_total{answer="up"}')" -ge 1 ]
}

# rs_session_running NAME: the long session NAME is running its query on node 1.
rs_session_running() {
	[ "$(node_psql_db 1 postgres "SELECT count(*) FROM pg_stat_activity
		WHERE application_name = 'rs-$1' AND state = 'active'" 2>/dev/null)" = 1 ]
}

# rs_session_start NAME: a psql session through the write frontend, one long statement;
# its output and exit status go to $CT_DIR/session-NAME.log. Waits until node 1 runs it.
RS_SESSION_PID=''
rs_session_start() {
	local log=$CT_DIR/session-$1.log
	: >"$log"
	( PGCONNECT_TIMEOUT=2 PGAPPNAME=rs-$1 as_pg "$PG_BINDIR/psql" -X -A -t -h 127.0.0.1 \
		-p "$HA_WRITE" -U postgres -d postgres -c "select pg_sleep(600)" >>"$log" 2>&1
		echo "rc=$?" >>"$log" ) &
	RS_SESSION_PID=$!
	CT_BG_PIDS+=("$RS_SESSION_PID")
	wait_for 10 rs_session_running "$1"
}

# rs_session_end NAME: cancels the session's statement on node 1 and sets RS_KILLED: 0 when
# the session lived to be cancelled (its psql reports the cancel), 1 when it was gone.
rs_session_end() {
	local log=$CT_DIR/session-$1.log
	node_psql_db 1 postgres "SELECT pg_cancel_backend(pid) FROM pg_stat_activity
		WHERE application_name = 'rs-$1'" >/dev/null 2>&1
	wait_for 10 eval '! ct_alive '"$RS_SESSION_PID" || diag "session $1: psql still runs"
	wait "$RS_SESSION_PID" 2>/dev/null
	if grep -q "canceling statement due to user request" "$log"; then
		RS_KILLED=0
	else
		RS_KILLED=1
		diag "session $1 was killed: $(tr '\n' ' ' <"$log")"
	fi
}

# rs_run_mode NAME RESTARTS RESTART_FN FIRST_N: see the top of this file.
RS_KILLED='' RS_FAILED='' RS_WRITES=''
rs_run_mode() {
	local name=$1 n=$2 restart=$3 i t0 t1
	writer_start 100 "$4"
	rs_session_start "$name" || diag "$name: the long session does not run on node1"
	wait_for 10 rs_served 1 || diag "$name: node1's primgr not checked by haproxy before the restarts"
	t0=$(now_ms)
	for ((i = 1; i <= n; i++)); do
		"$restart" || diag "$name: restart $i failed"
		wait_for 15 rs_served 1 ||
			diag "$name: restart $i: haproxy's checks not answered by the new primgr on node1"
	done
	t1=$(now_ms)
	rs_session_end "$name"
	# the attempts that began before t1 are logged once they end
	wait_for 10 eval '[ "$(writer_count ALL "$t1")" -ge 1 ]' || diag "$name: the writer stopped writing"
	writer_stop
	RS_FAILED=$(writer_count ERR "$t0" "$t1")
	RS_WRITES=$(writer_count ALL "$t0" "$t1")
	diag "$name: $n x $restart in $((t1 - t0)) ms, sessions killed $RS_KILLED, writes failed $RS_FAILED of $RS_WRITES"
	[ "$RS_FAILED" = 0 ] || diag "$(awk -v a="$t0" -v b="$t1" '$2 == "ERR" && $3 >= a && $3 <= b' "$WRITER_LOG" | head -n 5)"
}

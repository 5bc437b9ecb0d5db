#!/bin/bash
# shellcheck disable=SC2119 # harness functions take optional arguments, not the script's
# Issue 15: restarting primgr on the primary costs nothing. A real haproxy from the shipped
# haproxy/primgr.cfg in front of a 3-node cluster; a long session (pg_sleep) and a writer
# (a new connection per 100 ms) through the write frontend while primgr on node1 restarts
#   [1] under socket activation (tests/lib/sockhold.py holds the sockets, as primgr.socket)
#   [2] by a plain stop/start
# and we count sessions killed and writes failed per mode (target with sockets: 0 and 0).
#   [3] a primgr that stays dead takes node1 out within the documented bound (2 s + checks)
#   [4] an operator's `set server ... state maint` on haproxy stays MAINT for 10 s
#   [5] primgr ctl maint, then ready: haproxy returns the server to READY
# shellcheck source-path=SCRIPTDIR disable=SC2016
# shellcheck source=../lib/shipped.sh
. "$(dirname "$0")/../lib/shipped.sh"
# shellcheck source=../lib/restarts.sh
. "$(dirname "$0")/../lib/restarts.sh"

RESTARTS=${RESTARTS:-10}
cluster_require cc python3
ha_require
primgr_require

cluster_init 3 || bail_out "cluster_init 3"
primgr_start_all || bail_out "primgr starts on every node"
writer_build || bail_out "pgwriter builds"
writer_table 1 || bail_out "the writer's table on node1"
ha_start || bail_out "haproxy starts from the shipped configuration"
wait_for 15 eval '[ "$(ha_view pg_write)" = "node1:UP node2:DOWN node3:DOWN" ]' ||
	bail_out "pg_write: node1 UP only ($(ha_view pg_write))"
ok "cluster, primgr and haproxy up; pg_write has node1 UP only"

d1=$(node_dir 1)
HOLD_PIDF=$CT_DIR/primgr1.pid
# node1's primgr under a socket holder: its three listen addresses from the holder
sa_start() {
	primgr_stop 1
	ct_spawn sockhold "$d1/primgr.log" python3 "$CT_LIBDIR/sockhold.py" "$HOLD_PIDF" \
		"127.0.0.1:${NODE_HTTP[1]}" "127.0.0.1:${NODE_AGENT[1]}" "127.0.0.1:${NODE_RAGENT[1]}" \
		-- "$CT_DIR/bin/primgr" -f -c "$d1/primgr.ini" || return 1
	HOLD_PID=$SPAWNED_PID
	wait_for 10 eval '[ -s "$HOLD_PIDF" ] && [ "$(http_code 1 /health)" = 200 ]'
}
sa_pid() { cat "$HOLD_PIDF" 2>/dev/null; }

restart_sa() { local p; p=$(sa_pid); kill -TERM "$p"; wait_for 5 eval '[ "$(sa_pid)" != "$p" ]'; }
restart_plain() { primgr_stop 1; primgr_start 1; }

sa_start || bail_out "primgr on node1 under the socket holder"
wait_for 10 eval '[ "$(ha_view pg_write)" = "node1:UP node2:DOWN node3:DOWN" ]'
rs_run_mode sa "$RESTARTS" restart_sa 1
is "$RS_KILLED/$RS_FAILED" "0/0" "[1] socket activation: $RESTARTS restarts, sessions killed / writes failed (of $RS_WRITES)"
ct_ours "$HOLD_PID" && kill -TERM "$HOLD_PID"
wait_for 5 eval "! ct_alive $HOLD_PID"; wait_for 5 eval "! (exec 3<>/dev/tcp/127.0.0.1/${NODE_HTTP[1]}) 2>/dev/null"
primgr_start 1 || bail_out "primgr on node1 again"
wait_for 10 eval '[ "$(ha_view pg_write)" = "node1:UP node2:DOWN node3:DOWN" ]'
rs_run_mode plain "$RESTARTS" restart_plain 100000
ok "[2] plain stop/start: $RESTARTS restarts, sessions killed $RS_KILLED, writes failed $RS_FAILED of $RS_WRITES (reported, no target)"

# [3] dead stays dead: out within inter + 2 x fastinter (2 s) plus a check's slack
wait_for 10 eval '[ "$(ha_view pg_write)" = "node1:UP node2:DOWN node3:DOWN" ]'
primgr_stop 1
if wait_for 4 eval '! ha_is pg_write node1 UP'; then
	ok "[3] primgr stopped for good: node1 out of pg_write after ${WAIT_MS} ms (bound 2 s + a check)"
else
	not_ok "[3] primgr stopped for good: node1 out of pg_write within 4 s"
fi
primgr_start 1 || bail_out "primgr on node1 again"
wait_for 10 eval 'ha_is pg_write node1 UP' || diag "node1 not back UP"

# [4] haproxy's own maint stays, while primgr keeps answering
ha_cmd "set server pg_read/node3 state maint" >/dev/null
t_end=$(( $(now_ms) + 10000 )); broke=
while [ "$(now_ms)" -lt "$t_end" ]; do
	ha_is pg_read node3 MAINT || { broke="$(ha_status pg_read node3) at $(( t_end - $(now_ms) )) ms before the end"; break; }
	sleep 0.2
done
check "[4] operator maint on pg_read/node3 stays MAINT for 10 s${broke:+ (broke: $broke)}" test -z "$broke"
is "$(http_code 3 /health)" 200 "[4] ... while primgr on node3 answers"
ha_cmd "set server pg_read/node3 state ready" >/dev/null

# [5] primgr ctl maint, then ready
ctl() { as_pg "$CT_DIR/bin/primgr" ctl "$1" -c "$(node_dir 3)/primgr.ini" >>"$CT_DIR/commands.log" 2>&1; }
ctl maint
wait_for 10 eval 'ha_is pg_read node3 MAINT' || not_ok "[5] primgr ctl maint -> MAINT"
ctl ready
if wait_for 10 eval 'ha_is pg_read node3 UP'; then
	ok "[5] primgr ctl maint then ready: pg_read/node3 back UP (after ${WAIT_MS} ms)"
else
	not_ok "[5] primgr ctl maint then ready: pg_read/node3 back UP ($(ha_status pg_read node3))"
fi
tap_done

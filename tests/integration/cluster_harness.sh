#!/bin/bash
# The test harness alone, with repmgr and no primgr: a 3-node cluster, a failover, a split
# brain, a rejoin, and a cleanup that leaves no process behind. Prints the timings.
# shellcheck source-path=SCRIPTDIR source=../lib/cluster.sh disable=SC2016,SC2119
# (SC2016: the single-quoted strings given to eval expand when evaluated, on purpose;
# SC2119: the harness functions take optional arguments, not the script's)
. "$(dirname "$0")/../lib/cluster.sh"

cluster_require

# Two nodes that say they are not in recovery.
count_primaries() {
	local i n=0
	for i in $(data_nodes); do
		[ "$(node_in_recovery "$i")" = f ] && n=$((n + 1))
	done
	echo "$n"
}

# ct_alive: a live process yes, a zombie (exited, not yet reaped) no, a gone pid no.
ct_zombie || bail_out "no zombie made"
check "kill -0 succeeds on a zombie (pid $ZOMBIE_PID)" kill -0 "$ZOMBIE_PID"
check "ct_alive is false for a zombie" eval '! ct_alive $ZOMBIE_PID'
check "ct_alive is true for a live process" ct_alive "$ZOMBIE_PARENT"
ct_zombie_end
check "ct_alive is false for a pid that is gone" eval '! ct_alive $ZOMBIE_PID'

cluster_init 3 --witness || bail_out "cluster_init 3 --witness"
ok "3-node cluster and a witness up in ${CT_INIT_MS} ms"
check "repmgr cluster show exits 0 on a healthy cluster" cluster_show 1
is "$(node_in_recovery 1) $(node_in_recovery 2) $(node_in_recovery 3)" "f t t" \
	"node1 primary, node2 and node3 in recovery"
is "$(node_psql 2 "SELECT node_name FROM repmgr.nodes WHERE type = 'primary' AND active")" \
	node1 "node2's repmgr.nodes names node1 the active primary"
is "$(node_psql 4 "SELECT node_name || ' ' || type FROM repmgr.nodes WHERE node_id = 4")" \
	"witness witness" "node4 is the witness, registered in its own copy of repmgr.nodes"
is_eventually 30 1 "node3 streams from its upstream" \
	node_psql 3 "SELECT count(*) FROM pg_stat_wal_receiver WHERE status = 'streaming'"

# Per-node settings stay per node although postgresql.conf was cloned (pitfall 3).
is "$(node_psql 3 'SHOW port')" "${NODE_PORT[3]}" "node3 listens on its own port"

failover_to 2 || bail_out "failover to node2"
ok "failover to node2 (stop ${FO_STOP_MS} ms, promote ${FO_PROMOTE_MS} ms, follow ${FO_FOLLOW_MS} ms)"
is "$(node_in_recovery 2)" f "node2 is out of recovery"
is_eventually 30 "${NODE_PORT[2]}" "node3 streams from node2 (after {ms} ms)" \
	node_psql 3 "SELECT sender_port FROM pg_stat_wal_receiver WHERE status = 'streaming'"
# node3's repmgr.nodes is node2's, replicated
is_eventually 30 node2 "node3's view names node2 the active primary" \
	node_psql 3 "SELECT node_name FROM repmgr.nodes WHERE type = 'primary' AND active"
is "$(node_psql 4 "SELECT node_name FROM repmgr.nodes WHERE type = 'primary' AND active")" \
	node2 "the witness's copy was synced: it names node2 too"

t0=$(now_ms)
start_as_primary 1 || bail_out "start the old primary"
ok "old primary node1 started again in $(($(now_ms) - t0)) ms"
is "$(count_primaries)" 2 "split brain: two data nodes are not in recovery"
is "$(node_timeline 1) $(node_timeline 2)" "1 2" "node1 stays on timeline 1, node2 is on 2"
is "$(node_psql 1 "SELECT node_name FROM repmgr.nodes WHERE type = 'primary' AND active")" \
	node1 "node1's frozen view still names itself the active primary"

node_rejoin 1 2 || bail_out "rejoin node1 to node2"
ok "node1 rejoined node2 with pg_rewind in ${REJOIN_MS} ms"
is "$(node_in_recovery 1)" t "node1 is in recovery after the rejoin"
is "$(count_primaries)" 1 "one primary again"
eventually 45 "repmgr cluster show exits 0 after the rejoin ({ms} ms)" cluster_show 2
is "$(node_psql 2 "SELECT type, active, upstream_node_id FROM repmgr.nodes WHERE node_id = 1")" \
	"standby|t|2" "node1 is registered as a standby of node2"

# A failover to a standby that received less WAL than its sibling (as under load, when the
# test names its target and repmgrd would have picked the most advanced): the target first
# streams the missing WAL from the sibling, so nothing is lost, the timelines do not fork, and
# the sibling follows without a rewind.
node_psql 3 "ALTER SYSTEM SET primary_conninfo = 'host=127.0.0.1 port=1 user=repmgr'" >/dev/null &&
	node_psql 3 "SELECT pg_reload_conf()" >/dev/null
wait_for 30 eval '[ "$(node_psql 3 "SELECT count(*) FROM pg_stat_wal_receiver WHERE status = '"'streaming'"'")" = 0 ]'
check "node3 stops receiving WAL (primary_conninfo to a dead port; ${WAIT_MS} ms)" test "$?" = 0
node_psql_db 2 postgres "CREATE TABLE ahead AS SELECT g FROM generate_series(1, 1000) g" >/dev/null
lsn2=$(node_psql 2 "SELECT pg_current_wal_lsn()")
wait_for 30 eval '[ "$(node_psql 1 "SELECT pg_last_wal_receive_lsn() >= '"'$lsn2'"'::pg_lsn")" = t ] &&
		[ "$(node_psql 3 "SELECT pg_last_wal_receive_lsn() >= '"'$lsn2'"'::pg_lsn")" = f ]'
check "node1 received node2's WAL up to $lsn2, node3 did not (${WAIT_MS} ms)" test "$?" = 0
failover_to 3 >"$CT_DIR/fo3.log" 2>&1
fo_rc=$?
fo_log=$(cat "$CT_DIR/fo3.log")
diag "$fo_log"
is "$fo_rc" 0 "failover to node3, which is behind node1, succeeds"
is "$FO_CAUGHT_UP" 1 "node3 caught up from node1 before its promotion"
case "$fo_log" in *"cannot follow"*) fell=yes ;; *) fell=no ;; esac
is "$fell" no "node1 follows node3 without a rewind"
is "$(node_in_recovery 3) $(node_in_recovery 1)" "f t" "node3 is the primary, node1 a standby"
is "$(node_psql_db 3 postgres "SELECT count(*) FROM ahead")" 1000 \
	"node3 has the table node1 received and node3 did not: no WAL lost"
is "$(node_psql 3 "SHOW primary_slot_name")" repmgr_slot_3 "node3's primary_slot_name is repmgr's again"
wait_for 20 eval '[ "$(node_psql 1 "SELECT sender_port FROM pg_stat_wal_receiver WHERE status = '"'streaming'"'")" = "${NODE_PORT[3]}" ]'
check "node1 streams from node3 (${WAIT_MS} ms)" test "$?" = 0

our_pids=$(cluster_pids)
ok "processes of the cluster before cleanup: $(echo "$our_pids" | wc -w)"
dir=$CT_DIR
t0=$(now_ms)
KEEP_TMP=0 cluster_cleanup
left=
for p in $our_pids; do ct_alive "$p" && left="$left $p($(cat "/proc/$p/comm" 2>/dev/null))"; done
is "$left" "" "cleanup (in $(($(now_ms) - t0)) ms) leaves none of our processes"
check "cleanup removed the temp dir" test ! -e "$dir"
check "no process mentions the temp dir" eval "! ps -eo args | grep -v grep | grep -qF '$dir/'"
tap_done

#!/bin/bash
# Issue 7, "Must show": primgr-pg-autostart on a real 3-node repmgr cluster with primgr on
# each node. node1 is the primary; after a failover to node2 it boots again, and its boot
# runs primgr-pg-autostart before PostgreSQL starts, while node1's own primgr is down (it
# starts after PostgreSQL). [2] runs it as the systemd unit does (PostgreSQL left stopped,
# then started as the PostgreSQL unit would start it); [1] and [3] with --start:
#   [1] no peer reachable   -> node1 starts unchanged, as a primary; primgr keeps it Unknown
#   [2] peers agree on node2 -> node rejoin --force-rewind: node1 streams from node2, 202
#   [3] rewind impossible   -> (node1 primary again, then failed over again, its pg_control
#       damaged) the data directory moves aside, standby clone: node1 streams from node2, 202
# shellcheck source-path=SCRIPTDIR source=../lib/cluster.sh disable=SC2119
# (SC2119: the harness functions take optional arguments, not the script's)
. "$(dirname "$0")/../lib/cluster.sh"

cluster_require
primgr_require

# okif DESC: ok when the command just before succeeded.
okif() {
	if [ $? -eq 0 ]; then ok "$1"; else not_ok "$1"; return 1; fi
}

cluster_init 3 || bail_out "cluster_init failed"
primgr_start_all || bail_out "primgr did not start on every node"
# postgres runs the script: give it a copy it can read
install -m 0755 "$top_srcdir/scripts/primgr-pg-autostart" "$CT_DIR/bin/primgr-pg-autostart"

states() { echo "$(http_code 1 /state) $(http_code 2 /state) $(http_code 3 /state)"; }
is_eventually 30 "200 202 202" "healthy: node1 Primary, node2 and node3 Standby" states

# autostart I [OPTION...]: node I's boot, as postgres; the exit status, output in
# $CT_DIR/autostart-nodeI.log (its tail becomes TAP comments on failure).
AS_LOG=
autostart() {
	local i=$1 rc=0 d
	shift
	d=$(node_dir "$i")
	AS_LOG=$CT_DIR/autostart-node$i.log
	echo "=== $(date +%T) autostart node$i $*" >>"$AS_LOG"
	ct_own "$AS_LOG"
	as_pg timeout 300 "$CT_DIR/bin/primgr-pg-autostart" -c "$d/primgr.ini" \
		--lock-file "$d/autostart.lock" -t 3 -v "$@" >>"$AS_LOG" 2>&1 || rc=$?
	node_track "$i"
	[ "$rc" -eq 0 ] || diag "autostart node$i exited $rc; its log:" "$(tail -n 25 "$AS_LOG")"
	return "$rc"
}

# cache_conninfo I: primgr's topology cache carries each node's host; the script rejoins to
# the cache's conninfo when it has one, else to its own conninfo with the host replaced. All
# harness nodes share 127.0.0.1 on different ports, so a cache without conninfo gets the
# harness's conninfo added here (and says so).
cache_conninfo() {
	local f k tmp
	f="$(node_dir "$1")/topology.json"
	[ -s "$f" ] || { diag "node$1 has no topology cache ($f)"; return 1; }
	jq -e 'all(.nodes[]; has("conninfo"))' "$f" >/dev/null 2>&1 && return 0
	diag "the topology cache of node$1 has no conninfo per node: the test adds the harness's"
	tmp=$f.tmp
	cp "$f" "$tmp"
	for k in $(all_nodes); do
		jq --arg n "${NODE_NAME[$k]}" --arg c "$(node_conninfo "$k")" \
			'(.nodes[] | select(.name == $n)) += {conninfo: $c}' "$tmp" >"$tmp.2" && mv "$tmp.2" "$tmp"
	done
	mv "$tmp" "$f"
	ct_own "$f"
}

# streams_from I J: node I is in recovery and its walreceiver streams from node J.
streams_from() {
	[ "$(node_in_recovery "$1")" = t ] &&
		[ "$(node_psql "$1" "SELECT status || ' ' || sender_port FROM pg_stat_wal_receiver")" = \
			"streaming ${NODE_PORT[$2]}" ]
}
# registered_standby_of I J: node J's repmgr.nodes says node I is an active standby of J.
registered_standby_of() {
	[ "$(node_psql "$2" "SELECT type || ' ' || active || ' ' || coalesce(upstream_node_id, 0)
		FROM repmgr.nodes WHERE node_id = $1")" = "standby true $2" ]
}
asides() { find "$(node_dir "$1")" -maxdepth 1 -name 'data.primgr-*' | sort; }

# after_failover_to J OLD: the new primary is agreed on, and OLD's primgr is down (its boot
# starts primgr after PostgreSQL).
after_failover_to() {
	primgr_stop "$2"
	wait_for 45 http_is "$1" /state 200 ||
		diag "node$1 /state: $(http_get "$1" /state)"
	wait_for 30 eval "[ \"\$(http_json $1 /realPrimary .realPrimary)\" = node$1 ]" ||
		diag "node$1 /realPrimary: $(http_get "$1" /realPrimary)"
}

failover_to 2 || bail_out "failover to node2 failed"
after_failover_to 2 1
is_eventually 30 node2 "after the failover, node3's /realPrimary is node2" \
	http_json 3 /realPrimary .realPrimary
cache_conninfo 1

# ---- [1] no peer reachable: start as is

primgr_stop 2
primgr_stop 3
autostart 1 --attempts 1 --start
is "$?" 0 "[1] no peer answers: autostart --start exits 0"
grep -q 'starting as is: no peer answered' "$AS_LOG"
okif "[1]   it says it starts as is because no peer answered"
is "$(node_in_recovery 1)" f "[1]   node1 runs, as a primary"
[ -z "$(asides 1)" ] && [ ! -e "$(node_data 1)/standby.signal" ]
okif "[1]   its data directory is unchanged (not moved, no standby.signal)"
primgr_start 2 && primgr_start 3 && primgr_start 1
okif "[1]   primgr starts again on every node"
# Every primgr has just started: a node's first rounds may run before its peers answer, so
# each verdict is waited for (a refresh or two), not read once.
is_eventually 30 509 "[1]   primgr keeps node1 Unknown (509) (after {ms} ms)" http_code 1 /state
diag "node1's reason: $(http_json 1 /state .reason)"
is_eventually 30 200 "[1]   node2 stays the Primary (200) (after {ms} ms)" http_code 2 /state
is_eventually 30 node2 "[1]   /realPrimary is still node2 (after {ms} ms)" \
	http_json 3 /realPrimary .realPrimary
primgr_stop 1
node_stop 1 fast || bail_out "cannot stop node1"

# ---- [2] the peers agree on node2: rejoin with pg_rewind

cache_conninfo 1
t0=$(now_ms)
autostart 1
is "$?" 0 "[2] peers agree on node2: autostart exits 0 ($(($(now_ms) - t0)) ms)"
grep -q 'rejoined node2 as a standby (node rejoin)' "$AS_LOG"
okif "[2]   node rejoin --force-rewind to node2 did it"
! node_running 1 && [ -f "$(node_data 1)/standby.signal" ]
okif "[2]   as under systemd, PostgreSQL is left stopped, ready to start as a standby"
node_start 1
okif "[2]   node1 starts (as the PostgreSQL unit would start it)"
NODE_TYPE[1]=standby
eventually 60 "[2]   node1 is a streaming standby of node2 ({ms} ms)" streams_from 1 2
eventually 30 "[2]   repmgr.nodes on node2: node1 standby, active, upstream node2" \
	registered_standby_of 1 2
[ -z "$(asides 1)" ]
okif "[2]   no data directory was moved aside"
primgr_start 1
okif "[2]   primgr starts on node1"
is_eventually 30 202 "[2]   primgr says 202 (Standby) for node1 (after {ms} ms)" http_code 1 /state

# ---- [3] rewind impossible: clone, the old data directory kept aside
# node1 becomes the primary again (node2 rejoins it), then fails over to node2 once more.

failover_to 1 || bail_out "failover to node1 failed"
node_rejoin 2 1 || bail_out "rejoin of node2 to node1 failed"
wait_for 45 http_is 1 /state 200 || diag "node1 /state: $(http_get 1 /state)"
failover_to 2 || bail_out "second failover to node2 failed"
after_failover_to 2 1
cache_conninfo 1
# A damaged pg_control: pg_rewind cannot read the target, so node rejoin fails.
printf 'primgr-test-damage' | as_pg dd of="$(node_data 1)/global/pg_control" bs=1 seek=100 conv=notrunc 2>/dev/null
t0=$(now_ms)
autostart 1 --start
is "$?" 0 "[3] rewind impossible: autostart --start exits 0 ($(($(now_ms) - t0)) ms)"
grep -q 'node rejoin: failed' "$AS_LOG" && grep -q 'cloned node2 as a standby' "$AS_LOG"
okif "[3]   node rejoin failed, standby clone from node2 did it"
aside=$(asides 1)
[ "$(echo "$aside" | grep -c .)" -eq 1 ] && [ -f "$aside/PG_VERSION" ] &&
	grep -q 'primgr-test-damage' "$aside/global/pg_control"
okif "[3]   the old data directory is kept aside: $(basename "${aside:-none}")"
NODE_TYPE[1]=standby
eventually 60 "[3]   node1 is a streaming standby of node2 ({ms} ms)" streams_from 1 2
eventually 30 "[3]   repmgr.nodes on node2: node1 standby, active, upstream node2" \
	registered_standby_of 1 2
primgr_start 1
okif "[3]   primgr starts on node1"
is_eventually 30 202 "[3]   primgr says 202 (Standby) for node1 (after {ms} ms)" http_code 1 /state
is_eventually 30 node2 "[3]   and node1's /realPrimary is node2" http_json 1 /realPrimary .realPrimary

tap_done

#!/bin/bash
# Issue 5, "Must show": the consensus core on a real 3-node repmgr cluster with primgr on each
# node. One cluster serves every check, in an order the state allows:
#   [1] healthy  [7] 5,000 checks/s  [5] black-holed peers  [4] stopped and hung databases
#   [2] failover  [3] split brain and rejoin  [6] a dc2 node and a witness
# shellcheck source-path=SCRIPTDIR source=../lib/cluster.sh disable=SC2016,SC2119
# (SC2016: the single-quoted strings given to eval expand when evaluated, on purpose;
# SC2119: the harness functions take optional arguments, not the script's)
. "$(dirname "$0")/../lib/cluster.sh"

cluster_require cc
primgr_require

DB_TIMEOUT_MS=$(duration_ms "$CT_DB_TIMEOUT")
REFRESH_MS=$(duration_ms "$CT_REFRESH")
SLACK_MS=300      # a poll every 100 ms plus curl start-up on a loaded 2-core machine

# all_say I... -- PATH JQ VALUE: every listed node answers PATH with JQ = VALUE.
all_say() {
	local nodes=() i
	while [ "$1" != -- ]; do nodes+=("$1"); shift; done
	shift
	for i in "${nodes[@]}"; do
		[ "$(http_json "$i" "$1" "$2")" = "$3" ] || return 1
	done
}
show_bodies() {
	local i p=$1
	shift
	for i in "$@"; do diag "  node$i $p: $(http_get "$i" "$p")"; done
}

cluster_init 3 --pgss || bail_out "cluster_init 3"
primgr_start_all || bail_out "primgr starts on every node"
ok "primgr runs on node1..node3"

# --- [1] healthy -----------------------------------------------------------------------------
if ! is_eventually 30 "200 202 202" "[1] /state: node1 200, node2 and node3 202 (after {ms} ms)" \
	states 1 2 3; then
	show_bodies /state 1 2 3
fi
is "$(http_json 1 /state '"\(.state) \(.node_id) \(.node_name)"')" "Primary 1 node1" \
	"[1] node1 /state body says Primary, node_id 1, node1"
is "$(http_json 2 /state .state) $(http_json 3 /state .state)" "Standby Standby" \
	"[1] node2 and node3 /state bodies say Standby"
is "$(votes_quorum 1)" "3 2" "[1] node1 has 3 votes, quorum 2"
for i in 1 2 3; do
	is "$(http_code "$i" /primary) $(http_json "$i" /primary .Primary)" "200 node1" \
		"[1] node$i /primary names node1"
done
wait_for 15 all_say 1 2 3 -- /realPrimary .realPrimary node1
for i in 1 2 3; do
	is "$(http_code "$i" /realPrimary) $(http_json "$i" /realPrimary .realPrimary)" "200 node1" \
		"[1] node$i /realPrimary names node1"
done
is "$(agent_get 1 primary)" "up" "[1] node1 agent (primary role) answers up"
a=$(agent_get 2 primary)
check "[1] node2 agent (primary role) answers down ($a)" test "${a%% *}" = down

# --- [7] 5,000 checks/s cost the database what 1 check/s costs --------------------------------
# Statements by primgr (user repmgr; our psql is user postgres) per second, from
# pg_stat_statements on node1, while CMD runs.
pgss_rate() {
	local t0 n
	node_psql 1 "SELECT pg_stat_statements_reset()" >/dev/null || return 1
	t0=$(now_ms)
	"$@"
	n=$(node_psql 1 "SELECT coalesce(sum(calls), 0) FROM pg_stat_statements
		WHERE userid = 'repmgr'::regrole")
	awk -v n="$n" -v ms="$(($(now_ms) - t0))" 'BEGIN { printf "%.1f", n * 1000 / ms }'
}
one_per_second() {
	local k
	for ((k = 0; k < $1; k++)); do
		agent_get 1 primary >/dev/null
		sleep 1
	done
}
loadgen_build || bail_out "build tests/lib/loadgen.c"
base=$(pgss_rate one_per_second 6)
# (pgss_rate runs in a command substitution: the summary comes back through a file)
load_run() { loadgen_agent 1 primary 5000 6 "up" >"$CT_DIR/loadgen.out"; }
loaded=$(pgss_rate load_run)
lg_out=$(cat "$CT_DIR/loadgen.out")
diag "loadgen: $lg_out"
diag "statements/s reaching node1 from primgr: ${base} at 1 check/s, ${loaded} at 5,000 checks/s"
check "[7] primgr's refresh reaches PostgreSQL (${base} statements/s)" \
	awk -v b="$base" 'BEGIN { exit !(b > 0) }'
check "[7] the load generator kept 5,000 agent checks/s, all 'up' ($(loadgen_field "$lg_out" rate)/s)" \
	awk -v r="$(loadgen_field "$lg_out" rate)" -v ok="$(loadgen_field "$lg_out" ok)" \
	-v n="$(loadgen_field "$lg_out" requests)" -v k="$CT_TIMEOUT_SCALE" \
	'BEGIN { exit !(r >= 4750 / k && ok == n && n >= 28500 / k) }'
check "[7] statements/s under load ($loaded) stay what they are at 1 check/s ($base)" \
	awk -v b="$base" -v l="$loaded" 'BEGIN { exit !(l <= b * 1.25 + 2) }'
check "[7] agent check p99 under load $(loadgen_field "$lg_out" p99_ms) ms < $(within 50) ms" \
	awk -v p="$(loadgen_field "$lg_out" p99_ms)" -v b="$(within 50)" 'BEGIN { exit !(p != "" && p < b) }'

# --- [5] black-holed peers -------------------------------------------------------------------
watch_start bh1 1
t_bh=$(now_ms)
primgr_kill 3 STOP || bail_out "SIGSTOP node3's primgr"
lat=$(http_latency 3 1 2)
lg_out=$(loadgen_agent 1 primary 50 2)
check "[5] node3's primgr black-holed: node1/node2 HTTP answers stay under 50 ms (p95 ${lat% *} ms, max ${lat#* } ms < 250)" \
	answers_fast "$lat"
check "[5] ... and node1's agent answers too (p99 $(loadgen_field "$lg_out" p99_ms) ms, max $(loadgen_field "$lg_out" max_ms) ms)" \
	answers_fast "$(loadgen_field "$lg_out" p99_ms) $(loadgen_field "$lg_out" max_ms)"
is "$(watch_codes bh1 "$t_bh")" 200 "[5] node1 stays Primary (200) with 2 of 3 reachable"
is_eventually 15 "2 2" "[5] node1 now counts 2 votes of quorum 2" votes_quorum 1
primgr_kill 2 STOP || bail_out "SIGSTOP node2's primgr"
t_bh2=$(now_ms)
is_eventually 20 509 "[5] node2's primgr black-holed too: node1 turns Unknown (509) in {ms} ms" \
	http_code 1 /state
lat=$(http_latency 2 1)
check "[5] node1 still answers under 50 ms with 2 peers black-holed (p95 ${lat% *} ms, max ${lat#* } ms < 250)" \
	answers_fast "$lat"
watch_stop bh1
diag "node1 /state after node2 stopped: $(watch_codes bh1 "$t_bh2")"
primgr_kill 2 CONT
primgr_kill 3 CONT
is_eventually 20 200 "[5] peers resumed: node1 Primary again in {ms} ms" http_code 1 /state

# --- [4] a stopped database is Down within db_timeout; a hung one too --------------------------
# down_within I: time from now until node I's /state is 503, must be <= db_timeout (+ slack).
down_check() {
	local i=$1 what=$2 t0
	t0=$(now_ms)
	wait_for 15 http_is "$i" /state 503 || diag "node$i /state: $(http_get "$i" /state)"
	check "[4] $what: node$i /state 503 Down in ${WAIT_MS} ms (db_timeout ${DB_TIMEOUT_MS} ms)" \
		test "$WAIT_MS" -le "$(within $((DB_TIMEOUT_MS + SLACK_MS)))"
}
node_stop 3 fast || bail_out "pg_ctl stop node3"
down_check 3 "pg_ctl stop of standby node3"
is "$(http_json 3 /state .state)" Down "[4] node3 /state body says Down"
node_start 3 || bail_out "pg_ctl start node3"
is_eventually 30 202 "[4] node3 back to Standby (202) {ms} ms after its start" http_code 3 /state

node_stop 1 fast || bail_out "pg_ctl stop node1"
down_check 1 "pg_ctl stop of primary node1"
is_eventually 15 503 "[4] no primary while node1 is down: node2 /realPrimary 503" \
	http_code 2 /realPrimary
node_start 1 || bail_out "pg_ctl start node1"
is_eventually 30 200 "[4] node1 back to Primary (200) {ms} ms after its start" http_code 1 /state

node_freeze 3 || bail_out "SIGSTOP node3's PostgreSQL"
t0=$(now_ms)
wait_for 15 http_is 3 /state 503 || diag "node3 /state: $(http_get 3 /state)"
check "[4] hung PostgreSQL (SIGSTOP) on node3: 503 Down in ${WAIT_MS} ms (<= db_timeout + refresh_interval)" \
	test "$WAIT_MS" -le "$(within $((DB_TIMEOUT_MS + REFRESH_MS + SLACK_MS)))"
lat=$(http_latency 2 3)
check "[4] node3's primgr answers at once while its database hangs (p95 ${lat% *} ms, max ${lat#* } ms < 250)" \
	answers_fast "$lat"
node_thaw 3
is_eventually 30 202 "[4] node3 Standby again {ms} ms after SIGCONT" http_code 3 /state
is_eventually 30 "200 202 202" "[4] the cluster is healthy again" states 1 2 3

# --- [2] failover ----------------------------------------------------------------------------
watch_start fo2 2
watch_start fo1 1
failover_to 2 || bail_out "failover to node2"
wait_for 15 http_is 2 /state 200
t200=$(watch_first fo2 200 "$FO_PROMOTED_AT")
watch_stop fo2
[ -n "$t200" ] || t200=$(now_ms)
diag "node2 /state after the promote: $(watch_codes fo2 "$FO_PROMOTED_AT")"
check "[2] node2 200 Primary $((t200 - FO_PROMOTED_AT)) ms after the promote returned (<= $(within 3000))" \
	test $((t200 - FO_PROMOTED_AT)) -le "$(within 3000)"
wait_for 20 all_say 1 2 3 -- /realPrimary .realPrimary node2
for i in 1 2 3; do
	note=
	[ "$i" = 1 ] && note=" (its own database is down: peers from the topology cache)"
	is "$(http_code "$i" /realPrimary) $(http_json "$i" /realPrimary .realPrimary)" "200 node2" \
		"[2] node$i /realPrimary names node2$note"
done
is_eventually 20 "503 200 202" "[2] /state: node1 503, node2 200, node3 202" states 1 2 3
is_eventually 15 node2 "[2] node3 /primary names node2" http_json 3 /primary .Primary
is "$(http_code 1 /primary)" 503 "[2] node1 /primary 503 while its database is down"
watch_stop fo1
is "$(watch_codes fo1 "$FO_PROMOTED_AT" | tr ' ' '\n' | grep -c '^200$')" 0 \
	"[2] node1 never said 200 after the promote"

# --- [3] split brain: the old primary starts on its own --------------------------------------
watch_start sb1 1
watch_start sb2 2
t_sb=$(now_ms)
start_as_primary 1 || bail_out "start old primary node1"
is "$(node_in_recovery 1)" f "[3] node1 runs as a primary again (split brain)"
# its whole life: longer than stale_after and many refreshes
is_eventually 15 509 "[3] node1 /state 509 Unknown {ms} ms after its start" http_code 1 /state
# its whole life is watched (sb1, sb2): it must stay Unknown longer than stale_after
sleep 4
is "$(http_json 1 /state .state)" Unknown "[3] node1 /state body says Unknown"
is "$(http_code 3 /realPrimary) $(http_json 3 /realPrimary .realPrimary)" "200 node2" \
	"[3] /realPrimary still names node2"
node_rejoin 1 2 || bail_out "rejoin node1 to node2"
is_eventually 30 202 "[3] after node rejoin --force-rewind node1 is 202 Standby ({ms} ms)" \
	http_code 1 /state
watch_stop sb1
watch_stop sb2
c1=$(watch_codes sb1 "$t_sb")
c2=$(watch_codes sb2 "$t_sb")
diag "node1 /state codes from its start to after the rejoin: $c1"
check "[3] node1 never 200 during the split brain (codes: $c1)" eval '! echo " $c1 " | grep -q " 200 "'
is "$c2" 200 "[3] node2 stayed 200 all along"
# Only 503 (not started yet, or stopping for the rejoin) and 509 before the rejoin.
before=$(awk -v a="$t_sb" '$1 >= a { print $2 }' "$(watch_file sb1)" |
	awk '$1 == 202 { exit } { print }' | sort -u | tr '\n' ' ')
is "$before" "503 509 " "[3] node1 was 509 Unknown for its whole life as a split primary"

# --- [6] locations and a witness -------------------------------------------------------------
node_add --location dc2 || bail_out "add node4 in dc2"
primgr_start "$NODE_ADDED" || bail_out "primgr on node4"
for i in 1 2 3; do primgr_restart "$i" || bail_out "restart primgr on node$i"; done
is_eventually 30 "202 200 202 202" "[6] node4 (dc2) joined as a standby: 202" states 1 2 3 4
is_eventually 15 "3 2" "[6] default scope: node4 in dc2 does not vote (node2: 3 votes, quorum 2)" \
	votes_quorum 2
primgr_restart 2 consensus.scope=cluster || bail_out "restart primgr on node2 with scope=cluster"
is_eventually 30 "4 3" "[6] scope=cluster: node4 votes (4 votes, quorum 3)" votes_quorum 2
primgr_kill 1 STOP
state_votes_2() { echo "$(state_of 2) $(votes_quorum 2)"; }
is_eventually 15 "200 3 3" \
	"[6] scope=cluster, node1's primgr black-holed: node4's vote keeps node2 Primary" state_votes_2
primgr_kill 1 CONT
primgr_restart 2 || bail_out "restart primgr on node2"

node_add --witness || bail_out "add a witness"
W=$NODE_ADDED
primgr_start "$W" || bail_out "primgr on the witness"
for i in 1 2 3 4; do primgr_restart "$i" || bail_out "restart primgr on node$i"; done
watch_start wit "$W"
is_eventually 30 "200 4 3" \
	"[6] witness in dc1 votes: node2 Primary with 4 votes of dc1's 4 voters, quorum 3" state_votes_2
is_eventually 15 node2 "[6] the witness's /primary names node2" http_json "$W" /primary .Primary
primgr_kill 1 STOP
is_eventually 15 "200 3 3" \
	"[6] node1's primgr black-holed: node2 keeps its quorum thanks to the witness's vote" state_votes_2
primgr_kill "$W" STOP
is_eventually 20 509 "[6] witness black-holed as well: node2 loses its quorum (509 in {ms} ms)" \
	http_code 2 /state
primgr_kill "$W" CONT
primgr_kill 1 CONT
is_eventually 20 200 "[6] node2 Primary again when the peers are back ({ms} ms)" http_code 2 /state
watch_stop wit
cw=$(watch_codes wit)
check "[6] the witness was never Primary (its /state codes: $cw)" eval '! echo " $cw " | grep -q " 200 "'
a=$(agent_get "$W" primary)
check "[6] the witness's agent (primary role) answers down ($a)" test "${a%% *}" = down

tap_done

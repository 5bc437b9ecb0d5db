#!/bin/bash
# Issue 14, part 3, "What it must show" (a): a standby that stopped replicating is measured
# against the primary, not against what it happened to receive. A real 3-node cluster behind
# haproxy (the shipped haproxy/primgr.cfg), primgr with short replica limits (max_lag 3s,
# lag_grace 2s):
#   [1] both standbys stream; an idle window: neither leaves pg_read, both at weight 100
#   [2] node3's primary_conninfo points at a dead port (ALTER SYSTEM + pg_reload_conf) while
#       a writer keeps writing through the write frontend: node3 leaves pg_read within
#       max_lag + lag_grace (+ one refresh and one agent check), the agent saying
#       #not-streaming or #lag; node2 (streaming, written to) stays UP all along;
#       /replica?replication_state=streaming, /cluster and /metrics say so
#   [3] primary_conninfo back: node3 streams again and is UP at weight 100
# shellcheck source-path=SCRIPTDIR source=../lib/cluster.sh disable=SC2016
. "$(dirname "$0")/../lib/cluster.sh"
# shellcheck source=../lib/haproxy.sh
. "$(dirname "$0")/../lib/haproxy.sh"

MAX_LAG_MS=3000 GRACE_MS=2000
LAG_INI=(replica.lag_full=1s replica.max_lag=3s replica.lag_grace=2s replica.min_weight=10)
# the first refresh that sees it and the one that publishes weight 0 (500ms each), one agent
# check on pg_read (agent-inter 1s) and 1s for this script's sampling on a loaded box
SLACK_MS=3000

# holds_for SECONDS CMD...: CMD succeeds at every sample (every 200 ms) for SECONDS (the
# opposite of cluster.sh's never_for, whose CMD must never succeed); HOLD_BROKE is the first
# failing sample's time (ms since the start of the window), empty when none.
holds_for() {
	local limit start now
	limit=$(awk -v t="$1" 'BEGIN { printf "%d", t * 1000 }')
	shift
	start=$(now_ms)
	HOLD_BROKE=
	while now=$(now_ms) && [ $((now - start)) -lt "$limit" ]; do
		if ! "$@"; then
			HOLD_BROKE=$((now - start))
			return 1
		fi
		sleep 0.2
	done
	return 0
}

cluster_require cc
ha_require
primgr_require
T0=$(now_ms)

cluster_init 3 || bail_out "cluster_init 3"
primgr_start_all "${LAG_INI[@]}" || bail_out "primgr starts on every node"
writer_build || bail_out "pgwriter builds (cc, libpq-dev)"
writer_table 1 || bail_out "the writer's table on node1"
ha_start || bail_out "haproxy starts from the shipped configuration"
P1=${NODE_PORT[1]}
show() {
	diag "$(ha_show)"
	local i
	for i in 2 3; do
		diag "  node$i agent: $(agent_get "$i" replica | tr -d '\n')  /replica: $(http_get "$i" /replica)"
		diag "  node$i /cluster lag: $(http_json "$i" /cluster '.lag' | tr -d ' \n')"
	done
}

# --- [1] streaming and idle ------------------------------------------------------------------
reads_full() {
	ha_is pg_read node2 UP && ha_is pg_read node3 UP &&
		[ "$(ha_weight pg_read node2)" = 100 ] && [ "$(ha_weight pg_read node3)" = 100 ]
}
if wait_for 20 reads_full; then
	ok "[1] pg_read: node2 and node3 UP at weight 100 (after ${WAIT_MS} ms)"
else
	not_ok "[1] pg_read: node2 and node3 UP at weight 100"
	show
fi
for i in 2 3; do
	is "$(http_json "$i" /cluster '.lag.streaming')" true "[1] node$i /cluster: lag.streaming true"
	is "$(http_json "$i" /cluster '.lag.bytes_vs_primary')" true \
		"[1] node$i /cluster: byte lag measured against the primary's LSN"
done
is "$(http_code 3 '/replica?replication_state=streaming')" 200 \
	"[1] node3 /replica?replication_state=streaming: 200"
# longer than max_lag + lag_grace: an idle standby must not age into #lag
if holds_for 7 reads_full; then
	ok "[1] idle (no writes) for 7 s > max_lag + lag_grace: both standbys stay UP at weight 100"
else
	not_ok "[1] idle: both standbys stay UP at weight 100 (broke after ${HOLD_BROKE} ms)"
	show
fi

# --- [2] node3 stops replicating while the primary keeps writing -------------------------------
writer_start 20
wait_for 5 eval '[ "$(writer_count "$P1")" -gt 0 ]'
check "[2] the writer commits through the write frontend on node1 ($(writer_ports))" \
	test "$(writer_count "$P1")" -gt 0
OLD_CONNINFO=$(node_psql 3 "SELECT current_setting('primary_conninfo')")
[ -n "$OLD_CONNINFO" ] || bail_out "node3's primary_conninfo"
DEAD=$(ct_free_port)
dead=${OLD_CONNINFO//port=${P1}/port=$DEAD}
[ "$dead" != "$OLD_CONNINFO" ] || dead="$OLD_CONNINFO port=$DEAD"
set_conninfo() {
	node_psql 3 "ALTER SYSTEM SET primary_conninfo = '${1//\'/\'\'}'" >/dev/null &&
		node_psql 3 "SELECT pg_reload_conf()" >/dev/null
}
NODE2_LOG=$CT_DIR/node2-read.log
: >"$NODE2_LOG"
(
	while [ ! -e "$CT_DIR/node2.stop" ]; do
		echo "$(now_ms) $(ha_status pg_read node2) $(ha_weight pg_read node2)" >>"$NODE2_LOG"
		sleep 0.2
	done
) &
N2PID=$!
CT_BG_PIDS+=("$N2PID")
set_conninfo "$dead" || not_ok "[2] node3: ALTER SYSTEM SET primary_conninfo to port $DEAD"
t_break=$(now_ms)
out_of_reads() {
	ha_is pg_read node3 DOWN && ha_agent_says pg_read node3 | grep -q -e not-streaming -e lag
}
limit=$((MAX_LAG_MS + GRACE_MS + SLACK_MS))
if wait_for 20 out_of_reads; then
	took=$(($(now_ms) - t_break))
	says=$(ha_agent_says pg_read node3)
	check "[2] node3 DOWN in pg_read ${took} ms after primary_conninfo broke, agent '${says}' (limit max_lag + lag_grace + ${SLACK_MS} ms = ${limit} ms)" \
		test "$took" -le "$limit"
else
	not_ok "[2] node3 DOWN in pg_read with #not-streaming or #lag"
	show
fi
diag "node3's log since the break:"
diag "$(grep -e "not streaming" -e "LSN" -e "lag" "$(node_dir 3)/primgr.log" | tail -n 6)"
case "$(agent_get 3 replica)" in
*not-streaming*) ok "[2] node3's agent says down #not-streaming" ;;
*) not_ok "[2] node3's agent says down #not-streaming ($(agent_get 3 replica | tr -d '\n'))" ;;
esac
is "$(http_code 3 /replica)" 503 "[2] node3 /replica: 503"
is "$(http_code 3 '/replica?replication_state=streaming')" 503 \
	"[2] node3 /replica?replication_state=streaming: 503"
check "[2] node3 /replica reason says not streaming ($(http_json 3 /replica .reason))" \
	eval 'http_json 3 /replica .reason | grep -q not-streaming'
is "$(http_json 3 /cluster '.lag.streaming')" false "[2] node3 /cluster: lag.streaming false"
check "[2] node3 /cluster: lag.bytes > 0 behind the primary ($(http_json 3 /cluster '.lag.bytes'))" \
	test "$(http_json 3 /cluster '.lag.bytes')" -gt 0
metrics_of() { curl -s --noproxy '*' -m 3 "http://127.0.0.1:${NODE_HTTP[$1]}/metrics"; }
# shellcheck disable=SC2034 # read by the checks below, through eval
metrics=$(metrics_of 3)
check "[2] node3 /metrics: primgr_replica_streaming 0" \
	eval 'grep -qx "primgr_replica_streaming 0" <<<"$metrics"'
check "[2] node3 /metrics: primgr_replica_lag_bytes > 0" \
	eval 'awk '"'"'$1 == "primgr_replica_lag_bytes" && $2 > 0 { f = 1 } END { exit !f }'"'"' <<<"$metrics"'
check "[2] node2 /metrics: primgr_replica_streaming 1" \
	eval 'metrics_of 2 | grep -qx "primgr_replica_streaming 1"'
is "$(http_code 2 '/replica?replication_state=streaming')" 200 \
	"[2] node2 /replica?replication_state=streaming: 200"

# --- [3] streaming resumes -------------------------------------------------------------------
t_fix=$(now_ms)
set_conninfo "$OLD_CONNINFO" || not_ok "[3] node3: primary_conninfo restored"
back() { ha_is pg_read node3 UP && [ "$(ha_weight pg_read node3)" = 100 ]; }
if wait_for 20 back; then
	ok "[3] node3 UP in pg_read at weight 100 again ${WAIT_MS} ms after primary_conninfo was restored"
else
	not_ok "[3] node3 UP in pg_read at weight 100 again"
	show
fi
is "$(http_json 3 /cluster '.lag.streaming')" true "[3] node3 /cluster: lag.streaming true again"
touch "$CT_DIR/node2.stop"
wait "$N2PID" 2>/dev/null
writer_stop
bad=$(awk '$2 != "UP" || $3 != 100' "$NODE2_LOG" | head -n 3)
check "[2-3] node2 (streaming, written to) UP at weight 100 in every sample of pg_read ($(wc -l <"$NODE2_LOG") samples)" \
	test -z "$bad"
[ -z "$bad" ] || diag "$bad"
check "[2-3] the writer kept committing on node1 ($(writer_ports "$t_break"))" \
	test "$(writer_count "$P1" "$t_break")" -gt 0
diag "wall time $(($(now_ms) - T0)) ms (from [3]'s fix: $(($(now_ms) - t_fix)) ms)"
tap_done

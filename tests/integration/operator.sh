#!/bin/bash
# Issue 10, "Operator experience", must show: on a real 3-node repmgr cluster with primgr on
# each node, in an order the cluster's state allows:
#   [1] `primgr status` (table and --json) before a failover, after a failover to node2 and
#       during a split brain (old node1 started as a primary), with its exit codes
#   [2] /metrics of every node passes `promtool check metrics` and has the metrics the issue
#       names, the count of nodes claiming Primary included (over 1 during the split brain)
#   [3] SIGHUP reloads under continuous agent and HTTP checks: none fails, the log names the
#       changed keys; a bad file changes nothing (one warning); a listen change needs a
#       restart, and so does every restart-only key (named in one line, running values kept)
#   [4] node1's log: one line per verdict transition with its reason, not one per cycle
# shellcheck source-path=SCRIPTDIR source=../lib/cluster.sh disable=SC2016,SC2119,SC2034
# (SC2016: the single-quoted strings given to eval expand when evaluated, on purpose;
# SC2119: the harness functions take optional arguments, not the script's; SC2034: ST_TABLE
# is read inside those eval strings)
. "$(dirname "$0")/../lib/cluster.sh"

cluster_require cc promtool
primgr_require

states() {
	local i out=
	for i in "$@"; do out="$out $(http_code "$i" /state)"; done
	echo "${out# }"
}

# status_run I [ARGS]: `primgr status -c nodeI/primgr.ini ARGS` as postgres; sets ST_OUT
# (stdout and stderr) and ST_RC.
ST_OUT='' ST_RC='' ST_TABLE='' ST_JSON=''
status_run() {
	local i=$1
	shift
	ST_OUT=$(as_pg timeout 15 "$CT_DIR/bin/primgr" status -c "$(node_dir "$i")/primgr.ini" \
		"$@" 2>&1)
	ST_RC=$?
}
# table_verdicts: "node1=Primary node2=Standby ..." from the table in ST_OUT (the PRIMGR
# column, sixth), in row order.
table_verdicts() {
	echo "$ST_OUT" | awk '/^NODE /{ t = 1; next } t && /^node[0-9]/ { printf "%s%s=%s", s, $1, $6; s = " " }'
}
json_verdicts() {
	echo "$ST_OUT" | jq -r '[.nodes[] | "\(.node_name)=\(.verdict)"] | join(" ")' 2>/dev/null
}
# status_phase PHASE AGREED VERDICTS RC: primgr status from every node's configuration: the
# table names AGREED (or "none"), each node's verdict is VERDICTS, the exit status RC; --json
# parses and has the same facts. The table asked from node SHOW becomes TAP comments and
# ST_TABLE, its --json ST_JSON.
status_phase() {
	local phase=$1 agreed=$2 verdicts=$3 rc=$4 show=$5 i line jagreed
	for i in 1 2 3; do
		status_run "$i"
		[ "$i" = "$show" ] && diag "primgr status (node$i's configuration), exit $ST_RC:" "$ST_OUT"
		line=$(echo "$ST_OUT" | grep '^agreed primary:')
		if [ "$agreed" = none ]; then
			check "[1] $phase: node$i's status says no agreed primary ($line)" \
				eval '[[ "$line" == "agreed primary: none"* ]]'
		else
			check "[1] $phase: node$i's status names $agreed the agreed primary ($line)" \
				eval '[[ "$line" == "agreed primary: $agreed ("* ]]'
		fi
		is "$(table_verdicts)" "$verdicts" "[1] $phase: node$i's table shows each node's verdict" ||
			diag "$ST_OUT"
		is "$ST_RC" "$rc" "[1] $phase: node$i's primgr status exits $rc"
		[ "$i" = "$show" ] && ST_TABLE=$ST_OUT
		status_run "$i" --json
		[ "$i" = "$show" ] && ST_JSON=$ST_OUT
		jagreed=$(echo "$ST_OUT" | jq -r '.agreed_primary // "none"' 2>/dev/null)
		is "$ST_RC $jagreed $(json_verdicts)" "$rc $agreed $verdicts" \
			"[1] $phase: node$i's --json parses with jq, same exit, agreed primary and verdicts" ||
			diag "$ST_OUT"
	done
}

# metrics I: node I's /metrics into $CT_DIR/metrics-nodeI.txt.
metrics_file() { echo "$CT_DIR/metrics-node$1.txt"; }
metrics_get() {
	curl -s --noproxy '*' -m 3 -o "$(metrics_file "$1")" -w '%{http_code}' \
		"http://127.0.0.1:${NODE_HTTP[$1]}/metrics" 2>/dev/null
}
# metric_value I NAME_WITH_LABELS: the value of one sample of the last metrics_get of node I.
metric_value() {
	awk -v m="$2" '$1 == m { print $2; exit }' "$(metrics_file "$1")"
}
metric_has() { grep -q "^$2[{ ]" "$(metrics_file "$1")"; }
promtool_check() {
	local out
	out=$(promtool check metrics <"$(metrics_file "$1")" 2>&1)
	local rc=$?
	[ -n "$out" ] && diag "promtool on node$1: $out"
	return $rc
}

cluster_init 3 || bail_out "cluster_init 3"
primgr_start_all || bail_out "primgr starts on every node"
is_eventually 30 "200 202 202" "the cluster is healthy: /state 200 202 202 (after {ms} ms)" \
	states 1 2 3 || bail_out "the cluster is not healthy"

# --- [1] status before the failover -----------------------------------------------------------
status_phase "before the failover" node1 "node1=Primary node2=Standby node3=Standby" 0 1
is "$(echo "$ST_JSON" | jq -r '"\(.claims) \(.split_brain) \(.writable | join(","))"')" \
	"1 false node1" "[1] before the failover: --json: 1 claim, no split brain, node1 writable"
check "[1] before the failover: no split brain warning in the table" \
	eval '! echo "$ST_TABLE" | grep -q WARNING'

# --- [2] metrics of a healthy cluster ---------------------------------------------------------
# A scrape starts a /realPrimary fan-out and shows the previous one's count: scrape until
# the count is there.
claims_shown() { metrics_get "$1" >/dev/null && [ -n "$(metric_value "$1" primgr_realprimary_claims)" ]; }
for i in 1 2 3; do wait_for 15 claims_shown "$i"; done
for i in 1 2 3; do
	is "$(metrics_get "$i")" 200 "[2] node$i /metrics answers 200"
	check "[2] node$i: promtool check metrics passes" promtool_check "$i"
done
# name [NODE]: every metric issue 10 names.
required=(
	'primgr_verdict{state="Primary"}' 'primgr_verdict{state="Standby"}'
	'primgr_verdict{state="Down"}' 'primgr_verdict{state="Unknown"}'
	primgr_votes primgr_quorum primgr_db_up
	'primgr_peer_up{node="node2"}' 'primgr_peer_reply_seconds{node="node2"}'
	'primgr_refresh_duration_seconds_bucket{le="+Inf"}' primgr_refresh_duration_seconds_sum
	primgr_refresh_duration_seconds_count
	'primgr_agent_answers_total{answer="up"}' 'primgr_agent_answers_total{answer="down"}'
	'primgr_agent_answers_total{answer="drain"}' 'primgr_agent_answers_total{answer="maint"}'
	primgr_connections primgr_connections_rejected_total
	primgr_last_transition_timestamp_seconds primgr_realprimary_claims primgr_named_primaries
)
missing=
for m in "${required[@]}"; do
	[ -n "$(metric_value 1 "$m")" ] || missing="$missing $m"
done
is "${missing# }" "" "[2] node1 has the ${#required[@]} samples issue 10 names"
missing=
for m in primgr_replay_lag_seconds primgr_replay_lag_bytes primgr_db_up \
	primgr_replica_streaming primgr_replica_lag_bytes; do
	for i in 2 3; do [ -n "$(metric_value "$i" "$m")" ] || missing="$missing node$i:$m"; done
done
is "${missing# }" "" "[2] the standbys have their replay lag in seconds and bytes, streaming and the lag behind the primary"
check "[2] node1 counts requests by endpoint and code" \
	grep -q '^primgr_http_requests_total{endpoint="metrics",code="200"} [1-9]' "$(metrics_file 1)"
is "$(metric_value 1 'primgr_verdict{state="Primary"}') $(metric_value 1 primgr_votes) $(metric_value 1 primgr_quorum) $(metric_value 1 primgr_db_up)" \
	"1 3 2 1" "[2] node1: verdict Primary 1, votes 3, quorum 2, db_up 1"
is "$(metric_value 1 'primgr_peer_up{node="node2"}') $(metric_value 1 'primgr_peer_up{node="node3"}')" \
	"1 1" "[2] node1 reaches node2 and node3"
check "[2] node1's last transition time is set and recent" \
	awk -v t="$(metric_value 1 primgr_last_transition_timestamp_seconds)" -v now="$(date +%s)" \
	'BEGIN { exit !(t > now - 120 && t <= now + 1) }'
for i in 1 2 3; do
	is "$(metric_value "$i" primgr_realprimary_claims)" 1 \
		"[2] node$i: 1 node claims Primary in the scrape-driven fan-out"
done
is "$(metric_value 1 primgr_named_primaries)" 1 "[2] node1: the repmgr views name 1 primary"

# --- [3] reload under load --------------------------------------------------------------------
loadgen_build || bail_out "build tests/lib/loadgen.c"
LOG1=$(node_dir 1)/primgr.log
log_lines() { wc -l <"$1"; }
log_since() { tail -n +"$(($2 + 1))" "$1"; }
PID1=$(primgr_pid 1)
l0=$(log_lines "$LOG1")
LOAD_S=9
"$LOADGEN" -p "${NODE_AGENT[1]}" -r 150 -d "$LOAD_S" -c 64 -t 2000 -e "up" \
	>"$CT_DIR/load-agent.out" 2>&1 &
lg_agent=$!
CT_BG_PIDS+=("$lg_agent")
"$LOADGEN" -p "${NODE_HTTP[1]}" -r 150 -d "$LOAD_S" -c 64 -t 2000 \
	-s 'GET /state HTTP/1.0\r\n\r\n' -e "HTTP/1.1 200" >"$CT_DIR/load-http.out" 2>&1 &
lg_http=$!
CT_BG_PIDS+=("$lg_http")
sleep 1
HUPS=0
for k in 1 2 3 4 5 6; do
	if [ $((k % 2)) = 1 ]; then
		primgr_ini 1 consensus.peer_timeout=400ms replica.max_lag=20s log.level=notice
	else
		primgr_ini 1
	fi
	kill -HUP "$PID1" && HUPS=$((HUPS + 1))
	sleep 1
done
wait "$lg_agent"
wait "$lg_http"
la=$(cat "$CT_DIR/load-agent.out")
lh=$(cat "$CT_DIR/load-http.out")
diag "agent checks during $HUPS reloads: $la" "HTTP /state checks during $HUPS reloads: $lh"
lg_clean() {
	awk -v n="$(loadgen_field "$1" requests)" -v ok="$(loadgen_field "$1" ok)" \
		-v e="$(loadgen_field "$1" errors)" -v t="$(loadgen_field "$1" timeouts)" \
		-v b="$(loadgen_field "$1" bad)" -v min="$2" \
		'BEGIN { exit !(n >= min && ok == n && e == 0 && t == 0 && b == 0) }'
}
check "[3] $(loadgen_field "$la" requests) agent checks during $HUPS SIGHUPs: every one answered 'up'" \
	lg_clean "$la" $((150 * LOAD_S * 8 / 10))
check "[3] $(loadgen_field "$lh" requests) HTTP /state checks during $HUPS SIGHUPs: every one answered 200" \
	lg_clean "$lh" $((150 * LOAD_S * 8 / 10))
check "[3] primgr on node1 still runs (pid $PID1)" primgr_running 1
reload_count() { log_since "$LOG1" "$l0" | grep -c 'configuration reloaded from'; }
# the last SIGHUP's line may still be on its way
is_eventually 10 "$HUPS" "[3] one 'configuration reloaded' line per SIGHUP" reload_count
reloads=$(log_since "$LOG1" "$l0" | grep 'configuration reloaded from')
diag "reload lines:" "$reloads"
is "$(echo "$reloads" | grep -c 'changed .*\[consensus\] peer_timeout.*\[replica\] max_lag.*\[log\] level\|changed .*\[log\] level.*\[consensus\] peer_timeout.*\[replica\] max_lag')" \
	"$HUPS" "[3] each names the changed keys: [consensus] peer_timeout, [replica] max_lag, [log] level"
metrics_get 1 >/dev/null
is "$(metric_value 1 'primgr_config_reloads_total{result="ok"}') $(metric_value 1 primgr_config_last_reload_successful)" \
	"$HUPS 1" "[3] metrics: $HUPS successful reloads, the last one successful"

# A bad file: refused with one warning, and nothing changes (the good file read again after it
# is "no change").
l0=$(log_lines "$LOG1")
primgr_ini 1 consensus.peer_timeout=soon replica.max_lag=99s
kill -HUP "$PID1"
warned() { log_since "$LOG1" "$l0" | grep -qi 'warn\|refused\|error'; }
wait_for 10 warned
sleep 1 # a second warning for the same SIGHUP, if any, would come now: it must not
bad=$(log_since "$LOG1" "$l0")
diag "after a SIGHUP with a bad file:" "$bad"
is "$(echo "$bad" | grep -ci 'warn\|refused\|error')" 1 "[3] a bad file on SIGHUP logs one warning"
check "[3] ... that names the bad key" eval 'echo "$bad" | grep -q "peer_timeout"'
metrics_get 1 >/dev/null
is "$(metric_value 1 primgr_config_last_reload_successful) $(http_code 1 /state)" "0 200" \
	"[3] metrics say the last reload failed; node1 still answers 200"
l0=$(log_lines "$LOG1")
primgr_ini 1
kill -HUP "$PID1"
wait_for 10 eval 'log_since "$LOG1" "$l0" | grep -q "configuration reloaded"'
line=$(log_since "$LOG1" "$l0" | grep 'configuration reloaded')
check "[3] the good file again is 'no change': the bad one changed nothing ($line)" \
	eval '[[ "$line" == *": no change" ]]'

# A new listen address needs a restart: said once, the old listener stays.
NEWPORT=$(ct_free_port)
l0=$(log_lines "$LOG1")
primgr_ini 1 "http.listen=127.0.0.1:$NEWPORT"
kill -HUP "$PID1"
wait_for 10 eval 'log_since "$LOG1" "$l0" | grep -q "configuration reloaded"'
rl=$(log_since "$LOG1" "$l0")
diag "after a SIGHUP with a new [http] listen:" "$rl"
is "$(echo "$rl" | grep -c '\[http\] listen.*restart')" 1 "[3] a new [http] listen logs once that it needs a restart"
is "$(http_code 1 /health) $(curl -s --noproxy '*' -m 2 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$NEWPORT/health")" \
	"200 000" "[3] the old listener keeps answering, the new address is not bound"

# Every key config.c's table marks restart-only, changed at once: one line names each, the
# running values stay (node1 is still node1 on its old ports) and nothing else is "changed".
# (tests/test_config.c changes each one alone.)
NEWPORT2=$(ct_free_port)
l0=$(log_lines "$LOG1")
primgr_ini 1 node.repmgr_conf=/nonexistent/repmgr.conf node.node_id=99 node.node_name=other \
	node.conninfo="host=nowhere.invalid dbname=x" "http.listen=127.0.0.1:$NEWPORT" \
	"agent.listen=127.0.0.1:$NEWPORT2/primary" server.allow_root=true \
	"files.pidfile=$(node_dir 1)/other.pid"
kill -HUP "$PID1"
wait_for 10 eval 'log_since "$LOG1" "$l0" | grep -q "configuration reloaded"'
rl=$(log_since "$LOG1" "$l0")
diag "after a SIGHUP changing every restart-only key:" "$rl"
rline=$(echo "$rl" | grep 'needs a restart')
is "$(echo "$rline" | grep -c .)" 1 "[3] changing every restart-only key logs one restart line"
for k in '[node] repmgr_conf' '[node] node_id' '[node] node_name' '[node] conninfo' \
	'[http] listen' '[agent] listen' '[server] allow_root' '[files] pidfile'; do
	check "[3] ... that names $k" eval '[[ "$rline" == *"$k"* ]]'
done
check "[3] ... and the reload itself is 'no change'" \
	eval '[[ "$(echo "$rl" | grep "configuration reloaded")" == *": no change" ]]'
is "$(http_json 1 /primary .answered_by) $(http_code 1 /health) $([ -e "$(node_dir 1)/other.pid" ] && echo pidfile || echo none)" \
	"node1 200 none" "[3] node1 keeps its identity, its listener and its pidfile"
l0=$(log_lines "$LOG1")
primgr_ini 1
kill -HUP "$PID1"
wait_for 10 eval 'log_since "$LOG1" "$l0" | grep -q "configuration reloaded"'

# --- failover to node2 ------------------------------------------------------------------------
l_fo=$(log_lines "$LOG1")
failover_to 2 || bail_out "failover to node2"
is_eventually 30 "503 200 202" "after the failover: /state 503 200 202 ({ms} ms)" states 1 2 3
for i in 1 2 3; do wait_for 15 eval '[ "$(http_json $i /realPrimary .realPrimary)" = node2 ]'; done
status_phase "after the failover" node2 "node1=Down node2=Primary node3=Standby" 0 3
# node1's primgr answers /primary 503 {"Primary":null,...}: a peer that names no primary,
# not a protocol error
is_eventually 15 "2 of 3 votes, quorum 2 (node1 names no primary)" \
	"[4] node2's reason says node1 names no primary" http_json 2 /state .reason

# --- split brain: node1 starts as a primary again ---------------------------------------------
l_sb=$(log_lines "$LOG1")
start_as_primary 1 || bail_out "start old primary node1"
is_eventually 30 "509 200 202" "split brain: /state 509 200 202 ({ms} ms)" states 1 2 3
t_sb=$(now_ms)
status_phase "split brain" node2 "node1=Unknown node2=Primary node3=Standby" 0 1
check "[1] split brain: the table warns that node1 is a split brain and says how to rejoin it" \
	eval 'echo "$ST_TABLE" | grep -q "^WARNING: split brain: node1 .*rejoin"'
is "$(echo "$ST_JSON" | jq -r '"\(.claims) \(.split_brain) \(.writable | sort | join(","))"')" \
	"1 true node1,node2" "[1] split brain: --json: 1 claim, split_brain true, node1 and node2 writable"

# [2] during the split brain: a scrape shows the count of the fan-out before it, so scrape
# until node1 and node2 show the split brain's count
claims_over_1() {
	metrics_get "$1" >/dev/null &&
		awk -v c="$(metric_value "$1" primgr_realprimary_claims)" 'BEGIN { exit !(c > 1) }'
}
for i in 1 2 3; do http_get "$i" /realPrimary >/dev/null; done
for i in 1 2; do wait_for 15 claims_over_1 "$i"; done
for i in 1 2 3; do
	is "$(metrics_get "$i")" 200 "[2] split brain: node$i /metrics answers 200"
	check "[2] split brain: node$i: promtool check metrics passes" promtool_check "$i"
done
for i in 1 2 3; do
	diag "node$i: $(grep -E '^primgr_(realprimary_claims|named_primaries|votes|verdict\{state="(Primary|Unknown)"\}) ' "$(metrics_file "$i")" | tr '\n' ' ')"
done
for i in 1 2; do
	check "[2] split brain: node$i counts more than 1 node claiming Primary ($(metric_value "$i" primgr_realprimary_claims))" \
		awk -v c="$(metric_value "$i" primgr_realprimary_claims)" 'BEGIN { exit !(c > 1) }'
done
is "$(metric_value 1 'primgr_verdict{state="Unknown"}') $(metric_value 1 primgr_votes)" "1 1" \
	"[2] split brain: node1's verdict gauge is Unknown with 1 vote"

# [1] no agreed primary at all: exit 1; no daemon: exit 2
sleep 3 # the split brain lives a while: its log must not repeat
node_stop 2 immediate || bail_out "stop node2's database"
is_eventually 30 "509 503 202" "node2's database stopped too: /state 509 503 202 ({ms} ms)" \
	states 1 2 3
status_phase "no primary" none "node1=Unknown node2=Down node3=Standby" 1 3
status_run 1 --host "http://127.0.0.1:$(ct_free_port)"
is "$ST_RC" 2 "[1] primgr status exits 2 when the daemon cannot be reached ($ST_OUT)"

# --- [4] node1's log: one line per transition, with its reason --------------------------------
fo_log=$(log_since "$LOG1" "$l_fo" | head -n $((l_sb - l_fo)))
sb_log=$(log_since "$LOG1" "$l_sb")
diag "node1's log from the failover to the end:" "$(log_since "$LOG1" "$l_fo")"
check "[4] failover: node1 logs 'verdict Primary -> Down' with the database error" \
	eval 'echo "$fo_log" | grep -q "verdict Primary -> Down: ."'
check "[4] split brain: node1 logs 'verdict Down -> Unknown' with the votes and who names whom" \
	eval 'echo "$sb_log" | grep -q "verdict Down -> Unknown: 1 of 3 votes, quorum 2 (node2 .*, node3 .*)"'
n_verdict=$(echo "$sb_log" | grep -c 'verdict ')
check "[4] the split brain (~$((($(now_ms) - t_sb) / 1000)) s, many refreshes) gave $n_verdict verdict lines, not one per cycle" \
	test "$n_verdict" -le 6
# node1 logs it on its first round after node2's answer changed: wait for the line
eventually 30 "[4] node1 logs that node2 names no primary when node2's database stops ({ms} ms)" \
	eval 'log_since "$LOG1" "$l_sb" | grep "peer node2: names node2 -> names no primary (."'
dups=$(printf "%s\n" "$fo_log" "$sb_log" | sed -n 's/^.*\(verdict .*\)$/\1/p' | uniq -d)
is "$dups" "" "[4] no verdict line repeats the one before it"

tap_done

#!/bin/bash
# shellcheck disable=SC2119 # the harness functions take optional arguments, not the script's
# Issue 19 part 1: a rolling migration from the Python service. A 3-node repmgr cluster starts
# with a stand-in of the original (tests/lib/legacy_primgr.py: {"Primary": name} on /primary,
# {"state": S} with 200/202/503/509 on /state) on every node, a writer through haproxy, and
# moves one node at a time to primgr, standbys first, each primgr with [consensus]
# legacy_peers naming the nodes still on Python (reloaded with SIGHUP as nodes move):
#   [1] Python everywhere: node1 Primary, the writer commits through haproxy
#   [2] node3 -> primgr: the Python primary counts primgr's vote (it reads "Primary")
#   [3] node2 -> primgr, node3 reloaded: node1 (Python) still Primary, never left 200
#   [4] split brain mid-migration: failover to node2 (primgr), node1 (Python) started again
#       as a primary: fenced (0 rows, /state never 200), node2 Primary throughout
#   [5] node1 rejoins as a Python standby: its legacy vote counts on node2
#       (primgr_legacy_votes 1), enough for the quorum while node3's primgr is stopped
#   [6] node1 -> primgr, legacy_peers emptied everywhere: 3/3 votes, no legacy vote
# haproxy: during the migration a node's HTTP port is served by Python or by primgr, and only
# primgr has an agent port, so pg_write checks as the original's deployment did: an HTTP
# check of /state on the HTTP port, expecting 200 (no agent-check). Every row the writer
# commits records the node's port; a row on a node outside its Primary window fails the test.
# shellcheck source-path=SCRIPTDIR source=../lib/cluster.sh disable=SC2016
. "$(dirname "$0")/../lib/cluster.sh"
# shellcheck source=../lib/haproxy.sh
. "$(dirname "$0")/../lib/haproxy.sh"

cluster_require cc python3
ha_require
primgr_require
T0=$(now_ms)

declare -a LEGACY_PID

# legacy_start I: the Python stand-in on node I's HTTP port (log nodeI/legacy.log).
legacy_start() {
	local i=$1 k peers=()
	for k in $(data_nodes); do
		[ "$k" = "$i" ] || peers+=(--peer "${NODE_NAME[k]}=http://127.0.0.1:${NODE_HTTP[k]}")
	done
	# run from the temp dir: its command line then names it, so ct_ours and the cleanup
	# recognise it
	mkdir -p "$CT_DIR/bin" && cp "$CT_LIBDIR/legacy_primgr.py" "$CT_DIR/bin/" && ct_own "$CT_DIR/bin/legacy_primgr.py"
	ct_spawn "legacy-node$i" "$(node_dir "$i")/legacy.log" python3 "$CT_DIR/bin/legacy_primgr.py" \
		--name "${NODE_NAME[i]}" --listen "${NODE_HTTP[i]}" --conninfo "$(node_conninfo "$i")" \
		--psql "$PG_BINDIR/psql" "${peers[@]}" || return 1
	LEGACY_PID[i]=$SPAWNED_PID
	wait_for 10 eval '[ "$(http_code '"$i"' /state)" != 000 ]'
}

legacy_stop() {
	local p=${LEGACY_PID[$1]}
	[ -n "$p" ] || return 0
	ct_ours "$p" && kill -TERM "$p" 2>/dev/null
	wait_for 5 eval "! ct_alive $p" || { ct_ours "$p" && kill -KILL "$p"; }
	LEGACY_PID[$1]=
}

# legacy_stop_all: every stand-in still running (a failure or bail_out mid-test leaves some;
# cluster_cleanup only stops postgres, primgr and haproxy), by the pids started here.
legacy_stop_all() {
	local i
	for i in "${!LEGACY_PID[@]}"; do legacy_stop "$i"; done
}

# legacy_ini NAMES: the INI override for [consensus] legacy_peers (none when empty).
legacy_ini() { [ -n "$1" ] && echo "consensus.legacy_peers=$1"; }

# upgrade I LEGACY: Python -> primgr on node I.
upgrade() {
	legacy_stop "$1"
	# shellcheck disable=SC2046 # no argument at all for an empty list
	primgr_start "$1" $(legacy_ini "$2")
}

# reload I LEGACY: rewrites node I's INI with that legacy_peers and sends SIGHUP.
reload() {
	local log n
	log=$(node_dir "$1")/primgr.log
	n=$(grep -c "configuration reloaded" "$log")
	# shellcheck disable=SC2046
	primgr_ini "$1" $(legacy_ini "$2")
	kill -HUP "${NODE_PRIMGR_PID[$1]}"
	wait_for 5 eval '[ "$(grep -c "configuration reloaded" "'"$log"'")" -gt '"$n"' ]'
}

metric() {
	curl -s --noproxy '*' -m 2 "http://127.0.0.1:${NODE_HTTP[$1]}/metrics" | awk -v m="$2" '$1 == m { print $2 }'
}

# haproxy: pg_write only, HTTP check of /state on the HTTP port (see above).
mig_haproxy_start() {
	local i cfg="$CT_DIR/haproxy.cfg"
	HA_WRITE=$(ct_free_port) HA_STATS=$(ct_free_port) HA_SOCK=$CT_DIR/haproxy.sock
	{
		cat <<-EOF
			global
			    maxconn 500
			    stats socket $HA_SOCK mode 600 level admin
			defaults
			    mode tcp
			    timeout connect 2s
			    timeout client 1m
			    timeout server 1m
			    timeout check 1s
			listen stats
			    mode http
			    bind 127.0.0.1:$HA_STATS
			    stats enable
			    stats uri /
			frontend pg_write
			    bind 127.0.0.1:$HA_WRITE
			    default_backend pg_write
			backend pg_write
			    option httpchk
			    http-check send meth GET uri /state ver HTTP/1.1 hdr Host primgr
			    http-check expect status 200
			    default-server check inter 500ms fastinter 250ms downinter 500ms rise 1 fall 1 on-marked-down shutdown-sessions
		EOF
		for i in $(data_nodes); do
			echo "    server ${NODE_NAME[i]} 127.0.0.1:${NODE_PORT[i]} port ${NODE_HTTP[i]}"
		done
	} >"$cfg"
	ct_own "$cfg"
	ct_run "haproxy -c" haproxy -c -q -f "$cfg" || return 1
	ct_spawn haproxy "$CT_DIR/haproxy.log" haproxy -db -f "$cfg" || return 1
	HA_PID=$SPAWNED_PID
	wait_for 5 eval '[ -n "$(ha_status pg_write node1)" ]'
}

show_states() {
	local i
	for i in $(data_nodes); do diag "  node$i /state: $(http_get "$i" /state)"; done
}

# --- [1] Python everywhere -------------------------------------------------------------------
cluster_init 3 || bail_out "cluster_init 3"
trap 'legacy_stop_all; cluster_cleanup' EXIT # replaces cluster_tmp's trap, which it still runs
P1=${NODE_PORT[1]} P2=${NODE_PORT[2]} P3=${NODE_PORT[3]}
for i in 1 2 3; do legacy_start "$i" || bail_out "the Python stand-in starts on node$i"; done
writer_build || bail_out "pgwriter builds (cc, libpq-dev)"
writer_table 1 || bail_out "the writer's table on node1"
mig_haproxy_start || bail_out "haproxy starts (HTTP check of /state only)"
wait_for 10 http_is 1 /state 200 || show_states
is "$(http_body 1 /state)" '{"state": "Primary"}' "[1] Python node1 /state: 200 Primary"
is "$(http_get 2 /state)" '202 {"state": "Standby"}' "[1] Python node2 /state: 202 Standby"
is "$(http_body 3 /primary)" '{"Primary": "node1"}' "[1] Python node3 /primary names node1, nothing more"
# haproxy marks node1 UP at its first check that gets 200 within "timeout check 1s" (every
# 500 ms); 15 s is for a loaded machine, where haproxy itself may start checking late
wait_for 15 eval '[ "$(ha_view pg_write)" = "node1:UP node2:DOWN node3:DOWN" ]' ||
	{ diag "haproxy after $WAIT_MS ms:" "$(ha_show)"; show_states; }
is "$(ha_view pg_write)" "node1:UP node2:DOWN node3:DOWN" "[1] haproxy: node1 alone UP in pg_write"
watch_start n1 1
writer_start 20
wait_for 5 eval '[ "$(writer_count "$P1")" -gt 0 ]'
check "[1] the writer commits on node1 through haproxy" test "$(writer_count "$P1")" -gt 0

# --- [2] node3 -> primgr ---------------------------------------------------------------------
upgrade 3 "node1,node2" || bail_out "primgr starts on node3"
check "[2] primgr on node3 warns once per legacy peer at start" \
	eval '[ "$(grep -c "legacy_peers: node[12] may answer" "$(node_dir 3)/primgr.log")" = 2 ]'
wait_for 5 http_is 3 /state 202
is "$(http_json 3 /state .state)" Standby "[2] primgr node3 /state: state Standby (the original's word)"
is "$(http_code 3 /state)" 202 "[2] primgr node3 /state: 202, the original's code"
is "$(http_json 3 /primary .Primary)" node1 "[2] primgr node3 /primary: \"Primary\" names node1, as a Python node reads it"
sleep 3 # a few of the Python primary's /state rounds (0.5 s refresh) with node3 on primgr
is "$(http_code 1 /state)" 200 "[2] Python node1 still Primary with node3 on primgr"

# --- [3] node2 -> primgr, node3 reloaded -----------------------------------------------------
upgrade 2 "node1" || bail_out "primgr starts on node2"
reload 3 "node1" || not_ok "[3] node3 reloads"
check "[3] node3's reload warns for node1 (the list changed)" \
	eval '[ "$(grep -c "legacy_peers: node1 may answer" "$(node_dir 3)/primgr.log")" = 2 ]'
wait_for 5 http_is 2 /state 202
sleep 3 # node1's votes now come from primgr nodes only
is "$(http_code 1 /state)" 200 "[3] Python node1 Primary on primgr's votes alone"
watch_stop n1
is "$(watch_codes n1)" 200 "[3] node1's /state never left 200 during both upgrades ($(wc -l <"$(watch_file n1)") samples)"
diag "writer so far: $(writer_ports)"

# --- [4] split brain mid-migration -----------------------------------------------------------
failover_to 2 || bail_out "failover to node2"
# node1 was the agreed primary until its stop returned (a row committed while it stopped is
# no split brain: the start of failover_to + FO_STOP_MS fell short of that by the time
# failover_to took to begin, and a row from before the stop was counted under load)
t_stopped=$FO_STOPPED_AT
t_promoted=$FO_PROMOTED_AT
wait_for 10 http_is 2 /state 200 || show_states
is "$(http_code 2 /state)" 200 "[4] primgr node2 Primary after the failover ($(http_json 2 /state '"\(.votes)/\(.quorum)"'))"
watch_start n2 2
watch_start sb 1
wait_for 10 eval '[ -n "$(writer_first "$P2" "$t_stopped")" ]'
t_sb=$(now_ms)
start_as_primary 1 || bail_out "node1 starts again as a primary"
is "$(node_in_recovery 1)" f "[4] node1 (Python) runs as a primary: split brain"
SB_LOG=$CT_DIR/splitbrain.log
: >"$SB_LOG"
for _ in $(seq 1 25); do
	echo "$(now_ms) $(ha_view pg_write)" >>"$SB_LOG"
	sleep 0.2
done
check "[4] node1 was never UP in haproxy during 5 s of split brain" eval '! grep -q "node1:UP" "$SB_LOG"'
is "$(http_get 1 /state)" '509 {"state": "Unknown"}' "[4] Python node1 /state: 509 Unknown"
watch_stop sb
check "[4] node1's /state was never 200 in split brain ($(watch_codes sb))" \
	eval '! watch_codes sb | grep -qw 200'
n1rows=$(node_psql_db 1 postgres "SELECT count(*) FROM primgr_writes WHERE at > to_timestamp($t_stopped / 1000.0)")
is "$n1rows" 0 "[4] node1's own table: 0 rows since it was stopped" ||
	diag "$(node_psql_db 1 postgres "SELECT n, port, (extract(epoch FROM at) * 1000)::bigint - $t_stopped
		FROM primgr_writes WHERE at > to_timestamp($t_stopped / 1000.0) ORDER BY at LIMIT 5" |
		awk -F'|' -v sb=$((t_sb - t_stopped)) '{ printf "row %s (port %s) at stop + %s ms (split brain from stop + %s ms)\n", $1, $2, $3, sb }')"
node_rejoin 1 2 || not_ok "[4] repmgr node rejoin of node1 to node2"

# --- [5] node1 a Python standby: its legacy vote counts --------------------------------------
wait_for 10 eval '[ "$(http_body 1 /primary)" = "{\"Primary\": \"node2\"}" ]'
wait_for 5 eval '[ "$(metric 2 primgr_legacy_votes)" = 1 ]'
is "$(metric 2 primgr_legacy_votes)" 1 "[5] node2 counts node1's legacy vote (primgr_legacy_votes 1, $(http_json 2 /state '"\(.votes)/\(.quorum)"'))"
primgr_kill 3 STOP
sleep 3
diag "node2's view of node1: $(http_body 2 /cluster | jq -c '.nodes[] | select(.node_name == "node1") | .vote' 2>/dev/null)"
is "$(http_json 2 /state '"\(.state) \(.votes)"')" "Primary 2" "[5] node3's primgr stopped: node2 Primary on its own and node1's legacy vote"
primgr_kill 3 CONT

# --- [6] node1 -> primgr, legacy_peers emptied -----------------------------------------------
upgrade 1 "" || bail_out "primgr starts on node1"
reload 2 "" || not_ok "[6] node2 reloads"
reload 3 "" || not_ok "[6] node3 reloads"
check "[6] the reload that empties the list says so" \
	grep -q "legacy_peers: none now" "$(node_dir 2)/primgr.log"
wait_for 5 eval '[ "$(http_json 2 /state .votes)" = 3 ]'
is "$(http_json 2 /state '"\(.state) \(.votes)/\(.quorum)"')" "Primary 3/2" "[6] primgr everywhere: node2 Primary, 3 votes, quorum 2"
is "$(metric 2 primgr_legacy_votes)" 0 "[6] no legacy vote left"
watch_stop n2
is "$(watch_codes n2)" 200 "[4-6] node2's /state never left 200 once Primary under primgr ($(wc -l <"$(watch_file n2)") samples)"

writer_stop
# A row is on a non-Primary node when it committed on node1 after it was stopped for the
# failover, on node2 before it was promoted, or on node3 at all.
bad=$(($(writer_count "$P1" "$t_stopped") + $(writer_count "$P2" 0 "$t_promoted") + $(writer_count "$P3")))
rows=$(writer_count OK)
is "$bad" 0 "rows on non-Primary nodes: 0 of $rows rows written"
diag "writer: $(writer_count ALL) attempts, $rows rows ($(writer_ports)), $(writer_count ERR) failures; split brain from $(( (t_sb - T0) / 1000 )) s"
diag "wall time: $(( ($(now_ms) - T0) / 1000 )) s"
tap_done

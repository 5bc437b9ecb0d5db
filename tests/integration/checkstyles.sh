#!/bin/bash
# Issue 14 (b): haproxy configs users bring, with HTTP checks only (no agent-check), in front
# of a real 3-node repmgr cluster with primgr on each node. Three haproxies run side by side on
# the same cluster, through the same failover and split brain, each with its own writer:
#   patroni   the shipped haproxy/patroni-style.cfg: option httpchk OPTIONS /master
#   state     the same file with "option httpchk /state" (haproxy sends OPTIONS /state)
#   bare      the same file with a bare "option httpchk" (haproxy sends OPTIONS /) and no
#             "http-check expect" in the write backend: haproxy passes any 2xx or 3xx, so
#             / must answer non-2xx on every node but the agreed primary
# The first two keep "http-check expect status 200": without it haproxy passes any 2xx, and
# /state answers 202 on a standby (see primgr(8)).
#   [0] the shipped file passes haproxy -c     [1] writes reach node1, reads the standbys
#   [2] failover node1 -> node2                [3] split brain: node1 starts as a primary
# Watched for the whole window (every ~200 ms, not sampled once): no server that is not the
# Primary is ever UP in pg_write, and no row lands on a node primgr did not call Primary.
# shellcheck source-path=SCRIPTDIR disable=SC2016

# shellcheck source=../lib/shipped.sh
. "$(dirname "$0")/../lib/shipped.sh"

cluster_require cc
ha_require
primgr_require
T0=$(now_ms)
PATRONI_CFG=$top_srcdir/haproxy/patroni-style.cfg
STYLES=(patroni state bare)

# --- [0] the shipped file ---------------------------------------------------------------------
if out=$(haproxy -c -f "$PATRONI_CFG" 2>&1); then
	ok "[0] haproxy -c -f haproxy/patroni-style.cfg passes"
else
	not_ok "[0] haproxy -c -f haproxy/patroni-style.cfg passes"
	diag "$out"
fi
check "[0] patroni-style.cfg checks OPTIONS /master, expects 200, has no agent-check" \
	eval 'grep -q "^	option httpchk OPTIONS /master$" "$PATRONI_CFG" &&
		[ "$(grep -c "^	http-check expect status 200$" "$PATRONI_CFG")" = 2 ] &&
		! grep -q "^[^#]*agent-check" "$PATRONI_CFG"'

cluster_init 3 || bail_out "cluster_init 3"
# shellcheck disable=SC2119
primgr_start_all || bail_out "primgr starts on every node"
writer_build || bail_out "pgwriter builds (cc, libpq-dev)"
writer_table 1 || bail_out "the writer's table on node1"

# The /state variant: the write check alone changes.
STATE_CFG=$CT_DIR/state-style.cfg
sed 's|^	option httpchk OPTIONS /master$|	option httpchk /state|' "$PATRONI_CFG" >"$STATE_CFG"
ct_own "$STATE_CFG"
grep -q '^	option httpchk /state$' "$STATE_CFG" || bail_out "state-style.cfg made from patroni-style.cfg"
# The bare variant: haproxy's default check, and the write backend's expect line dropped.
BARE_CFG=$CT_DIR/bare-style.cfg
awk '/^	option httpchk OPTIONS \/master$/ { print "	option httpchk"; bare = 1; next }
	bare && /^	http-check expect status 200$/ { bare = 0; next }
	{ print }' "$PATRONI_CFG" >"$BARE_CFG"
ct_own "$BARE_CFG"
if [ "$(grep -c '^	http-check expect' "$BARE_CFG")" != 1 ] || ! grep -q '^	option httpchk$' "$BARE_CFG"; then
	bail_out "bare-style.cfg made from patroni-style.cfg"
fi

# One haproxy per style: its ports, stats socket and pid kept per style.
declare -A W R SOCK WLOG WPID
for st in "${STYLES[@]}"; do
	HA_TAG=ha-$st HA_WRITE='' HA_READ='' HA_STATS='' HA_PID=''
	case $st in
	patroni) HA_CFG_SRC=$PATRONI_CFG ;;
	state) HA_CFG_SRC=$STATE_CFG ;;
	bare) HA_CFG_SRC=$BARE_CFG ;;
	esac
	ha_start || bail_out "haproxy ($st style) starts"
	W[$st]=$HA_WRITE R[$st]=$HA_READ SOCK[$st]=$HA_SOCK
	CT_BG_PIDS+=("$HA_PID")
done
HA_PID=
use() { HA_SOCK=${SOCK[$1]} HA_WRITE=${W[$1]} HA_READ=${R[$1]} WRITER_LOG=${WLOG[$1]:-}; }
ok "cluster, primgr on node1..node3 and three haproxies (patroni-style, state-style, bare httpchk) are up"

P1=${NODE_PORT[1]} P2=${NODE_PORT[2]} P3=${NODE_PORT[3]}
show_ha() { local st; for st in "${STYLES[@]}"; do use "$st"; diag "$st:"; diag "$(ha_show)"; done; }

# --- [1] writes reach node1, reads the standbys --------------------------------------------------
views_are() { # STYLE WRITE_VIEW READ_VIEW
	use "$1"
	[ "$(ha_view pg_write)" = "$2" ] && [ "$(ha_view pg_read)" = "$3" ]
}
for st in "${STYLES[@]}"; do
	if wait_for 20 views_are "$st" "node1:UP node2:DOWN node3:DOWN" "node1:DOWN node2:UP node3:UP"; then
		ok "[1] $st: pg_write node1 UP only, pg_read node2 and node3 UP (after ${WAIT_MS} ms)"
	else
		not_ok "[1] $st: pg_write node1 UP only, pg_read node2 and node3 UP"
		show_ha
	fi
done

# The watcher: every ~200 ms, every haproxy's pg_write, with the time.
WATCH=$CT_DIR/checkstyles-watch.log
: >"$WATCH"
(
	while :; do
		line=$(now_ms)
		for st in "${STYLES[@]}"; do use "$st"; line+=" $st=[$(ha_view pg_write)]"; done
		echo "$line" >>"$WATCH"
		sleep 0.1
	done
) &
CT_BG_PIDS+=($!)
WATCH_PID=$!

for st in "${STYLES[@]}"; do
	WLOG[$st]=$CT_DIR/writer-$st.log
	: >"${WLOG[$st]}"
	# numbered apart so that each style's rows are told apart in the tables
	case $st in patroni) first=1 ;; state) first=1000001 ;; *) first=2000001 ;; esac
	"$PGWRITER" -p "${W[$st]}" -i 50 -s "$first" >>"${WLOG[$st]}" 2>&1 </dev/null &
	WPID[$st]=$!
	CT_BG_PIDS+=("${WPID[$st]}")
done
for st in "${STYLES[@]}"; do
	use "$st"
	wait_for 10 eval '[ "$(writer_count "$P1")" -gt 0 ]'
	check "[1] $st: the writer commits on node1 ($(writer_ports))" test "$(writer_count "$P1")" -gt 0
done

# --- [2] failover node1 -> node2 -------------------------------------------------------------------
t_stop=$(now_ms)
failover_to 2 || bail_out "failover node1 -> node2"
t_promote_start=$((FO_PROMOTED_AT - FO_PROMOTE_MS))
for st in "${STYLES[@]}"; do
	use "$st"
	if wait_for 15 eval '[ -n "$(writer_first "$P2" "$t_stop")" ]'; then
		ok "[2] $st: writes resume on node2, $(($(writer_first "$P2" "$t_stop") - FO_PROMOTED_AT)) ms after promote returned"
	else
		not_ok "[2] $st: writes resume on node2 within 15 s"
		show_ha
	fi
	wait_for 5 eval '[ "$(ha_view pg_write)" = "node1:DOWN node2:UP node3:DOWN" ]'
	is "$(ha_view pg_write)" "node1:DOWN node2:UP node3:DOWN" "[2] $st: pg_write node2 only"
done

# --- [3] split brain: node1 starts again as a primary ------------------------------------------
t_sb=$(now_ms)
start_as_primary 1 || bail_out "node1 starts again as a primary"
is "$(node_in_recovery 1)" f "[3] node1 runs as a primary (not in recovery): split brain"
wait_for 10 eval '[ "$(http_code 1 /state)" = 509 ]'
is "$(http_code 1 /state)" 509 "[3] node1 /state: 509 Unknown ($(http_json 1 /state .reason))"
for path in /master /leader /read-write /state /; do
	code=$(printf 'OPTIONS %s HTTP/1.0\r\n\r\n' "$path" | timeout 3 nc 127.0.0.1 "${NODE_HTTP[1]}" 2>/dev/null | head -n 1 | tr -d '\r')
	check "[3] node1 OPTIONS $path: not 2xx ($code)" eval '[[ "$code" == "HTTP/1.1 5"* ]]'
done
sleep 8 # the split brain lasts: haproxy checks node1 every 500 ms meanwhile
t_end=$(now_ms)
kill "$WATCH_PID" 2>/dev/null
for st in "${STYLES[@]}"; do
	kill -TERM "${WPID[$st]}" 2>/dev/null
	wait "${WPID[$st]}" 2>/dev/null
done

# --- the whole window ------------------------------------------------------------------------
# Who primgr called Primary: node1 until it was stopped, node2 from its promotion on. node3
# UP, node2 UP before its promotion or node1 UP once it runs again (split brain) is the
# failure. (node1 stays UP for a check or two after its immediate stop: nothing can land
# there, its PostgreSQL is down, and the row counts below show it.)
n=$(wc -l <"$WATCH")
for st in "${STYLES[@]}"; do
	use "$st"
	bad=$(awk -v st="$st" -v tb="$t_sb" -v tp="$t_promote_start" '
		{ v = $0; sub(".*" st "=\\[", "", v); sub("\\].*", "", v)
		  if (v == "") { print $1 " no answer"; next }
		  if (v ~ /node3:UP/) print $1 " node3 UP"
		  if (v ~ /node2:UP/ && $1 < tp) print $1 " node2 UP before its promotion"
		  if (v ~ /node1:UP/ && $1 >= tb) print $1 " node1 UP in split brain" }' "$WATCH" | head -5)
	is "$bad" "" "[w] $st: sampled, no standby or split-brain node ever UP in pg_write ($n samples over $(((t_end - $(head -n 1 "$WATCH" | cut -d' ' -f1)) / 1000)) s)"
	# haproxy's own log has every state change, so nothing falls between two samples:
	# node1 starts UP and never comes UP again, node2 comes UP once (its promotion), node3
	# never.
	hlog=$CT_DIR/ha-$st.log
	ups=$(grep -o '^Server pg_write/node[0-9] is UP' "$hlog" | cut -d' ' -f2- | sort | uniq -c | awk '{ printf "%s%s x%s", sep, $2, $1; sep = ", " }')
	is "$ups" "pg_write/node2 x1" "[w] $st: haproxy's log: the only server that came UP in pg_write is node2, once ($(grep -c '^Server pg_write/node[0-9] is DOWN' "$hlog") DOWN transitions)"
	is "$(writer_count "$P3")" 0 "[w] $st: no row committed on node3 (always a standby)"
	is "$(writer_count "$P1" "$t_promote_start")" 0 "[w] $st: no row committed on node1 after it was stopped"
	is "$(writer_count "$P2" 0 "$t_promote_start")" 0 "[w] $st: no row committed on node2 before its promotion"
	check "[w] $st: rows committed during the split brain, on node2 ($(writer_ports "$t_sb"))" \
		test "$(writer_count "$P2" "$t_sb")" -gt 0
	diag "$st writer: $(writer_count ALL) attempts, $(writer_ports), $(writer_count ERR) failures"
done
n1rows=$(node_psql_db 1 postgres "SELECT count(*) FROM primgr_writes
	WHERE at > to_timestamp($t_promote_start / 1000.0)")
is "$n1rows" 0 "[3] node1's own table: zero rows written after it was stopped (every writer)"
diag "whole test: $((($(now_ms) - T0) / 1000)) s"
tap_done

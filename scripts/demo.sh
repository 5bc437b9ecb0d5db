#!/bin/bash
# scripts/demo.sh: primgr in one minute. A local 3-node PostgreSQL 15 + repmgr cluster on
# 127.0.0.1, primgr beside each node, and haproxy in front of them configured from the
# shipped haproxy/primgr.cfg. Everything runs as user postgres (when started as root) from
# one directory, $PRIMGR_DEMO_DIR (default /tmp/primgr-demo), which the later subcommands
# read and `down` removes.
#
#   ./scripts/demo.sh up          install what is missing (root), build, start; print where to connect
#   ./scripts/demo.sh status      each node's /state and haproxy's view
#   ./scripts/demo.sh failover    stop the primary, promote the next standby, watch writes move
#   ./scripts/demo.sh splitbrain  start the old primary as a primary: primgr keeps it out
#   ./scripts/demo.sh rejoin      rejoin the old primary as a standby (pg_rewind)
#   ./scripts/demo.sh down        stop everything the demo started (by pid), remove its directory
#
# PRIMGR_DEMO_DIR=DIR puts the demo elsewhere; PRIMGR=/path/to/primgr uses that binary and
# skips the build.
# The demo reuses the test harness (tests/lib/cluster.sh, tests/lib/haproxy.sh): what you see
# is what the integration tests check.
# shellcheck source-path=SCRIPTDIR/.. disable=SC2016,SC2034,SC2119
# (SC2016: single-quoted strings given to eval expand when evaluated; SC2034: CT_* and
# top_srcdir are read by the harness)
set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd)
DEMO_DIR=${PRIMGR_DEMO_DIR:-/tmp/primgr-demo}
STATE=$DEMO_DIR/state.sh

# primgr's own defaults for timing, so that what the demo shows is what a user gets.
CT_REFRESH=1s CT_DB_TIMEOUT=2s CT_STALE_AFTER=5s CT_PEER_TIMEOUT=500ms
top_srcdir=$ROOT
PRIMGR_GIVEN=${PRIMGR:-}      # PRIMGR=/path/to/primgr: use that binary, do not build
top_builddir=${top_builddir:-$ROOT}
# shellcheck source=tests/lib/cluster.sh
. "$ROOT/tests/lib/cluster.sh"
# shellcheck source=tests/lib/haproxy.sh
. "$ROOT/tests/lib/haproxy.sh"

say() { printf '%s\n' "$@"; }
die() {
	printf 'demo: %s\n' "$*" >&2
	exit 1
}

# The demo's variables, written after every step and read by the next command.
state_save() {
	{
		declare -p CT_DIR CT_N CT_PRIMARY CT_USED_PORTS NODE_NAME NODE_TYPE NODE_LOC NODE_PORT \
			NODE_HTTP NODE_AGENT NODE_RAGENT NODE_PRIMGR_PID CT_PIDS HA_PID HA_WRITE HA_READ \
			HA_STATS HA_SOCK PGWRITER DEMO_OLD
	} 2>/dev/null | sed -e 's/^declare -- /declare -g /' -e 's/^declare -\([a-zA-Z]\+\) /declare -g\1 /' \
		>"$STATE.new" &&
		mv "$STATE.new" "$STATE"
}

DEMO_OLD=
require_up() {
	[ -r "$STATE" ] || die "no demo is running (start one with: $0 up)"
}

# ---------------------------------------------------------------------------------------------
# up

deps() {
	local p missing=
	if [ "$(id -u)" -eq 0 ]; then
		sh "$ROOT/scripts/install-deps.sh" || die "installing the dependencies failed"
		return
	fi
	for p in "$PG_BINDIR/pg_ctl" "$REPMGR" haproxy curl jq nc cc make autoreconf; do
		command -v "$p" >/dev/null 2>&1 || missing="$missing $p"
	done
	[ -z "$missing" ] ||
		die "missing:$missing; run as root once (it runs scripts/install-deps.sh)"
}

build() {
	local log=$DEMO_DIR/build.log
	if [ -n "$PRIMGR_GIVEN" ]; then
		say "using $PRIMGR_GIVEN (PRIMGR is set: no build)"
		return 0
	fi
	say "building primgr (log: $log)"
	(
		cd "$ROOT" || exit 1
		{ [ -x configure ] || autoreconf -fi; } &&
			{ [ -f "$top_builddir/Makefile" ] || ./configure; } &&
			make -C "$top_builddir" -j2
	) >"$log" 2>&1 || {
		tail -n 20 "$log" >&2
		die "the build failed (full log: $log)"
	}
}

# port_or_free P: P when nobody listens on it, else a free port.
port_or_free() {
	if [ -z "$(ss -Htln "( sport = :$1 )" 2>/dev/null)" ]; then
		CT_USED_PORTS="$CT_USED_PORTS$1 "
		echo "$1"
	else
		ct_free_port
	fi
}

cmd_up() {
	local t0 i
	if [ -r "$STATE" ]; then
		say "a demo is already running in $DEMO_DIR:"
		cmd_status
		return 0
	fi
	t0=$(now_ms)
	{ mkdir -p "$DEMO_DIR" && chmod 755 "$DEMO_DIR"; } || die "cannot create $DEMO_DIR"
	deps
	build
	say "starting a 3-node repmgr cluster in $DEMO_DIR"
	# the harness's temp dir goes inside the demo dir; its EXIT trap cleans up if a step fails
	TMPDIR=$DEMO_DIR cluster_init 3 || die "the cluster did not start (log: $CT_DIR/commands.log)"
	primgr_start_all || die "primgr did not start"
	writer_build || die "tests/lib/pgwriter.c does not build (needs libpq-dev)"
	writer_table 1 || die "cannot create the demo table"
	HA_WRITE=$(port_or_free 5000) HA_READ=$(port_or_free 5001) HA_STATS=$(port_or_free 8404)
	ha_start || die "haproxy did not start (log: $CT_DIR/haproxy.log)"
	wait_for 15 eval '[ "$(ha_view pg_write) $(ha_view pg_read)" = "node1:UP node2:DOWN node3:DOWN node1:DOWN node2:UP node3:UP" ]'
	trap - EXIT
	state_save
	say "" "up in $((($(now_ms) - t0) / 1000)) s:"
	ha_show
	say "" "Where to connect (user postgres, no password):"
	say "  writes (the primary):   psql 'host=127.0.0.1 port=$HA_WRITE user=postgres dbname=postgres'"
	say "  reads (the standbys):   psql 'host=127.0.0.1 port=$HA_READ user=postgres dbname=postgres'"
	say "  haproxy stats page:     http://127.0.0.1:$HA_STATS/"
	say "  primgr status page:     http://127.0.0.1:${NODE_HTTP[1]}/ui   (any node's /ui)"
	for i in $(data_nodes); do
		say "  node$i: PostgreSQL port ${NODE_PORT[i]}; curl -s http://127.0.0.1:${NODE_HTTP[i]}/state   (also /realPrimary /cluster /metrics)"
	done
	say "" "Next: $0 failover   (then splitbrain, rejoin, status, down)"
}

# ---------------------------------------------------------------------------------------------
# status

node_line() {
	local i=$1 r code body
	r=$(http_get "$i" /state)
	code=${r%% *}
	body=${r#* }
	if [ "$code" = 000 ]; then
		printf '  node%s  primgr does not answer\n' "$i"
	else
		printf '  node%s  %-7s (%s)  %s\n' "$i" "$(echo "$body" | jq -r .state 2>/dev/null)" "$code" \
			"$(echo "$body" | jq -r '"votes \(.votes)/\(.quorum), timeline \(.timeline): \(.reason)"' 2>/dev/null | tr '\n' ' ' | cut -c1-100)"
	fi
}

route_name() {
	local p
	p=$(ha_route_port "$1")
	if [ -z "$p" ]; then echo "(no server: connection refused)"; else echo "node$(node_of_port "$p") (port $p)"; fi
}

cmd_status() {
	local i
	say "primgr on each node (/state):"
	for i in $(data_nodes); do node_line "$i"; done
	say "  /realPrimary (asked on node$CT_PRIMARY): $(http_body "$CT_PRIMARY" /realPrimary)"
	say "" "haproxy (stats socket):"
	ha_show | sed 's/^/  /'
	say "" "a new client through the write frontend reaches: $(route_name write)"
	say "a new client through the read frontend reaches:  $(route_name read)"
}

# ---------------------------------------------------------------------------------------------
# failover, splitbrain, rejoin

cmd_failover() {
	local old=$CT_PRIMARY new='' i alive t_stop
	for i in $(data_nodes); do
		[ "$i" != "$old" ] && [ "$(node_in_recovery "$i")" = t ] && { new=$i; break; }
	done
	[ -n "$new" ] || die "no running standby to promote"
	node_running "$old" || die "node$old (the primary) is not running"
	# primgr routes writes only to a primary a strict majority agrees on: with a node still
	# out from the last failover, stopping this one would leave no majority (and no writes)
	alive=0
	for i in $(data_nodes); do node_running "$i" && alive=$((alive + 1)); done
	[ $((alive - 1)) -ge $((CT_N / 2 + 1)) ] ||
		die "only $((alive - 1)) of $CT_N nodes would remain: no majority, so primgr would (rightly) route writes nowhere; run '$0 rejoin' first"
	say "a writer inserts a row through the write frontend every 20 ms (a new connection each)"
	writer_start 20 "$(($(node_psql_db "$old" postgres "SELECT coalesce(max(n), 0) FROM primgr_writes") + 1))"
	# the figures below are measured from the writer's rows: let it land some on node$old first
	wait_for 15 eval '[ "$(writer_count "${NODE_PORT[old]}")" -ge 10 ]' ||
		say "  (the writer has not committed 10 rows on node$old within 15 s; going on)"
	say "stopping node$old (immediate), promoting node$new, node(s) following it..."
	t_stop=$(now_ms)
	failover_to "$new" || { writer_stop; state_save; die "the failover failed (log: $CT_DIR/commands.log)"; }
	DEMO_OLD=$old
	state_save
	wait_for 15 eval '[ -n "$(writer_first "${NODE_PORT[new]}" "$t_stop")" ]'
	writer_stop
	say ""
	failover_figures "$old" "$new" "$t_stop"
	say ""
	cmd_status
	say "" "Next: $0 splitbrain   (node$old comes back as a primary)"
}

# failover_figures OLD NEW T_STOP: what the writer saw, from its log. Every figure is a
# difference of two times in the right order, so none can be negative: node OLD took its last
# row before it was stopped (the end of node_stop), NEW its first after the promote began.
failover_figures() {
	local old=$1 new=$2 t_stop=$3 stopped promote_began last_old first fails
	promote_began=$((FO_PROMOTED_AT - FO_PROMOTE_MS))
	stopped=$promote_began
	last_old=$(awk -v p="${NODE_PORT[old]}" '$2 == p && NF == 3 { t = $3 } END { print t }' "$WRITER_LOG")
	first=$(writer_first "${NODE_PORT[new]}" "$t_stop")
	fails=$(writer_count ERR "$t_stop")
	if [ -z "$first" ]; then
		say "no row reached node$new within 15 s: see '$0 status' and $CT_DIR/node$new/primgr.log"
		return
	fi
	say "writes moved from node$old to node$new:"
	if [ -n "$last_old" ]; then
		say "  last row on node$old:  $((stopped - last_old)) ms before node$old was stopped"
	else
		say "  last row on node$old:  none found in the writer's log"
	fi
	say "  first row on node$new: $((first - promote_began)) ms after 'repmgr standby promote' began (it took $FO_PROMOTE_MS ms)"
	if [ -n "$last_old" ]; then
		say "  write outage:       $((first - last_old)) ms between the two rows, $fails failed attempts"
	else
		say "  write outage:       $((first - t_stop)) ms from the stop to node$new's first row, $fails failed attempts"
	fi
}

cmd_splitbrain() {
	local old=${DEMO_OLD:-} i
	[ -n "$old" ] || die "run '$0 failover' first"
	node_running "$old" && die "node$old is running already"
	say "starting node$old on its old data directory: it believes it is still the primary"
	start_as_primary "$old" || die "node$old did not start"
	state_save
	say "  node$old pg_is_in_recovery(): $(node_in_recovery "$old")   <- a second primary: split brain"
	wait_for 5 eval '[ "$(http_code "$old" /state)" = 509 ]'
	wait_for 5 eval '[[ "$(ha_agent_says pg_write "node$old")" == *unknown* ]]'
	say "  primgr on node$old: it sees itself as primary, but its peers name node$CT_PRIMARY, so it"
	say "  has no quorum: Unknown, and haproxy sends it nothing."
	say ""
	for i in 1 2 3; do
		say "  new client through the write frontend #$i -> $(route_name write)"
	done
	say ""
	cmd_status
	say "" "Next: $0 rejoin   (node$old rejoins node$CT_PRIMARY as a standby)"
}

cmd_rejoin() {
	local old=${DEMO_OLD:-}
	[ -n "$old" ] || die "nothing to rejoin: run '$0 failover' first"
	say "repmgr node rejoin --force-rewind node$old -> node$CT_PRIMARY"
	node_rejoin "$old" "$CT_PRIMARY" || { state_save; die "rejoin failed (log: $CT_DIR/commands.log)"; }
	DEMO_OLD=
	state_save
	wait_for 10 ha_is pg_read "node$old" UP
	say ""
	cmd_status
	say "" "Next: $0 failover again, or $0 down"
}

cmd_down() {
	if [ ! -r "$STATE" ]; then
		say "no demo state in $DEMO_DIR; nothing to stop"
		return 0
	fi
	cluster_cleanup
	rm -rf "$DEMO_DIR"
	say "stopped the demo's processes and removed $DEMO_DIR"
}

# ---------------------------------------------------------------------------------------------

cmd=${1:-}
case "$cmd" in
up) cmd_up ;;
status | failover | splitbrain | rejoin | down)
	require_up
	# shellcheck source=/dev/null
	. "$STATE"
	"cmd_$cmd"
	;;
*)
	sed -n '2,/^$/s/^# \{0,1\}//p' "$0" >&2
	exit 64
	;;
esac

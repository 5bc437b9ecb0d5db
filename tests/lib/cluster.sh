# shellcheck shell=bash disable=SC2034,SC2016
# (SC2034: the variables set here are read by the scripts that source this file; SC2016:
# single-quoted strings given to eval expand when evaluated)
# tests/lib/cluster.sh: builds real PostgreSQL 15 + repmgr 5.3 clusters on 127.0.0.1 for the
# integration tests, the demo and the chaos test, runs primgr (and haproxy) beside them, and
# tears everything down on exit. Source it from bash; functions return 0 on success.
#
#   . "$top_srcdir/tests/lib/cluster.sh"
#   cluster_require haproxy    # SKIP (a failure under CI=true) when a program is missing
#   primgr_require             # the daemon must be built (a failure otherwise)
#   cluster_init 3             # node1 primary, node2/node3 standbys
#   primgr_start_all
#   is_eventually 30 200 "node1 is Primary (after {ms} ms)" http_code 1 /state
#   failover_to 2
#   tap_done                   # prints the plan; the cleanup runs from the EXIT trap
#
# Index (details above each function):
#   TAP        ok not_ok skip diag check is tap_done bail_out skip_all
#   waiting    now_ms wait_for TIMEOUT_S CMD...  (sets WAIT_MS)
#              eventually TIMEOUT_S DESC CMD...  is_eventually TIMEOUT_S EXPECTED DESC CMD...
#              never_for SECONDS DESC CMD...
#   cluster    cluster_init N [--witness] [--location2 K] [--pgss] [--pg-conf LINE]
#              node_add [--witness] [--location LOC]  witness_resync I  cluster_show [I]
#              pg_single_init (one PostgreSQL as node1, no repmgr)
#              data_nodes all_nodes cluster_pids cluster_cleanup
#   nodes      node_start I  node_stop I [fast|immediate]  node_pid I  node_running I  node_host I
#              node_psql I SQL  node_psql_db I DB SQL  node_in_recovery I  node_timeline I
#              node_freeze I  node_thaw I  failover_to J  start_as_primary I  node_rejoin I J
#              node_received_lsn I  node_stream_from I CONNINFO SLOT  failover_catch_up J OLD
#   primgr     primgr_start I [SECTION.KEY=VALUE]...  primgr_start_all  primgr_stop I
#              primgr_restart I [...]  primgr_kill I SIG  primgr_pid I  primgr_running I
#   clients    http_get I PATH ("CODE BODY")  http_code  http_body  http_is I PATH CODE
#              http_json I PATH JQ  http_time_ms I PATH  agent_get I [primary|replica]
#              http_latency SECONDS I...  answers_fast "P95 MAX"
#              watch_start NAME I [PATH]  watch_stop NAME  watch_codes NAME [FROM_MS]
#              watch_first NAME CODE [FROM_MS]
#   haproxy    haproxy_start  haproxy_stop  haproxy_servers BACKEND  haproxy_up BACKEND
#              haproxy_route write|read
#   load       loadgen_build  loadgen_agent I ROLE RATE SECONDS [EXPECT]  loadgen_field LINE KEY
#
# Nodes are numbered 1..CT_N in creation order; node i is named NODE_NAME[i] ("node<i>", or
# "witness"), listens on NODE_PORT[i] (PostgreSQL), NODE_HTTP[i], NODE_AGENT[i] (primary
# role) and NODE_RAGENT[i] (replica role), all picked at run time. Its files live in
# $CT_DIR/node<i>/: data/ (PGDATA), node.conf (port, socket dir and cluster_name, included
# from postgresql.conf as '../node.conf' so that clones and pg_rewind do not spread them),
# repmgr.conf, pg.log, primgr.ini, primgr.log, config-archive/. CT_PRIMARY is the node the
# harness last made primary. Commands run as user postgres (runuser) when root, as the
# current user otherwise; their output goes to $CT_DIR/commands.log. Only processes the
# harness started are ever signalled, by pid. KEEP_TMP=1 keeps the temp dir.

PG_BINDIR=${PG_BINDIR:-/usr/lib/postgresql/15/bin}
REPMGR=${REPMGR:-$PG_BINDIR/repmgr}
CT_LIBDIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top_srcdir=${top_srcdir:-$(cd "$CT_LIBDIR/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
PRIMGR=${PRIMGR:-$top_builddir/src/primgr}

# primgr INI values the tests rely on: short enough that a test sees each change in about a
# second, long enough not to flap on a loaded 2-core machine.
CT_REFRESH=${CT_REFRESH:-500ms}
CT_DB_TIMEOUT=${CT_DB_TIMEOUT:-1s}
CT_STALE_AFTER=${CT_STALE_AFTER:-3s}
CT_PEER_TIMEOUT=${CT_PEER_TIMEOUT:-500ms}

CT_DIR=
CT_N=0
CT_PRIMARY=            # index of the node the harness last made primary
CT_PG_CONF=()          # extra postgresql.conf lines given to cluster_init
declare -a NODE_NAME NODE_TYPE NODE_LOC NODE_PORT NODE_HTTP NODE_AGENT NODE_RAGENT NODE_PRIMGR_PID
# NODE_HOST[i]: node i's address (unset: 127.0.0.1); CT_HBA_NET: the clients' network in
# pg_hba.conf. tests/lib/netns.sh sets both (each node in a network namespace of its own).
declare -a NODE_HOST
CT_HBA_NET=${CT_HBA_NET:-127.0.0.1/32}
CT_PIDS=()             # every postmaster/primgr pid we started or saw, for the cleanup
CT_BG_PIDS=()          # our own background helpers (watchers, load generators)
CT_FROZEN=()           # pids we sent SIGSTOP, resumed before the cleanup kills them
CT_WRAPPERS=()         # the runuser/sh processes ct_spawn started (resumed and reaped at cleanup)
CT_USED_PORTS=" "
CT_IS_ROOT=false
[ "$(id -u)" -eq 0 ] && CT_IS_ROOT=true

# ---------------------------------------------------------------------------------------------
# TAP

TAP_N=0
TAP_FAILED=0

ok() { TAP_N=$((TAP_N + 1)); echo "ok $TAP_N - $*"; }
not_ok() { TAP_N=$((TAP_N + 1)); TAP_FAILED=$((TAP_FAILED + 1)); echo "not ok $TAP_N - $*"; }
skip() { TAP_N=$((TAP_N + 1)); echo "ok $TAP_N # SKIP $*"; }
# diag LINE...: TAP comments, one per argument (and per embedded newline).
diag() {
	local a l
	for a in "$@"; do
		while IFS= read -r l; do echo "# $l"; done <<<"$a"
	done
}

# check DESC CMD...: ok when CMD succeeds.
check() {
	local desc=$1
	shift
	if "$@"; then ok "$desc"; else not_ok "$desc"; return 1; fi
}

# is GOT EXPECTED DESC
is() {
	if [ "$1" = "$2" ]; then
		ok "$3"
	else
		not_ok "$3"
		diag "  got: '$1'" "  expected: '$2'"
		return 1
	fi
}

# Prints the plan; exit status 0 when nothing failed. Use as the script's last command.
tap_done() {
	echo "1..$TAP_N"
	[ "$TAP_FAILED" -eq 0 ]
}

# Ends the test now with a failure (cleanup runs from the EXIT trap).
bail_out() {
	not_ok "$*"
	echo "Bail out! $*"
	tap_done
	exit 1
}

# The whole test cannot run here: a SKIP outside CI, a failure under CI=true (CI installs
# everything the tests need).
skip_all() {
	if [ "${CI:-}" = true ]; then
		not_ok "$* (CI=true: a missing prerequisite is a failure)"
		tap_done
		exit 1
	fi
	skip "$*"
	tap_done
	exit 0
}

# timeline_drawn PNG: one TAP line: the fault run drew its timeline (tests/chaos/plot.sh) in
# PNG, judged by the file's 8-byte PNG signature; a skip without gnuplot.
timeline_drawn() {
	if ! command -v gnuplot >/dev/null; then
		skip "the run's timeline PNG: no gnuplot (scripts/install-deps.sh installs gnuplot-nox)"
	elif [ "$(head -c 8 "$1" 2>/dev/null | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ]; then
		ok "the run's timeline is drawn: $1 ($(wc -c <"$1") bytes)"
	else
		not_ok "the run's timeline is drawn: no PNG in $1"
	fi
}

# cluster_require [PROGRAM...]: pg_ctl, initdb, repmgr, curl, jq plus the given ones.
cluster_require() {
	local p missing=
	for p in "$PG_BINDIR/pg_ctl" "$PG_BINDIR/initdb" "$PG_BINDIR/psql" "$REPMGR" curl jq "$@"; do
		command -v "$p" >/dev/null 2>&1 || missing="$missing $p"
	done
	[ -z "$missing" ] || skip_all "missing program(s):$missing"
	if $CT_IS_ROOT && ! id postgres >/dev/null 2>&1; then
		skip_all "running as root but there is no user postgres"
	fi
	[ -e "$PG_BINDIR/../lib/repmgr.so" ] || [ -e "/usr/lib/postgresql/15/lib/repmgr.so" ] ||
		skip_all "repmgr extension (postgresql-15-repmgr) is not installed"
}

# primgr_require: the daemon must be built; its absence is a failure, not a skip.
primgr_require() {
	[ -x "$PRIMGR" ] || bail_out "primgr is not built ($PRIMGR)"
}

# ---------------------------------------------------------------------------------------------
# Small helpers

now_ms() {
	local t=${EPOCHREALTIME//[.,]/}
	echo $((t / 1000))
}

# duration_ms D: a duration as primgr's INI writes it (500ms, 2s, 1.5s) in milliseconds.
duration_ms() { awk -v t="$1" 'BEGIN { u = t; sub(/[a-z]+$/, "", u); f = (t ~ /ms$/) ? 1 : 1000; print u * f }'; }

# wait_for TIMEOUT_S CMD...: runs CMD every 100 ms until it succeeds (0) or TIMEOUT_S
# seconds (may be fractional, e.g. 2.5) pass (1). WAIT_MS is set to the time it took.
# TIMEOUT_S is multiplied by CT_TIMEOUT_SCALE: PRIMGR_TEST_TIMEOUT_SCALE, else 3 under
# PRIMGR_TEST_STRESS=1 (a CPU hog on every core), else 1. The deadlines are written for a
# loaded 2-core machine (3-5 times the idle time); the scale is for busier ones still. It
# stretches only waits for what must become true, never a window watched for what must not
# happen (never_for), and the latency bounds the tests judge through `within`.
if [ -n "${PRIMGR_TEST_TIMEOUT_SCALE:-}" ]; then
	CT_TIMEOUT_SCALE=$PRIMGR_TEST_TIMEOUT_SCALE
elif [ "${PRIMGR_TEST_STRESS:-0}" = 1 ]; then
	CT_TIMEOUT_SCALE=3
else
	CT_TIMEOUT_SCALE=1
fi
# within MS: a latency bound the test judges (how fast primgr reacts or answers), in ms, times
# CT_TIMEOUT_SCALE: unchanged in a normal run; under a CPU hog the daemon's timers and the
# test's own clients are scheduled late by the hog, not by primgr.
within() { awk -v m="$1" -v k="$CT_TIMEOUT_SCALE" 'BEGIN { printf "%d", m * k }'; }
WAIT_MS=0
wait_for() {
	local limit start now
	limit=$(awk -v t="$1" -v k="$CT_TIMEOUT_SCALE" 'BEGIN { printf "%d", t * k * 1000 }')
	shift
	start=$(now_ms)
	while :; do
		if "$@"; then
			WAIT_MS=$(($(now_ms) - start))
			return 0
		fi
		now=$(now_ms)
		if [ $((now - start)) -ge "$limit" ]; then
			WAIT_MS=$((now - start))
			return 1
		fi
		sleep 0.1
	done
}

# Assertions about what happens on a timer (a verdict, a log line, a haproxy state,
# replication, a metric). Each waits for its condition with a deadline, is one TAP line,
# and on failure prints what it saw last. "{ms}" in DESC becomes the time the wait took.
#
# eventually TIMEOUT_S DESC CMD...: ok as soon as CMD succeeds; not ok when it has not within
#   TIMEOUT_S, with the output (stdout and stderr) of CMD's last try.
# is_eventually TIMEOUT_S EXPECTED DESC CMD...: ok as soon as CMD prints EXPECTED; not ok
#   after TIMEOUT_S, with the last value CMD printed.
# never_for SECONDS DESC CMD...: CMD is what must NOT happen (a split brain, a 200 from a
#   fenced node). It is run every 100 ms for the whole window of SECONDS (not scaled); ok
#   when it never succeeded, else not ok as soon as it does, with when and its output.
# WAIT_LAST holds the last output seen.
WAIT_LAST=
ct_desc() { local d=$1; echo "${d//\{ms\}/$WAIT_MS}"; }
ct_try() { WAIT_LAST=$("$@" 2>&1); }
ct_value_is() {
	local want=$1
	shift
	WAIT_LAST=$("$@" 2>/dev/null)
	[ "$WAIT_LAST" = "$want" ]
}
eventually() {
	local t=$1 desc=$2
	shift 2
	WAIT_LAST=
	if wait_for "$t" ct_try "$@"; then
		ok "$(ct_desc "$desc")"
		return 0
	fi
	not_ok "$(ct_desc "$desc")"
	diag "  not true within ${WAIT_MS} ms: $*" "  its last output: '$WAIT_LAST'"
	return 1
}
is_eventually() {
	local t=$1 want=$2 desc=$3
	shift 3
	WAIT_LAST=
	if wait_for "$t" ct_value_is "$want" "$@"; then
		ok "$(ct_desc "$desc")"
		return 0
	fi
	not_ok "$(ct_desc "$desc")"
	diag "  got: '$WAIT_LAST' (the last value within ${WAIT_MS} ms of: $*)" "  expected: '$want'"
	return 1
}
never_for() {
	local secs=$1 desc=$2 start end now
	shift 2
	WAIT_LAST=
	start=$(now_ms)
	end=$(awk -v s="$start" -v t="$secs" 'BEGIN { printf "%d", s + t * 1000 }')
	while :; do
		if ct_try "$@"; then
			now=$(now_ms)
			not_ok "$desc"
			diag "  it happened $((now - start)) ms into the ${secs} s window: $*" \
				"  its output: '$WAIT_LAST'"
			return 1
		fi
		[ "$(now_ms)" -ge "$end" ] && break
		sleep 0.1
	done
	ok "$desc"
}

# ct_prefix CMD...: sets CT_PREFIX, the words put before CMD when as_pg or ct_spawn runs it
# (none here; tests/lib/netns.sh runs a node's commands in that node's network namespace).
CT_PREFIX=()
ct_prefix() { CT_PREFIX=(); }

# as_pg CMD...: runs CMD as postgres (when root) from the temp dir, which postgres can read.
as_pg() {
	ct_prefix "$@"
	if $CT_IS_ROOT; then
		(cd "${CT_DIR:-/}" && "${CT_PREFIX[@]}" runuser -u postgres -- "$@")
	else
		(cd "${CT_DIR:-/}" && "${CT_PREFIX[@]}" "$@")
	fi
}

# ct_own PATH...: gives files the harness wrote as root to postgres.
ct_own() {
	if $CT_IS_ROOT; then chown postgres:postgres "$@"; fi
}

# ct_run LABEL CMD...: runs CMD as postgres with a timeout, output into commands.log; on
# failure the log's tail becomes TAP comments.
ct_run() {
	local label=$1 rc
	shift
	echo "=== $(date +%T.%N | cut -c1-12) $label: $*" >>"$CT_DIR/commands.log"
	as_pg timeout "${CT_CMD_TIMEOUT:-120}" "$@" >>"$CT_DIR/commands.log" 2>&1
	rc=$?
	echo "=== exit $rc" >>"$CT_DIR/commands.log"
	if [ "$rc" -ne 0 ]; then
		diag "$label failed (exit $rc): $*"
		tail -n 15 "$CT_DIR/commands.log" | sed 's/^/#   /'
	fi
	return "$rc"
}

# A port nobody uses now, below the ephemeral range so clients cannot take it meanwhile.
ct_free_port() {
	local p lo tries=0
	lo=$(awk '{ print $1 }' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null)
	lo=${lo:-32768}
	while [ $tries -lt 500 ]; do
		tries=$((tries + 1))
		p=$((20000 + (RANDOM * 32768 + RANDOM) % (lo - 20000)))
		case "$CT_USED_PORTS" in *" $p "*) continue ;; esac
		# callers run us in $(...): the variable does not outlive the subshell, the file does
		[ -n "$CT_DIR" ] && [ -f "$CT_DIR/used-ports" ] && grep -qx "$p" "$CT_DIR/used-ports" && continue
		[ "$p" -eq 5432 ] && continue
		if command -v ss >/dev/null 2>&1; then
			[ -n "$(ss -Htan "( sport = :$p )" 2>/dev/null)" ] && continue
		elif (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			continue
		fi
		CT_USED_PORTS="$CT_USED_PORTS$p "
		[ -n "$CT_DIR" ] && [ -d "$CT_DIR" ] && echo "$p" >>"$CT_DIR/used-ports"
		echo "$p"
		return 0
	done
	echo "no free port found" >&2
	return 1
}

# ct_track PID: remember a process for the cleanup (once).
ct_track() {
	local p
	[ -n "$1" ] || return 0
	for p in "${CT_PIDS[@]}"; do [ "$p" = "$1" ] && return 0; done
	CT_PIDS+=("$1")
}

# ct_ours PID: the process is alive and belongs to this harness (its command line names the
# temp dir), so a recycled pid is never killed.
ct_ours() {
	[ -n "$1" ] && [ -r "/proc/$1/cmdline" ] &&
		tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -qF "$CT_DIR/"
}

# ct_alive PID: the process exists and is not a zombie. (`kill -0` succeeds on a zombie: a
# postmaster orphaned by pg_ctl stays one where pid 1 of a container never reaps.) The state
# follows the last ')' of /proc/PID/stat, since the command name may hold spaces.
ct_alive() {
	local st
	st=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	st=${st##*) }
	st=${st%% *}
	[ -n "$st" ] && [ "$st" != Z ]
}

# ct_zombie: makes a zombie, as a container's pid 1 that never reaps leaves them. Sets
# ZOMBIE_PID (exited, never reaped) and ZOMBIE_PARENT (the live process that holds it; kill it
# and wait for it to let the zombie go). Returns 1 when the zombie did not appear within 5 s.
ZOMBIE_PID='' ZOMBIE_PARENT=''
ct_zombie() {
	local fifo
	fifo=$(mktemp -u "${TMPDIR:-/tmp}/primgr-zombie.XXXXXX")
	mkfifo "$fifo" || return 1
	python3 -c 'import os, sys, time
pid = os.fork()
if pid == 0:
    os._exit(0)
with open(sys.argv[1], "w") as f:
    f.write("%d\n" % pid)
time.sleep(60)' "$fifo" &
	ZOMBIE_PARENT=$!
	read -r ZOMBIE_PID <"$fifo"
	rm -f "$fifo"
	[ -n "$ZOMBIE_PID" ] || return 1
	wait_for 5 eval '[ -e "/proc/$ZOMBIE_PID" ] && ! ct_alive "$ZOMBIE_PID"'
}

# ct_zombie_end: lets the zombie of ct_zombie go.
ct_zombie_end() {
	[ -n "$ZOMBIE_PARENT" ] || return 0
	kill "$ZOMBIE_PARENT" 2>/dev/null
	wait "$ZOMBIE_PARENT" 2>/dev/null
	ZOMBIE_PARENT=
}

# ct_children PID: direct children of PID.
ct_children() {
	ps -o pid= --ppid "$1" 2>/dev/null | tr -d ' '
}

# ---------------------------------------------------------------------------------------------
# Node layout

node_dir() { echo "$CT_DIR/node$1"; }
node_data() { echo "$CT_DIR/node$1/data"; }
node_conf() { echo "$CT_DIR/node$1/repmgr.conf"; }
# node_host I: the address node I listens on.
node_host() { echo "${NODE_HOST[$1]:-127.0.0.1}"; }
node_conninfo() {
	echo "host=$(node_host "$1") port=${NODE_PORT[$1]} user=repmgr dbname=repmgr connect_timeout=2"
}
# The data nodes (not the witness), in order.
data_nodes() {
	local i
	for ((i = 1; i <= CT_N; i++)); do
		[ "${NODE_TYPE[$i]}" = witness ] || echo "$i"
	done
}
# Every node of the harness (data nodes and witness).
all_nodes() { seq 1 "$CT_N"; }

# ct_node_define I NAME TYPE LOCATION: ports, directory, node.conf and repmgr.conf of node I.
ct_node_define() {
	local i=$1 d
	d=$(node_dir "$i")
	NODE_NAME[i]=$2
	NODE_TYPE[i]=$3
	NODE_LOC[i]=$4
	NODE_PORT[i]=$(ct_free_port) || return 1
	NODE_HTTP[i]=$(ct_free_port) || return 1
	NODE_AGENT[i]=$(ct_free_port) || return 1
	NODE_RAGENT[i]=$(ct_free_port) || return 1
	[ "$i" -gt "$CT_N" ] && CT_N=$i
	mkdir -p "$d/config-archive"
	cat >"$d/node.conf" <<-EOF
		# per-node settings, outside PGDATA (REPMGR-NOTES pitfall 3)
		port = ${NODE_PORT[$i]}
		listen_addresses = '$(node_host "$i")'
		unix_socket_directories = '$d'
		cluster_name = '${NODE_NAME[$i]}'
	EOF
	cat >"$d/repmgr.conf" <<-EOF
		node_id=$i
		node_name='${NODE_NAME[$i]}'
		conninfo='$(node_conninfo "$i")'
		data_directory='$d/data'
		location='${NODE_LOC[$i]}'
		pg_bindir='$PG_BINDIR'
		pg_ctl_options='-l $d/pg.log'
		replication_user='repmgr'
		use_replication_slots=yes
		monitoring_history=no
		log_level='INFO'
	EOF
	ct_own "$d" "$d/config-archive" "$d/node.conf" "$d/repmgr.conf"
}

# ct_initdb I: a fresh primary-capable data directory for node I (node1 and the witness).
ct_initdb() {
	local i=$1 d l
	d=$(node_dir "$i")
	ct_run "node$i initdb" "$PG_BINDIR/initdb" -D "$d/data" -U postgres -A trust -E UTF8 \
		--no-sync --no-instructions || return 1
	{
		echo "# primgr integration tests"
		echo "listen_addresses = '127.0.0.1'"
		echo "max_connections = 60"
		echo "shared_buffers = 16MB"
		echo "wal_level = replica"
		echo "wal_log_hints = on"
		echo "full_page_writes = on"
		echo "wal_keep_size = 128MB"
		echo "max_wal_senders = 10"
		echo "max_replication_slots = 10"
		echo "hot_standby = on"
		echo "fsync = off"
		echo "log_min_messages = warning"
		for l in "${CT_PG_CONF[@]}"; do echo "$l"; done
		echo "include_if_exists = '../node.conf'"
	} >>"$d/data/postgresql.conf"
	cat >"$d/data/pg_hba.conf" <<-EOF
		# replication needs its own lines: "all" does not match it (pitfall 5)
		local   all          all                 trust
		local   replication  all                 trust
		host    all          all  $CT_HBA_NET   trust
		host    replication  all  $CT_HBA_NET   trust
	EOF
	ct_own "$d/data/pg_hba.conf"
}

# ct_create_repmgr_db I: role and database repmgr on a freshly initialised node I.
ct_create_repmgr_db() {
	node_psql_db "$1" postgres "CREATE ROLE repmgr SUPERUSER LOGIN REPLICATION" >/dev/null &&
		node_psql_db "$1" postgres "CREATE DATABASE repmgr OWNER repmgr" >/dev/null
}

# ---------------------------------------------------------------------------------------------
# Cluster

# cluster_init N [--witness] [--location2 K] [--pgss] [--pg-conf LINE]...
#   N data nodes: node1 primary, node2..N standbys cloned from it. The last K data nodes are in
#   location dc2, the others in dc1. --witness adds a witness (node N+1, named "witness", dc1).
#   --pgss preloads pg_stat_statements and creates the extension in database repmgr.
#   --pg-conf adds a line to every node's postgresql.conf.
cluster_init() {
	local n=$1 witness=false loc2=0 pgss=false i loc
	shift
	while [ $# -gt 0 ]; do
		case "$1" in
		--witness) witness=true ;;
		--location2) loc2=$2; shift ;;
		--pgss) pgss=true ;;
		--pg-conf) CT_PG_CONF+=("$2"); shift ;;
		*) echo "cluster_init: unknown option $1" >&2; return 1 ;;
		esac
		shift
	done
	$pgss && CT_PG_CONF+=("shared_preload_libraries = 'pg_stat_statements'"
		"pg_stat_statements.track_utility = on")
	cluster_tmp || return 1
	local t0
	t0=$(now_ms)
	for ((i = 1; i <= n; i++)); do
		loc=dc1
		[ "$i" -gt $((n - loc2)) ] && loc=dc2
		ct_node_define "$i" "node$i" "$([ "$i" -eq 1 ] && echo primary || echo standby)" \
			"$loc" || return 1
	done
	ct_initdb 1 && node_start 1 && ct_create_repmgr_db 1 || return 1
	if $pgss; then
		node_psql 1 "CREATE EXTENSION pg_stat_statements" >/dev/null || return 1
	fi
	ct_run "node1 primary register" "$REPMGR" -f "$(node_conf 1)" primary register || return 1
	CT_PRIMARY=1
	for ((i = 2; i <= n; i++)); do
		ct_standby_create "$i" 1 || return 1
	done
	if $witness; then
		node_add --witness || return 1
	fi
	CT_INIT_MS=$(($(now_ms) - t0))
	diag "cluster of $CT_N node(s) up in ${CT_INIT_MS} ms (dir $CT_DIR)"
}

# pg_single_init: one PostgreSQL 15 as node1, without repmgr (no repmgr database, no
# standby): the database alone, for tests of primgr's database layer (tests/integration/pg.sh).
# Same layout, user and cleanup as cluster_init's nodes.
pg_single_init() {
	cluster_tmp || return 1
	ct_node_define 1 node1 primary dc1 || return 1
	ct_initdb 1 && node_start 1 || return 1
	CT_PRIMARY=1
}

# cluster_tmp: the temp dir and the cleanup trap (cluster_init calls it).
cluster_tmp() {
	[ -n "$CT_DIR" ] && return 0
	CT_DIR=$(mktemp -d "${TMPDIR:-/tmp}/primgr-it.XXXXXX") || return 1
	chmod 755 "$CT_DIR"
	ct_own "$CT_DIR"
	: >"$CT_DIR/commands.log"
	trap cluster_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	if [ -x "$PRIMGR" ]; then
		# the build tree may not be readable by postgres (e.g. under /root)
		mkdir -p "$CT_DIR/bin"
		cp "$PRIMGR" "$CT_DIR/bin/primgr"
		chmod 755 "$CT_DIR/bin" "$CT_DIR/bin/primgr"
	fi
}

# ct_standby_create I UPSTREAM: clone, start and register standby I from node UPSTREAM.
ct_standby_create() {
	local i=$1 up=$2
	ct_run "node$i standby clone" "$REPMGR" -f "$(node_conf "$i")" -h "$(node_host "$up")" \
		-p "${NODE_PORT[$up]}" -U repmgr -d repmgr --fast-checkpoint standby clone || return 1
	node_start "$i" || return 1
	ct_run "node$i standby register" "$REPMGR" -f "$(node_conf "$i")" standby register \
		--upstream-node-id="$up"
}

# node_add [--witness] [--location LOC]: a new node registered with the current primary
# (a cloned standby, or a witness with its own initdb). Sets NODE_ADDED to its index.
node_add() {
	local type=standby loc=dc1 i name
	while [ $# -gt 0 ]; do
		case "$1" in
		--witness) type=witness ;;
		--location) loc=$2; shift ;;
		*) echo "node_add: unknown option $1" >&2; return 1 ;;
		esac
		shift
	done
	i=$((CT_N + 1))
	name=node$i
	[ "$type" = witness ] && name=witness
	ct_node_define "$i" "$name" "$type" "$loc" || return 1
	if [ "$type" = standby ]; then
		ct_standby_create "$i" "$CT_PRIMARY" || return 1
	else
		ct_initdb "$i" && node_start "$i" && ct_create_repmgr_db "$i" || return 1
		ct_run "$name witness register" "$REPMGR" -f "$(node_conf "$i")" witness register \
			-h "$(node_host "$CT_PRIMARY")" -p "${NODE_PORT[$CT_PRIMARY]}" -U repmgr -d repmgr || return 1
	fi
	NODE_ADDED=$i
}

# witness_resync I: copies the primary's repmgr.nodes to witness I again (what repmgrd would do).
witness_resync() {
	ct_run "${NODE_NAME[$1]} witness register --force" "$REPMGR" -f "$(node_conf "$1")" \
		witness register --force -h "$(node_host "$CT_PRIMARY")" -p "${NODE_PORT[$CT_PRIMARY]}" \
		-U repmgr -d repmgr
}

# witness_sync_all: witness_resync on every witness, as repmgrd on a witness would do within
# witness_sync_interval (the tests run no repmgrd). failover_to and node_rejoin call it unless
# CT_WITNESS_SYNC=0.
witness_sync_all() {
	local i
	[ "${CT_WITNESS_SYNC:-1}" = 1 ] || return 0
	for ((i = 1; i <= CT_N; i++)); do
		[ "${NODE_TYPE[i]}" = witness ] || continue
		witness_resync "$i" || return 1
	done
}

# cluster_show [I]: `repmgr cluster show` from node I (default: the primary); its exit status.
cluster_show() {
	ct_run "cluster show" "$REPMGR" -f "$(node_conf "${1:-$CT_PRIMARY}")" cluster show
}

# ---------------------------------------------------------------------------------------------
# Node control

# node_pid I: the postmaster pid from postmaster.pid (empty when not running).
node_pid() {
	local f
	f="$(node_data "$1")/postmaster.pid"
	[ -r "$f" ] && head -n 1 "$f"
}

# node_track I: remember node I's current postmaster (repmgr restarts servers on its own).
node_track() { ct_track "$(node_pid "$1")"; }

node_start() {
	local i=$1
	ct_run "node$i start" "$PG_BINDIR/pg_ctl" -D "$(node_data "$i")" -l "$(node_dir "$i")/pg.log" \
		-w -t 60 start || return 1
	node_track "$i"
}

# node_stop I [fast|immediate|smart]
node_stop() {
	ct_run "node$1 stop ${2:-fast}" "$PG_BINDIR/pg_ctl" -D "$(node_data "$1")" -m "${2:-fast}" \
		-w -t 60 stop
}

node_running() {
	as_pg "$PG_BINDIR/pg_ctl" -D "$(node_data "$1")" status >/dev/null 2>&1
}

# node_psql_db I DB SQL: one statement through node I's Unix socket; prints unaligned rows.
node_psql_db() {
	PGCONNECT_TIMEOUT=3 as_pg timeout 20 "$PG_BINDIR/psql" -X -A -t -q -v ON_ERROR_STOP=1 \
		-h "$(node_dir "$1")" -p "${NODE_PORT[$1]}" -U postgres -d "$2" -c "$3"
}

# node_psql I SQL: as node_psql_db, in database repmgr.
node_psql() { node_psql_db "$1" repmgr "$2"; }

# node_in_recovery I: prints t or f (nothing when the node is down).
node_in_recovery() { node_psql "$1" "SELECT pg_is_in_recovery()" 2>/dev/null; }

node_timeline() {
	node_psql "$1" "SELECT timeline_id FROM pg_control_checkpoint()" 2>/dev/null
}

# node_freeze I / node_thaw I: SIGSTOP / SIGCONT every process of node I's PostgreSQL
# (a hung server, not a dead one).
node_freeze() {
	local pm p
	pm=$(node_pid "$1")
	[ -n "$pm" ] || return 1
	for p in "$pm" $(ct_children "$pm"); do
		kill -STOP "$p" 2>/dev/null && CT_FROZEN+=("$p")
	done
}
node_thaw() {
	local pm p
	pm=$(node_pid "$1")
	[ -n "$pm" ] || return 1
	for p in "$pm" $(ct_children "$pm"); do
		kill -CONT "$p" 2>/dev/null
	done
}

# failover_to J: the textbook manual failover. Immediate stop of the current primary,
# failover_catch_up (J first gets any WAL a sibling received and J did not), `repmgr standby
# promote` on J, `standby follow` on every other running data node.
# Sets FO_STOP_MS, FO_PROMOTE_MS, FO_FOLLOW_MS, FO_STOPPED_AT (now_ms when the old primary's
# stop returned: it committed nothing after that), FO_PROMOTED_AT (now_ms when promote
# returned) and prints them as TAP comments.
failover_to() {
	local j=$1 old=$CT_PRIMARY k t0 t1 t2 t3
	t0=$(now_ms)
	node_stop "$old" immediate || return 1
	t1=$(now_ms)
	FO_STOPPED_AT=$t1
	failover_catch_up "$j" "$old" || return 1
	ct_run "node$j standby promote" "$REPMGR" -f "$(node_conf "$j")" standby promote || return 1
	t2=$(now_ms)
	FO_PROMOTED_AT=$t2
	CT_PRIMARY=$j
	NODE_TYPE[old]=primary-old
	NODE_TYPE[j]=primary
	for k in $(data_nodes); do
		[ "$k" = "$j" ] || [ "$k" = "$old" ] && continue
		node_running "$k" || continue
		if ! ct_run "node$k standby follow" "$REPMGR" -f "$(node_conf "$k")" standby follow \
			--upstream-node-id="$j"; then
			# failover_catch_up leaves no sibling ahead of J, so this is the last resort: a
			# sibling that still cannot follow ("forked off ... before current recovery
			# point") is rewound onto the new primary, as an operator would.
			diag "node$k cannot follow node$j: node rejoin --force-rewind instead"
			node_rejoin "$k" "$j" || return 1
		fi
		node_track "$k"
	done
	witness_sync_all || return 1
	t3=$(now_ms)
	FO_STOP_MS=$((t1 - t0))
	FO_PROMOTE_MS=$((t2 - t1))
	FO_FOLLOW_MS=$((t3 - t2))
	diag "failover node$old -> node$j: stop ${FO_STOP_MS} ms, promote ${FO_PROMOTE_MS} ms, follow ${FO_FOLLOW_MS} ms, total $((t3 - t0)) ms"
}

# node_received_lsn I: the end of the WAL standby I holds (received or replayed), or nothing.
node_received_lsn() {
	node_psql "$1" "SELECT GREATEST(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())" 2>/dev/null
}

# node_stream_from I CONNINFO SLOT: standby I's primary_conninfo and primary_slot_name (by
# ALTER SYSTEM, quoted), then a reload: PostgreSQL 15 restarts the walreceiver with them.
node_stream_from() {
	node_psql "$1" "ALTER SYSTEM SET primary_conninfo = '${2//\'/\'\'}'" >/dev/null &&
		node_psql "$1" "ALTER SYSTEM SET primary_slot_name = '${3//\'/\'\'}'" >/dev/null &&
		node_psql "$1" "SELECT pg_reload_conf()" >/dev/null
}

# failover_catch_up J OLD: repmgrd promotes the most advanced standby; a test names its
# target J, which on a loaded machine may have received less of OLD's WAL than a sibling
# before OLD stopped. Promoting J then forks its timeline off before the sibling's recovery
# point: the sibling cannot follow, and its rewind is not reliable either (a rejoin stayed in
# walsender state "startup" for all of node_rejoin_timeout in one CI run). So J first streams
# the missing WAL from the most advanced running sibling (cascading replication, without a
# slot), then gets its own primary_conninfo and primary_slot_name back. Sets FO_CAUGHT_UP to
# the sibling J caught up from (empty when none was ahead).
failover_catch_up() {
	local j=$1 old=$2 k best='' best_lsn lsn conninfo slot rc=0
	FO_CAUGHT_UP=
	best_lsn=$(node_received_lsn "$j")
	[ -n "$best_lsn" ] || return 0
	for k in $(data_nodes); do
		[ "$k" = "$j" ] || [ "$k" = "$old" ] && continue
		node_running "$k" || continue
		lsn=$(node_received_lsn "$k")
		[ -n "$lsn" ] || continue
		[ "$(node_psql "$j" "SELECT '$lsn'::pg_lsn > '$best_lsn'::pg_lsn")" = t ] || continue
		best=$k
		best_lsn=$lsn
	done
	[ -n "$best" ] || return 0
	diag "node$best holds WAL up to $best_lsn, node$j only up to $(node_received_lsn "$j"):" \
		"node$j streams the rest from node$best before its promotion"
	conninfo=$(node_psql "$j" "SHOW primary_conninfo") || return 1
	slot=$(node_psql "$j" "SHOW primary_slot_name") || return 1
	node_stream_from "$j" "host=$(node_host "$best") port=${NODE_PORT[$best]} user=repmgr application_name=${NODE_NAME[$j]}" '' ||
		return 1
	if ! wait_for 60 eval '[ "$(node_psql '"$j"' "SELECT pg_last_wal_receive_lsn() >= '"'$best_lsn'"'::pg_lsn")" = t ]'; then
		diag "node$j did not receive up to $best_lsn from node$best within ${WAIT_MS} ms" \
			"(it has $(node_received_lsn "$j"))"
		rc=1
	fi
	node_stream_from "$j" "$conninfo" "$slot" || return 1
	[ "$rc" = 0 ] || return 1
	FO_CAUGHT_UP=$best
	diag "node$j caught up to $best_lsn from node$best in ${WAIT_MS} ms"
}

# start_as_primary I: split brain: the old primary starts again on its own data directory.
start_as_primary() { node_start "$1"; }

# node_rejoin I J: `repmgr node rejoin --force-rewind` of node I to node J (stopping I first
# when it runs). Sets REJOIN_MS.
node_rejoin() {
	local i=$1 j=$2 t0
	t0=$(now_ms)
	if node_running "$i"; then node_stop "$i" fast || return 1; fi
	ct_run "node$i node rejoin" "$REPMGR" -f "$(node_conf "$i")" node rejoin \
		-d "$(node_conninfo "$j")" --force-rewind \
		--config-archive-dir="$(node_dir "$i")/config-archive" || return 1
	node_track "$i"
	NODE_TYPE[i]=standby
	witness_sync_all || return 1
	REJOIN_MS=$(($(now_ms) - t0))
	diag "rejoin node$i -> node$j: ${REJOIN_MS} ms"
}

# ---------------------------------------------------------------------------------------------
# primgr

# primgr_ini I [SECTION.KEY=VALUE]...: writes node I's INI, the test defaults first; each
# argument overrides (or adds) one key, e.g. consensus.scope=cluster.
primgr_ini() {
	local i=$1 d k h
	shift
	d=$(node_dir "$i")
	h=$(node_host "$i")
	{
		echo "node.repmgr_conf=$d/repmgr.conf"
		echo "database.refresh_interval=$CT_REFRESH"
		echo "database.db_timeout=$CT_DB_TIMEOUT"
		echo "database.statement_timeout=$CT_DB_TIMEOUT"
		echo "database.stale_after=$CT_STALE_AFTER"
		echo "database.reconnect_max=1s"
		echo "consensus.peer_timeout=$CT_PEER_TIMEOUT"
		echo "consensus.peer_connect_timeout=250ms"
		echo "http.listen=$h:${NODE_HTTP[$i]}"
		echo "agent.listen=$h:${NODE_AGENT[$i]}/primary, $h:${NODE_RAGENT[$i]}/replica"
		echo "files.admin_state=$d/admin-state"
		echo "files.topology_cache=$d/topology.json"
		echo "log.level=info"
		for k in $(all_nodes); do
			echo "peers.${NODE_NAME[$k]}=http://$(node_host "$k"):${NODE_HTTP[$k]}"
		done
		for k in "$@"; do echo "$k"; done
	} | awk '
		{
			eq = index($0, "="); lhs = substr($0, 1, eq - 1); val = substr($0, eq + 1)
			dot = index(lhs, "."); sec = substr(lhs, 1, dot - 1); key = substr(lhs, dot + 1)
			if (!(sec in seen)) { seen[sec] = 1; secs[++nsec] = sec }
			if (!((sec, key) in v)) keys[sec] = keys[sec] SUBSEP key
			v[sec, key] = val
		}
		END {
			for (s = 1; s <= nsec; s++) {
				printf "%s[%s]\n", (s > 1 ? "\n" : ""), secs[s]
				n = split(substr(keys[secs[s]], 2), ks, SUBSEP)
				for (j = 1; j <= n; j++) printf "%s = %s\n", ks[j], v[secs[s], ks[j]]
			}
		}' >"$d/primgr.ini"
	ct_own "$d/primgr.ini"
}

primgr_pid() { echo "${NODE_PRIMGR_PID[$1]}"; }

primgr_running() {
	local p=${NODE_PRIMGR_PID[$1]}
	[ -n "$p" ] && ct_alive "$p"
}

# ct_spawn NAME LOG CMD...: starts CMD in the background as postgres from the temp dir, output
# appended to LOG, and sets SPAWNED_PID to the pid of CMD itself (sh records its own pid and
# execs CMD, so it is not runuser's). Proxies from the environment must not capture the
# 127.0.0.1 peers, so they are unset.
SPAWNED_PID=
ct_spawn() {
	local pidf="$CT_DIR/.$1.pid" log=$2
	shift 2
	SPAWNED_PID=
	rm -f "$pidf"
	(
		cd "$CT_DIR" || exit 1
		ct_prefix "$@"
		unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
		# shellcheck disable=SC2016 # expanded by that sh
		set -- sh -c 'echo $$ >"$0"; exec "$@"' "$pidf" "$@"
		if $CT_IS_ROOT; then
			exec "${CT_PREFIX[@]}" runuser -u postgres -- "$@"
		else
			exec "${CT_PREFIX[@]}" "$@"
		fi
	) >>"$log" 2>&1 </dev/null &
	# runuser stops itself when its child is stopped (SIGSTOP in a test) and stays stopped:
	# the cleanup resumes these wrappers so they reap their child and exit
	CT_WRAPPERS+=("$!")
	wait_for 15 test -s "$pidf" || return 1
	SPAWNED_PID=$(cat "$pidf")
	ct_track "$SPAWNED_PID"
}

# primgr_start I [SECTION.KEY=VALUE]...: writes the INI and starts `primgr -f -c INI` as
# postgres in the background (log: nodeI/primgr.log); waits until /health answers.
primgr_start() {
	local i=$1 d pid
	shift
	d=$(node_dir "$i")
	[ -x "$CT_DIR/bin/primgr" ] || { diag "primgr is not built ($PRIMGR)"; return 1; }
	primgr_ini "$i" "$@"
	echo "=== $(date +%T.%N | cut -c1-12) start primgr node$i" >>"$d/primgr.log"
	ct_own "$d/primgr.log"
	ct_spawn "primgr-node$i" "$d/primgr.log" "$CT_DIR/bin/primgr" -f -c "$d/primgr.ini" || {
		diag "primgr on node$i did not start"
		return 1
	}
	pid=$SPAWNED_PID
	NODE_PRIMGR_PID[i]=$pid
	ct_track "$pid"
	if ! wait_for 20 primgr_answers "$i"; then
		diag "primgr on node$i does not answer /health (log follows)"
		tail -n 15 "$d/primgr.log" | sed 's/^/#   /'
		return 1
	fi
}

primgr_answers() {
	primgr_running "$1" || return 2
	[ "$(http_code "$1" /health)" = 200 ]
}

# primgr_start_all [SECTION.KEY=VALUE]...: on every node; false if one failed.
primgr_start_all() {
	local i rc=0
	for i in $(all_nodes); do primgr_start "$i" "$@" || rc=1; done
	return $rc
}

# primgr_stop I: SIGTERM, then SIGKILL after 5 s.
primgr_stop() {
	local i=$1 p=${NODE_PRIMGR_PID[$1]}
	[ -n "$p" ] || return 0
	kill -CONT "$p" 2>/dev/null
	kill -TERM "$p" 2>/dev/null
	wait_for 5 eval "! ct_alive $p" || kill -KILL "$p" 2>/dev/null
	NODE_PRIMGR_PID[i]=
}

primgr_restart() {
	local i=$1
	shift
	primgr_stop "$i"
	primgr_start "$i" "$@"
}

# primgr_kill I SIG: e.g. STOP / CONT to black-hole a peer.
primgr_kill() {
	local p=${NODE_PRIMGR_PID[$1]}
	[ -n "$p" ] || return 1
	[ "$2" = STOP ] && CT_FROZEN+=("$p")
	kill -"$2" "$p"
}

# ---------------------------------------------------------------------------------------------
# HTTP and agent clients

HTTP_TIMEOUT=${HTTP_TIMEOUT:-2}

# http_get I PATH: prints "CODE BODY" (CODE 000 when nothing answered).
http_get() {
	local out
	out=$(curl -s --noproxy '*' --connect-timeout 1 -m "$HTTP_TIMEOUT" -w '\n%{http_code}' \
		"http://$(node_host "$1"):${NODE_HTTP[$1]}$2" 2>/dev/null)
	echo "${out##*$'\n'} $(echo "${out%$'\n'*}" | tr -d '\n')"
}

http_code() { local r; r=$(http_get "$1" "$2"); echo "${r%% *}"; }
http_body() { local r; r=$(http_get "$1" "$2"); echo "${r#* }"; }

# http_is I PATH CODE: the answer has that status.
http_is() { [ "$(http_code "$1" "$2")" = "$3" ]; }

# http_json I PATH JQ: a field of the JSON body, e.g. http_json 1 /state .votes
http_json() { http_body "$1" "$2" | jq -r "$3" 2>/dev/null; }

# http_time_ms I PATH: how long the whole request took, in ms (curl's time_total).
http_time_ms() {
	curl -s --noproxy '*' -o /dev/null --connect-timeout 1 -m "$HTTP_TIMEOUT" \
		-w '%{time_total}' "http://$(node_host "$1"):${NODE_HTTP[$1]}$2" 2>/dev/null |
		awk '{ printf "%d", $1 * 1000 }'
}

# state_of I: the HTTP code of node I's /state; states I...: those codes, space-separated.
state_of() { http_code "$1" /state; }
states() {
	local i out=
	for i in "$@"; do out="$out $(state_of "$i")"; done
	echo "${out# }"
}
# votes_quorum I: "votes quorum" from node I's /state.
votes_quorum() { http_json "$1" /state '"\(.votes) \(.quorum)"'; }

# http_latency SECONDS I...: the /state, /primary and /health answer times (ms, curl's time_total)
# of the nodes over SECONDS, as "P95 MAX".
# answers_fast "P95 MAX": answers that wait for nothing: most under 50 ms and none near a wait
# on an unanswering peer or database (peer_timeout 500 ms, db_timeout 1 s): p95 < 50 ms and
# max < 250 ms (both `within`). One slow curl on a loaded machine is the scheduler; a blocked
# loop is both.
http_latency() {
	local secs=$1 end i ms p all=''
	shift
	end=$(($(now_ms) + secs * 1000))
	while [ "$(now_ms)" -lt "$end" ]; do
		for i in "$@"; do
			for p in /state /primary /health; do
				ms=$(http_time_ms "$i" "$p")
				all+="${ms:-9999}"$'\n'
			done
		done
		sleep 0.05
	done
	printf '%s' "$all" | sort -n |
		awk '{ v[NR] = $1 } END { k = int(NR * 0.95); if (k < 1) k = 1; print v[k] + 0, v[NR] + 0 }'
}
answers_fast() {
	awk -v p="${1% *}" -v m="${1#* }" -v a="$(within 50)" -v b="$(within 250)" \
		'BEGIN { exit !(p < a && m < b) }'
}

# agent_get I [primary|replica]: the agent-check line (without the newline).
agent_get() {
	local port=${NODE_AGENT[$1]}
	[ "${2:-primary}" = replica ] && port=${NODE_RAGENT[$1]}
	# shellcheck disable=SC2016 # expanded by that bash
	timeout 2 bash -c 'exec 3<>"/dev/tcp/$1/$2" && cat <&3' _ "$(node_host "$1")" "$port" 2>/dev/null |
		tr -d '\r\n'
}

# watch_start NAME I [PATH]: polls node I's PATH (default /state) every 100 ms in the
# background, appending "ms code" lines to $CT_DIR/watch-NAME.log; watch_stop NAME ends it.
declare -A CT_WATCH
watch_start() {
	local name=$1 i=$2 path=${3:-/state} f="$CT_DIR/watch-$1.log"
	: >"$f"
	rm -f "$f.stop"
	# Stopped through a file, not a signal: a TERM landing inside one of its command
	# substitutions makes bash fail to parse the trap and go on polling forever.
	(
		while [ ! -e "$f.stop" ]; do
			echo "$(now_ms) $(http_code "$i" "$path")" >>"$f"
			sleep 0.1
		done
	) &
	CT_WATCH[$name]=$!
	CT_BG_PIDS+=($!)
}
watch_stop() {
	local p=${CT_WATCH[$1]}
	CT_WATCH[$1]=
	[ -n "$p" ] || return 0
	touch "$CT_DIR/watch-$1.log.stop"
	wait_for 10 ct_none_alive "$p" || kill -KILL "$p" 2>/dev/null
	wait "$p" 2>/dev/null
	return 0
}
watch_file() { echo "$CT_DIR/watch-$1.log"; }
# watch_codes NAME [FROM_MS [TO_MS]]: the distinct codes seen, in order of first appearance.
watch_codes() {
	awk -v a="${2:-0}" -v b="${3:-99999999999999}" '$1 >= a && $1 <= b && !s[$2]++ { printf "%s ", $2 }' \
		"$(watch_file "$1")" | sed 's/ $//'
}
# watch_first NAME CODE [FROM_MS]: the time (ms) of the first CODE at or after FROM_MS.
watch_first() {
	awk -v c="$2" -v a="${3:-0}" '$1 >= a && $2 == c { print $1; exit }' "$(watch_file "$1")"
}

# ---------------------------------------------------------------------------------------------
# haproxy in front of the data nodes, as haproxy/primgr.cfg configures it: writes go to the
# node whose /state is 200 and whose agent says up; reads to standbys by /replica and agent.

HA_PID=
# haproxy_start: writes $CT_DIR/haproxy.cfg (frontends on HA_WRITE and HA_READ, stats CSV on
# HA_STATS, socket $CT_DIR/haproxy.sock) and starts haproxy in the foreground mode (-db).
# Its checks are those of the shipped haproxy/primgr.cfg (inter, fastinter, downinter, rise,
# fall 3, agent-inter, timeout check 2s: above primgr's 1.5 s first-round hold), so that a
# test sees what users get; tests/lib/haproxy.sh's ha_start runs the shipped file itself.
haproxy_start() {
	local i cfg="$CT_DIR/haproxy.cfg"
	command -v haproxy >/dev/null 2>&1 || { diag "haproxy is not installed"; return 1; }
	HA_WRITE=${HA_WRITE:-$(ct_free_port)}
	HA_READ=${HA_READ:-$(ct_free_port)}
	HA_STATS=${HA_STATS:-$(ct_free_port)}
	{
		cat <<-EOF
			global
			    maxconn 2000
			    stats socket $CT_DIR/haproxy.sock mode 600 level admin

			defaults
			    mode tcp
			    timeout connect 3s
			    timeout client 1m
			    timeout server 1m
			    timeout check 2s
			    retries 1

			listen stats
			    mode http
			    bind 127.0.0.1:$HA_STATS
			    stats enable
			    stats uri /

			frontend pg_write
			    bind 127.0.0.1:$HA_WRITE
			    default_backend pg_write

			frontend pg_read
			    bind 127.0.0.1:$HA_READ
			    default_backend pg_read

			backend pg_write
			    balance first
			    option httpchk
			    http-check send meth GET uri /state ver HTTP/1.1 hdr Host primgr
			    http-check expect status 200
			    default-server check inter 1s fastinter 500ms downinter 500ms rise 1 fall 3 agent-check agent-inter 500ms weight 100 on-marked-down shutdown-sessions
		EOF
		for i in $(data_nodes); do
			echo "    server ${NODE_NAME[i]} $(node_host "$i"):${NODE_PORT[i]} port ${NODE_HTTP[i]} agent-port ${NODE_AGENT[i]}"
		done
		cat <<-EOF

			backend pg_read
			    balance leastconn
			    option httpchk
			    http-check send meth GET uri /replica ver HTTP/1.1 hdr Host primgr
			    http-check expect status 200
			    default-server check inter 1s fastinter 500ms downinter 500ms rise 1 fall 3 agent-check agent-inter 1s weight 100 on-marked-down shutdown-sessions
		EOF
		for i in $(data_nodes); do
			echo "    server ${NODE_NAME[i]} $(node_host "$i"):${NODE_PORT[i]} port ${NODE_HTTP[i]} agent-port ${NODE_RAGENT[i]}"
		done
	} >"$cfg"
	ct_own "$cfg"
	ct_run "haproxy -c" haproxy -c -q -f "$cfg" || return 1
	ct_spawn haproxy "$CT_DIR/haproxy.log" haproxy -db -f "$cfg" || return 1
	HA_PID=$SPAWNED_PID
	# haproxy 2.6 starts every server UP until its first check: wait for those checks
	wait_for 5 haproxy_checked
}

# haproxy_checked: every server has had its first health check.
haproxy_checked() {
	local l
	l=$(haproxy_servers pg_write; haproxy_servers pg_read)
	[ -n "$l" ] && ! echo "$l" | awk '{ print $3 }' | grep -q INI
}

haproxy_stop() {
	[ -n "$HA_PID" ] || return 0
	kill -TERM "$HA_PID" 2>/dev/null
	wait_for 5 eval "! ct_alive $HA_PID" || kill -KILL "$HA_PID" 2>/dev/null
	HA_PID=
}

# haproxy_servers BACKEND: "name status check agent" per server (status UP, DOWN, DRAIN,
# MAINT...; the last health check and agent check results), from the stats CSV.
haproxy_servers() {
	curl -s --noproxy '*' -m 2 "http://127.0.0.1:$HA_STATS/;csv" 2>/dev/null |
		awk -F, -v b="$1" '$1 == b && $2 != "FRONTEND" && $2 != "BACKEND" { print $2, $18, $37, $63 }'
}

# haproxy_up BACKEND: the servers of BACKEND that are UP, space separated.
haproxy_up() {
	haproxy_servers "$1" | awk '$2 == "UP" { printf "%s%s", s, $1; s = " " }'
}

# haproxy_route write|read: the node a real client reaches through that frontend (its
# cluster_name), empty when the connection fails.
haproxy_route() {
	local port=$HA_WRITE
	[ "$1" = read ] && port=$HA_READ
	PGCONNECT_TIMEOUT=2 as_pg timeout 5 "$PG_BINDIR/psql" -X -A -t -q -h 127.0.0.1 -p "$port" \
		-U postgres -d postgres -c "SELECT current_setting('cluster_name')" 2>/dev/null
}

# loadgen_build: compiles tests/lib/loadgen.c (a paced TCP load generator; see its header)
# into $CT_DIR/bin/loadgen and sets LOADGEN.
loadgen_build() {
	LOADGEN=$CT_DIR/bin/loadgen
	mkdir -p "$CT_DIR/bin"
	[ -x "$LOADGEN" ] || ${CC:-cc} -O2 -o "$LOADGEN" "$CT_LIBDIR/loadgen.c"
}

# loadgen_agent I ROLE RATE SECONDS [EXPECTED_PREFIX]: agent checks against node I's ROLE
# listener; prints loadgen's summary line (requests= ok= ... rate= p99_ms= max_ms=).
loadgen_agent() {
	local port=${NODE_AGENT[$1]}
	[ "$2" = replica ] && port=${NODE_RAGENT[$1]}
	"$LOADGEN" -p "$port" -r "$3" -d "$4" -c 64 ${5:+-e "$5"}
}

# loadgen_field LINE KEY: one value of a loadgen summary line.
loadgen_field() {
	echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"
}

# ---------------------------------------------------------------------------------------------
# Cleanup

# cluster_pids: every live process of ours (primgr, postmasters and their children).
cluster_pids() {
	local i p
	for i in $(all_nodes); do ct_track "$(node_pid "$i")"; done
	for p in "${CT_PIDS[@]}"; do
		ct_ours "$p" || continue
		echo "$p"
		ct_children "$p"
	done | sort -un
}

ct_none_alive() {
	local p
	for p in "$@"; do ct_alive "$p" && return 1; done
	return 0
}

# cluster_cleanup: stops everything the harness started, by pid; removes the temp dir unless
# KEEP_TMP=1. Safe to call twice (the EXIT trap calls it).
cluster_cleanup() {
	local i p pids=()
	[ -n "$CT_DIR" ] && [ -d "$CT_DIR" ] || return 0
	set +e
	for p in "${CT_BG_PIDS[@]}"; do kill "$p" 2>/dev/null; done
	mapfile -t pids < <(cluster_pids)
	for p in "${CT_FROZEN[@]}"; do kill -CONT "$p" 2>/dev/null; done
	for i in $(all_nodes); do
		p=${NODE_PRIMGR_PID[$i]:-}
		ct_ours "$p" && kill -TERM "$p" 2>/dev/null
	done
	ct_ours "$HA_PID" && kill -TERM "$HA_PID" 2>/dev/null
	for i in $(all_nodes); do
		[ -f "$(node_data "$i")/postmaster.pid" ] || continue
		CT_CMD_TIMEOUT=15 node_stop "$i" immediate >/dev/null 2>&1
	done
	# give them a moment to exit on their own, then SIGKILL what is left (only postgres/primgr:
	# the pids were ours a moment ago)
	wait_for 3 ct_none_alive "${pids[@]}"
	for p in "${pids[@]}"; do
		case "$(cat "/proc/$p/comm" 2>/dev/null)" in
		postgres | primgr | haproxy) ct_alive "$p" && kill -KILL "$p" 2>/dev/null ;;
		esac
	done
	wait_for 3 ct_none_alive "${pids[@]}"
	for p in "${CT_WRAPPERS[@]}"; do kill -CONT "$p" 2>/dev/null; done
	wait_for 3 ct_none_alive "${CT_WRAPPERS[@]}"
	for p in "${CT_WRAPPERS[@]}"; do
		ct_alive "$p" && kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	for p in "${CT_BG_PIDS[@]}"; do wait "$p" 2>/dev/null; done
	if [ "${KEEP_TMP:-0}" = 1 ]; then
		echo "# KEEP_TMP=1: kept $CT_DIR"
	else
		rm -rf "$CT_DIR"
	fi
	CT_DIR=
}

#!/bin/bash
# The refresh cycle end to end on one real PostgreSQL 15 registered with repmgr
# (`repmgr primary register`) and two real primgr daemons: node1 (the primary) and node2,
# a second registered node whose primgr reads the same database (so its /primary names
# node1: a real vote over HTTP). N = 2, quorum 2: node1 is Primary only with node2's vote.
# Everything runs in a temp dir on ports picked at run time; only our own PIDs are killed.
# pick_port assigns its variables by name (printf -v): SC2154. The checks are strings run by
# eval, so the variables they read look unused (SC2034) or unquoted (SC2016, SC2086).
# shellcheck disable=SC2154,SC2016,SC2034,SC2086
set -u

top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-.}
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
PRIMGR=$top_builddir/src/primgr

n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; }
check() { if eval "$2"; then ok "$1"; else nok "$1"; fi; }

for tool in "$PGBIN/initdb" "$PGBIN/repmgr" curl jq; do
	if ! command -v "$tool" >/dev/null; then
		echo "ok 1 # SKIP $tool not installed"
		exit 0
	fi
done
if [ ! -x "$PRIMGR" ]; then
	echo "not ok 1 - $PRIMGR not built"
	exit 1
fi

tmp=$(mktemp -d /tmp/primgr-refresh.XXXXXX) || exit 1
chmod 755 "$tmp"
if [ "$(id -u)" = 0 ]; then
	chown postgres: "$tmp"
	as_pg() { runuser -u postgres -- "$@"; }
else
	as_pg() { "$@"; }
fi
data=$tmp/data
pids=()

pm_pid() { head -n1 "$data/postmaster.pid" 2>/dev/null; }
cleanup() {
	local pid
	for pid in "${pids[@]}"; do
		kill -CONT "$pid" 2>/dev/null
		kill -TERM "$pid" 2>/dev/null
	done
	pid=$(pm_pid)
	if [ -n "$pid" ]; then
		kill -CONT "$pid" 2>/dev/null
		for c in $(ps -o pid= --ppid "$pid" 2>/dev/null); do kill -CONT "$c" 2>/dev/null; done
		as_pg "$PGBIN/pg_ctl" -D "$data" -m immediate -w -t 10 stop >/dev/null 2>&1 ||
			kill -KILL "$pid" 2>/dev/null
	fi
	for pid in "${pids[@]}"; do
		for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT

# Sets variable $1 to a TCP port nobody listens on now and not one we already took.
taken=" "
pick_port() {
	local p
	for _ in $(seq 1 200); do
		p=$((20000 + RANDOM % 40000))
		case "$taken" in *" $p "*) continue ;; esac
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			taken="$taken$p "
			printf -v "$1" %s "$p"
			return 0
		fi
	done
	return 1
}
pick_port pgport

now_ms() { echo $(($(date +%s%N) / 1000000)); }
# code of GET url (000 when no answer), body in $tmp/body
get() { curl -s -m 3 -o "$tmp/body" -w '%{http_code}' "$1"; }
# waits up to $2 ms for GET $1 to return code $3; sets waited_ms
wait_code() {
	local start end
	start=$(now_ms)
	end=$((start + $2))
	while [ "$(now_ms)" -lt "$end" ]; do
		if [ "$(get "$1")" = "$3" ]; then
			waited_ms=$(($(now_ms) - start))
			return 0
		fi
		sleep 0.05
	done
	waited_ms=$(($(now_ms) - start))
	return 1
}
psql_c() { as_pg "$PGBIN/psql" -X -q -t -A -h "$tmp" -p "$pgport" -U postgres -d postgres -c "$1"; }

# ---- PostgreSQL + repmgr ----
if ! as_pg "$PGBIN/initdb" -D "$data" -U postgres --auth=trust -E UTF8 --no-sync \
	>"$tmp/initdb.log" 2>&1; then
	echo "not ok 1 - initdb"
	exit 1
fi
cat >>"$data/postgresql.conf" <<EOF
listen_addresses = ''
unix_socket_directories = '$tmp'
port = $pgport
fsync = off
shared_preload_libraries = 'repmgr'
EOF
if ! as_pg "$PGBIN/pg_ctl" -D "$data" -l "$tmp/pg.log" -w -t 30 start >/dev/null 2>&1; then
	echo "not ok 1 - PostgreSQL start"
	sed 's/^/# /' "$tmp/pg.log"
	exit 1
fi
conninfo="host=$tmp port=$pgport dbname=postgres user=postgres"
for i in 1 2; do
	mkdir -p "$tmp/n$i"
	cat >"$tmp/n$i/repmgr.conf" <<EOF
node_id=$i
node_name='node$i'
conninfo='$conninfo'
data_directory='$data'
location='dc1'
pg_bindir='$PGBIN'
EOF
done
as_pg "$PGBIN/repmgr" -f "$tmp/n1/repmgr.conf" primary register >"$tmp/register.log" 2>&1
check "repmgr primary register" '[ $? -eq 0 ]' || sed 's/^/# /' "$tmp/register.log"
psql_c "INSERT INTO repmgr.nodes (node_id, upstream_node_id, active, node_name, type, location,
	priority, conninfo, repluser, config_file) VALUES (2, 1, true, 'node2', 'standby', 'dc1',
	100, '$conninfo', 'postgres', '$tmp/n2/repmgr.conf')" >/dev/null
check "node2 row added" '[ "$(psql_c "SELECT count(*) FROM repmgr.nodes")" = 2 ]'

# ---- two primgr daemons ----
# Starts both on freshly picked ports; false (daemons stopped again) when one could not
# listen, e.g. because another program took a port between the pick and the bind.
start_daemons() {
	local i port
	pick_port http1 && pick_port http2 && pick_port agent1 || return 1
	for i in 1 2; do
		eval "port=\$http$i"
		rm -f "$tmp/n$i/pid"
		{
			echo "[node]"
			echo "repmgr_conf = $tmp/n$i/repmgr.conf"
			echo "[database]"
			echo "refresh_interval = 300ms"
			echo "db_timeout = 1s"
			echo "statement_timeout = 500ms"
			echo "stale_after = 4s"
			echo "reconnect_max = 1s"
			echo "[consensus]"
			echo "peer_timeout = 400ms"
			echo "peer_connect_timeout = 200ms"
			echo "[peers]"
			echo "node1 = http://127.0.0.1:$http1"
			echo "node2 = http://127.0.0.1:$http2"
			echo "[http]"
			echo "listen = 127.0.0.1:$port"
			echo "[agent]"
			[ "$i" = 1 ] && echo "listen = 127.0.0.1:$agent1/primary" || echo "listen ="
			echo "[files]"
			echo "admin_state = $tmp/n$i/admin-state"
			echo "topology_cache = $tmp/n$i/topology.json"
			echo "pidfile = $tmp/n$i/pid"
			echo "[log]"
			echo "level = info"
		} >"$tmp/n$i/primgr.ini"
		chown -R "$(stat -c %U "$tmp")" "$tmp/n$i"
		as_pg "$PRIMGR" -f -c "$tmp/n$i/primgr.ini" >"$tmp/n$i/primgr.log" 2>&1 &
		pids+=($!)
	done
	# the daemons' own PIDs (under root, $! is runuser's); then both must answer
	for _ in $(seq 1 50); do
		[ -s "$tmp/n1/pid" ] && [ -s "$tmp/n2/pid" ] && break
		sleep 0.1
	done
	d1=$(cat "$tmp/n1/pid" 2>/dev/null)
	d2=$(cat "$tmp/n2/pid" 2>/dev/null)
	read -r -a parents <<<"$(ps -o ppid= -p "$d1,$d2" | tr -s '\n' ' ')"
	[ -n "$d1" ] && [ -n "$d2" ] && pids+=("$d1" "$d2" "${parents[@]}")
	for _ in $(seq 1 50); do
		if [ "$(get "http://127.0.0.1:$http1/health")" = 200 ] &&
			[ "$(get "http://127.0.0.1:$http2/health")" = 200 ]; then
			return 0
		fi
		if ! kill -0 "$d1" 2>/dev/null || ! kill -0 "$d2" 2>/dev/null; then
			break
		fi
		sleep 0.1
	done
	for i in 1 2; do sed 's/^/# start: /' "$tmp/n$i/primgr.log"; done
	kill -TERM "$d1" "$d2" 2>/dev/null
	sleep 0.5
	return 1
}
started=false
for _ in 1 2 3 4 5; do
	if start_daemons; then
		started=true
		break
	fi
done
check "both daemons started and answer /health" '$started'

u1=http://127.0.0.1:$http1
u2=http://127.0.0.1:$http2

# 1. healthy
check "node1 /state 200 Primary" 'wait_code $u1/state 5000 200'
check "node1 body: Primary, votes 2, quorum 2" \
	'[ "$(jq -r "[.state,.votes,.quorum]|join(\" \")" "$tmp/body")" = "Primary 2 2" ]' ||
	sed 's/^/# /' "$tmp/body"
check "node1 /primary names node1" \
	'[ "$(get $u1/primary)" = 200 ] && [ "$(jq -c "del(.lsn)" "$tmp/body")" = "{\"Primary\":\"node1\",\"node_id\":1,\"answered_by\":\"node1\",\"answered_by_id\":1}" ]'
check "node1 /primary carries its WAL position (lsn X/Y, for the standbys' lag)" \
	'jq -r .lsn "$tmp/body" | grep -Eq "^[0-9A-F]{1,8}/[0-9A-F]{1,8}$"'
check "node2 /state 509 Unknown (its view names node1)" '[ "$(get $u2/state)" = 509 ]'
for u in "$u1" "$u2"; do
	check "/realPrimary on $u: node1" \
		'[ "$(get $u/realPrimary)" = 200 ] && [ "$(jq -c . "$tmp/body")" = "{\"realPrimary\":\"node1\",\"node_id\":1}" ]' ||
		sed 's/^/# /' "$tmp/body"
done
check "topology cache written with 2 nodes" \
	'[ "$(jq ".nodes|length" "$tmp/n1/topology.json" 2>/dev/null)" = 2 ]'
check "agent /primary: up" \
	'[ "$( (exec 3<>/dev/tcp/127.0.0.1/$agent1; cat <&3) 2>/dev/null | tr -d "\r\n")" = "up" ]'
check "application_name=primgr sessions, at most pool_size each" \
	'c=$(psql_c "SELECT count(*) FROM pg_stat_activity WHERE application_name = '"'"'primgr'"'"'"); [ "$c" -ge 2 ] && [ "$c" -le 6 ]'

# 2. node2's primgr black-holed: node1 loses its quorum, answers stay fast
# runuser stops itself when its child stops (and stays stopped): continue both later
d2_parent=$(ps -o ppid= -p "$d2" | tr -d ' ')
kill -STOP "$d2"
check "node2 stopped: node1 509 Unknown" 'wait_code $u1/state 3000 509'
echo "# after ${waited_ms} ms: $(cat "$tmp/body")"
t=$(curl -s -o /dev/null -w '%{time_total}' "$u1/state")
check "node1 answers at once while its peer hangs (${t}s)" '[ "$(echo "$t < 0.05" | bc)" = 1 ]'
start=$(now_ms)
code=$(get "$u1/realPrimary")
took=$(($(now_ms) - start))
check "/realPrimary with node2 hung: 503 within peer_timeout + slack (${took} ms)" \
	'[ "$code" = 503 ] && [ "$took" -lt 1000 ]'
check "/realPrimary 503 lists node2 unreachable" \
	'[ "$(jq -c .unreachable "$tmp/body")" = "[\"node2\"]" ] && [ "$(jq -c .candidates "$tmp/body")" = "[]" ]' ||
	sed 's/^/# /' "$tmp/body"
kill -CONT "$d2" "$d2_parent"
check "node2 back: node1 200 Primary" 'wait_code $u1/state 3000 200'

# 3. PostgreSQL hangs (SIGSTOP postmaster and its backends): Down within db_timeout
pm=$(pm_pid)
procs="$pm $(ps -o pid= --ppid "$pm" | tr '\n' ' ')"
kill -STOP $procs
check "DB hung: node1 503 Down" 'wait_code $u1/state 4000 503'
echo "# Down after ${waited_ms} ms: $(cat "$tmp/body")"
check "DB hung: Down within refresh + db_timeout + slack" '[ "$waited_ms" -lt 2500 ]'
t=$(curl -s -o /dev/null -w '%{time_total}' "$u1/state")
check "node1 answers at once while the DB hangs (${t}s)" '[ "$(echo "$t < 0.05" | bc)" = 1 ]'
kill -CONT $procs
check "DB resumed: node1 200 Primary" 'wait_code $u1/state 6000 200'
echo "# back after ${waited_ms} ms"

# 4. PostgreSQL stopped and started
as_pg "$PGBIN/pg_ctl" -D "$data" -m fast -w -t 30 stop >/dev/null 2>&1
check "DB stopped: node1 503 Down" 'wait_code $u1/state 3000 503'
echo "# Down after ${waited_ms} ms: $(jq -r .reason "$tmp/body")"
code=$(get "$u1/realPrimary")
check "/realPrimary while down: 503 from the cached node list (node2 asked)" \
	'[ "$code" = 503 ] && [ "$(jq -r .reason "$tmp/body")" != "" ]'
echo "# $(cat "$tmp/body")"
as_pg "$PGBIN/pg_ctl" -D "$data" -l "$tmp/pg.log" -w -t 30 start >/dev/null 2>&1
check "DB started: node1 200 Primary again" 'wait_code $u1/state 6000 200'
echo "# back after ${waited_ms} ms"

# 5. the admin state file is read every cycle
as_pg "$PRIMGR" ctl drain -c "$tmp/n1/primgr.ini" >/dev/null 2>&1
sleep 1
check "ctl drain: agent says drain" \
	'(exec 3<>/dev/tcp/127.0.0.1/$agent1; cat <&3) 2>/dev/null | grep -q drain'

# 6. a clean stop (LeakSanitizer reports at exit in a sanitizer build)
kill -TERM "$d1" "$d2"
for _ in $(seq 1 50); do
	kill -0 "$d1" 2>/dev/null || kill -0 "$d2" 2>/dev/null || break
	sleep 0.1
done
check "SIGTERM: both daemons stopped" '! kill -0 $d1 2>/dev/null && ! kill -0 $d2 2>/dev/null'
check "no sanitizer or error report in the daemons' logs" \
	'! grep -E "ERROR: AddressSanitizer|runtime error|LeakSanitizer" $tmp/n1/primgr.log $tmp/n2/primgr.log'
if [ "$failed" -gt 0 ]; then
	for i in 1 2; do
		echo "# node$i log (tail):"
		tail -n 25 "$tmp/n$i/primgr.log" | sed 's/^/#   /'
	done
fi
echo "1..$n"
[ "$failed" -eq 0 ]

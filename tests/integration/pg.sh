#!/bin/bash
# pg.c against a real PostgreSQL 15: starts one in a temp dir (unix socket only, port
# picked at run time), runs tests/test_pg against it, stops it and removes the dir.
# Prints TAP (the lines of test_pg plus its own).
# cleanup and pm_pid run from the EXIT trap
# shellcheck disable=SC2317
set -u

top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-.}
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}

if [ ! -x "$PGBIN/initdb" ]; then
	echo "ok 1 # SKIP PostgreSQL 15 not installed ($PGBIN)"
	exit 0
fi
if [ ! -x "$top_builddir/tests/test_pg" ]; then
	echo "not ok 1 - $top_builddir/tests/test_pg not built"
	exit 1
fi

tmp=$(mktemp -d /tmp/primgr-pg.XXXXXX) || exit 1
chmod 755 "$tmp"
if [ "$(id -u)" = 0 ]; then
	chown postgres: "$tmp"
	as_pg() { runuser -u postgres -- "$@"; }
	as_pg_cmd="runuser -u postgres --"
else
	as_pg() { "$@"; }
	as_pg_cmd=""
fi
# The unix socket, and 127.0.0.1 for the host name lookups of test_resolve; a port picked
# at run time that nothing listens on.
for _ in 1 2 3 4 5 6 7 8 9 10; do
	port=$((20000 + RANDOM % 12000)) # below the ephemeral ports (32768-)
	(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || break
done
data=$tmp/data
opts="-c listen_addresses='127.0.0.1' -c unix_socket_directories='$tmp' -c port=$port -c fsync=off"

# tests/lib/slowdns.so, preloaded into test_pg: a DNS that is slow or fails on demand.
if ! ${CC:-cc} -shared -fPIC -o "$tmp/slowdns.so" "$top_srcdir/tests/lib/slowdns.c" -ldl \
	>"$tmp/slowdns.log" 2>&1; then
	echo "not ok 1 - build tests/lib/slowdns.c"
	sed 's/^/# /' "$tmp/slowdns.log"
	exit 1
fi

pm_pid() { head -n1 "$data/postmaster.pid" 2>/dev/null; }

cleanup() {
	local pid
	pid=$(pm_pid)
	if [ -n "$pid" ]; then
		# a test that died mid-way may have left our postmaster or its backends stopped
		kill -CONT "$pid" 2>/dev/null
		for c in $(ps -o pid= --ppid "$pid" 2>/dev/null); do kill -CONT "$c" 2>/dev/null; done
		as_pg "$PGBIN/pg_ctl" -D "$data" -m immediate -w -t 10 stop >/dev/null 2>&1 ||
			kill -KILL "$pid" 2>/dev/null
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

if ! as_pg "$PGBIN/initdb" -D "$data" -U postgres --auth=trust -E UTF8 --no-sync \
	>"$tmp/initdb.log" 2>&1; then
	echo "not ok 1 - initdb"
	sed 's/^/# /' "$tmp/initdb.log"
	exit 1
fi
start="$as_pg_cmd $PGBIN/pg_ctl -D $data -l $tmp/pg.log -o \"$opts\" -w -t 30 start"
stop="$as_pg_cmd $PGBIN/pg_ctl -D $data -m fast -w -t 30 stop"
if ! eval "$start" >/dev/null 2>&1; then
	echo "not ok 1 - PostgreSQL start"
	sed 's/^/# /' "$tmp/pg.log"
	exit 1
fi

export PRIMGR_TEST_CONNINFO="host=$tmp port=$port dbname=postgres user=postgres"
export PRIMGR_TEST_PGDATA=$data
export PRIMGR_TEST_PG_START="$start >/dev/null 2>&1"
export PRIMGR_TEST_PG_STOP="$stop >/dev/null 2>&1"
export PRIMGR_TEST_TCP_PORT=$port PRIMGR_TEST_SLOWDNS=$tmp/slowdns.so
# an ASan build wants its runtime first in the library list; the preload comes before it
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
	LD_PRELOAD="$tmp/slowdns.so" "$top_builddir/tests/test_pg"
rc=$?
if [ "$rc" -ne 0 ]; then
	echo "# PostgreSQL log (tail):"
	tail -n 20 "$tmp/pg.log" | sed 's/^/# /'
fi
exit $rc

#!/bin/bash
# pg.c against a real PostgreSQL 15: one database started by the harness (pg_single_init in
# tests/lib/cluster.sh: node1, unix socket and 127.0.0.1 on a port picked at run time, no
# repmgr), then tests/test_pg against it; the harness stops it and removes the temp dir.
# Prints TAP: the lines of test_pg (with its plan), or one failure when the set-up fails.
# shellcheck source-path=SCRIPTDIR source=../lib/cluster.sh
. "$(dirname "$0")/../lib/cluster.sh"

[ -x "$PG_BINDIR/initdb" ] || skip_all "PostgreSQL 15 not installed ($PG_BINDIR)"
[ -x "$top_builddir/tests/test_pg" ] || bail_out "$top_builddir/tests/test_pg not built"

pg_single_init || bail_out "PostgreSQL start (node1)"

# tests/lib/slowdns.so, preloaded into test_pg: a DNS that is slow or fails on demand.
SLOWDNS=$CT_DIR/bin/slowdns.so
mkdir -p "$CT_DIR/bin"
if ! ${CC:-cc} -shared -fPIC -o "$SLOWDNS" "$CT_LIBDIR/slowdns.c" -ldl >"$CT_DIR/slowdns.log" 2>&1; then
	diag "$(cat "$CT_DIR/slowdns.log")"
	bail_out "build tests/lib/slowdns.c"
fi

# test_pg stops and starts the database through these shell commands (system()), as the
# harness's node_stop / node_start do: as postgres when root, from the temp dir.
pgctl="$PG_BINDIR/pg_ctl -D $(node_data 1) -l $(node_dir 1)/pg.log"
$CT_IS_ROOT && pgctl="runuser -u postgres -- $pgctl"
PRIMGR_TEST_CONNINFO="host=$(node_dir 1) port=${NODE_PORT[1]} dbname=postgres user=postgres"
PRIMGR_TEST_PGDATA=$(node_data 1)
export PRIMGR_TEST_CONNINFO PRIMGR_TEST_PGDATA
export PRIMGR_TEST_PG_START="cd $CT_DIR && $pgctl -w -t 60 start >/dev/null 2>&1"
export PRIMGR_TEST_PG_STOP="cd $CT_DIR && $pgctl -m fast -w -t 60 stop >/dev/null 2>&1"
# the 127.0.0.1 port, for the host name lookups of test_resolve
export PRIMGR_TEST_TCP_PORT=${NODE_PORT[1]} PRIMGR_TEST_SLOWDNS=$SLOWDNS
# an ASan build wants its runtime first in the library list; the preload comes before it
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
	LD_PRELOAD="$SLOWDNS" "$top_builddir/tests/test_pg"
rc=$?
# a test that died mid-way may have left the postmaster or its backends stopped
node_thaw 1 2>/dev/null
node_track 1
if [ "$rc" -ne 0 ]; then
	diag "PostgreSQL log (tail):" "$(tail -n 20 "$(node_dir 1)/pg.log")"
fi
exit "$rc"

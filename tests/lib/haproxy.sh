# shellcheck shell=bash disable=SC2034,SC2016
# (SC2034: the variables set here are read by the scripts that source this file; SC2016:
# single-quoted strings given to eval expand when evaluated)
# tests/lib/haproxy.sh: a real haproxy in front of a tests/lib/cluster.sh cluster, configured
# from the SHIPPED haproxy/primgr.cfg (so the file users install is the one the tests and the
# demo exercise), and readers of its stats socket. Source it after cluster.sh:
#
#   . "$top_srcdir/tests/lib/cluster.sh"
#   . "$top_srcdir/tests/lib/haproxy.sh"
#   cluster_init 3 && primgr_start_all && ha_start
#   ha_status pg_write node1                # UP, DOWN, DRAIN, MAINT, ...
#   ha_field pg_write node1 agent_desc      # e.g. "unknown" after "down #unknown"
#
# The stats socket is read with `nc -U` (Debian package netcat-openbsd).
# ha_start only changes well-defined lines of the shipped file (see ha_config); it fails when
# one of them is missing, so a reshaped primgr.cfg is noticed here rather than shipped
# untested. haproxy runs in the foreground (-db) as the same user as the databases; its pid is
# HA_PID, which cluster_cleanup kills at exit.

HA_CFG_SRC=${HA_CFG_SRC:-$top_srcdir/haproxy/primgr.cfg}
HA_PID=
HA_WRITE=${HA_WRITE:-}
HA_READ=${HA_READ:-}
HA_STATS=${HA_STATS:-}
HA_SOCK=
# HA_TAG: the name of this haproxy's files in $CT_DIR (TAG.cfg, TAG.log, TAG.sock), so that
# a test can run two (tests/integration/checkstyles.sh).
HA_TAG=${HA_TAG:-haproxy}

# ha_require: haproxy and nc (netcat-openbsd, for the stats socket) are installed.
ha_require() {
	local p missing=
	for p in haproxy nc; do
		command -v "$p" >/dev/null 2>&1 || missing="$missing $p"
	done
	[ -z "$missing" ] || skip_all "missing program(s):$missing (packages haproxy, netcat-openbsd)"
}

# ha_config OUT: writes the test configuration from the shipped file. Changed, by section:
#   global        the "stats socket" path -> $CT_DIR/haproxy.sock; "log" -> stdout (haproxy.log)
#   listen stats  its bind -> 127.0.0.1:$HA_STATS
#   frontend X    its bind -> 127.0.0.1:$HA_WRITE (pg_write) / $HA_READ (pg_read)
#   backend X     its "server" lines (a "listen X" section, as in patroni-style.cfg, gets both)
#                 -> one per data node of the cluster, with that node's
#                 PostgreSQL port and its primgr HTTP port (port) and agent port (agent-port:
#                 the primary role for pg_write, the replica role for pg_read)
# Everything else (checks, intervals, weights, timeouts) is the shipped text.
ha_config() {
	local out=$1 i servers_w='' servers_r=''
	for i in $(data_nodes); do
		servers_w+="	server ${NODE_NAME[i]} $(node_host "$i"):${NODE_PORT[i]} port ${NODE_HTTP[i]} agent-port ${NODE_AGENT[i]}"$'\n'
		servers_r+="	server ${NODE_NAME[i]} $(node_host "$i"):${NODE_PORT[i]} port ${NODE_HTTP[i]} agent-port ${NODE_RAGENT[i]}"$'\n'
	done
	awk -v sock="$HA_SOCK" -v stats="$HA_STATS" -v w="$HA_WRITE" -v r="$HA_READ" \
		-v sw="$servers_w" -v sr="$servers_r" '
		function fail(m) { print "ha_config: " m > "/dev/stderr"; bad = 1 }
		/^[^ \t#]/ { sect = $1 " " $2; sub(/ $/, "", sect) }
		sect == "global" && $1 == "stats" && $2 == "socket" {
			$3 = sock; print "\t" $0; n["sock"]++; next
		}
		sect == "global" && $1 == "log" { print "\tlog stdout format raw local0 info"; n["log"]++; next }
		$1 == "bind" && sect == "listen stats" { print "\tbind 127.0.0.1:" stats; n["stats"]++; next }
		$1 == "bind" && (sect == "frontend pg_write" || sect == "listen pg_write") { print "\tbind 127.0.0.1:" w; n["w"]++; next }
		$1 == "bind" && (sect == "frontend pg_read" || sect == "listen pg_read") { print "\tbind 127.0.0.1:" r; n["r"]++; next }
		$1 == "server" && (sect == "backend pg_write" || sect == "listen pg_write") { if (!n["sw"]++) printf "%s", sw; next }
		$1 == "server" && (sect == "backend pg_read" || sect == "listen pg_read") { if (!n["sr"]++) printf "%s", sr; next }
		$1 == "bind" { fail("unexpected bind in section \"" sect "\"") }
		{ print }
		END {
			split("sock log stats w r sw sr", k, " ")
			for (i = 1; i <= 7; i++)
				if (n[k[i]] < 1) fail("the shipped file lacks a line to change (" k[i] ")")
			exit bad
		}' "$HA_CFG_SRC" >"$out"
}

# ha_start: picks the ports (unless HA_WRITE/HA_READ/HA_STATS are set), writes
# $CT_DIR/haproxy.cfg, checks it with `haproxy -c`, starts haproxy and waits until its stats
# socket lists the servers. Log: $CT_DIR/haproxy.log.
ha_start() {
	local cfg="$CT_DIR/$HA_TAG.cfg"
	HA_WRITE=${HA_WRITE:-$(ct_free_port)}
	HA_READ=${HA_READ:-$(ct_free_port)}
	HA_STATS=${HA_STATS:-$(ct_free_port)}
	HA_SOCK=$CT_DIR/$HA_TAG.sock
	ha_config "$cfg" || return 1
	ct_own "$cfg"
	ct_run "haproxy -c" haproxy -c -q -f "$cfg" || return 1
	ct_spawn haproxy "$CT_DIR/$HA_TAG.log" haproxy -db -f "$cfg" || return 1
	HA_PID=$SPAWNED_PID
	ct_own "$CT_DIR/$HA_TAG.log"
	wait_for 5 eval '[ -n "$(ha_status pg_write "${NODE_NAME[1]}")" ]' || {
		diag "haproxy does not answer on its stats socket (log follows)"
		tail -n 15 "$CT_DIR/$HA_TAG.log" | sed 's/^/#   /'
		return 1
	}
}

# ha_stop: SIGTERM (SIGKILL after 5 s) to the haproxy we started.
ha_stop() {
	[ -n "$HA_PID" ] || return 0
	ct_ours "$HA_PID" && kill -TERM "$HA_PID" 2>/dev/null
	wait_for 5 eval "! ct_alive $HA_PID" || { ct_ours "$HA_PID" && kill -KILL "$HA_PID"; }
	HA_PID=
}

ha_running() { [ -n "$HA_PID" ] && ct_alive "$HA_PID"; }

# ha_cmd COMMAND: one command on the stats socket; prints the answer.
ha_cmd() {
	[ -S "$HA_SOCK" ] || return 1
	echo "$1" | timeout 3 nc -U "$HA_SOCK" 2>/dev/null
}

# ha_stat: `show stat` as one tab-separated line per server of the pg_* backends:
#   backend server status weight scur check_status agent_status last_chk last_agt
# status is haproxy's text ("UP", "DOWN", "DOWN (agent)", "DRAIN", "MAINT", "MAINT (via
# agent)"...); last_chk / last_agt are what the last check and the last agent reply said
# (for an agent "down #unknown", last_agt is "unknown"); "-" stands for an empty field.
ha_stat() {
	ha_cmd "show stat" | awk -F, -v OFS='\t' '
		NR == 1 { sub(/^# /, ""); for (i = 1; i <= NF; i++) c[$i] = i; next }
		$1 ~ /^pg_/ && $2 != "FRONTEND" && $2 != "BACKEND" {
			split("pxname svname status weight scur check_status agent_status last_chk last_agt", k, " ")
			line = ""
			for (i = 1; i <= 9; i++) {
				v = $c[k[i]]; gsub(/\t/, " ", v)
				line = line (i > 1 ? OFS : "") (v == "" ? "-" : v)
			}
			print line
		}'
}

# ha_field BACKEND SERVER COLUMN: one column of `show stat` by its CSV name (status, weight,
# scur, stot, check_status, last_chk, agent_status, last_agt, ...).
ha_field() {
	ha_cmd "show stat" | awk -F, -v b="$1" -v s="$2" -v f="$3" '
		NR == 1 { sub(/^# /, ""); for (i = 1; i <= NF; i++) c[$i] = i; next }
		$1 == b && $2 == s { print $c[f]; exit }'
}

# ha_status BACKEND SERVER: UP, DOWN, DRAIN, MAINT, NOLB... (the first word: "DOWN (agent)"
# and "MAINT (via agent)" say the same thing for routing); empty when haproxy does not answer.
ha_status() {
	local s
	s=$(ha_field "$1" "$2" status)
	echo "${s%% *}"
}

ha_weight() { ha_field "$1" "$2" weight; }
# ha_agent_says BACKEND SERVER: the last agent reply's text as haproxy shows it (last_agt:
# "unknown" for "down #unknown", empty for "up").
ha_agent_says() { ha_field "$1" "$2" last_agt; }

# ha_is BACKEND SERVER STATUS: the server has that status (first word) now.
ha_is() { [ "$(ha_status "$1" "$2")" = "$3" ]; }

# ha_view BACKEND: "server:status" (first word) for each server, space separated.
ha_view() {
	ha_stat | awk -F'\t' -v b="$1" '$1 == b { split($3, w, " "); printf "%s%s:%s", sep, $2, w[1]; sep = " " }'
}

# ha_show: haproxy's view of every server, a table for people (the demo) and for diag.
ha_show() {
	ha_stat | awk -F'\t' '
		BEGIN { f = "%-9s %-6s %-18s %6s %4s  %-8s %-8s %s\n"
			printf f, "backend", "server", "status", "weight", "conn", "check", "agent", "agent said" }
		{ printf f, $1, $2, $3, $4, $5, $6, $7, $9 }'
}

# ha_psql write|read SQL: one statement through that frontend, as a client would (user
# postgres, database postgres); prints the unaligned rows, fails when no server answers.
ha_psql() {
	local port=$HA_WRITE
	[ "$1" = read ] && port=$HA_READ
	PGCONNECT_TIMEOUT=2 as_pg timeout 10 "$PG_BINDIR/psql" -X -A -t -q -v ON_ERROR_STOP=1 \
		-h 127.0.0.1 -p "$port" -U postgres -d postgres -c "$2" 2>/dev/null
}

# ha_route_port write|read: the PostgreSQL port a new client reaches through that frontend
# (empty when the connection fails).
ha_route_port() { ha_psql "$1" "SELECT current_setting('port')"; }

# node_of_port PORT: the index of the data node listening on PORT (empty when none).
node_of_port() {
	local i
	for i in $(data_nodes); do
		[ "${NODE_PORT[i]}" = "$1" ] && { echo "$i"; return 0; }
	done
}

# ---------------------------------------------------------------------------------------------
# pgwriter (tests/lib/pgwriter.c): numbered rows through the write frontend, a new connection
# per row; its log has "n port wall_ms" per commit and "n ERR wall_ms reason" per failure.

PGWRITER=
WRITER_PID=
WRITER_LOG=

# writer_build: compiles pgwriter into $CT_DIR/bin (needs cc and libpq-dev).
writer_build() {
	local inc
	inc=$(pg_config --includedir 2>/dev/null) || inc=/usr/include/postgresql
	PGWRITER=$CT_DIR/bin/pgwriter
	mkdir -p "$CT_DIR/bin"
	[ -x "$PGWRITER" ] ||
		${CC:-cc} -O2 -I"$inc" -o "$PGWRITER" "$CT_LIBDIR/pgwriter.c" -lpq
}

# writer_table I: creates the table pgwriter fills, on node I (the primary; it replicates).
writer_table() {
	node_psql_db "$1" postgres "CREATE TABLE IF NOT EXISTS primgr_writes (n int PRIMARY KEY,
		port int NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp())" >/dev/null
}

# writer_start [INTERVAL_MS [FIRST_N]]: starts pgwriter against the write frontend (log
# $CT_DIR/writer.log, emptied), numbering from FIRST_N (default 1).
writer_start() {
	WRITER_LOG=$CT_DIR/writer.log
	: >"$WRITER_LOG"
	"$PGWRITER" -p "$HA_WRITE" -i "${1:-20}" -s "${2:-1}" >>"$WRITER_LOG" 2>&1 </dev/null &
	WRITER_PID=$!
	CT_BG_PIDS+=("$WRITER_PID")
}

writer_stop() {
	[ -n "$WRITER_PID" ] || return 0
	kill -TERM "$WRITER_PID" 2>/dev/null
	wait "$WRITER_PID" 2>/dev/null
	WRITER_PID=
}

# writer_count PORT|OK|ERR|ALL [FROM_MS [TO_MS]]: commits on PORT (or on any port, or
# failures, or attempts)
# whose time is in [FROM_MS, TO_MS].
writer_count() {
	awk -v p="$1" -v a="${2:-0}" -v b="${3:-99999999999999}" '
		NF >= 3 && $3 >= a && $3 <= b && (p == "ALL" || $2 == p || (p == "OK" && $2 != "ERR")) { n++ }
		END { print n + 0 }' "$WRITER_LOG"
}

# writer_first PORT [FROM_MS]: the time of the first commit on PORT at or after FROM_MS.
writer_first() {
	awk -v p="$1" -v a="${2:-0}" '$2 == p && $3 >= a { print $3; exit }' "$WRITER_LOG"
}

# writer_last_ok: the time of the last commit, any port.
writer_last_ok() {
	awk '$2 != "ERR" && NF == 3 { t = $3 } END { printf "%d", t }' "$WRITER_LOG"
}

# writer_ports [FROM_MS [TO_MS]]: "port:count" of the commits in the window, by port.
writer_ports() {
	awk -v a="${1:-0}" -v b="${2:-99999999999999}" '
		$2 != "ERR" && NF == 3 && $3 >= a && $3 <= b { c[$2]++ }
		END { for (p in c) printf "%s:%d ", p, c[p] }' "$WRITER_LOG" | sed 's/ $//'
}

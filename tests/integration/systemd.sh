#!/bin/bash
# Issue 15: `systemctl restart primgr` and `systemctl reload primgr`, under a real systemd
# with the shipped etc/primgr.service and etc/primgr.socket. A real haproxy from the shipped
# haproxy/primgr.cfg in front of a 3-node cluster; node1's primgr runs under systemd:
#   [1] systemctl start primgr.socket: the socket is listening, the first check starts
#       primgr.service (as postgres, with the shipped hardening), which takes the sockets
#   [2] systemctl restart primgr, RESTARTS times, with a long session and a writer (a new
#       connection per 100 ms) through the write frontend: sessions killed / writes failed
#       (target 0 and 0)
#   [3] systemctl reload primgr: SIGHUP, the changed key is taken (log line, /metrics), the
#       process stays; no session killed, no write failed meanwhile
#   [4] systemctl stop primgr.socket, then primgr.service, then start both (how primgr(8) has a
#       listener changed): both units come back, node1 answers
#   [5] systemctl stop primgr.socket, then primgr.service: node1 out of pg_write within the bound
#       of haproxy/primgr.cfg (2 s after the last answer, plus a check)
#
# The systemd: this machine's PID 1 is not systemd, so the test boots /lib/systemd/systemd
# as PID 1 of its own PID, mount, UTS and cgroup namespaces (not the network: haproxy and
# the checks reach the sockets on 127.0.0.1), as a container manager would:
#   - a cgroup of its own (primgr-sd.<pid>, under the name=systemd and cgroup2 hierarchies
#     that are mounted), the namespace's root; /sys/fs/cgroup remounted from it inside;
#   - a private /run (so its /run/systemd is not the host's) and /var/lib (StateDirectory=);
#     its /dev/console is $SD_DIR/console.log;
#   - SYSTEMD_UNIT_PATH: only $SD_DIR/units, with the two shipped units, stub targets and a
#     drop-in per unit that adapts the paths to the test (the primgr binary, node1's INI,
#     the log; BindPaths= the test's directory under the unit's PrivateTmp=) and the
#     socket's ListenStream= to node1's test ports; no generators. It starts nothing of the
#     host: its --unit is an empty target.
# systemctl runs in those namespaces (nsenter). At the end the namespace's PID 1 is
# SIGKILLed, which ends every process in it, and its cgroups are removed.
# Skipped (a failure under CI=true) when not root, without systemd/unshare/nsenter, or when
# the kernel refuses the namespaces.
# shellcheck source-path=SCRIPTDIR disable=SC2016
# shellcheck source=../lib/shipped.sh
. "$(dirname "$0")/../lib/shipped.sh"
# shellcheck source=../lib/restarts.sh
. "$(dirname "$0")/../lib/restarts.sh"

RESTARTS=${RESTARTS:-10}
SYSTEMD=${SYSTEMD:-/lib/systemd/systemd}

cluster_require cc
ha_require
primgr_require
$CT_IS_ROOT || skip_all "systemd in namespaces needs root"
for p in unshare nsenter systemctl; do
	command -v "$p" >/dev/null 2>&1 || skip_all "missing program: $p"
done
[ -x "$SYSTEMD" ] || skip_all "no $SYSTEMD (package systemd)"

# The cgroup hierarchies to give the manager: cgroup2 alone (unified), or the name=systemd
# hierarchy with cgroup2 beside it (hybrid). SD_CG_MODE, SD_CG_ROOTS.
SD_CG_MODE=
SD_CG_ROOTS=()
if [ "$(stat -fc %T /sys/fs/cgroup 2>/dev/null)" = cgroup2fs ]; then
	SD_CG_MODE=unified SD_CG_ROOTS=(/sys/fs/cgroup)
elif [ "$(stat -fc %T /sys/fs/cgroup/systemd 2>/dev/null)" = cgroupfs ] &&
	[ "$(stat -fc %T /sys/fs/cgroup/unified 2>/dev/null)" = cgroup2fs ]; then
	SD_CG_MODE=hybrid SD_CG_ROOTS=(/sys/fs/cgroup/systemd /sys/fs/cgroup/unified)
else
	skip_all "cgroups: neither cgroup2 at /sys/fs/cgroup nor name=systemd + cgroup2 (hybrid)"
fi
out=$(unshare --pid --fork --mount --uts --cgroup true 2>&1) ||
	skip_all "unshare --pid --mount --uts --cgroup refused: $out"

SD_DIR=
SD_UNSHARE=        # the unshare process (host pid), our child
SD_PID=            # the namespace's PID 1, systemd (host pid)
SD_CG=primgr-sd.$$

# sd_stop: SIGKILL to the namespace's PID 1 (the kernel then kills every process in the
# namespace), and its cgroups removed. Runs at exit, before the cluster's cleanup.
sd_stop() {
	local r
	if [ -n "$SD_PID" ] && [ "$(cat "/proc/$SD_PID/comm" 2>/dev/null)" = systemd ]; then
		kill -KILL "$SD_PID" 2>/dev/null
	fi
	if [ -n "$SD_UNSHARE" ]; then
		wait_for 10 eval '! ct_alive '"$SD_UNSHARE" || diag "unshare ($SD_UNSHARE) still runs"
		wait "$SD_UNSHARE" 2>/dev/null
	fi
	for r in "${SD_CG_ROOTS[@]}"; do
		[ -d "$r/$SD_CG" ] || continue
		# the namespace's processes leave their cgroups as they are reaped
		wait_for 5 eval '[ -z "$(find "'"$r/$SD_CG"'" -name cgroup.procs -exec cat {} + 2>/dev/null)" ]' ||
			diag "processes still in $r/$SD_CG"
		find "$r/$SD_CG" -depth -type d -exec rmdir {} + 2>/dev/null
		[ -d "$r/$SD_CG" ] && diag "could not remove $r/$SD_CG"
	done
	SD_PID='' SD_UNSHARE=''
}

# sctl ARGS...: systemctl in the namespaces of our systemd.
sctl() {
	timeout 60 nsenter -t "$SD_PID" -m -p -u -- systemctl --no-pager "$@"
}

# sd_units: the unit directory, with the shipped units as they are, drop-ins for the test's
# paths and ports, and empty stand-ins for the targets their default dependencies name.
sd_units() {
	local u=$SD_DIR/units d1
	d1=$(node_dir 1)
	mkdir -p "$u/primgr.service.d" "$u/primgr.socket.d" "$SD_DIR/generators"
	cp "$top_srcdir/etc/primgr.service" "$top_srcdir/etc/primgr.socket" "$u/"
	for t in sysinit basic sockets shutdown network-online multi-user primgr-test; do
		printf '[Unit]\nDescription=%s (test stand-in)\nDefaultDependencies=no\n' "$t" \
			>"$u/$t.target"
	done
	cat >"$u/primgr.service.d/test.conf" <<-EOF
		# the test's paths: its primgr binary and node1's INI are in $CT_DIR, which the
		# unit's PrivateTmp= hides: it is bound into the private /tmp
		[Service]
		ExecStart=
		ExecStart=$CT_DIR/bin/primgr -f -c $d1/primgr.ini
		BindPaths=$CT_DIR
		StandardOutput=append:$d1/primgr.log
	EOF
	cat >"$u/primgr.socket.d/test.conf" <<-EOF
		# node1's test ports instead of 8432-8434: the [http]/[agent] listen of its INI
		[Socket]
		ListenStream=
		ListenStream=127.0.0.1:${NODE_HTTP[1]}
		ListenStream=127.0.0.1:${NODE_AGENT[1]}
		ListenStream=127.0.0.1:${NODE_RAGENT[1]}
	EOF
}

# sd_init_script: what runs as the namespace's PID 1 before it becomes systemd.
sd_init_script() {
	cat >"$SD_DIR/init.sh" <<-EOF
		#!/bin/sh
		set -e
		mount -t tmpfs -o mode=755 primgr-test /run
		mount -t tmpfs -o mode=755 primgr-test /var/lib
		mount --bind "$SD_DIR/console.log" /dev/console
		if [ $SD_CG_MODE = unified ]; then
		    mount -t cgroup2 cgroup2 /sys/fs/cgroup
		else
		    mount -t tmpfs -o mode=755 primgr-test /sys/fs/cgroup
		    mkdir /sys/fs/cgroup/systemd /sys/fs/cgroup/unified
		    mount -t cgroup -o none,name=systemd cgroup /sys/fs/cgroup/systemd
		    mount -t cgroup2 cgroup2 /sys/fs/cgroup/unified
		fi
		exec env -i container=primgr-test PATH=/usr/sbin:/usr/bin:/sbin:/bin \\
		    SYSTEMD_UNIT_PATH="$SD_DIR/units" SYSTEMD_GENERATOR_PATH="$SD_DIR/generators" \\
		    SYSTEMD_ENVIRONMENT_GENERATOR_PATH="$SD_DIR/generators" \\
		    "$SYSTEMD" --unit=primgr-test.target --log-target=console --log-level=info
	EOF
	chmod 755 "$SD_DIR/init.sh"
}

# sd_boot: systemd as PID 1 of new namespaces, in cgroup $SD_CG; waits until it runs.
sd_boot() {
	local r
	SD_DIR=$CT_DIR/systemd
	mkdir -p "$SD_DIR"
	: >"$SD_DIR/console.log"
	sd_units
	sd_init_script
	for r in "${SD_CG_ROOTS[@]}"; do mkdir "$r/$SD_CG" || return 1; done
	(
		for r in "${SD_CG_ROOTS[@]}"; do echo "$BASHPID" >"$r/$SD_CG/cgroup.procs" || exit 1; done
		exec setsid unshare --pid --fork --mount --uts --cgroup --mount-proc "$SD_DIR/init.sh"
	) >>"$SD_DIR/console.log" 2>&1 </dev/null &
	SD_UNSHARE=$!
	wait_for 10 eval 'SD_PID=$(cat /proc/$SD_UNSHARE/task/$SD_UNSHARE/children 2>/dev/null) &&
		[ -n "$SD_PID" ] && [ "$(cat "/proc/${SD_PID%% *}/comm" 2>/dev/null)" = systemd ]' ||
		return 1
	SD_PID=${SD_PID%% *}
	wait_for 30 eval '[ "$(sctl is-system-running 2>/dev/null)" = running ]'
}

# sd_diag: what the manager and the units say, for a failure.
sd_diag() {
	diag "console of the namespace's systemd (last lines):"
	tail -n 20 "$SD_DIR/console.log" | sed 's/^/  /' | while IFS= read -r l; do diag "$l"; done
	diag "$(sctl status primgr.socket primgr.service 2>&1 | tail -n 30)"
}

cluster_init 3 || bail_out "cluster_init 3"
trap 'sd_stop; cluster_cleanup' EXIT # replaces cluster_tmp's trap, which it still runs
primgr_start 2 || bail_out "primgr starts on node2"
primgr_start 3 || bail_out "primgr starts on node3"
primgr_ini 1 # node1's INI; systemd starts its primgr
: >>"$(node_dir 1)/primgr.log"
ct_own "$(node_dir 1)/primgr.log"
writer_build || bail_out "pgwriter builds"
writer_table 1 || bail_out "the writer's table on node1"
sd_boot || { diag "$(cat "$SD_DIR/console.log")"; bail_out "systemd boots in its namespaces ($SD_CG_MODE cgroups)"; }
diag "systemd $("$SYSTEMD" --version | head -n 1 | awk '{ print $2 }') is PID 1 of its namespaces (host pid $SD_PID, $SD_CG_MODE cgroups)"

# --- [1] the socket, then the first check starts the service -----------------------------
if ! sctl start primgr.socket >>"$CT_DIR/commands.log" 2>&1; then
	sd_diag
	bail_out "[1] systemctl start primgr.socket"
fi
is "$(sctl is-active primgr.socket)" active "[1] systemctl start primgr.socket: the socket is active"
if wait_for 20 eval '[ "$(http_code 1 /health)" = 200 ]'; then
	ok "[1] node1's /health answers 200 through the socket (after ${WAIT_MS} ms)"
else
	not_ok "[1] node1's /health answers 200 through the socket"
	sd_diag
	bail_out "primgr under systemd does not answer"
fi
is "$(sctl show -p TriggeredBy --value primgr.service)/$(sctl is-active primgr.service)" \
	primgr.socket/active "[1] ... primgr.service was started by it"
mainpid() { sctl show -p MainPID --value primgr.service; }
is "$(nsenter -t "$SD_PID" -p -m -- ps -o user= -p "$(mainpid)" 2>/dev/null | tr -d ' ')" postgres \
	"[1] ... runs as User=postgres"
eventually 10 "[1] ... took its three sockets from systemd (LISTEN_FDS)" \
	grep -q "socket activation: 3 listening socket(s) from systemd" "$(node_dir 1)/primgr.log"
ha_start || bail_out "haproxy starts from the shipped configuration"
wait_for 20 eval '[ "$(ha_view pg_write)" = "node1:UP node2:DOWN node3:DOWN" ]' ||
	bail_out "pg_write: node1 UP only ($(ha_view pg_write))"
ok "[1] haproxy: pg_write has node1 UP only"

# --- [2] systemctl restart primgr ---------------------------------------------------------
restart_sd() {
	local p
	p=$(mainpid)
	sctl restart primgr.service || return 1
	wait_for 10 eval '[ "$(mainpid)" != "'"$p"'" ] && [ "$(mainpid)" != 0 ]'
}
rs_run_mode restart "$RESTARTS" restart_sd 1
is "$RS_KILLED/$RS_FAILED" "0/0" "[2] systemctl restart primgr x $RESTARTS: sessions killed / writes failed (of $RS_WRITES)"

# --- [3] systemctl reload primgr ----------------------------------------------------------
# Each reload changes [database] refresh_interval (a key taken without a restart).
RELOADS=0
reload_sd() {
	local p log n
	log=$(node_dir 1)/primgr.log
	p=$(mainpid)
	n=$(grep -c "configuration reloaded from" "$log")
	RELOADS=$((RELOADS + 1))
	primgr_ini 1 "database.refresh_interval=$((RELOADS % 2 ? 900 : 1000))ms"
	sctl reload primgr.service || return 1
	wait_for 10 eval '[ "$(grep -c "configuration reloaded from .*: changed \[database\] refresh_interval" "'"$log"'")" -gt '"$n"' ]' ||
		{ diag "reload $RELOADS: no log line of the change"; return 1; }
	[ "$(mainpid)" = "$p" ] || { diag "reload $RELOADS: MainPID $p became $(mainpid)"; return 1; }
}
rs_run_mode reload 3 reload_sd 100000
is "$RS_KILLED/$RS_FAILED" "0/0" "[3] systemctl reload primgr x 3: sessions killed / writes failed (of $RS_WRITES)"
is "$(rs_metric 1 'primgr_config_reloads_total{result="ok"}')" 3 \
	"[3] ... each reload taken: primgr_config_reloads_total{result=\"ok\"} 3, same process"

# --- [4] both units stopped and started again (primgr(8)'s way to change a listener) -------
# The socket first, in a command of its own: while it listens, a check that arrives after the
# service stopped starts the service again, and `systemctl stop primgr.service
# primgr.socket` in one command left the service running without the socket's descriptors
# (it bound the ports itself), so that starting the socket failed ("Job failed", under
# PRIMGR_TEST_STRESS=1). `systemctl restart` of both units failed the same way.
both_up() {
	echo "socket $(sctl is-active primgr.socket), service $(sctl is-active primgr.service), /state $(http_code 1 /state)"
}
if out=$(sctl stop primgr.socket 2>&1 && sctl stop primgr.service 2>&1 &&
	sctl start primgr.socket 2>&1 && sctl start primgr.service 2>&1); then
	is_eventually 20 "socket active, service active, /state 200" \
		"[4] systemctl stop primgr.socket, stop primgr.service, start primgr.socket, start primgr.service: both back, node1 answers ({ms} ms)" both_up
else
	not_ok "[4] systemctl stop primgr.socket, stop primgr.service, start primgr.socket, start primgr.service: $out"
	sd_diag
fi

# --- [5] primgr stopped for good: out within the bound -----------------------------------
# With the socket active, a check would start the service again: stopping primgr for good
# is stopping both units. The port then refuses: out within inter + 2 x fastinter (2 s).
wait_for 10 eval '[ "$(ha_view pg_write)" = "node1:UP node2:DOWN node3:DOWN" ]'
sctl stop primgr.socket >>"$CT_DIR/commands.log" 2>&1
sctl stop primgr.service >>"$CT_DIR/commands.log" 2>&1
if wait_for 4 eval '! ha_is pg_write node1 UP'; then
	ok "[5] systemctl stop primgr.socket, then primgr.service: node1 out of pg_write after ${WAIT_MS} ms (bound 2 s + a check)"
else
	not_ok "[5] systemctl stop primgr.socket, then primgr.service: node1 out of pg_write within 4 s ($(ha_view pg_write))"
fi
tap_done

#!/bin/bash
# Issue 19, part 2: the packages finish the job, checked by installing them for real in a
# scratch root (an overlay of / in a private mount namespace: dpkg, rpm and the package
# scripts run as on a real machine, every write lands in a temp dir, the machine itself is
# left as it was):
#   [1] .deb: dpkg -i of the three packages: haproxy.service loads haproxy.cfg and
#       primgr.cfg (its drop-in, the expanded command lines, haproxy -c through the unit's
#       own check, systemd-analyze verify); postgresql.service, disabled before, is
#       enabled; dpkg -r undoes both, dpkg -P leaves nothing
#   [2] .deb: an admin had enabled postgresql.service (stays enabled after removal); a
#       haproxy.cfg that clashes with primgr.cfg (haproxy -c fails: the install goes on,
#       haproxy is left unchanged); a drop-in of someone else's is left alone
#   [3] RPM: the scriptlets (rpm -qp --scripts), then rpm -i --nodeps --root on a RHEL-like
#       haproxy.service ($CFGDIR, ExecStartPre check) and postgresql-15.service; rpm -e
#       undoes it
# systemd is not PID 1 here and systemd 252's `systemctl cat/show` need it: tests/lib/units.py
# reads the unit and its drop-ins as systemd does and expands the command lines;
# `systemctl --root` answers is-enabled, `systemd-analyze verify --root` checks the units.
# Needs root, unshare and overlayfs, dpkg-buildpackage + dh, rpmbuild, haproxy, systemd.
# shellcheck source-path=SCRIPTDIR source=../lib/cluster.sh disable=SC2016
# (SC2016: strings for the scratch root's shell are single-quoted on purpose)

# A private mount namespace: the overlay and its bind mounts vanish with this process.
if [ "${PRIMGR_PKG_NS:-}" != 1 ] && [ "$(id -u)" -eq 0 ] && unshare -m true 2>/dev/null; then
	PRIMGR_PKG_NS=1 exec unshare -m --propagation private bash "$0" "$@"
fi
. "$(dirname "$0")/../lib/cluster.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/pkg.sh
. "$(dirname "$0")/../lib/pkg.sh"

[ "${PRIMGR_PKG_NS:-}" = 1 ] || skip_all "needs root and unshare -m (a scratch root on an overlay of /)"
for p in dpkg-buildpackage dh rpmbuild rpm haproxy systemd-analyze systemctl chroot python3; do
	command -v "$p" >/dev/null 2>&1 || skip_all "missing program: $p"
done
[ -f "$top_builddir/Makefile" ] || bail_out "no Makefile in $top_builddir (run configure first)"

pkg_tmp || bail_out "no temp dir"
T=$PKG_TMP
# Unmount every scratch root before pkg_cleanup removes $T: /dev is bind-mounted in them,
# and rm must never walk into it. Were something still mounted, $T stays.
mounts_under_T() { awk -v t="$T/" 'index($2, t) == 1 { print $2 }' /proc/self/mounts | sort -r; }
safe_cleanup() {
	local m
	for m in $(mounts_under_T); do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null; done
	if [ -n "$(mounts_under_T)" ]; then
		echo "# still mounted under $T, not removed: $(mounts_under_T | tr '\n' ' ')"
		PKG_TMP=
	fi
	pkg_cleanup
}
trap safe_cleanup EXIT
SRC=$(cd "$top_srcdir" && pwd)
UNITS="python3 $SRC/tests/lib/units.py"
VERSION=$(sed -n 's/^AC_INIT(\[primgr\], \[\([^]]*\)\].*/\1/p' "$SRC/configure.ac")
DROPIN=/etc/systemd/system/haproxy.service.d/primgr.conf

# root_up NAME: a scratch root $T/NAME/root, a copy-on-write overlay of /, with /dev, /proc
# and an empty /tmp and /run (no /run/systemd/system: the scripts do not talk to a manager).
# Sets R.
root_up() {
	local b=$T/$1
	mkdir -p "$b/upper" "$b/work" "$b/root"
	mount -t overlay overlay -o "lowerdir=/,upperdir=$b/upper,workdir=$b/work" "$b/root" || return 1
	mount --bind /dev "$b/root/dev" && mount -t proc proc "$b/root/proc" &&
		mount -t tmpfs tmpfs "$b/root/tmp" && mount -t tmpfs tmpfs "$b/root/run" || return 1
	R=$b/root
}
root_down() {
	umount "$R/run" "$R/tmp" "$R/proc" "$R/dev" "$R" 2>/dev/null
	R=
}
# in_root CMD...: CMD in the scratch root, with a plain environment.
in_root() {
	chroot "$R" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
		DEBIAN_FRONTEND=noninteractive "$@"
}
# run_logged DESC CMD...: ok when CMD succeeds; its output goes to $T/last.out and, on a
# failure, into the TAP comments.
run_logged() {
	local desc=$1
	shift
	if "$@" >"$T/last.out" 2>&1; then
		ok "$desc"
	else
		not_ok "$desc (exit $?)"
		diag "$(tail -n 30 "$T/last.out")"
		return 1
	fi
}
enabled() { systemctl --root="$R" is-enabled "$1" 2>/dev/null; }
exec_of() { $UNITS "$R" "$1" exec "$2"; }
# verify_clean DESC UNIT...: systemd-analyze verify --root prints nothing and exits 0.
verify_clean() {
	local desc=$1 out rc
	shift
	out=$(systemd-analyze verify --man=no --root="$R" "$@" 2>&1)
	rc=$?
	# the scratch root has no running manager: these two are about that, not the units
	out=$(echo "$out" | grep -v 'Failed to connect to bus\|System has not been booted\|^$')
	if [ "$rc" -eq 0 ] && [ -z "$out" ]; then ok "$desc"; else not_ok "$desc (exit $rc)"; diag "$out"; fi
}
HAPROXY_PLAIN="/usr/sbin/haproxy -Ws -f /etc/haproxy/haproxy.cfg -p /run/haproxy.pid -S /run/haproxy-master.sock"
HAPROXY_WIRED="/usr/sbin/haproxy -Ws -f /etc/haproxy/haproxy.cfg -f /etc/haproxy/primgr.cfg -p /run/haproxy.pid -S /run/haproxy-master.sock"

# ---- the packages (PRIMGR_PKG_DEBS=DIR and PRIMGR_PKG_RPMS=DIR take ones built before, as
# make deb and make rpm leave them in debbuild/ and rpmbuild/RPMS/)
DEBDIR=${PRIMGR_PKG_DEBS:-} RPMDIR=${PRIMGR_PKG_RPMS:-}
# tests/build/packaging.sh, which runs just before, leaves its packages there: used unless a
# source file changed since
handoff=$(cd "$top_builddir" && pwd)/tests/logs/pkgs
if [ -z "$DEBDIR$RPMDIR" ] && [ -f "$handoff/stamp" ] &&
	[ -z "$(find "$SRC/src" "$SRC/scripts" "$SRC/debian" "$SRC/etc" "$SRC/haproxy" "$SRC/man" \
		"$SRC/configure.ac" "$SRC/Makefile.am" -newer "$handoff/stamp" -print -quit 2>/dev/null)" ]; then
	DEBDIR=$handoff/deb RPMDIR=$handoff/rpm
	diag "the packages tests/build/packaging.sh built: $DEBDIR, $RPMDIR"
fi
if [ -z "$DEBDIR" ]; then
	out=$(DEB_BUILD_OPTIONS=nocheck pkg_make deb DEBBUILD_DIR="$T/debbuild" 2>&1)
	is "$?" 0 "make deb" || { diag "$(echo "$out" | tail -n 30)"; bail_out "no .debs"; }
	DEBDIR=$T/debbuild
fi
if [ -z "$RPMDIR" ]; then
	out=$(pkg_make rpm RPMBUILD_DIR="$T/rpmbuild" 2>&1)
	is "$?" 0 "make rpm" || { diag "$(echo "$out" | tail -n 30)"; bail_out "no RPMs"; }
	RPMDIR=$T/rpmbuild/RPMS
fi
DEBS=() RPMS=()
for p in primgr primgr-pg-autostart primgr-haproxy; do
	f=$(find "$DEBDIR" -maxdepth 1 -name "${p}_${VERSION}_*.deb" | head -n 1)
	[ -n "$f" ] || bail_out "no $p .deb in $DEBDIR"
	DEBS+=("$f")
	f=$(find "$RPMDIR" -name "$p-$VERSION-*.rpm" | head -n 1)
	[ -n "$f" ] || bail_out "no $p RPM in $RPMDIR"
	RPMS+=("$f")
done

# ---- [1] .deb: install, check, remove, purge

root_up deb || bail_out "overlay scratch root"
[ -f "$R/lib/systemd/system/haproxy.service" ] || bail_out "haproxy is not installed (its unit is needed)"
[ -f "$R/lib/systemd/system/postgresql.service" ] || bail_out "postgresql is not installed"
mkdir -p "$R/tmp/pkgs" && cp "${DEBS[@]}" "$R/tmp/pkgs/"
in_root dpkg --purge primgr-haproxy primgr-pg-autostart primgr >/dev/null 2>&1
in_root systemctl disable postgresql.service >/dev/null 2>&1
is "$(enabled postgresql.service)" disabled "[1] before: postgresql.service is disabled (as on RHEL)"
is "$(exec_of haproxy.service ExecStart)" "$HAPROXY_PLAIN" "[1] before: haproxy.service runs haproxy.cfg only"
# upper_files: what the scratch root changed so far, but dpkg's database, caches and logs
upper_files() {
	(cd "$T/deb/upper" && find . -path ./var/lib/dpkg -prune -o -path ./var/cache -prune \
		-o -path ./var/log -prune -o -path ./root -prune -o \( -type f -o -type l \) -print | sort)
}
upper_files >"$T/upper-before"

run_logged "[1] dpkg -i primgr primgr-pg-autostart primgr-haproxy" \
	in_root sh -c 'dpkg -i /tmp/pkgs/*.deb'
diag "dpkg -i said:" "$(grep 'primgr-haproxy-wire\|primgr-pg-autostart-enable' "$T/last.out")"
is "$(in_root dpkg-query -W -f='${Status}' primgr-haproxy)" "install ok installed" "[1] primgr-haproxy is installed and configured"
[ -f "$R$DROPIN" ]
check "[1] the drop-in $DROPIN is there" [ -f "$R$DROPIN" ]
is "$(grep '^Environment=' "$R$DROPIN")" 'Environment="CONFIG=/etc/haproxy/haproxy.cfg -f /etc/haproxy/primgr.cfg"' \
	"[1]   it sets CONFIG to both files"
diag "haproxy.service as systemctl cat would show it:" "$($UNITS "$R" haproxy.service cat | grep -v '^#\|^$' | sed 's/^/  /')"
is "$(exec_of haproxy.service ExecStart)" "$HAPROXY_WIRED" "[1] ExecStart: haproxy -f haproxy.cfg -f primgr.cfg"
reload=$(exec_of haproxy.service ExecReload | head -n 1)
is "$reload" "/usr/sbin/haproxy -Ws -f /etc/haproxy/haproxy.cfg -f /etc/haproxy/primgr.cfg -c -q -S /run/haproxy-master.sock" \
	"[1] ExecReload checks both files"
# the unit's own check command, run: it passes, and it reads primgr.cfg (a bad line fails it)
# shellcheck disable=SC2086 # the command line's words
run_logged "[1] the unit's check command (haproxy -c on both files) passes" in_root $reload
cp "$R/etc/haproxy/primgr.cfg" "$T/primgr.cfg.orig"
echo "bogus-keyword-from-the-test" >>"$R/etc/haproxy/primgr.cfg"
# shellcheck disable=SC2086
if in_root $reload >/dev/null 2>&1; then
	not_ok "[1]   and fails on a bad line in primgr.cfg: haproxy reads it"
else
	ok "[1]   and fails on a bad line in primgr.cfg: haproxy reads it"
fi
cp "$T/primgr.cfg.orig" "$R/etc/haproxy/primgr.cfg"
verify_clean "[1] systemd-analyze verify --root: haproxy.service with the drop-in" haproxy.service
run_logged "[1] primgr-haproxy-wire status: wired" in_root primgr-haproxy-wire status

is "$(enabled postgresql.service)" enabled "[1] postgresql.service is enabled now"
is "$(cat "$R/var/lib/primgr-pg-autostart/enabled-units" 2>/dev/null)" postgresql.service \
	"[1]   and recorded as enabled by the package"
check "[1] the postgresql@.service drop-in is installed" \
	[ -f "$R/lib/systemd/system/postgresql@.service.d/primgr-autostart.conf" ]
$UNITS "$R" postgresql@15-main.service cat >"$T/pg.cat"
check "[1]   postgresql@15-main.service requires and follows primgr-pg-autostart.service" \
	grep -qx 'Requires=primgr-pg-autostart.service' "$T/pg.cat"
verify_clean "[1] systemd-analyze verify --root: postgresql@15-main.service, primgr-pg-autostart.service, primgr.service" \
	postgresql@15-main.service primgr-pg-autostart.service primgr.service
is "$(enabled primgr.service)" enabled "[1] primgr.service is enabled (not started)"
is "$(enabled primgr-pg-autostart.service)" static "[1] primgr-pg-autostart.service is static (pulled in by the drop-in)"
# an upgrade (here a reinstall) leaves the admin's choice: disable, reinstall, still disabled
in_root systemctl disable postgresql.service >/dev/null 2>&1
run_logged "[1] dpkg -i again (an upgrade)" in_root sh -c 'dpkg -i /tmp/pkgs/*.deb'
is "$(enabled postgresql.service)" disabled "[1]   leaves postgresql.service as the admin set it (disabled)"
in_root systemctl enable postgresql.service >/dev/null 2>&1

run_logged "[1] dpkg -r primgr-haproxy primgr-pg-autostart primgr" \
	in_root dpkg -r primgr-haproxy primgr-pg-autostart primgr
check "[1] the drop-in is gone, and its directory" \
	eval '[ ! -e "$R$DROPIN" ] && [ ! -e "${R}${DROPIN%/*}" ]'
is "$(exec_of haproxy.service ExecStart)" "$HAPROXY_PLAIN" "[1] haproxy.service runs haproxy.cfg only again"
is "$(enabled postgresql.service)" disabled "[1] postgresql.service is disabled again"
check "[1] the record is gone" [ ! -e "$R/var/lib/primgr-pg-autostart" ]
is "$(enabled primgr.service 2>&1)" "" "[1] primgr.service is gone"
run_logged "[1] dpkg -P (purge)" in_root dpkg -P primgr-haproxy primgr-pg-autostart primgr
left=$(comm -13 "$T/upper-before" <(upper_files) | grep -v '^./etc/ld.so.cache$' | tr '\n' ' ')
is "$left" "" "[1] after the purge no file is left that was not there before the install"

# ---- [2] .deb: what the admin already had

in_root systemctl enable postgresql.service >/dev/null 2>&1
run_logged "[2] postgresql.service enabled by the admin: dpkg -i" in_root sh -c 'dpkg -i /tmp/pkgs/*.deb'
check "[2]   the script says it is already enabled" grep -q 'postgresql.service is already enabled' "$T/last.out"
is "$(cat "$R/var/lib/primgr-pg-autostart/enabled-units" 2>/dev/null)" "" "[2]   nothing recorded"
run_logged "[2]   dpkg -r" in_root dpkg -r primgr-haproxy primgr-pg-autostart
is "$(enabled postgresql.service)" enabled "[2]   postgresql.service stays enabled"

# a haproxy.cfg of the admin's that clashes with primgr.cfg (its own "listen stats")
cp "$R/etc/haproxy/haproxy.cfg" "$T/haproxy.cfg.orig"
printf '\nlisten stats\n\tmode http\n\tbind 127.0.0.1:9999\n' >>"$R/etc/haproxy/haproxy.cfg"
run_logged "[2] haproxy.cfg clashes with primgr.cfg: dpkg -i primgr-haproxy still succeeds" \
	in_root sh -c 'dpkg -i /tmp/pkgs/primgr-haproxy_*.deb'
check "[2]   it says haproxy -c fails and haproxy.service does NOT load primgr.cfg" \
	eval 'grep -q "haproxy -c -f /etc/haproxy/haproxy.cfg -f /etc/haproxy/primgr.cfg fails" "$T/last.out" &&
		grep -q "does NOT load /etc/haproxy/primgr.cfg" "$T/last.out"'
diag "$(grep 'primgr-haproxy' "$T/last.out")"
check "[2]   no drop-in" [ ! -e "$R$DROPIN" ]
is "$(exec_of haproxy.service ExecStart)" "$HAPROXY_PLAIN" "[2]   haproxy.service unchanged"
cp "$T/haproxy.cfg.orig" "$R/etc/haproxy/haproxy.cfg"
run_logged "[2]   once fixed, primgr-haproxy-wire enable wires it" in_root primgr-haproxy-wire enable
is "$(exec_of haproxy.service ExecStart)" "$HAPROXY_WIRED" "[2]   haproxy.service loads both"
run_logged "[2]   dpkg -P primgr-haproxy" in_root dpkg -P primgr-haproxy
check "[2]   the drop-in is gone" [ ! -e "$R$DROPIN" ]

# someone else's drop-in at the same path (the Ansible role's) is left alone
mkdir -p "$R${DROPIN%/*}"
printf '[Service]\nEnvironment="CONFIG=/etc/haproxy/haproxy.cfg -f /etc/haproxy/primgr-cluster.cfg"\n' >"$R$DROPIN"
cp "$R$DROPIN" "$T/foreign.conf"
run_logged "[2] a foreign drop-in: dpkg -i primgr-haproxy" in_root sh -c 'dpkg -i /tmp/pkgs/primgr-haproxy_*.deb'
check "[2]   it is left as it is" cmp -s "$R$DROPIN" "$T/foreign.conf"
run_logged "[2]   dpkg -P primgr-haproxy" in_root dpkg -P primgr-haproxy
check "[2]   and stays after the purge" cmp -s "$R$DROPIN" "$T/foreign.conf"
in_root dpkg -P primgr >/dev/null 2>&1
root_down

# ---- [3] RPM

out=$(for f in "${RPMS[@]}"; do echo "== ${f##*/}"; rpm -qp --nosignature --scripts "$f" 2>/dev/null; done)
diag "rpm -qp --scripts:" "$out"
grep -q '^%{_sbindir}\|/usr/sbin/primgr-haproxy-wire enable' <<<"$out"
check "[3] primgr-haproxy's %post runs primgr-haproxy-wire enable" grep -q '/usr/sbin/primgr-haproxy-wire enable' <<<"$out"
check "[3] its %preun runs primgr-haproxy-wire disable on erase (\$1 = 0)" \
	grep -q 'if \[ "$1" -eq 0 \]; then /usr/sbin/primgr-haproxy-wire disable' <<<"$out"
check "[3] primgr-pg-autostart's %post enables postgresql-15.service once" \
	grep -q '/usr/sbin/primgr-pg-autostart-enable enable --once postgresql-15.service' <<<"$out"
check "[3] its %preun disables it again on erase" \
	grep -q 'if \[ "$1" -eq 0 \]; then /usr/sbin/primgr-pg-autostart-enable disable' <<<"$out"
is "$(rpm -qp --nosignature --requires "${RPMS[2]}" 2>/dev/null | grep '^haproxy')" "haproxy >= 2.2" \
	"[3] primgr-haproxy requires haproxy >= 2.2"

root_up rpm || bail_out "overlay scratch root"
# RHEL 9's haproxy.service (CFGDIR, OPTIONS from /etc/sysconfig/haproxy, a check before
# each start) in place of Debian's, and PGDG's postgresql-15.service, disabled
cat >"$R/usr/lib/systemd/system/haproxy.service" <<'EOF'
[Unit]
Description=HAProxy Load Balancer
After=network-online.target
Wants=network-online.target

[Service]
EnvironmentFile=-/etc/sysconfig/haproxy
Environment="CONFIG=/etc/haproxy/haproxy.cfg" "PIDFILE=/run/haproxy.pid" "CFGDIR=/etc/haproxy/conf.d"
ExecStartPre=/usr/sbin/haproxy -f $CONFIG -f $CFGDIR -c -q $OPTIONS
ExecStart=/usr/sbin/haproxy -Ws -f $CONFIG -f $CFGDIR -p $PIDFILE $OPTIONS
ExecReload=/usr/sbin/haproxy -f $CONFIG -f $CFGDIR -c -q $OPTIONS
ExecReload=/bin/kill -USR2 $MAINPID
KillMode=mixed
SuccessExitStatus=143
Type=notify

[Install]
WantedBy=multi-user.target
EOF
rm -f "$R/etc/default/haproxy"
mkdir -p "$R/etc/sysconfig" "$R/etc/haproxy/conf.d"
echo 'OPTIONS=""' >"$R/etc/sysconfig/haproxy"
printf '[Unit]\nDescription=PostgreSQL 15 (stand-in)\n[Service]\nType=notify\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\n' \
	>"$R/usr/lib/systemd/system/postgresql-15.service"
is "$(enabled postgresql-15.service)" disabled "[3] before: postgresql-15.service is disabled"
mkdir -p "$R/tmp/pkgs" && cp "${RPMS[@]}" "$R/tmp/pkgs/"
run_logged "[3] rpm -i --nodeps --root (all three)" rpm --root "$R" -i --nodeps --nosignature "${R}"/tmp/pkgs/*.rpm
diag "rpm -i said:" "$(grep 'primgr' "$T/last.out")"
check "[3] the drop-in is there" [ -f "$R$DROPIN" ]
is "$(exec_of haproxy.service ExecStart)" \
	"/usr/sbin/haproxy -Ws -f /etc/haproxy/haproxy.cfg -f /etc/haproxy/primgr.cfg -f /etc/haproxy/conf.d -p /run/haproxy.pid" \
	"[3] RHEL's ExecStart: haproxy -f haproxy.cfg -f primgr.cfg -f conf.d"
pre=$(exec_of haproxy.service ExecStartPre)
# shellcheck disable=SC2086
run_logged "[3] RHEL's ExecStartPre check passes on both files ($pre)" in_root $pre
verify_clean "[3] systemd-analyze verify --root: haproxy.service, postgresql-15.service with their drop-ins" \
	haproxy.service postgresql-15.service
is "$(enabled postgresql-15.service)" enabled "[3] postgresql-15.service is enabled now"
check "[3] postgresql-15.service requires primgr-pg-autostart.service" \
	eval '$UNITS "$R" postgresql-15.service cat | grep -qx "Requires=primgr-pg-autostart.service"'
run_logged "[3] rpm -e (all three)" rpm --root "$R" -e --nodeps primgr-haproxy primgr-pg-autostart primgr
check "[3] the drop-in is gone" [ ! -e "$R$DROPIN" ]
is "$(exec_of haproxy.service ExecStart)" "/usr/sbin/haproxy -Ws -f /etc/haproxy/haproxy.cfg -f /etc/haproxy/conf.d -p /run/haproxy.pid" \
	"[3] haproxy.service runs haproxy.cfg (and conf.d) only again"
is "$(enabled postgresql-15.service)" disabled "[3] postgresql-15.service is disabled again"
root_down

check "the machine itself: no drop-in in /etc/systemd/system/haproxy.service.d" \
	eval '[ ! -e "$DROPIN" ] || ! grep -q primgr-haproxy-wire "$DROPIN"'

tap_done

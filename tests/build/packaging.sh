#!/bin/bash
# Issue 7: everything that ships around the daemon, checked without a cluster:
#   [1] shellcheck on every shell script   [2] mandoc lint of primgr-pg-autostart(8)
#   [3] versions agree                     [4] primgr-pg-autostart's decisions (fake peers,
#                                              dry runs, a stub repmgr for the heal path)
#   [5] systemd-analyze verify              [6] install scripts into a DESTDIR
#   [7] Ansible: syntax, check mode, a real run into a temp dir
#   [8] make rpm / make deb from `make dist`, each package's file list
# Needs shellcheck, mandoc, systemd (systemd-analyze), nc, curl, jq, ansible-core, rpm
# (rpmbuild) and dpkg-dev + debhelper: a missing one is a SKIP here, a failure under CI=true.
# shellcheck source-path=SCRIPTDIR source=../lib/cluster.sh disable=SC2001
# (SC2001: sed over multi-line lists reads better than ${var//})
. "$(dirname "$0")/../lib/cluster.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/pkg.sh
. "$(dirname "$0")/../lib/pkg.sh"

pkg_tmp || bail_out "no temp dir"
T=$PKG_TMP
SRC=$(cd "$top_srcdir" && pwd)
BUILD=$(cd "$top_builddir" && pwd)
AUTOSTART=$SRC/scripts/primgr-pg-autostart
VERSION=$(sed -n 's/^AC_INIT(\[primgr\], \[\([^]]*\)\].*/\1/p' "$SRC/configure.ac")

# need PROGRAM...: true when all exist; else one SKIP (a failure under CI=true) naming them.
need() {
	local p missing=''
	for p in "$@"; do command -v "$p" >/dev/null 2>&1 || missing="$missing $p"; done
	[ -z "$missing" ] && return 0
	if [ "${CI:-}" = true ]; then
		not_ok "missing program(s):$missing (CI=true: a missing prerequisite is a failure)"
	else
		skip "missing program(s):$missing"
	fi
	return 1
}

# okif DESC: ok when the command just before succeeded.
okif() {
	if [ $? -eq 0 ]; then ok "$1"; else not_ok "$1"; return 1; fi
}

# ---- [1] shellcheck on every shell script of the tree

if need shellcheck; then
	n=0
	while read -r f; do
		n=$((n + 1))
		rel=${f#"$SRC"/}
		if out=$(cd "$SRC" && shellcheck -x "$rel" 2>&1); then
			ok "shellcheck $rel"
		else
			not_ok "shellcheck $rel"
			diag "$(echo "$out" | head -n 30)"
		fi
	done < <(pkg_shell_scripts "$SRC/scripts" "$SRC/tests" "$SRC/debian" "$SRC/etc" \
		"$SRC/haproxy" "$SRC/bench")
	[ "$n" -ge 8 ]
	okif "found $n shell scripts (at least 8)"
fi

# ---- [2] the man page

if need mandoc; then
	out=$(mandoc -Tlint -W warning "$SRC/man/primgr-pg-autostart.8" 2>&1)
	is "$out" "" "mandoc -Tlint primgr-pg-autostart.8 is clean"
	# every exit status the script uses is documented
	codes=$(sed -n 's/^readonly EX_OK=\(.*\)/\1/p; s/^readonly EX_CONFIG=\(.*\)/\1/p' "$AUTOSTART" |
		grep -o '=[0-9]*\|^[0-9]*' | tr -d = | sort -n | tr '\n' ' ')
	missing=''
	for c in $codes; do
		grep -q "^\.B $c\$" "$SRC/man/primgr-pg-autostart.8" || missing="$missing $c"
	done
	is "$missing" "" "every exit status ($codes) is in EXIT STATUS"
fi

# ---- [3] one version everywhere

is "$(bash "$AUTOSTART" --version)" "primgr-pg-autostart $VERSION" "primgr-pg-autostart --version is $VERSION"
is "$(sed -n 's/^%{!?primgr_version: %global primgr_version \(.*\)}$/\1/p' "$SRC/scripts/rpm/primgr.spec")" \
	"$VERSION" "the spec's default version is $VERSION"
is "$(sed -n '1s/^primgr (\([^)-]*\)\(-[^)]*\)\{0,1\}).*/\1/p' "$SRC/debian/changelog")" "$VERSION" \
	"debian/changelog's version is $VERSION"
grep -q "\"primgr $VERSION\"" "$SRC/man/primgr-pg-autostart.8"
	okif "the man page names primgr $VERSION"

# ---- [4] primgr-pg-autostart's decisions, without PostgreSQL
# node1 is an old primary (no standby.signal). Its peers node2 and node3 are fake primgrs;
# the topology cache gives node2 a full conninfo and node3 only a host.

A=$T/autostart
mkdir -p "$A/data" "$A/state"
echo 15 >"$A/data/PG_VERSION"
echo "base" >"$A/data/marker"
if ! { P2=$(ct_free_port) && P3=$(ct_free_port) && P4=$(ct_free_port); }; then
	bail_out "no free port"
fi
cat >"$A/repmgr.conf" <<EOF
node_id=1
node_name='node1'
conninfo='host=db1.example port=5433 user=repmgr dbname=repmgr connect_timeout=2'
data_directory='$A/data'
EOF
cat >"$A/primgr.ini" <<EOF
[node]
repmgr_conf = $A/repmgr.conf
[consensus]
url_template = http://127.0.0.1:{id}
[files]
topology_cache = $A/state/topology.json
[peers]
node2 = http://127.0.0.1:$P2
node3 = http://127.0.0.1:$P3/
EOF
cat >"$A/state/topology.json" <<EOF
{"version":1,"nodes":[
 {"id":1,"name":"node1","host":"db1.example","conninfo":"host=db1.example port=5433 user=repmgr dbname=repmgr"},
 {"id":2,"name":"node2","host":"db2.example","conninfo":"host=db2.example port=5442 user=repmgr dbname=repmgr sslmode='verify full'"},
 {"id":3,"name":"node3","host":"db3.example"},
 {"id":$P4,"name":"witness","host":"127.0.0.1"}]}
EOF
J2='{"realPrimary":"node2","node_id":2}'
J3='{"realPrimary":"node3","node_id":3}'
J1='{"realPrimary":"node1","node_id":1}'
NONE='{"realPrimary":null,"candidates":[],"reason":"no node says Primary"}'

# plan_of PEER2 PEER3 PEER4 [ARGS]: each PEER is "CODE BODY" or "-" (nothing listening);
# prints the dry run's plan lines and "rc=N".
plan_of() {
	local spec port i=0 rc=0 out
	for spec in "$1" "$2" "$3"; do
		i=$((i + 1))
		port=$P2
		[ "$i" -eq 2 ] && port=$P3
		[ "$i" -eq 3 ] && port=$P4
		[ "$spec" = - ] || pkg_fake_peer "$port" "${spec%% *}" "${spec#* }"
	done
	shift 3
	out=$(bash "$AUTOSTART" -c "$A/primgr.ini" --dry-run --attempts 1 -t 2 --repmgr /bin/true \
		"$@" 2>"$A/stderr") || rc=$?
	pkg_fake_peers_stop
	printf '%s\nrc=%s\n' "$out" "$rc"
}
# has TEXT PATTERN DESC: ok when a line of TEXT matches the grep pattern.
has() {
	if grep -q -- "$2" <<<"$1"; then ok "$3"; else not_ok "$3"; diag "$1" "stderr:" "$(cat "$A/stderr")"; fi
}

if need nc curl jq; then
	p=$(plan_of "200 $J2" "200 $J2" "200 $J2")
	has "$p" "^plan: .*node rejoin -d 'host=db2.example port=5442 user=repmgr dbname=repmgr sslmode=.*verify full.*' --force-rewind --config-archive-dir $A/state/config-archive$" \
		"all peers name node2: rejoin node2 with the cache's conninfo"
	has "$p" "^plan: if that fails: mv $A/data $A/data.primgr-[0-9]\{8\}T[0-9]\{6\}$" "  then the data directory goes aside"
	has "$p" "^plan:   /bin/true -f $A/repmgr.conf standby clone -d 'host=db2.example .*' --fast-checkpoint$" "  and is cloned"
	has "$p" "^plan:   /bin/true -f $A/repmgr.conf standby register --force$" "  and registered"
	has "$p" "^rc=0$" "  dry run exits 0"
	has "$(cat "$A/stderr")" "3 peer(s) answered, none disagreed" "  the witness (cache only, url_template {id}) was asked too"

	p=$(plan_of "200 $J3" - -)
	has "$p" "node rejoin -d 'host=db3.example port=5433 user=repmgr dbname=repmgr connect_timeout=2' --force-rewind" \
		"one answer, node3 (host only in the cache): own conninfo aimed at db3.example"

	p=$(plan_of "200 $J2" "503 $NONE" -)
	has "$p" "^plan: start as is (the answering peers name no single agreed primary)$" "a 503 answer disagrees: start as is"
	p=$(plan_of "200 $J2" "200 $J3" -)
	has "$p" "^plan: start as is (the answering peers name no single agreed primary)$" "two names: start as is"
	p=$(plan_of "200 $J1" "200 $J1" -)
	has "$p" "^plan: start as is (the peers name this node the primary)$" "peers name this node: start as is"
	p=$(plan_of "200 hello" "500 $J2" "200 {\"realPrimary\":7}")
	has "$p" "^plan: start as is (no peer answered)$" "garbage, a 500 and a non-string name are no answers"
	p=$(plan_of - - -)
	has "$p" "^plan: start as is (no peer answered)$" "nobody listening: start as is"

	touch "$A/data/standby.signal"
	p=$(plan_of "200 $J2" - -)
	has "$p" "^plan: $A/data has standby.signal: start as is (standby)$" "standby.signal: start as is without asking"
	rm -f "$A/data/standby.signal"

	# postmaster.pid: a live postmaster means nothing to do; a zombie (a postmaster killed
	# in a container whose pid 1 never reaps) or a gone pid is a stale file
	sleep 60 &
	live=$!
	echo "$live" >"$A/data/postmaster.pid"
	p=$(plan_of "200 $J2" - -)
	has "$(cat "$A/stderr")" "PostgreSQL already runs on $A/data (postmaster $live): nothing to do" \
		"postmaster.pid names a live process: nothing to do"
	kill "$live"
	wait "$live" 2>/dev/null
	if ct_zombie; then
		echo "$ZOMBIE_PID" >"$A/data/postmaster.pid"
		p=$(plan_of "200 $J2" - -)
		has "$p" "^plan: .*node rejoin -d 'host=db2.example" "postmaster.pid names a zombie: not running, rejoin planned"
		ct_zombie_end
	else
		not_ok "postmaster.pid names a zombie: no zombie made"
	fi
	echo 999999999 >"$A/data/postmaster.pid"
	p=$(plan_of "200 $J2" - -)
	has "$p" "^plan: .*node rejoin -d 'host=db2.example" "postmaster.pid names a gone pid: rejoin planned"
	rm -f "$A/data/postmaster.pid"

	# exit statuses
	rc=0; bash "$AUTOSTART" -c "$A/nope.ini" -n >/dev/null 2>&1 || rc=$?
	is "$rc" 78 "unreadable INI: exit 78"
	rc=0; bash "$AUTOSTART" --bogus >/dev/null 2>&1 || rc=$?
	is "$rc" 64 "unknown option: exit 64"
	rc=0; bash "$AUTOSTART" -c "$A/primgr.ini" --timeout 0 >/dev/null 2>&1 || rc=$?
	is "$rc" 64 "--timeout 0: exit 64"
	mv "$A/data/PG_VERSION" "$A/PG_VERSION"
	rc=0; bash "$AUTOSTART" -c "$A/primgr.ini" -n --repmgr /bin/true >/dev/null 2>&1 || rc=$?
	is "$rc" 66 "no PG_VERSION: exit 66"
	mv "$A/PG_VERSION" "$A/data/PG_VERSION"
	# the subshell becomes the sleep that holds the lock, so killing it releases the lock
	(
		exec 8>>"$A/lock"
		flock 8
		exec sleep 30
	) &
	holder=$!
	# until the holder has the lock (flock -n fails), not a fixed moment
	# shellcheck disable=SC2016 # expanded by eval
	wait_for 15 eval '! flock -n "$A/lock" true' || diag "the lock holder did not take $A/lock"
	rc=0; bash "$AUTOSTART" -c "$A/primgr.ini" --lock-file "$A/lock" --repmgr /bin/true >/dev/null 2>&1 || rc=$?
	is "$rc" 75 "another run holds the lock: exit 75"
	kill "$holder" 2>/dev/null
	wait "$holder" 2>/dev/null

	# The heal path with a stub repmgr that logs its arguments; REJOIN_RC and CLONE_RC pick
	# what rejoin and clone return. A clone creates the data directory again.
	cat >"$A/repmgr" <<'EOF'
#!/bin/bash
echo "$*" >>"${0%/*}/repmgr.log"
case "$*" in
*"node rejoin"*) exit "${REJOIN_RC:-0}" ;;
*"standby clone"*)
	[ "${CLONE_RC:-0}" -eq 0 ] || exit "$CLONE_RC"
	d=$(sed -n "s/^data_directory='\(.*\)'/\1/p" "$2")
	mkdir -p "$d" && echo 15 >"$d/PG_VERSION" && touch "$d/standby.signal"
	;;
esac
exit 0
EOF
	chmod 755 "$A/repmgr"
	heal() {
		local rc=0
		: >"$A/repmgr.log"
		pkg_fake_peer "$P2" 200 "$J2"
		REJOIN_RC=$1 CLONE_RC=$2 bash "$AUTOSTART" -c "$A/primgr.ini" --repmgr "$A/repmgr" \
			--lock-file "$A/lock" --attempts 1 -t 2 --user "$(id -un)" >"$A/heal.out" 2>&1 || rc=$?
		pkg_fake_peers_stop
		echo "$rc"
	}
	rc=$(heal 0 0)
	is "$rc" 0 "heal, rejoin works: exit 0"
	is "$(cut -d' ' -f3-4 "$A/repmgr.log" | tr '\n' ,)" "node rejoin," "  only node rejoin ran"
	is "$(find "$A" -maxdepth 1 -name 'data.primgr-*' | wc -l)" 0 "  the data directory stayed"
	rc=$(heal 1 0)
	is "$rc" 0 "heal, rejoin fails, clone works: exit 0"
	is "$(cut -d' ' -f3-4 "$A/repmgr.log" | tr '\n' ,)" "node rejoin,standby clone,node service,standby register," \
		"  rejoin, clone, start, register, in that order"
	aside=$(find "$A" -maxdepth 1 -name 'data.primgr-*' | head -n 1)
	is "$(cat "$aside/marker" 2>/dev/null)" base "  the old data directory is kept aside ($(basename "$aside"))"
	[ -f "$A/data/standby.signal" ]
	okif "  the clone is in place"
	rm -rf "$A/data" && mv "$aside" "$A/data"
	rc=$(heal 1 3)
	is "$rc" 1 "heal, rejoin and clone fail: exit 1 (PostgreSQL must not start)"
	aside=$(find "$A" -maxdepth 1 -name 'data.primgr-*' | head -n 1)
	is "$(cat "$aside/marker" 2>/dev/null)" base "  the old data directory is kept aside"
	grep -q "the old data directory is $aside" "$A/heal.out"
	okif "  the log names it"
	rm -rf "$A/data" && mv "$aside" "$A/data"
fi

# ---- [5] systemd units

# A DESTDIR install serves [5] and [6].
D1=$T/destdir-primgr D2=$T/destdir-autostart D3=$T/destdir-haproxy D4=$T/destdir-dry
PRIMGR_BIN_OK=false
[ -x "$BUILD/src/primgr" ] && PRIMGR_BIN_OK=true
$PRIMGR_BIN_OK || not_ok "primgr is built ($BUILD/src/primgr)"
DESTDIR=$D1 bash "$SRC/scripts/install/install-primgr.sh" --builddir "$BUILD" >"$T/inst1.log" 2>&1
rc1=$?
DESTDIR=$D2 bash "$SRC/scripts/install/install-pg-autostart.sh" --prefix /usr/local \
	--pg-unit postgresql-15.service >"$T/inst2.log" 2>&1
rc2=$?

if need systemd-analyze; then
	U=$T/units
	mkdir -p "$U/postgresql-15.service.d" "$U/postgresql@15-main.service.d"
	sed "s|/usr/sbin/|$D1/usr/sbin/|" "$D1/usr/lib/systemd/system/primgr.service" >"$U/primgr.service"
	cp "$D1/usr/lib/systemd/system/primgr.socket" "$U/primgr.socket"
	sed "s|/usr/local/sbin/|$D2/usr/local/sbin/|" \
		"$D2/usr/local/lib/systemd/system/primgr-pg-autostart.service" >"$U/primgr-pg-autostart.service"
	cp "$D2/etc/systemd/system/postgresql-15.service.d/primgr-autostart.conf" "$U/postgresql-15.service.d/"
	cp "$SRC/etc/primgr-autostart.conf" "$U/postgresql@15-main.service.d/"
	# RHEL's unit, reduced to what the drop-in needs
	printf '[Unit]\nDescription=PostgreSQL 15 (test stand-in)\n[Service]\nType=notify\nExecStart=/bin/true\n' \
		>"$U/postgresql-15.service"
	units=(primgr.service primgr.socket primgr-pg-autostart.service postgresql-15.service)
	[ -e /lib/systemd/system/postgresql@.service ] && units+=(postgresql@15-main.service)
	out=$(SYSTEMD_UNIT_PATH=$U: systemd-analyze verify --man=no "${units[@]}" 2>&1)
	rc=$?
	if [ "$rc" -eq 0 ] && [ -z "$out" ]; then
		ok "systemd-analyze verify ${units[*]}: clean"
	else
		not_ok "systemd-analyze verify ${units[*]}: clean (exit $rc)"
		diag "$out"
	fi
	[ -e /lib/systemd/system/postgresql@.service ] ||
		diag "no postgresql@.service here: Debian's unit with the drop-in was not verified"
	# The drop-in is read: one that requires a unit that does not exist fails.
	sed 's/primgr-pg-autostart.service/primgr-pg-autostart-missing.service/' \
		"$SRC/etc/primgr-autostart.conf" >"$U/postgresql-15.service.d/primgr-autostart.conf"
	if SYSTEMD_UNIT_PATH=$U: systemd-analyze verify --man=no postgresql-15.service >/dev/null 2>&1; then
		not_ok "verify fails when the drop-in requires a missing unit"
	else
		ok "verify fails when the drop-in requires a missing unit"
	fi
	grep -qx 'User=postgres' "$SRC/etc/primgr.service" &&
		grep -qx 'ExecStart=/usr/sbin/primgr -f -c /etc/primgr/primgr.ini' "$SRC/etc/primgr.service" &&
		grep -qx 'ProtectSystem=strict' "$SRC/etc/primgr.service" &&
		grep -qx 'ReadWritePaths=/var/lib/primgr' "$SRC/etc/primgr.service" &&
		grep -qx 'Type=oneshot' "$SRC/etc/primgr-pg-autostart.service"
	okif "primgr.service runs primgr -f as postgres, ProtectSystem=strict; autostart is a oneshot"
fi

# ---- [6] install scripts

is "$rc1" 0 "install-primgr.sh into a DESTDIR"
pkg_same_list "  its files" "$(pkg_tree "$D1")" "/etc/primgr/primgr.ini
/usr/lib/systemd/system/primgr.service
/usr/lib/systemd/system/primgr.socket
/usr/sbin/primgr
/usr/share/man/man5/primgr.ini.5
/usr/share/man/man8/primgr.8"
cmp -s "$SRC/etc/primgr.ini" "$D1/etc/primgr/primgr.ini"
	okif "  primgr.ini is etc/primgr.ini"
is "$rc2" 0 "install-pg-autostart.sh --prefix /usr/local --pg-unit postgresql-15.service"
pkg_same_list "  its files" "$(pkg_tree "$D2")" "/etc/systemd/system/postgresql-15.service.d/primgr-autostart.conf
/usr/local/lib/systemd/system/primgr-pg-autostart.service
/usr/local/sbin/primgr-pg-autostart
/usr/local/share/man/man8/primgr-pg-autostart.8"
is "$(sed -n 's/^ExecStart=//p' "$D2/usr/local/lib/systemd/system/primgr-pg-autostart.service")" \
	"/usr/local/sbin/primgr-pg-autostart --config /etc/primgr/primgr.ini" "  the unit runs the /usr/local copy"
[ -x "$D2/usr/local/sbin/primgr-pg-autostart" ]
	okif "  the script is executable"
# a changed configuration survives a reinstall
echo "; local change" >>"$D1/etc/primgr/primgr.ini"
DESTDIR=$D1 bash "$SRC/scripts/install/install-primgr.sh" --builddir "$BUILD" >/dev/null 2>&1
tail -n 1 "$D1/etc/primgr/primgr.ini" | grep -q 'local change' && [ -f "$D1/etc/primgr/primgr.ini.new" ]
	okif "  reinstall keeps a changed primgr.ini, ships primgr.ini.new"
cfgs=$(cd "$SRC" && find haproxy -maxdepth 1 -name '*.cfg' 2>/dev/null | sort)
rc=0
DESTDIR=$D3 bash "$SRC/scripts/install/install-haproxy.sh" >"$T/inst3.log" 2>&1 || rc=$?
if [ -n "$cfgs" ]; then
	is "$rc" 0 "install-haproxy.sh into a DESTDIR"
	pkg_same_list "  its files" "$(pkg_tree "$D3")" "$(echo "$cfgs" | sed 's|^haproxy/|/etc/haproxy/|')"
else
	is "$rc" 1 "install-haproxy.sh fails when the tree has no haproxy/*.cfg"
fi
out=$(DESTDIR=$D4 bash "$SRC/scripts/install/install-primgr.sh" --builddir "$BUILD" --dry-run 2>&1;
	DESTDIR=$D4 bash "$SRC/scripts/install/install-pg-autostart.sh" --pg-unit x.service --dry-run 2>&1)
[ ! -e "$D4" ]
	okif "--dry-run installs nothing"
grep -q "^+ install -D -m 0755 .*/primgr-pg-autostart $D4/usr/sbin/primgr-pg-autostart$" <<<"$out"
okif "--dry-run prints the commands" || diag "$out"
rc=0
DESTDIR=$D4 bash "$SRC/scripts/install/install-pg-autostart.sh" --pg-unit postgresql >/dev/null 2>&1 || rc=$?
is "$rc" 1 "--pg-unit without .service is refused"
rc=0
bash "$SRC/scripts/install/install-primgr.sh" --bogus >/dev/null 2>&1 || rc=$?
is "$rc" 1 "an unknown option is refused"

# ---- [7] Ansible

ANS=$SRC/scripts/ansible
if need ansible-playbook; then
	export ANSIBLE_NOCOLOR=1 ANSIBLE_RETRY_FILES_ENABLED=0 ANSIBLE_LOCAL_TEMP=$T/ansible-local \
		ANSIBLE_REMOTE_TEMP=$T/ansible-remote ANSIBLE_HOME=$T/ansible-home
	out=$(cd "$ANS" && ansible-playbook --syntax-check -i inventory.example playbook.yml 2>&1)
	rc=$?
	is "$rc" 0 "ansible-playbook --syntax-check playbook.yml" || diag "$out"
	py=$(command -v python3)
	[ -x /usr/bin/python3 ] && py=/usr/bin/python3
	E=$T/ansible-etc
	cat >"$T/inventory" <<EOF
[primgr_db]
localhost ansible_connection=local ansible_python_interpreter=$py primgr_node_name=node1
[primgr_haproxy]
localhost
[all:vars]
primgr_install_method=none
primgr_manage_services=false
primgr_sysconfdir=$E
primgr_config_group=$(id -gn)
EOF
	out=$(cd "$ANS" && ansible-playbook -i "$T/inventory" playbook.yml --check -e ansible_become=false 2>&1)
	rc=$?
	is "$rc" 0 "ansible-playbook --check against localhost" || diag "$(echo "$out" | tail -n 30)"
	[ ! -e "$E" ]
	okif "  check mode changed nothing"
	out=$(cd "$ANS" && ansible-playbook -i "$T/inventory" playbook.yml -e ansible_become=false \
		-e '{"primgr_peers": {"node-2": "http://db2:8432"}, "primgr_ini_extra": {"database": {"refresh_interval": "500ms"}}}' 2>&1)
	rc=$?
	is "$rc" 0 "ansible-playbook against localhost, into a temp dir" || diag "$(echo "$out" | tail -n 30)"
	pkg_same_list "  its files" "$(pkg_tree "$E")" "/haproxy/primgr-cluster.cfg
/primgr/primgr.ini
/systemd/system/haproxy.service.d/primgr.conf
/systemd/system/postgresql@15-main.service.d/primgr-autostart.conf"
	ini=$E/primgr/primgr.ini
	grep -qx 'repmgr_conf = /etc/repmgr.conf' "$ini" && grep -qx 'node-2 = http://db2:8432' "$ini" &&
		grep -qx 'refresh_interval = 500ms' "$ini" &&
		grep -qx 'listen = \*:8433/primary, \*:8434/replica' "$ini"
	okif "  primgr.ini has the role's keys, [peers] and the extra keys" || diag "$(cat "$ini")"
	cmp -s <(grep -v '^#' "$SRC/etc/primgr-autostart.conf") \
		<(grep -v '^#' "$E/systemd/system/postgresql@15-main.service.d/primgr-autostart.conf")
	okif "  the drop-in has the same directives as etc/primgr-autostart.conf"
	if command -v haproxy >/dev/null; then
		out=$(haproxy -c -f "$E/haproxy/primgr-cluster.cfg" 2>&1)
		is "$?" 0 "  haproxy -c accepts the rendered backends" || diag "$out"
	fi
	grep -q '^    server node1 localhost:5432$' "$E/haproxy/primgr-cluster.cfg"
	okif "  one server line per database node"
fi

# ---- [8] packages from `make dist`

if [ ! -f "$BUILD/Makefile" ]; then
	not_ok "packages: no Makefile in $BUILD (run configure first)"
else
	if need rpmbuild; then
		out=$(pkg_make rpm RPMBUILD_DIR="$T/rpmbuild" 2>&1)
		rc=$?
		is "$rc" 0 "make rpm" || diag "$(echo "$out" | tail -n 30)"
		R=$T/rpmbuild/RPMS
		for p in primgr primgr-pg-autostart primgr-haproxy; do
			f=$(find "$R" -name "$p-$VERSION-*.rpm" 2>/dev/null | head -n 1)
			if [ -z "$f" ]; then
				not_ok "rpm $p built"
				continue
			fi
			list=$(rpm -qlp --nosignature "$f" 2>/dev/null)
			diag "rpm $(basename "$f"):" "$(echo "$list" | sed 's/^/  /')"
			got=$(echo "$list" | grep -v '^/usr/lib/.build-id\|^/usr/share/doc/' | sed 's/\.gz$//')
			case "$p" in
			primgr) want="/etc/primgr
/etc/primgr/primgr.ini
/usr/lib/systemd/system/primgr.service
/usr/lib/systemd/system/primgr.socket
/usr/sbin/primgr
/usr/share/man/man5/primgr.ini.5
/usr/share/man/man8/primgr.8" ;;
			primgr-pg-autostart) want="/usr/lib/systemd/system/postgresql-15.service.d
/usr/lib/systemd/system/postgresql-15.service.d/primgr-autostart.conf
/usr/lib/systemd/system/primgr-pg-autostart.service
/usr/sbin/primgr-pg-autostart
/usr/sbin/primgr-pg-autostart-enable
/usr/share/man/man8/primgr-pg-autostart.8" ;;
			primgr-haproxy) want=$(printf '/etc/haproxy\n%s\n/usr/sbin/primgr-haproxy-wire' "$(echo "$cfgs" | sed 's|^haproxy/|/etc/haproxy/|')" | sed '/^$/d') ;;
			esac
			pkg_same_list "rpm $p: its files" "$got" "$want"
			case "$p" in
			primgr) is "$(rpm -qp --nosignature --configfiles "$f" 2>/dev/null)" /etc/primgr/primgr.ini \
				"  primgr.ini is %config" ;;
			primgr-pg-autostart)
				reqs=$(rpm -qp --nosignature --requires "$f" 2>/dev/null | tr '\n' ' ')
				[[ "$reqs" == *"curl "* && "$reqs" == *"jq "* && "$reqs" == *"primgr = "* ]]
				okif "  requires primgr, curl, jq" || diag "$reqs"
				;;
			esac
		done
	fi
	if need dpkg-buildpackage dh; then
		out=$(DEB_BUILD_OPTIONS=nocheck pkg_make deb DEBBUILD_DIR="$T/debbuild" 2>&1)
		rc=$?
		is "$rc" 0 "make deb (dpkg-buildpackage -us -uc -b)" || diag "$(echo "$out" | tail -n 30)"
		for p in primgr primgr-pg-autostart primgr-haproxy; do
			f=$(find "$T/debbuild" -maxdepth 1 -name "${p}_${VERSION}_*.deb" 2>/dev/null | head -n 1)
			if [ -z "$f" ]; then
				not_ok "deb $p built"
				continue
			fi
			list=$(dpkg-deb -c "$f" | awk '{ print $1 " " $6 }')
			diag "deb $(basename "$f"):" "$(echo "$list" | sed 's/^/  /')"
			got=$(echo "$list" | awk '$1 !~ /^d/ { print $2 }' | sed 's|^\./|/|' |
				grep -v '^/usr/share/doc/' | sed 's/\.gz$//')
			case "$p" in
			primgr) want="/etc/primgr/primgr.ini
/lib/systemd/system/primgr.service
/lib/systemd/system/primgr.socket
/usr/sbin/primgr
/usr/share/man/man5/primgr.ini.5
/usr/share/man/man8/primgr.8" ;;
			primgr-pg-autostart) want="/lib/systemd/system/postgresql@.service.d/primgr-autostart.conf
/lib/systemd/system/primgr-pg-autostart.service
/usr/sbin/primgr-pg-autostart
/usr/sbin/primgr-pg-autostart-enable
/usr/share/man/man8/primgr-pg-autostart.8" ;;
			primgr-haproxy) want=$(printf '%s\n/usr/sbin/primgr-haproxy-wire' "$(echo "$cfgs" | sed 's|^haproxy/|/etc/haproxy/|')") ;;
			esac
			pkg_same_list "deb $p: its files" "$got" "$want"
			echo "$list" | grep -q "\./usr/share/doc/$p/copyright"
	okif "  has its copyright file"
			case "$p" in
			primgr) is "$(dpkg-deb --ctrl-tarfile "$f" | tar -xO ./conffiles 2>/dev/null)" \
				/etc/primgr/primgr.ini "  primgr.ini is a conffile" ;;
			primgr-pg-autostart)
				dep=$(dpkg-deb -f "$f" Depends)
				[[ "$dep" == *"primgr (>= $VERSION)"* && "$dep" == *curl* && "$dep" == *jq* ]]
				okif "  depends on primgr, curl, jq" || diag "$dep"
				;;
			esac
		done
	fi
fi

# tests/build/pkg_install.sh (next) installs these same packages instead of building them
# again (minutes of the suite's wall time); the stamp says which sources they came from.
handoff=$BUILD/tests/logs/pkgs
rm -rf "$handoff"
if mkdir -p "$handoff/deb" "$handoff/rpm" && cp "$T"/debbuild/*.deb "$handoff/deb/" 2>/dev/null &&
	find "$T/rpmbuild/RPMS" -name '*.rpm' -exec cp {} "$handoff/rpm/" \; 2>/dev/null; then
	touch "$handoff/stamp"
else
	rm -rf "$handoff"
fi

tap_done

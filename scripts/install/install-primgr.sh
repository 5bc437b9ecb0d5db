#!/bin/bash
# install-primgr.sh: installs the primgr daemon without a package manager, as the primgr
# package does: PREFIX/sbin/primgr, SYSCONFDIR/primgr/primgr.ini (an existing one is kept),
# the primgr.service unit, primgr(8) and primgr.ini(5). Build primgr first
# (./configure && make). See common.sh for the options.
INSTALL_NAME=install-primgr.sh
INSTALL_USAGE="  --user NAME        owner of the state directory /var/lib/primgr (default postgres)"
state_user=postgres
install_extra_option() {
	case "$1" in
	--user) [ $# -ge 2 ] || return 1; state_user=$2; extra_used=2 ;;
	*) return 1 ;;
	esac
}
# shellcheck source-path=SCRIPTDIR source=common.sh
. "$(dirname "$0")/common.sh"
install_parse_options "$@"

inst 0755 "$builddir/src/primgr" "$prefix/sbin/primgr"
inst_config "$srcdir/etc/primgr.ini" "$sysconfdir/primgr/primgr.ini"
inst_unit "$srcdir/etc/primgr.service" "$unitdir/primgr.service"
inst_unit "$srcdir/etc/primgr.socket" "$unitdir/primgr.socket"
inst 0644 "$srcdir/man/primgr.8" "$prefix/share/man/man8/primgr.8"
inst 0644 "$srcdir/man/primgr.ini.5" "$prefix/share/man/man5/primgr.ini.5"
# systemd's StateDirectory= creates /var/lib/primgr too; this is for starts without it.
if [ -z "$DESTDIR" ] && [ "$(id -u)" -eq 0 ] && id "$state_user" >/dev/null 2>&1; then
	run install -d -m 0750 -o "$state_user" -g "$(id -gn "$state_user")" /var/lib/primgr
fi
systemd_reload
echo "$INSTALL_NAME: done; edit $sysconfdir/primgr/primgr.ini, then: systemctl enable --now primgr" >&2

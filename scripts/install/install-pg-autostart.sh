#!/bin/bash
# install-pg-autostart.sh: installs primgr-pg-autostart(8) without a package manager, as the
# primgr-pg-autostart package does: PREFIX/sbin/primgr-pg-autostart, its man page, the
# primgr-pg-autostart.service unit, and the drop-in that makes the PostgreSQL unit require
# it and start after it: SYSCONFDIR/systemd/system/<PG unit>.d/primgr-autostart.conf.
# See common.sh for the common options.
INSTALL_NAME=install-pg-autostart.sh
INSTALL_USAGE="  --pg-unit NAME     the PostgreSQL unit (default: postgresql@15-main.service on
                     Debian, postgresql-15.service on RHEL)"
pg_unit=
install_extra_option() {
	case "$1" in
	--pg-unit) [ $# -ge 2 ] || return 1; pg_unit=$2; extra_used=2 ;;
	*) return 1 ;;
	esac
}
# shellcheck source-path=SCRIPTDIR source=common.sh
. "$(dirname "$0")/common.sh"
install_parse_options "$@"

if [ -z "$pg_unit" ]; then
	if [ -e /etc/debian_version ]; then
		pg_unit=postgresql@15-main.service
	elif [ -e /etc/redhat-release ]; then
		pg_unit=postgresql-15.service
	else
		die "unknown distribution: pass --pg-unit"
	fi
fi
case "$pg_unit" in
*.service) ;;
*) die "--pg-unit: expected a unit name ending in .service, got \"$pg_unit\"" ;;
esac

inst 0755 "$srcdir/scripts/primgr-pg-autostart" "$prefix/sbin/primgr-pg-autostart"
inst 0644 "$srcdir/man/primgr-pg-autostart.8" "$prefix/share/man/man8/primgr-pg-autostart.8"
inst_unit "$srcdir/etc/primgr-pg-autostart.service" "$unitdir/primgr-pg-autostart.service"
inst 0644 "$srcdir/etc/primgr-autostart.conf" \
	"$sysconfdir/systemd/system/$pg_unit.d/primgr-autostart.conf"
systemd_reload
echo "$INSTALL_NAME: done; $pg_unit now runs primgr-pg-autostart before each start" >&2

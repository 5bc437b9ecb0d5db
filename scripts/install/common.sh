# shellcheck shell=bash
# scripts/install/common.sh: what install-primgr.sh, install-pg-autostart.sh and
# install-haproxy.sh share: options, the dry run, and file installation into $DESTDIR.
#
# Options (every script): --prefix DIR (default /usr), --sysconfdir DIR (default /etc),
# --unitdir DIR (default PREFIX/lib/systemd/system), --srcdir DIR (the primgr source tree,
# default: two levels above the script), --builddir DIR (where `make` ran, default SRCDIR),
# --dry-run (print each command, change nothing), -h/--help. DESTDIR (environment) is
# prepended to every installed path; with DESTDIR set nothing is chowned and systemd is
# not reloaded.

set -euo pipefail

prefix=/usr
sysconfdir=/etc
unitdir=
srcdir=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
builddir=
dry_run=0
DESTDIR=${DESTDIR:-}
# Set by the script that sources this file: its name, its extra usage text, and optionally
# install_extra_option, which handles one extra option ("$@" from that option on), sets
# extra_used to the number of words it took and returns 0, or returns 1 if unknown.
: "${INSTALL_NAME:?}" "${INSTALL_USAGE:=}"

install_usage() {
	cat <<EOF_USAGE
Usage: [DESTDIR=DIR] $INSTALL_NAME [options]
  --prefix DIR       installation prefix (default /usr)
  --sysconfdir DIR   configuration root (default /etc)
  --unitdir DIR      systemd unit directory (default PREFIX/lib/systemd/system)
  --srcdir DIR       primgr source tree (default $srcdir)
  --builddir DIR     where primgr was built (default: the source tree)
  --dry-run          print the commands, change nothing
  -h, --help         this text
$INSTALL_USAGE
EOF_USAGE
}

die() {
	echo "$INSTALL_NAME: $*" >&2
	exit 1
}

# install_parse_options "$@": the common options; others go to install_extra_option.
install_parse_options() {
	extra_used=0
	while [ $# -gt 0 ]; do
		case "$1" in
		--*=*) set -- "${1%%=*}" "${1#*=}" "${@:2}" ;;
		esac
		case "$1" in
		--prefix | --sysconfdir | --unitdir | --srcdir | --builddir)
			[ $# -ge 2 ] || die "$1 needs a value"
			case "$1" in
			--prefix) prefix=$2 ;;
			--sysconfdir) sysconfdir=$2 ;;
			--unitdir) unitdir=$2 ;;
			--srcdir) srcdir=$2 ;;
			--builddir) builddir=$2 ;;
			esac
			shift 2
			;;
		--dry-run | -n) dry_run=1; shift ;;
		-h | --help) install_usage; exit 0 ;;
		*)
			if declare -F install_extra_option >/dev/null && install_extra_option "$@"; then
				shift "$extra_used"
			else
				install_usage >&2
				die "unknown option: $1"
			fi
			;;
		esac
	done
	prefix=${prefix%/}
	sysconfdir=${sysconfdir%/}
	unitdir=${unitdir:-$prefix/lib/systemd/system}
	builddir=${builddir:-$srcdir}
	[ -d "$srcdir" ] || die "no source tree at $srcdir"
}

# run CMD...: runs CMD, or prints it with --dry-run.
run() {
	if [ "$dry_run" -eq 1 ]; then
		printf '+'
		printf ' %q' "$@"
		printf '\n'
	else
		"$@"
	fi
}

# need FILE: a file this installer copies must exist (also in a dry run).
need() {
	[ -f "$1" ] || die "missing $1 (build primgr first, or pass --srcdir/--builddir)"
}

# inst MODE SRC DEST: installs SRC as $DESTDIR/DEST.
inst() {
	need "$2"
	run install -D -m "$1" "$2" "$DESTDIR$3"
}

# inst_config SRC DEST: like inst, but an existing configuration is kept; the new one goes
# beside it as DEST.new.
inst_config() {
	need "$1"
	if [ -e "$DESTDIR$2" ] && ! cmp -s "$1" "$DESTDIR$2"; then
		echo "$INSTALL_NAME: keeping $DESTDIR$2; the shipped one is $DESTDIR$2.new" >&2
		run install -D -m 0644 "$1" "$DESTDIR$2.new"
	else
		run install -D -m 0644 "$1" "$DESTDIR$2"
	fi
}

# inst_unit SRC DEST: a unit with its /usr/sbin and /etc/primgr paths moved to this prefix.
inst_unit() {
	need "$1"
	if [ "$dry_run" -eq 1 ]; then
		printf '+ sed %q %q < %q > %q\n' "s|/usr/sbin/|$prefix/sbin/|g" \
			"s|/etc/primgr/|$sysconfdir/primgr/|g" "$1" "$DESTDIR$2"
		return 0
	fi
	install -d -m 0755 "$(dirname "$DESTDIR$2")"
	sed -e "s|/usr/sbin/|$prefix/sbin/|g" -e "s|/etc/primgr/|$sysconfdir/primgr/|g" "$1" \
		>"$DESTDIR$2"
	chmod 0644 "$DESTDIR$2"
}

# systemd_reload: only on the live system (no DESTDIR) and when systemd runs.
systemd_reload() {
	if [ -z "$DESTDIR" ] && [ -d /run/systemd/system ] && [ "$(id -u)" -eq 0 ]; then
		run systemctl daemon-reload
	fi
}

# shellcheck shell=bash
# tests/lib/pkg.sh: helpers of tests/build/packaging.sh and tests/integration/autostart.sh (source it
# after tests/lib/cluster.sh, which brings the TAP functions and ct_free_port).
#
#   pkg_tmp                      a temp dir in PKG_TMP, removed on exit (KEEP_TMP=1 keeps it)
#   pkg_fake_peer PORT CODE BODY a fake primgr on 127.0.0.1:PORT answering every request with
#                                HTTP CODE and BODY; pkg_fake_peers_stop ends them all
#   pkg_shell_scripts DIR...     the shell scripts under DIR (by name or #! line)
#   pkg_tree DIR                 the files and symlinks under DIR, as sorted /paths
#   pkg_same_list DESC GOT WANT  ok when two newline-separated lists are equal, else the diff
#   pkg_make ARGS...             make in top_builddir without the parent make's jobserver

PKG_TMP=
PKG_PIDS=()

pkg_cleanup() {
	pkg_fake_peers_stop
	if [ -n "$PKG_TMP" ] && [ -d "$PKG_TMP" ]; then
		if [ "${KEEP_TMP:-0}" = 1 ]; then
			echo "# KEEP_TMP=1: kept $PKG_TMP"
		else
			rm -rf "$PKG_TMP"
		fi
	fi
	PKG_TMP=
}

pkg_tmp() {
	[ -n "$PKG_TMP" ] && return 0
	PKG_TMP=$(mktemp -d "${TMPDIR:-/tmp}/primgr-pkg.XXXXXX") || return 1
	chmod 755 "$PKG_TMP"
	trap pkg_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

# pkg_fake_peer PORT CODE BODY: one nc at a time serves the fixed answer; the loop's TERM
# trap also ends the nc that is waiting, so nothing is left listening.
pkg_fake_peer() {
	local port=$1 code=$2 body=$3
	(
		nc=
		trap '[ -n "$nc" ] && kill "$nc" 2>/dev/null; exit 0' TERM
		while :; do
			printf 'HTTP/1.1 %s X\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s' \
				"$code" "${#body}" "$body" | nc -l -N 127.0.0.1 "$port" >/dev/null 2>&1 &
			nc=$!
			wait "$nc" || sleep 0.05
		done
	) &
	PKG_PIDS+=($!)
	# listening before the caller asks
	if command -v ss >/dev/null 2>&1; then
		# shellcheck disable=SC2016 # expanded by eval
		wait_for 10 eval '[ -n "$(ss -Htln "( sport = :$port )" 2>/dev/null)" ]'
	else
		sleep 0.2
	fi
}

pkg_fake_peers_stop() {
	local p
	for p in "${PKG_PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PKG_PIDS[@]}"; do wait "$p" 2>/dev/null; done
	PKG_PIDS=()
	return 0
}

# pkg_shell_scripts DIR...: *.sh files and files whose first line runs sh or bash.
pkg_shell_scripts() {
	local f first
	find "$@" -type f ! -path '*/logs/*' ! -path '*/.git/*' 2>/dev/null | sort | while read -r f; do
		case "$f" in
		*.sh) echo "$f" ;;
		*.c | *.h | *.md | *.yml | *.j2 | *.cfg | *.ini | *.conf | *.service | *.spec) ;;
		*)
			IFS= read -r first <"$f" 2>/dev/null || continue
			case "$first" in '#!'*/sh | '#!'*/bash | '#!'*'env bash' | '#!'*'env sh') echo "$f" ;; esac
			;;
		esac
	done
}

pkg_tree() {
	(cd "$1" && find . \( -type f -o -type l \) | sed 's|^\.||' | sort)
}

pkg_same_list() {
	local desc=$1 got=$2 want=$3
	if [ "$got" = "$want" ]; then
		ok "$desc"
	else
		not_ok "$desc"
		diag "$(diff <(echo "$want") <(echo "$got") | sed -n 's/^[<>]/&/p' | sed 's/^</  missing:/; s/^>/  unexpected:/')"
		return 1
	fi
}

# top_builddir comes from cluster.sh (or the environment).
# shellcheck disable=SC2154
pkg_make() {
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u MAKEOVERRIDES make -C "$top_builddir" "$@"
}

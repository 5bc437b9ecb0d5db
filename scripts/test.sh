#!/bin/sh
# Runs every test: installs what they need (as root), then
#  1. builds with warnings as errors and runs `make check`: unit tests, docs checks,
#     integration tests on real PostgreSQL 15 + repmgr + haproxy clusters, fuzzing,
#     packaging and distcheck;
#  2. builds a copy again with AddressSanitizer + UndefinedBehaviorSanitizer (build-asan/) and
#     runs the unit tests and every integration test that drives the daemon with that
#     build; any sanitizer report (leak, invalid access, undefined behaviour) is a failure.
# The last line is "N passed, N failed, N skipped" over both passes.
# PRIMGR_SANITIZE=no skips pass 2; PRIMGR_TEST_FILTER=name runs matching tests only;
# PRIMGR_TEST_STRESS=1 runs a CPU hog on every core while the integration tests run (tests/run).
# The wall time of each pass is printed after it.
set -u
cd "$(dirname "$0")/.." || exit 1
if [ "$(id -u)" -eq 0 ]; then
	sh scripts/install-deps.sh || exit 1
fi
[ -x configure ] || autoreconf -fi || exit 1
# shellcheck disable=SC2086 # the flags are meant to split into words
[ -f Makefile ] || ./configure --enable-werror ${PRIMGR_CONFIGURE_FLAGS:-} || exit 1
make -j2 || exit 1

# the "N passed, N failed, N skipped" line of a log, as three numbers
counts() {
	sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed, \([0-9]*\) skipped$/\1 \2 \3/p' "$1" | tail -n 1
}

log1=$(mktemp) log2=$(mktemp)
trap 'rm -f "$log1" "$log2"' EXIT
# took SINCE: "Nm SSs" from the date +%s SINCE to now
took() {
	t=$(($(date +%s) - $1))
	printf '%dm%02ds' $((t / 60)) $((t % 60))
}
t_all=$(date +%s)
echo "== pass 1: make check${PRIMGR_TEST_STRESS:+ (PRIMGR_TEST_STRESS=$PRIMGR_TEST_STRESS)}"
t_pass=$(date +%s)
make check 2>&1 | tee "$log1"
echo "== pass 1 took $(took "$t_pass")"
# shellcheck disable=SC2046 # three numbers
set -- $(counts "$log1")
p=${1:-0} f=${2:-1} s=${3:-0}

if [ "${PRIMGR_SANITIZE:-yes}" != no ]; then
	echo "== pass 2: ASan + UBSan build (build-asan/)"
	t_pass=$(date +%s)
	asan_logs=$(mktemp -d /tmp/primgr-asan.XXXXXX) && chmod 1777 "$asan_logs"
	# A copy of the tree (autoconf refuses a second build dir of a tree configured in place).
	rm -rf build-asan && mkdir -p build-asan/primgr
	if (tar -cf - --exclude=./build-asan --exclude=./.git . | tar -xf - -C build-asan/primgr &&
		cd build-asan/primgr && { [ ! -f Makefile ] || make distclean; } &&
		./configure --enable-werror --enable-sanitizers && make -j2) >"$log2" 2>&1; then
		# The daemon runs as postgres under root: its reports go to a directory anyone may
		# write. The build and tooling checks of tests/build/ (packaging, distcheck, fuzz,
		# bench_smoke build their own programs or do not run the daemon; valgrind does not
		# work with ASan) stay in pass 1. So do the integration tests that drive no daemon code
		# path the others do not (cluster_harness runs no primgr; demo, checkstyles, chaos,
		# migration and partition drive the same refresh, vote and HTTP paths as consensus
		# and haproxy, for minutes each; monitoring scrapes /metrics as operator does), to keep
		# the whole command under 20 minutes on 2 cores. systemd runs the daemon under the
		# shipped unit (a clean environment without ASAN_OPTIONS, a private /tmp that hides
		# the report directory, a seccomp filter without the ptrace LeakSanitizer needs): its
		# restarts are restart's, which pass 2 keeps. Pass 2 keeps the tests of the
		# daemon's own edges: consensus, haproxy, limits, operator, pg, refresh, restart,
		# stale_standby, autostart (every primgr restarted at once) and tls (the TLS
		# listener, its handshakes and certificate reloads, the allowlist).
		ASAN_OPTIONS="detect_leaks=1:log_path=$asan_logs/asan" \
			UBSAN_OPTIONS="print_stacktrace=1:log_path=$asan_logs/ubsan" \
			PRIMGR_TEST_EXCLUDE="build cluster_harness demo checkstyles chaos migration partition monitoring systemd" \
			make -C build-asan/primgr check 2>&1 | tee "$log2"
		# shellcheck disable=SC2046 # three numbers
		set -- $(counts "$log2")
		p=$((p + ${1:-0})) f=$((f + ${2:-1})) s=$((s + ${3:-0}))
		echo "== pass 2 took $(took "$t_pass") (build and tests)"
		if [ -n "$(find "$asan_logs" -type f)" ]; then
			echo "not ok - sanitizer reports under the ASan build:"
			for r in "$asan_logs"/*; do sed 's/^/    /' "$r" | head -n 40; done
			f=$((f + 1))
		else
			echo "ok - no sanitizer report from any process of pass 2"
			p=$((p + 1))
		fi
	else
		tail -n 40 "$log2"
		echo "not ok - the ASan + UBSan build failed"
		f=$((f + 1))
	fi
	rm -rf "$asan_logs"
fi
echo "== both passes took $(took "$t_all")"
echo "$p passed, $f failed, $s skipped"
[ "$f" -eq 0 ]

#!/bin/bash
# The libFuzzer targets in CI: builds them (make fuzz), replays every seed corpus and
# fuzzes each target for PRIMGR_FUZZ_SECONDS (default 20) seconds, two targets at a time
# (one libFuzzer process per core): about 90 s for the 8 targets on 2 cores. A crash, a
# leak, a timeout or a broken invariant is a failure.
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
seconds=${PRIMGR_FUZZ_SECONDS:-20}

skip_all() {
	if [ "${CI:-}" = true ]; then
		echo "not ok 1 - $* (CI=true: a missing prerequisite is a failure)"
		exit 1
	fi
	echo "ok 1 # SKIP $*"
	echo "1..1"
	exit 0
}

cc=${FUZZ_CC:-clang}
command -v "$cc" >/dev/null 2>&1 || skip_all "no $cc (Debian packages clang, libclang-rt-14-dev)"
echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }' |
	"$cc" -fsanitize=fuzzer,address,undefined -x c -o /dev/null - 2>/dev/null ||
	skip_all "$cc cannot link -fsanitize=fuzzer (Debian package libclang-rt-14-dev)"

out=$(mktemp -d "${TMPDIR:-/tmp}/primgr-fuzz.XXXXXX") || exit 1
trap 'rm -rf "$out"' EXIT
if ! make -s -C "$top_builddir" fuzz FUZZ_CC="$cc" >"$out/build.log" 2>&1; then
	echo "not ok 1 - make fuzz"
	sed 's/^/# /' "$out/build.log" | tail -n 30
	echo "1..1"
	exit 1
fi
"$top_srcdir/fuzz/run.sh" -t "$seconds" -j "${PRIMGR_FUZZ_JOBS:-2}" -b "$top_builddir/fuzz" -o "$out"

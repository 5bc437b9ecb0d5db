#!/bin/bash
# fuzz/run.sh: replays each target's seed corpus, then fuzzes it for a while.
#
#   fuzz/run.sh [-t SECONDS] [-b BINDIR] [-o OUTDIR] [-j JOBS] [-r] [TARGET...]
#
#   -t SECONDS  fuzzing time per target (default 30; 0 = replay only)
#   -b BINDIR   where `make fuzz` put the fuzz_* programs (default: this directory, i.e. an
#               in-tree build; $top_builddir/fuzz for a VPATH build)
#   -o OUTDIR   new corpus entries and crash artifacts (default BINDIR/out; never the
#               committed seeds: minimise a crash and add it to corpus/TARGET by hand)
#   -j JOBS     targets fuzzed at once (default 1; each libFuzzer run is one process on
#               one core: -j 2 halves the wall time on 2 cores)
#   -r          replay only (same as -t 0)
#   TARGET      http agent config repmgr_conf peers peer_url topology_cache (default: all)
#
# Prints TAP: one "ok" per replayed corpus and per fuzzing run; exit status 1 when any
# target crashed, leaked, timed out or broke an invariant (its log and artifact are named).
set -u
here=$(cd "$(dirname "$0")" && pwd)
seconds=30
bindir=$here
outdir=
jobs=1
while getopts "t:b:o:j:r" opt; do
	case $opt in
	t) seconds=$OPTARG ;;
	b) bindir=$OPTARG ;;
	o) outdir=$OPTARG ;;
	j) jobs=$OPTARG ;;
	r) seconds=0 ;;
	*) sed -n '2,16p' "$0" >&2; exit 64 ;;
	esac
done
shift $((OPTIND - 1))
outdir=${outdir:-$bindir/out}
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(http agent config repmgr_conf peers peer_url topology_cache tls)

# Per target: the longest input worth trying and the dictionary.
max_len() {
	case $1 in
	http) echo 10000 ;;        # past HTTP_MAX_HEAD (8192): 431
	config) echo 20000 ;;      # past CONFIG_LINE_MAX (16384): "line too long"
	repmgr_conf) echo 12000 ;; # past CONFIG_CONNINFO_MAX (8192)
	peer_url) echo 10000 ;;
	*) echo 6000 ;;            # past PEERS_MAX_BODY (4096)
	esac
}
dict() {
	case $1 in
	peers | topology_cache) echo "$here/dict/json.dict" ;;
	*) echo "$here/dict/$1.dict" ;;
	esac
}

case $jobs in '' | *[!0-9]* | 0) echo "fuzz/run.sh: -j takes a positive whole number" >&2; exit 64 ;; esac

# Each target writes its results to OUTDIR/TARGET.tap as "ok - ..." / "not ok - ..." and
# "# ..." lines; they are numbered and printed in target order at the end, so that targets
# fuzzed at once do not interleave.
tap() {
	if [ "$1" -eq 0 ]; then echo "ok - $2"; else echo "not ok - $2"; fi
}

# The libFuzzer flags every run shares: leaks and UB are fatal, 10 s per input, 2 GB.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
common=(-timeout=10 -rss_limit_mb=2048 -print_final_stats=1)

# fuzz_target T: replay and fuzz one target; its TAP lines on stdout.
fuzz_target() {
	local t=$1 bin seeds work log rc runs cov files
	bin=$bindir/fuzz_$t
	seeds=$here/corpus/$t
	work=$outdir/$t
	if [ ! -x "$bin" ]; then
		tap 1 "$t: $bin is not built (run make fuzz)"
		return
	fi
	mkdir -p "$work/corpus"
	log=$outdir/$t.replay.log
	# Each seed file once, by name (a directory argument would start fuzzing).
	mapfile -t files < <(find "$seeds" -type f | sort)
	"$bin" "${common[@]}" -max_len="$(max_len "$t")" "${files[@]}" >"$log" 2>&1
	rc=$?
	tap $rc "$t: replayed ${#files[@]} seeds"
	[ $rc -eq 0 ] || { tail -n 30 "$log" | sed 's/^/# /'; return; }
	[ "$seconds" -gt 0 ] || return

	log=$outdir/$t.fuzz.log
	"$bin" "${common[@]}" -max_len="$(max_len "$t")" -dict="$(dict "$t")" \
		-max_total_time="$seconds" -artifact_prefix="$work/" \
		"$work/corpus" "$seeds" >"$log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1)
	tap $rc "$t: fuzzed ${seconds}s, ${runs:-?} runs, ${cov:-cov: ?}"
	if [ $rc -ne 0 ]; then
		# the target's own words just before the crash (not libFuzzer's status lines), the
		# crash report, and the input in base64: enough to reproduce once the log is gone
		awk '/ERROR:/ { exit } !/^(#[0-9]|INFO:|MS:|0x|\\)/ { last[++n % 6] = $0 }
			END { for (i = n - 5; i <= n; i++) if (i > 0) print last[i % 6] }' "$log" |
			sed 's/^/# /'
		grep -E 'ERROR:|FUZZ_CHECK|runtime error|artifact_prefix|Test unit written|^Base64:' "$log" |
			head -n 10 | cut -c1-2000 | sed 's/^/# /'
		echo "# full log: $log"
	fi
}

mkdir -p "$outdir" || exit 1
pids=()
for t in "${targets[@]}"; do
	while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n; done
	fuzz_target "$t" >"$outdir/$t.tap" 2>&1 &
	pids+=($!)
done
wait "${pids[@]}"
n=0 failed=0
for t in "${targets[@]}"; do
	while IFS= read -r line; do
		case $line in
		"ok - "*) n=$((n + 1)); echo "ok $n - ${line#ok - }" ;;
		"not ok - "*) n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - ${line#not ok - }" ;;
		*) echo "$line" ;;
		esac
	done <"$outdir/$t.tap"
done
echo "1..$n"
[ "$failed" -eq 0 ]

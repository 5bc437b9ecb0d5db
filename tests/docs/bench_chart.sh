#!/bin/sh
# tests/docs/bench_chart.sh: bench/results/latest.png is the chart of bench/results/latest.md
# (the sha256 of the table it was drawn from is in the PNG: bench/chart.sh --check), and
# bench/chart.sh draws it again from the Markdown alone. TAP. Run by tests/run with
# top_srcdir set; a tree without bench/results (a `make dist` tarball) has nothing to check.
top_srcdir=${top_srcdir:-.}
md=$top_srcdir/bench/results/latest.md
png=$top_srcdir/bench/results/latest.png
chart=$top_srcdir/bench/chart.sh

if [ ! -e "$md" ]; then
	# not a skip (a failure under CI=true): a release tarball carries no results, by design
	echo "ok 1 - no bench/results in this tree (a make dist tarball): no chart to check"
	echo "1..1"
	exit 0
fi
fail=0
if out=$(bash "$chart" --check "$md" "$png" 2>&1); then
	echo "ok 1 - bench/results/latest.png was drawn from latest.md (bench/chart.sh --check)"
else
	echo "not ok 1 - bench/results/latest.png was drawn from latest.md (bench/chart.sh --check)"
	printf '%s\n' "$out" | sed 's/^/#   /'
	fail=1
fi
if ! command -v gnuplot >/dev/null 2>&1; then
	echo "ok 2 # SKIP gnuplot is not installed (apt-get install gnuplot-nox)"
else
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/primgr-chart-check.XXXXXX") || exit 1
	if out=$(bash "$chart" -o "$tmp/latest.png" "$md" 2>&1) &&
		bash "$chart" --check "$md" "$tmp/latest.png" >/dev/null 2>&1; then
		echo "ok 2 - bench/chart.sh draws latest.png again from latest.md ($(wc -c <"$tmp/latest.png") bytes)"
	else
		echo "not ok 2 - bench/chart.sh draws latest.png again from latest.md"
		printf '%s\n' "$out" | sed 's/^/#   /'
		fail=1
	fi
	rm -rf "$tmp"
fi
echo "1..2"
exit "$fail"

#!/bin/sh
# tests/docs/mandoc.sh: every man page in man/ is clean under `mandoc -Tlint -W warning`.
# TAP, one line per page. Run by tests/run with top_srcdir set.
top_srcdir=${top_srcdir:-.}
n=0
fail=0

if ! command -v mandoc >/dev/null 2>&1; then
	echo "ok 1 # SKIP mandoc is not installed (apt-get install mandoc)"
	echo "1..1"
	exit 0
fi
for page in "$top_srcdir"/man/*.[1-9]; do
	[ -f "$page" ] || continue
	n=$((n + 1))
	name=${page##*/}
	if out=$(mandoc -Tlint -W warning "$page" 2>&1) && [ -z "$out" ]; then
		echo "ok $n - $name: mandoc -Tlint -W warning is clean"
	else
		echo "not ok $n - $name: mandoc -Tlint -W warning"
		printf '%s\n' "$out" | sed 's/^/#   /'
		fail=1
	fi
done
if [ "$n" -eq 0 ]; then
	n=1
	echo "not ok 1 - no man pages found in $top_srcdir/man"
	fail=1
fi
echo "1..$n"
exit $fail

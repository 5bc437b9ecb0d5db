#!/bin/bash
# The README's first command, scripts/demo.sh, through every subcommand: up, status,
# failover, splitbrain, rejoin, down. It uses the primgr just built (PRIMGR=..., no second
# build), a demo dir of its own, and checks what the demo prints and that `down` leaves no
# process and no directory behind.
set -u

top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-.}
# the harness's TAP helpers (ok, not_ok, diag, bail_out, tap_done); no cluster of its own
# shellcheck source-path=SCRIPTDIR source=../lib/cluster.sh
. "$top_srcdir/tests/lib/cluster.sh"

primgr=$(cd "$top_builddir" && pwd)/src/primgr
[ -x "$primgr" ] || bail_out "$primgr is not built"
dir=$(mktemp -d "${TMPDIR:-/tmp}/primgr-demo-test.XXXXXX") || exit 1
chmod 755 "$dir"
export PRIMGR_DEMO_DIR=$dir/demo PRIMGR=$primgr
demo() { "$top_srcdir/scripts/demo.sh" "$@" >"$dir/out" 2>&1; }
demo_pids=
cleanup() {
	[ -r "$PRIMGR_DEMO_DIR/state.sh" ] && "$top_srcdir/scripts/demo.sh" down >/dev/null 2>&1
	rm -rf "$dir"
}
trap cleanup EXIT

# step NAME ERE...: runs `demo.sh NAME`, which must exit 0 and print every ERE
step() {
	local name=$1 re missing=
	shift
	if ! demo "$name"; then
		not_ok "demo.sh $name exits 0"
		diag "$(tail -n 30 "$dir/out")"
		return 1
	fi
	for re in "$@"; do
		grep -Eq -- "$re" "$dir/out" || missing="$missing '$re'"
	done
	if [ -z "$missing" ]; then
		ok "demo.sh $name: exits 0 and says what it must"
	else
		not_ok "demo.sh $name: output lacks$missing"
		diag "$(cat "$dir/out")"
	fi
}

step up '^up in [0-9]+ s' 'writes \(the primary\): +psql' 'pg_write +node1 +UP' || bail_out "the demo did not come up"
# shellcheck source=/dev/null
demo_pids=$(. "$PRIMGR_DEMO_DIR/state.sh" && echo "${CT_PIDS[*]:-} ${NODE_PRIMGR_PID[*]:-} ${HA_PID:-}")
step status 'node1  Primary \(200\)' 'node2  Standby \(202\)' 'node3  Standby \(202\)' \
	'write frontend reaches: node1'
step failover 'writes moved from node1 to node2' 'first row on node2: [0-9]+ ms' \
	'node2  Primary \(200\)'
fo_out=$(cat "$dir/out")
diag "$(grep -E 'row on node|write outage' "$dir/out")"
# the figures are differences of times in their order: each is there, >= 0 and plausible
# (under a minute on any machine that passed the failover at all)
figures_ok() {
	local last first outage
	last=$(sed -n 's/^  last row on node1: *\(-\{0,1\}[0-9]*\) ms before node1 was stopped$/\1/p' <<<"$fo_out")
	first=$(sed -n 's/^  first row on node2: \(-\{0,1\}[0-9]*\) ms after .repmgr standby promote. began (it took [0-9]* ms)$/\1/p' <<<"$fo_out")
	outage=$(sed -n 's/^  write outage: *\(-\{0,1\}[0-9]*\) ms between the two rows, [0-9]* failed attempts$/\1/p' <<<"$fo_out")
	diag "figures: last row $last ms before the stop, first row $first ms after the promote began, outage $outage ms"
	[ -n "$last" ] && [ -n "$first" ] && [ -n "$outage" ] || return 1
	[ "$last" -ge 0 ] && [ "$last" -lt 60000 ] && [ "$first" -ge 0 ] && [ "$first" -lt 60000 ] &&
		[ "$outage" -ge "$first" ] && [ "$outage" -lt 60000 ]
}
check "demo.sh failover: its figures (last row, first row, outage) are there, >= 0 and under a minute" figures_ok
step splitbrain 'pg_is_in_recovery\(\): f' 'node1  Unknown \(509\)' \
	'write frontend #[123] -> node2'
step rejoin 'node1  Standby \(202\)' 'node2  Primary \(200\)'
step down 'stopped the demo'
if [ -e "$PRIMGR_DEMO_DIR" ]; then
	not_ok "demo.sh down removes $PRIMGR_DEMO_DIR"
else
	ok "demo.sh down removes the demo directory"
fi
left=
for p in $demo_pids; do
	ct_alive "$p" && left="$left $p"
done
if [ -z "$left" ]; then
	ok "demo.sh down stops every process the demo started ($(echo "$demo_pids" | wc -w) pids)"
else
	not_ok "demo.sh down leaves processes running:$left"
	diag "$(ps -o pid,args -p "${left# }")"
fi
tap_done

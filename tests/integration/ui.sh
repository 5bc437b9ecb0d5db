#!/bin/bash
# Issue 20: the read-only status page GET /ui in a real browser. A 3-node cluster with primgr
# on each node; headless Chromium loads a node's /ui and we read the DOM it rendered:
#   [1] the headers: a strict Content-Security-Policy (the page's own script and style by
#       hash, fetches to this node and its peers), nosniff, no framing
#   [2] the page from node1 shows the three nodes with their own verdicts (it read every
#       node's /cluster: the peers allow node1's origin) and names node1 the primary; the
#       browser reports no CSP violation
#   [3] after a failover to node2, the page from node3 names node2 and shows node1 Down (its
#       database stopped, its primgr answers); a screenshot of it is taken, and copied to
#       $PRIMGR_UI_SCREENSHOT when that is set (PRIMGR_UI_SCREENSHOT=tests/ui/screenshot.png
#       renews the README's picture; a plain run leaves the tree as it was)
# shellcheck source-path=SCRIPTDIR source=../lib/cluster.sh disable=SC2119,SC2016
# (SC2119: the harness functions take optional arguments, not the script's; SC2016: the
# single-quoted strings given to eval expand when evaluated, on purpose)
. "$(dirname "$0")/../lib/cluster.sh"

cluster_require
primgr_require
CHROMIUM=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
[ -n "$CHROMIUM" ] || skip_all "no chromium (scripts/install-deps.sh installs it)"

cluster_init 3 || bail_out "cluster_init 3"
primgr_start_all || bail_out "primgr starts on every node"
is_eventually 30 "200 202 202" "cluster up: node1 Primary, node2 and node3 Standby" \
	eval 'echo "$(http_code 1 /state) $(http_code 2 /state) $(http_code 3 /state)"'

ui_url() { echo "http://$(node_host "$1"):${NODE_HTTP[$1]}/ui"; }

# browse I [FLAGS...]: headless Chromium's DOM of node I's /ui after 3 s of page time (the
# page refreshes once a second; a fetch holds the virtual clock until it ends). The browser's
# console goes to $CT_DIR/chromium.err.
browse() {
	local i=$1
	shift
	timeout -k 5 60 "$CHROMIUM" --headless --no-sandbox --disable-gpu --no-proxy-server \
		--no-first-run --user-data-dir="$CT_DIR/chromium" --enable-logging=stderr \
		--virtual-time-budget=3000 "$@" "$(ui_url "$i")" 2>"$CT_DIR/chromium.err"
}
dom() { browse "$1" --dump-dom; }
# row_verdict DOM NODE: the data-verdict of NODE's row.
row_verdict() {
	sed -n "s/.*<tr data-node=\"$2\" data-verdict=\"\([^\"]*\)\".*/\1/p" <<<"$1" | head -1
}
primary_of() { sed -n 's/.*<span id="primary"[^>]*>\([^<]*\)<.*/\1/p' <<<"$1" | head -1; }
# page I: "primary=P node1=V node2=V node3=V" as node I's page rendered them.
page() {
	local d
	d=$(dom "$1") || return 1
	echo "primary=$(primary_of "$d") node1=$(row_verdict "$d" node1)" \
		"node2=$(row_verdict "$d" node2) node3=$(row_verdict "$d" node3)"
}

# --- [1] headers -------------------------------------------------------------------------------
h=$(curl -s --noproxy '*' -D - -o "$CT_DIR/ui.html" "$(ui_url 1)" | tr -d '\r')
csp=$(sed -n 's/^Content-Security-Policy: //p' <<<"$h")
check "[1] /ui: 200, text/html" grep -q '^HTTP/1.1 200 .*' <<<"$h"
is "$(sed -n 's/^Content-Type: //p' <<<"$h")" "text/html; charset=utf-8" "[1] /ui content type"
csp_strict() {
	[[ $csp == "default-src 'none'; script-src 'sha256-"* ]] &&
		[[ $csp == *"; style-src 'sha256-"* ]] && [[ $csp != *unsafe* ]] &&
		[[ $csp == *"frame-ancestors 'none'"* ]]
}
check "[1] CSP: default-src 'none', script and style by hash, no 'unsafe-*' ($csp)" csp_strict
want_connect="connect-src 'self'"
for i in 1 2 3; do want_connect="$want_connect http://$(node_host "$i"):${NODE_HTTP[$i]}"; done
has_connect() { [[ $csp == *"$want_connect;"* ]]; }
check "[1] CSP: $want_connect" has_connect
check "[1] X-Content-Type-Options: nosniff" grep -q '^X-Content-Type-Options: nosniff$' <<<"$h"
origin1="http://$(node_host 1):${NODE_HTTP[1]}"
a=$(curl -s --noproxy '*' -D - -o /dev/null -H "Origin: $origin1" \
	"http://$(node_host 2):${NODE_HTTP[2]}/cluster" | tr -d '\r')
check "[1] node2's /cluster allows node1's origin" \
	grep -qx "Access-Control-Allow-Origin: $origin1" <<<"$a"
a=$(curl -s --noproxy '*' -D - -o /dev/null -H "Origin: http://elsewhere.example" \
	"http://$(node_host 2):${NODE_HTTP[2]}/cluster" | tr -d '\r')
no_cors() { ! grep -q "^Access-Control" <<<"$a"; }
check "[1] and not another origin" no_cors

# --- [2] the page, healthy cluster -------------------------------------------------------------
is_eventually 60 "primary=node1 node1=Primary node2=Standby node3=Standby" \
	"[2] node1's page: three nodes with their verdicts, primary node1 (after {ms} ms)" page 1
if grep -i "content security policy\|content-security-policy" "$CT_DIR/chromium.err" >/dev/null; then
	not_ok "[2] the browser reports no CSP violation"
	diag "$(grep -i "content.security.policy" "$CT_DIR/chromium.err" | head -5)"
else
	ok "[2] the browser reports no CSP violation"
fi
d=$(dom 1)
is "$(grep -o "<td>dc1</td>" <<<"$d" | wc -l) $(grep -o "<td>ready</td>" <<<"$d" | wc -l)" \
	"3 3" "[2] the page shows each node's location (dc1) and admin state (ready)"
no_action() { ! grep -qi "<form\|<button\|<input" <<<"$d"; }
check "[2] the page offers no action (no form, button or input)" no_action

# --- [3] failover --------------------------------------------------------------------------------
failover_to 2 || bail_out "failover to node2"
is_eventually 60 "primary=node2 node1=Down node2=Primary node3=Standby" \
	"[3] after the failover node3's page names node2 the primary, node1 Down (after {ms} ms)" \
	page 3
shot=$CT_DIR/screenshot.png
browse 3 --window-size=1100,330 --hide-scrollbars --screenshot="$shot" >/dev/null
check "[3] a screenshot of node3's page" test -s "$shot"
if [ -n "${PRIMGR_UI_SCREENSHOT:-}" ]; then
	check "[3] the screenshot is copied to $PRIMGR_UI_SCREENSHOT" cp "$shot" "$PRIMGR_UI_SCREENSHOT"
fi

tap_done

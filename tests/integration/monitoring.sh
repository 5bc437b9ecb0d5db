#!/bin/bash
# Issue 19, part 3: the alert rules and the Grafana dashboard of contrib/.
#   [1] promtool check rules and promtool test rules pass; every alert has a unit test in
#       which it fires
#   [2] the dashboard: valid JSON, unique panel ids, each panel with a description and a
#       paragraph in the README; every expression (and template query) is valid PromQL
#   [3] every metric name of the rules and the dashboard is in the live /metrics of a
#       running primgr (a one-node cluster), which promtool check metrics accepts
# shellcheck source-path=SCRIPTDIR source=../lib/cluster.sh disable=SC2016,SC2119
# (SC2016: PromQL and jq programs are single-quoted on purpose; SC2119: the harness functions
# take optional arguments, not the script's)
. "$(dirname "$0")/../lib/cluster.sh"

cluster_require promtool yq
primgr_require

SRC=$(cd "$top_srcdir" && pwd)
RULES=$SRC/contrib/prometheus/primgr.rules.yml
RTEST=$SRC/contrib/prometheus/primgr.rules.test.yml
DASH=$SRC/contrib/grafana/primgr.json
cluster_tmp || bail_out "no temp dir"
T=$CT_DIR

# --- [1] rules --------------------------------------------------------------------------------
out=$(promtool check rules "$RULES" 2>&1)
is "$?" 0 "[1] promtool check rules primgr.rules.yml ($(echo "$out" | grep -o '[0-9]* rules found'))" ||
	diag "$out"
out=$(cd "$(dirname "$RTEST")" && promtool test rules "$(basename "$RTEST")" 2>&1)
is "$?" 0 "[1] promtool test rules primgr.rules.test.yml" || diag "$out"
alerts=$(yq -r '.groups[].rules[] | select(.alert) | .alert' "$RULES" | sort -u)
fired=$(yq -r '.tests[].alert_rule_test[] | select((.exp_alerts // []) | length > 0) | .alertname' \
	"$RTEST" | sort -u)
untested=$(comm -23 <(echo "$alerts") <(echo "$fired") | tr '\n' ' ')
is "$untested" "" "[1] each of the $(echo "$alerts" | wc -l) alerts fires in a unit test"
for a in PrimgrSplitBrain PrimgrNoAgreedPrimary PrimgrNodeUnknown PrimgrNodeStale \
	PrimgrStandbyLagging PrimgrStandbyNotStreaming PrimgrPeerUnreachable PrimgrRefreshStalled \
	PrimgrDatabaseProbeFailing; do
	grep -qx "$a" <<<"$alerts" || not_ok "[1] the issue's alert $a is missing"
done
is "$(yq -r '.groups[].rules[] | select(.alert == "PrimgrSplitBrain") | .expr' "$RULES")" \
	"max by (cluster) (primgr_realprimary_claims) > 1" "[1] split brain is primgr_realprimary_claims > 1"
missing_sev=$(yq -r '.groups[].rules[] | select(.alert) | select(.labels.severity == null or .annotations.summary == null) | .alert' "$RULES")
is "$missing_sev" "" "[1] every alert has a severity and a summary"

# --- [2] dashboard --------------------------------------------------------------------------
if jq -e . "$DASH" >/dev/null 2>&1; then
	ok "[2] primgr.json is valid JSON"
else
	bail_out "[2] primgr.json is no valid JSON"
fi
is "$(jq '[.panels[].id] | length == (unique | length)' "$DASH")" true "[2] panel ids are unique"
nodesc=$(jq -r '.panels[] | select(.type != "row") | select((.description // "") == "") | .title' "$DASH")
is "$nodesc" "" "[2] every panel has a description"
# README: "Monitoring" has one "- Panel title: ..." item per panel
readme_missing=''
while IFS= read -r title; do
	grep -qF -- "- $title:" "$SRC/README" || readme_missing="$readme_missing [$title]"
done < <(jq -r '.panels[] | select(.type != "row") | .title' "$DASH")
is "$readme_missing" "" "[2] the README describes every panel ($(jq '[.panels[] | select(.type != "row")] | length' "$DASH") panels)"

# every expression and template query of the dashboard, one per line (newlines joined)
jq -r '[.. | objects | select(has("expr")) | .expr] + [.templating.list[] | .query | objects | .query] | .[] | gsub("\n"; " ")' \
	"$DASH" >"$T/dash-exprs.txt"
n_dash=$(wc -l <"$T/dash-exprs.txt")
# PromQL check: each becomes a recording rule (Grafana's variables replaced first;
# label_values() is Grafana's, its argument is the selector)
{
	echo "groups:"
	echo "  - name: dashboard"
	echo "    rules:"
	i=0
	while IFS= read -r e; do
		i=$((i + 1))
		e=$(sed -e 's/\$__rate_interval/1m/g' -e 's/\$cluster/.*/g; s/\$instance/.*/g' \
			-e 's/^label_values(\(.*\), *[a-z_]*)$/\1/' <<<"$e")
		printf '      - record: dashboard_expr_%d\n        expr: %s\n' "$i" "$(jq -Rn --arg e "$e" '$e')"
	done <"$T/dash-exprs.txt"
} >"$T/dash-rules.yml"
out=$(promtool check rules "$T/dash-rules.yml" 2>&1)
is "$?" 0 "[2] the dashboard's $n_dash expressions and template queries are valid PromQL" ||
	diag "$out"

# --- [3] metric names against a live /metrics ----------------------------------------------------
yq -r '.groups[].rules[].expr' "$RULES" >"$T/rule-exprs.txt"
used=$(cat "$T/rule-exprs.txt" "$T/dash-exprs.txt" | grep -o '\bprimgr_[a-zA-Z0-9_]*' | sort -u)
other=$(cat "$T/rule-exprs.txt" "$T/dash-exprs.txt" | sed 's/"[^"]*"//g' |
	grep -o '\b[a-zA-Z_][a-zA-Z0-9_]*[{]' | tr -d '{' | grep -v '^primgr_' | sort -u | tr '\n' ' ')
is "$other" "up " "[3] the only selector that is no primgr metric is Prometheus' own up"

cluster_init 1 || bail_out "cluster_init 1"
primgr_start_all || bail_out "primgr starts"
wait_for 10 http_is 1 /state 200
is "$(http_code 1 /state)" 200 "[3] node1 is Primary (after ${WAIT_MS} ms)"
# the second scrape shows the first one's /realPrimary fan-out
curl -s --noproxy '*' -m 3 -o /dev/null "http://127.0.0.1:${NODE_HTTP[1]}/metrics"
wait_for 5 eval 'curl -s --noproxy "*" -m 3 -o "$T/metrics.txt" "http://127.0.0.1:${NODE_HTTP[1]}/metrics" &&
	grep -q "^primgr_realprimary_claims " "$T/metrics.txt"'
out=$(promtool check metrics <"$T/metrics.txt" 2>&1)
is "$?" 0 "[3] promtool check metrics accepts node1's /metrics" || diag "$out"
# names: every "# TYPE" (a histogram brings _bucket, _sum and _count) and every sample
live=$( {
	awk '$1 == "#" && $2 == "TYPE" { print $3; if ($4 == "histogram") { print $3 "_bucket"; print $3 "_sum"; print $3 "_count" } }' "$T/metrics.txt"
	grep -v '^#' "$T/metrics.txt" | grep -o '^[a-zA-Z_:][a-zA-Z0-9_:]*'
} | sort -u)
absent=$(comm -23 <(echo "$used") <(echo "$live") | tr '\n' ' ')
is "$absent" "" "[3] the $(echo "$used" | wc -l) metric names of the rules and the dashboard are all in /metrics"
diag "names used: $(echo "$used" | tr '\n' ' ')"
unused=$(comm -13 <(echo "$used" | sed 's/_\(bucket\|sum\|count\)$//' | sort -u) \
	<(awk '$1 == "#" && $2 == "TYPE" { print $3 }' "$T/metrics.txt" | sort -u) | tr '\n' ' ')
[ -n "$unused" ] && diag "exported but not shown or alerted on: $unused"
# the rules' label matchers use values primgr exports
for v in Primary Standby Down Unknown; do
	grep -q "^primgr_verdict{state=\"$v\"} " "$T/metrics.txt" || not_ok "[3] primgr_verdict{state=\"$v\"} is exported"
done
ok "[3] primgr_verdict has the states the rules and the dashboard match"

tap_done

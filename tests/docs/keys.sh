#!/bin/sh
# tests/docs/keys.sh: the man pages document what the program has.
#  - every key printed by `primgr --print-config` is a ".B key" entry under ".SS [section]"
#    in man/primgr.ini.5;
#  - every option printed by `primgr --help` appears in man/primgr.8.
# TAP. Run by tests/run with top_srcdir and top_builddir set. A part is skipped while the
# binary does not print a configuration or a help text.
top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-.}
bin=$top_builddir/src/primgr
man5=$top_srcdir/man/primgr.ini.5
man8=$top_srcdir/man/primgr.8
n=0
fail=0

ok() {
	n=$((n + 1))
	echo "ok $n - $1"
}
not_ok() {
	n=$((n + 1))
	echo "not ok $n - $1"
	fail=1
}
skip() {
	n=$((n + 1))
	echo "ok $n # SKIP $1"
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/primgr-docs.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

# "section key" for every key entry in primgr.ini.5: a ".B key" tag after ".TP" below
# ".SS [section]".
awk '
	/^\.SS \[/ { sec = $2; gsub(/[][]/, "", sec); next }
	/^\.TP/ { tag = 1; next }
	tag && /^\.B [a-z_]+$/ && sec != "" { print sec " " $2 }
	{ tag = 0 }
' "$man5" >"$tmp/documented"

# Keys from the program itself (the example file has every key at its default).
if [ -x "$bin" ] && "$bin" --print-config -c "$top_srcdir/etc/primgr.ini" >"$tmp/printed" 2>"$tmp/err" &&
	grep -q '^\[node\]' "$tmp/printed"; then
	awk '
		/^\[[a-z]+\]$/ { sec = $0; gsub(/[][]/, "", sec); next }
		sec != "peers" && /^[a-z_]+ =/ { print sec " " $1 }
	' "$tmp/printed" >"$tmp/keys"
	if [ -s "$tmp/keys" ]; then
		while read -r sec key; do
			if grep -qFx "$sec $key" "$tmp/documented"; then
				ok "[$sec] $key is documented in primgr.ini.5"
			else
				not_ok "[$sec] $key is missing from primgr.ini.5 (want .B $key under .SS [$sec])"
			fi
		done <"$tmp/keys"
	else
		not_ok "primgr --print-config printed no keys"
	fi
	# and nothing documented that the program does not have
	while read -r sec key; do
		if ! grep -qFx "$sec $key" "$tmp/keys"; then
			not_ok "primgr.ini.5 documents [$sec] $key, which primgr does not know"
		fi
	done <"$tmp/documented"
else
	skip "$bin does not print a configuration yet ($(head -c 200 "$tmp/err" 2>/dev/null))"
fi

# Options from the help text: --long and -x tokens.
if [ -x "$bin" ] && "$bin" --help >"$tmp/help" 2>&1 && grep -q -- '--' "$tmp/help"; then
	{
		grep -oE -- '--[a-z][a-z-]*' "$tmp/help"
		grep -oE -- '(^|[ [])-[a-zA-Z]([ ,|]|$)' "$tmp/help" | tr -d ' ,|['
	} | sort -u >"$tmp/flags"
	while read -r flag; do
		# roff writes "-" as "\-": --print-config is \-\-print\-config in the page.
		roff=$(printf '%s' "$flag" | sed 's/-/\\\\-/g')
		if grep -qE "(^|[^a-zA-Z0-9-])${roff}([^a-zA-Z0-9\\\\]|\$)" "$man8"; then
			ok "option $flag is documented in primgr.8"
		else
			not_ok "option $flag is missing from primgr.8"
		fi
	done <"$tmp/flags"
else
	skip "$bin --help prints no options yet"
fi

echo "1..$n"
exit $fail

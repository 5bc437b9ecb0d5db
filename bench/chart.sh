#!/bin/bash
# bench/chart.sh: the chart of a bench/run.sh table, drawn by gnuplot (Debian: gnuplot-nox)
# from the Markdown alone, so that it can be drawn again without running the bench.
#
#   bench/chart.sh [-o PNG] [TABLE.md]       (default: bench/results/latest.md -> latest.png)
#   bench/chart.sh --check [TABLE.md [PNG]]  (exit 0, silent, when PNG was drawn from it)
#
# One group of bars per check kind (agent-check with a new connection, HTTP /state with
# Connection: close and keep-alive, at 1 and 50 connections, and paced at 2,000/s): CPU µs
# per request of primgr and of the baseline server of that row (bench/minimal_server or
# nginx), with the range over the repetitions as an error bar. A row of the same check whose
# server is anything else (the seed's "seed", "patroni") is drawn as a reference bar. The
# PNG carries the sha256 of the table it was drawn from (a tEXt "Comment" chunk), which
# --check compares with the table's.
set -u
here=$(cd "$(dirname "$0")" && pwd)

usage() {
	echo "usage: $0 [-o PNG] [TABLE.md] | --check [TABLE.md [PNG]]" >&2
	exit 64
}
check=0 out=''
case "${1:-}" in
--check) check=1; shift ;;
-o) out=${2:-}; [ -n "$out" ] || usage; shift 2 ;;
-h | --help) usage ;;
esac
md=${1:-$here/results/latest.md}
if [ "$check" = 1 ]; then
	png=${2:-${md%.md}.png}
	[ $# -le 2 ] || usage
else
	[ $# -le 1 ] || usage
	png=${out:-${md%.md}.png}
fi
[ -r "$md" ] || { echo "chart.sh: cannot read $md" >&2; exit 1; }

sum=$(sha256sum <"$md" | cut -c1-64)
tag="bench/run.sh table sha256 $sum"

if [ "$check" = 1 ]; then
	[ -r "$png" ] || { echo "chart.sh: no $png" >&2; exit 1; }
	got=$(LC_ALL=C grep -a -o 'bench/run.sh table sha256 [0-9a-f]\{64\}' "$png" | head -n 1)
	[ "$got" = "$tag" ] && exit 0
	echo "chart.sh: $png was not drawn from this $md (${got:-no table hash}; the table's is $sum):" \
		"run bench/chart.sh $md" >&2
	exit 1
fi
command -v gnuplot >/dev/null || { echo "chart.sh: no gnuplot (Debian: gnuplot-nox)" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/primgr-chart.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

# The rows: "| check | server | conns | req/s | p50 | p99 | CPU µs/req (lo-hi) | ...". The
# kinds charted are the base checks (no black-holed peer, idle connections or SQL rows).
# Output: "x median lo hi colour" per bar, and the groups' centres and names.
awk -F' *[|] *' -v bars="$tmp/bars" -v groups="$tmp/groups" -v servers="$tmp/servers" '
	function kind(check) {
		if (check ~ /black-holed|idle conns|SQL/) return ""
		sub(/^HTTP \/state, /, "HTTP ", check)
		sub(/^agent-check, new conn/, "agent-check", check)
		sub(/Connection: close/, "close", check)
		sub(/, paced at /, ", paced ", check)
		return check
	}
	function rgb(h,   i, v) {
		v = 0
		for (i = 2; i <= 7; i++) v = v * 16 + index("0123456789abcdef", substr(h, i, 1)) - 1
		return v
	}
	BEGIN {
		colour["minimal"] = "#9e9e9e"; colour["nginx"] = "#5a9e6f"; colour["primgr"] = "#3b7dd8"
		ref[1] = "#dd8452"; ref[2] = "#8172b3"; ref[3] = "#c44e52"
	}
	/^[|] / && $4 ~ /^[0-9]+$/ {
		k = kind($2)
		if (k == "") next
		gsub(/, /, "\\n", k) # one line each in the tic label: "HTTP close\npaced 2000/s\n50 conns"
		g = k "\\n" $4 ($4 == 1 ? " conn" : " conns")
		cpu = $8
		if (split(cpu, a, /[ ()-]+/) < 1 || a[1] !~ /^[0-9.]+$/) next
		lo = (a[2] ~ /^[0-9.]+$/) ? a[2] : a[1]; hi = (a[3] ~ /^[0-9.]+$/) ? a[3] : a[1]
		if (!(g in gi)) { gi[g] = ++ng; gname[ng] = g; nb[ng] = 0 }
		if (!($3 in colour)) { colour[$3] = ref[++nref > 3 ? 3 : nref]; isref[$3] = 1 }
		if (!($3 in seen)) { seen[$3] = ++ns; sname[ns] = $3 }
		j = gi[g]; b = ++nb[j]
		bv[j, b] = a[1]; bl[j, b] = lo; bh[j, b] = hi; bs[j, b] = $3
	}
	END {
		x = 0
		for (j = 1; j <= ng; j++) {
			x0 = x
			# the baseline first, then primgr, then the references
			for (pass = 1; pass <= 3; pass++)
				for (b = 1; b <= nb[j]; b++) {
					s = bs[j, b]
					p = s == "primgr" ? 2 : (s in isref) ? 3 : 1
					if (p != pass) continue
					printf "%.2f %s %s %s %d\n", x, bv[j, b], bl[j, b], bh[j, b], rgb(colour[s]) >bars
					x += 1
				}
			printf "%.2f %s\n", (x0 + x - 1) / 2, gname[j] >groups
			x += 0.8
		}
		for (i = 1; i <= ns; i++)
			printf "%s %s %s\n", sname[i], colour[sname[i]], (sname[i] in isref) ? "reference" : "" >servers
	}' "$md"
[ -s "$tmp/bars" ] || { echo "chart.sh: no CPU µs/req rows in $md" >&2; exit 1; }

when=$(sed -n 's/^- date: \([^,]*\),.*/\1/p' "$md" | head -n 1)
xtics=$(awk '{ c = $1; $1 = ""; sub(/^ /, ""); printf "%s\"%s\" %s", (NR > 1 ? ", " : ""), $0, c }' "$tmp/groups")
keys=$(awk '{ t = $1 == "minimal" ? "minimal server (accept, write, close)" : $1
	if ($3 == "reference") t = t " (reference)"
	printf ", keyentry with boxes fc rgb \"%s\" title \"%s\"", $2, t }' "$tmp/servers")
xmax=$(awk 'END { print $1 + 0.8 }' "$tmp/bars")

if ! gnuplot >"$tmp/gnuplot.out" 2>&1 <<EOF || [ ! -s "$tmp/chart.png" ]; then
set terminal pngcairo size 1150,520 font "DejaVu Sans,10" noenhanced
set output "$tmp/chart.png"
set title "CPU µs per request (server process user+system time / requests; median, bar: range)\nbench/run.sh${when:+, $when}"
set ylabel "CPU µs / request"
set yrange [0:*]
set xrange [-0.8:$xmax]
set xtics ($xtics) nomirror scale 0 font ",9"
set ytics nomirror
set grid ytics lc rgb "#dddddd"
set border 3
set boxwidth 0.85
set style fill solid 1.0 noborder
set key top left
set bmargin 5
plot "$tmp/bars" using 1:2:3:4:(0.85):5 with boxerrorbars fc rgb variable lc rgb "#333333" notitle$keys
EOF
	echo "chart.sh: gnuplot failed:" >&2
	cat "$tmp/gnuplot.out" >&2
	exit 1
fi

# The table's hash in a tEXt chunk before IEND (the last 12 bytes): length, "tEXt", data,
# and the CRC-32 of type and data, big-endian (gzip's trailer has it, little-endian).
be32() { printf '%08x' "$1" | sed 's/../\\x&/g'; }
printf 'tEXtComment\0%s' "$tag" >"$tmp/chunk"
crc=$(gzip -c <"$tmp/chunk" | tail -c 8 | head -c 4 | od -An -tx1 | tr -d ' \n')
crc=${crc:6:2}${crc:4:2}${crc:2:2}${crc:0:2}
{
	head -c -12 "$tmp/chart.png"
	printf '%b' "$(be32 $(($(wc -c <"$tmp/chunk") - 4)))"
	cat "$tmp/chunk"
	printf '%b' "$(printf '%s' "$crc" | sed 's/../\\x&/g')"
	tail -c 12 "$tmp/chart.png"
} >"$tmp/tagged.png" || exit 1
mv "$tmp/tagged.png" "$png" || exit 1
echo "chart.sh: $png (from $md)"

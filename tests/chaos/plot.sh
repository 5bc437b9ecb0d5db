#!/bin/bash
# tests/chaos/plot.sh: the timeline of a chaos or partition run as a PNG, drawn by gnuplot
# (Debian: gnuplot-nox) from the files the run keeps (tests/chaos/lib.sh writes them):
#
#   tests/chaos/plot.sh -o PNG [-t TITLE] NODES POLLS MARKS FAULTS
#
#   NODES   "name state_url" per node, one lane each, top to bottom
#   POLLS   statepoll's log: "ms state_url code [made]" (code 200 Primary, 202 Standby,
#           503 Down, 509 Unknown, 000 no answer); several pollers' logs may be merged
#   MARKS   "ms state_url kind" per committed row, on the node where it landed, as the row
#           judge classed it: ok (that node was Primary), lag (haproxy's reaction window),
#           split-brain
#   FAULTS  "start_ms end_ms label" per fault (a shaded span with its name)
#
# Time runs across, in seconds from 5 s before the first fault. Each lane is coloured by the
# node's /state verdict in 100 ms slots (an answer in a slot wins over a poll nobody
# answered, so a merged log does not flicker); rows are dots above the lane: green ok, amber
# lag, red split-brain. Exits 0 with the PNG written, 1 on a failure (gnuplot's error shown).
set -u

usage() {
	echo "usage: $0 -o PNG [-t TITLE] NODES POLLS MARKS FAULTS" >&2
	exit 64
}
out='' title='primgr timeline'
while getopts o:t: opt; do
	case $opt in
	o) out=$OPTARG ;;
	t) title=$OPTARG ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
if [ -z "$out" ] || [ $# -ne 4 ]; then usage; fi
nodes=$1 polls=$2 marks=$3 faults=$4
for f in "$nodes" "$polls" "$marks" "$faults"; do
	[ -r "$f" ] || { echo "plot.sh: cannot read $f" >&2; exit 1; }
done
command -v gnuplot >/dev/null || { echo "plot.sh: no gnuplot (Debian: gnuplot-nox)" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/primgr-plot.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

# the time origin and end: 5 s before the first fault (or the first poll), the last poll
read -r t0 t1 < <(awk 'FILENAME == ARGV[1] { if (f == "" || $1 < f) f = $1; next }
	{ if (p == "" || $1 < p) p = $1; if ($1 > e) e = $1 }
	END { s = f != "" ? f - 5000 : p; if (s < p) s = p; printf "%.0f %.0f\n", s, e }' "$faults" "$polls")
[ "$t1" -gt "$t0" ] || { echo "plot.sh: no polls in $polls" >&2; exit 1; }

# lanes: the verdict per 100 ms slot, runs of one verdict as boxes "x0 x1 lane rgb"
awk -v t0="$t0" -v t1="$t1" -v out="$tmp/lanes" '
	BEGIN {
		# #4caf50 #7aa6e0 #d9534f #f0ad4e #bdbdbd (decimal: mawk has no hex constants)
		rgb["200"] = 5025616; rgb["202"] = 8038112; rgb["503"] = 14242639
		rgb["509"] = 15773006; rgb["000"] = 12434877
	}
	FILENAME == ARGV[1] { lane[$2] = FNR; n = FNR; next }
	!($2 in lane) || $1 < t0 || $1 > t1 { next }
	{
		s = int(($1 - t0) / 100)
		if ($3 != "000" || !((lane[$2], s) in v) || v[lane[$2], s] == "000") v[lane[$2], s] = $3
	}
	END {
		last = int((t1 - t0) / 100)
		for (l = 1; l <= n; l++) {
			cur = ""; from = 0
			for (s = 0; s <= last + 1; s++) {
				c = s > last ? "end" : ((l, s) in v) ? v[l, s] : cur
				if (c == cur) continue
				if (cur != "") printf "%.1f %.1f %d %d\n", from / 10, s / 10, l, rgb[cur] >out
				cur = c; from = s
			}
		}
	}' "$nodes" "$polls"
[ -s "$tmp/lanes" ] || { echo "plot.sh: no poll of the listed nodes in $polls" >&2; exit 1; }
n=$(wc -l <"$nodes")

# rows: "x lane" per kind (a NaN line keeps an empty kind plottable)
for k in ok lag split-brain; do
	awk -v t0="$t0" -v k="$k" 'FILENAME == ARGV[1] { lane[$2] = FNR; next }
		$3 == k && ($2 in lane) { printf "%.3f %d\n", ($1 - t0) / 1000, lane[$2] }
		END { print "NaN NaN" }' "$nodes" "$marks" >"$tmp/marks-$k"
done

# faults: a shaded span each, the names on two alternating rows above the lanes
secs=$(((t1 - t0) / 1000 + 1))
width=$((secs * 4 + 300))
[ "$width" -lt 1000 ] && width=1000
[ "$width" -gt 2400 ] && width=2400
# The names go on three rows above the lanes: each on the first row where it does not run
# into the name before it (its width guessed at 6 px a character), none past the end.
awk -v t0="$t0" -v n="$n" -v secs="$secs" -v px="$((width - 100))" '{
	x0 = ($1 - t0) / 1000; x1 = ($2 - t0) / 1000; if (x1 <= x0) x1 = x0 + 0.5
	label = $3; for (i = 4; i <= NF; i++) label = label " " $i
	gsub(/["\\]/, "", label)
	printf "set object %d rect from %.3f, 0.5 to %.3f, %.2f fc rgb \"#5a5a8a\" fs transparent solid 0.13 noborder front\n", NR, x0, x1, n + 0.95
	w = (length(label) * 6 + 8) * secs / px
	at = x0 + 0.3; if (at + w > secs) at = secs - w; if (at < 0) at = 0
	best = 1
	for (r = 1; r <= 3; r++) {
		if (!(r in end) || end[r] <= at) { best = r; break }
		if (end[r] < end[best]) best = r
	}
	end[best] = at + w
	printf "set label %d \"%s\" at %.3f, %.2f left font \",8\" front\n", NR, label, at, n + 0.45 + 0.15 * best
}' "$faults" >"$tmp/faults.gp"

ytics=$(awk '{ printf "%s\"%s\" %d", (NR > 1 ? ", " : ""), $1, NR }' "$nodes")
height=$((n * 70 + 190))
esc_title=${title//\"/}

gnuplot >"$tmp/gnuplot.out" 2>&1 <<EOF
set terminal pngcairo size $width,$height font "DejaVu Sans,9" noenhanced
set output "$out"
set title "$esc_title"
set xlabel "seconds"
set xrange [0:$secs]
set yrange [0.5:$n + 1.0]
set ytics ($ytics)
set ytics nomirror
set xtics nomirror out
set mxtics 5
set grid xtics lc rgb "#dddddd"
set border 3
set key outside below horizontal samplen 1.5 width 1
set style fill solid 1.0 noborder
load "$tmp/faults.gp"
plot "$tmp/lanes" using ((\$1 + \$2) / 2):3:1:2:(\$3 - 0.3):(\$3 + 0.2):4 with boxxyerror fc rgb variable notitle, \\
	keyentry with boxes fc rgb "#4caf50" title "Primary", \\
	keyentry with boxes fc rgb "#7aa6e0" title "Standby", \\
	keyentry with boxes fc rgb "#d9534f" title "Down", \\
	keyentry with boxes fc rgb "#f0ad4e" title "Unknown", \\
	keyentry with boxes fc rgb "#bdbdbd" title "no answer", \\
	keyentry with boxes fc rgb "#5a5a8a" fs transparent solid 0.13 title "fault", \\
	"$tmp/marks-ok" using 1:(\$2 + 0.3) with points pt 7 ps 0.3 lc rgb "#1b7a1b" title "row, on the Primary", \\
	"$tmp/marks-lag" using 1:(\$2 + 0.3) with points pt 7 ps 0.8 lc rgb "#e69500" title "row in haproxy's reaction window", \\
	"$tmp/marks-split-brain" using 1:(\$2 + 0.3) with points pt 9 ps 1.4 lc rgb "#d00000" title "split-brain row"
EOF
rc=$?
if [ "$rc" -ne 0 ] || [ ! -s "$out" ]; then
	echo "plot.sh: gnuplot failed:" >&2
	cat "$tmp/gnuplot.out" >&2
	exit 1
fi

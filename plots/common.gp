# common.gp - loaded by every mallog chart script: terminal, data format, units, colors, range.
# Variables set by `mallog plot` with -e before the script runs (all optional except out):
#   term     "png" (pngcairo, default) or "svg"      out      output file
#   title    chart title prefix (the program)          statsout file for `stats` results (tests)
#   xmin, xmax  zoom on the x axis (events, or seconds with xtime=1)
# Data files are TSV with a header line; every column is read by its header name.
if (!exists("term")) term = "png"
if (term eq "svg") {
    set terminal svg size 1100,620 dynamic enhanced font "Sans,12" background rgb "white"
} else {
    set terminal pngcairo size 1100,620 enhanced font "Sans,11" background rgb "white"
}
set output out
set datafile separator "\t"
set datafile columnheaders
set grid back lc rgb "#dddddd"
set border 3 lc rgb "#444444"
set tics nomirror
if (!exists("title")) title = ""
prefix = (title eq "") ? "" : title . ": "

KiB = 1024.0
MiB = 1024.0 * 1024.0
GiB = 1024.0 * MiB
TiB = 1024.0 * GiB
# bytes as text with a binary unit: 232 B, 4 KiB, 26.9 MiB
sz(b) = b >= TiB ? sprintf("%.3g TiB", b / TiB) : b >= GiB ? sprintf("%.3g GiB", b / GiB) : b >= MiB ? sprintf("%.3g MiB", b / MiB) : \
        b >= KiB ? sprintf("%.3g KiB", b / KiB) : sprintf("%.0f B", b)
# events as text: 950, 12K, 3.4M, 1.2G
ev(n) = n >= 1e9 ? sprintf("%.3gG", n / 1e9) : n >= 1e6 ? sprintf("%.3gM", n / 1e6) : \
        n >= 1e3 ? sprintf("%.3gK", n / 1e3) : sprintf("%.0f", n)

# One color per allocator name, the same on every chart.
acolor(n) = n eq "glibc" ? "#d62728" : n eq "jemalloc" ? "#1f77b4" : n eq "mimalloc" ? "#2ca02c" : \
            n eq "tcmalloc" ? "#ff7f0e" : n eq "arena" ? "#9467bd" : "#7f7f7f"

# The zoom: xlo/xhi are always numbers (for stats), the axis only set when asked.
xlo = exists("xmin") ? xmin : -1e300
xhi = exists("xmax") ? xmax : 1e300
if (exists("xmin") && exists("xmax")) { set xrange [xmin:xmax] }
if (exists("xmin") && !exists("xmax")) { set xrange [xmin:*] }
if (!exists("xmin") && exists("xmax")) { set xrange [*:xmax] }
zoomed = exists("xmin") || exists("xmax")
if (exists("statsout")) { set print statsout append }

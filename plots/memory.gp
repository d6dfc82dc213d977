# memory.gp - memory over time: live requested bytes (exact, from the log) and each allocator's
# footprint (bytes mapped from the OS, solid) and heap RSS (dashed), on one chart.
# Input: files = "replay.glibc.tsv replay.jemalloc.tsv ...", names = "glibc jemalloc ..."
# (same order). xtime=1: x = replay time in seconds instead of allocator calls. note: optional
# text shown in a box at the top left.
load dir_scripts . "/common.gp"
if (!exists("xtime")) xtime = 0
n = words(files)
xcol(c) = xtime ? column("time_ns") / 1e9 : column("event")
set title prefix . "memory over time (footprint: solid, RSS: dashed)" font ",14"
set xlabel (xtime ? "replay time (s)" : "allocator calls (events)")
set ylabel "MiB"
if (!xtime) { set format x "%.1s%c" }
set yrange [0:*]
# note: one line of findings in a box at the top left (mallog report: best vs most)
if (exists("note")) {
    set style textbox opaque noborder margins 4,4
    set label 1 note at graph 0.02, graph 0.95 left front boxed font ",11"
}
set key outside right top Left reverse samplen 3 spacing 1.1 font ",10" noenhanced # names have _
set style line 99 lc rgb "black" lw 3

# Stats of exactly what is plotted (within the zoom): the test compares them with the JSON.
if (exists("statsout")) {
    stats [xlo:xhi] word(files, 1) using (xcol(0)):(column("live_requested")) nooutput
    print sprintf("live_requested\t%.0f", exists("STATS_max_y") ? STATS_max_y : NaN)
    do for [i=1:n] {
        stats [xlo:xhi] word(files, i) using (xcol(0)):(column("sys_mapped")) nooutput
        print sprintf("%s.sys_mapped\t%.0f", word(names, i), exists("STATS_max_y") ? STATS_max_y : NaN)
        stats [xlo:xhi] word(files, i) using (xcol(0)):(column("heap_rss")) nooutput
        print sprintf("%s.heap_rss\t%.0f", word(names, i), exists("STATS_max_y") ? STATS_max_y : NaN)
    }
}
# (`dt (expr)` reads as a custom dash pattern "(on,off,...)": write dt without parentheses.)
# Live requested first, then footprint (solid) and RSS (dashed) of each allocator side by side.
plot word(files, 1) using (xcol(0)):(column("live_requested") / MiB) with lines ls 99 \
         title "live requested", \
     for [j=0:2*n-1] word(files, j/2 + 1) \
         using (xcol(0)):(column(j % 2 ? "heap_rss" : "sys_mapped") / MiB) \
         title (word(names, j/2 + 1) . (j % 2 ? " RSS" : " footprint")) with lines \
         lc rgb acolor(word(names, j/2 + 1)) lw (j % 2 ? 1.5 : 2) dt 1 + j % 2

# cumulative.gp - cumulative vs compensated requested bytes (log scale). Cumulative counts every
# request in full (a realloc from 8 MB to 8 MB + 90 B adds 8 MB); compensated counts only what a
# realloc added, so it shows what the program really asked for. Live requested for scale.
# Input: timeline = "timeline.tsv" (event, time_ns, live_requested, cumulative_requested,
# cumulative_compensated). xtime=1: x = program time in seconds.
load dir_scripts . "/common.gp"
if (!exists("xtime")) xtime = 0
xcol(c) = xtime ? column("time_ns") / 1e9 : column("event")
if (exists("statsout")) {
    stats [xlo:xhi] timeline using (xcol(0)):(column("cumulative_requested")) nooutput
    print sprintf("cumulative_requested\t%.0f", exists("STATS_max_y") ? STATS_max_y : NaN)
    stats [xlo:xhi] timeline using (xcol(0)):(column("cumulative_compensated")) nooutput
    print sprintf("cumulative_compensated\t%.0f", exists("STATS_max_y") ? STATS_max_y : NaN)
}
set title prefix . "requested bytes: cumulative vs compensated (log scale)" font ",14"
set xlabel (xtime ? "program time (s)" : "allocator calls (events)")
if (!xtime) { set format x "%.1s%c" }
set ylabel "bytes"
set logscale y 2
set for [k=0:30] ytics add (sz(4.0**k) 4.0**k)
set format y ""
set key bottom right box opaque
plot timeline using (xcol(0)):(column("cumulative_requested") > 0 ? column("cumulative_requested") : NaN) \
        with lines lw 2 lc rgb "#d62728" title "cumulative requested (every request in full)", \
     '' using (xcol(0)):(column("cumulative_compensated") > 0 ? column("cumulative_compensated") : NaN) \
        with lines lw 2 lc rgb "#1f77b4" title "compensated (realloc counts only growth)", \
     '' using (xcol(0)):(column("live_requested") > 0 ? column("live_requested") : NaN) \
        with lines lw 2 lc rgb "black" title "live requested"

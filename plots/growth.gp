# growth.gp - one call site's (or size class's) live bytes over the run, for the report's "What
# grows" section: per window, the floor (what stayed live through the whole window: a leak is a
# rising floor) and the highest point. A small chart, one per growing site.
# Input: growth = "growth.<k>.tsv" (event, time_s, floor_bytes, max_bytes); site = its name;
# xtime = 1: x in seconds of the run, else in events.
load dir_scripts . "/common.gp"
if (term eq "svg") {
    set terminal svg size 560,300 dynamic enhanced font "Sans,10" background rgb "white"
} else {
    set terminal pngcairo size 560,300 enhanced font "Sans,9" background rgb "white"
}
set output out
if (!exists("xtime")) xtime = 0
if (!exists("site")) site = ""
xcol(c) = xtime ? column("time_s") : column("event")
set title site noenhanced font ",10"
set xlabel (xtime ? "program time (s)" : "allocator calls (events)")
if (!xtime) { set format x "%.1s%c" }
set format y "%.1s %cB"
set yrange [0:*]
set key top left box opaque font ",8"
plot growth using (xcol(0)):(column("max_bytes")) with lines lw 1 lc rgb "#aaaaaa" \
        title "highest in window", \
     '' using (xcol(0)):(column("floor_bytes")) with linespoints lw 2 pt 7 ps 0.4 \
        lc rgb "#d62728" title "floor (live through the window)"

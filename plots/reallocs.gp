# reallocs.gp - realloc growth: each realloc chain (a block reallocated again and again) as a line
# from (first event, first size) to (last event, last size); moved chains in red.
# Input: reallocs = "reallocs.tsv" (start_event, length, start_size, end_size, moved; end_event
# when present, else start_event + length).
load dir_scripts . "/common.gp"
if (!exists("has_end")) has_end = 0
endx(c) = has_end ? column("end_event") : column("start_event") + column("length")
if (exists("statsout")) {
    stats [xlo:xhi] reallocs using (column("start_event")):(column("end_size")) nooutput
    print sprintf("reallocs.end_size_max\t%.0f", exists("STATS_max_y") ? STATS_max_y : NaN)
}
set title prefix . "realloc chains: size from first to last realloc" font ",14"
set xlabel "allocator calls (events)"
set format x "%.1s%c"
# sizes spanning more than 100x (a program with small and large chains): log scale in bytes
# (min over start and end sizes > 0; stats without a valid point leaves STATS_* undefined)
stats reallocs using (column("start_size") > 0 ? column("start_size") : \
      column("end_size") > 0 ? column("end_size") : NaN) nooutput
smin = exists("STATS_min") ? STATS_min : 0
stats reallocs using (column("end_size") > column("start_size") ? column("end_size") : \
      column("start_size")) nooutput
smax = exists("STATS_max") ? STATS_max : 0
logy = smin > 0 && smax / smin > 100
if (logy) {
    set logscale y 2
    set for [k=0:30] ytics add (sz(4.0**k) 4.0**k)
    set format y ""
    set ylabel "block size (log scale)"
    yv(b) = b > 0 ? b : NaN
} else {
    set ylabel "block size (MiB)"
    set yrange [0:*]
    yv(b) = b / MiB
}
set key top left
plot reallocs using (column("start_event")):(yv(column("start_size"))): \
        (endx(0) - column("start_event")):(yv(column("end_size")) - yv(column("start_size"))) \
        with vectors head filled size screen 0.008,20 lw 2 lc rgb "#1f77b4" \
        title "chain (grows left to right)", \
     '' using (endx(0)):(column("moved") > 0 ? yv(column("end_size")) : NaN) with points \
        pt 7 ps 0.8 lc rgb "#d62728" title "chain that moved at least once"

# holes.gp - fragmentation over time, per allocator: top, the number of holes >= 1 MiB between
# live blocks; bottom, the largest hole (MiB). Same inputs as memory.gp.
load dir_scripts . "/common.gp"
if (!exists("xtime")) xtime = 0
n = words(files)
xcol(c) = xtime ? column("time_ns") / 1e9 : column("event")
if (exists("statsout")) {
    do for [i=1:n] {
        stats [xlo:xhi] word(files, i) using (xcol(0)):(column("holes_1m")) nooutput
        print sprintf("%s.holes_1m\t%.0f", word(names, i), exists("STATS_max_y") ? STATS_max_y : NaN)
        stats [xlo:xhi] word(files, i) using (xcol(0)):(column("largest_hole")) nooutput
        print sprintf("%s.largest_hole\t%.0f", word(names, i), exists("STATS_max_y") ? STATS_max_y : NaN)
    }
}
# drawn last to first, so the first allocator (glibc, what most programs run with) is on top
set multiplot layout 2,1 title prefix . "holes between live blocks" font ",14"
set key outside right top Left reverse invert samplen 3 font ",10"
if (!xtime) { set format x "%.1s%c" }
set lmargin 10
set rmargin 21
set yrange [0:*]
set ylabel "holes >= 1 MiB"
set format y "%.0f"
unset xlabel
plot for [i=n:1:-1] word(files, i) using (xcol(0)):(column("holes_1m")) with steps lw 2 \
     lc rgb acolor(word(names, i)) title word(names, i)
set xlabel (xtime ? "replay time (s)" : "allocator calls (events)")
set ylabel "largest hole (MiB)"
set format y "%g"
plot for [i=n:1:-1] word(files, i) using (xcol(0)):(column("largest_hole") / MiB) with steps lw 2 \
     lc rgb acolor(word(names, i)) title word(names, i)
unset multiplot

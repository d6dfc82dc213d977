# lifetimes.gp - lifetime histogram: blocks and bytes per power-of-two lifetime class, lifetime
# counted in allocator calls between allocation and free. Input: lifetimes = "lifetimes.tsv"
# (lifetime_min_events, lifetime_max_events, count, bytes).
load dir_scripts . "/common.gp"
stats lifetimes using (column("count")) nooutput
tot_count = STATS_sum
stats lifetimes using (column("bytes")) nooutput
tot_bytes = STATS_sum
if (exists("statsout")) { print sprintf("lifetimes.count_sum\t%.0f", tot_count) }
set title prefix . "block lifetimes (freed blocks)" font ",14"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set xlabel "lifetime (allocator calls between malloc and free)"
set ylabel "% of freed"
set yrange [0:*]
set xtics rotate by -40 font ",9"
set key top right
unset xrange
span(a, b) = a == b ? ev(a) : ev(a) . "-" . ev(b)
plot lifetimes using (100.0 * column("count") / tot_count): \
        xtic(span(column("lifetime_min_events"), column("lifetime_max_events"))) \
        title "% of blocks" lc rgb "#1f77b4", \
     '' using (100.0 * column("bytes") / tot_bytes) title "% of bytes" lc rgb "#ff7f0e"

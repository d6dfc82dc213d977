# sizes.gp - size histogram: requests per power-of-two size class, as a share of all blocks and
# of all bytes requested. Input: sizes = "sizes.tsv" (class_min, class_max, count_pct, bytes_pct).
load dir_scripts . "/common.gp"
if (exists("statsout")) {
    stats sizes using (column("count")) nooutput
    print sprintf("sizes.count_sum\t%.0f", exists("STATS_sum") ? STATS_sum : NaN)
}
set title prefix . "request sizes (power-of-two classes)" font ",14"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set xlabel "requested size (class lower bound)"
set ylabel "% of all"
set yrange [0:*]
set xtics rotate by -40 font ",9"
set key top left
unset xrange
plot sizes using (column("count_pct")):xtic(sz(column("class_min"))) title "% of blocks" \
        lc rgb "#1f77b4", \
     '' using (column("bytes_pct")) title "% of bytes" lc rgb "#ff7f0e"

# Issue 7: `mallog plot` on real replay/stats output of the fragmenting program: every chart is a
# valid PNG (1100x620) and SVG (well-formed XML), gnuplot exits 0, and what gnuplot plotted
# matches the JSON summaries (its `stats` maximum of each plotted series = the JSON's peak).
# Then --range zooms (the zoomed maximum is that of the TSV rows inside the range), one-file
# output, and errors.
source "$ROOT/tests/e2e/lib.sh"
command -v gnuplot > /dev/null || { echo "gnuplot missing (make deps installs gnuplot-nox)"; exit 77; }
[[ -x $PROGS/fragment ]] || { echo "build/progs/fragment missing"; exit 77; }

# json_num FILE KEY -> the first number after "KEY":
json_num() { grep -o "\"$2\": *[0-9.]*" "$1" | head -n 1 | sed 's/.*: *//'; }
# plotted NAME -> the value gnuplot's stats printed for NAME
plotted() { awk -F'\t' -v k="$1" '$1 == k { v = $2 } END { print v }' "$2"; }
png_ok() {  # file: PNG signature, IHDR 1100x620, plausible size
    [[ $(head -c 8 "$1" | od -An -tx1 | tr -d ' \n') == 89504e470d0a1a0a ]] || die "$1: not a PNG"
    local wh; wh=$(od -An -tu1 -j 16 -N 8 "$1" | awk '{ print $3*256+$4 "x" $7*256+$8 }')
    expect_eq "$1 size" "$wh" "1100x620"
    (( $(stat -c %s "$1") > 8000 )) || die "$1: only $(stat -c %s "$1") bytes"
}
svg_ok() {
    python3 -c 'import sys, xml.etree.ElementTree as E; r = E.parse(sys.argv[1]).getroot(); sys.exit(0 if r.tag.endswith("svg") else 1)' "$1" \
        || die "$1: not well-formed SVG"
    (( $(stat -c %s "$1") > 8000 )) || die "$1: only $(stat -c %s "$1") bytes"
}

"$MALLOG" -q record -o frag -- "$PROGS/fragment" 8 > /dev/null
log=$(only_log frag)
"$MALLOG" -q replay "$log" -a glibc,jemalloc -o out > /dev/null
"$MALLOG" -q stats "$log" --tsv out --json > out/stats.json
"$MALLOG" plot out -o charts --stats plotted.tsv 2> plot.err || { cat plot.err; die "plot failed"; }
for c in memory holes sizes lifetimes reallocs cumulative; do
    png_ok "charts/$c.png"
    svg_ok "charts/$c.svg"
done

# the plotted data is the data: maxima from gnuplot's own stats vs the JSON summaries
for a in glibc jemalloc; do
    expect_eq "$a plotted live peak" "$(plotted live_requested plotted.tsv)" \
        "$(json_num out/replay.$a.json peak_live_requested)"
    expect_eq "$a plotted footprint peak" "$(plotted $a.sys_mapped plotted.tsv)" \
        "$(json_num out/replay.$a.json peak_footprint)"
    expect_eq "$a plotted RSS peak" "$(plotted $a.heap_rss plotted.tsv)" \
        "$(json_num out/replay.$a.json peak_rss)"
    expect_eq "$a plotted holes" "$(plotted $a.holes_1m plotted.tsv)" \
        "$(awk -F'\t' 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
                     $c["holes_1m"] > m { m = $c["holes_1m"] } END { print m + 0 }' out/replay.$a.tsv)"
done
expect_eq "stats peak = plotted live peak" "$(json_num out/stats.json peak_live_requested)" \
    "$(plotted live_requested plotted.tsv)"
expect_eq "plotted cumulative" "$(plotted cumulative_requested plotted.tsv)" \
    "$(json_num out/stats.json cumulative_requested)"
expect_eq "plotted compensated" "$(plotted cumulative_compensated plotted.tsv)" \
    "$(json_num out/stats.json cumulative_compensated)"
# glibc fragments on this program, jemalloc does not: the chart's footprint shows it
gf=$(plotted glibc.sys_mapped plotted.tsv); jf=$(plotted jemalloc.sys_mapped plotted.tsv)
(( gf > 2 * jf )) || die "glibc footprint $gf not far above jemalloc's $jf"

# --range: one file; the zoomed maximum is the TSV's maximum over the rows in the range
events=$(json_num out/replay.glibc.json events)
lo=$((events / 4)) hi=$((events / 2))
"$MALLOG" -q plot out --range "$lo:$hi" -o zoom.png --stats zoom.tsv
png_ok zoom.png
want=$(awk -F'\t' -v lo=$lo -v hi=$hi 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
        $c["event"] >= lo && $c["event"] <= hi && $c["sys_mapped"] > m { m = $c["sys_mapped"] }
        END { print m + 0 }' out/replay.glibc.tsv)
expect_eq "zoomed glibc footprint" "$(plotted glibc.sys_mapped zoom.tsv)" "$want"
(( want < gf )) || die "zoom did not exclude the later, larger footprint"
"$MALLOG" -q plot out --chart holes -o h.svg && svg_ok h.svg
"$MALLOG" -q plot out --time --chart memory --format png -o timed && png_ok timed/memory.png
[[ ! -e timed/memory.svg ]] || die "--format png wrote an SVG"

# errors: exit 2 with a message
set +e
"$MALLOG" plot out --range 5:3 -o x.png 2> e1; r1=$?
"$MALLOG" plot nowhere 2> e2; r2=$?
"$MALLOG" plot out --chart pie 2> e3; r3=$?
mkdir empty; "$MALLOG" plot empty 2> e4; r4=$?
"$MALLOG" plot out --range 1e12:2e12 -o far.png 2> e5; r5=$?
set -e
expect_eq "range beyond the data exit" "$r5" 2
grep -q 'nothing in the range' e5 || die "range beyond the data: $(cat e5)"
expect_eq "bad range exit" "$r1" 2; grep -q 'bad --range' e1 || die "bad range message: $(cat e1)"
expect_eq "missing dir exit" "$r2" 2; grep -q 'not a directory' e2 || die "$(cat e2)"
expect_eq "unknown chart exit" "$r3" 2
expect_eq "empty dir exit" "$r4" 2; grep -q 'nothing to plot' e4 || die "$(cat e4)"
echo ok

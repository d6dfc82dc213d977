# Issue 7: `mallog report` on the fragmenting program: one self-contained directory with
# index.html, the charts it references, the TSV/JSON behind it, and findings in words that match
# the data (jemalloc best, glibc's holes pinned by 232-byte blocks, the block live at exit).
# Progress only on a terminal. Errors exit 2.
source "$ROOT/tests/e2e/lib.sh"
command -v gnuplot > /dev/null || { echo "gnuplot missing (make deps installs gnuplot-nox)"; exit 77; }
[[ -x $PROGS/fragment ]] || { echo "build/progs/fragment missing"; exit 77; }
json_str() { grep -o "\"$2\": *\"[^\"]*\"" "$1" | head -n 1 | sed 's/.*: *"//; s/"$//'; }
json_num() { grep -o "\"$2\": *[0-9.]*" "$1" | head -n 1 | sed 's/.*: *//'; }

"$MALLOG" -q record -o frag -- "$PROGS/fragment" 8 > /dev/null
log=$(only_log frag)
"$MALLOG" report "$log" -a glibc,jemalloc -o rep > out.txt 2> err.txt || { cat err.txt; die "report failed"; }
grep -q 'rep/index.html' err.txt || die "report did not say where it is: $(cat err.txt)"
! grep -q $'\r' err.txt || die "progress written to a non-terminal"
for f in index.html report.json stats.json replay.glibc.tsv replay.glibc.json replay.jemalloc.tsv \
         replay.jemalloc.json timeline.tsv sizes.tsv holes.glibc.json plotstats.tsv; do
    [[ -s rep/$f ]] || die "rep/$f missing"
done
# self-contained: every src/href that is not an anchor names a file in the directory
refs=$(grep -o -E '(src|href)="[^"#][^"]*"' rep/index.html | sed -E 's/^(src|href)="//; s/"$//' | sort -u)
[[ -n $refs ]] || die "no references in index.html"
for r in $refs; do
    [[ $r != */* && $r != *:* ]] || die "non-relative reference $r"
    [[ -s rep/$r ]] || die "index.html references missing $r"
done
imgs=$(grep -o '<img src="[^"]*"' rep/index.html | wc -l)
(( imgs == 6 )) || die "expected 6 charts in the page, got $imgs"

# findings agree with the data
expect_eq "best" "$(json_str rep/report.json best)" jemalloc
expect_eq "worst" "$(json_str rep/report.json worst_allocator)" glibc
expect_eq "pin" "$(json_num rep/report.json pin_size)" 232
expect_eq "worst event" "$(json_num rep/report.json worst_event)" \
    "$(grep -o '"worst": {"event": [0-9]*' rep/replay.glibc.json | grep -o '[0-9]*$')"
expect_eq "leaked" "$(json_num rep/report.json leaked_blocks)" "$(json_num rep/stats.json leaked_blocks)"
grep -q '<b>jemalloc</b> holds the least resident memory' rep/index.html || die "best allocator sentence"
grep -q 'The worst fragmentation (by resident memory in holes): <b>glibc</b>' rep/index.html || die "worst point sentence"
grep -q 'bounded by a live <b>232 B</b> block' rep/index.html || die "pin sentence"
grep -q 'Still live at exit' rep/index.html || die "leaks section"
# the page's numbers are the JSON's
fp=$(json_num rep/replay.glibc.json peak_footprint)
expect_eq "plotted glibc footprint" "$(awk -F'\t' '$1 == "glibc.sys_mapped" { print $2 }' rep/plotstats.tsv)" "$fp"

# a second report into the same directory with fewer allocators leaves no stale results
# (and --range zooms the event charts: the zoomed maximum is within the range)
"$MALLOG" -q report "$log" -a jemalloc -o rep --holes 0 --range 1000:20000
[[ ! -e rep/replay.glibc.json && ! -e rep/holes.glibc.json ]] || die "stale glibc results kept"
expect_eq "best alone" "$(json_str rep/report.json best)" jemalloc
grep -q 'zoomed to events 1000..20000' rep/index.html || die "zoom not stated"
want=$(awk -F'\t' 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
        $c["event"] >= 1000 && $c["event"] <= 20000 && $c["live_requested"] > m { m = $c["live_requested"] }
        END { print m + 0 }' rep/replay.jemalloc.tsv)
expect_eq "zoomed live peak" "$(awk -F'\t' '$1 == "live_requested" { print $2 }' rep/plotstats.tsv)" "$want"

# progress on a terminal (script(1) gives the command a pty)
if command -v script > /dev/null; then
    script -qec "\"$MALLOG\" report \"$log\" -a glibc -o rep2 --holes 0" /dev/null > tty.txt 2>&1 || die "report under a pty"
    grep -q $'\r.*mallog report: ' tty.txt || die "no progress line on a terminal"
fi

# without gnuplot the page is still written, saying why it has no charts
PATH=/nonexistent "$MALLOG" report "$log" -a jemalloc -o nogp --holes 0 2> nogp.err
grep -q 'gnuplot not found' nogp.err || die "no word about the missing gnuplot"
expect_eq "charts explained as missing" "$(grep -c 'No chart: gnuplot is not installed' nogp/index.html)" 6
! grep -q '<img' nogp/index.html || die "images referenced without charts"

# errors
set +e
"$MALLOG" report nothing.mlog -o x 2> e1; r1=$?
"$MALLOG" report "$log" -o rep --range 9:1 2> e2; r2=$?
"$MALLOG" report "$log" -a nosuchalloc -o rep3 2> e3; r3=$?
set -e
expect_eq "missing log exit" "$r1" 2
expect_eq "bad range exit" "$r2" 2
expect_eq "bad allocator exit" "$r3" 2
echo ok

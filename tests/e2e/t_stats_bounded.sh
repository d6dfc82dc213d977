# Acceptance (issue 6): memory bounded by the live blocks, not by the log's length: a log 10x
# longer with the same working set needs about the same RSS (asserted loosely, no timing), and
# the adaptive timeline stays within 2048 rows (+1 final row).
source "$ROOT/tests/e2e/lib.sh"
[[ -x /usr/bin/time ]] || { echo "/usr/bin/time missing"; exit 77; }
"$MALLOG" record -o short -- "$BENCH/churn" 300000 4096 > /dev/null
"$MALLOG" record -o long -- "$BENCH/churn" 3000000 4096 > /dev/null
rss() { /usr/bin/time -f '%M' "$MALLOG" stats "$(only_log "$1")" --tsv "t.$1" --json 2> "rss.$1" > "$1.json"
        tail -n 1 "rss.$1"; }
a=$(rss short)
b=$(rss long)
echo "peak RSS: short $a KiB, long $b KiB"
(( b < a + 8192 )) || die "RSS grows with the log: $a KiB -> $b KiB"
(( b < 65536 )) || die "RSS $b KiB for a 4096-slot working set"
rows=$(( $(wc -l < t.long/timeline.tsv) - 1 ))
(( rows >= 1024 && rows <= 2049 )) || die "timeline rows: $rows"
ev=$(sed -n 's/^ "events": \([0-9]*\),$/\1/p' long.json)
(( ev >= 3000000 )) || die "events: $ev"
expect_eq "last row" "$(tail -n 1 t.long/timeline.tsv | cut -f1)" $(( ev - 1 ))

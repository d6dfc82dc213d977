# Issue 19: the memory of `mallog stats --growth` is bounded by the live blocks and the groups,
# not by the length of the run: a log 10x longer with the same working set needs about the same
# RSS (asserted loosely, no timing), and both end with 32..64 windows (the width doubles instead).
source "$ROOT/tests/e2e/lib.sh"
[[ -x /usr/bin/time ]] || { echo "/usr/bin/time missing"; exit 77; }
"$MALLOG" -q record -o short -- "$BENCH/churn" 300000 4096 > /dev/null
"$MALLOG" -q record -o long -- "$BENCH/churn" 3000000 4096 > /dev/null
rss() { /usr/bin/time -f '%M' "$MALLOG" stats "$(only_log "$1")" --growth --json 2> "rss.$1" > "$1.json"
        tail -n 1 "rss.$1"; }
a=$(rss short)
b=$(rss long)
echo "peak RSS of stats --growth: short $a KiB, long $b KiB"
(( b < a + 8192 )) || die "RSS grows with the log: $a KiB -> $b KiB"
(( b < 65536 )) || die "RSS $b KiB for a 4096-block working set"
for x in short long; do
    j $x.json '32 <= d["windows"] <= 64 and len(d["growth"][0]["floor_bytes"]) == d["windows"]' |
        grep -qx True || die "$x: windows $(j $x.json 'd["windows"]')"
done
ws=$(j short.json 'd["window_events"]')
wl=$(j long.json 'd["window_events"]')
ev=$(j long.json 'd["events"]')
(( ev >= 3000000 )) || die "events: $ev"
(( wl >= 8 * ws )) || die "window width: short $ws, long $wl events"
# the windows cover the whole log, in order
j long.json 'd["window_first_event"][0] == 0 and d["window_last_event"][-1] == d["events"] - 1 and all(d["window_first_event"][i + 1] == d["window_last_event"][i] + 1 for i in range(d["windows"] - 1))' |
    grep -qx True || die "windows do not tile the log"

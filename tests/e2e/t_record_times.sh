# Times are exact where they matter (issue 15 item 4): a program that pauses between a few calls
# has the pause in its log. pause 700 holds a block across a 0.7 s pause, then another across a
# second one, then returns from main; so its log lasts at least 1.4 s and both blocks lived at
# least 0.7 s (sleeps only ever last longer: these are lower bounds, not timings).
source "$ROOT/tests/e2e/lib.sh"
"$MALLOG" -q record -o p -- "$PROGS/pause" 700
log=$(only_log p)
dur=$("$MALLOG" info "$log" | sed -n 's/^duration: *\([0-9.]*\) s$/\1/p')
python3 -c "import sys; sys.exit(0 if float('$dur') >= 1.4 else 1)" ||
    die "info: duration $dur s, want >= 1.4 s (the end of the process is after its last call)"
"$MALLOG" stats "$log" --json > s.json
j s.json 'd["duration_ns"] >= 1400000000' | grepq -x True || die "stats: duration_ns $(j s.json 'd["duration_ns"]')"
# the two blocks held across a pause: both in buckets at or above 0.5 s
long=$(j s.json 'sum(b["count"] for b in d["lifetimes_ns"] if b["min_ns"] >= 500000000)')
expect_eq "blocks that lived >= 0.5 s" "$long" 2
"$MALLOG" stats "$log" | grepq "over 1\.[4-9][0-9]* s\|over [2-9]" || die "stats headline: $("$MALLOG" stats "$log" | grep over)"
echo ok

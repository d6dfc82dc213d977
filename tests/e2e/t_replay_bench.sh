# --bench times the replayed calls per allocator (one at a time, no sampling, --repeat runs):
# the JSON has replay_seconds (the median, inside its min-max), CPU time and runs; the table
# ranks against glibc. --repeat N alone folds N replays: median footprint with its spread.
# Bad values are refused before any work. (Numbers are not asserted: no timing in tests.)
source "$ROOT/tests/e2e/lib.sh"
"$MALLOG" record -o mc -- "$BENCH/mt_churn" 2 20000 > /dev/null
log=$(only_log mc)
"$MALLOG" replay "$log" --bench --repeat 3 -a glibc,arena -o b > b.txt || die "bench failed: $(cat b.txt)"
grep -q "^speed: 3 replays per allocator, one allocator at a time" b.txt || die "$(cat b.txt)"
grep -q "^glibc .*(base)" b.txt || die "no glibc base row: $(cat b.txt)"
grep -Eq "^arena .*x (faster|slower)" b.txt || die "no arena speed: $(cat b.txt)"
for a in glibc arena; do
    expect_eq "$a runs" "$(j b/replay.$a.json 'd["runs"]')" 3
    expect_eq "$a median inside its range" \
        "$(j b/replay.$a.json '0 < d["replay_seconds_min"] <= d["replay_seconds"] <= d["replay_seconds_max"]')" True
    expect_eq "$a CPU time" "$(j b/replay.$a.json 'd["replay_cpu_seconds"] > 0')" True
    expect_eq "$a mode" "$(j b/replay.$a.json 'd["threads_mode"]')" faithful
done
# --repeat without --bench: the footprint's spread, no timing keys
"$MALLOG" replay "$log" --repeat 3 -a glibc -o r > /dev/null || die "repeat failed"
expect_eq "repeat runs" "$(j r/replay.glibc.json 'd["runs"]')" 3
expect_eq "footprint inside its spread" \
    "$(j r/replay.glibc.json 'd["spread"]["peak_footprint"][0] <= d["peak_footprint"] <= d["spread"]["peak_footprint"][1]')" True
expect_eq "no timing without --bench" "$(j r/replay.glibc.json '"replay_seconds" in d')" False
# a single replay has neither
"$MALLOG" replay "$log" -a glibc -o one > /dev/null || die "replay failed"
expect_eq "one run" "$(j one/replay.glibc.json '"runs" in d or "replay_seconds" in d')" False
for bad in 0 abc 101; do
    set +e; "$MALLOG" replay "$log" --repeat "$bad" > /dev/null 2> err.txt; rc=$?; set -e
    expect_eq "--repeat $bad exit" "$rc" 2
    grep -q "^mallog replay: --repeat: '$bad'" err.txt || die "--repeat $bad: $(cat err.txt)"
done
set +e; "$MALLOG" holes "$log" --bench > /dev/null 2> err.txt; rc=$?; set -e
expect_eq "holes --bench exit" "$rc" 2
grep -q "is an option of .mallog replay." err.txt || die "holes --bench: $(cat err.txt)"

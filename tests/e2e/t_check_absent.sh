# Issue 15, item 3: a figure that is absent is never read as 0. `mallog check` and `mallog diff`
# refuse a JSON that is not a `mallog stats --json` summary, a rule whose figure is missing from
# the input or the baseline is an ERROR naming the rule and the file (exit 2), and a --replay
# directory made from another log is an error.
source "$ROOT/tests/e2e/lib.sh"
P="$PROGS/analyze_basic"
"$MALLOG" record -o a -- "$P"
"$MALLOG" record -o leak -- "$P" leak
"$MALLOG" stats a --json > a.json
# replay summaries with the fields `mallog replay -o DIR` writes (no replay here: the test also
# runs with an ASan build, under which replays are left out)
replay_json() {
    mkdir -p "$1"
    echo "{\"allocator\": \"glibc\", \"library\": \"libc.so.6\", \"log\": \"$PWD/$(only_log "$2")\", \"events\": 251, \"threads_mode\": \"serial\", \"touch\": \"page\", \"env\": {}, \"peak_live_requested\": 100000, \"peak_footprint\": 135168, \"footprint_ratio_at_peak\": 1.3517, \"worst\": {\"event\": 0, \"holes_1m\": 0}, \"anomalies\": {\"unknown_frees\": 0}}" > "$1/replay.glibc.json"
}
replay_json ra a
replay_json rleak leak
run() { set +e; "$MALLOG" "$@" > out.txt 2> err.txt; echo $?; set -e; }
# drop KEY from a stats JSON
without() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); del d[sys.argv[2]]; json.dump(d, open(sys.argv[3], 'w'))" "$@"; }

printf 'leaked_blocks == 0\nallocations <= 1000\n' > b.txt
# a replay JSON is not a stats summary: it has neither leaked_blocks nor allocations
expect_eq "replay json: exit" "$(run check ra/replay.glibc.json --budget b.txt)" 2
grep -q "ra/replay.glibc.json: .*not a \`mallog stats --json\` summary" err.txt || die "replay json: $(cat err.txt) $(cat out.txt)"
grep -q 'measured 0' out.txt && die "replay json measured: $(cat out.txt)"
echo '{"x": 1}' > other.json
expect_eq "other json: exit" "$(run check other.json --budget b.txt)" 2
grep -q "other.json: not a \`mallog stats --json\` summary" err.txt || die "other json: $(cat err.txt)"

# a summary without the figure a rule names
without a.json leaked_blocks noleak.json
expect_eq "absent figure: exit" "$(run check noleak.json --budget b.txt)" 2
grep -qE "^ERROR b.txt:1: leaked_blocks == 0 .*noleak.json has no figure 'leaked_blocks'" out.txt ||
    die "absent figure: $(cat out.txt)"
grep -qE "^PASS  b.txt:2: allocations <= 1000 +measured 77" out.txt || die "present figure: $(cat out.txt)"

# a baseline without the figure: the limit is not 0, it is an error
echo 'allocations <= 1.05 * baseline' > base.txt
without a.json allocations noalloc.json
expect_eq "absent baseline: exit" "$(run check a --budget base.txt --baseline noalloc.json)" 2
grep -qE "^ERROR base.txt:1: .*noalloc.json has no figure 'allocations'" out.txt ||
    die "absent baseline: $(cat out.txt)"
expect_eq "other baseline: exit" "$(run check a --budget base.txt --baseline other.json)" 2
grep -q "other.json: not a \`mallog stats --json\` summary" err.txt || die "other baseline: $(cat err.txt)"
expect_eq "good baseline: exit" "$(run check a --budget base.txt --baseline a.json)" 0

# table rows the writer omits when empty read as 0, but only rows that can exist
printf 'ops.memalign.calls == 0\nsizes.1024.count == 50\nsizes.4096.count == 0\n' > rows.txt
expect_eq "empty rows: exit" "$(run check a --budget rows.txt)" 0
echo 'sizes.1000.count == 0' > noclass.txt
expect_eq "no such class: exit" "$(run check a --budget noclass.txt)" 2
grep -q "has no figure 'sizes.1000.count'" out.txt || die "no such class: $(cat out.txt)"

# --replay DIR of another log
echo 'glibc.footprint_ratio <= 100' > r.txt
expect_eq "own replay: exit" "$(run check a --budget r.txt --replay ra)" 0
expect_eq "own replay, json input: exit" "$(run check a.json --budget r.txt --replay ra)" 0
expect_eq "other replay: exit" "$(run check a --budget r.txt --replay rleak)" 2
grep -qE "^ERROR r.txt:1: .*rleak/replay.glibc.json is a replay of .*leak\.[0-9]+\.mlog, not of .*a\.[0-9]+\.mlog" out.txt ||
    die "other replay: $(cat out.txt)"

# diff: a figure on one side only is not a change from 0; a non-summary is an error
expect_eq "diff absent: exit" "$(run diff a.json noleak.json)" 2
grep -q "noleak.json: no figure 'leaked_blocks'" err.txt || die "diff absent: $(cat err.txt) $(cat out.txt)"
expect_eq "diff replay json: exit" "$(run diff a.json ra/replay.glibc.json)" 2
grep -q "not a \`mallog stats --json\` summary" err.txt || die "diff replay json: $(cat err.txt)"
expect_eq "diff same: exit" "$(run diff a a.json)" 0

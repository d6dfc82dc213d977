# `mallog tune` (issue 20) where the defaults are best: a small program, no setting of glibc or
# jemalloc lowers its peak footprint by 1% and 1 MiB: it says so, recommends nothing (every
# best env empty) and exits 0. A setting that makes jemalloc abort (abort_conf:true with an
# unknown option) is reported crashed and never recommended. No allocator replayable: exit 2.
# The knob table of docs/TUNE.md is `mallog tune --knobs`.
source "$ROOT/tests/e2e/lib.sh"
"$MALLOG" record -o s -- "$PROGS/sites" > /dev/null
log=$(only_log s)
allocs=glibc
try=()
if [[ -e /usr/lib/x86_64-linux-gnu/libjemalloc.so.2 ]]; then
    allocs=glibc,jemalloc
    try=(--try 'jemalloc:MALLOC_CONF=abort_conf:true,no_such_option:1')
fi
"$MALLOG" tune "$log" -a "$allocs" "${try[@]}" -o out > table.txt 2> err.txt || die "tune failed"
cat table.txt
grep -q "^The defaults are best: " table.txt || die "no 'defaults are best' line"
python3 - "$allocs" <<'PY' || die "tune.json"
import json, sys
d = json.load(open("out/tune.json"))
for a in sys.argv[1].split(","):
    b = d["best"][a]
    assert b["env"] == "" and b["defaults"] is True, b
    dflt = [x for x in d["candidates"] if x["allocator"] == a and x["env"] == ""][0]
    # the rule, checked: no clean candidate lowers the footprint by 1% and 1 MiB
    for x in d["candidates"]:
        if x["allocator"] == a and x["status"] == "ok":
            gain = dflt["peak_footprint"] - x["peak_footprint"]
            assert gain < max(dflt["peak_footprint"] / 100, 1 << 20), (x, dflt)
    assert len([x for x in d["candidates"] if x["allocator"] == a]) > 3
assert d["recommended"]["env"] == "", d["recommended"]
if "jemalloc" in sys.argv[1]:
    bad = [x for x in d["candidates"] if "abort_conf" in x["env"]]
    assert len(bad) == 1 and bad[0]["status"] == "crashed", bad
    assert "signal 6" in bad[0]["error"], bad
PY
if [[ $allocs == *jemalloc* ]]; then
    grep -q "crashed: the replay was killed by signal 6" table.txt || die "crash not in the table"
fi
# nothing replayable: a library that is not an allocator fails its probe -> exit 2
rc=0
"$MALLOG" tune "$log" -a /bin/ls > /dev/null 2> none.err || rc=$?
expect_eq "exit without an allocator" "$rc" 2
# the docs' table is the tool's
"$MALLOG" tune --knobs > knobs.md
while IFS= read -r line; do
    grep -qF -- "$line" "$ROOT/docs/TUNE.md" || die "docs/TUNE.md lacks: $line"
done < knobs.md
# a one-thread log: no knob for threads (arena_max, narenas) is tried
python3 -c "
import json; d = json.load(open('out/tune.json'))
assert d['threads'] == 1
assert not [x for x in d['candidates'] if 'arena_max' in x['env'] or 'narenas' in x['env']]
" || die "a threads-only knob on a one-thread log"
# speed: every clean candidate timed (--bench medians), the best the fastest by 5% or the defaults
"$MALLOG" tune "$log" -a glibc --objective speed --time 2 --json > speed.json || die "tune speed"
python3 - <<'PY' || die "--objective speed"
import json
d = json.load(open("speed.json"))
assert d["objective"] == "speed" and d["min_gain"] == 0
ok = [x for x in d["candidates"] if x["status"] == "ok"]
assert len(ok) >= 1 and all(x["replay_seconds"] > 0 and x["score"] == x["replay_seconds"] for x in ok), ok
b = d["best"]["glibc"]
assert b["env"] == "" or b["score"] < ok[0]["score"] * 0.95, (b, ok[0])
PY
# --min-gain 0: any saving counts (glibc's top_pad=0 saves 28 KiB here); the defaults and the
# best are then timed (3 --bench replays each): the speed cost, in the table and tune.json
"$MALLOG" tune "$log" -a glibc --min-gain 0 -o gain > gain.txt || die "tune --min-gain 0"
python3 - <<'PY' || die "--min-gain 0 and the speed cost"
import json
d = json.load(open("gain/tune.json"))
b = d["best"]["glibc"]
assert b["env"] != "" and b["score"] < b["default_score"], b
assert b["replay_seconds"] > 0 and b["default_replay_seconds"] > 0, b
PY
grep -qE "^glibc +best .* [0-9.]+x (slower|faster) " gain.txt || die "no speed cost in the table"
# options checked before any work
for bad in "--time abc" "--objective fast" "--min-gain x" "-a glibc:GLIBC_TUNABLES=x" \
           "--try glibc" "--try jemalloc:MALLOC_CONF=narenas:1 -a glibc"; do
    rc=0
    "$MALLOG" tune "$log" $bad > /dev/null 2> bad.err || rc=$?
    expect_eq "tune $bad" "$rc" 2
    grep -q "^mallog tune: " bad.err || die "tune $bad: $(cat bad.err)"
done

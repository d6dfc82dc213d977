# Issue 19, `mallog stats --growth`: a server-like program (tests/progs/server_leak.c: temporary
# buffers per request, a cache filled to a cap then evicting, a 64 KiB configuration block, 40
# bytes leaked every 32nd request) recorded with --stacks: the leaking function ranks first and
# is the only one growing, its live bytes at the end are what the program says it leaked, its
# oldest live block is a malloc(40) from that function; the same with the leak starting halfway;
# without --stacks the leak's size class ranks first. Too short a log, or --growth with --by, is
# an error (exit 2); a damaged log is analysed up to the damage, exit 2.
source "$ROOT/tests/e2e/lib.sh"

# check JSON LEAKED FIRST_SITE_PREFIX LATE: the acceptance rules on a --growth --json document
check() {
    python3 - "$@" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
leaked, first, late = int(sys.argv[2]), sys.argv[3], sys.argv[4] == "late"
g = d["growth"]
assert 32 <= d["windows"] <= 64, d["windows"]
top = g[0]
assert top["site"].startswith(first), ("ranked first", top["site"], [x["site"] for x in g])
assert top["verdict"] == "growing", top
assert top["live_bytes_end"] == leaked, (top["live_bytes_end"], leaked)
assert top["live_blocks_end"] == leaked // 40, top["live_blocks_end"]
assert top["bytes_per_million_calls"] > 0 and top["bytes_per_hour"] > 0, top
# the rate: 40 bytes every 32 requests; the last half's slope per event, from the program's own
# counts (events per request from the log): within 25 %
per_event = leaked / (d["events"] / (2 if late else 1))
assert abs(top["bytes_per_million_calls"] - per_event * 1e6) < 0.25 * per_event * 1e6, \
    (top["bytes_per_million_calls"], per_event * 1e6)
growing = [x["site"] for x in g if x["verdict"] == "growing"]
assert growing == [top["site"]], ("only the leak grows", growing)
for x in g:
    if x["site"].startswith(("cache_put", "load_config")) or x["site"] in ("65536..131071 B",):
        assert x["verdict"] == "levels_off", x["site"] + " " + x["verdict"]
    if x["site"].startswith("handle_request"):
        assert x["verdict"] == "returns", x
mid = d["window_first_event"][len(d["window_first_event"]) // 2]
if late:   # the oldest leaked block comes from the second half of the run
    assert top["oldest_live_event"] > 0.9 * mid, (top["oldest_live_event"], mid)
else:
    assert top["oldest_live_event"] < 0.1 * mid, (top["oldest_live_event"], mid)
if first.startswith("remember_session"):
    st = top["oldest_live"][0]["stack"]
    assert any(f.startswith("remember_session") for f in st), st
print(top["oldest_live_event"])
PY
}

leaked_of() { sed -n 's/^leaked \([0-9]*\) bytes.*/\1/p' "$1"; }

for mode in early late; do
    "$MALLOG" -q record --stacks -o $mode -- "$PROGS/server_leak" 40000 $mode 2> $mode.err
    log=$(only_log $mode)
    "$MALLOG" stats "$log" --growth --json > $mode.json
    ev=$(check $mode.json "$(leaked_of $mode.err)" remember_session $mode) || die "$mode: $(cat $mode.json | head -c 600)"
    # the oldest live block is a malloc(40) at that event
    "$MALLOG" dump "$log" --from "$ev" --to $((ev + 1)) | grepq -E " malloc\(40\) = 0x" ||
        die "$mode: event $ev is not a malloc(40): $("$MALLOG" dump "$log" --from "$ev" --to $((ev + 1)))"
    "$MALLOG" stats "$log" --growth > $mode.txt
    sed -n 3p $mode.txt | grepq -E '^1 +growing .* remember_session \(server_leak\.c:[0-9]+\)$' ||
        die "$mode text: $(head -n 4 $mode.txt)"
    grep -q '^oldest live blocks of remember_session' $mode.txt || die "$mode: no sample stacks"
done

# without stacks: by size class, the leak's class (40 bytes: 32..63) first
"$MALLOG" -q record -o plain -- "$PROGS/server_leak" 40000 2> plain.err
"$MALLOG" stats "$(only_log plain)" --growth --json > plain.json
j plain.json 'd["by"]' | grepq -x size_class || die "plain: not by size class"
check plain.json "$(leaked_of plain.err)" "32..63 B" early > /dev/null || die "plain: $(head -c 600 plain.json)"

# too short to judge: a clear error, exit 2, nothing on stdout
"$MALLOG" -q record -o short -- "$PROGS/sites"
rc=0
"$MALLOG" stats "$(only_log short)" --growth > short.out 2> short.err || rc=$?
expect_eq "too short: exit" $rc 2
grep -q 'too short to judge growth' short.err || die "too short: $(cat short.err)"
[[ ! -s short.out ]] || die "too short: output $(cat short.out)"
rc=0
"$MALLOG" stats "$(only_log plain)" --growth --by site > /dev/null 2> both.err || rc=$?
expect_eq "--growth --by: exit" $rc 2

# damaged: the valid prefix is analysed, the damage said, exit 2 (a log of several frames)
"$MALLOG" -q record -o churn -- "$BENCH/churn" 400000 > /dev/null
log=$(only_log churn)
head -c $(( $(stat -c %s "$log") / 2 )) "$log" > cut.mlog
rc=0
"$MALLOG" stats cut.mlog --growth --json > cut.json 2> cut.err || rc=$?
expect_eq "damaged: exit" $rc 2
j cut.json '"damage" in d and d["events"] == d["damage_event"] > 1000 and len(d["growth"]) > 0' |
    grep -qx True || die "damaged: $(head -c 400 cut.json)"
grep -q 'covers the events before it' cut.err || die "damaged: $(cat cut.err)"

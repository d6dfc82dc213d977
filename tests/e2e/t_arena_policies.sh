# mallog's arena under each placement policy (issue 20) on the fragmentation program with other
# work around the buffer (fragment mixed: medium blocks of many sizes, half freed at once): every
# policy replays every call (no failed call), and the figures differ as the policies say:
# first fit (lowest address) packs the medium blocks low and holds the least; next fit spreads
# them over the heap and holds the most of the three fits; segregated fits pay their rounding in
# slop, the coarser the classes the more (seg1 > seg4 > best fit).
source "$ROOT/tests/e2e/lib.sh"
"$MALLOG" record -o m -- "$PROGS/fragment" 24 mixed > /dev/null
log=$(only_log m)
specs=arena
for p in first next seg1 seg4; do specs+=",arena:MALLOG_ARENA_POLICY=$p"; done
"$MALLOG" replay "$log" --touch none -a "$specs" -o out > table.txt || die "replay failed"
cat table.txt
python3 - <<'PY' || die "policies"
import json
r = {p: json.load(open(f"out/replay.{n}.json")) for p, n in [
    ("best", "arena"), ("first", "arena+mallog_arena_policy-first"),
    ("next", "arena+mallog_arena_policy-next"), ("seg1", "arena+mallog_arena_policy-seg1"),
    ("seg4", "arena+mallog_arena_policy-seg4")]}
fp = {p: d["peak_footprint"] for p, d in r.items()}
slop = {p: d["slop_at_peak"] for p, d in r.items()}
print(fp, slop)
assert all(d["failed_calls"] == 0 for d in r.values())
assert len(set(r[p]["peak_live_requested"] for p in r)) == 1  # the same calls
assert len(set(fp.values())) == 5, fp                          # five different answers
assert fp["first"] < fp["best"] < fp["next"], fp
assert slop["seg1"] > slop["seg4"] > slop["best"], slop
assert fp["seg1"] > fp["seg4"] > fp["first"], fp
PY
# an unknown policy is refused before any work, with the names it could be
rc=0
"$MALLOG" replay "$log" -a 'arena:MALLOG_ARENA_POLICY=worst' > out.txt 2> err.txt || rc=$?
expect_eq "unknown policy exit" "$rc" 2
grepq "unknown arena policy 'worst' (best, first, next, seg1" err.txt || die "policy message: $(cat err.txt)"
[[ -s out.txt ]] && die "a table for an unknown policy: $(cat out.txt)"
true

# A recording in progress (issue 19): while the program runs (paused halfway until the test lets it go on), info, stats and
# dump read its log up to a recent point, say the process is still running, and exit 0; the
# program's output and the final log are the same as without them.
source "$ROOT/tests/e2e/lib.sh"
prog="$PROGS/seg_churn"
"$MALLOG" -q record -o plain -- "$prog" 200000 20000 > plain.out
"$MALLOG" record -o p -- "$prog" 200000 20000 resume > p.out 2> rec.err &
rec=$!
trap 'touch resume' EXIT # never leave the program waiting
for i in $(seq 300); do grep -q paused p.out 2>/dev/null && break; sleep 0.1; done
grep -q paused p.out || die "the program did not reach its pause"
# the live packer makes what it packed readable within 0.5 s of catching up (waited for, up to
# 60 s: on a busy machine `record` may not even have opened the log yet)
for i in $(seq 300); do
    if "$MALLOG" stats p --json > run.json 2> stats.err &&
        [[ $(j run.json 'd["events"]') -ge 100000 ]]; then
        break
    fi
    sleep 0.2
done
"$MALLOG" stats p --json > run.json 2> stats.err ||
    die "stats on a running recording: $(cat stats.err); record said: $(cat rec.err); files: $(ls)"
ls p.* > files
grep -q 'mlog.partial$' files || die "no log being written: $(cat files)"
expect_eq "in_progress" "$(j run.json 'd["in_progress"]')" True
expect_eq "complete" "$(j run.json 'd["complete"]')" False
ev=$(j run.json 'd["events"]')
# half the calls were made before the pause: every one of them is packed and readable by now
[[ $ev -ge 100000 && $ev -le 110000 ]] || die "events read while running: $ev"
"$MALLOG" stats p > run.txt 2>&1 || die "stats text"
grep -q "pid [0-9]* is still running" run.txt || die "stats does not say it runs: $(head -3 run.txt)"
"$MALLOG" info p > info.txt 2>&1 || die "info on a running recording: $(tail -3 info.txt)"
grep -q "is still running" info.txt || die "info does not say it runs"
grep -q "anomalies 0 " info.txt || die "info: $(grep integrity info.txt)"
"$MALLOG" dump p --to 10 > dump.txt 2> dump.err || die "dump: $(cat dump.err)"
expect_eq "dump lines" "$(wc -l < dump.txt)" 11
touch resume
wait $rec || die "record exited $?"
grep -v paused p.out | cmp plain.out - || die "the program's output changed"
log=$(only_log p)
"$MALLOG" stats "$log" --json > p.json
"$MALLOG" stats plain --json > plain.json
python3 - <<'PY' || die "the final log differs from the log of the same run read by nobody"
import json
a, b = json.load(open('p.json')), json.load(open('plain.json'))
keys = ['events', 'allocations', 'frees', 'live_at_end_blocks', 'live_at_end_bytes',
        'peak_live_requested', 'unknown_frees', 'cumulative_requested']
print([(k, a[k], b[k]) for k in keys if a[k] != b[k]])
assert all(a[k] == b[k] for k in keys) and a['complete'] and not a['in_progress']
PY
echo ok

# Killed with SIGKILL in the middle of writing a checkpoint (issue 19): the test hook kills the
# program and `mallog record` once 160k blocks of the second segment's checkpoint are written. The
# first segment is intact; the recording reads up to the damage in the second and says where
# (exit 2, as for any damaged log).
source "$ROOT/tests/e2e/lib.sh"
MALLOG_TEST_KILL_IN_CHECKPOINT=163840 "$MALLOG" -q record -o k --max-size 2M -- \
    "$PROGS/seg_churn" 1500000 500000 > out.txt && die "record was not killed"
s1=( k.*.s1.mlog )
[[ -f ${s1[0]} ]] || die "no first segment: $(ls)"
s2=( k.*.s2.mlog.partial )
[[ -f ${s2[0]} ]] || die "no second segment being written: $(ls)"
zstd -q -t "${s1[0]}" || die "the first segment does not decode"
# every event of the first segment is read, then the damage in the second is named
# (a copy of it alone: where its trailer names a segment that is not there, the reader says so)
mkdir alone && cp "${s1[0]}" alone/
events1=$( ("$MALLOG" dump "alone/${s1[0]}" 2> alone.err || true) | wc -l)
grep -q "next segment k\.[0-9]*\.s2\.mlog is missing" alone.err || die "alone: $(cat alone.err)"
[[ $events1 -gt 100000 ]] || die "first segment: $events1 events"
"$MALLOG" stats k --json > s.json 2> s.err && die "stats of a damaged recording exited 0"
grep -q "truncated: in segment k\.[0-9]*\.s2\.mlog\.partial" s.err || die "stats: $(cat s.err)"
expect_eq "events read before the damage" "$(j s.json 'd["events"]')" "$events1"
expect_eq "anomalies" "$(j s.json 'd["unknown_frees"] + d["inversions"]')" 0
# the second segment alone: its checkpoint up to the damage
"$MALLOG" info "${s2[0]}" > i2.txt 2>&1 && die "info of the cut segment exited 0"
n=$(awk '$1 == "live" && NF == 4 { print $2 }' i2.txt)
[[ ${n:-0} -ge 100000 && $n -le 163840 ]] || die "checkpoint blocks read from the cut segment: ${n:-none}"
grep -q "damage:.*truncated" i2.txt || die "info: $(grep -E 'damage|integrity' i2.txt)"
echo ok

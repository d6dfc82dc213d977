# Acceptance (issue 3): 8 threads, cross-thread frees and realloc churn, millions of events:
# 0 ordering inversions, 0 unknown frees, every allocation matched (nothing live at the end).
source "$ROOT/tests/e2e/lib.sh"
"$MALLOG" record -o s -- "$PROGS/stress_mt" 8 300000
log=$(only_log s)
"$MALLOG" info "$log" > info.txt
cat info.txt
events=$(sed -n 's/^events: *\([0-9]*\).*/\1/p' info.txt)
[[ $events -ge 2000000 ]] || die "only $events events"
expect_eq anomalies "$(anomalies "$log")" 0
grep -q 'ordering inversions 0' info.txt || die "inversions"
grep -q 'unknown frees 0' info.txt || die "unknown frees"
grep -q '^threads: *9$' info.txt || die "expected 9 threads (main + 8)"
grep -q ', lost 0$' info.txt || die "lost events"
# every block the program allocated was freed: only libc's own leftovers may stay live
live=$(sed -n 's/^live: *\([0-9]*\) blocks.*/\1/p' info.txt)
[[ $live -le 16 ]] || die "$live blocks still live"

# Issue 3/4: SIGKILL from outside in the middle of a run: the log reads up to (nearly) the kill
# point. The program reports its progress; everything it finished must be in the log.
source "$ROOT/tests/e2e/lib.sh"
"$MALLOG" -q record -o k -- "$BENCH/churn" 1000000000 > /dev/null &
rec=$!
for _ in $(seq 100); do pgrep -f "$BENCH/churn" > /dev/null && break; sleep 0.05; done
# kill once the spool has grown past its first 16 MiB window (~2M events), however loaded the
# machine is: a fixed sleep made the count below depend on the load
for _ in $(seq 600); do
    size=$(stat -c %s k.*.spool 2> /dev/null | sort -n | tail -n 1) || size=0
    (( ${size:-0} > 16777216 )) && break
    sleep 0.05
done
pkill -KILL -f "^$BENCH/churn" || die "churn not found"
wait $rec && rc=0 || rc=$?
expect_eq "record exit code" "$rc" 137
log=$(only_log k)
"$MALLOG" info "$log" > info.txt
grep -q 'ended:      killed by signal 9' info.txt || die "$(grep ended info.txt)"
events=$(sed -n 's/^events: *\([0-9]*\).*/\1/p' info.txt)
(( events > 1000000 )) || die "only $events events survived"
lost=$(sed -n 's/.*, lost \([0-9]*\)$/\1/p' info.txt)
(( lost <= 2 )) || die "$lost events lost"
expect_eq anomalies "$(anomalies "$log")" 0

# Issue 3/4: SIGKILL from outside in the middle of a run: the log reads up to (nearly) the kill
# point. The program reports its progress; everything it finished must be in the log.
source "$ROOT/tests/e2e/lib.sh"
"$MALLOG" -q record -o k -- "$BENCH/churn" 1000000000 > /dev/null &
rec=$!
# Kill once the program has written well over a million events, however busy the machine: its
# spool's written pages say so (chunks are populated when claimed; ~8 bytes an event, so 16 MiB
# is ~2 M events). A fixed sleep of 1 s failed on a loaded machine (fewer events in that second).
spool_kib() { local s=(k.*.spool); [[ -e ${s[0]} ]] && echo $(( $(stat -c %b "${s[0]}") / 2 )) || echo 0; }
for _ in $(seq 1200); do (( $(spool_kib) > 16384 )) && break; sleep 0.05; done
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

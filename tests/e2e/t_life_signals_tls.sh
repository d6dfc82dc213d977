# Issue 4: a SIGALRM handler that mallocs during a malloc loop; pthread key destructors that free
# at thread exit; C++ aligned new/delete. All recorded with 0 anomalies and nothing lost.
source "$ROOT/tests/e2e/lib.sh"
"$MALLOG" -q record -o sa -- "$PROGS/lifecycle" sigalrm 300 > sa.out
n=$(sed -n 's/^ok //p' sa.out)
(( n > 20 )) || die "only $n signals handled"
log=$(only_log sa)
expect_eq "sigalrm anomalies" "$(anomalies "$log")" 0
"$MALLOG" info "$log" | grepq ', lost 0$' || die "records lost under signals"
got=$("$MALLOG" dump "$log" | grep -c ' malloc(500) = ')
# the 4 warm-up mallocs of that size come first, then one per handled signal
expect_eq "handler mallocs" "$got" "$((n + 4))"

"$MALLOG" -q record -o td -- "$PROGS/lifecycle" tls_dtor 20 > /dev/null
log=$(only_log td)
expect_eq "tls anomalies" "$(anomalies "$log")" 0
"$MALLOG" info "$log" > td.txt
grep -q '^threads: *21$' td.txt || die "threads: $(grep threads td.txt)"
expect_eq "thread_end" "$(op_count "$log" thread_end)" 20
# each destructor's free(333-byte value) was recorded: no 333-byte block is left live
"$MALLOG" dump "$log" | awk '$4 ~ /^malloc\(333\)/ { live[$NF] = 1 } $4 ~ /^free\(/ { sub(/^free\(/, "", $4); sub(/\)$/, "", $4); delete live[$4] } END { n = 0; for (k in live) n++; exit n != 0 }' || die "a destructor's free is missing"

"$MALLOG" -q record -o cx -- "$PROGS/cxx_new" > /dev/null
log=$(only_log cx)
expect_eq "c++ anomalies" "$(anomalies "$log")" 0
expect_eq "aligned new (64)" "$("$MALLOG" dump "$log" | grep -c ' aligned_alloc(64, 64) = ')" 100
expect_eq "aligned new (256)" "$("$MALLOG" dump "$log" | grep -c ' aligned_alloc(256, 1024) = ')" 1

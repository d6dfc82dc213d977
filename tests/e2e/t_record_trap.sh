# --trap: SIGTRAP inside the traced program at the first call matching an op and size, or at a
# sequence number; under gdb it stops in the function that made the call.
source "$ROOT/tests/e2e/lib.sh"
rc=0; "$MALLOG" -q record --trap 'calloc:size=72' -o t -- "$PROGS/counts" > /dev/null || rc=$?
expect_eq "killed by SIGTRAP" "$rc" 133
log=$(only_log t)
"$MALLOG" info "$log" | grepq 'ended:      killed by signal 5' || die "end: $("$MALLOG" info "$log" | grep ended)"
# the trap fires as the call is made: calloc(2, 24) is in the log, calloc(3, 24) is not
"$MALLOG" dump "$log" | grepq ' calloc(2, 24) = ' || die "events before the trap missing"
"$MALLOG" dump "$log" | grepq ' calloc(3, 24) = ' && die "the trapped call was recorded"

# seq=N, N taken from a first recording's dump (the program is deterministic)
"$MALLOG" -q record -o full -- "$PROGS/counts" > /dev/null
seq=$("$MALLOG" dump "$(only_log full)" | awk '$4 ~ /^valloc\(5000\)/ { print $2; exit }')
[[ -n $seq ]] || die "no valloc in the first recording"
rc=0; "$MALLOG" -q record --trap "seq=$seq" -o s -- "$PROGS/counts" > /dev/null || rc=$?
expect_eq "seq trap" "$rc" 133
last=$("$MALLOG" dump "$(only_log s)" | tail -n1 | cut -d' ' -f4-)
[[ $last == memalign* ]] || die "the log should end just before valloc, ends with: $last"

rc=0; "$MALLOG" -q record --trap 'nosuchop:size=1' -o bad -- "$PROGS/counts" > /dev/null 2> err.txt || rc=$?
expect_eq "a bad spec is refused before the run" "$rc" 2
grep -q "mallog record: --trap nosuchop:size=1:" err.txt || die "no message for a bad spec"

command -v gdb > /dev/null || { echo "gdb not installed: the debugger half is skipped"; exit 77; }
timeout 120 gdb -batch -ex 'set follow-fork-mode child' -ex run -ex bt \
    --args "$MALLOG" -q record --trap 'calloc:size=72' -o g -- "$PROGS/counts" > gdb.txt 2>&1 || true
cat gdb.txt
grep -q 'received signal SIGTRAP' gdb.txt || die "gdb did not stop on the trap"
grep -qE 'in calloc \(nmemb=(nmemb@entry=)?3, size=(size@entry=)?24\)' gdb.txt || die "not stopped in calloc(3, 24)"
grep -qE 'in main \(\) at .*counts\.c:[0-9]+' gdb.txt || die "the caller (main, counts.c) is not on the stack"

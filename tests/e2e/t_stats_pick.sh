# Issue 15 items 5 and 7: which process of a recording a tool reads. --pid takes PID or PID.GEN
# (the names `mallog info` prints) and refuses anything else; a prefix defaults to the process with
# the most events (not the root `sh`), and says so; a prefix holding two recordings says so and
# reads the newest.
source "$ROOT/tests/e2e/lib.sh"
# A shell root (few events) that forks counts and then execs analyze_basic (the most events).
"$MALLOG" record -o t -- sh -c "$PROGS/counts; exec $PROGS/analyze_basic" > /dev/null 2>&1
gen1=( t.*.1.mlog )
[[ ${#gen1[@]} -ge 1 && -f "${gen1[0]}" ]] || die "no exec-generation log: $(ls)"
events() { "$MALLOG" info "$1" | sed -n 's/^events: *\([0-9]*\).*/\1/p'; }
best= most=-1
for l in t.*.mlog; do
    e=$(events "$l")
    (( e > most )) && { most=$e; best=$l; }
done
# default: the process with the most events, named on stderr
"$MALLOG" dump t > def.txt 2> def.err
"$MALLOG" dump "$best" > best.txt
cmp -s def.txt best.txt || die "default process is not the one with the most events ($best): $(cat def.err)"
grep -q 'the process with the most events' def.err || die "no note on the choice: $(cat def.err)"
grep -q -- '--pid PID\[.GEN\]' def.err || die "the note does not say how to choose: $(cat def.err)"
# --pid PID.GEN reads that generation, not generation 0
g=${gen1[0]}; p=${g#t.}; p=${p%%.*}
"$MALLOG" dump t --pid "$p.1" > g1.txt 2> /dev/null
"$MALLOG" dump "$g" > g1want.txt
cmp -s g1.txt g1want.txt || die "--pid $p.1 did not read $g"
[[ -f "t.$p.mlog" ]] || die "no generation 0 log of $p"
"$MALLOG" dump t --pid "$p.0" > g0.txt 2> /dev/null
"$MALLOG" dump "t.$p.mlog" > g0want.txt
cmp -s g0.txt g0want.txt || die "--pid $p.0 did not read generation 0"
# bad --pid values: exit 2 with a message, in every command that takes one
for cmd in info dump stats replay holes report check; do
    for bad in abc 12x 0 -5 "$p.x" "$p."; do
        set +e; "$MALLOG" $cmd t --pid "$bad" > out.txt 2> err.txt; rc=$?; set -e
        expect_eq "$cmd --pid '$bad' exit" "$rc" 2
        grep -q "^mallog $cmd: --pid: '$bad' is not PID or PID.GEN" err.txt || die "$cmd --pid '$bad': $(cat err.txt)"
    done
done
# a pid not in the recording, and a log file named with another --pid
set +e; "$MALLOG" stats t --pid 999999999 > /dev/null 2> err.txt; rc=$?; set -e
expect_eq "absent pid exit" "$rc" 2
grep -q 'no log of pid 999999999' err.txt || die "absent pid: $(cat err.txt)"
set +e; "$MALLOG" dump "$g" --pid "$p.0" > /dev/null 2> err.txt; rc=$?; set -e
expect_eq "file with another pid exit" "$rc" 2
grep -q "no log of pid $p.0" err.txt || die "file with another pid: $(cat err.txt)"
# two recordings under one prefix: the newest is read, and that is said
"$MALLOG" record -o two -- "$PROGS/counts" > /dev/null 2>&1
sleep 0.05
"$MALLOG" record -o two -- "$PROGS/analyze_basic" > /dev/null 2>&1
"$MALLOG" record -o two -- "$PROGS/counts" > /dev/null 2>&1
"$MALLOG" dump two > two.txt 2> two.err
newest=$(ls -t two.*.mlog | head -n 1)
"$MALLOG" dump "$newest" > newest.txt
cmp -s two.txt newest.txt || die "a prefix of three recordings did not read the newest ($newest): $(cat two.err)"
grep -q 'holds 3 recordings; reading the newest' two.err || die "no note on several recordings: $(cat two.err)"
echo ok

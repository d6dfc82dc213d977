# The log decoded once into a tape shared by every allocator's worker (--decode=once, the
# default) replays exactly as every worker decoding it itself (--decode=each): byte-identical
# TSV (time_ns aside) and summaries (events_per_sec aside), on a realloc-heavy log, a
# multi-threaded one (replayed serial: the threaded modes decode in each worker), a forked child
# (its parent's heap seeded first) and a damaged one. The tape is an unnamed file: nothing is
# left in $TMPDIR. Where it cannot be written, the workers decode.
source "$ROOT/tests/e2e/lib.sh"
"$MALLOG" record -o f -- "$PROGS/fragment" 6 > /dev/null
"$MALLOG" record -o mt -- "$PROGS/stress_mt" 4 5000 > /dev/null
"$MALLOG" -q record -o fs -- "$PROGS/lifecycle" fork_storm 2 2 > /dev/null
"$MALLOG" record -o c -- "$BENCH/churn" 300000 > /dev/null
child=$("$MALLOG" info fs | sed -n 's/^  fork pid \([0-9]*\) .*/\1/p' | head -n1)
[[ -n $child ]] || die "no child log"
size=$(stat -c %s "$(only_log c)")
head -c $((size * 2 / 3)) "$(only_log c)" > cut.mlog
mkdir tmpd
same() { # same DIR1 DIR2 ALLOC
    cmp <(cut -f1,3- "$1/replay.$3.tsv") <(cut -f1,3- "$2/replay.$3.tsv") ||
        die "$3: TSV differs between $1 and $2"
    cmp <(sed 's/"events_per_sec": [0-9.e+-]*//' "$1/replay.$3.json") \
        <(sed 's/"events_per_sec": [0-9.e+-]*//' "$2/replay.$3.json") ||
        die "$3: JSON differs between $1 and $2"
}
n=0
for log in "$(only_log f)" "$(only_log mt)" "fs.$child.mlog" cut.mlog; do
    n=$((n + 1))
    set +e
    TMPDIR=$PWD/tmpd "$MALLOG" -q replay "$log" -a glibc,arena --threads=serial -o "once$n" > /dev/null; rc1=$?
    "$MALLOG" -q replay "$log" -a glibc,arena --threads=serial --decode=each -o "each$n" > /dev/null; rc2=$?
    set -e
    expect_eq "exit codes of once and each on $log" "$rc1" "$rc2"
    for a in glibc arena; do
        same "once$n" "each$n" $a
        [[ $(wc -l < "once$n/replay.$a.tsv") -gt 10 ]] || die "$a: too few samples on $log"
    done
    [[ -z $(ls -A tmpd) ]] || die "the tape left files behind: $(ls -A tmpd)"
done
expect_eq "the damaged log is replayed up to its damage" \
    "$(python3 -c "import json; print(0 < json.load(open('once4/replay.arena.json'))['events'] < 300000)")" True
# no room for the tape: the workers decode, with a note, and the result is the same
TMPDIR=/nonexistent "$MALLOG" replay "$(only_log f)" -a glibc,arena -o nofit > /dev/null 2> nofit.txt ||
    die "replay without a tape failed: $(cat nofit.txt)"
grep -q "every allocator decodes the log itself" nofit.txt || die "no note: $(cat nofit.txt)"
same once1 nofit glibc
"$MALLOG" replay x --decode=sometimes 2> err.txt && die "a bad --decode was accepted"
grep -q "once or each" err.txt || die "bad message: $(cat err.txt)"

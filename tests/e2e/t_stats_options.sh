# Issue 15, item 10: every numeric option of stats, diff, dump (and record/pack --level) goes
# through one checked parser: junk, trailing garbage, negatives and out-of-range values are an
# error naming the option, with the usage, exit 2, before any work (nothing on stdout); an empty
# or inverted range is an error, not an empty output.
source "$ROOT/tests/e2e/lib.sh"
P="$PROGS/analyze_basic"
"$MALLOG" record -o a -- "$P"
L=$(only_log a)
# bad CMD OPTION-NAME ARGS...: exit 2, a message naming the option, the usage, empty stdout
bad() {
    local what=$1 name=$2; shift 2
    set +e; "$MALLOG" "$@" > out.txt 2> err.txt; local rc=$?; set -e
    expect_eq "$what: exit" "$rc" 2
    grep -q -- "^mallog $1: $name" err.txt || die "$what: message: $(cat err.txt)"
    grep -q "^usage: mallog $1" err.txt || die "$what: usage: $(cat err.txt)"
    [[ ! -s out.txt ]] || die "$what: work done: $(head -3 out.txt)"
}
for v in abc 12abc -1 '' ' 5' 1.5 0x10 99999999999999999999999 5Q; do
    bad "stats --top '$v'" "--top '$v'" stats "$L" --top "$v"
    bad "stats --temporary '$v'" "--temporary '$v'" stats "$L" --temporary "$v"
    bad "stats --long-lived '$v'" "--long-lived '$v'" stats "$L" --long-lived "$v"
    bad "stats --every '$v'" "--every '$v'" stats "$L" --every "$v"
    bad "diff --top '$v'" "--top '$v'" diff "$L" "$L" --top "$v"
    bad "dump --from '$v'" "--from '$v'" dump "$L" --from "$v"
    bad "dump --to '$v'" "--to '$v'" dump "$L" --to "$v"
    bad "record --level '$v'" "--level '$v'" record --level "$v" -o never -- "$P"
done
[[ -z "$(ls never.* 2>/dev/null)" ]] || die "record ran with a bad --level"
# out of range
bad "stats --top huge" "--top '2000000': out of range" stats "$L" --top 2000000
bad "stats --every 0" "--every '0': out of range" stats "$L" --every 0
bad "stats --long-lived 0" "--long-lived '0': out of range" stats "$L" --long-lived 0
bad "diff --top huge" "--top '1001': out of range" diff "$L" "$L" --top 1001
bad "record --level 0" "--level '0': out of range" record --level 0 -o never -- "$P"
bad "record --level 23" "--level '23': out of range" record --level 23 -o never -- "$P"
set +e; "$MALLOG" pack --level x never > /dev/null 2> err.txt; rc=$?; set -e
expect_eq "pack --level x: exit" "$rc" 2
grep -q "^mallog pack: --level 'x'" err.txt || die "pack: $(cat err.txt)"
# ranges
for r in 20:10 5:5 x:10 10:y -1:5 5:-1 : '' 1:2:3; do
    bad "stats --range '$r'" "--range" stats "$L" --range "$r"
done
bad "dump inverted" "--from 10 --to 5: an empty range" dump "$L" --from 10 --to 5
set +e; "$MALLOG" dump "$L" --from 1000 > out.txt 2> err.txt; rc=$?; set -e
expect_eq "dump past the end: exit" "$rc" 2
grep -q "no events from 1000: the log has 251 events" err.txt || die "dump past end: $(cat err.txt)"
set +e; "$MALLOG" dump "$L" --from 300 --to 400 > out.txt 2> err.txt; rc=$?; set -e
expect_eq "dump range past the end: exit" "$rc" 2
# good values still work (binary multiples as documented)
"$MALLOG" stats "$L" --temporary 1k --long-lived 1M --every 10 --top 3 --range 10:200 > out.txt
grep -q '^range' out.txt || grepq 'events' out.txt || die "good options: $(head -5 out.txt)"
expect_eq "dump 10..12" "$("$MALLOG" dump "$L" --from 10 --to 12 | wc -l)" 3
expect_eq "dump 5..5" "$("$MALLOG" dump "$L" --from 5 --to 5 | cut -d' ' -f1)" 5
"$MALLOG" diff "$L" "$L" --top 0 > /dev/null

# --stacks: every allocation carries its call stack; `stats --by site` attributes exact counts to
# the functions of tests/progs/sites.c, with both unwinders; leaks are named; folded stacks; a
# multithreaded program and forked children get complete stack tables; a log without stacks says so.
source "$ROOT/tests/e2e/lib.sh"

# site_field JSON FUNCTION FIELD -> the sum of FIELD over the sites in FUNCTION
site_field() {
    python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
print(sum(s[sys.argv[3]] for s in d["sites"] if s["function"] == sys.argv[2]))' "$@"
}

for unwind in dwarf fp; do
    "$MALLOG" -q record --stacks --unwind=$unwind -o $unwind -- "$PROGS/sites"
    log=$(only_log $unwind)
    "$MALLOG" stats "$log" --by site --json > $unwind.json
    expect_eq "$unwind small_objects allocs" "$(site_field $unwind.json small_objects allocs)" 100
    expect_eq "$unwind small_objects bytes" "$(site_field $unwind.json small_objects bytes)" 4800
    expect_eq "$unwind scratch_buffers allocs" "$(site_field $unwind.json scratch_buffers allocs)" 10
    expect_eq "$unwind scratch_buffers temporary" "$(site_field $unwind.json scratch_buffers temporary_blocks)" 10
    expect_eq "$unwind leak_records allocs" "$(site_field $unwind.json leak_records allocs)" 7
    expect_eq "$unwind leak_records leaked" "$(site_field $unwind.json leak_records leaked_blocks)" 7
    expect_eq "$unwind leak_records leaked bytes" "$(site_field $unwind.json leak_records leaked_bytes)" 168
    expect_eq "$unwind grow_text allocs (malloc + 5 realloc)" "$(site_field $unwind.json grow_text allocs)" 6
    expect_eq "$unwind zeroed_table allocs" "$(site_field $unwind.json zeroed_table allocs)" 3
    expect_eq "$unwind nothing else leaks" "$(python3 -c 'import json,sys; print(sum(s["leaked_blocks"] for s in json.load(open(sys.argv[1]))["sites"]))' $unwind.json)" 7
    # file:line of the call
    python3 -c '
import json, sys
s = [s for s in json.load(open(sys.argv[1]))["sites"] if s["function"] == "leak_records"][0]
assert s["file"].endswith("sites.c") and s["line"] > 0, s' $unwind.json || die "$unwind: no file:line"
    # every allocation of the program has a stack
    nostack=$("$MALLOG" dump "$log" | grep -E ' (malloc|calloc|realloc)\(' | grep -vc ' stack=' || true)
    expect_eq "$unwind allocations without a stack" "$nostack" 0
done

"$MALLOG" info "$(only_log dwarf)" | grepq -E '^stacks: +6 distinct call stacks' || die "info: stacks line"

# the text report and folded stacks name the leak's whole path
"$MALLOG" stats "$(only_log dwarf)" --by site | grep -E '^7 .* leak_records \(sites\.c:[0-9]+\)$' ||
    die "text report: no leak_records row"
# the default report of a log with stacks names the site of each leak (issue 15)
"$MALLOG" stats "$(only_log dwarf)" > default.txt
grep -qE '^ +24 +7 +168 +[0-9, .]+  at leak_records \(sites\.c:[0-9]+\)$' default.txt ||
    die "default report: leak without its site: $(sed -n '/^leaks/,/^$/p' default.txt)"
"$MALLOG" stats "$(only_log dwarf)" --folded=leaks > leaks.folded
cat leaks.folded
grep -qE '(^|;)main;leak_records 168$' leaks.folded || die "folded leaks"
expect_eq "only one leaking stack" "$(wc -l < leaks.folded)" 1
"$MALLOG" stats "$(only_log dwarf)" --folded=allocs | grepq -E ';main;small_objects 100$' || die "folded allocs"
"$MALLOG" stats "$(only_log dwarf)" --by stack | grepq -E '^ +main \(sites\.c:[0-9]+\)$' || die "--by stack frames"

# threads (both unwinders): 0 anomalies, every allocation with a stack, sites in the worker function
for unwind in dwarf fp; do
    "$MALLOG" -q record --stacks=8 --unwind=$unwind -o mt$unwind -- "$PROGS/stress_mt" 4 20000
    log=$(only_log mt$unwind)
    expect_eq "threads $unwind: anomalies" "$(anomalies "$log")" 0
    nostack=$("$MALLOG" dump "$log" | grep -E ' (malloc|calloc|realloc)\(' | grep -vc ' stack=' || true)
    expect_eq "threads $unwind: allocations without a stack" "$nostack" 0
    "$MALLOG" stats "$log" --by site --json > mt.json
    python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
w = sum(s["allocs"] for s in d["sites"] if s["function"] == "worker")
t = sum(s["allocs"] for s in d["sites"])
assert w > 0.99 * t, (w, t)' mt.json || die "threads $unwind: worker sites"
done

# fork: each child's log has its own stack table, from 1
"$MALLOG" -q record --stacks -o fk -- "$PROGS/lifecycle" fork_storm 2 3
n=0
for log in fk.*.mlog; do
    "$MALLOG" stats "$log" --by site --json > one.json
    python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["stacks"] > 0 and all(s["site"] != "[no stack]" for s in d["sites"] if s["allocs"]), d' one.json ||
        die "$log: allocations without a known stack"
    n=$((n + 1))
done
[[ $n -ge 4 ]] || die "fork_storm: expected the parent and 3 children, got $n logs"

# a log without stacks: a clear word, not an error
"$MALLOG" -q record -o plain -- "$PROGS/sites"
"$MALLOG" stats "$(only_log plain)" --by site > plain.txt 2> plain.err
grep -q 'no call stacks' plain.err || die "no hint for a log without stacks"
grep -q '\[no stack\]' plain.txt || die "plain: no [no stack] row"
"$MALLOG" stats "$(only_log plain)" > plain_default.txt 2> plain_default.err
grep -qE '^ +24 +7 +168 +[0-9, .]+$' plain_default.txt || die "plain: leak row: $(cat plain_default.txt)"
[[ ! -s plain_default.err ]] || die "plain: stderr: $(cat plain_default.err)"

# Acceptance (issue 8): `mallog check --budget`: passes on the unchanged program, fails on the
# variant (one more leak, a bigger buffer), prints each rule with measured value, limit and
# PASS/FAIL; TAP and JUnit output; malformed budget files give line-numbered errors (exit 2);
# a replay figure without a replay is an error "needs replay", never a guess.
source "$ROOT/tests/e2e/lib.sh"
P="$PROGS/analyze_basic"
"$MALLOG" record -o a -- "$P"
"$MALLOG" record -o leak -- "$P" leak
"$MALLOG" record -o big -- "$P" bigger
"$MALLOG" stats a --json > base.json
cat > budget.txt <<'B'
# memory budget of analyze_basic
peak_live_bytes <= 150k          # 100,000 today
leaked_blocks == 5
allocations <= 1.05 * baseline
ops.malloc.calls <= baseline + 0

realloc.longest_chain <= 100
B
run() { set +e; "$MALLOG" check "$@" > out.txt 2> err.txt; echo $?; set -e; }
expect_eq "unchanged: exit" "$(run a --budget budget.txt --baseline base.json)" 0
grep -qE '^PASS  budget.txt:2: peak_live_bytes <= 150k +measured 100000, limit <= 153600$' out.txt ||
    die "PASS line: $(cat out.txt)"
grep -q '^5 rules: 5 passed, 0 failed, 0 errors' out.txt || die "summary line: $(cat out.txt)"
# the summary JSON works as the checked input too
expect_eq "json input: exit" "$(run base.json --budget budget.txt --baseline a)" 0

expect_eq "leak: exit" "$(run leak --budget budget.txt --baseline base.json)" 1
grep -qE '^FAIL  budget.txt:3: leaked_blocks == 5 +measured 6, limit == 5$' out.txt || die "leak: $(cat out.txt)"
grep -qE '^FAIL  budget.txt:5: ops.malloc.calls <= baseline \+ 0 +measured 78, limit <= 77$' out.txt ||
    die "leak baseline: $(cat out.txt)"
expect_eq "leak: fails" "$(grep -c '^FAIL' out.txt)" 2

expect_eq "big: exit" "$(run big --budget budget.txt --baseline base.json --junit j.xml)" 1
expect_eq "big: fails" "$(grep '^FAIL' out.txt | cut -d' ' -f3)" "budget.txt:2:"
grep -q '<testsuite name="mallog check" tests="5" failures="1" errors="0">' j.xml || die "junit: $(cat j.xml)"
grep -q 'name="peak_live_bytes &lt;= 150k"><failure message="measured 200000, limit 153600"/>' j.xml ||
    die "junit failure: $(cat j.xml)"

run big --budget budget.txt --baseline base.json --tap > /dev/null
expect_eq "tap plan" "$(sed -n 2p out.txt)" "1..5"
expect_eq "tap not ok" "$(grep -c '^not ok' out.txt)" 1
grep -q '^not ok 1 - budget.txt:2: peak_live_bytes <= 150k (measured 200000, limit 153600)$' out.txt ||
    die "tap: $(cat out.txt)"

# malformed budgets: every bad line reported with its number, nothing evaluated
cat > bad.txt <<'B'
peak_live_bytes <= 64Q
# fine:
leaked_blocks == 0
no_such_figure < 1
leaked_blocks = 0
allocations <= 1.05 * baseline
leaked_blocks
B
expect_eq "bad: exit" "$(run a --budget bad.txt)" 2
expect_eq "bad: lines" "$(sed -n 's/^mallog check: bad.txt:\([0-9]*\): .*/\1/p' err.txt | tr '\n' ' ')" "1 4 5 6 7 "
grep -q "bad.txt:4: unknown key 'no_such_figure'" err.txt || die "unknown key: $(cat err.txt)"
[[ ! -s out.txt ]] || die "bad budget evaluated rules: $(cat out.txt)"
expect_eq "missing budget" "$(run a --budget nope.txt)" 2

# replay figures: an error without a replay; evaluated from DIR/replay.glibc.json when present
echo 'glibc.footprint_ratio <= 1.5' > r.txt
expect_eq "needs replay: exit" "$(run a --budget r.txt)" 2
grep -q '^ERROR r.txt:1: glibc.footprint_ratio <= 1.5 .*needs replay' out.txt || die "needs replay: $(cat out.txt)"
mkdir fake && echo "{\"allocator\": \"glibc\", \"log\": \"$PWD/$(only_log a)\", \"footprint_ratio_at_peak\": 1.25}" > fake/replay.glibc.json
expect_eq "replay: exit" "$(run a --budget r.txt --replay fake)" 0
grep -q 'measured 1.25, limit <= 1.5' out.txt || die "replay value: $(cat out.txt)"

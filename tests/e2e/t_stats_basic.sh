# Acceptance (issue 6): exact figures of `mallog stats` on a deterministic program
# (tests/progs/analyze_basic.c documents each number), text report and --json.
source "$ROOT/tests/e2e/lib.sh"
JGET_PY='import json,sys
def walk(p, v):
    if isinstance(v, dict):
        for k, x in v.items(): walk(p + [k], x)
    elif isinstance(v, list):
        for i, x in enumerate(v): walk(p + [str(i)], x)
    else: print(".".join(p) + "=" + ("null" if v is None else str(v)))
walk([], json.load(open(sys.argv[1])))'
# jget FILE KEY.PATH -> a JSON value; the file is flattened once (python3: jq is no dependency)
jget() { [[ -f "$1.flat" ]] || python3 -c "$JGET_PY" "$1" > "$1.flat" || die "$1: not JSON"
         awk -v k="$2" 'index($0, k "=") == 1 { print substr($0, length(k) + 2); f=1 } END { if (!f) print "MISSING" }' "$1.flat"; }
"$MALLOG" record -o b -- "$PROGS/analyze_basic"
log=$(only_log b)
"$MALLOG" stats "$log" --json --temporary 1 > s.json
expect_eq "ops.malloc.calls" "$(jget s.json ops.malloc.calls)" 77
expect_eq "ops.malloc.failed" "$(jget s.json ops.malloc.failed)" 1
expect_eq "ops.realloc.calls" "$(jget s.json ops.realloc.calls)" 100
expect_eq "ops.calloc.calls" "$(jget s.json ops.calloc.calls)" 1
expect_eq "ops.free.calls" "$(jget s.json ops.free.calls)" 72
expect_eq "allocations" "$(jget s.json allocations)" 77   # 76 mallocs that succeeded + calloc
expect_eq "frees" "$(jget s.json frees)" 72
expect_eq "failed" "$(jget s.json failed)" 1
expect_eq "peak_live_requested" "$(jget s.json peak_live_requested)" 100000
expect_eq "peak_live_blocks" "$(jget s.json peak_live_blocks)" 50
# the peak is reached by the 50th malloc(2000): find its event index in the dump
want=$("$MALLOG" dump "$log" | awk '$4 ~ /^malloc\(2000\)/ { n++; if (n == 50) print $1 }')
expect_eq "peak_event" "$(jget s.json peak_event)" "$want"
expect_eq "leaked_blocks" "$(jget s.json leaked_blocks)" 5
expect_eq "leaked_bytes" "$(jget s.json leaked_bytes)" 8072
expect_eq "live_at_end_blocks" "$(jget s.json live_at_end_blocks)" 5
expect_eq "temporary_blocks" "$(jget s.json temporary_blocks)" 21   # 20 x malloc(64) + calloc
expect_eq "realloc.calls" "$(jget s.json realloc.calls)" 100
expect_eq "realloc.longest_chain" "$(jget s.json realloc.longest_chain)" 100
expect_eq "chain start size" "$(jget s.json chains.0.start_size)" 16
expect_eq "chain end size" "$(jget s.json chains.0.end_size)" 816
expect_eq "in place + moved" $(( $(jget s.json realloc.in_place) + $(jget s.json realloc.moved) )) 100
# cumulative: 50*2000 + 20*64 + 16 + sum(16+8i, i=1..100) + 100 + 5 leaks
expect_eq "cumulative_requested" "$(jget s.json cumulative_requested)" $(( 100000 + 1280 + 16 + 42000 + 100 + 72 + 8000 ))
# compensated: the chain counts 16 + 100 * 8 growth
expect_eq "cumulative_compensated" "$(jget s.json cumulative_compensated)" $(( 100000 + 1280 + 16 + 800 + 100 + 72 + 8000 ))
expect_eq "threads" "$(jget s.json threads)" 1
expect_eq "damage" "$(jget s.json damage)" null
expect_eq "unknown_frees" "$(jget s.json unknown_frees)" 0
# leaks grouped by size, the biggest first
expect_eq "leak 0 size" "$(jget s.json leaks.0.size)" 4000
expect_eq "leak 0 count" "$(jget s.json leaks.0.count)" 2
expect_eq "leak 1 size" "$(jget s.json leaks.1.size)" 24
expect_eq "leak 1 count" "$(jget s.json leaks.1.count)" 3
# lifetimes: each of the 50 big blocks lived exactly 50 events (class 32..63)
expect_eq "lifetime class" "$(awk -F= '/^lifetimes\.[0-9]+\.min_events=32$/ { split($1, p, "."); i = p[2] }
    i != "" && $1 == "lifetimes." i ".count" { print $2; exit }' s.json.flat)" 50
# the readable report says the same
"$MALLOG" stats "$log" > s.txt
grep -q '^peak: .*(100000 bytes)' s.txt || die "report peak"
grep -q '^leaks:  *5 blocks' s.txt || die "report leaks"
grep -qE '^ +[0-9]+ +100 +16 +816 ' s.txt || die "report chain"
# a recording prefix works like the file
"$MALLOG" stats b --json > p.json
expect_eq "prefix events" "$(jget p.json events)" "$(jget s.json events)"
# bad arguments are errors (exit 2)
set +e
"$MALLOG" stats "$log" --range 5:1 > /dev/null 2>&1; expect_eq "bad range exit" $? 2
"$MALLOG" stats nonexistent.mlog > /dev/null 2>&1; expect_eq "missing log exit" $? 2
set -e

# Acceptance (issue 6): per-thread breakdown and cross-thread frees (tests/progs/analyze_threads.c).
source "$ROOT/tests/e2e/lib.sh"
JGET_PY='import json,sys
def walk(p, v):
    if isinstance(v, dict):
        for k, x in v.items(): walk(p + [k], x)
    elif isinstance(v, list):
        for i, x in enumerate(v): walk(p + [str(i)], x)
    else: print(".".join(p) + "=" + ("null" if v is None else str(v)))
walk([], json.load(open(sys.argv[1])))'
jget() { [[ -f "$1.flat" ]] || python3 -c "$JGET_PY" "$1" > "$1.flat" || die "$1: not JSON"
         awk -v k="$2" 'index($0, k "=") == 1 { print substr($0, length(k) + 2); f=1 } END { if (!f) print "MISSING" }' "$1.flat"; }
"$MALLOG" record -o t -- "$PROGS/analyze_threads"
log=$(only_log t)
"$MALLOG" stats "$log" --json --tsv tsv > s.json
expect_eq threads "$(jget s.json threads)" 2
expect_eq cross_thread_frees "$(jget s.json cross_thread_frees)" 15
expect_eq "thread 0 cross frees" "$(jget s.json per_thread.0.cross_frees)" 5
expect_eq "thread 1 cross frees" "$(jget s.json per_thread.1.cross_frees)" 10
expect_eq "thread 0 freed by others" "$(jget s.json per_thread.0.freed_by_others)" 10
expect_eq "thread 1 freed by others" "$(jget s.json per_thread.1.freed_by_others)" 5
# the worker's 123-byte block is leaked (glibc's own thread bookkeeping may leak too)
grep -q '^123	1	123	' tsv/leaks.tsv || die "leak of 123: $(cat tsv/leaks.tsv)"
# threads.tsv: one row per thread, tid matches the thread_start records
expect_eq "threads.tsv rows" "$(tail -n +2 tsv/threads.tsv | wc -l)" 2
tids=$("$MALLOG" dump "$log" | sed -n 's/.*thread_start(tid \([0-9]*\)).*/\1/p' | sort | tr '\n' ' ')
got=$(tail -n +2 tsv/threads.tsv | cut -f2 | sort | tr '\n' ' ')
expect_eq "tids" "$got" "$tids"

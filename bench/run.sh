#!/usr/bin/env bash
# make bench: mallog's costs as side-by-side ratios on this machine (shared and noisy, so every
# figure is a median over alternating runs: plain, recorded, plain, recorded, ...).
#   - recording overhead: `mallog record` wall / plain wall, on a malloc-bound program (10M calls)
#     and on a real program (python3), plus the traced process alone (without packing)
#   - compressed bytes per event
#   - the same with --stacks (call stacks per allocation), and for heaptrack when it is installed
#   - replay and analysis throughput (bench/replay.sh, bench/analyze.sh when present)
#   - allocator speed on a 4-thread trace, the real program beside `replay --bench` (threads.sh)
# Usage: bench/run.sh MALLOG PRELOAD   (RUNS=N to change the number of rounds, default 5)
set -euo pipefail
MALLOG=$(realpath "$1")
PRELOAD=$(realpath "$2")
ROOT=$(cd "$(dirname "$0")/.." && pwd)
RUNS=${RUNS:-5}
CALLS=${CALLS:-10000000}
W=$(mktemp -d /tmp/mallog-bench.XXXXXX)
trap 'rm -rf "$W"' EXIT
OUT=$ROOT/build/bench/results.md
mkdir -p "$(dirname "$OUT")"

now() { date +%s%N; }

# time_cmd CMD... -> prints wall seconds of one run (output discarded)
time_cmd() {
    local t0 t1
    t0=$(now)
    "$@" > /dev/null 2>&1 || true
    t1=$(now)
    echo "scale=4; ($t1 - $t0) / 1000000000" | bc
}

median() { sort -g | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

# ratio_row NAME SETUP_FN -- PLAIN... -- RECORDED...: alternating runs, median wall of each and the
# median of the pairwise ratios. Runs cleanup between rounds (logs removed).
ratio() {
    local name=$1; shift
    local plain=() rec=()
    while [[ $1 != -- ]]; do plain+=("$1"); shift; done; shift
    rec=("$@")
    local pa=() ra=() rr=()
    time_cmd "${plain[@]}" > /dev/null; time_cmd "${rec[@]}" > /dev/null; rm -rf "$W"/rec* # warm-up
    for _ in $(seq "$RUNS"); do
        local a b
        a=$(time_cmd "${plain[@]}")
        b=$(time_cmd "${rec[@]}")
        rm -rf "$W"/rec*
        pa+=("$a"); ra+=("$b"); rr+=("$(echo "scale=4; $b / $a" | bc)")
    done
    printf '| %s | %.3f s | %.3f s | **%.2fx** |\n' "$name" \
        "$(printf '%s\n' "${pa[@]}" | median)" "$(printf '%s\n' "${ra[@]}" | median)" \
        "$(printf '%s\n' "${rr[@]}" | median)"
}

PY=/usr/bin/python3
[[ -x $PY ]] || PY=$(command -v python3)
PYPROG='d = {}
for i in range(300000):
    s = str(i) * 20
    d[s] = [s, i, (i, s)]
    if i % 3 == 0:
        del d[s]
print(len(d))'

{
echo "## mallog benchmark ($(date -u +%Y-%m-%d), $(nproc) cores, median of $RUNS alternating runs)"
echo
echo "### Recording overhead (wall time, recorded / plain)"
echo
echo "| workload | plain | recorded | ratio |"
echo "|---|---|---|---|"
ratio "churn $CALLS calls: mallog record (run + pack)" "$ROOT/build/bench/churn" "$CALLS" -- \
    "$MALLOG" -q record -o "$W/rec" -- "$ROOT/build/bench/churn" "$CALLS"
ratio "churn $CALLS calls: traced process only (spool, no pack)" "$ROOT/build/bench/churn" "$CALLS" -- \
    env LD_PRELOAD="$PRELOAD" MALLOG_OUT="$W/rec" "$ROOT/build/bench/churn" "$CALLS"
ratio "python3 (its default allocator, pymalloc): mallog record" "$PY" -c "$PYPROG" -- \
    "$MALLOG" -q record -o "$W/rec" -- "$PY" -c "$PYPROG"
ratio "python3 with PYTHONMALLOC=malloc (every object a malloc): mallog record" \
    env PYTHONMALLOC=malloc "$PY" -c "$PYPROG" -- \
    env PYTHONMALLOC=malloc "$MALLOG" -q record -o "$W/rec" -- "$PY" -c "$PYPROG"
if command -v heaptrack > /dev/null; then
    ratio "churn $CALLS calls: heaptrack" "$ROOT/build/bench/churn" "$CALLS" -- \
        heaptrack -o "$W/rec.ht" "$ROOT/build/bench/churn" "$CALLS"
    ratio "python3 (pymalloc): heaptrack" "$PY" -c "$PYPROG" -- heaptrack -o "$W/rec.ht" "$PY" -c "$PYPROG"
    ratio "python3 with PYTHONMALLOC=malloc: heaptrack" env PYTHONMALLOC=malloc "$PY" -c "$PYPROG" -- \
        env PYTHONMALLOC=malloc heaptrack -o "$W/rec.ht" "$PY" -c "$PYPROG"
fi
echo
echo "### Call stacks (--stacks): the same workloads, every allocation with its stack"
echo
echo "| workload | plain | recorded | ratio |"
echo "|---|---|---|---|"
ratio "churn $CALLS calls: mallog record --stacks (libunwind)" "$ROOT/build/bench/churn" "$CALLS" -- \
    "$MALLOG" -q record --stacks -o "$W/rec" -- "$ROOT/build/bench/churn" "$CALLS"
ratio "churn $CALLS calls: mallog record --stacks --unwind=fp" "$ROOT/build/bench/churn" "$CALLS" -- \
    "$MALLOG" -q record --stacks --unwind=fp -o "$W/rec" -- "$ROOT/build/bench/churn" "$CALLS"
ratio "python3 (pymalloc): mallog record --stacks" "$PY" -c "$PYPROG" -- \
    "$MALLOG" -q record --stacks -o "$W/rec" -- "$PY" -c "$PYPROG"
ratio "python3 with PYTHONMALLOC=malloc: mallog record --stacks" \
    env PYTHONMALLOC=malloc "$PY" -c "$PYPROG" -- \
    env PYTHONMALLOC=malloc "$MALLOG" -q record --stacks -o "$W/rec" -- "$PY" -c "$PYPROG"
echo
echo "### Log size"
echo
echo "| workload | events | log bytes | bytes/event |"
echo "|---|---|---|---|"
"$MALLOG" -q record -o "$W/size.churn" -- "$ROOT/build/bench/churn" "$CALLS" > /dev/null
l=$(ls "$W"/size.churn.*.mlog)
ev=$("$MALLOG" info "$l" | sed -n 's/^events: *\([0-9]*\).*/\1/p')
ev_churn=$ev
by=$(stat -c %s "$l")
printf '| churn (random sizes, random frees among 32k live blocks) | %s | %s | %.2f |\n' "$ev" "$by" "$(echo "scale=4; $by / $ev" | bc)"
"$MALLOG" -q record -o "$W/size.py" -- "$PY" -c "$PYPROG" > /dev/null
l=$(ls -S "$W"/size.py.*.mlog | head -n1)
ev=$("$MALLOG" info "$l" | sed -n 's/^events: *\([0-9]*\).*/\1/p')
by=$(stat -c %s "$l")
printf '| python3 (pymalloc) | %s | %s | %.2f |\n' "$ev" "$by" "$(echo "scale=4; $by / $ev" | bc)"
PYTHONMALLOC=malloc "$MALLOG" -q record -o "$W/size.pym" -- "$PY" -c "$PYPROG" > /dev/null
l=$(ls -S "$W"/size.pym.*.mlog | head -n1)
ev=$("$MALLOG" info "$l" | sed -n 's/^events: *\([0-9]*\).*/\1/p')
by=$(stat -c %s "$l")
printf '| python3 (PYTHONMALLOC=malloc) | %s | %s | %.2f |\n' "$ev" "$by" "$(echo "scale=4; $by / $ev" | bc)"
PYTHONMALLOC=malloc "$MALLOG" -q record --stacks -o "$W/size.pys" -- "$PY" -c "$PYPROG" > /dev/null
l=$(ls -S "$W"/size.pys.*.mlog | head -n1)
ev=$("$MALLOG" info "$l" | sed -n 's/^events: *\([0-9]*\).*/\1/p')
by=$(stat -c %s "$l")
printf '| python3 (PYTHONMALLOC=malloc), --stacks | %s | %s | %.2f |\n' "$ev" "$by" "$(echo "scale=4; $by / $ev" | bc)"
if command -v heaptrack > /dev/null; then
    heaptrack -o "$W/size.ht" "$ROOT/build/bench/churn" "$CALLS" > /dev/null 2>&1 || true
    f=$(ls "$W"/size.ht* 2> /dev/null | head -n1)
    [[ -n "$f" ]] && printf '| churn, heaptrack (final zstd file; no op type, thread or alignment) | %s | %s | %.2f |\n' \
        "$ev_churn" "$(stat -c %s "$f")" "$(echo "scale=4; $(stat -c %s "$f") / $CALLS" | bc)" 2>/dev/null || true
fi
churn_log=$(ls "$W"/size.churn.*.mlog)
echo
for extra in replay analyze; do
    if [[ -x "$ROOT/bench/$extra.sh" || -f "$ROOT/bench/$extra.sh" ]]; then
        echo "### ${extra^} throughput (churn log, $ev_churn events)"
        echo
        bash "$ROOT/bench/$extra.sh" "$MALLOG" "$churn_log" || echo "($extra bench failed)"
        echo
    fi
done
echo "### Allocator speed on a multi-threaded trace: the real program and \`replay --bench\`"
echo
bash "$ROOT/bench/threads.sh" "$MALLOG" || echo "(threads bench failed)"
echo
} | tee "$OUT"
echo "results written to $OUT" >&2

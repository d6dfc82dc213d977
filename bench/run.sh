#!/usr/bin/env bash
# make bench: mallog's costs as side-by-side ratios on this machine (shared and noisy, so every
# figure is a median over alternating runs: plain, recorded, plain, recorded, ...).
#   - recording overhead: `mallog record` / plain, wall and CPU (whole process tree), on a
#     malloc-bound program (10M calls; also with both pinned to one core), 4 threads with
#     cross-thread frees, python3, git log -p, a shell loop of 200 short processes and make -j2
#     of a generated C project; plus the traced process alone (without packing)
#   - compressed bytes per event
#   - the same with --stacks (call stacks per allocation), and for heaptrack when it is installed
#   - replay and analysis throughput (bench/replay.sh, bench/analyze.sh when present)
#   - allocator speed on a 4-thread trace, the real program beside `replay --bench` (threads.sh)
# Usage: bench/run.sh MALLOG PRELOAD   (RUNS=N to change the number of rounds, default 5;
#        ONLY=overhead for the recording overhead table alone)
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

# run_cmd CMD... -> prints "wall cpu" seconds of one run (output discarded); cpu = user + sys of
# the whole process tree (every descendant is waited for by the tree, so it is in the rusage)
run_cmd() {
    /usr/bin/time -f '%e %U %S' -o "$W/time.txt" "$@" > /dev/null 2>&1 || true
    awk 'END { printf "%s %.4f\n", $1, $2 + $3 }' "$W/time.txt"
}

median() { sort -g | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

# ratio NAME PLAIN... -- RECORDED...: alternating runs (plain, recorded, plain, ...); the median
# wall of each, the median of the pairwise wall ratios and of the pairwise CPU ratios (user + sys
# of the whole process tree: the packer's work on the other core shows there, not in the wall).
# Logs are removed between rounds; PREP (a command, when set) runs before every run.
ratio() {
    local name=$1; shift
    local plain=() rec=()
    while [[ $1 != -- ]]; do plain+=("$1"); shift; done; shift
    rec=("$@")
    local pa=() ra=() rr=() cr=()
    ${PREP:-true}; run_cmd "${plain[@]}" > /dev/null; ${PREP:-true}; run_cmd "${rec[@]}" > /dev/null
    rm -rf "$W"/rec* # warm-up
    for _ in $(seq "$RUNS"); do
        local a b
        ${PREP:-true}; a=$(run_cmd "${plain[@]}")
        ${PREP:-true}; b=$(run_cmd "${rec[@]}")
        rm -rf "$W"/rec*
        pa+=("${a% *}"); ra+=("${b% *}")
        rr+=("$(echo "scale=4; ${b% *} / ${a% *}" | bc)")
        cr+=("$(echo "scale=4; ${b#* } / ${a#* }" | bc)")
    done
    printf '| %s | %.3f s | %.3f s | **%.2fx** | %.2fx |\n' "$name" \
        "$(printf '%s\n' "${pa[@]}" | median)" "$(printf '%s\n' "${ra[@]}" | median)" \
        "$(printf '%s\n' "${rr[@]}" | median)" "$(printf '%s\n' "${cr[@]}" | median)"
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
echo "### Recording overhead (recorded / plain: wall, and CPU of the whole process tree)"
echo
echo "| workload | plain | recorded | wall ratio | CPU ratio |"
echo "|---|---|---|---|---|"
ratio "churn $CALLS calls: mallog record (run + pack)" "$ROOT/build/bench/churn" "$CALLS" -- \
    "$MALLOG" -q record -o "$W/rec" -- "$ROOT/build/bench/churn" "$CALLS"
ratio "churn $CALLS calls: traced process only (spool, no pack)" "$ROOT/build/bench/churn" "$CALLS" -- \
    env LD_PRELOAD="$PRELOAD" MALLOG_OUT="$W/rec" "$ROOT/build/bench/churn" "$CALLS"
ratio "churn $CALLS calls, both on one core (taskset -c 0): mallog record" \
    taskset -c 0 "$ROOT/build/bench/churn" "$CALLS" -- \
    taskset -c 0 "$MALLOG" -q record -o "$W/rec" -- "$ROOT/build/bench/churn" "$CALLS"
ratio "4 threads x 2M calls, cross-thread frees (stress_mt): mallog record" \
    "$ROOT/build/progs/stress_mt" 4 2000000 -- \
    "$MALLOG" -q record -o "$W/rec" -- "$ROOT/build/progs/stress_mt" 4 2000000
ratio "python3 (its default allocator, pymalloc): mallog record" "$PY" -c "$PYPROG" -- \
    "$MALLOG" -q record -o "$W/rec" -- "$PY" -c "$PYPROG"
ratio "python3 with PYTHONMALLOC=malloc (every object a malloc): mallog record" \
    env PYTHONMALLOC=malloc "$PY" -c "$PYPROG" -- \
    env PYTHONMALLOC=malloc "$MALLOG" -q record -o "$W/rec" -- "$PY" -c "$PYPROG"
if command -v git > /dev/null; then
    # a 400-commit repository, each commit changing one of 20 files
    GITREPO=$W/gitrepo
    git init -q "$GITREPO"
    for i in $(seq 400); do
        f=$GITREPO/f$((i % 20)).txt
        seq "$i" $((i + 200)) > "$f"
        git -C "$GITREPO" add -A
        git -C "$GITREPO" -c user.name=b -c user.email=b@b commit -qm "c$i"
    done
    ratio "git log -p (400 commits): mallog record" git -C "$GITREPO" log -p -- \
        "$MALLOG" -q record -o "$W/rec" -- git -C "$GITREPO" log -p
fi
printf 'i=0; while [ $i -lt 200 ]; do /bin/true; i=$((i + 1)); done\n' > "$W/loop.sh"
ratio "a shell loop starting 200 short processes (/bin/true): mallog record" sh "$W/loop.sh" -- \
    "$MALLOG" -q record -o "$W/rec" -- sh "$W/loop.sh"
if command -v make > /dev/null && command -v cc > /dev/null; then
    bash "$ROOT/bench/gen-project.sh" "$W/proj" 48
    PREP="make -s -C $W/proj clean" ratio "make -j2 of a generated 48-file C project (bench/gen-project.sh): mallog record" \
        make -s -j2 -C "$W/proj" -- "$MALLOG" -q record -o "$W/rec" -- make -s -j2 -C "$W/proj"
fi
if command -v heaptrack > /dev/null; then
    ratio "churn $CALLS calls: heaptrack" "$ROOT/build/bench/churn" "$CALLS" -- \
        heaptrack -o "$W/rec.ht" "$ROOT/build/bench/churn" "$CALLS"
    ratio "python3 (pymalloc): heaptrack" "$PY" -c "$PYPROG" -- heaptrack -o "$W/rec.ht" "$PY" -c "$PYPROG"
    ratio "python3 with PYTHONMALLOC=malloc: heaptrack" env PYTHONMALLOC=malloc "$PY" -c "$PYPROG" -- \
        env PYTHONMALLOC=malloc heaptrack -o "$W/rec.ht" "$PY" -c "$PYPROG"
fi
echo
if [[ ${ONLY:-} == overhead ]]; then exit 0; fi # ONLY=overhead: the table above alone
echo "### Call stacks (--stacks): the same workloads, every allocation with its stack"
echo
echo "| workload | plain | recorded | wall ratio | CPU ratio |"
echo "|---|---|---|---|---|"
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

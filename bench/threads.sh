#!/usr/bin/env bash
# bench/threads.sh MALLOG [THREADS] [CALLS] - allocator speed on a multi-threaded trace, side by
# side with the real program: bench/mt_churn (THREADS threads, default 4, CALLS calls each,
# default 1500000, frees by other threads) run with each installed allocator preloaded (RUNS
# rounds, default 5, the allocators in turn: median wall and CPU), then recorded once and
# replayed with `mallog replay --bench` (the same allocators, RUNS replays each). Prints markdown:
# each allocator's speed against glibc, natively and in the replay. No assertions: numbers only.
set -euo pipefail
mallog=$(realpath "$1")
threads=${2:-4}
calls=${3:-1500000}
runs=${RUNS:-5}
root=$(cd "$(dirname "$0")/.." && pwd)
prog=$root/build/bench/mt_churn
tmp=$(mktemp -d /tmp/mallog-bench-threads.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# glibc and the installed libraries, as mallog knows them (its own arena is no real allocator)
allocs=("glibc -")
while IFS=$'\t' read -r name lib _; do
    [[ $lib == /* ]] && allocs+=("$name $lib")
done < <("$mallog" replay --list-allocators)
median() { sort -g | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

for ((r = 0; r < runs; r++)); do
    for spec in "${allocs[@]}"; do
        read -r name lib <<< "$spec"
        pre=; [[ $lib != - ]] && pre=$lib
        # wall and CPU (user + system) of the whole program
        /usr/bin/time -f "%e %U %S" -o "$tmp/t" env LD_PRELOAD="$pre" "$prog" "$threads" "$calls"
        read -r wall user sys < "$tmp/t"
        echo "$wall" >> "$tmp/$name.wall"
        echo "$user + $sys" | bc >> "$tmp/$name.cpu"
    done
done
"$mallog" -q record -o "$tmp/mt" -- "$prog" "$threads" "$calls" > /dev/null
log=$(ls "$tmp"/mt.*.mlog)
events=$("$mallog" info "$log" | sed -n 's/^events: *\([0-9]*\).*/\1/p')
names=$(printf '%s\n' "${allocs[@]}" | cut -d' ' -f1 | paste -sd,)
"$mallog" -q replay "$log" --bench --repeat "$runs" -a "$names" -o "$tmp/out" > "$tmp/bench.txt"

echo "mt_churn: $threads threads x $calls calls ($events events), $runs rounds, $(nproc) cores (shared)"
echo
echo "| allocator | real program: wall (median) | CPU | speed vs glibc | replay --bench: calls' wall (median) | CPU | speed vs glibc |"
echo "|---|---:|---:|---:|---:|---:|---:|"
gw=$(median < "$tmp/glibc.wall")
gr=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['replay_seconds'])" "$tmp/out/replay.glibc.json")
for spec in "${allocs[@]}"; do
    read -r name lib <<< "$spec"
    w=$(median < "$tmp/$name.wall") c=$(median < "$tmp/$name.cpu")
    read -r rs rc <<< "$(python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(d['replay_seconds'], d['replay_cpu_seconds'])" "$tmp/out/replay.$name.json")"
    printf '| %s | %.3f s | %.3f s | %.2fx | %.3f s | %.3f s | %.2fx |\n' "$name" "$w" "$c" \
        "$(echo "scale=4; $gw / $w" | bc)" "$rs" "$rc" "$(echo "scale=4; $gr / $rs" | bc)"
done

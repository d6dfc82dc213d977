#!/usr/bin/env bash
# bench/replay.sh MALLOG LOG [RUNS] - replay throughput per installed allocator, and the
# replayer's own overhead: the measured loop of a full replay (it plays the op tape the log was
# decoded into, once, before the workers start; sampling time excluded) against the bare
# allocator calls (the same calls from a pre-translated array in a tight loop, no tape, no
# control records: `mallog replay --bare`). Both with --touch=none, so page faults do
# not hide the replayer's cost. Best of RUNS (default 3) alternating runs. Then the whole
# command on every allocator, the log decoded once against decoded by each worker.
# Prints markdown. No assertions: numbers only.
set -euo pipefail
mallog=$(realpath "$1")
log=$(realpath "$2")
runs=${3:-3}
tmp=$(mktemp -d /tmp/mallog-bench-replay.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# the installed allocators, as mallog knows them (name, library, pinned settings)
allocs=()
while IFS=$'\t' read -r name lib _; do
    [[ $lib != - ]] && allocs+=("$name")
done < <("$mallog" replay --list-allocators)

events=$("$mallog" info "$log" | sed -n 's/^events: *\([0-9]*\).*/\1/p')
echo "log: $log ($events events), best of $runs, touch=none, $(nproc) cores (shared)"
echo
echo "| allocator | replay events/s | bare calls/s | replay / bare time |"
echo "|---|---:|---:|---:|"
for name in "${allocs[@]}"; do
    best_replay=0 best_bare=0
    for ((i = 0; i < runs; i++)); do
        rm -rf "$tmp/out"
        "$mallog" -q replay "$log" -a "$name" -o "$tmp/out" --touch=none --samples 10 > /dev/null
        eps=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['events_per_sec'])" \
            "$tmp/out/replay.$name.json")
        read -r _ calls ns < <("$mallog" -q replay "$log" -a "$name" --bare --touch=none)
        bare=$(python3 -c "print($calls * 1e9 / $ns)")
        best_replay=$(python3 -c "print(max($best_replay, $eps))")
        best_bare=$(python3 -c "print(max($best_bare, $bare))")
    done
    python3 -c "print('| %s | %.2fM | %.2fM | %.2fx |' % ('$name', $best_replay / 1e6, $best_bare / 1e6, $best_bare / $best_replay))"
done

# The whole command on every allocator at once: the log decoded once into a tape that every
# worker replays (the default) against each worker decoding it itself (--decode=each).
names=$(IFS=,; echo "${allocs[*]}")
best_once= best_each=
for ((i = 0; i < runs; i++)); do
    for mode in once each; do
        t0=$(date +%s.%N)
        "$mallog" -q replay "$log" -a "$names" --touch=none --samples 10 --decode=$mode > /dev/null
        t=$(python3 -c "print($(date +%s.%N) - $t0)")
        if [[ $mode == once ]]; then
            best_once=$(python3 -c "print(min(${best_once:-1e9}, $t))")
        else
            best_each=$(python3 -c "print(min(${best_each:-1e9}, $t))")
        fi
    done
done
echo
python3 -c "print('\`mallog replay\` on all %d allocators at once (touch=none, 10 samples), wall time, best of $runs: decoded once %.2f s, decoded by each worker %.2f s (%.2fx)' % ($(echo "$names" | tr ',' '\n' | wc -l), $best_once, $best_each, $best_once / $best_each))"

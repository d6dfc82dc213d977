#!/usr/bin/env bash
# compare_outputs.sh - runs two mallog builds on the same logs and compares every output byte for
# byte: a refactoring must not change what any command prints or writes. Not a t_*.sh test (it
# needs a second build); run it by hand or from CI after a change that should change nothing:
#   tests/e2e/compare_outputs.sh OLD_MALLOG NEW_MALLOG
#   tests/e2e/compare_outputs.sh --base REV      (builds REV in a temporary worktree first)
# Logs: test programs recorded once (with NEW's libmallog.so) and the damaged-log corpus.
# Commands: info, dump, stats (text, --json, --tsv, --range, --by site), replay (arena and glibc,
# fixed samples, TSV and JSON), holes (text and JSON), diff and check (logs and saved JSON), plot. Masked: measured time (the time_ns
# column, events_per_sec, the events/s column of the replay table) and the "start" addresses of
# holes --json, which are addresses inside the replaying process (its heap begins after the
# binary, so a binary of another size moves them).
# Prints one line per difference and ends with `N same, N different`; exit 1 if any differs.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
if [[ ${1:-} == --base ]]; then
    base=$(mktemp -d /tmp/mallog-base.XXXXXX)
    git -C "$root" worktree add -q --detach "$base" "$2" || exit 2
    trap 'git -C "$root" worktree remove --force "$base"' EXIT
    make -C "$base" -j2 build/release/mallog >/dev/null || exit 2
    set -- "$base/build/release/mallog" "$root/build/release/mallog"
fi
old=$(realpath "$1") new=$(realpath "$2")
progs=$root/build/progs
work=$(mktemp -d /tmp/mallog-compare.XXXXXX)
cd "$work" || exit 2

# -- the logs ------------------------------------------------------------------------------
mkdir logs
rec() { # rec NAME [record options] -- command
    local name=$1; shift
    "$new" -q record -o "logs/$name" "$@" >/dev/null 2>&1 || echo "note: recording $name exited $?"
}
rec counts -- "$progs/counts"
rec fragment -- "$progs/fragment"
rec threads -- "$progs/analyze_threads"
rec stress --no-follow -- "$progs/stress_mt"
rec basic -- "$progs/analyze_basic"
rec tree -- "$progs/lifecycle" fork_storm 2 3
rec sites --stacks -- "$progs/sites"
rec cxx -- "$progs/cxx_new"
logs=(logs/*.mlog)
corpus=("$root"/tests/corpus/log/*.mlog)

# -- masks for what is measured, not computed -------------------------------------------------
mask() { # mask FILE: stdin -> stdout
    case $1 in
    *.tsv) awk -F'\t' -v OFS='\t' 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "time_ns") c = i }
                                    c { $c = "-" } { print }' ;;
    *) sed -E 's/"events_per_sec": [0-9.e+-]+/"events_per_sec": -/g; s/"start": [0-9]+/"start": -/g;
              s/ +[0-9.]+M$/ -/; s/[0-9.]+M events\/s/- events\/s/g' ;;
    esac
}

same=0 diff=0
# run TAG ARGS...: runs both builds (output dir, if any, named by the literal OUT in ARGS)
run() {
    local tag=$1; shift
    local side
    for side in old new; do
        local bin=${!side} d="$work/out.$side"
        rm -rf "$d"; mkdir -p "$d"
        local args=("${@//OUT/$d/o}")
        ( cd "$d" && "$bin" "${args[@]}" >"$d/stdout" 2>"$d/stderr"; echo "exit $?" >"$d/exit" )
        sed -i "s|$bin|MALLOG|g; s|$d|OUT|g" "$d/stderr" "$d/stdout"
    done
    local f rel bad=0
    while IFS= read -r f; do
        rel=${f#"$work/out.old/"}
        if ! cmp -s <(mask "$f" <"$f") <(mask "$f" <"$work/out.new/$rel" 2>/dev/null); then
            echo "DIFF $tag: $rel"; bad=1
        fi
    done < <(find "$work/out.old" -type f | sort)
    [[ $(cd "$work/out.old" && find . | sort) == $(cd "$work/out.new" && find . | sort) ]] ||
        { echo "DIFF $tag: other files written"; bad=1; }
    if [[ $bad -eq 0 ]]; then same=$((same + 1)); else diff=$((diff + 1)); fi
}

for l in "${logs[@]}" "${corpus[@]}"; do
    l=$(realpath "$l")
    n=$(basename "$l")
    run "info $n" info "$l"
    run "dump $n" dump "$l"
    run "stats $n" stats "$l"
    run "stats --json $n" stats "$l" --json
    run "stats --tsv $n" stats "$l" --tsv OUT --every 97
    run "stats --range $n" stats "$l" --range 10:5000 --json --temporary 7 --long-lived 300
done
for l in "${logs[@]}"; do
    l=$(realpath "$l")
    n=$(basename "$l")
    run "replay $n" replay "$l" -a arena,glibc --samples 40 -o OUT
    run "holes $n" holes "$l" -a arena --at worst --top 5
    run "holes --json $n" holes "$l" -a glibc --at peak --json
done
for l in logs/sites.*.mlog; do
    run "stats --by site" stats "$(realpath "$l")" --by site
    run "stats --by stack" stats "$(realpath "$l")" --by stack --top 5
    run "stats --folded" stats "$(realpath "$l")" --folded=bytes
done
# diff and check read logs and saved summaries (common/json.c's walk)
printf 'peak_live_bytes <= 1M\nallocations <= 1.05 * baseline\nleaked_blocks == 0\narena.footprint_ratio <= 1.5\n' > budget
fr=$(realpath logs/fragment.*.mlog) co=$(realpath logs/counts.*.mlog)
"$new" stats "$fr" --json > fragment.json
run "diff logs" diff "$co" "$fr" --all
run "diff json" diff "$work/fragment.json" "$fr" --top 7
run "check" check "$fr" --budget "$work/budget" --baseline "$co" --tap
run "check json" check "$work/fragment.json" --budget "$work/budget" --junit OUT
"$new" replay "$fr" -a glibc,arena,jemalloc --samples 40 -o "$work/rep" > /dev/null 2>&1
"$new" stats "$fr" --tsv "$work/rep" > /dev/null
run "plot" plot "$work/rep" -o OUT --format svg
run "info tree" info "$work/logs/tree"
run "stats tree" stats "$work/logs/tree" --json
run "replay strict" replay "$(realpath logs/threads.*.mlog)" -a arena --threads strict --samples 20 -o OUT

echo "$same same, $diff different"
[[ $diff -eq 0 ]] && rm -rf "$work"
[[ $diff -eq 0 ]]

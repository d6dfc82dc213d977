#!/usr/bin/env bash
# bench/analyze.sh MALLOG LOG [RUNS] - analysis throughput of `mallog stats` on LOG as markdown
# rows: the reader alone (--decode-only: mlg_reader_next_recs), the reader and the live-block table
# with nothing else (--table-only: the floor of any analysis on that table) and the full analysis
# (--json), all single-threaded, best of RUNS (default 3) by wall time, with events/s, CPU seconds
# and peak RSS from /usr/bin/time -v. The three run in turn inside each round (the VM is noisy).
set -euo pipefail
mallog=${1:?usage: analyze.sh MALLOG LOG [RUNS]}
log=${2:?usage: analyze.sh MALLOG LOG [RUNS]}
runs=${3:-3}
[[ -x /usr/bin/time ]] || { echo "analyze.sh: /usr/bin/time is missing (apt-get install time)" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
events=$("$mallog" stats "$log" --decode-only | awk '{ print $2 }')
size=$(stat -c %s "$log")
echo "| what | log | events | MB | wall s (best of $runs) | CPU s | events/s | peak RSS |"
echo "|---|---|---:|---:|---:|---:|---:|---:|"
modes=(decode-only table-only json)
declare -A best bcpu brss
for ((i = 0; i < runs; i++)); do
    for mode in "${modes[@]}"; do
        /usr/bin/time -v "$mallog" stats "$log" "--$mode" > /dev/null 2> "$tmp/t" || true
        wall=$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0;
            for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s }' "$tmp/t")
        cpu=$(awk -F': ' '/User time/ { u = $2 } /System time/ { s = $2 } END { print u + s }' "$tmp/t")
        rss=$(awk -F': ' '/Maximum resident/ { print $2 }' "$tmp/t")
        if [[ -z "${best[$mode]:-}" ]] || awk -v a="$wall" -v b="${best[$mode]}" 'BEGIN { exit !(a < b) }'; then
            best[$mode]=$wall bcpu[$mode]=$cpu brss[$mode]=$rss
        fi
    done
done
for mode in "${modes[@]}"; do
    case $mode in
    decode-only) what="reader alone (--decode-only, 1 thread)" ;;
    table-only) what="reader + live-block table, nothing else (--table-only, 1 thread)" ;;
    *) what="stats (full analysis, 1 thread)" ;;
    esac
    awk -v w="$what" -v l="$(basename "$log")" -v e="$events" -v b="$size" -v s="${best[$mode]}" \
        -v c="${bcpu[$mode]}" -v r="${brss[$mode]}" 'BEGIN { printf "| %s | %s | %d | %.0f | %.2f | %.2f | %.1f M | %.1f MiB |\n",
        w, l, e, b / 1e6, s, c, (s > 0 ? e / s / 1e6 : 0), r / 1024 }'
done

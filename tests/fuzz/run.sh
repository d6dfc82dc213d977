#!/usr/bin/env bash
# run.sh SECONDS TARGET... - `make fuzz`: runs each libFuzzer target of build/fuzz/ for SECONDS,
# seeded from tests/corpus/ (and tests/fuzz/crashes/ if kept), with the memory limits that catch
# memory bombs, then prints one line per target: executions, coverage, corpus, peak RSS, crashes.
# Working corpora and crash inputs go to build/fuzz/{corpus,artifacts}/TARGET/. Exit 1 if any
# target crashed (the input that did is named on the line).
#
# run.sh --replay BINDIR TARGET... - `make test`: runs each target BINDIR/fuzz_TARGET, built with
# tests/fuzz/standalone.c instead of libFuzzer, once on every seed and every kept crash input (no
# mutation): the regression check of the parsers. Exit 1 if any input crashes a target.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
seeds_of() {
    case $1 in
    reader | reader_crc | sites) echo "$ROOT/tests/corpus/log" ;;
    reader_events) echo "$ROOT/tests/corpus/events" ;;
    pack) echo "$ROOT/tests/corpus/spool" ;;
    summary) echo "$ROOT/tests/corpus/json" ;;
    budget) echo "$ROOT/tests/corpus/budget" ;;
    maps) echo "$ROOT/tests/corpus/maps" ;;
    trap) echo "$ROOT/tests/corpus/trap" ;;
    specs) echo "$ROOT/tests/corpus/specs" ;;
    esac
}
dict_of() {
    case $1 in
    reader | reader_crc | sites | reader_events | pack) echo "-dict=$ROOT/tests/fuzz/mlog.dict" ;;
    esac
}
crashes_of() {
    [[ -d $ROOT/tests/fuzz/crashes/$1 ]] && echo "$ROOT/tests/fuzz/crashes/$1"
}

if [[ ${1:-} == --replay ]]; then
    bindir=$2
    shift 2
    for t in "$@"; do
        # shellcheck disable=SC2046
        "$bindir/fuzz_$t" $(seeds_of "$t") $(crashes_of "$t") || exit 1
    done
    exit 0
fi

secs=$1
shift
bad=0
summary=()
for t in "$@"; do
    bin=$ROOT/build/fuzz/fuzz_$t
    corpus=$ROOT/build/fuzz/corpus/$t
    art=$ROOT/build/fuzz/artifacts/$t
    mkdir -p "$corpus" "$art"
    extra=($(crashes_of "$t"))
    log=$ROOT/build/fuzz/$t.log
    before=$(ls "$art" | wc -l)
    echo "fuzz: $t for ${secs}s (log: ${log#$ROOT/})"
    "$bin" -max_total_time="$secs" -rss_limit_mb=2048 -malloc_limit_mb=2048 -timeout=20 \
        -print_final_stats=1 -artifact_prefix="$art/" $(dict_of "$t") \
        "$corpus" "$(seeds_of "$t")" "${extra[@]}" > "$log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log" | tail -n 1)
    cov=$(grep -oE '^#[0-9]+[[:space:]].*cov: [0-9]+ ft: [0-9]+ corp: [0-9]+' "$log" | tail -n 1 |
          sed -E 's/.*cov: ([0-9]+) ft: ([0-9]+) corp: ([0-9]+)/cov \1, ft \2, corpus \3/')
    crashes=$(($(ls "$art" | wc -l) - before))
    line=$(printf '%-14s %10s execs  %-32s rss %5s MB  crashes %d' "$t" "${execs:-?}" \
           "${cov:-cov ?}" "${rss:-?}" "$crashes")
    if [[ $rc -ne 0 || $crashes -ne 0 ]]; then
        bad=1
        line+="  FAILED (exit $rc): $(ls -t "$art" | head -n 1) $(grep -m1 -E 'ERROR:|check failed|runtime error' "$log")"
    fi
    summary+=("$line")
done
echo
printf '%s\n' "${summary[@]}"
exit $bad

# Replaying the same log twice gives byte-identical TSV (the time_ns column aside) and the same
# summary numbers (events_per_sec aside), over 500 samples.
source "$ROOT/tests/e2e/lib.sh"
"$MALLOG" record -o f -- "$PROGS/fragment" 6 > /dev/null
"$MALLOG" record -o c -- "$BENCH/churn" 300000 > /dev/null
for log in "$(only_log f)" "$(only_log c)"; do
    for run in 1 2; do
        "$MALLOG" -q replay "$log" -a glibc,arena --samples 500 -o "run$run" > /dev/null || die "replay failed"
    done
    for a in glibc arena; do
        cmp <(cut -f1,3- run1/replay.$a.tsv) <(cut -f1,3- run2/replay.$a.tsv) ||
            die "$a: TSV differs between two replays of $log"
        cmp <(sed 's/"events_per_sec": [0-9.]*//' run1/replay.$a.json) \
            <(sed 's/"events_per_sec": [0-9.]*//' run2/replay.$a.json) ||
            die "$a: JSON differs between two replays of $log"
        [[ $(wc -l < run1/replay.$a.tsv) -gt 100 ]] || die "$a: too few samples"
    done
    rm -rf run1 run2
done

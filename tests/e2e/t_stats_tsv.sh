# Acceptance (issue 6): `mallog stats --tsv DIR` writes each table with the header names plots/
# reads (the output contract), consistent with --json.
source "$ROOT/tests/e2e/lib.sh"
"$MALLOG" record -o b -- "$PROGS/analyze_basic"
log=$(only_log b)
"$MALLOG" stats "$log" --tsv out > report.txt
head1() { head -n 1 "out/$1"; }
expect_eq timeline.tsv "$(head1 timeline.tsv | cut -f1-6)" \
    "$(printf 'event\ttime_ns\tlive_requested\tlive_blocks\tcumulative_requested\tcumulative_compensated')"
expect_eq sizes.tsv "$(head1 sizes.tsv | cut -f1-8)" \
    "$(printf 'class_min\tclass_max\tcount\tcount_pct\tbytes\tbytes_pct\tcum_pct\tmax')"
expect_eq lifetimes.tsv "$(head1 lifetimes.tsv | cut -f1-4)" \
    "$(printf 'lifetime_min_events\tlifetime_max_events\tcount\tbytes')"
expect_eq reallocs.tsv "$(head1 reallocs.tsv | cut -f1-5)" \
    "$(printf 'start_event\tlength\tstart_size\tend_size\tmoved')"
expect_eq leaks.tsv "$(head1 leaks.tsv | cut -f1-4)" "$(printf 'size\tcount\tbytes\tfirst_event')"
[[ -s out/threads.tsv ]] || die "no threads.tsv"
# contents: the chain, the leaks, the timeline's last row and its peak column
expect_eq "chain row" "$(sed -n 2p out/reallocs.tsv | cut -f2-4)" "$(printf '100\t16\t816')"
expect_eq "leak rows" "$(tail -n +2 out/leaks.tsv | cut -f1-3 | tr '\t\n' ', ')" "4000,2,8000 24,3,72 "
last=$(tail -n 1 out/timeline.tsv)
expect_eq "timeline last live_blocks" "$(cut -f4 <<< "$last")" 5
expect_eq "timeline last live_requested" "$(cut -f3 <<< "$last")" 8072
expect_eq "timeline peak" "$(tail -n +2 out/timeline.tsv | cut -f7 | sort -n | tail -n 1)" 100000
expect_eq "sizes cum_pct ends at 100" "$(tail -n 1 out/sizes.tsv | cut -f7)" "100.0000"
expect_eq "sizes count total" "$(tail -n +2 out/sizes.tsv | awk '{ s += $3 } END { print s }')" 177
# a fixed interval: one row per 10 events, plus the last
"$MALLOG" stats "$log" --tsv fixed --every 10 > /dev/null
n=$("$MALLOG" stats "$log" --json | sed -n 's/^ "events": \([0-9]*\),$/\1/p')
expect_eq "fixed rows" "$(tail -n +2 fixed/timeline.tsv | wc -l)" $(( (n + 9) / 10 ))
expect_eq "fixed step" "$(sed -n 3p fixed/timeline.tsv | cut -f1)" 19

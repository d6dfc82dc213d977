# Acceptance (issue 6): a truncated log (head -c) is summarised up to the damage; the report, the
# JSON and the error message say where the damage is; exit status 2.
source "$ROOT/tests/e2e/lib.sh"
"$MALLOG" record -o c -- "$BENCH/churn" 400000 > /dev/null
log=$(only_log c)
size=$(stat -c %s "$log")
head -c $(( size / 2 )) "$log" > cut.mlog
total=$("$MALLOG" stats "$log" --json | sed -n 's/^ "events": \([0-9]*\),$/\1/p')
[[ -n "$total" ]] || die "no event count"
set +e
"$MALLOG" stats cut.mlog > cut.txt 2> cut.err; rc=$?
"$MALLOG" stats cut.mlog --json > cut.json 2> /dev/null; rcj=$?
set -e
expect_eq "exit status" "$rc" 2
expect_eq "exit status --json" "$rcj" 2
grep -qE '^mallog stats: cut\.mlog: .* at byte [0-9]+ \(event [0-9]+\)' cut.err || die "stderr: $(cat cut.err)"
grep -qE '^damage: .* at byte [0-9]+ \(event [0-9]+\); this report covers the [0-9]+ events' cut.txt ||
    die "report lacks the damage line"
grep -q '^peak:' cut.txt || die "no report for the prefix"
events=$(sed -n 's/^ "events": \([0-9]*\),$/\1/p' cut.json)
at=$(sed -n 's/.*"damage_event": \([0-9]*\).*/\1/p' cut.json)
byte=$(sed -n 's/.*"damage_offset": \([0-9]*\).*/\1/p' cut.json)
(( events > 0 && events < total )) || die "prefix events $events of $total"
expect_eq "damage event = events delivered" "$at" "$events"
(( byte > 0 && byte <= size / 2 )) || die "damage offset $byte"
# the prefix figures equal those of the whole log cut at the same event by --range
"$MALLOG" stats "$log" --json --range ":$events" > range.json
for k in peak_live_requested peak_live_blocks live_at_end_blocks cumulative_requested leaked_bytes; do
    a=$(sed -n "s/^ \"$k\": \([0-9]*\),\$/\1/p" cut.json)
    b=$(sed -n "s/^ \"$k\": \([0-9]*\),\$/\1/p" range.json)
    [[ -n "$a" ]] || die "$k missing"
    expect_eq "$k prefix vs range" "$a" "$b"
done
# garbage is an error with nothing summarised
head -c 1000 /dev/urandom > junk.mlog
set +e
"$MALLOG" stats junk.mlog > /dev/null 2>&1; expect_eq "junk exit" $? 2
set -e

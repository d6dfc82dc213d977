# Acceptance (issue 8): `mallog diff` on pairs of deterministic programs that differ in one known
# way shows exactly that difference; an unchanged pair shows none (exit 0); logs and saved
# `stats --json` summaries mix freely.
source "$ROOT/tests/e2e/lib.sh"
P="$PROGS/analyze_basic"
"$MALLOG" record -o a -- "$P"
"$MALLOG" record -o a2 -- "$P"
"$MALLOG" record -o leak -- "$P" leak
"$MALLOG" record -o big -- "$P" bigger
# changed figures (time/position ones excluded), as "key before after"
changes() {
    set +e; "$MALLOG" diff "$1" "$2" > "d.$3.txt"; echo $? > "d.$3.rc"; set -e
    awk 'seen && !/time\/position/ { print $1, $2, $3 } /^every change:/ { seen = 1 }' "d.$3.txt"
}
out=$(changes a a2 same)
expect_eq "same: exit" "$(cat d.same.rc)" 0
expect_eq "same: changes" "$out" ""
# no difference: one line, nothing else to read (issue 15)
expect_eq "same: lines" "$(wc -l < d.same.txt)" 1
grep -qE '^mallog diff: a -> a2: no difference( \(only in time or event positions; --all shows them\))?$' d.same.txt ||
    die "same: $(cat d.same.txt)"
# the headline figures lead, in a fixed order, before any table row (issue 15)
headline() { awk '/^headline:/ { on = 1; next } /^(most changed|every change):/ { on = 0 } on { print $1 }' "$1"; }
want_head="peak_live_requested peak_live_blocks allocations frees failed leaked_blocks leaked_bytes live_at_end_bytes cumulative_requested"

# one more malloc(24), leaked
out=$(changes a leak leak)
expect_eq "leak: exit" "$(cat d.leak.rc)" 1
want="events 251 252
allocations 77 78
live_at_end_bytes 8072 8096
live_at_end_blocks 5 6
leaked_blocks 5 6
leaked_bytes 8072 8096
cumulative_requested 151468 151492
cumulative_compensated 110268 110292
ops.malloc.calls 77 78
ops.malloc.bytes 109368 109392
sizes.16.count 5 6
sizes.16.bytes 112 136
leaks.24.count 3 4
leaks.24.bytes 72 96
per_thread.0.events 251 252
per_thread.0.allocations 77 78
per_thread.0.bytes 151468 151492
per_thread.0.live_blocks 5 6
per_thread.0.live_bytes 8072 8096"
expect_eq "leak: changes" "$out" "$want"
grep -q '^most changed: leaks.24' d.leak.txt || die "leak: most changed: $(head -n 2 d.leak.txt)"
expect_eq "leak: first line" "$(head -n 1 d.leak.txt)" "mallog diff: a -> leak: different"
expect_eq "leak: headline" "$(headline d.leak.txt | tr '\n' ' ')" "$want_head "
grep -qE '^  leaked_blocks +5 +6 +\+1 +\+20\.0%$' d.leak.txt || die "leak: headline leaked_blocks"

# the 50 phase-1 buffers are 4000 bytes instead of 2000: peak doubles, a size class moves
out=$(changes a big big)
expect_eq "big: exit" "$(cat d.big.rc)" 1
want="peak_live_requested 100000 200000
cumulative_requested 151468 251468
cumulative_compensated 110268 210268
temporary_bytes 101380 201380
ops.malloc.bytes 109368 209368
sizes.1024.count 50 -
sizes.1024.bytes 100000 -
sizes.1024.max 2000 -
sizes.2048.count 2 52
sizes.2048.bytes 8000 208000
lifetimes.32.bytes 100000 200000
per_thread.0.bytes 151468 251468"
expect_eq "big: changes" "$out" "$want"
grep -qE '^  peak_live_requested .*\+100\.0%  <<$' d.big.txt || die "big: peak not highlighted"
expect_eq "big: headline" "$(headline d.big.txt | tr '\n' ' ')" "$want_head "
expect_eq "big: first headline row" "$(sed -n 3p d.big.txt | awk '{ print $1, $2, $3, $4, $5 }')" \
    "peak_live_requested 100000 200000 +100000 +100.0%"

# summaries saved as JSON give the same answer as the logs
"$MALLOG" stats a --json > a.json
"$MALLOG" stats leak --json > leak.json
expect_eq "json vs log" "$(changes a.json leak.json j)" "$(changes a leak l)"
expect_eq "json exit" "$(cat d.j.rc)" 1
# errors: a missing input, a broken JSON file (line number)
printf '{"events": 1,\n "peak_live_requested": }\n' > broken.json
set +e
"$MALLOG" diff a missing.mlog > /dev/null 2>&1; expect_eq "missing exit" $? 2
"$MALLOG" diff a broken.json > /dev/null 2> err.txt; expect_eq "broken exit" $? 2
set -e
grep -q 'broken.json: JSON: expected a value at line 2' err.txt || die "broken: $(cat err.txt)"

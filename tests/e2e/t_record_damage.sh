# Issue 3: damaged logs through the CLI: a clear error with byte offset and event index, the
# valid prefix still delivered (dump prints it, info reports on it), never a crash.
source "$ROOT/tests/e2e/lib.sh"
"$MALLOG" -q record -o c -- "$BENCH/churn" 300000 > /dev/null
log=$(only_log c)
total=$("$MALLOG" dump "$log" | wc -l)
size=$(stat -c %s "$log")
for frac in 10 37 50 77 99; do
    cut=$((size * frac / 100))
    head -c "$cut" "$log" > cut.mlog
    rc=0; "$MALLOG" dump cut.mlog > cut.txt 2> err.txt || rc=$?
    expect_eq "dump exit on truncation ($frac%)" "$rc" 2
    grep -qE "^mallog dump: cut.mlog: truncated.* at byte [0-9]+ \(event [0-9]+\)$" err.txt || die "message: $(cat err.txt)"
    n=$(wc -l < cut.txt)
    ev=$(sed -n 's/.*(event \([0-9]*\))$/\1/p' err.txt)
    expect_eq "events before the damage ($frac%)" "$n" "$ev"
    (( n < total )) || die "truncated log delivered everything"
    # the prefix is exactly the original's first events
    cmp -s cut.txt <("$MALLOG" dump "$log" | head -n "$n") || die "prefix differs"
    rc=0; "$MALLOG" info cut.mlog > info.txt 2>&1 || rc=$?
    expect_eq "info exit" "$rc" 2
    grep -q "INCOMPLETE" info.txt || die "info does not say incomplete"
    grep -q "^damage: .*at byte" info.txt || die "info does not say where"
done
# a flipped byte late in the file: checksum or corruption error, earlier frames delivered
cp "$log" flip.mlog
off=$((size * 9 / 10))
printf '\xff' | dd of=flip.mlog bs=1 seek="$off" conv=notrunc status=none
rc=0; "$MALLOG" dump flip.mlog > flip.txt 2> err.txt || rc=$?
expect_eq "dump exit on corruption" "$rc" 2
grep -qE "(checksum|corrupt|zstd).* at byte [0-9]+ \(event [0-9]+\)" err.txt || die "message: $(cat err.txt)"
(( $(wc -l < flip.txt) > 0 )) || die "nothing before the damage"
# empty and foreign files
: > empty.mlog
rc=0; "$MALLOG" info empty.mlog 2> err.txt > /dev/null || rc=$?
expect_eq "empty exit" "$rc" 2
grep -q "empty file at byte 0" err.txt || die "$(cat err.txt)"
cp /bin/true foreign.mlog
rc=0; "$MALLOG" dump foreign.mlog 2> err.txt > /dev/null || rc=$?
expect_eq "foreign exit" "$rc" 2
grep -q "not a mallog log" err.txt || die "$(cat err.txt)"

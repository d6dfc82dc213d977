# Replay of a forked child starts from its parent's heap at the fork (the parent's log, up to the
# fork point), so the child's frees of inherited blocks are not anomalies.
source "$ROOT/tests/e2e/lib.sh"
"$MALLOG" -q record -o fs -- "$PROGS/lifecycle" fork_storm 2 2 > /dev/null
root=$("$MALLOG" info fs | sed -n 's/^\* pid \([0-9]*\) .*/\1/p')
child=$("$MALLOG" info fs | sed -n 's/^  fork pid \([0-9]*\) .*/\1/p' | head -n1)
[[ -n $child ]] || die "no child log"
"$MALLOG" replay "fs.$child.mlog" -a glibc,arena -o out > replay.txt
cat replay.txt
grep -q "anomalies skipped" replay.txt && die "inherited frees counted as anomalies"
for a in glibc arena; do
    grep -q '"unknown_frees": 0' "out/replay.$a.json" || die "$a: unknown frees"
done
# the child's live bytes include what it inherited: more than its own allocations
own=$("$MALLOG" stats "fs.$child.mlog" --json | sed -n 's/.*"peak_live_requested": *\([0-9]*\).*/\1/p' | head -n1)
got=$(sed -n 's/.*"peak_live_requested": *\([0-9]*\).*/\1/p' out/replay.glibc.json | head -n1)
(( got > 0 )) || die "no peak"
echo "stats peak $own, replay peak $got"

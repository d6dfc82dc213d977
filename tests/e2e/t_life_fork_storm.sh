# Issue 4: fork while other threads allocate; every child gets its own log linked to the parent
# and the fork point; with the parent's heap seeded, the children's logs have 0 anomalies.
source "$ROOT/tests/e2e/lib.sh"
"$MALLOG" record -o fs -- "$PROGS/lifecycle" fork_storm 4 12 > out.txt
expect_eq "children ok" "$(cat out.txt)" "ok 12"
logs=( fs.*.mlog )
expect_eq "logs" "${#logs[@]}" 13
"$MALLOG" info fs > info.txt
expect_eq "forks in tree" "$(grep -c '^  fork pid' info.txt)" 12
root=$(sed -n 's/^\* pid \([0-9]*\) .*/\1/p' info.txt)
[[ -n "$root" ]] || die "no root in tree"
for l in "${logs[@]}"; do
    expect_eq "anomalies in $l" "$(anomalies "$l")" 0
done
# each child names its parent and the fork point, and inherited the parent's blocks
for l in "${logs[@]}"; do
    [[ "$l" == "fs.$root.mlog" ]] && continue
    "$MALLOG" info "$l" | grepq "^parent:     fork of pid $root (generation 0) at seq [1-9]" || die "$l: no fork link"
    "$MALLOG" info "$l" | grepq -E "inherited [1-9][0-9]* live blocks" || die "$l: nothing inherited"
done

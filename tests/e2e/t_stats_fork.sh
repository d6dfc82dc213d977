# Acceptance (issue 6): per-process breakdown of a recording with forked children; a child's
# frees of blocks inherited from its parent are known (seeded from the parent's log), not
# "unknown frees".
source "$ROOT/tests/e2e/lib.sh"
[[ -x "$PROGS/lifecycle" ]] || { echo "no lifecycle test program"; exit 77; }
"$MALLOG" record -o f -- "$PROGS/lifecycle" fork_storm 2 3 > /dev/null
logs=( f.*.mlog )
(( ${#logs[@]} == 4 )) || die "expected 4 logs, got ${#logs[@]}"
"$MALLOG" stats f --json > all.json 2> err.txt
grep -q 'holds 4 logs' err.txt || die "no note about several logs: $(cat err.txt)"
expect_eq processes "$(sed -n 's/^ "processes": \([0-9]*\),$/\1/p' all.json)" 4
expect_eq "per_process rows" "$(grep -c '^  {"log": ' all.json)" 4
"$MALLOG" stats f > all.txt 2> /dev/null
grep -q '^processes:  4 logs in this recording' all.txt || die "report lacks the process table"
root=$("$MALLOG" info "${logs[0]}" | sed -n 's/^process: *pid \([0-9]*\),.*/\1/p')
n=0
for l in "${logs[@]}"; do
    pid=$("$MALLOG" info "$l" | sed -n 's/^process: *pid \([0-9]*\),.*/\1/p')
    "$MALLOG" stats f --pid "$pid" --json > "p$pid.json"
    val() { sed -n "s/^ \"$1\": \([0-9]*\),\$/\1/p" "p$pid.json"; }
    inh=$(sed -n 's/^ "inherited_blocks": \([0-9]*\),.*/\1/p' "p$pid.json")
    expect_eq "pid $pid unknown frees" "$(val unknown_frees)" 0
    if [[ "$pid" != "$root" ]]; then
        (( inh > 0 )) || die "child $pid inherited no blocks"
        n=$((n + 1))
    fi
done
expect_eq children "$n" 3

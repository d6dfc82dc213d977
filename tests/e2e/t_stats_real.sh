# Acceptance (issue 6): real programs (sort, python3 with PYTHONMALLOC=malloc): stats agrees with
# `mallog info` (events, live blocks at the end) and with itself (allocations - frees = live).
source "$ROOT/tests/e2e/lib.sh"
seq 200000 | shuf --random-source=<(yes) > in.txt
"$MALLOG" record -o s -- sort -n in.txt > /dev/null
progs=(s)
py=$(command -v /usr/bin/python3 || true)
if [[ -n "$py" ]]; then
    PYTHONMALLOC=malloc "$MALLOG" record -o p -- "$py" -c 's = ""
for i in range(20000): s += str(i)
d = {i: [i] * 3 for i in range(5000)}' > /dev/null
    progs+=(p)
fi
for pre in "${progs[@]}"; do
    log=$(only_log "$pre")
    "$MALLOG" stats "$log" --json > "$pre.json"
    val() { sed -n "s/^ \"$1\": \([0-9]*\),\$/\1/p" "$pre.json"; }
    ev=$("$MALLOG" info "$log" | sed -n 's/^events: *\([0-9]*\) .*/\1/p')
    live=$("$MALLOG" info "$log" | sed -n 's/^live: *\([0-9]*\) blocks.*/\1/p')
    expect_eq "$pre events" "$(val events)" "$ev"
    expect_eq "$pre live blocks" "$(val live_at_end_blocks)" "$live"
    expect_eq "$pre unknown frees" "$(val unknown_frees)" "$(anomalies "$log")"
    expect_eq "$pre alloc - free" $(( $(val allocations) - $(val frees) )) "$(val live_at_end_blocks)"
    expect_eq "$pre leaks = live" "$(val leaked_blocks)" "$(val live_at_end_blocks)"
    (( $(val peak_live_requested) >= $(val live_at_end_bytes) )) || die "$pre peak < end"
    "$MALLOG" stats "$log" > "$pre.txt" || die "$pre report"
done

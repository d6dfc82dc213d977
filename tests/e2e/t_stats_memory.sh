# Issue 15: the memory of `mallog stats` grows with the blocks live at one time, by the rule
# docs/ANALYZE.md states (a few MiB + at most ~192 bytes per block live at the peak, plus 64 per
# live reallocated block). A bound with a wide margin (8 MiB + 300 bytes per live block), not a
# timing: 270 k live blocks, just past a doubling of the table, took 380 bytes each before.
source "$ROOT/tests/e2e/lib.sh"
if ldd "$MALLOG" 2>/dev/null | grepq libasan; then
    echo "an ASan build: its RSS is ASan's shadow and quarantine"; exit 77
fi
N=270000
"$MALLOG" -q record -o many -- "$PROGS/live_many" $N 0
L=$(only_log many)
"$MALLOG" stats "$L" --json > s.json
expect_eq "peak live blocks" "$(j s.json 'd["peak_live_blocks"]')" $((N + 1))
# peak RSS (KiB) of the stats process, from the kernel's rusage of a child
rss=$(python3 -c '
import resource, subprocess, sys
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, check=True)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)' "$MALLOG" stats "$L" --json)
limit=$(( (8 * 1024 * 1024 + 300 * N) / 1024 ))
echo "stats of $N live blocks: $rss KiB peak RSS (limit $limit KiB, $(( rss * 1024 / N )) bytes per live block)"
(( rss <= limit )) || die "peak RSS $rss KiB > $limit KiB for $N live blocks"

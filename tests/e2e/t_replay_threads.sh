# A multi-threaded log replays serial and strict (a thread per recorded thread); the summary
# says which, and glibc's per-thread arenas show only in strict mode.
source "$ROOT/tests/e2e/lib.sh"
"$MALLOG" record -o mt -- "$PROGS/stress_mt" 4 5000 > /dev/null
log=$(only_log mt)
expect_eq anomalies "$(anomalies "$log")" 0
"$MALLOG" replay "$log" -a glibc,arena --threads=serial -o serial > /dev/null || die "serial failed"
"$MALLOG" replay "$log" -a glibc,arena --threads=strict -o strict > strict.txt || die "strict failed"
grep -q "strict" strict.txt || die "table does not say strict"
expect_eq mode "$(j serial/replay.glibc.json 'd["threads_mode"]')" serial
expect_eq mode "$(j strict/replay.glibc.json 'd["threads_mode"]')" strict
for m in serial strict; do
    expect_eq "$m anomalies" "$(j $m/replay.glibc.json 'd["anomalies"]["unknown_frees"] + d["anomalies"]["double_frees"]')" 0
done
# several glibc arenas: more mapped memory than the single-arena serial replay
expect_eq "strict uses thread arenas" \
    "$(j strict/replay.glibc.json 'd["peak_footprint"] > json.load(open("serial/replay.glibc.json"))["peak_footprint"]')" True

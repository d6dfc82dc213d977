# A multi-threaded log replays faithful by default (a thread per recorded thread), and serial or
# strict on request; the summary and the table say which. glibc's per-thread arenas show in both
# threaded modes, not in serial.
source "$ROOT/tests/e2e/lib.sh"
"$MALLOG" record -o mt -- "$PROGS/stress_mt" 4 5000 > /dev/null
log=$(only_log mt)
expect_eq anomalies "$(anomalies "$log")" 0
"$MALLOG" replay "$log" -a glibc,arena -o faithful > faithful.txt || die "default replay failed"
"$MALLOG" replay "$log" -a glibc,arena --threads=serial -o serial > /dev/null || die "serial failed"
"$MALLOG" replay "$log" -a glibc,arena --threads=strict -o strict > strict.txt || die "strict failed"
grep -q "replayed faithful" faithful.txt || die "table does not say faithful: $(head -1 faithful.txt)"
grep -q "replayed strict" strict.txt || die "table does not say strict"
for m in serial strict faithful; do
    expect_eq "$m mode" "$(j $m/replay.glibc.json 'd["threads_mode"]')" $m
    expect_eq "$m anomalies" "$(j $m/replay.glibc.json 'd["anomalies"]["unknown_frees"] + d["anomalies"]["double_frees"]')" 0
    expect_eq "$m events" "$(j $m/replay.glibc.json 'd["events"]')" "$(j serial/replay.glibc.json 'd["events"]')"
done
# several glibc arenas: more mapped memory than the single-arena serial replay
for m in strict faithful; do
    expect_eq "$m uses thread arenas" \
        "$(j $m/replay.glibc.json 'd["peak_footprint"] > json.load(open("serial/replay.glibc.json"))["peak_footprint"]')" True
done
# a one-thread log stays serial by default
"$MALLOG" record -o one -- "$PROGS/counts" > /dev/null
"$MALLOG" replay "$(only_log one)" -a glibc -o one > /dev/null || die "one-thread replay failed"
expect_eq "one-thread mode" "$(j one/replay.glibc.json 'd["threads_mode"]')" serial
set +e
"$MALLOG" replay "$log" --threads=parallel > /dev/null 2> bad.txt; rc=$?
set -e
expect_eq "bad --threads exit" "$rc" 2
grep -q "^mallog replay: --threads: serial, strict or faithful, not 'parallel'" bad.txt || die "$(cat bad.txt)"

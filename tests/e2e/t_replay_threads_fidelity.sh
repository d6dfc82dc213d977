# Fidelity of the threaded replay, checked against the real program (issue 17): arenas_mt (8
# threads, frees by other threads, holes that only one shared arena could refill) prints what its
# allocator holds at the end (glibc: mallinfo2 arena + hblkhd; jemalloc: stats.mapped). The
# faithful replay's footprint at the end (the last TSV row's sys_mapped) is within 10% of the real
# runs on glibc and 15% on jemalloc; the serial replay, with every block in one arena, is not.
source "$ROOT/tests/e2e/lib.sh"
prog="$PROGS/arenas_mt"
jemalloc=$(alloc_lib jemalloc)
native_glibc=() native_je=()
for i in 1 2 3; do
    native_glibc+=("$("$prog" | sed -n 's/^glibc_system //p')")
    native_je+=("$(LD_PRELOAD=$jemalloc MALLOC_CONF=dirty_decay_ms:0,muzzy_decay_ms:0 "$prog" |
        sed -n 's/^jemalloc_mapped //p')")
done
echo "native glibc: ${native_glibc[*]}; native jemalloc: ${native_je[*]}"
"$MALLOG" record -o ar -- "$prog" > /dev/null
log=$(only_log ar)
expect_eq anomalies "$(anomalies "$log")" 0
"$MALLOG" replay "$log" -a glibc,jemalloc -o faithful > /dev/null || die "faithful replay failed"
"$MALLOG" replay "$log" -a glibc,jemalloc --threads=serial -o serial > /dev/null || die "serial failed"
"$MALLOG" replay "$log" -a glibc,jemalloc --threads=strict -o strict > /dev/null || die "strict failed"
end_mapped() { # the sys_mapped column of the last row
    awk -F'\t' 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "sys_mapped") c = i } END { print $c }' "$1"
}
# within(VALUE, PERCENT, NATIVE...): VALUE inside [min - PERCENT%, max + PERCENT%] of NATIVE
within() {
    python3 -c '
import sys
v, pct, xs = float(sys.argv[1]), float(sys.argv[2]), [float(x) for x in sys.argv[3:]]
print(min(xs) * (1 - pct / 100) <= v <= max(xs) * (1 + pct / 100))' "$@"
}
for m in faithful strict serial; do
    g=$(end_mapped $m/replay.glibc.tsv) je=$(end_mapped $m/replay.jemalloc.tsv)
    echo "$m: glibc $g, jemalloc $je"
    want=True; [[ $m == serial ]] && want=False
    expect_eq "$m glibc footprint within 10% of the real program" "$(within "$g" 10 "${native_glibc[@]}")" $want
    expect_eq "$m jemalloc footprint within 15% of the real program" "$(within "$je" 15 "${native_je[@]}")" $want
done

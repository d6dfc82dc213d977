# A program that tunes glibc with mallopt is replayed with the same tuning: fragment.c in mode
# "mallopt" raises the mmap threshold by mallopt(M_MMAP_THRESHOLD, 32 MiB), so glibc serves its
# 8-29 MB buffers from the heap and the pinned holes appear; in mode "none" (no call) every buffer
# is an mmap and there is none. Before mallopt was replayed both replays looked like "none".
# Every replay mode agrees; allocators other than glibc ignore glibc's mallopt parameters.
source "$ROOT/tests/e2e/lib.sh"
"$MALLOG" record -o m -- "$PROGS/fragment" 12 mallopt > /dev/null
"$MALLOG" record -o n -- "$PROGS/fragment" 12 none > /dev/null
expect_eq "mallopt recorded" "$(op_count "$(only_log m)" mallopt)" 1
expect_eq "no mallopt recorded" "$(op_count "$(only_log n)" mallopt)" 0
"$MALLOG" -q replay "$(only_log n)" -a glibc -o none > /dev/null
expect_eq "no mallopt: glibc holes >= 1 MiB" "$(j none/replay.glibc.json 'd["worst"]["holes_1m"]')" 0
for mode in "" "--decode=each" "--threads=strict"; do
    rm -rf out
    "$MALLOG" -q replay "$(only_log m)" -a glibc,arena $mode -o out > /dev/null
    expect_eq "mallopt $mode: glibc holes >= 8 MiB" "$(j out/replay.glibc.json 'd["worst"]["holes_8m"] >= 10')" True
    expect_eq "mallopt $mode: glibc footprint/live > 5" \
        "$(j out/replay.glibc.json 'd["max_footprint_over_max_requested"] > 5')" True
    expect_eq "mallopt $mode: arena footprint/live < 1.5" \
        "$(j out/replay.arena.json 'd["max_footprint_over_max_requested"] < 1.5')" True
done

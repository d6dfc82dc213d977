# Acceptance (issue 5): the known glibc pattern, recorded from tests/progs/fragment.c and
# replayed: glibc's footprint runs far beyond live bytes with holes >= 1 MiB, jemalloc's does not,
# and `mallog holes` names the 232-byte blocks (and their allocating events) that pin the holes.
source "$ROOT/tests/e2e/lib.sh"
"$MALLOG" record -o f -- "$PROGS/fragment" > /dev/null
log=$(only_log f)
expect_eq anomalies "$(anomalies "$log")" 0
allocs=glibc
[[ -n $(alloc_lib jemalloc) ]] && allocs=glibc,jemalloc
"$MALLOG" replay "$log" -a "$allocs" -o out > table.txt || die "replay failed"
cat table.txt
for f in out/replay.glibc.tsv out/replay.glibc.json; do [[ -s $f ]] || die "missing $f"; done
ratio=$(j out/replay.glibc.json 'd["max_footprint_over_max_requested"] > 5')
expect_eq "glibc footprint/live > 5" "$ratio" True
expect_eq "glibc holes >= 1 MiB at worst" "$(j out/replay.glibc.json 'd["worst"]["holes_1m"] >= 20')" True
expect_eq "glibc anomalies" "$(j out/replay.glibc.json 'd["anomalies"]["unknown_frees"] + d["anomalies"]["double_frees"]')" 0
if [[ -f out/replay.jemalloc.json ]]; then
    expect_eq "jemalloc footprint/live < 2" "$(j out/replay.jemalloc.json 'd["max_footprint_over_max_requested"] < 2')" True
    # jemalloc keeps freed extents' address space mapped (retained, not resident): depending on
    # where mmap put them, a gap there may count as a hole, but never glibc's pattern
    expect_eq "jemalloc holes >= 1 MiB <= 2" "$(j out/replay.jemalloc.json 'd["worst"]["holes_1m"] <= 2')" True
fi
# the TSV header is the output contract
expect_eq "tsv header" "$(head -n 1 out/replay.glibc.tsv | cut -f1-13)" \
    "$(printf 'event\ttime_ns\tlive_requested\tlive_blocks\tlive_usable\tsys_mapped\tsys_active\theap_rss\tholes_1m\tholes_8m\tlargest_hole\thole_bytes\thole_resident')"
# holes names the pins: 232-byte blocks, with the event that allocated them (a malloc(232))
"$MALLOG" holes "$log" -a glibc --at worst --json > holes.json || die "holes failed"
python3 - "$log" <<'PY' || die "holes --json does not name the 232-byte pins"
import json, sys
d = json.load(open("holes.json"))
assert d["allocator"] == "glibc"
big = [h for h in d["holes"] if h["size"] >= 1 << 20]
assert len(big) >= 20, len(big)
assert all(h["left"]["size"] == 232 or h["right"]["size"] == 232 for h in big)
assert all(h["right"]["size"] == 232 for h in big), [h["right"] for h in big]
assert sorted((h["size"] for h in d["holes"]), reverse=True) == [h["size"] for h in d["holes"]]
print("\n".join(str(h["right"]["event"]) for h in big), file=open("pin_events.txt", "w"))
PY
"$MALLOG" dump "$log" > dump.txt
while read -r ev; do
    grep -q "^$ev .*malloc(232)" dump.txt || die "event $ev is not a malloc(232)"
done < pin_events.txt
"$MALLOG" holes "$log" -a glibc --at worst > holes.txt
grep -q "right: 232 B" holes.txt || die "text holes output does not show the pin"
head -n 6 holes.txt
# a tuning that fixes the trace: every buffer served by mmap, so no heap holes
"$MALLOG" replay "$log" -a 'glibc:GLIBC_TUNABLES=glibc.malloc.mmap_threshold=65536' -o tuned > /dev/null
expect_eq "tuned glibc holes" "$(j tuned/replay.glibc+mmap_threshold-65536.json 'd["worst"]["holes_1m"]')" 0
expect_eq "tuned env printed" "$(j tuned/replay.glibc+mmap_threshold-65536.json 'd["env"]["GLIBC_TUNABLES"]')" glibc.malloc.mmap_threshold=65536

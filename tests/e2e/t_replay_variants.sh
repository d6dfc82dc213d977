# Two tunings of one allocator get a row and files each, under names that say what differs
# (glibc, glibc+mmap_threshold-65536), the same in the table, the JSON and the file names; the
# same spec twice gets a numbered name. tests/progs/fragment.c pins 1 MiB holes on default glibc
# and none once mmap_threshold is 64 KiB, so the two rows must differ.
source "$ROOT/tests/e2e/lib.sh"
"$MALLOG" record -o f -- "$PROGS/fragment" > /dev/null
log=$(only_log f)
tuned=glibc+mmap_threshold-65536
"$MALLOG" replay "$log" -a 'glibc,glibc:GLIBC_TUNABLES=glibc.malloc.mmap_threshold=65536' -o out \
    > table.txt || die "replay failed"
cat table.txt
expect_eq "rows" "$(grep -cE '^glibc' table.txt)" 2
grep -q "^glibc  " table.txt || die "no plain glibc row"
grep -q "^$tuned " table.txt || die "no $tuned row"
for a in glibc "$tuned"; do
    for f in out/replay.$a.tsv out/replay.$a.json; do [[ -s $f ]] || die "missing $f"; done
    expect_eq "$a: JSON allocator" "$(j "out/replay.$a.json" 'd["allocator"]')" "$a"
done
expect_eq "files" "$(ls out | wc -l)" 4
expect_eq "default glibc env" "$(j out/replay.glibc.json '"GLIBC_TUNABLES" in d["env"]')" False
expect_eq "tuned glibc env" "$(j "out/replay.$tuned.json" 'd["env"]["GLIBC_TUNABLES"]')" \
    glibc.malloc.mmap_threshold=65536
expect_eq "default glibc holes >= 1 MiB" "$(j out/replay.glibc.json 'd["worst"]["holes_1m"] >= 20')" True
expect_eq "tuned glibc holes >= 1 MiB" "$(j "out/replay.$tuned.json" 'd["worst"]["holes_1m"]')" 0
cmp -s <(cut -f1,3- out/replay.glibc.tsv) <(cut -f1,3- "out/replay.$tuned.tsv") &&
    die "the two timelines are the same"
# one spec twice: two names, two sets of files (the same figures: same allocator, same log)
"$MALLOG" replay "$log" -a glibc,glibc -o twice --samples 20 > table.txt || die "replay failed"
cat table.txt
grep -q "^glibc+2 " table.txt || die "no glibc+2 row"
expect_eq "files" "$(ls twice | sort | tr '\n' ' ')" \
    "replay.glibc+2.json replay.glibc+2.tsv replay.glibc.json replay.glibc.tsv "
cmp <(cut -f1,3- twice/replay.glibc.tsv) <(cut -f1,3- twice/replay.glibc+2.tsv) ||
    die "the same allocator twice gave two timelines"

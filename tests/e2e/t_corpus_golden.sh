# Golden errors (issue 23): every log of tests/corpus/log/, intact or damaged (truncated, bytes
# flipped, damage behind a recomputed checksum), gives exactly the stderr and exit code of
# NAME.expected for `mallog info` and `mallog dump`, run from the corpus directory so the message
# names NAME.mlog. Then, if `make fuzz-build` built the fuzz targets, every corpus input and every
# crash input kept in tests/fuzz/crashes/TARGET/ is replayed through them (no sanitizer report,
# no failed check). Regenerate the corpus with tests/corpus/make-corpus.sh (and commit it).
source "$ROOT/tests/e2e/lib.sh"
cp -r "$ROOT/tests/corpus/log" log
cd log
n=0
for f in *.mlog; do
    name=${f%.mlog}
    [[ -f $name.expected ]] || die "$f: no $name.expected"
    for cmd in info dump; do
        set +e
        "$MALLOG" "$cmd" "$f" > /dev/null 2> err.txt
        rc=$?
        set -e
        echo "== $cmd exit $rc"
        cat err.txt
    done > "$name.got"
    diff -u "$name.expected" "$name.got" > diff.txt || die "$f: not the golden output:
$(cat diff.txt)"
    n=$((n + 1))
done
[[ $n -ge 30 ]] || die "only $n corpus logs"
echo "golden: $n logs match"

# Replays through the fuzz targets, where built (clang): each input runs once.
fuzz=$ROOT/build/fuzz
replay() { # TARGET FILE...
    local t=$1
    shift
    [[ $# -gt 0 ]] || return 0
    "$fuzz/fuzz_$t" "$@" > "replay.$t.txt" 2>&1 || die "fuzz_$t fails on an input:
$(grep -E 'Running:|ERROR|check failed|runtime error' "replay.$t.txt" | tail -n 5)"
    echo "replay: fuzz_$t ran $# inputs"
}
if [[ ! -x $fuzz/fuzz_reader ]]; then
    echo "replay: fuzz targets not built (make fuzz-build), skipped"
    exit 0
fi
c=$ROOT/tests/corpus
k=$ROOT/tests/fuzz/crashes
shopt -s nullglob
replay reader "$c"/log/*.mlog $k/reader/*
replay reader_crc "$c"/log/*.mlog $k/reader_crc/*
replay reader_events "$c"/events/* $k/reader_events/*
replay sites "$c"/log/*.mlog $k/sites/*
replay pack "$c"/spool/* $k/pack/*
replay summary "$c"/json/* $k/summary/*
replay budget "$c"/budget/* $k/budget/*

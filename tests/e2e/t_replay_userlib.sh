# A user library that ld.so does not preload (not an ELF file) or that exports no malloc would
# replay on glibc's malloc under its own name: refused before any work, exit 2, no row and no
# files. The real allocators, and a copy of one under another name, still replay.
source "$ROOT/tests/e2e/lib.sh"
"$MALLOG" record -o c -- "$BENCH/churn" 100000 > /dev/null
log=$(only_log c)
echo 'int not_an_allocator(int x) { return x + 1; }' > nm.c
cc -shared -fPIC -o libnomalloc.so nm.c
echo "not an ELF file" > libtext.so
for lib in libnomalloc.so libtext.so; do
    set +e
    "$MALLOG" replay "$log" -a "glibc,./$lib" -o "out_$lib" > table.txt 2> err.txt; rc=$?
    set -e
    cat err.txt
    expect_eq "exit with $lib" "$rc" 2
    grep -q "^mallog replay: .*$lib: " err.txt || die "$lib: no message naming it"
    case $lib in
    libnomalloc.so) grep -q "does not export malloc" err.txt || die "$lib: wrong reason" ;;
    libtext.so) grep -q "is not loaded" err.txt || die "$lib: wrong reason" ;;
    esac
    grep -q "^${lib%.so} " table.txt && die "$lib: a row with glibc's figures: $(cat table.txt)"
    [[ ! -e "out_$lib" ]] || [[ -z $(ls "out_$lib") ]] || die "$lib: files written: $(ls "out_$lib")"
done
# the refusal comes before the pre-pass: a damaged log's message would come first otherwise
size=$(stat -c %s "$log")
head -c $((size / 2)) "$log" > cut.mlog
set +e
"$MALLOG" replay cut.mlog -a ./libnomalloc.so 2> err.txt; rc=$?
set -e
expect_eq "exit on a damaged log and a bad library" "$rc" 2
grep -q "at byte" err.txt && die "pre-pass ran before the library was checked: $(cat err.txt)"
# real allocators, and one copied under a name of its own, pass the check
allocs=glibc,arena
lib=$(alloc_lib jemalloc)
[[ -n $lib ]] && cp "$lib" ./libcopy.so && allocs=$allocs,./libcopy.so
for a in jemalloc mimalloc tcmalloc; do
    [[ -n $(alloc_lib $a) ]] && allocs=$allocs,$a
done
"$MALLOG" replay "$log" -a "$allocs" -o ok --samples 20 > table.txt || die "real allocators refused"
cat table.txt
for a in ${allocs//,/ }; do
    a=$(basename "$a" .so)
    [[ -s ok/replay.$a.json ]] || die "no result for $a"
done

# Every option is checked before any work: a bad value, an option of the other command, a file
# where the output directory goes. Each gets exit 2 and a message naming the option, and no
# replay is done: the log is damaged, so a pre-pass would say where ("at byte N"), and the
# output directory stays empty. Where $TMPDIR is unusable, the replay says what failed.
source "$ROOT/tests/e2e/lib.sh"
"$MALLOG" record -o c -- "$BENCH/churn" 100000 > /dev/null
log=$(only_log c)
size=$(stat -c %s "$log")
head -c $((size / 2)) "$log" > cut.mlog
echo keep > afile
# bad CMD OPTION-NAME ARGS...: exit 2, a message naming the option, no work done
bad() {
    local cmd=$1 name=$2
    shift 2
    rm -rf out
    set +e
    "$MALLOG" "$cmd" cut.mlog "$@" > stdout.txt 2> err.txt
    local rc=$?
    set -e
    [[ $rc -eq 2 ]] || die "$cmd $*: exit $rc, want 2 ($(cat err.txt))"
    grep -q "^mallog $cmd: .*$name" err.txt || die "$cmd $*: no message naming $name: $(cat err.txt)"
    grep -q "at byte" err.txt && die "$cmd $*: the log was read before the options were checked"
    [[ ! -e out ]] || [[ -z $(ls out) ]] || die "$cmd $*: files written: $(ls out)"
    [[ ! -s stdout.txt ]] || die "$cmd $*: printed results: $(cat stdout.txt)"
    echo "ok: $cmd $* -> $(head -n 1 err.txt)"
}
for v in abc -1 5x ' 5' '' 0 99999999999999999999999 1e3 0x10; do
    bad replay --samples -a glibc -o out --samples "$v"
    bad holes --samples -a glibc --samples "$v"
done
for v in abc 0 -5 12k; do
    bad replay --every -a glibc -o out --every "$v"
done
bad replay --samples -a glibc -o out --samples
bad replay --threads -a glibc -o out --threads bogus
bad replay --touch -a glibc -o out --touch bogus
bad replay --decode -a glibc -o out --decode bogus
bad replay --at -a glibc -o out --at 5
bad replay --json -a glibc -o out --json
bad replay --top -a glibc -o out --top 3
bad replay --nope -a glibc -o out --nope
bad holes --output -a glibc -o out
bad holes --decode -a glibc --decode each
bad holes --at -a glibc --at 5x
bad holes --at -a glibc --at -1
bad holes --top -a glibc --top x
bad holes --top -a glibc --top -2
bad replay afile -a glibc -o afile
expect_eq "afile untouched" "$(cat afile)" keep
grep -q "not a directory" err.txt || die "-o afile: $(cat err.txt)"
mkdir ro && chmod 555 ro
if [[ ! -w ro ]]; then # (root writes anywhere)
    bad replay ro -a glibc -o ro
fi
# an unusable $TMPDIR: the tape cannot be made, the replay says why and goes on
TMPDIR=/nonexistent "$MALLOG" replay "$log" -a glibc --samples 10 > table.txt 2> err.txt ||
    die "replay with TMPDIR=/nonexistent failed: $(cat err.txt)"
cat err.txt
grep -q "/nonexistent: No such file or directory" err.txt || die "TMPDIR: real error not said"
grep -q "does not fit" err.txt && die "TMPDIR: said 'does not fit'"
grep -q "^glibc " table.txt || die "TMPDIR: no result"

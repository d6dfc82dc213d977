# A recording that cannot be written says so (issue 15 item 2):
# - an output directory that cannot be written is an error before the program starts (exit 2,
#   the directory and the reason named, the program never runs);
# - a process that could not create its spool later names the spool and errno, and record exits 2
#   while still reporting the program's own status.
source "$ROOT/tests/e2e/lib.sh"
if [[ $(id -u) -eq 0 ]]; then
    ro=/sys          # root writes through permission bits; sysfs refuses new files even to root
else
    mkdir ro && chmod a-w ro
fi
rc=0
"$MALLOG" record -o "$ro/t" -- touch ran > out.txt 2> err.txt || rc=$?
expect_eq "exit of record into $ro" "$rc" 2
[[ ! -e ran ]] || die "the program ran although its logs cannot be written"
grep -qE "^mallog record: $ro: .*(denied|Read-only|not permitted)" err.txt ||
    die "no message naming $ro and the reason: $(cat err.txt)"

# A process that cannot grow its spool (a file size limit below the spool's first window, with
# SIGXFSZ ignored so the recorder sees EFBIG): the shell is recorded, its exec'd child is not.
rc=0
"$MALLOG" record -o lim -- sh -c "trap '' XFSZ; (ulimit -f 1024; exec $PROGS/counts > /dev/null); exit 3" \
    > out.txt 2> err.txt || rc=$?
expect_eq "exit of record with an unrecordable process" "$rc" 2
grep -qE "^mallog record: pid [0-9]+ was not recorded: .*/lim\.[0-9]+\.[0-9]+\.r[0-9]+\.spool: File too large" err.txt ||
    die "no message naming the spool and errno: $(cat err.txt)"
grep -q "^mallog record: the program exited with status 3" err.txt || die "the program's status is not reported: $(cat err.txt)"
ls lim.*.spool 2> /dev/null && die "an unusable spool was left behind"
n=$(ls lim.*.mlog | wc -l)
[[ $n -ge 1 ]] || die "the shell's own log is missing"
echo ok

# Issue 3: logs are mode 0600, a symlink planted at the output path is never followed, an existing
# log is never overwritten, and a program's errno survives our hooks.
source "$ROOT/tests/e2e/lib.sh"
"$MALLOG" -q record -o s -- "$PROGS/counts" > /dev/null
log=$(only_log s)
expect_eq "mode" "$(stat -c %a "$log")" 600
pid=${log#s.}; pid=${pid%.mlog}
# plant a symlink where the next log of this prefix would go for a given pid: we cannot know the
# pid in advance, so plant one for every pid the next few processes may get
next=$(( $(cat /proc/sys/kernel/ns_last_pid) ))
echo "precious" > victim.txt
for p in $(seq $((next + 1)) $((next + 40))); do ln -s victim.txt "t.$p.mlog"; ln -s victim.txt "t.$p.0.spool"; done
"$MALLOG" -q record -o t -- "$PROGS/counts" > /dev/null 2> err.txt || true
expect_eq "victim intact" "$(cat victim.txt)" "precious"
# a log that already exists is not overwritten: pack refuses and keeps the spool
cp "$log" keep.mlog
"$MALLOG" -q pack s 2> err.txt || true
cmp -s "$log" keep.mlog || die "existing log changed"

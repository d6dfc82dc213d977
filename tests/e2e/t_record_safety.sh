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
# Issue 18: spare spool files (<prefix>.<k>.spare, kept by record for reuse) are taken only when
# they are our own empty regular files of mode 0600 with no other name: a planted symlink or hard
# link is never written through, and the process still gets a spool and a clean log.
echo "precious" > victim2.txt
ln -s victim2.txt u.0.spare
ln victim2.txt u.1.spare
MALLOG_SPARES=2 MALLOG_OUT="$WORK/u" LD_PRELOAD="$PRELOAD" "$PROGS/counts" > /dev/null
expect_eq "victim2 intact" "$(cat victim2.txt)" "precious"
"$MALLOG" -q pack u
ulog=$(only_log u)
expect_eq "anomalies (planted spares)" "$(anomalies "$ulog")" 0
expect_eq "mode (planted spares)" "$(stat -c %a "$ulog")" 600
# a good spare is taken (renamed, not copied) and gives the same log
: > v.0.spare
chmod 600 v.0.spare
ino=$(stat -c %i v.0.spare)
MALLOG_SPARES=1 MALLOG_OUT="$WORK/v" LD_PRELOAD="$PRELOAD" "$PROGS/counts" > /dev/null
[[ ! -e v.0.spare ]] || die "the spare was not taken"
spool=$(ls v.*.spool)
expect_eq "spare reused" "$(stat -c %i "$spool")" "$ino"
"$MALLOG" -q pack v
expect_eq "anomalies (spare)" "$(anomalies "$(only_log v)")" 0
# record leaves no spare behind
expect_eq "spares left" "$(ls t.*.spare s.*.spare 2> /dev/null | wc -l)" 0

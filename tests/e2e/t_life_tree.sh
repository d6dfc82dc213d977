# Issue 4: process trees: fork+exec, vfork+exec, posix_spawn, _Fork, system(), an sh -c chain
# three levels deep, a real pipeline; --no-follow; mallog's own CLI is never recorded.
source "$ROOT/tests/e2e/lib.sh"
printf 'b\na\nb\nc\nb\n' > in.txt
"$MALLOG" -q record -o sp -- "$PROGS/lifecycle" spawn > sp.out
expect_eq "spawn ok" "$(cat sp.out)" "ok 4"
"$MALLOG" info sp > sp.txt
cat sp.txt
root=$(sed -n 's/^\* pid \([0-9]*\) .*/\1/p' sp.txt)
grep -q "^\* pid $root .*\[exit, status 0\]" sp.txt || die "root end wrong (vfork child's exec must not end it)"
expect_eq "spawned true" "$(grep -c '^  spawn pid [0-9]*  0 events  true' sp.txt)" 2
expect_eq "_Fork child" "$(grep -c '^  fork pid [0-9]*  [0-9]* events  .*lifecycle spawn  \[_exit, status 0\]' sp.txt)" 1
for l in sp.*.mlog; do expect_eq "$l anomalies" "$(anomalies "$l")" 0; done

# sh -c chain, three levels deep (dash vforks + execs each inner shell)
"$MALLOG" -q record -o ch -- sh -c 'sh -c "sh -c \"echo deep\""' > ch.out
expect_eq "chain output" "$(cat ch.out)" "deep"
"$MALLOG" info ch > ch.txt
cat ch.txt
grep -qE '^  (spawn|fork) pid [0-9]* .* sh -c sh -c "echo deep"' ch.txt || die "level 2 not linked"
grep -qE '^    (spawn|fork) pid [0-9]* .* sh -c echo deep ' ch.txt || die "level 3 not linked"
for l in ch.*.mlog; do expect_eq "$l anomalies" "$(anomalies "$l")" 0; done

# an exec chain: same pid, one log per exec generation, linked, nothing before exec lost
"$MALLOG" -q record -o ex -- sh -c 'exec sh -c "exec sh -c \"exec sort in.txt\""' > /dev/null
"$MALLOG" info ex > ex.txt
cat ex.txt
expect_eq "exec generations" "$(ls ex.*.mlog | wc -l)" 4
grep -q '^      exec pid [0-9]*\.3  [0-9]* events  sort in.txt ' ex.txt || die "exec chain not linked"
expect_eq "ended by exec" "$(grep -c '\[exec\]' ex.txt)" 3
for l in ex.*.mlog; do expect_eq "$l anomalies" "$(anomalies "$l")" 0; done

# a real pipeline: every process's log present and linked
"$MALLOG" -q record -o su -- sh -c 'sort in.txt | uniq -c | sort -rn > out.txt'
expect_eq "pipeline output" "$(head -n1 out.txt | tr -s ' ')" " 3 b"
"$MALLOG" info su > su.txt
cat su.txt
for prog in 'sort in.txt' 'uniq -c' 'sort -rn'; do
    grep -q "^    exec pid [0-9]*\.1  [0-9]* events  $prog " su.txt || die "no linked log for $prog"
done
for l in su.*.mlog; do expect_eq "$l anomalies" "$(anomalies "$l")" 0; done

# --no-follow: only the first process
"$MALLOG" -q record --no-follow -o nf -- sh -c 'sort in.txt | uniq -c > /dev/null'
expect_eq "no-follow logs" "$(ls nf.*.mlog | wc -l)" 1

# mallog itself under an inherited LD_PRELOAD is not recorded
"$MALLOG" -q record -o self -- sh -c "\"$MALLOG\" info su > /dev/null"
"$MALLOG" info self | grepq "events  $MALLOG" && die "mallog's own CLI was recorded"
true

# failed execs before one that works (a PATH search): the image is not taken for ended, nothing is
# lost, and generations stay consecutive
mkdir -p empty1 empty2
"$MALLOG" -q record -o fe -- sh -c "PATH=$PWD/empty1:$PWD/empty2:\$PATH; export PATH; exec sort in.txt" > /dev/null
ls fe.*.spool 2> /dev/null && die "spools left behind"
"$MALLOG" info fe > fe.txt
cat fe.txt
expect_eq "failed-exec generations" "$(ls fe.*.mlog | wc -l)" 2
grep -q '^  exec pid [0-9]*\.1  [0-9]* events  sort in.txt ' fe.txt || die "exec after failures not linked"
for l in fe.*.mlog; do expect_eq "$l anomalies" "$(anomalies "$l")" 0; done
# the shell's failed attempts are in its own log, as exec events with -errno
"$MALLOG" dump "$(ls fe.*.mlog | grep -v '\.1\.mlog')" | grepq ' exec() = -2$' || die "failed exec not recorded"

# Issue 4: a daemon that double-forks, closes every fd, dup2's over 0..1023 and chdir's to /
# keeps being recorded, and mallog never writes into one of its files.
source "$ROOT/tests/e2e/lib.sh"
"$MALLOG" -q record -o dm -- "$PROGS/lifecycle" daemon "$PWD/daemon.pid" > /dev/null
for _ in $(seq 200); do [[ -s daemon.pid ]] && break; sleep 0.05; done
pid=$(cat daemon.pid)
for _ in $(seq 400); do kill -0 "$pid" 2> /dev/null || break; sleep 0.05; done
kill -0 "$pid" 2> /dev/null && die "daemon still running"
ls dm.*.spool > /dev/null 2>&1 && "$MALLOG" -q pack dm
log=dm.$pid.mlog
[[ -f $log ]] || die "no log for the daemon ($(ls))"
expect_eq "daemon anomalies" "$(anomalies "$log")" 0
m=$(op_count "$log" malloc)
(( m >= 20000 )) || die "daemon: only $m mallocs"
expect_eq "logs in tree" "$(ls dm.*.mlog | wc -l)" 3
"$MALLOG" info dm | grepq "^    fork pid $pid " || die "daemon not linked as grandchild"
# nothing of ours went into /dev/null-dup'd fds or the root directory
ls / | grepq mlog && die "a log appeared in /"
true

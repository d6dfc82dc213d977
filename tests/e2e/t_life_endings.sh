# Issue 4: exit, _exit, abort, SIGSEGV, SIGKILL, return: the log is readable, holds every event up
# to the end, and says how the process ended.
source "$ROOT/tests/e2e/lib.sh"
check() { # how, expected record exit code, expected "ended:" text
    "$MALLOG" -q record -o "d$1" -- "$PROGS/lifecycle" die "$1" 20000 > /dev/null && rc=0 || rc=$?
    expect_eq "$1 exit code" "$rc" "$2"
    local log; log=$(only_log "d$1")
    "$MALLOG" info "$log" > "info.$1.txt"
    grep -qF "ended:      $3" "info.$1.txt" || die "$1: $(grep ended "info.$1.txt")"
    expect_eq "$1 anomalies" "$(anomalies "$log")" 0
    local m; m=$(op_count "$log" malloc)
    (( m >= 20000 )) || die "$1: only $m mallocs recorded"
    grep -q "(.*, complete)" "info.$1.txt" || die "$1: log not complete"
}
check exit 7 "exit, status 7"
check _exit 8 "_exit, status 8"
check abort 134 "killed by signal 6"
check segv 139 "killed by signal 11"
check kill 137 "killed by signal 9"
check return 0 "exit, status 0"

# -o DIR/ (a trailing slash) or -o DIR (an existing directory) means "the logs go inside DIR",
# named mallog.<pid>.mlog there; every tool then reads DIR/ (issue 15 item 8).
source "$ROOT/tests/e2e/lib.sh"
mkdir exists
"$MALLOG" -q record -o exists -- "$PROGS/counts" > /dev/null
ls exists/mallog.*.mlog > /dev/null 2>&1 || die "-o exists: no log inside the directory: $(ls -a . exists)"
ls exists.*.mlog 2> /dev/null && die "-o exists: a log beside the directory"
"$MALLOG" info exists/ > info.txt || die "info exists/ failed"
grep -q 'events' info.txt || die "info exists/ shows no events"

# a trailing slash: the directory is made when missing
"$MALLOG" -q record -o newdir/ -- "$PROGS/counts" > /dev/null
ls newdir/mallog.*.mlog > /dev/null 2>&1 || die "-o newdir/: no log inside the directory"
ls newdir.*.mlog 2> /dev/null && die "-o newdir/: a log beside the directory"
"$MALLOG" info newdir/ > /dev/null || die "info newdir/ failed"
"$MALLOG" stats newdir/ > /dev/null 2>&1 || die "stats newdir/ failed"

# a plain prefix is still a prefix
"$MALLOG" -q record -o plain -- "$PROGS/counts" > /dev/null
ls plain.*.mlog > /dev/null || die "-o plain: no plain.<pid>.mlog"
echo ok

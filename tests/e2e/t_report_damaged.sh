# Issue 7: a report on a damaged log (cut short, as a full disk or a copy in progress leaves it)
# still gets written from the valid prefix, and the page says the log is damaged and where.
source "$ROOT/tests/e2e/lib.sh"
command -v gnuplot > /dev/null || { echo "gnuplot missing (make deps installs gnuplot-nox)"; exit 77; }
PY=/usr/bin/python3
[[ -x $PY ]] || PY=$(command -v python3)
PYTHONMALLOC=malloc "$MALLOG" -q record -o py -- "$PY" -c 'x = [str(i) * 30 for i in range(300000)]' > /dev/null
log=$(only_log py)
size=$(stat -c %s "$log")
head -c $((size * 2 / 3)) "$log" > cut.mlog
set +e
"$MALLOG" report cut.mlog -a glibc -o rep --holes 0 2> err.txt; rc=$?
set -e
expect_eq "report exit on a damaged log" "$rc" 0
grep -q 'valid prefix' err.txt || die "no word about the damage on stderr: $(cat err.txt)"
grep -q 'class="warn">The log is damaged (truncated' rep/index.html || die "page does not say the log is damaged"
[[ -s rep/memory.png && -s rep/stats.json ]] || die "report incomplete"
echo ok

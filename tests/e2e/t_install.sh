# make install into a DESTDIR: the installed binary, copied away from the build tree, finds its
# recorder library, gnuplot scripts and report pieces from its install prefix; it records, reports
# and plots; --version, a man page per command and the bash completion are installed (issue 15).
source "$ROOT/tests/e2e/lib.sh"
dest=$WORK/dest prefix=/opt/mallog
# the build is current (make test built it); install only copies, plus the man pages
make --no-print-directory -s -C "$ROOT" install DESTDIR="$dest" PREFIX="$prefix" > make.out 2>&1 ||
    die "make install failed: $(tail -5 make.out)"
bin=$dest$prefix/bin/mallog
[[ -x $bin ]] || die "no $bin"
"$bin" --version | grepq -E '^mallog [0-9]+\.[0-9]+' || die "--version: $("$bin" --version)"
for c in $("$bin" --help | sed -n 's/^  \([a-z]*\)  .*/\1/p'); do
    page=$dest$prefix/share/man/man1/mallog-$c.1
    [[ -s $page ]] || die "no man page for $c"
    grep -q '^\.TH MALLOG-' "$page" || die "$page is not a man page"
done
[[ -s $dest$prefix/share/man/man1/mallog.1 ]] || die "no mallog.1"
comp=$dest$prefix/share/bash-completion/completions/mallog
got=$(bash -c 'source "$1"; COMP_WORDS=("$2" rec); COMP_CWORD=1; _mallog; echo "${COMPREPLY[*]}"' _ "$comp" "$bin")
expect_eq "completion of 'mallog rec'" "$got" record
got=$(bash -c 'source "$1"; COMP_WORDS=("$2" record --no-f); COMP_CWORD=2; _mallog; echo "${COMPREPLY[*]}"' _ "$comp" "$bin")
expect_eq "completion of 'mallog record --no-f'" "$got" --no-follow

# the build tree is out of sight: PATH has only the installed binary, the scripts' env var unset
unset MALLOG_PLOTS_DIR
export PATH=$dest$prefix/bin:/usr/bin:/bin
mallog -q record -o t -- "$PROGS/fragment" 6 > /dev/null || die "installed record failed"
log=$(only_log t)
mallog -q report "$log" -a glibc -o rep > report.out 2>&1 || die "installed report failed: $(cat report.out)"
grep -q 'gnuplot not found\|could not be drawn' report.out && die "report without charts: $(cat report.out)"
[[ -s rep/memory.png && -s rep/index.html ]] || die "report: no memory chart: $(ls rep)"
grep -q 'holds the least resident memory' rep/index.html || die "report: no findings"
mallog -q plot rep -o charts > plot.out 2>&1 || die "installed plot failed: $(cat plot.out)"
ls charts/*.png > /dev/null 2>&1 || die "plot: no charts"
echo ok

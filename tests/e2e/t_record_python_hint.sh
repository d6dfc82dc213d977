# Recording python3 with its default allocator (pymalloc) tells the user once that
# PYTHONMALLOC=malloc shows every object; not when it is already set, not under -q (issue 15).
source "$ROOT/tests/e2e/lib.sh"
command -v python3 > /dev/null || { echo "python3 not installed"; exit 77; }
unset PYTHONMALLOC
# a tree of two python processes: still one note
"$MALLOG" record -o p -- python3 -c 'import subprocess, sys; subprocess.run([sys.executable, "-c", "pass"])' \
    > out.txt 2> err.txt
n=$(grep -c 'PYTHONMALLOC=malloc' err.txt || true)
expect_eq "notes about PYTHONMALLOC" "$n" 1
grep -q '^mallog record: note: python' err.txt || die "the note's shape: $(cat err.txt)"
PYTHONMALLOC=malloc "$MALLOG" record -o q -- python3 -c 'pass' > out.txt 2> err.txt
grep -q 'PYTHONMALLOC' err.txt && die "a note although PYTHONMALLOC=malloc: $(cat err.txt)"
"$MALLOG" -q record -o r -- python3 -c 'pass' > out.txt 2> err.txt
[[ -s err.txt ]] && die "-q: something said: $(cat err.txt)"
echo ok

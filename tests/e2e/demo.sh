#!/usr/bin/env bash
# `make demo`: record a program that fragments glibc's heap (tests/progs/fragment.c: a buffer
# grown by realloc, a small long-lived block allocated right after it, the buffer freed, again
# and again), replay it on every installed allocator, write the HTML report, say where it is.
# Usage: demo.sh MALLOG   (writes build/demo/ beside the binary's source tree)
set -euo pipefail
[[ $# -eq 1 ]] || { echo "usage: demo.sh path/to/mallog" >&2; exit 2; }
MALLOG=$(realpath "$1")
root=$(cd "$(dirname "$0")/../.." && pwd)
prog=$root/build/progs/fragment
out=$root/build/demo
[[ -x $prog ]] || { echo "demo: $prog missing (make all builds it)" >&2; exit 2; }
command -v gnuplot > /dev/null || { echo "demo: gnuplot missing (make deps installs gnuplot-nox)" >&2; exit 2; }

rm -rf "$out"
mkdir -p "$out"
echo "demo: recording $prog (mallog record --stacks)"
"$MALLOG" record --stacks -o "$out/trace" -- "$prog"
log=$(ls "$out"/trace.*.mlog)
echo "demo: replaying on every installed allocator, analyzing, plotting (mallog report)"
"$MALLOG" report "$log" -o "$out/report"
echo
echo "Key findings:"
# the findings list of the page, as text
sed -n '/<ul class="findings">/,/<\/ul>/p' "$out/report/index.html" | grep '<li' |
    sed -e 's/ *<a [^>]*>[^<]*<\/a>\.\{0,1\}//g' -e 's/<[^>]*>//g' -e 's/&times;/x/g' -e 's/&ge;/>=/g' -e 's/&amp;/\&/g' -e 's/^/  - /' |
    fold -s -w 98 | sed -e '/^  - /!s/^/    /'
echo
rel=${out#"$PWD"/}
echo "demo: the report is $rel/report/index.html (open it in a browser: xdg-open $rel/report/index.html)"
echo "demo: the memory chart alone: $rel/report/memory.png"

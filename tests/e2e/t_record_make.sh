# Issue 18: `mallog record -- make -j2` of a generated C project (bench/gen-project.sh) leaves a
# complete, clean log for every process of the build (make, sh, cc, cc1, as, collect2, ld), and
# no spool or partial log behind.
source "$ROOT/tests/e2e/lib.sh"
command -v make > /dev/null && command -v cc > /dev/null || { echo "make or cc missing"; exit 77; }
N=40
bash "$ROOT/bench/gen-project.sh" proj "$N"
mkdir logs
"$MALLOG" record -o "$WORK/logs/b" -- make -s -j2 -C proj CFLAGS=-O0 > make.out 2> make.err ||
    die "record of make failed: $(tail -n 5 make.err)"
[[ -x proj/prog ]] || die "the build made no program"
expect_eq "program output" "$(proj/prog | wc -l)" 1
expect_eq "spools left" "$(find logs -name '*.spool' | wc -l)" 0
expect_eq "partial logs left" "$(find logs -name '*.partial' | wc -l)" 0
"$MALLOG" info logs/b > tree.txt
nlogs=$(ls logs/*.mlog | wc -l)
grep -q "process tree of .* ($nlogs logs)" tree.txt || die "info does not name all $nlogs logs: $(head -n 1 tree.txt)"
# one compiler (cc1) and one assembler per source file (N modules + main.c), one linker
expect_eq "cc1 logs" "$(grep -c ' events  [^ ]*/cc1 ' tree.txt)" $((N + 1))
expect_eq "as logs" "$(grep -c ' events  as ' tree.txt)" $((N + 1))
[[ $(grep -c ' events  [^ ]*ld ' tree.txt) -ge 1 ]] || die "no linker log"
for i in 0 $((N - 1)); do
    grep -q "/cc1 .* src/m$i.c " tree.txt || die "no cc1 log for src/m$i.c"
done
# every log: complete, nothing lost, no anomaly, and ended by exit (every build step exits)
bad=0
for l in logs/*.mlog; do
    "$MALLOG" info "$l" > i.txt 2>&1 || { echo "info failed on $l: $(tail -n 2 i.txt)"; bad=$((bad + 1)); continue; }
    grep -q '^log: .*complete)' i.txt || { echo "$l: not complete"; bad=$((bad + 1)); }
    grep -q '^events: .* lost 0$' i.txt || { echo "$l: $(grep '^events:' i.txt)"; bad=$((bad + 1)); }
    grep -q 'anomalies 0 ' i.txt || { echo "$l: $(grep '^integrity:' i.txt)"; bad=$((bad + 1)); }
    grep -Eq '^ended: +_?exit' i.txt || { echo "$l: $(grep '^ended:' i.txt)"; bad=$((bad + 1)); }
done
expect_eq "logs with a problem" "$bad" 0
# the cc1 logs carry the compiler's allocations
ev=$(grep -m 1 ' events  [^ ]*/cc1 ' tree.txt | sed 's/.* \([0-9]*\) events .*/\1/')
(( ev > 1000 )) || die "a cc1 log holds only $ev events"

# Issue 4: a static binary gets a clear warning from mallog record (LD_PRELOAD cannot see it),
# and the run itself is unaffected.
source "$ROOT/tests/e2e/lib.sh"
printf '#include <stdlib.h>\nint main(void) { free(malloc(10)); return 3; }\n' > s.c
cc -static -o s s.c 2> /dev/null || { echo "no static libc to link a test program"; exit 77; }
rc=0; "$MALLOG" record -o st -- ./s 2> err.txt || rc=$?
expect_eq "exit status passes through" "$rc" 3
grep -q "statically linked: LD_PRELOAD cannot interpose its malloc" err.txt || die "no warning: $(cat err.txt)"
ls st.*.mlog > /dev/null 2>&1 && die "a static binary produced a log"
true

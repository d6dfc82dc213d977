# Two `mallog record` runs with the same prefix in one directory at the same time: each packs only
# its own spools (a run id in the spool names), both exit with their program's status, neither
# says anything about the other's processes (issue 15 item 5).
source "$ROOT/tests/e2e/lib.sh"
# each program waits until the other has started, so the two recordings overlap for sure
prog() { # prog ME OTHER: a small tree (a child process too) that outlives the other's start
    echo "touch $1.started; $PROGS/counts > /dev/null; n=0; while [ ! -e $2.started ] && [ \$n -lt 600 ]; do sleep 0.05; n=\$((n+1)); done; $PROGS/counts > /dev/null"
}
"$MALLOG" record -- sh -c "$(prog a b)" > a.out 2> a.err & pa=$!
"$MALLOG" record -- sh -c "$(prog b a)" > b.out 2> b.err & pb=$!
ra=0; wait $pa || ra=$?
rb=0; wait $pb || rb=$?
expect_eq "exit of run a" "$ra" 0
expect_eq "exit of run b" "$rb" 0
for r in a b; do
    if grep -v '^mallog: pid [0-9]*: [0-9]* events -> ' $r.err | grepq .; then
        die "run $r said more than its own logs: $(cat $r.err)"
    fi
done
ls mallog.*.spool 2> /dev/null && die "spools left behind"
# every log is listed by exactly one run, and every log exists
cat a.err b.err | sed -n 's/.* -> \(.*\.mlog\) (.*/\1/p' | sort > listed.txt
ls "$PWD"/mallog.*.mlog | sort > logs.txt
diff listed.txt logs.txt || die "the logs the runs listed are not the logs written"
[[ $(sort listed.txt | uniq -d | wc -l) -eq 0 ]] || die "a log listed twice"
"$MALLOG" info mallog > /dev/null 2> info.err || die "info failed on the two recordings: $(cat info.err)"
echo ok

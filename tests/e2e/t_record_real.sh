# Issue 3: real programs (python3, sort, git) recorded; their logs read back with 0 anomalies.
source "$ROOT/tests/e2e/lib.sh"
PY=/usr/bin/python3
[[ -x $PY ]] || PY=$(command -v python3)
PYTHONMALLOC=malloc "$MALLOG" -q record -o py -- "$PY" -c 'x = [str(i) * 50 for i in range(200000)]; print(len(x))' > py.out
expect_eq "python output" "$(cat py.out)" 200000
for l in py.*.mlog; do
    expect_eq "$l anomalies" "$(anomalies "$l")" 0
done
# the python process itself made hundreds of thousands of calls
big=$(for l in py.*.mlog; do op_count "$l" malloc; done | sort -n | tail -n1)
(( big > 200000 )) || die "python made only $big mallocs"

seq 1 200000 | sed 's/$/ line/' > in.txt
"$MALLOG" -q record -o so -- sort -r in.txt > sorted.txt
cmp -s sorted.txt <(sort -r in.txt) || die "sort output changed under recording"
l=$(only_log so)
expect_eq "sort anomalies" "$(anomalies "$l")" 0

command -v git > /dev/null || { echo "git missing"; exit 77; }
git init -q repo && cd repo
for i in $(seq 50); do echo "file $i" > "f$i.txt"; done
git add . && git -c user.email=t@t -c user.name=t commit -qm init
cd ..
"$MALLOG" -q record -o g -- git -C repo log --stat > git.out
grep -q 'init' git.out || die "git output"
for l in g.*.mlog; do expect_eq "$l anomalies" "$(anomalies "$l")" 0; done
"$MALLOG" info g | grepq '^argv: *git -C repo log --stat' || die "git argv"

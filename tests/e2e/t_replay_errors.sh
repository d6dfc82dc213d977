# Errors have one shape and exit 2; a damaged log replays up to the damage; a user library is
# named after its file; anomalies in a log are counted, never a crash.
source "$ROOT/tests/e2e/lib.sh"
set +e
"$MALLOG" replay /nonexistent.mlog 2> err.txt; rc=$?
set -e
expect_eq "exit on missing log" "$rc" 2
grep -q "^mallog replay: " err.txt || die "bad message: $(cat err.txt)"
set +e
"$MALLOG" replay x -a nosuchalloc 2> err.txt; rc=$?
set -e
expect_eq "exit on unknown allocator" "$rc" 2
grep -q "unknown allocator" err.txt || die "bad message: $(cat err.txt)"
"$MALLOG" replay --help | grepq "usage: mallog replay" || die "no help"
"$MALLOG" holes --help | grepq "usage: mallog holes" || die "no help"
"$MALLOG" record -o c -- "$BENCH/churn" 1000000 > /dev/null
log=$(only_log c)
size=$(stat -c %s "$log")
head -c $((size * 2 / 3)) "$log" > cut.mlog
set +e
"$MALLOG" replay cut.mlog -a arena -o cut > out.txt 2> err.txt; rc=$?
set -e
expect_eq "exit on a damaged log" "$rc" 2
grep -q "^mallog replay: .*cut.mlog: .* at byte [0-9]* (event [0-9]*)" err.txt || die "damage not reported: $(cat err.txt)"
grep -q "^arena" out.txt || die "no table for the valid prefix"
python3 -c "import json; d=json.load(open('cut/replay.arena.json')); assert 0 < d['events'] < 1000000" ||
    die "damaged log: wrong prefix"
# the user's own allocator: a path to a .so exporting malloc & co.
lib=$(alloc_lib jemalloc)
if [[ -n $lib ]]; then
    cp "$lib" ./libmyalloc.so
    "$MALLOG" replay "$log" -a ./libmyalloc.so -o user > /dev/null || die "user .so failed"
    [[ -s user/replay.libmyalloc.json ]] || die "user .so result not named libmyalloc"
fi
# the child of a fork starts with inherited blocks: with its parent's log beside it they are
# seeded (0 anomalies); without it, its frees are unknown, counted, skipped, never a crash
cat > forky.c <<'C'
#include <stdlib.h>
#include <unistd.h>
#include <sys/wait.h>
int main(void) { void *p[100]; for (int i = 0; i < 100; i++) p[i] = malloc(100 + i);
  pid_t c = fork(); if (c == 0) { for (int i = 0; i < 100; i++) free(p[i]); _exit(0); }
  waitpid(c, 0, 0); return 0; }
C
cc -O1 -o forky forky.c
"$MALLOG" record -o fk -- ./forky
for l in fk.*.mlog; do
    "$MALLOG" replay "$l" -a glibc -o "r_$(basename "$l")" > /dev/null || die "replay of $l crashed"
done
total=$(cat r_fk.*/replay.glibc.json | python3 -c "import json,sys; print(sum(json.loads(l)['anomalies']['unknown_frees'] for l in sys.stdin))")
[[ $total -eq 0 ]] || die "inherited frees counted as unknown although the parent's log is there ($total)"
mkdir alone
child=$(ls -S fk.*.mlog | tail -n1)
parent_pid=$("$MALLOG" info "$child" | sed -n 's/^parent: *fork of pid \([0-9]*\).*/\1/p')
[[ -n $parent_pid ]] || die "no fork link in $child"
cp "$child" alone/
"$MALLOG" replay "alone/$child" -a glibc -o r_alone > /dev/null || die "replay of a lone child crashed"
total=$(python3 -c "import json; print(json.load(open('r_alone/replay.glibc.json'))['anomalies']['unknown_frees'])")
[[ $total -ge 100 ]] || die "inherited frees of a lone child not counted as unknown ($total)"

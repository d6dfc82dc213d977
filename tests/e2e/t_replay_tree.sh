# Issue 22: `mallog replay --tree` replays a recorded process tree with real forks and measures,
# per forked process, the inherited heap it un-shares. Checked against the real program:
# tests/progs/prefork (a master with 100 MB of 64-448 B and few-KB blocks, 4 workers) run natively
# on glibc and with jemalloc preloaded; each worker prints its Private_Dirty growth. The replay's
# un-shared inherited bytes plus its new private bytes must be within 25% of it, and the control
# worker (new memory only) must un-share almost nothing. Then: a fork storm (20 children freeing
# inherited blocks: none unknown), children that exec, a child whose parent's log is missing, and
# the report's "Fork and copy-on-write" section.
source "$ROOT/tests/e2e/lib.sh"
jemalloc=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2
[[ -e $jemalloc ]] || { echo "no $jemalloc (make deps)"; exit 77; }
MB=100

"$PROGS/prefork" $MB > native.glibc
LD_PRELOAD=$jemalloc MALLOC_CONF=dirty_decay_ms:0,muzzy_decay_ms:0 "$PROGS/prefork" $MB > native.jemalloc
"$MALLOG" -q record -o pf -- "$PROGS/prefork" $MB > recorded.out
cat native.glibc native.jemalloc recorded.out
expect_eq "logs" "$(ls pf.*.mlog | wc -l)" 5
"$MALLOG" replay pf --tree -a glibc,jemalloc -o out > tree.txt
cat tree.txt
grep -q '^finding: on glibc each forked process un-shares' tree.txt || die "no finding"
grep -q 'not allocator calls and are not in the log' tree.txt || die "no word on what cannot be seen"

# the replay's figures of the worker with recorded pid P: unshared, new
figures() { j "out/replay.$1.json" "[(p['unshared_inherited_bytes'], p['new_bytes'], p['inherited_bytes']) for p in d['processes'] if p['pid'] == $2][0]"; }
for a in glibc jemalloc; do
    n=$(j "out/replay.$a.json" "len(d['processes'])")
    expect_eq "$a processes" "$n" 5
    expect_eq "$a forked" "$(j "out/replay.$a.json" "d['forked_processes']")" 4
    for k in 0 1 2 3; do
        pid=$(sed -n "s/^worker $k [a-z0-9]* pid \([0-9]*\) .*/\1/p" recorded.out)
        native=$(sed -n "s/^worker $k .* private_dirty_growth \([0-9]*\)$/\1/p" native.$a)
        read -r uns new inh <<< "$(figures $a "$pid" | tr -d '(),')"
        echo "$a worker $k (pid $pid): native growth $native; replay un-shared $uns + new $new (inherited $inh)"
        (( inh > MB * 1000000 )) || die "$a worker $k: inherited $inh, want the master's heap"
        got=$((uns + new))
        (( got * 100 >= native * 75 && got * 100 <= native * 125 )) ||
            die "$a worker $k: replay $got vs native $native: beyond 25%"
        if [[ $k == 3 ]]; then # the control only allocates: its growth is new memory
            (( uns < 1048576 )) || die "$a control worker un-shared $uns bytes"
        else # the other workers' growth is the inherited heap they un-share
            (( uns * 100 >= native * 75 )) || die "$a worker $k: un-shared $uns of native $native"
        fi
    done
done
# the workers' frees of inherited blocks are counted as such: every 8th, then a quarter
nblk=$(sed -n 's/^master blocks \([0-9]*\) .*/\1/p' recorded.out)
for k in 0 1 3; do
    pid=$(sed -n "s/^worker $k [a-z0-9]* pid \([0-9]*\) .*/\1/p" recorded.out)
    want=$(( k == 0 ? (nblk + 7) / 8 : k == 1 ? nblk / 4 : 0 ))
    expect_eq "worker $k inherited frees" \
        "$(j out/replay.glibc.json "[p['inherited_frees'] for p in d['processes'] if p['pid'] == $pid][0]")" "$want"
done
# the tree's PSS at the end: every private page once, plus the shared ones (at most the heap the
# master had at its fork) once
for a in glibc jemalloc; do
    j "out/replay.$a.json" "(lambda priv, inh, end, peak: (print(f'$a tree PSS end {end}, peak {peak}, private {priv}, master heap {inh}'), priv <= end <= priv + inh * 1.05 + (2 << 20) and peak >= end) [1])(sum(p['unshared_inherited_bytes'] + p['new_bytes'] for p in d['processes']), max(p['inherited_bytes'] for p in d['processes']), d['tree_pss_end'], d['tree_pss_peak'])" > pss.$a
    cat pss.$a
    [[ $(tail -n 1 pss.$a) == True ]] || die "$a: tree PSS out of bounds"
done
# the story: freeing every 8th block un-shares glibc's whole heap, not jemalloc's
g=$(figures glibc "$(sed -n 's/^worker 0 every8 pid \([0-9]*\) .*/\1/p' recorded.out)" | tr -d '(),' | cut -d' ' -f1)
je=$(figures jemalloc "$(sed -n 's/^worker 0 every8 pid \([0-9]*\) .*/\1/p' recorded.out)" | tr -d '(),' | cut -d' ' -f1)
(( g > 20 * je )) || die "every8: glibc $g not far above jemalloc $je"
head -n 1 out/replay.glibc.tree.tsv | grepq 'unshared_inherited' || die "no timeline"

# a fork storm: 20 children with the parent's heap; their frees of inherited blocks are known
"$MALLOG" -q record -o fs -- "$PROGS/lifecycle" fork_storm 1 20 > /dev/null
"$MALLOG" replay fs --tree -a glibc -o outfs > fs.txt
expect_eq "storm processes" "$(j outfs/replay.glibc.json "len(d['processes'])")" 21
expect_eq "storm unknown frees" "$(j outfs/replay.glibc.json "sum(p['unknown_frees'] for p in d['processes'])")" 0
expect_eq "storm children un-sharing" \
    "$(j outfs/replay.glibc.json "sum(1 for p in d['processes'] if p['parent_replayed'] and p['unshared_inherited_bytes'] > 0)")" 20

# children that exec (posix_spawn, vfork, system, _Fork): an exec'd image starts fresh
"$MALLOG" -q record -o sp -- "$PROGS/lifecycle" spawn > /dev/null
"$MALLOG" replay sp --tree -a glibc -o outsp > sp.txt
expect_eq "spawn processes" "$(j outsp/replay.glibc.json "len(d['processes'])")" "$(ls sp.*.mlog | wc -l)"
expect_eq "spawn: the _Fork child is forked" "$(j outsp/replay.glibc.json "sum(1 for p in d['processes'] if p['parent_replayed'])")" 1
"$MALLOG" -q record -o ex -- sh -c 'exec sh -c "exec true"' > /dev/null
"$MALLOG" replay ex --tree -a glibc -o outex > ex.txt
expect_eq "exec images" "$(j outex/replay.glibc.json "len(d['processes'])")" "$(ls ex.*.mlog | wc -l)"
expect_eq "exec images start fresh" "$(j outex/replay.glibc.json "sum(1 for p in d['processes'] if p['parent_replayed'])")" 0

# the master's log missing: each worker is replayed alone and it is said
mkdir orphan && cp pf.*.mlog orphan/
master=$(sed -n 's/^\* pid \([0-9]*\) .*/\1/p' <("$MALLOG" info pf))
rm "orphan/pf.$master.mlog"
"$MALLOG" replay orphan/pf --tree -a glibc -o outor > or.txt 2> or.err
cat or.err
expect_eq "missing-parent lines" "$(grep -c "log of its fork parent (pid $master) is missing: replayed alone" or.err)" 4
expect_eq "orphans" "$(j outor/replay.glibc.json "len(d['processes'])")" 4
every8=$(sed -n 's/^worker 0 every8 pid \([0-9]*\) .*/\1/p' recorded.out)
(( $(j outor/replay.glibc.json "[p['unknown_frees'] for p in d['processes'] if p['pid'] == $every8][0]") > 0 )) ||
    die "an orphan's frees of inherited blocks are unknown"
# the report of a forked recording gets a "Fork and copy-on-write" section with a chart per
# allocator (a smaller master: the report replays the log and the tree); one without forks, not
"$MALLOG" -q record -o small -- "$PROGS/prefork" 8 > small.out
small_master=$(sed -n 's/^\* pid \([0-9]*\) .*/\1/p' <("$MALLOG" info small))
"$MALLOG" -q report "small.$small_master.mlog" -a glibc --holes 0 -o rep > /dev/null
grep -q '<h2 id="fork">Fork and copy-on-write</h2>' rep/index.html || die "no fork section"
expect_eq "chart lines (one per worker)" "$(grep -c '<polyline' rep/index.html)" 4
grep -q 'Finding</b>: on glibc each forked process un-shares' rep/index.html || die "no finding"
grep -q 'not in the log' rep/index.html || die "no word on what cannot be seen"
"$MALLOG" -q record -o plain -- "$PROGS/counts" > /dev/null
"$MALLOG" -q report plain -a glibc --holes 0 -o rep2 > /dev/null
grep -q 'id="fork"' rep2/index.html && die "a fork section without forks"
# a log file stands for its recording: the whole tree
worker_log=$(ls small.*.mlog | grep -v "small.$small_master.mlog" | head -n 1)
"$MALLOG" replay "$worker_log" --tree -a glibc -o outfile > /dev/null
expect_eq "tree of a log file" "$(j outfile/replay.glibc.json "len(d['processes'])")" 5
# a damaged worker log: replayed up to the damage, said, exit 2
mkdir dmg && cp small.*.mlog dmg/
victim=$(ls -S dmg/small.*.mlog | sed -n 2p)
head -c $(( $(stat -c %s "$victim") * 2 / 3 )) "$victim" > cut && mv cut "$victim"
rc=0; "$MALLOG" replay dmg/small --tree -a glibc > dmg.txt 2> dmg.err || rc=$?
cat dmg.err
expect_eq "exit on a damaged log" "$rc" 2
grep -q "^mallog replay: glibc: pid [0-9]*: $victim: .* at byte [0-9]* (event [0-9]*); replayed up to it" dmg.err ||
    die "damage not said"
# options that do not go with --tree are refused
"$MALLOG" replay pf --tree --bench 2> bad.err && die "--tree --bench accepted"
grep -q 'not with --bench' bad.err || die "no reason given"
exit 0

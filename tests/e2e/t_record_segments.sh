# Segments (issue 19): `record --max-size --keep` keeps the disk bounded; the last segment alone
# starts from its checkpoint (0 unknown frees, the program's own live set at the end); the segments
# of an unbounded run read as one log give the figures of an unsegmented log of the same run; a
# segment replays on its own, its end state close to the whole log's.
source "$ROOT/tests/e2e/lib.sh"
prog="$PROGS/seg_churn"
calls=500000
# bounded: --keep 3, and the spool's read chunks given back while it runs (looked at while the
# program waits halfway, 500k calls in: ~4 MB of spool records written by then)
"$MALLOG" -q record -o k3 --max-size 512K --keep 3 -- "$prog" 1000000 20000 resume > k3.out &
rec=$!
trap 'touch resume' EXIT # never leave the program waiting
for i in $(seq 300); do grep -q paused k3.out 2>/dev/null && break; sleep 0.1; done
grep -q paused k3.out || die "the program did not reach its pause"
# the recording in progress, read by info (from its oldest segment kept), until the packer has
# caught up with the pause (seq 500k: a realloc takes two numbers)
for i in $(seq 300); do
    # (|| true: a segment --keep deletes while info reads it is an error, and info reads again)
    seq=$( ("$MALLOG" info k3 2>/dev/null || true) | sed -n 's/^running: .*(seq \([0-9]*\),.*/\1/p')
    [[ ${seq:-0} -ge 500000 ]] && break
    sleep 0.1
done
[[ ${seq:-0} -ge 500000 ]] || die "info on the running segmented recording: seq ${seq:-none}"
spool=( k3.*.spool )
written=$(stat -c %s "${spool[0]}")
held=$(( $(stat -c %b "${spool[0]}") * $(stat -c %B "${spool[0]}") ))
echo "spool: $written bytes long, $held on disk"
# the records read are punched out 1 MiB at a time; the header, the call sites and each thread's
# current chunk stay
[[ $written -ge 16777216 && $held -le $((2 * 1024 * 1024)) ]] ||
    die "the spool holds $held bytes of disk (file $written bytes) while the program runs"
expect_eq "logs while it runs" "$(ls k3.*.mlog* | wc -l)" 3
touch resume
wait $rec || die "record exited $?"
grep -v paused k3.out > k3.live
segs=( k3.*.s*.mlog )
expect_eq "segments kept" "${#segs[@]}" 3
expect_eq "spools left" "$(ls | grep -c spool || true)" 0
total=$(du -cb "${segs[@]}" | tail -n 1 | cut -f1)
# about 512 KiB each: at most one frame (~1 MiB decoded, a few hundred KiB packed) past the size
[[ $total -le $((3 * 1536 * 1024)) ]] || die "3 segments hold $total bytes"
last=$(printf '%s\n' "${segs[@]}" | awk -F'.s' '{print $NF+0, $0}' | sort -n | tail -n 1 | cut -d' ' -f2)
first_k=$(printf '%s\n' "${segs[@]}" | awk -F'.s' '{print $NF+0}' | sort -n | head -n 1)
[[ $first_k -ge 2 ]] || die "the oldest segments were not deleted (oldest kept: s$first_k)"
# the last segment alone: its checkpoint is the heap it starts with
read -r _ blocks bytes < k3.live
"$MALLOG" stats "$last" --json > last.json
expect_eq "unknown frees, last segment" "$(j last.json 'd["unknown_frees"]')" 0
expect_eq "live blocks at the end, last segment" "$(j last.json 'd["live_at_end_blocks"]')" "$blocks"
expect_eq "live bytes at the end, last segment" "$(j last.json 'd["live_at_end_bytes"]')" "$bytes"
expect_eq "anomalies, last segment" "$(anomalies "$last")" 0
# checkpoint blocks are live, not calls: allocations of the last segment < its live blocks + calls
ck=$(op_count "$last" live)
[[ $ck -gt 1000 ]] || die "checkpoint of $last: $ck blocks"
# an unbounded run in segments against one log of the same (deterministic) run
"$MALLOG" -q record -o one -- "$prog" $calls > one.out
"$MALLOG" -q record -o seg --max-size 512K -- "$prog" $calls > seg.out
cmp one.out seg.out || die "the program's output differs when recorded in segments"
nseg=$(ls seg.*.s*.mlog | wc -l)
[[ $nseg -ge 3 ]] || die "only $nseg segments of an unbounded run"
"$MALLOG" stats one --json > one.json
"$MALLOG" stats seg --json > seg.json
python3 - <<'PY' || die "stats of the segments read as one log differ from one log's"
import json
def norm(d):
    out = {}
    for k, v in d.items():
        if k in ('log', 'pid') or 'time' in k or 'duration' in k or 'lifetime' in k:
            continue  # where the log is, and the clock of two different runs
        if k == 'per_thread':
            v = [{x: y for x, y in t.items() if x != 'tid'} for t in v]
        out[k] = v
    return out
a, b = norm(json.load(open('one.json'))), norm(json.load(open('seg.json')))
bad = [k for k in a if a[k] != b.get(k)]
print("differ:", bad)
assert len(a) > 30 and not bad and a['events'] == b['events'] > 450000
PY
# one segment replays on its own (the last of the unbounded run); its end state against the
# whole log of the same run. Not with an ASan build of the CLI: its replay workers would measure
# ASan's allocator, and cannot preload another (the replay tests are not run with it either).
if ldd "$MALLOG" 2>/dev/null | grepq libasan; then
    echo "ok (no replay with an ASan build)"
    exit 0
fi
segs=( seg.*.s*.mlog )
last=$(printf '%s\n' "${segs[@]}" | awk -F'.s' '{print $NF+0, $0}' | sort -n | tail -n 1 | cut -d' ' -f2)
"$MALLOG" -q replay -a jemalloc,glibc "$last" -o rlast
"$MALLOG" -q replay -a jemalloc,glibc one.*.mlog -o rone
for a in jemalloc glibc; do
    python3 - "$a" <<'PY' || die "replay of $last alone vs the whole log ($a)"
import csv, sys
a = sys.argv[1]
def end(f):
    rows = list(csv.DictReader(open(f), delimiter='\t'))
    return rows[-1]
x, y = end(f'rlast/replay.{a}.tsv'), end(f'rone/replay.{a}.tsv')
assert x['live_requested'] == y['live_requested'] and x['live_blocks'] == y['live_blocks']
r = int(x['sys_mapped']) / int(y['sys_mapped'])
print(a, 'footprint at the end: segment', x['sys_mapped'], 'whole', y['sys_mapped'], 'ratio', r)
# jemalloc groups by size: a few %; glibc lays the checkpoint out in seq order, without the
# history's holes: measured 0.93 of the whole log's
assert (0.95 if a == 'jemalloc' else 0.85) <= r <= 1.05
PY
done
echo ok

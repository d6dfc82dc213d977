# A log from a real program (python3 with PYTHONMALLOC=malloc, so every object really goes
# through malloc) replays on every installed allocator with 0 anomalies.
source "$ROOT/tests/e2e/lib.sh"
[[ -x /usr/bin/python3 ]] || { echo "no /usr/bin/python3"; exit 77; }
PYTHONMALLOC=malloc "$MALLOG" record -o py -- /usr/bin/python3 -c '
import json
d = [{"k": i, "v": str(i) * 5} for i in range(30000)]
s = json.dumps(d); json.loads(s); print(len(s))' > /dev/null
log=$(only_log py)
expect_eq "recorded anomalies" "$(anomalies "$log")" 0
"$MALLOG" replay "$log" -o out --samples 100 > table.txt || die "replay failed"
cat table.txt
n=0
for a in glibc jemalloc mimalloc tcmalloc arena; do
    if [[ $a != glibc && $a != arena && -z $(alloc_lib "$a") ]]; then
        [[ ! -e out/replay.$a.json ]] || die "$a listed but not installed"
        continue
    fi
    [[ -s out/replay.$a.json ]] || die "no result for $a"
    python3 - out/replay.$a.json <<'PY' || die "$a: anomalies or bad summary"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["anomalies"] == {"unknown_frees": 0, "double_frees": 0}, d["anomalies"]
assert d["events"] > 10000 and d["peak_live_requested"] > 0 and d["peak_footprint"] > 0
assert d["threads_mode"] == "serial" and d["touch"] == "page"
PY
    n=$((n + 1))
done
[[ $n -ge 2 ]] || die "only $n allocators replayed"

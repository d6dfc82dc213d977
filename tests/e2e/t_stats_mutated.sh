# Bad input never crashes: logs with random damage (bit flips, cuts, inserted and deleted bytes,
# overwritten bytes) through info, dump, stats (report, JSON, ranges, TSV, by site) and check.
# Every run must end with exit 0, 1 or 2 and no sanitizer report (tests/e2e/damage.py).
source "$ROOT/tests/e2e/lib.sh"
"$MALLOG" -q record -o c -- "$BENCH/churn" 20000 > /dev/null
"$MALLOG" -q record -o mt -- "$PROGS/stress_mt" 3 500 > /dev/null
"$MALLOG" -q record --stacks -o s -- "$PROGS/sites" > /dev/null
printf 'peak_live_bytes <= 1G\nleaked_blocks <= 100000\n' > budget.txt
PYTHONPATH=$ROOT/tests/e2e PYTHONDONTWRITEBYTECODE=1 python3 - "$MALLOG" "$(only_log c)" "$(only_log mt)" "$(only_log s)" <<'PY'
import random, sys
from damage import failure
mallog, seeds = sys.argv[1], [open(p, "rb").read() for p in sys.argv[2:]]
cmds = [["info"], ["dump"], ["stats"], ["stats", "--json"], ["stats", "--by", "site"],
        ["stats", "--range", "100:5000", "--tsv", "tsv"], ["check", "--budget", "budget.txt"]]
bad = []
for i in range(150):
    b = bytearray(random.choice(seeds))
    kind = i % 5
    if kind == 0:
        for _ in range(random.randint(1, 8)):
            b[random.randrange(len(b))] ^= 1 << random.randrange(8)
    elif kind == 1:
        b = b[:random.randrange(len(b))]
    elif kind == 2:
        p = random.randrange(len(b))
        b[p:p] = random.randbytes(random.randint(1, 64))
    elif kind == 3:
        p = random.randrange(len(b))
        del b[p:p + random.randint(1, 4096)]
    else:
        for _ in range(random.randint(1, 4)):
            b[random.randrange(len(b))] = random.choice([0, 0xff, 0x80, 0x7f, 0x1f, 0x20])
    open("m.mlog", "wb").write(b)
    cmd = cmds[i % len(cmds)]
    what = failure([mallog, cmd[0], "m.mlog"] + cmd[1:])
    if what:
        open("bad%d.mlog" % i, "wb").write(b)
        bad.append((i, cmd, what))
for x in bad:
    print("FAILED:", *x)
sys.exit(1 if bad else 0)
PY

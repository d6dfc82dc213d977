# A spool left by a killed recording may be torn anywhere: spools with random damage (bit flips,
# cuts, zeroed runs, overwritten header bytes) through `mallog pack`, then `mallog info` on what
# it wrote. Every run must end with exit 0, 1 or 2 and no sanitizer report (tests/e2e/damage.py).
source "$ROOT/tests/e2e/lib.sh"
mkdir sp
LD_PRELOAD=$PRELOAD MALLOG_OUT=$PWD/sp/s "$PROGS/stress_mt" 3 500 > /dev/null
spool=(sp/s.*.spool)
[[ ${#spool[@]} -eq 1 && -s ${spool[0]} ]] || die "no spool left: ${spool[*]}"
PYTHONPATH=$ROOT/tests/e2e PYTHONDONTWRITEBYTECODE=1 python3 - "$MALLOG" "${spool[0]}" <<'PY'
import glob, os, random, shutil, sys
from damage import failure
mallog, src = sys.argv[1], open(sys.argv[2], "rb").read()
used = max(i for i in range(0, len(src), 4096) if any(src[i:i + 4096])) + 4096
bad = []
for i in range(100):
    b = bytearray(src[:used + 65536])
    kind = i % 5
    if kind == 0:
        for _ in range(random.randint(1, 12)):
            b[random.randrange(used)] ^= 1 << random.randrange(8)
    elif kind == 1:
        b = b[:random.randrange(used)]
    elif kind == 2:
        for _ in range(random.randint(1, 6)):
            b[random.randrange(4096)] = random.randrange(256)
    elif kind == 3:
        p = random.randrange(used)
        n = random.randint(1, 200)
        b[p:p + n] = bytes(n)
    else:
        for _ in range(random.randint(1, 6)):
            b[random.randrange(used)] = random.choice([0, 0xff, 0x7f, 0x80, 1, 2, 3])
    shutil.rmtree("m", ignore_errors=True)
    os.mkdir("m")
    open("m/x.4242.0.spool", "wb").write(b)
    runs = [["pack", "m/x"]]
    what = failure([mallog] + runs[0])
    if not what:
        runs += [["info", log] for log in glob.glob("m/x.*.mlog")]
        for argv in runs[1:]:
            what = what or failure([mallog] + argv)
    if what:
        open("bad%d.spool" % i, "wb").write(b)
        bad.append((i, what))
for x in bad:
    print("FAILED:", *x)
sys.exit(1 if bad else 0)
PY

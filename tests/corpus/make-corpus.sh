#!/usr/bin/env bash
# make-corpus.sh - (re)generates tests/corpus/: seed inputs for the fuzz targets (tests/fuzz/) and
# damaged logs paired with the exact error `mallog info` and `mallog dump` give for them.
#
#   bash tests/corpus/make-corpus.sh [build/release/mallog]      (after `make -j2 all`)
#
# Run once and commit the result: recordings differ from run to run (pids, times), so the golden
# files are only valid for the inputs they were made with. tests/e2e/t_corpus_golden.sh checks them.
#
# Layout:
#   log/NAME.mlog + NAME.expected  a log, intact or damaged, and for `info` and `dump` the exit
#                                  code and stderr, run from inside log/ (so the file name in the
#                                  message is NAME.mlog): "== info exit 2" then the stderr lines.
#   events/*.bin    fuzz_reader_events seeds: "u8 events, u8 first_seq, decompressed frame"
#   spool/*.bin     fuzz_pack seeds: 128 header bytes from end_set on, then the used part of each
#                   chunk (each starts with its "CHNK" magic), see tests/fuzz/fuzz_pack.c
#   json/*.json     fuzz_summary seeds (`mallog stats --json`)
#   budget/*.txt    fuzz_budget seeds
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
MALLOG=$(realpath "${1:-$ROOT/build/release/mallog}")
PRELOAD=$(dirname "$MALLOG")/libmallog.so
PROGS=$ROOT/build/progs
OUT=$ROOT/tests/corpus
for p in counts sites stress_mt analyze_basic lifecycle; do
    [[ -x $PROGS/$p ]] || { echo "make-corpus: build first (make -j2 all): $PROGS/$p" >&2; exit 2; }
done
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
rm -rf "$OUT"/{log,events,spool,json,budget}
mkdir -p "$OUT"/{log,events,spool,json,budget}

# Real recordings of small programs (a few hundred bytes to 2 KiB each).
cd "$TMP"
"$MALLOG" record -q -o counts -- "$PROGS/counts" > /dev/null
"$MALLOG" record -q --stacks=8 -o sites -- "$PROGS/sites" > /dev/null
"$MALLOG" record -q -o threads -- "$PROGS/stress_mt" 2 40 > /dev/null
"$MALLOG" record -q -o basic -- "$PROGS/analyze_basic" > /dev/null
cp counts.*.mlog "$OUT/log/counts.mlog"
cp sites.*.mlog "$OUT/log/sites.mlog"
cp threads.*.mlog "$OUT/log/threads.mlog"
cp basic.*.mlog "$OUT/log/basic.mlog"
"$MALLOG" stats --json "$OUT/log/counts.mlog" > "$OUT/json/counts.json"
"$MALLOG" stats --json "$OUT/log/threads.mlog" > "$OUT/json/threads.json"
# Spools as the recorder leaves them (no `mallog record`: nothing packs them).
LD_PRELOAD=$PRELOAD MALLOG_OUT=$TMP/sp1 "$PROGS/counts" > /dev/null
LD_PRELOAD=$PRELOAD MALLOG_OUT=$TMP/sp2 "$PROGS/stress_mt" 3 30 > /dev/null
LD_PRELOAD=$PRELOAD MALLOG_OUT=$TMP/sp3 MALLOG_STACKS=8 "$PROGS/sites" > /dev/null 2>&1 || true

cat > "$OUT/budget/basic.txt" <<'B'
# memory budget of analyze_basic
peak_live_bytes <= 150k          # 100,000 today
leaked_blocks == 5
allocations <= 1.05 * baseline
ops.malloc.calls <= baseline + 0
glibc.footprint_ratio <= 1.3
realloc.longest_chain <= 100
B
cat > "$OUT/budget/bad.txt" <<'B'
peak_live_bytes <= 64Q
leaked_blocks == 0
no_such_figure < 1
leaked_blocks = 0
allocations <= 2 * baseline - 1.5GiB
leaked_blocks
B

python3 - "$OUT" "$TMP" <<'PY'
import glob, os, struct, subprocess, sys
out, tmp = sys.argv[1], sys.argv[2]
LOG = os.path.join(out, "log")

T = []
for i in range(256):
    c = i
    for _ in range(8):
        c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
    T.append(c)
def crc32c(b):
    c = 0xFFFFFFFF
    for x in b:
        c = T[(c ^ x) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF

MAGIC = 0x184D2A50
def frames(b):
    """(offset, variant, body offset, body length, zstd offset, zstd length) of each frame."""
    off, res = 0, []
    while off + 8 <= len(b):
        magic, ln = struct.unpack_from("<II", b, off)
        if magic & 0xFFFFFFF0 != MAGIC or off + 8 + ln > len(b):
            break
        v, body = magic & 0xF, off + 8
        z = zl = 0
        nxt = body + ln
        if v == 1:
            z, zl = nxt, struct.unpack_from("<I", b, body + 32)[0]
            nxt += zl
        res.append((off, v, body, ln, z, zl))
        off = nxt
    return res

def fix(b):
    """Recomputes every CRC-32C (as tests/fuzz/fuzz.h does)."""
    for off, v, body, ln, z, zl in frames(b):
        if v == 1:
            struct.pack_into("<I", b, body + 36, crc32c(b[body:body + 36]))
        elif ln >= 12:
            struct.pack_into("<I", b, body + ln - 4, crc32c(b[body:body + ln - 4]))
    return b

def zstd(args, data):
    p = os.path.join(tmp, "z.in")
    open(p, "wb").write(data)
    return subprocess.run(["zstd", "-q", "-c"] + args + [p], check=True,
                          capture_output=True).stdout

def put(name, b):
    open(os.path.join(LOG, name + ".mlog"), "wb").write(bytes(b))

base = {n: bytearray(open(os.path.join(LOG, n + ".mlog"), "rb").read())
        for n in ("counts", "sites", "threads", "basic")}
c = base["counts"]
fr = frames(c)
hdr, meta, trl = fr[0], [f for f in fr if f[1] == 1][0], fr[-1]
assert trl[1] == 2
s = base["sites"]
sfr = frames(s)
site = [f for f in sfr if f[1] == 3][0]

# Truncations: at each boundary and inside each part of a log.
put("empty", b"")
put("cut-4", c[:4])
put("cut-in-header-head", c[:6])
put("cut-in-header", c[:hdr[2] + hdr[3] // 2])
put("cut-after-header", c[:hdr[2] + hdr[3]])
put("cut-in-meta-head", c[:meta[0] + 5])
put("cut-in-meta", c[:meta[2] + 20])
put("cut-in-zstd", c[:meta[4] + meta[5] // 2])
put("cut-before-trailer", c[:trl[0]])
put("cut-in-trailer", c[:trl[0] + 40])
put("threads-cut-mid", base["threads"][:len(base["threads"]) * 2 // 3])
put("sites-cut-in-sites", s[:site[2] + site[3] // 2])
# Not a log at all.
put("not-mlog", b"#!/bin/sh\necho this is not a mallog log\n" * 4)
put("zstd-plain", zstd(["--check"], b"hello " * 100))
# Byte flips (checksums left as they are: the checksum catches them).
def flip(name, src, at, mask=0x01):
    b = bytearray(src)
    b[at] ^= mask
    put(name, b)
flip("flip-magic", c, 0)
flip("flip-header-tag", c, hdr[2] + 1)
flip("flip-header-crc", c, hdr[2] + hdr[3] - 1)
flip("flip-header-len", c, 7, 0x40)
flip("flip-meta-crc", c, meta[2] + 37)
flip("flip-meta-events", c, meta[2] + 24)
flip("flip-zstd-body", c, meta[4] + meta[5] // 2, 0x10)
flip("flip-zstd-checksum", c, meta[4] + meta[5] - 1)
flip("flip-trailer-crc", c, trl[2] + trl[3] - 2)
flip("flip-frame-magic", c, meta[0])
flip("flip-sites-crc", s, site[2] + site[3] - 1)
# Damage behind a valid checksum (CRC-32C recomputed): what only the parsers can catch.
def fixed(name, src, edits):
    b = bytearray(src)
    for at, val in edits:
        b[at:at + len(val)] = val
    put(name, fix(b))
fixed("crc-version-2", c, [(hdr[2] + 8 + 6, struct.pack("<Q", 2))])
fixed("crc-first-event", c, [(meta[2], struct.pack("<Q", 7))])
fixed("crc-raw-huge", c, [(meta[2] + 28, struct.pack("<I", 0xFFFFFFF0))])
fixed("crc-comp-huge", c, [(meta[2] + 32, struct.pack("<I", 0x7FFFFFFF))])
fixed("crc-raw-wrong", c, [(meta[2] + 28, struct.pack("<I", struct.unpack_from("<I", c, meta[2] + 28)[0] + 1))])
fixed("crc-events-less", c, [(meta[2] + 24, struct.pack("<I", struct.unpack_from("<I", c, meta[2] + 24)[0] - 1))])
fixed("crc-events-more", c, [(meta[2] + 24, struct.pack("<I", struct.unpack_from("<I", c, meta[2] + 24)[0] + 1))])
fixed("crc-trailer-count", c, [(trl[2] + 8, struct.pack("<Q", 1000))])
fixed("crc-trailer-short", c[:trl[2]] + c[trl[2]:trl[2] + 40], [(trl[0] + 4, struct.pack("<I", 40))])
fixed("crc-meta-len-huge", c, [(meta[0] + 4, struct.pack("<I", 0x7FFFFFFF))])
fixed("crc-sites-raw-huge", s, [(site[2] + 8, struct.pack("<I", 0x7FFFFFFF))])
fixed("crc-header-len-huge", c, [(4, struct.pack("<I", 0xFFFFFFF0))])
# Damage inside the events, in a frame that decompresses and checks: a bad op, a cut event.
raw = bytearray(zstd(["-d"], bytes(c[meta[4]:meta[4] + meta[5]])))
def reframe(name, newraw, events=None):
    z = zstd(["--check", "-1"], bytes(newraw))
    b = bytearray(c[:meta[4]]) + z + c[meta[4] + meta[5]:]
    struct.pack_into("<I", b, meta[2] + 28, len(newraw))
    struct.pack_into("<I", b, meta[2] + 32, len(z))
    if events is not None:
        struct.pack_into("<I", b, meta[2] + 24, events)
    put(name, fix(b))
nev = struct.unpack_from("<I", c, meta[2] + 24)[0]
bad = bytearray(raw); bad[0] = 0x3d  # the first event's tag: op 29 (no such op), thread follows
reframe("event-bad-op", bad)
reframe("event-cut", raw[:len(raw) - 3])
reframe("event-extra", raw + b"\x01\x05\x11")
reframe("event-time-only", raw + b"\x1f\x05", nev)
# Seeds for fuzz_reader_events: the decompressed frames of the recordings.
for n, b in base.items():
    for i, (off, v, body, ln, z, zl) in enumerate(f for f in frames(b) if f[1] == 1):
        r = zstd(["-d"], bytes(b[z:z + zl]))
        ev, seq = struct.unpack_from("<I", b, body + 24)[0], struct.unpack_from("<Q", b, body + 8)[0]
        if ev < 256 and seq < 256:
            open(os.path.join(out, "events", "%s-%d.bin" % (n, i)), "wb").write(bytes([ev, seq]) + r)
# Seeds for fuzz_pack: the spools in the compact layout of fuzz_pack.c.
END_SET, CHUNK = 96, 65536
for i, p in enumerate(sorted(glob.glob(os.path.join(tmp, "sp*.spool")))):
    b = open(p, "rb").read()
    seed = bytearray(b[END_SET:END_SET + 128])
    for k in range(1, len(b) // CHUNK):
        ch = b[k * CHUNK:(k + 1) * CHUNK]
        if ch[:4] != b"CHNK":
            break
        seed += ch.rstrip(b"\0")
    open(os.path.join(out, "spool", "%s.bin" % os.path.basename(p).split(".")[0]), "wb").write(seed)
PY

# The golden errors: exit code and stderr of info and dump, run where the file is.
cd "$OUT/log"
for f in *.mlog; do
    n=${f%.mlog}
    for cmd in info dump; do
        set +e
        "$MALLOG" "$cmd" "$f" > /dev/null 2> "$TMP/err"
        rc=$?
        set -e
        echo "== $cmd exit $rc"
        cat "$TMP/err"
    done > "$n.expected"
done
echo "make-corpus: $(ls "$OUT"/log/*.mlog | wc -l) logs, $(ls "$OUT"/events | wc -l) event seeds," \
     "$(ls "$OUT"/spool | wc -l) spool seeds in $OUT"

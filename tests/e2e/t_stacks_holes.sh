# Call sites on holes (issue 9 with issue 5's fragmentation story): recorded with --stacks,
# `mallog holes` names the function and line that allocated each 232-byte block pinning a glibc
# hole, in text and JSON, and the report's holes table carries it too.
source "$ROOT/tests/e2e/lib.sh"
"$MALLOG" -q record --stacks -o f -- "$PROGS/fragment" > /dev/null
log=$(only_log f)
pin_line=$(grep -n 'pins\[r\] = malloc(PIN)' "$ROOT/tests/progs/fragment.c" | cut -d: -f1)
[[ -n $pin_line ]] || die "fragment.c changed: no pins[r] = malloc(PIN) line"
"$MALLOG" holes "$log" -a glibc --at worst --json > holes.json || die "holes failed"
python3 - "$pin_line" <<'PY' || die "holes --json: the pins' call site"
import json, sys
line = sys.argv[1]
d = json.load(open("holes.json"))
big = [h for h in d["holes"] if h["size"] >= 1 << 20]
assert len(big) >= 20, len(big)
pinned = 0
for h in big:
    for side in ("left", "right"):
        b = h[side]
        if b["size"] == 232:
            assert b["stack"] > 0, b
            assert b["site"] == "main (fragment.c:%s)" % line, b
            pinned += 1
assert pinned >= len(big), (pinned, len(big))
PY
"$MALLOG" holes "$log" -a glibc --at worst > holes.txt
grep -qE "232 B .* site main \(fragment\.c:$pin_line\)$" holes.txt ||
    die "holes text: no site on the pins"
"$MALLOG" -q report "$log" -a glibc -o rep > /dev/null 2>&1 || die "report failed"
grep -q "allocated in <code>main (fragment.c:$pin_line)</code>" rep/index.html || die "report: no site in the holes table"
grep -q 'id="sites"' rep/index.html || die "report: no call-sites table"

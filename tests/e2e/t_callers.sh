# Call sites that name the caller (issue 21): allocations through the program's own wrappers
# (xmalloc -> my_alloc -> malloc) and through std::vector/string/map land on the functions that
# asked, with their exact counts, in stats and in the hole pins of `holes`; --skip/--no-skip;
# the caller and callee trees (text, JSON, the report page); a stripped library's names are
# marked as guesses until its debug file is found (build-id in MALLOG_DEBUG_DIR and, as root,
# /usr/lib/debug; .gnu_debuglink beside it); perl's top sites are not its safesys wrappers.
source "$ROOT/tests/e2e/lib.sh"

# Debian's python3 when there is one: a pyenv shim costs ~0.5 s of CPU a start
py=$(command -v /usr/bin/python3 || command -v python3)
j() { "$py" -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; }
# sites FILE FUNCTION:FIELD... -> for each, the sum of FIELD over the sites of FUNCTION, one a line
sites() {
    "$py" -c '
import json, sys
d = json.load(open(sys.argv[1]))
for a in sys.argv[2:]:
    f, k = a.split(":")
    print(sum(s[k] for s in d["sites"] if s["function"] == f))' "$@"
}
site() { sites "$1" "$2:$3"; }

# ---- two levels of the program's own wrappers, three callers --------------------------------
"$MALLOG" -q record --stacks -o wr -- "$PROGS/wrappers" > wr.out
log=$(only_log wr)
"$MALLOG" stats "$log" --by site --json --top 100 > wr.json
expect_eq "parse_config allocs, bytes; build_index, load_records allocs, leaks; xmalloc, my_alloc" \
    "$(sites wr.json parse_config:allocs parse_config:bytes build_index:allocs load_records:allocs \
        load_records:leaked_blocks xmalloc:allocs my_alloc:allocs | tr '\n' ' ')" "10 320 20 30 5 0 0 "
expect_eq "the skipped wrappers" \
    "$(j wr.json '",".join(sorted([s for s in d["sites"] if s["function"] == "load_records"][0]["skipped"]))')" \
    "my_alloc,xmalloc"
"$MALLOG" stats "$log" --by site | grepq '^wrappers skipped to name the sites: .*xmalloc' ||
    die "text: no line naming the skipped wrappers"
# the program counted its own calls through the wrapper
expect_eq "wrapped calls" "$(awk '{print $2}' wr.out)" 60
# --no-skip: back to the innermost frame outside libc
"$MALLOG" stats "$log" --by site --json --no-skip > ns.json
expect_eq "--no-skip: my_alloc" "$(site ns.json my_alloc allocs)" 60
# --skip FUNC: load_records is a wrapper now, its calls go to main
"$MALLOG" stats "$log" --by site --json --skip load_records > sk.json
expect_eq "--skip load_records: main" "$(( $(site sk.json main allocs) - $(site wr.json main allocs) ))" 30
"$MALLOG" stats "$log" --by site --json --skip '^(parse|build)_' > rx.json
expect_eq "--skip REGEX: main" "$(( $(site rx.json main allocs) - $(site wr.json main allocs) ))" 30
set +e
"$MALLOG" stats "$log" --by site --skip '(' > /dev/null 2> bad.err
rc=$?
set -e
expect_eq "bad --skip regex exit" "$rc" 2
grep -q 'not a valid regular expression' bad.err || die "bad regex: $(cat bad.err)"

# holes name the blocks that pin them by the same rules: the 232-byte pins come from pin_block
# through xmalloc -> my_alloc
"$MALLOG" -q record --stacks -o wp -- "$PROGS/wrappers" pins > /dev/null
"$MALLOG" holes "$(only_log wp)" -a glibc --at worst --json > holes.json
"$py" -c '
import json, sys
d = json.load(open(sys.argv[1]))
pins = [b for h in d["holes"] for b in (h["left"], h["right"]) if b["size"] == 232]
assert pins and all(b["site"].startswith("pin_block (wrappers.c:") for b in pins), d' holes.json ||
    die "holes: the pins are not named pin_block: $(cat holes.json)"

# ---- trees -----------------------------------------------------------------------------------
"$MALLOG" stats "$log" --by caller --json > caller.json
expect_eq "caller tree root" "$(j caller.json 'd["tree"][0]["function"]')" main
for f in parse_config:10 build_index:20 load_records:30; do
    expect_eq "caller tree main > ${f%:*}" \
        "$(j caller.json "[c['allocs'] for c in d['tree'][0]['children'] if c['function'] == '${f%:*}'][0]")" "${f#*:}"
done
expect_eq "caller tree: leaks under load_records" \
    "$(j caller.json "[c['leaked_blocks'] for c in d['tree'][0]['children'] if c['function'] == 'load_records'][0]")" 5
expect_eq "caller tree: main's allocs are the log's" "$(j caller.json 'd["tree"][0]["allocs"]')" \
    "$(j caller.json 'd["allocs"]')"
"$MALLOG" stats "$log" --by callee --json --depth 1 > callee.json
expect_eq "callee tree: load_records at the root" \
    "$(j callee.json "[n['allocs'] for n in d['tree'] if n['function'] == 'load_records'][0]")" 30
expect_eq "callee tree: --depth 1 has no children" \
    "$(j callee.json 'sum(1 for n in d["tree"] if "children" in n)')" 0
"$MALLOG" stats "$log" --by callee > callee.txt
grep -qE '^10 .*  parse_config$' callee.txt || die "callee text tree"
grep -qE '^10 .*    main$' callee.txt || die "callee text tree: main under parse_config"

# the report draws the caller tree as nested <details>, nothing external
"$MALLOG" -q report "$log" -o rep -a glibc --holes 0 > /dev/null 2>&1 || true
"$py" -c '
import re, sys
h = open(sys.argv[1]).read()
sec = h[h.index("id=\"callers\""):h.index("id=\"leaks\"")]
m = re.search(r"<details open><summary><code>main</code>.*?</summary>\n<div class=\"tree\">\n(.*?)</div></details>", sec, re.S)
assert m, sec[:2000]
kids = m.group(1)
for name, n in (("load_records", 30), ("build_index", 20), ("parse_config", 10)):
    assert re.search(r"<code>%s</code> &mdash; %d allocations" % (name, n), kids), (name, kids)
assert "src=\"http" not in sec and "<script" not in sec' rep/index.html || die "report: call tree"

# ---- C++ containers --------------------------------------------------------------------------
"$MALLOG" -q record --stacks -o cx -- "$PROGS/cxx_growth" > cx.out
"$MALLOG" stats "$(only_log cx)" --by site --json > cx.json
expect_eq "cxx_growth printed three counts" "$(awk '$2 > 0' cx.out | wc -l)" 3
expect_eq "fill_vector grow_string fill_map allocs" \
    "$(sites cx.json fill_vector:allocs grow_string:allocs fill_map:allocs | tr '\n' ' ')" \
    "$(awk '{printf "%s ", $2}' cx.out)"
"$py" -c '
import json, sys
for s in json.load(open(sys.argv[1]))["sites"]:
    assert len(s["site"]) < 200, s["site"]
    assert not s["function"].startswith("std::") or s["guess"], s' cx.json || die "C++ site names"
"$MALLOG" stats "$(only_log cx)" --by site --json --no-skip > cxn.json
"$py" -c '
import json, sys
s = [s for s in json.load(open(sys.argv[1]))["sites"] if "allocate" in s["function"]]
assert s and "<\u2026>" in s[0]["site"] and "<long>" in s[0]["site_full"] or "<" in s[0]["site_full"], s' cxn.json ||
    die "--no-skip: abbreviated and full C++ names"

# ---- a stripped library, then its debug file by build-id ------------------------------------
cat > widget.c <<'C'
#include <stdlib.h>
#include <string.h>
int widget_version(void) { return 3; }
__attribute__((noinline)) static char *widget_alloc(int i)
{
    char *p = malloc(40 + i);
    if (p)
        memset(p, i, 40 + i);
    return p;
}
__attribute__((noinline)) static void **table_grow(void **t, int n)
{
    void **g = realloc(t, n * sizeof *t);
    if (!g)
        abort();
    g[n - 1] = 0;
    return g;
}
void *widget_new(int i) { char *p = widget_alloc(i); return p + 1; }
void **widget_table(int n)
{
    void **t = NULL;
    for (int k = 1; k <= n; k++)
        t = table_grow(t, k);
    return t;
}
C
cat > usewidget.c <<'C'
#include <stdio.h>
#include <stdlib.h>
void *widget_new(int i);
void **widget_table(int n);
int main(void)
{
    for (int i = 0; i < 5; i++)
        free((char *)widget_new(i) - 1);
    free(widget_table(7));
    puts("ok");
    return 0;
}
C
gcc -O1 -g -fPIC -shared -fno-toplevel-reorder -Wl,--build-id -o libwidget.so widget.c
gcc -O1 -g -o usewidget usewidget.c -L. -lwidget -Wl,-rpath,"$PWD"
objcopy --only-keep-debug libwidget.so libwidget.debug
strip --strip-unneeded libwidget.so
objcopy --add-gnu-debuglink=libwidget.debug libwidget.so
mkdir store && mv libwidget.debug store/   # not beside the library until the .gnu_debuglink check
id=$(readelf -n libwidget.so | awk '/Build ID/ {print $3}')
[[ ${#id} -gt 8 ]] || die "no build-id"
"$MALLOG" -q record --stacks -o wg -- ./usewidget > /dev/null
wlog=$(only_log wg)
MALLOG_DEBUG_DIR=$PWD/nothing "$MALLOG" stats "$wlog" --by site --json > st.json
"$py" -c '
import json, sys
w = [s for s in json.load(open(sys.argv[1]))["sites"] if "libwidget" in s["module"]]
assert sorted(s["allocs"] for s in w) == [5, 7], w
assert all(s["guess"] and s["site"].split(" ")[0].endswith("?") for s in w), w' st.json ||
    die "stripped library: not marked as guesses: $(cat st.json)"
MALLOG_DEBUG_DIR=$PWD/nothing "$MALLOG" stats "$wlog" --by site | grepq "^names ending in '?' are guesses.*libwidget.so.*-dbgsym" ||
    die "no hint about guessed names"
mkdir -p "dbg/.build-id/${id:0:2}"
cp store/libwidget.debug "dbg/.build-id/${id:0:2}/${id:2}.debug"
MALLOG_DEBUG_DIR=$PWD/dbg "$MALLOG" stats "$wlog" --by site --json > dbg.json
expect_eq "debug file: widget_alloc" "$(site dbg.json widget_alloc allocs)" 5
expect_eq "debug file: table_grow" "$(site dbg.json table_grow allocs)" 7
expect_eq "debug file: no guess" "$(j dbg.json 'sum(1 for s in d["sites"] if s["guess"] and "libwidget" in s["module"])')" 0
# .gnu_debuglink: the debug file beside the library
cp store/libwidget.debug .
MALLOG_DEBUG_DIR=$PWD/nothing "$MALLOG" stats "$wlog" --by site --json > link.json
rm libwidget.debug
expect_eq "debuglink: widget_alloc, table_grow" "$(sites link.json widget_alloc:allocs table_grow:allocs | tr '\n' ' ')" "5 7 "
if [[ $(id -u) -eq 0 && -w /usr/lib/debug ]]; then
    sys=/usr/lib/debug/.build-id/${id:0:2}/${id:2}.debug
    trap 'rm -f "$sys"' EXIT
    mkdir -p "$(dirname "$sys")"
    cp store/libwidget.debug "$sys"
    env -u MALLOG_DEBUG_DIR "$MALLOG" stats "$wlog" --by site --json > sys.json
    rm -f "$sys"
    expect_eq "/usr/lib/debug: widget_alloc" "$(site sys.json widget_alloc allocs)" 5
    expect_eq "/usr/lib/debug: table_grow" "$(site sys.json table_grow allocs)" 7
else
    echo "not root: the default /usr/lib/debug path is not tested"
fi

# ---- perl: the top sites are not its allocation wrappers -----------------------------------
"$MALLOG" -q record --stacks -o pl -- perl -e 'my %h; $h{"k$_"} = "v" x ($_ % 40) for 1..20000;
    my @a = map { [$_, "x$_"] } 1..5000; print scalar(keys %h), "\n"' > /dev/null
"$MALLOG" stats "$(only_log pl)" --by site --json --top 10 > pl.json
"$MALLOG" stats "$(only_log pl)" --by site --json --top 10 --no-skip > pln.json
"$py" -c '
import json, sys
d, n = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert n["sites"][0]["function"].startswith("Perl_safesys"), n["sites"][0]  # what it was
for s in d["sites"][:5]:
    assert not s["function"].startswith("Perl_safesys"), s
top = d["sites"][0]
assert any(w.startswith("Perl_safesys") for w in top["skipped"]), top' pl.json pln.json ||
    die "perl: the top sites are still wrappers: $(head -c 2000 pl.json)"
echo ok

# `mallog holes` lists the 20 largest holes by default and says how many more there are;
# --top N lists N, --top 0 all. JSON lists all unless --top is given, and says how many there
# are in all (holes_total). tests/progs/fragment.c leaves more than 20 holes at its worst point.
source "$ROOT/tests/e2e/lib.sh"
"$MALLOG" record -o f -- "$PROGS/fragment" > /dev/null
log=$(only_log f)
"$MALLOG" holes "$log" -a glibc --at worst --top 0 > all.txt
total=$(sed -n 's/^\([0-9]*\) holes >= 4 KiB.*/\1/p' all.txt)
[[ $total -gt 20 ]] || die "too few holes for this test: $total"
expect_eq "--top 0 lists all" "$(grep -c '^#' all.txt)" "$total"
grep -q "smaller hole" all.txt && die "--top 0 says there are more"
"$MALLOG" holes "$log" -a glibc --at worst > default.txt
expect_eq "default lists 20" "$(grep -c '^#' default.txt)" 20
grep -q "^\.\.\. and $((total - 20)) smaller holes (--top N lists N, --top 0 all)" default.txt ||
    die "no line saying how many more: $(tail -n 2 default.txt)"
cmp <(head -n $(($(grep -n '^\.\.\. and' default.txt | cut -d: -f1) - 1)) default.txt) \
    <(head -n $(($(grep -n '^\.\.\. and' default.txt | cut -d: -f1) - 1)) all.txt) ||
    die "the first 20 are not the 20 largest"
"$MALLOG" holes "$log" -a glibc --at worst --top 3 > three.txt
expect_eq "--top 3" "$(grep -c '^#' three.txt)" 3
grep -q "^\.\.\. and $((total - 3)) smaller holes" three.txt || die "--top 3: no count of the rest"
"$MALLOG" holes "$log" -a glibc --at worst --json > all.json
expect_eq "json: all" "$(j all.json 'len(d["holes"]) == d["holes_total"] == '"$total")" True
"$MALLOG" holes "$log" -a glibc --at worst --json --top 2 > two.json
expect_eq "json --top 2" "$(j two.json '(len(d["holes"]), d["holes_total"])')" "(2, $total)"
expect_eq "json --top 2: the largest" "$(python3 -c "import json; a=json.load(open('all.json'))['holes']; b=json.load(open('two.json'))['holes']; print(a[:2] == b)")" True

# Issue 19: the report's "What grows" section: for server_leak recorded with --stacks, the
# leaking function is the one growing site listed, with its live bytes at the end as the program
# says and a chart drawn from growth.0.tsv (its floor series = stats --growth's); a run where
# nothing grows gets the one line "Nothing grows".
source "$ROOT/tests/e2e/lib.sh"
"$MALLOG" -q record --stacks -o srv -- "$PROGS/server_leak" 40000 2> srv.err
leaked=$(sed -n 's/^leaked \([0-9]*\) bytes.*/\1/p' srv.err)
"$MALLOG" -q report "$(only_log srv)" -a glibc --holes 0 -o rep
sed -n '/<h2 id="growth">/,/<h2 id="leaks">/p' rep/index.html > section.html
grep -q '1 growing, 2 level off, 1 return' section.html || die "counts: $(cat section.html)"
rows=$(grep -c '^<tr><td><code>' section.html)
expect_eq "growing rows" "$rows" 1
grep -q '^<tr><td><code>remember_session (server_leak\.c:[0-9]*)</code>' section.html ||
    die "row: $(grep '<tr>' section.html)"
grep -q 'src="growth.0.png"' section.html || die "no chart"
[[ -s rep/growth.0.png ]] || die "chart not drawn"
j rep/growth.json 'd["growth"][0]["live_bytes_end"]' | grepq -x "$leaked" || die "live bytes at the end"
# the chart's data is the site's floor series
python3 - rep/growth.json rep/growth.0.tsv <<'PY' || die "growth.0.tsv differs from growth.json"
import csv, json, sys
d = json.load(open(sys.argv[1]))
rows = list(csv.DictReader(open(sys.argv[2]), delimiter="\t"))
assert [int(r["floor_bytes"]) for r in rows] == d["growth"][0]["floor_bytes"]
assert [int(r["event"]) for r in rows] == d["window_last_event"]
PY

# nothing grows: every block of churn is freed at its end
"$MALLOG" -q record -o churn -- "$BENCH/churn" 200000 > /dev/null
"$MALLOG" -q report "$(only_log churn)" -a glibc --holes 0 -o rep2
grep -q '<p>Nothing grows: no size class' rep2/index.html || die "no 'Nothing grows' line"
[[ ! -e rep2/growth.0.png ]] || die "a chart where nothing grows"

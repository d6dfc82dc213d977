#!/usr/bin/env bash
# End-to-end test runner: runs every tests/e2e/t_*.sh (sorted) with
#   MALLOG   the mallog binary          PRELOAD  libmallog.so
#   PROGS    build/progs (test programs) BENCH    build/bench
#   WORK     a fresh temporary directory for this test (removed on success)
# A test exits 0 = pass, 77 = skipped (prints why), anything else = fail.
# Usage: run.sh MALLOG PRELOAD [REGEX]   (only the tests whose name matches REGEX, an ERE)
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
export MALLOG=$(realpath "$1") PRELOAD=$(realpath "$2")
export PROGS=$root/build/progs BENCH=$root/build/bench ROOT=$root
pattern=${3:-}
pass=0 fail=0 skip=0 failed=() skipped=()
for t in "$here"/t_*.sh; do
    name=$(basename "$t" .sh)
    [[ -n "$pattern" && ! "$name" =~ $pattern ]] && continue
    export WORK=$(mktemp -d "/tmp/mallog-e2e.$name.XXXXXX")
    start=$(date +%s)
    ( cd "$WORK" && bash "$t" ) > "$WORK.log" 2>&1
    rc=$?
    secs=$(( $(date +%s) - start ))
    if [[ $rc -eq 0 ]]; then
        pass=$((pass + 1)); echo "PASS $name (${secs}s)"; rm -rf "$WORK" "$WORK.log"
    elif [[ $rc -eq 77 ]]; then
        skip=$((skip + 1)); skipped+=("$name: $(tail -n 1 "$WORK.log")")
        echo "SKIP ${skipped[-1]}"; rm -rf "$WORK" "$WORK.log"
    else
        fail=$((fail + 1)); failed+=("$name"); echo "FAIL $name (exit $rc, ${secs}s); last lines of $WORK.log:"
        tail -n 25 "$WORK.log" | sed 's/^/    /'
    fi
done
# a skip is named in the summary line, with its reason: it is a test that did not run
summary="$pass passed, $fail failed, $skip skipped"
[[ $skip -gt 0 ]] && summary+=" ($(IFS=';'; echo "${skipped[*]}" | sed 's/;/; /g'))"
echo "$summary"
[[ $fail -eq 0 ]]

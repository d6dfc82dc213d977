# Helpers for e2e tests: source "$ROOT/tests/e2e/lib.sh".
set -euo pipefail
die() { echo "FAILED: $*" >&2; exit 1; }
# grepq ARGS: grep -q that reads all its input: with pipefail, `cmd | grep -q x` fails at random
# when grep exits at the first match and cmd, still writing, dies of SIGPIPE
grepq() { grep "$@" > /dev/null; }
# expect_eq WHAT GOT WANT
expect_eq() { [[ "$2" == "$3" ]] || die "$1: got '$2', want '$3'"; }
# info_field LOG REGEX -> prints the first matching line of `mallog info`
info_line() { "$MALLOG" info "$1" | grep -E "$2" | head -n 1; }
# anomalies LOG -> the anomaly count of a log
anomalies() { "$MALLOG" info "$1" | sed -n 's/.*anomalies \([0-9]*\).*/\1/p' | head -n 1; }
# op_count LOG OP -> calls of OP (0 if absent)
op_count() { "$MALLOG" info "$1" | awk -v op="$2" '$1 == op && NF == 4 { print $2; found=1 } END { if (!found) print 0 }'; }
# the single log of a recording prefix
only_log() { local l=( "$1".*.mlog ); [[ ${#l[@]} -eq 1 ]] || die "expected one log for $1, got ${#l[@]}"; echo "${l[0]}"; }
# j FILE EXPR -> prints the Python expression EXPR, with d = the JSON object in FILE
j() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; }
# alloc_lib NAME -> the library mallog preloads for allocator NAME (empty when not installed)
alloc_lib() { "$MALLOG" replay --list-allocators | awk -F'\t' -v n="$1" '$1 == n && $2 ~ /^\// { print $2 }'; }

# Every option of record is checked before the program starts: a bad value gets a message naming
# the option, the usage, exit 2, and the program never runs (it would touch ran.N).
source "$ROOT/tests/e2e/lib.sh"
i=0
bad() { # bad WORD_IN_MESSAGE OPTION...
    local want=$1; shift
    i=$((i + 1))
    local rc=0
    "$MALLOG" record "$@" -o b -- touch "ran.$i" > out.txt 2> err.txt || rc=$?
    [[ $rc -eq 2 ]] || die "record $*: exit $rc, want 2"
    grep -qF -- "mallog record: $want" err.txt || die "record $*: no message naming $want: $(cat err.txt)"
    grep -q '^usage: mallog record' err.txt || die "record $*: no usage"
    [[ ! -e ran.$i ]] || die "record $*: the program ran"
}
bad "--trap mallok:" --trap mallok
bad "--trap malloc:size=12x:" --trap malloc:size=12x
bad "--trap malloc:bytes=1:" --trap malloc:bytes=1
bad "--trap seq=:" --trap seq=
bad "--level 'abc':" --level abc
bad "--level '0':" --level 0
bad "--level '99':" --level 99
bad "--level '3x':" --level 3x
bad "--stacks=0:" --stacks=0
bad "--stacks=300:" --stacks=300
bad "--stacks=1k:" --stacks=1k
bad "--stacks=0:" --stacks 0
bad "--pack=sometimes:" --pack=sometimes
bad "--unwind=guess:" --unwind=guess
ls b.* 2> /dev/null && die "a bad invocation left logs or spools"

# --stacks DEPTH (a separate word) is the depth, not the command
"$MALLOG" -q record --stacks 8 -o s -- "$PROGS/sites" > /dev/null
"$MALLOG" dump "$(only_log s)" | grepq ' stack=' || die "--stacks 8 recorded no stacks"

# MALLOG_* set by hand (the preload options table): a bad value warns once, naming the option and
# its range, and the default stands; K/M/G suffixes are accepted
MALLOG_TIME_EVERY=12x MALLOG_STACKS=1G "$MALLOG" -q record -o e -- "$PROGS/counts" > /dev/null 2> e.err
[[ $(grep -c 'MALLOG_TIME_EVERY=12x: not a number from 1 to 1073741824; using 256' e.err) == 1 ]] ||
    die "bad MALLOG_TIME_EVERY: $(cat e.err)"
grep -q 'MALLOG_STACKS' e.err && die "record sets MALLOG_STACKS itself, yet it warned: $(cat e.err)"
MALLOG_TIME_EVERY=1K "$MALLOG" -q record -o k -- "$PROGS/counts" > /dev/null 2> k.err
[[ ! -s k.err ]] || die "MALLOG_TIME_EVERY=1K warned: $(cat k.err)"

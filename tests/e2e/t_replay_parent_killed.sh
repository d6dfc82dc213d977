# `mallog replay` killed outright (kill -9: a timeout, a CI runner) takes its workers with it: none
# goes on replaying for nobody, with the log decoded once (the default) or by each worker.
source "$ROOT/tests/e2e/lib.sh"
"$MALLOG" record -o c -- "$BENCH/churn" 2000000 > /dev/null
log=$(only_log c)
for mode in once each; do
    "$MALLOG" -q replay "$log" -a glibc,arena --touch=full --samples 20000 --decode=$mode \
        -o "r$mode" > /dev/null 2>&1 &
    parent=$!
    workers=
    for ((i = 0; i < 300; i++)); do # the workers start after the pre-pass (and the tape)
        workers=$(pgrep -P "$parent" -f -- '--worker' | tr '\n' ' ' || true)
        [[ $(wc -w <<< "$workers") -ge 2 ]] && break
        sleep 0.1
    done
    [[ $(wc -w <<< "$workers") -ge 2 ]] || die "$mode: the workers never started"
    kill -9 "$parent"
    wait "$parent" 2> /dev/null || true
    for ((i = 0; i < 50; i++)); do
        alive=
        for w in $workers; do kill -0 "$w" 2> /dev/null && alive="$alive $w"; done
        [[ -z $alive ]] && break
        sleep 0.1
    done
    [[ -z $alive ]] || { kill -9 $alive; die "$mode: workers$alive outlived their parent"; }
done

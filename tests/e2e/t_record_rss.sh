# The recorder must not change the program's memory: records go to shared file pages that are
# dropped from the process once a thread leaves them, so its peak RSS stays close to a plain run.
source "$ROOT/tests/e2e/lib.sh"
command -v /usr/bin/time > /dev/null || { echo "/usr/bin/time missing"; exit 77; }
/usr/bin/time -f '%M' -o plain.kb "$BENCH/churn" 3000000 > /dev/null
/usr/bin/time -f '%M' -o rec.kb env LD_PRELOAD="$PRELOAD" MALLOG_OUT="$PWD/r" "$BENCH/churn" 3000000 > /dev/null
plain=$(tail -n1 plain.kb) rec=$(tail -n1 rec.kb)
spool=$(stat -c %s r.*.spool)
echo "peak RSS plain ${plain} KiB, recorded ${rec} KiB, spool $((spool / 1024)) KiB"
# the spool holds ~25 MB of records; at most a few chunks per thread may be resident
(( rec - plain < 4096 )) || die "recording added $((rec - plain)) KiB of RSS"

# Acceptance (issue 3): a deterministic program's exact call counts, sizes, alignments, outcomes.
source "$ROOT/tests/e2e/lib.sh"
"$MALLOG" record -o c -- "$PROGS/counts" > out.txt
log=$(only_log c)
expect_eq "anomalies" "$(anomalies "$log")" 0
# counts.c documents each number; printf's stdout buffer adds one malloc(4096)
expect_eq malloc "$(op_count "$log" malloc)" 14
expect_eq calloc "$(op_count "$log" calloc)" 6
expect_eq realloc "$(op_count "$log" realloc)" 5
expect_eq reallocarray "$(op_count "$log" reallocarray)" 3
expect_eq posix_memalign "$(op_count "$log" posix_memalign)" 2
expect_eq aligned_alloc "$(op_count "$log" aligned_alloc)" 1
expect_eq memalign "$(op_count "$log" memalign)" 1
expect_eq valloc "$(op_count "$log" valloc)" 1
expect_eq pvalloc "$(op_count "$log" pvalloc)" 1
expect_eq malloc_usable_size "$(op_count "$log" malloc_usable_size)" 1
expect_eq malloc_trim "$(op_count "$log" malloc_trim)" 1
expect_eq mallopt "$(op_count "$log" mallopt)" 1
expect_eq free "$(op_count "$log" free)" 24
"$MALLOG" dump "$log" | cut -d' ' -f4- | sed 's/0x[0-9a-f]*/P/g' > dump.txt
for want in 'malloc(1) = P' 'malloc(901) = P' 'malloc(0) = P' 'malloc(9223372036854775807) = 0 [failed]' \
    'calloc(5, 24) = P' 'calloc(9223372036854775807, 16) = 0 [overflow]' 'realloc(0, 64) = P' \
    'realloc(P, 0) = 0 [freed]' 'realloc(P, 9223372036854775807) = 0 [failed]' \
    'reallocarray(0, 10, 10) = P' 'reallocarray(P, 9223372036854775807, 4) = 0 [overflow]' \
    'posix_memalign(64, 1000) = P' 'posix_memalign(3, 10) = 0 [einval]' \
    'aligned_alloc(4096, 8192) = P' 'memalign(256, 300) = P' 'valloc(5000) = P' 'pvalloc(100) = P' \
    "malloc_usable_size(P) = $(sed -n 's/usable //p' out.txt)" 'malloc_trim(0) = 1' 'mallopt(-2, 0) = 1' \
    'free(0)'; do
    grep -qxF "$want" dump.txt || die "dump lacks: $want"
done
# alignment is honoured and recorded: the aligned results are multiples of their alignment
while read -r op args; do
    al=${args%%,*}; p=${args##* }
    (( p % al == 0 )) || die "misaligned: $op $args"
done < <("$MALLOG" dump "$log" | awk '$4 ~ /^(aligned_alloc|memalign|posix_memalign)\(/ && $NF != "[einval]" {
    sub(/^[a-z_]*\(/, "", $4); print "x", $4 + 0 ",", $NF }')
# --from/--to select by event index, inclusive
expect_eq "dump range" "$("$MALLOG" dump "$log" --from 3 --to 5 | wc -l)" 3
expect_eq "dump first index" "$("$MALLOG" dump "$log" --from 3 --to 5 | head -n1 | cut -d' ' -f1)" 3

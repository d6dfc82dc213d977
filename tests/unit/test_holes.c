/* test_holes.c - hole finding: sorting, /proc/self/maps parsing, the replayer's own regions
 * left out, hole sizes, counts, bounding blocks and their resident part. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>
#include <string.h>
#include <sys/mman.h>

#include "../../replay/replay.h"

#define MiB (1ull << 20)

static void test_sort(void **state)
{
    (void)state;
    enum { N = 5000 };
    struct hole_block *v = mem_map(N * sizeof *v, "mallog:test"), *t = mem_map(N * sizeof *t, "t");
    uint64_t x = 12345;
    for (uint64_t i = 0; i < N; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        v[i] = (struct hole_block){(x >> 16) & 0xffffffffffffull, 0, i};
    }
    holes_sort(v, t, N);
    for (uint64_t i = 1; i < N; i++)
        assert_true(v[i - 1].start <= v[i].start);
    mem_unmap(v, N * sizeof *v);
    mem_unmap(t, N * sizeof *t);
}

static void test_parse_maps(void **state)
{
    (void)state;
    struct holes h;
    holes_init(&h);
    const char *maps =
        "555555554000-555555556000 r--p 00000000 08:01 123 /usr/bin/x\n"
        "555555558000-555555579000 rw-p 00000000 00:00 0                [heap]\n"
        "555555579000-555555580000 rw-p 00000000 00:00 0 \n"
        "7f0000000000-7f0000100000 ---p 00000000 00:00 0 \n"
        "7f0000100000-7f0000200000 rw-p 00000000 00:00 0 \n"
        "7f0000200000-7f0000300000 rw-p 00000000 00:00 0                [anon:mallog:slots]\n"
        "7ffc00000000-7ffc00021000 rw-p 00000000 00:00 0                [stack]\n";
    assert_int_equal(holes_parse_maps(&h, maps, strlen(maps)), 0);
    assert_int_equal(h.nr, 2); /* heap + adjacent anon merged; PROT_NONE, ours, stack out */
    assert_int_equal(h.ranges[0][0], 0x555555558000ull);
    assert_int_equal(h.ranges[0][1], 0x555555580000ull);
    assert_int_equal(h.ranges[1][0], 0x7f0000100000ull);
    assert_int_equal(h.ranges[1][1], 0x7f0000200000ull);
    holes_fini(&h);
}

/* One of the replayer's own regions that covers a whole anonymous range (an unnamed mapping:
 * naming failed) takes the range out, not turns it inside out. */
static void test_parse_maps_own_region(void **state)
{
    (void)state;
    struct holes h;
    holes_init(&h);
    char *own = mem_map(8192, "mallog:test");
    assert_non_null(own);
    char maps[512];
    uint64_t a = (uint64_t)own;
    snprintf(maps, sizeof maps,
             "%" PRIx64 "-%" PRIx64 " rw-p 00000000 00:00 0 \n"
             "%" PRIx64 "-%" PRIx64 " rw-p 00000000 00:00 0 \n",
             a - 0x100000, a - 0x80000, a, a + 8192);
    assert_int_equal(holes_parse_maps(&h, maps, strlen(maps)), 0);
    assert_int_equal(h.nr, 1);
    assert_int_equal(h.ranges[0][0], a - 0x100000);
    assert_int_equal(h.ranges[0][1], a - 0x80000);
    assert_int_equal(h.anon_mapped, 0x80000);
    mem_unmap(own, 8192);
    holes_fini(&h);
}

static void test_scan(void **state)
{
    (void)state;
    /* a 16 MiB anonymous mapping standing in for an allocator's heap (not ours: plain mmap) */
    char *heap = mmap(NULL, 16 * MiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(heap != MAP_FAILED);
    struct holes h;
    struct sample s;
    holes_init(&h);
    uint64_t b = (uint64_t)heap;
    /* blocks: [0,100) [2M,2M+232) [12M,12M+4000) [12M+4000+100, +50) (gap < page: no hole) */
    assert_int_equal(holes_add_block(&h, b + 12 * MiB, b + 12 * MiB + 4000, 2), 0);
    assert_int_equal(holes_add_block(&h, b, b + 100, 0), 0);
    assert_int_equal(holes_add_block(&h, b + 2 * MiB, b + 2 * MiB + 232, 1), 0);
    assert_int_equal(holes_add_block(&h, b + 12 * MiB + 4100, b + 12 * MiB + 4150, 3), 0);
    memset(heap + 4 * MiB, 1, 3 * 4096); /* three resident pages inside the big hole */
    assert_int_equal(holes_scan(&h, &s, 1), 0);
    assert_int_equal(h.nh, 2);
    assert_int_equal(s.holes_1m, 2);
    assert_int_equal(s.holes_8m, 1);
    assert_int_equal(s.largest_hole, 10 * MiB - 232);
    assert_int_equal(s.hole_bytes, 12 * MiB - 232 - 100);
    assert_int_equal(s.hole_resident, 3 * 4096);
    /* largest first, with its bounding blocks */
    assert_int_equal(h.h[0].start, b + 2 * MiB + 232);
    assert_int_equal(h.h[0].size, 10 * MiB - 232);
    assert_int_equal(h.b[h.h[0].left].slot, 1);
    assert_int_equal(h.b[h.h[0].right].slot, 2);
    assert_int_equal(h.b[h.h[1].left].slot, 0);
    assert_true(h.anon_resident >= 3 * 4096); /* the pages touched above, at least */
    /* a gap that leaves the mapping is not a hole */
    holes_clear(&h);
    holes_add_block(&h, b + 15 * MiB, b + 15 * MiB + 16, 0);
    holes_add_block(&h, b + 20 * MiB, b + 20 * MiB + 16, 1);
    assert_int_equal(holes_scan(&h, &s, 0), 0);
    assert_int_equal(s.holes_1m, 0);
    munmap(heap, 16 * MiB);
    holes_fini(&h);
}

static void test_own_memory_excluded(void **state)
{
    (void)state;
    char *own = mem_map(4 * MiB, "mallog:test");
    struct holes h;
    struct sample s;
    holes_init(&h);
    holes_add_block(&h, (uint64_t)own, (uint64_t)own + 16, 0);
    holes_add_block(&h, (uint64_t)own + 3 * MiB, (uint64_t)own + 3 * MiB + 16, 1);
    assert_int_equal(holes_scan(&h, &s, 0), 0);
    assert_int_equal(s.holes_1m, 0); /* the replayer's memory is never a hole */
    holes_fini(&h);
    mem_unmap(own, 4 * MiB);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sort),
        cmocka_unit_test(test_parse_maps), cmocka_unit_test(test_parse_maps_own_region),
        cmocka_unit_test(test_scan),
        cmocka_unit_test(test_own_memory_excluded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

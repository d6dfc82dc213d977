/* test_arena.c - mallog's arena allocator: random operations keep every invariant and every
 * byte, alignment is honoured, usable sizes cover the request, freed memory coalesces. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "../../replay/replay.h"

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static size_t rand_size(void)
{
    uint64_t r = next();
    switch (r % 10) {
    case 0:
        return (size_t)(r >> 8) % 300000;
    case 1:
    case 2:
        return 2000 + (size_t)(r >> 8) % 30000;
    default:
        return (size_t)(r >> 8) % 600;
    }
}

static void fill(unsigned char *p, size_t n, unsigned char tag)
{
    for (size_t i = 0; i < n; i += 61)
        p[i] = (unsigned char)(tag + i);
    if (n)
        p[n - 1] = tag;
}

static int intact(const unsigned char *p, size_t n, unsigned char tag)
{
    for (size_t i = 0; i < n; i += 61)
        if (i != n - 1 && p[i] != (unsigned char)(tag + i))
            return 0;
    return n == 0 || p[n - 1] == tag;
}

#define N 2000
static void test_random_ops(void **state)
{
    (void)state;
    arena_reset();
    static unsigned char *ptr[N];
    static size_t size[N];
    memset(ptr, 0, sizeof ptr);
    for (int op = 0; op < 200000; op++) {
        int k = (int)(next() % N);
        unsigned char tag = (unsigned char)k;
        if (!ptr[k]) {
            size_t n = rand_size(), align = (size_t)16 << (next() % 9);
            int how = (int)(next() % 4);
            ptr[k] = how == 0   ? arena_memalign(align, n)
                     : how == 1 ? arena_calloc(1, n)
                                : arena_malloc(n);
            assert_non_null(ptr[k]);
            if (how == 0)
                assert_int_equal((uintptr_t)ptr[k] % align, 0);
            if (how == 1)
                for (size_t i = 0; i < n; i += 97)
                    assert_int_equal(ptr[k][i], 0);
            assert_true((uintptr_t)ptr[k] % 16 == 0);
            assert_true(arena_usable_size(ptr[k]) >= n);
            size[k] = n;
            fill(ptr[k], n, tag);
        } else if (next() % 3 == 0) {
            assert_true(intact(ptr[k], size[k], tag));
            size_t n = rand_size();
            unsigned char *q = arena_realloc(ptr[k], n);
            assert_non_null(q);
            assert_true(arena_usable_size(q) >= n);
            size_t keep = n < size[k] ? n : size[k];
            if (keep)
                assert_true(intact(q, keep, tag) || keep < size[k]);
            ptr[k] = q;
            size[k] = n;
            fill(q, n, tag);
        } else {
            assert_true(intact(ptr[k], size[k], tag));
            arena_free(ptr[k]);
            ptr[k] = NULL;
        }
        if (op % 5000 == 0)
            assert_int_equal(arena_check(), 0);
    }
    for (int k = 0; k < N; k++) {
        if (ptr[k])
            assert_true(intact(ptr[k], size[k], (unsigned char)k));
        arena_free(ptr[k]);
    }
    assert_int_equal(arena_check(), 0);
    struct arena_stats st;
    arena_stats(&st);
    assert_true(st.active < (4u << 20)); /* only the kept empty slabs remain */
}

static void test_coalesce_and_release(void **state)
{
    (void)state;
    arena_reset();
    void *a = arena_malloc(1 << 20), *b = arena_malloc(1 << 20), *c = arena_malloc(1 << 20);
    void *pin = arena_malloc(5000);
    struct arena_stats st0, st1;
    arena_stats(&st0);
    arena_free(a);
    arena_free(c);
    arena_free(b); /* a, b, c merge into one span */
    assert_int_equal(arena_check(), 0);
    arena_stats(&st1);
    assert_int_equal(st1.free_spans, 1);
    assert_true(st1.largest_free >= 3u << 20);
    assert_true(st1.mapped + (3u << 20) - 3 * 4096 <= st0.mapped); /* pages went back */
    void *d = arena_malloc(2 << 20);                               /* best fit reuses the span */
    assert_ptr_equal(d, a);
    arena_free(d);
    arena_free(pin);
    assert_int_equal(arena_check(), 0);
}

static void test_small_classes(void **state)
{
    (void)state;
    arena_reset();
    for (size_t n = 0; n <= ARENA_SMALL_MAX; n += 7) {
        char *p = arena_malloc(n);
        assert_non_null(p);
        assert_true(arena_usable_size(p) >= n);
        assert_true(arena_usable_size(p) <= (n < 16 ? 16 : n + n / 4 + 16));
        arena_free(p);
    }
    void *big = arena_memalign(65536, 100);
    assert_int_equal((uintptr_t)big % 65536, 0);
    arena_free(big);
    assert_null(arena_memalign(48, 10)); /* not a power of two */
    assert_int_equal(arena_check(), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_ops),
        cmocka_unit_test(test_coalesce_and_release),
        cmocka_unit_test(test_small_classes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

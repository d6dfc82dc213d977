/* test_arena.c - mallog's arena allocator: random operations keep every invariant and every
 * byte, alignment is honoured, usable sizes cover the request, freed memory coalesces; under
 * each placement policy (best, first, next fit, segregated fits), each placing where it says. */
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
    void *d = arena_malloc(2 << 20); /* every policy reuses the span (the only free one) */
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

/* Where each policy puts a 256 KiB request when the free spans are A (1 MiB, lowest), the rest
 * of B (2 MiB, of which 1.5 MiB were just taken) and C (1 MiB), pins between them: first fit
 * takes A (the lowest address), next fit the rest of B (where the last placement ended), best
 * fit the rest of B (the smallest that fits), segregated fits the rest of B (the first of the
 * smallest class that fits). */
static void test_placement(void **state)
{
    (void)state;
    static const struct {
        const char *policy;
        int want_a; /* 1: span A, 0: the rest of B */
    } cases[] = {{"best", 0}, {"first", 1}, {"next", 0}, {"seg4", 0}};
    for (unsigned k = 0; k < sizeof cases / sizeof *cases; k++) {
        assert_int_equal(arena_set_policy(cases[k].policy), 0);
        arena_reset();
        char *a = arena_malloc(1u << 20), *pin1 = arena_malloc(5000);
        char *b = arena_malloc(2u << 20), *pin2 = arena_malloc(5000);
        char *c = arena_malloc(1u << 20), *pin3 = arena_malloc(5000);
        arena_free(a);
        arena_free(b);
        arena_free(c);
        char *y = arena_malloc(1536u << 10); /* only B fits */
        assert_ptr_equal(y, b);
        char *x = arena_malloc(256u << 10);
        assert_non_null(x);
        if (cases[k].want_a)
            assert_ptr_equal(x, a);
        else
            assert_ptr_equal(x, y + arena_usable_size(y) + 16);
        assert_int_equal(arena_check(), 0);
        arena_free(x);
        arena_free(y);
        arena_free(pin1);
        arena_free(pin2);
        arena_free(pin3);
        assert_int_equal(arena_check(), 0);
    }
    /* segregated fits round a request up to its class: 4 classes per power of two */
    assert_int_equal(arena_set_policy("seg4"), 0);
    arena_reset();
    char *q = arena_malloc(2600 * 1024); /* 2^21 < n <= 2^22: classes every 512 KiB */
    assert_int_equal(arena_usable_size(q), (3u << 20) - 16); /* the class, less the header */
    arena_free(q);
    assert_int_equal(arena_set_policy("seg3"), -1);
    assert_int_equal(arena_set_policy("worst"), -1);
    assert_int_equal(arena_set_policy("best"), 0);
    arena_reset();
}

static int policy_setup(void **state)
{
    return arena_set_policy(*state ? (const char *)*state : "best");
}

/* The arena's own tests, run once under each placement policy. */
#define POLICY_TESTS(policy)                                                                       \
    {                                                                                              \
        cmocka_unit_test_prestate_setup_teardown(test_random_ops, policy_setup, NULL, policy),     \
            cmocka_unit_test_prestate_setup_teardown(test_coalesce_and_release, policy_setup,      \
                                                     NULL, policy),                                \
            cmocka_unit_test_prestate_setup_teardown(test_small_classes, policy_setup, NULL,       \
                                                     policy),                                      \
    }

int main(void)
{
    const struct CMUnitTest best[] = POLICY_TESTS("best"), first[] = POLICY_TESTS("first"),
                            nextfit[] = POLICY_TESTS("next"), seg1[] = POLICY_TESTS("seg1"),
                            seg4[] = POLICY_TESTS("seg4");
    const struct CMUnitTest place[] = {cmocka_unit_test(test_placement)};
    int rc = cmocka_run_group_tests_name("arena best fit", best, NULL, NULL);
    rc += cmocka_run_group_tests_name("arena first fit", first, NULL, NULL);
    rc += cmocka_run_group_tests_name("arena next fit", nextfit, NULL, NULL);
    rc += cmocka_run_group_tests_name("arena segregated fits, 1 class per power of two", seg1, NULL,
                                      NULL);
    rc += cmocka_run_group_tests_name("arena segregated fits, 4 classes per power of two", seg4,
                                      NULL, NULL);
    rc += cmocka_run_group_tests_name("arena placement", place, NULL, NULL);
    return rc;
}

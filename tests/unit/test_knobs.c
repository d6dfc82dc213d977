/* test_knobs.c - the knob table of `mallog tune` and the environments it makes: each knob names an
 * allocator mallog knows and has values; settings of one variable are joined the way the library
 * reads them; jemalloc's pinned MALLOC_CONF keys stay in a candidate's MALLOC_CONF unless a knob
 * sets the same key; the line shown to the user has the knobs alone; what comes out parses back
 * as an -a spec with the same settings (specs_parse). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../../common/allocators.h"
#include "../../replay/knobs.h"
#include "../../replay/cmd.h"

static int knob(const char *family, const char *name)
{
    for (int i = 0; i < knobs_count; i++)
        if (strcmp(knobs_list[i].family, family) == 0 && strcmp(knobs_list[i].name, name) == 0)
            return i;
    fail_msg("no knob %s.%s", family, name);
    return -1;
}

/* The index of value v of knob k. */
static int value(int k, const char *v)
{
    for (int j = 0; j < KNOB_VALUES_MAX && knobs_list[k].values[j]; j++)
        if (strcmp(knobs_list[k].values[j], v) == 0)
            return j;
    fail_msg("knob %s has no value %s", knobs_list[k].name, v);
    return -1;
}

static void test_table(void **state)
{
    (void)state;
    assert_true(knobs_count > 15);
    for (int i = 0; i < knobs_count; i++) {
        const struct knob *k = &knobs_list[i];
        assert_true(allocators_find(k->family, strlen(k->family)) < MLG_ALLOC_COUNT);
        assert_non_null(k->values[0]);
        assert_non_null(k->what);
        assert_true(knobs_for(k->family, i));
        assert_false(knobs_for(strcmp(k->family, "glibc") ? "glibc" : "arena", i));
        for (int j = 0; j < i; j++) /* one entry per knob */
            assert_false(strcmp(knobs_list[j].family, k->family) == 0 &&
                         strcmp(knobs_list[j].name, k->name) == 0);
    }
}

static void test_glibc(void **state)
{
    (void)state;
    int a = knob("glibc", "mmap_threshold"), b = knob("glibc", "top_pad");
    struct knob_set v[] = {{a, value(a, "1048576")}, {b, value(b, "0")}};
    char env[512], line[512];
    assert_int_equal(knobs_env("glibc", v, 2, 1, env, sizeof env), 0);
    assert_string_equal(
        env, "GLIBC_TUNABLES=glibc.malloc.mmap_threshold=1048576:glibc.malloc.top_pad=0\n");
    knobs_line("glibc", v, 2, line, sizeof line);
    assert_string_equal(
        line, "GLIBC_TUNABLES=glibc.malloc.mmap_threshold=1048576:glibc.malloc.top_pad=0");
    knobs_line("glibc", v, 0, line, sizeof line);
    assert_string_equal(line, "");                              /* the defaults */
    assert_int_equal(knobs_env("glibc", v, 2, 1, env, 20), -1); /* does not fit: said, not cut */
}

static void test_jemalloc_pinned(void **state)
{
    (void)state;
    int n = knob("jemalloc", "narenas"), d = knob("jemalloc", "dirty_decay_ms");
    char env[512], line[512];
    struct knob_set one[] = {{n, value(n, "1")}};
    assert_int_equal(knobs_env("jemalloc", one, 1, 1, env, sizeof env), 0);
    assert_string_equal(env, "MALLOC_CONF=dirty_decay_ms:0,muzzy_decay_ms:0,narenas:1\n");
    knobs_line("jemalloc", one, 1, line, sizeof line);
    assert_string_equal(line, "MALLOC_CONF=narenas:1");
    /* a knob of a pinned key replaces it */
    struct knob_set two[] = {{d, value(d, "10000")}, {n, value(n, "2")}};
    assert_int_equal(knobs_env("jemalloc", two, 2, 1, env, sizeof env), 0);
    assert_string_equal(env, "MALLOC_CONF=muzzy_decay_ms:0,dirty_decay_ms:10000,narenas:2\n");
    /* unpinned (speed): the knobs alone */
    assert_int_equal(knobs_env("jemalloc", two, 2, 0, env, sizeof env), 0);
    assert_string_equal(env, "MALLOC_CONF=dirty_decay_ms:10000,narenas:2\n");
}

static void test_vars(void **state)
{
    (void)state;
    int a = knob("tcmalloc", "release_rate"), b = knob("tcmalloc", "aggressive_decommit");
    struct knob_set v[] = {{a, value(a, "10")}, {b, value(b, "true")}};
    char env[512], line[512];
    assert_int_equal(knobs_env("tcmalloc", v, 2, 1, env, sizeof env), 0);
    assert_string_equal(env, "TCMALLOC_RELEASE_RATE=10\nTCMALLOC_AGGRESSIVE_DECOMMIT=true\n");
    knobs_line("tcmalloc", v, 2, line, sizeof line);
    assert_string_equal(line, "TCMALLOC_RELEASE_RATE=10 TCMALLOC_AGGRESSIVE_DECOMMIT=true");
    int p = knob("arena", "policy");
    struct knob_set w[] = {{p, value(p, "seg4")}};
    assert_int_equal(knobs_env("arena", w, 1, 1, env, sizeof env), 0);
    assert_string_equal(env, "MALLOG_ARENA_POLICY=seg4\n");
}

/* The env of every single-knob candidate parses back as an -a spec with the same settings. */
static void test_specs_round_trip(void **state)
{
    (void)state;
    for (int k = 0; k < knobs_count; k++)
        for (int j = 0; j < KNOB_VALUES_MAX && knobs_list[k].values[j]; j++) {
            struct knob_set v[] = {{k, j}};
            char env[512], spec[600];
            assert_int_equal(knobs_env(knobs_list[k].family, v, 1, 1, env, sizeof env), 0);
            size_t u = (size_t)snprintf(spec, sizeof spec, "%s", knobs_list[k].family);
            for (const char *p = env; *p;) { /* "A=1\nB=2\n" -> family:A=1:B=2 */
                size_t l = strcspn(p, "\n");
                u += (size_t)snprintf(spec + u, sizeof spec - u, ":%.*s", (int)l, p);
                p += l + (p[l] ? 1 : 0);
            }
            struct alloc_spec a;
            if (strcmp(knobs_list[k].family, "glibc") && strcmp(knobs_list[k].family, "arena") &&
                access(allocators_list[allocators_find(knobs_list[k].family,
                                                       strlen(knobs_list[k].family))]
                           .lib,
                       R_OK) != 0)
                continue; /* a library that is not installed cannot be parsed as a spec */
            assert_int_equal(specs_parse("test", spec, &a), 0);
            assert_string_equal(a.env, env);
        }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_glibc),
        cmocka_unit_test(test_jemalloc_pinned),
        cmocka_unit_test(test_vars),
        cmocka_unit_test(test_specs_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_plots.c - plots/: the JSON reader on the shapes replay/stats/holes print (nesting, arrays,
 * escapes) and on damaged text (truncated at every byte, never a read past the end), --range
 * parsing, units, and the data-directory helpers the charts rely on (allocator order, TSV rows
 * and columns, which charts can be drawn). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../plots/plots.h"

static const char *replay_json =
    "{\"allocator\": \"glibc\", \"library\": \"libc.so.6\", \"log\": \"/tmp/a \\\"b\\\".mlog\", "
    "\"events\": 234822, \"threads_mode\": \"serial\", \"touch\": \"page\", \"env\": {}, "
    "\"peak_live_requested\": 29134016, \"peak_live_event\": 234792, "
    "\"peak_footprint\": 483885056, \"footprint_ratio_at_peak\": 16.6089, "
    "\"worst\": {\"event\": 225107, \"holes_1m\": 23, \"holes_8m\": 23, "
    "\"largest_hole\": 28247944, \"hole_bytes\": 426981096}, \"events_per_sec\": 91339.5, "
    "\"anomalies\": {\"unknown_frees\": 0, \"double_frees\": 0}}\n";

static const char *holes_json =
    "{\"allocator\": \"glibc\", \"event\": 225107, \"holes\": [\n"
    " {\"start\": 93825392101048, \"size\": 28247944, \"resident\": 28241920,\n"
    "  \"left\": {\"size\": 232, \"event\": 215228, \"age\": 9879, \"thread\": 0},\n"
    "  \"right\": {\"size\": 232, \"event\": 225011, \"age\": 96, \"thread\": 0}},\n"
    " {\"start\": 1, \"size\": 4096, \"resident\": 0, \"left\": null, \"right\": {\"size\": 16, "
    "\"event\": 3, \"age\": 1, \"thread\": 2}}]}";

static void test_json_flat_and_nested(void **state)
{
    (void)state;
    uint64_t u = 0;
    double d = 0;
    char s[128];
    assert_int_equal(json_u64(replay_json, "peak_live_requested", &u), 0);
    assert_true(u == 29134016);
    assert_int_equal(json_u64(replay_json, "worst.holes_8m", &u), 0);
    assert_true(u == 23);
    assert_int_equal(json_u64(replay_json, "anomalies.double_frees", &u), 0);
    assert_true(u == 0);
    assert_int_equal(json_double(replay_json, "footprint_ratio_at_peak", &d), 0);
    assert_true(d > 16.6088 && d < 16.609);
    /* a float read as an integer rounds */
    assert_int_equal(json_u64(replay_json, "events_per_sec", &u), 0);
    assert_true(u == 91340);
    assert_int_equal(json_string(replay_json, "allocator", s, sizeof s), 0);
    assert_string_equal(s, "glibc");
    assert_int_equal(json_string(replay_json, "log", s, sizeof s), 0);
    assert_string_equal(s, "/tmp/a \"b\".mlog");
    /* truncation of long strings keeps a terminated prefix */
    assert_int_equal(json_string(replay_json, "library", s, 5), 0);
    assert_string_equal(s, "libc");
    /* absent keys, wrong types, a key that is only a prefix of another */
    assert_int_equal(json_u64(replay_json, "nope", &u), -1);
    assert_int_equal(json_u64(replay_json, "worst.nope", &u), -1);
    assert_int_equal(json_u64(replay_json, "allocator", &u), -1);
    assert_int_equal(json_string(replay_json, "events", s, sizeof s), -1);
    assert_int_equal(json_u64(replay_json, "peak", &u), -1);
    assert_int_equal(json_u64(replay_json, "env.x", &u), -1);
    /* a value with the same text as a key is not a key */
    assert_null(json_get("{\"a\": \"b\", \"b\": 7}", "c"));
    assert_int_equal(json_u64("{\"a\": \"b\", \"b\": 7}", "b", &u), 0);
    assert_true(u == 7);
}

static void test_json_arrays(void **state)
{
    (void)state;
    uint64_t u = 0;
    assert_int_equal(json_array_len(holes_json, "holes"), 2);
    assert_int_equal(json_u64(holes_json, "holes[0].size", &u), 0);
    assert_true(u == 28247944);
    assert_int_equal(json_u64(holes_json, "holes[0].left.event", &u), 0);
    assert_true(u == 215228);
    assert_int_equal(json_u64(holes_json, "holes[1].right.thread", &u), 0);
    assert_true(u == 2);
    /* null neighbour: no size */
    assert_int_equal(json_u64(holes_json, "holes[1].left.size", &u), -1);
    assert_int_equal(json_u64(holes_json, "holes[2].size", &u), -1);
    assert_int_equal(json_u64(holes_json, "holes[-1].size", &u), -1);
    assert_int_equal(json_array_len("{\"a\": []}", "a"), 0);
    assert_int_equal(json_array_len("{\"a\": [1, [2, 3], {\"x\": [4]}]}", "a"), 3);
    assert_int_equal(json_array_len(holes_json, "event"), -1);
    /* top-level arrays */
    assert_int_equal(json_u64("[5, 6]", "[1]", &u), 0);
    assert_true(u == 6);
}

static void test_json_escapes_and_skip(void **state)
{
    (void)state;
    char s[64];
    const char *j = "{\"k\": \"a\\\\b\\n\\u0041\\u00e9\\/\", \"t\": true, \"n\": null, "
                    "\"x\": -1.5e3, \"e\": \"}\\\"{\"}";
    assert_int_equal(json_string(j, "k", s, sizeof s), 0);
    assert_string_equal(s, "a\\b\nA?/");
    double d = 0;
    assert_int_equal(json_double(j, "x", &d), 0);
    assert_true(d == -1500.0);
    assert_int_equal(json_string(j, "e", s, sizeof s), 0);
    assert_string_equal(s, "}\"{");
    uint64_t u;
    assert_int_equal(json_u64(j, "x", &u), -1); /* negative */
    assert_non_null(json_get(j, "t"));
    const char *end = json_skip(j);
    assert_non_null(end);
    assert_int_equal(*end, 0);
}

/* Every prefix of a valid document must fail cleanly (or succeed only for keys it still holds
 * whole), never read past its end: run under ASan this catches any overrun. */
static void test_json_truncated_everywhere(void **state)
{
    (void)state;
    size_t n = strlen(holes_json);
    for (size_t cut = 0; cut < n; cut++) {
        char *p = malloc(cut + 1);
        assert_non_null(p);
        memcpy(p, holes_json, cut);
        p[cut] = 0;
        uint64_t u = 0;
        assert_null(json_skip(p));
        json_u64(p, "holes[1].right.thread", &u);
        json_array_len(p, "holes");
        char s[16];
        json_string(p, "allocator", s, sizeof s);
        free(p);
    }
    /* malformed */
    static const char *bad[] = {"", "{", "{\"a\"}", "{\"a\" 1}", "{\"a\": 1,}", "{a: 1}",
                                "[1 2]", "{\"a\": tru}", "{\"a\": \"x}", "\"\\"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint64_t u;
        assert_null(json_skip(bad[i]));
        assert_int_equal(json_u64(bad[i], "b", &u), -1);
    }
    /* deep nesting is refused, not a stack overflow */
    char *deep = malloc(200001);
    assert_non_null(deep);
    memset(deep, '[', 200000);
    deep[200000] = 0;
    assert_null(json_skip(deep));
    free(deep);
}

static void test_pin_summary(void **state)
{
    (void)state;
    struct pin_summary ps;
    plots_pin_summary(holes_json, &ps);
    /* one hole >= 1 MiB (the 4 KiB one does not count), bounded by two 232-byte blocks */
    assert_int_equal(ps.holes, 1);
    assert_int_equal(ps.with_pin, 1);
    assert_true(ps.pin_size == 232);
    assert_true(ps.example_event == 215228 && ps.example_age == 9879);
    /* the smaller neighbour is the pin; the most frequent pin size wins */
    const char *js = "{\"holes\": ["
                     "{\"size\": 9000000, \"left\": {\"size\": 8000000, \"event\": 1, \"age\": 5},"
                     " \"right\": {\"size\": 48, \"event\": 2, \"age\": 4}},"
                     "{\"size\": 3000000, \"left\": null, \"right\": {\"size\": 64, \"event\": 3, \"age\": 3}},"
                     "{\"size\": 2000000, \"left\": {\"size\": 48, \"event\": 7, \"age\": 2}, \"right\": null},"
                     "{\"size\": 100, \"left\": {\"size\": 64, \"event\": 9, \"age\": 1}, \"right\": null}]}";
    plots_pin_summary(js, &ps);
    assert_int_equal(ps.holes, 3);
    assert_int_equal(ps.with_pin, 2);
    assert_true(ps.pin_size == 48);
    assert_true(ps.example_event == 2 && ps.example_age == 4);
    /* nothing to say about an empty or broken document */
    plots_pin_summary("{\"holes\": []}", &ps);
    assert_int_equal(ps.holes, 0);
    assert_int_equal(ps.with_pin, 0);
    plots_pin_summary("{\"holes\": [{\"size\": 5", &ps);
    assert_int_equal(ps.with_pin, 0);
}

static void test_range(void **state)
{
    (void)state;
    struct plot_opts o = {0};
    assert_int_equal(plots_parse_range("1.2e9:1.4e9", &o), 0);
    assert_true(o.has_xmin && o.has_xmax && o.xmin == 1.2e9 && o.xmax == 1.4e9);
    memset(&o, 0, sizeof o);
    assert_int_equal(plots_parse_range("5000:", &o), 0);
    assert_true(o.has_xmin && !o.has_xmax && o.xmin == 5000);
    memset(&o, 0, sizeof o);
    assert_int_equal(plots_parse_range(":1e6", &o), 0);
    assert_true(!o.has_xmin && o.has_xmax && o.xmax == 1e6);
    static const char *bad[] = {"", "5", "a:b", "5:3", "5:5", "1:2x", "1x:2"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memset(&o, 0, sizeof o);
        assert_int_equal(plots_parse_range(bad[i], &o), -1);
    }
}

static void test_units(void **state)
{
    (void)state;
    char b[32];
    assert_string_equal(plots_fmt_bytes(232, b, sizeof b), "232 B");
    assert_string_equal(plots_fmt_bytes(4096, b, sizeof b), "4.00 KiB");
    assert_string_equal(plots_fmt_bytes(29134016, b, sizeof b), "27.8 MiB");
    assert_string_equal(plots_fmt_bytes(483885056, b, sizeof b), "461 MiB");
    assert_string_equal(plots_fmt_bytes(4357968588772ull, b, sizeof b), "3.96 TiB");
    assert_string_equal(plots_fmt_count(0, b, sizeof b), "0");
    assert_string_equal(plots_fmt_count(999, b, sizeof b), "999");
    assert_string_equal(plots_fmt_count(234822, b, sizeof b), "234,822");
    assert_string_equal(plots_fmt_count(1234567890, b, sizeof b), "1,234,567,890");
}

static void put(const char *dir, const char *name, const char *text)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_data_dir(void **state)
{
    (void)state;
    char dir[] = "/tmp/mallog-test-plots.XXXXXX";
    assert_non_null(mkdtemp(dir));
    static const char *hdr = "event\ttime_ns\tlive_requested\tsys_mapped\theap_rss\n";
    char row[512];
    snprintf(row, sizeof row, "%s1\t2\t3\t4\t5\n6\t7\t8\t9\t10", hdr); /* no final newline */
    put(dir, "replay.zeta.tsv", row);
    put(dir, "replay.jemalloc.tsv", row);
    put(dir, "replay.glibc.tsv", row);
    put(dir, "replay.arena.tsv", hdr);
    put(dir, "replay.bad name.tsv", row);
    put(dir, "replay.glibc.json", "{}");
    char names[PLOTS_MAX_ALLOCS][64];
    int n = plots_find_allocs(dir, names, PLOTS_MAX_ALLOCS);
    assert_int_equal(n, 4);
    assert_string_equal(names[0], "glibc");
    assert_string_equal(names[1], "jemalloc");
    assert_string_equal(names[2], "arena");
    assert_string_equal(names[3], "zeta");
    assert_int_equal(plots_tsv_rows(dir, "replay.glibc.tsv"), 2);
    assert_int_equal(plots_tsv_rows(dir, "replay.arena.tsv"), 0);
    assert_int_equal(plots_tsv_rows(dir, "missing.tsv"), -1);
    assert_int_equal(plots_tsv_has_column(dir, "replay.glibc.tsv", "heap_rss"), 1);
    assert_int_equal(plots_tsv_has_column(dir, "replay.glibc.tsv", "heap"), 0);
    const char *why = NULL;
    assert_int_equal(plots_chart_available(dir, PLOT_memory, &why), 1);
    assert_int_equal(plots_chart_available(dir, PLOT_sizes, &why), 0);
    assert_non_null(strstr(why, "sizes.tsv"));
    put(dir, "reallocs.tsv", "start_event\tlength\tstart_size\tend_size\tmoved\n");
    assert_int_equal(plots_chart_available(dir, PLOT_reallocs, &why), 0);
    assert_non_null(strstr(why, "no realloc chains"));
    for (int i = 0; i < PLOT_COUNT; i++)
        assert_int_equal(plots_chart_from_name(plots_chart_name(i)), i);
    assert_int_equal(plots_chart_from_name("pie"), -1);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

/* Findings rank by what costs memory (issue 15 item 6): mimalloc's committed-but-untouched
 * footprint (32 MiB for 6.5 MiB resident) must not make it "5.3x as much as glibc", and a hole
 * of address space with nothing resident is not the worst fragmentation. */
static void test_findings_resident(void **state)
{
    (void)state;
    struct plots_alloc as[3];
    memset(as, 0, sizeof as);
    const uint64_t M = 1u << 20;
    snprintf(as[0].name, sizeof as[0].name, "glibc");
    as[0].peak_live = 4 * M, as[0].peak_fp = 6 * M, as[0].peak_rss = 6 * M;
    as[0].holes_1m = 4, as[0].hole_bytes = 40 * M, as[0].hole_resident = 0;
    snprintf(as[1].name, sizeof as[1].name, "mimalloc");
    as[1].peak_live = 4 * M, as[1].peak_fp = 32 * M, as[1].peak_rss = 13 * M / 2;
    as[1].holes_1m = 1, as[1].hole_bytes = 2 * M, as[1].hole_resident = M;
    snprintf(as[2].name, sizeof as[2].name, "jemalloc");
    as[2].peak_live = 4 * M, as[2].peak_fp = 7 * M, as[2].peak_rss = 7 * M;
    for (int i = 0; i < 3; i++)
        as[i].ok = 1;
    char *html = NULL, *js = NULL;
    size_t hl = 0, jl = 0;
    FILE *f = open_memstream(&html, &hl), *jf = open_memstream(&js, &jl);
    plots_write_findings(f, jf, "x.mlog", NULL, as, 3);
    fclose(f);
    fclose(jf);
    /* least resident: glibc (6.0 MiB); most resident: jemalloc (7.0 MiB), not mimalloc */
    assert_non_null(strstr(html, "<b>glibc</b> holds the least resident memory"));
    assert_non_null(strstr(html, "peak RSS of 6.00 MiB"));
    assert_non_null(strstr(html, "The most, <b>jemalloc</b>, has a peak RSS of 7.00 MiB"));
    assert_null(strstr(html, "5.3&times;"));
    /* mimalloc's footprint is shown, as committed and not resident */
    assert_non_null(strstr(html, "<b>mimalloc</b> commits more than it touches: a peak footprint "
                                 "of 32.0 MiB"));
    assert_non_null(strstr(html, "25.5 MiB committed but not resident"));
    /* worst fragmentation: mimalloc's 1 MiB resident hole, not glibc's 40 MiB of address space */
    assert_non_null(strstr(html, "The worst fragmentation (by resident memory in holes): "
                                 "<b>mimalloc</b>"));
    assert_non_null(strstr(js, "\"measure\": \"peak_rss\""));
    assert_non_null(strstr(js, "\"best\": \"glibc\""));
    assert_non_null(strstr(js, "\"worst_allocator\": \"mimalloc\""));
    free(html);
    free(js);

    /* holes with nothing resident anywhere: said so, in so many words */
    as[1].hole_resident = 0;
    f = open_memstream(&html, &hl);
    jf = open_memstream(&js, &jl);
    plots_write_findings(f, jf, "x.mlog", NULL, as, 3);
    fclose(f);
    fclose(jf);
    assert_non_null(strstr(html, "No hole holds resident memory"));
    free(html);
    free(js);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_flat_and_nested), cmocka_unit_test(test_json_arrays),
        cmocka_unit_test(test_json_escapes_and_skip), cmocka_unit_test(test_json_truncated_everywhere),
        cmocka_unit_test(test_pin_summary),    cmocka_unit_test(test_range),          cmocka_unit_test(test_units),
        cmocka_unit_test(test_data_dir),       cmocka_unit_test(test_findings_resident),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_replay.c - the slot table, the replay engine on logs written with the real writer (glibc
 * and arena backends: live bytes, anomalies counted and skipped, samples at the peak), and the
 * metrics output (TSV columns by name from MLG_METRICS, JSON fields of the output contract). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../replay/replay.h"

static void test_slots(void **state)
{
    (void)state;
    struct slots s;
    assert_int_equal(slots_init(&s), 0);
    assert_int_equal(slots_find(&s, 0x1000), SLOTS_UNKNOWN);
    int64_t a = slots_add(&s, 0x1000, 0xa000, 100, 112, 5, 0);
    int64_t b = slots_add(&s, 0x2000, 0xb000, 50, 56, 6, 1);
    assert_true(a >= 0 && b >= 0 && a != b);
    assert_int_equal(slots_find(&s, 0x1000), a);
    assert_int_equal(s.live_blocks, 2);
    assert_int_equal(s.live_bytes, 150);
    assert_int_equal(s.live_usable, 168);
    slots_resize(&s, b, 70, 72);
    assert_int_equal(s.live_bytes, 170);
    slots_remove(&s, a, 0x1000);
    assert_int_equal(slots_find(&s, 0x1000), SLOTS_UNKNOWN); /* a second free finds nothing */
    assert_int_equal(s.live_blocks, 1);
    assert_int_equal(s.live_bytes, 70);
    int64_t c = slots_add(&s, 0x1000, 0xc000, 8, 24, 9, 2); /* the address comes back */
    assert_int_equal(c, a);                                 /* and the slot is reused */
    assert_int_equal(slots_find(&s, 0x1000), c);
    /* growth past the first mapping */
    for (uint64_t i = 0; i < 100000; i++)
        assert_true(slots_add(&s, 0x100000 + 16 * i, i, 1, 1, i, 0) >= 0);
    assert_int_equal(s.live_blocks, 100002);
    assert_int_equal(s.v[slots_find(&s, 0x100000 + 16 * 777)].event, 777);
    slots_fini(&s);
}

static struct mlg_writer *w;
static uint64_t seq_no;

static void put(int op, int outcome, uint64_t ptr, uint64_t old_ptr, uint64_t size, uint64_t arg)
{
    struct mlg_event ev = {0};
    struct mlg_error err;
    ev.seq = seq_no;
    if (op == MLG_OP_REALLOC) {
        ev.seq_rel = seq_no;
        ev.seq = ++seq_no;
    }
    seq_no++;
    ev.op = (uint8_t)op;
    ev.outcome = (uint8_t)outcome;
    ev.ptr = ptr;
    ev.old_ptr = old_ptr;
    ev.size = size;
    ev.arg = arg;
    assert_int_equal(mlg_writer_add(w, &ev, &err), 0);
}

/* A small log: blocks A (1 MiB) B (232) C (2 MiB) D (232); A and C freed; an unknown free and
 * a double free; a realloc that moves; a calloc; a memalign. Peak live = after event 3. */
static void write_log(const char *path)
{
    struct mlg_header h;
    struct mlg_error err;
    memset(&h, 0, sizeof h);
    h.version = MLG_FORMAT_VERSION;
    h.pid = 42;
    h.page_size = 4096;
    unlink(path);
    seq_no = 0;
    assert_int_equal(mlg_writer_create(&w, path, &h, NULL, &err), 0);
    put(MLG_OP_MALLOC, MLG_OUT_OK, 0xa0000, 0, 1 << 20, 0);       /* 0 */
    put(MLG_OP_MALLOC, MLG_OUT_OK, 0xb0000, 0, 232, 0);           /* 1 */
    put(MLG_OP_MALLOC, MLG_OUT_OK, 0xc0000, 0, 2 << 20, 0);       /* 2 */
    put(MLG_OP_MALLOC, MLG_OUT_OK, 0xd0000, 0, 232, 0);           /* 3: peak */
    put(MLG_OP_FREE, MLG_OUT_OK, 0xa0000, 0, 0, 0);               /* 4 */
    put(MLG_OP_FREE, MLG_OUT_OK, 0xc0000, 0, 0, 0);               /* 5 */
    put(MLG_OP_FREE, MLG_OUT_OK, 0xeeee0, 0, 0, 0);               /* 6: unknown */
    put(MLG_OP_FREE, MLG_OUT_OK, 0xa0000, 0, 0, 0);               /* 7: double */
    put(MLG_OP_REALLOC, MLG_OUT_MOVED, 0xf0000, 0xb0000, 500, 0); /* 8 */
    put(MLG_OP_CALLOC, MLG_OUT_OK, 0x110000, 0, 30, 3);           /* 9 */
    put(MLG_OP_MEMALIGN, MLG_OUT_OK, 0x120000, 0, 100, 4096);     /* 10 */
    put(MLG_OP_MALLOC, MLG_OUT_FAILED, 0, 0, 1ull << 60, 0);      /* 11: failed, skipped */
    struct mlg_trailer tr = {.end = MLG_END_EXIT};
    assert_int_equal(mlg_writer_finish(w, &tr, &err), 0);
}

static void run_on(const char *kind, const char *path)
{
    struct backend b;
    static struct engine_result r;
    struct engine_opts o = {
        .log = path, .every = 5, .peak_event = 3, .stop_event = UINT64_MAX, .touch = TOUCH_PAGE};
    assert_int_equal(backend_open(&b, kind, kind), 0);
    assert_int_equal(engine_run(&o, &b, &r), 0);
    assert_int_equal(r.events, 12);
    assert_int_equal(r.bad_frees, 2); /* one unknown, one double: counted and skipped */
    assert_int_equal(r.slots.live_blocks, 4);
    assert_int_equal(r.slots.live_bytes, 232 + 500 + 30 + 100);
    /* samples: event 3 (peak), 4 (every 5), 9, 11 (end) */
    assert_int_equal(r.nsamples, 4);
    assert_int_equal(r.samples[0].event, 3);
    assert_int_equal(r.samples[0].live_requested, (3u << 20) + 464);
    assert_int_equal(r.samples[0].live_blocks, 4);
    assert_true(r.samples[0].live_usable >= r.samples[0].live_requested);
#ifndef __SANITIZE_ADDRESS__ /* under ASan, mallinfo2 describes glibc's unused heap */
    assert_true(r.samples[0].sys_mapped >= (3u << 20));
#endif
    assert_int_equal(r.samples[3].event, 11);
    /* every replayed block is where the allocator says, with the requested alignment */
    int64_t m = slots_find(&r.slots, 0x120000);
    assert_true(m >= 0);
    assert_int_equal(r.slots.v[m].ptr % 4096, 0);
    struct summary s = {0};
    output_summarize(&r, &s);
    assert_int_equal(s.peak_live_requested, (3u << 20) + 464);
    assert_int_equal(s.peak_live_event, 3);
#ifndef __SANITIZE_ADDRESS__
    assert_true(s.footprint_ratio_at_peak >= 1.0);
#endif
    assert_int_equal(s.bad_frees, 2);
    for (uint64_t i = 0; i < r.slots.n; i++)
        if (r.slots.v[i].thread != SLOT_DEAD)
            b.free((void *)r.slots.v[i].ptr);
}

static void test_engine_glibc(void **state)
{
    (void)state;
    char path[] = "/tmp/mallog-test-replay-XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    write_log(path);
    run_on("glibc", path);
    unlink(path);
}

static void test_engine_arena(void **state)
{
    (void)state;
    char path[] = "/tmp/mallog-test-replay-XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    write_log(path);
    run_on("arena", path);
    assert_int_equal(arena_check(), 0);
    unlink(path);
}

static void test_engine_missing_log(void **state)
{
    (void)state;
    struct backend b;
    static struct engine_result r;
    struct engine_opts o = {.log = "/nonexistent/x.mlog",
                            .every = 1,
                            .peak_event = UINT64_MAX,
                            .stop_event = UINT64_MAX};
    backend_open(&b, "glibc", "glibc");
    assert_int_equal(engine_run(&o, &b, &r), MLG_E_IO);
    assert_int_equal(r.err.code, MLG_E_IO);
}

static void test_tsv(void **state)
{
    (void)state;
    static struct engine_result r;
    struct sample s[2] = {{0}};
    s[0].event = 7;
    s[0].live_requested = 100;
    s[1].event = 9;
    s[1].hole_resident = 4096;
    r.samples = s;
    r.nsamples = 2;
    struct mem_buf b = {0};
    assert_int_equal(output_tsv(&r, &b), 0);
    /* the output contract: these columns, in this order, first */
    const char *want = "event\ttime_ns\tlive_requested\tlive_blocks\tlive_usable\tsys_mapped\t"
                       "sys_active\theap_rss\tholes_1m\tholes_8m\tlargest_hole\thole_bytes\t"
                       "hole_resident";
    assert_int_equal(strncmp(b.p, want, strlen(want)), 0);
    char *line2 = strchr(b.p, '\n') + 1;
    assert_int_equal(strncmp(line2, "7\t0\t100\t0", 9), 0);
    int lines = 0, tabs = 0;
    for (size_t i = 0; i < b.len; i++) {
        lines += b.p[i] == '\n';
        tabs += b.p[i] == '\t';
    }
    assert_int_equal(lines, 3);
    assert_int_equal(tabs, 3 * 12);
    mem_buf_free(&b);
}

static void test_json(void **state)
{
    (void)state;
    struct summary s = {0};
    strcpy(s.allocator, "glibc");
    strcpy(s.library, "libc.so.6");
    strcpy(s.log, "/tmp/a \"b\".mlog");
    strcpy(s.threads_mode, "serial");
    strcpy(s.touch, "page");
    strcpy(s.env, "MALLOC_CONF=dirty_decay_ms:0,muzzy_decay_ms:0\nLD_PRELOAD=/x.so\n");
    s.events = 12;
    s.worst_holes_1m = 3;
    s.footprint_ratio_at_peak = 1.5;
    struct mem_buf b = {0};
    assert_int_equal(output_json(&s, &b), 0);
    const char *keys[] = {"\"allocator\": \"glibc\"",
                          "\"library\": ",
                          "\"log\": \"/tmp/a \\\"b\\\".mlog\"",
                          "\"events\": 12",
                          "\"threads_mode\": \"serial\"",
                          "\"touch\": \"page\"",
                          "\"env\": {\"MALLOC_CONF\": \"dirty_decay_ms:0,muzzy_decay_ms:0\", "
                          "\"LD_PRELOAD\": \"/x.so\"}",
                          "\"peak_live_requested\": ",
                          "\"peak_live_event\": ",
                          "\"peak_footprint\": ",
                          "\"peak_rss\": ",
                          "\"footprint_ratio_at_peak\": 1.5",
                          "\"max_footprint_over_max_requested\": ",
                          "\"slop_at_peak\": ",
                          "\"worst\": {\"event\": 0, \"holes_1m\": 3, \"holes_8m\": 0, "
                          "\"largest_hole\": 0, \"hole_bytes\": 0}",
                          "\"events_per_sec\": ",
                          "\"anomalies\": {\"unknown_frees\": 0, \"double_frees\": 0}"};
    for (unsigned i = 0; i < sizeof keys / sizeof *keys; i++) {
        if (!strstr(b.p, keys[i]))
            fail_msg("missing %s in %s", keys[i], b.p);
    }
    assert_int_equal(b.p[0], '{');
    assert_int_equal(b.p[b.len - 2], '}');
    mem_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slots),        cmocka_unit_test(test_engine_glibc),
        cmocka_unit_test(test_engine_arena), cmocka_unit_test(test_engine_missing_log),
        cmocka_unit_test(test_tsv),          cmocka_unit_test(test_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

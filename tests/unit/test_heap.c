/* test_heap.c - the heap rule (lib/heap.h mlg_heap_effects) against every tool that applies it
 * with its own table and fast path: stats (stats_run's batched fast path and stats_event one
 * event at a time), lib's checker (mlg_check) and the replay pre-pass (prepass_run). Each is
 * compared with a plain model that applies mlg_heap_effects to a map, on random multi-thread logs
 * written with the real writer: every realloc outcome (split ones included), failures, double,
 * unknown and NULL frees, reallocs of unknown blocks, addresses handed out while still live.
 * Also the address map (lib/addrmap.c) and the checker (lib/check.c) by hand. */
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

#include "../../analyze/analyze.h"
#include "../../lib/heap.h"
/* replay.h and analyze.h both define a struct summary; only prepass_run is used here */
#define summary replay_summary
#include "../../replay/replay.h"
#undef summary
#include "unit.h"

/* ---- the address map and the checker, by hand ---------------------------------------------- */

static void test_addrmap(void **state)
{
    (void)state;
    struct mlg_addrmap *m = mlg_addrmap_new(NULL);
    enum { N = 200000 };
    uint64_t *keys = malloc(N * sizeof *keys);
    for (int i = 0; i < N; i++) {
        keys[i] = 0x7f0000000000ull + (uint64_t)i * 48;
        assert_int_equal(mlg_addrmap_put(m, keys[i], (uint64_t)i), 1);
    }
    assert_int_equal(mlg_addrmap_count(m), N);
    for (int i = 0; i < N; i += 2) {
        uint64_t v;
        assert_int_equal(mlg_addrmap_del(m, keys[i], &v), 1);
        assert_int_equal(v, (uint64_t)i);
    }
    for (int i = 0; i < N; i++) {
        uint64_t v = 0;
        assert_int_equal(mlg_addrmap_get(m, keys[i], &v), i % 2);
        if (i % 2)
            assert_int_equal(v, (uint64_t)i);
    }
    assert_int_equal(mlg_addrmap_count(m), N / 2);
    assert_int_equal(mlg_addrmap_put(m, keys[1], 99), 0);
    mlg_addrmap_free(m);
    free(keys);
}

static void test_check(void **state)
{
    (void)state;
    struct mlg_check c;
    assert_int_equal(mlg_check_init(&c, NULL), 0);
    struct mlg_event ev = {0};
    uint64_t seq = 0;
#define EV(o, p, old, sz, out)                                                                     \
    do {                                                                                           \
        ev = (struct mlg_event){.op = o,                                                           \
                                .ptr = p,                                                          \
                                .old_ptr = old,                                                    \
                                .size = sz,                                                        \
                                .outcome = out,                                                    \
                                .seq = ++seq,                                                      \
                                .index = seq};                                                     \
        mlg_check_event(&c, &ev);                                                                  \
    } while (0)
    EV(MLG_OP_MALLOC, 0x1000, 0, 100, MLG_OUT_OK);
    EV(MLG_OP_MALLOC, 0x2000, 0, 50, MLG_OUT_OK);
    EV(MLG_OP_REALLOC, 0x3000, 0x1000, 200, MLG_OUT_MOVED);
    EV(MLG_OP_FREE, 0x2000, 0, 0, MLG_OUT_OK);
    assert_int_equal(mlg_check_anomalies(&c), 0);
    assert_int_equal(c.live_bytes, 200);
    assert_int_equal(c.peak_live_bytes, 250);     /* a moved realloc: old out, then new in */
    EV(MLG_OP_FREE, 0x2000, 0, 0, MLG_OUT_OK);    /* double */
    EV(MLG_OP_FREE, 0x9000, 0, 0, MLG_OUT_OK);    /* unknown */
    EV(MLG_OP_MALLOC, 0x3000, 0, 10, MLG_OUT_OK); /* still live: inversion */
    assert_int_equal(c.double_frees, 1);
    assert_int_equal(c.unknown_frees, 1);
    assert_int_equal(c.inversions, 1);
    assert_int_equal(c.first_anomaly_event, 5);
    mlg_check_fini(&c);
}

/* ---- the rule, case by case ------------------------------------------------------------- */

static struct mlg_heap_effect fx(int op, int outcome, uint64_t ptr, uint64_t old_ptr)
{
    struct mlg_event ev = {0};
    ev.op = (uint8_t)op;
    ev.outcome = (uint8_t)outcome;
    ev.ptr = ptr;
    ev.old_ptr = old_ptr;
    ev.size = 40;
    return mlg_heap_effects(&ev);
}

static void test_rule_table(void **state)
{
    (void)state;
    struct mlg_heap_effect e = fx(MLG_OP_MALLOC, MLG_OUT_OK, 0x10, 0);
    assert_int_equal(e.flags, MLG_HEAP_ACQUIRE);
    assert_true(e.acquire == 0x10 && e.size == 40);
    assert_int_equal(fx(MLG_OP_MALLOC, MLG_OUT_FAILED, 0, 0).flags, 0);
    assert_int_equal(fx(MLG_OP_POSIX_MEMALIGN, MLG_OUT_EINVAL, 0x10, 0).flags, 0);
    assert_int_equal(fx(MLG_OP_CALLOC, MLG_OUT_OVERFLOW, 0, 0).flags, 0);
    assert_int_equal(fx(MLG_OP_FREE, MLG_OUT_OK, 0, 0).flags, 0); /* free(NULL) */
    e = fx(MLG_OP_FREE, MLG_OUT_OK, 0x20, 0);
    assert_true(e.flags == MLG_HEAP_RELEASE && e.release == 0x20);
    /* realloc = release + acquire, the acquire continuing the released block */
    e = fx(MLG_OP_REALLOC, MLG_OUT_MOVED, 0x30, 0x20);
    assert_int_equal(e.flags, MLG_HEAP_RELEASE | MLG_HEAP_ACQUIRE | MLG_HEAP_RESIZE);
    assert_true(e.release == 0x20 && e.acquire == 0x30);
    e = fx(MLG_OP_REALLOCARRAY, MLG_OUT_INPLACE, 0x20, 0x20);
    assert_int_equal(e.flags,
                     MLG_HEAP_RELEASE | MLG_HEAP_ACQUIRE | MLG_HEAP_RESIZE | MLG_HEAP_INPLACE);
    assert_int_equal(fx(MLG_OP_REALLOC, MLG_OUT_OK, 0x30, 0).flags, MLG_HEAP_ACQUIRE);
    assert_int_equal(fx(MLG_OP_REALLOC, MLG_OUT_FREED, 0, 0x20).flags, MLG_HEAP_RELEASE);
    assert_int_equal(fx(MLG_OP_REALLOC, MLG_OUT_FAILED, 0, 0x20).flags, 0);
    assert_int_equal(fx(MLG_OP_REALLOCARRAY, MLG_OUT_OVERFLOW, 0, 0x20).flags, 0);
    assert_int_equal(fx(MLG_OP_REALLOC, MLG_OUT_MOVED, 0, 0x20).flags, MLG_HEAP_RELEASE);
    assert_int_equal(fx(MLG_OP_REALLOC, 9, 0x30, 0x20).flags, 0); /* an undefined outcome */
    /* a realloc split in two events */
    e = fx(MLG_OP_REALLOC_RELEASE, MLG_OUT_OK, 0, 0x20);
    assert_true(e.flags == (MLG_HEAP_RELEASE | MLG_HEAP_SPLIT) && e.release == 0x20);
    e = fx(MLG_OP_REALLOC, MLG_OUT_OLD_RELEASED, 0x30, 0x20);
    assert_int_equal(e.flags, MLG_HEAP_ACQUIRE | MLG_HEAP_RESIZE | MLG_HEAP_SPLIT);
    assert_true(e.release == 0x20 && e.acquire == 0x30);
    /* a block live at a segment's checkpoint: acquired, and marked as no call */
    e = fx(MLG_OP_LIVE, MLG_OUT_OK, 0x40, 0);
    assert_true(e.flags == (MLG_HEAP_ACQUIRE | MLG_HEAP_CHECKPOINT) && e.acquire == 0x40);
    assert_int_equal(fx(MLG_OP_LIVE, MLG_OUT_OK, 0, 0).flags, 0);
    for (int op = MLG_OP_USABLE_SIZE; op < MLG_OP_COUNT; op++)
        if (op != MLG_OP_REALLOC_RELEASE && op != MLG_OP_LIVE)
            assert_int_equal(fx(op, MLG_OUT_OK, 0x10, 0x20).flags, 0);
}

/* ---- a random log ------------------------------------------------------------------------ */

struct gen {
    struct mlg_writer *w;
    uint64_t index, seq, time;
};

static void put(struct gen *g, int op, uint32_t thread, uint64_t ptr, uint64_t old_ptr,
                uint64_t size, int outcome)
{
    struct mlg_error err;
    g->time += 100 + rnd() % 1000;
    struct mlg_event ev =
        unit_event(&g->index, &g->seq, g->time, op, thread, ptr, old_ptr, size, outcome);
    assert_int_equal(mlg_writer_add(g->w, &ev, &err), 0);
}

enum { SLOTS = 2000 };
static int sound; /* write only what a healthy program does: no anomalies, no failures */

/* One step of the program: mostly well-formed calls on slot k, now and then an anomaly. */
static void step(struct gen *g, uint64_t *live, uint64_t *next)
{
    int k = (int)(rnd() % SLOTS), r = (int)(rnd() % 1000);
    uint32_t t = (uint32_t)(rnd() % 5 ? rnd() % 3 : 3 + rnd() % 4);
    uint64_t size = rnd() % 4 ? rnd() % 512 : rnd() % 200000, n = *next += 16 * (1 + rnd() % 3);
    static const int alloc_ops[] = {MLG_OP_MALLOC, MLG_OP_CALLOC, MLG_OP_MEMALIGN,
                                    MLG_OP_POSIX_MEMALIGN, MLG_OP_ALIGNED_ALLOC};
    if (sound && r < 25)
        r = 25 + (int)(rnd() % 975);
    if (r < 5) { /* a double free, or the free of an address never allocated */
        put(g, MLG_OP_FREE, t, r < 2 ? n - 8 : (live[k] ? live[k] : n), 0, 0, MLG_OUT_OK);
    } else if (r < 8) { /* a realloc of a block the log never showed */
        put(g, MLG_OP_REALLOC, t, r == 5 ? n - 8 : n, n - 8, size,
            r == 5 ? MLG_OUT_INPLACE : MLG_OUT_MOVED);
    } else if (r < 10) { /* an address handed out while another block holds it */
        uint64_t a = live[(k + 1) % SLOTS];
        if (a && !live[k])
            put(g, MLG_OP_MALLOC, t, live[k] = a, 0, size, MLG_OUT_OK);
    } else if (r < 20) {
        put(g, r < 15 ? MLG_OP_MALLOC : MLG_OP_REALLOCARRAY, t, 0, r < 15 ? 0 : live[k], size,
            r < 13 ? MLG_OUT_FAILED : MLG_OUT_OVERFLOW);
    } else if (r < 25) {
        put(g, MLG_OP_FREE, t, 0, 0, 0, MLG_OUT_OK); /* free(NULL) */
    } else if (!live[k]) {
        if (r < 60)
            put(g, MLG_OP_REALLOC, t, n, 0, size, MLG_OUT_OK); /* realloc(NULL, n) */
        else
            put(g, alloc_ops[rnd() % 5], t, n, 0, size, MLG_OUT_OK);
        live[k] = n;
    } else if (r < 300) {
        int move = (int)(rnd() % 2);
        put(g, rnd() % 8 ? MLG_OP_REALLOC : MLG_OP_REALLOCARRAY, t, move ? n : live[k], live[k],
            size, move ? MLG_OUT_MOVED : MLG_OUT_INPLACE);
        live[k] = move ? n : live[k];
    } else if (r < 330) { /* a realloc split: another thread runs between release and result */
        put(g, MLG_OP_REALLOC_RELEASE, t, 0, live[k], 0, MLG_OUT_OK);
        put(g, MLG_OP_MALLOC, (t + 1) % 3, *next += 32, 0, 24, MLG_OUT_OK);
        uint64_t to = rnd() % 4 ? n : live[k]; /* the allocator may hand the same address back */
        put(g, MLG_OP_REALLOC, t, to, live[k], size, MLG_OUT_OLD_RELEASED);
        live[k] = to;
    } else if (r < 350) {
        put(g, MLG_OP_REALLOC, t, 0, live[k], 0, MLG_OUT_FREED);
        live[k] = 0;
    } else if (r < 360) {
        put(g, MLG_OP_REALLOC, t, 0, live[k], size, MLG_OUT_FAILED);
    } else {
        put(g, MLG_OP_FREE, t, live[k], 0, 0, MLG_OUT_OK);
        live[k] = 0;
    }
}

static void write_random_log(const char *path, int events)
{
    struct mlg_header h = {0};
    struct mlg_writer *w;
    struct mlg_error err;
    struct mlg_writer_options opt = {.zstd_level = 1, .frame_bytes = 32768};
    h.version = MLG_FORMAT_VERSION;
    h.pid = 777;
    unlink(path);
    assert_int_equal(mlg_writer_create(&w, path, &h, &opt, &err), 0);
    struct gen g = {w, 0, 0, 0};
    static uint64_t live[SLOTS];
    memset(live, 0, sizeof live);
    uint64_t next = 0x7f0000100000ull;
    while (g.index < (uint64_t)events)
        step(&g, live, &next);
    struct mlg_trailer t = {0};
    t.end = MLG_END_EXIT;
    assert_int_equal(mlg_writer_finish(w, &t, &err), 0);
}

/* ---- the model: mlg_heap_effects on a map ------------------------------------------------ */

/* strict_inplace: a realloc in place of a block not live is only an unknown free (mlg_check's
 * and the pre-pass's reading); otherwise the acquire still makes a block (stats'). */
struct model {
    struct mlg_addrmap *live, *freed;
    uint64_t live_bytes, live_blocks, peak_bytes, peak_blocks, acquires, acquired_bytes;
    uint64_t unknown, doubles, inversions;
    int strict_inplace;
};

static void model_release(struct model *m, uint64_t ptr)
{
    uint64_t size;
    if (ptr && mlg_addrmap_del(m->live, ptr, &size)) {
        m->live_bytes -= size;
        m->live_blocks--;
        mlg_addrmap_put(m->freed, ptr, 1);
    } else if (ptr && mlg_addrmap_get(m->freed, ptr, NULL)) {
        m->doubles++;
    } else {
        m->unknown++;
    }
}

static void model_acquire(struct model *m, uint64_t ptr, uint64_t size)
{
    uint64_t old;
    if (mlg_addrmap_get(m->live, ptr, &old)) {
        m->inversions++;
        m->live_bytes -= old;
        m->live_blocks--;
    }
    mlg_addrmap_put(m->live, ptr, size);
    mlg_addrmap_del(m->freed, ptr, NULL);
    m->live_bytes += size;
    m->live_blocks++;
    m->acquires++;
    m->acquired_bytes += size;
}

static void model_event(struct model *m, const struct mlg_event *ev)
{
    struct mlg_heap_effect e = mlg_heap_effects(ev);
    if (m->strict_inplace && (e.flags & MLG_HEAP_INPLACE) &&
        !mlg_addrmap_get(m->live, e.release, NULL)) {
        m->unknown++; /* not a double free either: in place means the block was there */
        return;
    }
    if (e.flags & MLG_HEAP_RELEASE)
        model_release(m, e.release);
    if (e.flags & MLG_HEAP_ACQUIRE)
        model_acquire(m, e.acquire, e.size);
    if (m->live_bytes > m->peak_bytes)
        m->peak_bytes = m->live_bytes;
    if (m->live_blocks > m->peak_blocks)
        m->peak_blocks = m->live_blocks;
}

/* Every event of the log at path through fn (a sound log: no error). */
static void read_log(const char *path, int (*fn)(void *ctx, const struct mlg_event *ev), void *ctx)
{
    struct mlg_visitor v = {ctx, NULL, fn, NULL};
    struct mlg_error err;
    assert_int_equal(mlg_read_file(path, &v, NULL, &err), 0);
}

static int model_visit(void *ctx, const struct mlg_event *ev)
{
    model_event(ctx, ev);
    return 0;
}

static void model_run(struct model *m, const char *path, int strict_inplace)
{
    memset(m, 0, sizeof *m);
    m->strict_inplace = strict_inplace;
    m->live = mlg_addrmap_new(NULL);
    m->freed = mlg_addrmap_new(NULL);
    assert_true(m->live && m->freed);
    read_log(path, model_visit, m);
    mlg_addrmap_free(m->live);
    mlg_addrmap_free(m->freed);
}

/* ---- the tools against the model --------------------------------------------------------- */

static void stats_against(const struct stats *s, const struct model *m)
{
    assert_int_equal(s->live_bytes, m->live_bytes);
    assert_int_equal(s->live_blocks, m->live_blocks);
    assert_int_equal(s->peak_live_requested, m->peak_bytes);
    assert_int_equal(s->peak_live_blocks, m->peak_blocks);
    /* stats does not tell a double free from an unknown one */
    assert_int_equal(s->unknown_frees, m->unknown + m->doubles);
    assert_int_equal(s->inversions, m->inversions);
    assert_int_equal(s->cumulative_requested, m->acquired_bytes);
    /* the size tables count requests (count_one's branch-free form of MLG_HEAP_ACQUIRE) */
    uint64_t n = 0, bytes = 0;
    for (int k = 0; k < STATS_CLASSES; k++) {
        n += s->class_count[k];
        bytes += s->class_bytes[k];
    }
    assert_int_equal(n, m->acquires);
    assert_int_equal(bytes, m->acquired_bytes);
}

/* A whole-log analysis: no range, no timeline. */
static void stats_open(struct stats *s)
{
    struct stats_opts o = {0, UINT64_MAX, 100, 1000, 0, NULL, 0};
    assert_int_equal(stats_init(s, &o), 0);
}

/* stats_run: records in batches through the fast path. */
static void check_stats_fast(const char *path, const struct model *m)
{
    struct stats s;
    stats_open(&s);
    assert_int_equal(stats_run(&s, path), 0);
    assert_int_equal(s.err.code, 0);
    assert_int_equal(stats_finish(&s), 0);
    stats_against(&s, m);
    stats_free(&s);
}

static int stats_visit(void *ctx, const struct mlg_event *ev)
{
    return stats_event(ctx, ev);
}

/* stats_event: one event at a time, never the fast path. */
static void check_stats_one(const char *path, const struct model *m)
{
    struct stats s;
    stats_open(&s);
    read_log(path, stats_visit, &s);
    assert_int_equal(stats_finish(&s), 0);
    stats_against(&s, m);
    stats_free(&s);
}

static int check_visit(void *ctx, const struct mlg_event *ev)
{
    mlg_check_event(ctx, ev);
    return 0;
}

static void check_checker(const char *path, const struct model *m)
{
    struct mlg_check c;
    assert_int_equal(mlg_check_init(&c, NULL), 0);
    read_log(path, check_visit, &c);
    assert_int_equal(c.live_bytes, m->live_bytes);
    assert_int_equal(c.live_blocks, m->live_blocks);
    assert_int_equal(c.peak_live_bytes, m->peak_bytes);
    assert_int_equal(c.unknown_frees, m->unknown);
    assert_int_equal(c.double_frees, m->doubles);
    assert_int_equal(c.inversions, m->inversions);
    assert_int_equal(c.seq_disorder, 0);
    mlg_check_fini(&c);
}

static void check_prepass(const char *path, const struct model *m, int events)
{
    struct prepass pp;
    struct mlg_error err;
    assert_int_equal(prepass_run(path, &pp, &err), 0);
    assert_int_equal(pp.damaged, 0);
    assert_int_equal(pp.events, (uint64_t)events);
    assert_int_equal(pp.peak_bytes, m->peak_bytes);
    assert_int_equal(pp.peak_blocks, m->peak_blocks);
    assert_int_equal(pp.unknown_frees, m->unknown);
    assert_int_equal(pp.double_frees, m->doubles);
}

static int count_visit(void *ctx, const struct mlg_event *ev)
{
    (void)ev;
    ++*(int *)ctx;
    return 0;
}

static void test_tools_follow_rule(void **state)
{
    (void)state;
    char path[512];
    snprintf(path, sizeof path, "%s/random.mlog", tmpdir);
    for (int round = 0; round < 6; round++) {
        rng = 0x9e3779b97f4a7c15ull + (uint64_t)round * 7919;
        int events = 20000 + (int)(rnd() % 60000);
        write_random_log(path, events);
        int total = 0;
        read_log(path, count_visit, &total);
        struct model loose, strict;
        model_run(&loose, path, 0);
        model_run(&strict, path, 1);
        /* the log has every kind of anomaly the tools must agree on */
        assert_true(loose.unknown > 0 && loose.doubles > 0 && loose.inversions > 0);
        assert_true(strict.unknown > loose.unknown || strict.live_blocks != loose.live_blocks);
        check_stats_fast(path, &loose);
        check_stats_one(path, &loose);
        check_checker(path, &strict);
        check_prepass(path, &strict, total);
    }
}

/* stats_table_recs (--table-only, bench/analyze.sh's floor): on a sound log its live figures end
 * as the rule's. */
static void test_table_only(void **state)
{
    (void)state;
    char path[512];
    snprintf(path, sizeof path, "%s/sound.mlog", tmpdir);
    rng = 0x2545f4914f6cdd1dull;
    sound = 1;
    write_random_log(path, 50000);
    sound = 0;
    struct model m;
    model_run(&m, path, 0);
    assert_int_equal(m.unknown + m.doubles + m.inversions, 0);
    struct stats s;
    stats_open(&s);
    struct mlg_reader *r;
    struct mlg_error err;
    assert_int_equal(mlg_reader_open(&r, path, NULL, &err), 0);
    struct mlg_rec v[256];
    int k;
    while ((k = mlg_reader_next_recs(r, v, 256)) > 0)
        stats_table_recs(&s, v, k);
    assert_int_equal(k, 0);
    mlg_reader_close(r);
    assert_int_equal(s.live_bytes, m.live_bytes);
    assert_int_equal(s.live_blocks, m.live_blocks);
    assert_true(m.live_blocks > 100);
    stats_free(&s);
}

int main(void)
{
    unit_tmpdir("heap");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_addrmap),    cmocka_unit_test(test_check),
        cmocka_unit_test(test_rule_table), cmocka_unit_test(test_tools_follow_rule),
        cmocka_unit_test(test_table_only),
    };
    return unit_done(cmocka_run_group_tests_name("heap", tests, NULL, NULL));
}

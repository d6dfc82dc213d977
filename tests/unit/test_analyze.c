/* test_analyze.c - analyze/stats.c and its writers: exact figures on hand-built event streams
 * (peak, leaks, lifetimes, temporaries, realloc chains incl. a release split across threads,
 * cross-thread frees, ranges), the bounded tables (timeline decimation, exact-size pruning), a
 * random stream checked against lib's integrity checker, logs written with the real writer and
 * read back (also truncated: the valid prefix is summarised and the damage reported), and the
 * JSON/TSV output contract. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../analyze/analyze.h"
#include "unit.h"

/* An event stream under construction: indexes and sequence numbers follow the calls. */
struct stream {
    struct stats *s;
    struct mlg_writer *w; /* also written to a log when set */
    uint64_t index, seq, time;
};

static int64_t emit_result; /* the result field of the events emit() makes */

static struct mlg_event emit(struct stream *st, int op, uint32_t thread, uint64_t ptr,
                             uint64_t old_ptr, uint64_t size, int outcome)
{
    st->time += 1000;
    struct mlg_event ev =
        unit_event(&st->index, &st->seq, st->time, op, thread, ptr, old_ptr, size, outcome);
    ev.result = emit_result;
    if (st->s)
        stats_event(st->s, &ev);
    if (st->w) {
        struct mlg_error err;
        assert_int_equal(mlg_writer_add(st->w, &ev, &err), 0);
    }
    return ev;
}

static void m(struct stream *st, uint64_t ptr, uint64_t size)
{
    emit(st, MLG_OP_MALLOC, 0, ptr, 0, size, MLG_OUT_OK);
}

static void f(struct stream *st, uint64_t ptr)
{
    emit(st, MLG_OP_FREE, 0, ptr, 0, 0, MLG_OUT_OK);
}

static struct stats *new_stats(uint64_t from, uint64_t to, uint64_t every)
{
    struct stats *s = malloc(sizeof *s);
    struct stats_opts o = {from, to, 2, 1000, every, NULL};
    assert_non_null(s);
    assert_int_equal(stats_init(s, &o), 0);
    return s;
}

static void done(struct stats *s)
{
    stats_free(s);
    free(s);
}

#define P(i) (0x10000ull + 0x100ull * (uint64_t)(i))

static void test_peak_leaks_lifetimes(void **state)
{
    (void)state;
    struct stream st = {new_stats(0, UINT64_MAX, 0), NULL, 0, 0, 0};
    struct stats *s = st.s;
    for (int i = 0; i < 10; i++) /* events 0..9: 10 x 100 bytes */
        m(&st, P(i), 100);
    for (int i = 0; i < 10; i++) /* events 10..19: each lived 10 events */
        f(&st, P(i));
    m(&st, P(20), 5000); /* 20: the peak in bytes (5000 > 1000) */
    f(&st, P(20));       /* 21: lifetime 1 -> temporary */
    emit(&st, MLG_OP_MALLOC, 0, 0, 0, 1ull << 62, MLG_OUT_FAILED); /* 22 */
    emit(&st, MLG_OP_FREE, 0, 0, 0, 0, MLG_OUT_OK);                 /* 23: free(NULL) */
    for (int i = 0; i < 3; i++)                                     /* 24..26: leaks */
        m(&st, P(30 + i), 24);
    m(&st, P(40), 4000); /* 27: leak */
    f(&st, P(99));       /* 28: unknown */
    assert_int_equal(stats_finish(s), 0);

    assert_int_equal(s->events, 29);
    assert_int_equal(s->allocations, 15);
    assert_int_equal(s->frees, 11);
    assert_int_equal(s->failed, 1);
    assert_int_equal(s->calls[MLG_OP_MALLOC], 16);
    assert_int_equal(s->failed_op[MLG_OP_MALLOC], 1);
    assert_int_equal(s->bytes_op[MLG_OP_MALLOC], 1000 + 5000 + 72 + 4000);
    assert_int_equal(s->peak_live_requested, 5000);
    assert_int_equal(s->peak_event, 20);
    assert_int_equal(s->peak_time_ns, 21000);
    assert_int_equal(s->peak_live_blocks, 10);
    assert_int_equal(s->peak_blocks_event, 9);
    assert_int_equal(s->live_at_end_blocks, 4);
    assert_int_equal(s->live_at_end_bytes, 4072);
    assert_int_equal(s->leaked_blocks, 4);
    assert_int_equal(s->leaked_bytes, 4072);
    assert_int_equal(s->unknown_frees, 1);
    /* leaks: by bytes, the 4000-byte one first, then the three 24-byte ones */
    assert_int_equal(s->nleaks, 2);
    assert_int_equal(s->leaks[0].size, 4000);
    assert_int_equal(s->leaks[0].first_event, 27);
    assert_int_equal(s->leaks[1].size, 24);
    assert_int_equal(s->leaks[1].count, 3);
    assert_int_equal(s->leaks[1].bytes, 72);
    assert_int_equal(s->leaks[1].events[0], 24);
    assert_int_equal(s->leaks[1].events[2], 26);
    /* lifetimes: ten of 10 events (class 8..15), one of 1 */
    assert_int_equal(s->life_count[stats_class(10)], 10);
    assert_int_equal(s->life_bytes[stats_class(10)], 1000);
    assert_int_equal(s->life_count[1], 1);
    assert_int_equal(s->temporary_blocks, 1); /* window 2 events */
    assert_int_equal(s->temporary_bytes, 5000);
    /* sizes: 10 x 100 in 64..127, 5000 in 4096..8191 */
    assert_int_equal(s->class_count[stats_class(100)], 10);
    assert_int_equal(s->class_max[stats_class(5000)], 5000);
    assert_int_equal(stats_class_min(stats_class(100)), 64);
    assert_int_equal(stats_class_max(stats_class(100)), 127);
    assert_int_equal(s->cumulative_requested, 1000 + 5000 + 72 + 4000);
    assert_int_equal(s->cumulative_compensated, s->cumulative_requested);
    done(s);
}

static void test_realloc_chains(void **state)
{
    (void)state;
    struct stream st = {new_stats(0, UINT64_MAX, 0), NULL, 0, 0, 0};
    struct stats *s = st.s;
    /* a "string += piece" chain: realloc(NULL, 10), then +10 each time, moving every 4th */
    uint64_t p = P(1);
    emit(&st, MLG_OP_REALLOC, 0, p, 0, 10, MLG_OUT_OK);
    uint64_t copied = 0;
    for (int i = 1; i <= 20; i++) {
        uint64_t n = i % 4 == 0 ? P(100 + i) : p;
        emit(&st, MLG_OP_REALLOC, 0, n, p, 10 + 10 * (uint64_t)i,
             n == p ? MLG_OUT_INPLACE : MLG_OUT_MOVED);
        if (n != p)
            copied += 10 * (uint64_t)i; /* min(old, new) = old */
        p = n;
    }
    emit(&st, MLG_OP_REALLOC, 0, 0, p, 0, MLG_OUT_FREED); /* realloc(p, 0) ends the chain */
    /* a second block shrinks once and stays live */
    m(&st, P(500), 1000);
    emit(&st, MLG_OP_REALLOC, 0, P(500), P(500), 100, MLG_OUT_INPLACE);
    emit(&st, MLG_OP_REALLOC, 0, 0, P(500), 1ull << 62, MLG_OUT_FAILED);
    /* a realloc split by another thread: release on thread 1, a malloc on thread 0 reuses the
     * address, then the realloc's acquire on thread 1 */
    emit(&st, MLG_OP_MALLOC, 1, P(600), 0, 50, MLG_OUT_OK);
    emit(&st, MLG_OP_REALLOC_RELEASE, 1, 0, P(600), 0, MLG_OUT_OK);
    emit(&st, MLG_OP_MALLOC, 0, P(600), 0, 8, MLG_OUT_OK);
    emit(&st, MLG_OP_REALLOC, 1, P(601), P(600), 80, MLG_OUT_OLD_RELEASED);
    assert_int_equal(stats_finish(s), 0);

    assert_int_equal(s->realloc_calls, 1 + 20 + 1 + 2 + 1);
    assert_int_equal(s->realloc_in_place, 15 + 1);
    assert_int_equal(s->realloc_moved, 5 + 1);
    assert_int_equal(s->realloc_failed, 1);
    assert_int_equal(s->realloc_freed, 1);
    assert_int_equal(s->bytes_copied_upper, copied + 50);
    assert_int_equal(s->unknown_frees, 0);
    assert_int_equal(s->inversions, 0);
    assert_int_equal(s->chains, 3);
    assert_int_equal(s->longest.length, 20);
    assert_int_equal(s->longest.start_size, 10);
    assert_int_equal(s->longest.end_size, 210);
    assert_int_equal(s->longest.moved, 5);
    assert_int_equal(s->longest.start_event, 0);
    assert_int_equal(s->longest.end_event, 21);
    assert_int_equal(s->ntop_chains, 3);
    assert_int_equal(s->top_chains[0].length, 20);
    assert_int_equal(s->top_chains[1].length, 1);
    assert_int_equal(s->top_chains[1].end_size, 100); /* ties: larger end size first */
    assert_int_equal(s->top_chains[1].live, 1);
    /* cumulative: every size asked; compensated: only growth */
    uint64_t req = 10, comp = 10;
    for (int i = 1; i <= 20; i++) {
        req += 10 + 10 * (uint64_t)i;
        comp += 10;
    }
    req += 1000 + 100 + 50 + 8 + 80;
    comp += 1000 + 0 + 50 + 8 + 30;
    assert_int_equal(s->cumulative_requested, req);
    assert_int_equal(s->cumulative_compensated, comp);
    /* live at the end: the shrunk block (100), the 8-byte malloc, the realloc'd 80 */
    assert_int_equal(s->live_at_end_blocks, 3);
    assert_int_equal(s->live_at_end_bytes, 188);
    done(s);
}

static void test_threads(void **state)
{
    (void)state;
    struct stream st = {new_stats(0, UINT64_MAX, 0), NULL, 0, 0, 0};
    struct stats *s = st.s;
    emit(&st, MLG_OP_THREAD_START, 0, 0, 0, 0, MLG_OUT_OK);
    for (int i = 0; i < 5; i++)
        emit(&st, MLG_OP_MALLOC, 0, P(i), 0, 10, MLG_OUT_OK);
    for (int i = 0; i < 3; i++) /* thread 2 frees three of thread 0's blocks */
        emit(&st, MLG_OP_FREE, 2, P(i), 0, 0, MLG_OUT_OK);
    emit(&st, MLG_OP_FREE, 0, P(3), 0, 0, MLG_OUT_OK);
    assert_int_equal(stats_finish(s), 0);
    assert_int_equal(s->threads, 2);
    assert_int_equal(s->cross_thread_frees, 3);
    assert_int_equal(s->thr[2].cross_frees, 3);
    assert_int_equal(s->thr[2].frees, 3);
    assert_int_equal(s->thr[0].freed_by_others, 3);
    assert_int_equal(s->thr[0].allocations, 5);
    assert_int_equal(s->thr[0].live_blocks, 1);
    assert_int_equal(s->thr[0].live_bytes, 10);
    assert_int_equal(s->thr[1].seen, 0);
    done(s);
}

static void test_range(void **state)
{
    (void)state;
    struct stream st = {new_stats(10, 20, 0), NULL, 0, 0, 0};
    struct stats *s = st.s;
    for (int i = 0; i < 10; i++) /* 0..9 before the range: 10 x 100 live at its start */
        m(&st, P(i), 100);
    for (int i = 0; i < 5; i++) /* 10..14: frees of older blocks are known */
        f(&st, P(i));
    for (int i = 0; i < 5; i++) /* 15..19: new blocks, still live at the range end */
        m(&st, P(50 + i), 7);
    for (int i = 0; i < 5; i++) /* 20..: past the end */
        if (stats_event(s, &(struct mlg_event){.index = st.index++, .op = MLG_OP_FREE,
                                               .ptr = P(50 + i)}))
            break;
    assert_true(s->done);
    assert_int_equal(stats_finish(s), 0);
    assert_int_equal(s->events, 10);
    assert_int_equal(s->start_live_blocks, 10);
    assert_int_equal(s->start_live_bytes, 1000);
    assert_int_equal(s->frees, 5);
    assert_int_equal(s->allocations, 5);
    assert_int_equal(s->unknown_frees, 0);
    assert_int_equal(s->peak_live_requested, 1000); /* at the range start */
    assert_int_equal(s->peak_event, 10);
    assert_int_equal(s->live_at_end_blocks, 10);
    assert_int_equal(s->leaked_blocks, 5); /* only blocks allocated in the range */
    assert_int_equal(s->leaked_bytes, 35);
    assert_int_equal(s->cumulative_requested, 35);
    assert_int_equal(s->life_count[stats_class(10)], 5); /* each lived 10 events */
    done(s);
}

static void test_timeline(void **state)
{
    (void)state;
    /* adaptive: 100,000 events keep at most STATS_TIMELINE_ROWS rows, and the interval peaks
     * still hold the global peak */
    struct stream st = {new_stats(0, UINT64_MAX, 0), NULL, 0, 0, 0};
    struct stats *s = st.s;
    for (int i = 0; i < 50000; i++) {
        m(&st, P(1), i == 31337 ? 1000000 : 16);
        f(&st, P(1));
    }
    assert_int_equal(stats_finish(s), 0);
    assert_true(s->nrows <= STATS_TIMELINE_ROWS);
    assert_true(s->nrows >= STATS_TIMELINE_ROWS / 2);
    uint64_t peak = 0;
    for (uint64_t i = 0; i < s->nrows; i++) {
        if (s->rows[i].interval_peak > peak)
            peak = s->rows[i].interval_peak;
        if (i)
            assert_int_equal(s->rows[i].event - s->rows[i - 1].event,
                             i == s->nrows - 1 ? s->rows[i].event - s->rows[i - 1].event
                                               : s->every);
    }
    assert_int_equal(peak, 1000000);
    assert_int_equal(s->peak_event, 2 * 31337);
    assert_int_equal(s->rows[s->nrows - 1].event, 99999);
    assert_int_equal(s->rows[s->nrows - 1].live_blocks, 0);
    done(s);

    /* fixed interval: rows stream to a file */
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    s = malloc(sizeof *s);
    struct stats_opts o = {0, UINT64_MAX, 2, 1000, 10, out};
    assert_int_equal(stats_init(s, &o), 0);
    st = (struct stream){s, NULL, 0, 0, 0};
    for (int i = 0; i < 25; i++)
        m(&st, P(i), 1);
    assert_int_equal(stats_finish(s), 0);
    fclose(out);
    assert_string_equal(buf, "9\t10000\t10\t10\t10\t10\t10\n"
                             "19\t20000\t20\t20\t20\t20\t20\n"
                             "24\t25000\t25\t25\t25\t25\t25\n");
    free(buf);
    done(s);
}

static void test_exact_sizes_bounded(void **state)
{
    (void)state;
    struct stream st = {new_stats(0, UINT64_MAX, 0), NULL, 0, 0, 0};
    struct stats *s = st.s;
    /* 200,000 distinct sizes seen once, and size 50,000 seen 100,000 times in between; small
     * sizes are counted exactly in an array */
    for (int i = 0; i < 200000; i++) {
        m(&st, P(1), 100000 + (uint64_t)i);
        f(&st, P(1));
        if (i % 2) {
            m(&st, P(2), 50000);
            f(&st, P(2));
        }
        if (i % 1000 == 0) {
            m(&st, P(3), 48);
            f(&st, P(3));
        }
    }
    assert_int_equal(stats_finish(s), 0);
    assert_true(s->sizes_count <= s->sizes_mask + 1);
    assert_true(s->sizes_pruned_max > 0);
    int found = 0;
    for (uint64_t i = 0; i <= s->sizes_mask; i++)
        if (s->sizes[i].size == 50000 + 1) {
            found = 1;
            assert_int_equal(s->sizes[i].count, 100000);
            assert_int_equal(s->sizes[i].bytes, 5000000000ull);
        }
    assert_true(found);
    assert_int_equal(s->small_sizes[48], 200);
    done(s);
}

/* A random well-formed stream; live figures must agree with lib's checker at every step. */
static void test_random_against_check(void **state)
{
    (void)state;
    struct stream st = {new_stats(0, UINT64_MAX, 0), NULL, 0, 0, 0};
    struct stats *s = st.s;
    struct mlg_check c;
    assert_int_equal(mlg_check_init(&c, NULL), 0);
    enum { SLOTS = 3000 };
    uint64_t live[SLOTS] = {0}, next_ptr = 0x100000;
    for (int i = 0; i < 300000; i++) {
        int k = (int)(rnd() % SLOTS);
        struct mlg_event ev;
        uint32_t thread = (uint32_t)(rnd() % 3);
        if (!live[k]) {
            live[k] = next_ptr += 16 * (1 + rnd() % 4);
            ev = emit(&st, MLG_OP_MALLOC, thread, live[k], 0, rnd() % 5000, MLG_OUT_OK);
        } else if (rnd() % 4 == 0) {
            int move = (int)(rnd() % 2);
            uint64_t n = move ? (next_ptr += 16) : live[k];
            ev = emit(&st, MLG_OP_REALLOC, thread, n, live[k], rnd() % 9000,
                      move ? MLG_OUT_MOVED : MLG_OUT_INPLACE);
            live[k] = n;
        } else {
            ev = emit(&st, MLG_OP_FREE, thread, live[k], 0, 0, MLG_OUT_OK);
            live[k] = 0;
        }
        mlg_check_event(&c, &ev);
        assert_int_equal(s->live_blocks, c.live_blocks);
        assert_int_equal(s->live_bytes, c.live_bytes);
    }
    assert_int_equal(stats_finish(s), 0);
    assert_int_equal(s->peak_live_requested, c.peak_live_bytes);
    assert_int_equal(mlg_check_anomalies(&c), 0);
    assert_int_equal(s->unknown_frees + s->inversions, 0);
    assert_int_equal(s->leaked_blocks, c.live_blocks);
    uint64_t total = 0;
    for (uint64_t i = 0; i < s->nleaks; i++)
        total += s->leaks[i].count;
    assert_int_equal(total, c.live_blocks);
    mlg_check_fini(&c);
    done(s);
}

/* Garbage in (any op, outcome, pointer, size, thread): counters stay consistent, nothing breaks
 * (this test matters most under ASan/UBSan). */
static void test_garbage_stream(void **state)
{
    (void)state;
    struct stats *s = new_stats(0, UINT64_MAX, 0);
    uint64_t alloc_like = 0;
    for (uint64_t i = 0; i < 200000; i++) {
        struct mlg_event ev = {0};
        ev.index = i;
        ev.seq = i;
        ev.time_ns = rnd() % 3 ? i * 10 : rnd();
        ev.op = (uint8_t)(rnd() % 40);
        ev.outcome = (uint8_t)(rnd() % 10);
        ev.ptr = rnd() % 4 ? 16 * (rnd() % 512) : rnd();
        ev.old_ptr = rnd() % 4 ? 16 * (rnd() % 512) : 0;
        ev.size = rnd() % 8 ? rnd() % 100000 : rnd();
        ev.thread = (uint32_t)(rnd() % 5 ? rnd() % 4 : rnd() % 300);
        ev.result = (int64_t)rnd();
        alloc_like += ev.op < MLG_OP_COUNT;
        assert_int_equal(stats_event(s, &ev), 0);
    }
    assert_int_equal(stats_finish(s), 0);
    assert_int_equal(s->events, 200000);
    assert_int_equal(s->live_at_end_blocks, s->blocks.count);
    uint64_t live = 0;
    for (uint64_t i = 0; i < s->nleaks; i++)
        live += s->leaks[i].count;
    assert_int_equal(live, s->leaked_blocks);
    assert_true(alloc_like > 0);
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    statsout_json(out, s);
    statsout_text(out, s, 5);
    fclose(out);
    free(buf);
    done(s);
}

/* n events through stats_recs, as records in runs of up to 64 (the test's batches end anywhere,
 * also inside such a run). Returns stats_recs's stop. */
static int recs_of_events(struct stats *s, const struct mlg_event *ev, int n)
{
    struct mlg_rec v[64];
    for (int i = 0; i < n;) {
        int k = n - i < 64 ? n - i : 64;
        for (int j = 0; j < k; j++) {
            const struct mlg_event *e = &ev[i + j];
            v[j] = (struct mlg_rec){e->ptr,     e->old_ptr, e->size, e->result,
                                    e->time_ns, e->thread,  e->op,   e->outcome};
        }
        if (stats_recs(s, v, ev[i].index, k))
            return 1;
        i += k;
    }
    return 0;
}

/* stats_recs (the fast path: batches, prefetching ahead) and stats_event one by one give the
 * same summary, on a churning stream with garbage mixed in, with and without a range that ends
 * inside a batch; threads at random (the fast path's thread changes) or mostly one thread (its
 * runs), an adaptive timeline or a row every 1000 events. */
static void events_batch(int one_thread, uint64_t every)
{
    enum { N = 100000 };
    struct mlg_event *evs = calloc(N, sizeof *evs);
    uint64_t live[2000] = {0}, next_ptr = 0x100000;
    for (uint64_t i = 0; i < N; i++) {
        struct mlg_event *ev = &evs[i];
        int k = (int)(rnd() % 2000);
        ev->index = ev->seq = i;
        ev->time_ns = i * 7;
        ev->thread = (uint32_t)(one_thread && rnd() % 64 ? 0 : rnd() % 3);
        if (rnd() % 50 == 0) { /* garbage */
            ev->op = (uint8_t)(rnd() % 40);
            ev->outcome = (uint8_t)(rnd() % 10);
            ev->ptr = 16 * (rnd() % 512);
            ev->old_ptr = rnd() % 2 ? 16 * (rnd() % 512) : 0;
            ev->size = rnd() % 100000;
        } else if (!live[k]) {
            ev->op = MLG_OP_MALLOC;
            ev->ptr = live[k] = next_ptr += 16 * (1 + rnd() % 4);
            ev->size = rnd() % 2 ? rnd() % 200 : rnd() % 100000;
        } else if (rnd() % 4 == 0) {
            ev->op = MLG_OP_REALLOC;
            ev->old_ptr = live[k];
            ev->ptr = live[k] = rnd() % 2 ? (next_ptr += 16) : live[k];
            ev->outcome = ev->ptr == ev->old_ptr ? MLG_OUT_INPLACE : MLG_OUT_MOVED;
            ev->size = rnd() % 9000;
        } else {
            ev->op = MLG_OP_FREE;
            ev->ptr = live[k];
            live[k] = 0;
        }
    }
    static const uint64_t ranges[][2] = {{0, UINT64_MAX}, {1000, 77777}};
    for (int r = 0; r < 2; r++) {
        struct stats *a = new_stats(ranges[r][0], ranges[r][1], every);
        struct stats *b = new_stats(ranges[r][0], ranges[r][1], every);
        int stop_a = 0, stop_b = 0;
        for (uint64_t i = 0; i < N && !stop_a; i++)
            stop_a = stats_event(a, &evs[i]);
        for (uint64_t i = 0; i < N && !stop_b;) {
            int n = (int)(1 + rnd() % 3000);
            n = i + (uint64_t)n > N ? (int)(N - i) : n;
            stop_b = recs_of_events(b, &evs[i], n);
            i += (uint64_t)n;
        }
        assert_int_equal(stop_a, stop_b);
        assert_int_equal(stats_finish(a), 0);
        assert_int_equal(stats_finish(b), 0);
        char *ja = NULL, *jb = NULL;
        size_t la = 0, lb = 0;
        FILE *fa = open_memstream(&ja, &la), *fb = open_memstream(&jb, &lb);
        statsout_json(fa, a);
        statsout_json(fb, b);
        fclose(fa);
        fclose(fb);
        assert_string_equal(ja, jb);
        assert_true(a->events > 0);
        free(ja);
        free(jb);
        done(a);
        done(b);
    }
    free(evs);
}

static void test_events_batch(void **state)
{
    (void)state;
    events_batch(0, 0);
    events_batch(1, 0);
    events_batch(1, 1000);
}

static char *json_of(struct stats *s)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    statsout_json(out, s);
    statsout_text(out, s, 50);
    fclose(out);
    return buf;
}

/* stats_run reads records (mlg_reader_next_recs) and takes the fast path (stats_recs). On a
 * churning log written with the real writer - several threads (one with a serial
 * beyond what a table slot packs), failures, calloc, realloc chains moved and in place, realloc
 * splits across threads, realloc(p, 0), thread starts, lost events, thousands of large sizes (the
 * exact-size table prunes) - the report and JSON must be byte for byte those of stats_event one
 * event at a time, whole and in ranges (one ending inside a batch), and on a truncated copy. */
static void test_run_records(void **state)
{
    (void)state;
    const char *path = tmp_path("split.mlog"), *cut = tmp_path("split_cut.mlog");
    struct mlg_header h = {0};
    h.version = MLG_FORMAT_VERSION;
    h.pid = 4242;
    struct mlg_writer *w;
    struct mlg_error err;
    struct mlg_writer_options opt = {.zstd_level = 1, .frame_bytes = 65536};
    unlink(path);
    assert_int_equal(mlg_writer_create(&w, path, &h, &opt, &err), 0);
    struct stream st = {NULL, w, 0, 0, 0};
    enum { SLOTS = 3000, N = 150000 };
    static uint64_t live[SLOTS];
    memset(live, 0, sizeof live);
    uint64_t next_ptr = 0x100000;
    uint32_t threads[4] = {0, 1, 2, 20000};
    emit_result = 31337;
    emit(&st, MLG_OP_THREAD_START, 0, 0, 0, 0, MLG_OUT_OK);
    emit_result = 0;
    while (st.index < N) {
        int k = (int)(rnd() % SLOTS);
        uint32_t t = threads[rnd() % 16 == 0 ? 3 : rnd() % 3];
        uint64_t size = rnd() % 3 ? rnd() % 300 : rnd() % 100000;
        int r = (int)(rnd() % 100);
        if (r == 0) {
            emit(&st, MLG_OP_MALLOC, t, 0, 0, size, MLG_OUT_FAILED);
        } else if (r == 1) {
            emit_result = 3;
            emit(&st, MLG_OP_LOST, t, 0, 0, 0, MLG_OUT_OK);
            emit_result = 0;
        } else if (!live[k]) {
            live[k] = next_ptr += 16 * (1 + rnd() % 4);
            emit(&st, r < 10 ? MLG_OP_CALLOC : MLG_OP_MALLOC, t, live[k], 0, size, MLG_OUT_OK);
        } else if (r < 30) {
            int move = (int)(rnd() % 2);
            uint64_t n = move ? (next_ptr += 16) : live[k];
            emit(&st, MLG_OP_REALLOC, t, n, live[k], size, move ? MLG_OUT_MOVED : MLG_OUT_INPLACE);
            live[k] = n;
        } else if (r < 33) { /* a realloc split by another thread */
            uint64_t n = next_ptr += 16;
            emit(&st, MLG_OP_REALLOC_RELEASE, t, 0, live[k], 0, MLG_OUT_OK);
            emit(&st, MLG_OP_MALLOC, threads[(t + 1) % 3], next_ptr += 16, 0, 24, MLG_OUT_OK);
            emit(&st, MLG_OP_REALLOC, t, n, live[k], size, MLG_OUT_OLD_RELEASED);
            live[k] = n;
        } else if (r < 35) {
            emit(&st, MLG_OP_REALLOC, t, 0, live[k], 0, MLG_OUT_FREED);
            live[k] = 0;
        } else if (r < 36) {
            emit(&st, MLG_OP_REALLOC, t, live[k], live[k], size, MLG_OUT_FAILED);
        } else {
            emit(&st, MLG_OP_FREE, t, live[k], 0, 0, MLG_OUT_OK);
            live[k] = 0;
        }
    }
    struct mlg_trailer tr = {.end = MLG_END_EXIT};
    assert_int_equal(mlg_writer_finish(w, &tr, &err), 0);

    /* the events as the reader delivers them */
    struct mlg_event *evs = calloc(st.index + 1, sizeof *evs);
    assert_non_null(evs);
    struct mlg_reader *rd;
    assert_int_equal(mlg_reader_open(&rd, path, NULL, &err), 0);
    uint64_t n = 0;
    for (int k; (k = mlg_reader_next_batch(rd, evs + n, (int)(st.index + 1 - n))) > 0;)
        n += (uint64_t)k;
    mlg_reader_close(rd);
    assert_int_equal(n, st.index);

    /* the live-block table alone (bench's --table-only) ends with the analysis's live figures */
    struct stats *t = new_stats(0, UINT64_MAX, 0), *whole = new_stats(0, UINT64_MAX, 0);
    static struct mlg_rec recs[512];
    assert_int_equal(mlg_reader_open(&rd, path, NULL, &err), 0);
    for (int k; (k = mlg_reader_next_recs(rd, recs, 512)) > 0;)
        stats_table_recs(t, recs, k);
    mlg_reader_close(rd);
    assert_int_equal(stats_run(whole, path), 0);
    assert_int_equal(stats_finish(whole), 0);
    assert_true(whole->live_at_end_blocks > 100);
    assert_int_equal(t->live_blocks, whole->live_at_end_blocks);
    assert_int_equal(t->live_bytes, whole->live_at_end_bytes);
    assert_int_equal(t->blocks.count, whole->blocks.count);
    done(t);
    done(whole);

    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "head -c %lld %s > %s", (long long)sb.st_size * 2 / 3, path, cut);
    assert_int_equal(system(cmd), 0);

    static const uint64_t ranges[][2] = {{0, UINT64_MAX}, {1000, 77777}, {5, 6}, {0, 4095}};
    for (int c = 0; c < 5; c++) {
        int damaged = c == 4;
        uint64_t from = damaged ? 0 : ranges[c][0], to = damaged ? UINT64_MAX : ranges[c][1];
        struct stats *a = new_stats(from, to, 0), *b = new_stats(from, to, 0);
        assert_int_equal(stats_run(b, damaged ? cut : path), 0);
        assert_int_equal(stats_finish(b), 0);
        uint64_t end = damaged ? b->err.event : n;
        if (damaged) {
            assert_int_not_equal(b->err.code, 0);
            assert_true(end > 0 && end < n);
        }
        snprintf(a->path, sizeof a->path, "%s", b->path);
        a->header = b->header;
        a->complete = b->complete;
        a->end = b->end;
        a->end_status = b->end_status;
        a->err = b->err;
        for (uint64_t i = 0; i < end; i++)
            if (stats_event(a, &evs[i]))
                break;
        assert_int_equal(stats_finish(a), 0);
        char *ja = json_of(a), *jb = json_of(b);
        assert_string_equal(ja, jb);
        assert_true(c == 2 ? a->events == 1 : a->events > 1000);
        assert_true(c == 2 || a->lost_events > 0);
        free(ja);
        free(jb);
        done(a);
        done(b);
    }
    free(evs);
}

/* Writes the stream of test_peak_leaks_lifetimes many times over into a log with small frames. */
static uint64_t write_log(const char *path, int rounds)
{
    struct mlg_header h = {0};
    h.version = MLG_FORMAT_VERSION;
    h.pid = 777;
    strcpy(h.exe, "/usr/bin/\"quoted\"");
    struct mlg_writer *w;
    struct mlg_error err;
    struct mlg_writer_options opt = {.zstd_level = 1, .frame_bytes = 4096};
    unlink(path);
    assert_int_equal(mlg_writer_create(&w, path, &h, &opt, &err), 0);
    struct stream st = {NULL, w, 0, 0, 0};
    for (int r = 0; r < rounds; r++) {
        for (int i = 0; i < 100; i++)
            m(&st, P(r * 1000 + i), 100 + (uint64_t)i);
        for (int i = 0; i < 99; i++) /* one block per round leaks */
            f(&st, P(r * 1000 + i));
    }
    struct mlg_trailer tr = {.end = MLG_END_EXIT};
    assert_int_equal(mlg_writer_finish(w, &tr, &err), 0);
    return st.index;
}

static void test_log_and_damage(void **state)
{
    (void)state;
    const char *path = tmp_path("a.mlog"), *cut = tmp_path("cut.mlog");
    uint64_t n = write_log(path, 200);
    struct stats *s = new_stats(0, UINT64_MAX, 0);
    assert_int_equal(stats_run(s, path), 0);
    assert_int_equal(stats_finish(s), 0);
    assert_int_equal(s->err.code, 0);
    assert_true(s->complete);
    assert_int_equal(s->events, n);
    assert_int_equal(s->leaked_blocks, 200);
    assert_int_equal(s->header.pid, 777);
    done(s);

    /* truncated in the middle: the valid prefix is summarised, the damage located */
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "head -c %lld %s > %s", (long long)sb.st_size / 2, path, cut);
    assert_int_equal(system(cmd), 0);
    s = new_stats(0, UINT64_MAX, 0);
    assert_int_equal(stats_run(s, cut), 0);
    assert_int_equal(stats_finish(s), 0);
    assert_int_not_equal(s->err.code, 0);
    assert_false(s->complete);
    assert_true(s->events > 0 && s->events < n);
    assert_int_equal(s->err.event, s->events);
    assert_true(s->err.offset > 0 && s->err.offset <= (uint64_t)sb.st_size / 2);
    /* the prefix figures are exactly those of a range ending at the damage */
    struct stats *p = new_stats(0, s->events, 0);
    assert_int_equal(stats_run(p, path), 0);
    assert_int_equal(stats_finish(p), 0);
    assert_int_equal(p->events, s->events);
    assert_int_equal(p->peak_live_requested, s->peak_live_requested);
    assert_int_equal(p->live_at_end_blocks, s->live_at_end_blocks);
    assert_int_equal(p->cumulative_requested, s->cumulative_requested);
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    statsout_json(out, s);
    fclose(out);
    assert_non_null(strstr(buf, "\"damage\": \""));
    assert_null(strstr(buf, "\"damage\": null"));
    free(buf);
    done(p);
    done(s);
}

static void test_output_contract(void **state)
{
    (void)state;
    const char *path = tmp_path("b.mlog");
    write_log(path, 3);
    struct stats *s = new_stats(0, UINT64_MAX, 0);
    assert_int_equal(stats_run(s, path), 0);
    assert_int_equal(stats_finish(s), 0);
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    statsout_json(out, s);
    fclose(out);
    static const char *keys[] = {"\"log\": ", "\"pid\": 777", "\"events\": 597", "\"ops\": {",
        "\"malloc\": {\"calls\": 300, \"failed\": 0, \"bytes\": ", "\"peak_live_requested\": ",
        "\"peak_live_blocks\": 102", "\"peak_event\": 497", "\"peak_time_ns\": ",
        "\"live_at_end_bytes\": ", "\"live_at_end_blocks\": 3", "\"leaked_blocks\": 3",
        "\"leaked_bytes\": 597", "\"threads\": 1", "\"cumulative_requested\": ",
        "\"cumulative_compensated\": ", "\"temporary_blocks\": ",
        "\"realloc\": {\"calls\": 0, \"in_place\": 0, \"moved\": 0", "\"bytes_copied_upper\": 0",
        "\"longest_chain\": 0", "\"damage\": null", "\"exe\": \"/usr/bin/\\\"quoted\\\"\""};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
        if (!strstr(buf, keys[i]))
            fail_msg("JSON lacks %s in:\n%s", keys[i], buf);
    free(buf);

    const char *dir = tmp_path("tsv"), *what = NULL;
    assert_int_equal(statsout_tsv(dir, s, &what), 0);
    static const char *heads[][2] = {
        {"timeline.tsv", "event\ttime_ns\tlive_requested\tlive_blocks\tcumulative_requested\t"
                         "cumulative_compensated"},
        {"sizes.tsv", "class_min\tclass_max\tcount\tcount_pct\tbytes\tbytes_pct\tcum_pct\tmax"},
        {"lifetimes.tsv", "lifetime_min_events\tlifetime_max_events\tcount\tbytes"},
        {"reallocs.tsv", "start_event\tlength\tstart_size\tend_size\tmoved"},
        {"leaks.tsv", "size\tcount\tbytes\tfirst_event"},
        {"threads.tsv", "thread\t"},
        {"exact_sizes.tsv", "size\tcount\t"},
        {"lifetimes_ns.tsv", "lifetime_min_ns\t"}};
    for (size_t i = 0; i < sizeof heads / sizeof *heads; i++) {
        char p[600], line[512];
        snprintf(p, sizeof p, "%s/%s", dir, heads[i][0]);
        FILE *t = fopen(p, "r");
        assert_non_null(t);
        assert_non_null(fgets(line, sizeof line, t));
        if (strncmp(line, heads[i][1], strlen(heads[i][1])) != 0)
            fail_msg("%s header: %s", heads[i][0], line);
        fclose(t);
    }
    /* leaks.tsv: one 199-byte block per round, allocated at events 99, 298, 497 */
    char p2[600], line[512];
    snprintf(p2, sizeof p2, "%s/leaks.tsv", dir);
    FILE *t = fopen(p2, "r");
    assert_non_null(fgets(line, sizeof line, t));
    assert_non_null(fgets(line, sizeof line, t));
    assert_string_equal(line, "199\t3\t597\t99\t99,298,497\n");
    fclose(t);
    done(s);
}

/* The JSON summary read back flat, tables keyed by their identifying column; syntax errors
 * name their line. */
static void test_summary_roundtrip(void **state)
{
    (void)state;
    const char *path = tmp_path("c.mlog");
    write_log(path, 3);
    struct stats *s = new_stats(0, UINT64_MAX, 0);
    assert_int_equal(stats_run(s, path), 0);
    assert_int_equal(stats_finish(s), 0);
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    statsout_json(out, s);
    fclose(out);
    struct summary sum = {0};
    char err[256];
    assert_int_equal(summary_parse(buf, len, &sum, err, sizeof err), 0);
    const struct summary_entry *e;
#define NUM(key, want)                                                                             \
    do {                                                                                           \
        assert_non_null(e = summary_get(&sum, key));                                               \
        assert_int_equal(e->type, SUMMARY_NUM);                                                    \
        assert_true(e->num == (double)(want));                                                     \
    } while (0)
    NUM("events", 597);
    NUM("ops.malloc.calls", 300);
    NUM("leaks.199.count", 3);         /* keyed by size, not position */
    NUM("sizes.64.count", 3 * 28);     /* sizes 100..127 of each round: class 64..127 */
    NUM("sizes.128.count", 3 * 72);    /* 128..199 */
    NUM("per_thread.0.allocations", 300);
    NUM("realloc.longest_chain", 0);
    assert_non_null(e = summary_get(&sum, "damage"));
    assert_int_equal(e->type, SUMMARY_NULL);
    assert_non_null(e = summary_get(&sum, "exe"));
    assert_string_equal(e->str, "/usr/bin/\"quoted\"");
    assert_null(summary_get(&sum, "leaks.0.count"));
    /* absent is not 0: only a count of a row the writer leaves out when empty reads as 0 */
    double v = -1;
    assert_null(summary_not_stats(&sum));
    assert_int_equal(summary_num(&sum, "events", &v), SUMMARY_FOUND);
    assert_true(v == 597);
    assert_int_equal(summary_num(&sum, "sizes.4096.count", &v), SUMMARY_NO_ROW);
    assert_true(v == 0);
    assert_int_equal(summary_num(&sum, "ops.memalign.calls", &v), SUMMARY_NO_ROW);
    assert_int_equal(summary_num(&sum, "sizes.4096.max", &v), SUMMARY_NO_ROW_NO_VALUE);
    assert_int_equal(summary_num(&sum, "sizes.1000.count", &v), SUMMARY_ABSENT);
    assert_int_equal(summary_num(&sum, "ops.nosuchop.calls", &v), SUMMARY_ABSENT);
    assert_int_equal(summary_num(&sum, "sizes.64.nosuchcolumn", &v), SUMMARY_ABSENT);
    assert_int_equal(summary_num(&sum, "no_such_figure", &v), SUMMARY_ABSENT);
    assert_int_equal(summary_num(&sum, "per_process.0.events", &v), SUMMARY_NO_ROW_NO_VALUE);
    summary_free(&sum);
    struct summary other = {0};
    const char *rp = "{\"allocator\": \"glibc\", \"log\": \"x.mlog\", \"events\": 3}";
    assert_int_equal(summary_parse(rp, strlen(rp), &other, err, sizeof err), 0);
    assert_non_null(summary_not_stats(&other));
    assert_int_equal(summary_num(&other, "sizes.4096.count", &v), SUMMARY_ABSENT);
    summary_free(&other);
    free(buf);
    done(s);

    static const char *bad[][2] = {{"{\"a\": 1,\n\"b\": }", "line 2"},
                                   {"{\"a\": [1, 2\n\n", "line 3"},
                                   {"[1]", "not a JSON object"},
                                   {"{\"a\" 1}", "expected ':' at line 1"}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct summary b = {0};
        assert_int_equal(summary_parse(bad[i][0], strlen(bad[i][0]), &b, err, sizeof err), -1);
        if (!strstr(err, bad[i][1]))
            fail_msg("%s: got '%s', want '%s'", bad[i][0], err, bad[i][1]);
        summary_free(&b);
    }
}

int cmd_stats(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_check(int argc, char **argv);

/* Runs a command entry point with stdout and stderr sent to /dev/null; returns its exit code. */
static int quiet(int (*fn)(int, char **), int argc, const char **argv)
{
    fflush(stdout);
    fflush(stderr);
    int o = dup(1), e = dup(2), null = open("/dev/null", O_WRONLY);
    dup2(null, 1);
    dup2(null, 2);
    int rc = fn(argc, (char **)argv);
    fflush(stdout);
    fflush(stderr);
    dup2(o, 1);
    dup2(e, 2);
    close(o);
    close(e);
    close(null);
    return rc;
}

/* The command entry points end to end (here under ASan too): report, JSON, TSV, range, diff,
 * check with a baseline, malformed budgets. */
static void test_commands(void **state)
{
    (void)state;
    char a[512], b[512], tsv[512], budget[512], none[512], junit[512];
    snprintf(a, sizeof a, "%s", tmp_path("d.mlog"));
    snprintf(b, sizeof b, "%s", tmp_path("e.mlog"));
    snprintf(tsv, sizeof tsv, "%s", tmp_path("tsv2"));
    snprintf(budget, sizeof budget, "%s", tmp_path("budget.txt"));
    snprintf(none, sizeof none, "%s", tmp_path("none.mlog"));
    snprintf(junit, sizeof junit, "%s", tmp_path("j.xml"));
    write_log(a, 3);
    write_log(b, 4);
    const char *stats1[] = {"stats", a, NULL};
    assert_int_equal(quiet(cmd_stats, 2, stats1), 0);
    const char *stats2[] = {"stats", a, "--json", "--tsv", tsv, "--range", "10:300", NULL};
    assert_int_equal(quiet(cmd_stats, 7, stats2), 0);
    const char *stats3[] = {"stats", a, "--tsv", tsv, "--every", "7", "--top", "3", NULL};
    assert_int_equal(quiet(cmd_stats, 8, stats3), 0);
    const char *stats4[] = {"stats", a, "--range", "9:1", NULL};
    assert_int_equal(quiet(cmd_stats, 4, stats4), 2);
    const char *stats5[] = {"stats", none, NULL};
    assert_int_equal(quiet(cmd_stats, 2, stats5), 2);
    const char *stats6[] = {"stats", a, "--decode-only", NULL};
    assert_int_equal(quiet(cmd_stats, 3, stats6), 0);
    const char *stats7[] = {"stats", a, "--table-only", NULL};
    assert_int_equal(quiet(cmd_stats, 3, stats7), 0);

    const char *diff1[] = {"diff", a, a, NULL};
    assert_int_equal(quiet(cmd_diff, 3, diff1), 0);
    const char *diff2[] = {"diff", a, b, "--all", NULL};
    assert_int_equal(quiet(cmd_diff, 4, diff2), 1);

    FILE *f = fopen(budget, "w");
    fprintf(f, "# test\nleaked_blocks <= 3\nallocations <= 1.1 * baseline\n"
               "peak_live_bytes < 1M # inline\nops.pvalloc.calls == 0\n");
    fclose(f);
    const char *check1[] = {"check", a, "--budget", budget, "--baseline", a, "--tap", NULL};
    assert_int_equal(quiet(cmd_check, 7, check1), 0);
    const char *check2[] = {"check", b, "--budget", budget, "--baseline", a, "--junit", junit,
                            NULL};
    assert_int_equal(quiet(cmd_check, 8, check2), 1);
    f = fopen(budget, "w");
    fprintf(f, "leaked_blocks <=\nwhat == 1\n");
    fclose(f);
    const char *check3[] = {"check", a, "--budget", budget, NULL};
    assert_int_equal(quiet(cmd_check, 4, check3), 2);
}

/* Calls, failures and the realloc outcome counts are counted per (op, outcome) and folded by
 * stats_finish: every op and outcome (also one beyond the known ones) lands in its figure, and
 * the events before the range in none. */
static void test_call_outcomes(void **state)
{
    (void)state;
    struct stream st = {new_stats(2, UINT64_MAX, 0), NULL, 0, 0, 0};
    struct stats *s = st.s;
    m(&st, P(0), 10);                                                     /* 0: before the range */
    emit(&st, MLG_OP_REALLOC, 0, 0, P(0), 99, MLG_OUT_FAILED);            /* 1: before the range */
    emit(&st, MLG_OP_MALLOC, 0, 0, 0, 1ull << 62, MLG_OUT_FAILED);        /* 2 */
    emit(&st, MLG_OP_CALLOC, 0, 0, 0, UINT64_MAX, MLG_OUT_OVERFLOW);      /* 3 */
    emit(&st, MLG_OP_POSIX_MEMALIGN, 0, 0, 0, 64, MLG_OUT_EINVAL);        /* 4 */
    emit(&st, MLG_OP_REALLOC, 0, P(1), P(0), 20, MLG_OUT_MOVED);          /* 5 */
    emit(&st, MLG_OP_REALLOC, 0, 0, P(1), 0, MLG_OUT_FREED);              /* 6 */
    emit(&st, MLG_OP_REALLOCARRAY, 0, 0, 0, 1ull << 63, MLG_OUT_FAILED);  /* 7 */
    emit(&st, MLG_OP_REALLOC, 0, P(2), P(3), 30, 200);                    /* 8: no such outcome */
    emit(&st, MLG_OP_FREE, 0, P(9), 0, 0, 9);                             /* 9: unknown free */
    emit(&st, MLG_OP_USABLE_SIZE, 0, P(2), 0, 0, MLG_OUT_OK);             /* 10 */
    assert_int_equal(stats_finish(s), 0);
    assert_int_equal(s->events, 9);
    assert_int_equal(s->calls[MLG_OP_MALLOC], 1);
    assert_int_equal(s->calls[MLG_OP_CALLOC], 1);
    assert_int_equal(s->calls[MLG_OP_POSIX_MEMALIGN], 1);
    assert_int_equal(s->calls[MLG_OP_REALLOC], 3);
    assert_int_equal(s->calls[MLG_OP_REALLOCARRAY], 1);
    assert_int_equal(s->calls[MLG_OP_FREE], 1);
    assert_int_equal(s->calls[MLG_OP_USABLE_SIZE], 1);
    assert_int_equal(s->failed_op[MLG_OP_MALLOC], 1);
    assert_int_equal(s->failed_op[MLG_OP_CALLOC], 1);
    assert_int_equal(s->failed_op[MLG_OP_POSIX_MEMALIGN], 1);
    assert_int_equal(s->failed_op[MLG_OP_REALLOC], 0);
    assert_int_equal(s->failed_op[MLG_OP_REALLOCARRAY], 1);
    assert_int_equal(s->failed, 4);
    assert_int_equal(s->realloc_calls, 4);
    assert_int_equal(s->realloc_failed, 1);
    assert_int_equal(s->realloc_freed, 1);
    assert_int_equal(s->realloc_moved, 1);
    assert_int_equal(s->unknown_frees, 1);
    assert_int_equal(s->frees, 1); /* realloc(p, 0) */
    done(s);
}

int main(void)
{
    unit_tmpdir("analyze");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_peak_leaks_lifetimes), cmocka_unit_test(test_realloc_chains),
        cmocka_unit_test(test_threads),              cmocka_unit_test(test_range),
        cmocka_unit_test(test_timeline),             cmocka_unit_test(test_exact_sizes_bounded),
        cmocka_unit_test(test_random_against_check), cmocka_unit_test(test_log_and_damage),
        cmocka_unit_test(test_output_contract),      cmocka_unit_test(test_summary_roundtrip),
        cmocka_unit_test(test_commands),             cmocka_unit_test(test_garbage_stream),
        cmocka_unit_test(test_events_batch),         cmocka_unit_test(test_run_records),
        cmocka_unit_test(test_call_outcomes),
    };
    return unit_done(cmocka_run_group_tests_name("analyze", tests, NULL, NULL));
}

/* test_format.c - the trace format: varints, codec round trips, writer/reader round trips, damage
 * (truncation at every frame boundary and inside frames, flipped bytes, empty and foreign files),
 * the visitor, names and units. (Packing: test_pack.c; the address map and the checker:
 * test_heap.c.) */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "../../lib/codec.h"
#include "../../lib/crc32c.h"
#include "../../lib/logfile.h"
#include "../../lib/mallog.h"
#include "../../lib/spool.h"
#include "unit.h"

/* A plausible random event stream: every op kind, thread switches, gaps, outcomes. */
/* 1: most events plain mallocs, frees and reallocs of one thread, with pointers near and far
 * (the decoders' fast paths and their limits), as in a churning program. */
static int churn_like;

static void random_event(struct mlg_event *ev, uint64_t *seq, uint64_t *t)
{
    static const uint8_t ops[] = {MLG_OP_MALLOC, MLG_OP_CALLOC, MLG_OP_REALLOC, MLG_OP_FREE,
        MLG_OP_POSIX_MEMALIGN, MLG_OP_ALIGNED_ALLOC, MLG_OP_MEMALIGN, MLG_OP_VALLOC,
        MLG_OP_PVALLOC, MLG_OP_REALLOCARRAY, MLG_OP_USABLE_SIZE, MLG_OP_TRIM, MLG_OP_MALLOPT,
        MLG_OP_REALLOC_RELEASE, MLG_OP_THREAD_START, MLG_OP_THREAD_END, MLG_OP_FORK,
        MLG_OP_EXEC, MLG_OP_EXIT, MLG_OP_LOST};
    memset(ev, 0, sizeof *ev);
    ev->op = ops[rnd() % sizeof ops];
    unsigned f = mlg_op_fields(ev->op);
    *seq += 1 + (rnd() % 10 == 0 ? rnd() % 1000 : 0);
    if (f & MLG_F_REL) {
        uint64_t d = 1 + (rnd() % 4 == 0 ? rnd() % 5 : 0);
        *seq += d;
        ev->seq_rel = *seq - d;
    }
    ev->seq = *seq;
    *t += rnd() % 3 == 0 ? rnd() % 100000 : 0;
    ev->time_ns = *t;
    ev->thread = (uint32_t)(rnd() % 4 == 0 ? rnd() % 5 : 0);
    uint64_t base = 0x555555550000ull;
    ev->ptr = (f & MLG_F_PTR) && rnd() % 16 ? base + (rnd() % 4096) * 16 : 0;
    ev->old_ptr = (f & MLG_F_OLD) && rnd() % 8 ? base + (rnd() % 4096) * 16 : 0;
    ev->size = (f & MLG_F_SIZE) ? rnd() % (rnd() % 2 ? 300 : 1u << 30) : 0;
    ev->arg = (f & MLG_F_ARG) ? rnd() % 64 : 0;
    ev->result = (f & MLG_F_RESULT) ? (int64_t)(rnd() % 2000) - 1000 : 0;
    ev->outcome = rnd() % 5 == 0 ? (uint8_t)(rnd() % MLG_OUT_COUNT)
                                 : (uint8_t)mlg_default_outcome(ev->op, ev->ptr, ev->old_ptr);
    if (churn_like && rnd() % 10) {
        static const uint8_t plain[] = {MLG_OP_MALLOC, MLG_OP_FREE, MLG_OP_REALLOC};
        static const uint64_t bases[] = {0x555555550000ull, 0x7f0000000000ull, 0x10000ull};
        ev->op = plain[rnd() % 3];
        ev->thread = rnd() % 50 == 0;
        ev->seq_rel = 0;
        if (ev->op == MLG_OP_REALLOC) {
            ev->seq_rel = ev->seq;
            ev->seq = ++*seq;
        }
        uint64_t at = bases[rnd() % 8 == 0 ? 1 + rnd() % 2 : 0];
        uint64_t far = rnd() % 6 == 0 ? rnd() % (1u << 30) : rnd() % 8192;
        ev->ptr = rnd() % 64 ? at + far * 16 + (rnd() % 32 == 0 ? rnd() % 16 : 0) : 0;
        ev->old_ptr = ev->op == MLG_OP_REALLOC && rnd() % 16 ? (rnd() % 3 ? ev->ptr : at + 64) : 0;
        ev->size = ev->op == MLG_OP_FREE ? 0 : rnd() % (rnd() % 8 ? 4096 : 1ull << (rnd() % 40));
        ev->arg = ev->result = 0;
        ev->outcome = (uint8_t)mlg_default_outcome(ev->op, ev->ptr, ev->old_ptr);
    }
}

static void assert_same_event(const struct mlg_event *a, const struct mlg_event *b)
{
    assert_int_equal(a->op, b->op);
    assert_int_equal(a->seq, b->seq);
    assert_int_equal(a->seq_rel, b->seq_rel);
    assert_int_equal(a->thread, b->thread);
    assert_int_equal(a->ptr, b->ptr);
    assert_int_equal(a->old_ptr, b->old_ptr);
    assert_int_equal(a->size, b->size);
    assert_int_equal(a->arg, b->arg);
    assert_int_equal(a->result, b->result);
    assert_int_equal(a->outcome, b->outcome);
    assert_int_equal(a->time_ns, b->time_ns);
}

static void test_varint_zigzag(void **state)
{
    (void)state;
    static const uint64_t values[] = {0, 1, 127, 128, 255, 16383, 16384, 1ull << 35, UINT64_MAX};
    uint8_t buf[16];
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        uint8_t *end = mlg_varint_put(buf, values[i]);
        uint64_t v;
        assert_ptr_equal(mlg_varint_get(buf, end, &v), end);
        assert_int_equal(v, values[i]);
        /* cut short: must fail, not read past the end */
        if (end - buf > 1)
            assert_null(mlg_varint_get(buf, end - 1, &v));
        int64_t s = (int64_t)values[i];
        assert_int_equal(mlg_unzigzag(mlg_zigzag(s)), s);
        assert_int_equal(mlg_unzigzag(mlg_zigzag(-s)), -s);
    }
    memset(buf, 0xff, sizeof buf);
    uint64_t v;
    assert_null(mlg_varint_get(buf, buf + sizeof buf, &v)); /* longer than 10 bytes */
}

static void test_codec_roundtrip(void **state)
{
    (void)state;
    struct mlg_codec enc, dec;
    mlg_codec_reset(&enc, 1, 0);
    mlg_codec_reset(&dec, 1, 0);
    enum { N = 20000 };
    struct mlg_event *evs = calloc(N, sizeof *evs);
    uint8_t *buf = malloc(N * MLG_EVENT_MAX), *p = buf;
    uint64_t seq = 0, t = 0;
    for (int i = 0; i < N; i++) {
        random_event(&evs[i], &seq, &t);
        p = mlg_codec_put(&enc, p, &evs[i]);
    }
    const uint8_t *q = buf;
    for (int i = 0; i < N; i++) {
        struct mlg_event ev;
        q = mlg_codec_get(&dec, q, p, &ev);
        assert_non_null(q);
        assert_same_event(&evs[i], &ev);
    }
    assert_ptr_equal(q, p);
    free(buf);
    free(evs);
}

static struct mlg_header test_header(void)
{
    struct mlg_header h = {0};
    h.version = MLG_FORMAT_VERSION;
    h.pid = 4242;
    h.ppid = 1;
    h.exec_gen = 2;
    h.parent_pid = 4242;
    h.parent_gen = 1;
    h.start_realtime_ns = 1700000000000000000ull;
    h.page_size = 4096;
    h.nproc = 2;
    h.argc = 2;
    memcpy(h.argv, "prog\0--flag", 12);
    strcpy(h.exe, "/usr/bin/prog");
    strcpy(h.glibc_version, "2.36");
    strcpy(h.malloc_lib, "/lib/libc.so.6");
    strcpy(h.env, "MALLOC_ARENA_MAX=2\n");
    return h;
}

/* Writes n random events with small frames; returns them (caller frees). */
static struct mlg_event *write_log(const char *path, int n, size_t frame_bytes, int trailer)
{
    struct mlg_event *evs = calloc((size_t)n, sizeof *evs);
    struct mlg_header h = test_header();
    struct mlg_writer *w;
    struct mlg_error err;
    struct mlg_writer_options opt = {.zstd_level = 1, .frame_bytes = frame_bytes};
    unlink(path);
    assert_int_equal(mlg_writer_create(&w, path, &h, &opt, &err), 0);
    uint64_t seq = 0, t = 0;
    for (int i = 0; i < n; i++) {
        random_event(&evs[i], &seq, &t);
        evs[i].index = (uint64_t)i;
        assert_int_equal(mlg_writer_add(w, &evs[i], &err), 0);
    }
    struct mlg_trailer tr = {.end = MLG_END_EXIT, .end_status = 3, .lost_events = 7};
    assert_int_equal(mlg_writer_finish(w, trailer ? &tr : NULL, &err), 0);
    return evs;
}

/* Reads a log; checks every delivered event against evs. Returns the count, *code the result. */
static uint64_t read_back(const char *path, const struct mlg_event *evs, int *code,
                          struct mlg_error *out_err)
{
    struct mlg_reader *r;
    struct mlg_error err;
    *code = mlg_reader_open(&r, path, NULL, &err);
    if (*code) {
        if (out_err)
            *out_err = err;
        return 0;
    }
    struct mlg_event ev;
    uint64_t n = 0;
    int rc;
    while ((rc = mlg_reader_next(r, &ev)) > 0) {
        assert_int_equal(ev.index, n);
        if (evs)
            assert_same_event(&evs[n], &ev);
        n++;
    }
    *code = rc < 0 ? -rc : 0;
    if (out_err)
        *out_err = *mlg_reader_error(r);
    mlg_reader_close(r);
    return n;
}

static void test_log_roundtrip(void **state)
{
    (void)state;
    const char *path = tmp_path("rt.mlog");
    struct mlg_event *evs = write_log(path, 50000, 4096, 1);
    struct mlg_reader *r;
    struct mlg_error err;
    assert_int_equal(mlg_reader_open(&r, path, NULL, &err), 0);
    const struct mlg_header *h = mlg_reader_header(r);
    assert_int_equal(h->pid, 4242);
    assert_int_equal(h->exec_gen, 2);
    assert_int_equal(h->argc, 2);
    assert_string_equal(h->argv + 5, "--flag");
    assert_string_equal(h->exe, "/usr/bin/prog");
    assert_string_equal(h->env, "MALLOC_ARENA_MAX=2\n");
    struct mlg_event ev;
    uint64_t n = 0;
    while (mlg_reader_next(r, &ev) > 0)
        assert_same_event(&evs[n++], &ev);
    assert_int_equal(n, 50000);
    const struct mlg_trailer *t = mlg_reader_trailer(r);
    assert_non_null(t);
    assert_int_equal(t->events, 50000);
    assert_int_equal(t->end, MLG_END_EXIT);
    assert_int_equal(t->end_status, 3);
    assert_int_equal(t->lost_events, 7);
    assert_true(mlg_reader_frames(r) > 10);
    mlg_reader_close(r);
    /* the writer never overwrites */
    struct mlg_writer *w;
    struct mlg_header hh = test_header();
    assert_int_equal(mlg_writer_create(&w, path, &hh, NULL, &err), MLG_E_EXISTS);
    free(evs);
}

/* Offsets where each frame starts: scan the container the way FORMAT.md describes it. */
static size_t frame_offsets(const uint8_t *data, size_t size, size_t *offs, size_t max)
{
    size_t n = 0, off = 0;
    while (off + 8 <= size && n < max) {
        uint32_t magic, len;
        memcpy(&magic, data + off, 4);
        memcpy(&len, data + off + 4, 4);
        offs[n++] = off;
        if ((magic & 0xfffffff0u) == 0x184D2A50u) {
            if ((magic & 0xf) == 1) {
                uint32_t comp;
                memcpy(&comp, data + off + 8 + 32, 4);
                off += 8 + len + comp;
            } else {
                off += 8 + len;
            }
        } else {
            break;
        }
    }
    return n;
}

/* Writes three events at 100, 200, 300 ns and a trailer ending at end_ns; returns end_time_ns
 * as read back. */
static uint64_t end_time_roundtrip(const char *path, uint64_t end_ns)
{
    struct mlg_header h = test_header();
    struct mlg_writer *w;
    struct mlg_error err;
    unlink(path);
    assert_int_equal(mlg_writer_create(&w, path, &h, NULL, &err), 0);
    for (unsigned i = 0; i < 3; i++) {
        struct mlg_event ev = {.index = i, .seq = i, .time_ns = 100 * (i + 1u), .op = MLG_OP_MALLOC,
                               .size = 16, .ptr = 0x1000 + 0x100 * i};
        assert_int_equal(mlg_writer_add(w, &ev, &err), 0);
    }
    struct mlg_trailer tr = {.end = MLG_END_EXIT, .end_time_ns = end_ns};
    assert_int_equal(mlg_writer_finish(w, &tr, &err), 0);
    int code;
    assert_int_equal(read_back(path, NULL, &code, NULL), 3);
    assert_int_equal(code, 0);
    struct mlg_reader *r;
    assert_int_equal(mlg_reader_open(&r, path, NULL, &err), 0);
    struct mlg_event ev;
    while (mlg_reader_next(r, &ev) > 0)
        ;
    const struct mlg_trailer *t = mlg_reader_trailer(r);
    assert_non_null(t);
    uint64_t got = t->end_time_ns;
    mlg_reader_close(r);
    return got;
}

/* The trailer's end time (issue 15 item 4): kept, never before the last event, absent = 0; a
 * trailer written before the field existed (ending at the op counts) still reads. */
static void test_trailer_end_time(void **state)
{
    (void)state;
    const char *path = tmp_path("end.mlog");
    assert_int_equal(end_time_roundtrip(path, 2000000000ull), 2000000000ull);
    assert_int_equal(end_time_roundtrip(path, 50), 300); /* per-thread clocks: clamped */
    assert_int_equal(end_time_roundtrip(path, 0), 0);
    assert_int_equal(end_time_roundtrip(path, 5000), 5000);
    /* drop the 8 bytes of end_time_ns from the trailer frame: the old layout */
    size_t size, offs[64];
    uint8_t *d = slurp(path, &size);
    size_t n = frame_offsets(d, size, offs, 64);
    size_t off = offs[n - 1];
    uint32_t len;
    memcpy(&len, d + off + 4, 4);
    assert_int_equal(off + 8 + len, size);
    uint8_t *payload = d + off + 8;
    assert_memory_equal(payload, "MLOGEND1", 8);
    uint32_t newlen = len - 8;
    uint32_t crc = mlg_crc32c(payload, newlen - 4);
    memcpy(payload + newlen - 4, &crc, 4);
    memcpy(d + off + 4, &newlen, 4);
    spit(path, d, size - 8);
    free(d);
    struct mlg_reader *r;
    struct mlg_error err;
    assert_int_equal(mlg_reader_open(&r, path, NULL, &err), 0);
    struct mlg_event ev;
    int rc;
    uint64_t events = 0;
    while ((rc = mlg_reader_next(r, &ev)) > 0)
        events++;
    assert_int_equal(rc, 0);
    assert_int_equal(events, 3);
    const struct mlg_trailer *t = mlg_reader_trailer(r);
    assert_non_null(t);
    assert_int_equal(t->end, MLG_END_EXIT);
    assert_int_equal(t->end_time_ns, 0);
    mlg_reader_close(r);
}

/* n mallocs of 16 bytes from seq first into w, times 100 ns apart. */
static void add_mallocs(struct mlg_writer *w, uint64_t first, int n)
{
    struct mlg_error err;
    for (int i = 0; i < n; i++) {
        uint64_t k = first + (uint64_t)i;
        struct mlg_event ev = {.seq = k, .time_ns = 100 * k, .op = MLG_OP_MALLOC, .size = 16,
                               .ptr = 0x10000 + 0x40 * k};
        assert_int_equal(mlg_writer_add(w, &ev, &err), 0);
    }
}

/* Events read from path until the end (*rc: 0 or -code), and the reader's in-progress flag. */
static uint64_t count_events(const char *path, int *rc, int *in_progress)
{
    struct mlg_reader *r;
    struct mlg_error err;
    struct mlg_event ev;
    assert_int_equal(mlg_reader_open(&r, path, NULL, &err), 0);
    uint64_t n = 0;
    while ((*rc = mlg_reader_next(r, &ev)) == 1)
        assert_int_equal(ev.index, n++);
    *in_progress = mlg_reader_in_progress(r);
    mlg_reader_close(r);
    return n;
}

/* A log being written (issue 19): its writer holds it, so a reader stops cleanly at the last
 * whole frame, even one cut short at the end of the file (the writer's next write); the same
 * log without its writer is damaged there. */
static void test_in_progress(void **state)
{
    (void)state;
    const char *path = tmp_path("ip.mlog");
    struct mlg_header h = test_header();
    struct mlg_writer *w;
    struct mlg_error err;
    unlink(path);
    assert_int_equal(mlg_writer_create(&w, path, &h, NULL, &err), 0);
    add_mallocs(w, 1, 100);
    assert_int_equal(mlg_writer_flush(w, &err), 0);
    add_mallocs(w, 101, 10); /* not flushed: not readable yet */
    int rc, ip;
    assert_int_equal(count_events(path, &rc, &ip), 100);
    assert_int_equal(rc, 0);
    assert_int_equal(ip, 1);
    /* a frame's metadata cut short at the end, as a reader may see a frame being appended */
    size_t size;
    uint8_t *d = slurp(path, &size);
    int fd = open(path, O_WRONLY | O_APPEND);
    assert_true(fd >= 0);
    size_t head = 8 + 40; /* header frame, then the frame metadata of the first event frame */
    uint32_t hlen;
    memcpy(&hlen, d + 4, 4);
    assert_int_equal(write(fd, d + 8 + hlen, head - 10), (ssize_t)(head - 10));
    close(fd);
    assert_int_equal(count_events(path, &rc, &ip), 100);
    assert_int_equal(rc, 0);
    assert_int_equal(ip, 1);
    /* the writer gone (here: abandoned without a trailer): the same bytes are a cut log */
    assert_int_equal(mlg_writer_finish(w, NULL, &err), 0);
    spit(path, d, size);
    assert_int_equal(count_events(path, &rc, &ip), 100);
    assert_int_equal(rc, -MLG_E_TRUNCATED);
    assert_int_equal(ip, 0);
    free(d);
}

/* Segments: a trailer that ends in SEGMENT names the next file, read on as one log (its
 * checkpoint skipped, indices and the trailer's totals continued); found under NAME.partial while
 * it is written; a missing one is an error after every event before it. */
static void test_segments(void **state)
{
    (void)state;
    char s1[512], s2[512];
    snprintf(s1, sizeof s1, "%s", tmp_path("g.1.s1.mlog"));
    snprintf(s2, sizeof s2, "%s", tmp_path("g.1.s2.mlog.partial"));
    unlink(s1);
    unlink(s2);
    struct mlg_header h = test_header();
    h.segment = 1;
    struct mlg_writer *w;
    struct mlg_error err;
    assert_int_equal(mlg_writer_create(&w, s1, &h, NULL, &err), 0);
    add_mallocs(w, 1, 50);
    struct mlg_trailer t = {.end = MLG_END_SEGMENT};
    strcpy(t.next_segment, "g.1.s2.mlog");
    assert_int_equal(mlg_writer_finish(w, &t, &err), 0);
    int rc, ip;
    /* the next segment missing */
    assert_int_equal(count_events(s1, &rc, &ip), 50);
    assert_int_equal(rc, -MLG_E_TRUNCATED);
    h.segment = 2;
    assert_int_equal(mlg_writer_create(&w, s2, &h, NULL, &err), 0);
    for (uint64_t k = 1; k <= 50; k += 2) { /* the checkpoint: every other block still live */
        struct mlg_event ev = {.seq = k, .time_ns = 100 * k, .op = MLG_OP_LIVE, .size = 16,
                               .ptr = 0x10000 + 0x40 * k, .arg = k == 1 ? 64 : 0};
        assert_int_equal(mlg_writer_add(w, &ev, &err), 0);
    }
    for (uint64_t k = 1; k <= 50; k += 2) { /* the rest are freed in the second segment */
        struct mlg_event ev = {.seq = 60 + k, .time_ns = 6000 + k, .op = MLG_OP_FREE,
                               .ptr = 0x10000 + 0x40 * k};
        assert_int_equal(mlg_writer_add(w, &ev, &err), 0);
    }
    /* segment 1 freed the even ones (not written above: the checkpoint says what is live) */
    struct mlg_trailer t2 = {.end = MLG_END_EXIT};
    assert_int_equal(mlg_writer_finish(w, &t2, &err), 0);
    struct mlg_reader *r;
    struct mlg_event ev;
    assert_int_equal(mlg_reader_open(&r, s1, NULL, &err), 0);
    uint64_t n = 0;
    while ((rc = mlg_reader_next(r, &ev)) == 1) {
        assert_int_equal(ev.index, n++);
        assert_true(ev.op != MLG_OP_LIVE);
    }
    assert_int_equal(rc, 0);
    assert_int_equal(n, 75);
    const struct mlg_trailer *tr = mlg_reader_trailer(r);
    assert_non_null(tr);
    assert_int_equal(tr->events, 75);
    assert_int_equal(tr->end, MLG_END_EXIT);
    assert_int_equal(tr->op_counts[MLG_OP_MALLOC], 50);
    assert_int_equal(tr->op_counts[MLG_OP_FREE], 25);
    assert_int_equal(tr->op_counts[MLG_OP_LIVE], 0);
    assert_string_equal(mlg_reader_path(r), s2);
    mlg_reader_close(r);
    /* the second alone: its checkpoint, then its events; the checker sees no unknown free */
    struct mlg_check c;
    assert_int_equal(mlg_check_init(&c, NULL), 0);
    assert_int_equal(mlg_reader_open(&r, s2, NULL, &err), 0);
    assert_int_equal(mlg_reader_header(r)->segment, 2);
    n = 0;
    while (mlg_reader_next(r, &ev) == 1) {
        if (n++ == 0)
            assert_true(ev.op == MLG_OP_LIVE && ev.arg == 64 && ev.seq == 1);
        mlg_check_event(&c, &ev);
    }
    assert_int_equal(n, 50);
    assert_int_equal(mlg_check_anomalies(&c), 0);
    assert_int_equal(c.live_blocks, 0);
    mlg_check_fini(&c);
    mlg_reader_close(r);
}

static void test_truncation(void **state)
{
    (void)state;
    const char *path = tmp_path("tr.mlog"), *cut = tmp_path("tr-cut.mlog");
    struct mlg_event *evs = write_log(path, 20000, 2048, 1);
    size_t size;
    uint8_t *data = slurp(path, &size);
    size_t offs[4096];
    size_t nf = frame_offsets(data, size, offs, 4096);
    assert_true(nf > 20);
    /* Cut at every frame boundary and 3 points inside each frame: the reader must deliver exactly
     * the events of the whole frames before the cut, then report where. */
    for (size_t i = 1; i < nf; i++) {
        size_t frame_end = i + 1 < nf ? offs[i + 1] : size;
        size_t cuts[] = {offs[i], offs[i] + 5, (offs[i] + frame_end) / 2, frame_end - 1};
        for (size_t k = 0; k < 4; k++) {
            spit(cut, data, cuts[k]);
            int code;
            struct mlg_error err;
            uint64_t got = read_back(cut, evs, &code, &err);
            assert_int_equal(code, MLG_E_TRUNCATED);
            assert_int_equal(err.event, got);
            assert_true(err.offset <= cuts[k]);
            assert_true(err.offset >= offs[i] - 1 || got == 0);
        }
    }
    /* the header itself cut */
    spit(cut, data, 20);
    int code;
    struct mlg_error err;
    assert_int_equal(read_back(cut, NULL, &code, &err), 0);
    assert_int_equal(code, MLG_E_TRUNCATED);
    free(data);
    free(evs);
}

static void test_flipped_bytes(void **state)
{
    (void)state;
    const char *path = tmp_path("fl.mlog"), *bad = tmp_path("fl-bad.mlog");
    struct mlg_event *evs = write_log(path, 20000, 4096, 1);
    size_t size;
    uint8_t *data = slurp(path, &size);
    uint8_t *copy = malloc(size);
    for (int trial = 0; trial < 300; trial++) {
        memcpy(copy, data, size);
        size_t at = (size_t)(rnd() % size);
        copy[at] ^= (uint8_t)(1u << (rnd() % 8));
        spit(bad, copy, size);
        int code;
        struct mlg_error err;
        uint64_t got = read_back(bad, evs, &code, &err); /* events delivered must be the true ones */
        if (code == 0) {
            /* a flip in slack that nothing reads; everything must still be intact */
            assert_int_equal(got, 20000);
            continue;
        }
        assert_true(code == MLG_E_CHECKSUM || code == MLG_E_CORRUPT || code == MLG_E_ZSTD ||
                    code == MLG_E_TRUNCATED || code == MLG_E_NOT_MLOG || code == MLG_E_VERSION);
        assert_true(err.offset <= at + 8);
        assert_int_equal(err.event, got);
    }
    free(copy);
    free(data);
    free(evs);
}

/* The padded varint decoder agrees with mlg_varint_get on every value and every cut, whatever the
 * bytes past the end are (the reader pads with zeros; 0xff would continue a varint). */
static void test_varint_padded(void **state)
{
    (void)state;
    static const uint64_t values[] = {0, 1, 127, 128, 255, 300, 16383, 16384, 1u << 21,
                                      (1u << 28) - 1, 1ull << 35, 1ull << 49, 1ull << 56,
                                      (1ull << 56) - 1, 1ull << 63, UINT64_MAX};
    for (int pad = 0; pad < 2; pad++) {
        for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
            uint8_t buf[16 + MLG_VARINT_PAD];
            memset(buf, pad ? 0xff : 0, sizeof buf);
            uint8_t *end = mlg_varint_put(buf, values[i]);
            for (uint8_t *cut = buf; cut <= end; cut++) {
                uint64_t a = 1, b = 2;
                const uint8_t *pa = mlg_varint_get(buf, cut, &a);
                const uint8_t *pb = mlg_varint_get_padded(buf, cut, &b);
                assert_ptr_equal(pa, pb);
                if (pa)
                    assert_int_equal(a, b);
            }
            uint64_t v;
            assert_ptr_equal(mlg_varint_get_padded(buf, end, &v), end);
            assert_int_equal(v, values[i]);
        }
    }
    uint8_t bad[11 + MLG_VARINT_PAD];
    memset(bad, 0xff, sizeof bad);
    uint64_t v;
    assert_null(mlg_varint_get_padded(bad, bad + 11, &v)); /* longer than 10 bytes */
}

/* Everything a reader delivers for path, event by event, through mlg_reader_next (batch 0),
 * mlg_reader_next_batch(batch) or, batch < 0, mlg_reader_next_recs(-batch) (the records made
 * events again: seq, seq_rel, arg and stack 0): the events, the final code and the error. */
struct read_all {
    struct mlg_event *ev;
    uint64_t n;
    int code;
    struct mlg_error err;
};

static void read_all(const char *path, int batch, struct read_all *out)
{
    struct mlg_reader *r;
    memset(out, 0, sizeof *out);
    out->code = mlg_reader_open(&r, path, NULL, &out->err);
    if (out->code)
        return;
    size_t cap = 1024;
    out->ev = malloc(cap * sizeof *out->ev);
    int rc;
    for (;;) {
        if (out->n + 8192 > cap) {
            cap = 2 * cap + 8192;
            out->ev = realloc(out->ev, cap * sizeof *out->ev);
        }
        if (batch < 0) {
            struct mlg_rec v[8192];
            rc = mlg_reader_next_recs(r, v, -batch);
            for (int i = 0; i < rc; i++) {
                struct mlg_event *e = &out->ev[out->n + (uint64_t)i];
                memset(e, 0, sizeof *e);
                e->index = out->n + (uint64_t)i;
                e->ptr = v[i].ptr;
                e->old_ptr = v[i].old_ptr;
                e->size = v[i].size;
                e->result = v[i].result;
                e->time_ns = v[i].time_ns;
                e->thread = v[i].thread;
                e->op = v[i].op;
                e->outcome = v[i].outcome;
            }
        } else {
            rc = batch ? mlg_reader_next_batch(r, out->ev + out->n, batch)
                       : mlg_reader_next(r, out->ev + out->n);
        }
        if (rc <= 0)
            break;
        assert_true(rc <= (batch ? abs(batch) : 1));
        out->n += (uint64_t)rc;
    }
    out->code = -rc;
    out->err = *mlg_reader_error(r);
    /* after the end, the end again */
    struct mlg_event one;
    struct mlg_rec rec;
    assert_int_equal(batch < 0   ? mlg_reader_next_recs(r, &rec, 1)
                     : batch > 0 ? mlg_reader_next_batch(r, &one, 1)
                                 : mlg_reader_next(r, &one),
                     rc);
    mlg_reader_close(r);
}

/* The batch reader (and the record reader, negative sizes) gives exactly what the event-by-event
 * reader gives, for several batch sizes. */
static void assert_batches_agree(const char *path)
{
    struct read_all a;
    read_all(path, 0, &a);
    static const int sizes[] = {1, 2, 7, 100, 2048, 5000, -1, -3, -512, -5000};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        struct read_all b;
        read_all(path, sizes[k], &b);
        assert_int_equal(a.code, b.code);
        assert_int_equal(a.n, b.n);
        assert_int_equal(a.err.code, b.err.code);
        assert_int_equal(a.err.offset, b.err.offset);
        assert_int_equal(a.err.event, b.err.event);
        assert_string_equal(a.err.detail, b.err.detail);
        for (uint64_t i = 0; i < a.n && sizes[k] < 0; i++) {
            assert_int_equal(a.ev[i].op, b.ev[i].op);
            assert_int_equal(a.ev[i].outcome, b.ev[i].outcome);
            assert_int_equal(a.ev[i].thread, b.ev[i].thread);
            assert_int_equal(a.ev[i].ptr, b.ev[i].ptr);
            assert_int_equal(a.ev[i].old_ptr, b.ev[i].old_ptr);
            assert_int_equal(a.ev[i].size, b.ev[i].size);
            assert_int_equal(a.ev[i].result, b.ev[i].result);
            assert_int_equal(a.ev[i].time_ns, b.ev[i].time_ns);
        }
        for (uint64_t i = 0; i < a.n && sizes[k] > 0; i++) {
            assert_int_equal(b.ev[i].index, i);
            assert_same_event(&a.ev[i], &b.ev[i]);
            assert_int_equal(a.ev[i].seq, b.ev[i].seq);
            assert_int_equal(a.ev[i].seq_rel, b.ev[i].seq_rel);
            assert_int_equal(a.ev[i].thread, b.ev[i].thread);
            assert_int_equal(a.ev[i].stack, b.ev[i].stack);
        }
        free(b.ev);
    }
    free(a.ev);
}

/* Replaces the events of the event frame whose metadata starts at off with fix(raw) (recompressed,
 * metadata updated); returns the new file in *out. */
static size_t rewrite_frame(const uint8_t *data, size_t size, size_t off, uint8_t **out,
                            size_t (*fix)(uint8_t *raw, size_t n))
{
    uint32_t raw_size, comp_size;
    memcpy(&raw_size, data + off + 8 + 28, 4);
    memcpy(&comp_size, data + off + 8 + 32, 4);
    uint8_t *raw = malloc(raw_size + 64);
    assert_int_equal(ZSTD_decompress(raw, raw_size, data + off + 48, comp_size), raw_size);
    size_t n = fix(raw, raw_size);
    size_t bound = ZSTD_compressBound(n);
    *out = malloc(size + bound);
    memcpy(*out, data, off + 48);
    size_t comp = ZSTD_compress(*out + off + 48, bound, raw, n, 1);
    assert_false(ZSTD_isError(comp));
    uint8_t *meta = *out + off + 8;
    uint32_t v = (uint32_t)n;
    memcpy(meta + 28, &v, 4);
    v = (uint32_t)comp;
    memcpy(meta + 32, &v, 4);
    v = mlg_crc32c(meta, 36);
    memcpy(meta + 36, &v, 4);
    size_t rest = size - (off + 48 + comp_size);
    memcpy(*out + off + 48 + comp, data + off + 48 + comp_size, rest);
    free(raw);
    return off + 48 + comp + rest;
}

static size_t fix_bad_op(uint8_t *raw, size_t n)
{
    raw[n / 2] = 15; /* not an op; if it lands inside a field the decode goes wrong another way */
    return n;
}

static size_t fix_cut_varint(uint8_t *raw, size_t n)
{
    raw[n - 1] |= 0x80; /* the last varint of the frame now runs past its end */
    return n;
}

static size_t fix_trailing(uint8_t *raw, size_t n)
{
    raw[n] = MLG_OP_THREAD_END; /* one event more than the metadata counts */
    return n + 1;
}

static size_t fix_short(uint8_t *raw, size_t n)
{
    (void)raw;
    return n - 3; /* the frame ends inside its last events */
}

static void batch_reader_checks(void)
{
    const char *path = tmp_path("batch.mlog"), *bad = tmp_path("batch-bad.mlog");
    struct mlg_event *evs = write_log(path, 30000, 4096, 1);
    assert_batches_agree(path);
    size_t size;
    uint8_t *data = slurp(path, &size);
    size_t offs[4096];
    size_t nf = frame_offsets(data, size, offs, 4096);
    assert_true(nf > 20);
    /* truncated: at frame boundaries and inside frames */
    for (size_t i = 1; i < nf; i += 7) {
        spit(bad, data, offs[i] + 11);
        assert_batches_agree(bad);
        spit(bad, data, offs[i]);
        assert_batches_agree(bad);
    }
    /* frames that decompress but whose events are damaged: the events before the damage are
     * delivered, the error names the frame and the first event lost */
    size_t (*fixes[])(uint8_t *, size_t) = {fix_bad_op, fix_cut_varint, fix_trailing, fix_short};
    size_t frames[] = {1, nf / 2, nf - 2};
    for (size_t f = 0; f < sizeof fixes / sizeof fixes[0]; f++) {
        for (size_t k = 0; k < 3; k++) {
            uint32_t magic;
            memcpy(&magic, data + offs[frames[k]], 4);
            if (magic != MLG_SKIP_MAGIC + MLG_SKIP_FRAME)
                continue;
            uint8_t *copy;
            size_t n = rewrite_frame(data, size, offs[frames[k]], &copy, fixes[f]);
            spit(bad, copy, n);
            struct read_all a;
            read_all(bad, 0, &a);
            if (f == 0 && a.code == 0) { /* the byte landed in a field and still decodes */
                free(a.ev);
                free(copy);
                continue;
            }
            assert_int_equal(a.code, MLG_E_CORRUPT);
            assert_int_equal(a.err.event, a.n);
            assert_int_equal(a.err.offset, offs[frames[k]]);
            uint64_t first; /* the damaged frame's first event: all before it are the true ones */
            memcpy(&first, data + offs[frames[k]] + 8, 8);
            assert_true(a.n >= first);
            for (uint64_t i = 0; i < first; i++)
                assert_same_event(&evs[i], &a.ev[i]);
            free(a.ev);
            assert_batches_agree(bad);
            free(copy);
        }
    }
    free(data);
    free(evs);
}

/* Logs of every kind of event, and churn-like ones (the fast paths of the decoders). */
static void test_batch_reader(void **state)
{
    (void)state;
    for (churn_like = 0; churn_like < 2; churn_like++)
        batch_reader_checks();
    churn_like = 0;
}

static void test_bad_files(void **state)
{
    (void)state;
    const char *empty = tmp_path("empty.mlog"), *foreign = tmp_path("foreign.mlog");
    spit(empty, (const uint8_t *)"", 0);
    int code;
    struct mlg_error err;
    read_back(empty, NULL, &code, &err);
    assert_int_equal(code, MLG_E_EMPTY);
    const char text[] = "#!/bin/sh\necho this is not a log\n";
    spit(foreign, (const uint8_t *)text, sizeof text);
    read_back(foreign, NULL, &code, &err);
    assert_int_equal(code, MLG_E_NOT_MLOG);
    assert_int_equal(err.offset, 0);
    read_back(tmp_path("does-not-exist.mlog"), NULL, &code, &err);
    assert_int_equal(code, MLG_E_IO);
    char msg[256];
    mlg_error_format(&err, msg, sizeof msg);
    assert_non_null(strstr(msg, "No such file"));
    /* no trailer: every event is read, then "incomplete" */
    const char *nt = tmp_path("notrailer.mlog");
    struct mlg_event *evs = write_log(nt, 1000, 4096, 0);
    struct mlg_error e2;
    assert_int_equal(read_back(nt, evs, &code, &e2), 1000);
    assert_int_equal(code, MLG_E_TRUNCATED);
    assert_non_null(strstr(e2.detail, "incomplete"));
    free(evs);
}

struct visit {
    uint64_t events, pid;
    int ended, end_code;
};

static int visit_header(void *ctx, const struct mlg_header *h)
{
    ((struct visit *)ctx)->pid = h->pid;
    return 0;
}

static int visit_event(void *ctx, const struct mlg_event *ev)
{
    struct visit *v = ctx;
    assert_int_equal(ev->index, v->events);
    v->events++;
    return 0;
}

static void visit_end(void *ctx, const struct mlg_trailer *t, const struct mlg_error *err)
{
    struct visit *v = ctx;
    v->ended++;
    v->end_code = err->code;
    if (!err->code)
        assert_int_equal(t->events, v->events);
}

/* The visitor interface: header, every event in order, one end call with the error, if any. */
static void test_visitor(void **state)
{
    (void)state;
    const char *path = tmp_path("vis.mlog"), *cut = tmp_path("vis-cut.mlog");
    free(write_log(path, 30000, 4096, 1));
    struct visit v = {0};
    struct mlg_visitor vis = {&v, visit_header, visit_event, visit_end};
    struct mlg_error err;
    assert_int_equal(mlg_read_file(path, &vis, NULL, &err), 0);
    assert_int_equal(v.pid, 4242);
    assert_int_equal(v.events, 30000);
    assert_int_equal(v.ended, 1);
    size_t size;
    uint8_t *data = slurp(path, &size);
    spit(cut, data, size / 2);
    free(data);
    struct visit w = {0};
    vis.ctx = &w;
    assert_int_equal(mlg_read_file(cut, &vis, NULL, &err), MLG_E_TRUNCATED);
    assert_int_equal(w.ended, 1);
    assert_int_equal(w.end_code, MLG_E_TRUNCATED);
    assert_int_equal(err.event, w.events); /* every event before the damage was visited */
    assert_true(w.events > 0 && w.events < 30000);
}

static void test_units(void **state)
{
    (void)state;
    uint64_t v;
    assert_int_equal(mlg_parse_size("64M", &v), 0);
    assert_int_equal(v, 64ull << 20);
    assert_int_equal(mlg_parse_size("1.5GiB", &v), 0);
    assert_int_equal(v, 3ull << 29);
    assert_int_equal(mlg_parse_size("4096", &v), 0);
    assert_int_equal(v, 4096);
    assert_int_equal(mlg_parse_size("12Q", &v), MLG_E_ARG);
    char buf[32];
    assert_string_equal(mlg_format_size(1536, buf, sizeof buf), "1.50 KiB");
    assert_string_equal(mlg_format_size(100, buf, sizeof buf), "100 B");
    assert_string_equal(mlg_op_name(MLG_OP_POSIX_MEMALIGN), "posix_memalign");
    assert_int_equal(mlg_op_from_name("pvalloc"), MLG_OP_PVALLOC);
}

int main(void)
{
    unit_tmpdir("format");
    rng = 0x1234567; /* the seed the damage tests were written with */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_varint_zigzag), cmocka_unit_test(test_codec_roundtrip),
        cmocka_unit_test(test_log_roundtrip), cmocka_unit_test(test_trailer_end_time),
        cmocka_unit_test(test_truncation), cmocka_unit_test(test_in_progress),
        cmocka_unit_test(test_segments),
        cmocka_unit_test(test_flipped_bytes), cmocka_unit_test(test_bad_files),
        cmocka_unit_test(test_visitor),       cmocka_unit_test(test_units),
        cmocka_unit_test(test_varint_padded), cmocka_unit_test(test_batch_reader),
    };
    return unit_done(cmocka_run_group_tests_name("format", tests, NULL, NULL));
}

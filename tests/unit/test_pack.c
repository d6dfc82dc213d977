/* test_pack.c - spool packing (lib/pack.c): spools built by hand the way libmallog.so writes
 * them, packed whole and step by step while "the process runs": thread merge in sequence order,
 * realloc release split, records out of order, damaged and unstamped spools, how streams end. */
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

#include "../../lib/mallog.h"
#include "../../lib/spool.h"
#include "unit.h"

/* Builds a spool by hand the way libmallog.so writes it, packs it, reads it back. */
struct spool_builder {
    uint8_t *map;
    size_t size;
    uint32_t next_chunk;
};

/* An empty spool of `chunks` chunks (the header's included) for process pid. */
static struct mlg_spool_header *spool_builder_init(struct spool_builder *b, size_t chunks,
                                                   uint64_t pid)
{
    memset(b, 0, sizeof *b);
    b->size = chunks * MLG_SPOOL_CHUNK;
    b->map = calloc(1, b->size);
    struct mlg_spool_header *h = (struct mlg_spool_header *)(void *)b->map;
    memcpy(h->magic, MLG_SPOOL_MAGIC, 8);
    h->version = MLG_SPOOL_VERSION;
    h->chunk_size = MLG_SPOOL_CHUNK;
    h->window_size = MLG_SPOOL_WINDOW;
    h->pid = pid;
    return h;
}

static uint8_t *spool_chunk(struct spool_builder *b, uint32_t thread)
{
    uint8_t *c = b->map + (size_t)(++b->next_chunk) * MLG_SPOOL_CHUNK;
    struct mlg_spool_chunk *hdr = (struct mlg_spool_chunk *)(void *)c;
    hdr->thread = thread;
    hdr->tid = 100 + thread;
    hdr->magic = MLG_SPOOL_CHUNK_MAGIC;
    return c + sizeof *hdr;
}

/* The spool b written to `spool`, packed whole into `out` (a new file). */
static void pack_built(const struct spool_builder *b, const char *spool, const char *out,
                       struct mlg_pack_result *res)
{
    struct mlg_error err;
    spit(spool, b->map, b->size);
    unlink(out);
    assert_int_equal(mlg_pack_spool(spool, out, -1, 0, NULL, res, &err), 0);
}

static void test_pack_spool(void **state)
{
    (void)state;
    struct spool_builder b;
    struct mlg_spool_header *h = spool_builder_init(&b, 8, 77);
    h->argc = 1;
    strcpy(h->argv, "x");
    /* thread 0: malloc A (seq 1), realloc A->B released at 2 acquired at 5 (thread 1 ran
     * between and got A back), free B (seq 7). thread 1: malloc A (seq 3), free A (4), a nested
     * (signal) malloc recorded out of order (seq 6 written before seq 5 of another record). */
    uint8_t *c0 = spool_chunk(&b, 0), *c1 = spool_chunk(&b, 1);
    struct mlg_spool_state s0 = {0}, s1 = {0};
    size_t o0 = 0, o1 = 0;
    o0 +=
        mlg_spool_encode(c0 + o0, &s0, 0, MLG_OP_MALLOC, MLG_OUT_OK, 1, 0, 0, 0, 64, 0xA000, 0, 0);
    o0 += mlg_spool_encode(c0 + o0, &s0, 0, MLG_OP_REALLOC, MLG_OUT_MOVED, 5, 2, 0xA000, 0, 128,
                           0xB000, 0, 0);
    o0 += mlg_spool_encode(c0 + o0, &s0, 0, MLG_OP_FREE, MLG_OUT_OK, 8, 0, 0, 0, 0, 0xB000, 0, 0);
    o1 +=
        mlg_spool_encode(c1 + o1, &s1, 0, MLG_OP_MALLOC, MLG_OUT_OK, 3, 0, 0, 0, 32, 0xA000, 0, 0);
    o1 += mlg_spool_encode(c1 + o1, &s1, 0, MLG_OP_FREE, MLG_OUT_OK, 4, 0, 0, 0, 0, 0xA000, 0, 0);
    o1 +=
        mlg_spool_encode(c1 + o1, NULL, 1, MLG_OP_MALLOC, MLG_OUT_OK, 7, 0, 0, 0, 16, 0xC000, 0, 0);
    o1 += mlg_spool_encode(c1 + o1, &s1, 0, MLG_OP_FREE, MLG_OUT_OK, 6, 0, 0, 0, 0, 0xD000, 0, 0);
    /* a hole: a record whose tag never got written (the process died mid-record) */
    uint8_t hole[MLG_SPOOL_REC_MAX];
    unsigned hl =
        mlg_spool_encode(hole, &s1, 0, MLG_OP_MALLOC, MLG_OUT_OK, 9, 0, 0, 0, 8, 0xE000, 0, 0);
    memcpy(c1 + o1 + 1, hole + 1, hl - 1);
    const char *spool = tmp_path("p.77.0.spool"), *out = tmp_path("p.77.mlog");
    struct mlg_pack_result res;
    struct mlg_error err;
    pack_built(&b, spool, out, &res);
    assert_int_equal(res.threads, 2);
    assert_int_equal(res.lost_events, 1);
    assert_int_equal(res.end, MLG_END_VANISHED);
    struct mlg_reader *r;
    assert_int_equal(mlg_reader_open(&r, out, NULL, &err), 0);
    struct mlg_event ev;
    static const struct {
        uint8_t op;
        uint64_t seq;
        uint64_t ptr;
    } want[] = {{MLG_OP_MALLOC, 1, 0xA000},  {MLG_OP_REALLOC_RELEASE, 2, 0},
                {MLG_OP_MALLOC, 3, 0xA000},  {MLG_OP_FREE, 4, 0xA000},
                {MLG_OP_REALLOC, 5, 0xB000}, {MLG_OP_FREE, 6, 0xD000},
                {MLG_OP_MALLOC, 7, 0xC000},  {MLG_OP_FREE, 8, 0xB000}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        assert_int_equal(mlg_reader_next(r, &ev), 1);
        assert_int_equal(ev.op, want[i].op);
        assert_int_equal(ev.seq, want[i].seq);
        if (ev.op == MLG_OP_REALLOC_RELEASE)
            assert_int_equal(ev.old_ptr, 0xA000);
        else
            assert_int_equal(ev.ptr, want[i].ptr);
        if (ev.op == MLG_OP_REALLOC)
            assert_int_equal(ev.outcome, MLG_OUT_OLD_RELEASED);
    }
    assert_int_equal(mlg_reader_next(r, &ev), 0);
    mlg_reader_close(r);
    /* no overwrite of an existing log */
    assert_int_equal(mlg_pack_spool(spool, out, -1, 0, NULL, &res, &err), MLG_E_EXISTS);
    free(b.map);
}

/* Writes len bytes at off into the spool file a live packer has open (as the program would). */
static void spool_poke(const char *spool, size_t off, const void *data, size_t len)
{
    FILE *f = fopen(spool, "r+b");
    assert_non_null(f);
    assert_int_equal(fseek(f, (long)off, SEEK_SET), 0);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
}

/* The spool b written to `spool`, and a live packer on it writing `out`. */
static struct mlg_packer *open_live(const struct spool_builder *b, const char *spool,
                                    const char *out)
{
    struct mlg_packer *pk;
    struct mlg_error err;
    spit(spool, b->map, b->size);
    unlink(out);
    assert_int_equal(mlg_packer_open(&pk, spool, out, NULL, &err), 0);
    return pk;
}

/* The log at out holds exactly the events of seq 1..n, in that order. */
static void expect_seqs(const char *out, uint64_t n)
{
    struct mlg_reader *r;
    struct mlg_error err;
    struct mlg_event ev;
    assert_int_equal(mlg_reader_open(&r, out, NULL, &err), 0);
    for (uint64_t want = 1; want <= n; want++) {
        assert_int_equal(mlg_reader_next(r, &ev), 1);
        assert_int_equal(ev.seq, want);
    }
    assert_int_equal(mlg_reader_next(r, &ev), 0);
    mlg_reader_close(r);
}

/* Thread `thread` of the spool b (written at `spool`) leaves its hook: its slot is cleared. */
static void leave_hook(const char *spool, const struct spool_builder *b, struct mlg_spool_header *h,
                       uint32_t thread)
{
    uint64_t zero = 0;
    spool_poke(spool, (size_t)((uint8_t *)(uintptr_t)mlg_spool_slot(h, thread) - b->map), &zero, 8);
}

/* The program has exited: the live packer finishes with n events, none lost, seqs 1..n in order. */
static void finish_live(struct mlg_packer *pk, const char *out, uint64_t n)
{
    struct mlg_pack_result res;
    struct mlg_error err;
    assert_int_equal(mlg_packer_finish(pk, MLG_END_EXIT, 0, &res, &err), 0);
    assert_int_equal(res.events, n);
    assert_int_equal(res.lost_events, 0);
    expect_seqs(out, n);
}

/* Packing beside a running program: only events below the horizon (the counter, lowered by every
 * thread that is between taking a number and publishing) may be written. */
static void test_pack_online(void **state)
{
    (void)state;
    struct spool_builder b;
    struct mlg_spool_header *h = spool_builder_init(&b, 4, 78);
    uint8_t *c0 = spool_chunk(&b, 0), *c1 = spool_chunk(&b, 1);
    h->chunks_claimed = 3;
    h->seq_counter = 6;
    h->threads_started = 2;
    struct mlg_spool_state s0 = {0}, s1 = {0};
    size_t o0 = 0, o1 = 0;
    o0 += mlg_spool_encode(c0 + o0, &s0, 0, MLG_OP_MALLOC, MLG_OUT_OK, 1, 0, 0, 0, 8, 0x100, 0, 0);
    o0 += mlg_spool_encode(c0 + o0, &s0, 0, MLG_OP_MALLOC, MLG_OUT_OK, 2, 0, 0, 0, 8, 0x200, 0, 0);
    o0 += mlg_spool_encode(c0 + o0, &s0, 0, MLG_OP_FREE, MLG_OUT_OK, 5, 0, 0, 0, 0, 0x100, 0, 0);
    o1 += mlg_spool_encode(c1 + o1, &s1, 0, MLG_OP_MALLOC, MLG_OUT_OK, 3, 0, 0, 0, 8, 0x300, 0, 0);
    *mlg_spool_slot(h, 1) = 4 + 1; /* thread 1 took 4 and has not published it */
    const char *spool = tmp_path("q.78.0.spool"), *out = tmp_path("q.78.mlog");
    struct mlg_packer *pk = open_live(&b, spool, out);
    struct mlg_error err;
    uint64_t progress;
    assert_int_equal(mlg_packer_step(pk, 0, &progress, &err), 0);
    assert_int_equal(progress, 3); /* seqs 1, 2, 3; 5 waits for 4 */
    assert_int_equal(mlg_packer_step(pk, 0, &progress, &err), 0);
    assert_int_equal(progress, 0);
    /* thread 1 publishes 4 and leaves its hook */
    uint8_t rec[MLG_SPOOL_REC_MAX];
    unsigned len =
        mlg_spool_encode(rec, &s1, 0, MLG_OP_FREE, MLG_OUT_OK, 4, 0, 0, 0, 0, 0x300, 0, 0);
    spool_poke(spool, 2 * MLG_SPOOL_CHUNK + sizeof(struct mlg_spool_chunk) + o1, rec, len);
    leave_hook(spool, &b, h, 1);
    assert_int_equal(mlg_packer_step(pk, 0, &progress, &err), 0);
    assert_int_equal(progress, 2);
    finish_live(pk, out, 5);
    free(b.map);
}

/* A chunk claimed but not stamped yet (its thread preempted between the two) must not hide the
 * chunks claimed after it: their records below the horizon are merged in order, not late. */
static void test_pack_online_unstamped(void **state)
{
    (void)state;
    struct spool_builder b;
    struct mlg_spool_header *h = spool_builder_init(&b, 5, 79);
    uint8_t *c0 = spool_chunk(&b, 0);
    uint32_t unstamped = ++b.next_chunk; /* claimed by thread 2, not stamped yet */
    uint8_t *c1 = spool_chunk(&b, 1);
    h->chunks_claimed = 4;
    h->seq_counter = 7;
    h->threads_started = 3;
    struct mlg_spool_state s0 = {0}, s1 = {0}, s2 = {0};
    size_t o0 = 0, o1 = 0;
    o0 += mlg_spool_encode(c0 + o0, &s0, 0, MLG_OP_MALLOC, MLG_OUT_OK, 1, 0, 0, 0, 8, 0x100, 0, 0);
    o0 += mlg_spool_encode(c0 + o0, &s0, 0, MLG_OP_MALLOC, MLG_OUT_OK, 2, 0, 0, 0, 8, 0x200, 0, 0);
    o0 += mlg_spool_encode(c0 + o0, &s0, 0, MLG_OP_FREE, MLG_OUT_OK, 5, 0, 0, 0, 0, 0x100, 0, 0);
    o1 += mlg_spool_encode(c1 + o1, &s1, 0, MLG_OP_MALLOC, MLG_OUT_OK, 3, 0, 0, 0, 8, 0x300, 0, 0);
    o1 += mlg_spool_encode(c1 + o1, &s1, 0, MLG_OP_FREE, MLG_OUT_OK, 4, 0, 0, 0, 0, 0x300, 0, 0);
    *mlg_spool_slot(h, 2) = 6 + 1; /* thread 2 took 6 and is writing it (it claimed a chunk) */
    const char *spool = tmp_path("u.79.0.spool"), *out = tmp_path("u.79.mlog");
    struct mlg_packer *pk = open_live(&b, spool, out);
    struct mlg_error err;
    uint64_t progress;
    assert_int_equal(mlg_packer_step(pk, 0, &progress, &err), 0);
    assert_int_equal(progress, 5); /* 1..5, thread 1's 3 and 4 among them; 6 is in flight */
    /* thread 2 stamps its chunk, publishes 6 and leaves its hook */
    struct mlg_spool_chunk hdr = {0};
    hdr.thread = 2;
    hdr.tid = 102;
    hdr.magic = MLG_SPOOL_CHUNK_MAGIC;
    uint8_t rec[MLG_SPOOL_REC_MAX];
    unsigned len =
        mlg_spool_encode(rec, &s2, 0, MLG_OP_MALLOC, MLG_OUT_OK, 6, 0, 0, 0, 8, 0x400, 0, 0);
    spool_poke(spool, (size_t)unstamped * MLG_SPOOL_CHUNK + sizeof hdr, rec, len);
    spool_poke(spool, (size_t)unstamped * MLG_SPOOL_CHUNK, &hdr, sizeof hdr);
    leave_hook(spool, &b, h, 2);
    finish_live(pk, out, 6);
    free(b.map);
}

/* A thread whose chunk list is exactly full (8 chunks: the list's first capacity) and whose
 * events end before another thread's: once its stream had ended, the packer's next look at it read
 * the entry past the end of its chunk list (ASan caught it in a fork test). */
/* Segments (issue 19): the naming and retention of the caller, here files seg.sK.mlog. */
struct segs {
    uint32_t done, last;
};

static int seg_path(void *ctx, uint32_t k, char *out, size_t len)
{
    struct segs *g = ctx;
    g->last = k;
    char name[32];
    snprintf(name, sizeof name, "seg.s%u.mlog", k);
    snprintf(out, len, "%s", tmp_path(name));
    return 0;
}

static void seg_done(void *ctx, uint32_t k, const char *path)
{
    struct segs *g = ctx;
    assert_int_equal(k, g->done + 1);
    assert_non_null(strstr(path, "seg.s"));
    g->done = k;
}

/* The live blocks at the end of a log (every segment from path on, as the reader follows them),
 * by the checker; returns the unknown frees. */
static uint64_t check_log(const char *path, uint64_t *events, uint64_t *blocks, uint64_t *bytes)
{
    struct mlg_reader *r;
    struct mlg_error err;
    struct mlg_check c;
    struct mlg_event ev;
    assert_int_equal(mlg_reader_open(&r, path, NULL, &err), 0);
    assert_int_equal(mlg_check_init(&c, NULL), 0);
    int n;
    *events = 0;
    while ((n = mlg_reader_next(r, &ev)) == 1) {
        mlg_check_event(&c, &ev);
        ++*events;
    }
    assert_int_equal(n, 0);
    *blocks = c.live_blocks;
    *bytes = c.live_bytes;
    uint64_t unknown = mlg_check_anomalies(&c);
    mlg_check_fini(&c);
    mlg_reader_close(r);
    return unknown;
}

/* A spool packed in segments: each starts with a checkpoint of the live blocks (events of op
 * LIVE), so each read from there on has no unknown free and the same live set at the end; read
 * from the first, the segments are the unsegmented log, event for event. */
static void test_pack_segments(void **state)
{
    (void)state;
    struct spool_builder b;
    spool_builder_init(&b, 4, 79);
    uint8_t *c0 = spool_chunk(&b, 0);
    struct mlg_spool_state st = {0};
    size_t o = 0;
    uint64_t slot[64] = {0}, seq = 0;
    rng = 19;
    for (int i = 0; i < 3000; i++) {
        unsigned k = (unsigned)(rnd() % 64);
        if (slot[k]) {
            o += mlg_spool_encode(c0 + o, &st, 0, MLG_OP_FREE, MLG_OUT_OK, ++seq, 0, 0, 0, 0,
                                  slot[k], 0, 0);
            slot[k] = 0;
        } else {
            slot[k] = 0x10000 + (uint64_t)i * 64;
            int align = i % 7 == 0;
            o += mlg_spool_encode(c0 + o, &st, 0, align ? MLG_OP_POSIX_MEMALIGN : MLG_OP_MALLOC,
                                  MLG_OUT_OK, ++seq, 0, 0, align ? 64 : 0, 16 + rnd() % 500,
                                  slot[k], 0, 0);
        }
    }
    char spool[512], one[512]; /* tmp_path's buffers are reused */
    snprintf(spool, sizeof spool, "%s", tmp_path("s.79.0.spool"));
    snprintf(one, sizeof one, "%s", tmp_path("s.79.mlog"));
    struct mlg_pack_result res;
    pack_built(&b, spool, one, &res);
    struct segs g = {0, 0};
    struct mlg_segments ms = {256, seg_path, seg_done, NULL, &g};
    struct mlg_writer_options opt = {.frame_bytes = 512, .segments = &ms};
    struct mlg_error err;
    for (uint32_t k = 1; k < 100; k++) {
        char name[32];
        snprintf(name, sizeof name, "seg.s%u.mlog", k);
        unlink(tmp_path(name));
    }
    assert_int_equal(mlg_pack_spool(spool, NULL, -1, 0, &opt, &res, &err), 0);
    assert_true(g.last >= 3);
    assert_int_equal(g.done, g.last - 1);
    uint64_t ev1, blocks1, bytes1;
    assert_int_equal(check_log(one, &ev1, &blocks1, &bytes1), 0);
    assert_int_equal(ev1, 3000);
    for (uint32_t k = 1; k <= g.last; k++) {
        char name[32];
        snprintf(name, sizeof name, "seg.s%u.mlog", k);
        uint64_t ev, blocks, bytes;
        assert_int_equal(check_log(tmp_path(name), &ev, &blocks, &bytes), 0);
        assert_int_equal(blocks, blocks1);
        assert_int_equal(bytes, bytes1);
        if (k == 1)
            assert_int_equal(ev, 3000); /* no checkpoint skipped into the events */
    }
    /* event for event, and the trailer of the whole */
    struct mlg_reader *a, *c;
    assert_int_equal(mlg_reader_open(&a, one, NULL, &err), 0);
    assert_int_equal(mlg_reader_open(&c, tmp_path("seg.s1.mlog"), NULL, &err), 0);
    assert_int_equal(mlg_reader_header(c)->segment, 1);
    struct mlg_event x, y;
    while (mlg_reader_next(a, &x) == 1) {
        assert_int_equal(mlg_reader_next(c, &y), 1);
        assert_true(x.index == y.index && x.seq == y.seq && x.op == y.op && x.ptr == y.ptr &&
                    x.size == y.size && x.arg == y.arg);
    }
    assert_int_equal(mlg_reader_next(c, &y), 0);
    const struct mlg_trailer *t = mlg_reader_trailer(c);
    assert_non_null(t);
    assert_int_equal(t->events, 3000);
    assert_int_equal(t->op_counts[MLG_OP_LIVE], 0);
    assert_int_equal(t->op_counts[MLG_OP_MALLOC] + t->op_counts[MLG_OP_POSIX_MEMALIGN] +
                         t->op_counts[MLG_OP_FREE], 3000);
    assert_non_null(strstr(mlg_reader_path(c), "seg.s"));
    mlg_reader_close(a);
    mlg_reader_close(c);
    /* the last segment alone: its checkpoint blocks keep their alignment */
    char name[32];
    snprintf(name, sizeof name, "seg.s%u.mlog", g.last);
    assert_int_equal(mlg_reader_open(&c, tmp_path(name), NULL, &err), 0);
    int aligned = 0;
    while (mlg_reader_next(c, &y) == 1 && y.op == MLG_OP_LIVE)
        aligned += y.arg == 64;
    assert_true(aligned > 0);
    mlg_reader_close(c);
    free(b.map);
}

static void test_pack_stream_ends(void **state)
{
    (void)state;
    struct spool_builder b;
    spool_builder_init(&b, 11, 80);
    struct mlg_spool_state s0 = {0}, s1 = {0};
    uint64_t seq = 0;
    for (int k = 0; k < 8; k++) {
        uint8_t *c = spool_chunk(&b, 0);
        size_t o = 0;
        uint64_t p = 0x1000 + 0x100 * (uint64_t)k;
        o += mlg_spool_encode(c + o, &s0, 0, MLG_OP_MALLOC, MLG_OUT_OK, ++seq, 0, 0, 0, 8, p, 0, 0);
        o += mlg_spool_encode(c + o, &s0, 0, MLG_OP_FREE, MLG_OUT_OK, ++seq, 0, 0, 0, 0, p, 0, 0);
        s0 = (struct mlg_spool_state){0}; /* a new chunk starts its deltas afresh */
    }
    uint8_t *c1 = spool_chunk(&b, 1);
    size_t o1 = 0;
    for (int k = 0; k < 40; k++)
        o1 += mlg_spool_encode(c1 + o1, &s1, 0, MLG_OP_MALLOC, MLG_OUT_OK, ++seq, 0, 0, 0, 8,
                               0x90000 + 0x10 * (uint64_t)k, 0, 0);
    struct mlg_pack_result res;
    pack_built(&b, tmp_path("e.80.0.spool"), tmp_path("e.80.mlog"), &res);
    assert_int_equal(res.threads, 2);
    assert_int_equal(res.lost_events, 0);
    expect_seqs(tmp_path("e.80.mlog"), seq);
    free(b.map);
}

int main(void)
{
    unit_tmpdir("pack");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pack_spool),
        cmocka_unit_test(test_pack_online),
        cmocka_unit_test(test_pack_online_unstamped),
        cmocka_unit_test(test_pack_stream_ends),
        cmocka_unit_test(test_pack_segments),
    };
    return unit_done(cmocka_run_group_tests_name("pack", tests, NULL, NULL));
}

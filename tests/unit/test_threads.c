/* test_threads.c - the threaded replay (replay/threads.c) on random multi-thread logs written
 * with the real writer: a checking allocator sees every call and fails the test if a block is
 * freed or reallocated before it was made or after it was freed (the dependency tracking), and,
 * in strict mode, if allocations come out of the recorded order. Both threaded modes must end
 * with the live set of the serial replay. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../replay/replay.h"

/* ---- a checking allocator: blocks from a bump pool, never reused, each with a tag ----------- */

#define POOL (256u << 20)
#define TAG_LIVE 0x4c4956454c495645ull
#define TAG_DEAD 0x4445414444454144ull

struct tag {
    uint64_t tag, size;
};

static char *pool;
static _Atomic uint64_t pool_used, bad_calls, out_of_order, calls;
/* strict: the sizes of the allocating calls, in the recorded order */
#define SIZES_MAX 1000000
static uint64_t want_size[SIZES_MAX], nwant;
static _Atomic uint64_t next_call;
static int check_order;

static void *ck_new(uint64_t size)
{
    uint64_t at = atomic_fetch_add(&pool_used, (sizeof(struct tag) + size + 15) & ~15ull);
    if (at + sizeof(struct tag) + size > POOL)
        return NULL;
    struct tag *t = (struct tag *)(pool + at);
    t->tag = TAG_LIVE;
    t->size = size;
    if (check_order) {
        uint64_t k = atomic_fetch_add(&next_call, 1);
        if (k >= nwant || want_size[k] != size)
            atomic_fetch_add(&out_of_order, 1);
    }
    atomic_fetch_add(&calls, 1);
    return t + 1;
}

/* p must be a live block: it dies. */
static void ck_kill(void *p)
{
    struct tag *t = (struct tag *)p - 1;
    if (!p || (char *)p < pool || (char *)p >= pool + POOL || t->tag != TAG_LIVE) {
        atomic_fetch_add(&bad_calls, 1);
        return;
    }
    t->tag = TAG_DEAD;
}

static void *ck_alloc(int op, uint64_t size, uint64_t arg)
{
    (void)op;
    (void)arg;
    return ck_new(size);
}

static void *ck_realloc(void *p, size_t size)
{
    if (p)
        ck_kill(p);
    return ck_new(size);
}

static void ck_free(void *p)
{
    ck_kill(p);
}

static size_t ck_usable(void *p)
{
    return ((struct tag *)p - 1)->size;
}

static const struct backend checker = {"checker", ck_alloc, ck_realloc, ck_free, ck_usable,
                                       NULL,      NULL,     NULL};

/* ---- random multi-thread logs ----------------------------------------------------------------- */

#define THREADS 6
#define LIVE_MAX 4096

static struct mlg_writer *w;
static uint64_t seq_no;

static void put(uint32_t thread, int op, int outcome, uint64_t ptr, uint64_t old_ptr,
                uint64_t size)
{
    struct mlg_event ev = {0};
    struct mlg_error err;
    ev.seq = seq_no++;
    ev.thread = thread;
    ev.op = (uint8_t)op;
    ev.outcome = (uint8_t)outcome;
    ev.ptr = ptr;
    ev.old_ptr = old_ptr;
    ev.size = size;
    assert_int_equal(mlg_writer_add(w, &ev, &err), 0);
}

static uint64_t rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* n events on THREADS threads: allocations, frees and reallocs (moved and in place) of blocks
 * any thread made, threads that end and new ones that start, a malloc_trim, frees of addresses
 * that are not live (anomalies: counted in nbad, never replayed). The sizes of the allocating
 * calls, in order, go to want_size. Returns the blocks live at the end. */
static uint64_t nbad;
static uint64_t write_random_log(const char *path, uint64_t seed, int n)
{
    struct mlg_header h;
    struct mlg_error err;
    static uint64_t live[LIVE_MAX];
    uint64_t nlive = 0, next_addr = 0x10000, s = seed;
    uint32_t ids[THREADS], next_id = THREADS; /* the threads running now */
    memset(&h, 0, sizeof h);
    h.version = MLG_FORMAT_VERSION;
    h.pid = 4242;
    h.page_size = 4096;
    unlink(path);
    seq_no = 0;
    nwant = 0;
    nbad = 0;
    assert_int_equal(mlg_writer_create(&w, path, &h, NULL, &err), 0);
    for (uint32_t t = 0; t < THREADS; t++) {
        ids[t] = t;
        if (t)
            put(t, MLG_OP_THREAD_START, MLG_OUT_OK, 0, 0, 0);
    }
    for (int i = 0; i < n; i++) {
        uint32_t ti = (uint32_t)(rnd(&s) % THREADS), t = ids[ti];
        uint64_t r = rnd(&s) % 100, size = 16 + rnd(&s) % 256;
        if (r < 45 || nlive < 8) {
            if (nlive == LIVE_MAX)
                continue;
            live[nlive++] = next_addr;
            put(t, MLG_OP_MALLOC, MLG_OUT_OK, next_addr, 0, size);
            want_size[nwant++] = size;
            next_addr += 0x100;
        } else if (r < 80) {
            uint64_t k = rnd(&s) % nlive;
            put(t, MLG_OP_FREE, MLG_OUT_OK, live[k], 0, 0);
            live[k] = live[--nlive];
        } else if (r < 98) {
            uint64_t k = rnd(&s) % nlive;
            int moved = rnd(&s) & 1;
            uint64_t to = moved ? next_addr : live[k];
            if (moved)
                next_addr += 0x100;
            put(t, MLG_OP_REALLOC, moved ? MLG_OUT_MOVED : MLG_OUT_INPLACE, to, live[k], size);
            want_size[nwant++] = size;
            live[k] = to;
        } else if (r < 99) {
            if (rnd(&s) & 1) {
                put(t, MLG_OP_TRIM, MLG_OUT_OK, 0, 0, 0);
            } else { /* never allocated */
                put(t, MLG_OP_FREE, MLG_OUT_OK, 0xdead0000 + (uint64_t)i * 16, 0, 0);
                nbad++;
            }
        } else if (ti) { /* the thread ends; a new one takes its place */
            put(t, MLG_OP_THREAD_END, MLG_OUT_OK, 0, 0, 0);
            ids[ti] = next_id++;
            put(ids[ti], MLG_OP_THREAD_START, MLG_OUT_OK, 0, 0, 0);
        }
        assert_true(nwant < SIZES_MAX);
    }
    struct mlg_trailer tr = {.end = MLG_END_EXIT};
    assert_int_equal(mlg_writer_finish(w, &tr, &err), 0);
    return nlive;
}

/* archive: --bench's way, every epoch kept and played after END */
static void replay_checked(const char *path, int mode, uint64_t every, uint64_t want_live,
                           int archive)
{
    static struct engine_result r;
    struct engine_opts o = {.log = path, .every = every, .peak_event = UINT64_MAX,
                            .stop_event = UINT64_MAX, .touch = TOUCH_NONE, .in_process = 1,
                            .threads = mode, .archive = archive};
    atomic_store(&pool_used, 0);
    atomic_store(&bad_calls, 0);
    atomic_store(&out_of_order, 0);
    atomic_store(&next_call, 0);
    atomic_store(&calls, 0);
    check_order = mode == THREADS_STRICT;
    assert_int_equal(engine_run(&o, &checker, &r), 0);
    assert_int_equal(atomic_load(&bad_calls), 0);
    assert_int_equal(atomic_load(&out_of_order), 0);
    assert_int_equal(r.bad_frees, nbad); /* skipped, not replayed */
    assert_true(r.nsamples > 0);
    assert_int_equal(r.samples[r.nsamples - 1].live_blocks, want_live);
    assert_true(atomic_load(&calls) > 0);
}

static void test_threads_random(void **state)
{
    (void)state;
    char path[64]; /* of this run: tests of several checkouts may run at once */
    snprintf(path, sizeof path, "/tmp/mallog-test-threads.%d.mlog", (int)getpid());
    pool = mmap(NULL, POOL, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                -1, 0);
    assert_true(pool != MAP_FAILED);
    for (uint64_t seed = 1; seed <= 4; seed++) {
        uint64_t live = write_random_log(path, seed * 0x9E3779B97F4A7C15ull, 20000);
        /* samples every 97 events (many cuts) and every 100000 (one epoch runs long) */
        for (int mode = 0; mode < 3; mode++) {
            replay_checked(path, mode, 97, live, 0);
            replay_checked(path, mode, 100000, live, 0);
        }
        replay_checked(path, THREADS_STRICT, 100000, live, 1);
        replay_checked(path, THREADS_FAITHFUL, 100000, live, 1);
    }
    munmap(pool, POOL);
    unlink(path);
}

/* A log that ends with threads that never ended, and one that is cut short: no hang, and the
 * damaged one stops with the reader's error after replaying what came before. */
static void test_threads_unended_and_damaged(void **state)
{
    (void)state;
    char path[64];
    snprintf(path, sizeof path, "/tmp/mallog-test-threads-cut.%d.mlog", (int)getpid());
    static struct engine_result r;
    pool = mmap(NULL, POOL, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                -1, 0);
    assert_true(pool != MAP_FAILED);
    write_random_log(path, 77, 400000); /* several frames */
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(truncate(path, st.st_size * 2 / 3), 0);
    for (int mode = THREADS_STRICT; mode <= THREADS_FAITHFUL; mode++) {
        struct engine_opts o = {.log = path, .every = 1000, .peak_event = UINT64_MAX,
                                .stop_event = UINT64_MAX, .touch = TOUCH_NONE, .in_process = 1,
                                .threads = mode};
        atomic_store(&pool_used, 0);
        check_order = 0;
        int rc = engine_run(&o, &checker, &r);
        assert_int_not_equal(rc, 0); /* the damage */
        assert_true(r.events > 1000 && r.events < 400000);
        assert_int_equal(atomic_load(&bad_calls), 0);
    }
    munmap(pool, POOL);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_threads_random),
        cmocka_unit_test(test_threads_unended_and_damaged),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

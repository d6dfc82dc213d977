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
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../common/msg.h"
#include "../../common/recording.h"
#include "../../replay/replay.h"

static void test_slots(void **state)
{
    (void)state;
    struct slots s;
    assert_int_equal(slots_init(&s), 0);
    assert_int_equal(slots_find(&s, 0x1000), SLOTS_UNKNOWN);
    int64_t a = slots_add(&s, 0x1000, 100, 5, 0, 0);
    int64_t b = slots_add(&s, 0x2000, 50, 6, 1, 77);
    assert_true(a >= 0 && b >= 0 && a != b);
    assert_int_equal(slots_find(&s, 0x1000), a);
    assert_int_equal(s.live_blocks, 2);
    assert_int_equal(s.v[b].stack, 77);
    assert_true(s.v[b].usable == SLOT_UNASKED);
    s.v[b].usable = 56; /* asked at a sample */
    slots_resize(&s, b, 70, 8);
    assert_int_equal(s.v[b].size, 70);
    assert_int_equal(s.v[b].event, 8);
    assert_true(s.v[b].usable == SLOT_UNASKED); /* a realloc in place asks again */
    slots_remove(&s, a, 0x1000);
    assert_int_equal(slots_find(&s, 0x1000), SLOTS_UNKNOWN); /* a second free finds nothing */
    assert_int_equal(s.v[a].thread, SLOT_DEAD);
    assert_int_equal(s.live_blocks, 1);
    int64_t c = slots_add(&s, 0x1000, 8, 9, 2, 0); /* the address comes back */
    assert_int_equal(c, a);                        /* and the slot is reused */
    assert_int_equal(slots_find(&s, 0x1000), c);
    /* find_bucket / add_at / remove_at agree with find / add / remove */
    uint64_t j;
    assert_int_equal(slots_find_bucket(&s, 0x3000, &j), SLOTS_UNKNOWN);
    int64_t d = slots_add_at(&s, j, 0x3000, 1, 10, 0, 0);
    assert_int_equal(slots_find_bucket(&s, 0x3000, &j), d);
    slots_remove_at(&s, d, j);
    assert_int_equal(slots_find(&s, 0x3000), SLOTS_UNKNOWN);
    /* growth past the first mappings: the records stay readable through a second mapping of
     * the memfd, as the replaying process reads them */
    for (uint64_t i = 0; i < 100000; i++)
        assert_true(slots_add(&s, 0x100000 + 16 * i, 1, i, 0, (uint32_t)i) >= 0);
    assert_int_equal(s.live_blocks, 100002);
    int64_t k = slots_find(&s, 0x100000 + 16 * 777);
    assert_int_equal(s.v[k].event, 777);
    struct slot *view = mem_map_shared(s.fd, s.cap * sizeof *view, "mallog:test");
    assert_non_null(view);
    assert_int_equal(view[k].stack, 777);
    mem_unmap(view, s.cap * sizeof *view);
    /* removing every other key keeps the rest findable (backward-shift delete) */
    for (uint64_t i = 0; i < 100000; i += 2)
        slots_remove(&s, slots_find(&s, 0x100000 + 16 * i), 0x100000 + 16 * i);
    for (uint64_t i = 0; i < 100000; i++) {
        int64_t x = slots_find(&s, 0x100000 + 16 * i);
        if (i % 2)
            assert_true(x >= 0 && s.v[x].event == i);
        else
            assert_int_equal(x, SLOTS_UNKNOWN);
    }
    slots_fini(&s);
}

/* The ring across two processes: a forked producer writes records (pairs that must not be split
 * by the ring's end among them) through a 16-record ring, so both sides wait often; the
 * consumer checks every record and acknowledges "samples" the producer waits for. */
static void test_tape(void **state)
{
    (void)state;
    struct tape *t = tape_new(4);
    assert_non_null(t);
    const uint64_t N = 200000;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        for (uint64_t i = 0; i < N; i++) {
            int rc;
            if (i % 7 == 3)
                rc = tape_put2(t, tape_op(TAPE_REALLOC, 0, i, i, i + 1),
                               (struct tape_op){i * 3, 0, 0});
            else
                rc = tape_put(t, tape_op(TAPE_ALLOC, 1, i, i, 0));
            if (rc < 0)
                _exit(2);
            if (i % 5000 == 4999) {
                if (tape_put(t, tape_op(TAPE_SAMPLE, 0, i, 0, 0)) < 0 ||
                    tape_wait_ack(t, (uint32_t)(i / 5000 + 1)) < 0)
                    _exit(3);
            }
        }
        tape_put(t, tape_op(TAPE_END, 0, 0, 0, 0));
        tape_flush(t);
        _exit(0);
    }
    uint64_t expect = 0, acks = 0;
    int end = 0, bad = 0;
    while (!end && !bad) {
        const struct tape_op *v;
        uint64_t n = tape_get(t, 8, 1000, &v);
        for (uint64_t i = 0; i < n && !bad; i++) {
            int kind = TAPE_KIND(&v[i]);
            if (kind == TAPE_NOP)
                continue;
            if (kind == TAPE_END) {
                end = 1;
                break;
            }
            if (kind == TAPE_SAMPLE) {
                bad |= TAPE_SIZE(&v[i]) != expect - 1;
                tape_ack(t, 0);
                acks++;
                continue;
            }
            bad |= TAPE_SIZE(&v[i]) != expect || v[i].slot != expect;
            if (kind == TAPE_REALLOC) { /* the operand is in the same run */
                bad |= expect % 7 != 3 || i + 1 >= n || v[i + 1].a != expect * 3 ||
                       v[i].aux != expect + 1;
                i++;
            } else {
                bad |= kind != TAPE_ALLOC || TAPE_OP(&v[i]) != 1;
            }
            expect++;
        }
        tape_done(t, n);
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_false(bad);
    assert_int_equal(expect, N);
    assert_int_equal(acks, N / 5000);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    tape_free(t);

    /* a consumer that quits stops a producer waiting for room */
    t = tape_new(4);
    pid = fork();
    if (pid == 0) {
        for (uint64_t i = 0;; i++)
            if (tape_put(t, tape_op(TAPE_ALLOC, 1, i, i, 0)) < 0)
                _exit(5);
    }
    const struct tape_op *v;
    while (tape_get(t, 1, 1000, &v) == 0)
        ;
    tape_ack(t, 1);
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 5);
    tape_free(t);
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

/* An unnamed file for a tape (tapefile.c). */
static int tmp_file(void)
{
    char path[] = "/tmp/mallog-test-tape-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 3);
    unlink(path);
    return fd;
}

/* o with its log decoded once into tape files (which the caller closes). */
static void make_tape(struct engine_opts *o)
{
    o->tape_fd = tmp_file();
    o->meta_fd = tmp_file();
    assert_int_equal(tapefile_make(o, o->tape_fd, o->meta_fd, NULL), 0);
}

/* Replays the log: mode 0 pipelined (a decoder process), 1 decoded in this process, 2 strict,
 * 3 from tape files (decoded once).
 * Every mode must give the same live bytes and blocks (the heap itself differs: each run starts
 * where the one before left the allocator). */
static void run_on(const char *kind, const char *path)
{
    struct backend b;
    static struct engine_result r;
    static struct sample first[16];
    uint64_t nfirst = 0;
    assert_int_equal(backend_open(&b, kind, kind), 0);
    for (int mode = 0; mode < 4; mode++) {
        struct engine_opts o = {.log = path, .every = 5, .peak_event = 3,
                                .stop_event = UINT64_MAX, .touch = TOUCH_PAGE,
                                .in_process = mode == 1,
                                .threads = mode == 2 ? THREADS_STRICT : THREADS_SERIAL};
        if (mode == 3)
            make_tape(&o);
        assert_int_equal(engine_run(&o, &b, &r), 0);
        if (mode == 3) {
            close(o.tape_fd);
            close(o.meta_fd);
        }
        assert_int_equal(r.events, 12);
        assert_int_equal(r.bad_frees, 2); /* one unknown, one double: counted and skipped */
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
        assert_int_equal(r.samples[3].live_blocks, 4);
        assert_int_equal(r.samples[3].live_requested, 232 + 500 + 30 + 100);
        /* every replayed block is where the allocator says, with the requested alignment; the
         * records name the allocating event */
        int found = 0;
        for (uint64_t i = 0; i < r.nslots; i++) {
            if (r.meta[i].thread == SLOT_DEAD)
                continue;
            assert_non_null(r.ptrs[i]);
            assert_true(r.meta[i].usable != SLOT_UNASKED); /* asked at the last sample */
            if (r.meta[i].event == 10) {
                assert_int_equal(r.meta[i].size, 100);
                assert_int_equal((uint64_t)r.ptrs[i] % 4096, 0);
                found = 1;
            }
        }
        assert_true(found);
        struct summary s = {0};
        output_summarize(&r, &s);
        assert_int_equal(s.peak_live_requested, (3u << 20) + 464);
        assert_int_equal(s.peak_live_event, 3);
#ifndef __SANITIZE_ADDRESS__
        assert_true(s.footprint_ratio_at_peak >= 1.0);
#endif
        assert_int_equal(s.bad_frees, 2);
        if (mode == 0) {
            nfirst = r.nsamples;
            memcpy(first, r.samples, nfirst * sizeof *first);
        } else {
            for (uint64_t i = 0; i < nfirst; i++) {
                assert_int_equal(r.samples[i].live_requested, first[i].live_requested);
                assert_int_equal(r.samples[i].live_blocks, first[i].live_blocks);
            }
        }
        for (uint64_t i = 0; i < r.nslots; i++)
            if (r.meta[i].thread != SLOT_DEAD)
                b.free(r.ptrs[i]);
    }
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
                          "\"largest_hole\": 0, \"hole_bytes\": 0, \"hole_resident\": 0}",
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

/* mlg_check's pass, as the pre-pass did before prepass.c: the reference. */
static void check_pass(const char *path, struct prepass *pp)
{
    struct mlg_reader *r;
    struct mlg_error err;
    struct mlg_event ev;
    struct mlg_check c;
    memset(pp, 0, sizeof *pp);
    assert_int_equal(mlg_reader_open(&r, path, NULL, &err), 0);
    assert_int_equal(mlg_check_init(&c, NULL), 0);
    struct mlg_header h = *mlg_reader_header(r);
    rec_seed_inherited(&c, path, &h);
    while (mlg_reader_next(r, &ev) == 1) {
        mlg_check_event(&c, &ev);
        if (c.live_bytes > pp->peak_bytes) {
            pp->peak_bytes = c.live_bytes;
            pp->peak_event = ev.index;
        }
        if (c.live_blocks > pp->peak_blocks)
            pp->peak_blocks = c.live_blocks;
        if (ev.thread >= pp->threads)
            pp->threads = ev.thread + 1;
        pp->events = ev.index + 1;
    }
    pp->unknown_frees = c.unknown_frees;
    pp->double_frees = c.double_frees;
    mlg_reader_close(r);
    mlg_check_fini(&c);
}

/* Random events over a few addresses, so every anomaly happens often: double and unknown
 * frees, inversions, reallocs of unknown or freed blocks, in place, moved, freed. */
static void random_log_over(const char *path, uint64_t pid, uint64_t parent, uint64_t fork_seq,
                            unsigned seed, int n, int addresses)
{
    struct mlg_header h;
    struct mlg_error err;
    memset(&h, 0, sizeof h);
    h.version = MLG_FORMAT_VERSION;
    h.pid = pid;
    h.parent_pid = parent;
    h.fork_seq = fork_seq;
    h.page_size = 4096;
    unlink(path);
    seq_no = 0;
    srand(seed);
    assert_int_equal(mlg_writer_create(&w, path, &h, NULL, &err), 0);
    for (int i = 0; i < n; i++) {
        uint64_t a = 0x10000 + 16 * (uint64_t)(rand() % addresses);
        uint64_t b = 0x10000 + 16 * (uint64_t)(rand() % addresses);
        uint64_t size = 1 + (uint64_t)(rand() % 5000);
        switch (rand() % 9) {
        case 0:
        case 1:
        case 2:
            put(MLG_OP_MALLOC, MLG_OUT_OK, a, 0, size, 0);
            break;
        case 3:
        case 4:
            put(MLG_OP_FREE, MLG_OUT_OK, a, 0, 0, 0);
            break;
        case 5:
            put(MLG_OP_REALLOC, MLG_OUT_MOVED, b, a, size, 0);
            break;
        case 6:
            put(MLG_OP_REALLOC, MLG_OUT_INPLACE, a, a, size, 0);
            break;
        case 7:
            put(MLG_OP_REALLOC, rand() % 2 ? MLG_OUT_FREED : MLG_OUT_OLD_RELEASED, a, b, size, 0);
            break;
        default:
            put(MLG_OP_REALLOC_RELEASE, MLG_OUT_OK, 0, a, 0, 0);
            break;
        }
    }
    struct mlg_trailer tr = {.end = MLG_END_EXIT};
    assert_int_equal(mlg_writer_finish(w, &tr, &err), 0);
}

static void random_log(const char *path, uint64_t pid, uint64_t parent, uint64_t fork_seq,
                       unsigned seed, int n)
{
    random_log_over(path, pid, parent, fork_seq, seed, n, 64);
}

/* A log replayed from tape files gives what the pipeline gives, sample by sample (what the log
 * decides: the heap differs, each run starts where the one before left the arena): every
 * anomaly, slot records grown several times (more than 4096 live blocks), the stop event with
 * its hole list. A damaged tape file is an error, never a crash. */
static void test_tape_files(void **state)
{
    (void)state;
    char path[] = "/tmp/mallog-test-replay-XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    struct backend b;
    assert_int_equal(backend_open(&b, "arena", "arena"), 0);
    static struct engine_result r;
    static struct sample piped[64];
    static uint64_t events, bad, nsamples;
    const unsigned seeds = 3, every = 2000;
    for (unsigned seed = 1; seed <= seeds; seed++) {
        random_log_over(path, 42, 0, 0, seed, 60000, 40000);
        for (int mode = 0; mode < 2; mode++) {
            struct engine_opts o = {.log = path, .every = every, .peak_event = 777,
                                    .stop_event = seed == seeds ? 45000 : UINT64_MAX,
                                    .touch = TOUCH_NONE, .keep_holes = 1};
            if (mode == 1)
                make_tape(&o);
            int rc = engine_run(&o, &b, &r);
            assert_int_equal(rc, 0);
            if (mode == 0) {
                assert_true(r.cap_slots > 4096); /* the records grew */
                assert_true(r.nsamples > 20 && r.nsamples <= 64);
                memcpy(piped, r.samples, r.nsamples * sizeof *piped);
                nsamples = r.nsamples;
                events = r.events;
                bad = r.bad_frees;
            } else {
                assert_int_equal(r.nsamples, nsamples);
                assert_int_equal(r.events, events);
                assert_int_equal(r.bad_frees, bad);
                for (uint64_t i = 0; i < nsamples; i++) {
                    assert_int_equal(r.samples[i].event, piped[i].event);
                    assert_int_equal(r.samples[i].live_requested, piped[i].live_requested);
                    assert_int_equal(r.samples[i].live_blocks, piped[i].live_blocks);
                }
                if (seed == seeds) { /* cut the op file: the replay fails cleanly */
                    struct stat st;
                    assert_int_equal(fstat(o.tape_fd, &st), 0);
                    assert_int_equal(ftruncate(o.tape_fd, st.st_size / 2), 0);
                    for (uint64_t i = 0; i < r.nslots; i++)
                        if (r.meta[i].thread != SLOT_DEAD)
                            b.free(r.ptrs[i]);
                    assert_int_equal(engine_run(&o, &b, &r), MLG_E_IO);
                    assert_int_equal(ftruncate(o.meta_fd, 0), 0); /* and the meta file */
                    assert_int_equal(ftruncate(o.tape_fd, st.st_size), 0);
                    assert_int_equal(engine_run(&o, &b, &r), MLG_E_IO);
                }
                close(o.tape_fd);
                close(o.meta_fd);
            }
            for (uint64_t i = 0; i < r.nslots; i++)
                if (r.meta[i].thread != SLOT_DEAD)
                    b.free(r.ptrs[i]);
        }
    }
    unlink(path);
}

/* prepass_run counts exactly what mlg_check does, fork ancestors seeded the same way. */
static void test_prepass(void **state)
{
    (void)state;
    char dir[] = "/tmp/mallog-test-prepass-XXXXXX", parent[128], child[128];
    assert_non_null(mkdtemp(dir));
    snprintf(parent, sizeof parent, "%s/t.42.mlog", dir);
    snprintf(child, sizeof child, "%s/t.43.mlog", dir);
    for (unsigned seed = 1; seed <= 20; seed++) {
        random_log(parent, 42, 0, 0, seed, 3000);
        random_log(child, 43, 42, 1000 + seed * 50, seed * 7919, 3000);
        for (int k = 0; k < 2; k++) {
            const char *path = k ? child : parent;
            struct prepass a, b;
            struct mlg_error err;
            assert_int_equal(prepass_run(path, &a, &err), 0);
            check_pass(path, &b);
            assert_int_equal(a.events, b.events);
            assert_int_equal(a.peak_event, b.peak_event);
            assert_int_equal(a.peak_bytes, b.peak_bytes);
            assert_int_equal(a.peak_blocks, b.peak_blocks);
            assert_int_equal(a.threads, b.threads);
            assert_int_equal(a.unknown_frees, b.unknown_frees);
            assert_int_equal(a.double_frees, b.double_frees);
            assert_true(a.unknown_frees > 0 && a.double_frees > 0);
            assert_false(a.damaged);
        }
    }
    unlink(parent);
    unlink(child);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slots), cmocka_unit_test(test_tape),        cmocka_unit_test(test_engine_glibc),
        cmocka_unit_test(test_engine_arena), cmocka_unit_test(test_engine_missing_log),
        cmocka_unit_test(test_tsv),          cmocka_unit_test(test_json),
        cmocka_unit_test(test_prepass),      cmocka_unit_test(test_tape_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

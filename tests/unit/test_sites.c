/* test_sites.c - call sites in the log: the stack pseudo-record in the event codec, sites frames
 * written by the writer and loaded by mlg_sites_load (event frames skipped), id order enforced,
 * damage reported with its offset while earlier definitions stay, and offline symbolization of
 * this very test binary with addr2line. */
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

#include "../../lib/codec.h"
#include "../../lib/mallog.h"
#include "unit.h"

static void test_codec_stack(void **state)
{
    (void)state;
    struct mlg_codec enc, dec;
    uint8_t buf[64 * MLG_EVENT_MAX];
    uint8_t *p = buf;
    mlg_codec_reset(&enc, 1, 0);
    struct mlg_event in[40];
    for (unsigned i = 0; i < 40; i++) {
        memset(&in[i], 0, sizeof in[i]);
        in[i].op = i % 3 == 2 ? MLG_OP_FREE : i % 3 ? MLG_OP_REALLOC : MLG_OP_MALLOC;
        in[i].seq = 1 + 2 * i;
        in[i].seq_rel = in[i].op == MLG_OP_REALLOC ? in[i].seq - 1 : 0;
        in[i].ptr = 0x10000 + 16 * i;
        in[i].old_ptr = in[i].op == MLG_OP_REALLOC ? 0x9000 : 0;
        in[i].size = in[i].op == MLG_OP_FREE ? 0 : 100 + i;
        in[i].time_ns = 1000 * i;
        in[i].outcome = in[i].op == MLG_OP_REALLOC ? MLG_OUT_MOVED : MLG_OUT_OK;
        in[i].stack = in[i].op == MLG_OP_FREE ? 0 : i * 977 + (i == 7 ? UINT32_MAX - 7000 : 1);
        p = mlg_codec_put(&enc, p, &in[i]);
    }
    mlg_codec_reset(&dec, 1, 0);
    const uint8_t *q = buf;
    for (unsigned i = 0; i < 40; i++) {
        struct mlg_event out;
        q = mlg_codec_get(&dec, q, p, &out);
        assert_non_null(q);
        assert_int_equal(out.stack, in[i].stack);
        assert_int_equal(out.seq, in[i].seq);
        assert_int_equal(out.ptr, in[i].ptr);
        assert_int_equal(out.size, in[i].size);
    }
    assert_ptr_equal(q, p);
    /* a stack id of 0 is not a valid pseudo-record */
    uint8_t bad[] = {MLG_TAG_STACK, 0, MLG_OP_MALLOC, 8, 0};
    struct mlg_event out;
    mlg_codec_reset(&dec, 1, 0);
    assert_null(mlg_codec_get(&dec, bad, bad + sizeof bad, &out));
}

static struct mlg_header test_header(void)
{
    struct mlg_header h;
    memset(&h, 0, sizeof h);
    h.pid = 42;
    h.page_size = 4096;
    return h;
}

/* modules 1..2, stacks 1..n (stack k has k frames), interleaved with events that use them */
static void write_log(const char *path, unsigned nstacks, unsigned events_per_stack)
{
    struct mlg_writer *w;
    struct mlg_error err;
    struct mlg_header h = test_header();
    struct mlg_writer_options opt = {1, 4096}; /* small frames: sites frames between them */
    unlink(path);
    assert_int_equal(mlg_writer_create(&w, path, &h, &opt, &err), 0);
    struct mlg_module m1 = {0x400000, 0x500000, 0x1000, "/usr/bin/prog"};
    struct mlg_module m2 = {0x7f0000000000, 0x7f0000100000, 0, "/lib/libx.so"};
    assert_int_equal(mlg_writer_add_module(w, 1, &m1, &err), 0);
    assert_int_equal(mlg_writer_add_module(w, 2, &m2, &err), 0);
    uint64_t seq = 1;
    for (unsigned id = 1; id <= nstacks; id++) {
        uint64_t pcs[MLG_STACK_DEPTH_MAX];
        for (unsigned k = 0; k < id && k < MLG_STACK_DEPTH_MAX; k++)
            pcs[k] = (k % 2 ? 0x7f0000000000 : 0x400000) + 0x100 * id + k;
        assert_int_equal(mlg_writer_add_stack(w, id, pcs, id < MLG_STACK_DEPTH_MAX ? id : MLG_STACK_DEPTH_MAX, &err), 0);
        for (unsigned e = 0; e < events_per_stack; e++) {
            struct mlg_event ev = {0};
            ev.op = MLG_OP_MALLOC;
            ev.seq = seq++;
            ev.size = 16 * id;
            ev.ptr = 0x1000000 + 64 * seq;
            ev.stack = id;
            assert_int_equal(mlg_writer_add(w, &ev, &err), 0);
        }
    }
    struct mlg_trailer t = {0};
    t.end = MLG_END_EXIT;
    assert_int_equal(mlg_writer_finish(w, &t, &err), 0);
}

static void test_sites_roundtrip(void **state)
{
    (void)state;
    const char *path = tmp_path("sites.mlog");
    /* ~2 MB of definitions: several sites frames, each one small enough for every reader */
    write_log(path, 2000, 3);
    struct mlg_sites *s;
    struct mlg_error err;
    assert_int_equal(mlg_sites_load(&s, path, &err), 0);
    assert_int_equal(mlg_sites_module_count(s), 2);
    assert_int_equal(mlg_sites_stack_count(s), 2000);
    assert_string_equal(mlg_sites_module(s, 2)->path, "/lib/libx.so");
    assert_int_equal(mlg_sites_module(s, 1)->file_offset, 0x1000);
    assert_ptr_equal(mlg_sites_module_of(s, 0x400123), mlg_sites_module(s, 1));
    assert_null(mlg_sites_module_of(s, 0x10));
    for (unsigned id = 1; id <= 2000; id++) {
        const uint64_t *pcs;
        uint32_t depth;
        assert_int_equal(mlg_sites_stack(s, id, &pcs, &depth), 1);
        assert_int_equal(depth, id < MLG_STACK_DEPTH_MAX ? id : MLG_STACK_DEPTH_MAX);
        assert_int_equal(pcs[depth - 1], ((depth - 1) % 2 ? 0x7f0000000000 : 0x400000) + 0x100 * id + depth - 1);
    }
    const uint64_t *pcs;
    uint32_t depth;
    assert_int_equal(mlg_sites_stack(s, 2001, &pcs, &depth), 0);
    assert_int_equal(mlg_sites_stack(s, 0, &pcs, &depth), 0);
    /* frames without symbols read module+offset */
    char buf[128];
    assert_string_equal(mlg_sites_frame_name(s, 0x400010, buf, sizeof buf), "prog+0x1010");
    mlg_sites_free(s);
    /* the events carry their stack ids */
    struct mlg_reader *r;
    assert_int_equal(mlg_reader_open(&r, path, NULL, &err), 0);
    struct mlg_event ev;
    uint64_t n = 0;
    while (mlg_reader_next(r, &ev) > 0) {
        assert_int_equal(ev.stack, n / 3 + 1);
        n++;
    }
    assert_int_equal(mlg_reader_error(r)->code, 0);
    assert_int_equal(n, 2000 * 3);
    mlg_reader_close(r);
}

static void test_sites_order(void **state)
{
    (void)state;
    const char *path = tmp_path("order.mlog");
    unlink(path);
    struct mlg_writer *w;
    struct mlg_error err;
    struct mlg_header h = test_header();
    assert_int_equal(mlg_writer_create(&w, path, &h, NULL, &err), 0);
    uint64_t pc = 0x1234;
    assert_int_equal(mlg_writer_add_stack(w, 2, &pc, 1, &err), MLG_E_ARG);
    assert_int_equal(mlg_writer_add_stack(w, 1, &pc, 1, &err), 0);
    assert_int_equal(mlg_writer_add_stack(w, 1, &pc, 1, &err), MLG_E_ARG);
    assert_int_equal(mlg_writer_add_stack(w, 2, &pc, MLG_STACK_DEPTH_MAX + 1, &err), MLG_E_ARG);
    struct mlg_module m = {0x2000, 0x1000, 0, "/x"};
    assert_int_equal(mlg_writer_add_module(w, 1, &m, &err), MLG_E_ARG); /* end < start */
    struct mlg_trailer t = {0};
    assert_int_equal(mlg_writer_finish(w, &t, &err), 0);
    struct mlg_sites *s;
    assert_int_equal(mlg_sites_load(&s, path, &err), 0);
    assert_int_equal(mlg_sites_stack_count(s), 1); /* written at finish, with no event after it */
    mlg_sites_free(s);
}

static long find_sites_frame(const uint8_t *data, long size, int nth)
{
    for (long i = 0; i + 16 <= size; i++)
        if (memcmp(data + i, "MLOGSIT1", 8) == 0 && nth-- == 0)
            return i;
    return -1;
}

static void test_sites_damage(void **state)
{
    (void)state;
    const char *path = tmp_path("damage.mlog");
    write_log(path, 400, 30);
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    uint8_t *data = malloc((size_t)size);
    fseek(f, 0, SEEK_SET);
    assert_int_equal(fread(data, 1, (size_t)size, f), (size_t)size);
    long second = find_sites_frame(data, size, 1);
    assert_true(second > 0);
    data[second + 14] ^= 0x55; /* inside the compressed definitions */
    fseek(f, 0, SEEK_SET);
    fwrite(data, 1, (size_t)size, f);
    fclose(f);
    free(data);
    struct mlg_sites *s;
    struct mlg_error err;
    int rc = mlg_sites_load(&s, path, &err);
    assert_true(rc == MLG_E_CHECKSUM || rc == MLG_E_ZSTD || rc == MLG_E_CORRUPT);
    assert_int_equal(err.offset, (uint64_t)second - 8); /* the frame's header */
    assert_true(mlg_sites_stack_count(s) > 0);          /* the first frame's definitions stay */
    assert_true(mlg_sites_stack_count(s) < 400);
    mlg_sites_free(s);
    /* a foreign file */
    const char *foreign = tmp_path("foreign.txt");
    f = fopen(foreign, "w");
    fputs("not a log at all, just text\n", f);
    fclose(f);
    assert_int_equal(mlg_sites_load(&s, foreign, &err), MLG_E_NOT_MLOG);
    mlg_sites_free(s);
}

__attribute__((noinline)) static uint64_t where_am_i(void)
{
    return (uint64_t)(uintptr_t)__builtin_return_address(0);
}

/* The return address of a call in this function, symbolized from this binary's own file. */
static void test_symbolize_self(void **state)
{
    (void)state;
    uint64_t ret = where_am_i();
    /* this binary's executable mapping that holds ret */
    FILE *maps = fopen("/proc/self/maps", "r");
    assert_non_null(maps);
    char line[1024], path[512] = "";
    unsigned long start = 0, end = 0, off = 0;
    while (fgets(line, sizeof line, maps)) {
        unsigned long a, b, o;
        char perms[8], file[512] = "";
        if (sscanf(line, "%lx-%lx %7s %lx %*s %*s %511s", &a, &b, perms, &o, file) >= 4 &&
            ret >= a && ret < b) {
            start = a, end = b, off = o;
            snprintf(path, sizeof path, "%s", file);
        }
    }
    fclose(maps);
    assert_true(path[0] == '/');
    const char *log = tmp_path("self.mlog");
    unlink(log);
    struct mlg_writer *w;
    struct mlg_error err;
    struct mlg_header h = test_header();
    assert_int_equal(mlg_writer_create(&w, log, &h, NULL, &err), 0);
    struct mlg_module m = {start, end, off, path};
    assert_int_equal(mlg_writer_add_module(w, 1, &m, &err), 0);
    assert_int_equal(mlg_writer_add_stack(w, 1, &ret, 1, &err), 0);
    struct mlg_trailer t = {0};
    assert_int_equal(mlg_writer_finish(w, &t, &err), 0);
    struct mlg_sites *s;
    assert_int_equal(mlg_sites_load(&s, log, &err), 0);
    assert_int_equal(mlg_sites_symbolize(s), 0);
    struct mlg_frame_info fi;
    mlg_sites_frame(s, ret, &fi);
    assert_non_null(fi.function);
    assert_string_equal(fi.function, "test_symbolize_self");
    assert_non_null(fi.file);
    assert_non_null(strstr(fi.file, "test_sites.c"));
    assert_true(fi.line > 0);
    assert_int_equal(mlg_sites_site_pc(s, 1), ret);
    mlg_sites_free(s);
}

/* Functions of this binary that the synthetic stacks below point into. */
/* (distinct bodies, or identical code folding makes them one function) */
volatile int rule_sink;
__attribute__((noinline)) void rule_wrapper(void) { rule_sink = 11; rule_sink += 1; }
__attribute__((noinline)) void rule_caller_a(void) { rule_sink = 22; rule_sink += 2; }
__attribute__((noinline)) void rule_caller_b(void) { rule_sink = 33; rule_sink += 3; }
__attribute__((noinline)) void rule_caller_c(void) { rule_sink = 44; rule_sink += 4; }
__attribute__((noinline)) void rule_top(void) { rule_sink = 55; rule_sink += 5; }

/* The site table's naming rules on stacks through this binary's own functions: rule_wrapper is
 * the innermost frame of every stack and its callers vary, so it is detected as a wrapper and the
 * sites are its callers; --no-skip gives it back; --skip FUNC and --skip REGEX add wrappers; a bad
 * regex is refused. (The pcs are function address + 1: the lookup of pc - 1 lands on the entry.) */
static void test_wrapper_rules(void **state)
{
    (void)state;
    uint64_t w = (uint64_t)(uintptr_t)&rule_wrapper + 1, a = (uint64_t)(uintptr_t)&rule_caller_a + 1,
             b = (uint64_t)(uintptr_t)&rule_caller_b + 1, c = (uint64_t)(uintptr_t)&rule_caller_c + 1,
             top = (uint64_t)(uintptr_t)&rule_top + 1;
    FILE *maps = fopen("/proc/self/maps", "r");
    assert_non_null(maps);
    char line[1024], path[512] = "";
    unsigned long start = 0, end = 0, off = 0;
    while (fgets(line, sizeof line, maps)) {
        unsigned long lo, hi, o;
        char perms[8], file[512] = "";
        if (sscanf(line, "%lx-%lx %7s %lx %*s %*s %511s", &lo, &hi, perms, &o, file) >= 4 &&
            w >= lo && w < hi) {
            start = lo, end = hi, off = o;
            snprintf(path, sizeof path, "%s", file);
        }
    }
    fclose(maps);
    assert_true(path[0] == '/' && a >= start && top < end);
    assert_true(w != a && a != b && b != c && c != top && w != top);
    const char *log = tmp_path("rules.mlog");
    unlink(log);
    struct mlg_writer *wr;
    struct mlg_error err;
    struct mlg_header h = test_header();
    assert_int_equal(mlg_writer_create(&wr, log, &h, NULL, &err), 0);
    struct mlg_module m = {start, end, off, path};
    assert_int_equal(mlg_writer_add_module(wr, 1, &m, &err), 0);
    uint64_t s1[] = {w, a, top}, s2[] = {w, b, top}, s3[] = {w, c, top};
    assert_int_equal(mlg_writer_add_stack(wr, 1, s1, 3, &err), 0);
    assert_int_equal(mlg_writer_add_stack(wr, 2, s2, 3, &err), 0);
    assert_int_equal(mlg_writer_add_stack(wr, 3, s3, 3, &err), 0);
    struct mlg_trailer t = {0};
    assert_int_equal(mlg_writer_finish(wr, &t, &err), 0);

    struct mlg_sites *s;
    assert_int_equal(mlg_sites_load(&s, log, &err), 0);
    assert_int_equal(mlg_sites_symbolize(s), 0);
    assert_int_equal(mlg_sites_site_pc(s, 1), a);
    assert_int_equal(mlg_sites_site_pc(s, 2), b);
    assert_int_equal(mlg_sites_site_pc(s, 3), c);
    struct mlg_frame_info fi;
    mlg_sites_vframe(s, 1, 0, &fi);
    assert_string_equal(fi.function, "rule_wrapper");
    assert_int_equal(fi.kind, MLG_FRAME_WRAPPER);
    mlg_sites_vframe(s, 1, mlg_sites_site_index(s, 1), &fi);
    assert_string_equal(fi.function, "rule_caller_a");
    assert_int_equal(fi.kind, MLG_FRAME_CODE);
    assert_int_equal(fi.guess, 0);
    /* --skip FUNC: rule_caller_b is a wrapper too, stack 2's site is rule_top */
    assert_int_equal(mlg_sites_skip(s, "rule_caller_b"), 0);
    assert_int_equal(mlg_sites_site_pc(s, 2), top);
    assert_int_equal(mlg_sites_site_pc(s, 1), a);
    /* --skip REGEX */
    assert_int_equal(mlg_sites_skip(s, "^rule_caller_[ac]$"), 0);
    assert_int_equal(mlg_sites_site_pc(s, 1), top);
    assert_int_equal(mlg_sites_site_pc(s, 3), top);
    assert_int_equal(mlg_sites_skip(s, "rule_(caller"), -1);
    /* --no-skip: the innermost frame again */
    mlg_sites_no_skip(s);
    for (uint32_t id = 1; id <= 3; id++)
        assert_int_equal(mlg_sites_site_pc(s, id), w);
    mlg_sites_free(s);

    /* two stacks from a single caller: not a wrapper (its callers do not vary) */
    unlink(log);
    assert_int_equal(mlg_writer_create(&wr, log, &h, NULL, &err), 0);
    assert_int_equal(mlg_writer_add_module(wr, 1, &m, &err), 0);
    uint64_t s4[] = {w, a, top}, s5[] = {w, a + 1, top};
    assert_int_equal(mlg_writer_add_stack(wr, 1, s4, 3, &err), 0);
    assert_int_equal(mlg_writer_add_stack(wr, 2, s5, 3, &err), 0);
    assert_int_equal(mlg_writer_finish(wr, &t, &err), 0);
    assert_int_equal(mlg_sites_load(&s, log, &err), 0);
    assert_int_equal(mlg_sites_symbolize(s), 0);
    assert_int_equal(mlg_sites_site_pc(s, 1), w);
    assert_int_equal(mlg_sites_site_pc(s, 2), w);
    mlg_sites_free(s);
}

int main(void)
{
    unit_tmpdir("sites");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_codec_stack),     cmocka_unit_test(test_sites_roundtrip),
        cmocka_unit_test(test_sites_order),     cmocka_unit_test(test_sites_damage),
        cmocka_unit_test(test_symbolize_self),  cmocka_unit_test(test_wrapper_rules),
    };
    return unit_done(cmocka_run_group_tests_name("sites", tests, NULL, NULL));
}

/* test_worker.c - the worker protocol (replay/worker.c): a request written by the parent's side
 * reads back the same on the worker's; a request that is not one (another magic or size, cut
 * short, a count out of range, strings without their end) is refused or made safe. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../replay/cmd.h"

static struct worker_req req, back;

static void fill(struct worker_req *r)
{
    memset(r, 0, sizeof *r);
    snprintf(r->spec.name, sizeof r->spec.name, "glibc+mmap_threshold-65536");
    snprintf(r->spec.family, sizeof r->spec.family, "glibc");
    snprintf(r->spec.kind, sizeof r->spec.kind, "glibc");
    snprintf(r->spec.lib, sizeof r->spec.lib, "libc.so.6");
    snprintf(r->spec.env, sizeof r->spec.env, "GLIBC_TUNABLES=glibc.malloc.mmap_threshold=65536\n");
    snprintf(r->log, sizeof r->log, "/tmp/t.1234.1.mlog");
    snprintf(r->seed_log[0], sizeof r->seed_log[0], "/tmp/t.1233.mlog");
    r->seed_upto[0] = 777;
    r->nseeds = 1;
    r->threads = THREADS_FAITHFUL;
    r->touch = TOUCH_FULL;
    r->bench = 1;
    r->every = 123;
    r->peak_event = 456;
    r->stop_event = UINT64_MAX;
    r->unknown_frees = 3;
    r->double_frees = 4;
    snprintf(r->out_dir, sizeof r->out_dir, "/tmp/out");
    snprintf(r->holes_fmt, sizeof r->holes_fmt, "json");
    snprintf(r->at_label, sizeof r->at_label, "worst");
    r->holes_top = 20;
    r->tape_fd = 7;
    r->meta_fd = 8;
    r->progress_fd = -1;
    r->progress_slot = 3;
    r->result_fd = 9;
}

/* fd's number as the worker gets it on its command line */
static const char *fd_text(int fd)
{
    static char b[16];
    snprintf(b, sizeof b, "%d", fd);
    return b;
}

static void test_round_trip(void **state)
{
    (void)state;
    fill(&req);
    int fd = memfd_create("test", 0);
    assert_true(fd >= 0);
    assert_int_equal(worker_write_req(fd, &req), 0);
    assert_int_equal(worker_read_req(fd_text(fd), &back), 0);
    assert_memory_equal(&req, &back, sizeof req); /* every field, both ways the same struct */
    assert_int_equal(fcntl(fd, F_GETFD), -1);     /* the worker closed it */
}

static void test_refused(void **state)
{
    (void)state;
    int fd;
    /* not a number, no such fd */
    assert_int_equal(worker_read_req("abc", &back), -1);
    assert_int_equal(worker_read_req("", &back), -1);
    assert_int_equal(worker_read_req("999999", &back), -1);
    /* cut short */
    fill(&req);
    fd = memfd_create("test", 0);
    assert_int_equal(worker_write_req(fd, &req), 0);
    assert_int_equal(ftruncate(fd, sizeof req - 1), 0);
    assert_int_equal(worker_read_req(fd_text(fd), &back), -1);
    close(fd);
    /* another magic */
    fd = memfd_create("test", 0);
    assert_int_equal(worker_write_req(fd, &req), 0);
    uint32_t bad = 0x12345678;
    assert_int_equal(pwrite(fd, &bad, sizeof bad, 0), (ssize_t)sizeof bad);
    assert_int_equal(worker_read_req(fd_text(fd), &back), -1);
    close(fd);
    /* a count out of range */
    req.nseeds = MAX_SEEDS + 1;
    fd = memfd_create("test", 0);
    assert_int_equal(worker_write_req(fd, &req), 0);
    assert_int_equal(worker_read_req(fd_text(fd), &back), -1);
    close(fd);
    /* strings without their end come back ended */
    fill(&req);
    memset(req.log, 'x', sizeof req.log);
    memset(req.seed_log[5], 'y', sizeof req.seed_log[5]);
    fd = memfd_create("test", 0);
    assert_int_equal(worker_write_req(fd, &req), 0);
    assert_int_equal(worker_read_req(fd_text(fd), &back), 0);
    assert_int_equal(strlen(back.log), sizeof back.log - 1);
    assert_int_equal(strlen(back.seed_log[5]), sizeof back.seed_log[5] - 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

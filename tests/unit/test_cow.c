/* test_cow.c - copy-on-write measured after a real fork (replay/cow.c): a forked child that
 * writes K pages of an inherited anonymous region un-shares exactly those (give or take the few
 * pages libc and cmocka write on their own), pages it maps afterwards are new, not un-shared,
 * and the replayer's own (mem_map) memory counts as neither. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../replay/replay.h"

#define PG 4096u
#define SLACK (32u * PG) /* pages written by libc, the stack guard, cmocka: not ours to count */

/* What the child measured, in shared memory. */
struct res {
    struct cow_figures start, written, fresh, own;
    int ok;
};

static void child(struct res *r, char *region, size_t pages, char *own, size_t own_pages)
{
    struct cow c;
    if (cow_init(&c) < 0 || cow_snapshot(&c) < 0 || cow_measure(&c, &r->start) < 0)
        _exit(1);
    for (size_t i = 0; i < pages / 4; i++) /* a quarter of the inherited pages */
        region[i * PG] = 2;
    if (cow_measure(&c, &r->written) < 0)
        _exit(1);
    char *n = mmap(NULL, 64 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (n == MAP_FAILED)
        _exit(1);
    for (size_t i = 0; i < 64; i++)
        n[i * PG] = 1;
    if (cow_measure(&c, &r->fresh) < 0)
        _exit(1);
    for (size_t i = 0; i < own_pages; i++) /* the replayer's own pages: never the allocator's */
        own[i * PG] = 3;
    if (cow_measure(&c, &r->own) < 0)
        _exit(1);
    r->ok = 1;
    _exit(0);
}

static void test_fork_unshare(void **state)
{
    (void)state;
    enum { PAGES = 1024, OWN = 256 };
    struct res *r = mmap(NULL, sizeof *r, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    char *region = mmap(NULL, PAGES * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
                        0);
    char *own = mem_map(OWN * PG, "mallog:test");
    assert_true(r != MAP_FAILED && region != MAP_FAILED && own);
    memset(region, 1, PAGES * PG);
    memset(own, 1, OWN * PG);
    memset(r, 0, sizeof *r);
    pid_t pid = fork();
    if (pid == 0)
        child(r, region, PAGES, own, OWN);
    assert_true(pid > 0);
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0 && r->ok);
    /* the region was present at the fork: all of it inherited */
    assert_true(r->start.inherited >= PAGES * PG);
    assert_true(r->start.unshared <= SLACK);
    /* a quarter written: that quarter un-shared */
    uint64_t q = PAGES / 4 * PG;
    printf("inherited %llu, un-shared at start %llu, after writing %llu pages %llu, new %llu\n",
           (unsigned long long)r->start.inherited, (unsigned long long)r->start.unshared,
           (unsigned long long)(PAGES / 4), (unsigned long long)r->written.unshared,
           (unsigned long long)r->fresh.fresh);
    assert_true(r->written.unshared >= q && r->written.unshared <= q + SLACK);
    /* new pages are new, not un-shared */
    assert_true(r->fresh.fresh >= r->written.fresh + 64 * PG);
    assert_true(r->fresh.unshared <= r->written.unshared + SLACK / 4);
    /* the replayer's own memory is neither */
    assert_true(r->own.unshared <= r->fresh.unshared + PG);
    assert_true(r->own.fresh <= r->fresh.fresh + PG);
    /* PSS: at least the un-shared pages (mapped once), less than all inherited pages in full */
    printf("pss %llu shared %llu\n", (unsigned long long)r->written.pss, (unsigned long long)r->written.shared);
    assert_true(r->written.pss >= r->written.unshared);
    assert_true(r->written.shared > 0);
    munmap(region, PAGES * PG);
    mem_unmap(own, OWN * PG);
    munmap(r, sizeof *r);
}

/* Without a snapshot (a root process that never forked) nothing is inherited or un-shared. */
static void test_no_snapshot(void **state)
{
    (void)state;
    struct cow c;
    struct cow_figures f;
    assert_int_equal(cow_init(&c), 0);
    assert_int_equal(cow_measure(&c, &f), 0);
    assert_int_equal(f.inherited, 0);
    assert_int_equal(f.unshared, 0);
    cow_fini(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fork_unshare),
        cmocka_unit_test(test_no_snapshot),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

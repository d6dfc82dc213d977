/* unit.h - what the unit tests share: one temporary directory per test binary (removed when
 * every test passed, kept for a look when one failed), paths in it, whole files in and out.
 * Include after cmocka.h. */
#ifndef MLG_UNIT_H
#define MLG_UNIT_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../lib/mallog.h"

static char tmpdir[256];

/* xorshift64: the tests' random numbers, reproducible from the seed each test sets in rng. */
static uint64_t rng = 0x9e3779b97f4a7c15ull;

static inline uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* An event as the recorder numbers it: the next index, the next sequence number (a realloc takes
 * two: its release point, then its result). */
static inline struct mlg_event unit_event(uint64_t *index, uint64_t *seq, uint64_t time_ns, int op,
                                          uint32_t thread, uint64_t ptr, uint64_t old_ptr,
                                          uint64_t size, int outcome)
{
    struct mlg_event ev = {0};
    ev.index = (*index)++;
    if (op == MLG_OP_REALLOC || op == MLG_OP_REALLOCARRAY)
        ev.seq_rel = ++*seq;
    ev.seq = ++*seq;
    ev.time_ns = time_ns;
    ev.ptr = ptr;
    ev.old_ptr = old_ptr;
    ev.size = size;
    ev.thread = thread;
    ev.op = (uint8_t)op;
    ev.outcome = (uint8_t)outcome;
    return ev;
}

/* Makes /tmp/mallog-unit-<name>.<pid>. */
static inline void unit_tmpdir(const char *name)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/mallog-unit-%s.%d", name, (int)getpid());
    mkdir(tmpdir, 0700);
}

/* The test binary's exit status: failed, or 1 if the directory could not be removed. */
static inline int unit_done(int failed)
{
    if (!failed) {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
        if (system(cmd) != 0)
            return 1;
    }
    return failed;
}

/* tmpdir/name; the last four results stay valid. */
static inline const char *tmp_path(const char *name)
{
    static char buf[4][512];
    static int i;
    i = (i + 1) % 4;
    snprintf(buf[i], sizeof buf[i], "%s/%s", tmpdir, name);
    return buf[i];
}

static inline uint8_t *slurp(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    *size = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *d = malloc(*size ? *size : 1);
    assert_int_equal(fread(d, 1, *size, f), *size);
    fclose(f);
    return d;
}

/* Writes d to path, replacing it. */
static inline void spit(const char *path, const uint8_t *d, size_t size)
{
    unlink(path);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(d, 1, size, f), size);
    fclose(f);
}

#endif

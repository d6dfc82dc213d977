/* tsan_recorder.c - the recorder's lock-free protocols under ThreadSanitizer.
 *
 * The interposer cannot run under a sanitizer (it is the malloc the sanitizer's runtime would call),
 * so this harness links the recorder's real code (preload/recorder.c, options.c, stacks.c: chunk
 * claim and stamp, the tag stored last, the in-flight slots, the global order, the call-stack
 * table's slots claimed by compare-and-swap and published to the packer) and lib/'s real
 * packer into one program built with -fsanitize=thread, without the hooks. WRITERS threads make
 * the hooks' calls (rec_thread, rec_enter, rec_seq, rec_record, rec_leave, as hooks.c's malloc and
 * free do) on made-up addresses, while the main thread packs the spool online with the packer's
 * horizon, as `mallog record` does. TSan reports any access of one side the protocol does not
 * order against the other; then the log is read back and checked: every event once, in an order
 * where each thread's events keep their order and no block is freed before it is allocated.
 *
 * TSan knows memory by address, and the recorder and the packer map the spool file separately
 * (each its own mapping, as two processes would): it would see no access of one side racing the
 * other. So the harness links with --wrap=mmap,munmap and gives both the same addresses: one
 * reserved range where file offset X of the spool always lives at base + X. The recorder's window
 * mappings are placed there, and the packer's mapping of the whole file is that range itself.
 *
 * Usage: tsan_recorder DIR [EVENTS_PER_THREAD]  (exit 0: no report, log complete and ordered)
 */
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../lib/mallog.h"
#include "../../preload/preload.h"

void rec_constructor(void);

#define WRITERS 4
#define LIVE 64 /* blocks each writer keeps live: a free names one allocated a little earlier */

/* ---- one address for each byte of the spool ------------------------------------------------ */

#define ALIAS_BYTES (4ull << 30)
void *__real_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);
int __real_munmap(void *addr, size_t len);
static uint8_t *alias;       /* the spool's range; NULL once the log is read back */
static size_t alias_mapped;  /* file bytes mapped at alias so far (whole windows) */
static ino_t alias_ino;      /* the spool file's */
static pthread_mutex_t alias_lock = PTHREAD_MUTEX_INITIALIZER;

void *__wrap_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);
void *__wrap_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    struct stat st;
    if (!alias || fd < 0 || addr || off < 0 || (uint64_t)off + len > ALIAS_BYTES ||
        fstat(fd, &st) != 0)
        return __real_mmap(addr, len, prot, flags, fd, off);
    /* the recorder's windows (shared, read-write) name the spool; the packer maps it read-only,
     * shared or private (a read-only private mapping of a file sees the same bytes) */
    if ((flags & MAP_SHARED) && !alias_ino)
        alias_ino = st.st_ino;
    if (st.st_ino != alias_ino || ((flags & MAP_PRIVATE) && prot != PROT_READ))
        return __real_mmap(addr, len, prot, flags, fd, off);
    pthread_mutex_lock(&alias_lock);
    size_t want = (size_t)off + len;
    if (want > alias_mapped) { /* map only what is not there: a second mapping resets TSan's view */
        size_t from = alias_mapped > (size_t)off ? alias_mapped : (size_t)off;
        void *p = __real_mmap(alias + from, want - from, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
                              fd, (off_t)from);
        if (p == MAP_FAILED) {
            pthread_mutex_unlock(&alias_lock);
            return MAP_FAILED;
        }
        alias_mapped = want;
    }
    pthread_mutex_unlock(&alias_lock);
    return alias + off;
}

int __wrap_munmap(void *addr, size_t len);
int __wrap_munmap(void *addr, size_t len)
{
    if (alias && (uint8_t *)addr >= alias && (uint8_t *)addr < alias + ALIAS_BYTES)
        return 0; /* the range stays until the end */
    return __real_munmap(addr, len);
}

/* ---- the program: writers and the packer ---------------------------------------------------- */

static uint64_t per_thread = 50000;
static int writers_done;

/* Thread w's block i: an address no other thread uses, 16-aligned. */
static uint64_t block_addr(int w, uint64_t i)
{
    return ((uint64_t)(w + 1) << 40) | (i % (1u << 24)) << 4;
}

static void *writer(void *arg)
{
    int w = (int)(intptr_t)arg;
    for (uint64_t i = 0; i < per_thread; i++) {
        struct tstate *t = rec_thread();
        if (!t) {
            fprintf(stderr, "tsan_recorder: the recorder is not active\n");
            exit(1);
        }
        uint32_t stack = rec_stack_id(t); /* the stack table: slots claimed by CAS */
        rec_enter(t);
        rec_record(t, MLG_OP_MALLOC, MLG_OUT_OK, rec_seq(), 0, 0, 0, 16 + i % 200,
                   block_addr(w, i), 0, stack);
        rec_leave(t);
        if (i % 512 == 0)
            sched_yield(); /* the packer must step while the writers write: that is the test */
        if (i >= LIVE) {
            rec_enter(t);
            rec_record(t, MLG_OP_FREE, MLG_OUT_OK, rec_seq(), 0, 0, 0, 0, block_addr(w, i - LIVE),
                       0, 0);
            rec_leave(t);
        }
    }
    __atomic_fetch_add(&writers_done, 1, __ATOMIC_RELEASE);
    return NULL;
}

static int check_log(const char *path)
{
    struct mlg_reader *rd;
    struct mlg_error err;
    if (mlg_reader_open(&rd, path, NULL, &err) != 0) {
        fprintf(stderr, "tsan_recorder: %s: %s\n", path, err.detail);
        return -1;
    }
    /* per writer: the next block it must allocate and the next it must free */
    uint64_t next_alloc[WRITERS] = {0}, next_free[WRITERS] = {0}, prev_seq = 0, n = 0, stacked = 0;
    struct mlg_event ev;
    int rc, bad = 0;
    while ((rc = mlg_reader_next(rd, &ev)) == 1 && !bad) {
        if (n++ && ev.seq <= prev_seq) {
            fprintf(stderr, "tsan_recorder: seq %" PRIu64 " after %" PRIu64 "\n", ev.seq, prev_seq);
            bad = 1;
        }
        prev_seq = ev.seq;
        if (ev.op != MLG_OP_MALLOC && ev.op != MLG_OP_FREE)
            continue;
        int w = (int)(ev.ptr >> 40) - 1;
        if (w < 0 || w >= WRITERS) {
            bad = 1;
            break;
        }
        stacked += ev.op == MLG_OP_MALLOC && ev.stack != 0;
        uint64_t *next = ev.op == MLG_OP_MALLOC ? &next_alloc[w] : &next_free[w];
        if (ev.ptr != block_addr(w, *next) ||
            (ev.op == MLG_OP_FREE && *next + LIVE >= next_alloc[w])) {
            fprintf(stderr, "tsan_recorder: writer %d: %s of block %" PRIu64 " out of order\n", w,
                    ev.op == MLG_OP_MALLOC ? "malloc" : "free", *next);
            bad = 1;
        }
        (*next)++;
    }
    if (rc < 0) {
        fprintf(stderr, "tsan_recorder: %s: %s\n", path, mlg_reader_error(rd)->detail);
        bad = 1;
    }
    for (int w = 0; w < WRITERS && !bad; w++)
        if (next_alloc[w] != per_thread || next_free[w] != per_thread - LIVE) {
            fprintf(stderr, "tsan_recorder: writer %d: %" PRIu64 " mallocs, %" PRIu64 " frees in the log\n",
                    w, next_alloc[w], next_free[w]);
            bad = 1;
        }
    mlg_reader_close(rd);
    if (!bad && stacked != WRITERS * per_thread) {
        fprintf(stderr, "tsan_recorder: %" PRIu64 " of %" PRIu64 " mallocs have a call stack\n",
                stacked, WRITERS * per_thread);
        bad = 1;
    }
    if (!bad)
        printf("tsan_recorder: %" PRIu64 " events from %d threads, packed online, complete and in order, every malloc with its stack\n",
               n, WRITERS);
    return bad ? -1 : 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: tsan_recorder DIR [EVENTS_PER_THREAD]\n");
        return 2;
    }
    if (argc > 2)
        per_thread = strtoull(argv[2], NULL, 10);
    if (per_thread <= LIVE)
        per_thread = LIVE + 1;
    char prefix[4096], log[4200];
    snprintf(prefix, sizeof prefix, "%s/tsan", argv[1]);
    setenv("MALLOG_OUT", prefix, 1);
    setenv("MALLOG_STACKS", "8", 1);
    setenv("MALLOG_UNWIND", "fp", 1);
    alias = __real_mmap(NULL, ALIAS_BYTES, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (alias == MAP_FAILED) {
        perror("tsan_recorder: reserve");
        return 1;
    }
    rec_constructor();
    if (__atomic_load_n(&mlg_rec.state, __ATOMIC_ACQUIRE) != REC_ACTIVE) {
        fprintf(stderr, "tsan_recorder: the recorder did not start (spool in %s?)\n", argv[1]);
        return 1;
    }
    snprintf(log, sizeof log, "%s.log", prefix);
    struct mlg_packer *pk;
    struct mlg_error err;
    if (mlg_packer_open(&pk, mlg_rec.spool_path, log, NULL, &err) != 0) {
        fprintf(stderr, "tsan_recorder: packer: %s\n", err.detail);
        return 1;
    }
    pthread_t th[WRITERS];
    for (int w = 0; w < WRITERS; w++)
        pthread_create(&th[w], NULL, writer, (void *)(intptr_t)w);
    uint64_t progress = 0, steps = 0;
    while (__atomic_load_n(&writers_done, __ATOMIC_ACQUIRE) < WRITERS) {
        if (mlg_packer_step(pk, 0, &progress, &err) != 0) {
            fprintf(stderr, "tsan_recorder: packer step: %s\n", err.detail);
            return 1;
        }
        steps++;
    }
    for (int w = 0; w < WRITERS; w++)
        pthread_join(th[w], NULL);
    rec_mark_end(MLG_END_EXIT, 0, 1);
    struct mlg_pack_result res;
    if (mlg_packer_finish(pk, MLG_END_EXIT, 0, &res, &err) != 0) {
        fprintf(stderr, "tsan_recorder: packer finish: %s\n", err.detail);
        return 1;
    }
    unlink(mlg_rec.spool_path);
    alias = NULL; /* the log is read back through the reader's own mappings */
    printf("tsan_recorder: %" PRIu64 " online packing steps\n", steps);
    return check_log(log) == 0 ? 0 : 1;
}

/* recorder.c - per-thread recording into MAP_SHARED spool windows.
 *
 * Runs inside the traced process: no malloc, no stdio, no fd kept open (daemons close them all),
 * no lock held across a real allocator call. A record is encoded on the stack, its bytes are
 * reserved with one signal-atomic xadd, copied, and its tag byte is stored last, so a record that
 * was being written when the process died reads as a hole, and everything before it survives.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <gnu/libc-version.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "preload.h"
#include "../lib/trap.h"

#define MAX_WINDOWS 65536u
#define MLG_MADV_POPULATE_WRITE 23 /* Linux 5.14; older kernels say EINVAL and fault as before */
#define CHUNKS_PER_WINDOW (MLG_SPOOL_WINDOW / MLG_SPOOL_CHUNK)
#define POOL_BYTES (1u << 20)

static uint64_t seq_before_spool; /* until a spool exists (never used for a record) */
struct recorder mlg_rec = {.seqp = &seq_before_spool};
__thread struct tstate *mlg_tls __attribute__((tls_model("initial-exec")));

static uint8_t *win_addr[MAX_WINDOWS];
static _Atomic uint16_t win_sealed[MAX_WINDOWS];
static uint32_t win_count;

static struct tstate *pool;       /* current pool block */
static uint32_t pool_used, pool_cap;

extern char **environ;

void rec_warn(const char *msg)
{
    static _Atomic int warned;
    if (__atomic_fetch_add(&warned, 1, __ATOMIC_RELAXED) > 8)
        return;
    char line[512];
    size_t n = 0;
    const char *parts[] = {"mallog: warning: ", msg, "\n"};
    for (unsigned i = 0; i < 3; i++)
        for (const char *s = parts[i]; *s && n < sizeof line; s++)
            line[n++] = *s;
    ssize_t r = write(STDERR_FILENO, line, n);
    (void)r;
}

uint64_t rec_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec - mlg_rec.start_mono_ns;
}

void rec_lock(void)
{
    while (__atomic_exchange_n(&mlg_rec.lock, 1, __ATOMIC_ACQUIRE))
        sched_yield();
}

void rec_unlock(void)
{
    __atomic_store_n(&mlg_rec.lock, 0, __ATOMIC_RELEASE);
}

static void copy_str(char *dst, size_t cap, const char *src)
{
    size_t n = strnlen(src, cap - 1);
    memcpy(dst, src, n);
    dst[n] = 0;
}

/* Small integer to decimal, for paths. */
static char *put_uint(char *p, uint64_t v)
{
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        *p++ = tmp[--n];
    *p = 0;
    return p;
}

/* ---- spool file and windows -------------------------------------------------------------- */

static int map_window(uint32_t index)
{
    if (index >= MAX_WINDOWS)
        return -1;
    int fd = open(mlg_rec.spool_path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return -1;
    off_t end = (off_t)(index + 1) * MLG_SPOOL_WINDOW;
    void *p = MAP_FAILED;
    if (ftruncate(fd, end) == 0)
        p = mmap(NULL, MLG_SPOOL_WINDOW, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
                 (off_t)index * MLG_SPOOL_WINDOW);
    close(fd);
    if (p == MAP_FAILED)
        return -1;
    /* The window is a hole of a sparse file: without this, the first write fault reads ahead
     * and zeroes up to the whole readahead window (megabytes with large folios) for pages
     * nobody may ever use - most of the cost of a short process (docs/DESIGN.md, issue 18).
     * A process that fills a window will fill the next: read-ahead is right there. */
    if (index == 0)
        madvise(p, MLG_SPOOL_WINDOW, MADV_RANDOM);
    win_addr[index] = p;
    win_count = index + 1;
    mlg_rec.win_base = p;
    mlg_rec.win_index = index;
    mlg_rec.next_chunk = index == 0 ? 1 : 0; /* chunk 0 of window 0 is the header */
    return 0;
}

/* Whether the log (or a live pack's partial log) of this pid and generation already exists: its
 * spool may be gone, but the generation is taken. */
static int log_exists(uint32_t gen)
{
    char path[4300];
    char *p = stpcpy(path, mlg_rec.prefix);
    *p++ = '.';
    p = put_uint(p, (uint64_t)mlg_rec.pid);
    if (gen) {
        *p++ = '.';
        p = put_uint(p, gen);
    }
    p = stpcpy(p, ".mlog");
    if (access(path, F_OK) == 0)
        return 1;
    strcpy(p, ".partial");
    return access(path, F_OK) == 0;
}

/* Creates <prefix>.<pid>.<gen>[.<run>].spool with the first free exec generation from first_gen.
 * The run id keeps two recordings with one prefix from packing each other's spools. */
static int create_spool(uint32_t first_gen)
{
    for (uint32_t gen = first_gen; gen < first_gen + 1000; gen++) {
        if (log_exists(gen))
            continue;
        char *p = stpcpy(mlg_rec.spool_path, mlg_rec.prefix);
        *p++ = '.';
        p = put_uint(p, (uint64_t)mlg_rec.pid);
        *p++ = '.';
        p = put_uint(p, gen);
        if (mlg_rec.run[0]) {
            *p++ = '.';
            p = stpcpy(p, mlg_rec.run);
        }
        strcpy(p, ".spool");
        int fd = open(mlg_rec.spool_path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0) {
            if (errno == EEXIST)
                continue;
            return -1;
        }
        close(fd);
        mlg_rec.exec_gen = gen;
        return 0;
    }
    return -1;
}

/* MALLOG_EXEC=<pid>:<gen>, set by our exec hooks: the image that exec'd us, if it is our pid. */
static int exec_hint(uint32_t *gen)
{
    const char *v = options_env("MALLOG_EXEC");
    if (!v)
        return 0;
    uint64_t pid = 0, g = 0;
    for (; *v >= '0' && *v <= '9'; v++)
        pid = pid * 10 + (uint64_t)(*v - '0');
    if (*v++ != ':')
        return 0;
    for (; *v >= '0' && *v <= '9'; v++)
        g = g * 10 + (uint64_t)(*v - '0');
    if (*v || pid != (uint64_t)mlg_rec.pid || g >= 1000000)
        return 0;
    *gen = (uint32_t)g;
    return 1;
}

static void read_file_into(const char *path, char *buf, size_t cap, size_t *len)
{
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    while (*len < cap - 1) {
        ssize_t n = read(fd, buf + *len, cap - 1 - *len);
        if (n <= 0)
            break;
        *len += (size_t)n;
    }
    close(fd);
    buf[*len] = 0;
}

static void fill_header(struct mlg_spool_header *h, uint64_t parent_pid, uint32_t parent_gen,
                        uint64_t fork_seq)
{
    struct timespec rt;
    clock_gettime(CLOCK_REALTIME, &rt);
    h->version = MLG_SPOOL_VERSION;
    h->header_size = sizeof *h;
    h->chunk_size = MLG_SPOOL_CHUNK;
    h->window_size = MLG_SPOOL_WINDOW;
    h->pid = (uint64_t)mlg_rec.pid;
    h->ppid = (uint64_t)getppid();
    h->exec_gen = mlg_rec.exec_gen;
    h->parent_pid = parent_pid;
    h->parent_gen = parent_gen;
    h->fork_seq = fork_seq;
    h->start_realtime_ns = (uint64_t)rt.tv_sec * 1000000000u + (uint64_t)rt.tv_nsec;
    h->start_mono_ns = mlg_rec.start_mono_ns;
    h->page_size = (uint32_t)sysconf(_SC_PAGESIZE);
    cpu_set_t set;
    h->nproc = sched_getaffinity(0, sizeof set, &set) == 0 ? (uint32_t)CPU_COUNT(&set) : 0;
    ssize_t n = readlink("/proc/self/exe", h->exe, sizeof h->exe - 1);
    h->exe[n > 0 ? n : 0] = 0;
    size_t len;
    read_file_into("/proc/self/cmdline", h->argv, sizeof h->argv, &len);
    h->argc = 0;
    for (size_t i = 0; i < len; i++)
        h->argc += h->argv[i] == 0;
    copy_str(h->glibc_version, sizeof h->glibc_version, gnu_get_libc_version());
    static const char *const env_names[] = {"MALLOC_ARENA_MAX", "MALLOC_ARENA_TEST",
        "MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_",
        "MALLOC_MMAP_MAX_", "MALLOC_PERTURB_", "MALLOC_CHECK_", "GLIBC_TUNABLES", "LD_PRELOAD"};
    char *e = h->env, *eend = h->env + sizeof h->env - 1;
    for (unsigned i = 0; i < sizeof env_names / sizeof env_names[0]; i++) {
        const char *v = options_env(env_names[i]);
        if (!v)
            continue;
        size_t kl = strlen(env_names[i]), vl = strlen(v);
        if (e + kl + vl + 2 >= eend)
            break;
        e = stpcpy(e, env_names[i]);
        *e++ = '=';
        e = stpcpy(e, v);
        *e++ = '\n';
    }
    *e = 0;
    memcpy(h->magic, MLG_SPOOL_MAGIC, 8);
}

/* Says once, on stderr and in the recording's failure list (MALLOG_FAILS, which `mallog record`
 * reports), that this process is not recorded: the spool path and errno. No stdio: the line is
 * built by hand; strerrorname_np is a table lookup, strerror could translate (and allocate). */
static void spool_failed(int err)
{
    char num[24], pid[24];
    put_uint(num, (uint64_t)err);
    put_uint(pid, (uint64_t)mlg_rec.pid);
    const char *name = strerrorname_np(err);
    char line[4600];
    char *p = stpcpy(line, "pid ");
    p = stpcpy(stpcpy(p, pid), ": cannot create ");
    p = stpcpy(stpcpy(p, mlg_rec.spool_path), ": ");
    p = stpcpy(stpcpy(p, name ? name : "errno "), name ? "" : num);
    stpcpy(p, "; this process is not recorded");
    rec_warn(line);
    if (!mlg_rec.fails[0])
        return;
    int fd = open(mlg_rec.fails, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return;
    p = stpcpy(stpcpy(line, pid), " ");
    p = stpcpy(stpcpy(p, num), " ");
    p = stpcpy(stpcpy(p, mlg_rec.spool_path), "\n");
    ssize_t r = write(fd, line, (size_t)(p - line)); /* O_APPEND: one line, whole */
    (void)r;
    close(fd);
}

/* Opens this process's spool and maps window 0. Returns 0 or -1 (recording then stays off). */
static int open_spool(uint64_t parent_pid, uint32_t parent_gen, uint64_t fork_seq,
                      uint32_t first_gen)
{
    win_count = 0;
    mlg_rec.spool_path[0] = 0;
    if (create_spool(first_gen) != 0) {
        spool_failed(errno);
        return -1;
    }
    if (map_window(0) != 0) {
        int err = errno;
        unlink(mlg_rec.spool_path); /* empty: nothing to pack, and it would read as damaged */
        spool_failed(err);
        return -1;
    }
    mlg_rec.hdr = (struct mlg_spool_header *)(void *)win_addr[0];
    fill_header(mlg_rec.hdr, parent_pid, parent_gen, fork_seq);
    /* a forked child continues its parent's numbering */
    mlg_rec.hdr->seq_counter = __atomic_load_n(mlg_rec.seqp, __ATOMIC_RELAXED);
    mlg_rec.hdr->chunks_claimed = 1;
    mlg_rec.seqp = (uint64_t *)(uintptr_t)&mlg_rec.hdr->seq_counter;
    return 0;
}

/* ---- chunks ------------------------------------------------------------------------------ */

/* The window holding chunk, or UINT32_MAX. */
static uint32_t window_of(const uint8_t *chunk)
{
    for (uint32_t w = win_count; w-- > 0;) /* the newest windows are the likely ones */
        if (win_addr[w] && chunk >= win_addr[w] && chunk < win_addr[w] + MLG_SPOOL_WINDOW)
            return w;
    return UINT32_MAX;
}

#define RELEASE_BATCH 16u /* chunks (1 MiB) dropped from our RSS at once */

/* Drops the thread's sealed chunks from our RSS (the records stay in the page cache and the
 * file), then counts them sealed: a window is unmapped once every chunk of it is, so no range
 * still waiting here can be unmapped (and its address reused) under us. */
static void release_sealed(struct tstate *t)
{
    uint32_t n = t->rel_chunks;
    if (!n)
        return;
    uint8_t *start = t->rel_start;
    t->rel_chunks = 0;
    t->rel_start = NULL;
    uint32_t w = window_of(start);
    if (w == UINT32_MAX)
        return;
    madvise(start, (size_t)n * MLG_SPOOL_CHUNK, MADV_DONTNEED);
    uint16_t sealed = __atomic_add_fetch(&win_sealed[w], (uint16_t)n, __ATOMIC_ACQ_REL);
    if (w > 0 && sealed == CHUNKS_PER_WINDOW) {
        uint8_t *addr = win_addr[w];
        win_addr[w] = NULL;
        munmap(addr, MLG_SPOOL_WINDOW);
    }
}

/* A thread left this chunk for good. Its pages leave our RSS in batches of consecutive chunks of
 * one window: one madvise per 64 KiB chunk cost a TLB shootdown (an IPI to every core the process
 * ran on) per chunk, ~10% of a malloc-bound program's time (docs/DESIGN.md, issue 18). */
static void seal_chunk(struct tstate *t, uint8_t *chunk)
{
    if (t->rel_chunks && chunk == t->rel_start + (size_t)t->rel_chunks * MLG_SPOOL_CHUNK &&
        t->rel_chunks < RELEASE_BATCH && window_of(chunk) == window_of(t->rel_start)) {
        t->rel_chunks++;
    } else {
        release_sealed(t);
        t->rel_start = chunk;
        t->rel_chunks = 1;
    }
    if (t->rel_chunks == RELEASE_BATCH)
        release_sealed(t);
}

static void pid_changed_without_atfork(void);

/* Claims the next chunk of the spool for thread (a serial, or MLG_SPOOL_SITES_THREAD) and stamps
 * it. NULL if the spool cannot grow. */
uint8_t *rec_claim_chunk(uint32_t thread, uint32_t tid)
{
    rec_lock();
    if (mlg_rec.win_base == NULL ||
        (mlg_rec.next_chunk >= CHUNKS_PER_WINDOW && map_window(mlg_rec.win_index + 1) != 0)) {
        rec_unlock();
        return NULL;
    }
    uint8_t *chunk = mlg_rec.win_base + (size_t)mlg_rec.next_chunk * MLG_SPOOL_CHUNK;
    mlg_rec.next_chunk++;
    /* atomic for the packer reading it while we run (a plain mov on x86) */
    __atomic_store_n(&mlg_rec.hdr->chunks_claimed, mlg_rec.win_index * CHUNKS_PER_WINDOW + mlg_rec.next_chunk,
                     __ATOMIC_RELEASE);
    rec_unlock();
    /* one call maps the chunk's 16 pages instead of 16 page faults on the hot path */
    madvise(chunk, MLG_SPOOL_CHUNK, MLG_MADV_POPULATE_WRITE);
    struct mlg_spool_chunk *c = (struct mlg_spool_chunk *)(void *)chunk;
    c->thread = thread;
    c->tid = tid;
    c->time_ns = rec_now_ns();
    __atomic_store_n(&c->magic, MLG_SPOOL_CHUNK_MAGIC, __ATOMIC_RELEASE);
    return chunk;
}

/* Gives t a fresh chunk (outermost hook only). Returns 0, or -1 if the spool cannot grow.
 * The new chunk is claimed and stamped first (a signal handler's hook meanwhile writes into the
 * old chunk's reserved room), then swapped in with a few stores under blocked signals. */
static int roll_chunk(struct tstate *t)
{
    uint8_t *old = t->chunk;
    /* A clone without atfork (raw clone, _Fork we did not see) would write into the parent's
     * pages: check the pid once per chunk, not per event. */
    if (old && (pid_t)syscall(SYS_getpid) != mlg_rec.pid) {
        t->chunk = NULL;
        pid_changed_without_atfork();
        return t->chunk ? 0 : -1;
    }
    uint8_t *chunk = rec_claim_chunk(t->serial, t->tid);
    if (!chunk)
        return -1;
    /* A signal handler's hook in the next few stores would find no chunk and drop its record;
     * with signals blocked (one syscall pair per 64 KiB chunk) it runs after the swap instead,
     * even when this thread is preempted in the middle and the signal is due when it resumes. */
    sigset_t all, saved;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &saved);
    t->chunk = NULL; /* a nested hook cannot get here now; NULL still never races us */
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    t->cursor = 0;
    t->enc.prev_seq = 0;
    t->enc.prev_ptr = 0;
    t->since_time = UINT32_MAX; /* every chunk starts with a clock reading */
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    t->chunk = chunk;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    pthread_sigmask(SIG_SETMASK, &saved, NULL);
    if (old)
        seal_chunk(t, old); /* nested records in it are complete: they ran before we resumed */
    return 0;
}

/* Reserves len bytes with one xadd (atomic against a signal on this thread) and publishes the
 * record by storing its tag last. Returns 0 if the chunk had no room. */
static inline int commit(struct tstate *t, const uint8_t *buf, unsigned len)
{
    uint8_t *chunk = t->chunk;
    if (!chunk)
        return 0;
    uint32_t pos = len;
    __asm__ volatile("xaddl %0, %1" : "+r"(pos), "+m"(t->cursor) : : "memory");
    if (pos + len > MLG_SPOOL_PAYLOAD)
        return 0;
    uint8_t *dst = chunk + sizeof(struct mlg_spool_chunk) + pos;
    memcpy(dst + 1, buf + 1, len - 1);
    __atomic_store_n(dst, buf[0], __ATOMIC_RELEASE);
    return 1;
}

static void count_lost(void)
{
    if (mlg_rec.hdr)
        __atomic_fetch_add(&mlg_rec.hdr->lost_events, 1, __ATOMIC_RELAXED);
}

void rec_emit(struct tstate *t, unsigned op, unsigned outcome, uint64_t seq, uint64_t seq_rel,
              uint64_t old_ptr, uint64_t arg, uint64_t size, uint64_t ptr, int64_t result,
              uint32_t stack)
{
    uint8_t buf[MLG_SPOOL_REC_MAX];
    if (seq > t->last_seq)
        t->last_seq = seq; /* a nested hook's number may be the older one */
    if (t->depth++ != 0) {
        /* Nested inside our own hook (a signal handler): absolute encoding, no chunk change. */
        unsigned len = mlg_spool_encode(buf, NULL, 1, op, outcome, seq, seq_rel, old_ptr, arg,
                                        size, ptr, result, stack);
        if (!commit(t, buf, len))
            count_lost();
        t->depth--;
        return;
    }
    int saved_errno = errno;
    for (int attempt = 0; attempt < 3; attempt++) {
        if (!t->chunk || t->cursor + 2 * MLG_SPOOL_REC_MAX > MLG_SPOOL_PAYLOAD) {
            if (roll_chunk(t) != 0)
                break;
        }
        uint64_t coarse = rec_coarse_ns();
        if (unlikely(t->since_time >= mlg_rec.time_every ||
                     coarse - t->time_coarse >= REC_TIME_STALE_NS)) {
            t->since_time = 0;
            t->time_coarse = coarse;
            unsigned tl = mlg_spool_encode_time(buf, rec_now_ns());
            if (!commit(t, buf, tl)) {
                roll_chunk(t);
                continue;
            }
        }
        t->since_time++;
        unsigned len = mlg_spool_encode(buf, &t->enc, 0, op, outcome, seq, seq_rel, old_ptr, arg,
                                        size, ptr, result, stack);
        if (likely(commit(t, buf, len))) {
            t->depth--;
            errno = saved_errno;
            return;
        }
        /* A nested record took the room after we encoded against this chunk's state. */
        if (roll_chunk(t) != 0)
            break;
    }
    count_lost();
    t->depth--;
    errno = saved_errno;
}

/* ---- threads ----------------------------------------------------------------------------- */

static pthread_key_t thread_key;
static _Atomic int thread_key_ready;

static struct tstate *pool_take(void)
{
    rec_lock();
    if (pool_used == pool_cap) {
        void *p = mmap(NULL, POOL_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) {
            rec_unlock();
            return NULL;
        }
        pool = p;
        pool_used = 0;
        pool_cap = POOL_BYTES / sizeof(struct tstate);
    }
    struct tstate *t = &pool[pool_used++];
    rec_unlock();
    return t;
}

static void start_thread_state(struct tstate *t)
{
    memset(t, 0, sizeof *t);
    t->serial = __atomic_fetch_add(&mlg_rec.next_serial, 1, __ATOMIC_RELAXED);
    t->tid = (uint32_t)syscall(SYS_gettid);
    t->since_time = UINT32_MAX;
    t->proc_gen = mlg_rec.proc_gen;
    if (t->serial < MLG_SPOOL_MAX_SLOTS) {
        t->slot = mlg_spool_slot(mlg_rec.hdr, t->serial);
        /* before this thread's first number is taken: the packer must look at its slot */
        uint32_t want = t->serial + 1, have = __atomic_load_n(&mlg_rec.hdr->threads_started, __ATOMIC_RELAXED);
        while (have < want && !__atomic_compare_exchange_n(&mlg_rec.hdr->threads_started, &have,
                                                            want, 0, __ATOMIC_SEQ_CST,
                                                            __ATOMIC_RELAXED))
            ;
    }
    else
        mlg_rec.hdr->no_online = 1; /* threads beyond the slot table: pack after the end */
    mlg_tls = t;
    rec_event(t, MLG_OP_THREAD_START, MLG_OUT_OK, 0, 0, 0, t->tid);
}

struct tstate *rec_thread_slow(void)
{
    int st = __atomic_load_n(&mlg_rec.state, __ATOMIC_ACQUIRE);
    if (st == REC_UNINIT) {
        rec_init();
        st = __atomic_load_n(&mlg_rec.state, __ATOMIC_ACQUIRE);
    }
    if (st != REC_ACTIVE)
        return NULL;
    struct tstate *t = mlg_tls;
    if (t && t->depth)
        return NULL; /* a hook inside thread registration itself */
    if (!t) {
        t = pool_take();
        if (!t)
            return NULL;
    }
    start_thread_state(t);
    if (__atomic_load_n(&thread_key_ready, __ATOMIC_ACQUIRE))
        pthread_setspecific(thread_key, t);
    return t;
}

/* Runs at thread exit. Re-arms itself twice so that THREAD_END comes after the program's own
 * destructors, which may free; anything later still records on the same state. */
static void thread_end(void *arg)
{
    struct tstate *t = arg;
    if (!t || t != mlg_tls || t->proc_gen != mlg_rec.proc_gen)
        return;
    if (t->destructor_rounds++ < 2) {
        pthread_setspecific(thread_key, t);
        return;
    }
    rec_event(t, MLG_OP_THREAD_END, MLG_OUT_OK, 0, 0, 0, 0);
    release_sealed(t);
}

/* ---- lifecycle --------------------------------------------------------------------------- */

void rec_mark_end(unsigned end, int status, int known)
{
    struct mlg_spool_header *h = mlg_rec.hdr;
    if (!h || __atomic_load_n(&mlg_rec.state, __ATOMIC_ACQUIRE) != REC_ACTIVE)
        return;
    h->end = end;
    h->end_status = status;
    h->end_time_ns = rec_now_ns();
    __atomic_store_n(&h->end_set, known ? 1u : 2u, __ATOMIC_RELEASE);
}

static void disable(void)
{
    __atomic_store_n(&mlg_rec.state, REC_DISABLED, __ATOMIC_RELEASE);
}

/* In a fresh child: forget the parent's windows without writing to them (they are shared pages)
 * and start a log of our own that links back to the parent's. */
void rec_after_fork_child(uint64_t parent_pid, uint32_t parent_gen, uint64_t fork_seq)
{
    __atomic_store_n(&mlg_rec.lock, 0, __ATOMIC_RELAXED);
    /* the counter lives in the parent's header, which we are about to unmap */
    seq_before_spool = __atomic_load_n(mlg_rec.seqp, __ATOMIC_RELAXED);
    mlg_rec.seqp = &seq_before_spool;
    for (uint32_t w = 0; w < win_count; w++) {
        if (win_addr[w])
            munmap(win_addr[w], MLG_SPOOL_WINDOW);
        win_addr[w] = NULL;
        win_sealed[w] = 0;
    }
    win_count = 0;
    mlg_rec.hdr = NULL;
    mlg_rec.win_base = NULL;
    mlg_rec.pid = (pid_t)syscall(SYS_getpid);
    mlg_rec.proc_gen++;
    mlg_rec.next_serial = 0;
    rec_stacks_after_fork();
    struct tstate *t = mlg_tls;
    if (t) {
        t->chunk = NULL;
        t->rel_chunks = 0; /* the parent's windows, unmapped above */
        t->rel_start = NULL;
    }
    if (!mlg_rec.follow || open_spool(parent_pid, parent_gen, fork_seq, 0) != 0) {
        disable();
        return;
    }
    if (t) {
        start_thread_state(t);
        if (__atomic_load_n(&thread_key_ready, __ATOMIC_ACQUIRE))
            pthread_setspecific(thread_key, t);
    }
}

static void pid_changed_without_atfork(void)
{
    uint64_t parent = (uint64_t)mlg_rec.pid;
    uint32_t gen = mlg_rec.exec_gen;
    rec_after_fork_child(parent, gen, 0);
}

static void atfork_prepare(void)
{
    rec_lock();
}

static void atfork_parent(void)
{
    rec_unlock();
}

static void atfork_child(void)
{
    struct tstate *t = mlg_tls;
    uint64_t fork_seq = t ? mlg_rec.fork_seq : 0;
    if (__atomic_load_n(&mlg_rec.state, __ATOMIC_ACQUIRE) != REC_ACTIVE) {
        __atomic_store_n(&mlg_rec.lock, 0, __ATOMIC_RELAXED);
        return;
    }
    rec_after_fork_child((uint64_t)mlg_rec.pid, mlg_rec.exec_gen, fork_seq);
}

/* Removes LD_PRELOAD from environ in place (no allocation) so exec'd programs are not recorded. */
static void rec_disable_preload_env(void)
{
    if (!environ)
        return;
    char **dst = environ;
    for (char **e = environ; *e; e++)
        if (strncmp(*e, "LD_PRELOAD=", 11) != 0)
            *dst++ = *e;
    *dst = NULL;
}

static int is_mallog_cli(void)
{
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return 0;
    exe[n] = 0;
    const char *base = strrchr(exe, '/');
    base = base ? base + 1 : exe;
    return strcmp(base, "mallog") == 0;
}

/* MALLOG_TRAP (lib/trap.h's grammar, which `mallog record --trap` checked before the start). */
static void parse_trap(const char *v)
{
    if (!v || !*v)
        return;
    struct mlg_trap t;
    if (mlg_trap_parse(v, &t) != 0) {
        rec_warn("MALLOG_TRAP not understood (want OP, OP:size=N or seq=N); no trap set");
        return;
    }
    mlg_rec.trap_op = t.op;
    mlg_rec.trap_size = t.size;
    mlg_rec.trap_seq = t.seq;
    mlg_rec.trap_armed = 1;
}

void rec_trap_check(unsigned op, uint64_t size, uint64_t seq)
{
    if ((mlg_rec.trap_op && op != mlg_rec.trap_op) ||
        (mlg_rec.trap_size != UINT64_MAX && size != mlg_rec.trap_size) ||
        (mlg_rec.trap_seq != UINT64_MAX && seq != mlg_rec.trap_seq))
        return;
    if (!__atomic_exchange_n(&mlg_rec.trap_armed, 0, __ATOMIC_ACQ_REL))
        return; /* another thread got there first: one trap */
    /* to this thread, so a debugger stops right here, in the call the program made */
    syscall(SYS_tgkill, (pid_t)syscall(SYS_getpid), (pid_t)syscall(SYS_gettid), SIGTRAP);
}

/* First hook call or constructor, whichever comes first. Only syscalls: no malloc. */
void rec_init(void)
{
    int expected = REC_UNINIT;
    if (!__atomic_compare_exchange_n(&mlg_rec.state, &expected, REC_INITIALIZING, 0,
                                     __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
        return; /* another thread is initialising: its calls pass through unrecorded */
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    mlg_rec.start_mono_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    mlg_rec.pid = (pid_t)syscall(SYS_getpid);
    mlg_rec.proc_gen = 1;
    struct preload_values opt;
    options_load(&opt);
    mlg_rec.follow = (int)opt.num[PRELOAD_OPT_FOLLOW];
    mlg_rec.time_every = (uint32_t)opt.num[PRELOAD_OPT_TIME_EVERY];
    parse_trap(opt.str[PRELOAD_OPT_TRAP]);
    mlg_rec.stack_depth = (uint32_t)opt.num[PRELOAD_OPT_STACKS];
    const char *unwind = opt.str[PRELOAD_OPT_UNWIND];
    mlg_rec.unwind_dwarf = !unwind || strcmp(unwind, "fp") != 0;
    const char *out = opt.str[PRELOAD_OPT_OUT];
    const char *run = opt.str[PRELOAD_OPT_RUN], *fails = opt.str[PRELOAD_OPT_FAILS];
    copy_str(mlg_rec.run, sizeof mlg_rec.run, run ? run : "");
    copy_str(mlg_rec.fails, sizeof mlg_rec.fails, fails ? fails : "");
    if (is_mallog_cli() || opt.num[PRELOAD_OPT_DISABLE]) {
        disable();
        return;
    }
    if (out && out[0] == '/') {
        copy_str(mlg_rec.prefix, sizeof mlg_rec.prefix, out);
    } else {
        char cwd[4096];
        if (!getcwd(cwd, sizeof cwd - 64)) {
            disable();
            return;
        }
        char *p = stpcpy(mlg_rec.prefix, cwd);
        *p++ = '/';
        copy_str(p, sizeof mlg_rec.prefix - (size_t)(p - mlg_rec.prefix), out ? out : "mallog");
    }
    uint32_t exec_from = 0;
    int hinted = exec_hint(&exec_from);
    if (open_spool(0, 0, 0, hinted ? exec_from + 1 : 0) != 0) {
        disable();
        return;
    }
    if (mlg_rec.exec_gen > 0) {
        /* the image we replaced: named by our exec hook, or else the generation before ours */
        mlg_rec.hdr->parent_pid = (uint64_t)mlg_rec.pid;
        mlg_rec.hdr->parent_gen = hinted ? exec_from : mlg_rec.exec_gen - 1;
    }
    rec_stacks_init();
    __atomic_store_n(&mlg_rec.state, REC_ACTIVE, __ATOMIC_RELEASE);
}

/* Runs once the loader has finished: things that may allocate (and are then recorded). */
void rec_constructor(void) MLG_HIDDEN;
void rec_constructor(void)
{
    rec_init();
    if (__atomic_load_n(&mlg_rec.state, __ATOMIC_ACQUIRE) != REC_ACTIVE) {
        if (is_mallog_cli())
            rec_disable_preload_env();
        return;
    }
    if (!mlg_rec.follow)
        rec_disable_preload_env();
    if (pthread_key_create(&thread_key, thread_end) == 0) {
        __atomic_store_n(&thread_key_ready, 1, __ATOMIC_RELEASE);
        if (mlg_tls)
            pthread_setspecific(thread_key, mlg_tls);
    }
    pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
}

void rec_destructor(void) MLG_HIDDEN;
void rec_destructor(void)
{
    struct mlg_spool_header *h = mlg_rec.hdr;
    if (h && (!__atomic_load_n(&h->end_set, __ATOMIC_ACQUIRE) || h->end == MLG_END_EXEC))
        rec_mark_end(MLG_END_EXIT, 0, 0);
}

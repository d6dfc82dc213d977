/* stacks.c - the call stack of each allocation (MALLOG_STACKS=DEPTH), deduplicated into a table.
 *
 * A stack is captured by walking frame pointers (MALLOG_UNWIND=fp: cheap, right only where code
 * keeps frame pointers) or with libunwind's unw_backtrace (libmallog-unwind.so: reads .eh_frame,
 * right everywhere). Its return addresses are hashed; a lock-free open-addressing table maps the
 * hash to a stack id, so a known stack costs one probe and the log grows by an id per event.
 * A new stack is written once, under a lock, as an entry in a sites chunk of the spool, with the
 * executable mappings its frames fall in (read from /proc/self/maps, since a symbolizer later
 * cannot see this process's mappings). The id is published in the table only after its entry, so
 * no event can name a stack the packer cannot find.
 *
 * Never in the traced process: symbol lookup, malloc, stdio. A hook nested inside a capture (a
 * signal handler, or the unwinder itself allocating) records its event without a stack.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "preload.h"
#include "../lib/maps.h"

#ifdef MLG_WITH_LIBUNWIND
#define UNW_LOCAL_ONLY
#include <libunwind.h>
#endif

/* The bounds of our own code (GNU ld defines both for every output): leading frames in it are the
 * hooks, not the program. */
extern char __ehdr_start[] __attribute__((visibility("hidden")));
extern char __etext[] __attribute__((visibility("hidden")));
extern void *__libc_stack_end; /* ld.so: the top of the main thread's stack */

#define TABLE_BITS 20
#define TABLE_SLOTS (1u << TABLE_BITS)
#define TABLE_LIMIT (TABLE_SLOTS / 4 * 3) /* keep probes short: new stacks beyond get no id */
#define MAX_MODULES 4096
#define MAPS_BUF (8u << 20)
#define OWN_FRAMES_MAX 8
#define ID_FAILED UINT32_MAX

struct table_slot {
    uint64_t hash; /* 0 = free; claimed by CAS */
    uint32_t id;   /* 0 = being published, ID_FAILED = could not be published */
    uint32_t pad;
};

static struct {
    struct table_slot *table;
    _Atomic int lock;          /* publishing new stacks and modules: rare */
    uint32_t ids, modules;
    uint8_t *chunk;            /* current sites chunk of the spool */
    uint32_t used;             /* its payload bytes written */
    struct {
        uintptr_t start, end;
    } known[MAX_MODULES];
    uint32_t nknown;
    char *maps;
    unsigned long long scanned_adds; /* objects the loader had loaded at our last scan, + 1 */
} st;

static void sites_lock(void)
{
    while (__atomic_exchange_n(&st.lock, 1, __ATOMIC_ACQUIRE))
        sched_yield();
}

static void sites_unlock(void)
{
    __atomic_store_n(&st.lock, 0, __ATOMIC_RELEASE);
}

void rec_stacks_init(void)
{
    if (mlg_rec.stack_depth == 0 || st.table)
        return;
    void *t = mmap(NULL, (size_t)TABLE_SLOTS * sizeof *st.table, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (t == MAP_FAILED) {
        mlg_rec.stack_depth = 0;
        rec_warn("mallog: cannot map the stack table; recording without stacks\n");
        return;
    }
    st.table = t;
#ifdef MLG_WITH_LIBUNWIND
    /* one cache of unwind info per thread: no lock shared by threads that allocate at once */
    unw_set_caching_policy(unw_local_addr_space, UNW_CACHE_PER_THREAD);
#else
    mlg_rec.unwind_dwarf = 0;
#endif
}

/* A forked child starts a spool of its own: its stack ids and modules start again from 1. */
void rec_stacks_after_fork(void)
{
    __atomic_store_n(&st.lock, 0, __ATOMIC_RELAXED);
    if (st.table)
        madvise(st.table, (size_t)TABLE_SLOTS * sizeof *st.table, MADV_DONTNEED);
    st.ids = st.modules = st.nknown = 0;
    st.scanned_adds = 0;
    st.chunk = NULL;
    st.used = 0;
}

/* ---- capture ------------------------------------------------------------------------------ */

static int is_ours(uint64_t pc)
{
    return pc >= (uintptr_t)__ehdr_start && pc < (uintptr_t)__etext;
}

/* Frame records are [saved fp, return address]. Every step must go up the stack, stay below its
 * top and be a plausible frame size, so a function without a frame pointer ends the walk instead
 * of sending it into unmapped memory. */
static __attribute__((noinline)) unsigned unwind_fp(struct tstate *t, uint64_t *pcs, unsigned max)
{
    uintptr_t fp = (uintptr_t)__builtin_frame_address(0);
    if (!t->stack_top) {
        /* The main thread's stack ends at __libc_stack_end; a pthread's just below its thread
         * descriptor. Decided by where we run, not by tid == pid, which a forked child's thread
         * also satisfies. Other threads' stacks are mapped at least 128 MiB below the main one. */
        uintptr_t main_top = (uintptr_t)__libc_stack_end;
        t->stack_top = fp < main_top && main_top - fp < (64u << 20) ? main_top
                                                                   : (uintptr_t)pthread_self();
    }
    uintptr_t top = t->stack_top;
    unsigned n = 0;
    if (fp >= top || top - fp > (256u << 20))
        return 0; /* not on the thread's own stack (sigaltstack, a coroutine): give up */
    while (n < max && fp + 16 <= top) {
        const uintptr_t *frame = (const uintptr_t *)fp;
        uintptr_t next = frame[0], ret = frame[1];
        if (ret == 0)
            break;
        pcs[n++] = ret;
        if (next <= fp || next - fp > (1u << 20) || (next & 7) != 0)
            break;
        fp = next;
    }
    return n;
}

static unsigned unwind(struct tstate *t, uint64_t *pcs, unsigned max)
{
#ifdef MLG_WITH_LIBUNWIND
    if (mlg_rec.unwind_dwarf) {
        int n = unw_backtrace((void **)pcs, (int)max);
        return n > 0 ? (unsigned)n : 0;
    }
#endif
    return unwind_fp(t, pcs, max);
}

static uint64_t hash_frames(const uint64_t *pcs, unsigned n)
{
    uint64_t h = 0x9E3779B97F4A7C15ull ^ n;
    for (unsigned i = 0; i < n; i++) {
        h = (h ^ pcs[i]) * 0xff51afd7ed558ccdull;
        h ^= h >> 32;
    }
    return h ? h : 1;
}

/* ---- publishing (under the sites lock) ---------------------------------------------------- */

static uint8_t *site_space(uint32_t len)
{
    const uint32_t payload = MLG_SPOOL_CHUNK - sizeof(struct mlg_spool_chunk);
    if (!st.chunk || st.used + len > payload) {
        /* the packer moves to the next sites chunk once it finds this one's end: no more
         * entries may land here after a new one is claimed */
        st.chunk = rec_claim_chunk(MLG_SPOOL_SITES_THREAD, 0);
        st.used = 0;
        if (!st.chunk)
            return NULL;
    }
    uint8_t *p = st.chunk + sizeof(struct mlg_spool_chunk) + st.used;
    st.used += len;
    return p;
}

static void site_publish(uint8_t *entry, unsigned kind, uint32_t len)
{
    __atomic_store_n((uint32_t *)(void *)entry, kind << 24 | len, __ATOMIC_RELEASE);
}

static int covered(uint64_t pc)
{
    for (uint32_t i = st.nknown; i-- > 0;)
        if (pc >= st.known[i].start && pc < st.known[i].end)
            return 1;
    return 0;
}

static void add_module(uintptr_t start, uintptr_t end, uint64_t offset, const char *path, size_t plen)
{
    for (uint32_t i = 0; i < st.nknown; i++)
        if (st.known[i].start == start && st.known[i].end == end)
            return;
    if (st.nknown == MAX_MODULES || plen >= MLG_STR_MAX)
        return;
    uint32_t len = 32 + (uint32_t)((plen + 8) & ~(size_t)7);
    uint8_t *e = site_space(len);
    if (!e)
        return;
    uint32_t id = ++st.modules;
    uint64_t v[3] = {start, end, offset};
    memcpy(e + 4, &id, 4);
    memcpy(e + 8, v, sizeof v);
    memset(e + 32, 0, len - 32);
    memcpy(e + 32, path, plen);
    site_publish(e, MLG_SPOOL_SITE_MODULE, len);
    st.known[st.nknown].start = start;
    st.known[st.nknown++].end = end;
}

/* Records every executable file mapping not seen yet. Syscalls only. */
static void scan_maps(void)
{
    if (!st.maps) {
        void *m = mmap(NULL, MAPS_BUF, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED)
            return;
        st.maps = m;
    }
    int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    size_t len = 0;
    ssize_t n;
    while (len < MAPS_BUF - 1 && (n = read(fd, st.maps + len, MAPS_BUF - 1 - len)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    st.maps[len] = 0;
    for (const char *line = st.maps; *line;) {
        const char *eol = strchr(line, '\n');
        if (!eol)
            eol = line + strlen(line);
        struct mlg_map m;
        if (mlg_maps_line(line, eol, &m) && m.perms[2] == 'x' && m.plen && m.path[0] == '/' &&
            m.end > m.start)
            add_module(m.start, m.end, m.offset, m.path, m.plen);
        line = *eol ? eol + 1 : eol;
    }
}

static int loader_adds(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    *(unsigned long long *)data = info->dlpi_adds;
    return 1; /* the count is on every object: one is enough */
}

/* A frame outside every known module: rescan the mappings, but only if the loader has loaded
 * something since the last scan (frames in JIT code or garbage from a frame-pointer walk would
 * otherwise cost a read of /proc/self/maps each). */
static void cover(const uint64_t *pcs, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        if (!covered(pcs[i])) {
            unsigned long long adds = 0;
            dl_iterate_phdr(loader_adds, &adds);
            if (adds + 1 != st.scanned_adds) {
                scan_maps();
                st.scanned_adds = adds + 1;
            }
            return;
        }
}

static uint32_t publish_stack(const uint64_t *pcs, unsigned n)
{
    sites_lock();
    uint32_t id = ID_FAILED;
    if (st.ids < TABLE_LIMIT) {
        cover(pcs, n);
        uint32_t len = 8 + 8 * n;
        uint8_t *e = site_space(len);
        if (e) {
            id = ++st.ids;
            memcpy(e + 4, &id, 4);
            memcpy(e + 8, pcs, 8 * (size_t)n);
            site_publish(e, MLG_SPOOL_SITE_STACK, len);
        }
    }
    sites_unlock();
    return id;
}

static uint32_t stack_id(const uint64_t *pcs, unsigned n)
{
    uint64_t h = hash_frames(pcs, n);
    uint32_t i = (uint32_t)h & (TABLE_SLOTS - 1);
    for (unsigned probes = 0; probes < 64; probes++, i = (i + 1) & (TABLE_SLOTS - 1)) {
        struct table_slot *s = &st.table[i];
        uint64_t cur = __atomic_load_n(&s->hash, __ATOMIC_ACQUIRE);
        if (cur == 0) {
            if (!__atomic_compare_exchange_n(&s->hash, &cur, h, 0, __ATOMIC_ACQ_REL,
                                             __ATOMIC_ACQUIRE)) {
                if (cur != h)
                    continue; /* another stack took this slot: probe on */
            } else {
                uint32_t id = publish_stack(pcs, n);
                __atomic_store_n(&s->id, id, __ATOMIC_RELEASE);
                return id == ID_FAILED ? 0 : id;
            }
        }
        if (cur != h)
            continue;
        /* Known stack; its publisher may still be writing the entry. */
        for (int spins = 0; spins < 1000; spins++) {
            uint32_t id = __atomic_load_n(&s->id, __ATOMIC_ACQUIRE);
            if (id)
                return id == ID_FAILED ? 0 : id;
            sched_yield();
        }
        return 0;
    }
    return 0;
}

uint32_t rec_stack_capture(struct tstate *t)
{
    if (t->in_stack || !st.table)
        return 0;
    t->in_stack = 1;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    int saved_errno = errno;
    uint64_t pcs[MLG_STACK_DEPTH_MAX + OWN_FRAMES_MAX];
    unsigned n = unwind(t, pcs, mlg_rec.stack_depth + OWN_FRAMES_MAX);
    unsigned skip = 0;
    while (skip < n && is_ours(pcs[skip]))
        skip++;
    n -= skip;
    if (n > mlg_rec.stack_depth)
        n = mlg_rec.stack_depth;
    uint32_t id = n ? stack_id(pcs + skip, n) : 0;
    errno = saved_errno;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    t->in_stack = 0;
    return id;
}

/* backend.c - the allocator under test behind one vtable. "glibc" and "libc" call the process's
 * malloc family directly (for "libc" that is whatever LD_PRELOAD put first: jemalloc, mimalloc,
 * tcmalloc or a user's library); "arena" calls arena.c. Allocator statistics come from each
 * library's own API, looked up with dlsym so nothing links against them. */
#include <dlfcn.h>
#include <link.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <pthread.h>
#include <string.h>

#include "../common/allocators.h"
#include "replay.h"

static void *libc_alloc(int op, uint64_t size, uint64_t arg)
{
    void *p = NULL;
    switch (op) {
    case MLG_OP_CALLOC:
        return arg ? calloc(arg, size / arg) : calloc(1, size);
    case MLG_OP_POSIX_MEMALIGN:
        return posix_memalign(&p, arg, size) == 0 ? p : NULL;
    case MLG_OP_ALIGNED_ALLOC:
        return aligned_alloc(arg, size);
    case MLG_OP_MEMALIGN:
        return memalign(arg, size);
    case MLG_OP_VALLOC:
        return valloc(size);
    case MLG_OP_PVALLOC:
        return pvalloc(size);
    default:
        return malloc(size);
    }
}

static void *libc_realloc(void *p, size_t n)
{
    return realloc(p, n);
}

static void libc_free(void *p)
{
    free(p);
}

static size_t libc_usable(void *p)
{
    return malloc_usable_size(p);
}

static int libc_trim(size_t pad)
{
    return malloc_trim(pad);
}

static int libc_mallopt(int param, int value)
{
    return mallopt(param, value);
}

static int glibc_stats(uint64_t *mapped, uint64_t *active)
{
    /* mallinfo2 takes every arena lock and walks the free lists: called per sample only */
    struct mallinfo2 mi = mallinfo2();
    *mapped = mi.arena + mi.hblkhd;
    *active = mi.uordblks + mi.hblkhd;
    return 1;
}

static int (*je_mallctl)(const char *, void *, size_t *, void *, size_t);

static int jemalloc_stats(uint64_t *mapped, uint64_t *active)
{
    uint64_t epoch = 1;
    size_t m = 0, a = 0, len = sizeof(size_t), elen = sizeof epoch;
    if (je_mallctl("epoch", NULL, NULL, &epoch, elen) != 0 ||
        je_mallctl("stats.mapped", &m, &len, NULL, 0) != 0 ||
        je_mallctl("stats.active", &a, &len, NULL, 0) != 0)
        return 0;
    *mapped = m;
    *active = a;
    return 1;
}

static void (*mi_info)(size_t *, size_t *, size_t *, size_t *, size_t *, size_t *, size_t *,
                       size_t *);

static int mimalloc_stats(uint64_t *mapped, uint64_t *active)
{
    size_t el, ut, st, rss, prss, commit = 0, pcommit, pf;
    mi_info(&el, &ut, &st, &rss, &prss, &commit, &pcommit, &pf);
    *mapped = commit; /* mimalloc's "rss" on Linux is its commit count too */
    (void)active;
    return 2; /* 2 = mapped only; the engine fills active with live usable bytes */
}

static int (*tc_prop)(const char *, size_t *);

static int tcmalloc_stats(uint64_t *mapped, uint64_t *active)
{
    size_t heap = 0, unmapped = 0, alloc = 0;
    if (!tc_prop("generic.heap_size", &heap) ||
        !tc_prop("tcmalloc.pageheap_unmapped_bytes", &unmapped) ||
        !tc_prop("generic.current_allocated_bytes", &alloc))
        return 0;
    *mapped = heap - unmapped;
    *active = alloc;
    return 1;
}

static void *arena_alloc_op(int op, uint64_t size, uint64_t arg)
{
    switch (op) {
    case MLG_OP_CALLOC:
        return arg ? arena_calloc(arg, size / arg) : arena_calloc(1, size);
    case MLG_OP_POSIX_MEMALIGN:
    case MLG_OP_ALIGNED_ALLOC:
    case MLG_OP_MEMALIGN:
        return arena_memalign(arg, size);
    case MLG_OP_VALLOC:
        return arena_memalign(4096, size);
    case MLG_OP_PVALLOC:
        return arena_memalign(4096, (size + 4095) & ~(uint64_t)4095);
    default:
        return arena_malloc(size);
    }
}

static size_t arena_usable(void *p)
{
    return arena_usable_size(p);
}

static int arena_stats_fn(uint64_t *mapped, uint64_t *active)
{
    struct arena_stats st;
    arena_stats(&st);
    *mapped = st.mapped;
    *active = st.active;
    return 1;
}

/* mallog's arena is one heap without locks (a replay process is one allocator): the threaded
 * replay calls it under one mutex (pthread mutexes never allocate). */
static pthread_mutex_t arena_lock = PTHREAD_MUTEX_INITIALIZER;

static void *arena_alloc_locked(int op, uint64_t size, uint64_t arg)
{
    pthread_mutex_lock(&arena_lock);
    void *p = arena_alloc_op(op, size, arg);
    pthread_mutex_unlock(&arena_lock);
    return p;
}

static void *arena_realloc_locked(void *q, size_t size)
{
    pthread_mutex_lock(&arena_lock);
    void *p = arena_realloc(q, size);
    pthread_mutex_unlock(&arena_lock);
    return p;
}

static void arena_free_locked(void *p)
{
    pthread_mutex_lock(&arena_lock);
    arena_free(p);
    pthread_mutex_unlock(&arena_lock);
}

void backend_thread_safe(struct backend *b)
{
    if (b->alloc != arena_alloc_op)
        return; /* the others are thread-safe allocators */
    b->alloc = arena_alloc_locked;
    b->realloc = arena_realloc_locked;
    b->free = arena_free_locked;
}

int backend_open(struct backend *b, const char *kind, const char *family)
{
    memset(b, 0, sizeof *b);
    b->name = family;
    if (strcmp(kind, "arena") == 0) {
        /* the placement policy is a setting like the libraries' (`mallog tune` varies it) */
        if (arena_set_policy(getenv("MALLOG_ARENA_POLICY")) < 0)
            return -1;
        b->alloc = arena_alloc_op;
        b->realloc = arena_realloc;
        b->free = arena_free;
        b->usable = arena_usable;
        b->stats = arena_stats_fn;
        return 0;
    }
    b->alloc = libc_alloc;
    b->realloc = libc_realloc;
    b->free = libc_free;
    b->usable = libc_usable;
    if (strcmp(kind, "glibc") == 0) {
        b->trim = libc_trim;
        b->mallopt = libc_mallopt;
        b->stats = glibc_stats;
        return 0;
    }
    if (strcmp(kind, "libc") != 0)
        return -1;
    /* Look up only the family's own entry point (common/allocators.h): a failed dlsym allocates
     * its error message through the allocator under test. */
    int a = allocators_find(family, strlen(family));
    void *sym = a < MLG_ALLOC_COUNT && allocators_list[a].stats_symbol
                    ? dlsym(RTLD_DEFAULT, allocators_list[a].stats_symbol)
                    : NULL;
    if (!sym)
        return 0;
    if (a == MLG_ALLOC_JEMALLOC) {
        je_mallctl = sym;
        b->stats = jemalloc_stats;
    } else if (a == MLG_ALLOC_MIMALLOC) {
        mi_info = sym;
        b->stats = mimalloc_stats;
    } else if (a == MLG_ALLOC_TCMALLOC) {
        tc_prop = sym;
        b->stats = tcmalloc_stats;
    }
    return 0;
}

int backend_serves(const char *lib, char *why, size_t len)
{
    /* RTLD_NOLOAD finds a loaded object by its file (a symlink or another spelling of the path
     * finds it too) and never loads one: NULL means ld.so skipped the LD_PRELOAD entry (not an
     * ELF shared library, wrong machine: it says why on stderr) */
    void *h = dlopen(lib, RTLD_NOLOAD | RTLD_LAZY);
    if (!h) {
        snprintf(why, len,
                 "is not loaded (ld.so did not preload it: is it a shared library for "
                 "this machine?)");
        return -1;
    }
    struct link_map *want = NULL;
    int rc = dlinfo(h, RTLD_DI_LINKMAP, &want) == 0 ? 0 : -1;
    static const char *const fns[] = {"malloc", "free", "realloc", "calloc"};
    for (unsigned i = 0; i < sizeof fns / sizeof *fns && rc == 0; i++) {
        /* the definition every caller binds to: the first in the global search order */
        void *f = dlsym(RTLD_DEFAULT, fns[i]);
        Dl_info di;
        struct link_map *got = NULL;
        if (f && dladdr1(f, &di, (void **)&got, RTLD_DL_LINKMAP) && got == want)
            continue;
        snprintf(why, len,
                 "does not export %s (the process's %s is %s's): not an allocator "
                 "library",
                 fns[i], fns[i], got && got->l_name[0] ? got->l_name : "the program");
        rc = -1;
    }
    if (!want)
        snprintf(why, len, "is loaded but ld.so cannot say where");
    dlclose(h);
    return rc;
}

/* hooks.c - the interposed allocator entry points.
 *
 * Each hook forwards to glibc's own exported entry (__libc_malloc & co.), so no dlsym is needed on
 * the hot path and nothing recurses, then records. Sequence numbers are taken after an allocation
 * returns and before a block is freed (realloc: both), which makes the merged order causally exact
 * without a lock: no address can be live twice in it. The hooks never change sizes or alignment.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "preload.h"

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);
extern void *__libc_memalign(size_t, size_t);
extern void *__libc_valloc(size_t);
extern void *__libc_pvalloc(size_t);
extern int __libc_mallopt(int, int);

static int (*real_posix_memalign)(void **, size_t, size_t);
static void *(*real_aligned_alloc)(size_t, size_t);
static size_t (*real_usable_size)(void *);
static int (*real_trim)(size_t);

static inline void record(unsigned op, unsigned outcome, uint64_t arg, uint64_t size, void *ptr)
{
    struct tstate *t = rec_thread();
    if (t) {
        uint32_t stack = rec_stack_id(t);
        rec_enter(t);
        rec_record(t, op, outcome, rec_seq(), 0, 0, arg, size, (uint64_t)(uintptr_t)ptr, 0, stack);
        rec_leave(t);
    }
}

MLG_EXPORT void *malloc(size_t size)
{
    void *p = __libc_malloc(size);
    struct tstate *t = rec_thread();
    if (likely(t != NULL)) {
        uint32_t stack = rec_stack_id(t);
        rec_enter(t);
        rec_record(t, MLG_OP_MALLOC, p ? MLG_OUT_OK : MLG_OUT_FAILED, rec_seq(), 0, 0, 0, size,
                   (uint64_t)(uintptr_t)p, 0, stack);
        rec_leave(t);
    }
    return p;
}

MLG_EXPORT void free(void *ptr)
{
    struct tstate *t = rec_thread();
    if (likely(t != NULL)) {
        rec_enter(t);
        rec_record(t, MLG_OP_FREE, MLG_OUT_OK, rec_seq(), 0, 0, 0, 0, (uint64_t)(uintptr_t)ptr, 0, 0);
        rec_leave(t);
    }
    __libc_free(ptr);
}

MLG_EXPORT void *calloc(size_t nmemb, size_t size)
{
    void *p = __libc_calloc(nmemb, size);
    size_t total;
    unsigned outcome = p ? MLG_OUT_OK : MLG_OUT_FAILED;
    /* On overflow the size field keeps the element size: nothing was allocated. */
    if (__builtin_mul_overflow(nmemb, size, &total))
        outcome = MLG_OUT_OVERFLOW;
    record(MLG_OP_CALLOC, outcome, nmemb, outcome == MLG_OUT_OVERFLOW ? size : total, p);
    return p;
}

/* realloc and reallocarray: one number before the call (the old block may be released and reused
 * by another thread before we return), one after. */
static void *realloc_common(unsigned op, void *old, size_t nmemb, size_t elem, size_t total,
                            int overflow)
{
    struct tstate *t = rec_thread();
    uint64_t seq_rel = 0;
    uint32_t stack = 0;
    if (t) {
        stack = rec_stack_id(t); /* before the release point: the packer's horizon waits for us */
        rec_enter(t); /* held across the call: the release point is seq_rel */
        seq_rel = rec_seq();
    }
    void *p = NULL;
    int saved = 0;
    if (!overflow) {
        p = __libc_realloc(old, total);
        saved = errno;
    } else {
        saved = ENOMEM;
    }
    if (likely(t != NULL)) {
        unsigned outcome;
        if (overflow)
            outcome = MLG_OUT_OVERFLOW;
        else if (p)
            outcome = !old ? MLG_OUT_OK : p == old ? MLG_OUT_INPLACE : MLG_OUT_MOVED;
        else if (old && total == 0)
            outcome = MLG_OUT_FREED;
        else
            outcome = MLG_OUT_FAILED;
        uint64_t size = op == MLG_OP_REALLOCARRAY ? (overflow ? elem : total) : total;
        rec_record(t, op, outcome, rec_seq(), seq_rel, (uint64_t)(uintptr_t)old, nmemb, size,
                   (uint64_t)(uintptr_t)p, 0, stack);
        rec_leave(t);
    }
    errno = saved;
    return p;
}

MLG_EXPORT void *realloc(void *old, size_t size)
{
    return realloc_common(MLG_OP_REALLOC, old, 0, size, size, 0);
}

MLG_EXPORT void *reallocarray(void *old, size_t nmemb, size_t size)
{
    size_t total;
    int overflow = __builtin_mul_overflow(nmemb, size, &total);
    return realloc_common(MLG_OP_REALLOCARRAY, old, nmemb, size, overflow ? 0 : total, overflow);
}

static int is_power_of_two(size_t x)
{
    return x != 0 && (x & (x - 1)) == 0;
}

MLG_EXPORT int posix_memalign(void **memptr, size_t alignment, size_t size)
{
    int ret;
    if (real_posix_memalign) {
        ret = real_posix_memalign(memptr, alignment, size);
    } else if (alignment % sizeof(void *) != 0 || !is_power_of_two(alignment)) {
        ret = EINVAL; /* glibc's own checks, until the constructor resolved the real one */
    } else {
        void *p = __libc_memalign(alignment, size);
        ret = p ? 0 : ENOMEM;
        if (p)
            *memptr = p;
    }
    unsigned outcome = ret == 0 ? MLG_OUT_OK : ret == EINVAL ? MLG_OUT_EINVAL : MLG_OUT_FAILED;
    record(MLG_OP_POSIX_MEMALIGN, outcome, alignment, size, ret == 0 ? *memptr : NULL);
    return ret;
}

MLG_EXPORT void *aligned_alloc(size_t alignment, size_t size)
{
    void *p = real_aligned_alloc ? real_aligned_alloc(alignment, size)
                                 : __libc_memalign(alignment, size);
    unsigned outcome = p ? MLG_OUT_OK : errno == EINVAL ? MLG_OUT_EINVAL : MLG_OUT_FAILED;
    record(MLG_OP_ALIGNED_ALLOC, outcome, alignment, size, p);
    return p;
}

MLG_EXPORT void *memalign(size_t alignment, size_t size)
{
    void *p = __libc_memalign(alignment, size);
    unsigned outcome = p ? MLG_OUT_OK : errno == EINVAL ? MLG_OUT_EINVAL : MLG_OUT_FAILED;
    record(MLG_OP_MEMALIGN, outcome, alignment, size, p);
    return p;
}

MLG_EXPORT void *valloc(size_t size)
{
    void *p = __libc_valloc(size);
    record(MLG_OP_VALLOC, p ? MLG_OUT_OK : MLG_OUT_FAILED, 0, size, p);
    return p;
}

MLG_EXPORT void *pvalloc(size_t size)
{
    void *p = __libc_pvalloc(size);
    record(MLG_OP_PVALLOC, p ? MLG_OUT_OK : MLG_OUT_FAILED, 0, size, p);
    return p;
}

MLG_EXPORT size_t malloc_usable_size(void *ptr)
{
    size_t n = real_usable_size ? real_usable_size(ptr) : 0;
    struct tstate *t = rec_thread();
    if (t)
        rec_event(t, MLG_OP_USABLE_SIZE, MLG_OUT_OK, 0, 0, (uint64_t)(uintptr_t)ptr, (int64_t)n);
    return n;
}

MLG_EXPORT int malloc_trim(size_t pad)
{
    int r = real_trim ? real_trim(pad) : 0;
    struct tstate *t = rec_thread();
    if (t)
        rec_event(t, MLG_OP_TRIM, MLG_OUT_OK, pad, 0, 0, r);
    return r;
}

MLG_EXPORT int mallopt(int param, int value)
{
    int r = __libc_mallopt(param, value);
    struct tstate *t = rec_thread();
    if (t)
        rec_event(t, MLG_OP_MALLOPT, MLG_OUT_OK, (uint64_t)(int64_t)param, (uint64_t)(int64_t)value,
                  0, r);
    return r;
}

/* Resolves the entry points glibc does not export under a __libc_ name, and notes which library
 * the program's malloc would have come from without us. */
void hooks_resolve(void) MLG_HIDDEN;
void hooks_resolve(void)
{
    real_posix_memalign = (int (*)(void **, size_t, size_t))dlsym(RTLD_NEXT, "posix_memalign");
    real_aligned_alloc = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "aligned_alloc");
    real_usable_size = (size_t(*)(void *))dlsym(RTLD_NEXT, "malloc_usable_size");
    real_trim = (int (*)(size_t))dlsym(RTLD_NEXT, "malloc_trim");
    struct mlg_spool_header *h = mlg_rec.hdr;
    Dl_info info;
    if (h && dladdr((void *)__libc_malloc, &info) && info.dli_fname) {
        size_t n = strnlen(info.dli_fname, sizeof h->malloc_lib - 1);
        memcpy(h->malloc_lib, info.dli_fname, n);
        h->malloc_lib[n] = 0;
    }
    void *next = dlsym(RTLD_NEXT, "malloc");
    if (h && next && next != (void *)__libc_malloc && dladdr(next, &info) && info.dli_fname) {
        size_t n = strnlen(info.dli_fname, sizeof h->malloc_shadowed - 1);
        memcpy(h->malloc_shadowed, info.dli_fname, n);
        h->malloc_shadowed[n] = 0;
        rec_warn("the program brings its own malloc; mallog records glibc's malloc in its place");
    }
}

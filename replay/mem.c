/* mem.c - the replayer's own memory: every byte it uses for bookkeeping (slot table, reader
 * buffers, zstd workspace, samples, output text) comes from mmap, is named "mallog:..." where the
 * kernel supports it, and is registered so RSS and hole finding can leave it out.
 * Never calls malloc: the allocator under test must see only the replayed calls. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "replay.h"

#ifndef PR_SET_VMA
#define PR_SET_VMA 0x53564d41
#define PR_SET_VMA_ANON_NAME 0
#endif

#define MEM_REGIONS 512
#define PAGE 4096u

static struct {
    uint64_t start, len;
} regions[MEM_REGIONS];
static int nregions;

static size_t page_up(size_t n)
{
    return (n + PAGE - 1) & ~(size_t)(PAGE - 1);
}

static void reg_add(void *p, size_t len)
{
    /* More regions than slots only makes RSS a little less exact; never fail for it. */
    if (nregions < MEM_REGIONS) {
        regions[nregions].start = (uint64_t)p;
        regions[nregions].len = len;
        nregions++;
    }
}

static void reg_del(void *p)
{
    for (int i = 0; i < nregions; i++)
        if (regions[i].start == (uint64_t)p) {
            regions[i] = regions[--nregions];
            return;
        }
}

void *mem_map(size_t len, const char *name)
{
    len = page_up(len ? len : 1);
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    /* Best effort: kernels without CONFIG_ANON_VMA_NAME refuse; the registry still works. */
    (void)prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, (unsigned long)p, len, (unsigned long)name);
    /* Without names (a kernel without CONFIG_ANON_VMA_NAME), the kernel would merge this mapping
     * with an allocator's adjacent one: a flag of its own keeps it a mapping apart, so per-mapping
     * figures (smaps' Pss, for replay --tree) are never half ours. */
    (void)madvise(p, len, MADV_DONTDUMP);
    reg_add(p, len);
    return p;
}

void *mem_map_shared(int fd, size_t len, const char *name)
{
    len = page_up(len ? len : 1);
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | (fd < 0 ? MAP_ANONYMOUS : 0),
                   fd, 0);
    if (p == MAP_FAILED)
        return NULL;
    (void)prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, (unsigned long)p, len, (unsigned long)name);
    reg_add(p, len);
    return p;
}

void mem_unmap(void *p, size_t len)
{
    if (!p)
        return;
    reg_del(p);
    munmap(p, page_up(len ? len : 1));
}

void *mem_remap(void *p, size_t old_len, size_t new_len)
{
    if (!p)
        return mem_map(new_len, "mallog:buf");
    void *q = mremap(p, page_up(old_len), page_up(new_len), MREMAP_MAYMOVE);
    if (q == MAP_FAILED)
        return NULL;
    reg_del(p);
    reg_add(q, page_up(new_len));
    return q;
}

int mem_reserve(void *pp, uint64_t *cap, uint64_t need, size_t size, uint64_t first)
{
    if (need <= *cap)
        return 0;
    uint64_t c = *cap ? *cap : first;
    while (c < need)
        c *= 2;
    void *old, *p;
    memcpy(&old, pp, sizeof old); /* pp is the address of any object pointer */
    if (!(p = mem_remap(old, *cap * size, c * size)))
        return -1;
    memcpy(pp, &p, sizeof p);
    *cap = c;
    return 0;
}

/* lib/ and zstd ask for many small pieces (reader state, frame buffers, hash tables). Pieces up
 * to 64 KiB come from bump chunks in power-of-two sizes, with a free list per size so a piece
 * freed per frame is reused; larger ones get their own mapping. */
#define BUMP_CHUNK (4u << 20)
#define BUMP_MAX (64u << 10)
static char *bump;
static size_t bump_left;
static void *piece_free[17]; /* 2^k bytes, k = 5..16 */

static int piece_class(size_t size)
{
    int k = 5;
    while (((size_t)1 << k) < size)
        k++;
    return k;
}

static void *lib_alloc(void *ctx, size_t size)
{
    (void)ctx;
    if (size > BUMP_MAX)
        return mem_map(size, "mallog:lib");
    int k = piece_class(size);
    size = (size_t)1 << k;
    if (piece_free[k]) {
        void *p = piece_free[k];
        piece_free[k] = *(void **)p;
        return p;
    }
    if (size > bump_left) {
        char *c = mem_map(BUMP_CHUNK, "mallog:lib");
        if (!c)
            return NULL;
        bump = c;
        bump_left = BUMP_CHUNK;
    }
    void *p = bump;
    bump += size;
    bump_left -= size;
    return p;
}

static void lib_free(void *ctx, void *p, size_t size)
{
    (void)ctx;
    if (!p)
        return;
    if (size > BUMP_MAX) {
        mem_unmap(p, size);
        return;
    }
    int k = piece_class(size);
    *(void **)p = piece_free[k];
    piece_free[k] = p;
}

static const struct mlg_allocator mem_alloc = {lib_alloc, lib_free, NULL};

const struct mlg_allocator *mem_allocator(void)
{
    return &mem_alloc;
}

uint64_t mem_resident(uint64_t start, uint64_t end)
{
    static unsigned char vec[4096];
    uint64_t a = (start + PAGE - 1) & ~(uint64_t)(PAGE - 1), b = end & ~(uint64_t)(PAGE - 1);
    uint64_t total = 0;
    while (a < b) {
        uint64_t chunk = b - a;
        if (chunk > (uint64_t)sizeof vec * PAGE)
            chunk = (uint64_t)sizeof vec * PAGE;
        if (mincore((void *)a, chunk, vec) == 0)
            for (uint64_t k = 0; k < chunk / PAGE; k++)
                total += (vec[k] & 1) ? PAGE : 0;
        a += chunk;
    }
    return total;
}

uint64_t mem_own_resident(void)
{
    uint64_t total = 0;
    for (int i = 0; i < nregions; i++)
        total += mem_resident(regions[i].start, regions[i].start + regions[i].len);
    return total;
}

/* The binary's own writable data (.data/.bss: static buffers of the replayer, the radix sort's
 * counters) shows up as anonymous memory next to the heap: it is the replayer's too. */
extern char __data_start[], _end[];

void mem_each(void (*fn)(void *ctx, uint64_t start, uint64_t end), void *ctx)
{
    fn(ctx, (uint64_t)__data_start & ~(uint64_t)(PAGE - 1),
       ((uint64_t)_end + PAGE - 1) & ~(uint64_t)(PAGE - 1));
    for (int i = 0; i < nregions; i++)
        fn(ctx, regions[i].start, regions[i].start + regions[i].len);
}

int mem_buf_reserve(struct mem_buf *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 65536;
    while (cap < b->len + extra + 1)
        cap *= 2;
    char *p = b->p ? mem_remap(b->p, b->cap, cap) : mem_map(cap, "mallog:buf");
    if (!p)
        return -1;
    b->p = p;
    b->cap = page_up(cap);
    return 0;
}

int mem_buf_printf(struct mem_buf *b, const char *fmt, ...)
{
    for (;;) {
        if (mem_buf_reserve(b, 256) < 0)
            return -1;
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0)
            return -1;
        if ((size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return 0;
        }
        if (mem_buf_reserve(b, (size_t)n + 1) < 0)
            return -1;
    }
}

int mem_buf_read_file(struct mem_buf *b, const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    b->len = 0;
    for (;;) {
        if (mem_buf_reserve(b, 65536) < 0) {
            close(fd);
            return -1;
        }
        ssize_t n = read(fd, b->p + b->len, b->cap - b->len - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        b->len += (size_t)n;
    }
    b->p[b->len] = 0;
    close(fd);
    return 0;
}

int mem_buf_write_file(const struct mem_buf *b, const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    size_t off = 0;
    while (off < b->len) {
        ssize_t n = write(fd, b->p + off, b->len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int e = errno;
            close(fd);
            errno = e;
            return -1;
        }
        off += (size_t)n;
    }
    return close(fd);
}

void mem_buf_free(struct mem_buf *b)
{
    if (b->p)
        mem_unmap(b->p, b->cap);
    b->p = NULL;
    b->len = b->cap = 0;
}

/* arena.c - mallog's own allocator, the `arena` replay target.
 * Blocks up to ARENA_SMALL_MAX come from 64 KiB size-class slabs (a page map tells a slab
 * pointer from a large one); larger blocks are chunks with boundary tags, placed by a policy
 * (arena_set_policy: best fit, the default, smallest fitting size, lowest address on ties;
 * first fit; next fit; segregated fits with rounded size classes) and coalesced on free. Free
 * chunks of 256 KiB or more give their interior pages back (MADV_DONTNEED); the top of the heap is
 * trimmed. It knows its own holes exactly (arena_stats). One global heap, no locking: a replay
 * process calls it from one thread at a time. Its memory is ordinary anonymous memory (it is
 * measured). */
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include "replay.h"

#define REGION (64ull << 30)   /* reserved address space */
#define COMMIT_STEP (1u << 20) /* top grows in these steps */
#define TRIM_SLACK (2u << 20)  /* committed-but-unused top beyond this is given back */
#define RELEASE_MIN (256u << 10)
#define PAGE 4096u
#define HDR 16u
#define MINCHUNK 48u
#define SLAB_DATA (64u << 10)

#define INUSE 1u
#define PREV_INUSE 2u
#define SIZE_MASK (~(uint64_t)15)

struct chunk {
    uint64_t prev_size; /* valid when the previous chunk is free */
    uint64_t head;      /* size | INUSE | PREV_INUSE */
    /* free chunks only: */
    struct chunk *next, *prev;
    uint64_t released; /* interior pages given back to the OS */
};

struct slab {
    uint32_t cls, used, cap, unused;
    void *free_list;
    char *bump, *data;
    struct slab *next, *prev;
};

#define NBINS 192
static const uint32_t class_size[] = {16,  32,  48,  64,   80,   96,   112,  128, 144, 160,
                                      176, 192, 208, 224,  240,  256,  320,  384, 448, 512,
                                      640, 768, 896, 1024, 1280, 1536, 1792, 2048};
#define NCLASSES (sizeof class_size / sizeof *class_size)

static struct {
    char *raw, *base, *top, *committed; /* [base, top): chunks; [top, committed): spare */
    uint32_t *pagemap;                  /* page -> slab offset / 16 + 1, or 0 */
    struct chunk *bins[NBINS];
    uint64_t binmap[NBINS / 64];
    struct slab *partial[NCLASSES];
    uint64_t released_total, active;
    int ready;
} H;

/* The placement policy of large chunks (arena_set_policy); not reset by arena_reset. */
static struct {
    int kind;         /* ARENA_BEST, ARENA_FIRST, ARENA_NEXT, ARENA_SEG */
    unsigned spacing; /* ARENA_SEG: size classes per power of two */
    uint64_t rover;   /* ARENA_NEXT: the address after the chunk placed last */
} P = {ARENA_BEST, 0, 0};

static uint64_t csize(const struct chunk *c)
{
    return c->head & SIZE_MASK;
}

static struct chunk *next_chunk(const struct chunk *c)
{
    return (struct chunk *)((char *)c + csize(c));
}

static int bin_index(uint64_t size)
{
    if (size < 1024)
        return (int)(size >> 4);
    int lg = 63 - __builtin_clzll(size);
    int idx = 64 + 4 * (lg - 10) + (int)((size >> (lg - 2)) & 3);
    return idx < NBINS ? idx : NBINS - 1;
}

static int init(void)
{
    if (H.ready)
        return 0;
    void *p = mmap(NULL, REGION + SLAB_DATA, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                   -1, 0);
    if (p == MAP_FAILED)
        return -1;
    uint64_t pm_len = (REGION / PAGE) * sizeof *H.pagemap;
    void *pm = mmap(NULL, pm_len, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (pm == MAP_FAILED) {
        munmap(p, REGION + SLAB_DATA);
        return -1;
    }
    /* chunk payloads are 16-aligned: headers sit at 16-aligned addresses */
    H.raw = p;
    H.base = H.top = H.committed =
        (char *)(((uintptr_t)p + SLAB_DATA - 1) & ~(uintptr_t)(SLAB_DATA - 1));
    H.pagemap = pm;
    H.ready = 1;
    return 0;
}

/* Interior pages of a free chunk: whole pages after its header and links, before its end. */
static void interior(const struct chunk *c, uint64_t *a, uint64_t *b)
{
    *a = ((uint64_t)c + sizeof *c + PAGE - 1) & ~(uint64_t)(PAGE - 1);
    *b = ((uint64_t)c + csize(c)) & ~(uint64_t)(PAGE - 1);
    if (*b < *a)
        *b = *a;
}

static void bin_insert(struct chunk *c)
{
    int i = bin_index(csize(c));
    c->prev = NULL;
    c->next = H.bins[i];
    if (c->next)
        c->next->prev = c;
    H.bins[i] = c;
    H.binmap[i / 64] |= 1ull << (i % 64);
    c->released = 0;
    if (csize(c) >= RELEASE_MIN) {
        uint64_t a, b;
        interior(c, &a, &b);
        if (b > a && madvise((void *)a, b - a, MADV_DONTNEED) == 0) {
            c->released = b - a;
            H.released_total += c->released;
        }
    }
}

static void bin_remove(struct chunk *c)
{
    int i = bin_index(csize(c));
    if (c->prev)
        c->prev->next = c->next;
    else
        H.bins[i] = c->next;
    if (c->next)
        c->next->prev = c->prev;
    if (!H.bins[i])
        H.binmap[i / 64] &= ~(1ull << (i % 64));
    H.released_total -= c->released;
    c->released = 0;
}

/* Marks c free (size kept), tells the next chunk, and bins it. */
static void set_free(struct chunk *c)
{
    c->head &= ~(uint64_t)INUSE;
    struct chunk *n = next_chunk(c);
    n->prev_size = csize(c);
    n->head &= ~(uint64_t)PREV_INUSE;
    bin_insert(c);
}

static void trim_top(void)
{
    uint64_t keep = ((uint64_t)(H.top - H.base) + COMMIT_STEP - 1) & ~(uint64_t)(COMMIT_STEP - 1);
    char *end = H.base + keep;
    if ((uint64_t)(H.committed - end) >= TRIM_SLACK) {
        madvise(end, (size_t)(H.committed - end), MADV_DONTNEED);
        mprotect(end, (size_t)(H.committed - end), PROT_NONE);
        H.committed = end;
    }
}

/* Gives back the free chunk c: coalesces with free neighbours, merges into top. */
static void release_chunk(struct chunk *c)
{
    if (!(c->head & PREV_INUSE)) {
        struct chunk *p = (struct chunk *)((char *)c - c->prev_size);
        bin_remove(p);
        p->head = (csize(p) + csize(c)) | (p->head & PREV_INUSE);
        c = p;
    }
    struct chunk *n = next_chunk(c);
    if ((char *)n == H.top) {
        H.top = (char *)c;
        trim_top();
        return;
    }
    if (!(n->head & INUSE)) {
        bin_remove(n);
        c->head = (csize(c) + csize(n)) | (c->head & PREV_INUSE);
    }
    set_free(c);
}

/* Takes need bytes from the top of the heap; NULL when the reservation is exhausted. */
static struct chunk *from_top(uint64_t need)
{
    if ((uint64_t)(H.base + REGION - H.top) < need + HDR)
        return NULL;
    /* the header of the chunk after this one (written by set_free) must be mapped too */
    char *want = H.top + need + HDR;
    if (want > H.committed) {
        uint64_t grow =
            ((uint64_t)(want - H.committed) + COMMIT_STEP - 1) & ~(uint64_t)(COMMIT_STEP - 1);
        if (mprotect(H.committed, grow, PROT_READ | PROT_WRITE) != 0)
            return NULL;
        H.committed += grow;
    }
    struct chunk *c = (struct chunk *)H.top;
    H.top += need;
    c->head = need | INUSE | PREV_INUSE; /* a chunk below top is never free: it merges */
    return c;
}

/* Splits the in-use chunk c to need bytes if the rest makes a chunk; the rest is freed. */
static void split(struct chunk *c, uint64_t need)
{
    uint64_t size = csize(c);
    if (size - need < MINCHUNK)
        return;
    c->head = need | (c->head & (INUSE | PREV_INUSE));
    struct chunk *r = next_chunk(c);
    r->head = (size - need) | INUSE | PREV_INUSE;
    struct chunk *n = next_chunk(r);
    if ((char *)n != H.top)
        n->head |= PREV_INUSE;
    release_chunk(r);
}

static struct chunk *best_fit(uint64_t need)
{
    int i = bin_index(need);
    for (int w = i / 64; w < NBINS / 64; w++) {
        uint64_t bits = H.binmap[w];
        if (w == i / 64)
            bits &= ~0ull << (i % 64);
        while (bits) {
            int b = w * 64 + __builtin_ctzll(bits);
            bits &= bits - 1;
            struct chunk *best = NULL;
            for (struct chunk *c = H.bins[b]; c; c = c->next) {
                uint64_t s = csize(c);
                if (s >= need && (!best || s < csize(best) || (s == csize(best) && c < best)))
                    best = c;
            }
            if (best)
                return best;
        }
    }
    return NULL;
}

/* First fit: the fitting free chunk at the lowest address. Next fit: the first at or after the
 * rover (where the chunk placed last ends), wrapping to the lowest. Both look at every free
 * chunk of the bins that can fit need: slower than best fit on a heap of many free spans. */
static struct chunk *address_fit(uint64_t need, uint64_t from)
{
    struct chunk *low = NULL, *after = NULL;
    int i = bin_index(need);
    for (int b = i; b < NBINS; b++) {
        if (!(H.binmap[b / 64] & (1ull << (b % 64))))
            continue;
        for (struct chunk *c = H.bins[b]; c; c = c->next) {
            if (csize(c) < need)
                continue;
            if (!low || c < low)
                low = c;
            if ((uint64_t)c >= from && (!after || c < after))
                after = c;
        }
    }
    return after ? after : low;
}

/* Segregated fits: need is already a class size (chunk_need); the first chunk of the class's
 * bin that fits, else of the next non-empty bin (list order, newest freed first: no search for
 * the smallest). */
static struct chunk *seg_fit(uint64_t need)
{
    int i = bin_index(need);
    for (int b = i; b < NBINS; b++) {
        if (!(H.binmap[b / 64] & (1ull << (b % 64))))
            continue;
        for (struct chunk *c = H.bins[b]; c; c = c->next)
            if (csize(c) >= need)
                return c;
    }
    return NULL;
}

static struct chunk *find_fit(uint64_t need)
{
    switch (P.kind) {
    case ARENA_FIRST:
        return address_fit(need, 0);
    case ARENA_NEXT:
        return address_fit(need, P.rover);
    case ARENA_SEG:
        return seg_fit(need);
    default:
        return best_fit(need);
    }
}

/* Chunk bytes for a request of n: header, 16-byte multiple; segregated fits round it up to its
 * size class (P.spacing classes between two powers of two: internal slop for reuse). */
static uint64_t chunk_need(size_t n)
{
    uint64_t need = ((uint64_t)n + HDR + 15) & ~(uint64_t)15;
    if (P.kind == ARENA_SEG && need > 64) {
        int lg = 63 - __builtin_clzll(need - 1); /* 2^lg < need <= 2^(lg+1) */
        uint64_t step = (1ull << lg) / P.spacing;
        if (step < 16)
            step = 16;
        need = (need + step - 1) / step * step;
    }
    return need < MINCHUNK ? MINCHUNK : need;
}

/* A policy's name into its kind and spacing: 0, or -1 for a name that is none. */
static int parse_policy(const char *name, int *kind, unsigned *spacing)
{
    *spacing = 0;
    if (!name || !*name || strcmp(name, "best") == 0)
        *kind = ARENA_BEST;
    else if (strcmp(name, "first") == 0)
        *kind = ARENA_FIRST;
    else if (strcmp(name, "next") == 0)
        *kind = ARENA_NEXT;
    else if (strncmp(name, "seg", 3) == 0 && name[3] >= '1' && name[3] <= '9' && !name[4] &&
             ((name[3] - '0') & (name[3] - '1')) == 0) {
        *kind = ARENA_SEG;
        *spacing = (unsigned)(name[3] - '0'); /* 1, 2, 4 or 8 */
    } else
        return -1;
    return 0;
}

int arena_policy_known(const char *name)
{
    int kind;
    unsigned spacing;
    return parse_policy(name, &kind, &spacing) == 0;
}

int arena_set_policy(const char *name)
{
    int kind;
    unsigned spacing;
    if (parse_policy(name, &kind, &spacing) < 0)
        return -1;
    P.kind = kind;
    if (kind == ARENA_SEG)
        P.spacing = spacing;
    P.rover = 0;
    return 0;
}

static struct chunk *alloc_chunk(uint64_t need)
{
    struct chunk *c = find_fit(need);
    if (c) {
        bin_remove(c);
        c->head |= INUSE;
        struct chunk *n = next_chunk(c);
        if ((char *)n != H.top)
            n->head |= PREV_INUSE;
        split(c, need);
    } else if (!(c = from_top(need))) {
        return NULL;
    }
    H.active += csize(c);
    P.rover = (uint64_t)c + csize(c);
    return c;
}

static void *large_malloc(size_t n)
{
    if (n > REGION)
        return NULL;
    struct chunk *c = alloc_chunk(chunk_need(n));
    return c ? (char *)c + HDR : NULL;
}

static struct chunk *chunk_of(const void *p)
{
    return (struct chunk *)((char *)p - HDR);
}

static struct slab *slab_of(const void *p)
{
    uint64_t off = (uint64_t)((const char *)p - H.base);
    uint32_t v = H.pagemap[off / PAGE];
    return v ? (struct slab *)(H.base + (uint64_t)(v - 1) * 16) : NULL;
}

static int class_of(size_t n)
{
    if (n <= 256)
        return n ? (int)((n + 15) / 16) - 1 : 0;
    for (unsigned k = 16; k < NCLASSES; k++)
        if (class_size[k] >= n)
            return (int)k;
    return -1;
}

static void slab_map(struct slab *s, uint32_t v)
{
    uint64_t first = (uint64_t)(s->data - H.base) / PAGE;
    for (uint64_t k = 0; k < SLAB_DATA / PAGE; k++)
        H.pagemap[first + k] = v;
}

static struct slab *slab_new(int cls)
{
    char *p = large_malloc(sizeof(struct slab) + PAGE + SLAB_DATA);
    if (!p)
        return NULL;
    struct slab *s = (struct slab *)p;
    memset(s, 0, sizeof *s);
    s->cls = (uint32_t)cls;
    s->data = (char *)(((uintptr_t)p + sizeof *s + PAGE - 1) & ~(uintptr_t)(PAGE - 1));
    s->bump = s->data;
    s->cap = SLAB_DATA / class_size[cls];
    slab_map(s, (uint32_t)((uint64_t)(p - H.base) / 16) + 1);
    s->next = H.partial[cls];
    if (s->next)
        s->next->prev = s;
    H.partial[cls] = s;
    return s;
}

static void partial_remove(struct slab *s)
{
    if (s->prev)
        s->prev->next = s->next;
    else
        H.partial[s->cls] = s->next;
    if (s->next)
        s->next->prev = s->prev;
    s->next = s->prev = NULL;
}

static void *small_malloc(int cls)
{
    struct slab *s = H.partial[cls];
    if (!s && !(s = slab_new(cls)))
        return NULL;
    void *p;
    if (s->free_list) {
        p = s->free_list;
        s->free_list = *(void **)p;
    } else {
        p = s->bump;
        s->bump += class_size[cls];
    }
    if (++s->used == s->cap)
        partial_remove(s);
    return p;
}

static void small_free(struct slab *s, void *p)
{
    if (s->used == s->cap) { /* was full: back on the partial list */
        s->next = H.partial[s->cls];
        s->prev = NULL;
        if (s->next)
            s->next->prev = s;
        H.partial[s->cls] = s;
    }
    *(void **)p = s->free_list;
    s->free_list = p;
    /* an empty slab goes back unless it is the only one of its class */
    if (--s->used == 0 && (s->next || s->prev)) {
        partial_remove(s);
        slab_map(s, 0);
        struct chunk *c = chunk_of(s);
        H.active -= csize(c);
        release_chunk(c);
    }
}

void *arena_malloc(size_t size)
{
    if (init() < 0)
        return NULL;
    if (size <= ARENA_SMALL_MAX)
        return small_malloc(class_of(size));
    return large_malloc(size);
}

void *arena_calloc(size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        return NULL;
    void *p = arena_malloc(n * size);
    if (p)
        memset(p, 0, n * size);
    return p;
}

void arena_free(void *p)
{
    if (!p)
        return;
    struct slab *s = slab_of(p);
    if (s) {
        small_free(s, p);
        return;
    }
    struct chunk *c = chunk_of(p);
    H.active -= csize(c);
    release_chunk(c);
}

size_t arena_usable_size(const void *p)
{
    if (!p)
        return 0;
    struct slab *s = slab_of(p);
    return s ? class_size[s->cls] : csize(chunk_of(p)) - HDR;
}

void *arena_realloc(void *p, size_t size)
{
    if (!p)
        return arena_malloc(size);
    struct slab *s = slab_of(p);
    if (s) {
        if (size <= class_size[s->cls] && (s->cls == 0 || size > class_size[s->cls - 1] / 2))
            return p;
    } else if (size > ARENA_SMALL_MAX) {
        struct chunk *c = chunk_of(p);
        uint64_t need = chunk_need(size), have = csize(c);
        if (need <= have) {
            H.active -= have;
            split(c, need);
            H.active += csize(c);
            return p;
        }
        struct chunk *n = next_chunk(c);
        if ((char *)n == H.top) {
            if (from_top(need - have)) {
                c->head = need | (c->head & (INUSE | PREV_INUSE));
                H.active += need - have;
                return p;
            }
        } else if (!(n->head & INUSE) && have + csize(n) >= need) {
            bin_remove(n);
            H.active += csize(n);
            c->head = (have + csize(n)) | (c->head & (INUSE | PREV_INUSE));
            struct chunk *nn = next_chunk(c);
            if ((char *)nn != H.top)
                nn->head |= PREV_INUSE;
            H.active -= csize(c);
            split(c, need);
            H.active += csize(c);
            return p;
        }
    }
    void *q = arena_malloc(size);
    if (!q)
        return NULL;
    size_t old = arena_usable_size(p);
    memcpy(q, p, old < size ? old : size);
    arena_free(p);
    return q;
}

void *arena_memalign(size_t align, size_t size)
{
    if (align <= 16)
        return arena_malloc(size);
    if (align & (align - 1))
        return NULL;
    if (init() < 0)
        return NULL;
    if (size <= ARENA_SMALL_MAX && align <= PAGE) {
        /* a class whose size is a multiple of align keeps every block aligned (data is
         * page-aligned) */
        for (int k = class_of(size); k >= 0 && k < (int)NCLASSES; k++)
            if (class_size[k] % align == 0)
                return small_malloc(k);
    }
    if (size < ARENA_SMALL_MAX + 1)
        size = ARENA_SMALL_MAX + 1; /* large path only: small pointers are found by page */
    char *p = large_malloc(size + align + MINCHUNK);
    if (!p)
        return NULL;
    uint64_t a = ((uint64_t)p + align - 1) & ~(uint64_t)(align - 1);
    while (a != (uint64_t)p && a - (uint64_t)p < MINCHUNK)
        a += align;
    if (a != (uint64_t)p) {
        /* the front becomes a free chunk of its own */
        struct chunk *c = chunk_of(p), *f = (struct chunk *)(a - HDR);
        uint64_t front = (uint64_t)((char *)f - (char *)c), total = csize(c);
        f->head = (total - front) | INUSE | PREV_INUSE;
        c->head = front | INUSE | (c->head & PREV_INUSE);
        H.active -= front;
        release_chunk(c);
        p = (char *)a;
    }
    struct chunk *c = chunk_of(p);
    uint64_t need = chunk_need(size);
    if (need <= csize(c)) { /* a rounded class (segregated fits) may exceed what is left */
        H.active -= csize(c);
        split(c, need);
        H.active += csize(c);
    }
    return p;
}

void arena_stats(struct arena_stats *st)
{
    memset(st, 0, sizeof *st);
    if (!H.ready)
        return;
    st->mapped = (uint64_t)(H.committed - H.base) - H.released_total;
    st->active = H.active;
    for (int i = 0; i < NBINS; i++)
        for (struct chunk *c = H.bins[i]; c; c = c->next) {
            st->free_spans++;
            st->free_bytes += csize(c);
            if (csize(c) > st->largest_free)
                st->largest_free = csize(c);
        }
}

int arena_check(void)
{
    if (!H.ready)
        return 0;
    uint64_t free_walk = 0, free_binned = 0, active = 0;
    int prev_free = 0;
    for (char *p = H.base; p < H.top;) {
        struct chunk *c = (struct chunk *)p;
        uint64_t s = csize(c);
        if (s < MINCHUNK || (s & 15) || p + s > H.top)
            return -1;
        if (!!(c->head & PREV_INUSE) == prev_free)
            return -2;
        if (!(c->head & INUSE)) {
            if (prev_free)
                return -3; /* two free neighbours: coalescing missed */
            if (p + s == H.top)
                return -4; /* free chunk should have merged into top */
            if (((struct chunk *)(p + s))->prev_size != s)
                return -5;
            free_walk++;
        } else {
            active += s;
        }
        prev_free = !(c->head & INUSE);
        p += s;
    }
    for (int i = 0; i < NBINS; i++)
        for (struct chunk *c = H.bins[i]; c; c = c->next) {
            if (c->head & INUSE)
                return -6;
            if (bin_index(csize(c)) != i)
                return -7;
            free_binned++;
        }
    if (free_binned != free_walk)
        return -8;
    if (active != H.active)
        return -9;
    for (unsigned k = 0; k < NCLASSES; k++)
        for (struct slab *s = H.partial[k]; s; s = s->next)
            if (s->cls != k || s->used >= s->cap || slab_of(s->data) != s)
                return -10;
    return 0;
}

void arena_reset(void)
{
    if (!H.ready)
        return;
    munmap(H.pagemap, (REGION / PAGE) * sizeof *H.pagemap);
    munmap(H.raw, REGION + SLAB_DATA);
    memset(&H, 0, sizeof H);
    P.rover = 0;
}

/* stats.c - the streaming summary of one log: totals, peak, size classes, lifetimes, realloc
 * chains, leaks, threads, timeline. One pass, one thread, over batches of compact records
 * (mlg_reader_next_recs); memory is proportional to the live blocks (plus fixed-size tables),
 * never to the number of events. Any event can go through event_one = stats_count (what the event
 * alone decides) + stats_track (the live-block table); the commonest ones take fast_run, which
 * must give exactly the same figures. The hot paths make no calls into lib/ and no allocation. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "../common/progress.h"
#include "../lib/hash.h"
#include "../lib/heap.h"
#include "analyze.h"

/* ---- classes ------------------------------------------------------------------------------ */

int stats_class(uint64_t v)
{
    return v ? 64 - __builtin_clzll(v) : 0;
}

uint64_t stats_class_min(int k)
{
    return k ? 1ull << (k - 1) : 0;
}

uint64_t stats_class_max(int k)
{
    return k == 0 ? 0 : k == 64 ? UINT64_MAX : (1ull << k) - 1;
}

/* ---- hashing, big tables -------------------------------------------------------------------- */

static inline uint64_t slot_of(const struct stats_blocks *t, uint64_t ptr)
{
    return mlg_hash_slot(ptr, (unsigned)t->shift);
}

/* Tables of 2 MiB and more ask for transparent huge pages: a probe is a random access, and on a
 * virtual machine a TLB miss costs more than the cache miss itself. */
static void *table_alloc(size_t bytes)
{
    if (bytes < (2u << 20))
        return calloc(1, bytes);
    void *p = aligned_alloc(2u << 20, bytes);
    if (!p)
        return NULL;
    madvise(p, bytes, MADV_HUGEPAGE);
    memset(p, 0, bytes);
    return p;
}

static int blocks_init(struct stats_blocks *t, int bits)
{
    t->v = table_alloc((1ull << bits) * sizeof *t->v);
    t->mask = (1ull << bits) - 1;
    t->shift = 64 - bits;
    t->count = 0;
    return t->v ? 0 : -1;
}

/* ---- the side array: whole records of the blocks a slot cannot pack ------------------------ */

#define META_BIRTH_BITS 47
#define META_THREAD_BITS 14

/* A free entry of the side array, or UINT64_MAX if it cannot grow. */
static uint64_t side_get(struct stats_blocks *t)
{
    if (t->side_free) {
        uint64_t i = t->side_free - 1;
        t->side_free = t->side[i].ptr;
        return i;
    }
    if (t->nside == t->side_cap) {
        /* 64-byte aligned: one record = one cache line */
        uint64_t n = t->side_cap ? 2 * t->side_cap : 256;
        struct stats_block *v = aligned_alloc(64, n * sizeof *v);
        if (!v)
            return UINT64_MAX;
        if (t->nside)
            memcpy(v, t->side, t->nside * sizeof *v);
        free(t->side);
        t->side = v;
        t->side_cap = n;
    }
    return t->nside++;
}

static inline void side_put(struct stats_blocks *t, uint64_t i)
{
    t->side[i].ptr = t->side_free;
    t->side_free = i + 1;
}

/* The whole record of the block in slot e. */
static inline struct stats_block slot_load(const struct stats_blocks *t, const struct stats_slot *e)
{
    if (__builtin_expect(e->meta & STATS_BLK_SIDE, 0)) {
        struct stats_block b = t->side[e->meta >> 3];
        b.ptr = e->ptr;
        return b;
    }
    return (struct stats_block){e->ptr, e->size, e->meta >> 17, e->birth_time, e->size, 0, 0, 0,
                                (uint32_t)(e->meta >> 3) & ((1u << META_THREAD_BITS) - 1),
                                (uint32_t)e->meta & 3u};
}

/* Writes b into slot e (e->meta: 0 for a fresh slot, or the block it replaces). Returns -1 if the
 * side array could not grow (the slot is then left empty-handed: the caller reports nomem). */
static inline int slot_store(struct stats_blocks *t, struct stats_slot *e,
                             const struct stats_block *b)
{
    e->ptr = b->ptr;
    e->size = b->size;
    e->birth_time = b->birth_time;
    if (__builtin_expect(!b->len && b->birth >> META_BIRTH_BITS == 0 &&
                             b->thread >> META_THREAD_BITS == 0 && b->start_size == b->size,
                         1)) {
        if (__builtin_expect(e->meta & STATS_BLK_SIDE, 0))
            side_put(t, e->meta >> 3);
        e->meta = b->birth << 17 | (uint64_t)b->thread << 3 | (b->flags & 3u);
        return 0;
    }
    uint64_t i = e->meta & STATS_BLK_SIDE ? e->meta >> 3 : side_get(t);
    if (i == UINT64_MAX) {
        e->meta = 0;
        return -1;
    }
    t->side[i] = *b;
    e->meta = i << 3 | STATS_BLK_SIDE;
    return 0;
}

/* ---- live blocks: open addressing, linear probing, backward-shift delete -------------------- */

static inline struct stats_slot *blocks_find(const struct stats_blocks *t, uint64_t ptr)
{
    if (!ptr) /* 0 marks an empty slot: never a block (a damaged or foreign stream) */
        return NULL;
    for (uint64_t i = slot_of(t, ptr);; i = (i + 1) & t->mask) {
        struct stats_slot *b = &t->v[i];
        if (b->ptr == ptr)
            return b;
        if (!b->ptr)
            return NULL;
    }
}

static int blocks_grow(struct stats_blocks *t)
{
    struct stats_blocks n = *t;
    if (blocks_init(&n, 64 - t->shift + 1) != 0)
        return -1;
    for (uint64_t i = 0; i <= t->mask; i++) {
        if (!t->v[i].ptr)
            continue;
        uint64_t j = slot_of(&n, t->v[i].ptr);
        while (n.v[j].ptr)
            j = (j + 1) & n.mask;
        n.v[j] = t->v[i];
    }
    n.count = t->count;
    free(t->v);
    *t = n;
    return 0;
}

/* The table grows at load 1/4: then a probe or a backward shift nearly always stops at the first
 * slot it looks at, and those loop branches predict (at 1/2 they cost 10 % more time overall).
 * From 2^18 slots (8 MiB, 64 Ki live blocks) on it grows at load 1/2: there a probe is a cache
 * miss either way, and at 1/4 the table alone took 128..256 bytes per live block (and 1.5 times
 * that while it grows: old and new table both held), 200 MiB for 600 k live blocks. */
#define BLOCKS_DENSE_SLOTS (1ull << 18)
#define BLOCKS_FULL(t)                                                                             \
    (((t)->count + 1) * ((t)->mask + 1 < BLOCKS_DENSE_SLOTS ? 4 : 2) > (t)->mask + 1)

/* Returns the slot for ptr, which must not be present (ptr != 0), or NULL if out of memory. */
static inline struct stats_slot *blocks_add(struct stats_blocks *t, uint64_t ptr)
{
    if (BLOCKS_FULL(t) && blocks_grow(t) != 0)
        return NULL;
    uint64_t i = slot_of(t, ptr);
    while (t->v[i].ptr)
        i = (i + 1) & t->mask;
    t->count++;
    return &t->v[i];
}

/* One probe: the slot holding ptr (*found = 1) or the empty slot where it goes (*found = 0,
 * counted as added). NULL if the table had to grow and could not. */
static inline struct stats_slot *blocks_slot(struct stats_blocks *t, uint64_t ptr, int *found)
{
    if (BLOCKS_FULL(t) && blocks_grow(t) != 0)
        return NULL;
    uint64_t i = slot_of(t, ptr);
    for (;; i = (i + 1) & t->mask) {
        struct stats_slot *b = &t->v[i];
        if (b->ptr == ptr) {
            *found = 1;
            return b;
        }
        if (!b->ptr) {
            *found = 0;
            t->count++;
            return b;
        }
    }
}

/* Removes the block at b (a pointer into the table) and its side record. */
static inline void blocks_del(struct stats_blocks *t, struct stats_slot *b)
{
    uint64_t i = (uint64_t)(b - t->v);
    if (__builtin_expect(b->meta & STATS_BLK_SIDE, 0))
        side_put(t, b->meta >> 3);
    t->count--;
    i = mlg_hash_delete(t->v, sizeof *t->v, t->mask, (unsigned)t->shift, i);
    t->v[i].meta = 0; /* a fresh slot owns no side record */
}

/* ---- exact sizes: bounded table; when full, the rarer half is dropped -------------------- */

static int sizes_init(struct stats *s, int bits)
{
    s->sizes = calloc(1ull << bits, sizeof *s->sizes);
    s->sizes_spare = calloc(1ull << bits, sizeof *s->sizes);
    s->sizes_mask = (1ull << bits) - 1;
    s->sizes_shift = 64 - bits;
    s->sizes_count = 0;
    return s->sizes && s->sizes_spare ? 0 : -1;
}

/* Keys are size + 1 so that 0 marks an empty slot. Rebuilds the table without the entries whose
 * count is at or below the median; the largest count dropped bounds the error of what stays. */
static void sizes_prune(struct stats *s)
{
    uint64_t n = s->sizes_mask + 1, hist[256] = {0}, cut = 0, below = 0;
    struct stats_size *old = s->sizes;
    /* the median count from a histogram of counts (capped at 255): no sort */
    for (uint64_t i = 0; i < n; i++)
        if (old[i].size)
            hist[old[i].count < 255 ? old[i].count : 255]++;
    while (cut < 255 && (below += hist[cut]) < s->sizes_count / 2)
        cut++;
    /* rebuilt into the spare table (kept from the start: no allocation, no page faults) */
    s->sizes = s->sizes_spare;
    memset(s->sizes, 0, n * sizeof *s->sizes);
    s->sizes_count = 0;
    for (uint64_t i = 0; i < n; i++) {
        if (!old[i].size)
            continue;
        if (old[i].count <= cut) {
            if (old[i].count > s->sizes_pruned_max)
                s->sizes_pruned_max = old[i].count;
            continue;
        }
        uint64_t j = (old[i].size * 0x9e3779b97f4a7c15ull) >> s->sizes_shift;
        while (s->sizes[j].size)
            j = (j + 1) & s->sizes_mask;
        s->sizes[j] = old[i];
        s->sizes_count++;
    }
    s->sizes_spare = old;
}

static inline void sizes_add(struct stats *s, uint64_t size)
{
    if (size < STATS_SMALL_SIZES) { /* the common case: a direct count, always exact */
        s->small_sizes[size]++;
        return;
    }
    uint64_t key = size + 1;
    uint64_t i = (key * 0x9e3779b97f4a7c15ull) >> s->sizes_shift;
    for (;; i = (i + 1) & s->sizes_mask) {
        struct stats_size *e = &s->sizes[i];
        if (e->size == key) {
            e->count++;
            e->bytes += size;
            return;
        }
        if (!e->size)
            break;
    }
    if ((s->sizes_count + 1) * 4 > (s->sizes_mask + 1) * 3) {
        sizes_prune(s);
        if ((s->sizes_count + 1) * 8 > (s->sizes_mask + 1) * 7) {
            /* nothing was rare enough to drop: this size goes uncounted (approximate) */
            s->sizes_pruned_max = s->sizes_pruned_max ? s->sizes_pruned_max : 1;
            return;
        }
        i = (key * 0x9e3779b97f4a7c15ull) >> s->sizes_shift;
        while (s->sizes[i].size)
            i = (i + 1) & s->sizes_mask;
    }
    s->sizes[i] = (struct stats_size){key, 1, size};
    s->sizes_count++;
}

/* A request of at least STATS_SMALL_SIZES bytes: its size class and exact size. The classes of
 * smaller requests are summed from small_sizes once, at the end (sizes_fold_small): one counter
 * per request instead of four. */
static inline void count_large_size(struct stats *s, uint64_t size)
{
    int k = stats_class(size);
    s->class_count[k]++;
    s->class_bytes[k] += size;
    s->class_max[k] = size > s->class_max[k] ? size : s->class_max[k];
    sizes_add(s, size);
}

/* The size classes below STATS_SMALL_SIZES, from the exact counts. */
static void sizes_fold_small(struct stats *s)
{
    _Static_assert((STATS_SMALL_SIZES & (STATS_SMALL_SIZES - 1)) == 0,
                   "small sizes end at a class boundary");
    for (uint64_t size = 0; size < STATS_SMALL_SIZES; size++) {
        uint64_t n = s->small_sizes[size];
        if (!n)
            continue;
        int k = stats_class(size);
        s->class_count[k] += n;
        s->class_bytes[k] += n * size;
        s->class_max[k] = size > s->class_max[k] ? size : s->class_max[k];
    }
}

/* ---- chains: the longest ones, a min-heap by (length, end size) ---------------------------- */

static int chain_less(const struct stats_chain *a, const struct stats_chain *b)
{
    if (a->length != b->length)
        return a->length < b->length;
    if (a->end_size != b->end_size)
        return a->end_size < b->end_size;
    return a->start_event > b->start_event; /* earlier chains win ties */
}

static void heap_down(struct stats_chain *h, uint64_t n, uint64_t i)
{
    for (;;) {
        uint64_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && chain_less(&h[l], &h[m]))
            m = l;
        if (r < n && chain_less(&h[r], &h[m]))
            m = r;
        if (m == i)
            return;
        struct stats_chain t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

static void chain_done(struct stats *s, const struct stats_block *b, uint64_t end_event, int live)
{
    if (!b->len)
        return;
    struct stats_chain c = {b->birth, end_event, b->start_size, b->size, b->copied,
                            b->len, b->moves, b->thread, (uint32_t)live};
    s->chains++;
    s->chain_len_count[stats_class(b->len)]++;
    if (!s->longest.length || chain_less(&s->longest, &c))
        s->longest = c;
    struct stats_chain *h = s->top_chains;
    if (s->ntop_chains < STATS_TOP_KEEP) {
        uint64_t i = s->ntop_chains++;
        h[i] = c;
        while (i && chain_less(&h[i], &h[(i - 1) / 2])) {
            struct stats_chain t = h[i];
            h[i] = h[(i - 1) / 2];
            h[(i - 1) / 2] = t;
            i = (i - 1) / 2;
        }
    } else if (chain_less(&h[0], &c)) {
        h[0] = c;
        heap_down(h, s->ntop_chains, 0);
    }
}

/* ---- threads --------------------------------------------------------------------------------- */

static struct stats_thread *thread_get(struct stats *s, uint32_t id)
{
    if (id >= s->nthr) {
        uint64_t n = s->nthr ? s->nthr : 8;
        while (n <= id)
            n *= 2;
        struct stats_thread *t = realloc(s->thr, n * sizeof *t);
        if (!t)
            return NULL;
        memset(t + s->nthr, 0, (n - s->nthr) * sizeof *t);
        s->thr = t;
        s->nthr = n;
    }
    return &s->thr[id];
}

/* ---- timeline -------------------------------------------------------------------------------- */

/* A timeline row after event `event`; final = the last row, kept whatever its interval. */
static void row_emit(struct stats *s, uint64_t event, uint64_t time_ns, int final)
{
    struct stats_row r = {event, time_ns, s->live_bytes, s->live_blocks, s->cumulative_requested,
                          s->cumulative_compensated, s->interval_peak};
    s->interval_peak = s->live_bytes;
    s->since_row = 0;
    if (s->o.every) {
        if (s->o.timeline)
            fprintf(s->o.timeline,
                    "%" PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64
                    "\t%" PRIu64 "\n", r.event, r.time_ns, r.live_requested, r.live_blocks,
                    r.cum_requested, r.cum_compensated, r.interval_peak);
        return;
    }
    if (s->nrows == STATS_TIMELINE_ROWS) {
        /* Keep every second row (the even multiples of the doubled interval); a dropped row's
         * interval peak passes to the row after it. */
        uint64_t k = 0;
        for (uint64_t i = 0; i < s->nrows; i += 2) {
            struct stats_row keep = s->rows[i + 1];
            if (s->rows[i].interval_peak > keep.interval_peak)
                keep.interval_peak = s->rows[i].interval_peak;
            s->rows[k++] = keep;
        }
        s->nrows = k;
        s->every *= 2;
        if (!final) {
            /* r is an odd multiple of the old interval: no row now, its peak carries on */
            s->interval_peak = r.interval_peak;
            s->since_row = s->every / 2;
            return;
        }
    }
    s->rows[s->nrows++] = r;
}

/* ---- events ---------------------------------------------------------------------------------- */

int stats_init(struct stats *s, const struct stats_opts *o)
{
    memset(s, 0, sizeof *s);
    s->o = o ? *o : (struct stats_opts){0};
    if (!o) {
        s->o.to = UINT64_MAX;
        s->o.temporary_events = 100;
        s->o.long_events = 1000000;
    }
    s->every = s->o.every ? s->o.every : 1;
    s->first_index = UINT64_MAX;
    s->processes = 1;
    s->top_chains = calloc(STATS_TOP_KEEP, sizeof *s->top_chains);
    s->rows = s->o.every ? NULL : calloc(STATS_TIMELINE_ROWS, sizeof *s->rows);
    if (blocks_init(&s->blocks, 12) != 0 || sizes_init(s, 14) != 0 || !s->top_chains ||
        (!s->o.every && !s->rows)) {
        stats_free(s);
        return MLG_E_NOMEM;
    }
    return 0;
}

void stats_free(struct stats *s)
{
    free(s->blocks.v);
    free(s->blocks.side);
    s->blocks.v = NULL;
    s->blocks.side = NULL;
    free(s->sizes);
    free(s->sizes_spare);
    free(s->top_chains);
    free(s->rows);
    free(s->leaks);
    for (uint64_t i = 0; s->leak_sites && i < s->nleak_sites; i++)
        free(s->leak_sites[i]);
    free(s->leak_sites);
    s->leak_sites = NULL;
    s->nleak_sites = 0;
    free(s->thr);
    s->sizes = s->sizes_spare = NULL;
    s->top_chains = NULL;
    s->rows = NULL;
    s->leaks = NULL;
    s->thr = NULL;
}

static inline void peak_check(struct stats *s, const struct mlg_rec *ev, uint64_t ix)
{
    if (s->live_bytes > s->interval_peak)
        s->interval_peak = s->live_bytes;
    if (s->live_bytes > s->peak_live_requested && s->counting) {
        s->peak_live_requested = s->live_bytes;
        s->peak_event = ix;
        s->peak_time_ns = ev->time_ns;
    }
    if (s->live_blocks > s->peak_live_blocks && s->counting) {
        s->peak_live_blocks = s->live_blocks;
        s->peak_blocks_event = ix;
    }
}

/* A request was served: the cumulative figures (the timeline samples them, so they stay on the
 * table's side; the size tables are counted by stats_count). */
static inline void requested(struct stats *s, uint64_t size, uint64_t growth)
{
    s->cumulative_requested += size;
    s->cumulative_compensated += growth;
}

/* call = 0: a block live at a segment's checkpoint (MLG_HEAP_CHECKPOINT): live, with its birth
 * time, but no allocation call of this log, so not counted as one. */
static void new_block(struct stats *s, const struct mlg_rec *ev, uint64_t ix, struct stats_thread *t,
                      int call)
{
    int found;
    struct stats_slot *b = blocks_slot(&s->blocks, ev->ptr, &found);
    if (!b) {
        s->nomem = 1;
        return;
    }
    if (found) { /* the address is live: the recorder's ordering guarantees make this an anomaly */
        s->inversions += s->counting;
        s->live_bytes -= b->size;
        s->live_blocks--;
    }
    struct stats_block rec = {ev->ptr, ev->size, ix, ev->time_ns, ev->size, 0, 0, 0,
                              ev->thread, s->counting ? 0 : STATS_BLK_EARLY};
    if (slot_store(&s->blocks, b, &rec) != 0) {
        s->nomem = 1;
        return;
    }
    s->live_bytes += ev->size;
    s->live_blocks++;
    if (call) {
        s->allocations += s->counting;
        t->allocations += s->counting;
        requested(s, ev->size, ev->size);
    }
    peak_check(s, ev, ix);
}

/* The end of a block's life (free or realloc(p, 0)); e is its slot. */
/* The figures of a block's death inside the range (its table slot is the caller's business):
 * lifetimes, temporaries, long-lived, frees, cross-thread frees, its chain. */
static inline __attribute__((always_inline)) void block_died(struct stats *s,
                                                             const struct stats_block *b,
                                                             uint64_t ix, uint64_t time_ns,
                                                             uint32_t thread,
                                                             struct stats_thread *t)
{
    if (!(b->flags & STATS_BLK_INHERITED)) {
        uint64_t lt = ix - b->birth, ns = time_ns - b->birth_time;
        int k = stats_class(lt), kn = stats_class(ns);
        s->life_count[k]++;
        s->life_bytes[k] += b->size;
        s->life_ns_count[kn]++;
        s->life_ns_bytes[kn] += b->size;
        /* no branches: whether a block was temporary is a coin toss in a churning program */
        uint64_t tmp = lt <= s->o.temporary_events, lng = lt >= s->o.long_events;
        s->temporary_blocks += tmp;
        s->temporary_bytes += b->size & -tmp;
        s->long_lived_blocks += lng;
        s->long_lived_bytes += b->size & -lng;
    }
    s->frees++;
    t->frees++;
    if (b->thread != thread && !(b->flags & STATS_BLK_INHERITED)) {
        s->cross_thread_frees++;
        t->cross_frees++;
        if (b->thread < s->nthr)
            s->thr[b->thread].freed_by_others++;
    }
    if (__builtin_expect(b->len != 0, 0))
        chain_done(s, b, ix, 0);
}

/* The end of a block's life (free or realloc(p, 0)); e is its slot. */
static void end_block(struct stats *s, const struct mlg_rec *ev, uint64_t ix,
                      struct stats_thread *t, struct stats_slot *e)
{
    struct stats_block rec = slot_load(&s->blocks, e);
    s->live_bytes -= rec.size;
    s->live_blocks--;
    if (s->counting)
        block_died(s, &rec, ix, ev->time_ns, ev->thread, t);
    blocks_del(&s->blocks, e);
}

/* A realloc resized (or moved) block rec from old size to ev->size; rec is a copy. */
static void resized(struct stats *s, const struct mlg_rec *ev, uint64_t ix, struct stats_block rec,
                    int moved)
{
    uint64_t old = rec.size, size = ev->size;
    rec.len++;
    if (moved) {
        rec.moves++;
        rec.copied += old < size ? old : size;
    }
    rec.size = size;
    struct stats_slot *b = moved ? blocks_find(&s->blocks, ev->ptr) : NULL;
    if (b) {
        s->inversions += s->counting;
        s->live_bytes -= b->size;
        s->live_blocks--;
    } else if (moved && !(b = blocks_add(&s->blocks, ev->ptr))) {
        s->nomem = 1;
        return;
    } else if (!moved) {
        b = blocks_find(&s->blocks, ev->ptr);
    }
    rec.ptr = ev->ptr;
    if (slot_store(&s->blocks, b, &rec) != 0) {
        s->nomem = 1;
        return;
    }
    s->live_bytes += size;
    s->live_blocks++;
    if (s->counting) {
        if (moved) {
            s->realloc_moved++;
            s->bytes_copied_upper += old < size ? old : size;
        } else {
            s->realloc_in_place++;
        }
        s->realloc_grow += size > old;
        s->realloc_shrink += size < old;
    }
    requested(s, size, size > old ? size - old : 0);
    peak_check(s, ev, ix);
}

static void range_begin(struct stats *s, const struct mlg_rec *ev, uint64_t ix)
{
    s->counting = 1;
    s->start_live_bytes = s->peak_live_requested = s->interval_peak = s->live_bytes;
    s->start_live_blocks = s->peak_live_blocks = s->live_blocks;
    s->peak_event = s->peak_blocks_event = ix;
    s->peak_time_ns = ev->time_ns;
    s->first_index = ix;
    s->first_time = ev->time_ns;
    s->cumulative_requested = s->cumulative_compensated = 0;
}

/* Per op: bit 0 = allocating (kind A), bit 1 = resizing (R). With the outcome masks below they
 * make count_one's branch-free form of the heap rule's MLG_HEAP_ACQUIRE (lib/heap.h). */
static const uint8_t op_bits[MLG_OP_COUNT] = {
#define STATS_X_BITS(name, code, str, kind) [code] = #kind[0] == 'A' ? 1 : #kind[0] == 'R' ? 2 : 0,
    MLG_OPS(STATS_X_BITS)
#undef STATS_X_BITS
};
#define OUT_BIT(o) (1u << MLG_OUT_##o)
#define OUT_FAILED_MASK (OUT_BIT(FAILED) | OUT_BIT(OVERFLOW) | OUT_BIT(EINVAL))

#define OUT_RESIZE_MASK (OUT_BIT(OK) | OUT_BIT(INPLACE) | OUT_BIT(MOVED) | OUT_BIT(OLD_RELEASED))

/* The figures that depend on the event alone, never on the live-block table: events, ops,
 * per-thread counts, failures, realloc calls, lost events, size classes and exact sizes
 * (fast_run has its own copy of the malloc and realloc cases). Returns 1 once the event is past
 * the range end.
 * Which events are requests is the heap rule's MLG_HEAP_ACQUIRE, as stats_track applies it: an
 * allocating call that did not fail and returned a pointer, and a realloc that returned a pointer
 * with outcome ok, in place, moved or moved* (test_heap checks the size tables against the rule).
 * Branch-free where the op mix is random (a branch on malloc-or-free mispredicts half the time):
 * counters add 0 or 1, byte counters add size & -flag. */
static inline __attribute__((always_inline)) int count_one(struct stats *s,
                                                          const struct mlg_rec *ev, uint64_t ix, int checks)
{
    if (checks && __builtin_expect(ix >= s->o.to, 0)) {
        s->done = 1;
        return 1;
    }
    uint8_t op = ev->op < MLG_OP_COUNT ? ev->op : 0;
    struct stats_thread *t = ev->thread < s->nthr ? &s->thr[ev->thread]
                                                   : thread_get(s, ev->thread);
    if (__builtin_expect(!t, 0)) {
        s->nomem = 1;
        return 0;
    }
    if (__builtin_expect(op >= MLG_OP_THREAD_START, 0)) {
        if (op == MLG_OP_THREAD_START) /* before the range too */
            t->os_tid = ev->result;
        else if (op == MLG_OP_LOST && (!checks || ix >= s->o.from))
            s->lost_events += (uint64_t)ev->result;
    }
    if (checks && __builtin_expect(ix < s->o.from, 0))
        return 0;
    uint32_t obit = ev->outcome < 32 ? 1u << ev->outcome : 0;
    uint64_t failed = (obit & OUT_FAILED_MASK) != 0, bits = op_bits[op];
    uint64_t is_r = bits >> 1, served = (bits != 0) & !failed;
    uint64_t req = (ev->ptr != 0) &
                   ((bits & 1 & (failed ^ 1)) | (is_r & ((obit & OUT_RESIZE_MASK) != 0)));
    uint64_t size = ev->size;
    s->op_outcome[op][ev->outcome < 8 ? ev->outcome : 8]++;
    s->last_index = ix;
    s->last_time = ev->time_ns;
    if (__builtin_expect(!t->seen, 0)) {
        t->seen = 1;
        t->first_event = ix;
        s->threads++;
    }
    t->events++;
    t->last_event = ix;
    t->failed += failed;
    s->bytes_op[op] += size & -served;
    t->bytes += size & -served;
    t->reallocs += is_r;
    /* size tables: a non-request adds 0 (classes below 4096 come from small_sizes at the end) */
    if (size < STATS_SMALL_SIZES)
        s->small_sizes[size] += req;
    else if (req)
        count_large_size(s, size);
    return 0;
}

/* count_one with the range checks (checks = 0: the caller knows the event is inside the range). */
static int stats_count(struct stats *s, const struct mlg_rec *ev, uint64_t ix)
{
    return count_one(s, ev, ix, 1);
}

/* The heap rule (mlg_heap_effects) on the live-block table. A block a realloc releases lives on
 * in the block it acquires (resized); one a REALLOC_RELEASE releases waits as its thread's pending
 * block for the OLD_RELEASED realloc that continues it. A release of a block the table does not
 * hold is an unknown free, and the acquire still makes a new block. */
static void track_effect(struct stats *s, const struct mlg_rec *ev, uint64_t ix,
                         struct stats_thread *t, const struct mlg_heap_effect *e)
{
    struct stats_block rec = {0};
    int carried = 0, moved = (e->flags & MLG_HEAP_SPLIT) || e->acquire != e->release;
    struct stats_slot *b;
    if (e->flags & MLG_HEAP_RELEASE) {
        if (!(b = blocks_find(&s->blocks, e->release))) {
            s->unknown_frees += s->counting;
        } else if (e->flags & (MLG_HEAP_RESIZE | MLG_HEAP_SPLIT)) {
            rec = slot_load(&s->blocks, b);
            s->live_bytes -= rec.size;
            s->live_blocks--;
            carried = 1;
            if (e->flags & MLG_HEAP_SPLIT) {
                t->pending = rec;
                t->pending_valid = 1;
            }
            if (moved)
                blocks_del(&s->blocks, b);
        } else {
            end_block(s, ev, ix, t, b);
        }
    } else if ((e->flags & MLG_HEAP_SPLIT) && t->pending_valid && t->pending.ptr == e->release) {
        t->pending_valid = 0;
        rec = t->pending;
        carried = 1;
    }
    if (!(e->flags & MLG_HEAP_ACQUIRE))
        return;
    if (carried)
        resized(s, ev, ix, rec, moved);
    else
        new_block(s, ev, ix, t, !(e->flags & MLG_HEAP_CHECKPOINT));
}

/* The figures that need the live-block table (the rest of stats_event): the heap, peaks,
 * lifetimes, chains, cross-thread frees, timeline. */
static inline int stats_track(struct stats *s, const struct mlg_rec *ev, uint64_t ix)
{
    if (__builtin_expect(!s->counting, 0)) {
        if (ix >= s->o.to) {
            s->done = 1;
            return 1;
        }
        if (ix >= s->o.from)
            range_begin(s, ev, ix);
    } else if (__builtin_expect(ix >= s->o.to, 0)) {
        s->done = 1;
        return 1;
    }
    uint8_t op = ev->op < MLG_OP_COUNT ? ev->op : 0;
    struct stats_thread *t = ev->thread < s->nthr ? &s->thr[ev->thread]
                                                   : thread_get(s, ev->thread);
    if (!t) {
        s->nomem = 1;
        return 1;
    }
    struct mlg_heap_effect e = mlg_heap_effects_of(op, ev->outcome, ev->ptr, ev->old_ptr, ev->size);
    if (e.flags)
        track_effect(s, ev, ix, t, &e);
    if (s->counting && ++s->since_row == s->every)
        row_emit(s, ix, ev->time_ns, 0);
    return 0;
}

/* Both halves, for any event: the one-by-one path (the fast path's reference). */
static int event_one(struct stats *s, const struct mlg_rec *ev, uint64_t ix)
{
    return stats_count(s, ev, ix) || stats_track(s, ev, ix);
}

static inline void rec_of_event(struct mlg_rec *v, const struct mlg_event *ev)
{
    *v = (struct mlg_rec){ev->ptr,     ev->old_ptr, ev->size,  ev->result,
                          ev->time_ns, ev->thread,  ev->op,    ev->outcome};
}

int stats_event(struct stats *s, const struct mlg_event *ev)
{
    struct mlg_rec v;
    rec_of_event(&v, ev);
    return event_one(s, &v, ev->index);
}

void stats_inherit(struct stats *s, uint64_t ptr, uint64_t size)
{
    if (!ptr || blocks_find(&s->blocks, ptr))
        return;
    struct stats_slot *b = blocks_add(&s->blocks, ptr);
    struct stats_block rec = {ptr, size, 0, 0, size, 0, 0, 0, 0, STATS_BLK_INHERITED};
    if (!b || slot_store(&s->blocks, b, &rec) != 0) {
        s->nomem = 1;
        return;
    }
    s->live_bytes += size;
    s->live_blocks++;
    s->inherited_blocks++;
    s->inherited_bytes += size;
}

/* ---- the end --------------------------------------------------------------------------------- */

/* What the leak table needs of a block live at the end (16 bytes, not a whole stats_block: this
 * array is held beside the table, one entry per live block). */
struct live_leak {
    uint64_t size, birth;
};

static int cmp_live(const void *a, const void *b)
{
    const struct live_leak *x = a, *y = b;
    if (x->size != y->size)
        return x->size < y->size ? -1 : 1;
    return x->birth < y->birth ? -1 : x->birth > y->birth;
}

static int cmp_leak(const void *a, const void *b)
{
    const struct stats_leak *x = a, *y = b;
    if (x->bytes != y->bytes)
        return x->bytes > y->bytes ? -1 : 1;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    return x->size < y->size ? -1 : x->size > y->size;
}

static int cmp_chain_desc(const void *a, const void *b)
{
    const struct stats_chain *x = a, *y = b;
    return chain_less(x, y) - chain_less(y, x);
}

/* The figures counted per op and outcome (stats_count), folded; assigned, not added. */
static void counts_fold(struct stats *s)
{
    _Static_assert(MLG_OUT_COUNT == 8, "op_outcome has a column per outcome, then one more");
    s->events = s->failed = s->realloc_calls = s->realloc_failed = s->realloc_freed = 0;
    for (int op = 0; op < MLG_OP_COUNT; op++) {
        const uint64_t *h = s->op_outcome[op];
        uint64_t calls = 0;
        for (int o = 0; o < 9; o++)
            calls += h[o];
        s->calls[op] = calls;
        s->failed_op[op] = h[MLG_OUT_FAILED] + h[MLG_OUT_OVERFLOW] + h[MLG_OUT_EINVAL];
        s->events += calls;
        s->failed += s->failed_op[op];
        if (op_bits[op] & 2) { /* realloc, reallocarray */
            s->realloc_calls += calls;
            s->realloc_failed += s->failed_op[op];
            s->realloc_freed += h[MLG_OUT_FREED];
        }
    }
}

int stats_finish(struct stats *s)
{
    counts_fold(s);
    sizes_fold_small(s);
    if (!s->counting) /* an empty range: report zeros, not the state before it */
        s->peak_event = s->peak_blocks_event = 0;
    if (s->counting && s->since_row)
        row_emit(s, s->last_index, s->last_time, 1);
    /* a range that reaches the end of the log lasts until the process ended, which can be long
     * after its last allocation */
    uint64_t last = s->o.to == UINT64_MAX && s->end_time_ns > s->last_time ? s->end_time_ns
                                                                           : s->last_time;
    if (s->counting) /* cumulative figures began at the range start */
        s->duration_ns = s->o.from ? last - s->first_time : last;
    s->live_at_end_bytes = s->live_bytes;
    s->live_at_end_blocks = s->live_blocks;

    /* live blocks, sorted by size then age: leaks grouped by size, chains still open */
    uint64_t n = 0, end = s->counting ? s->last_index + 1 : 0;
    struct live_leak *live = malloc((s->blocks.count + 1) * sizeof *live);
    if (!live)
        return MLG_E_NOMEM;
    for (uint64_t i = 0; i <= s->blocks.mask; i++) {
        if (!s->blocks.v[i].ptr)
            continue;
        struct stats_block rec = slot_load(&s->blocks, &s->blocks.v[i]), *b = &rec;
        if (b->thread < s->nthr) {
            s->thr[b->thread].live_blocks++;
            s->thr[b->thread].live_bytes += b->size;
        }
        if (b->flags & STATS_BLK_INHERITED) {
            s->inherited_live_blocks++;
            s->inherited_live_bytes += b->size;
            continue;
        }
        if (s->counting && end - b->birth >= s->o.long_events) {
            s->long_lived_blocks++;
            s->long_lived_bytes += b->size;
        }
        if (s->counting)
            chain_done(s, b, end, 1);
        if (!(b->flags & STATS_BLK_EARLY))
            live[n++] = (struct live_leak){b->size, b->birth};
    }
    qsort(live, n, sizeof *live, cmp_live);
    uint64_t groups = 0;
    for (uint64_t i = 0; i < n; i++)
        groups += i == 0 || live[i].size != live[i - 1].size;
    s->leaks = calloc(groups + 1, sizeof *s->leaks);
    if (!s->leaks) {
        free(live);
        return MLG_E_NOMEM;
    }
    for (uint64_t i = 0; i < n; i++) {
        if (i == 0 || live[i].size != live[i - 1].size)
            s->leaks[s->nleaks++] = (struct stats_leak){live[i].size, 0, 0, live[i].birth, {0}};
        struct stats_leak *l = &s->leaks[s->nleaks - 1];
        if (l->count < 4)
            l->events[l->count] = live[i].birth;
        l->count++;
        l->bytes += live[i].size;
        s->leaked_blocks++;
        s->leaked_bytes += live[i].size;
    }
    free(live);
    qsort(s->leaks, s->nleaks, sizeof *s->leaks, cmp_leak);
    qsort(s->top_chains, s->ntop_chains, sizeof *s->top_chains, cmp_chain_desc);
    return s->nomem ? MLG_E_NOMEM : 0;
}

/* Events this far ahead have the table slots they will probe prefetched (the home slot of their
 * key, the exact-size entry of a large request). */
#ifndef STATS_AHEAD /* overridable (-D) for bench experiments only */
#define STATS_AHEAD 16
#endif

/* always_inline: a function holding only prefetches looks side-effect free to gcc's IPA
 * (pure-const), which then deletes every call to it. */
__attribute__((always_inline)) static inline void prefetch_rec(const struct stats *s,
                                                               const struct mlg_rec *v)
{
    uint64_t p = v->old_ptr ? v->old_ptr : v->ptr;
    __builtin_prefetch(&s->blocks.v[slot_of(&s->blocks, p)], 1);
    if (v->old_ptr && v->ptr)
        __builtin_prefetch(&s->blocks.v[slot_of(&s->blocks, v->ptr)], 1);
    if (v->size >= STATS_SMALL_SIZES) {
        uint64_t j = ((v->size + 1) * 0x9e3779b97f4a7c15ull) >> s->sizes_shift;
        __builtin_prefetch(&s->sizes[j], 1);
    }
}

/* The figures the fast path keeps in registers. */
struct hot {
    uint64_t live_bytes, live_blocks, interval_peak, peak_bytes, peak_blocks, since_row, every;
    uint64_t cum_requested, cum_compensated;
};

static inline void hot_load(struct hot *h, const struct stats *s)
{
    *h = (struct hot){s->live_bytes,          s->live_blocks,      s->interval_peak,
                      s->peak_live_requested, s->peak_live_blocks, s->since_row,
                      s->every,               s->cumulative_requested,
                      s->cumulative_compensated};
}

static inline void hot_store(const struct hot *h, struct stats *s)
{
    s->live_bytes = h->live_bytes;
    s->live_blocks = h->live_blocks;
    s->interval_peak = h->interval_peak;
    s->peak_live_requested = h->peak_bytes;
    s->peak_live_blocks = h->peak_blocks;
    s->since_row = h->since_row;
    s->every = h->every;
    s->cumulative_requested = h->cum_requested;
    s->cumulative_compensated = h->cum_compensated;
}

/* What the fast path counted for thread t since it was chosen, into s and t. */
struct tally {
    uint64_t mallocs, malloc_bytes, frees, reallocs, realloc_bytes;
};

static inline void tally_store(struct tally *y, struct stats *s, struct stats_thread *t,
                               uint64_t last)
{
    t->events += y->mallocs + y->frees + y->reallocs;
    t->bytes += y->malloc_bytes + y->realloc_bytes;
    t->allocations += y->mallocs;
    t->reallocs += y->reallocs;
    t->last_event = last;
    s->op_outcome[MLG_OP_MALLOC][MLG_OUT_OK] += y->mallocs;
    s->op_outcome[MLG_OP_FREE][MLG_OUT_OK] += y->frees;
    s->bytes_op[MLG_OP_MALLOC] += y->malloc_bytes;
    s->bytes_op[MLG_OP_REALLOC] += y->realloc_bytes;
    s->allocations += y->mallocs;
    *y = (struct tally){0, 0, 0, 0, 0};
}

/* count_one's size tables, for a request. */
static inline __attribute__((always_inline)) void count_size(struct stats *s, uint64_t size)
{
    if (size < STATS_SMALL_SIZES)
        s->small_sizes[size]++;
    else
        count_large_size(s, size);
}

/* peak_check on the hot figures. */
static inline __attribute__((always_inline)) void hot_peak(struct hot *h, struct stats *s,
                                                           uint64_t ix, uint64_t time_ns)
{
    h->interval_peak = h->live_bytes > h->interval_peak ? h->live_bytes : h->interval_peak;
    if (h->live_bytes > h->peak_bytes) {
        h->peak_bytes = h->live_bytes;
        s->peak_event = ix;
        s->peak_time_ns = time_ns;
    }
    if (h->live_blocks > h->peak_blocks) {
        h->peak_blocks = h->live_blocks;
        s->peak_blocks_event = ix;
    }
}

/* The fast path, for n events all inside the range (s->counting set). A malloc or free with a
 * pointer and outcome ok, or a realloc in place or moved of a known block, by the thread of the
 * event before it - nearly every event of a log - is done here with the hot figures in
 * registers; any other event goes through event_one. The result is exactly event_one's on each
 * event in turn (test_events_batch): these are count_one + new_block, count_one + end_block and
 * count_one + stats_track's realloc case + resized, specialised. */
static void fast_run(struct stats *s, const struct mlg_rec *v, uint64_t index, int n)
{
    struct stats_blocks *tb = &s->blocks;
    struct hot h;
    hot_load(&h, s);
    uint64_t cur = UINT64_MAX; /* the thread t is, UINT64_MAX = none yet */
    struct stats_thread *t = NULL;
    struct tally y = {0, 0, 0, 0, 0};
    for (int i = 0; i < n && i < STATS_AHEAD; i++)
        prefetch_rec(s, &v[i]);
    for (int i = 0; i < n; i++) {
        const struct mlg_rec *e = &v[i];
        uint64_t ix = index + (uint64_t)i;
        if (i + STATS_AHEAD < n)
            prefetch_rec(s, &v[i + STATS_AHEAD]);
        uint64_t size = e->size, ptr = e->ptr;
        struct stats_slot *b;
        if (__builtin_expect(e->thread != cur || !ptr, 0))
            goto general;
        if (e->op == MLG_OP_MALLOC && e->outcome == MLG_OUT_OK) {
            y.mallocs++;
            y.malloc_bytes += size;
            count_size(s, size);
            /* new_block (out of memory: the figures no longer matter, stats_finish fails) */
            int found;
            b = blocks_slot(tb, ptr, &found);
            struct stats_block rec = {ptr, size, ix, e->time_ns, size, 0, 0, 0, (uint32_t)cur, 0};
            if (__builtin_expect(!b, 0)) {
                s->nomem = 1;
            } else {
                if (__builtin_expect(found, 0)) {
                    s->inversions++;
                    h.live_bytes -= b->size;
                    h.live_blocks--;
                }
                if (__builtin_expect(slot_store(tb, b, &rec) != 0, 0))
                    s->nomem = 1;
                h.live_bytes += size;
                h.live_blocks++;
                h.cum_requested += size;
                h.cum_compensated += size;
                hot_peak(&h, s, ix, e->time_ns);
            }
        } else if (e->op == MLG_OP_FREE && e->outcome == MLG_OUT_OK) {
            y.frees++;
            if (__builtin_expect(!(b = blocks_find(tb, ptr)), 0)) {
                s->unknown_frees++;
            } else {
                struct stats_block rec = slot_load(tb, b);
                h.live_bytes -= rec.size;
                h.live_blocks--;
                block_died(s, &rec, ix, e->time_ns, (uint32_t)cur, t);
                blocks_del(tb, b);
            }
        } else if (e->op == MLG_OP_REALLOC &&
                   (e->outcome == MLG_OUT_INPLACE || e->outcome == MLG_OUT_MOVED) &&
                   (b = blocks_find(tb, e->old_ptr))) {
            s->op_outcome[MLG_OP_REALLOC][e->outcome]++;
            y.reallocs++;
            y.realloc_bytes += size;
            count_size(s, size);
            /* stats_track's realloc case, then resized */
            struct stats_block rec = slot_load(tb, b);
            uint64_t old = rec.size;
            int moved = ptr != e->old_ptr; /* whatever the outcome says */
            h.live_bytes -= old;
            h.live_blocks--;
            rec.len++;
            rec.size = size;
            rec.ptr = ptr;
            if (moved) {
                rec.moves++;
                rec.copied += old < size ? old : size;
                blocks_del(tb, b);
                if ((b = blocks_find(tb, ptr))) {
                    s->inversions++;
                    h.live_bytes -= b->size;
                    h.live_blocks--;
                } else if (!(b = blocks_add(tb, ptr))) {
                    s->nomem = 1;
                    goto next;
                }
                s->realloc_moved++;
                s->bytes_copied_upper += old < size ? old : size;
            } else {
                s->realloc_in_place++;
            }
            if (__builtin_expect(slot_store(tb, b, &rec) != 0, 0))
                s->nomem = 1;
            h.live_bytes += size;
            h.live_blocks++;
            s->realloc_grow += size > old;
            s->realloc_shrink += size < old;
            h.cum_requested += size;
            h.cum_compensated += size > old ? size - old : 0;
            hot_peak(&h, s, ix, e->time_ns);
        } else {
        general:
            /* the figures back into s, the event, the figures out again */
            if (t)
                tally_store(&y, s, t, ix - 1);
            hot_store(&h, s);
            event_one(s, e, ix);
            hot_load(&h, s);
            cur = e->thread;
            t = cur < s->nthr ? &s->thr[cur] : NULL; /* NULL: out of memory (event_one said) */
            if (!t)
                cur = UINT64_MAX;
            continue;
        }
    next:
        if (__builtin_expect(++h.since_row == h.every, 0)) {
            hot_store(&h, s);
            row_emit(s, ix, e->time_ns, 0);
            hot_load(&h, s);
        }
    }
    if (t)
        tally_store(&y, s, t, index + (uint64_t)n - 1);
    if (n > 0) {
        s->last_index = index + (uint64_t)n - 1;
        s->last_time = v[n - 1].time_ns;
    }
    hot_store(&h, s);
}

/* The live-block table alone, for bench/analyze.sh: the same table, probes and prefetches as
 * fast_run, and live bytes and blocks, nothing else counted (no ranges, threads or anomalies): on a
 * sound log they end as stats_finish's live_at_end figures. With --decode-only it bounds what any
 * analysis built on this table can reach. */
void stats_table_recs(struct stats *s, const struct mlg_rec *v, int n)
{
    struct stats_blocks *tb = &s->blocks;
    for (int i = 0; i < n && i < STATS_AHEAD; i++)
        prefetch_rec(s, &v[i]);
    for (int i = 0; i < n; i++) {
        const struct mlg_rec *e = &v[i];
        if (i + STATS_AHEAD < n)
            prefetch_rec(s, &v[i + STATS_AHEAD]);
        /* the rule alone: a realloc releases its old block, then acquires its new one */
        struct mlg_heap_effect fx =
            mlg_heap_effects_of(e->op, e->outcome, e->ptr, e->old_ptr, e->size);
        uint64_t gone = fx.flags & MLG_HEAP_RELEASE ? fx.release : 0;
        uint64_t born = fx.flags & MLG_HEAP_ACQUIRE ? fx.acquire : 0;
        struct stats_slot *b;
        if (gone && (b = blocks_find(tb, gone))) {
            s->live_bytes -= b->size;
            s->live_blocks--;
            blocks_del(tb, b);
        }
        int found;
        if (born && (b = blocks_slot(tb, born, &found))) {
            s->live_bytes += e->size - (found ? b->size : 0);
            s->live_blocks += !found;
            b->ptr = born;
            b->size = e->size;
            b->birth_time = e->time_ns;
        }
    }
}

int stats_recs(struct stats *s, const struct mlg_rec *v, uint64_t index, int n)
{
    int i = 0;
    /* before the range (the heap is tracked, nothing counted) and the event that opens it */
    for (; i < n && !s->counting; i++) {
        if (i + STATS_AHEAD < n)
            prefetch_rec(s, &v[i + STATS_AHEAD]);
        if (event_one(s, &v[i], index + (uint64_t)i))
            return 1;
    }
    if (i == n)
        return 0;
    uint64_t first = index + (uint64_t)i;
    uint64_t left = s->o.to > first ? s->o.to - first : 0;
    int k = (uint64_t)(n - i) < left ? n - i : (int)left;
    fast_run(s, v + i, first, k);
    /* an event past the range end: event_one says so (and marks s done) */
    return i + k < n ? event_one(s, &v[i + k], first + (uint64_t)k) : 0;
}

/* Records per batch: 24 KiB, so a batch stays in the L1 cache between the decoder writing it and
 * the analysis reading it. */
#ifndef STATS_BATCH
#define STATS_BATCH 512
#endif

/* Runs the events of r through s, in one thread: the reader decodes a batch of records, the
 * analysis takes it. Returns the reader's final status (0 end, < 0 error), or 1 when the range
 * ended first. */
static int run_events(struct stats *s, struct mlg_reader *r)
{
    struct progress p;
    progress_init(&p);
    p.on &= s->o.progress;
    uint64_t size = mlg_reader_file_size(r), index = 0;
    struct mlg_rec v[STATS_BATCH];
    int k;
    while ((k = mlg_reader_next_recs(r, v, STATS_BATCH)) > 0) {
        int stop = stats_recs(s, v, index, k);
        index += (uint64_t)k;
        if (p.on) { /* events done, percent of the file, events/s */
            double dt = progress_elapsed(&p);
            progress_show(&p, 0, "  %" PRIu64 " events, %.0f%%, %.1fM events/s", index,
                          size ? 100.0 * (double)mlg_reader_offset(r) / (double)size : 0.0,
                          dt > 0 ? (double)index / dt / 1e6 : 0.0);
        }
        if (stop) {
            k = 1;
            break;
        }
    }
    if (k < 0)
        s->err = *mlg_reader_error(r);
    progress_clear(&p);
    return k;
}

int stats_run(struct stats *s, const char *path)
{
    struct mlg_reader *r;
    snprintf(s->path, sizeof s->path, "%s", path);
    int rc = mlg_reader_open(&r, path, NULL, &s->err);
    if (rc)
        return rc;
    s->header = *mlg_reader_header(r);
    run_events(s, r);
    const struct mlg_trailer *t = mlg_reader_trailer(r);
    s->complete = t != NULL;
    s->in_progress = !t && !s->err.code && mlg_reader_in_progress(r);
    if (t) {
        s->end = t->end;
        s->end_status = (uint32_t)t->end_status;
        s->end_time_ns = t->end_time_ns;
    }
    mlg_reader_close(r);
    return 0;
}

void stats_proc_fill(const struct stats *s, struct stats_proc *p)
{
    memset(p, 0, sizeof *p);
    snprintf(p->path, sizeof p->path, "%s", s->path);
    p->pid = s->header.pid;
    p->parent_pid = s->header.parent_pid;
    p->exec_gen = s->header.exec_gen;
    p->damaged = s->err.code != 0;
    p->events = s->events;
    p->threads = s->threads;
    p->allocations = s->allocations;
    p->frees = s->frees;
    p->peak_live_requested = s->peak_live_requested;
    p->peak_live_blocks = s->peak_live_blocks;
    p->leaked_blocks = s->leaked_blocks;
    p->leaked_bytes = s->leaked_bytes;
    p->cumulative_requested = s->cumulative_requested;
    p->inherited_blocks = s->inherited_blocks;
    p->unknown_frees = s->unknown_frees;
}

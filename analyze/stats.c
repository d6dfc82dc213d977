/* stats.c - the streaming summary of one log: totals, peak, size classes, lifetimes, realloc
 * chains, leaks, threads, timeline. One pass; memory is proportional to the live blocks (plus
 * fixed-size tables), never to the number of events. The hot path is stats_event(): one probe of
 * an open-addressing table per allocation or free, no calls into lib/, no allocation. */
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

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

/* ---- live blocks: open addressing, linear probing, backward-shift delete -------------------- */

static inline uint64_t slot_of(const struct stats_blocks *t, uint64_t ptr)
{
    /* Fibonacci hashing: the high bits of the product mix the (16-aligned) address well. */
    return (ptr * 0x9e3779b97f4a7c15ull) >> t->shift;
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

static inline struct stats_block *blocks_find(const struct stats_blocks *t, uint64_t ptr)
{
    if (!ptr) /* 0 marks an empty slot: never a block (a damaged or foreign stream) */
        return NULL;
    for (uint64_t i = slot_of(t, ptr);; i = (i + 1) & t->mask) {
        struct stats_block *b = &t->v[i];
        if (b->ptr == ptr)
            return b;
        if (!b->ptr)
            return NULL;
    }
}

static int blocks_grow(struct stats_blocks *t)
{
    struct stats_blocks n;
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

/* Returns the slot for ptr, which must not be present (ptr != 0), or NULL if out of memory. */
static inline struct stats_block *blocks_add(struct stats_blocks *t, uint64_t ptr)
{
    if ((t->count + 1) * 2 > t->mask + 1 && blocks_grow(t) != 0)
        return NULL;
    uint64_t i = slot_of(t, ptr);
    while (t->v[i].ptr)
        i = (i + 1) & t->mask;
    t->count++;
    return &t->v[i];
}

/* One probe: the slot holding ptr (*found = 1) or the empty slot where it goes (*found = 0,
 * counted as added). NULL if the table had to grow and could not. */
static inline struct stats_block *blocks_slot(struct stats_blocks *t, uint64_t ptr, int *found)
{
    if ((t->count + 1) * 2 > t->mask + 1 && blocks_grow(t) != 0)
        return NULL;
    uint64_t i = slot_of(t, ptr);
    for (;; i = (i + 1) & t->mask) {
        struct stats_block *b = &t->v[i];
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

/* Removes the block at b (a pointer into the table). */
static inline void blocks_del(struct stats_blocks *t, struct stats_block *b)
{
    uint64_t i = (uint64_t)(b - t->v), j = i;
    t->count--;
    for (;;) {
        j = (j + 1) & t->mask;
        if (!t->v[j].ptr)
            break;
        uint64_t home = slot_of(t, t->v[j].ptr);
        /* move j back into the hole at i unless its home lies cyclically in (i, j] */
        if (((j - home) & t->mask) >= ((j - i) & t->mask)) {
            t->v[i] = t->v[j];
            i = j;
        }
    }
    t->v[i].ptr = 0;
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
    s->blocks.v = NULL;
    free(s->sizes);
    free(s->sizes_spare);
    free(s->top_chains);
    free(s->rows);
    free(s->leaks);
    free(s->thr);
    s->sizes = s->sizes_spare = NULL;
    s->top_chains = NULL;
    s->rows = NULL;
    s->leaks = NULL;
    s->thr = NULL;
}

static inline void peak_check(struct stats *s, const struct mlg_event *ev)
{
    if (s->live_bytes > s->interval_peak)
        s->interval_peak = s->live_bytes;
    if (s->live_bytes > s->peak_live_requested && s->counting) {
        s->peak_live_requested = s->live_bytes;
        s->peak_event = ev->index;
        s->peak_time_ns = ev->time_ns;
    }
    if (s->live_blocks > s->peak_live_blocks && s->counting) {
        s->peak_live_blocks = s->live_blocks;
        s->peak_blocks_event = ev->index;
    }
}

/* A request was served: size tables and the cumulative figures. */
static inline void requested(struct stats *s, uint64_t size, uint64_t growth)
{
    s->cumulative_requested += size;
    s->cumulative_compensated += growth;
    if (!s->counting)
        return;
    int k = stats_class(size);
    s->class_count[k]++;
    s->class_bytes[k] += size;
    s->class_max[k] = size > s->class_max[k] ? size : s->class_max[k];
    sizes_add(s, size);
}

static void new_block(struct stats *s, const struct mlg_event *ev, struct stats_thread *t)
{
    int found;
    struct stats_block *b = blocks_slot(&s->blocks, ev->ptr, &found);
    if (!b) {
        s->nomem = 1;
        return;
    }
    if (found) { /* the address is live: the recorder's ordering guarantees make this an anomaly */
        s->inversions += s->counting;
        s->live_bytes -= b->size;
        s->live_blocks--;
    }
    *b = (struct stats_block){ev->ptr, ev->size, ev->index, ev->time_ns, ev->size, 0, 0, 0,
                              ev->thread, s->counting ? 0 : STATS_BLK_EARLY};
    s->live_bytes += ev->size;
    s->live_blocks++;
    s->allocations += s->counting;
    t->allocations += s->counting;
    requested(s, ev->size, ev->size);
    peak_check(s, ev);
}

/* The end of a block's life (free or realloc(p, 0)). */
static void end_block(struct stats *s, const struct mlg_event *ev, struct stats_thread *t,
                      struct stats_block *b)
{
    s->live_bytes -= b->size;
    s->live_blocks--;
    if (s->counting && !(b->flags & STATS_BLK_INHERITED)) {
        uint64_t lt = ev->index - b->birth, ns = ev->time_ns - b->birth_time;
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
    if (s->counting) {
        s->frees++;
        t->frees++;
        if (b->thread != ev->thread && !(b->flags & STATS_BLK_INHERITED)) {
            s->cross_thread_frees++;
            t->cross_frees++;
            if (b->thread < s->nthr)
                s->thr[b->thread].freed_by_others++;
        }
        chain_done(s, b, ev->index, 0);
    }
    blocks_del(&s->blocks, b);
}

/* A realloc resized (or moved) block rec from old size to ev->size; rec is a copy. */
static void resized(struct stats *s, const struct mlg_event *ev, struct stats_block rec,
                    int moved)
{
    uint64_t old = rec.size, size = ev->size;
    rec.len++;
    if (moved) {
        rec.moves++;
        rec.copied += old < size ? old : size;
    }
    rec.size = size;
    struct stats_block *b = moved ? blocks_find(&s->blocks, ev->ptr) : NULL;
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
    *b = rec;
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
    peak_check(s, ev);
}

static void range_begin(struct stats *s, const struct mlg_event *ev)
{
    s->counting = 1;
    s->start_live_bytes = s->peak_live_requested = s->interval_peak = s->live_bytes;
    s->start_live_blocks = s->peak_live_blocks = s->live_blocks;
    s->peak_event = s->peak_blocks_event = ev->index;
    s->peak_time_ns = ev->time_ns;
    s->first_index = ev->index;
    s->first_time = ev->time_ns;
    s->cumulative_requested = s->cumulative_compensated = 0;
}

static const char kinds[MLG_OP_COUNT] = {
#define STATS_X_KIND(name, code, str, kind) [code] = #kind[0],
    MLG_OPS(STATS_X_KIND)
#undef STATS_X_KIND
};

int stats_event(struct stats *s, const struct mlg_event *ev)
{
    if (__builtin_expect(!s->counting, 0)) {
        if (ev->index >= s->o.to) {
            s->done = 1;
            return 1;
        }
        if (ev->index >= s->o.from)
            range_begin(s, ev);
    } else if (__builtin_expect(ev->index >= s->o.to, 0)) {
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
    int failed = ev->outcome < 32 && ((1u << MLG_OUT_FAILED | 1u << MLG_OUT_OVERFLOW |
                                         1u << MLG_OUT_EINVAL) >> ev->outcome & 1);
    char kind = kinds[op];
    if (s->counting) {
        s->events++;
        s->last_index = ev->index;
        s->last_time = ev->time_ns;
        s->calls[op]++;
        if (!t->seen) {
            t->seen = 1;
            t->first_event = ev->index;
            s->threads++;
        }
        t->events++;
        t->last_event = ev->index;
        if (failed) {
            s->failed_op[op]++;
            s->failed++;
            t->failed++;
        } else if (kind == 'A' || kind == 'R') {
            s->bytes_op[op] += ev->size;
            t->bytes += ev->size;
        }
    }
    struct stats_block *b;
    switch (kind) {
    case 'A':
        if (!failed && ev->ptr)
            new_block(s, ev, t);
        break;
    case 'F':
        if (op == MLG_OP_FREE) {
            if (!ev->ptr)
                break;
            if ((b = blocks_find(&s->blocks, ev->ptr)))
                end_block(s, ev, t, b);
            else
                s->unknown_frees += s->counting;
        } else { /* REALLOC_RELEASE: the realloc's acquire comes later as OLD_RELEASED */
            if ((b = blocks_find(&s->blocks, ev->old_ptr))) {
                t->pending = *b;
                t->pending_valid = 1;
                s->live_bytes -= b->size;
                s->live_blocks--;
                blocks_del(&s->blocks, b);
            } else {
                s->unknown_frees += s->counting;
            }
        }
        break;
    case 'R':
        if (s->counting) {
            s->realloc_calls++;
            t->reallocs++;
            s->realloc_failed += failed;
        }
        switch (ev->outcome) {
        case MLG_OUT_OK: /* realloc(NULL, n) */
            if (ev->ptr)
                new_block(s, ev, t);
            break;
        case MLG_OUT_INPLACE:
        case MLG_OUT_MOVED:
            if ((b = blocks_find(&s->blocks, ev->old_ptr))) {
                if (!ev->ptr) { /* not from the recorder; the block is gone */
                    end_block(s, ev, t, b);
                    break;
                }
                struct stats_block rec = *b;
                int moved = ev->ptr != ev->old_ptr; /* whatever the outcome says */
                s->live_bytes -= rec.size;
                s->live_blocks--;
                if (moved)
                    blocks_del(&s->blocks, b);
                resized(s, ev, rec, moved);
            } else {
                s->unknown_frees += s->counting;
                if (ev->ptr)
                    new_block(s, ev, t);
            }
            break;
        case MLG_OUT_OLD_RELEASED:
            if (t->pending_valid && t->pending.ptr == ev->old_ptr) {
                t->pending_valid = 0;
                if (ev->ptr)
                    resized(s, ev, t->pending, 1);
            } else if (ev->ptr) {
                new_block(s, ev, t);
            }
            break;
        case MLG_OUT_FREED:
            s->realloc_freed += s->counting;
            if ((b = blocks_find(&s->blocks, ev->old_ptr)))
                end_block(s, ev, t, b);
            else
                s->unknown_frees += s->counting;
            break;
        default: /* failed or overflow: the old block stays as it was */
            break;
        }
        break;
    case 'L':
        if (op == MLG_OP_THREAD_START)
            t->os_tid = ev->result;
        else if (op == MLG_OP_LOST && s->counting)
            s->lost_events += (uint64_t)ev->result;
        break;
    default:
        break;
    }
    if (s->counting && ++s->since_row == s->every)
        row_emit(s, ev->index, ev->time_ns, 0);
    return 0;
}

void stats_inherit(struct stats *s, uint64_t ptr, uint64_t size)
{
    if (!ptr || blocks_find(&s->blocks, ptr))
        return;
    struct stats_block *b = blocks_add(&s->blocks, ptr);
    if (!b) {
        s->nomem = 1;
        return;
    }
    *b = (struct stats_block){ptr, size, 0, 0, size, 0, 0, 0, 0, STATS_BLK_INHERITED};
    s->live_bytes += size;
    s->live_blocks++;
    s->inherited_blocks++;
    s->inherited_bytes += size;
}

/* ---- the end --------------------------------------------------------------------------------- */

static int cmp_live(const void *a, const void *b)
{
    const struct stats_block *x = a, *y = b;
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

int stats_finish(struct stats *s)
{
    if (!s->counting) /* an empty range: report zeros, not the state before it */
        s->peak_event = s->peak_blocks_event = 0;
    if (s->counting && s->since_row)
        row_emit(s, s->last_index, s->last_time, 1);
    if (s->counting) /* cumulative figures began at the range start */
        s->duration_ns = s->o.from ? s->last_time - s->first_time : s->last_time;
    s->live_at_end_bytes = s->live_bytes;
    s->live_at_end_blocks = s->live_blocks;

    /* live blocks, sorted by size then age: leaks grouped by size, chains still open */
    uint64_t n = 0, end = s->counting ? s->last_index + 1 : 0;
    struct stats_block *live = malloc((s->blocks.count + 1) * sizeof *live);
    if (!live)
        return MLG_E_NOMEM;
    for (uint64_t i = 0; i <= s->blocks.mask; i++) {
        struct stats_block *b = &s->blocks.v[i];
        if (!b->ptr)
            continue;
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
            live[n++] = *b;
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

/* Touches the table slots an event will probe (its key and its record, the exact-size entry of a
 * large request), so that the cache misses of a batch overlap instead of queueing one by one. */
static inline void prefetch_event(const struct stats *s, const struct mlg_event *ev)
{
    __builtin_prefetch(&s->blocks.v[slot_of(&s->blocks, ev->ptr)], 1);
    if (ev->old_ptr)
        __builtin_prefetch(&s->blocks.v[slot_of(&s->blocks, ev->old_ptr)], 1);
    if (ev->size >= STATS_SMALL_SIZES) {
        uint64_t j = ((ev->size + 1) * 0x9e3779b97f4a7c15ull) >> s->sizes_shift;
        __builtin_prefetch(&s->sizes[j], 1);
    }
}

/* Events this far ahead are prefetched: at ~20-30 ns an event, 32 events cover a miss to DRAM. */
#define STATS_AHEAD 32

int stats_events(struct stats *s, const struct mlg_event *ev, int n)
{
    for (int i = 0; i < n && i < STATS_AHEAD; i++)
        prefetch_event(s, &ev[i]);
    for (int i = 0; i < n; i++) {
        if (i + STATS_AHEAD < n)
            prefetch_event(s, &ev[i + STATS_AHEAD]);
        if (stats_event(s, &ev[i]))
            return 1;
    }
    return 0;
}

/* Decoding runs in a second thread, a few batches ahead of the analysis: the reader alone is about
 * as fast as the analysis alone, so the pipeline nearly doubles the throughput on two cores.
 * Batches travel through a ring under one mutex; each hand-off moves STATS_BATCH events. */
#define STATS_BATCH 2048
#define STATS_RING 8

struct pipe_batch {
    struct mlg_event ev[STATS_BATCH];
    int n;      /* events in this batch */
    uint64_t offset; /* bytes of the log consumed after it */
    int status; /* reader result after the batch: 1 more, 0 end, < 0 error */
};

struct pipe {
    struct mlg_reader *r;
    struct pipe_batch *b;
    uint64_t head, tail; /* batches produced, consumed */
    int stop;            /* the consumer wants no more */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct mlg_error err;
};

static void *pipe_reader(void *arg)
{
    struct pipe *p = arg;
    int status = 1;
    while (status > 0) {
        pthread_mutex_lock(&p->mu);
        while (p->head - p->tail == STATS_RING && !p->stop)
            pthread_cond_wait(&p->cv, &p->mu);
        int stop = p->stop;
        pthread_mutex_unlock(&p->mu);
        if (stop)
            break;
        struct pipe_batch *b = &p->b[p->head % STATS_RING];
        int k = mlg_reader_next_batch(p->r, b->ev, STATS_BATCH);
        status = k > 0 ? 1 : k;
        b->n = k > 0 ? k : 0;
        b->offset = mlg_reader_offset(p->r);
        b->status = status;
        if (status < 0)
            p->err = *mlg_reader_error(p->r);
        pthread_mutex_lock(&p->mu);
        p->head++;
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
    }
    return NULL;
}

/* Runs the events of r through s; returns the reader's final status (0 end, < 0 error, 1 when
 * the range ended first). Falls back to a single thread if no thread can be started. */
static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* One "\r" line: events done, percent of the file, events/s. */
static void progress(const struct stats *s, uint64_t offset, uint64_t size, double t0)
{
    double dt = now_s() - t0;
    fprintf(stderr, "\r  %" PRIu64 " events, %.0f%%, %.1fM events/s   ", s->last_index + 1,
            size ? 100.0 * (double)offset / (double)size : 0.0,
            dt > 0 ? (double)(s->last_index + 1) / dt / 1e6 : 0.0);
}

static int run_events(struct stats *s, struct mlg_reader *r)
{
    double t0 = s->o.progress ? now_s() : 0, last = t0;
    uint64_t size = mlg_reader_file_size(r);
    struct pipe p = {.r = r};
    pthread_t th;
    p.b = malloc(STATS_RING * sizeof *p.b);
    pthread_mutex_init(&p.mu, NULL);
    pthread_cond_init(&p.cv, NULL);
    int status = 1;
    if (!p.b || pthread_create(&th, NULL, pipe_reader, &p) != 0) {
        struct mlg_event ev[64];
        int stop = 0;
        while (status > 0 && !stop) {
            int k = mlg_reader_next_batch(r, ev, 64);
            status = k > 0 ? 1 : k;
            stop = stats_events(s, ev, k);
        }
        if (status < 0)
            s->err = *mlg_reader_error(r);
        free(p.b);
        return stop ? 1 : status;
    }
    int stop = 0;
    while (!stop) {
        pthread_mutex_lock(&p.mu);
        while (p.head == p.tail)
            pthread_cond_wait(&p.cv, &p.mu);
        pthread_mutex_unlock(&p.mu);
        struct pipe_batch *b = &p.b[p.tail % STATS_RING];
        stop = stats_events(s, b->ev, b->n);
        status = b->status;
        if (status < 0)
            s->err = p.err;
        if (s->o.progress && now_s() - last >= 1.0 / 6) {
            last = now_s();
            progress(s, b->offset, size, t0);
        }
        if (status <= 0)
            stop = 1;
        pthread_mutex_lock(&p.mu);
        p.tail++;
        if (stop)
            p.stop = 1;
        pthread_cond_broadcast(&p.cv);
        pthread_mutex_unlock(&p.mu);
    }
    pthread_join(th, NULL);
    if (s->o.progress && last != t0)
        fprintf(stderr, "\r%60s\r", "");
    pthread_mutex_destroy(&p.mu);
    pthread_cond_destroy(&p.cv);
    free(p.b);
    return status <= 0 ? status : 1;
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
    if (t) {
        s->end = t->end;
        s->end_status = (uint32_t)t->end_status;
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

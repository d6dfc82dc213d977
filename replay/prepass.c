/* prepass.c - what `mallog replay` learns from a log before starting workers: the event count,
 * the event where live requested bytes peak, the peak of live blocks, the threads, and the
 * anomalies split as mlg_check splits them (unknown frees, double frees). It computes exactly
 * mlg_check's live_bytes, live_blocks, unknown_frees and double_frees, with one map instead of
 * two: an address once allocated stays in it, live or dead. mlg_check's "freed" set is exactly
 * "allocated once and not live now" (no transition leads back to never-allocated), so an
 * allocation is one probe instead of three map operations, a free one instead of two. The map
 * is never shrunk, so it holds what mlg_check's two maps hold together. Runs in the parent,
 * before any worker; its memory is mapped (mem.c) like the rest of replay/'s. */
#include <string.h>

#include "../common/msg.h"
#include "../common/recording.h"
#include "../lib/hash.h"
#include "../lib/heap.h"
#include "replay.h"

/* value: size << 1 | live. A size of 2^63 or more cannot be stored: the caller then falls back
 * to mlg_check (only a damaged log can claim such a block succeeded). */
struct pent {
    uint64_t key, value;
};

struct pmap {
    struct pent *t;
    uint64_t mask, count;
    unsigned shift; /* 64 - log2(mask + 1), for mlg_hash_slot */
    uint64_t live_bytes, live_blocks, unknown_frees, double_frees;
    int too_big; /* a size >= 2^63: the result is not exact, use mlg_check */
    int nomem;
};

/* The entry of key (nonzero), or the empty bucket where it would go. */
static inline struct pent *pfind(const struct pmap *m, uint64_t key)
{
    uint64_t j = mlg_hash_slot(key, m->shift);
    while (m->t[j].key && m->t[j].key != key)
        j = (j + 1) & m->mask;
    return &m->t[j];
}

static int pgrow(struct pmap *m)
{
    uint64_t old_n = m->mask + 1, n = old_n * 2;
    struct pent *t = mem_map(n * sizeof *t, "mallog:prepass"), *ot = m->t;
    if (!t)
        return -1;
    m->t = t;
    m->mask = n - 1;
    m->shift--;
    for (uint64_t i = 0; i < old_n; i++)
        if (ot[i].key)
            *pfind(m, ot[i].key) = ot[i];
    mem_unmap(ot, old_n * sizeof *ot);
    return 0;
}

/* mlg_check's add_block: a live block of size at ptr (a live one there is replaced). */
static void padd(struct pmap *m, uint64_t ptr, uint64_t size)
{
    if (size >> 63) {
        m->too_big = 1;
        return;
    }
    if (ptr) { /* address 0 is never a key: counted live, never found (as in lib's map) */
        struct pent *e = pfind(m, ptr);
        if (!e->key) {
            if ((m->count + 1) * 2 > m->mask + 1) {
                if (pgrow(m) < 0) {
                    m->nomem = 1;
                    return;
                }
                e = pfind(m, ptr);
            }
            e->key = ptr;
            m->count++;
        } else if (e->value & 1) { /* an inversion: the older block goes */
            m->live_bytes -= e->value >> 1;
            m->live_blocks--;
        }
        e->value = size << 1 | 1;
    }
    m->live_blocks++;
    m->live_bytes += size;
}

/* mlg_check's drop_block: a free of ptr. */
static void pdrop(struct pmap *m, uint64_t ptr)
{
    if (!ptr) { /* only in a damaged log: unknown, as the replay counts it */
        m->unknown_frees++;
        return;
    }
    struct pent *e = pfind(m, ptr);
    if (e->key && (e->value & 1)) {
        m->live_blocks--;
        m->live_bytes -= e->value >> 1;
        e->value &= ~1ull;
    } else if (e->key) {
        m->double_frees++;
    } else {
        m->unknown_frees++;
    }
}

/* mlg_check's resize_block: a realloc in place of a live block; unknown otherwise. */
static void presize(struct pmap *m, uint64_t ptr, uint64_t size)
{
    if (size >> 63) {
        m->too_big = 1;
        return;
    }
    struct pent *e = ptr ? pfind(m, ptr) : NULL;
    if (e && e->key && (e->value & 1)) {
        m->live_bytes = m->live_bytes - (e->value >> 1) + size;
        e->value = size << 1 | 1;
    } else {
        m->unknown_frees++;
    }
}

/* mlg_check_event, the parts the pre-pass uses: the same rule (mlg_heap_effects) on this map. */
static inline void pevent(struct pmap *m, const struct mlg_event *ev)
{
    struct mlg_heap_effect e =
        mlg_heap_effects_of(ev->op, ev->outcome, ev->ptr, ev->old_ptr, ev->size);
    if (e.flags & MLG_HEAP_INPLACE) {
        presize(m, e.release, e.size);
        return;
    }
    if (e.flags & MLG_HEAP_RELEASE)
        pdrop(m, e.release);
    if (e.flags & MLG_HEAP_ACQUIRE)
        padd(m, e.acquire, e.size);
}

#define BATCH 32

/* Applies the log's events (all, or those with seq < upto), BATCH at a time, prefetching the
 * buckets they look up. fn (if not NULL) sees each event after it is applied. Returns 0, or a
 * reader error code (*err; the events before the damage were applied). */
static int papply(struct pmap *m, struct mlg_reader *r, uint64_t upto, struct prepass *pp,
                  struct mlg_error *err)
{
    struct mlg_event ev[BATCH];
    int n;
    while ((n = mlg_reader_next_batch(r, ev, BATCH)) > 0) {
        for (int i = 0; i < n; i++) { /* the buckets the batch will probe */
            if (ev[i].ptr)
                __builtin_prefetch(&m->t[mlg_hash_slot(ev[i].ptr, m->shift)]);
            if (ev[i].old_ptr)
                __builtin_prefetch(&m->t[mlg_hash_slot(ev[i].old_ptr, m->shift)]);
        }
        for (int i = 0; i < n; i++) {
            if (ev[i].seq >= upto)
                return 0;
            pevent(m, &ev[i]);
            if (!pp)
                continue;
            if (m->live_bytes > pp->peak_bytes) {
                pp->peak_bytes = m->live_bytes;
                pp->peak_event = ev[i].index;
            }
            if (m->live_blocks > pp->peak_blocks)
                pp->peak_blocks = m->live_blocks;
            if (ev[i].thread >= pp->threads)
                pp->threads = ev[i].thread + 1;
            pp->events = ev[i].index + 1;
        }
    }
    if (n < 0) {
        *err = *mlg_reader_error(r);
        return err->code ? err->code : MLG_E_IO;
    }
    return 0;
}

/* One fork ancestor's live blocks at the fork point, into the map (rec_fork_chain's callback). */
static void pseed_one(void *ctx, const char *parent, uint64_t upto)
{
    struct pmap *m = ctx;
    struct mlg_reader *r;
    struct mlg_error err;
    if (mlg_reader_open(&r, parent, mem_allocator(), &err) != 0)
        return;
    papply(m, r, upto, NULL, &err);
    mlg_reader_close(r);
    m->unknown_frees = m->double_frees = 0; /* the parent's own anomalies are its report */
}

int prepass_run(const char *path, struct prepass *pp, struct mlg_error *err)
{
    struct pmap m = {0};
    struct mlg_reader *r;
    int rc;
    memset(pp, 0, sizeof *pp);
    if ((rc = mlg_reader_open(&r, path, mem_allocator(), err)) != 0)
        return rc;
    m.mask = 4095;
    m.shift = 64 - 12;
    if (!(m.t = mem_map((m.mask + 1) * sizeof *m.t, "mallog:prepass"))) {
        mlg_reader_close(r);
        err->code = MLG_E_NOMEM;
        return MLG_E_NOMEM;
    }
    struct mlg_header h = *mlg_reader_header(r);
    rec_fork_chain(path, &h, mem_allocator(), pseed_one, &m);
    if (papply(&m, r, UINT64_MAX, pp, &pp->err) != 0)
        pp->damaged = 1;
    pp->in_progress = !pp->damaged && !mlg_reader_trailer(r) && mlg_reader_in_progress(r);
    pp->pid = h.pid;
    mlg_reader_close(r);
    mem_unmap(m.t, (m.mask + 1) * sizeof *m.t);
    pp->unknown_frees = m.unknown_frees;
    pp->double_frees = m.double_frees;
    return m.nomem || m.too_big ? -1 : 0; /* -1: not exact, the caller uses mlg_check */
}

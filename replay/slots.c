/* slots.c - the slot table: recorded address -> the block this replay allocated for it, with
 * its requested size, slop (usable - requested), allocating event and thread (so a hole can name
 * what pins it). An open-addressing table (linear probing, backward-shift delete) of live addresses
 * points into a dense slot array. It is replay/'s own rather than mlg_addrmap because the engine
 * prefetches buckets and slots of events it has decoded ahead: two dependent cache misses per
 * event were most of the replayer's cost. All memory is mapped (mem.c). Freed addresses are
 * not kept: the pre-pass (mlg_check) tells double frees from unknown ones. */
#include <string.h>

#include "replay.h"

static inline uint64_t hash(uint64_t k)
{
    k ^= k >> 29;
    k *= 0xbf58476d1ce4e5b9ull;
    k ^= k >> 32;
    return k;
}

int slots_init(struct slots *s)
{
    memset(s, 0, sizeof *s);
    s->mask = 4095;
    s->tab = mem_map((s->mask + 1) * sizeof *s->tab, "mallog:slots");
    s->cap = 4096;
    s->v = mem_map(s->cap * sizeof *s->v, "mallog:slots");
    if (!s->tab || !s->v) {
        slots_fini(s);
        return -1;
    }
    return 0;
}

void slots_fini(struct slots *s)
{
    if (s->tab)
        mem_unmap(s->tab, (s->mask + 1) * sizeof *s->tab);
    if (s->v)
        mem_unmap(s->v, s->cap * sizeof *s->v);
    memset(s, 0, sizeof *s);
}

int64_t slots_find(const struct slots *s, uint64_t rec_ptr)
{
    uint64_t j = hash(rec_ptr) & s->mask;
    while (s->tab[j][0]) {
        if (s->tab[j][0] == rec_ptr)
            return (int64_t)s->tab[j][1];
        j = (j + 1) & s->mask;
    }
    return SLOTS_UNKNOWN;
}

void slots_prefetch_bucket(const struct slots *s, uint64_t rec_ptr)
{
    __builtin_prefetch(&s->tab[hash(rec_ptr) & s->mask]);
}

void slots_prefetch_slot(const struct slots *s, uint64_t rec_ptr)
{
    int64_t i = slots_find(s, rec_ptr);
    if (i >= 0)
        __builtin_prefetch(&s->v[i]);
}

void slots_prefetch_block(const struct slots *s, uint64_t rec_ptr)
{
    int64_t i = slots_find(s, rec_ptr);
    if (i >= 0 && s->v[i].ptr >= 16)
        __builtin_prefetch((const char *)s->v[i].ptr - 16);
}

static int grow_table(struct slots *s)
{
    uint64_t old_n = s->mask + 1, n = old_n * 2;
    uint64_t(*t)[2] = mem_map(n * sizeof *t, "mallog:slots"), (*old)[2] = s->tab;
    if (!t)
        return -1;
    s->tab = t;
    s->mask = n - 1;
    for (uint64_t i = 0; i < old_n; i++) {
        if (!old[i][0])
            continue;
        uint64_t j = hash(old[i][0]) & s->mask;
        while (t[j][0])
            j = (j + 1) & s->mask;
        t[j][0] = old[i][0];
        t[j][1] = old[i][1];
    }
    mem_unmap(old, old_n * sizeof *old);
    return 0;
}

int64_t slots_add(struct slots *s, uint64_t rec_ptr, uint64_t ptr, uint64_t size, uint64_t usable,
                  uint64_t event, uint32_t thread)
{
    if ((s->count + 1) * 2 > s->mask + 1 && grow_table(s) < 0)
        return -1;
    uint64_t idx;
    if (s->free_head) {
        idx = s->free_head - 1;
        s->free_head = s->v[idx].ptr; /* free slots chain through .ptr */
    } else {
        if (s->n == s->cap) {
            struct slot *v = mem_remap(s->v, s->cap * sizeof *v, 2 * s->cap * sizeof *v);
            if (!v)
                return -1;
            s->v = v;
            s->cap *= 2;
        }
        idx = s->n++;
    }
    uint64_t j = hash(rec_ptr) & s->mask;
    while (s->tab[j][0]) /* callers remove a live key first: it is never present here */
        j = (j + 1) & s->mask;
    s->tab[j][0] = rec_ptr;
    s->tab[j][1] = idx;
    s->count++;
    uint64_t slop = usable > size ? usable - size : 0;
    if (slop > UINT32_MAX - 1)
        slop = UINT32_MAX - 1;
    s->v[idx] = (struct slot){ptr, size, event, (uint32_t)slop, thread == SLOT_DEAD ? 0 : thread};
    s->live_blocks++;
    s->live_bytes += size;
    s->live_usable += size + slop;
    return (int64_t)idx;
}

void slots_remove(struct slots *s, int64_t idx, uint64_t rec_ptr)
{
    struct slot *sl = &s->v[idx];
    s->live_blocks--;
    s->live_bytes -= sl->size;
    s->live_usable -= sl->size + sl->slop;
    sl->thread = SLOT_DEAD;
    sl->ptr = s->free_head;
    s->free_head = (uint64_t)idx + 1;
    uint64_t j = hash(rec_ptr) & s->mask;
    while (s->tab[j][0] != rec_ptr) {
        if (!s->tab[j][0])
            return;
        j = (j + 1) & s->mask;
    }
    /* backward shift: pull later entries of the cluster into the gap when their home allows */
    for (;;) {
        s->tab[j][0] = 0;
        uint64_t k = j;
        for (;;) {
            k = (k + 1) & s->mask;
            if (!s->tab[k][0]) {
                s->count--;
                return;
            }
            uint64_t home = hash(s->tab[k][0]) & s->mask;
            /* k's entry may move to j if its home is not in (j, k] cyclically */
            if (j <= k ? (home <= j || home > k) : (home <= j && home > k))
                break;
        }
        s->tab[j][0] = s->tab[k][0];
        s->tab[j][1] = s->tab[k][1];
        j = k;
    }
}

void slots_resize(struct slots *s, int64_t idx, uint64_t size, uint64_t usable)
{
    struct slot *sl = &s->v[idx];
    uint64_t slop = usable > size ? usable - size : 0;
    if (slop > UINT32_MAX - 1)
        slop = UINT32_MAX - 1;
    s->live_bytes = s->live_bytes - sl->size + size;
    s->live_usable = s->live_usable - (sl->size + sl->slop) + size + slop;
    sl->size = size;
    sl->slop = (uint32_t)slop;
}

/* slots.c - the slot table, the decoder's side of the replay: recorded address -> a dense slot
 * index, and per slot what a hole names about the block (requested size, allocating event,
 * thread, call site, usable size once asked). An open-addressing table (linear probing,
 * backward-shift delete) of live addresses points into the record array. Freed slots are
 * reused, newest first, so the replaying side's pointer array stays as small as the live set.
 * The records are in a memfd (MAP_SHARED) so the replaying process reads them at samples while
 * a forked decoder writes them; the table is private. All memory is mapped (mem.c). Freed
 * addresses are not kept: the pre-pass (mlg_check) tells double frees from unknown ones. */
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

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
    s->fd = -1;
    s->mask = 4095;
    s->keys = mem_map((s->mask + 1) * sizeof *s->keys, "mallog:slots");
    s->vals = mem_map((s->mask + 1) * sizeof *s->vals, "mallog:slots");
    s->cap = 4096;
    s->fd = memfd_create("mallog:slots", MFD_CLOEXEC);
    if (s->fd >= 0 && ftruncate(s->fd, (off_t)(s->cap * sizeof *s->v)) == 0)
        s->v = mem_map_shared(s->fd, s->cap * sizeof *s->v, "mallog:slots");
    if (!s->keys || !s->vals || !s->v) {
        slots_fini(s);
        return -1;
    }
    return 0;
}

void slots_fini(struct slots *s)
{
    if (s->keys)
        mem_unmap(s->keys, (s->mask + 1) * sizeof *s->keys);
    if (s->vals)
        mem_unmap(s->vals, (s->mask + 1) * sizeof *s->vals);
    if (s->v)
        mem_unmap(s->v, s->cap * sizeof *s->v);
    if (s->fd >= 0)
        close(s->fd);
    memset(s, 0, sizeof *s);
    s->fd = -1;
}

int64_t slots_find_bucket(const struct slots *s, uint64_t rec_ptr, uint64_t *bucket)
{
    uint64_t j = hash(rec_ptr) & s->mask, k;
    while ((k = s->keys[j]) != 0) {
        if (k == rec_ptr) {
            *bucket = j;
            return (int64_t)s->vals[j];
        }
        j = (j + 1) & s->mask;
    }
    *bucket = j;
    return SLOTS_UNKNOWN;
}

int64_t slots_find(const struct slots *s, uint64_t rec_ptr)
{
    uint64_t j;
    return slots_find_bucket(s, rec_ptr, &j);
}

void slots_prefetch_bucket(const struct slots *s, uint64_t rec_ptr)
{
    uint64_t j = hash(rec_ptr) & s->mask;
    __builtin_prefetch(&s->keys[j]);
    __builtin_prefetch(&s->vals[j]);
}

void slots_prefetch_slot(const struct slots *s, uint64_t rec_ptr)
{
    uint64_t j;
    int64_t i = slots_find_bucket(s, rec_ptr, &j);
    if (i >= 0)
        __builtin_prefetch(&s->v[i], 1);
}

/* Load at most 1/2: probes and backward shifts stay short (measured: 3/4 made the decoder 17%
 * slower on churn, 1/4 gained nothing). */
static int grow_table(struct slots *s)
{
    uint64_t old_n = s->mask + 1, n = old_n * 2;
    uint64_t *k = mem_map(n * sizeof *k, "mallog:slots"), *ok = s->keys;
    uint32_t *v = mem_map(n * sizeof *v, "mallog:slots"), *ov = s->vals;
    if (!k || !v) {
        mem_unmap(k, n * sizeof *k);
        mem_unmap(v, n * sizeof *v);
        return -1;
    }
    s->keys = k;
    s->vals = v;
    s->mask = n - 1;
    for (uint64_t i = 0; i < old_n; i++) {
        if (!ok[i])
            continue;
        uint64_t j = hash(ok[i]) & s->mask;
        while (k[j])
            j = (j + 1) & s->mask;
        k[j] = ok[i];
        v[j] = ov[i];
    }
    mem_unmap(ok, old_n * sizeof *ok);
    mem_unmap(ov, old_n * sizeof *ov);
    return 0;
}

/* Doubles the records: the file first (the other side maps it later, on TAPE_GROW), then our
 * view of it. */
static int grow_records(struct slots *s)
{
    size_t old_len = s->cap * sizeof *s->v, len = 2 * old_len;
    if (s->cap >= UINT32_MAX || ftruncate(s->fd, (off_t)len) != 0)
        return -1;
    struct slot *v = mem_remap(s->v, old_len, len);
    if (!v)
        return -1;
    s->v = v;
    s->cap *= 2;
    return 0;
}

int64_t slots_add_at(struct slots *s, uint64_t bucket, uint64_t rec_ptr, uint64_t size,
                     uint64_t event, uint32_t thread, uint32_t stack)
{
    if ((s->count + 1) * 2 > s->mask + 1) {
        if (grow_table(s) < 0)
            return -1;
        slots_find_bucket(s, rec_ptr, &bucket);
    }
    uint64_t idx;
    if (s->free_head) {
        idx = s->free_head - 1;
        s->free_head = s->v[idx].event; /* free slots chain through .event */
    } else {
        if (s->n == s->cap && grow_records(s) < 0)
            return -1;
        idx = s->n++;
    }
    s->keys[bucket] = rec_ptr;
    s->vals[bucket] = (uint32_t)idx;
    s->count++;
    s->v[idx] = (struct slot){size, event, SLOT_UNASKED, thread == SLOT_DEAD ? 0 : thread, stack};
    s->live_blocks++;
    return (int64_t)idx;
}

int64_t slots_add(struct slots *s, uint64_t rec_ptr, uint64_t size, uint64_t event,
                  uint32_t thread, uint32_t stack)
{
    uint64_t j;
    slots_find_bucket(s, rec_ptr, &j); /* callers remove a live key first: j is empty */
    return slots_add_at(s, j, rec_ptr, size, event, thread, stack);
}

void slots_remove_at(struct slots *s, int64_t idx, uint64_t j)
{
    /* only writes the record (a store does not wait for its cache line; a load would) */
    struct slot *sl = &s->v[idx];
    s->live_blocks--;
    sl->thread = SLOT_DEAD;
    sl->event = s->free_head;
    s->free_head = (uint64_t)idx + 1;
    /* backward shift: pull later entries of the cluster into the gap when their home allows */
    for (;;) {
        s->keys[j] = 0;
        uint64_t k = j;
        for (;;) {
            k = (k + 1) & s->mask;
            if (!s->keys[k]) {
                s->count--;
                return;
            }
            uint64_t home = hash(s->keys[k]) & s->mask;
            /* k's entry may move to j if its home is not in (j, k] cyclically */
            if (j <= k ? (home <= j || home > k) : (home <= j && home > k))
                break;
        }
        s->keys[j] = s->keys[k];
        s->vals[j] = s->vals[k];
        j = k;
    }
}

void slots_remove(struct slots *s, int64_t idx, uint64_t rec_ptr)
{
    uint64_t j;
    if (slots_find_bucket(s, rec_ptr, &j) == idx)
        slots_remove_at(s, idx, j);
}

void slots_resize(struct slots *s, int64_t idx, uint64_t size, uint64_t event)
{
    struct slot *sl = &s->v[idx];
    sl->size = size;
    sl->event = event;
    sl->usable = SLOT_UNASKED;
}

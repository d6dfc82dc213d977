/* slots.c - the slot table, the decoder's side of the replay: recorded address -> a dense slot
 * index, and per slot what a hole names about the block (requested size, allocating event,
 * thread, call site, usable size once asked). An open-addressing table (linear probing,
 * backward-shift delete; key, slot and hash in one 16-byte bucket) of live addresses points into
 * the record array. Freed slots are reused, newest first (a stack of indexes: freeing writes
 * one word of the record, reusing reads none), so the replaying side's pointer array stays as
 * small as the live set. The hot paths (find, add, remove) are inline in replay.h.
 * The records are in a memfd (MAP_SHARED) so the replaying process reads them at samples while
 * a forked decoder writes them; the table is private. All memory is mapped (mem.c). Freed
 * addresses are not kept: the pre-pass (mlg_check) tells double frees from unknown ones. */
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "replay.h"

int slots_init(struct slots *s)
{
    memset(s, 0, sizeof *s);
    s->fd = -1;
    s->mask = 4095;
    s->t = mem_map((s->mask + 1) * sizeof *s->t, "mallog:slots");
    s->cap = 4096;
    s->free = mem_map(s->cap * sizeof *s->free, "mallog:slots");
    s->fd = memfd_create("mallog:slots", MFD_CLOEXEC);
    if (s->fd >= 0 && ftruncate(s->fd, (off_t)(s->cap * sizeof *s->v)) == 0)
        s->v = mem_map_shared(s->fd, s->cap * sizeof *s->v, "mallog:slots");
    if (!s->t || !s->free || !s->v) {
        slots_fini(s);
        return -1;
    }
    return 0;
}

void slots_fini(struct slots *s)
{
    if (s->t)
        mem_unmap(s->t, (s->mask + 1) * sizeof *s->t);
    if (s->v)
        mem_unmap(s->v, s->cap * sizeof *s->v);
    if (s->free)
        mem_unmap(s->free, s->cap * sizeof *s->free);
    if (s->fd >= 0)
        close(s->fd);
    memset(s, 0, sizeof *s);
    s->fd = -1;
}

int64_t slots_find(const struct slots *s, uint64_t rec_ptr)
{
    uint64_t j;
    return slots_find_bucket(s, rec_ptr, &j);
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
    struct slot_ent *t = mem_map(n * sizeof *t, "mallog:slots"), *ot = s->t;
    if (!t)
        return -1;
    s->t = t;
    s->mask = n - 1;
    for (uint64_t i = 0; i < old_n; i++) {
        if (!ot[i].key)
            continue;
        uint64_t j = ot[i].hash & s->mask;
        while (t[j].key)
            j = (j + 1) & s->mask;
        t[j] = ot[i];
    }
    mem_unmap(ot, old_n * sizeof *ot);
    return 0;
}

/* Doubles the records: the file first (the other side maps it later, on TAPE_GROW), then our
 * view of it, and the stack of free indexes. */
static int grow_records(struct slots *s)
{
    size_t old_len = s->cap * sizeof *s->v, len = 2 * old_len;
    if (s->cap >= UINT32_MAX || ftruncate(s->fd, (off_t)len) != 0)
        return -1;
    uint32_t *f = mem_remap(s->free, s->cap * sizeof *f, 2 * s->cap * sizeof *f);
    if (!f)
        return -1;
    s->free = f;
    struct slot *v = mem_remap(s->v, old_len, len);
    if (!v)
        return -1;
    s->v = v;
    s->cap *= 2;
    return 0;
}

int64_t slots_add_grow(struct slots *s, uint64_t rec_ptr, uint64_t size, uint64_t event,
                       uint32_t thread, uint32_t stack)
{
    uint64_t bucket;
    if ((s->count + 1) * 2 > s->mask + 1 && grow_table(s) < 0)
        return -1;
    if (!s->nfree && s->n == s->cap && grow_records(s) < 0)
        return -1;
    slots_find_bucket(s, rec_ptr, &bucket);
    return slots_add_at(s, bucket, rec_ptr, size, event, thread, stack);
}

int64_t slots_add(struct slots *s, uint64_t rec_ptr, uint64_t size, uint64_t event,
                  uint32_t thread, uint32_t stack)
{
    uint64_t j;
    slots_find_bucket(s, rec_ptr, &j); /* callers remove a live key first: j is empty */
    return slots_add_at(s, j, rec_ptr, size, event, thread, stack);
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

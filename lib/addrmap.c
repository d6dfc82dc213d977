/* addrmap.c - address -> value hash map: open addressing, linear probing, backward-shift delete.
 * Memory is proportional to the live entries; allocation goes through the caller's allocator. */
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "mallog.h"

struct slot {
    uint64_t key; /* 0 = empty (a NULL pointer is never stored) */
    uint64_t value;
};

struct mlg_addrmap {
    struct mlg_allocator alloc;
    struct slot *slots;
    uint64_t mask, count;
    unsigned shift; /* 64 - log2(mask + 1), for mlg_hash_slot */
};

static void *std_alloc(void *ctx, size_t n)
{
    (void)ctx;
    return calloc(1, n);
}

static void std_free(void *ctx, void *p, size_t n)
{
    (void)ctx;
    (void)n;
    free(p);
}

static struct slot *alloc_slots(struct mlg_addrmap *m, uint64_t n)
{
    struct slot *s = m->alloc.alloc(m->alloc.ctx, n * sizeof *s);
    if (s)
        memset(s, 0, n * sizeof *s);
    return s;
}

struct mlg_addrmap *mlg_addrmap_new(const struct mlg_allocator *alloc)
{
    struct mlg_allocator a = alloc ? *alloc : (struct mlg_allocator){std_alloc, std_free, NULL};
    struct mlg_addrmap *m = a.alloc(a.ctx, sizeof *m);
    if (!m)
        return NULL;
    memset(m, 0, sizeof *m);
    m->alloc = a;
    m->mask = 1023;
    m->shift = 64 - 10;
    m->slots = alloc_slots(m, m->mask + 1);
    if (!m->slots) {
        a.free(a.ctx, m, sizeof *m);
        return NULL;
    }
    return m;
}

void mlg_addrmap_free(struct mlg_addrmap *m)
{
    if (!m)
        return;
    m->alloc.free(m->alloc.ctx, m->slots, (m->mask + 1) * sizeof *m->slots);
    m->alloc.free(m->alloc.ctx, m, sizeof *m);
}

static int grow(struct mlg_addrmap *m)
{
    uint64_t old_n = m->mask + 1, n = old_n * 2;
    struct slot *s = alloc_slots(m, n), *old = m->slots;
    if (!s)
        return -1;
    m->slots = s;
    m->mask = n - 1;
    m->shift--;
    for (uint64_t i = 0; i < old_n; i++) {
        if (!old[i].key)
            continue;
        uint64_t j = mlg_hash_slot(old[i].key, m->shift);
        while (s[j].key)
            j = (j + 1) & m->mask;
        s[j] = old[i];
    }
    m->alloc.free(m->alloc.ctx, old, old_n * sizeof *old);
    return 0;
}

int mlg_addrmap_put(struct mlg_addrmap *m, uint64_t key, uint64_t value)
{
    if ((m->count + 1) * 4 > (m->mask + 1) * 3 && grow(m) != 0)
        return -1;
    uint64_t j = mlg_hash_slot(key, m->shift);
    while (m->slots[j].key) {
        if (m->slots[j].key == key) {
            m->slots[j].value = value;
            return 0;
        }
        j = (j + 1) & m->mask;
    }
    m->slots[j].key = key;
    m->slots[j].value = value;
    m->count++;
    return 1;
}

int mlg_addrmap_get(const struct mlg_addrmap *m, uint64_t key, uint64_t *value)
{
    uint64_t j = mlg_hash_slot(key, m->shift);
    while (m->slots[j].key) {
        if (m->slots[j].key == key) {
            if (value)
                *value = m->slots[j].value;
            return 1;
        }
        j = (j + 1) & m->mask;
    }
    return 0;
}

int mlg_addrmap_del(struct mlg_addrmap *m, uint64_t key, uint64_t *value)
{
    uint64_t j = mlg_hash_slot(key, m->shift);
    while (m->slots[j].key != key) {
        if (!m->slots[j].key)
            return 0;
        j = (j + 1) & m->mask;
    }
    if (value)
        *value = m->slots[j].value;
    mlg_hash_delete(m->slots, sizeof *m->slots, m->mask, m->shift, j);
    m->count--;
    return 1;
}

uint64_t mlg_addrmap_count(const struct mlg_addrmap *m)
{
    return m->count;
}

void mlg_addrmap_each(const struct mlg_addrmap *m, void (*fn)(void *ctx, uint64_t k, uint64_t v),
                      void *ctx)
{
    for (uint64_t i = 0; i <= m->mask; i++)
        if (m->slots[i].key)
            fn(ctx, m->slots[i].key, m->slots[i].value);
}

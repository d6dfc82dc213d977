/* hash.h - the one address hash and the one backward-shift delete of every open-addressing table
 * keyed by a block address: lib/addrmap.c, replay/prepass.c, analyze/stats.c (replay/replay.h's
 * slot table keeps its own copy until the threaded replay is rewritten). Header-only because the
 * probe is the hot loop of each table and must inline. A table has 2^bits entries whose first
 * member is the uint64_t key; key 0 marks an empty entry (a NULL pointer is never a block). */
#ifndef MLG_HASH_H
#define MLG_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* The home entry of key in a table of 2^(64 - shift) entries. Fibonacci hashing: the high bits of
 * the product mix a 16-aligned address well, in one multiply. */
static inline uint64_t mlg_hash_slot(uint64_t key, unsigned shift)
{
    return (key * 0x9e3779b97f4a7c15ull) >> shift;
}

/* Empties entry i of a table of mask + 1 entries of `size` bytes each and pulls the later entries
 * of its cluster back into the hole where their home allows, so a probe may stop at the first
 * empty entry (no tombstones). Returns the index of the entry left empty: its key is 0, the rest
 * of it is stale (the caller clears what it needs to). always_inline: size is a constant at every
 * call, and the copies become plain moves. */
static inline __attribute__((always_inline)) uint64_t
mlg_hash_delete(void *table, size_t size, uint64_t mask, unsigned shift, uint64_t i)
{
    char *t = table;
    for (uint64_t j = i;;) {
        uint64_t key;
        j = (j + 1) & mask;
        memcpy(&key, t + j * size, sizeof key);
        if (!key)
            break;
        /* j moves back into the hole at i unless its home lies cyclically in (i, j] */
        if (((j - mlg_hash_slot(key, shift)) & mask) >= ((j - i) & mask)) {
            memcpy(t + i * size, t + j * size, size);
            i = j;
        }
    }
    memset(t + i * size, 0, sizeof(uint64_t));
    return i;
}

#endif

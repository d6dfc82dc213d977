/* varint.h - LEB128 varints and zigzag, shared by the spool and log codecs.
 * Header-only so the recorder's hot path inlines them; no allocation, no state. */
#ifndef MLG_VARINT_H
#define MLG_VARINT_H

#include <stddef.h>
#include <stdint.h>

#define MLG_VARINT_MAX 10

static inline uint64_t mlg_zigzag(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static inline int64_t mlg_unzigzag(uint64_t v)
{
    return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

/* Writes v at p (at most 10 bytes); returns the new end. */
static inline __attribute__((always_inline)) uint8_t *mlg_varint_put(uint8_t *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    return p;
}

/* Reads a varint from [p, end). Returns the new position, or NULL if the input ends inside the
 * varint or it is longer than 10 bytes (corrupt). */
static inline const uint8_t *mlg_varint_get(const uint8_t *p, const uint8_t *end, uint64_t *out)
{
    if (p < end && *p < 0x80) {
        *out = *p;
        return p + 1;
    }
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 70; shift += 7) {
        if (p >= end)
            return NULL;
        uint8_t b = *p++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (b < 0x80) {
            *out = v;
            return p;
        }
    }
    return NULL;
}

#endif

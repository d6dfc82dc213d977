/* varint.h - LEB128 varints and zigzag, shared by the spool and log codecs.
 * Header-only so the recorder's hot path inlines them; no allocation, no state. */
#ifndef MLG_VARINT_H
#define MLG_VARINT_H

#include <stddef.h>
#include <stdint.h>

#define MLG_VARINT_MAX 10
#define MLG_VARINT_PAD 16 /* readable bytes past the end that mlg_varint_get_padded needs */

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

/* The same as mlg_varint_get, for a buffer followed by at least 8 readable bytes (the reader pads
 * its frame buffer): one unaligned load and no loop for the varints of up to 8 bytes, which is
 * every varint of a log but the largest pointer deltas. Bytes past end are read but never used:
 * a varint that runs past end is corrupt, exactly as above. */
static inline const uint8_t *mlg_varint_get_padded(const uint8_t *p, const uint8_t *end,
                                                   uint64_t *out)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint64_t x;
    __builtin_memcpy(&x, p, 8);
    /* no branch on the length: lengths of 1, 2 and 3 bytes mix at random in a log */
    uint64_t stops = ~x & 0x8080808080808080ull;
    if (__builtin_expect(!stops, 0)) /* 9 or 10 bytes */
        return mlg_varint_get(p, end, out);
    unsigned len = ((unsigned)__builtin_ctzll(stops) >> 3) + 1;
    if (__builtin_expect(len > (size_t)(end - p), 0))
        return NULL;
    /* keep the len bytes, drop the continuation bits, then squeeze the 7-bit groups together */
    x &= (stops ^ (stops - 1)) & 0x7f7f7f7f7f7f7f7full;
    x = ((x & 0x7f007f007f007f00ull) >> 1) | (x & 0x007f007f007f007full);
    x = ((x & 0x3fff00003fff0000ull) >> 2) | (x & 0x00003fff00003fffull);
    x = ((x & 0x0fffffff00000000ull) >> 4) | (x & 0x000000000fffffffull);
    *out = x;
    return p + len;
#else
    return mlg_varint_get(p, end, out);
#endif
}

#endif

/* codec.h - the event encoding inside a log frame (docs/FORMAT.md, "Events").
 *
 * Events are modelled before zstd sees them: the sequence number is implicit unless it jumps, the
 * thread is written only when it changes, the outcome only when it is not the obvious one, and
 * pointers are coded as a reference to one of the last 16 pointers seen (glibc's tcache hands back
 * the block just freed; a temporary is freed right after it was allocated) or else as a delta from
 * the previous pointer. The recent-pointer list is a ring: decoding is an index, not a search.
 * State resets at each frame so frames decode independently.
 */
#ifndef MLG_CODEC_H
#define MLG_CODEC_H

#include <string.h>
#include "fields.h"
#include "varint.h"

#define MLG_TAG_THREAD 0x20
#define MLG_TAG_GAP 0x40
#define MLG_TAG_OUTCOME 0x80
#define MLG_TAG_OP 0x1f
#define MLG_MRU 16
#define MLG_EVENT_MAX 112 /* largest encoded event, bytes (clock + stack + event) */

struct mlg_codec {
    uint64_t prev_seq;
    uint64_t last_ptr;
    uint64_t time_ns;
    uint32_t thread;
    uint32_t ring_head;   /* next slot to write; the newest pointer is at ring_head - 1 */
    uint64_t ring[MLG_MRU];
    /* Encoder only: where each recent pointer was last pushed, so a hit costs one probe, not a
     * scan. A collision only turns a possible hit into a delta; the decoder never needs this. */
    struct {
        uint64_t ptr;
        uint32_t pos;
    } where[256];
};

static inline void mlg_codec_reset(struct mlg_codec *c, uint64_t first_seq, uint64_t time_ns)
{
    memset(c, 0, sizeof *c);
    c->prev_seq = first_seq - 1;
    c->thread = UINT32_MAX;
    c->time_ns = time_ns;
}

static inline void mlg_ring_push(struct mlg_codec *c, uint64_t v)
{
    c->ring[c->ring_head++ & (MLG_MRU - 1)] = v;
}

static inline unsigned mlg_where_slot(uint64_t v)
{
    return (unsigned)((v * 0x9E3779B97F4A7C15ull) >> 56);
}

static inline uint8_t *mlg_codec_put_ptr(struct mlg_codec *c, uint8_t *p, uint64_t v)
{
    if (v == 0)
        return mlg_varint_put(p, 0);
    unsigned slot = mlg_where_slot(v);
    uint64_t seen = c->where[slot].ptr;
    uint32_t age = c->ring_head - c->where[slot].pos;
    c->where[slot].ptr = v;
    c->where[slot].pos = c->ring_head;
    if (seen == v && age >= 1 && age <= MLG_MRU &&
        c->ring[(c->ring_head - age) & (MLG_MRU - 1)] == v) {
        mlg_ring_push(c, v);
        c->last_ptr = v;
        return mlg_varint_put(p, age);
    }
    /* allocators hand out 16-byte aligned blocks: code such deltas in units of 16 */
    int64_t delta = (int64_t)(v - c->last_ptr);
    uint64_t d = (delta & 15) == 0 ? mlg_zigzag(delta >> 4) << 1 : mlg_zigzag(delta) << 1 | 1;
    mlg_ring_push(c, v);
    c->last_ptr = v;
    return mlg_varint_put(p, MLG_MRU + 1 + d);
}

/* A varint of a frame: padded = the buffer has MLG_VARINT_PAD readable bytes past end (a constant
 * at every call, so each decoder below is compiled for one case). */
static inline __attribute__((always_inline)) const uint8_t *
mlg_codec_varint(const uint8_t *p, const uint8_t *end, uint64_t *out, int padded)
{
    return padded ? mlg_varint_get_padded(p, end, out) : mlg_varint_get(p, end, out);
}

/* The pointer a pointer code v stands for (0 for 0), pushed on the ring: a ring hit or a delta,
 * both read, one kept (which one is data, not a pattern a branch predictor learns). On the
 * caller's variables, so that a decoding loop can keep them in registers. */
static inline __attribute__((always_inline)) uint64_t
mlg_codec_resolve_ptr(uint64_t *ring, uint32_t *ring_head, uint64_t *last_ptr, uint64_t v)
{
    if (__builtin_expect(v == 0, 0))
        return 0;
    uint64_t hit = ring[(*ring_head - (uint32_t)v) & (MLG_MRU - 1)];
    uint64_t w = v - MLG_MRU - 1;
    uint64_t d = (uint64_t)mlg_unzigzag(w >> 1);
    uint64_t delta = *last_ptr + (d << (~w << 2 & 4)); /* w odd: bytes, even: 16s */
    uint64_t ptr = delta ^ ((delta ^ hit) & -(uint64_t)(v <= MLG_MRU));
    ring[(*ring_head)++ & (MLG_MRU - 1)] = ptr;
    *last_ptr = ptr;
    return ptr;
}

static inline __attribute__((always_inline)) const uint8_t *
mlg_codec_get_ptr_(struct mlg_codec *c, const uint8_t *p, const uint8_t *end, uint64_t *out,
                   int padded)
{
    uint64_t v;
    p = mlg_codec_varint(p, end, &v, padded);
    if (!p)
        return NULL;
    *out = mlg_codec_resolve_ptr(c->ring, &c->ring_head, &c->last_ptr, v);
    return p;
}

/* A plain event: a malloc or a free of the current thread with nothing unusual (no thread, gap or
 * outcome in its tag), each varint at most 4 bytes - nearly every event of a log. It is decoded
 * without a branch on which of the two it is (a log mixes them at random: such a branch
 * mispredicts every other event), and its length comes from one 8-byte load, so the chain from an
 * event's position to the next one's is a load and a few bit operations, not two varint decodes.
 * Returns the position after the event with *op, *size (0 for a free) and *ptr, or NULL if the
 * event at p is not a plain one (the general decoder then takes it, and finds any damage). The
 * buffer needs MLG_VARINT_PAD readable bytes past end; the codec state is unchanged on NULL.
 * The state is c's ring with its other fields in the caller's variables (registers in a loop:
 * gcc keeps a struct with an indexed array in memory, every field of it). */
static inline __attribute__((always_inline)) const uint8_t *
mlg_codec_get_plain(uint64_t *ring, uint32_t *ring_head, uint64_t *last_ptr, uint64_t *prev_seq,
                    const uint8_t *p, const uint8_t *end, unsigned *op, uint64_t *size,
                    uint64_t *ptr)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    unsigned t = p[0];
    uint64_t x;
    __builtin_memcpy(&x, p + 1, 8);
    /* Selections are masks (m = all ones for a malloc), not ?:, which gcc turns into branches. */
    uint64_t m = -(uint64_t)(t == MLG_OP_MALLOC);
    uint64_t stops = ~x & 0x8080808080808080ull; /* the last byte of each varint */
    uint64_t stops2 = stops & (stops - 1);       /* from the second varint on */
    /* a malloc is size then pointer, a free the pointer alone: either way the event ends with
     * its last varint */
    uint64_t last = stops ^ ((stops ^ stops2) & m);
    size_t len = ((unsigned)__builtin_ctzll(last | 1ull << 63) >> 3) + 2; /* tag + varints */
    if (__builtin_expect(((t == MLG_OP_MALLOC) | (t == MLG_OP_FREE)) == 0 || last == 0 ||
                             len > (size_t)(end - p),
                         0))
        return NULL;
    uint64_t first = (stops ^ (stops - 1)) & 0x7f7f7f7f7f7f7f7full; /* the first varint's bits */
    unsigned shift = ((unsigned)__builtin_ctzll(stops) + 1) & 63;   /* bits of the first varint */
    /* the pointer code: the second varint of a malloc, moved down; the first of a free */
    uint64_t second = ((x & (stops2 ^ (stops2 - 1)) & 0x7f7f7f7f7f7f7f7full) & ~first) >> shift;
    uint64_t v0 = x & first;
    /* The size in the low half, the pointer code in the high half, both squeezed at once (the
     * steps of mlg_varint_squeeze that stay within 32 bits): so each must be at most 4 bytes. */
    uint64_t lo = v0 & m, hi = v0 ^ ((v0 ^ second) & m);
    if (__builtin_expect((lo | hi) >> 32 != 0, 0))
        return NULL;
    uint64_t y = lo | hi << 32;
    y = ((y & 0x7f007f007f007f00ull) >> 1) | (y & 0x007f007f007f007full);
    y = ((y & 0x3fff00003fff0000ull) >> 2) | (y & 0x00003fff00003fffull);
    uint64_t v = y >> 32;
    *op = t;
    *size = y & 0xfffffff;
    /* mlg_codec_get_ptr_ after its varint */
    *ptr = mlg_codec_resolve_ptr(ring, ring_head, last_ptr, v);
    ++*prev_seq;
    return p + len;
#else
    (void)ring, (void)ring_head, (void)last_ptr, (void)prev_seq, (void)p, (void)end, (void)op;
    (void)size, (void)ptr;
    return NULL;
#endif
}

/* A pointer code (mlg_codec_get_ptr_) on the caller's variables: see mlg_codec_get_plain. */
static inline __attribute__((always_inline)) const uint8_t *
mlg_codec_get_ptr_vars(uint64_t *ring, uint32_t *ring_head, uint64_t *last_ptr, const uint8_t *p,
                       const uint8_t *end, uint64_t *out)
{
    uint64_t v;
    if (!(p = mlg_varint_get_padded(p, end, &v)))
        return NULL;
    *out = mlg_codec_resolve_ptr(ring, ring_head, last_ptr, v);
    return p;
}

/* A plain realloc: in the current thread, no gap, its outcome the default one - the commonest
 * event after malloc and free. Returns the position after it with its fields (*outcome: ok for
 * realloc(NULL, n), in place or moved), or NULL if the event at p is not one; the general decoder
 * then takes it. NULL after the first pointer code (which changed the ring) means a varint that
 * is cut or too long, and the general decoder finds the same damage in the same bytes: the state
 * it is left then no longer matters. */
static inline __attribute__((always_inline)) const uint8_t *
mlg_codec_get_realloc(uint64_t *ring, uint32_t *ring_head, uint64_t *last_ptr, uint64_t *prev_seq,
                      const uint8_t *p, const uint8_t *end, uint64_t *old_ptr, uint64_t *size,
                      uint64_t *ptr, unsigned *outcome)
{
    if (*p != MLG_OP_REALLOC || p >= end)
        return NULL;
    uint64_t d, seq;
    const uint8_t *q = mlg_varint_get_padded(p + 1, end, &d);
    if (!q)
        return NULL;
    seq = *prev_seq + 1 + (d == 1);
    if (d == 0 || d > seq)
        return NULL;
    if (!(q = mlg_codec_get_ptr_vars(ring, ring_head, last_ptr, q, end, old_ptr)) ||
        !(q = mlg_varint_get_padded(q, end, size)) ||
        !(q = mlg_codec_get_ptr_vars(ring, ring_head, last_ptr, q, end, ptr)))
        return NULL;
    *prev_seq = seq;
    *outcome = mlg_default_outcome(MLG_OP_REALLOC, *ptr, *old_ptr);
    return q;
}

/* The seq an event would have if nothing was skipped: realloc takes two numbers when nothing ran
 * between its release and acquire points. */
static inline uint64_t mlg_codec_expected_seq(const struct mlg_codec *c, unsigned fields, uint64_t d)
{
    return c->prev_seq + 1 + ((fields & MLG_F_REL) && d == 1 ? 1 : 0);
}

/* Encodes ev (in log order) at p; returns the end. Emits a clock reading first when time moved. */
static inline uint8_t *mlg_codec_put(struct mlg_codec *c, uint8_t *p, const struct mlg_event *ev)
{
    if (ev->time_ns > c->time_ns) {
        *p++ = MLG_TAG_TIME;
        p = mlg_varint_put(p, ev->time_ns - c->time_ns);
        c->time_ns = ev->time_ns;
    }
    if (ev->stack) {
        *p++ = MLG_TAG_STACK;
        p = mlg_varint_put(p, ev->stack);
    }
    unsigned f = mlg_op_fields(ev->op);
    uint64_t d = ev->seq - ev->seq_rel;
    uint8_t *tag = p++;
    unsigned t = ev->op;
    if (ev->thread != c->thread) {
        t |= MLG_TAG_THREAD;
        p = mlg_varint_put(p, ev->thread);
        c->thread = ev->thread;
    }
    uint64_t expected = mlg_codec_expected_seq(c, f, d);
    if (ev->seq != expected) {
        t |= MLG_TAG_GAP;
        p = mlg_varint_put(p, mlg_zigzag((int64_t)(ev->seq - expected)));
    }
    c->prev_seq = ev->seq;
    if (ev->outcome != mlg_default_outcome(ev->op, ev->ptr, ev->old_ptr)) {
        t |= MLG_TAG_OUTCOME;
        *p++ = ev->outcome;
    }
    if (f & MLG_F_REL)
        p = mlg_varint_put(p, d);
    if (f & MLG_F_OLD)
        p = mlg_codec_put_ptr(c, p, ev->old_ptr);
    if (f & MLG_F_ARG)
        p = mlg_varint_put(p, ev->arg);
    if (f & MLG_F_SIZE)
        p = mlg_varint_put(p, ev->size);
    if (f & MLG_F_PTR)
        p = mlg_codec_put_ptr(c, p, ev->ptr);
    if (f & MLG_F_RESULT)
        p = mlg_varint_put(p, mlg_zigzag(ev->result));
    *tag = (uint8_t)t;
    return p;
}

/* Decodes one event from [p, end). Returns the new position, or NULL if the bytes are not a valid
 * event. Clock readings and the call site before the event are consumed. ev->index is left 0.
 * padded: see mlg_codec_varint. */
static inline __attribute__((always_inline)) const uint8_t *
mlg_codec_get_(struct mlg_codec *c, const uint8_t *p, const uint8_t *end, struct mlg_event *ev,
               int padded)
{
    uint64_t v, stack = 0;
    while (p < end && (*p == MLG_TAG_TIME || *p == MLG_TAG_STACK)) {
        unsigned pseudo = *p;
        p = mlg_codec_varint(p + 1, end, &v, padded);
        if (!p)
            return NULL;
        if (pseudo == MLG_TAG_TIME)
            c->time_ns += v;
        else if (v == 0 || v > UINT32_MAX)
            return NULL;
        else
            stack = v;
    }
    if (p >= end)
        return NULL;
    unsigned t = *p++;
    unsigned op = t & MLG_TAG_OP;
    unsigned f = mlg_op_fields(op);
    if (f == 0xff)
        return NULL;
    /* fields in locals, the event written once at the end: a memset of it costs more (rep stos)
     * than the rest of a typical event's decoding */
    if (t & MLG_TAG_THREAD) {
        if (!(p = mlg_codec_varint(p, end, &v, padded)) || v > UINT32_MAX)
            return NULL;
        c->thread = (uint32_t)v;
    }
    int64_t gap = 0;
    if (t & MLG_TAG_GAP) {
        if (!(p = mlg_codec_varint(p, end, &v, padded)))
            return NULL;
        gap = mlg_unzigzag(v);
    }
    unsigned outcome = MLG_OUT_COUNT; /* none in the record */
    if (t & MLG_TAG_OUTCOME) {
        if (p >= end || *p >= MLG_OUT_COUNT)
            return NULL;
        outcome = *p++;
    }
    uint64_t d = 0, old_ptr = 0, arg = 0, size = 0, ptr = 0, seq_rel = 0;
    int64_t result = 0;
    if ((f & MLG_F_REL) && !(p = mlg_codec_varint(p, end, &d, padded)))
        return NULL;
    if ((f & MLG_F_OLD) && !(p = mlg_codec_get_ptr_(c, p, end, &old_ptr, padded)))
        return NULL;
    if ((f & MLG_F_ARG) && !(p = mlg_codec_varint(p, end, &arg, padded)))
        return NULL;
    if ((f & MLG_F_SIZE) && !(p = mlg_codec_varint(p, end, &size, padded)))
        return NULL;
    if ((f & MLG_F_PTR) && !(p = mlg_codec_get_ptr_(c, p, end, &ptr, padded)))
        return NULL;
    if (f & MLG_F_RESULT) {
        if (!(p = mlg_codec_varint(p, end, &v, padded)))
            return NULL;
        result = mlg_unzigzag(v);
    }
    uint64_t seq = mlg_codec_expected_seq(c, f, d) + (uint64_t)gap;
    if (f & MLG_F_REL) {
        if (d == 0 || d > seq)
            return NULL;
        seq_rel = seq - d;
    }
    c->prev_seq = seq;
    if (outcome == MLG_OUT_COUNT)
        outcome = mlg_default_outcome(op, ptr, old_ptr);
    /* field by field: gcc zeroes a whole-struct store with rep stos, slower than the decoding.
     * Every field is written; a field added to struct mlg_event must be added here. */
    _Static_assert(sizeof(struct mlg_event) == 88, "mlg_codec_get_ writes every event field");
    ev->index = 0;
    ev->seq = seq;
    ev->seq_rel = seq_rel;
    ev->time_ns = c->time_ns;
    ev->ptr = ptr;
    ev->old_ptr = old_ptr;
    ev->size = size;
    ev->arg = arg;
    ev->result = result;
    ev->thread = c->thread;
    ev->stack = (uint32_t)stack;
    ev->op = (uint8_t)op;
    ev->outcome = (uint8_t)outcome;
    return p;
}

static inline const uint8_t *mlg_codec_get(struct mlg_codec *c, const uint8_t *p,
                                           const uint8_t *end, struct mlg_event *ev)
{
    return mlg_codec_get_(c, p, end, ev, 0);
}

/* The same on a buffer with MLG_VARINT_PAD readable bytes past end (the reader's frames). */
static inline __attribute__((always_inline)) const uint8_t *
mlg_codec_get_padded(struct mlg_codec *c, const uint8_t *p, const uint8_t *end,
                     struct mlg_event *ev)
{
    return mlg_codec_get_(c, p, end, ev, 1);
}

#endif

/* tape.c - the op tape's ring: one producer (the decoder, usually a forked process) and one
 * consumer (the replaying process) over shared memory. Neither side spins: replay workers run in
 * parallel on few cores, and a spinning waiter steals the CPU from the side it waits for. A side
 * that cannot go on sleeps on a futex (not FUTEX_PRIVATE: the two sides are two processes) and
 * the other wakes it only once there is enough to do (the consumer's `want`, half the ring for
 * the producer), so a replay makes one wake-up per few thousand records, not one per event.
 * The lost-wake-up race is closed Dekker-style: each side stores its wait flag and then reads
 * the other's counter, and each publishes its counter and then reads the wait flag, all seq_cst.
 * Never allocates: the ring is mapped (mem.c). */
#include <limits.h>
#include <linux/futex.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "replay.h"

static void fwait(_Atomic uint32_t *a, uint32_t v, int timeout_ms)
{
    struct timespec ts = {timeout_ms / 1000, (long)(timeout_ms % 1000) * 1000000L};
    syscall(SYS_futex, a, FUTEX_WAIT, v, timeout_ms > 0 ? &ts : NULL, NULL, 0);
}

static void fwake(_Atomic uint32_t *a)
{
    syscall(SYS_futex, a, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

static size_t tape_bytes(uint64_t n)
{
    return sizeof(struct tape) + n * sizeof(struct tape_op);
}

struct tape *tape_new(unsigned order)
{
    uint64_t n = (uint64_t)1 << order;
    struct tape *t = mem_map_shared(-1, tape_bytes(n), "mallog:tape");
    if (!t)
        return NULL;
    memset(t, 0, sizeof *t); /* a new mapping is zero already; the counters say so explicitly */
    t->mask = n - 1;
    return t;
}

void tape_free(struct tape *t)
{
    if (t)
        mem_unmap(t, tape_bytes(t->mask + 1));
}

/* Producer: makes records [w_pub, w) visible; wakes the consumer if it waits for them (force:
 * whatever it waits for). */
static void publish(struct tape *t, int force)
{
    if (t->w != t->w_pub) {
        atomic_store(&t->tail, t->w);
        t->w_pub = t->w;
    }
    if (atomic_load(&t->cons_wait) && (force || t->w >= atomic_load(&t->cons_want))) {
        atomic_store(&t->cons_wait, 0);
        atomic_fetch_add(&t->tail_seq, 1);
        fwake(&t->tail_seq);
    }
}

void tape_flush(struct tape *t)
{
    publish(t, 1);
}

void tape_publish(struct tape *t)
{
    publish(t, 0);
}

/* Producer: waits for room for k more records. Returns 0, or -1 if the consumer quit. */
static int room(struct tape *t, uint64_t k)
{
    uint64_t cap = t->mask + 1;
    if (t->w + k - atomic_load_explicit(&t->head, memory_order_acquire) <= cap)
        return 0;
    publish(t, 1); /* the consumer may be waiting for exactly what we hold */
    for (;;) {
        if (atomic_load(&t->quit))
            return -1;
        uint32_t seq = atomic_load(&t->head_seq);
        atomic_store(&t->prod_want, t->w - cap / 2); /* sleep until half the ring is free */
        atomic_store(&t->prod_wait, 1);
        if (t->w + k - atomic_load(&t->head) <= cap) {
            atomic_store(&t->prod_wait, 0);
            return 0;
        }
        fwait(&t->head_seq, seq, 0);
    }
}

struct tape_op *tape_reserve_slow(struct tape *t, unsigned k)
{
    uint64_t cap = t->mask + 1, at = t->w & t->mask;
    if (at + k > cap) { /* pad to the ring's end: k records are never split by it */
        if (room(t, cap - at) < 0)
            return NULL;
        memset(&t->ops[at], 0, (cap - at) * sizeof *t->ops);
        t->w += cap - at;
    }
    if (room(t, k) < 0)
        return NULL;
    /* head was just read: everything up to head + cap is free, but not past the ring's end */
    uint64_t lim = atomic_load_explicit(&t->head, memory_order_acquire) + cap,
             end = (t->w | t->mask) + 1;
    t->w_lim = lim < end ? lim : end;
    return &t->ops[t->w & t->mask];
}

int tape_put(struct tape *t, struct tape_op op)
{
    struct tape_op *o = tape_reserve(t, 1);
    if (!o)
        return -1;
    o[0] = op;
    tape_commit(t, 1);
    return 0;
}

int tape_put2(struct tape *t, struct tape_op op, struct tape_op arg)
{
    struct tape_op *o = tape_reserve(t, 2);
    if (!o)
        return -1;
    o[0] = op;
    o[1] = arg;
    tape_commit(t, 2);
    return 0;
}

uint64_t tape_get(struct tape *t, uint64_t want, int timeout_ms, const struct tape_op **ops)
{
    uint64_t tail = atomic_load_explicit(&t->tail, memory_order_acquire);
    if (tail == t->r) {
        uint32_t seq = atomic_load(&t->tail_seq);
        atomic_store(&t->cons_want, t->r + (want ? want : 1));
        atomic_store(&t->cons_wait, 1);
        tail = atomic_load(&t->tail);
        if (tail == t->r) {
            fwait(&t->tail_seq, seq, timeout_ms);
            tail = atomic_load(&t->tail);
        }
        atomic_store(&t->cons_wait, 0);
        if (tail == t->r)
            return 0; /* woken early or timed out: the caller looks again */
    }
    uint64_t at = t->r & t->mask, n = tail - t->r;
    if (n > t->mask + 1 - at)
        n = t->mask + 1 - at;
    *ops = &t->ops[at];
    return n;
}

void tape_done(struct tape *t, uint64_t n)
{
    t->r += n;
    atomic_store(&t->head, t->r);
    if (atomic_load(&t->prod_wait) && t->r >= atomic_load(&t->prod_want)) {
        atomic_store(&t->prod_wait, 0);
        atomic_fetch_add(&t->head_seq, 1);
        fwake(&t->head_seq);
    }
}

int tape_wait_ack(struct tape *t, uint32_t n)
{
    publish(t, 1);
    for (;;) {
        uint32_t a = atomic_load(&t->ack);
        if (atomic_load(&t->quit))
            return -1;
        if ((int32_t)(a - n) >= 0)
            return 0;
        fwait(&t->ack, a, 0);
    }
}

void tape_ack(struct tape *t, int quit)
{
    if (quit) {
        atomic_store(&t->quit, 1);
        atomic_fetch_add(&t->head_seq, 1);
        fwake(&t->head_seq);
    }
    atomic_fetch_add(&t->ack, 1);
    fwake(&t->ack);
}

/* spool.h - the recorder's spool file: layout and the inline record encoder.
 *
 * libmallog.so writes records straight into MAP_SHARED pages of this file, so every finished record
 * survives any death of the traced process. mlg_pack_spool() (lib/pack.c) turns a spool into a
 * compressed .mlog. Layout and record bytes are specified in docs/FORMAT.md ("Spool file").
 * The encoder is header-only because it runs on the traced program's hot path.
 */
#ifndef MLG_SPOOL_H
#define MLG_SPOOL_H

#include <stdint.h>
#include "fields.h"
#include "varint.h"

#define MLG_SPOOL_MAGIC "MLGSPOL1"
#define MLG_SPOOL_VERSION 1
#define MLG_SPOOL_CHUNK (64u * 1024)          /* one thread's unit of records */
#define MLG_SPOOL_WINDOW (16u * 1024 * 1024)  /* unit of file growth and mapping */
#define MLG_SPOOL_CHUNK_MAGIC 0x4b4e4843u     /* "CHNK" */

/* Record tag bits (first byte of a record). The tag is stored last: 0 marks a hole. */
#define MLG_SPOOL_ABS 0x20     /* fields are absolute: written by a nested (signal) hook */
#define MLG_SPOOL_OUTCOME 0x40 /* an outcome byte follows the seq */
#define MLG_SPOOL_STACK 0x80   /* a varint stack id follows the fields */
#define MLG_SPOOL_OP_MASK 0x1f
#define MLG_SPOOL_REC_MAX 96

struct mlg_spool_header {
    char magic[8];
    uint32_t version;
    uint32_t header_size;
    uint32_t chunk_size;
    uint32_t window_size;
    uint64_t pid, ppid;
    uint32_t exec_gen, parent_gen;
    uint64_t parent_pid, fork_seq;
    uint64_t start_realtime_ns, start_mono_ns;
    uint32_t page_size, nproc;
    uint32_t argc, flags;
    /* Written while the process runs. */
    volatile uint32_t end_set; /* 1 once end/end_status are meaningful */
    volatile uint32_t end;     /* enum mlg_end */
    volatile int32_t end_status;
    uint32_t reserved0;
    volatile uint64_t lost_events; /* records the recorder had to drop */
    /* For packing while the program runs (lib/pack.c, "horizon"): */
    volatile uint64_t seq_counter;    /* the global sequence counter itself */
    volatile uint32_t chunks_claimed; /* chunks [1, chunks_claimed) have been handed out */
    volatile uint32_t no_online;      /* a thread had no slot: pack only after the end */
    volatile uint32_t threads_started; /* slots [0, threads_started) may be in use */
    uint32_t reserved0b;
    volatile uint64_t end_time_ns;    /* clock when end was set (exit, _exit, exec, return from
                                         main); 0 = not seen (killed) */
    uint64_t reserved[4];
    char exe[4096];
    char argv[8192];
    char glibc_version[64];
    char malloc_lib[512];
    char malloc_shadowed[512];
    char env[4096];
};

struct mlg_spool_chunk {
    uint32_t magic; /* stored last when a chunk is claimed */
    uint32_t thread;
    uint32_t tid;
    uint32_t flags;
    uint64_t time_ns; /* monotonic ns since process start, when claimed */
    uint64_t reserved;
};

#define MLG_SPOOL_PAYLOAD (MLG_SPOOL_CHUNK - sizeof(struct mlg_spool_chunk))

/* Per-thread "in flight" slots, in the header chunk after the header: while a thread is between
 * taking a sequence number and publishing its record, its slot holds (a lower bound of that
 * number) + 1; 0 = not in a hook. One cache line each. */
#define MLG_SPOOL_SLOTS_OFFSET 20480u
#define MLG_SPOOL_SLOT_STRIDE 64u
#define MLG_SPOOL_MAX_SLOTS ((MLG_SPOOL_CHUNK - MLG_SPOOL_SLOTS_OFFSET) / MLG_SPOOL_SLOT_STRIDE)

static inline volatile uint64_t *mlg_spool_slot(const void *header, uint32_t thread)
{
    return (volatile uint64_t *)(void *)((uint8_t *)(uintptr_t)header + MLG_SPOOL_SLOTS_OFFSET +
                                         (size_t)thread * MLG_SPOOL_SLOT_STRIDE);
}

/* Per-thread delta state; reset at every chunk so chunks decode independently. */
struct mlg_spool_state {
    uint64_t prev_seq;
    uint64_t prev_ptr;
};

static inline __attribute__((always_inline)) uint8_t *mlg_spool_put_ptr(uint8_t *p, uint64_t v, struct mlg_spool_state *st, int abs)
{
    if (abs)
        return mlg_varint_put(p, v);
    uint64_t d = mlg_zigzag((int64_t)(v - st->prev_ptr));
    st->prev_ptr = v;
    return mlg_varint_put(p, d);
}

/* Encodes one record into buf (MLG_SPOOL_REC_MAX bytes): tag, length, seq, [outcome], fields.
 * abs != 0 encodes without reading or updating st (for a hook nested inside another on the same
 * thread). Returns the record length. */
static inline __attribute__((always_inline)) unsigned mlg_spool_encode(uint8_t *buf, struct mlg_spool_state *st, int abs,
                                        unsigned op, unsigned outcome, uint64_t seq,
                                        uint64_t seq_rel, uint64_t old_ptr, uint64_t arg,
                                        uint64_t size, uint64_t ptr, int64_t result,
                                        uint32_t stack)
{
    unsigned f = mlg_op_fields(op);
    uint8_t *p = buf + 2;
    unsigned tag = op | (abs ? MLG_SPOOL_ABS : 0);
    if (abs) {
        p = mlg_varint_put(p, seq);
    } else {
        p = mlg_varint_put(p, mlg_zigzag((int64_t)(seq - st->prev_seq - 1)));
        st->prev_seq = seq;
    }
    if (outcome != mlg_default_outcome(op, ptr, old_ptr)) {
        tag |= MLG_SPOOL_OUTCOME;
        *p++ = (uint8_t)outcome;
    }
    if (f & MLG_F_REL)
        p = mlg_varint_put(p, seq - seq_rel);
    if (f & MLG_F_OLD)
        p = mlg_spool_put_ptr(p, old_ptr, st, abs);
    if (f & MLG_F_ARG)
        p = mlg_varint_put(p, arg);
    if (f & MLG_F_SIZE)
        p = mlg_varint_put(p, size);
    if (f & MLG_F_PTR)
        p = mlg_spool_put_ptr(p, ptr, st, abs);
    if (f & MLG_F_RESULT)
        p = mlg_varint_put(p, mlg_zigzag(result));
    if (stack) {
        tag |= MLG_SPOOL_STACK;
        p = mlg_varint_put(p, stack);
    }
    buf[0] = (uint8_t)tag;
    buf[1] = (uint8_t)(p - buf);
    return (unsigned)(p - buf);
}

/* Call sites live in chunks of their own (chunk.thread == MLG_SPOOL_SITES_THREAD), appended under
 * the recorder's lock in id order. Each entry: u32 head (kind << 24 | entry bytes, a multiple of 8;
 * stored last, 0 = not written yet), u32 id, then
 *   module: u64 start, u64 end, u64 file offset, the path NUL-padded;
 *   stack:  u64 return addresses, innermost first.
 * An id is used by an event only after its entry is published. */
#define MLG_SPOOL_SITES_THREAD 0xFFFFFFFFu
#define MLG_SPOOL_SITE_MODULE 1u
#define MLG_SPOOL_SITE_STACK 2u

/* A clock reading: tag MLG_TAG_TIME, absolute ns since process start. */
static inline unsigned mlg_spool_encode_time(uint8_t *buf, uint64_t time_ns)
{
    uint8_t *p = mlg_varint_put(buf + 2, time_ns);
    buf[0] = MLG_TAG_TIME;
    buf[1] = (uint8_t)(p - buf);
    return (unsigned)(p - buf);
}

#endif

/* fields.h - which fields each op carries, in encoding order; shared by the spool and log codecs.
 * Internal to lib/ and preload/ (which inlines the spool encoder). */
#ifndef MLG_FIELDS_H
#define MLG_FIELDS_H

#include <stdint.h>
#include "mallog.h"

enum {
    MLG_F_REL = 1 << 0,    /* seq - seq_rel (realloc) */
    MLG_F_OLD = 1 << 1,    /* old_ptr */
    MLG_F_ARG = 1 << 2,    /* arg */
    MLG_F_SIZE = 1 << 3,   /* size */
    MLG_F_PTR = 1 << 4,    /* ptr */
    MLG_F_RESULT = 1 << 5, /* result, zigzag */
};

/* Not an event: a clock reading that later events inherit as time_ns. */
#define MLG_TAG_TIME 31  /* pseudo-record: a clock reading */
#define MLG_TAG_STACK 30 /* pseudo-record: the call site (stack id) of the event that follows */

/* The fields of each op; 0xff marks a code that is not an op (a decoder treats it as
 * corruption). A table: decoders look it up for every event, encoders with a constant op fold it. */
static const uint8_t mlg_op_field_table[32] = {
    [0] = 0xff,
    [MLG_OP_MALLOC] = MLG_F_SIZE | MLG_F_PTR,
    [MLG_OP_CALLOC] = MLG_F_ARG | MLG_F_SIZE | MLG_F_PTR,
    [MLG_OP_REALLOC] = MLG_F_REL | MLG_F_OLD | MLG_F_SIZE | MLG_F_PTR,
    [MLG_OP_FREE] = MLG_F_PTR,
    [MLG_OP_POSIX_MEMALIGN] = MLG_F_ARG | MLG_F_SIZE | MLG_F_PTR,
    [MLG_OP_ALIGNED_ALLOC] = MLG_F_ARG | MLG_F_SIZE | MLG_F_PTR,
    [MLG_OP_MEMALIGN] = MLG_F_ARG | MLG_F_SIZE | MLG_F_PTR,
    [MLG_OP_VALLOC] = MLG_F_SIZE | MLG_F_PTR,
    [MLG_OP_PVALLOC] = MLG_F_SIZE | MLG_F_PTR,
    [MLG_OP_REALLOCARRAY] = MLG_F_REL | MLG_F_OLD | MLG_F_ARG | MLG_F_SIZE | MLG_F_PTR,
    [MLG_OP_USABLE_SIZE] = MLG_F_PTR | MLG_F_RESULT,
    [MLG_OP_TRIM] = MLG_F_ARG | MLG_F_RESULT,
    [MLG_OP_MALLOPT] = MLG_F_ARG | MLG_F_SIZE | MLG_F_RESULT,
    [MLG_OP_REALLOC_RELEASE] = MLG_F_OLD,
    [MLG_OP_LIVE] = MLG_F_ARG | MLG_F_SIZE | MLG_F_PTR,
    [MLG_OP_THREAD_START] = MLG_F_RESULT,
    [MLG_OP_THREAD_END] = 0,
    [MLG_OP_FORK] = MLG_F_RESULT,
    [MLG_OP_EXEC] = MLG_F_RESULT,
    [MLG_OP_EXIT] = MLG_F_ARG | MLG_F_RESULT,
    [MLG_OP_LOST] = MLG_F_RESULT,
    [22] = 0xff, [23] = 0xff, [24] = 0xff, [25] = 0xff, [26] = 0xff, [27] = 0xff, [28] = 0xff,
    [29] = 0xff, [30] = 0xff, [31] = 0xff,
};

static inline unsigned mlg_op_fields(unsigned op)
{
    return op < 32 ? mlg_op_field_table[op] : 0xff;
}

/* The outcome a decoder assumes when the record carries none, so the common cases cost no byte. */
static inline unsigned mlg_default_outcome(unsigned op, uint64_t ptr, uint64_t old_ptr)
{
    if (op == MLG_OP_REALLOC || op == MLG_OP_REALLOCARRAY) {
        if (old_ptr == 0)
            return MLG_OUT_OK;
        return ptr == old_ptr ? MLG_OUT_INPLACE : MLG_OUT_MOVED;
    }
    return MLG_OUT_OK;
}

#endif

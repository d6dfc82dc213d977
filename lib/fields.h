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
#define MLG_TAG_TIME 31

static inline unsigned mlg_op_fields(unsigned op)
{
    switch (op) {
    case MLG_OP_MALLOC:
    case MLG_OP_VALLOC:
    case MLG_OP_PVALLOC:
        return MLG_F_SIZE | MLG_F_PTR;
    case MLG_OP_CALLOC:
    case MLG_OP_POSIX_MEMALIGN:
    case MLG_OP_ALIGNED_ALLOC:
    case MLG_OP_MEMALIGN:
        return MLG_F_ARG | MLG_F_SIZE | MLG_F_PTR;
    case MLG_OP_REALLOC:
        return MLG_F_REL | MLG_F_OLD | MLG_F_SIZE | MLG_F_PTR;
    case MLG_OP_REALLOCARRAY:
        return MLG_F_REL | MLG_F_OLD | MLG_F_ARG | MLG_F_SIZE | MLG_F_PTR;
    case MLG_OP_FREE:
        return MLG_F_PTR;
    case MLG_OP_REALLOC_RELEASE:
        return MLG_F_OLD;
    case MLG_OP_USABLE_SIZE:
        return MLG_F_PTR | MLG_F_RESULT;
    case MLG_OP_TRIM:
        return MLG_F_ARG | MLG_F_RESULT;
    case MLG_OP_MALLOPT:
        return MLG_F_ARG | MLG_F_SIZE | MLG_F_RESULT;
    case MLG_OP_THREAD_START:
    case MLG_OP_FORK:
    case MLG_OP_EXEC:
    case MLG_OP_LOST:
        return MLG_F_RESULT;
    case MLG_OP_EXIT:
        return MLG_F_ARG | MLG_F_RESULT;
    case MLG_OP_THREAD_END:
        return 0;
    default:
        return 0xff; /* unknown op: a decoder treats it as corruption */
    }
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

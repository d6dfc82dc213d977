/* heap.h - what an event does to the heap: the one rule every tool follows (lib/check.c,
 * replay/prepass.c, analyze/stats.c, analyze/callsites.c; replay/engine.c still has its own copy
 * until the threaded replay is rewritten). Like heaptrack, a realloc is the release of its old
 * block plus the acquisition of its new one; a tool that follows a block's history joins the two
 * through MLG_HEAP_RESIZE. What a tool does with a release of an address that is not live (an
 * unknown or double free) is its own business, not the rule's. Inline: stats and the replay
 * pre-pass apply it to every event. struct mlg_heap_effect is in mallog.h. */
#ifndef MLG_HEAP_H
#define MLG_HEAP_H

#include "mallog.h"

/* The call failed: NULL, overflow or EINVAL; nothing changed hands. */
static inline int mlg_heap_failed(unsigned outcome)
{
    return outcome == MLG_OUT_FAILED || outcome == MLG_OUT_OVERFLOW || outcome == MLG_OUT_EINVAL;
}

/* A realloc (or reallocarray) by its outcome. An outcome the format does not define changes
 * nothing: the old block stays as it was, as after a failure. */
static inline struct mlg_heap_effect mlg_heap_realloc(unsigned outcome, uint64_t ptr,
                                                      uint64_t old_ptr, uint64_t size)
{
    struct mlg_heap_effect e = {old_ptr, ptr, size, 0};
    unsigned acquires = ptr ? MLG_HEAP_ACQUIRE | MLG_HEAP_RESIZE : 0;
    switch (outcome) {
    case MLG_OUT_OK: /* realloc(NULL, n): a plain allocation */
        e.flags = ptr ? MLG_HEAP_ACQUIRE : 0;
        break;
    case MLG_OUT_INPLACE:
        e.flags = MLG_HEAP_RELEASE | MLG_HEAP_INPLACE | acquires;
        break;
    case MLG_OUT_MOVED: /* a NULL result (only in a damaged log) just ends the old block */
        e.flags = MLG_HEAP_RELEASE | acquires;
        break;
    case MLG_OUT_OLD_RELEASED: /* the old block ended at an earlier REALLOC_RELEASE */
        e.flags = MLG_HEAP_SPLIT | acquires;
        break;
    case MLG_OUT_FREED: /* realloc(p, 0) */
        e.flags = MLG_HEAP_RELEASE;
        break;
    default:
        break;
    }
    return e;
}

/* The rule: what event (op, outcome, ptr, old_ptr, size) does to the heap. */
static inline struct mlg_heap_effect
mlg_heap_effects_of(unsigned op, unsigned outcome, uint64_t ptr, uint64_t old_ptr, uint64_t size)
{
    struct mlg_heap_effect e = {0, 0, 0, 0};
    char kind = 0;
    switch (op) { /* a table lookup once compiled; mlg_op_kind would be a call per event */
#define MLG_X_KIND(name, code, str, k)                                                             \
    case code:                                                                                     \
        kind = #k[0];                                                                              \
        break;
        MLG_OPS(MLG_X_KIND)
#undef MLG_X_KIND
    }
    switch (kind) {
    case 'A':
        if (ptr && !mlg_heap_failed(outcome))
            e = (struct mlg_heap_effect){0, ptr, size, MLG_HEAP_ACQUIRE};
        break;
    case 'F':
        if (op == MLG_OP_REALLOC_RELEASE) /* released even if 0: an unknown free */
            e = (struct mlg_heap_effect){old_ptr, 0, 0, MLG_HEAP_RELEASE | MLG_HEAP_SPLIT};
        else if (ptr) /* free(NULL) does nothing */
            e = (struct mlg_heap_effect){ptr, 0, 0, MLG_HEAP_RELEASE};
        break;
    case 'R':
        e = mlg_heap_realloc(outcome, ptr, old_ptr, size);
        break;
    case 'B': /* a checkpoint block: the heap had it when the segment began */
        if (ptr)
            e = (struct mlg_heap_effect){0, ptr, size, MLG_HEAP_ACQUIRE | MLG_HEAP_CHECKPOINT};
        break;
    default: /* queries, tuning calls and lifecycle events leave the heap alone */
        break;
    }
    return e;
}

#endif

/* heap.c - what an event does to the heap, for callers outside lib/ that hold a whole event
 * (the rule itself is heap.h's mlg_heap_effects_of, inline for the hot loops). */
#include "heap.h"

struct mlg_heap_effect mlg_heap_effects(const struct mlg_event *ev)
{
    return mlg_heap_effects_of(ev->op, ev->outcome, ev->ptr, ev->old_ptr, ev->size);
}

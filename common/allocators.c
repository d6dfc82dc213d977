/* allocators.c - the table of known allocators (allocators.h). */
#include <string.h>

#include "allocators.h"

const struct allocator_info allocators_list[MLG_ALLOC_COUNT] = {
#define MLG_X_INFO(id, name, kind, lib, lib2, pinned, stats) {name, kind, lib, lib2, pinned, stats},
    MLG_ALLOCATORS(MLG_X_INFO)
#undef MLG_X_INFO
};

int allocators_find(const char *name, size_t len)
{
    for (int i = 0; i < MLG_ALLOC_COUNT; i++)
        if (strlen(allocators_list[i].name) == len &&
            memcmp(name, allocators_list[i].name, len) == 0)
            return i;
    return MLG_ALLOC_COUNT;
}

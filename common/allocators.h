/* allocators.h - the allocators mallog replays on, defined once:
 *   X(NAME, "name", "kind", "library", "fallback library", "pinned settings", "stats symbol")
 * kind: how replay/backend.c calls it ("glibc": the process's own malloc; "libc": a library
 * preloaded in front of it; "arena": replay/arena.c). Pinned settings are "VAR=value" lines
 * every replay sets (printed with the results). The stats symbol is the library's own statistics
 * entry point, looked up with dlsym. The order is the order of every listing and chart. */
#ifndef MLG_ALLOCATORS_H
#define MLG_ALLOCATORS_H

#include <stddef.h>

#define MLG_LIBDIR "/usr/lib/x86_64-linux-gnu/"

#define MLG_ALLOCATORS(X)                                                                          \
    X(GLIBC, "glibc", "glibc", NULL, NULL, NULL, NULL)                                             \
    X(JEMALLOC, "jemalloc", "libc", MLG_LIBDIR "libjemalloc.so.2", NULL,                           \
      "MALLOC_CONF=dirty_decay_ms:0,muzzy_decay_ms:0", "mallctl")                                  \
    X(MIMALLOC, "mimalloc", "libc", MLG_LIBDIR "libmimalloc.so.2", NULL,                           \
      "MIMALLOC_RESET_DELAY=0\n"                                                                   \
      "MIMALLOC_SEGMENT_DECOMMIT_DELAY=0\n"                                                        \
      "MIMALLOC_DECOMMIT_EXTEND_DELAY=0",                                                          \
      "mi_process_info")                                                                           \
    X(TCMALLOC, "tcmalloc", "libc", MLG_LIBDIR "libtcmalloc_minimal.so.4",                         \
      MLG_LIBDIR "libtcmalloc.so.4", NULL, "MallocExtension_GetNumericProperty")                   \
    X(ARENA, "arena", "arena", NULL, NULL, NULL, NULL)

enum mlg_alloc {
#define MLG_X_ENUM(id, name, kind, lib, lib2, pinned, stats) MLG_ALLOC_##id,
    MLG_ALLOCATORS(MLG_X_ENUM)
#undef MLG_X_ENUM
    MLG_ALLOC_COUNT
};

struct allocator_info {
    const char *name, *kind, *lib, *lib2, *pinned, *stats_symbol;
};
extern const struct allocator_info allocators_list[MLG_ALLOC_COUNT];

/* The allocator named by the len bytes at name (not NUL-terminated: "jemalloc.peak" with len 8
 * finds jemalloc), or MLG_ALLOC_COUNT for a name mallog does not know. */
int allocators_find(const char *name, size_t len);

#endif

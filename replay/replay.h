/* replay.h - the internal header of replay/: one allocator per replay process, behind a backend
 * vtable; slot table, holes, sampling; mallog's own arena allocator.
 * Nothing in replay/ allocates its own bookkeeping through the allocator under test: mem.c maps
 * it, names it and keeps a registry so RSS and hole finding can leave it out. */
#ifndef MLG_REPLAY_H
#define MLG_REPLAY_H

#include <stddef.h>
#include <stdint.h>

#include "../lib/mallog.h"

/* Every sampled metric, defined once: X(name). Generates the sample struct, the TSV header and
 * rows. The TSV column order is this order (plots address columns by name). */
#define MLG_METRICS(X)                                                                             \
    X(event)          /* index of the last event applied */                                        \
    X(time_ns)        /* ns since replay start (the only non-deterministic column) */              \
    X(live_requested) /* bytes requested by live blocks (exact, from the log) */                   \
    X(live_blocks)                                                                                 \
    X(live_usable) /* sum of malloc_usable_size of live blocks */                                  \
    X(sys_mapped)  /* allocator footprint: memory it holds from the OS */                          \
    X(sys_active)  /* allocator's own in-use/active bytes */                                       \
    X(heap_rss)    /* anonymous RSS minus the replayer's own memory */                             \
    X(holes_1m)    /* holes >= 1 MiB between live blocks */                                        \
    X(holes_8m)    /* holes >= 8 MiB */                                                            \
    X(largest_hole)                                                                                \
    X(hole_bytes)    /* bytes in holes >= 1 page */                                                \
    X(hole_resident) /* resident bytes inside those holes (mincore) */

struct sample {
#define MLG_X_FIELD(name) uint64_t name;
    MLG_METRICS(MLG_X_FIELD)
#undef MLG_X_FIELD
};

#define MLG_HOLE_MIN 4096u /* gaps smaller than a page are headers and slop, not holes */

/* ---- mem.c: the replayer's own memory (mmap, named, registered) ---------------------------- */
void *mem_map(size_t len, const char *name);
void mem_unmap(void *p, size_t len);
/* Grows (or shrinks) a mapping, keeping its contents; returns NULL on failure (old kept). */
void *mem_remap(void *p, size_t old_len, size_t new_len);
/* An mlg_allocator over mem_map (each allocation its own mapping, rounded to pages, or a bump
 * arena for small ones). */
const struct mlg_allocator *mem_allocator(void);
/* Resident bytes of all registered regions (mincore). */
uint64_t mem_own_resident(void);
/* Calls fn on each registered region. */
void mem_each(void (*fn)(void *ctx, uint64_t start, uint64_t end), void *ctx);
/* A growable byte buffer in mapped memory (no malloc): for output text and /proc reads. */
struct mem_buf {
    char *p;
    size_t len, cap;
};
int mem_buf_reserve(struct mem_buf *b, size_t extra);
int mem_buf_printf(struct mem_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int mem_buf_read_file(struct mem_buf *b, const char *path);        /* replaces contents; 0 or -1 */
int mem_buf_write_file(const struct mem_buf *b, const char *path); /* 0 or -1 (errno) */
void mem_buf_free(struct mem_buf *b);

/* ---- slots.c: recorded address -> replayed block -------------------------------------------- */
struct slot {        /* 32 bytes: two per cache line, never split across two */
    uint64_t ptr;    /* the block in this replay */
    uint64_t size;   /* requested bytes */
    uint64_t event;  /* event that allocated it (a realloc counts as allocating) */
    uint32_t slop;   /* malloc_usable_size - size, asked once when the block is made */
    uint32_t thread; /* recorded thread; SLOT_DEAD once freed */
};
#define SLOT_DEAD UINT32_MAX
struct slots {
    uint64_t (*tab)[2]; /* open addressing: {recorded ptr, slot index}; key 0 = empty */
    uint64_t mask, count;
    struct slot *v;
    uint64_t n, cap, free_head; /* free_head: index + 1 of a reusable slot, 0 = none */
    uint64_t live_blocks, live_bytes, live_usable;
};
int slots_init(struct slots *s);
void slots_fini(struct slots *s);
#define SLOTS_UNKNOWN (-1) /* not live: never allocated, or already freed */
/* Index of the live slot for recorded ptr, or SLOTS_UNKNOWN. */
int64_t slots_find(const struct slots *s, uint64_t rec_ptr);
/* New live slot for rec_ptr; returns its index or -1 (no memory). A live slot already under
 * rec_ptr must have been removed first. */
int64_t slots_add(struct slots *s, uint64_t rec_ptr, uint64_t ptr, uint64_t size, uint64_t usable,
                  uint64_t event, uint32_t thread);
void slots_remove(struct slots *s, int64_t idx, uint64_t rec_ptr);
void slots_resize(struct slots *s, int64_t idx, uint64_t size, uint64_t usable);
/* Read-ahead hints for an event a few events away (they change nothing): the bucket of rec_ptr;
 * its slot (reads the bucket); the replayed block's header (reads the slot). */
void slots_prefetch_bucket(const struct slots *s, uint64_t rec_ptr);
void slots_prefetch_slot(const struct slots *s, uint64_t rec_ptr);
void slots_prefetch_block(const struct slots *s, uint64_t rec_ptr);

/* ---- holes.c: gaps between live blocks inside the allocator's mappings --------------------- */
struct hole_block {
    uint64_t start, end; /* [ptr, ptr + usable) */
    uint64_t slot;
};
struct hole {
    uint64_t start, size, resident;
    uint64_t left, right; /* indexes into the sorted block array */
};
struct holes {
    struct hole_block *b, *tmp; /* blocks, sorted by start after holes_scan */
    uint64_t nb, capb;
    struct hole *h;
    uint64_t nh, caph;
    uint64_t (*ranges)[2]; /* anonymous mapped ranges minus the replayer's own */
    uint64_t nr, capr;
    struct mem_buf maps;
    uint64_t anon_mapped;   /* bytes in those ranges */
    uint64_t anon_resident; /* resident bytes in those ranges (mincore) */
};
int holes_init(struct holes *h);
void holes_fini(struct holes *h);
void holes_clear(struct holes *h);
int holes_add_block(struct holes *h, uint64_t start, uint64_t end, uint64_t slot);
/* Sorts the blocks, reads /proc/self/maps, finds the holes (>= MLG_HOLE_MIN, both sides live
 * blocks, the whole gap mapped) and fills the hole metrics of *s. keep_list: also keep every
 * hole in h->h (for `mallog holes`), largest first. Returns 0 or -1. */
int holes_scan(struct holes *h, struct sample *s, int keep_list);
/* Sorts n 16-byte records (first 8 bytes = unsigned key) ascending; tmp has room for n. */
void holes_sort(struct hole_block *v, struct hole_block *tmp, uint64_t n);
/* Parses maps text into sorted, merged anonymous ranges. Exposed for tests. */
int holes_parse_maps(struct holes *h, const char *text, size_t len);

/* ---- arena.c: mallog's own allocator ------------------------------------------------------- */
/* Size-class slabs for blocks <= ARENA_SMALL_MAX, address-ordered best fit with boundary-tag
 * coalescing for larger ones, free pages inside large free spans returned to the OS. One global
 * instance, not thread-safe (a replay process is one allocator; strict mode serialises calls). */
#define ARENA_SMALL_MAX 2048
void *arena_malloc(size_t size);
void *arena_calloc(size_t n, size_t size);
void *arena_realloc(void *p, size_t size);
void *arena_memalign(size_t align, size_t size);
void arena_free(void *p);
size_t arena_usable_size(const void *p);
struct arena_stats {
    uint64_t mapped; /* committed bytes: heap top minus pages given back */
    uint64_t active; /* bytes in allocated chunks and in-use slabs */
    uint64_t free_spans, free_bytes, largest_free;
};
void arena_stats(struct arena_stats *st);
/* Checks every invariant (tests); returns 0 or a negative number naming the broken one. */
int arena_check(void);
/* Drops the whole heap (tests). */
void arena_reset(void);

/* ---- backend.c: the allocator under test ---------------------------------------------------- */
struct backend {
    const char *name;
    void *(*alloc)(int op, uint64_t size, uint64_t arg); /* op: MLG_OP_*; arg: nmemb/alignment */
    void *(*realloc)(void *p, size_t size);
    void (*free)(void *p);
    size_t (*usable)(void *p);
    int (*trim)(size_t pad);
    /* mapped/active from the allocator's own statistics; returns 0 if it has none */
    int (*stats)(uint64_t *mapped, uint64_t *active);
};
/* kind: "glibc", "arena" or "libc" (whatever malloc the process has: a preloaded library). */
int backend_open(struct backend *b, const char *kind, const char *family);

/* ---- engine.c: the replay loop ------------------------------------------------------------- */
enum { TOUCH_NONE, TOUCH_PAGE, TOUCH_FULL };
#define MAX_SEEDS 16

struct engine_opts {
    const char *log;
    /* A forked child starts with its parent's heap: before the log, these logs' events below
     * seed_upto (their fork points) are applied, oldest ancestor first, unmeasured. */
    const char *seed_log[MAX_SEEDS];
    uint64_t seed_upto[MAX_SEEDS];
    int nseeds;
    uint64_t every;                  /* sample period in events */
    uint64_t peak_event, stop_event; /* UINT64_MAX = none */
    int strict, touch;
    int keep_holes;              /* at stop_event: keep the hole list */
    volatile uint64_t *progress; /* shared word: events done, or NULL */
};
struct engine_result {
    struct sample *samples;
    uint64_t nsamples, cap;
    uint64_t events, bad_frees, inversions, skipped; /* bad: free of a block not live */
    uint64_t replay_ns, sample_ns;
    uint64_t stopped_at; /* the event the state is at */
    struct slots slots;
    struct holes holes;
    struct mlg_error err;
    int err_code;
    uint64_t log_threads;
};
/* Replays opts->log on b. Returns 0 or an mlg error code (r->err). */
int engine_run(const struct engine_opts *o, const struct backend *b, struct engine_result *r);

/* Times the same allocator calls in a tight loop, without decoding or lookups (bench). */
int engine_bare(const struct engine_opts *o, const struct backend *b, uint64_t *ns,
                uint64_t *calls);

/* ---- output.c ----------------------------------------------------------------------------- */
struct summary {
    char allocator[64], library[512], log[1024], threads_mode[8], touch[8], env[2048];
    uint64_t events, peak_live_requested, peak_live_event, peak_footprint, peak_rss, slop_at_peak;
    double footprint_ratio_at_peak, max_footprint_over_max_requested, events_per_sec;
    uint64_t worst_event, worst_holes_1m, worst_holes_8m, worst_largest_hole, worst_hole_bytes;
    uint64_t unknown_frees, double_frees; /* from the pre-pass (mlg_check) */
    uint64_t bad_frees;                   /* frees the replay skipped: their sum */
    int ok;
    char error[512];
};
void output_summarize(const struct engine_result *r, struct summary *s);
int output_tsv(const struct engine_result *r, struct mem_buf *b);
int output_json(const struct summary *s, struct mem_buf *b);
void output_tsv_header(struct mem_buf *b);

#endif

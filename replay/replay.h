/* replay.h - the internal header of replay/: one allocator per replay process, behind a backend
 * vtable; slot table, holes, sampling; mallog's own arena allocator.
 * Nothing in replay/ allocates its own bookkeeping through the allocator under test: mem.c maps
 * it, names it and keeps a registry so RSS and hole finding can leave it out. */
#ifndef MLG_REPLAY_H
#define MLG_REPLAY_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

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
/* Room for `need` elements of `size` bytes in the growable array whose pointer is at pp
 * (capacity *cap elements; doubled, from `first` when empty), contents kept. 0, or -1 (no
 * memory: the array and *cap as they were). */
int mem_reserve(void *pp, uint64_t *cap, uint64_t need, size_t size, uint64_t first);
/* A shared mapping (MAP_SHARED) of fd, or of anonymous memory if fd < 0: survives fork as the
 * same memory. Registered like mem_map; mem_unmap and mem_remap work on it. */
void *mem_map_shared(int fd, size_t len, const char *name);
/* An mlg_allocator over mem_map (each allocation its own mapping, rounded to pages, or a bump
 * arena for small ones). */
const struct mlg_allocator *mem_allocator(void);
/* Resident bytes of the whole pages inside [start, end) (mincore: a byte per page). */
uint64_t mem_resident(uint64_t start, uint64_t end);
/* Resident bytes of all registered regions. */
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

/* ---- slots.c: recorded address -> dense slot index (the decoder's side) ------------------- */
/* One record per slot, what a hole names about the block that bounds it. The records live in a
 * memfd so the replaying process can read them while the decoder (a forked process) writes
 * them; the replayed pointers are not here (the replaying process keeps them, engine.c). */
struct slot {        /* 32 bytes: two per cache line, never split across two */
    uint64_t size;   /* requested bytes */
    uint64_t event;  /* event that allocated it (a realloc counts as allocating) */
    uint64_t usable; /* malloc_usable_size, asked at the first sample the block is live in;
                        SLOT_UNASKED until then (written by the replaying side at a sample) */
    uint32_t thread; /* recorded thread; SLOT_DEAD once freed */
    uint32_t stack;  /* call-site id of the allocating event (mlg_event.stack), 0 = none */
};
#define SLOT_DEAD UINT32_MAX
#define SLOT_UNASKED UINT64_MAX
/* One bucket of the address map: a probe reads key, slot and hash from one cache line (4
 * buckets a line); the stored hash spares recomputing it when entries move. */
struct slot_ent {
    uint64_t key; /* recorded ptr, 0 = empty */
    uint32_t val; /* its slot index */
    uint32_t hash;
};
struct slots {
    struct slot_ent *t; /* open addressing, linear probing, load at most 1/2 */
    uint64_t mask, count;
    struct slot *v; /* cap records, shared mapping of fd */
    uint64_t n, cap;
    uint32_t *free; /* freed slot indexes, a stack (newest reused first); cap entries */
    uint64_t nfree;
    int fd;
    uint64_t live_blocks; /* as recorded (a replayed call that fails is still here) */
};
static inline uint32_t slots_hash(uint64_t k)
{
    k ^= k >> 29;
    k *= 0xbf58476d1ce4e5b9ull;
    k ^= k >> 32;
    return (uint32_t)k;
}
int slots_init(struct slots *s);
void slots_fini(struct slots *s);
#define SLOTS_UNKNOWN (-1) /* not live: never allocated, or already freed */
/* Index of the live slot for recorded ptr, or SLOTS_UNKNOWN. */
int64_t slots_find(const struct slots *s, uint64_t rec_ptr);
/* The same, and *bucket: where rec_ptr is (for slots_remove_at) or would go (for
 * slots_add_at), valid until the table next changes. */
static inline int64_t slots_find_bucket(const struct slots *s, uint64_t rec_ptr,
                                        uint64_t *bucket)
{
    uint64_t j = slots_hash(rec_ptr) & s->mask, k;
    while ((k = s->t[j].key) != 0) {
        if (k == rec_ptr) {
            *bucket = j;
            return (int64_t)s->t[j].val;
        }
        j = (j + 1) & s->mask;
    }
    *bucket = j;
    return SLOTS_UNKNOWN;
}
/* New live slot for rec_ptr; returns its index or -1 (no memory). A live slot already under
 * rec_ptr must have been removed first. May grow s->cap (the records' mapping moves). */
int64_t slots_add(struct slots *s, uint64_t rec_ptr, uint64_t size, uint64_t event,
                  uint32_t thread, uint32_t stack);
/* slots_add_at when the table or the records must grow first (slots.c). */
int64_t slots_add_grow(struct slots *s, uint64_t rec_ptr, uint64_t size, uint64_t event,
                       uint32_t thread, uint32_t stack);
/* slots_add with the bucket from a slots_find_bucket that found nothing. Inline: the decoder
 * calls it for every allocation. */
static inline int64_t slots_add_at(struct slots *s, uint64_t bucket, uint64_t rec_ptr,
                                   uint64_t size, uint64_t event, uint32_t thread,
                                   uint32_t stack)
{
    if (__builtin_expect((s->count + 1) * 2 > s->mask + 1 || (!s->nfree && s->n == s->cap), 0))
        return slots_add_grow(s, rec_ptr, size, event, thread, stack);
    uint64_t idx = s->nfree ? s->free[--s->nfree] : s->n++;
    s->t[bucket] = (struct slot_ent){rec_ptr, (uint32_t)idx, slots_hash(rec_ptr)};
    s->count++;
    s->v[idx] = (struct slot){size, event, SLOT_UNASKED, thread == SLOT_DEAD ? 0 : thread, stack};
    s->live_blocks++;
    return (int64_t)idx;
}
/* Frees slot idx (its index is reused by a later slots_add). */
void slots_remove(struct slots *s, int64_t idx, uint64_t rec_ptr);
/* slots_remove with the bucket slots_find_bucket gave. */
static inline void slots_remove_at(struct slots *s, int64_t idx, uint64_t j)
{
    /* only writes the record (a store does not wait for its cache line; a load would) */
    s->v[idx].thread = SLOT_DEAD;
    s->free[s->nfree++] = (uint32_t)idx;
    s->live_blocks--;
    s->count--;
    /* backward shift: pull later entries of the cluster into the gap when their home allows */
    struct slot_ent *t = s->t;
    uint64_t mask = s->mask;
    for (;;) {
        t[j].key = 0;
        uint64_t k = j;
        for (;;) {
            k = (k + 1) & mask;
            if (!t[k].key)
                return;
            uint64_t home = t[k].hash & mask;
            /* k's entry may move to j if its home is not in (j, k] cyclically */
            if (j <= k ? (home <= j || home > k) : (home <= j && home > k))
                break;
        }
        t[j] = t[k];
        j = k;
    }
}
/* A realloc in place: same slot, new size and allocating event, usable unasked. */
void slots_resize(struct slots *s, int64_t idx, uint64_t size, uint64_t event);
/* Read-ahead hints for an event a few events away (they change nothing): the bucket of rec_ptr;
 * its record (reads the bucket; only a realloc reads the record of the block it looks up). */
static inline void slots_prefetch_bucket(const struct slots *s, uint64_t rec_ptr)
{
    __builtin_prefetch(&s->t[slots_hash(rec_ptr) & s->mask]);
}
void slots_prefetch_slot(const struct slots *s, uint64_t rec_ptr);

/* ---- tape.c: the op tape, decoder -> replaying side ---------------------------------------- */
/* One allocator call (or a control step) on dense slot numbers, 16 bytes. a = size << 16 |
 * mlg op << 8 | kind. Kinds with an extra operand are followed by one TAPE_ARG record. */
enum {
    TAPE_NOP = 0,    /* padding (a zero record) */
    TAPE_ALLOC,  /* ptr[slot] = alloc(op, size, aux); aux: nmemb/alignment (< 2^32) */
    TAPE_ALLOC_ARG,  /* the same, arg too large for aux: next record's a is arg */
    TAPE_FREE,       /* free(ptr[slot]) */
    TAPE_REALLOC,    /* ptr[slot] = realloc(ptr[aux], size); next record's a: the old size */
    TAPE_REALLOC0,   /* ptr[slot] = realloc(NULL, size) */
    TAPE_TRIM,       /* malloc_trim(size) */
    TAPE_MALLOPT,    /* mallopt(slot, size): both the int the program passed, as 32 bits */
    TAPE_ARG,        /* operand of the record before */
    TAPE_GROW,       /* slot records and pointers now hold size slots */
    TAPE_CLOCK,      /* the fork ancestors' heap is built: the measured replay starts */
    TAPE_SAMPLE,     /* sample at event size; slot: slots in use; aux: keep the hole list */
    TAPE_END,        /* no more records */
    /* Only on the way to a tape file (tapefile.c), never played: what the decoder's slot
     * record of the next allocating record's block holds: event in size, stack in slot,
     * thread in aux. */
    TAPE_META,
    /* Only in a thread's stream of a threaded replay (threads.c), never in a tape: */
    TAPE_WAIT, /* wait until thread `slot` has published `size` records done */
    TAPE_PUB,  /* publish: this many records of the stream are done (strict hand-over) */
};
/* In a thread's stream, a record whose kind has this bit is played, then published (another
 * thread waits for it). play() treats it as a control record. */
#define TAPE_PUB_FLAG 0x80
#define TAPE_SIZE_MAX ((1ull << 48) - 1)
struct tape_op {
    uint64_t a;
    uint32_t slot, aux;
};
static inline struct tape_op tape_op(int kind, int op, uint64_t size, uint64_t slot, uint64_t aux)
{
    return (struct tape_op){size << 16 | (uint64_t)(op & 0xff) << 8 | (uint64_t)kind,
                            (uint32_t)slot, (uint32_t)aux};
}
#define TAPE_KIND(o) ((int)((o)->a & 0xff))
/* Whether a record of this kind is followed by its TAPE_ARG operand (the two are never split). */
static inline int tape_has_arg(int kind)
{
    return kind == TAPE_REALLOC || kind == TAPE_ALLOC_ARG;
}
#define TAPE_OP(o) ((int)(((o)->a >> 8) & 0xff))
#define TAPE_SIZE(o) ((o)->a >> 16)

/* A single-producer single-consumer ring of records in shared memory (MAP_SHARED, so the
 * producer may be a forked process). Counters only grow; the ring index is counter & mask. The
 * producer publishes every TAPE_PUBLISH records (or on tape_flush), the consumer returns space
 * as it goes; a side that cannot go on sleeps on a futex (shared: across processes) and is
 * woken only when the other side has made enough progress, so there is no spinning and about
 * one wake per few thousand records. */
#define TAPE_PUBLISH 256u
struct tape {
    _Alignas(64) _Atomic uint64_t tail; /* records published by the producer */
    _Atomic uint32_t tail_seq;          /* futex word: bumped on each publish the consumer awaits */
    _Atomic uint32_t cons_wait;         /* consumer sleeps until tail >= cons_want */
    _Atomic uint64_t cons_want;
    _Alignas(64) _Atomic uint64_t head; /* records consumed */
    _Atomic uint32_t head_seq;          /* futex word for the producer */
    _Atomic uint32_t prod_wait;         /* producer sleeps until head >= prod_want */
    _Atomic uint64_t prod_want;
    _Alignas(64) _Atomic uint32_t ack; /* samples taken (the decoder waits for each) */
    _Atomic uint32_t quit;             /* the consumer gave up: the producer stops */
    _Alignas(64) uint64_t mask;
    uint64_t w, w_pub; /* producer's private cursor and last published */
    uint64_t w_lim;    /* w may reach this without looking at head: min(room, the ring's end) */
    _Alignas(64) uint64_t r, r_pub; /* consumer's private cursor and last returned */
    _Alignas(64) struct tape_op ops[];
};
/* Maps a ring of 2^order records (shared memory, named mallog:tape). NULL on failure. */
struct tape *tape_new(unsigned order);
void tape_free(struct tape *t);
/* Producer: k (<= 64) contiguous free records at the write cursor, for the caller to fill and
 * then tape_commit: the ring's end is padded with TAPE_NOP records first if it would split them,
 * and it sleeps while the ring is full. NULL if the consumer quit. The fast path is a compare. */
struct tape_op *tape_reserve_slow(struct tape *t, unsigned k);
void tape_publish(struct tape *t);
static inline struct tape_op *tape_reserve(struct tape *t, unsigned k)
{
    if (__builtin_expect(t->w + k > t->w_lim, 0))
        return tape_reserve_slow(t, k);
    return &t->ops[t->w & t->mask];
}
/* Producer: n (<= k of the last tape_reserve) records are written. Published every
 * TAPE_PUBLISH records, so an event's records are never split by a publish. */
static inline void tape_commit(struct tape *t, unsigned n)
{
    t->w += n;
    if (t->w - t->w_pub >= TAPE_PUBLISH)
        tape_publish(t);
}
/* Producer: appends one record, sleeping while the ring is full. Returns 0, or -1 if the
 * consumer quit. */
int tape_put(struct tape *t, struct tape_op op);
/* Producer: a record and its TAPE_ARG operand, never split across the ring's end. */
int tape_put2(struct tape *t, struct tape_op op, struct tape_op arg);
/* Producer: publishes everything written so far and wakes the consumer if it waits. */
void tape_flush(struct tape *t);
/* Consumer: waits until at least one record is published (sleeping; want: how many to wait
 * for when the ring is empty, fewer if the producer flushes), then returns the readable run
 * up to the ring's end: *ops and the count. timeout_ms > 0: returns 0 records after that
 * long without any (the caller checks the producer is alive). */
uint64_t tape_get(struct tape *t, uint64_t want, int timeout_ms, const struct tape_op **ops);
/* Consumer: n records of the last run are done (their space goes back to the producer). */
void tape_done(struct tape *t, uint64_t n);
/* Producer: waits until the consumer has acknowledged `n` samples (or quit: returns -1). */
int tape_wait_ack(struct tape *t, uint32_t n);
/* Consumer: acknowledges one more sample; quit: also tells the producer to stop. */
void tape_ack(struct tape *t, int quit);

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
    uint64_t anon_resident; /* resident bytes in those ranges: the mappings' Rss (smaps) minus
                               the replayer's own pages inside them, else mincore */
    int have_rss;           /* the text parsed had Rss lines */
    uint64_t anon_rss, cut_resident;
};
int holes_init(struct holes *h);
void holes_fini(struct holes *h);
void holes_clear(struct holes *h);
int holes_add_block(struct holes *h, uint64_t start, uint64_t end, uint64_t slot);
/* Sorts the blocks, reads /proc/self/maps (and smaps past a huge mapping), finds the holes (>= MLG_HOLE_MIN, both sides live
 * blocks, the whole gap mapped) and fills the hole metrics of *s. keep_list: also keep every
 * hole in h->h (for `mallog holes`), largest first. Returns 0 or -1. */
int holes_scan(struct holes *h, struct sample *s, int keep_list);
/* Index of the range of h (sorted, from holes_parse_maps) containing addr, or -1. */
int64_t holes_find_range(const struct holes *h, uint64_t addr);
/* Sorts n 16-byte records (first 8 bytes = unsigned key) ascending; tmp has room for n. */
void holes_sort(struct hole_block *v, struct hole_block *tmp, uint64_t n);
/* Parses maps or smaps text into sorted, merged anonymous ranges (and their Rss, from smaps).
 * Exposed for tests. */
int holes_parse_maps(struct holes *h, const char *text, size_t len);

/* ---- cow.c: copy-on-write after a fork (the allocator's pages only) ----------------------- */
/* Bytes, over the allocator's ranges (read-write anonymous, not the replayer's own). */
struct cow_figures {
    uint64_t inherited; /* present when the snapshot was taken (the fork) */
    uint64_t unshared;  /* of those, now mapped by this process alone (pagemap bit 56) */
    uint64_t fresh;     /* pages present now, mapped alone, not present at the snapshot */
    uint64_t pss;       /* proportional set size of the allocator's mappings (smaps) */
    uint64_t shared;    /* the part of pss in pages other processes map too */
};
struct cow {
    struct holes h;          /* the allocator's ranges (holes_parse_maps), now */
    uint64_t (*inh)[3];      /* ranges at the snapshot: start, end, first bit */
    uint64_t ninh, cap_inh;
    uint64_t *bits, cap_bits; /* a bit per page of inh: present at the snapshot */
    uint64_t inherited;
    int have_snapshot;
    uint64_t *pm; /* pagemap read buffer */
    struct mem_buf smaps;
};
int cow_init(struct cow *c);
void cow_fini(struct cow *c);
/* The allocator's pages present now become the inherited set (called right after a fork). */
int cow_snapshot(struct cow *c);
/* The figures now. 0, or -1 (/proc unreadable, no memory). */
int cow_measure(struct cow *c, struct cow_figures *f);

/* ---- tree.c: a recorded process tree replayed with real forks (--tree) --------------------- */
#define TREE_MAX_PROCS 256
#define TREE_SAMPLES 128 /* periodic (~32), one after each fork, the end */
#define TREE_MAGIC 0x6d6c6774u /* "mlgt" */
struct tree_sample {
    uint64_t event, t_ns;
    struct cow_figures f;
};
/* One recorded process (one log: an exec'd image is a process of its own, started fresh). The
 * plan (up to `events`) is the parent's; the rest is written by the process replaying it. */
struct tree_proc {
    char log[4096];
    uint64_t pid, fork_parent, fork_seq, events, every;
    uint32_t exec_gen;
    int parent;         /* index of the fork parent replayed here, -1: a root (starts fresh) */
    int missing_parent; /* forked, but the parent's log is not there: replayed alone */
    /* results */
    int state; /* 0 not run, 1 done, 2 failed */
    uint64_t replayed, unknown_frees, skipped;
    uint64_t inherited_frees, inherited_freed; /* frees of blocks made before its fork; bytes */
    struct cow_figures end, peak; /* at its end (every process of the tree alive), the maxima */
    uint64_t nsamples;
    struct tree_sample s[TREE_SAMPLES];
    char error[256];
};
struct tree_shared {
    uint32_t magic, n;
    _Atomic uint32_t done, measured, failed;
    struct tree_proc p[TREE_MAX_PROCS];
};
/* Replays the tree in t (shared memory, results written into it) on b: each root in a process
 * forked from this one, each forked child forked from its parent's replay at its fork point.
 * Every process, after its log, waits for the others, measures its end, waits again, exits.
 * Returns 0, or -1 if a process failed (its error in t). */
struct backend;
int tree_run(struct tree_shared *t, const struct backend *b, int touch);

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
/* Placement of large chunks: "best" (the default: smallest fitting, lowest address on ties),
 * "first" (lowest address that fits), "next" (first fit from where the last placed chunk
 * ends, wrapping), "seg1", "seg2", "seg4", "seg8" (segregated fits: requests rounded up to
 * size classes, N per power of two; the first chunk of the class's bin that fits). Set before
 * the first allocation (or after arena_reset). 0, or -1 for an unknown name (unchanged). */
enum { ARENA_BEST, ARENA_FIRST, ARENA_NEXT, ARENA_SEG };
int arena_set_policy(const char *name);
/* Whether name is a placement policy arena_set_policy takes (best, first, next, seg1..seg8). */
int arena_policy_known(const char *name);
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
    int (*mallopt)(int param, int value); /* glibc only: other allocators ignore its params */
    /* mapped/active from the allocator's own statistics; returns 0 if it has none */
    int (*stats)(uint64_t *mapped, uint64_t *active);
};
/* kind: "glibc", "arena" or "libc" (whatever malloc the process has: a preloaded library). */
int backend_open(struct backend *b, const char *kind, const char *family);
/* Makes b callable from several threads at once (the threaded replay): mallog's arena gets a
 * lock; every other allocator is thread-safe as it is. usable and stats run at cuts only. */
void backend_thread_safe(struct backend *b);
/* Whether the process's malloc, free, realloc and calloc are those of the loaded library lib
 * (a path; a preloaded one). 0, or -1 with why (a sentence: "is not loaded ...", "does not
 * export malloc ..."). Allocates through the allocator under test (dlopen): before a replay. */
int backend_serves(const char *lib, char *why, size_t len);

/* ---- engine.c: the replay loop ------------------------------------------------------------- */
enum { TOUCH_NONE, TOUCH_PAGE, TOUCH_FULL };
/* How recorded threads are replayed. SERIAL: every event on one thread (fast; one glibc arena).
 * STRICT: each recorded thread on a thread of its own, in the recorded global order
 * (deterministic). FAITHFUL: each on a thread of its own, running freely but for the order that
 * matters (a block is freed after it was allocated; thread start/end, trim, mallopt and samples
 * at a global cut). The names are the --threads values. */
enum { THREADS_SERIAL, THREADS_STRICT, THREADS_FAITHFUL };
extern const char *const threads_mode_names[3];
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
    int threads, touch;          /* THREADS_*, TOUCH_* */
    int archive;                 /* threaded: decode everything, then play (--bench) */
    int in_process;              /* serial mode: decode in this process (no pipeline; tests) */
    int keep_holes;              /* at stop_event: keep the hole list */
    volatile uint64_t *progress; /* shared word: events done, or NULL */
    int tape_fd, meta_fd;        /* serial mode, > 0: the tape files to replay (tapefile.c);
                                    0: decode the log here */
};
struct engine_result {
    struct sample *samples;
    uint64_t nsamples, cap;
    uint64_t events, bad_frees, inversions, skipped; /* bad: free of a block not live */
    uint64_t replay_ns, sample_ns;
    /* The replayed calls alone, sampling and decoding left out: wall and CPU (every thread of
     * the replaying process) from CLOCK to END. What --bench times. */
    uint64_t play_ns, play_cpu_ns, sample_cpu_ns;
    uint64_t stopped_at; /* the event the state is at */
    /* Slot i's record (size, event, thread, stack, usable once asked; a view of the decoder's)
     * and its replayed block (NULL: the replayed call failed). Live: meta[i].thread !=
     * SLOT_DEAD, i < nslots (as of the last sample). */
    struct slot *meta;
    void **ptrs;
    uint64_t nslots, cap_slots;
    struct holes holes;
    struct mlg_error err;
    int err_code;
    uint64_t log_threads;
};
/* The replaying side, shared by the pipeline, the tape files and the threaded replay. */
struct player {
    const struct backend *b;
    int touch, err;
    struct engine_result *r;
    int meta_fd;
    uint64_t skipped;
    int threaded;  /* threads.c times the playing itself (r->play_ns, play_cpu_ns) */
    uint64_t cpu0; /* process CPU time at CLOCK */
};
/* CPU time of the whole process (all threads), ns. */
uint64_t engine_cpu_ns(void);
/* Executes records until n are done or a control record (CLOCK, SAMPLE, END, or any record
 * play does not know, such as TAPE_WAIT or a TAPE_PUB_FLAG record) is met. Returns how many
 * were consumed, the control record included (*ctl: its index, else -1). The measured loop. */
uint64_t engine_play(struct player *pl, const struct tape_op *v, uint64_t n, int64_t *ctl);
/* Handles CLOCK, SAMPLE or END; returns 1 at END, 0 to go on, -1 on failure (r->err_code). */
int engine_control(struct player *pl, const struct tape_op *op, uint64_t *t0);
/* Slots now number cap: the pointer array and the view of the records follow. 0 or -1. */
int engine_grow_slots(struct player *pl, uint64_t cap);
/* Where the decoder's records go when it runs in the replaying process: emit gets the records
 * of one event (ev) or one control record (ev NULL: CLOCK, SAMPLE, END; it returns once that
 * is done). Returns 0, or -1 to stop decoding. */
struct sink {
    int (*emit)(struct sink *k, const struct tape_op *v, int n, const struct mlg_event *ev);
};

/* Replays opts->log on b. Returns 0 or an mlg error code (r->err). */
int engine_run(const struct engine_opts *o, const struct backend *b, struct engine_result *r);

/* What the decoder reports (shared memory when it is a forked process). */
struct dec_out {
    uint64_t events, bad_frees, inversions, skipped, log_threads, stopped_at;
    struct mlg_error err;
    int err_code;
};
/* Forks a decoder process that writes the tape of o's log into t, with a TAPE_META before each
 * allocating record, and its results into out (shared memory). Returns its pid or -1. */
pid_t engine_spawn_file_decoder(const struct engine_opts *o, struct tape *t, struct dec_out *out);

/* ---- threads.c: the threaded replay (strict and faithful) ---------------------------------- */
/* A sink that plays each recorded thread's records on a replay thread of its own (thread 0 on
 * the calling thread). slots: the decoder's table (a slot freed by one thread is not reused by
 * another before the next global cut). archive (--bench, whose only sample is at the end): keep
 * every epoch and play them all after END, back to back, so the replay threads never wait while
 * the log is decoded (~24 bytes an event of memory). NULL if out of memory. */
struct sink *threads_new(struct player *pl, struct slots *slots, int mode, int archive);
/* After END or a failure: stops every replay thread; *t0: when CLOCK was played. Returns the
 * error of a replay thread (an mlg code) or 0, and frees the sink. */
int threads_finish(struct sink *k, uint64_t *t0);

/* ---- tapefile.c: a log decoded once into files, replayed by every worker ----------------- */
#define TAPEFILE_CHUNK 4096u /* op records per read; no record and operand straddle two */
/* Writes the tape of o's log (samples as o says) to fd (op records) and meta_fd (what the slot
 * records of allocated blocks hold), two empty files: a forked decoder fills the ring, this
 * process drains it into the files. Returns 0, or -1 with errno (decode in each worker
 * instead). progress, if not NULL, is called now and then with the events decoded so far. */
int tapefile_make(const struct engine_opts *o, int fd, int meta_fd,
                  void (*progress)(uint64_t events));
/* The op file's record count and the decoder's results; 0, or -1 if fd is not a tape file. */
int tapefile_open(int fd, uint64_t *records, struct dec_out *out);
/* Reads the chunk of op records starting at `at` (a multiple of TAPEFILE_CHUNK) into buf
 * (TAPEFILE_CHUNK records of room); returns how many (0: a read error). */
uint64_t tapefile_read(int fd, struct tape_op *buf, uint64_t at, uint64_t records);
/* The slot records (size, allocating event, thread, call site) that samples read are kept
 * apart from the measured loop: at each sample, the op records from the last sample on are read
 * again, with their meta records, and applied (time counted as the sample's). */
struct tapefile_catchup {
    int fd, meta_fd;
    uint64_t records;
    struct tape_op *ops; /* a chunk of op records: [next, n) not applied yet, from `at` */
    uint64_t at, n, next;
    void *metas; /* a chunk of meta records: [next_meta, n_metas), from meta_at */
    uint64_t meta_at, n_metas, next_meta;
    int slots_fd;       /* the memfd behind the slot records */
    uint64_t slots_cap; /* records it holds */
};
/* buf: 2 * TAPEFILE_CHUNK records of room; slots_fd holds slots_cap records now. */
void tapefile_catchup_init(struct tapefile_catchup *c, int fd, int meta_fd, uint64_t records,
                           struct tape_op *buf, int slots_fd, uint64_t slots_cap);
/* Applies records to v (cap records: the view, grown as TAPE_GROW was played) up to the next
 * TAPE_SAMPLE, extending the memfd on TAPE_GROW. Returns 0, or -1 if the files end first or
 * disagree with each other (damaged). */
int tapefile_catchup(struct tapefile_catchup *c, struct slot *v, uint64_t cap);

/* Times the same allocator calls in a tight loop, without decoding or lookups (bench). */
int engine_bare(const struct engine_opts *o, const struct backend *b, uint64_t *ns,
                uint64_t *calls);

/* ---- prepass.c: what the parent learns from the log before starting workers -------------- */
struct prepass {
    int damaged; /* the log is damaged after `events` events (err) */
    int in_progress; /* the log is being written (its process runs): read up to `events` */
    uint64_t pid;
    uint64_t events, peak_event, peak_bytes, peak_blocks, threads;
    uint64_t unknown_frees, double_frees; /* as mlg_check classifies them */
    struct mlg_error err;
};
/* One pass over the log at path, its fork ancestors' live blocks seeded first (as
 * rec_seed_inherited does): the counts above, exactly mlg_check's. Returns 0; a reader error
 * code if the log cannot be opened (*err); -1 if the result would not be exact (no memory, or a
 * block of 2^63 bytes or more in a damaged log): the caller then uses mlg_check. */
int prepass_run(const char *path, struct prepass *pp, struct mlg_error *err);

/* ---- output.c ----------------------------------------------------------------------------- */
struct summary {
    char allocator[64], library[512], log[1024], threads_mode[16], touch[8], env[2048];
    uint64_t events, peak_live_requested, peak_live_event, peak_footprint, peak_rss, slop_at_peak;
    double footprint_ratio_at_peak, max_footprint_over_max_requested, events_per_sec;
    uint64_t worst_event, worst_holes_1m, worst_holes_8m, worst_largest_hole, worst_hole_bytes;
    uint64_t worst_hole_resident; /* resident bytes in the holes of the worst sample */
    uint64_t unknown_frees, double_frees; /* from the pre-pass (mlg_check) */
    uint64_t bad_frees;                   /* frees the replay skipped: their sum */
    uint64_t failed_calls; /* allocations that succeeded in the log and failed in the replay */
    /* --bench (bench = 1) and --repeat: over `runs` replays of this allocator, the median of
     * each figure above and, here, the spread. replay_seconds: the replayed calls alone. */
    int bench, runs;
    double replay_seconds, replay_seconds_min, replay_seconds_max, replay_cpu_seconds;
    uint64_t peak_footprint_min, peak_footprint_max, peak_rss_min, peak_rss_max;
    int ok;
    char error[512];
};
void output_summarize(const struct engine_result *r, struct summary *s);
int output_tsv(const struct engine_result *r, struct mem_buf *b);
int output_json(const struct summary *s, struct mem_buf *b);
void output_tsv_header(struct mem_buf *b);

/* ---- commands (cmd.c): entries of cli/commands.h --------------------------------------- */
int cmd_replay(int argc, char **argv);
int cmd_holes(int argc, char **argv);

#endif

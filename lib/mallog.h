/* mallog.h - the public API of the trace format library (lib/).
 *
 * lib/ is the only code that knows the byte format of a .mlog file (docs/FORMAT.md). Every tool
 * reads logs through mlg_reader_* and writes them through mlg_writer_*. lib/ never prints, never
 * exits, keeps no global mutable state, and allocates only through the caller's mlg_allocator, so a
 * replayer can keep its own memory out of the allocator it measures.
 */
#ifndef MALLOG_H
#define MALLOG_H

#include <stddef.h>
#include <stdint.h>

#define MLG_FORMAT_VERSION 1

/* Every event kind, defined once: X(NAME, code, "name", kind).
 * kind: A = allocates a block, F = frees, R = reallocates, Q = query/tuning call, L = lifecycle,
 * B = a block live at a segment's checkpoint (not a call: see lib/heap.h). */
#define MLG_OPS(X)                                                                                 \
    X(MALLOC, 1, "malloc", A)                                                                      \
    X(CALLOC, 2, "calloc", A)                                                                      \
    X(REALLOC, 3, "realloc", R)                                                                    \
    X(FREE, 4, "free", F)                                                                          \
    X(POSIX_MEMALIGN, 5, "posix_memalign", A)                                                      \
    X(ALIGNED_ALLOC, 6, "aligned_alloc", A)                                                        \
    X(MEMALIGN, 7, "memalign", A)                                                                  \
    X(VALLOC, 8, "valloc", A)                                                                      \
    X(PVALLOC, 9, "pvalloc", A)                                                                    \
    X(REALLOCARRAY, 10, "reallocarray", R)                                                         \
    X(USABLE_SIZE, 11, "malloc_usable_size", Q)                                                    \
    X(TRIM, 12, "malloc_trim", Q)                                                                  \
    X(MALLOPT, 13, "mallopt", Q)                                                                   \
    X(REALLOC_RELEASE, 14, "realloc_release", F)                                                   \
    X(LIVE, 15, "live", B)                                                                         \
    X(THREAD_START, 16, "thread_start", L)                                                          \
    X(THREAD_END, 17, "thread_end", L)                                                             \
    X(FORK, 18, "fork", L)                                                                         \
    X(EXEC, 19, "exec", L)                                                                         \
    X(EXIT, 20, "exit", L)                                                                         \
    X(LOST, 21, "lost", L)

enum mlg_op {
    MLG_OP_NONE = 0,
#define MLG_X_ENUM(name, code, str, kind) MLG_OP_##name = code,
    MLG_OPS(MLG_X_ENUM)
#undef MLG_X_ENUM
    MLG_OP_COUNT = 32 /* op codes fit in 5 bits; arrays indexed by op use this bound */
};

/* What happened, explicitly, so no consumer has to guess from a NULL result. */
#define MLG_OUTCOMES(X)                                                                            \
    X(OK, 0, "ok")                  /* allocated / freed / answered */                               \
    X(FAILED, 1, "failed")          /* returned NULL / ENOMEM; a realloc's old block stays live */  \
    X(FREED, 2, "freed")            /* realloc(p, 0) freed p and returned NULL */                    \
    X(INPLACE, 3, "in-place")       /* realloc returned its input pointer */                         \
    X(MOVED, 4, "moved")            /* realloc returned a new block; the old one is gone */          \
    X(OVERFLOW, 5, "overflow")      /* calloc/reallocarray nmemb*size overflowed: ENOMEM, no call */ \
    X(EINVAL, 6, "einval")          /* bad alignment */                                              \
    X(OLD_RELEASED, 7, "moved*")    /* moved; the old block was released by an earlier            \
                                       REALLOC_RELEASE event (another thread ran in between) */

enum mlg_outcome {
#define MLG_X_ENUM(name, code, str) MLG_OUT_##name = code,
    MLG_OUTCOMES(MLG_X_ENUM)
#undef MLG_X_ENUM
    MLG_OUT_COUNT
};

/* How a process ended, as far as the recording knows. */
#define MLG_ENDS(X)                                                                                \
    X(VANISHED, 0, "vanished (killed or crashed; no exit was seen)")                              \
    X(EXIT, 1, "exit")                                                                             \
    X(UNDERSCORE_EXIT, 2, "_exit")                                                                 \
    X(EXEC, 3, "exec")                                                                             \
    X(SIGNAL, 4, "killed by signal")                                                               \
    X(RUNNING, 5, "still running when packed")                                                    \
    X(SEGMENT, 6, "continued in the next segment")

enum mlg_end {
#define MLG_X_ENUM(name, code, str) MLG_END_##name = code,
    MLG_ENDS(MLG_X_ENUM)
#undef MLG_X_ENUM
    MLG_END_COUNT
};

/* One decoded event. Fields an op does not use are 0. */
struct mlg_event {
    uint64_t index;   /* 0-based position in this log */
    uint64_t seq;     /* global sequence number in the recorded process (realloc: after the call) */
    uint64_t seq_rel; /* realloc only: number taken before the call (release point) */
    uint64_t time_ns; /* monotonic ns since the process started (precision: FORMAT.md) */
    uint64_t ptr;     /* block returned (alloc/realloc), freed (free), asked about (usable size) */
    uint64_t old_ptr; /* realloc/reallocarray/realloc_release: the block passed in */
    uint64_t size;    /* bytes requested; calloc/reallocarray: nmemb*size (saturated on overflow) */
    uint64_t arg;     /* calloc/reallocarray: nmemb; memalign family: alignment; mallopt: param;
                         malloc_trim: pad; exit: 1 = exit(), 2 = _exit() */
    int64_t result;   /* usable size, trim/mallopt return, exit status, fork child pid,
                         thread_start os tid, lost: number of events lost */
    uint32_t thread;  /* thread serial in this process, 0 = first thread seen */
    uint32_t stack;   /* allocating ops recorded with --stacks: call site, an id in the log's
                         stack table (mlg_reader_stack); 0 = none */
    uint8_t op;       /* enum mlg_op */
    uint8_t outcome;  /* enum mlg_outcome */
};

#define MLG_STR_MAX 4096
#define MLG_ARGV_MAX 8192

struct mlg_header {
    uint32_t version;
    uint64_t pid, ppid;
    uint32_t exec_gen;       /* 0 = first image of this pid, n = after n execs */
    uint64_t parent_pid;     /* fork parent whose log this one continues, 0 = none */
    uint32_t parent_gen;     /* exec generation of the parent's log */
    uint64_t fork_seq;       /* parent's sequence number at the fork */
    uint64_t start_realtime_ns;
    uint32_t page_size, nproc;
    uint32_t argc;
    char exe[MLG_STR_MAX];
    char argv[MLG_ARGV_MAX];      /* argc NUL-terminated strings back to back */
    char glibc_version[64];
    char malloc_lib[512];         /* library whose malloc the program's calls reached */
    char malloc_shadowed[512];    /* a different malloc the program would have used, or "" */
    char env[MLG_STR_MAX];        /* MALLOC_*, GLIBC_TUNABLES, LD_PRELOAD: "K=V\n" lines */
    uint32_t segment;             /* 0 = the whole log of the process; k = its k-th segment
                                     (recorded with --max-size), which starts with a checkpoint */
};

/* The trailer: totals and how the process ended. Missing when the log is incomplete. */
struct mlg_trailer {
    uint64_t events;
    uint64_t frames;
    uint64_t lost_events;   /* records the recorder could not write or the packer could not read */
    uint64_t threads;
    uint64_t last_seq;
    uint32_t end;           /* enum mlg_end */
    int32_t end_status;     /* exit status, or signal number for MLG_END_SIGNAL */
    uint64_t op_counts[MLG_OP_COUNT];
    uint64_t end_time_ns;   /* when the process ended (ns since its start, never before the last
                               event); 0 = not known (killed, or a log from before this field) */
    char next_segment[256]; /* end SEGMENT: the file name (no directory) of the next segment */
};

/* Errors: a stable code plus where it happened. */
#define MLG_ERRORS(X)                                                                              \
    X(OK, 0, "ok")                                                                                 \
    X(IO, 1, "I/O error")                                                                          \
    X(NOMEM, 2, "out of memory")                                                                   \
    X(EMPTY, 3, "empty file")                                                                      \
    X(NOT_MLOG, 4, "not a mallog log")                                                             \
    X(VERSION, 5, "unsupported format version")                                                    \
    X(TRUNCATED, 6, "truncated")                                                                   \
    X(CORRUPT, 7, "corrupt data")                                                                  \
    X(CHECKSUM, 8, "checksum mismatch")                                                            \
    X(ZSTD, 9, "zstd error")                                                                       \
    X(EXISTS, 10, "file exists")                                                                   \
    X(ARG, 11, "invalid argument")                                                                 \
    X(STOPPED, 12, "stopped by visitor")

enum mlg_errcode {
#define MLG_X_ENUM(name, code, str) MLG_E_##name = code,
    MLG_ERRORS(MLG_X_ENUM)
#undef MLG_X_ENUM
};

struct mlg_error {
    int code;              /* enum mlg_errcode */
    uint64_t offset;       /* byte offset in the file where the damage starts */
    uint64_t event;        /* index of the first event not delivered */
    int sys_errno;         /* for MLG_E_IO */
    char detail[160];      /* extra words: "frame 3: zstd: Restored data doesn't match checksum" */
};

/* Allocation hooks for lib/: a replayer passes an mmap-backed allocator. NULL = libc malloc. */
struct mlg_allocator {
    void *(*alloc)(void *ctx, size_t size);
    void (*free)(void *ctx, void *ptr, size_t size);
    void *ctx;
};

const char *mlg_op_name(int op);
int mlg_op_from_name(const char *name); /* 0 if unknown */
char mlg_op_kind(int op);               /* 'A', 'F', 'R', 'Q', 'L' or 0 */
const char *mlg_outcome_name(int outcome);
const char *mlg_end_name(int end);
const char *mlg_strerror(int code);
/* "what at byte N (event M)" into buf; returns buf. */
const char *mlg_error_format(const struct mlg_error *err, char *buf, size_t len);

/* ---- reading ---------------------------------------------------------------------------- */

struct mlg_reader;

/* Opens a log and reads its header. Returns 0 or an error code (err filled). */
int mlg_reader_open(struct mlg_reader **out, const char *path, const struct mlg_allocator *alloc,
                    struct mlg_error *err);
/* Same, on an already open fd (not closed by the reader). */
int mlg_reader_open_fd(struct mlg_reader **out, int fd, const char *name,
                       const struct mlg_allocator *alloc, struct mlg_error *err);
const struct mlg_header *mlg_reader_header(const struct mlg_reader *r);
/* Next event: 1 = ev filled, 0 = clean end of log, < 0 = -code, error in mlg_reader_error().
 * Every event before the damage is delivered before an error is returned. */
int mlg_reader_next(struct mlg_reader *r, struct mlg_event *ev);
const struct mlg_error *mlg_reader_error(const struct mlg_reader *r);
/* Up to n (> 0) next events into ev[0..n-1], the same events as n calls of mlg_reader_next, decoded
 * in one loop (the fast way to read a whole log). Returns how many were filled (> 0), 0 = clean end
 * of log, < 0 = -code. A batch ends early at damage: the events before it are returned first, and
 * the next call returns the error. */
int mlg_reader_next_batch(struct mlg_reader *r, struct mlg_event *ev, int n);
/* An event as a heap analysis needs it: struct mlg_event without index, seq, seq_rel, arg and
 * stack (48 bytes, not 88, so a batch of them stays in the L1 cache). Records come in log order;
 * the k-th record read from a log is event index k. */
struct mlg_rec {
    uint64_t ptr, old_ptr, size;
    int64_t result;
    uint64_t time_ns;
    uint32_t thread;
    uint8_t op, outcome;
};
/* mlg_reader_next_batch, into records: the same events, return values and errors. */
int mlg_reader_next_recs(struct mlg_reader *r, struct mlg_rec *v, int n);
/* After the end: the trailer, or NULL if the log has none (incomplete). */
const struct mlg_trailer *mlg_reader_trailer(const struct mlg_reader *r);
uint64_t mlg_reader_frames(const struct mlg_reader *r);     /* whole frames read so far */
uint64_t mlg_reader_offset(const struct mlg_reader *r);     /* bytes consumed so far */
uint64_t mlg_reader_file_size(const struct mlg_reader *r);  /* 0 if unknown (pipe) */
/* 1 if the log is being written now (a recording in progress: its writer holds a lock on the
 * file): the reader then ends cleanly at the last complete frame, with no trailer. */
int mlg_reader_in_progress(const struct mlg_reader *r);
/* The file being read: a segment's trailer names the next segment, and the reader goes on into it
 * (docs/FORMAT.md, "Segments"), so this is the last one opened. */
const char *mlg_reader_path(const struct mlg_reader *r);
void mlg_reader_close(struct mlg_reader *r);

/* Visitor interface over the reader: on_event returning nonzero stops with MLG_E_STOPPED. */
struct mlg_visitor {
    void *ctx;
    int (*on_header)(void *ctx, const struct mlg_header *h);
    int (*on_event)(void *ctx, const struct mlg_event *ev);
    void (*on_end)(void *ctx, const struct mlg_trailer *t, const struct mlg_error *err);
};
/* Reads a whole log through a visitor. Returns 0 or an error code; on_end always runs once the
 * header was read, with err->code != 0 if the log was damaged. */
int mlg_read_file(const char *path, const struct mlg_visitor *v, const struct mlg_allocator *alloc,
                  struct mlg_error *err);

/* ---- writing ---------------------------------------------------------------------------- */

struct mlg_writer;

/* Packing into segments (mallog record --max-size): the packer closes a log at about max_bytes
 * and goes on in the next, which starts with a checkpoint of the live blocks. Where the files go
 * and how old ones are dropped is the caller's business. */
struct mlg_segments {
    uint64_t max_bytes;  /* > 0 */
    /* the file segment k (1, 2, ...) is written to; returns 0, or -1 (packing stops) */
    int (*path)(void *ctx, uint32_t k, char *out, size_t len);
    /* segment k is complete (trailer written) at path; segment k + 1 exists already */
    void (*done)(void *ctx, uint32_t k, const char *path);
    /* tests: called after every 4096 checkpoint blocks written (may not return); may be NULL */
    void (*checkpoint_progress)(void *ctx, uint64_t blocks);
    void *ctx;
};

struct mlg_writer_options {
    int zstd_level;          /* 0 = default (3) */
    size_t frame_bytes;      /* uncompressed bytes per frame, 0 = default (1 MiB) */
    const struct mlg_segments *segments; /* packing only: NULL = one log */
};

/* Creates path (O_EXCL|O_NOFOLLOW, mode 0600): never overwrites, never follows a symlink. */
int mlg_writer_create(struct mlg_writer **out, const char *path, const struct mlg_header *h,
                      const struct mlg_writer_options *opt, struct mlg_error *err);
/* Events must come in log order (by seq; ev->index and ev->time_ns are assigned by the writer
 * from the order and from ev->time_ns respectively). */
int mlg_writer_add(struct mlg_writer *w, const struct mlg_event *ev, struct mlg_error *err);
/* Flushes the last frame and writes the trailer (end, end_status from t; counts are the writer's).
 * t == NULL leaves the log without a trailer (as a crashed writer would). Frees w. */
int mlg_writer_finish(struct mlg_writer *w, const struct mlg_trailer *t, struct mlg_error *err);
/* Writes the open frame now, so that a reader of the growing log sees the events added so far. */
int mlg_writer_flush(struct mlg_writer *w, struct mlg_error *err);
/* Bytes written to the file so far (the open frame not counted). */
uint64_t mlg_writer_bytes(const struct mlg_writer *w);

#define MLG_STACK_DEPTH_MAX 256u /* frames per recorded stack, at most */

/* Call sites (logs recorded with --stacks): definitions must come before the first event that
 * uses them, ids in order from 1. The writer puts them in a sites frame ahead of the event frame. */
struct mlg_module {
    uint64_t start, end;   /* the executable mapping in the recorded process */
    uint64_t file_offset;  /* file offset mapped at start */
    const char *path;
};
int mlg_writer_add_module(struct mlg_writer *w, uint32_t id, const struct mlg_module *m,
                          struct mlg_error *err);
/* pcs: return addresses, innermost first (pcs[0] is in the function that called malloc). */
int mlg_writer_add_stack(struct mlg_writer *w, uint32_t id, const uint64_t *pcs, uint32_t depth,
                         struct mlg_error *err);

/* ---- packing: the recorder's spool file -> a .mlog ------------------------------------------- */

struct mlg_pack_result {
    uint64_t events, lost_events, threads, raw_bytes, log_bytes;
    uint32_t end;
    int32_t end_status;
    uint64_t pid;
    uint32_t exec_gen;
};

/* Converts a spool written by libmallog.so into a compressed log at out_path. If the launcher knows
 * better how the process ended (it waited for it), end/end_status override; pass end = -1 if not.
 * The spool is left in place; the caller unlinks it on success. With opt->segments, the log goes
 * into segments named by its callbacks (out_path is not used, and may be NULL), a checkpoint of
 * the live blocks at the start of each after the first; res->log_bytes is the last one's size. */
int mlg_pack_spool(const char *spool_path, const char *out_path, int end, int end_status,
                   const struct mlg_writer_options *opt, struct mlg_pack_result *res,
                   struct mlg_error *err);
/* The same in steps, while the process runs: open, then step as often as you like (each step
 * writes the events that are final by now; final != 0 once the process is gone), then finish
 * (which does a final step and writes the trailer) or abandon (removes the partial log). */
struct mlg_packer;
int mlg_packer_open(struct mlg_packer **out, const char *spool_path, const char *out_path,
                    const struct mlg_writer_options *opt, struct mlg_error *err);
int mlg_packer_step(struct mlg_packer *pk, int final, uint64_t *progress, struct mlg_error *err);
int mlg_packer_finish(struct mlg_packer *pk, int end, int end_status, struct mlg_pack_result *res,
                      struct mlg_error *err);
void mlg_packer_abandon(struct mlg_packer *pk);
/* Makes the events packed so far readable (mlg_writer_flush); for a reader of the recording in
 * progress. 0 or an error code. */
int mlg_packer_flush(struct mlg_packer *pk, struct mlg_error *err);
/* How the spool says its process ended; returns 0 while it has not said. */
int mlg_packer_spool_end(const struct mlg_packer *pk, int *end, int *status);
/* Reads just the identity of a spool (pid, gen) and whether its process recorded an end. */
int mlg_spool_peek(const char *spool_path, struct mlg_header *h, int *end, struct mlg_error *err);

/* ---- frames: a log's metadata without decompressing its events (frames.c) ------------------ */

/* Called for each frame of a variant in `want` (a mask of 1 << variant): its body and offset.
 * Returns 0 to go on, or an error code (after filling err) to stop. */
typedef int (*mlg_frame_fn)(void *ctx, unsigned variant, const uint8_t *body, uint32_t len,
                            uint64_t off, struct mlg_error *err);
/* Reads every metadata frame of a log and seeks over the zstd frames of events. 0, or the error
 * that stopped the walk (damage: the frames before it were delivered). */
int mlg_frames_walk(const char *path, unsigned want, mlg_frame_fn fn, void *ctx,
                    struct mlg_error *err);
/* The events of a log, summed from its frame metadata (cheap: a log of 1 GB is a few thousand
 * reads). On damage, *events counts the whole frames before it. */
int mlg_log_events(const char *path, uint64_t *events, struct mlg_error *err);

/* ---- call sites: the stack table of a log recorded with --stacks ---------------------------- */

struct mlg_sites;
/* Reads only the sites frames of a log (event frames are skipped, not decompressed). A damaged
 * log keeps every definition before the damage; err says where (rc != 0, *out still usable). */
int mlg_sites_load(struct mlg_sites **out, const char *path, struct mlg_error *err);
void mlg_sites_free(struct mlg_sites *s);
uint32_t mlg_sites_stack_count(const struct mlg_sites *s);
/* 1 and the frames of stack id, or 0 if the log has no such stack. */
int mlg_sites_stack(const struct mlg_sites *s, uint32_t id, const uint64_t **pcs, uint32_t *depth);
uint32_t mlg_sites_module_count(const struct mlg_sites *s);
const struct mlg_module *mlg_sites_module(const struct mlg_sites *s, uint32_t id); /* 1-based */
const struct mlg_module *mlg_sites_module_of(const struct mlg_sites *s, uint64_t pc);

/* Symbolizing happens offline, here, never in the traced process: addr2line (binutils) on each
 * module file named in the log, or on its separate debug file (build-id or .gnu_debuglink under
 * the debug directories: mlg_sites_debug_dir, else $MALLOG_DEBUG_DIR, then /usr/lib/debug), for
 * the frames the log uses, inline levels included. A frame without symbols reads
 * "module+0xoffset"; one in a stripped module past the extent of the nearest exported symbol reads
 * "symbol+0xoff?" (a guess, with guess set). */
enum { MLG_FRAME_CODE, MLG_FRAME_RUNTIME, MLG_FRAME_WRAPPER };
struct mlg_frame_info {
    const char *function;  /* demangled, C++ template arguments abbreviated unless full names
                              are asked for; or NULL */
    const char *file;      /* source file of the call (basename kept by the caller), or NULL */
    uint32_t line;         /* 0 if unknown */
    const char *module;    /* basename of the module file, or "?" */
    uint64_t offset;       /* offset in the module file */
    const char *full_function; /* the whole demangled name, or NULL */
    int kind;              /* MLG_FRAME_*: the C runtime, an allocation wrapper, or code */
    int guess;             /* function is the nearest exported symbol of a stripped module */
};
/* Naming rules, before or after mlg_sites_symbolize. Wrappers (skipped when naming a site) are a
 * built-in list (operator new, std::, g_malloc, xmalloc, Perl_safesys*, sqlite3Malloc, PyMem_*,
 * ...), the functions detected as wrappers from the stack table, and those added here: a plain
 * name, or an extended regular expression (anything else). 0, or -1 (a bad regex, no memory). */
int mlg_sites_skip(struct mlg_sites *s, const char *func_or_regex);
void mlg_sites_no_skip(struct mlg_sites *s);            /* only the C runtime is skipped */
void mlg_sites_full_names(struct mlg_sites *s, int on); /* no abbreviated C++ names */
int mlg_sites_debug_dir(struct mlg_sites *s, const char *dirs); /* colon-separated */
/* Resolves every frame of every stack at once (one addr2line per module) and applies the naming
 * rules. Returns 0, or -1 if addr2line could not run (frames then carry module+offset only). */
int mlg_sites_symbolize(struct mlg_sites *s);
/* Applies the naming rules again (called by the setters above once symbolized). */
int mlg_sites_classify(struct mlg_sites *s);
/* A pc's frame: of its inline levels, the innermost that is not a wrapper. */
void mlg_sites_frame(const struct mlg_sites *s, uint64_t pc, struct mlg_frame_info *fi);
/* "function (file:line)", "function (module)" or "module+0xoff", into buf. */
const char *mlg_sites_frame_name(const struct mlg_sites *s, uint64_t pc, char *buf, size_t len);
/* The frames of stack id with inline levels expanded (one per pc before symbolizing), innermost
 * first: how many, and frame i of them. */
uint32_t mlg_sites_vdepth(const struct mlg_sites *s, uint32_t id);
void mlg_sites_vframe(const struct mlg_sites *s, uint32_t id, uint32_t i,
                      struct mlg_frame_info *fi);
const char *mlg_sites_vframe_name(const struct mlg_sites *s, uint32_t id, uint32_t i, char *buf,
                                  size_t len);
/* The frame that names a stack's call site: the innermost frame outside the C runtime and the
 * allocation wrappers; its index among the stack's vframes, and its pc (0 for no stack). */
uint32_t mlg_sites_site_index(const struct mlg_sites *s, uint32_t id);
uint64_t mlg_sites_site_pc(const struct mlg_sites *s, uint32_t id);

/* ---- address map: open addressing, ptr -> 64-bit value (used by check, analyze, replay) ---- */

struct mlg_addrmap;
struct mlg_addrmap *mlg_addrmap_new(const struct mlg_allocator *alloc);
void mlg_addrmap_free(struct mlg_addrmap *m);
/* Returns 1 if inserted, 0 if the key was present (value replaced), -1 on allocation failure. */
int mlg_addrmap_put(struct mlg_addrmap *m, uint64_t key, uint64_t value);
/* Returns 1 and *value if found, else 0. */
int mlg_addrmap_get(const struct mlg_addrmap *m, uint64_t key, uint64_t *value);
/* Returns 1 and *value if it was present and is now removed, else 0. */
int mlg_addrmap_del(struct mlg_addrmap *m, uint64_t key, uint64_t *value);
uint64_t mlg_addrmap_count(const struct mlg_addrmap *m);
/* Calls fn for every entry (in no particular order). */
void mlg_addrmap_each(const struct mlg_addrmap *m, void (*fn)(void *ctx, uint64_t k, uint64_t v),
                      void *ctx);

/* ---- heap effects: what an event does to the heap (heap.c) -------------------------------- */

/* The one rule every tool follows. A realloc is the release of its old block plus the acquisition
 * of its new one (heaptrack's normalisation); MLG_HEAP_RESIZE says the new block continues the
 * old one, for a tool that follows a block's history. */
enum mlg_heap_flags {
    MLG_HEAP_RELEASE = 1, /* the block at .release ends (.release may be 0 in a damaged log: then
                             it is an unknown free) */
    MLG_HEAP_ACQUIRE = 2, /* a block of .size bytes begins at .acquire (never 0) */
    MLG_HEAP_RESIZE = 4,  /* the acquired block continues the one at .release (a realloc) */
    MLG_HEAP_INPLACE = 8, /* the recorder saw the realloc return its input */
    MLG_HEAP_SPLIT = 16,  /* a realloc recorded as two events: REALLOC_RELEASE releases .release,
                             then its OLD_RELEASED realloc acquires, with .release naming the block
                             it continues (no MLG_HEAP_RELEASE then: that block already ended) */
    MLG_HEAP_CHECKPOINT = 32, /* with ACQUIRE: a block live at a segment's checkpoint (op LIVE),
                                 allocated before the segment began. It is live, it is not a
                                 call: not counted as an allocation; a replay makes it unmeasured,
                                 before its clock starts, as it does a fork parent's heap */
};
struct mlg_heap_effect {
    uint64_t release, acquire, size;
    unsigned flags; /* enum mlg_heap_flags */
};
/* The rule is lib/heap.h's mlg_heap_effects_of (inline, on an event's fields); this is it on a
 * whole event. */
struct mlg_heap_effect mlg_heap_effects(const struct mlg_event *ev);

/* ---- integrity: anomalies of an event stream ------------------------------------------------- */

struct mlg_check {
    uint64_t unknown_frees;   /* free/realloc of an address never allocated in this log */
    uint64_t double_frees;    /* free of an address already freed and not reallocated since */
    uint64_t inversions;      /* an allocation returned an address that is still live */
    uint64_t seq_disorder;    /* events out of sequence order */
    uint64_t live_blocks, live_bytes, peak_live_bytes;
    uint64_t first_anomaly_event; /* index of the first anomaly, UINT64_MAX if none */
    struct mlg_addrmap *live;     /* ptr -> size of live blocks */
    struct mlg_addrmap *freed;    /* recently freed addresses, to tell double from unknown frees */
    uint64_t last_seq;
    uint64_t inherited_blocks;    /* blocks seeded from a fork parent's log */
    int seen_any;
};
int mlg_check_init(struct mlg_check *c, const struct mlg_allocator *alloc);
void mlg_check_event(struct mlg_check *c, const struct mlg_event *ev);
void mlg_check_fini(struct mlg_check *c);
/* A forked child starts with its parent's heap: seeds c with the blocks live in the log at path
 * before sequence number upto (the fork point), then clears the counters. Call it for the parent's
 * own parent first (see rec_seed_inherited). */
int mlg_check_seed(struct mlg_check *c, const char *path, uint64_t upto, struct mlg_error *err);
uint64_t mlg_check_anomalies(const struct mlg_check *c);

/* ---- units ------------------------------------------------------------------------------- */

/* "64M", "1.5GiB", "4096", "2k" -> bytes. Returns 0 or MLG_E_ARG. */
int mlg_parse_size(const char *s, uint64_t *out);
/* 1536 -> "1.5 KiB". */
const char *mlg_format_size(uint64_t bytes, char *buf, size_t len);

#endif

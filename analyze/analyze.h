/* analyze.h - the internal header of analyze/: the streaming summary of a log (stats.c), its
 * text/JSON/TSV writers (statsout.c), summaries read back from JSON (summary.c), and the commands
 * stats, diff and check (cmd_stats.c, diff.c, budget.c).
 * analyze/ reads logs only through lib/mallog.h; its memory is proportional to the blocks live at
 * one time, never to the length of the log. */
#ifndef MLG_ANALYZE_H
#define MLG_ANALYZE_H

#include <stdint.h>
#include <stdio.h>

#include "../lib/mallog.h"
#include "../common/recording.h"

#define STATS_CLASSES 65    /* size / lifetime classes: 0, then [2^(k-1), 2^k - 1] for k = 1..64 */
#define STATS_TOP_KEEP 1000 /* rows kept for the "top" tables (chains, exact sizes, leaks) */
#define STATS_TIMELINE_ROWS 2048 /* adaptive timeline: at most this many rows are kept */
#define STATS_SMALL_SIZES 4096   /* exact sizes below this are counted in a plain array */

/* Scalar results, defined once: X(name, "what it is"). They make the JSON fields, the keys diff
 * compares and the keys a budget file can name. */
#define STATS_METRICS(X)                                                                           \
    X(events, "events analysed")                                                                   \
    X(duration_ns, "time covered (ns)")                                                            \
    X(threads, "threads seen")                                                                     \
    X(processes, "processes (logs) analysed")                                                      \
    X(allocations, "successful allocating calls (malloc family, realloc(NULL, n))")                \
    X(frees, "blocks freed (free, realloc(p, 0))")                                                 \
    X(failed, "failed calls (NULL, overflow, EINVAL)")                                             \
    X(peak_live_requested, "peak of live requested bytes")                                         \
    X(peak_live_blocks, "peak of live blocks")                                                     \
    X(peak_event, "event at which live requested bytes peaked")                                    \
    X(peak_time_ns, "time at which live requested bytes peaked")                                   \
    X(peak_blocks_event, "event at which live blocks peaked")                                      \
    X(live_at_end_bytes, "live requested bytes at the end")                                        \
    X(live_at_end_blocks, "live blocks at the end")                                                \
    X(leaked_blocks, "blocks allocated in the range and still live at its end")                    \
    X(leaked_bytes, "bytes of those blocks")                                                       \
    X(cumulative_requested, "sum of every size requested (allocations and reallocs)")              \
    X(cumulative_compensated, "same, but a realloc counts only its growth")                        \
    X(temporary_blocks, "blocks freed within the temporary window")                                \
    X(temporary_bytes, "bytes of those blocks")                                                    \
    X(long_lived_blocks, "blocks that lived at least the long-lived window")                       \
    X(long_lived_bytes, "bytes of those blocks")                                                   \
    X(cross_thread_frees, "blocks freed by another thread than the one that allocated them")      \
    X(unknown_frees, "frees of addresses not live in the log")                                     \
    X(inversions, "allocations returning an address that was still live")                          \
    X(lost_events, "events the recorder reported lost")

struct stats_opts {
    uint64_t from, to;         /* event index range [from, to); to = UINT64_MAX: to the end */
    uint64_t temporary_events; /* freed within this many events = temporary */
    uint64_t long_events;      /* lived at least this many events = long-lived */
    uint64_t every;            /* timeline interval in events; 0 = adaptive */
    FILE *timeline;            /* every != 0: rows are written here as they come (or NULL) */
    int progress;              /* a "\r" progress line on stderr, <= 6 updates/s */
};

/* One live block, whole: a realloc chain travels with the block through moves. The table keeps
 * it packed (struct stats_slot); this form is what the code works on and the side table holds. */
struct stats_block {
    uint64_t ptr, size;
    uint64_t birth, birth_time; /* event index and time of the allocation that started it */
    uint64_t start_size;        /* size at that allocation */
    uint64_t copied;            /* bytes copied by moves of this chain (upper bound) */
    uint32_t len, moves;        /* reallocs applied to it; how many of them moved it */
    uint32_t thread, flags;     /* thread that allocated it; STATS_BLK_* */
};
#define STATS_BLK_INHERITED 1u /* live in the fork parent when this process was forked */
#define STATS_BLK_EARLY 2u     /* allocated before the range */
#define STATS_BLK_SIDE 4u      /* slot meta only: the whole record is side[meta >> 3] */

/* One slot of the live-block table: 32 bytes, two to a cache line. size and birth_time are always
 * valid; meta packs birth << 17 | thread << 3 | flags for the common block (no realloc chain,
 * birth < 2^47, thread < 2^14). Any other block has STATS_BLK_SIDE and its index in the side
 * array (few: the blocks reallocated at least once). ptr 0 = empty. */
struct stats_slot {
    uint64_t ptr, size, birth_time, meta;
};

struct stats_blocks {
    struct stats_slot *v;
    uint64_t mask, count;
    int shift;
    struct stats_block *side; /* whole records of chained (or unpackable) blocks */
    uint64_t nside, side_cap; /* entries used (free ones included), allocated */
    uint64_t side_free;       /* first free entry + 1 (a list through .ptr), 0 = none */
};

struct stats_chain {
    uint64_t start_event, end_event, start_size, end_size, copied;
    uint32_t length, moved, thread, live; /* live: still live at the end */
};

struct stats_size {
    uint64_t size, count, bytes;
};

struct stats_leak {
    uint64_t size, count, bytes, first_event;
    uint64_t events[4]; /* up to four allocating events (first ones) */
};

struct stats_thread {
    int64_t os_tid;
    uint64_t events, allocations, frees, reallocs, failed, bytes;
    uint64_t cross_frees;     /* blocks this thread freed that another thread allocated */
    uint64_t freed_by_others; /* blocks this thread allocated that another thread freed */
    uint64_t live_blocks, live_bytes, first_event, last_event;
    int seen;
    int pending_valid;          /* a REALLOC_RELEASE waiting for its realloc */
    struct stats_block pending; /* the released block */
};

/* One process of a recording (several logs): a few figures of its own analysis. */
struct stats_proc {
    char path[512];
    uint64_t pid, parent_pid;
    uint32_t exec_gen;
    int damaged;
    uint64_t events, threads, allocations, frees, peak_live_requested, peak_live_blocks;
    uint64_t leaked_blocks, leaked_bytes, cumulative_requested, inherited_blocks, unknown_frees;
};

struct stats_row {
    uint64_t event, time_ns, live_requested, live_blocks, cum_requested, cum_compensated;
    uint64_t interval_peak; /* highest live_requested since the previous row */
};

struct stats {
    struct stats_opts o;
    struct mlg_header header;
    char path[4096];
    int counting; /* inside the range */
    int done;     /* past the range end */

    uint64_t first_index, last_index, first_time, last_time;
    uint64_t calls[MLG_OP_COUNT], failed_op[MLG_OP_COUNT], bytes_op[MLG_OP_COUNT];
    /* events in the range per op and outcome (column 8: any other value); stats_finish folds
     * events, calls, failed_op, failed and the realloc calls/failed/freed from it */
    uint64_t op_outcome[MLG_OP_COUNT][9];

#define STATS_X_FIELD(name, what) uint64_t name;
    STATS_METRICS(STATS_X_FIELD)
#undef STATS_X_FIELD

    uint64_t live_bytes, live_blocks;     /* current */
    uint64_t start_live_bytes, start_live_blocks; /* at the range start */
    uint64_t inherited_blocks, inherited_bytes, inherited_live_blocks, inherited_live_bytes;

    /* sizes: every successful request (allocation or realloc's new size) */
    uint64_t class_count[STATS_CLASSES], class_bytes[STATS_CLASSES], class_max[STATS_CLASSES];
    uint64_t small_sizes[STATS_SMALL_SIZES]; /* requests per exact size below 4096 */
    struct stats_size *sizes; /* larger exact sizes: a bounded table, pruned of rare sizes */
    struct stats_size *sizes_spare; /* the table a prune rebuilds into */
    uint64_t sizes_mask, sizes_count, sizes_pruned_max; /* pruned: largest count ever dropped */
    int sizes_shift;

    /* lifetimes of freed blocks, in events and in ns */
    uint64_t life_count[STATS_CLASSES], life_bytes[STATS_CLASSES];
    uint64_t life_ns_count[STATS_CLASSES], life_ns_bytes[STATS_CLASSES];

    /* realloc */
    uint64_t realloc_calls, realloc_in_place, realloc_moved, realloc_failed, realloc_freed;
    uint64_t realloc_grow, realloc_shrink, bytes_copied_upper, chains;
    uint64_t chain_len_count[STATS_CLASSES];
    struct stats_chain longest;
    struct stats_chain *top_chains; /* min-heap by (length, end_size), STATS_TOP_KEEP */
    uint64_t ntop_chains;

    /* leaks (filled by stats_finish) */
    struct stats_leak *leaks;
    uint64_t nleaks;
    /* the call sites of leaks[i]'s listed events (a log with stacks: callsites_leak_sites), or
     * NULL; owned, freed by stats_free */
    char **leak_sites;
    uint64_t nleak_sites;

    struct stats_thread *thr;
    uint64_t nthr;

    /* timeline (adaptive: rows kept in memory, decimated by 2 when full) */
    struct stats_row *rows;
    uint64_t nrows, every, since_row, interval_peak;

    struct stats_blocks blocks;
    struct mlg_error err; /* damage, err.code != 0 */
    int complete;         /* the log had a trailer */
    int in_progress;      /* no trailer yet: the log is being written, its process runs */
    uint32_t end, end_status;
    uint64_t end_time_ns;   /* the trailer's: when the process ended, 0 = not known */
    int nomem;
    const struct stats_proc *procs; /* every process of the recording (not owned), or NULL */
    uint64_t nprocs;
};

#define SUMMARY_KEY_MAX 128
#define SUMMARY_STR_MAX 256
enum { SUMMARY_NUM, SUMMARY_STR, SUMMARY_NULL, SUMMARY_TABLE /* an object or array */ };

/* A summary flattened to "key.path" = value; arrays of tables keyed by their identifying column
 * ("sizes.1024.count", "leaks.24.count", "ops.malloc.calls"). */
struct summary_entry {
    char key[SUMMARY_KEY_MAX];
    int type;
    double num;
    char str[SUMMARY_STR_MAX];
};

struct summary {
    struct summary_entry *v;
    size_t n, cap;
    char name[4096];
    int from_json;
};

/* stats.c */
/* The per-process row of a finished summary. */
void stats_proc_fill(const struct stats *s, struct stats_proc *p);
/* Prepares s for a log; o may be NULL (defaults). Returns 0 or MLG_E_NOMEM. */
int stats_init(struct stats *s, const struct stats_opts *o);
/* Feeds one event (in log order). Returns 1 once the event is past the range end (stop reading). */
int stats_event(struct stats *s, const struct mlg_event *ev);
/* The same for n records, events index.. index + n - 1 (the fast way: mlg_reader_next_recs). */
int stats_recs(struct stats *s, const struct mlg_rec *v, uint64_t index, int n);
/* The live-block table alone (bench): live bytes and blocks, nothing else. */
void stats_table_recs(struct stats *s, const struct mlg_rec *v, int n);
/* Seeds the heap a forked child inherited: blocks live in the parent at the fork. */
void stats_inherit(struct stats *s, uint64_t ptr, uint64_t size);
/* After the last event: leaks, chains of live blocks, per-thread live figures, final row. */
int stats_finish(struct stats *s);
void stats_free(struct stats *s);
/* Reads path through s (header, events, trailer, damage into s->err). Returns 0, or an error code
 * when the log could not be opened at all. A damaged log still returns 0 with s->err set. */
int stats_run(struct stats *s, const char *path);
int stats_class(uint64_t v);
uint64_t stats_class_min(int k);
uint64_t stats_class_max(int k);

/* statsout.c */
void statsout_text(FILE *f, const struct stats *s, int top);
void statsout_json(FILE *f, const struct stats *s);
/* Writes DIR/timeline.tsv, sizes.tsv, lifetimes.tsv, lifetimes_ns.tsv, reallocs.tsv, leaks.tsv,
 * threads.tsv, exact_sizes.tsv. Returns 0 or -1 (errno set, *what = the file). */
int statsout_tsv(const char *dir, const struct stats *s, const char **what);

/* summary.c */
/* Parses a `stats --json` object. Returns 0, or -1 with "JSON: what at line N" in err. */
int summary_parse(const char *text, size_t len, struct summary *out, char *err, size_t errlen);
/* arg: a stats JSON file, or a log/prefix/dir (+ pid) which is analysed. Prints errors as
 * "mallog <cmd>: <file>: ..." and returns -1; 0 on success. */
int summary_load(const char *cmd, const char *arg, const struct rec_pid *pid,
                 struct summary *out);
/* Any JSON file, flattened (a replay summary, say). Errors as summary_load. */
int summary_load_json(const char *cmd, const char *path, struct summary *out);
const struct summary_entry *summary_get(const struct summary *s, const char *key);
/* What a summary JSON lacks to be a `mallog stats --json` summary (a sentence), or NULL. */
const char *summary_not_stats(const struct summary *s);
/* The figure at key, absent kept apart from 0. SUMMARY_FOUND: *v is it. SUMMARY_NO_ROW: key is a
 * count or sum column of a table row the writer leaves out when empty ("sizes.4096.count",
 * "ops.memalign.calls"): *v = 0. SUMMARY_NO_ROW_NO_VALUE: such a row, but a column with no value
 * then (a maximum, a position). SUMMARY_ABSENT: the summary does not have it (*v = 0, meaningless). */
enum { SUMMARY_FOUND, SUMMARY_NO_ROW, SUMMARY_NO_ROW_NO_VALUE, SUMMARY_ABSENT };
int summary_num(const struct summary *s, const char *key, double *v);
void summary_free(struct summary *s);

/* ---- commands: entries of cli/commands.h ------------------------------------------------ */
int cmd_stats(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_check(int argc, char **argv);

#endif

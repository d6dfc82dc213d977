/* preload.h - internal interface of libmallog.so.
 *
 * Everything here runs inside the traced process: no malloc through the traced allocator, no stdio,
 * no locks held across a real allocator call, errno preserved, TLS initial-exec only.
 */
#ifndef MLG_PRELOAD_H
#define MLG_PRELOAD_H

#include <stdint.h>
#include <sys/types.h>
#include <time.h>
#include "../lib/spool.h"

#define MLG_HIDDEN __attribute__((visibility("hidden")))
#define MLG_EXPORT __attribute__((visibility("default")))
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

enum rec_state { REC_UNINIT, REC_INITIALIZING, REC_ACTIVE, REC_DISABLED };

/* One per recorded thread, in an mmapped pool: never freed, so thread-exit destructors that free
 * after our own key destructor still find valid state. */
struct tstate {
    uint8_t *chunk;            /* current chunk, or NULL */
    uint32_t cursor;           /* payload bytes reserved; bumped with one xadd (signal-atomic) */
    uint32_t depth;            /* hook nesting on this thread (a signal handler's malloc) */
    struct mlg_spool_state enc;
    uint32_t serial;
    uint32_t tid;
    uint32_t since_time;       /* records since the last clock reading */
    uint64_t time_coarse;      /* the coarse clock at the last clock reading (rec_coarse_ns) */
    uint32_t destructor_rounds;
    uint32_t inflight_depth;   /* rec_enter nesting */
    uint64_t last_seq;         /* the latest sequence number this thread recorded: a lower
                                  bound of its next one (rec_enter) */
    uint64_t proc_gen;         /* recorder generation that owns this state (changes at fork) */
    volatile uint64_t *slot;   /* this thread's in-flight slot in the spool header, or NULL */
    uint32_t in_stack;         /* capturing a call stack: a nested hook records without one */
    uintptr_t stack_top;       /* frame-pointer walks stop below this; 0 = not known yet */
    uint8_t *rel_start;        /* sealed chunks not yet dropped from our RSS (seal_chunk) */
    uint32_t rel_chunks;
};

struct recorder {
    uint64_t *seqp;                    /* the global order, in the spool header (shared pages):
                                          fetch_add at linearisation points */
    _Atomic int state;                 /* enum rec_state */
    _Atomic uint32_t next_serial;
    _Atomic int lock;                  /* chunk claims and window growth; rare */
    uint64_t proc_gen;
    pid_t pid;
    uint32_t exec_gen;
    int follow;
    uint32_t time_every;
    int trap_armed;                    /* MALLOG_TRAP: raise SIGTRAP at the first matching call */
    unsigned trap_op;                  /* 0 = any op */
    uint64_t trap_size, trap_seq;      /* UINT64_MAX = any */
    uint32_t stack_depth;              /* MALLOG_STACKS: frames per allocation, 0 = no stacks */
    int unwind_dwarf;                  /* MALLOG_UNWIND=dwarf (libunwind) rather than fp */
    char prefix[4096];                 /* absolute output prefix */
    char spool_path[4200];
    char run[32];                      /* MALLOG_RUN: the recording's id in spool names, or "" */
    char fails[4096];                  /* MALLOG_FAILS: where to say a process was not recorded */
    struct mlg_spool_header *hdr;      /* in window 0, mapped as long as the process lives */
    uint8_t *win_base;                 /* window chunks are claimed from */
    uint32_t win_index;
    uint32_t next_chunk;
    uint64_t start_mono_ns;
    uint64_t fork_seq;                 /* set by our fork() just before the real fork */
};

extern struct recorder mlg_rec MLG_HIDDEN;
extern __thread struct tstate *mlg_tls __attribute__((tls_model("initial-exec"))) MLG_HIDDEN;

/* options.c: the MALLOG_* options, defined once:
 * X(ID, "MALLOG_NAME", type ('u' number, 's' string), default, min, max, "help").
 * `mallog record` sets them; anyone may set them by hand with LD_PRELOAD. */
#define PRELOAD_OPTIONS(X)                                                                         \
    X(OUT, "MALLOG_OUT", 's', 0, 0, 0,                                                             \
      "log prefix, absolute or from the working directory "                                        \
      "(default: mallog); logs are PREFIX.<pid>[.<gen>].mlog")                                     \
    X(FOLLOW, "MALLOG_FOLLOW", 'u', 1, 0, 1,                                                       \
      "1: record the processes the program starts too; 0: only the program")                       \
    X(TIME_EVERY, "MALLOG_TIME_EVERY", 'u', 256, 1, 1u << 30,                                      \
      "a thread reads the clock every N events (time stamps are that coarse)")                     \
    X(STACKS, "MALLOG_STACKS", 'u', 0, 0, MLG_STACK_DEPTH_MAX,                                     \
      "frames of call stack recorded per allocation; 0: none")                                     \
    X(UNWIND, "MALLOG_UNWIND", 's', 0, 0, 0,                                                       \
      "how stacks are walked: dwarf (libunwind, default) or fp (frame pointers)")                  \
    X(TRAP, "MALLOG_TRAP", 's', 0, 0, 0,                                                           \
      "raise SIGTRAP at the first call OP, OP:size=N, or at seq=N")                                \
    X(DISABLE, "MALLOG_DISABLE", 'u', 0, 0, 1, "1: record nothing")                                \
    X(RUN, "MALLOG_RUN", 's', 0, 0, 0,                                                             \
      "internal: the recording's run id (in spool names: a run packs only its own)")               \
    X(FAILS, "MALLOG_FAILS", 's', 0, 0, 0,                                                         \
      "internal: a file where a process that cannot be recorded says so (record exits 2)")         \
    X(EXEC, "MALLOG_EXEC", 's', 0, 0, 0, "internal: <pid>:<gen> of the image that exec'd this one")

enum preload_opt {
#define PRELOAD_X_ENUM(id, name, type, def, min, max, help) PRELOAD_OPT_##id,
    PRELOAD_OPTIONS(PRELOAD_X_ENUM)
#undef PRELOAD_X_ENUM
    PRELOAD_OPT_COUNT
};
struct preload_option {
    const char *name;
    char type;
    uint64_t def, min, max;
    const char *help;
};
extern const struct preload_option preload_options[PRELOAD_OPT_COUNT] MLG_HIDDEN;
/* The options as read: num (the default when unset, empty or bad), str (the text, NULL if unset).
 */
struct preload_values {
    uint64_t num[PRELOAD_OPT_COUNT];
    const char *str[PRELOAD_OPT_COUNT];
};
/* Reads every option from the environment; warns once per bad value. */
void options_load(struct preload_values *v) MLG_HIDDEN;
/* getenv() that works before libc has set environ up. */
const char *options_env(const char *name) MLG_HIDDEN;
/* "4096", "64K", "1G" -> *out; -1 if not a number (or it overflows). */
int options_number(const char *s, uint64_t *out) MLG_HIDDEN;

/* recorder.c */
void rec_init(void) MLG_HIDDEN;
struct tstate *rec_thread_slow(void) MLG_HIDDEN;
void rec_emit(struct tstate *t, unsigned op, unsigned outcome, uint64_t seq, uint64_t seq_rel,
              uint64_t old_ptr, uint64_t arg, uint64_t size, uint64_t ptr, int64_t result,
              uint32_t stack) MLG_HIDDEN;
uint8_t *rec_claim_chunk(uint32_t thread, uint32_t tid) MLG_HIDDEN;

/* stacks.c: call sites (MALLOG_STACKS) */
void rec_stacks_init(void) MLG_HIDDEN;
void rec_stacks_after_fork(void) MLG_HIDDEN;
uint32_t rec_stack_capture(struct tstate *t) MLG_HIDDEN;

/* The call-site id of the allocation being recorded, 0 when stacks are off. */
static inline uint32_t rec_stack_id(struct tstate *t)
{
    return __builtin_expect(mlg_rec.stack_depth != 0, 0) ? rec_stack_capture(t) : 0;
}
void rec_mark_end(unsigned end, int status, int known) MLG_HIDDEN;
void rec_lock(void) MLG_HIDDEN;
void rec_unlock(void) MLG_HIDDEN;
void rec_after_fork_child(uint64_t parent_pid, uint32_t parent_gen, uint64_t fork_seq) MLG_HIDDEN;
void rec_warn(const char *msg) MLG_HIDDEN;
uint64_t rec_now_ns(void) MLG_HIDDEN;
void rec_trap_check(unsigned op, uint64_t size, uint64_t seq) MLG_HIDDEN;

/* The calling thread's state, or NULL when recording is off. Cheap on the hot path. */
static inline struct tstate *rec_thread(void)
{
    struct tstate *t = mlg_tls;
    if (likely(t != NULL && t->proc_gen == mlg_rec.proc_gen))
        return t;
    return rec_thread_slow();
}

/* A clock reading is due again once the coarse clock (a vDSO read of the kernel's tick, ~7 ns, no
 * syscall) has moved this far past the last reading: the first event after a pause gets an exact
 * time, at most one reading per tick (1-4 ms) of a busy thread. */
#define REC_TIME_STALE_NS 1000000u

static inline uint64_t rec_coarse_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The hot path: encode on the stack, reserve with one xadd (atomic against a signal on this
 * thread), copy, store the tag last. Anything unusual (no chunk, chunk nearly full, a clock reading
 * due, a hook nested in a signal handler) goes to rec_emit(). */
static inline __attribute__((always_inline)) void
rec_record(struct tstate *t, unsigned op, unsigned outcome, uint64_t seq, uint64_t seq_rel,
           uint64_t old_ptr, uint64_t arg, uint64_t size, uint64_t ptr, int64_t result,
           uint32_t stack)
{
    if (unlikely(mlg_rec.trap_armed))
        rec_trap_check(op, size, seq); /* before the record: the debugger sees the call itself */
    t->last_seq = seq;
    uint8_t *chunk = t->chunk;
    if (likely(chunk != NULL && t->depth == 0 && t->since_time < mlg_rec.time_every &&
               t->cursor + 2 * MLG_SPOOL_REC_MAX <= MLG_SPOOL_PAYLOAD &&
               rec_coarse_ns() - t->time_coarse < REC_TIME_STALE_NS)) {
        t->depth = 1;
        __atomic_signal_fence(__ATOMIC_SEQ_CST);
        uint8_t buf[MLG_SPOOL_REC_MAX];
        struct mlg_spool_state saved = t->enc;
        unsigned len = mlg_spool_encode(buf, &t->enc, 0, op, outcome, seq, seq_rel, old_ptr, arg,
                                        size, ptr, result, stack);
        uint32_t pos = len;
        __asm__ volatile("xaddl %0, %1" : "+r"(pos), "+m"(t->cursor) : : "memory");
        if (likely(pos + len <= MLG_SPOOL_PAYLOAD)) {
            uint8_t *dst = chunk + sizeof(struct mlg_spool_chunk) + pos;
            unsigned i = 1;
            /* exact length: a nested record may already sit right after ours */
            for (; i + 8 <= len; i += 8)
                __builtin_memcpy(dst + i, buf + i, 8);
            for (; i < len; i++)
                dst[i] = buf[i];
            __atomic_signal_fence(__ATOMIC_SEQ_CST);
            __atomic_store_n(dst, buf[0], __ATOMIC_RELEASE);
            t->since_time++;
            t->depth = 0;
            return;
        }
        t->enc = saved; /* not committed: the slow path encodes again in a new chunk */
        __atomic_signal_fence(__ATOMIC_SEQ_CST);
        t->depth = 0;
    }
    rec_emit(t, op, outcome, seq, seq_rel, old_ptr, arg, size, ptr, result, stack);
}

static inline uint64_t rec_seq(void)
{
    return __atomic_fetch_add(mlg_rec.seqp, 1, __ATOMIC_RELAXED);
}

/* Brackets "take a sequence number ... publish the record": while inside, this thread's slot says
 * no record of it below that number is still unwritten, so a packer running beside the program
 * knows how far the merged order is final. The slot store precedes the locked xadd that takes the
 * number (x86: stores are not reordered after a locked instruction). The bound is the thread's own
 * latest number, not the counter: reading the counter here cost every event a second transfer of
 * its cache line when threads take numbers on several cores (issue 18); a lower bound only makes
 * the packer wait for the events in flight, never take one too early. */
static inline void rec_enter(struct tstate *t)
{
    if (t->inflight_depth++ == 0 && t->slot) {
        /* relaxed: a plain mov, atomic for the packer reading it meanwhile; the compiler barrier
         * keeps it before the number is taken, x86 keeps it before the locked xadd */
        __atomic_store_n(t->slot, t->last_seq + 1, __ATOMIC_RELAXED);
        __atomic_signal_fence(__ATOMIC_SEQ_CST);
    }
}

static inline void rec_leave(struct tstate *t)
{
    if (--t->inflight_depth == 0 && t->slot)
        __atomic_store_n(t->slot, 0, __ATOMIC_RELEASE);
}

/* A whole event in one call, for the paths that are not hot. */
static inline void rec_event(struct tstate *t, unsigned op, unsigned outcome, uint64_t arg,
                             uint64_t size, uint64_t ptr, int64_t result)
{
    rec_enter(t);
    rec_emit(t, op, outcome, rec_seq(), 0, 0, arg, size, ptr, result, 0);
    rec_leave(t);
}

#endif

/* cmd.h - the command side of replay/ (what `mallog replay` and `mallog holes` run in the
 * parent, and the worker each allocator is replayed in): allocator specs (specs.c), the worker
 * protocol, one struct for both sides (worker.c), running workers (jobs.c), the options both
 * commands share (options.c). The tool cores (replay.h) know none of this. */
#ifndef MLG_REPLAY_CMD_H
#define MLG_REPLAY_CMD_H

#include <limits.h>
#include <sys/types.h>

#include "../common/recording.h"
#include "replay.h"

#define MAX_ALLOCS 16

/* ---- specs.c: which allocators, with which settings ----------------------------------------- */
struct alloc_spec {
    char name[64];   /* the family, or for a tuned one family+settings (specs_name): row, files */
    char family[64]; /* glibc, jemalloc, mimalloc, tcmalloc, arena, or a user library's stem */
    char kind[8];    /* glibc, arena, libc */
    char lib[PATH_MAX];
    char env[2048]; /* "K=V\n" overrides */
};
/* "name[:K=V[:K=V...]]" -> a. 0, or -1 with a message. */
int specs_parse(const char *cmd, const char *text, struct alloc_spec *a);
/* An -a value (commas between allocators) appended to v[*n]. 0, or -1 with a message. */
int specs_add(const char *cmd, const char *arg, struct alloc_spec *v, int *n);
/* Every installed allocator; returns how many. */
int specs_default(struct alloc_spec *v);
/* Appends c to b (of room len, used *k) as a row or file name takes it: letters, digits and
 * . _ - + as they are, anything else as '_'. */
void specs_name_put(char *b, size_t len, size_t *k, char c);
/* Gives every spec a name of its own (glibc+mmap_threshold-1048576, glibc+2, ...). */
void specs_name(struct alloc_spec *v, int n);
/* Whether "K=V" is an allocator setting (scrubbed from every worker's environment). */
int specs_allocator_var(const char *kv);
/* a's settings as "K=V\n" lines into buf: the pinned ones ("purge at once", unless the spec
 * sets the variable itself) when `pinned`, then the spec's own. */
void specs_env(const struct alloc_spec *a, int pinned, char *buf, size_t len);
/* Every allocator mallog knows, a line each: name TAB library ("builtin"; "-" when not
 * installed) TAB the pinned settings, space-separated (`mallog replay --list-allocators`). */
void specs_list(FILE *f);
int touch_mode(const char *s); /* TOUCH_* of a --touch value, or -1 */
const char *touch_name(int t);
int threads_mode(const char *s); /* THREADS_* of a --threads value, or -1 */

/* ---- worker.c: the protocol between `mallog replay` and its workers ------------------------- */
/* Everything a worker is asked, written whole into a memfd the worker inherits
 * (`mallog replay --worker FD`); the worker answers with a struct summary on result_fd. Both
 * sides are this binary, so the structs go as they are, checked by magic and size. */
#define WORKER_MAGIC 0x6d6c6777u /* "mlgw" */
struct worker_req {
    uint32_t magic, size;
    struct alloc_spec spec;
    char log[PATH_MAX];
    char seed_log[MAX_SEEDS][PATH_MAX]; /* the fork ancestors' logs, oldest first */
    uint64_t seed_upto[MAX_SEEDS];      /* ... applied below these sequence numbers */
    int nseeds;
    int threads, touch;       /* THREADS_* (-1 until chosen), TOUCH_* */
    int bench, probe, bare;   /* --bench; only check the library serves malloc; engine_bare */
    uint64_t every, peak_event, stop_event;
    uint64_t unknown_frees, double_frees; /* the pre-pass's classification, for the summary */
    char out_dir[PATH_MAX];               /* "" = no files */
    char holes_fmt[8];                    /* "" (no holes), "text" or "json" */
    char at_label[64];
    uint64_t holes_top;        /* holes listed, 0 = all */
    int tape_fd, meta_fd;      /* > 0: the log decoded once (tapefile.c), inherited */
    int progress_fd, progress_slot; /* a shared page of event counters; -1: none */
    int result_fd;             /* set by worker_spawn */
    int tree_fd;               /* > 0: --tree, the plan and its results (struct tree_shared) */
};
/* Starts a worker for req (re-exec of this binary: ASLR and THP off, the allocator environment
 * scrubbed, the spec's settings and LD_PRELOAD set). Returns its pid and *result_fd (the read
 * end of its answer), or -1 with errno. */
pid_t worker_spawn(const struct worker_req *req, int *result_fd);
/* The two ends of the request: req (magic and size set here) into fd at offset 0; the request
 * in the fd named by fdtext, checked (magic, size, every string ended, counts in range; the fd
 * is closed). 0 or -1. */
int worker_write_req(int fd, struct worker_req *req);
int worker_read_req(const char *fdtext, struct worker_req *req);
/* `mallog replay --worker FD`: reads the request and replays; the measured process. */
int worker_main(int argc, char **argv);

/* ---- holes_out.c ---------------------------------------------------------------------------- */
/* The holes of r at its stop event, largest first (the first `top`, 0 = all), as text or JSON
 * ("text"/"json"), with the bounding blocks' call sites when log has stacks. */
void holes_print(const char *name, const char *log, const struct engine_result *r,
                 const char *fmt, const char *label, uint64_t top);

/* ---- jobs.c: running workers ---------------------------------------------------------------- */
#define JOBS_RUNS_MAX 100 /* --repeat */
struct job {
    struct alloc_spec *spec;
    pid_t pid;
    int result_fd;
    struct summary sum;
    int done, status;
};
/* Runs jobs[0..n) with base's request (each with its own spec), at most `parallel` at a time
 * (0: one per core), progress on a TTY. Returns 0 if all succeeded (messages printed). */
int jobs_run(const char *cmd, const struct worker_req *base, struct job *jobs, int n,
             uint64_t total_events, int parallel);
/* A probe worker for each preloaded library, before any work: one that does not serve malloc
 * would replay glibc's under its name. 0, or -1 (message printed). */
int jobs_probe(const char *cmd, const struct worker_req *base, struct alloc_spec *v, int n);
/* Folds `runs` replays of each of the n allocators (jobs[r * n + i]) into jobs[i] (medians and
 * spread; with out_dir, its JSON written again). Returns how many allocators failed. */
int jobs_fold(const char *out_dir, struct job *jobs, int n, int runs);

/* ---- options.c: what replay and holes share ------------------------------------------------- */
struct run_opts {
    struct worker_req w; /* what every worker is asked (each job sets its spec) */
    int decode_each;     /* --decode=each: every worker decodes the log itself */
    uint64_t repeat;     /* --repeat (0: not given) */
    uint64_t samples;    /* --samples (about that many; default 2000) */
    int samples_set;
    const char *at; /* holes: EVENT, peak or worst */
    int json;       /* holes */
    uint64_t top;   /* holes: holes listed (0 = all) */
    int top_set;
    struct rec_pid pid; /* --pid: which process of a recording */
    int tree;           /* --tree: the whole process tree, really forked (cmd_tree.c) */
};
/* The options both commands start from (touch=page, threads chosen later, 2000 samples). */
void options_init(struct run_opts *ro);
/* Parses and checks every option of `mallog replay` (holes = 0) or `mallog holes` (1) into ro
 * and specs[*n] before any work. Returns 0, -1 for --help, or EXIT_ERROR (message printed). */
int options_parse(const char *cmd, int holes, int argc, char **argv, struct alloc_spec *specs,
                  int *n, struct run_opts *ro);
/* The output directory, made if missing and checked before any work: a file in its place, or
 * one we cannot write to, would fail only once every worker has replayed. 0 or -1 (said). */
int options_out_dir(const char *cmd, const char *dir);
/* Before workers start: the fork ancestors, the pre-pass (*pp), the sample period, the thread
 * mode (faithful for a multi-threaded log unless chosen), --bench's single sample. 0 or -1. */
int options_prepare(const char *cmd, struct run_opts *ro, struct prepass *pp);

/* ---- cmd_tree.c: `mallog replay --tree` ----------------------------------------------------- */
/* The recording arg names, replayed as a process tree on each allocator (ro parsed; specs[0..n),
 * n = 0: every installed one). Returns 0 or EXIT_ERROR (said). */
int tree_cmd(struct run_opts *ro, struct alloc_spec *specs, int n, const char *arg);

#endif

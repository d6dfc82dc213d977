/* cmd.c - `mallog replay` and `mallog holes`: option parsing, one worker process per allocator
 * (a re-exec of this binary with ASLR off, THP off, a scrubbed allocator environment and, for
 * external allocators, LD_PRELOAD), progress, and the side-by-side table.
 * The worker (`replay --worker`, hidden) is the measured process: it must not touch the
 * allocator before the replay ends, so it parses options without allocating and prints nothing
 * until the replay is done. */
#include <errno.h>
#include <math.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../common/msg.h"
#include "../common/recording.h"
#include "replay.h"

/* cli/ is not linked into the unit tests: reach its helpers weakly */

extern char **environ;

#define MAX_ALLOCS 16
#define HOLES_TOP 20 /* holes `mallog holes` lists by default (--top) */
#define LIBDIR "/usr/lib/x86_64-linux-gnu/"

struct alloc_spec {
    char name[64];   /* the family, or for a tuned one family+settings (name_specs): row, files */
    char family[64]; /* glibc, jemalloc, mimalloc, tcmalloc, arena, or a user library's stem */
    char kind[8];    /* glibc, arena, libc */
    char lib[PATH_MAX];
    char env[2048]; /* "K=V\n" overrides */
};

static const char *builtin_libs[][3] = {
    {"jemalloc", LIBDIR "libjemalloc.so.2", NULL},
    {"mimalloc", LIBDIR "libmimalloc.so.2", NULL},
    {"tcmalloc", LIBDIR "libtcmalloc_minimal.so.4", LIBDIR "libtcmalloc.so.4"},
};

/* Settings pinned per allocator (printed with the results): {allocator, "VAR=value"}. */
static const char *pinned[][2] = {
    {"jemalloc", "MALLOC_CONF=dirty_decay_ms:0,muzzy_decay_ms:0"},
    {"mimalloc", "MIMALLOC_RESET_DELAY=0"},
    {"mimalloc", "MIMALLOC_SEGMENT_DECOMMIT_DELAY=0"},
    {"mimalloc", "MIMALLOC_DECOMMIT_EXTEND_DELAY=0"},
};

/* Allocator environment that is scrubbed before every replay, so results do not depend on the
 * caller's shell. */
static int allocator_var(const char *kv)
{
    static const char *prefixes[] = {"MALLOC_",         "GLIBC_TUNABLES=", "MIMALLOC_", "TCMALLOC_",
                                     "JE_MALLOC_CONF=", "LD_PRELOAD=",     "MALLOG_"};
    for (unsigned i = 0; i < sizeof prefixes / sizeof *prefixes; i++)
        if (strncmp(kv, prefixes[i], strlen(prefixes[i])) == 0)
            return 1;
    return 0;
}

static int touch_mode(const char *s)
{
    return strcmp(s, "none") == 0   ? TOUCH_NONE
           : strcmp(s, "full") == 0 ? TOUCH_FULL
           : strcmp(s, "page") == 0 ? TOUCH_PAGE
                                    : -1;
}

/* THREADS_* of a --threads value, or -1. */
static int threads_mode(const char *s)
{
    for (int i = 0; i < 3; i++)
        if (strcmp(s, threads_mode_names[i]) == 0)
            return i;
    return -1;
}

static const char *touch_name(int t)
{
    return t == TOUCH_NONE ? "none" : t == TOUCH_FULL ? "full" : "page";
}

/* ---- allocator specs ------------------------------------------------------------------------ */

static const char *builtin_lib(const char *name)
{
    for (unsigned i = 0; i < sizeof builtin_libs / sizeof *builtin_libs; i++) {
        if (strcmp(name, builtin_libs[i][0]) != 0)
            continue;
        for (int k = 1; k < 3; k++)
            if (builtin_libs[i][k] && access(builtin_libs[i][k], R_OK) == 0)
                return builtin_libs[i][k];
        return "";
    }
    return NULL;
}

static int looks_like_var(const char *s)
{
    const char *p = s;
    while ((*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_')
        p++;
    return p > s && *p == '=';
}

/* "name[:K=V[:K=V...]]" -> spec. Returns 0 or -1 with a message. */
static int parse_spec(const char *cmd, const char *text, struct alloc_spec *a)
{
    memset(a, 0, sizeof *a);
    const char *colon = strchr(text, ':');
    /* a path may not contain ':' here; tuning always starts with VAR= after the colon */
    size_t nlen = colon ? (size_t)(colon - text) : strlen(text);
    char name[PATH_MAX];
    snprintf(name, sizeof name, "%.*s", (int)nlen, text);
    if (colon) {
        const char *p = colon + 1;
        while (*p) {
            const char *next = p;
            do { /* a value may contain ':' (MALLOC_CONF=a:1,b:2): cut only before VAR= */
                next = strchr(next + 1, ':');
            } while (next && !looks_like_var(next + 1));
            size_t len = next ? (size_t)(next - p) : strlen(p);
            if (!looks_like_var(p)) {
                msg_error(cmd, "%s: tuning must be VAR=value, got '%.*s'", text, (int)len, p);
                return -1;
            }
            size_t used = strlen(a->env);
            snprintf(a->env + used, sizeof a->env - used, "%.*s\n", (int)len, p);
            p = next ? next + 1 : p + len;
        }
    }
    const char *lib;
    if (strcmp(name, "glibc") == 0 || strcmp(name, "arena") == 0) {
        snprintf(a->family, sizeof a->family, "%s", name);
        snprintf(a->kind, sizeof a->kind, "%s", name);
        snprintf(a->lib, sizeof a->lib, "%s", strcmp(name, "glibc") == 0 ? "libc.so.6" : "builtin");
    } else if ((lib = builtin_lib(name))) {
        if (!*lib) {
            msg_error(cmd, "%s is not installed", name);
            return -1;
        }
        snprintf(a->family, sizeof a->family, "%s", name);
        snprintf(a->kind, sizeof a->kind, "libc");
        snprintf(a->lib, sizeof a->lib, "%s", lib);
    } else if (strchr(name, '/') || strstr(name, ".so")) {
        if (!realpath(name, a->lib)) {
            msg_error(cmd, "%s: %s", name, strerror(errno));
            return -1;
        }
        const char *base = strrchr(a->lib, '/') + 1;
        const char *dot = strstr(base, ".so");
        snprintf(a->family, sizeof a->family, "%.*s", (int)(dot ? dot - base : (long)strlen(base)),
                 base);
        snprintf(a->kind, sizeof a->kind, "libc");
    } else {
        msg_error(cmd,
                  "unknown allocator '%s' (glibc, jemalloc, mimalloc, tcmalloc, arena, or a "
                  "path to a .so)",
                  name);
        return -1;
    }
    snprintf(a->name, sizeof a->name, "%s", a->family);
    return 0;
}

/* Appends c to b (of room len, used *k) as a file name and plots' word lists take it. */
static void name_put(char *b, size_t len, size_t *k, char c)
{
    int plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '.' || c == '_' || c == '-' || c == '+';
    if (*k + 1 < len)
        b[(*k)++] = plain ? c : '_';
    b[*k] = 0;
}

/* A tuned spec's name: its family's, then "+" and each setting as key-value in the characters a
 * file name and plots' word lists take ([A-Za-z0-9._+-]), so that two tunings of one allocator
 * get their own row and files, and the name says what differs:
 *   glibc:GLIBC_TUNABLES=glibc.malloc.mmap_threshold=1048576  -> glibc+mmap_threshold-1048576
 *   jemalloc:MALLOC_CONF=narenas:1,tcache:false               -> jemalloc+narenas-1+tcache-false
 *   mimalloc:MIMALLOC_ARENA_EAGER_COMMIT=1                    -> mimalloc+arena_eager_commit-1
 * Written into buf; the caller falls back to a number if it is too long. */
static void variant_name(const struct alloc_spec *a, char *buf, size_t len)
{
    size_t k = 0;
    buf[0] = 0;
    for (const char *p = a->family; *p; p++)
        name_put(buf, len, &k, *p);
    for (const char *line = a->env; *line;) {
        size_t ll = strcspn(line, "\n"), vl = strcspn(line, "=");
        const char *val = line + vl + 1, *end = line + ll;
        name_put(buf, len, &k, '+');
        if (vl == strlen("GLIBC_TUNABLES") && strncmp(line, "GLIBC_TUNABLES", vl) == 0) {
            /* glibc.malloc.a=1:glibc.malloc.b=2 -> a-1+b-2 */
            for (const char *t = val; t < end;) {
                const char *te = t;
                while (te < end && *te != ':')
                    te++;
                const char *eq = t, *key = t;
                while (eq < te && *eq != '=')
                    eq++;
                for (const char *q = t; q < eq; q++)
                    if (*q == '.')
                        key = q + 1;
                for (const char *q = key; q < te; q++)
                    name_put(buf, len, &k, *q == '=' ? '-' : *q);
                if (te < end)
                    name_put(buf, len, &k, '+');
                t = te < end ? te + 1 : te;
            }
        } else if ((vl == 11 && strncmp(line, "MALLOC_CONF", 11) == 0) ||
                   (vl == 14 && strncmp(line, "JE_MALLOC_CONF", 14) == 0)) {
            for (const char *q = val; q < end; q++) /* a:1,b:2 -> a-1+b-2 */
                name_put(buf, len, &k, *q == ':' ? '-' : *q == ',' ? '+' : *q);
        } else {
            const char *key = line;
            static const char *const prefixes[] = {"MIMALLOC_", "TCMALLOC_", "MALLOC_"};
            for (unsigned i = 0; i < sizeof prefixes / sizeof *prefixes; i++)
                if (strncmp(line, prefixes[i], strlen(prefixes[i])) == 0 &&
                    strlen(prefixes[i]) < vl) {
                    key = line + strlen(prefixes[i]);
                    break;
                }
            for (const char *q = key; q < line + vl; q++)
                name_put(buf, len, &k, *q >= 'A' && *q <= 'Z' ? (char)(*q - 'A' + 'a') : *q);
            name_put(buf, len, &k, '-');
            for (const char *q = val; q < end; q++)
                name_put(buf, len, &k, *q);
        }
        line = *end ? end + 1 : end;
    }
}

/* Gives every spec a name of its own: a tuned one family+settings (variant_name), or
 * family+N (N = its place in the list) when that does not fit or is taken already; an untuned
 * one keeps its family's name unless an earlier spec has it. */
static void name_specs(struct alloc_spec *v, int n)
{
    for (int i = 0; i < n; i++) {
        char want[256];
        variant_name(&v[i], want, sizeof want);
        int taken = strlen(want) >= sizeof v[i].name;
        for (int j = 0; j < i && !taken; j++)
            taken = strcmp(v[j].name, want) == 0;
        if (taken) {
            snprintf(want, sizeof want, "%.50s+%d", v[i].family, i + 1);
            for (int j = 0; j < i; j++)
                if (strcmp(v[j].name, want) == 0) /* "glibc+2" given as a library stem */
                    snprintf(want, sizeof want, "%.40s+%d+%d", v[i].family, i + 1, j + 1);
        }
        snprintf(v[i].name, sizeof v[i].name, "%s", want);
    }
}

/* Splits an -a value at commas that start a new allocator (a comma inside MALLOC_CONF stays). */
static int add_specs(const char *cmd, const char *arg, struct alloc_spec *v, int *n)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", arg);
    char *start = buf;
    for (char *p = buf;; p++) {
        if (*p == ',' || *p == 0) {
            int end = *p == 0;
            if (!end) {
                const char *q = p + 1;
                char word[64];
                size_t wl = strcspn(q, ":,");
                snprintf(word, sizeof word, "%.*s", (int)wl, q);
                int is_new = strcmp(word, "glibc") == 0 || strcmp(word, "arena") == 0 ||
                             builtin_lib(word) || strchr(word, '/') || strstr(word, ".so");
                if (!is_new)
                    continue;
            }
            *p = 0;
            if (*start) {
                if (*n == MAX_ALLOCS) {
                    msg_error(cmd, "too many allocators (at most %d)", MAX_ALLOCS);
                    return -1;
                }
                if (parse_spec(cmd, start, &v[*n]) < 0)
                    return -1;
                (*n)++;
            }
            if (end)
                return 0;
            start = p + 1;
        }
    }
}

static int default_specs(struct alloc_spec *v)
{
    const char *names[] = {"glibc", "jemalloc", "mimalloc", "tcmalloc", "arena"};
    int n = 0;
    for (unsigned i = 0; i < sizeof names / sizeof *names; i++) {
        const char *lib = builtin_lib(names[i]);
        if (lib && !*lib)
            continue; /* not installed */
        parse_spec("replay", names[i], &v[n++]);
    }
    return n;
}

/* ---- the pre-pass: events, peak, anomalies --------------------------------------------------- */

/* The pre-pass with mlg_check, for what prepass_run cannot count exactly (a damaged log). */
static int prepass_check(const char *cmd, const char *path, struct prepass *pp)
{
    struct mlg_reader *r;
    struct mlg_error err;
    struct mlg_event ev;
    struct mlg_check check;
    memset(pp, 0, sizeof *pp);
    if (mlg_reader_open(&r, path, NULL, &err) != 0) {
        msg_log_error(cmd, path, &err);
        return -1;
    }
    if (mlg_check_init(&check, NULL) != 0) {
        mlg_reader_close(r);
        msg_error(cmd, "out of memory");
        return -1;
    }
    struct mlg_header h = *mlg_reader_header(r);
    rec_seed_inherited(&check, path, &h);
    int n;
    while ((n = mlg_reader_next(r, &ev)) == 1) {
        mlg_check_event(&check, &ev);
        if (check.live_bytes > pp->peak_bytes) {
            pp->peak_bytes = check.live_bytes;
            pp->peak_event = ev.index;
        }
        if (check.live_blocks > pp->peak_blocks)
            pp->peak_blocks = check.live_blocks;
        if (ev.thread >= pp->threads)
            pp->threads = ev.thread + 1;
        pp->events = ev.index + 1;
    }
    if (n < 0) { /* a damaged log replays up to the damage: say so, go on, exit 2 at the end */
        msg_log_error(cmd, path, mlg_reader_error(r));
        pp->damaged = 1;
    }
    pp->unknown_frees = check.unknown_frees;
    pp->double_frees = check.double_frees;
    mlg_reader_close(r);
    mlg_check_fini(&check);
    return 0;
}

/* Events, peak, anomalies (prepass.c; mlg_check if that cannot be exact). Returns 0 or -1
 * (message printed). */
static int prepass(const char *cmd, const char *path, struct prepass *pp)
{
    struct mlg_error err;
    int rc = prepass_run(path, pp, &err);
    if (rc > 0) {
        msg_log_error(cmd, path, &err);
        return -1;
    }
    if (rc < 0) {
        if (prepass_check(cmd, path, pp) < 0)
            return -1;
    } else if (pp->damaged) { /* a damaged log replays up to the damage: say so, go on, exit 2 */
        msg_log_error(cmd, path, &pp->err);
    }
    if (pp->events == 0) {
        msg_error(cmd, "%s: no events to replay", path);
        return -1;
    }
    return 0;
}

/* Events between samples. A sample visits every live block (usable size, a sort, the holes):
 * ~45 ns a block on a quiet machine, against ~240 ns an event replayed (live_many: 4.65M events,
 * 610k live blocks, page touching). So by default at most 2 samples per peak-live-blocks events,
 * aiming at sampling ~25% of the time (measured on a loaded machine: 54% of the total with 19
 * samples; the old rule, 50 per live set and at least 100, took 100 samples: 75%). At least 16,
 * for a timeline. */
#define SAMPLES_PER_LIVE_SET 2
#define SAMPLES_MIN 16
static uint64_t sample_period(const struct prepass *pp, uint64_t samples, int samples_set)
{
    if (!samples_set) {
        uint64_t budget =
            SAMPLES_PER_LIVE_SET * pp->events / (pp->peak_blocks ? pp->peak_blocks : 1);
        if (budget < samples)
            samples = budget < SAMPLES_MIN ? SAMPLES_MIN : budget;
    }
    uint64_t every = pp->events / (samples ? samples : 1);
    return every ? every : 1;
}

/* ---- spawning workers ------------------------------------------------------------------------ */

struct run_opts {
    const char *log;
    char seeds[MAX_SEEDS][4200]; /* "PATH@SEQ": the fork ancestors' logs, oldest first */
    int nseeds;
    const char *out_dir;
    int threads, touch;  /* THREADS_* (-1 until chosen: faithful for a multi-threaded log) */
    uint64_t every, peak_event, stop_event;
    uint64_t unknown_frees, double_frees; /* from the pre-pass */
    const char *holes_fmt;                /* NULL, "text" or "json" */
    const char *at_label;
    uint64_t holes_top;   /* holes listed, 0 = all */
    int decode_each;      /* --decode=each: every worker decodes the log itself */
    int probe;            /* workers only check that their library serves malloc (probe_libs) */
    int tape_fd, meta_fd; /* > 0: the log decoded once (tapefile.c), inherited by workers */
    int bench;            /* --bench: one worker at a time, no sampling, the calls timed */
    uint64_t repeat;      /* replays per allocator (--repeat; --bench: 5) */
};

/* The chain of logs a forked child's heap comes from, oldest ancestor first. */
static void find_seeds(struct run_opts *ro)
{
    char path[4200], parent[4200];
    uint64_t upto[MAX_SEEDS];
    char chain[MAX_SEEDS][4200];
    int n = 0;
    snprintf(path, sizeof path, "%s", ro->log);
    while (n < MAX_SEEDS) {
        struct mlg_reader *r;
        struct mlg_error err;
        if (mlg_reader_open(&r, path, NULL, &err) != 0)
            break;
        struct mlg_header h = *mlg_reader_header(r);
        mlg_reader_close(r);
        if (rec_parent_log(path, &h, parent, sizeof parent) != 0)
            break;
        snprintf(chain[n], sizeof chain[n], "%s", parent);
        upto[n++] = h.fork_seq;
        snprintf(path, sizeof path, "%s", parent);
    }
    ro->nseeds = n;
    for (int i = 0; i < n; i++) /* reversed: the oldest ancestor is applied first */
        snprintf(ro->seeds[i], sizeof ro->seeds[i], "%s@%" PRIu64, chain[n - 1 - i],
                 upto[n - 1 - i]);
}

struct job {
    struct alloc_spec *spec;
    pid_t pid;
    int result_fd;
    struct summary sum;
    int done, status;
};

static pid_t spawn_worker(const struct run_opts *ro, struct alloc_spec *a, int progress_fd,
                          int slot, int *result_fd)
{
    int fds[2];
    if (pipe(fds) < 0)
        return -1;
    char every[24], peak[24], stop[24], top[24], rfd[16], pfd[16], pslot[16], anom[48], tfd[32];
    snprintf(anom, sizeof anom, "%" PRIu64 ",%" PRIu64, ro->unknown_frees, ro->double_frees);
    snprintf(every, sizeof every, "%" PRIu64, ro->every);
    snprintf(peak, sizeof peak, "%" PRIu64, ro->peak_event);
    snprintf(stop, sizeof stop, "%" PRIu64, ro->stop_event);
    snprintf(rfd, sizeof rfd, "%d", fds[1]);
    snprintf(pfd, sizeof pfd, "%d", progress_fd);
    snprintf(pslot, sizeof pslot, "%d", slot);
    const char *argv[40 + 2 * MAX_SEEDS];
    int k = 0;
    argv[k++] = "mallog";
    argv[k++] = "replay";
    argv[k++] = "--worker";
    argv[k++] = "--alloc";
    argv[k++] = a->name;
    argv[k++] = "--family";
    argv[k++] = a->family;
    argv[k++] = "--kind";
    argv[k++] = a->kind;
    argv[k++] = "--lib";
    argv[k++] = a->lib;
    argv[k++] = "--every";
    argv[k++] = every;
    argv[k++] = "--peak-event";
    argv[k++] = peak;
    argv[k++] = "--stop-event";
    argv[k++] = stop;
    argv[k++] = "--result-fd";
    argv[k++] = rfd;
    argv[k++] = "--progress-fd";
    argv[k++] = pfd;
    argv[k++] = "--progress-slot";
    argv[k++] = pslot;
    argv[k++] = "--anomalies";
    argv[k++] = anom;
    char threads_opt[32];
    /* (a probe runs before the mode is chosen: it replays nothing) */
    snprintf(threads_opt, sizeof threads_opt, "--threads=%s",
             threads_mode_names[ro->threads < 0 ? THREADS_SERIAL : ro->threads]);
    argv[k++] = threads_opt;
    argv[k++] = ro->touch == TOUCH_NONE   ? "--touch=none"
                : ro->touch == TOUCH_FULL ? "--touch=full"
                                          : "--touch=page";
    if (ro->out_dir) {
        argv[k++] = "--output";
        argv[k++] = ro->out_dir;
    }
    if (ro->holes_fmt) {
        argv[k++] = "--holes-format";
        argv[k++] = ro->holes_fmt;
        argv[k++] = "--at-label";
        argv[k++] = ro->at_label;
        snprintf(top, sizeof top, "%" PRIu64, ro->holes_top);
        argv[k++] = "--holes-top";
        argv[k++] = top;
    }
    if (ro->probe)
        argv[k++] = "--probe";
    if (ro->bench)
        argv[k++] = "--bench";
    if (ro->tape_fd > 0 && ro->threads == THREADS_SERIAL) {
        snprintf(tfd, sizeof tfd, "%d,%d", ro->tape_fd, ro->meta_fd);
        argv[k++] = "--tape-fds";
        argv[k++] = tfd;
    }
    for (int i = 0; i < ro->nseeds; i++) {
        argv[k++] = "--seed";
        argv[k++] = ro->seeds[i];
    }
    argv[k++] = "--";
    argv[k++] = ro->log;
    argv[k] = NULL;

    /* the environment: the caller's, minus every allocator knob, plus this spec's */
    static char *envp[4096];
    static char envbuf[16384];
    int e = 0;
    for (char **p = environ; *p && e < 4000; p++)
        if (!allocator_var(*p))
            envp[e++] = *p;
    size_t used = 0;
    if (strcmp(a->kind, "libc") == 0) {
        int n = snprintf(envbuf, sizeof envbuf, "LD_PRELOAD=%s", a->lib);
        envp[e++] = envbuf;
        used = (size_t)n + 1;
    }
    /* time-based purging (jemalloc decay, mimalloc delays) would make the numbers depend on how
     * fast the replay runs: pinned to purge at once unless the caller tunes it. Not for
     * --bench: purging at once costs time the program, with the library's defaults, does not
     * spend (jemalloc: 5x slower on a malloc-bound trace) */
    char all[4096];
    size_t al = 0;
    all[0] = 0;
    for (unsigned i = 0; i < sizeof pinned / sizeof *pinned && !ro->bench; i++) {
        if (strcmp(pinned[i][0], a->family) != 0)
            continue;
        size_t klen = strcspn(pinned[i][1], "=") + 1;
        int overridden = 0;
        for (const char *q = a->env; *q; q += strcspn(q, "\n") + (q[strcspn(q, "\n")] ? 1 : 0))
            if (strncmp(q, pinned[i][1], klen) == 0)
                overridden = 1;
        if (!overridden)
            al += (size_t)snprintf(all + al, sizeof all - al, "%s\n", pinned[i][1]);
    }
    snprintf(all + al, sizeof all - al, "%s", a->env);
    for (char *p = all; *p && e < 4090;) {
        char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        if (used + len + 1 > sizeof envbuf)
            break;
        memcpy(envbuf + used, p, len);
        envbuf[used + len] = 0;
        envp[e++] = envbuf + used;
        used += len + 1;
        p += len + (eol ? 1 : 0);
    }
    envp[e] = NULL;

    fflush(NULL);
    pid_t parent = getpid(), pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    if (pid == 0) {
        close(fds[0]);
        /* A worker must not outlive `mallog replay` (killed by a timeout, a CI runner, kill -9):
         * it would replay on for nobody. Survives execve, like the two settings below. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        /* both survive execve: what `setarch -R` does, and no transparent huge pages */
        personality(personality(0xffffffff) | ADDR_NO_RANDOMIZE);
        prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);
        execve("/proc/self/exe", (char **)argv, envp);
        _exit(127);
    }
    close(fds[1]);
    *result_fd = fds[0];
    return pid;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Runs the jobs, at most `parallel` at a time; progress on a TTY. Returns 0 if all succeeded. */
static int run_jobs(const char *cmd, const struct run_opts *ro, struct job *jobs, int n,
                    uint64_t total_events)
{
    int pfd = memfd_create("mallog-progress", 0);
    volatile uint64_t *prog = NULL;
    if (pfd >= 0 && ftruncate(pfd, 4096) == 0)
        prog = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, pfd, 0);
    if (prog == MAP_FAILED)
        prog = NULL;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    /* --bench: allocators never share the cores with each other */
    int parallel = ro->bench ? 1 : ncpu > 0 ? (int)ncpu : 1;
    int running = 0, next = 0, finished = 0, failed = 0;
    int tty = isatty(2) && msg_verbosity > 0;
    double t0 = now_s(), last_print = 0;
    while (finished < n) {
        while (running < parallel && next < n) {
            struct job *j = &jobs[next];
            j->pid = spawn_worker(ro, j->spec, prog ? pfd : -1, next % 512, &j->result_fd);
            if (j->pid < 0) {
                msg_error(cmd, "%s: cannot start a worker: %s", j->spec->name, strerror(errno));
                j->done = 1;
                finished++;
                failed++;
            } else {
                running++;
            }
            next++;
        }
        int status;
        pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid > 0) {
            for (int i = 0; i < n; i++) {
                struct job *j = &jobs[i];
                if (j->pid != pid || j->done)
                    continue;
                j->done = 1;
                j->status = status;
                ssize_t got = read(j->result_fd, &j->sum, sizeof j->sum);
                close(j->result_fd);
                if (got != (ssize_t)sizeof j->sum || !j->sum.ok || !WIFEXITED(status) ||
                    WEXITSTATUS(status) != 0) {
                    if (got == (ssize_t)sizeof j->sum && j->sum.error[0])
                        fprintf(stderr, "%s%s\n", tty ? "\r\033[K" : "", j->sum.error);
                    else if (WIFSIGNALED(status))
                        msg_error(cmd, "%s: replay worker killed by signal %d (%s)", j->spec->name,
                                  WTERMSIG(status), strsignal(WTERMSIG(status)));
                    else
                        msg_error(cmd, "%s: replay worker failed", j->spec->name);
                    j->sum.ok = 0;
                    failed++;
                }
                running--;
                finished++;
            }
            continue;
        }
        if (tty && prog && now_s() - last_print >= 0.2) {
            last_print = now_s();
            double el = last_print - t0;
            fprintf(stderr, "\r\033[K");
            for (int i = 0; i < n && i < 512; i++) {
                if (!jobs[i].pid || jobs[i].done)
                    continue;
                uint64_t d = prog[i];
                fprintf(stderr, "%s %" PRIu64 "/%" PRIu64 " %.0f%% %.2fM ev/s  ",
                        jobs[i].spec->name, d, total_events,
                        total_events ? 100.0 * (double)d / (double)total_events : 0,
                        el > 0 ? (double)d / el / 1e6 : 0);
            }
        }
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    if (tty)
        fprintf(stderr, "\r\033[K");
    if (prog)
        munmap((void *)prog, 4096);
    if (pfd >= 0)
        close(pfd);
    return failed ? -1 : 0;
}

/* Starts each preloaded library's worker with --probe, before any work: a library that ld.so
 * did not load, or that does not export malloc & co., would replay on glibc's malloc under its
 * own name. Returns 0, or -1 (message printed) if one does not serve malloc. */
static int probe_libs(const char *cmd, const struct run_opts *ro, struct alloc_spec *v, int n)
{
    struct run_opts po = *ro;
    po.probe = 1;
    po.out_dir = NULL;
    po.holes_fmt = NULL;
    po.tape_fd = po.meta_fd = 0;
    po.nseeds = 0;
    int bad = 0;
    for (int i = 0; i < n; i++) {
        if (strcmp(v[i].kind, "libc") != 0)
            continue;
        int rfd, status;
        static struct summary sum;
        pid_t pid = spawn_worker(&po, &v[i], -1, 0, &rfd);
        if (pid < 0) {
            msg_error(cmd, "%s: cannot start a worker: %s", v[i].name, strerror(errno));
            return -1;
        }
        memset(&sum, 0, sizeof sum);
        ssize_t got = read(rfd, &sum, sizeof sum);
        close(rfd);
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
        if (got == (ssize_t)sizeof sum && sum.ok && WIFEXITED(status) && WEXITSTATUS(status) == 0)
            continue;
        const char *said = sum.error, *pre = "mallog replay: ";
        if (strncmp(said, pre, strlen(pre)) == 0)
            said += strlen(pre);
        if (got == (ssize_t)sizeof sum && *said)
            msg_error(cmd, "%s", said);
        else
            msg_error(cmd, "%s: the worker that preloads it failed", v[i].lib);
        bad = 1;
    }
    return bad ? -1 : 0;
}

/* ---- the worker --------------------------------------------------------------------------- */

/* Call sites of the blocks that bound holes, for a log recorded with --stacks: loaded and
 * symbolized once the replay is over (nothing here runs during the measured phase). */
static struct mlg_sites *hole_sites;

static void load_hole_sites(const char *log, const struct engine_result *r)
{
    int any = 0;
    for (uint64_t i = 0; i < r->holes.nh && !any; i++)
        any = r->meta[r->holes.b[r->holes.h[i].left].slot].stack ||
              r->meta[r->holes.b[r->holes.h[i].right].slot].stack;
    struct mlg_error err;
    if (!any || mlg_sites_load(&hole_sites, log, &err) != 0 || mlg_sites_symbolize(hole_sites) != 0)
        return; /* without symbols a site still reads module+offset */
}

/* "main (fragment.c:57)" for a block's stack, or "" */
static const char *site_name(uint32_t stack, char *buf, size_t len)
{
    uint64_t pc = hole_sites && stack ? mlg_sites_site_pc(hole_sites, stack) : 0;
    if (!pc) {
        buf[0] = 0;
        if (stack)
            snprintf(buf, len, "#%u", stack);
        return buf;
    }
    return mlg_sites_frame_name(hole_sites, pc, buf, len);
}

static void print_block(FILE *f, const char *side, const struct engine_result *r, uint64_t bi,
                        uint64_t at)
{
    const struct hole_block *b = &r->holes.b[bi];
    const struct slot *s = &r->meta[b->slot];
    char sz[32], site[1100] = "", name[1024];
    if (s->stack)
        snprintf(site, sizeof site, ", site %s", site_name(s->stack, name, sizeof name));
    fprintf(f,
            "    %-6s %s (%" PRIu64 " B) at 0x%" PRIx64 ", allocated at event %" PRIu64
            ", age %" PRIu64 " events, thread %u%s\n",
            side, mlg_format_size(s->size, sz, sizeof sz), s->size, b->start, s->event,
            at - s->event, s->thread, site);
}

static void json_block(FILE *f, const char *side, const struct engine_result *r, uint64_t bi,
                       uint64_t at)
{
    const struct slot *s = &r->meta[r->holes.b[bi].slot];
    char name[1024];
    fprintf(f,
            "\"%s\": {\"size\": %" PRIu64 ", \"event\": %" PRIu64 ", \"age\": %" PRIu64
            ", \"thread\": %u, \"stack\": %u, \"site\": ",
            side, s->size, s->event, at - s->event, s->thread, s->stack);
    msg_json_string(f, site_name(s->stack, name, sizeof name));
    fputc('}', f);
}

/* The holes at the stop event, largest first: the first `top` (0 = all); text says how many
 * more there are, JSON gives their count as "holes_total". */
static void print_holes(const struct alloc_spec *a, const struct engine_result *r, const char *fmt,
                        const char *label, uint64_t top)
{
    uint64_t at = r->stopped_at;
    uint64_t shown = top && top < r->holes.nh ? top : r->holes.nh;
    const struct sample *s = r->nsamples ? &r->samples[r->nsamples - 1] : NULL;
    if (strcmp(fmt, "json") == 0) {
        printf("{\"allocator\": \"%s\", \"event\": %" PRIu64 ", \"holes_total\": %" PRIu64
               ", \"holes\": [",
               a->name, at, r->holes.nh);
        for (uint64_t i = 0; i < shown; i++) {
            const struct hole *h = &r->holes.h[i];
            printf("%s{\"start\": %" PRIu64 ", \"size\": %" PRIu64 ", \"resident\": %" PRIu64 ", ",
                   i ? ", " : "", h->start, h->size, h->resident);
            json_block(stdout, "left", r, h->left, at);
            printf(", ");
            json_block(stdout, "right", r, h->right, at);
            printf("}");
        }
        printf("]}\n");
        return;
    }
    char b1[32], b2[32], b3[32], b4[32];
    printf("%s at event %" PRIu64 " (%s): live %s in %" PRIu64 " blocks, footprint %s\n", a->name,
           at, label, mlg_format_size(s ? s->live_requested : 0, b1, sizeof b1),
           s ? s->live_blocks : 0, mlg_format_size(s ? s->sys_mapped : 0, b2, sizeof b2));
    printf("%" PRIu64 " holes >= 4 KiB, %s in all (%s resident); %" PRIu64 " >= 1 MiB, %" PRIu64
           " >= 8 MiB\n",
           r->holes.nh, mlg_format_size(s ? s->hole_bytes : 0, b3, sizeof b3),
           mlg_format_size(s ? s->hole_resident : 0, b4, sizeof b4), s ? s->holes_1m : 0,
           s ? s->holes_8m : 0);
    for (uint64_t i = 0; i < shown; i++) {
        const struct hole *h = &r->holes.h[i];
        printf("#%-4" PRIu64 " %s hole at 0x%" PRIx64 " (%" PRIu64 " B, resident %s)\n", i + 1,
               mlg_format_size(h->size, b1, sizeof b1), h->start, h->size,
               mlg_format_size(h->resident, b2, sizeof b2));
        print_block(stdout, "left:", r, h->left, at);
        print_block(stdout, "right:", r, h->right, at);
    }
    if (shown < r->holes.nh)
        printf("... and %" PRIu64 " smaller hole%s (--top N lists N, --top 0 all)\n",
               r->holes.nh - shown, r->holes.nh - shown == 1 ? "" : "s");
}

static void env_of_worker(char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = 0;
    for (char **p = environ; *p; p++)
        if (allocator_var(*p) && used < len) {
            int n = snprintf(buf + used, len - used, "%s\n", *p);
            if (n > 0)
                used += (size_t)n;
        }
}

/* A number the parent wrote (decimal digits, fits in 64 bits): 0 or -1. */
static int worker_num(const char *s, uint64_t *out)
{
    const char *p = s;
    while (*p >= '0' && *p <= '9')
        p++;
    errno = 0;
    if (p == s || *p || (*out = strtoull(s, NULL, 10), errno == ERANGE))
        return -1;
    return 0;
}

static int worker(int argc, char **argv)
{
    static const struct option opts[] = {{"worker", no_argument, NULL, 'W'},
                                         {"alloc", required_argument, NULL, 'a'},
                                         {"kind", required_argument, NULL, 'k'},
                                         {"family", required_argument, NULL, 'f'},
                                         {"probe", no_argument, NULL, 'Q'},
                                         {"lib", required_argument, NULL, 'l'},
                                         {"every", required_argument, NULL, 'e'},
                                         {"peak-event", required_argument, NULL, 'p'},
                                         {"stop-event", required_argument, NULL, 's'},
                                         {"result-fd", required_argument, NULL, 'r'},
                                         {"progress-fd", required_argument, NULL, 'P'},
                                         {"progress-slot", required_argument, NULL, 'S'},
                                         {"threads", required_argument, NULL, 't'},
                                         {"touch", required_argument, NULL, 'T'},
                                         {"output", required_argument, NULL, 'o'},
                                         {"holes-format", required_argument, NULL, 'H'},
                                         {"at-label", required_argument, NULL, 'L'},
                                         {"holes-top", required_argument, NULL, 'O'},
                                         {"bare", no_argument, NULL, 'B'},
                                         {"anomalies", required_argument, NULL, 'N'},
                                         {"seed", required_argument, NULL, 'D'},
                                         {"tape-fds", required_argument, NULL, 'F'},
                                         {"bench", no_argument, NULL, 'b'},
                                         {NULL, 0, NULL, 0}};
    static struct alloc_spec a;
    static struct summary sum;
    static struct engine_result res;
    struct engine_opts eo = {0};
    const char *out = NULL, *hfmt = NULL, *label = "";
    int rfd = -1, pfd = -1, pslot = 0, bare = 0, probe = 0, bench = 0, c;
    uint64_t holes_top = 0, v;
    char *endp;
    eo.peak_event = eo.stop_event = UINT64_MAX;
    eo.touch = TOUCH_PAGE;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'W':
            break;
        case 'a':
            snprintf(a.name, sizeof a.name, "%s", optarg);
            break;
        case 'k':
            snprintf(a.kind, sizeof a.kind, "%s", optarg);
            break;
        case 'f':
            snprintf(a.family, sizeof a.family, "%s", optarg);
            break;
        case 'Q':
            probe = 1;
            break;
        case 'l':
            snprintf(a.lib, sizeof a.lib, "%s", optarg);
            break;
        case 'e':
            if (worker_num(optarg, &eo.every) < 0)
                return EXIT_ERROR;
            break;
        case 'p':
            if (worker_num(optarg, &eo.peak_event) < 0)
                return EXIT_ERROR;
            break;
        case 's':
            if (worker_num(optarg, &eo.stop_event) < 0)
                return EXIT_ERROR;
            break;
        case 'r':
            if (worker_num(optarg, &v) < 0 || v > INT_MAX)
                return EXIT_ERROR;
            rfd = (int)v;
            break;
        case 'P': /* -1: no progress word */
            if (strcmp(optarg, "-1") != 0 && (worker_num(optarg, &v) < 0 || v > INT_MAX))
                return EXIT_ERROR;
            pfd = strcmp(optarg, "-1") == 0 ? -1 : (int)v;
            break;
        case 'S':
            if (worker_num(optarg, &v) < 0 || v > INT_MAX)
                return EXIT_ERROR;
            pslot = (int)v;
            break;
        case 'D': { /* PATH@SEQ */
            char *at = strrchr(optarg, '@');
            if (!at || eo.nseeds == MAX_SEEDS)
                return EXIT_ERROR;
            *at = 0;
            eo.seed_log[eo.nseeds] = optarg;
            if (worker_num(at + 1, &eo.seed_upto[eo.nseeds]) < 0)
                return EXIT_ERROR;
            eo.nseeds++;
            break;
        }
        case 't':
            if ((eo.threads = threads_mode(optarg)) < 0)
                return EXIT_ERROR;
            break;
        case 'T':
            eo.touch = touch_mode(optarg);
            break;
        case 'o':
            out = optarg;
            break;
        case 'H':
            hfmt = optarg;
            break;
        case 'L':
            label = optarg;
            break;
        case 'O':
            if (worker_num(optarg, &holes_top) < 0)
                return EXIT_ERROR;
            break;
        case 'B':
            bare = 1;
            break;
        case 'b':
            bench = 1;
            break;
        case 'F': { /* OPS,META */
            uint64_t t, m;
            char first[24];
            if (!(endp = strchr(optarg, ',')) || endp - optarg >= (long)sizeof first)
                return EXIT_ERROR;
            snprintf(first, sizeof first, "%.*s", (int)(endp - optarg), optarg);
            if (worker_num(first, &t) < 0 || worker_num(endp + 1, &m) < 0 || t > INT_MAX ||
                m > INT_MAX || !t || !m)
                return EXIT_ERROR;
            eo.tape_fd = (int)t;
            eo.meta_fd = (int)m;
            break;
        }
        case 'N': { /* the pre-pass's classification: "unknown,double" */
            char first[24];
            if (!(endp = strchr(optarg, ',')) || endp - optarg >= (long)sizeof first)
                return EXIT_ERROR;
            snprintf(first, sizeof first, "%.*s", (int)(endp - optarg), optarg);
            if (worker_num(first, &sum.unknown_frees) < 0 ||
                worker_num(endp + 1, &sum.double_frees) < 0)
                return EXIT_ERROR;
            break;
        }
        default:
            return EXIT_ERROR;
        }
    }
    if (optind != argc - 1)
        return EXIT_ERROR;
    eo.log = argv[optind];
    eo.keep_holes = hfmt != NULL;
    /* Started by hand (not by the parent)? Turn ASLR off by re-exec, as the parent does. */
    int pers = personality(0xffffffff);
    if (pers != -1 && !(pers & ADDR_NO_RANDOMIZE)) {
        static char *nargv[64];
        int k = 0;
        nargv[k++] = "mallog";
        for (int i = 0; i < argc && k < 63; i++)
            nargv[k++] = argv[i];
        nargv[k] = NULL;
        personality((unsigned long)pers | ADDR_NO_RANDOMIZE);
        execv("/proc/self/exe", nargv);
    }
    prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);
    if (pfd >= 0 && pslot >= 0 && pslot < 512) {
        void *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, pfd, 0);
        if (m != MAP_FAILED)
            eo.progress = (volatile uint64_t *)m + pslot;
    }
    struct backend b;
    if (backend_open(&b, a.kind, a.family) < 0)
        return EXIT_ERROR;
    /* LD_PRELOAD of a file that is not a shared library, or of one without malloc, leaves
     * glibc's malloc in place: its figures would be glibc's under another name */
    char why[PATH_MAX + 200];
    if (strcmp(a.kind, "libc") == 0 && backend_serves(a.lib, why, sizeof why) < 0) {
        sum.ok = 0;
        snprintf(sum.error, sizeof sum.error, "mallog replay: %s: %s", a.lib, why);
        if (rfd >= 0 && write(rfd, &sum, sizeof sum) < 0)
            return EXIT_ERROR;
        return EXIT_ERROR;
    }
    if (probe) { /* the parent checks each library before any work (probe_libs) */
        sum.ok = 1;
        if (rfd >= 0 && write(rfd, &sum, sizeof sum) < 0)
            return EXIT_ERROR;
        return 0;
    }

    if (bare) { /* bench: `mallog replay --worker --bare ...` prints "calls ns" */
        uint64_t ns = 0, calls = 0;
        int brc = engine_bare(&eo, &b, &ns, &calls);
        if (brc)
            return EXIT_ERROR;
        printf("%" PRIu64 " %" PRIu64 "\n", calls, ns);
        return 0;
    }
    int rc = engine_run(&eo, &b, &res);

    /* measured phase over: stdio and malloc are fine from here on */
    snprintf(sum.allocator, sizeof sum.allocator, "%s", a.name);
    snprintf(sum.library, sizeof sum.library, "%s", a.lib);
    snprintf(sum.log, sizeof sum.log, "%s", eo.log);
    snprintf(sum.threads_mode, sizeof sum.threads_mode, "%s", threads_mode_names[eo.threads]);
    snprintf(sum.touch, sizeof sum.touch, "%s", touch_name(eo.touch));
    env_of_worker(sum.env, sizeof sum.env);
    output_summarize(&res, &sum);
    sum.bench = bench;
    sum.ok = 1;
    if (rc && res.events == 0) {
        char e[400];
        snprintf(sum.error, sizeof sum.error, "mallog replay: %s: %s", eo.log,
                 mlg_error_format(&res.err, e, sizeof e));
        sum.ok = 0;
    } else if (rc && rc != MLG_E_NOMEM) {
        /* a damaged log: everything before the damage was replayed; the parent's pre-pass has
         * already said where the damage is */
    } else if (rc) {
        snprintf(sum.error, sizeof sum.error, "mallog replay: %s: %s: out of memory", eo.log,
                 a.name);
        sum.ok = 0;
    }
    if (sum.ok && out) {
        struct mem_buf tb = {0}, jb = {0};
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/replay.%s.tsv", out, a.name);
        if (output_tsv(&res, &tb) < 0 || mem_buf_write_file(&tb, path) < 0) {
            snprintf(sum.error, sizeof sum.error, "mallog replay: %s: %s", path, strerror(errno));
            sum.ok = 0;
        }
        snprintf(path, sizeof path, "%s/replay.%s.json", out, a.name);
        if (sum.ok && (output_json(&sum, &jb) < 0 || mem_buf_write_file(&jb, path) < 0)) {
            snprintf(sum.error, sizeof sum.error, "mallog replay: %s: %s", path, strerror(errno));
            sum.ok = 0;
        }
        mem_buf_free(&tb);
        mem_buf_free(&jb);
    }
    if (sum.ok && hfmt) {
        if (res.stopped_at == UINT64_MAX) {
            snprintf(sum.error, sizeof sum.error,
                     "mallog holes: %s: event %" PRIu64 " is past the end (%" PRIu64 " events)",
                     eo.log, eo.stop_event, res.events);
            sum.ok = 0;
        } else {
            load_hole_sites(eo.log, &res);
            print_holes(&a, &res, hfmt, label, holes_top);
            fflush(stdout);
            mlg_sites_free(hole_sites);
        }
    }
    if (rfd >= 0) {
        ssize_t w = write(rfd, &sum, sizeof sum);
        (void)w;
    }
    return sum.ok ? 0 : EXIT_ERROR;
}

/* ---- mallog replay ----------------------------------------------------------------------------
 */

static void replay_usage(FILE *f)
{
    fprintf(
        f, "usage: mallog replay LOG [-a ALLOC[,ALLOC...]] [-o DIR] [options]\n"
           "Re-runs every allocation of LOG on each allocator (one process each, in parallel)\n"
           "and prints peak live bytes, footprint, RSS, fragmentation and holes side by side.\n"
           "  -a, --alloc LIST     glibc, jemalloc, mimalloc, tcmalloc, arena, or a path to a .so\n"
           "                       exporting malloc & co.; tune with NAME:VAR=value, e.g.\n"
           "                       'glibc:GLIBC_TUNABLES=glibc.malloc.mmap_threshold=65536'\n"
           "                       (row and files: glibc+mmap_threshold-65536)\n"
           "                       (default: every installed allocator)\n"
           "  -o, --output DIR     write DIR/replay.<alloc>.tsv (timeline) and .json (summary)\n"
           "      --threads MODE   faithful (the default for a multi-threaded log): a replay\n"
           "                       thread per recorded thread, each running freely but for\n"
           "                       the order that matters (a block is freed after it was\n"
           "                       made; thread start/end, trim and samples at a cut);\n"
           "                       strict: the same threads in the recorded global order\n"
           "                       (deterministic, slower); serial: all on one thread (the\n"
           "                       default for a one-thread log; fast, one glibc arena)\n"
           "      --touch MODE     none, page (default: dirty every page a block covers, as a\n"
           "                       program writing its memory would) or full (every byte)\n"
           "      --bench          speed: the allocators one at a time, no sampling, each\n"
           "                       replayed 5 times (--repeat): the median time of the\n"
           "                       replayed calls, its spread, CPU time, speed against glibc\n"
           "      --repeat N       replay each allocator N times: the median footprint and\n"
           "                       RSS with their spread (a threaded replay varies as the\n"
           "                       program did)\n"
           "      --samples N      about N timeline samples (default 2000), plus the peak\n"
           "      --every N        sample every N events instead\n"
           "      --pid PID        with a recording prefix or directory: that process's log\n"
           "      --decode MODE    once (default): translate the log once into a tape in\n"
           "                       $TMPDIR that every allocator replays (if it fits: ~24\n"
           "                       bytes/event); each: every allocator's replay decodes the\n"
           "                       log itself, in a second process (no disk, more CPU)\n"
           "  -h, --help\n");
}

static struct rec_pid opt_pid; /* --pid: which process of a recording */

/* An option with two values: 0 for `first`, 1 for `second`, else -1 (message printed). */
static int one_of(const char *cmd, const char *opt, const char *arg, const char *first,
                  const char *second)
{
    if (strcmp(arg, first) == 0)
        return 0;
    if (strcmp(arg, second) == 0)
        return 1;
    msg_error(cmd, "%s: %s or %s, not '%s'", opt, first, second, arg);
    return -1;
}

/* A count: decimal digits only (no sign, blanks, suffix or trailing text), min <= value <=
 * max. 0, or -1 with "mallog CMD: --samples: 'abc' is not a number" (or out of range). */
static int parse_count(const char *cmd, const char *opt, const char *arg, uint64_t min,
                       uint64_t max, uint64_t *out)
{
    const char *p = arg;
    while (*p >= '0' && *p <= '9')
        p++;
    if (p == arg || *p) {
        msg_error(cmd, "%s: '%s' is not a number", opt, arg);
        return -1;
    }
    errno = 0;
    uint64_t v = strtoull(arg, NULL, 10);
    if (errno == ERANGE || v < min || v > max) {
        msg_error(cmd, "%s: '%s' is out of range (%" PRIu64 " to %" PRIu64 ")", opt, arg, min, max);
        return -1;
    }
    *out = v;
    return 0;
}

/* What the command line asks of replay and holes (parse_common). */
struct cli_opts {
    uint64_t samples;
    int samples_set;
    const char *at; /* holes: EVENT, peak or worst */
    int json;       /* holes */
    uint64_t top;   /* holes: holes listed (0 = all) */
    int top_set;
};

#define SAMPLES_MAX 1000000000ull /* more samples than events is one each event anyway */
#define REPEAT_MAX 100
#define BENCH_REPEAT 5

/* Parses and checks every option of `mallog replay` (holes = 0) or `mallog holes` (1) before
 * any work: an option of the other command is refused, not ignored. Returns 0, -1 for --help,
 * or EXIT_ERROR (message printed). */
static int parse_common(const char *cmd, int holes, int argc, char **argv, struct alloc_spec *specs,
                        int *n, struct run_opts *ro, struct cli_opts *co)
{
    enum { REPLAY = 1, HOLES = 2, BOTH = 3 };
    static const struct option opts[] = {{"alloc", required_argument, NULL, 'a'},
                                         {"output", required_argument, NULL, 'o'},
                                         {"threads", required_argument, NULL, 't'},
                                         {"touch", required_argument, NULL, 'T'},
                                         {"samples", required_argument, NULL, 'n'},
                                         {"every", required_argument, NULL, 'e'},
                                         {"at", required_argument, NULL, 'A'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"pid", required_argument, NULL, 'p'},
                                         {"help", no_argument, NULL, 'h'},
                                         {"decode", required_argument, NULL, 'd'},
                                         {"top", required_argument, NULL, 'N'},
                                         {"bench", no_argument, NULL, 'B'},
                                         {"repeat", required_argument, NULL, 'R'},
                                         {NULL, 0, NULL, 0}};
    /* which command each option belongs to */
    static const struct {
        int c, owner;
        const char *name;
    } owners[] = {{'o', REPLAY, "-o/--output"},
                  {'d', REPLAY, "--decode"},
                  {'A', HOLES, "--at"},
                  {'j', HOLES, "--json"},
                  {'N', HOLES, "--top"},
                  {'B', REPLAY, "--bench"},
                  {'R', REPLAY, "--repeat"}};
    int c;
    optind = 1;
    opterr = 0; /* our own messages, in mallog's shape */
    opt_pid = (struct rec_pid)REC_PID_NONE;
    while ((c = getopt_long(argc, argv, ":a:o:h", opts, NULL)) != -1) {
        for (unsigned i = 0; i < sizeof owners / sizeof *owners; i++)
            if (owners[i].c == c && !(owners[i].owner & (holes ? HOLES : REPLAY))) {
                msg_error(cmd, "%s is an option of `mallog %s`, not of `mallog %s`", owners[i].name,
                          holes ? "replay" : "holes", cmd);
                return EXIT_ERROR;
            }
        switch (c) {
        case 'a':
            if (add_specs(cmd, optarg, specs, n) < 0)
                return EXIT_ERROR;
            break;
        case 'o':
            if (!*optarg) {
                msg_error(cmd, "-o: an empty directory name");
                return EXIT_ERROR;
            }
            ro->out_dir = optarg;
            break;
        case 't':
            if ((ro->threads = threads_mode(optarg)) < 0) {
                msg_error(cmd, "--threads: serial, strict or faithful, not '%s'", optarg);
                return EXIT_ERROR;
            }
            break;
        case 'T':
            if ((ro->touch = touch_mode(optarg)) < 0) {
                msg_error(cmd, "--touch: none, page or full, not '%s'", optarg);
                return EXIT_ERROR;
            }
            break;
        case 'n':
            if (parse_count(cmd, "--samples", optarg, 1, SAMPLES_MAX, &co->samples) < 0)
                return EXIT_ERROR;
            co->samples_set = 1;
            break;
        case 'e':
            if (parse_count(cmd, "--every", optarg, 1, UINT64_MAX, &ro->every) < 0)
                return EXIT_ERROR;
            break;
        case 'A': {
            const char *q = optarg;
            while (*q >= '0' && *q <= '9')
                q++;
            errno = 0;
            if (strcmp(optarg, "peak") != 0 && strcmp(optarg, "worst") != 0 &&
                (q == optarg || *q || (strtoull(optarg, NULL, 10), errno == ERANGE))) {
                msg_error(cmd, "--at: an event number, peak or worst, not '%s'", optarg);
                return EXIT_ERROR;
            }
            co->at = optarg;
            break;
        }
        case 'j':
            co->json = 1;
            break;
        case 'N':
            if (parse_count(cmd, "--top", optarg, 0, UINT64_MAX, &co->top) < 0)
                return EXIT_ERROR;
            co->top_set = 1;
            break;
        case 'p':
            if (rec_parse_pid(cmd, optarg, &opt_pid) != 0)
                return EXIT_ERROR;
            break;
        case 'd':
            if ((ro->decode_each = one_of(cmd, "--decode", optarg, "once", "each")) < 0)
                return EXIT_ERROR;
            break;
        case 'B':
            ro->bench = 1;
            break;
        case 'R':
            if (parse_count(cmd, "--repeat", optarg, 1, REPEAT_MAX, &ro->repeat) < 0)
                return EXIT_ERROR;
            break;
        case 'h':
            return -1;
        case ':':
            msg_error(cmd, "%s: needs a value", argv[optind - 1]);
            return EXIT_ERROR;
        default:
            if (optopt)
                msg_error(cmd, "unknown option '-%c'", optopt);
            else
                msg_error(cmd, "unknown option '%s'", argv[optind - 1]);
            return EXIT_ERROR;
        }
    }
    if (optind != argc - 1) {
        msg_error(cmd, optind >= argc ? "which log? (see --help)" : "one log at a time");
        return EXIT_ERROR;
    }
    return 0;
}

/* The output directory, made if missing and checked before any work: a file in its place, or
 * one we cannot write to, would fail only once every worker has replayed. 0 or -1 (said). */
static int make_out_dir(const char *cmd, const char *dir)
{
    struct stat st;
    if (mkdir(dir, 0777) < 0 && errno != EEXIST) {
        msg_error(cmd, "-o %s: %s", dir, strerror(errno));
        return -1;
    }
    if (stat(dir, &st) < 0) {
        msg_error(cmd, "-o %s: %s", dir, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        msg_error(cmd, "-o %s: not a directory", dir);
        return -1;
    }
    if (access(dir, W_OK | X_OK) < 0) {
        msg_error(cmd, "-o %s: %s", dir, strerror(errno));
        return -1;
    }
    return 0;
}

/* ---- several replays of one allocator (--repeat, --bench) -------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The median of v[0..n) (sorted in place; the mean of the middle two for even n). */
static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Folds the `runs` replays of each of the n allocators (jobs[r * n + i]) into jobs[i]: the run
 * whose peak footprint is the median stands for the others, with the median and spread of the
 * footprint, RSS and time. An allocator with a failed run has failed. With -o, its JSON is
 * written again with these figures. Returns the number of allocators that failed. */
static int fold_runs(const struct run_opts *ro, struct job *jobs, int n, int runs)
{
    int failed = 0;
    for (int i = 0; i < n; i++) {
        double fp[REPEAT_MAX], rss[REPEAT_MAX], sec[REPEAT_MAX], cpu[REPEAT_MAX];
        int ok = 1;
        for (int r = 0; r < runs; r++) {
            const struct summary *s = &jobs[r * n + i].sum;
            ok &= s->ok;
            fp[r] = (double)s->peak_footprint;
            rss[r] = (double)s->peak_rss;
            sec[r] = s->replay_seconds;
            cpu[r] = s->replay_cpu_seconds;
        }
        if (!ok) {
            for (int r = 0; r < runs && jobs[i].sum.ok; r++)
                jobs[i].sum = jobs[r * n + i].sum; /* the failed one, for its message */
            jobs[i].sum.ok = 0;
            failed++;
            continue;
        }
        double mfp = median(fp, runs);
        int pick = 0; /* the run closest to the median footprint */
        for (int r = 1; r < runs; r++)
            if (fabs((double)jobs[r * n + i].sum.peak_footprint - mfp) <
                fabs((double)jobs[pick * n + i].sum.peak_footprint - mfp))
                pick = r;
        struct summary agg = jobs[pick * n + i].sum;
        agg.runs = runs;
        agg.peak_footprint = (uint64_t)mfp;
        agg.peak_footprint_min = (uint64_t)fp[0];
        agg.peak_footprint_max = (uint64_t)fp[runs - 1];
        agg.peak_rss = (uint64_t)median(rss, runs);
        agg.peak_rss_min = (uint64_t)rss[0];
        agg.peak_rss_max = (uint64_t)rss[runs - 1];
        agg.replay_seconds = median(sec, runs);
        agg.replay_seconds_min = sec[0];
        agg.replay_seconds_max = sec[runs - 1];
        agg.replay_cpu_seconds = median(cpu, runs);
        jobs[i].sum = agg;
        if (ro->out_dir) {
            struct mem_buf jb = {0};
            char path[PATH_MAX];
            snprintf(path, sizeof path, "%s/replay.%s.json", ro->out_dir, agg.allocator);
            if (output_json(&agg, &jb) < 0 || mem_buf_write_file(&jb, path) < 0) {
                msg_error("replay", "%s: %s", path, strerror(errno));
                jobs[i].sum.ok = 0;
                failed++;
            }
            mem_buf_free(&jb);
        }
    }
    return failed;
}

/* --bench: the time of the replayed calls per allocator, and its speed against glibc (or the
 * first allocator when glibc is not among them). */
static void print_bench(const struct run_opts *ro, const struct prepass *pp, struct job *jobs,
                        int n)
{
    const struct summary *base = NULL;
    for (int i = 0; i < n && !base; i++)
        if (jobs[i].sum.ok && strcmp(jobs[i].spec->name, "glibc") == 0)
            base = &jobs[i].sum;
    for (int i = 0; i < n && !base; i++)
        if (jobs[i].sum.ok)
            base = &jobs[i].sum;
    printf("log %s: %" PRIu64 " events, %" PRIu64 " thread%s, replayed %s, touch=%s\n", ro->log,
           pp->events, pp->threads, pp->threads == 1 ? "" : "s", threads_mode_names[ro->threads],
           touch_name(ro->touch));
    printf("speed: %" PRIu64 " replays per allocator, one allocator at a time, no sampling, the "
           "libraries' default settings; the replayed calls alone (median, min-max)\n",
           ro->repeat);
    printf("%-12s %12s %21s %10s %14s\n", "allocator", "replay time", "min-max", "CPU",
           base ? "speed" : "");
    for (int i = 0; i < n; i++) {
        const struct summary *s = &jobs[i].sum;
        if (!s->ok) {
            printf("%-12s (failed)\n", jobs[i].spec->name);
            continue;
        }
        char range[48], vs[48] = "";
        snprintf(range, sizeof range, "%.3f-%.3f s", s->replay_seconds_min, s->replay_seconds_max);
        if (base && s->replay_seconds > 0) {
            double x = base->replay_seconds / s->replay_seconds;
            snprintf(vs, sizeof vs, s == base ? "(base)" : x >= 1 ? "%.2fx faster" : "%.2fx slower",
                     x >= 1 ? x : 1 / x);
        }
        printf("%-12s %10.3f s %21s %8.3f s %14s\n", s->allocator, s->replay_seconds, range,
               s->replay_cpu_seconds, vs);
    }
    if (base)
        printf("(against %s: its median time divided by this allocator's)\n", base->allocator);
}

static void print_table(const struct run_opts *ro, const struct prepass *pp, struct job *jobs,
                        int n)
{
    char a[32], b[32], c[32], d[32], e[32];
    printf("log %s: %" PRIu64 " events, %" PRIu64 " thread%s, replayed %s, touch=%s, ASLR off, "
           "THP off\n",
           ro->log, pp->events, pp->threads, pp->threads == 1 ? "" : "s",
           ro->threads == THREADS_STRICT     ? "strict (a thread per recorded thread, in order)"
           : ro->threads == THREADS_FAITHFUL ? "faithful (a thread per recorded thread)"
                                             : "serial",
           touch_name(ro->touch));
    int w = 12; /* a tuned allocator's name is longer (name_specs) */
    for (int i = 0; i < n; i++)
        if ((int)strlen(jobs[i].spec->name) > w)
            w = (int)strlen(jobs[i].spec->name);
    printf("%-*s %10s %10s %10s %8s %10s %6s %6s %10s %10s\n", w, "allocator", "peak live",
           "footprint", "peak RSS", "fp/live", "slop", ">=1M", ">=8M", "largest", "events/s");
    for (int i = 0; i < n; i++) {
        const struct summary *s = &jobs[i].sum;
        if (!s->ok) {
            printf("%-*s (failed)\n", w, jobs[i].spec->name);
            continue;
        }
        printf("%-*s %10s %10s %10s %8.2f %10s %6" PRIu64 " %6" PRIu64 " %10s %9.2fM\n", w,
               s->allocator, mlg_format_size(s->peak_live_requested, a, sizeof a),
               mlg_format_size(s->peak_footprint, b, sizeof b),
               mlg_format_size(s->peak_rss, c, sizeof c), s->footprint_ratio_at_peak,
               mlg_format_size(s->slop_at_peak, d, sizeof d), s->worst_holes_1m, s->worst_holes_8m,
               mlg_format_size(s->worst_largest_hole, e, sizeof e), s->events_per_sec / 1e6);
    }
    uint64_t anomalies = 0;
    for (int i = 0; i < n; i++)
        if (jobs[i].sum.ok) {
            anomalies = jobs[i].sum.unknown_frees + jobs[i].sum.double_frees;
            if (anomalies)
                printf("anomalies skipped: %" PRIu64 " unknown frees, %" PRIu64 " double frees\n",
                       jobs[i].sum.unknown_frees, jobs[i].sum.double_frees);
            break;
        }
    if (msg_verbosity > 0) {
        printf("footprint = allocator's mapped bytes at its peak; fp/live at the peak of live "
               "bytes; holes at the worst sample\n");
        for (int i = 0; i < n; i++) {
            const struct summary *s = &jobs[i].sum;
            if (!s->ok)
                continue;
            char env[2048];
            snprintf(env, sizeof env, "%s", s->env);
            for (char *p = env; *p; p++)
                if (*p == '\n')
                    *p = p[1] ? ' ' : 0;
            printf("  %s: %s; env: %s\n", s->allocator, s->library,
                   *env ? env : "(library defaults; allocator variables scrubbed)");
        }
    }
}

/* What replay and holes do before starting workers: the fork ancestors, the pre-pass over the
 * log (anomalies, peak, size), the sample period. Returns 0 or -1 (message printed). */
static int prepare_run(const char *cmd, struct run_opts *ro, struct prepass *pp, uint64_t samples,
                       int samples_set)
{
    find_seeds(ro);
    if (prepass(cmd, ro->log, pp) < 0)
        return -1;
    if (!ro->every)
        ro->every = sample_period(pp, samples, samples_set);
    ro->peak_event = pp->peak_event;
    ro->stop_event = UINT64_MAX;
    if (ro->threads < 0)
        ro->threads = pp->threads > 1 ? THREADS_FAITHFUL : THREADS_SERIAL;
    if (ro->bench) { /* one sample, at the end: nothing but the calls in the timed part */
        ro->every = UINT64_MAX;
        ro->peak_event = UINT64_MAX;
    }
    ro->unknown_frees = pp->unknown_frees;
    ro->double_frees = pp->double_frees;
    return 0;
}

/* ---- the log decoded once ------------------------------------------------------------------ */

static uint64_t decode_total;

static void decode_progress(uint64_t done)
{
    fprintf(stderr, "\r\033[Kdecoding %" PRIu64 "/%" PRIu64 " %.0f%%", done, decode_total,
            decode_total ? 100.0 * (double)done / (double)decode_total : 0);
}

/* An unnamed file in $TMPDIR (or /tmp) for a tape of about `bytes`, if they fit with half the
 * free space to spare: its fd (>= 3, no close-on-exec: the workers inherit it); else -1 with
 * why (errno's text, or that it does not fit) and *dir. */
static int tape_file(uint64_t bytes, const char **dirp, char *why, size_t len)
{
    const char *dir = getenv("TMPDIR");
    struct statvfs sv;
    if (!dir || !*dir)
        dir = "/tmp";
    *dirp = dir;
    if (statvfs(dir, &sv) < 0) {
        snprintf(why, len, "%s", strerror(errno));
        return -1;
    }
    if (bytes > (uint64_t)sv.f_bavail * sv.f_frsize / 2) {
        snprintf(why, len,
                 "the tape (~%" PRIu64 " MiB) does not fit in half its free space (%" PRIu64
                 " MiB)",
                 bytes >> 20, (uint64_t)sv.f_bavail * sv.f_frsize >> 20);
        return -1;
    }
    int fd = open(dir, O_TMPFILE | O_RDWR, 0600);
    if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
        char path[PATH_MAX]; /* a file system without O_TMPFILE */
        snprintf(path, sizeof path, "%s/mallog-tape.XXXXXX", dir);
        if ((fd = mkstemp(path)) >= 0)
            unlink(path);
    }
    if (fd >= 0 && fd < 3) {
        int high = fcntl(fd, F_DUPFD, 3);
        close(fd);
        fd = high;
    }
    if (fd < 0)
        snprintf(why, len, "%s", strerror(errno));
    return fd;
}

/* Decodes the log once for all workers (--decode=once, serial threads, when it fits); else the
 * workers decode it themselves. Never fails: each worker decoding is always possible. */
static void decode_once(struct run_opts *ro, uint64_t events)
{
    static char seeds[MAX_SEEDS][4200];
    ro->tape_fd = ro->meta_fd = 0;
    if (ro->decode_each || ro->threads != THREADS_SERIAL)
        return;
    /* ~1.5 records an event (a free: 1, an allocation: 2), 16 bytes each; room for 2 */
    const char *dir = "";
    char why[256];
    int fd = tape_file(events * 32 + (1u << 20), &dir, why, sizeof why);
    int meta_fd = fd >= 0 ? tape_file(0, &dir, why, sizeof why) : -1;
    if (meta_fd < 0) {
        if (fd >= 0)
            close(fd);
        if (msg_verbosity > 0)
            fprintf(stderr,
                    "mallog replay: $TMPDIR %s: %s: every allocator decodes the log "
                    "itself\n",
                    dir, why);
        return;
    }
    struct engine_opts eo = {0};
    eo.log = ro->log;
    for (int i = 0; i < ro->nseeds; i++) { /* "PATH@SEQ" */
        memcpy(seeds[i], ro->seeds[i], sizeof seeds[i]);
        char *at = strrchr(seeds[i], '@');
        *at = 0;
        eo.seed_log[i] = seeds[i];
        eo.seed_upto[i] = strtoull(at + 1, NULL, 10);
    }
    eo.nseeds = ro->nseeds;
    eo.every = ro->every;
    eo.peak_event = ro->peak_event;
    eo.stop_event = ro->stop_event;
    eo.keep_holes = ro->holes_fmt != NULL;
    int tty = isatty(2) && msg_verbosity > 0;
    decode_total = events;
    int rc = tapefile_make(&eo, fd, meta_fd, tty ? decode_progress : NULL);
    if (tty)
        fprintf(stderr, "\r\033[K");
    if (rc < 0) {
        if (msg_verbosity > 0)
            fprintf(stderr,
                    "mallog replay: cannot write the log's tape (%s): every allocator "
                    "decodes the log itself\n",
                    strerror(errno));
        close(fd);
        close(meta_fd);
        return;
    }
    ro->tape_fd = fd;
    ro->meta_fd = meta_fd;
}

int cmd_replay(int argc, char **argv)
{
    static struct alloc_spec specs[MAX_ALLOCS];
    struct job *jobs;
    struct run_opts ro = {0};
    struct prepass pp;
    struct cli_opts co = {.samples = 2000};
    int n = 0;
    char path[PATH_MAX];
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--worker") == 0)
            return worker(argc, argv);
    ro.touch = TOUCH_PAGE;
    ro.threads = -1;
    int rc = parse_common("replay", 0, argc, argv, specs, &n, &ro, &co);
    if (rc < 0) {
        replay_usage(stdout);
        return 0;
    }
    if (rc) {
        fprintf(stderr, "usage: mallog replay LOG [-a ALLOC[,ALLOC...]] [-o DIR] [options] "
                        "(mallog replay --help)\n");
        return rc;
    }
    if (rec_pick_log("replay", argv[optind], &opt_pid, path, sizeof path) != 0)
        return EXIT_ERROR;
    char abs[PATH_MAX];
    ro.log = realpath(path, abs) ? abs : path;
    if (!n)
        n = default_specs(specs);
    name_specs(specs, n);
    if (probe_libs("replay", &ro, specs, n) < 0)
        return EXIT_ERROR;
    if (ro.out_dir && make_out_dir("replay", ro.out_dir) < 0)
        return EXIT_ERROR;
    if (prepare_run("replay", &ro, &pp, co.samples, co.samples_set) < 0)
        return EXIT_ERROR;
    if (!ro.repeat)
        ro.repeat = ro.bench ? BENCH_REPEAT : 1;
    int runs = (int)ro.repeat;
    if (!(jobs = calloc((size_t)(n * runs), sizeof *jobs))) {
        msg_error("replay", "out of memory");
        return EXIT_ERROR;
    }
    /* the allocators take turns: run r of each, then run r + 1 (paired runs on a busy machine) */
    for (int r = 0; r < runs; r++)
        for (int i = 0; i < n; i++)
            jobs[r * n + i] = (struct job){.spec = &specs[i]};
    decode_once(&ro, pp.events);
    int failed = run_jobs("replay", &ro, jobs, n * runs, pp.events);
    if (ro.tape_fd > 0) {
        close(ro.tape_fd);
        close(ro.meta_fd);
    }
    if (runs > 1 && fold_runs(&ro, jobs, n, runs))
        failed = -1;
    if (ro.bench) /* one sample, at the end: the memory figures are the replay's, not --bench's */
        print_bench(&ro, &pp, jobs, n);
    else
        print_table(&ro, &pp, jobs, n);
    free(jobs);
    return failed || pp.damaged ? EXIT_ERROR : 0;
}

/* ---- mallog holes -----------------------------------------------------------------------------
 */

static void holes_usage(FILE *f)
{
    fprintf(
        f, "usage: mallog holes LOG -a ALLOC --at EVENT|peak|worst [--top N] [--json] [--pid PID]\n"
           "Replays LOG on one allocator up to a point and lists the holes there, largest\n"
           "first, each with the live blocks that bound it (size, allocating event, age in\n"
           "events, thread): the small long-lived block that pins a hole.\n"
           "  -a, --alloc ALLOC    as for replay (default glibc)\n"
           "      --at POINT       an event index, peak (of live bytes, default) or worst\n"
           "                       (the sample with the most bytes in holes)\n"
           "      --top N          the N largest holes (default 20, 0 = all; with --json:\n"
           "                       all unless given)\n"
           "      --json           one JSON object instead of text\n"
           "      --threads, --touch, --samples, --every, --pid: as for replay\n");
}

int cmd_holes(int argc, char **argv)
{
    static struct alloc_spec specs[MAX_ALLOCS];
    struct run_opts ro = {0};
    struct prepass pp;
    struct job job = {0};
    struct cli_opts co = {.samples = 2000, .at = "peak", .top = HOLES_TOP};
    int n = 0;
    char path[PATH_MAX], abs[PATH_MAX];
    ro.touch = TOUCH_PAGE;
    ro.threads = -1;
    int rc = parse_common("holes", 1, argc, argv, specs, &n, &ro, &co);
    if (rc < 0) {
        holes_usage(stdout);
        return 0;
    }
    if (rc) {
        fprintf(stderr, "usage: mallog holes LOG -a ALLOC --at EVENT|peak|worst [--top N] [--json] "
                        "(mallog holes --help)\n");
        return rc;
    }
    if (n > 1) {
        msg_error("holes", "one allocator at a time");
        return EXIT_ERROR;
    }
    if (!n)
        parse_spec("holes", "glibc", &specs[n++]);
    ro.out_dir = NULL;
    name_specs(specs, n);
    if (rec_pick_log("holes", argv[optind], &opt_pid, path, sizeof path) != 0)
        return EXIT_ERROR;
    ro.log = realpath(path, abs) ? abs : path;
    if (probe_libs("holes", &ro, specs, n) < 0)
        return EXIT_ERROR;
    if (prepare_run("holes", &ro, &pp, co.samples, co.samples_set) < 0)
        return EXIT_ERROR;
    const char *at = co.at;
    job.spec = &specs[0];
    if (strcmp(at, "peak") == 0) {
        ro.stop_event = pp.peak_event;
    } else if (strcmp(at, "worst") == 0) {
        if (run_jobs("holes", &ro, &job, 1, pp.events) != 0)
            return EXIT_ERROR;
        ro.stop_event = job.sum.worst_event;
    } else {
        ro.stop_event = strtoull(at, NULL, 10); /* checked by parse_common */
        if (ro.stop_event >= pp.events) {
            msg_error("holes", "%s: event %" PRIu64 " is past the end (%" PRIu64 " events)", path,
                      ro.stop_event, pp.events);
            return EXIT_ERROR;
        }
    }
    ro.holes_fmt = co.json ? "json" : "text";
    ro.at_label = at;
    /* JSON is for programs: every hole unless --top says otherwise */
    ro.holes_top = co.json && !co.top_set ? 0 : co.top;
    memset(&job, 0, sizeof job);
    job.spec = &specs[0];
    return run_jobs("holes", &ro, &job, 1, pp.events) == 0 && !pp.damaged ? 0 : EXIT_ERROR;
}

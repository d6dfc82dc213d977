/* cmd_replay.c - `mallog replay`: every allocator's replay of a log side by side (one worker
 * process per allocator, in parallel; --bench: one at a time, timed), the log decoded once into
 * a tape the workers share, the table. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "../common/msg.h"
#include "cmd.h"

#define BENCH_REPEAT 5

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
           "      --bare           time the log's calls in a tight loop, without the replayer\n"
           "                       (prints: allocator calls ns; for bench/replay.sh)\n"
           "      --samples N      about N timeline samples (default 2000), plus the peak\n"
           "      --every N        sample every N events instead\n"
           "      --pid PID        with a recording prefix or directory: that process's log\n"
           "      --decode MODE    once (default): translate the log once into a tape in\n"
           "                       $TMPDIR that every allocator replays (if it fits: ~24\n"
           "                       bytes/event); each: every allocator's replay decodes the\n"
           "                       log itself, in a second process (no disk, more CPU)\n"
           "      --list-allocators  print the allocators mallog knows, one a line: name,\n"
           "                       library (or builtin, or - when not installed) and the\n"
           "                       settings every replay pins, tab-separated (for scripts)\n"
           "  -h, --help\n");
}

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
    printf("log %s: %" PRIu64 " events, %" PRIu64 " thread%s, replayed %s, touch=%s\n", ro->w.log,
           pp->events, pp->threads, pp->threads == 1 ? "" : "s", threads_mode_names[ro->w.threads],
           touch_name(ro->w.touch));
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
           ro->w.log, pp->events, pp->threads, pp->threads == 1 ? "" : "s",
           ro->w.threads == THREADS_STRICT     ? "strict (a thread per recorded thread, in order)"
           : ro->w.threads == THREADS_FAITHFUL ? "faithful (a thread per recorded thread)"
                                             : "serial",
           touch_name(ro->w.touch));
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
    ro->w.tape_fd = ro->w.meta_fd = 0;
    if (ro->decode_each || ro->w.threads != THREADS_SERIAL)
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
    eo.log = ro->w.log;
    for (int i = 0; i < ro->w.nseeds; i++) {
        eo.seed_log[i] = ro->w.seed_log[i];
        eo.seed_upto[i] = ro->w.seed_upto[i];
    }
    eo.nseeds = ro->w.nseeds;
    eo.every = ro->w.every;
    eo.peak_event = ro->w.peak_event;
    eo.stop_event = ro->w.stop_event;
    eo.keep_holes = ro->w.holes_fmt[0] != 0;
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
    ro->w.tape_fd = fd;
    ro->w.meta_fd = meta_fd;
}

int cmd_replay(int argc, char **argv)
{
    static struct alloc_spec specs[MAX_ALLOCS];
    static struct run_opts ro;
    struct job *jobs;
    struct prepass pp;
    int n = 0;
    char path[PATH_MAX];
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--worker") == 0)
            return worker_main(argc, argv);
    if (argc == 2 && strcmp(argv[1], "--list-allocators") == 0) {
        specs_list(stdout);
        return 0;
    }
    options_init(&ro);
    int rc = options_parse("replay", 0, argc, argv, specs, &n, &ro);
    if (rc < 0) {
        replay_usage(stdout);
        return 0;
    }
    if (rc) {
        fprintf(stderr, "usage: mallog replay LOG [-a ALLOC[,ALLOC...]] [-o DIR] [options] "
                        "(mallog replay --help)\n");
        return rc;
    }
    if (rec_pick_log("replay", argv[optind], &ro.pid, path, sizeof path) != 0)
        return EXIT_ERROR;
    if (!realpath(path, ro.w.log))
        snprintf(ro.w.log, sizeof ro.w.log, "%s", path);
    if (!n)
        n = specs_default(specs);
    specs_name(specs, n);
    if (jobs_probe("replay", &ro.w, specs, n) < 0)
        return EXIT_ERROR;
    if (ro.w.out_dir[0] && options_out_dir("replay", ro.w.out_dir) < 0)
        return EXIT_ERROR;
    if (options_prepare("replay", &ro, &pp) < 0)
        return EXIT_ERROR;
    if (!ro.repeat)
        ro.repeat = ro.w.bench ? BENCH_REPEAT : 1;
    int runs = ro.w.bare ? 1 : (int)ro.repeat;
    if (!(jobs = calloc((size_t)(n * runs), sizeof *jobs))) {
        msg_error("replay", "out of memory");
        return EXIT_ERROR;
    }
    /* the allocators take turns: run r of each, then run r + 1 (paired runs on a busy machine) */
    for (int r = 0; r < runs; r++)
        for (int i = 0; i < n; i++)
            jobs[r * n + i] = (struct job){.spec = &specs[i]};
    if (!ro.w.bare)
        decode_once(&ro, pp.events);
    /* --bench and --bare: allocators never share the cores with each other */
    int failed = jobs_run("replay", &ro.w, jobs, n * runs, pp.events,
                          ro.w.bench || ro.w.bare ? 1 : 0);
    if (ro.w.tape_fd > 0) {
        close(ro.w.tape_fd);
        close(ro.w.meta_fd);
    }
    if (runs > 1 && jobs_fold(ro.w.out_dir[0] ? ro.w.out_dir : NULL, jobs, n, runs))
        failed = -1;
    if (ro.w.bench) /* one sample, at the end: the memory figures are the replay's, not --bench's */
        print_bench(&ro, &pp, jobs, n);
    else if (!ro.w.bare)
        print_table(&ro, &pp, jobs, n);
    free(jobs);
    return failed || pp.damaged ? EXIT_ERROR : 0;
}

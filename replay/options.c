/* options.c - what `mallog replay` and `mallog holes` share before any worker starts: their
 * options, each checked before any work (an option of the other command is refused, not
 * ignored); the pre-pass over the log (events, peak, anomalies, threads); the fork ancestors
 * whose heap a forked child starts with; the sample period; the thread mode. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/msg.h"
#include "cmd.h"

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
    } else if (pp->in_progress) {
        rec_say_running(cmd, path, pp->pid, pp->events);
    }
    if (pp->events == 0) {
        msg_error(cmd, "%s: no events to replay", path);
        return -1;
    }
    return 0;
}

/* Events between samples. A sample visits every live block (usable size, a radix sort by
 * address, the holes): ~15-40 ns a block, against ~75 ns an event replayed (live_many: 4.65M
 * events, 610k live blocks, page touching, a quiet machine). So by default at most 2 samples per
 * peak-live-blocks events, at least 16 for a timeline; logs with more events than live blocks
 * (most) keep their 2000. Measured on live_many: 19 samples, sampling 55% of the replay's time
 * (the old rule, 50 per live set and at least 100, took 100 samples: 85%); half or fewer samples
 * gain little (10: 49%), as a fixed part remains: bringing the slot records up to date from the
 * tape (all events once) and the usable size of every block the first time it is seen. */
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

/* One fork ancestor, oldest first: kept in w (beyond MAX_SEEDS, the nearest ones, as a heap
 * seeded from a later ancestor is closer to the child's than one from an older). */
static void add_seed(void *ctx, const char *parent, uint64_t upto)
{
    struct worker_req *w = ctx;
    if (w->nseeds == MAX_SEEDS) {
        memmove(w->seed_log[0], w->seed_log[1], (MAX_SEEDS - 1) * sizeof w->seed_log[0]);
        memmove(&w->seed_upto[0], &w->seed_upto[1], (MAX_SEEDS - 1) * sizeof w->seed_upto[0]);
        w->nseeds--;
    }
    snprintf(w->seed_log[w->nseeds], sizeof w->seed_log[w->nseeds], "%s", parent);
    w->seed_upto[w->nseeds++] = upto;
}

/* The chain of logs a forked child's heap comes from, oldest ancestor first. */
static void find_seeds(struct worker_req *w)
{
    struct mlg_reader *r;
    struct mlg_error err;
    w->nseeds = 0;
    if (mlg_reader_open(&r, w->log, NULL, &err) != 0)
        return;
    struct mlg_header h = *mlg_reader_header(r);
    mlg_reader_close(r);
    rec_fork_chain(w->log, &h, NULL, add_seed, w);
}

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

#define SAMPLES_MAX 1000000000ull /* more samples than events is one each event anyway */

void options_init(struct run_opts *ro)
{
    memset(ro, 0, sizeof *ro);
    ro->w.touch = TOUCH_PAGE;
    ro->w.threads = -1;
    ro->w.progress_fd = ro->w.result_fd = -1;
    ro->samples = 2000;
}

int options_parse(const char *cmd, int holes, int argc, char **argv, struct alloc_spec *specs,
                  int *n, struct run_opts *ro)
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
                                         {"bare", no_argument, NULL, 'Z'},
                                         {"tree", no_argument, NULL, 'X'},
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
                  {'R', REPLAY, "--repeat"},
                  {'Z', REPLAY, "--bare"},
                  {'X', REPLAY, "--tree"}};
    int c;
    optind = 1;
    opterr = 0; /* our own messages, in mallog's shape */
    ro->pid = (struct rec_pid)REC_PID_NONE;
    while ((c = getopt_long(argc, argv, ":a:o:h", opts, NULL)) != -1) {
        for (unsigned i = 0; i < sizeof owners / sizeof *owners; i++)
            if (owners[i].c == c && !(owners[i].owner & (holes ? HOLES : REPLAY))) {
                msg_error(cmd, "%s is an option of `mallog %s`, not of `mallog %s`", owners[i].name,
                          holes ? "replay" : "holes", cmd);
                return EXIT_ERROR;
            }
        switch (c) {
        case 'a':
            if (specs_add(cmd, optarg, specs, n) < 0)
                return EXIT_ERROR;
            break;
        case 'o':
            if (!*optarg) {
                msg_error(cmd, "-o: an empty directory name");
                return EXIT_ERROR;
            }
            if (strlen(optarg) >= sizeof ro->w.out_dir) {
                msg_error(cmd, "-o %s: the name is too long", optarg);
                return EXIT_ERROR;
            }
            snprintf(ro->w.out_dir, sizeof ro->w.out_dir, "%s", optarg);
            break;
        case 't':
            if ((ro->w.threads = threads_mode(optarg)) < 0) {
                msg_error(cmd, "--threads: serial, strict or faithful, not '%s'", optarg);
                return EXIT_ERROR;
            }
            break;
        case 'T':
            if ((ro->w.touch = touch_mode(optarg)) < 0) {
                msg_error(cmd, "--touch: none, page or full, not '%s'", optarg);
                return EXIT_ERROR;
            }
            break;
        case 'n':
            if (parse_count(cmd, "--samples", optarg, 1, SAMPLES_MAX, &ro->samples) < 0)
                return EXIT_ERROR;
            ro->samples_set = 1;
            break;
        case 'e':
            if (parse_count(cmd, "--every", optarg, 1, UINT64_MAX, &ro->w.every) < 0)
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
            ro->at = optarg;
            break;
        }
        case 'j':
            ro->json = 1;
            break;
        case 'N':
            if (parse_count(cmd, "--top", optarg, 0, UINT64_MAX, &ro->top) < 0)
                return EXIT_ERROR;
            ro->top_set = 1;
            break;
        case 'p':
            if (rec_parse_pid(cmd, optarg, &ro->pid) != 0)
                return EXIT_ERROR;
            break;
        case 'd':
            if ((ro->decode_each = one_of(cmd, "--decode", optarg, "once", "each")) < 0)
                return EXIT_ERROR;
            break;
        case 'B':
            ro->w.bench = 1;
            break;
        case 'R':
            if (parse_count(cmd, "--repeat", optarg, 1, JOBS_RUNS_MAX, &ro->repeat) < 0)
                return EXIT_ERROR;
            break;
        case 'Z':
            ro->w.bare = 1;
            break;
        case 'X':
            ro->tree = 1;
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

int options_out_dir(const char *cmd, const char *dir)
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

/* What replay and holes do before starting workers: the fork ancestors, the pre-pass over the
 * log (anomalies, peak, size), the sample period. Returns 0 or -1 (message printed). */
int options_prepare(const char *cmd, struct run_opts *ro, struct prepass *pp)
{
    find_seeds(&ro->w);
    if (prepass(cmd, ro->w.log, pp) < 0)
        return -1;
    if (!ro->w.every)
        ro->w.every = sample_period(pp, ro->samples, ro->samples_set);
    ro->w.peak_event = pp->peak_event;
    ro->w.stop_event = UINT64_MAX;
    if (ro->w.threads < 0)
        ro->w.threads = pp->threads > 1 ? THREADS_FAITHFUL : THREADS_SERIAL;
    if (ro->w.bench) { /* one sample, at the end: nothing but the calls in the timed part */
        ro->w.every = UINT64_MAX;
        ro->w.peak_event = UINT64_MAX;
    }
    ro->w.unknown_frees = pp->unknown_frees;
    ro->w.double_frees = pp->double_frees;
    return 0;
}

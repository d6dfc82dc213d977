/* cmd_stats.c - `mallog stats LOG [--json] [--tsv DIR] [--range A:B] [--pid P]`: one streaming
 * pass over a log (analyze/stats.c), then a report, a JSON object and/or TSV tables. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/msg.h"
#include "../common/opt.h"
#include "../common/recording.h"
#include "analyze.h"
#include "callsites.h"
#include "growth.h"

/* "A:B", "A:", ":B", "A" (from A to the end): a range with at least one event. Prints why not
 * and returns -1. */
static int parse_range(const char *arg, uint64_t *from, uint64_t *to)
{
    char a[64];
    *from = 0;
    *to = UINT64_MAX;
    const char *colon = strchr(arg, ':');
    size_t al = colon ? (size_t)(colon - arg) : strlen(arg);
    if (al >= sizeof a || (!al && !colon) || (colon && !al && !colon[1])) {
        msg_error("stats", "--range '%s': expected FROM:TO event indexes", arg);
        return -1;
    }
    memcpy(a, arg, al);
    a[al] = 0;
    if (al && opt_u64("stats", "--range", a, 0, UINT64_MAX - 1, from) != 0)
        return -1;
    if (colon && colon[1] && opt_u64("stats", "--range", colon + 1, 0, UINT64_MAX - 1, to) != 0)
        return -1;
    if (*from >= *to) {
        msg_error("stats", "--range '%s': no events in it (want FROM < TO)", arg);
        return -1;
    }
    return 0;
}

static void inherit_one(void *ctx, uint64_t k, uint64_t v)
{
    stats_inherit(ctx, k, v);
}

/* A forked child starts with its parent's heap: seed it from the parent's log if present. */
static void seed_inherited(struct stats *s, const char *path)
{
    struct mlg_reader *r;
    struct mlg_error err;
    if (mlg_reader_open(&r, path, NULL, &err) != 0)
        return;
    struct mlg_header h = *mlg_reader_header(r);
    mlg_reader_close(r);
    if (!h.parent_pid || h.parent_pid == h.pid)
        return;
    struct mlg_check c;
    if (mlg_check_init(&c, NULL) != 0)
        return;
    if (rec_seed_inherited(&c, path, &h) > 0)
        mlg_addrmap_each(c.live, inherit_one, s);
    mlg_check_fini(&c);
}

/* --decode-only: the reader alone; --table-only: the reader and the live-block table, nothing
 * else. For bench/analyze.sh: how much of the time is decoding, and what the table adds. */
static int decode(const char *path, int table)
{
    struct mlg_reader *r;
    struct mlg_error err;
    if (mlg_reader_open(&r, path, NULL, &err) != 0) {
        char buf[512];
        fprintf(stderr, "mallog stats: %s: %s\n", path, mlg_error_format(&err, buf, sizeof buf));
        return EXIT_ERROR;
    }
    static struct mlg_rec ev[512];
    struct stats s;
    if (table && stats_init(&s, NULL) != 0) {
        mlg_reader_close(r);
        fprintf(stderr, "mallog stats: out of memory\n");
        return EXIT_ERROR;
    }
    uint64_t n = 0, x = 0;
    int k;
    while ((k = mlg_reader_next_recs(r, ev, 512)) > 0) {
        n += (uint64_t)k;
        if (table)
            stats_table_recs(&s, ev, k);
        else
            for (int i = 0; i < k; i++)
                x ^= ev[i].ptr;
    }
    int rc = 0;
    if (k < 0) {
        char buf[512];
        fprintf(stderr, "mallog stats: %s: %s\n", path,
                mlg_error_format(mlg_reader_error(r), buf, sizeof buf));
        rc = EXIT_ERROR;
    }
    mlg_reader_close(r);
    if (table) {
        printf("events %" PRIu64 " (live at end: %" PRIu64 " blocks, %" PRIu64 " bytes)\n", n,
               s.live_blocks, s.live_bytes);
        stats_free(&s);
    } else {
        printf("events %" PRIu64 " (xor %" PRIx64 ")\n", n, x);
    }
    return rc;
}

/* A recording of several processes (arg is a prefix or directory, no --pid): a row per process,
 * each log analysed on its own (with the options of the main one). Returns the rows or NULL. */
static struct stats_proc *all_processes(const char *arg, const struct stats *main_s,
                                        const struct stats_opts *o, uint64_t *n)
{
    struct rec_log *logs;
    *n = 0;
    int k = rec_find_logs("stats", arg, NULL, &logs);
    if (k <= 1) {
        if (k == 1)
            free(logs);
        return NULL;
    }
    struct stats_proc *rows = calloc((size_t)k, sizeof *rows);
    for (int i = 0; rows && i < k; i++) {
        if (strcmp(logs[i].path, main_s->path) == 0) {
            stats_proc_fill(main_s, &rows[(*n)++]);
            continue;
        }
        struct stats *s = malloc(sizeof *s);
        struct stats_opts po = *o;
        po.every = 0;
        po.timeline = NULL;
        if (!s || stats_init(s, &po) != 0) {
            free(s);
            continue;
        }
        seed_inherited(s, logs[i].path);
        if (stats_run(s, logs[i].path) == 0 && stats_finish(s) == 0)
            stats_proc_fill(s, &rows[(*n)++]);
        stats_free(s);
        free(s);
    }
    free(logs);
    return rows;
}

static const char usage[] =
    "usage: mallog stats LOG|PREFIX|DIR [--pid PID] [--json] [--tsv DIR] [--range A:B]\n"
    "                    [--temporary N] [--long-lived N] [--every N] [--top N]\n"
    "                    [--by site|stack|caller|callee] [--depth N]\n"
    "                    [--skip FUNC|REGEX]... [--no-skip] [--full-names]\n"
    "                    [--folded[=allocs|bytes|leaks]] [--growth]\n";

/* What `mallog stats` is asked. */
struct stats_args {
    struct stats_opts o;
    int json, decode_only, table_only, by_sites, growth;
    struct callsites_opts sites;
    const char *skips[64];
    uint64_t top;
    struct rec_pid pid;
    const char *tsv, *input;
};

/* Options into a (defaults first). Returns 0, 1 for --help (printed), or -1 (said). */
static int parse_args(int argc, char **argv, struct stats_args *a)
{
    static const struct option opts[] = {{"json", no_argument, NULL, 'j'},
                                         {"tsv", required_argument, NULL, 't'},
                                         {"range", required_argument, NULL, 'r'},
                                         {"pid", required_argument, NULL, 'p'},
                                         {"temporary", required_argument, NULL, 'T'},
                                         {"long-lived", required_argument, NULL, 'L'},
                                         {"every", required_argument, NULL, 'e'},
                                         {"top", required_argument, NULL, 'n'},
                                         {"decode-only", no_argument, NULL, 'D'},
                                         {"table-only", no_argument, NULL, 0x100},
                                         {"by", required_argument, NULL, 'B'},
                                         {"folded", optional_argument, NULL, 'F'},
                                         {"depth", required_argument, NULL, 0x101},
                                         {"skip", required_argument, NULL, 0x102},
                                         {"no-skip", no_argument, NULL, 0x103},
                                         {"full-names", no_argument, NULL, 0x104},
                                         {"growth", no_argument, NULL, 'G'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    struct stats_opts *o = &a->o;
    int c;
    *o = (struct stats_opts){0, UINT64_MAX, 100, 1000000, 0, NULL};
    a->top = 20;
    a->sites.depth = 8;
    a->sites.skips = a->skips;
    a->pid = (struct rec_pid)REC_PID_NONE;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'j': a->json = 1; break;
        case 'D': a->decode_only = 1; break;
        case 0x100: a->table_only = 1; break;
        case 'G': a->growth = 1; break;
        case 'B':
            if (strcmp(optarg, "site") != 0 && strcmp(optarg, "stack") != 0 &&
                strcmp(optarg, "caller") != 0 && strcmp(optarg, "callee") != 0) {
                fprintf(stderr, "mallog stats: --by %s: expected site, stack, caller or callee\n",
                        optarg);
                return -1;
            }
            a->by_sites = 1;
            a->sites.by_stack = strcmp(optarg, "stack") == 0;
            a->sites.tree = strcmp(optarg, "caller") == 0   ? TREE_CALLER
                          : strcmp(optarg, "callee") == 0 ? TREE_CALLEE : TREE_NONE;
            break;
        case 0x101: {
            uint64_t d;
            if (opt_u64("stats", "--depth", optarg, 1, 256, &d) != 0)
                goto bad_option;
            a->sites.depth = (uint32_t)d;
            break;
        }
        case 0x102:
            if (a->sites.nskips == sizeof a->skips / sizeof *a->skips) {
                fprintf(stderr, "mallog stats: --skip: at most %zu\n",
                        sizeof a->skips / sizeof *a->skips);
                return -1;
            }
            a->skips[a->sites.nskips++] = optarg;
            break;
        case 0x103: a->sites.no_skip = 1; break;
        case 0x104: a->sites.full_names = 1; break;
        case 'F':
            a->sites.folded = !optarg || strcmp(optarg, "allocs") == 0 ? FOLDED_ALLOCS
                            : strcmp(optarg, "bytes") == 0             ? FOLDED_BYTES
                            : strcmp(optarg, "leaks") == 0             ? FOLDED_LEAKS : -1;
            if (a->sites.folded < 0) {
                fprintf(stderr, "mallog stats: --folded=%s: expected allocs, bytes or leaks\n", optarg);
                return -1;
            }
            a->by_sites = 1;
            break;
        case 't': a->tsv = optarg; break;
        case 'p':
            if (rec_parse_pid("stats", optarg, &a->pid) != 0)
                return -1;
            break;
        case 'r':
            if (parse_range(optarg, &o->from, &o->to) != 0)
                goto bad_option;
            break;
        case 'T':
            if (opt_u64("stats", "--temporary", optarg, 0, UINT64_MAX, &o->temporary_events) != 0)
                goto bad_option;
            break;
        case 'L':
            if (opt_u64("stats", "--long-lived", optarg, 1, UINT64_MAX, &o->long_events) != 0)
                goto bad_option;
            break;
        case 'e':
            if (opt_u64("stats", "--every", optarg, 1, UINT64_MAX, &o->every) != 0)
                goto bad_option;
            break;
        case 'n':
            if (opt_u64("stats", "--top", optarg, 0, 1000000, &a->top) != 0)
                goto bad_option;
            break;
        case 'h':
            printf("%s\n"
                   "A streaming summary of one log: totals per op, peak live bytes and blocks,\n"
                   "size classes, lifetimes, realloc chains, leaks, threads, timeline.\n"
                   "  --json         one JSON object on stdout instead of the report\n"
                   "  --tsv DIR      also write DIR/timeline.tsv sizes.tsv exact_sizes.tsv\n"
                   "                 lifetimes.tsv lifetimes_ns.tsv reallocs.tsv leaks.tsv "
                   "threads.tsv\n"
                   "  --range A:B    only events with index A <= i < B (the heap before A is\n"
                   "                 still tracked, so frees of older blocks are known)\n"
                   "  --pid PID      the process to read from a recording prefix or directory\n"
                   "  --temporary N  blocks freed within N events are temporary (default 100)\n"
                   "  --long-lived N blocks living >= N events are long-lived (default 1000000)\n"
                   "  --every N      a timeline row every N events (default: adaptive, <= %d rows)\n"
                   "  --top N        rows of each table in the report (default 20, at most 1000000)\n"
                   "  --decode-only  only decode the events and count them (reader speed)\n"
                   "  --table-only   decode them and keep the live-block table, nothing else\n"
                   "  --by site      per call site (log recorded with --stacks): allocations,\n"
                   "                 bytes, share of the peak, leaks, temporaries; --by stack\n"
                   "                 per distinct stack, with its frames; --by caller the call\n"
                   "                 tree top-down (main to the sites), --by callee bottom-up\n"
                   "  --depth N      levels of a --by caller|callee tree (default 8)\n"
                   "  --skip FUNC|REGEX  also an allocation wrapper: a site is the first frame\n"
                   "                 that is not one (repeatable; built in: operator new, std::,\n"
                   "                 g_malloc, xmalloc, Perl_safesys*, sqlite3Malloc, PyMem_*...,\n"
                   "                 and functions detected as wrappers from the stack table)\n"
                   "  --no-skip      no wrapper is skipped, only the C runtime\n"
                   "  --full-names   C++ names with their template arguments\n"
                   "                 (stripped libraries: MALLOG_DEBUG_DIR=DIR[:DIR] holds debug\n"
                   "                 files, .build-id/xx/yyyy.debug, besides /usr/lib/debug)\n"
                   "  --folded[=allocs|bytes|leaks]  folded stacks for flame graphs\n"
                   "                 (flamegraph.pl, speedscope): \"outer;...;inner N\" lines\n"
                   "  --growth       what keeps growing: live bytes per call site (--stacks) or\n"
                   "                 size class in windows of the run, ranked by growth rate,\n"
                   "                 each growing, levels_off or returns (docs/ANALYZE.md)\n"
                   "Exit 0, or 2 on error (a damaged log: the report covers the valid prefix).\n",
                   usage, STATS_TIMELINE_ROWS);
            return 1;
        default: fputs(usage, stderr); return -1;
        }
        continue;
    bad_option:
        fputs(usage, stderr);
        return -1;
    }
    if (optind != argc - 1) {
        fputs(usage, stderr);
        return -1;
    }
    a->input = argv[optind];
    if (a->growth && (a->by_sites || a->tsv || a->o.from || a->o.to != UINT64_MAX)) {
        fprintf(stderr, "mallog stats: --growth takes the whole log, alone (not with --by, "
                        "--folded, --tsv or --range)\n");
        return -1;
    }
    return 0;
}

/* The --tsv directory and, with a fixed --every, DIR/timeline.tsv opened into a->o.timeline:
 * its rows are written during the pass, so it must exist before. Path of the timeline in tl.
 * 0, or -1 (said; nothing left open). */
static int open_tsv(struct stats_args *a, char *tl, size_t tl_len)
{
    if (a->tsv && mkdir(a->tsv, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "mallog stats: %s: %s\n", a->tsv, strerror(errno));
        return -1;
    }
    if (a->tsv && a->o.every) {
        snprintf(tl, tl_len, "%s/timeline.tsv", a->tsv);
        if (!(a->o.timeline = fopen(tl, "w"))) {
            fprintf(stderr, "mallog stats: %s: %s\n", tl, strerror(errno));
            return -1;
        }
        fprintf(a->o.timeline, "event\ttime_ns\tlive_requested\tlive_blocks\t"
                               "cumulative_requested\tcumulative_compensated\t"
                               "interval_peak_live_requested\n");
    }
    return 0;
}

/* The finished analysis out: JSON or the report on stdout, then the TSV tables, the timeline
 * closed, stdout flushed, and last the log's damage if any (the outputs cover the valid prefix,
 * the exit says it was damaged). Returns 0 or EXIT_ERROR; a->o.timeline is closed either way. */
static int write_outputs(struct stats_args *a, struct stats *s, const char *path, const char *tl)
{
    int rc = 0;
    if (a->json) {
        statsout_json(stdout, s);
    } else {
        /* a log recorded with --stacks: the leak table says where each leak was allocated */
        callsites_leak_sites(path, s, a->top);
        statsout_text(stdout, s, (int)a->top);
    }
    const char *what = NULL;
    if (a->tsv && statsout_tsv(a->tsv, s, &what) != 0) {
        fprintf(stderr, "mallog stats: %s: %s\n", what, strerror(errno));
        rc = EXIT_ERROR;
    }
    if (a->o.timeline && fclose(a->o.timeline) != 0) {
        fprintf(stderr, "mallog stats: %s: %s\n", tl, strerror(errno));
        rc = EXIT_ERROR;
    }
    a->o.timeline = NULL;
    if (fflush(stdout) != 0)
        rc = EXIT_ERROR;
    if (s->err.code) {
        char buf[512];
        fprintf(stderr, "mallog stats: %s: %s\n", path, mlg_error_format(&s->err, buf, sizeof buf));
        rc = EXIT_ERROR;
    }
    return rc;
}

int cmd_stats(int argc, char **argv)
{
    struct stats_args a = {0};
    int rc = EXIT_ERROR;
    int p = parse_args(argc, argv, &a);
    if (p != 0)
        return p > 0 ? 0 : EXIT_ERROR;
    char path[4096];
    if (rec_pick_log("stats", a.input, &a.pid, path, sizeof path) != 0)
        return EXIT_ERROR;
    if (a.decode_only || a.table_only)
        return decode(path, a.table_only);
    if (a.growth)
        return growth_report(path, &(struct growth_opts){a.json, a.top}, stdout);
    if (a.by_sites) {
        a.sites.json = a.json;
        a.sites.top = (uint32_t)(a.top > 1000000 ? 1000000 : a.top);
        a.sites.temporary_events = a.o.temporary_events;
        return callsites_report(path, &a.sites, stdout);
    }
    char tl[4200];
    if (open_tsv(&a, tl, sizeof tl) != 0)
        return EXIT_ERROR;
    a.o.progress = isatty(2) && msg_verbosity >= 1;
    struct stats *s = malloc(sizeof *s);
    if (!s || stats_init(s, &a.o) != 0) {
        fprintf(stderr, "mallog stats: out of memory\n");
        free(s);
        if (a.o.timeline)
            fclose(a.o.timeline);
        return EXIT_ERROR;
    }
    seed_inherited(s, path);
    int err = stats_run(s, path);
    if (err) {
        char buf[512];
        fprintf(stderr, "mallog stats: %s: %s\n", path, mlg_error_format(&s->err, buf, sizeof buf));
        goto out;
    }
    if (stats_finish(s) != 0) {
        fprintf(stderr, "mallog stats: %s: out of memory\n", path);
        goto out;
    }
    uint64_t nprocs = 0;
    struct stats_proc *procs = a.pid.pid ? NULL : all_processes(a.input, s, &a.o, &nprocs);
    if (procs && nprocs > 1) {
        s->procs = procs;
        s->nprocs = s->processes = nprocs;
    }
    rc = write_outputs(&a, s, path, tl);
    free(procs);
out:
    if (a.o.timeline)
        fclose(a.o.timeline);
    stats_free(s);
    free(s);
    return rc;
}

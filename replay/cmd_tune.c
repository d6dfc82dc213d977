/* cmd_tune.c - `mallog tune`: the allocator settings that help a trace, found by replaying it
 * (tune.c's search): the options, the table of each allocator's defaults against its best
 * setting, the one-sentence recommendation, tune.json (every candidate, every best) and the
 * chart of memory over time for each allocator's defaults and best. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../common/json.h"
#include "../common/msg.h"
#include "../common/opt.h"
#include "../plots/plots.h"
#include "tune.h"

#define TIME_DEFAULT 120.0 /* seconds: a few minutes at most; small logs end far sooner */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: mallog tune LOG [-a ALLOC[,ALLOC...]] [--time T] [--objective O] [-o DIR]\n"
            "Finds the allocator settings that help this trace by replaying it: each\n"
            "allocator's defaults first, then one setting at a time over its values (in\n"
            "parallel on the free cores), keeping what helps, while time is left. Prints each\n"
            "allocator's defaults against the best setting found, with the exact environment\n"
            "line to use, and one recommendation. Any line is an ordinary replay:\n"
            "`mallog replay LOG -a SPEC` (tune.json's replay_spec) reproduces it.\n"
            "  -a, --alloc LIST     glibc, jemalloc, mimalloc, tcmalloc, arena (the knobs of\n"
            "                       `mallog tune --knobs`), or a path to a .so (its defaults\n"
            "                       and --try only) (default: every installed allocator)\n"
            "      --time T         stop starting new replays after T (e.g. 90s, 2m;\n"
            "                       default 120s); the defaults are always replayed\n"
            "      --objective O    footprint (default: peak bytes held from the OS), rss\n"
            "                       (peak heap RSS), holes (bytes in holes at the worst point)\n"
            "                       or speed (replay time of --bench, one replay at a time)\n"
            "      --min-gain SIZE  a setting must lower a memory objective by 1%% and by SIZE\n"
            "                       (default 1M) to be kept or recommended\n"
            "      --try SPEC       also replay this setting, e.g.\n"
            "                       'jemalloc:MALLOC_CONF=narenas:1' (repeatable): reported like\n"
            "                       any candidate, recommended only if it helps\n"
            "      --no-speed       do not time the defaults and the best (the speed cost)\n"
            "  -o, --output DIR     DIR/tune.json, DIR/candidates/replay.<name>.{tsv,json} of\n"
            "                       every candidate, DIR/tune-memory.png (defaults and best)\n"
            "      --json           print tune.json instead of the table\n"
            "      --threads MODE   as mallog replay (faithful, strict, serial)\n"
            "      --touch MODE     as mallog replay (none, page, full)\n"
            "      --samples N      timeline samples per replay (default 2000)\n"
            "      --pid PID        with a recording prefix or directory: that process's log\n"
            "      --knobs          print the settings tried, per allocator, and exit\n"
            "  -h, --help\n"
            "Exit: 0 (a result, even \"keep the defaults\"), 2 if no allocator could be\n"
            "replayed or the log is damaged. A candidate whose replay failed, crashed or\n"
            "failed an allocation the program did not is listed and never recommended.\n");
}

/* "120", "90s", "2m", "1.5m" -> seconds; -1 if malformed. */
static double parse_time(const char *s)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || errno || v <= 0)
        return -1;
    if (*end == 'm' && !end[1])
        v *= 60;
    else if (*end && !(*end == 's' && !end[1]))
        return -1;
    return v;
}

static int parse(int argc, char **argv, struct tune *t, struct alloc_spec *specs, int *n, int *json,
                 int *knobs)
{
    static const struct option opts[] = {{"alloc", required_argument, NULL, 'a'},
                                         {"output", required_argument, NULL, 'o'},
                                         {"time", required_argument, NULL, 'm'},
                                         {"objective", required_argument, NULL, 'O'},
                                         {"min-gain", required_argument, NULL, 'g'},
                                         {"try", required_argument, NULL, 'y'},
                                         {"no-speed", no_argument, NULL, 'S'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"threads", required_argument, NULL, 't'},
                                         {"touch", required_argument, NULL, 'T'},
                                         {"samples", required_argument, NULL, 'n'},
                                         {"pid", required_argument, NULL, 'p'},
                                         {"knobs", no_argument, NULL, 'K'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int c;
    optind = 1;
    opterr = 0;
    t->ro.pid = (struct rec_pid)REC_PID_NONE;
    while ((c = getopt_long(argc, argv, ":a:o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'a':
            if (specs_add("tune", optarg, specs, n) < 0)
                return EXIT_ERROR;
            break;
        case 'o':
            if (!*optarg || strlen(optarg) >= sizeof t->ro.w.out_dir - 32) {
                msg_error("tune", "-o: %s", *optarg ? "the name is too long" : "an empty name");
                return EXIT_ERROR;
            }
            snprintf(t->ro.w.out_dir, sizeof t->ro.w.out_dir, "%s", optarg);
            break;
        case 'm':
            if ((t->time_limit = parse_time(optarg)) < 0) {
                msg_error("tune", "--time '%s': a duration such as 90, 90s or 2m", optarg);
                return EXIT_ERROR;
            }
            break;
        case 'O': {
            int o = 0;
            while (o <= TUNE_SPEED && strcmp(optarg, tune_objective_name(o)) != 0)
                o++;
            if (o > TUNE_SPEED) {
                msg_error("tune", "--objective: footprint, rss, holes or speed, not '%s'", optarg);
                return EXIT_ERROR;
            }
            t->objective = o;
            break;
        }
        case 'g':
            if (opt_u64("tune", "--min-gain", optarg, 0, UINT64_MAX >> 1, &t->min_gain) < 0)
                return EXIT_ERROR;
            break;
        case 'y':
            if (t->ntries == MAX_ALLOCS) {
                msg_error("tune", "--try: at most %d", MAX_ALLOCS);
                return EXIT_ERROR;
            }
            if (specs_parse("tune", optarg, &t->tries[t->ntries]) < 0)
                return EXIT_ERROR;
            if (!t->tries[t->ntries].env[0]) {
                msg_error("tune", "--try %s: a setting, as ALLOC:VAR=value", optarg);
                return EXIT_ERROR;
            }
            t->ntries++;
            break;
        case 'S':
            t->speed_cost = 0;
            break;
        case 'j':
            *json = 1;
            break;
        case 't':
            if ((t->ro.w.threads = threads_mode(optarg)) < 0) {
                msg_error("tune", "--threads: serial, strict or faithful, not '%s'", optarg);
                return EXIT_ERROR;
            }
            break;
        case 'T':
            if ((t->ro.w.touch = touch_mode(optarg)) < 0) {
                msg_error("tune", "--touch: none, page or full, not '%s'", optarg);
                return EXIT_ERROR;
            }
            break;
        case 'n':
            if (opt_u64("tune", "--samples", optarg, 1, 1000000, &t->ro.samples) < 0)
                return EXIT_ERROR;
            t->ro.samples_set = 1;
            break;
        case 'p':
            if (rec_parse_pid("tune", optarg, &t->ro.pid) != 0)
                return EXIT_ERROR;
            break;
        case 'K':
            *knobs = 1;
            break;
        case 'h':
            return -1;
        case ':':
            msg_error("tune", "%s: needs a value", argv[optind - 1]);
            return EXIT_ERROR;
        default:
            msg_error("tune", "unknown option %s", argv[optind - 1]);
            return EXIT_ERROR;
        }
    }
    if (*knobs)
        return 0;
    if (optind != argc - 1) {
        msg_error("tune", optind < argc ? "one log at a time" : "which log? (mallog tune LOG)");
        return EXIT_ERROR;
    }
    for (int i = 0; i < *n; i++)
        if (specs[i].env[0]) {
            msg_error("tune",
                      "-a %s: tune chooses the settings; give the allocator alone (--try "
                      "'%s:...' replays a setting of your own)",
                      specs[i].family, specs[i].family);
            return EXIT_ERROR;
        }
    return 0;
}

/* ---- output -----------------------------------------------------------------------------------
 */

static const char *objective_text(int o)
{
    return o == TUNE_RSS     ? "peak heap RSS"
           : o == TUNE_HOLES ? "bytes in holes at the worst point"
           : o == TUNE_SPEED ? "replay time (--bench)"
                             : "peak footprint";
}

/* The objective's value of c as text ("29.1 MiB", "0.412 s"). */
static const char *score_text(const struct tune *t, const struct tune_cand *c, char *b, size_t l)
{
    if (t->objective == TUNE_SPEED)
        snprintf(b, l, "%.3f s", c->score);
    else
        mlg_format_size((uint64_t)c->score, b, l);
    return b;
}

/* "1.04x slower" of best against the defaults when both were timed; "" if not. */
static const char *speed_text(const struct tune_cand *def, const struct tune_cand *c, char *b,
                              size_t l)
{
    b[0] = 0;
    if (def->speed_seconds <= 0 || c->speed_seconds <= 0)
        return b;
    if (c == def) {
        snprintf(b, l, "(base)");
        return b;
    }
    double x = c->speed_seconds / def->speed_seconds;
    snprintf(b, l, x >= 1 ? "%.2fx slower" : "%.2fx faster", x >= 1 ? x : 1 / x);
    return b;
}

/* The one-sentence recommendation. */
static void recommendation(const struct tune *t, char *b, size_t l)
{
    int o = tune_overall(t);
    char x[32], y[32], z[32];
    if (o < 0) {
        snprintf(b, l, "no allocator could be replayed: nothing to recommend");
        return;
    }
    const struct tune_cand *best = &t->c[o];
    const struct tune_fam *fm = &t->fams[best->fam];
    const struct tune_cand *def = &t->c[fm->def];
    int any = 0; /* an allocator whose best is not its defaults */
    for (int f = 0; f < t->nfams; f++)
        any |= t->fams[f].best >= 0 && t->fams[f].best != t->fams[f].def;
    if (!any) {
        snprintf(b, l,
                 "The defaults are best: no setting tried lowers the %s of %s by at least 1%%%s; "
                 "keep the defaults (no environment to set)%s%s%s.",
                 objective_text(t->objective), t->nfams == 1 ? fm->base.family : "any allocator",
                 t->objective == TUNE_SPEED ? " (5% for speed)" : " and --min-gain",
                 t->nfams > 1 ? "; of them, " : "", t->nfams > 1 ? fm->base.family : "",
                 t->nfams > 1 ? " does best" : "");
        return;
    }
    if (best == def) { /* another allocator's setting helps it, but this one does better */
        for (int f = 0; f < t->nfams; f++) {
            const struct tune_fam *g = &t->fams[f];
            if (g->best >= 0 && g->best != g->def) {
                snprintf(b, l,
                         "%s with its defaults does best (%s %s); the setting that helps %s is "
                         "%s (%s instead of %s).",
                         fm->base.family, objective_text(t->objective),
                         score_text(t, best, x, sizeof x), g->base.family, t->c[g->best].line,
                         score_text(t, &t->c[g->best], y, sizeof y),
                         score_text(t, &t->c[g->def], z, sizeof z));
                return;
            }
        }
    }
    snprintf(b, l,
             "Run the program on %s with %s: %s %s instead of %s with its defaults (%.1fx "
             "%s).",
             fm->base.family, best->line, objective_text(t->objective),
             score_text(t, best, x, sizeof x), score_text(t, def, y, sizeof y),
             best->score > 0 ? def->score / best->score : 0,
             t->objective == TUNE_SPEED ? "faster" : "less");
}

static void print_row(const struct tune *t, const char *which, const struct tune_cand *c,
                      const struct tune_cand *def)
{
    char a[32], b2[32], s[48];
    const struct summary *m = &c->sum;
    printf("%-10s %-9s %10s %10s %8.2f %14s  %s\n", t->fams[c->fam].base.family, which,
           mlg_format_size(m->peak_footprint, a, sizeof a),
           mlg_format_size(m->peak_rss, b2, sizeof b2), m->footprint_ratio_at_peak,
           speed_text(def, c, s, sizeof s), *c->line ? c->line : "(defaults)");
}

static void print_table(const struct tune *t, double seconds)
{
    printf("log %s: %" PRIu64 " events, %" PRIu64 " thread%s, replayed %s, touch=%s\n", t->ro.w.log,
           t->pp.events, t->pp.threads, t->pp.threads == 1 ? "" : "s",
           threads_mode_names[t->ro.w.threads], touch_name(t->ro.w.touch));
    int failed = 0;
    for (int i = 0; i < t->nc; i++)
        failed += t->c[i].status != TUNE_OK;
    printf("objective: %s; %d candidates (%d failed or crashed) in %d round%s, %.1f s\n",
           objective_text(t->objective), t->nc, failed, t->rounds, t->rounds == 1 ? "" : "s",
           seconds);
    printf("%-10s %-9s %10s %10s %8s %14s  %s\n", "allocator", "setting", "footprint", "peak RSS",
           "fp/live", "speed", "environment");
    for (int f = 0; f < t->nfams; f++) {
        const struct tune_fam *fm = &t->fams[f];
        const struct tune_cand *def = &t->c[fm->def];
        if (def->status != TUNE_OK) {
            printf("%-10s %-9s (%s: %s)\n", fm->base.family, "defaults",
                   tune_status_name(def->status), def->why);
            continue;
        }
        print_row(t, "defaults", def, def);
        if (fm->best == fm->def)
            printf("%-10s %-9s (the defaults: no setting helps)\n", fm->base.family, "best");
        else
            print_row(t, "best", &t->c[fm->best], def);
    }
    if (failed) {
        printf("failed or crashed, never recommended:\n");
        for (int i = 0; i < t->nc; i++)
            if (t->c[i].status != TUNE_OK)
                printf("  %s: %s: %s  [%s]\n", t->c[i].spec.name, tune_status_name(t->c[i].status),
                       t->c[i].why, t->c[i].line);
    }
    char rec[1024];
    recommendation(t, rec, sizeof rec);
    printf("%s\n", rec);
}

/* The -a value that replays c exactly: family, then each VAR=value (pinned ones included). */
static void replay_spec(const struct tune_cand *c, char *b, size_t l)
{
    size_t u = (size_t)snprintf(b, l, "%s", c->spec.family);
    for (const char *p = c->spec.env; *p && u < l;) {
        size_t n = strcspn(p, "\n");
        u += (size_t)snprintf(b + u, l - u, ":%.*s", (int)n, p);
        p += n + (p[n] ? 1 : 0);
    }
}

/* The figures of c under the names replay.<alloc>.json uses. */
static void json_figures(FILE *f, const struct tune_cand *c)
{
    const struct summary *s = &c->sum;
    fprintf(f,
            "\"peak_live_requested\": %" PRIu64 ", \"peak_live_event\": %" PRIu64
            ", \"peak_footprint\": %" PRIu64 ", \"peak_rss\": %" PRIu64
            ", \"footprint_ratio_at_peak\": %.4f, \"max_footprint_over_max_requested\": %.4f"
            ", \"slop_at_peak\": %" PRIu64 ", \"worst\": {\"event\": %" PRIu64
            ", \"holes_1m\": %" PRIu64 ", \"holes_8m\": %" PRIu64 ", \"largest_hole\": %" PRIu64
            ", \"hole_bytes\": %" PRIu64 ", \"hole_resident\": %" PRIu64
            "}, \"events_per_sec\": %.1f, \"failed_calls\": %" PRIu64,
            s->peak_live_requested, s->peak_live_event, s->peak_footprint, s->peak_rss,
            s->footprint_ratio_at_peak, s->max_footprint_over_max_requested, s->slop_at_peak,
            s->worst_event, s->worst_holes_1m, s->worst_holes_8m, s->worst_largest_hole,
            s->worst_hole_bytes, s->worst_hole_resident, s->events_per_sec, s->failed_calls);
    if (c->speed_seconds > 0)
        fprintf(f, ", \"replay_seconds\": %.6f", c->speed_seconds);
}

static void json_cand(FILE *f, const struct tune *t, const struct tune_cand *c)
{
    char spec[4096];
    replay_spec(c, spec, sizeof spec);
    fprintf(f, "{\"allocator\": ");
    json_write_string(f, t->fams[c->fam].base.family);
    fprintf(f, ", \"name\": ");
    json_write_string(f, c->spec.name);
    fprintf(f, ", \"env\": ");
    json_write_string(f, c->line);
    fprintf(f, ", \"replay_spec\": ");
    json_write_string(f, spec);
    fprintf(f, ", \"round\": %d, \"status\": ", c->round);
    json_write_string(f, tune_status_name(c->status));
    if (c->status != TUNE_OK) {
        fprintf(f, ", \"error\": ");
        json_write_string(f, c->why);
    } else {
        fprintf(f, ", \"score\": %.6f", c->score);
    }
    if (c->sum.ok) { /* a replay that ran (failed calls or not): what it measured */
        fprintf(f, ", ");
        json_figures(f, c);
    }
    fprintf(f, "}");
}

static void write_json(FILE *f, const struct tune *t, double seconds)
{
    char rec[1024];
    recommendation(t, rec, sizeof rec);
    fprintf(f, "{\"log\": ");
    json_write_string(f, t->ro.w.log);
    fprintf(f,
            ", \"events\": %" PRIu64 ", \"threads\": %" PRIu64 ", \"threads_mode\": ", t->pp.events,
            t->pp.threads);
    json_write_string(f, threads_mode_names[t->ro.w.threads]);
    fprintf(f, ", \"touch\": ");
    json_write_string(f, touch_name(t->ro.w.touch));
    fprintf(f, ", \"objective\": ");
    json_write_string(f, tune_objective_name(t->objective));
    fprintf(f,
            ", \"min_gain\": %" PRIu64 ", \"time_limit\": %.1f, \"seconds\": %.3f"
            ", \"rounds\": %d,\n \"candidates\": [",
            t->min_gain, t->time_limit, seconds, t->rounds);
    for (int i = 0; i < t->nc; i++) {
        fprintf(f, "%s\n  ", i ? "," : "");
        json_cand(f, t, &t->c[i]);
    }
    fprintf(f, "],\n \"best\": {");
    int first = 1;
    for (int fi = 0; fi < t->nfams; fi++) {
        const struct tune_fam *fm = &t->fams[fi];
        if (fm->best < 0)
            continue;
        const struct tune_cand *c = &t->c[fm->best];
        fprintf(f, "%s\n  ", first ? "" : ",");
        json_write_string(f, fm->base.family);
        fprintf(f, ": {\"env\": ");
        json_write_string(f, c->line);
        fprintf(f, ", \"defaults\": %s, \"name\": ", c == &t->c[fm->def] ? "true" : "false");
        json_write_string(f, c->spec.name);
        fprintf(f, ", \"default_score\": %.6f, \"score\": %.6f, ", t->c[fm->def].score, c->score);
        json_figures(f, c);
        if (t->c[fm->def].speed_seconds > 0)
            fprintf(f, ", \"default_replay_seconds\": %.6f", t->c[fm->def].speed_seconds);
        fprintf(f, "}");
        first = 0;
    }
    int o = tune_overall(t);
    fprintf(f, "},\n \"recommended\": ");
    if (o >= 0) {
        fprintf(f, "{\"allocator\": ");
        json_write_string(f, t->fams[t->c[o].fam].base.family);
        fprintf(f, ", \"env\": ");
        json_write_string(f, t->c[o].line);
        fprintf(f, "}");
    } else {
        fprintf(f, "null");
    }
    fprintf(f, ",\n \"recommendation\": ");
    json_write_string(f, rec);
    fprintf(f, "}\n");
}

/* DIR/tune-memory.png: the timelines of each allocator's defaults and best (links in
 * DIR/chart/ to the candidates' TSVs), drawn by plots/memory.gp. Says why when it cannot. */
static void write_chart(const struct tune *t, const char *dir)
{
    char cdir[PATH_MAX], out[PATH_MAX + 32];
    snprintf(cdir, sizeof cdir, "%s/chart", dir);
    if (mkdir(cdir, 0755) < 0 && errno != EEXIST) {
        msg_error("tune", "%s: %s", cdir, strerror(errno));
        return;
    }
    for (int f = 0; f < t->nfams; f++) {
        const struct tune_fam *fm = &t->fams[f];
        int which[2] = {fm->def, fm->best};
        for (int k = 0; k < 2; k++) {
            if (which[k] < 0 || t->c[which[k]].status != TUNE_OK || (k && which[1] == which[0]))
                continue;
            char from[PATH_MAX + 64], to[PATH_MAX + 64];
            snprintf(from, sizeof from, "../candidates/replay.%s.tsv", t->c[which[k]].spec.name);
            snprintf(to, sizeof to, "%s/replay.%s.tsv", cdir, t->c[which[k]].spec.name);
            unlink(to);
            if (symlink(from, to) < 0)
                msg_error("tune", "%s: %s", to, strerror(errno));
        }
    }
    if (!plots_have_gnuplot()) {
        msg_error("tune", "gnuplot is not installed: no chart (the data is in %s)", cdir);
        return;
    }
    char abs[PATH_MAX];
    if (!realpath(cdir, abs))
        snprintf(abs, sizeof abs, "%s", cdir);
    snprintf(out, sizeof out, "%s/tune-memory.png", abs);
    struct plot_opts po = {.dir = abs, .title = "tune, defaults and best", .quiet = 1};
    if (plots_render(PLOT_memory, &po, "png", out, "tune") == 0) {
        char final[PATH_MAX + 32];
        snprintf(final, sizeof final, "%s/tune-memory.png", dir);
        if (rename(out, final) < 0)
            msg_error("tune", "%s: %s", final, strerror(errno));
    }
}

/* ---- the command ------------------------------------------------------------------------------
 */

int cmd_tune(int argc, char **argv)
{
    static struct tune t;
    static struct alloc_spec specs[MAX_ALLOCS];
    char path[PATH_MAX];
    int n = 0, json = 0, knobs = 0, rc = EXIT_ERROR;
    memset(&t, 0, sizeof t);
    options_init(&t.ro);
    t.time_limit = TIME_DEFAULT;
    t.min_gain = 1u << 20;
    t.speed_cost = 1;
    int p = parse(argc, argv, &t, specs, &n, &json, &knobs);
    if (p < 0) {
        usage(stdout);
        return 0;
    }
    if (p) {
        fprintf(stderr, "usage: mallog tune LOG [-a ALLOC[,ALLOC...]] [--time T] [--objective O] "
                        "[-o DIR] (mallog tune --help)\n");
        return p;
    }
    if (knobs) {
        knobs_print();
        return 0;
    }
    if (t.objective == TUNE_SPEED)
        t.min_gain = 0;
    if (rec_pick_log("tune", argv[optind], &t.ro.pid, path, sizeof path) != 0)
        return EXIT_ERROR;
    if (!realpath(path, t.ro.w.log))
        snprintf(t.ro.w.log, sizeof t.ro.w.log, "%s", path);
    if (!n)
        n = specs_default(specs);
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < i; j++)
            if (strcmp(specs[j].family, specs[i].family) == 0) {
                msg_error("tune", "-a: %s twice", specs[i].family);
                return EXIT_ERROR;
            }
        t.fams[t.nfams++].base = specs[i];
    }
    for (int u = 0; u < t.ntries; u++) {
        int f = 0;
        while (f < t.nfams && strcmp(t.fams[f].base.family, t.tries[u].family) != 0)
            f++;
        if (f == t.nfams) {
            msg_error("tune", "--try %s: %s is not among the allocators tuned (-a)",
                      t.tries[u].family, t.tries[u].family);
            return EXIT_ERROR;
        }
    }
    if (jobs_probe("tune", &t.ro.w, specs, n) < 0)
        return EXIT_ERROR;
    char out_dir[PATH_MAX];
    snprintf(out_dir, sizeof out_dir, "%s", t.ro.w.out_dir);
    t.ro.w.out_dir[0] = 0; /* the workers write into candidates/ (tune.c), never DIR itself */
    if (out_dir[0]) {
        snprintf(t.cand_dir, sizeof t.cand_dir, "%s/candidates", out_dir);
        if (options_out_dir("tune", out_dir) < 0 || options_out_dir("tune", t.cand_dir) < 0)
            return EXIT_ERROR;
    }
    if (options_prepare("tune", &t.ro, &t.pp) < 0)
        return EXIT_ERROR;
    if (!(t.c = calloc(TUNE_CANDS_MAX, sizeof *t.c))) {
        msg_error("tune", "out of memory");
        return EXIT_ERROR;
    }
    if (tune_search(&t) < 0)
        goto out;
    if (t.speed_cost)
        tune_speed_cost(&t);
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    double seconds = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9 - t.t0;
    if (json)
        write_json(stdout, &t, seconds);
    else
        print_table(&t, seconds);
    rc = t.pp.damaged ? EXIT_ERROR : 0;
    if (out_dir[0]) {
        char jp[PATH_MAX + 16];
        snprintf(jp, sizeof jp, "%s/tune.json", out_dir);
        FILE *f = fopen(jp, "w");
        if (f)
            write_json(f, &t, seconds);
        if (!f || fclose(f) != 0) {
            msg_error("tune", "%s: %s", jp, strerror(errno));
            rc = EXIT_ERROR;
        }
        if (t.objective != TUNE_SPEED) /* --bench replays have one sample: no timeline */
            write_chart(&t, out_dir);
    }
out:
    free(t.c);
    return rc;
}

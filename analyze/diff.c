/* diff.c - `mallog diff BEFORE AFTER`: two logs or saved `stats --json` summaries side by side:
 * totals, ops, peak, size classes, lifetimes, realloc, leaks, threads; absolute and relative
 * deltas, the biggest changes first. Exit 0 = same, 1 = different, 2 = error (like diff(1)).
 * Figures that depend on time or on event positions are shown but never make a difference. */
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../common/msg.h"
#include "../common/opt.h"
#include "analyze.h"

/* Keys not compared at all: identity, derived percentages, per-position lists. */
static int skipped(const char *k)
{
    static const char *const exact[] = {"log", "pid", "exe", "exec_gen", "range.0", "range.1",
                                        "damage", "complete", "in_progress", "exact_sizes_approximate",
                                        "temporary_within_events", "long_lived_events"};
    for (size_t i = 0; i < sizeof exact / sizeof *exact; i++)
        if (strcmp(k, exact[i]) == 0)
            return 1;
    static const char *const ids[] = {".class_min", ".class_max", ".min_events", ".max_events",
                                      ".min_ns", ".max_ns", ".size", ".thread"};
    size_t l = strlen(k);
    for (size_t i = 0; i < sizeof ids / sizeof *ids; i++) /* a table row's own key columns */
        if (l > strlen(ids[i]) && strcmp(k + l - strlen(ids[i]), ids[i]) == 0 && strchr(k, '.') !=
                                                                                 k + l - strlen(ids[i]))
            return 1;
    return (l > 4 && strcmp(k + l - 4, "_pct") == 0) || strncmp(k, "chains.", 7) == 0 ||
           strncmp(k, "top_sizes.", 10) == 0 || strstr(k, ".events.") != NULL ||
           (strncmp(k, "per_thread.", 11) == 0 && strstr(k, ".tid")) ||
           strncmp(k, "damage_", 7) == 0 ||
           (strncmp(k, "per_process.", 12) == 0 && (strstr(k, "pid") || strstr(k, ".log")));
}

/* Keys shown when they change but not counted as a difference: time and event positions. */
static int informational(const char *k)
{
    static const char *const words[] = {"duration_ns", "peak_time_ns", "peak_event",
                                        "peak_blocks_event", "start_event", "first_event",
                                        "last_event"};
    if (strncmp(k, "lifetimes_ns.", 13) == 0)
        return 1;
    for (size_t i = 0; i < sizeof words / sizeof *words; i++) {
        size_t l = strlen(words[i]), kl = strlen(k);
        if (kl >= l && strcmp(k + kl - l, words[i]) == 0)
            return 1;
    }
    return 0;
}

/* The figures shown first, in this order: how much memory, how many calls, what is left. */
static const char *const headline[] = {"peak_live_requested", "peak_live_blocks", "allocations",
                                       "frees", "failed", "leaked_blocks", "leaked_bytes",
                                       "live_at_end_bytes", "cumulative_requested"};

struct row {
    const char *key;
    double a, b;
    int in_a, in_b, info;
    double score; /* for "most changed" */
};

static double rel(double a, double b)
{
    return a != 0 ? (b - a) / fabs(a) : (b != 0 ? INFINITY : 0);
}

static int cmp_score(const void *x, const void *y)
{
    const struct row *a = *(const struct row *const *)x, *b = *(const struct row *const *)y;
    return a->score < b->score ? 1 : a->score > b->score ? -1 : strcmp(a->key, b->key);
}

static void num(char *buf, size_t len, double v)
{
    if (v == floor(v) && fabs(v) < 1e18)
        snprintf(buf, len, "%.0f", v);
    else
        snprintf(buf, len, "%.4g", v);
}

static void print_row(const struct row *r, int mark)
{
    char a[32], b[32], d[40], p[32];
    if (r->in_a) num(a, sizeof a, r->a); else snprintf(a, sizeof a, "-");
    if (r->in_b) num(b, sizeof b, r->b); else snprintf(b, sizeof b, "-");
    double delta = r->b - r->a, q = rel(r->a, r->b);
    num(d + 1, sizeof d - 1, fabs(delta));
    d[0] = delta > 0 ? '+' : delta < 0 ? '-' : ' ';
    if (isinf(q))
        snprintf(p, sizeof p, "new");
    else
        snprintf(p, sizeof p, "%+.1f%%", 100 * q);
    printf("  %-40s %16s %16s %16s %9s%s%s\n", r->key, a, b, delta == 0 ? "0" : d,
           delta == 0 ? "" : p, r->info ? "  (time/position)" : "", mark ? "  <<" : "");
}

static const char usage[] =
    "usage: mallog diff BEFORE AFTER [--all] [--top N] [--pid PID]\n"
    "       (each a log, a recording prefix/dir, or a saved `mallog stats --json` file)\n";

int cmd_diff(int argc, char **argv)
{
    static const struct option opts[] = {{"all", no_argument, NULL, 'a'},
                                         {"pid", required_argument, NULL, 'p'},
                                         {"top", required_argument, NULL, 'n'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int all = 0, c, top = 5;
    struct rec_pid pid = REC_PID_NONE;
    optind = 1;
    while ((c = getopt_long(argc, argv, "ah", opts, NULL)) != -1) {
        switch (c) {
        case 'a': all = 1; break;
        case 'p':
            if (rec_parse_pid("diff", optarg, &pid) != 0)
                return EXIT_ERROR;
            break;
        case 'n': {
            uint64_t v;
            if (opt_u64("diff", "--top", optarg, 0, 1000, &v) != 0) {
                fputs(usage, stderr);
                return EXIT_ERROR;
            }
            top = (int)v;
            break;
        }
        case 'h':
            printf("%s\nCompares two summaries key by key (the keys of `mallog stats --json`,\n"
                   "tables keyed by class/size: sizes.1024.count, leaks.24.count, ...).\n"
                   "Prints the changed figures (--all: every figure), the biggest relative\n"
                   "changes first and marked <<. Time- and position-dependent figures are shown\n"
                   "but do not count as a difference.\n"
                   "Exit 0 = no difference, 1 = different, 2 = error.\n", usage);
            return 0;
        default: fputs(usage, stderr); return EXIT_ERROR;
        }
    }
    if (argc - optind != 2) {
        fputs(usage, stderr);
        return EXIT_ERROR;
    }
    struct summary A, B;
    if (summary_load("diff", argv[optind], &pid, &A) != 0)
        return EXIT_ERROR;
    if (summary_load("diff", argv[optind + 1], &pid, &B) != 0) {
        summary_free(&A);
        return EXIT_ERROR;
    }
    struct row *rows = calloc(A.n + B.n + 1, sizeof *rows);
    struct row **order = calloc(A.n + B.n + 1, sizeof *order);
    size_t n = 0, changed = 0, counted = 0;
    int rc = EXIT_ERROR;
    if (!rows || !order) {
        fprintf(stderr, "mallog diff: out of memory\n");
        goto out;
    }
    int absent = 0;
    for (int side = 0; side < 2; side++) {
        const struct summary *S = side ? &B : &A, *O = side ? &A : &B;
        for (size_t i = 0; i < S->n; i++) {
            const struct summary_entry *e = &S->v[i];
            if (e->type != SUMMARY_NUM || skipped(e->key))
                continue;
            double ov;
            int k = summary_num(O, e->key, &ov);
            if (side && k == SUMMARY_FOUND)
                continue; /* already seen from A */
            if (k == SUMMARY_ABSENT) {
                /* not "changed from 0": the other summary cannot say what it was */
                msg_error("diff", "%s: no figure '%s' (%s has it): the summaries cannot be "
                                  "compared", O->name, e->key, S->name);
                absent = 1;
                continue;
            }
            struct row *r = &rows[n++];
            r->key = e->key;
            r->info = informational(e->key);
            /* k == SUMMARY_NO_ROW*: a table row the other side's writer left out (empty): "-" */
            if (side) {
                r->b = e->num;
                r->in_b = 1;
            } else {
                r->a = e->num;
                r->in_a = 1;
                if (k == SUMMARY_FOUND) {
                    r->b = ov;
                    r->in_b = 1;
                }
            }
            if (r->a != r->b || r->in_a != r->in_b) {
                changed++;
                counted += !r->info;
                double q = fabs(rel(r->a, r->b));
                r->score = r->info ? -1 : isinf(q) ? 1e300 : q;
                order[changed - 1] = r;
            }
        }
    }
    if (absent)
        goto out;
    qsort(order, changed, sizeof *order, cmp_score);
    if (!counted && !all) {
        /* one line: nothing else to read */
        printf("mallog diff: %s -> %s: no difference%s\n", A.name, B.name,
               changed ? " (only in time or event positions; --all shows them)" : "");
        rc = 0;
        goto out;
    }
    printf("mallog diff: %s -> %s: %s\n", A.name, B.name, counted ? "different" : "no difference");
    /* the figures a reader asks about first, changed or not, before any table row */
    printf("%-42s %16s %16s %16s %9s\n", "headline:", "before", "after", "delta", "rel");
    for (size_t h = 0; h < sizeof headline / sizeof *headline; h++)
        for (size_t i = 0; i < n; i++)
            if (strcmp(rows[i].key, headline[h]) == 0)
                print_row(&rows[i], 0);
    if (counted) {
        printf("most changed:");
        for (size_t i = 0; i < changed && i < (size_t)top; i++) {
            if (order[i]->info)
                break;
            double q = rel(order[i]->a, order[i]->b);
            char d[32];
            num(d, sizeof d, order[i]->b - order[i]->a);
            printf("%s %s %s%s", i ? "," : "", order[i]->key, order[i]->b > order[i]->a ? "+" : "",
                   d);
            if (!isinf(q))
                printf(" (%+.1f%%)", 100 * q);
        }
        printf("\n");
    }
    printf("%-42s %16s %16s %16s %9s\n", all ? "every figure:" : "every change:", "before",
           "after", "delta", "rel");
    /* sections in summary order; marks on the top changes */
    for (size_t i = 0; i < n; i++) {
        struct row *r = &rows[i];
        if (!all && r->a == r->b && r->in_a == r->in_b)
            continue;
        int mark = 0;
        for (size_t k = 0; k < changed && k < (size_t)top; k++)
            mark |= order[k] == r && !r->info;
        print_row(r, mark);
    }
    rc = counted ? EXIT_DIFF : 0;
out:
    free(rows);
    free(order);
    summary_free(&A);
    summary_free(&B);
    return rc;
}

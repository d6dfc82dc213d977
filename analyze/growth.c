/* growth.c - `mallog stats --growth`: the live bytes and blocks of each call site (a log recorded
 * with --stacks; sites named as `--by site` names them, through lib's mlg_sites_site_pc) or size
 * class (other logs) over the run, and a verdict on each: growing, levels_off or returns.
 *
 * One streaming pass. Every block is followed from its allocation to its release by lib/heap.h's
 * rule (a realloc's new block belongs to the realloc's site or class). The run is cut into at most
 * GROWTH_WINDOWS windows of equal width in events; when they are all used, neighbours merge in
 * pairs and the width doubles, so a run of any length ends with 32..64 windows (plus a partial
 * last one). Memory: one record per live block, GROWTH_WINDOWS cells per group: bounded by the
 * live blocks and the groups, never by the length of the run. */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../common/msg.h"
#include "analyze.h"
#include "growth.h"

#define NONE UINT32_MAX

/* A live block (or a free entry of the array: group == NONE, next = the next free entry). */
struct growth_block {
    uint64_t size, birth, birth_time, next;
    uint32_t group, stack;
};

/* ---- statistics ---------------------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

double growth_kendall(const double *y, int n, double *z)
{
    if (z)
        *z = 0;
    if (n < 2)
        return 0;
    double s = 0;
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            s += (y[j] > y[i]) - (y[j] < y[i]);
    /* ties in y: t values alike take t(t-1)/2 pairs out of tau-b's denominator and their share
     * out of the variance of S (Kendall 1975) */
    double *v = malloc((size_t)n * sizeof *v);
    double ties = 0, tvar = 0;
    if (v) {
        memcpy(v, y, (size_t)n * sizeof *v);
        qsort(v, (size_t)n, sizeof *v, cmp_double);
        for (int i = 0; i < n;) {
            int k = i;
            while (k < n && v[k] == v[i])
                k++;
            double t = k - i;
            ties += t * (t - 1) / 2;
            tvar += t * (t - 1) * (2 * t + 5);
            i = k;
        }
        free(v);
    }
    double n0 = (double)n * (n - 1) / 2;
    double var = ((double)n * (n - 1) * (2.0 * n + 5) - tvar) / 18;
    if (z && var > 0 && s != 0)
        *z = (s - (s > 0 ? 1 : -1)) / sqrt(var);
    return n0 > ties ? s / sqrt(n0 * (n0 - ties)) : 0;
}

double growth_theil_sen(const double *x, const double *y, int n)
{
    if (n < 2)
        return NAN;
    double *s = malloc((size_t)n * (size_t)(n - 1) / 2 * sizeof *s);
    size_t m = 0;
    if (!s)
        return NAN;
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            if (x[j] != x[i])
                s[m++] = (y[j] - y[i]) / (x[j] - x[i]);
    double r = NAN;
    if (m) {
        qsort(s, m, sizeof *s, cmp_double);
        r = m % 2 ? s[m / 2] : (s[m / 2 - 1] + s[m / 2]) / 2;
    }
    free(s);
    return r;
}

int growth_last_from(int n)
{
    return n - (n / 2 < 8 ? 8 : n / 2);
}

int growth_judge(const double *y, int n, struct growth_judgement *j)
{
    memset(j, 0, sizeof *j);
    if (n < 8 || n > 4 * GROWTH_WINDOWS)
        return -1;
    j->last_from = growth_last_from(n);
    int len = n - j->last_from;
    const double *last = y + j->last_from;
    j->tau_all = growth_kendall(y, n, NULL);
    j->tau_last = growth_kendall(last, len, &j->z_last);
    double x[GROWTH_WINDOWS * 2], e[GROWTH_WINDOWS * 2], mean = 0, num = 0, den = 0;
    for (int i = 0; i < len; i++)
        x[i] = j->last_from + i;
    j->slope_last = growth_theil_sen(x, last, len);
    /* Mann-Kendall assumes independent windows. A level that wanders slowly (a cache whose
     * content turns over across many windows) makes neighbours alike and inflates Z: take the
     * lag-1 autocorrelation of the last half around its Theil-Sen line and widen the variance of
     * S by (1 + r)/(1 - r) when r > 0 (the effective number of windows, Bayley and Hammersley
     * 1946); r is capped at 0.9 */
    for (int i = 0; i < len; i++)
        mean += e[i] = last[i] - (isnan(j->slope_last) ? 0 : j->slope_last) * x[i];
    mean /= len;
    for (int i = 0; i < len; i++) {
        den += (e[i] - mean) * (e[i] - mean);
        if (i + 1 < len)
            num += (e[i] - mean) * (e[i + 1] - mean);
    }
    j->autocorr = den > 0 ? num / den : 0;
    double r = fmin(j->autocorr, 0.9);
    if (r > 0)
        j->z_last /= sqrt((1 + r) / (1 - r));
    double base = y[0], peak = y[0];
    for (int i = 1; i < n; i++)
        peak = y[i] > peak ? y[i] : peak;
    /* new highs, each a tenth of the last half's range above the previous one: noise at a
     * plateau sets records too, but small ones */
    double lo = y[j->last_from], hi = lo;
    for (int i = j->last_from; i < n; i++) {
        lo = y[i] < lo ? y[i] : lo;
        hi = y[i] > hi ? y[i] : hi;
    }
    double level = y[j->last_from], step = (hi - lo) / 10;
    for (int i = j->last_from + 1; i < n && step > 0; i++)
        if (y[i] >= level + step) {
            level = y[i];
            j->rises++;
        }
    if (j->z_last >= GROWTH_Z && j->slope_last > 0 && j->rises >= GROWTH_MIN_RISES &&
        j->slope_last * len >= GROWTH_LAST_SHARE * (peak - base))
        j->verdict = GROWTH_GROWING;
    else if (peak <= base || y[n - 1] <= base + GROWTH_RETURN_SHARE * (peak - base))
        j->verdict = GROWTH_RETURNS;
    else
        j->verdict = GROWTH_LEVELS_OFF;
    return 0;
}

const char *growth_verdict_name(int verdict)
{
    return verdict == GROWTH_GROWING      ? "growing"
           : verdict == GROWTH_LEVELS_OFF ? "levels_off"
                                          : "returns";
}

/* ---- groups ---------------------------------------------------------------------------------- */

struct named {
    char *name;
    uint32_t stack;
};

static int cmp_named(const void *a, const void *b)
{
    const struct named *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->stack > y->stack) - (x->stack < y->stack);
}

/* By site: stack id -> group, the groups named as `--by site` names them (the stack's site frame;
 * stack 0 = "[no stack]"). 0, or -1 (no memory). */
static int site_groups(struct growth *g)
{
    uint32_t n = g->nstacks + 1;
    struct named *v = calloc(n, sizeof *v);
    if (!v || !(g->stack_group = calloc(n, sizeof *g->stack_group)))
        goto fail;
    char buf[1024];
    for (uint32_t i = 0; i < n; i++) {
        uint64_t pc = i ? mlg_sites_site_pc(g->sites, i) : 0;
        const char *name = pc ? mlg_sites_frame_name(g->sites, pc, buf, sizeof buf) : "[no stack]";
        if (!(v[i].name = strdup(name)))
            goto fail;
        v[i].stack = i;
    }
    qsort(v, n, sizeof *v, cmp_named);
    if (!(g->groups = calloc(n, sizeof *g->groups)))
        goto fail;
    for (uint32_t i = 0; i < n; i++) {
        if (g->ngroups == 0 || strcmp(g->groups[g->ngroups - 1].name, v[i].name) != 0) {
            g->groups[g->ngroups].id = g->ngroups;
            g->groups[g->ngroups++].name = v[i].name; /* the group owns it now */
            v[i].name = NULL;
        }
        g->stack_group[v[i].stack] = g->ngroups - 1;
    }
    for (uint32_t i = 0; i < n; i++)
        free(v[i].name);
    free(v);
    return 0;
fail:
    for (uint32_t i = 0; v && i < n; i++)
        free(v[i].name);
    free(v);
    return -1;
}

/* By size class (stats_class: 0, then 2^(k-1) .. 2^k - 1). 0, or -1 (no memory). */
static int class_groups(struct growth *g)
{
    if (!(g->groups = calloc(STATS_CLASSES, sizeof *g->groups)))
        return -1;
    g->ngroups = STATS_CLASSES;
    for (int k = 0; k < STATS_CLASSES; k++) {
        struct growth_group *gr = &g->groups[k];
        char buf[64];
        gr->id = (uint32_t)k;
        gr->class_min = stats_class_min(k);
        gr->class_max = stats_class_max(k);
        if (gr->class_min == gr->class_max)
            snprintf(buf, sizeof buf, "%" PRIu64 " B", gr->class_min);
        else
            snprintf(buf, sizeof buf, "%" PRIu64 "..%" PRIu64 " B", gr->class_min, gr->class_max);
        if (!(gr->name = strdup(buf)))
            return -1;
    }
    return 0;
}

/* ---- the pass ------------------------------------------------------------------------------ */

/* Closes the open window: each group's figures into its cell, then, when every window is used
 * and more events may come (!final), merges neighbours in pairs and doubles the width. */
static void close_window(struct growth *g, int final)
{
    for (uint32_t i = 0; i < g->ngroups; i++) {
        struct growth_group *gr = &g->groups[i];
        g->cells[(uint64_t)i * GROWTH_WINDOWS + (uint64_t)g->nwin] =
            (struct growth_cell){gr->cur_min, gr->cur_max, gr->live_bytes, gr->live_blocks};
        gr->cur_min = gr->cur_max = gr->live_bytes;
    }
    g->win[g->nwin++] = g->open;
    g->in_win = 0;
    if (final || g->nwin < GROWTH_WINDOWS)
        return;
    for (int k = 0; k < GROWTH_WINDOWS / 2; k++) {
        struct growth_window a = g->win[2 * k], b = g->win[2 * k + 1];
        g->win[k] = (struct growth_window){a.first_event, b.last_event, a.start_ns, b.end_ns};
    }
    for (uint32_t i = 0; i < g->ngroups; i++) {
        struct growth_cell *c = &g->cells[(uint64_t)i * GROWTH_WINDOWS];
        for (int k = 0; k < GROWTH_WINDOWS / 2; k++) {
            struct growth_cell a = c[2 * k], b = c[2 * k + 1];
            c[k] = (struct growth_cell){a.floor < b.floor ? a.floor : b.floor,
                                        a.max > b.max ? a.max : b.max, b.end_bytes, b.end_blocks};
        }
    }
    g->nwin = GROWTH_WINDOWS / 2;
    g->width *= 2;
}

/* The block at ptr ends; its group, or NONE (not live: inherited from a fork parent, or an
 * anomaly; neither is attributed). */
static uint32_t release(struct growth *g, uint64_t ptr)
{
    uint64_t i;
    if (!ptr || !mlg_addrmap_del(g->live, ptr, &i))
        return NONE;
    struct growth_block *b = &g->blocks[i];
    struct growth_group *gr = &g->groups[b->group];
    gr->live_bytes -= b->size;
    gr->live_blocks--;
    uint32_t group = b->group;
    b->group = NONE;
    b->next = g->free_head;
    g->free_head = i;
    return group;
}

/* A block of size bytes begins at ptr for event ev. Its group, or NONE on no memory. */
static uint32_t acquire(struct growth *g, const struct mlg_event *ev, uint64_t ptr, uint64_t size)
{
    uint64_t i;
    if (g->free_head != UINT64_MAX) {
        i = g->free_head;
        g->free_head = g->blocks[i].next;
    } else {
        if (g->nblocks == g->cap) {
            uint64_t cap = g->cap ? g->cap * 2 : 4096;
            struct growth_block *nb = realloc(g->blocks, cap * sizeof *nb);
            if (!nb)
                return NONE;
            g->blocks = nb;
            g->cap = cap;
        }
        i = g->nblocks++;
    }
    uint64_t old;
    if (mlg_addrmap_get(g->live, ptr, &old)) /* an anomaly: the older block is forgotten */
        release(g, ptr);
    if (mlg_addrmap_put(g->live, ptr, i) < 0)
        return NONE;
    uint32_t stack = ev->stack <= g->nstacks ? ev->stack : 0;
    uint32_t group = g->by_site ? g->stack_group[stack] : (uint32_t)stats_class(size);
    g->blocks[i] = (struct growth_block){size, ev->index, ev->time_ns, 0, group, stack};
    struct growth_group *gr = &g->groups[group];
    gr->live_bytes += size;
    gr->live_blocks++;
    gr->allocs++;
    return group;
}

static void touched(struct growth *g, uint32_t group)
{
    if (group == NONE)
        return;
    struct growth_group *gr = &g->groups[group];
    if (gr->live_bytes < gr->cur_min)
        gr->cur_min = gr->live_bytes;
    if (gr->live_bytes > gr->cur_max)
        gr->cur_max = gr->live_bytes;
}

/* One event. 0, or -1 (no memory). */
static int on_event(struct growth *g, const struct mlg_event *ev)
{
    if (g->in_win == 0)
        g->open = (struct growth_window){ev->index, ev->index, ev->time_ns, ev->time_ns};
    g->open.last_event = ev->index;
    g->open.end_ns = ev->time_ns;
    if (!g->events)
        g->first_ns = ev->time_ns;
    g->last_ns = ev->time_ns;
    g->events++;
    struct mlg_heap_effect e = mlg_heap_effects(ev);
    uint32_t gr = NONE, ga = NONE;
    if (e.flags & MLG_HEAP_RELEASE)
        gr = release(g, e.release);
    if ((e.flags & MLG_HEAP_ACQUIRE) && (ga = acquire(g, ev, e.acquire, e.size)) == NONE)
        return -1;
    /* after both halves of a realloc: a block that moves within its group is no dip */
    touched(g, gr);
    touched(g, ga);
    if (++g->in_win == g->width)
        close_window(g, 0);
    return 0;
}

/* The oldest still-live blocks of each group (GROWTH_SAMPLES, oldest first). */
static void oldest_blocks(struct growth *g)
{
    for (uint64_t i = 0; i < g->nblocks; i++) {
        const struct growth_block *b = &g->blocks[i];
        if (b->group == NONE)
            continue;
        struct growth_group *gr = &g->groups[b->group];
        int k = gr->noldest < GROWTH_SAMPLES ? gr->noldest++ : GROWTH_SAMPLES;
        while (k > 0 && gr->oldest[k - 1].event > b->birth) {
            if (k < GROWTH_SAMPLES)
                gr->oldest[k] = gr->oldest[k - 1];
            k--;
        }
        if (k < GROWTH_SAMPLES)
            gr->oldest[k] = (struct growth_sample){b->birth, b->birth_time, b->size, b->stack};
    }
}

/* Verdicts and rates of every group, once the windows are closed. */
static void judge_all(struct growth *g)
{
    int n = g->nwin;
    double y[GROWTH_WINDOWS], xe[GROWTH_WINDOWS], xt[GROWTH_WINDOWS];
    for (int w = 0; w < n; w++) {
        xe[w] = ((double)g->win[w].first_event + (double)g->win[w].last_event) / 2;
        xt[w] = ((double)g->win[w].start_ns + (double)g->win[w].end_ns) / 2;
    }
    if (n < 8)
        return; /* too short to judge: growth_report says so */
    int lf = growth_last_from(n);
    /* bytes per hour needs times that move over the last half */
    g->has_times = g->last_ns > g->first_ns && xt[n - 1] > xt[lf];
    g->no_times_why = g->has_times ? NULL
                      : g->last_ns == 0 ? "the log has no times"
                                        : "the last half of the run spans no measurable time";
    for (uint32_t i = 0; i < g->ngroups; i++) {
        struct growth_group *gr = &g->groups[i];
        const struct growth_cell *c = &g->cells[(uint64_t)i * GROWTH_WINDOWS];
        for (int w = 0; w < n; w++) {
            y[w] = (double)c[w].floor;
            gr->peak_bytes = c[w].max > gr->peak_bytes ? c[w].max : gr->peak_bytes;
        }
        growth_judge(y, n, &gr->j);
        double pm = growth_theil_sen(xe + lf, y + lf, n - lf);
        gr->per_million = isnan(pm) ? 0 : pm * 1e6;
        double ph = g->has_times ? growth_theil_sen(xt + lf, y + lf, n - lf) : NAN;
        gr->per_hour = isnan(ph) ? 0 : ph * 3.6e12;
    }
}

int growth_run(struct growth *g, const char *path)
{
    struct mlg_error err;
    int rc = mlg_sites_load(&g->sites, path, &err);
    if (rc && !g->sites) {
        msg_log_error("stats", path, &err);
        return rc;
    }
    g->nstacks = mlg_sites_stack_count(g->sites);
    g->by_site = g->nstacks > 0;
    if (g->by_site && mlg_sites_symbolize(g->sites) != 0)
        fprintf(stderr, "mallog stats: some frames could not be symbolized (addr2line missing, or "
                        "a module file changed since the recording)\n");
    g->width = 1;
    g->free_head = UINT64_MAX;
    if ((g->by_site ? site_groups(g) : class_groups(g)) != 0 ||
        !(g->cells = calloc((size_t)g->ngroups * GROWTH_WINDOWS, sizeof *g->cells)) ||
        !(g->live = mlg_addrmap_new(NULL))) {
        msg_error("stats", "out of memory");
        return MLG_E_NOMEM;
    }
    struct mlg_reader *r;
    if ((rc = mlg_reader_open(&r, path, NULL, &err)) != 0) {
        msg_log_error("stats", path, &err);
        return rc;
    }
    static struct mlg_event ev[256];
    int k;
    while ((k = mlg_reader_next_batch(r, ev, 256)) > 0)
        for (int i = 0; i < k; i++)
            if (on_event(g, &ev[i]) != 0) {
                mlg_reader_close(r);
                msg_error("stats", "out of memory");
                return MLG_E_NOMEM;
            }
    if (k < 0)
        g->err = *mlg_reader_error(r);
    mlg_reader_close(r);
    if (g->in_win)
        close_window(g, 1);
    oldest_blocks(g);
    judge_all(g);
    return 0;
}

static int cmp_groups(const void *a, const void *b)
{
    const struct growth_group *x = a, *y = b;
    if ((x->allocs > 0) != (y->allocs > 0))
        return x->allocs > 0 ? -1 : 1;
    if (x->j.verdict != y->j.verdict)
        return x->j.verdict < y->j.verdict ? -1 : 1;
    if (x->per_million != y->per_million)
        return x->per_million > y->per_million ? -1 : 1;
    if (x->live_bytes != y->live_bytes)
        return x->live_bytes > y->live_bytes ? -1 : 1;
    return strcmp(x->name, y->name);
}

int growth_rank(struct growth *g)
{
    /* the cells move with their group: sort the groups, then gather the cells by .id */
    struct growth_group *sorted = malloc((size_t)g->ngroups * sizeof *sorted);
    struct growth_cell *cells = malloc((size_t)g->ngroups * GROWTH_WINDOWS * sizeof *cells);
    if (!sorted || !cells) {
        free(sorted);
        free(cells);
        return -1;
    }
    memcpy(sorted, g->groups, (size_t)g->ngroups * sizeof *sorted);
    qsort(sorted, g->ngroups, sizeof *sorted, cmp_groups);
    for (uint32_t i = 0; i < g->ngroups; i++) {
        memcpy(&cells[(uint64_t)i * GROWTH_WINDOWS], &g->cells[(uint64_t)sorted[i].id * GROWTH_WINDOWS],
               GROWTH_WINDOWS * sizeof *cells);
    }
    free(g->groups);
    free(g->cells);
    g->groups = sorted;
    g->cells = cells;
    return 0;
}

void growth_free(struct growth *g)
{
    for (uint32_t i = 0; g->groups && i < g->ngroups; i++)
        free(g->groups[i].name);
    free(g->groups);
    free(g->cells);
    free(g->stack_group);
    free(g->blocks);
    mlg_addrmap_free(g->live);
    mlg_sites_free(g->sites);
    memset(g, 0, sizeof *g);
}

int growth_report(const char *path, const struct growth_opts *o, FILE *out)
{
    struct growth *g = calloc(1, sizeof *g);
    int rc = EXIT_ERROR;
    if (!g) {
        msg_error("stats", "out of memory");
        return EXIT_ERROR;
    }
    if (growth_run(g, path) != 0)
        goto out;
    if (g->events < GROWTH_MIN_EVENTS) {
        msg_error("stats", "%s: too short to judge growth: %" PRIu64 " events%s (at least %d "
                  "needed)", path, g->events, g->err.code ? " before the damage" : "",
                  GROWTH_MIN_EVENTS);
        goto out;
    }
    if (growth_rank(g) != 0) {
        msg_error("stats", "out of memory");
        goto out;
    }
    if (o->json)
        growth_write_json(out, g, o, path);
    else
        growth_write_text(out, g, o);
    rc = fflush(out) == 0 ? 0 : EXIT_ERROR;
    if (g->err.code) {
        char buf[512];
        fprintf(stderr, "mallog stats: %s: %s (the growth analysis covers the events before it)\n",
                path, mlg_error_format(&g->err, buf, sizeof buf));
        rc = EXIT_ERROR;
    }
out:
    growth_free(g);
    free(g);
    return rc;
}

/* growth_out.c - a ranked struct growth as a readable report or one JSON object (`mallog stats
 * --growth [--json]`). Field names are a contract with plots/report_growth.c: add, never rename.
 * Nothing here reads the log. */
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "../common/json.h"
#include "growth.h"

#define STACK_FRAMES 6 /* frames of a sample stack shown, from the site outward */

/* Groups that allocated at all (ranked first by growth_rank), at most o->top. */
static uint32_t listed(const struct growth *g, const struct growth_opts *o)
{
    uint32_t n = 0;
    while (n < g->ngroups && g->groups[n].allocs)
        n++;
    return o->top < n ? (uint32_t)o->top : n;
}

/* "+1.2 KiB", "-300 B", "0 B" */
static const char *signed_size(double v, char *buf, size_t len)
{
    char b[32];
    double a = fabs(v);
    mlg_format_size((uint64_t)(a + 0.5), b, sizeof b);
    snprintf(buf, len, "%s%s", v >= 0.5 ? "+" : v <= -0.5 ? "-" : "", b);
    return buf;
}

static const char *secs(uint64_t ns, char *buf, size_t len)
{
    double s = (double)ns / 1e9;
    if (s < 120)
        snprintf(buf, len, "%.2f s", s);
    else if (s < 7200)
        snprintf(buf, len, "%.1f min", s / 60);
    else
        snprintf(buf, len, "%.1f h", s / 3600);
    return buf;
}

/* The floor series as a line of characters, scaled to the group's highest floor. */
static void sparkline(FILE *f, const struct growth *g, uint32_t i)
{
    static const char levels[] = " .:-=+*#%@";
    const struct growth_cell *c = &g->cells[(uint64_t)i * GROWTH_WINDOWS];
    uint64_t hi = 0;
    for (int w = 0; w < g->nwin; w++)
        hi = c[w].floor > hi ? c[w].floor : hi;
    fputc('|', f);
    for (int w = 0; w < g->nwin; w++)
        fputc(hi ? levels[(c[w].floor * 9 + hi / 2) / hi] : ' ', f);
    fputc('|', f);
}

/* The frames of stack id from its site frame outward, " < " between them. */
static void stack_text(FILE *f, const struct growth *g, uint32_t id)
{
    const uint64_t *pcs;
    uint32_t depth, from = 0;
    char buf[1024];
    if (!id || !mlg_sites_stack(g->sites, id, &pcs, &depth)) {
        fputs("[no stack]", f);
        return;
    }
    uint64_t site = mlg_sites_site_pc(g->sites, id);
    while (from < depth && pcs[from] != site)
        from++;
    if (from == depth)
        from = 0;
    for (uint32_t k = from; k < depth && k < from + STACK_FRAMES; k++)
        fprintf(f, "%s%s", k > from ? " < " : "", mlg_sites_frame_name(g->sites, pcs[k], buf, sizeof buf));
    if (depth > from + STACK_FRAMES)
        fputs(" < ...", f);
}

void growth_write_text(FILE *f, const struct growth *g, const struct growth_opts *o)
{
    char b1[32], b2[32], b3[32], b4[32];
    uint32_t n = listed(g, o), total = listed(g, &(struct growth_opts){0, UINT64_MAX});
    int lf = growth_last_from(g->nwin);
    fprintf(f, "growth by %s: %u %s over %" PRIu64 " events, %s; %d windows of %" PRIu64
               " events (verdicts from the last %d)\n",
            g->by_site ? "call site" : "size class", total, g->by_site ? "sites" : "classes",
            g->events, secs(g->last_ns - g->first_ns, b1, sizeof b1), g->nwin, g->width,
            g->nwin - lf);
    fprintf(f, "%-4s %-10s %11s %11s %22s %10s  %s\n", "rank", "verdict", "per hour",
            "per M calls", "live at end (blocks)", "oldest", g->by_site ? "site" : "size class");
    for (uint32_t i = 0; i < n; i++) {
        const struct growth_group *gr = &g->groups[i];
        char live[48];
        snprintf(live, sizeof live, "%s (%" PRIu64 ")",
                 mlg_format_size(gr->live_bytes, b3, sizeof b3), gr->live_blocks);
        fprintf(f, "%-4u %-10s %11s %11s %22s %10s  %s\n", i + 1,
                growth_verdict_name(gr->j.verdict),
                g->has_times ? signed_size(gr->per_hour, b1, sizeof b1) : "n/a",
                signed_size(gr->per_million, b2, sizeof b2), live,
                gr->noldest ? secs(gr->oldest[0].time_ns, b4, sizeof b4) : "-", gr->name);
        fprintf(f, "     ");
        sparkline(f, g, i);
        fprintf(f, " floor of live bytes per window, max %s\n",
                mlg_format_size(gr->peak_bytes, b4, sizeof b4));
    }
    if (total > n)
        fprintf(f, "... %u more (--top N)\n", total - n);
    for (uint32_t i = 0; i < n && g->by_site; i++) {
        const struct growth_group *gr = &g->groups[i];
        if (gr->j.verdict != GROWTH_GROWING || !gr->noldest)
            continue;
        fprintf(f, "oldest live blocks of %s:\n", gr->name);
        for (int k = 0; k < gr->noldest; k++) {
            const struct growth_sample *s = &gr->oldest[k];
            fprintf(f, "  event %" PRIu64 " at %s, %s: ", s->event, secs(s->time_ns, b1, sizeof b1),
                    mlg_format_size(s->size, b2, sizeof b2));
            stack_text(f, g, s->stack);
            fputc('\n', f);
        }
    }
    uint32_t count[3] = {0};
    for (uint32_t i = 0; i < total; i++)
        count[g->groups[i].j.verdict]++;
    fprintf(f, "%u growing, %u level off, %u return", count[GROWTH_GROWING],
            count[GROWTH_LEVELS_OFF], count[GROWTH_RETURNS]);
    if (!g->has_times)
        fprintf(f, "; no bytes per hour: %s", g->no_times_why);
    fprintf(f, "\n");
}

/* ---- JSON ---------------------------------------------------------------------------------- */

static void num_or_null(FILE *f, int valid, double v)
{
    if (valid && isfinite(v))
        fprintf(f, "%.1f", v);
    else
        fputs("null", f);
}

static void series(FILE *f, const char *key, const struct growth *g, uint32_t i, int field)
{
    const struct growth_cell *c = &g->cells[(uint64_t)i * GROWTH_WINDOWS];
    fprintf(f, ",\"%s\":[", key);
    for (int w = 0; w < g->nwin; w++) {
        uint64_t v = field == 0 ? c[w].floor : field == 1 ? c[w].max
                   : field == 2 ? c[w].end_bytes : c[w].end_blocks;
        fprintf(f, "%s%" PRIu64, w ? "," : "", v);
    }
    fputc(']', f);
}

static void stack_json(FILE *f, const struct growth *g, uint32_t id)
{
    const uint64_t *pcs;
    uint32_t depth;
    char buf[1024];
    fputc('[', f);
    if (id && mlg_sites_stack(g->sites, id, &pcs, &depth))
        for (uint32_t k = 0; k < depth; k++) {
            fputs(k ? "," : "", f);
            json_write_string(f, mlg_sites_frame_name(g->sites, pcs[k], buf, sizeof buf));
        }
    fputc(']', f);
}

static void group_json(FILE *f, const struct growth *g, uint32_t i)
{
    const struct growth_group *gr = &g->groups[i];
    fprintf(f, "{\"rank\":%u,\"site\":", i + 1);
    json_write_string(f, gr->name);
    fprintf(f, ",\"verdict\":\"%s\",\"bytes_per_hour\":", growth_verdict_name(gr->j.verdict));
    num_or_null(f, g->has_times, gr->per_hour);
    fprintf(f, ",\"bytes_per_million_calls\":");
    num_or_null(f, 1, gr->per_million);
    fprintf(f, ",\"live_bytes_end\":%" PRIu64 ",\"live_blocks_end\":%" PRIu64
               ",\"peak_live_bytes\":%" PRIu64 ",\"allocs\":%" PRIu64,
            gr->live_bytes, gr->live_blocks, gr->peak_bytes, gr->allocs);
    if (!g->by_site)
        fprintf(f, ",\"class_min\":%" PRIu64 ",\"class_max\":%" PRIu64, gr->class_min,
                gr->class_max);
    fprintf(f, ",\"tau_all\":%.3f,\"tau_last\":%.3f,\"z_last\":%.2f,\"autocorr_last\":%.3f"
               ",\"rises_last\":%d,\"slope_last_per_window\":",
            gr->j.tau_all, gr->j.tau_last, gr->j.z_last, gr->j.autocorr, gr->j.rises);
    num_or_null(f, 1, gr->j.slope_last);
    fprintf(f, ",\"oldest_live_event\":");
    if (gr->noldest)
        fprintf(f, "%" PRIu64 ",\"oldest_live_time_ns\":%" PRIu64, gr->oldest[0].event,
                gr->oldest[0].time_ns);
    else
        fprintf(f, "null,\"oldest_live_time_ns\":null");
    fprintf(f, ",\"oldest_live\":[");
    for (int k = 0; k < gr->noldest; k++) {
        const struct growth_sample *s = &gr->oldest[k];
        fprintf(f, "%s{\"event\":%" PRIu64 ",\"time_ns\":%" PRIu64 ",\"size\":%" PRIu64, k ? "," : "",
                s->event, s->time_ns, s->size);
        if (g->by_site) {
            fprintf(f, ",\"stack\":");
            stack_json(f, g, s->stack);
        }
        fputc('}', f);
    }
    fputc(']', f);
    series(f, "floor_bytes", g, i, 0);
    series(f, "max_bytes", g, i, 1);
    series(f, "end_bytes", g, i, 2);
    series(f, "end_blocks", g, i, 3);
    fputc('}', f);
}

void growth_write_json(FILE *f, const struct growth *g, const struct growth_opts *o,
                       const char *path)
{
    uint32_t n = listed(g, o), total = listed(g, &(struct growth_opts){0, UINT64_MAX});
    fprintf(f, "{\"log\":");
    json_write_string(f, path);
    fprintf(f, ",\"by\":\"%s\",\"events\":%" PRIu64 ",\"duration_ns\":%" PRIu64
               ",\"windows\":%d,\"window_events\":%" PRIu64 ",\"last_part_from\":%d,\"groups\":%u",
            g->by_site ? "site" : "size_class", g->events, g->last_ns - g->first_ns, g->nwin,
            g->width, growth_last_from(g->nwin), total);
    fprintf(f, ",\"bytes_per_hour_missing\":");
    if (g->has_times)
        fputs("null", f);
    else
        json_write_string(f, g->no_times_why);
    if (g->err.code) {
        char buf[512];
        fprintf(f, ",\"damage\":");
        json_write_string(f, mlg_error_format(&g->err, buf, sizeof buf));
        fprintf(f, ",\"damage_event\":%" PRIu64, g->err.event);
    }
    static const char *const cols[] = {"first_event", "last_event", "start_ns", "end_ns"};
    for (int c = 0; c < 4; c++) {
        fprintf(f, ",\"window_%s\":[", cols[c]);
        for (int w = 0; w < g->nwin; w++) {
            const struct growth_window *x = &g->win[w];
            uint64_t v = c == 0 ? x->first_event : c == 1 ? x->last_event
                       : c == 2 ? x->start_ns : x->end_ns;
            fprintf(f, "%s%" PRIu64, w ? "," : "", v);
        }
        fputc(']', f);
    }
    fprintf(f, ",\"growth\":[");
    for (uint32_t i = 0; i < n; i++) {
        fputs(i ? ",\n" : "\n", f);
        group_json(f, g, i);
    }
    fprintf(f, "]}\n");
}

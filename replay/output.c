/* output.c - replay results as text: the timeline TSV (columns from MLG_METRICS, by name), the
 * summary (peak, worst point, fragmentation ratios) and its JSON. Writes into mapped buffers,
 * never through the allocator under test. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "../common/json.h"
#include "replay.h"

void output_tsv_header(struct mem_buf *b)
{
    const char *sep = "";
#define MLG_X_HEAD(name)                                                                           \
    mem_buf_printf(b, "%s%s", sep, #name);                                                         \
    sep = "\t";
    MLG_METRICS(MLG_X_HEAD)
#undef MLG_X_HEAD
    mem_buf_printf(b, "\n");
}

int output_tsv(const struct engine_result *r, struct mem_buf *b)
{
    output_tsv_header(b);
    for (uint64_t i = 0; i < r->nsamples; i++) {
        const struct sample *s = &r->samples[i];
        const char *sep = "";
#define MLG_X_ROW(name)                                                                            \
    if (mem_buf_printf(b, "%s%" PRIu64, sep, s->name) < 0)                                         \
        return -1;                                                                                 \
    sep = "\t";
        MLG_METRICS(MLG_X_ROW)
#undef MLG_X_ROW
        if (mem_buf_printf(b, "\n") < 0)
            return -1;
    }
    return 0;
}

void output_summarize(const struct engine_result *r, struct summary *s)
{
    const struct sample *peak = NULL, *worst = NULL;
    uint64_t max_fp = 0, max_rss = 0;
    for (uint64_t i = 0; i < r->nsamples; i++) {
        const struct sample *x = &r->samples[i];
        if (!peak || x->live_requested > peak->live_requested)
            peak = x;
        if (!worst || x->holes_1m > worst->holes_1m ||
            (x->holes_1m == worst->holes_1m && x->hole_bytes > worst->hole_bytes))
            worst = x;
        if (x->sys_mapped > max_fp)
            max_fp = x->sys_mapped;
        if (x->heap_rss > max_rss)
            max_rss = x->heap_rss;
    }
    s->events = r->events;
    s->bad_frees = r->bad_frees;
    s->failed_calls = r->skipped;
    s->peak_footprint = max_fp;
    s->peak_rss = max_rss;
    if (peak) {
        s->peak_live_requested = peak->live_requested;
        s->peak_live_event = peak->event;
        s->slop_at_peak =
            peak->live_usable > peak->live_requested ? peak->live_usable - peak->live_requested : 0;
        s->footprint_ratio_at_peak =
            peak->live_requested ? (double)peak->sys_mapped / (double)peak->live_requested : 0;
        s->max_footprint_over_max_requested =
            peak->live_requested ? (double)max_fp / (double)peak->live_requested : 0;
    }
    if (worst) {
        s->worst_event = worst->event;
        s->worst_holes_1m = worst->holes_1m;
        s->worst_holes_8m = worst->holes_8m;
        s->worst_largest_hole = worst->largest_hole;
        s->worst_hole_bytes = worst->hole_bytes;
        s->worst_hole_resident = worst->hole_resident;
    }
    uint64_t ns = r->replay_ns > r->sample_ns ? r->replay_ns - r->sample_ns : 1;
    s->events_per_sec = (double)r->events * 1e9 / (double)ns;
    s->runs = 1;
    s->replay_seconds = s->replay_seconds_min = s->replay_seconds_max = (double)r->play_ns / 1e9;
    s->replay_cpu_seconds = (double)r->play_cpu_ns / 1e9;
    s->peak_footprint_min = s->peak_footprint_max = s->peak_footprint;
    s->peak_rss_min = s->peak_rss_max = s->peak_rss;
}

static void put_buf(void *ctx, const char *s, size_t n)
{
    mem_buf_printf(ctx, "%.*s", (int)n, s);
}

/* A JSON string into the worker's buffer (common/json.c's escaping; no stdio here). */
static void json_str(struct mem_buf *b, const char *v)
{
    json_escape(v, put_buf, b);
}

int output_json(const struct summary *s, struct mem_buf *b)
{
    mem_buf_printf(b, "{\"allocator\": ");
    json_str(b, s->allocator);
    mem_buf_printf(b, ", \"library\": ");
    json_str(b, s->library);
    mem_buf_printf(b, ", \"log\": ");
    json_str(b, s->log);
    mem_buf_printf(b, ", \"events\": %" PRIu64 ", \"threads_mode\": ", s->events);
    json_str(b, s->threads_mode);
    mem_buf_printf(b, ", \"touch\": ");
    json_str(b, s->touch);
    mem_buf_printf(b, ", \"env\": {");
    /* env is "K=V\n" lines */
    const char *p = s->env;
    int first = 1;
    while (*p) {
        const char *eol = strchr(p, '\n'), *eq = strchr(p, '=');
        if (!eol)
            eol = p + strlen(p);
        if (eq && eq < eol) {
            char k[256], v[1024];
            snprintf(k, sizeof k, "%.*s", (int)(eq - p), p);
            snprintf(v, sizeof v, "%.*s", (int)(eol - eq - 1), eq + 1);
            mem_buf_printf(b, "%s", first ? "" : ", ");
            json_str(b, k);
            mem_buf_printf(b, ": ");
            json_str(b, v);
            first = 0;
        }
        p = *eol ? eol + 1 : eol;
    }
    mem_buf_printf(b,
                   "}, \"peak_live_requested\": %" PRIu64 ", \"peak_live_event\": %" PRIu64
                   ", \"peak_footprint\": %" PRIu64 ", \"peak_rss\": %" PRIu64
                   ", \"footprint_ratio_at_peak\": %.4f, \"max_footprint_over_max_requested\": "
                   "%.4f, \"slop_at_peak\": %" PRIu64,
                   s->peak_live_requested, s->peak_live_event, s->peak_footprint, s->peak_rss,
                   s->footprint_ratio_at_peak, s->max_footprint_over_max_requested,
                   s->slop_at_peak);
    mem_buf_printf(b,
                   ", \"worst\": {\"event\": %" PRIu64 ", \"holes_1m\": %" PRIu64
                   ", \"holes_8m\": %" PRIu64 ", \"largest_hole\": %" PRIu64
                   ", \"hole_bytes\": %" PRIu64 ", \"hole_resident\": %" PRIu64 "}",
                   s->worst_event, s->worst_holes_1m, s->worst_holes_8m, s->worst_largest_hole,
                   s->worst_hole_bytes, s->worst_hole_resident);
    if (s->bench)
        mem_buf_printf(b,
                       ", \"replay_seconds\": %.6f, \"replay_seconds_min\": %.6f"
                       ", \"replay_seconds_max\": %.6f, \"replay_cpu_seconds\": %.6f",
                       s->replay_seconds, s->replay_seconds_min, s->replay_seconds_max,
                       s->replay_cpu_seconds);
    if (s->runs > 1)
        mem_buf_printf(b,
                       ", \"runs\": %d, \"spread\": {\"peak_footprint\": [%" PRIu64 ", %" PRIu64
                       "], \"peak_rss\": [%" PRIu64 ", %" PRIu64 "]}",
                       s->runs, s->peak_footprint_min, s->peak_footprint_max, s->peak_rss_min,
                       s->peak_rss_max);
    return mem_buf_printf(b,
                          ", \"events_per_sec\": %.1f, \"failed_calls\": %" PRIu64
                          ", \"anomalies\": {\"unknown_frees\": %" PRIu64
                          ", \"double_frees\": %" PRIu64 "}}\n",
                          s->events_per_sec, s->failed_calls, s->unknown_frees, s->double_frees);
}

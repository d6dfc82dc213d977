/* statsout.c - a finished struct stats as a readable report, one JSON object, or TSV tables.
 * Column and field names are a contract with plots/ and with `mallog diff/check`: add, never
 * rename. Everything is printed from the summary; nothing here reads the log. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../common/json.h"
#include "../common/msg.h"
#include "analyze.h"

static double pct(uint64_t part, uint64_t whole)
{
    return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

static const char *sz(uint64_t v, char *buf, size_t len)
{
    return mlg_format_size(v, buf, len);
}

static int cmp_size_count(const void *a, const void *b)
{
    const struct stats_size *x = a, *y = b;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    return x->size < y->size ? -1 : x->size > y->size;
}

/* The exact sizes, most requested first (sizes are stored + 1 in the table). Caller frees. */
static struct stats_size *top_sizes(const struct stats *s, uint64_t *n)
{
    struct stats_size *v = malloc((s->sizes_count + STATS_SMALL_SIZES + 1) * sizeof *v);
    *n = 0;
    if (!v)
        return NULL;
    for (uint64_t i = 0; i < STATS_SMALL_SIZES; i++)
        if (s->small_sizes[i])
            v[(*n)++] = (struct stats_size){i, s->small_sizes[i], i * s->small_sizes[i]};
    for (uint64_t i = 0; s->sizes && i <= s->sizes_mask; i++)
        if (s->sizes[i].size)
            v[(*n)++] = (struct stats_size){s->sizes[i].size - 1, s->sizes[i].count,
                                            s->sizes[i].bytes};
    qsort(v, *n, sizeof *v, cmp_size_count);
    if (*n > STATS_TOP_KEEP)
        *n = STATS_TOP_KEEP;
    return v;
}

static uint64_t total_requests(const struct stats *s, uint64_t *bytes)
{
    uint64_t c = 0, b = 0;
    for (int k = 0; k < STATS_CLASSES; k++) {
        c += s->class_count[k];
        b += s->class_bytes[k];
    }
    *bytes = b;
    return c;
}

static uint64_t total_freed(const struct stats *s)
{
    uint64_t c = 0;
    for (int k = 0; k < STATS_CLASSES; k++)
        c += s->life_count[k];
    return c;
}

static void damage_text(const struct stats *s, char *buf, size_t len)
{
    mlg_error_format(&s->err, buf, len);
}

/* ---- text ---------------------------------------------------------------------------------- */

static const char *ns_text(uint64_t ns, char *buf, size_t len)
{
    if (ns < 1000)
        snprintf(buf, len, "%" PRIu64 " ns", ns);
    else if (ns < 1000000)
        snprintf(buf, len, "%.1f us", (double)ns / 1e3);
    else if (ns < 1000000000)
        snprintf(buf, len, "%.1f ms", (double)ns / 1e6);
    else
        snprintf(buf, len, "%.2f s", (double)ns / 1e9);
    return buf;
}

static void print_ns(FILE *f, uint64_t ns)
{
    if (ns < 1000)
        fprintf(f, "%" PRIu64 " ns", ns);
    else if (ns < 1000000)
        fprintf(f, "%.1f us", (double)ns / 1e3);
    else if (ns < 1000000000)
        fprintf(f, "%.1f ms", (double)ns / 1e6);
    else
        fprintf(f, "%.2f s", (double)ns / 1e9);
}

/* Which log, how much of it (range, damage, fork inheritance) and the calls per op: what the
 * figures below are figures of, so a reader sees a partial or damaged log before its numbers. */
static void text_header(FILE *f, const struct stats *s)
{
    char a[32];
    const struct mlg_header *h = &s->header;
    fprintf(f, "log:        %s (pid %" PRIu64 "%s, %s)\n", s->path, h->pid,
            h->exec_gen ? ", after exec" : "", s->err.code ? "DAMAGED" :
            s->complete ? "complete" : s->done ? "range" : s->in_progress ? "being written"
                                                                           : "incomplete: no trailer");
    if (s->in_progress && !s->done)
        fprintf(f, "running:    pid %" PRIu64 " is still running: its recording is in progress; "
                   "these figures are up to event %" PRIu64 " (t = %.3f s)\n", h->pid, s->events,
                (double)s->last_time / 1e9);
    fprintf(f, "exe:        %s\n", h->exe);
    if ((s->o.from || s->o.to != UINT64_MAX) && !s->counting)
        fprintf(f, "range:      no event of the log is in [%" PRIu64 ", %" PRIu64 ")\n", s->o.from,
                s->o.to);
    else if (s->o.from || s->o.to != UINT64_MAX)
        fprintf(f, "range:      events %" PRIu64 "..%" PRIu64 " (%" PRIu64 " live blocks, %s "
                   "at its start)\n", s->first_index, s->last_index, s->start_live_blocks,
                sz(s->start_live_bytes, a, sizeof a));
    fprintf(f, "events:     %" PRIu64 " over ", s->events);
    print_ns(f, s->duration_ns);
    fprintf(f, "; %" PRIu64 " thread%s; %" PRIu64 " process%s\n", s->threads,
            s->threads == 1 ? "" : "s", s->processes, s->processes == 1 ? "" : "es");
    if (s->err.code) {
        char buf[512];
        damage_text(s, buf, sizeof buf);
        fprintf(f, "damage:     %s; this report covers the %" PRIu64 " events before it\n", buf,
                s->events);
    }
    if (s->inherited_blocks)
        fprintf(f, "inherited:  %" PRIu64 " blocks (%s) live in the fork parent; %" PRIu64
                   " still live at the end\n", s->inherited_blocks,
                sz(s->inherited_bytes, a, sizeof a), s->inherited_live_blocks);
    fprintf(f, "\n%-22s %12s %10s %16s\n", "op", "calls", "failed", "bytes requested");
    for (int op = 1; op < MLG_OP_COUNT; op++)
        if (s->calls[op])
            fprintf(f, "%-22s %12" PRIu64 " %10" PRIu64 " %16" PRIu64 "\n", mlg_op_name(op),
                    s->calls[op], s->failed_op[op], s->bytes_op[op]);
}

/* Peak, end and cumulative bytes. The requested/compensated ratio is compared here because a
 * large gap is the one sign of realloc growth by small steps the reader would otherwise miss. */
static void text_peak(FILE *f, const struct stats *s)
{
    char a[32], b[32];
    fprintf(f, "\npeak:       %s live requested (%" PRIu64 " bytes) at event %" PRIu64 ", t = ",
            sz(s->peak_live_requested, a, sizeof a), s->peak_live_requested, s->peak_event);
    print_ns(f, s->peak_time_ns);
    fprintf(f, "\n            %" PRIu64 " live blocks at most, at event %" PRIu64 "\n",
            s->peak_live_blocks, s->peak_blocks_event);
    fprintf(f, "at end:     %" PRIu64 " live blocks, %s\n", s->live_at_end_blocks,
            sz(s->live_at_end_bytes, a, sizeof a));
    double rq = s->peak_live_requested ? (double)s->cumulative_requested /
                                             (double)s->peak_live_requested : 0;
    double rc = s->peak_live_requested ? (double)s->cumulative_compensated /
                                             (double)s->peak_live_requested : 0;
    fprintf(f, "cumulative: %s requested (%.1fx the peak); %s compensated (realloc counts only "
               "its growth: %.1fx)\n", sz(s->cumulative_requested, a, sizeof a), rq,
            sz(s->cumulative_compensated, b, sizeof b), rc);
    if (s->cumulative_compensated && rq > 4 * rc && rq >= 8)
        fprintf(f, "            requested >> compensated: blocks grow by many small reallocs "
                   "(the \"string += piece\" pattern); see the chains below\n");
}

/* Size classes, then the top exact sizes (percentages of every request, so both tables add up
 * the same way). A failed allocation of the top list only drops that list. */
static void text_sizes(FILE *f, const struct stats *s, int top)
{
    uint64_t tb, tc = total_requests(s, &tb), cum = 0, cumb = 0;
    fprintf(f, "\nsizes (every request)   %12s %7s %14s %7s %7s %12s\n", "count", "%", "bytes",
            "%", "cum%", "max");
    for (int k = 0; k < STATS_CLASSES; k++) {
        if (!s->class_count[k])
            continue;
        cum += s->class_count[k];
        cumb += s->class_bytes[k];
        char range[48];
        snprintf(range, sizeof range, "%" PRIu64 "..%" PRIu64, stats_class_min(k),
                 stats_class_max(k));
        fprintf(f, "  %-21s %12" PRIu64 " %7.2f %14" PRIu64 " %7.2f %7.2f %12" PRIu64 "\n", range,
                s->class_count[k], pct(s->class_count[k], tc), s->class_bytes[k],
                pct(s->class_bytes[k], tb), pct(cum, tc), s->class_max[k]);
    }
    uint64_t nt;
    struct stats_size *ts = top_sizes(s, &nt);
    if (ts && nt) {
        fprintf(f, "top sizes%s:\n", s->sizes_pruned_max ? " (approximate: rare sizes were "
                                                           "dropped to bound memory)" : "");
        for (uint64_t i = 0; i < nt && i < (uint64_t)top; i++)
            fprintf(f, "  %-21" PRIu64 " %12" PRIu64 " %7.2f %14" PRIu64 " %7.2f\n", ts[i].size,
                    ts[i].count, pct(ts[i].count, tc), ts[i].bytes, pct(ts[i].bytes, tb));
    }
    free(ts);
}

/* Lifetimes of freed blocks in events and in time, then the temporary and long-lived tallies:
 * events are exact and comparable across runs, time is what the program felt. */
static void text_lifetimes(FILE *f, const struct stats *s)
{
    char a[32], b[32];
    uint64_t freed = total_freed(s);
    fprintf(f, "\nlifetimes (freed blocks, in events)   %12s %7s %14s\n", "count", "%", "bytes");
    for (int k = 0; k < STATS_CLASSES; k++) {
        if (!s->life_count[k])
            continue;
        char range[48];
        snprintf(range, sizeof range, "%" PRIu64 "..%" PRIu64, stats_class_min(k),
                 stats_class_max(k));
        fprintf(f, "  %-35s %12" PRIu64 " %7.2f %14" PRIu64 "\n", range, s->life_count[k],
                pct(s->life_count[k], freed), s->life_bytes[k]);
    }
    fprintf(f, "lifetimes (freed blocks, in time)\n");
    for (int k = 0; k < STATS_CLASSES; k++) {
        if (!s->life_ns_count[k])
            continue;
        char range[64];
        if (k == 0)
            snprintf(range, sizeof range, "0 (same clock tick)");
        else
            snprintf(range, sizeof range, "%s .. < %s", ns_text(stats_class_min(k), a, sizeof a),
                     ns_text(stats_class_max(k) + (k < 64), b, sizeof b));
        fprintf(f, "  %-35s %12" PRIu64 " %7.2f %14" PRIu64 "\n", range, s->life_ns_count[k],
                pct(s->life_ns_count[k], freed), s->life_ns_bytes[k]);
    }
    fprintf(f, "temporary:  %" PRIu64 " blocks (%.1f%% of frees), %s, freed within %" PRIu64
               " events\n", s->temporary_blocks, pct(s->temporary_blocks, freed),
            sz(s->temporary_bytes, a, sizeof a), s->o.temporary_events);
    fprintf(f, "long-lived: %" PRIu64 " blocks, %s, lived >= %" PRIu64 " events (or still live "
               "that long at the end)\n", s->long_lived_blocks,
            sz(s->long_lived_bytes, a, sizeof a), s->o.long_events);
}

/* realloc outcomes and the longest chains: where copying cost comes from. */
static void text_reallocs(FILE *f, const struct stats *s, int top)
{
    char a[32];
    fprintf(f, "\nrealloc:    %" PRIu64 " calls: %" PRIu64 " in place, %" PRIu64 " moved, %" PRIu64
               " failed, %" PRIu64 " freed (size 0); %" PRIu64 " grew, %" PRIu64 " shrank\n",
            s->realloc_calls, s->realloc_in_place, s->realloc_moved, s->realloc_failed,
            s->realloc_freed, s->realloc_grow, s->realloc_shrink);
    fprintf(f, "            moves copied at most %s; %" PRIu64 " chains (blocks reallocated at "
               "least once)\n", sz(s->bytes_copied_upper, a, sizeof a), s->chains);
    if (s->ntop_chains) {
        fprintf(f, "  %12s %8s %14s %14s %8s %12s %12s\n", "start event", "length", "start size",
                "end size", "moved", "avg step", "copied<=");
        for (uint64_t i = 0; i < s->ntop_chains && i < (uint64_t)top; i++) {
            const struct stats_chain *ch = &s->top_chains[i];
            double step = ((double)ch->end_size - (double)ch->start_size) / ch->length;
            fprintf(f, "  %12" PRIu64 " %8u %14" PRIu64 " %14" PRIu64 " %8u %12.1f %12" PRIu64
                       "%s\n", ch->start_event, ch->length, ch->start_size, ch->end_size,
                    ch->moved, step, ch->copied, ch->live ? "  (live)" : "");
        }
    }
}

/* Leak groups by size, with the first events and (a log with stacks) the call sites, so a
 * leak can be found again with `mallog dump --range` or in the source. */
static void text_leaks(FILE *f, const struct stats *s, int top)
{
    char a[32];
    fprintf(f, "\nleaks:      %" PRIu64 " blocks, %s still live at the end, in %" PRIu64
               " sizes\n", s->leaked_blocks, sz(s->leaked_bytes, a, sizeof a), s->nleaks);
    if (s->nleaks) {
        fprintf(f, "  %14s %10s %14s  %s\n", "size", "count", "bytes", "allocated at events");
        for (uint64_t i = 0; i < s->nleaks && i < (uint64_t)top; i++) {
            const struct stats_leak *l = &s->leaks[i];
            fprintf(f, "  %14" PRIu64 " %10" PRIu64 " %14" PRIu64 "  ", l->size, l->count,
                    l->bytes);
            for (uint64_t k = 0; k < l->count && k < 4; k++)
                fprintf(f, "%s%" PRIu64, k ? ", " : "", l->events[k]);
            fprintf(f, "%s", l->count > 4 ? ", ..." : "");
            if (i < s->nleak_sites && s->leak_sites[i])
                fprintf(f, "  at %s", s->leak_sites[i]);
            fputc('\n', f);
        }
    }
}

/* A row per thread seen (or holding live blocks) and, for a recording of several processes, a
 * row per process: the report above is of one log only, and this says so. */
static void text_threads(FILE *f, const struct stats *s)
{
    char c[32];
    fprintf(f, "\nthreads:    %" PRIu64 " seen; %" PRIu64 " cross-thread frees\n", s->threads,
            s->cross_thread_frees);
    fprintf(f, "  %6s %8s %12s %12s %12s %10s %14s %10s %10s %12s\n", "thread", "tid", "events",
            "allocs", "frees", "reallocs", "bytes", "x-frees", "live", "live bytes");
    for (uint64_t i = 0; i < s->nthr; i++) {
        const struct stats_thread *t = &s->thr[i];
        if (!t->seen && !t->live_blocks)
            continue;
        fprintf(f, "  %6" PRIu64 " %8" PRId64 " %12" PRIu64 " %12" PRIu64 " %12" PRIu64
                   " %10" PRIu64 " %14" PRIu64 " %10" PRIu64 " %10" PRIu64 " %12s\n", i,
                t->os_tid, t->events, t->allocations, t->frees, t->reallocs, t->bytes,
                t->cross_frees, t->live_blocks, sz(t->live_bytes, c, sizeof c));
    }
    if (s->nprocs > 1) {
        fprintf(f, "\nprocesses:  %" PRIu64 " logs in this recording (the report above is %s)\n",
                s->nprocs, s->path);
        fprintf(f, "  %8s %8s %4s %12s %12s %12s %12s %10s %12s %10s\n", "pid", "parent", "gen",
                "events", "allocs", "frees", "peak bytes", "leaked", "leak bytes", "inherited");
        for (uint64_t i = 0; i < s->nprocs; i++) {
            const struct stats_proc *p = &s->procs[i];
            fprintf(f, "  %8" PRIu64 " %8" PRIu64 " %4u %12" PRIu64 " %12" PRIu64 " %12" PRIu64
                       " %12" PRIu64 " %10" PRIu64 " %12" PRIu64 " %10" PRIu64 "%s\n", p->pid,
                    p->parent_pid, p->exec_gen, p->events, p->allocations, p->frees,
                    p->peak_live_requested, p->leaked_blocks, p->leaked_bytes, p->inherited_blocks,
                    p->damaged ? "  (damaged)" : "");
        }
    }
}

void statsout_text(FILE *f, const struct stats *s, int top)
{
    text_header(f, s);
    text_peak(f, s);
    text_sizes(f, s, top);
    text_lifetimes(f, s);
    text_reallocs(f, s, top);
    text_leaks(f, s, top);
    text_threads(f, s);
    if (s->unknown_frees || s->inversions || s->lost_events)
        fprintf(f, "\nanomalies:  %" PRIu64 " unknown frees, %" PRIu64 " ordering inversions, %"
                   PRIu64 " events lost by the recorder\n", s->unknown_frees, s->inversions,
                s->lost_events);
}

/* ---- JSON ----------------------------------------------------------------------------------- */

void statsout_json(FILE *f, const struct stats *s)
{
    fprintf(f, "{\"log\": ");
    json_write_string(f, s->path);
    fprintf(f, ", \"pid\": %" PRIu64 ", \"exec_gen\": %u, \"exe\": ", s->header.pid,
            s->header.exec_gen);
    json_write_string(f, s->header.exe);
    fprintf(f, ",\n \"complete\": %s, \"in_progress\": %s, \"range\": [%" PRIu64 ", ",
            s->complete ? "true" : "false", s->in_progress ? "true" : "false", s->o.from);
    if (s->o.to == UINT64_MAX)
        fprintf(f, "null]");
    else
        fprintf(f, "%" PRIu64 "]", s->o.to);
    fprintf(f, ", \"damage\": ");
    if (s->err.code) {
        char buf[512];
        damage_text(s, buf, sizeof buf);
        json_write_string(f, buf);
        fprintf(f, ", \"damage_offset\": %" PRIu64 ", \"damage_event\": %" PRIu64, s->err.offset,
                s->err.event);
    } else {
        fprintf(f, "null");
    }
#define STATS_X_JSON(name, what) fprintf(f, ",\n \"" #name "\": %" PRIu64, s->name);
    STATS_METRICS(STATS_X_JSON)
#undef STATS_X_JSON
    fprintf(f, ",\n \"start_live_bytes\": %" PRIu64 ", \"start_live_blocks\": %" PRIu64,
            s->start_live_bytes, s->start_live_blocks);
    fprintf(f, ",\n \"inherited_blocks\": %" PRIu64 ", \"inherited_bytes\": %" PRIu64,
            s->inherited_blocks, s->inherited_bytes);
    fprintf(f, ",\n \"temporary_within_events\": %" PRIu64 ", \"long_lived_events\": %" PRIu64,
            s->o.temporary_events, s->o.long_events);
    fprintf(f, ",\n \"ops\": {");
    int first = 1;
    for (int op = 1; op < MLG_OP_COUNT; op++) {
        if (!s->calls[op])
            continue;
        fprintf(f, "%s\"%s\": {\"calls\": %" PRIu64 ", \"failed\": %" PRIu64 ", \"bytes\": %" PRIu64
                   "}", first ? "" : ", ", mlg_op_name(op), s->calls[op], s->failed_op[op],
                s->bytes_op[op]);
        first = 0;
    }
    fprintf(f, "},\n \"realloc\": {\"calls\": %" PRIu64 ", \"in_place\": %" PRIu64
               ", \"moved\": %" PRIu64 ", \"failed\": %" PRIu64 ", \"freed\": %" PRIu64
               ", \"grew\": %" PRIu64 ", \"shrank\": %" PRIu64 ", \"bytes_copied_upper\": %" PRIu64
               ", \"chains\": %" PRIu64 ", \"longest_chain\": %u",
            s->realloc_calls, s->realloc_in_place, s->realloc_moved, s->realloc_failed,
            s->realloc_freed, s->realloc_grow, s->realloc_shrink, s->bytes_copied_upper,
            s->chains, s->longest.length);
    fprintf(f, ", \"longest_chain_start_event\": %" PRIu64 ", \"longest_chain_start_size\": %"
               PRIu64 ", \"longest_chain_end_size\": %" PRIu64 "}",
            s->longest.start_event, s->longest.start_size, s->longest.end_size);

    uint64_t tb, tc = total_requests(s, &tb), cum = 0, cumb = 0;
    fprintf(f, ",\n \"sizes\": [");
    first = 1;
    for (int k = 0; k < STATS_CLASSES; k++) {
        if (!s->class_count[k])
            continue;
        cum += s->class_count[k];
        cumb += s->class_bytes[k];
        fprintf(f, "%s\n  {\"class_min\": %" PRIu64 ", \"class_max\": %" PRIu64 ", \"count\": %"
                   PRIu64 ", \"bytes\": %" PRIu64 ", \"max\": %" PRIu64 ", \"count_pct\": %.4f"
                   ", \"bytes_pct\": %.4f, \"cum_pct\": %.4f}", first ? "" : ",",
                stats_class_min(k), stats_class_max(k), s->class_count[k], s->class_bytes[k],
                s->class_max[k], pct(s->class_count[k], tc), pct(s->class_bytes[k], tb),
                pct(cum, tc));
        first = 0;
    }
    uint64_t nt;
    struct stats_size *ts = top_sizes(s, &nt);
    fprintf(f, "],\n \"exact_sizes_approximate\": %s, \"top_sizes\": [",
            s->sizes_pruned_max ? "true" : "false");
    for (uint64_t i = 0; ts && i < nt && i < 100; i++)
        fprintf(f, "%s{\"size\": %" PRIu64 ", \"count\": %" PRIu64 ", \"bytes\": %" PRIu64 "}",
                i ? ", " : "", ts[i].size, ts[i].count, ts[i].bytes);
    free(ts);
    fprintf(f, "],\n \"lifetimes\": [");
    first = 1;
    for (int k = 0; k < STATS_CLASSES; k++) {
        if (!s->life_count[k])
            continue;
        fprintf(f, "%s{\"min_events\": %" PRIu64 ", \"max_events\": %" PRIu64 ", \"count\": %"
                   PRIu64 ", \"bytes\": %" PRIu64 "}", first ? "" : ", ", stats_class_min(k),
                stats_class_max(k), s->life_count[k], s->life_bytes[k]);
        first = 0;
    }
    fprintf(f, "],\n \"lifetimes_ns\": [");
    first = 1;
    for (int k = 0; k < STATS_CLASSES; k++) {
        if (!s->life_ns_count[k])
            continue;
        fprintf(f, "%s{\"min_ns\": %" PRIu64 ", \"max_ns\": %" PRIu64 ", \"count\": %" PRIu64
                   ", \"bytes\": %" PRIu64 "}", first ? "" : ", ", stats_class_min(k),
                stats_class_max(k), s->life_ns_count[k], s->life_ns_bytes[k]);
        first = 0;
    }
    fprintf(f, "],\n \"chains\": [");
    for (uint64_t i = 0; i < s->ntop_chains && i < 100; i++) {
        const struct stats_chain *ch = &s->top_chains[i];
        fprintf(f, "%s\n  {\"start_event\": %" PRIu64 ", \"length\": %u, \"start_size\": %" PRIu64
                   ", \"end_size\": %" PRIu64 ", \"moved\": %u, \"copied_upper\": %" PRIu64
                   ", \"live\": %s}", i ? "," : "", ch->start_event, ch->length, ch->start_size,
                ch->end_size, ch->moved, ch->copied, ch->live ? "true" : "false");
    }
    fprintf(f, "],\n \"leaks\": [");
    for (uint64_t i = 0; i < s->nleaks && i < 100; i++) {
        const struct stats_leak *l = &s->leaks[i];
        fprintf(f, "%s\n  {\"size\": %" PRIu64 ", \"count\": %" PRIu64 ", \"bytes\": %" PRIu64
                   ", \"first_event\": %" PRIu64 ", \"events\": [", i ? "," : "", l->size, l->count,
                l->bytes, l->first_event);
        for (uint64_t k = 0; k < l->count && k < 4; k++)
            fprintf(f, "%s%" PRIu64, k ? ", " : "", l->events[k]);
        fprintf(f, "]}");
    }
    fprintf(f, "],\n \"per_thread\": [");
    first = 1;
    for (uint64_t i = 0; i < s->nthr; i++) {
        const struct stats_thread *t = &s->thr[i];
        if (!t->seen && !t->live_blocks)
            continue;
        fprintf(f, "%s\n  {\"thread\": %" PRIu64 ", \"tid\": %" PRId64 ", \"events\": %" PRIu64
                   ", \"allocations\": %" PRIu64 ", \"frees\": %" PRIu64 ", \"reallocs\": %" PRIu64
                   ", \"failed\": %" PRIu64 ", \"bytes\": %" PRIu64 ", \"cross_frees\": %" PRIu64
                   ", \"freed_by_others\": %" PRIu64 ", \"live_blocks\": %" PRIu64
                   ", \"live_bytes\": %" PRIu64 "}", first ? "" : ",", i, t->os_tid, t->events,
                t->allocations, t->frees, t->reallocs, t->failed, t->bytes, t->cross_frees,
                t->freed_by_others, t->live_blocks, t->live_bytes);
        first = 0;
    }
    fprintf(f, "],\n \"per_process\": [");
    for (uint64_t i = 0; i < s->nprocs; i++) {
        const struct stats_proc *p = &s->procs[i];
        fprintf(f, "%s\n  {\"log\": ", i ? "," : "");
        json_write_string(f, p->path);
        fprintf(f, ", \"pid\": %" PRIu64 ", \"parent_pid\": %" PRIu64 ", \"exec_gen\": %u"
                   ", \"damaged\": %s, \"events\": %" PRIu64 ", \"threads\": %" PRIu64
                   ", \"allocations\": %" PRIu64 ", \"frees\": %" PRIu64
                   ", \"peak_live_requested\": %" PRIu64 ", \"peak_live_blocks\": %" PRIu64
                   ", \"leaked_blocks\": %" PRIu64 ", \"leaked_bytes\": %" PRIu64
                   ", \"cumulative_requested\": %" PRIu64 ", \"inherited_blocks\": %" PRIu64
                   ", \"unknown_frees\": %" PRIu64 "}", p->pid, p->parent_pid, p->exec_gen,
                p->damaged ? "true" : "false", p->events, p->threads, p->allocations, p->frees,
                p->peak_live_requested, p->peak_live_blocks, p->leaked_blocks, p->leaked_bytes,
                p->cumulative_requested, p->inherited_blocks, p->unknown_frees);
    }
    fprintf(f, "]}\n");
}

/* ---- TSV ------------------------------------------------------------------------------------ */

static FILE *tsv_open(const char *dir, const char *name, const char **what)
{
    static char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f)
        *what = path;
    return f;
}

static int tsv_close(FILE *f, const char *name, const char **what)
{
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) {
        *what = name;
        return -1;
    }
    return 0;
}

int statsout_tsv(const char *dir, const struct stats *s, const char **what)
{
    FILE *f;
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
        *what = dir;
        return -1;
    }
    if (!s->o.every) { /* a fixed interval was written while reading */
        if (!(f = tsv_open(dir, "timeline.tsv", what)))
            return -1;
        fprintf(f, "event\ttime_ns\tlive_requested\tlive_blocks\tcumulative_requested\t"
                   "cumulative_compensated\tinterval_peak_live_requested\n");
        for (uint64_t i = 0; i < s->nrows; i++) {
            const struct stats_row *r = &s->rows[i];
            fprintf(f, "%" PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64
                       "\t%" PRIu64 "\n", r->event, r->time_ns, r->live_requested, r->live_blocks,
                    r->cum_requested, r->cum_compensated, r->interval_peak);
        }
        if (tsv_close(f, "timeline.tsv", what))
            return -1;
    }

    if (!(f = tsv_open(dir, "sizes.tsv", what)))
        return -1;
    uint64_t tb, tc = total_requests(s, &tb), cum = 0, cumb = 0;
    fprintf(f, "class_min\tclass_max\tcount\tcount_pct\tbytes\tbytes_pct\tcum_pct\tmax\t"
               "cum_bytes_pct\n");
    for (int k = 0; k < STATS_CLASSES; k++) {
        if (!s->class_count[k])
            continue;
        cum += s->class_count[k];
        cumb += s->class_bytes[k];
        fprintf(f, "%" PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\t%.4f\t%" PRIu64 "\t%.4f\t%.4f\t%" PRIu64
                   "\t%.4f\n", stats_class_min(k), stats_class_max(k), s->class_count[k],
                pct(s->class_count[k], tc), s->class_bytes[k], pct(s->class_bytes[k], tb),
                pct(cum, tc), s->class_max[k], pct(cumb, tb));
    }
    if (tsv_close(f, "sizes.tsv", what))
        return -1;

    if (!(f = tsv_open(dir, "exact_sizes.tsv", what)))
        return -1;
    uint64_t nt;
    struct stats_size *ts = top_sizes(s, &nt);
    fprintf(f, "size\tcount\tcount_pct\tbytes\tbytes_pct\n");
    for (uint64_t i = 0; ts && i < nt; i++)
        fprintf(f, "%" PRIu64 "\t%" PRIu64 "\t%.4f\t%" PRIu64 "\t%.4f\n", ts[i].size, ts[i].count,
                pct(ts[i].count, tc), ts[i].bytes, pct(ts[i].bytes, tb));
    free(ts);
    if (tsv_close(f, "exact_sizes.tsv", what))
        return -1;

    if (!(f = tsv_open(dir, "lifetimes.tsv", what)))
        return -1;
    fprintf(f, "lifetime_min_events\tlifetime_max_events\tcount\tbytes\n");
    for (int k = 0; k < STATS_CLASSES; k++)
        if (s->life_count[k])
            fprintf(f, "%" PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\n", stats_class_min(k),
                    stats_class_max(k), s->life_count[k], s->life_bytes[k]);
    if (tsv_close(f, "lifetimes.tsv", what))
        return -1;

    if (!(f = tsv_open(dir, "lifetimes_ns.tsv", what)))
        return -1;
    fprintf(f, "lifetime_min_ns\tlifetime_max_ns\tcount\tbytes\n");
    for (int k = 0; k < STATS_CLASSES; k++)
        if (s->life_ns_count[k])
            fprintf(f, "%" PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\n", stats_class_min(k),
                    stats_class_max(k), s->life_ns_count[k], s->life_ns_bytes[k]);
    if (tsv_close(f, "lifetimes_ns.tsv", what))
        return -1;

    if (!(f = tsv_open(dir, "reallocs.tsv", what)))
        return -1;
    fprintf(f, "start_event\tlength\tstart_size\tend_size\tmoved\tend_event\tcopied_upper\t"
               "avg_step\tthread\tlive\n");
    for (uint64_t i = 0; i < s->ntop_chains; i++) {
        const struct stats_chain *ch = &s->top_chains[i];
        fprintf(f, "%" PRIu64 "\t%u\t%" PRIu64 "\t%" PRIu64 "\t%u\t%" PRIu64 "\t%" PRIu64
                   "\t%.1f\t%u\t%u\n", ch->start_event, ch->length, ch->start_size, ch->end_size,
                ch->moved, ch->end_event, ch->copied,
                ((double)ch->end_size - (double)ch->start_size) / ch->length, ch->thread,
                ch->live);
    }
    if (tsv_close(f, "reallocs.tsv", what))
        return -1;

    if (!(f = tsv_open(dir, "leaks.tsv", what)))
        return -1;
    fprintf(f, "size\tcount\tbytes\tfirst_event\tevents\n");
    for (uint64_t i = 0; i < s->nleaks; i++) {
        const struct stats_leak *l = &s->leaks[i];
        fprintf(f, "%" PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\t", l->size, l->count,
                l->bytes, l->first_event);
        for (uint64_t k = 0; k < l->count && k < 4; k++)
            fprintf(f, "%s%" PRIu64, k ? "," : "", l->events[k]);
        fputc('\n', f);
    }
    if (tsv_close(f, "leaks.tsv", what))
        return -1;

    if (!(f = tsv_open(dir, "threads.tsv", what)))
        return -1;
    fprintf(f, "thread\ttid\tevents\tallocations\tfrees\treallocs\tfailed\tbytes_requested\t"
               "cross_frees\tfreed_by_others\tlive_blocks\tlive_bytes\tfirst_event\tlast_event\n");
    for (uint64_t i = 0; i < s->nthr; i++) {
        const struct stats_thread *t = &s->thr[i];
        if (!t->seen && !t->live_blocks)
            continue;
        fprintf(f, "%" PRIu64 "\t%" PRId64 "\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64
                   "\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64
                   "\t%" PRIu64 "\t%" PRIu64 "\n", i, t->os_tid, t->events, t->allocations,
                t->frees, t->reallocs, t->failed, t->bytes, t->cross_frees, t->freed_by_others,
                t->live_blocks, t->live_bytes, t->first_event, t->last_event);
    }
    return tsv_close(f, "threads.tsv", what);
}

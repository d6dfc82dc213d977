/* callsites.c - `mallog stats LOG --by site|stack` and `--folded=allocs|bytes|leaks`: what each
 * call site allocates, how much of the peak it holds, what it leaks and how much of it is
 * temporary; folded stacks for flame graphs.
 *
 * Two streaming passes: the first finds the event at which live requested bytes peak, the second
 * attributes every block to the stack of the call that allocated it (a realloc re-attributes the
 * block to the realloc's stack, as heaptrack does) and takes the per-stack live bytes at that
 * event. Stacks are grouped into sites by their first frame outside the C runtime and the
 * allocation wrappers, symbolized offline (lib/sites.c has the naming rules). Memory: one record
 * per live block plus one row per stack. The trees of --by caller|callee are calltree.c.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/json.h"
#include "../common/msg.h"
#include "analyze.h"
#include "callsites.h"

struct block {
    uint64_t size, born;
    uint32_t stack;
    uint32_t next_free;
};

struct row {
    uint64_t allocs, bytes, live_bytes, live_blocks, peak_bytes, peak_blocks;
    uint64_t temp_blocks, temp_bytes;
    uint32_t stacks; /* stacks folded into this row (sites) */
    uint32_t first_stack;
    char *name;
    char *full;    /* the name with C++ names unabbreviated */
    char *skipped; /* the wrappers skipped to reach the site, a LIST_SEP list */
    int guess;     /* named after the nearest export of a stripped module */
};

struct pass {
    struct mlg_addrmap *live; /* ptr -> index in blocks */
    struct block *blocks;
    uint32_t nblocks, cap, free_head;
    struct row *rows; /* by stack id; [0] = allocations without a stack */
    uint32_t nrows;
    uint64_t temporary_events;
    uint64_t live_bytes, peak, peak_event;
    int snapshot_done;
    uint64_t snapshot_at; /* the peak event index, from the first pass */
};

/* call = 0: a block live at a segment's checkpoint: live at its site, not an allocation of it */
static int born(struct pass *p, const struct mlg_event *ev, int call)
{
    uint32_t i;
    if (p->free_head != UINT32_MAX) {
        i = p->free_head;
        p->free_head = p->blocks[i].next_free;
    } else {
        if (p->nblocks == p->cap) {
            uint32_t cap = p->cap ? p->cap * 2 : 4096;
            struct block *b = realloc(p->blocks, (size_t)cap * sizeof *b);
            if (!b)
                return -1;
            p->blocks = b;
            p->cap = cap;
        }
        i = p->nblocks++;
    }
    uint32_t stack = ev->stack < p->nrows ? ev->stack : 0;
    p->blocks[i] = (struct block){ev->size, ev->index, stack, UINT32_MAX};
    uint64_t old;
    if (mlg_addrmap_get(p->live, ev->ptr, &old)) { /* an anomaly; forget the older block */
        p->live_bytes -= p->blocks[old].size;
        p->rows[p->blocks[old].stack].live_bytes -= p->blocks[old].size;
        p->rows[p->blocks[old].stack].live_blocks--;
    }
    if (mlg_addrmap_put(p->live, ev->ptr, i) < 0)
        return -1;
    struct row *r = &p->rows[stack];
    r->allocs += (uint64_t)call;
    r->bytes += call ? ev->size : 0;
    r->live_bytes += ev->size;
    r->live_blocks++;
    p->live_bytes += ev->size;
    if (p->live_bytes > p->peak) {
        p->peak = p->live_bytes;
        p->peak_event = ev->index;
    }
    return 0;
}

static void died(struct pass *p, uint64_t ptr, uint64_t index)
{
    uint64_t i;
    if (!ptr || !mlg_addrmap_del(p->live, ptr, &i))
        return; /* inherited from a fork parent, or an anomaly */
    struct block *b = &p->blocks[i];
    struct row *r = &p->rows[b->stack];
    r->live_bytes -= b->size;
    r->live_blocks--;
    p->live_bytes -= b->size;
    if (index - b->born <= p->temporary_events) {
        r->temp_blocks++;
        r->temp_bytes += b->size;
    }
    b->next_free = p->free_head;
    p->free_head = (uint32_t)i;
}

/* The heap rule (mlg_heap_effects): a realloc's new block is a new allocation of its call site,
 * the old one dies. */
static int apply(struct pass *p, const struct mlg_event *ev)
{
    struct mlg_heap_effect e = mlg_heap_effects(ev);
    if (e.flags & MLG_HEAP_RELEASE)
        died(p, e.release, ev->index);
    return e.flags & MLG_HEAP_ACQUIRE ? born(p, ev, !(e.flags & MLG_HEAP_CHECKPOINT)) : 0;
}

static void snapshot(struct pass *p)
{
    for (uint32_t i = 0; i < p->nrows; i++) {
        p->rows[i].peak_bytes = p->rows[i].live_bytes;
        p->rows[i].peak_blocks = p->rows[i].live_blocks;
    }
    p->snapshot_done = 1;
}

static int pass_event(void *ctx, const struct mlg_event *ev)
{
    struct pass *p = ctx;
    if (apply(p, ev) != 0)
        return 1; /* out of memory: stops the read */
    if (!p->snapshot_done && ev->index == p->snapshot_at)
        snapshot(p);
    return 0;
}

static int run_pass(struct pass *p, const char *path, struct mlg_error *err)
{
    struct mlg_visitor v = {p, NULL, pass_event, NULL};
    int rc = mlg_read_file(path, &v, NULL, err);
    if (rc == MLG_E_STOPPED)
        rc = err->code = MLG_E_NOMEM;
    return rc;
}

static void pass_reset(struct pass *p)
{
    mlg_addrmap_free(p->live);
    p->live = NULL;
    p->nblocks = 0;
    p->free_head = UINT32_MAX;
    memset(p->rows, 0, (size_t)p->nrows * sizeof *p->rows);
    p->live_bytes = 0;
    p->peak = 0;
    p->snapshot_done = 0;
}

/* ---- output ----------------------------------------------------------------------------- */

static int cmp_rows(const void *a, const void *b)
{
    const struct row *x = a, *y = b;
    if (x->bytes != y->bytes)
        return x->bytes < y->bytes ? 1 : -1;
    return x->allocs < y->allocs ? 1 : x->allocs > y->allocs ? -1 : strcmp(x->name, y->name);
}

static void add_row(struct row *into, const struct row *r)
{
    into->allocs += r->allocs;
    into->bytes += r->bytes;
    into->live_bytes += r->live_bytes;
    into->live_blocks += r->live_blocks;
    into->peak_bytes += r->peak_bytes;
    into->peak_blocks += r->peak_blocks;
    into->temp_blocks += r->temp_blocks;
    into->temp_bytes += r->temp_bytes;
    into->stacks++;
}

/* Lists of names ("skipped" wrappers, modules) are kept as one string, the names separated by
 * LIST_SEP: a C++ name with --full-names may hold commas. */
#define LIST_SEP "\x1f"

/* Adds the names of the list add missing from *into. 0, or -1 (no memory). */
static int list_merge(char **into, const char *add)
{
    if (!add || !*add)
        return 0;
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", add);
    char *save = NULL;
    for (char *t = strtok_r(buf, LIST_SEP, &save); t; t = strtok_r(NULL, LIST_SEP, &save)) {
        size_t tl = strlen(t);
        int have = 0;
        for (const char *p = *into; p && *p && !have;) {
            size_t l = strcspn(p, LIST_SEP);
            have = l == tl && strncmp(p, t, l) == 0;
            p += l;
            p += strspn(p, LIST_SEP);
        }
        if (have)
            continue;
        size_t old = *into ? strlen(*into) : 0;
        if (old > 400)
            return 0; /* long enough to say it */
        char *n = realloc(*into, old + tl + 3);
        if (!n)
            return -1;
        snprintf(n + old, tl + 3, "%s%s", old ? LIST_SEP : "", t);
        *into = n;
    }
    return 0;
}

static int cmp_names(const void *a, const void *b)
{
    const struct row *const *x = a, *const *y = b;
    return strcmp((*x)->name, (*y)->name);
}

/* Sites: rows of stacks with the same site frame name, merged. Returns the merged rows. */
static struct row *group_sites(struct row *rows, uint32_t n, uint32_t *out_n)
{
    struct row **order = malloc((size_t)n * sizeof *order);
    struct row *sites = calloc(n ? n : 1, sizeof *sites);
    uint32_t m = 0;
    if (!order || !sites) {
        free(order);
        free(sites);
        return NULL;
    }
    for (uint32_t i = 0; i < n; i++)
        order[i] = &rows[i];
    qsort(order, n, sizeof *order, cmp_names);
    for (uint32_t i = 0; i < n; i++) {
        if (!order[i]->allocs)
            continue;
        if (m == 0 || strcmp(sites[m - 1].name, order[i]->name) != 0) {
            sites[m].name = order[i]->name;
            sites[m].full = order[i]->full;
            sites[m].guess = order[i]->guess;
            sites[m].first_stack = order[i]->first_stack;
            sites[m].skipped = NULL;
            m++;
        }
        add_row(&sites[m - 1], order[i]);
        if (list_merge(&sites[m - 1].skipped, order[i]->skipped) != 0) {
            for (uint32_t k = 0; k < m; k++)
                free(sites[k].skipped);
            free(order);
            free(sites);
            return NULL;
        }
    }
    free(order);
    *out_n = m;
    return sites;
}

static void print_frames(FILE *f, const struct mlg_sites *sites, uint32_t id, const char *indent)
{
    char buf[1024];
    uint32_t depth = mlg_sites_vdepth(sites, id), site = mlg_sites_site_index(sites, id);
    for (uint32_t i = 0; i < depth; i++) {
        struct mlg_frame_info fi;
        mlg_sites_vframe(sites, id, i, &fi);
        fprintf(f, "%s%s%s\n", indent, mlg_sites_vframe_name(sites, id, i, buf, sizeof buf),
                i == site ? "  <- site" : fi.kind == MLG_FRAME_WRAPPER && i < site ? "  [wrapper]" : "");
    }
}

/* A LIST_SEP list as "a, b". */
static void fput_list(FILE *f, const char *list)
{
    for (const char *p = list; *p;) {
        size_t l = strcspn(p, LIST_SEP);
        fprintf(f, "%s%.*s", p == list ? "" : ", ", (int)l, p);
        p += l;
        p += strspn(p, LIST_SEP);
    }
}

/* The lines under a table: which wrappers were skipped, and which names are guesses. */
static void print_notes(FILE *f, const struct mlg_sites *sites, const struct row *rows, uint32_t n,
                        uint32_t top)
{
    char *skipped = NULL, *mods = NULL;
    for (uint32_t i = 0; i < n && i < top; i++) {
        list_merge(&skipped, rows[i].skipped);
        if (rows[i].guess && rows[i].first_stack) {
            struct mlg_frame_info fi;
            mlg_sites_vframe(sites, rows[i].first_stack,
                             mlg_sites_site_index(sites, rows[i].first_stack), &fi);
            list_merge(&mods, fi.module);
        }
    }
    if (skipped) {
        fprintf(f, "wrappers skipped to name the sites: ");
        fput_list(f, skipped);
        fprintf(f, " (--no-skip keeps them, --skip FUNC|REGEX adds one)\n");
    }
    if (mods) {
        fprintf(f, "names ending in '?' are guesses, the nearest exported symbol of a stripped "
                   "module (");
        fput_list(f, mods);
        fprintf(f, "): its -dbgsym package, or its debug file under /usr/lib/debug or "
                   "$MALLOG_DEBUG_DIR (.build-id/xx/yyyy.debug), gives the real names\n");
    }
    free(skipped);
    free(mods);
}

static void print_text(FILE *f, const struct callsites_opts *o, const struct mlg_sites *sites,
                       struct row *rows, uint32_t n, uint64_t total_allocs, uint64_t total_bytes,
                       uint64_t peak, uint64_t peak_event)
{
    char b1[32], b2[32], b3[32], b4[32];
    fprintf(f, "%-8s %6s %11s %6s %11s %6s %18s %9s  %s\n", "allocs", "%", "bytes", "%",
            "at peak", "%", "leaked (blocks)", "temporary", o->by_stack ? "stack" : "site");
    for (uint32_t i = 0; i < n && i < o->top; i++) {
        const struct row *r = &rows[i];
        char leak[48];
        snprintf(leak, sizeof leak, "%s (%" PRIu64 ")",
                 mlg_format_size(r->live_bytes, b3, sizeof b3), r->live_blocks);
        fprintf(f, "%-8" PRIu64 " %5.1f%% %11s %5.1f%% %11s %5.1f%% %18s %9" PRIu64 "  %s\n",
                r->allocs, total_allocs ? 100.0 * (double)r->allocs / (double)total_allocs : 0,
                mlg_format_size(r->bytes, b1, sizeof b1),
                total_bytes ? 100.0 * (double)r->bytes / (double)total_bytes : 0,
                mlg_format_size(r->peak_bytes, b2, sizeof b2),
                peak ? 100.0 * (double)r->peak_bytes / (double)peak : 0, leak, r->temp_blocks,
                r->name);
        if (o->by_stack)
            print_frames(f, sites, r->first_stack, "    ");
    }
    if (n > o->top)
        fprintf(f, "... %u more (--top N)\n", n - o->top);
    uint64_t leaked = 0, leaked_blocks = 0;
    for (uint32_t i = 0; i < n; i++) {
        leaked += rows[i].live_bytes;
        leaked_blocks += rows[i].live_blocks;
    }
    fprintf(f, "peak live requested: %s at event %" PRIu64 "; live at the end: %s in %" PRIu64
               " blocks\n", mlg_format_size(peak, b4, sizeof b4), peak_event,
            mlg_format_size(leaked, b3, sizeof b3), leaked_blocks);
    print_notes(f, sites, rows, n, o->top);
}

/* a LIST_SEP list as a JSON array of strings */
static void json_list(FILE *f, const char *list)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", list ? list : "");
    fputc('[', f);
    char *save = NULL;
    int k = 0;
    for (char *t = strtok_r(buf, LIST_SEP, &save); t; t = strtok_r(NULL, LIST_SEP, &save)) {
        fputs(k++ ? "," : "", f);
        json_write_string(f, t);
    }
    fputc(']', f);
}

static void print_json(FILE *f, const struct callsites_opts *o, const struct mlg_sites *sites,
                       struct row *rows, uint32_t n, uint64_t peak, uint64_t peak_event)
{
    fprintf(f, "{\"by\":\"%s\",\"stacks\":%u,\"peak_live_requested\":%" PRIu64
               ",\"peak_event\":%" PRIu64 ",\"%s\":[",
            o->by_stack ? "stack" : "site", mlg_sites_stack_count(sites), peak, peak_event,
            o->by_stack ? "stacks_table" : "sites");
    for (uint32_t i = 0; i < n && i < o->top; i++) {
        const struct row *r = &rows[i];
        struct mlg_frame_info fi = {0};
        if (r->first_stack)
            mlg_sites_vframe(sites, r->first_stack, mlg_sites_site_index(sites, r->first_stack),
                             &fi);
        fprintf(f, "%s{\"site\":", i ? "," : "");
        json_write_string(f, r->name);
        fprintf(f, ",\"site_full\":");
        json_write_string(f, r->full ? r->full : r->name);
        fprintf(f, ",\"function\":");
        json_write_string(f, fi.function ? fi.function : "");
        fprintf(f, ",\"function_full\":");
        json_write_string(f, fi.full_function ? fi.full_function : "");
        fprintf(f, ",\"guess\":%s,\"skipped\":", r->guess ? "true" : "false");
        json_list(f, r->skipped);
        fprintf(f, ",\"file\":");
        json_write_string(f, fi.file ? fi.file : "");
        fprintf(f, ",\"line\":%u,\"module\":", fi.line);
        json_write_string(f, fi.module ? fi.module : "");
        fprintf(f, ",\"allocs\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"peak_bytes\":%" PRIu64
                   ",\"peak_blocks\":%" PRIu64 ",\"leaked_blocks\":%" PRIu64
                   ",\"leaked_bytes\":%" PRIu64 ",\"temporary_blocks\":%" PRIu64
                   ",\"temporary_bytes\":%" PRIu64 ",\"stacks\":%u",
                r->allocs, r->bytes, r->peak_bytes, r->peak_blocks, r->live_blocks, r->live_bytes,
                r->temp_blocks, r->temp_bytes, r->stacks);
        if (o->by_stack && r->first_stack) {
            char buf[1024];
            fprintf(f, ",\"frames\":[");
            uint32_t depth = mlg_sites_vdepth(sites, r->first_stack);
            for (uint32_t k = 0; k < depth; k++) {
                fprintf(f, "%s", k ? "," : "");
                json_write_string(f, mlg_sites_vframe_name(sites, r->first_stack, k, buf,
                                                           sizeof buf));
            }
            fprintf(f, "]");
        }
        fprintf(f, "}");
    }
    fprintf(f, "]}\n");
}

/* "outermost;...;innermost value", one line per stack, the format flamegraph.pl and speedscope
 * read. Frames are function names (module+offset without symbols). */
static void print_folded(FILE *f, const struct callsites_opts *o, const struct mlg_sites *sites,
                         const struct row *rows, uint32_t n)
{
    char buf[1024];
    for (uint32_t id = 0; id < n; id++) {
        const struct row *r = &rows[id];
        uint64_t v = o->folded == FOLDED_ALLOCS ? r->allocs
                   : o->folded == FOLDED_BYTES  ? r->bytes : r->live_bytes;
        if (!v)
            continue;
        uint32_t depth = id ? mlg_sites_vdepth(sites, id) : 0;
        if (depth == 0) {
            fprintf(f, "[no stack] %" PRIu64 "\n", v);
            continue;
        }
        for (uint32_t k = depth; k-- > 0;) {
            struct mlg_frame_info fi;
            mlg_sites_vframe(sites, id, k, &fi);
            if (fi.function)
                snprintf(buf, sizeof buf, "%s", fi.function);
            else
                snprintf(buf, sizeof buf, "%s+0x%" PRIx64, fi.module, fi.offset);
            for (char *c = buf; *c; c++)
                if (*c == ';' || *c == '\n')
                    *c = ':'; /* the separators of the format */
            fprintf(f, "%s%s", buf, k ? ";" : " ");
        }
        fprintf(f, "%" PRIu64 "\n", v);
    }
}

int callsites_rules(struct mlg_sites *sites, const struct callsites_opts *o)
{
    for (uint32_t i = 0; i < o->nskips; i++)
        if (mlg_sites_skip(sites, o->skips[i]) != 0) {
            fprintf(stderr, "mallog stats: --skip %s: not a valid regular expression\n",
                    o->skips[i]);
            return EXIT_ERROR;
        }
    if (o->no_skip)
        mlg_sites_no_skip(sites);
    mlg_sites_full_names(sites, o->full_names);
    return 0;
}

/* Names of stack row i (id i): its site (or, by stack, its site and id), the same with full
 * names, and the wrappers skipped to reach the site. 0, or -1 (no memory). */
static int name_row(const struct mlg_sites *sites, const struct callsites_opts *o, struct row *r,
                    uint32_t i)
{
    char buf[1100], full[1100];
    if (!i) {
        r->name = strdup("[no stack]");
        return r->name ? 0 : -1;
    }
    uint32_t site = mlg_sites_site_index(sites, i);
    struct mlg_frame_info fi;
    mlg_sites_vframe(sites, i, site, &fi);
    r->guess = fi.guess;
    mlg_sites_vframe_name(sites, i, site, buf, sizeof buf);
    if (fi.full_function && fi.file && fi.line)
        snprintf(full, sizeof full, "%s (%s:%u)", fi.full_function,
                 strrchr(fi.file, '/') ? strrchr(fi.file, '/') + 1 : fi.file, fi.line);
    else if (fi.full_function)
        snprintf(full, sizeof full, "%s (%s)", fi.full_function, fi.module);
    else
        snprintf(full, sizeof full, "%s", buf);
    if (o->by_stack) {
        snprintf(buf + strlen(buf), sizeof buf - strlen(buf), " #%u", i);
        snprintf(full + strlen(full), sizeof full - strlen(full), " #%u", i);
    }
    for (uint32_t k = 0; k < site; k++) {
        mlg_sites_vframe(sites, i, k, &fi);
        if (fi.kind == MLG_FRAME_WRAPPER && fi.function && list_merge(&r->skipped, fi.function))
            return -1;
    }
    r->name = strdup(buf);
    r->full = strdup(full);
    return r->name && r->full ? 0 : -1;
}

/* The tree of --by caller|callee from the per-stack rows. */
static int print_tree(FILE *out, const struct callsites_opts *o, const struct mlg_sites *sites,
                      const struct pass *p, uint64_t peak, uint64_t peak_event)
{
    struct calltree_stack *t = calloc(p->nrows, sizeof *t);
    if (!t)
        return -1;
    for (uint32_t i = 0; i < p->nrows; i++)
        t[i] = (struct calltree_stack){p->rows[i].allocs, p->rows[i].bytes, p->rows[i].peak_bytes,
                                       p->rows[i].live_bytes, p->rows[i].live_blocks};
    int rc = calltree_print(out, o, sites, t, p->nrows, peak, peak_event);
    free(t);
    return rc;
}

int callsites_report(const char *path, const struct callsites_opts *o, FILE *out)
{
    struct mlg_sites *sites = NULL;
    struct mlg_error err;
    char ebuf[512];
    int rc = mlg_sites_load(&sites, path, &err);
    if (rc && !sites) {
        msg_log_error("stats", path, &err);
        return EXIT_ERROR;
    }
    if (rc)
        msg_log_error("stats", path, &err); /* keep the definitions before the damage */
    if (callsites_rules(sites, o) != 0) {
        mlg_sites_free(sites);
        return EXIT_ERROR;
    }
    if (mlg_sites_stack_count(sites) == 0 && msg_verbosity >= 1)
        fprintf(stderr, "mallog stats: %s has no call stacks (record with `mallog record "
                        "--stacks`): every allocation falls under [no stack]\n", path);
    if (mlg_sites_symbolize(sites) != 0)
        fprintf(stderr, "mallog stats: some frames could not be symbolized (addr2line missing, or "
                        "a module file changed since the recording)\n");
    struct pass p = {0};
    p.nrows = mlg_sites_stack_count(sites) + 1;
    p.rows = calloc(p.nrows, sizeof *p.rows);
    p.temporary_events = o->temporary_events;
    p.free_head = UINT32_MAX;
    p.snapshot_at = UINT64_MAX;
    int result = EXIT_ERROR;
    if (!p.rows || !(p.live = mlg_addrmap_new(NULL)))
        goto out;
    rc = run_pass(&p, path, &err);
    uint64_t peak = p.peak, peak_event = p.peak_event;
    pass_reset(&p);
    if (!(p.live = mlg_addrmap_new(NULL)))
        goto out;
    p.snapshot_at = peak ? peak_event : UINT64_MAX;
    rc = run_pass(&p, path, &err);
    if (rc && rc != MLG_E_TRUNCATED)
        fprintf(stderr, "mallog stats: %s: %s (the report covers the events before it)\n", path,
                mlg_error_format(&err, ebuf, sizeof ebuf));
    if (rc == MLG_E_NOMEM)
        goto out;
    uint64_t total_allocs = 0, total_bytes = 0;
    for (uint32_t i = 0; i < p.nrows; i++) {
        total_allocs += p.rows[i].allocs;
        total_bytes += p.rows[i].bytes;
        p.rows[i].first_stack = i;
        p.rows[i].stacks = 1;
    }
    if (o->folded) {
        print_folded(out, o, sites, p.rows, p.nrows);
        result = 0;
        goto out;
    }
    if (o->tree) {
        if (print_tree(out, o, sites, &p, peak, peak_event) == 0)
            result = 0;
        goto out;
    }
    for (uint32_t i = 0; i < p.nrows; i++)
        if (name_row(sites, o, &p.rows[i], i) != 0)
            goto out;
    struct row *shown = p.rows;
    uint32_t nshown = p.nrows;
    struct row *grouped = NULL;
    if (!o->by_stack) {
        if (!(grouped = group_sites(p.rows, p.nrows, &nshown)))
            goto out;
        shown = grouped;
    } else {
        uint32_t m = 0;
        for (uint32_t i = 0; i < p.nrows; i++) {
            if (p.rows[i].allocs) {
                shown[m++] = p.rows[i]; /* the names move with their row */
            } else {
                free(p.rows[i].name);
                free(p.rows[i].full);
                free(p.rows[i].skipped);
            }
        }
        for (uint32_t i = m; i < p.nrows; i++)
            shown[i].name = shown[i].full = shown[i].skipped = NULL;
        nshown = m;
    }
    qsort(shown, nshown, sizeof *shown, cmp_rows);
    if (o->json)
        print_json(out, o, sites, shown, nshown, peak, peak_event);
    else
        print_text(out, o, sites, shown, nshown, total_allocs, total_bytes, peak, peak_event);
    for (uint32_t i = 0; grouped && i < nshown; i++)
        free(grouped[i].skipped);
    free(grouped);
    result = 0;
out:
    if (p.rows)
        for (uint32_t i = 0; i < p.nrows; i++) {
            free(p.rows[i].name);
            free(p.rows[i].full);
            free(p.rows[i].skipped);
        }
    free(p.rows);
    free(p.blocks);
    mlg_addrmap_free(p.live);
    mlg_sites_free(sites);
    if (result != 0 && rc == 0)
        fprintf(stderr, "mallog stats: out of memory\n");
    return result;
}

/* ---- the sites of the leak table of `mallog stats` ---------------------------------------- */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

int callsites_leak_sites(const char *path, struct stats *s, uint64_t n)
{
    if (n > s->nleaks)
        n = s->nleaks;
    if (!n)
        return 0;
    struct mlg_sites *sites = NULL;
    struct mlg_error err;
    if (mlg_sites_load(&sites, path, &err) != 0 || mlg_sites_stack_count(sites) == 0) {
        mlg_sites_free(sites); /* no stacks (or no readable table): the table stays by size */
        return 0;
    }
    int rc = -1;
    struct mlg_reader *r = NULL;
    uint64_t *want = malloc(n * 4 * sizeof *want), nw = 0;
    uint32_t *stack = NULL;
    s->leak_sites = calloc(n, sizeof *s->leak_sites);
    if (!want || !s->leak_sites)
        goto out;
    s->nleak_sites = n;
    for (uint64_t i = 0; i < n; i++)
        for (uint64_t k = 0; k < s->leaks[i].count && k < 4; k++)
            want[nw++] = s->leaks[i].events[k];
    qsort(want, nw, sizeof *want, cmp_u64);
    if (!(stack = calloc(nw, sizeof *stack)))
        goto out;
    if (mlg_reader_open(&r, path, NULL, &err) != 0)
        goto out;
    /* the stack of each wanted event: one pass, up to the last of them */
    struct mlg_event ev;
    uint64_t w = 0;
    int got;
    while (w < nw && (got = mlg_reader_next(r, &ev)) > 0)
        while (w < nw && want[w] == ev.index)
            stack[w++] = ev.stack;
    if (w < nw)
        goto out;
    if (mlg_sites_symbolize(sites) != 0 && msg_verbosity >= 1)
        fprintf(stderr, "mallog stats: some frames could not be symbolized (addr2line missing, or "
                        "a module file changed since the recording)\n");
    for (uint64_t i = 0; i < n; i++) {
        char names[1024] = "", buf[512];
        size_t len = 0;
        uint64_t pcs[4];
        for (uint64_t k = 0; k < s->leaks[i].count && k < 4; k++) {
            uint64_t *at = bsearch(&s->leaks[i].events[k], want, nw, sizeof *want, cmp_u64);
            uint32_t id = at ? stack[at - want] : 0;
            uint64_t pc = pcs[k] = id ? mlg_sites_site_pc(sites, id) : 0;
            int seen = 0; /* the listed events of a group often share one site: name it once */
            for (uint64_t j = 0; j < k; j++)
                seen |= pcs[j] == pc;
            const char *name = pc ? mlg_sites_frame_name(sites, pc, buf, sizeof buf) : "[no stack]";
            if (!seen && len < sizeof names)
                len += (size_t)snprintf(names + len, sizeof names - len, "%s%s", len ? ", " : "",
                                        name);
        }
        if (!(s->leak_sites[i] = strdup(names)))
            goto out;
    }
    rc = 0;
out:
    if (rc != 0) {
        for (uint64_t i = 0; s->leak_sites && i < s->nleak_sites; i++)
            free(s->leak_sites[i]);
        free(s->leak_sites);
        s->leak_sites = NULL;
        s->nleak_sites = 0;
        fprintf(stderr, "mallog stats: %s: the call sites of the leaks could not be read\n", path);
    }
    if (r)
        mlg_reader_close(r);
    free(want);
    free(stack);
    mlg_sites_free(sites);
    return rc;
}

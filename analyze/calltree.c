/* calltree.c - `mallog stats LOG --by caller|callee`: the call tree of a log recorded with
 * --stacks, top-down (from main to the allocating sites, like heaptrack's top-down view) or
 * bottom-up (from each site out to its callers), with allocations, bytes, share of the peak and
 * leaks at every level. Built from the per-stack rows of callsites.c; the frames are the site
 * table's with inline levels expanded, the C runtime left out, and each path ends at (caller) or
 * starts from (callee) the site that lib/sites.c names, so wrappers follow the same rules.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/json.h"
#include "analyze.h"
#include "callsites.h"

#define TREE_HIDE_PERMILLE 1 /* children under 0.1% of the bytes and allocations: one "more" */

struct node {
    char *name;
    uint32_t child, next; /* first child, next sibling; 0 = none (node 0 is the root) */
    uint64_t allocs, bytes, peak, leaked, leaked_blocks;
};

struct tree {
    struct node *n;
    uint32_t nn, cap;
};

/* The child of parent named name, made if missing; its index, or 0 (no memory). */
static uint32_t child_of(struct tree *t, uint32_t parent, const char *name)
{
    uint32_t last = 0;
    for (uint32_t c = t->n[parent].child; c; c = t->n[c].next) {
        if (strcmp(t->n[c].name, name) == 0)
            return c;
        last = c;
    }
    if (t->nn == t->cap) {
        uint32_t cap = t->cap * 2;
        struct node *n = realloc(t->n, (size_t)cap * sizeof *n);
        if (!n)
            return 0;
        t->n = n;
        t->cap = cap;
    }
    uint32_t i = t->nn;
    t->n[i] = (struct node){strdup(name), 0, 0, 0, 0, 0, 0, 0};
    if (!t->n[i].name)
        return 0;
    t->nn++;
    if (last)
        t->n[last].next = i;
    else
        t->n[parent].child = i;
    return i;
}

static void add_to(struct node *n, const struct calltree_stack *r)
{
    n->allocs += r->allocs;
    n->bytes += r->bytes;
    n->peak += r->peak_bytes;
    n->leaked += r->leaked_bytes;
    n->leaked_blocks += r->leaked_blocks;
}

/* A frame's name in the tree: its function (no file:line: a node is a function), else
 * module+0xoffset. */
static const char *node_name(const struct mlg_sites *sites, uint32_t id, uint32_t i, char *buf,
                             size_t len)
{
    struct mlg_frame_info fi;
    mlg_sites_vframe(sites, id, i, &fi);
    if (fi.function)
        return fi.function;
    snprintf(buf, len, "%s+0x%" PRIx64, fi.module, fi.offset);
    return buf;
}

/* Adds stack id's row along its path: outermost frame to site (caller) or site to outermost
 * (callee), the C runtime left out (except a site in it), depth levels at most. */
static int add_stack(struct tree *t, const struct callsites_opts *o, const struct mlg_sites *sites,
                     uint32_t id, const struct calltree_stack *r)
{
    char buf[600];
    add_to(&t->n[0], r);
    if (!id) {
        uint32_t c = child_of(t, 0, "[no stack]");
        if (!c)
            return -1;
        add_to(&t->n[c], r);
        return 0;
    }
    uint32_t depth = mlg_sites_vdepth(sites, id), site = mlg_sites_site_index(sites, id);
    uint32_t at = 0, level = 0;
    for (uint32_t k = 0; k + site < depth && level < o->depth; k++) {
        uint32_t i = o->tree == TREE_CALLER ? depth - 1 - k : site + k;
        struct mlg_frame_info fi;
        mlg_sites_vframe(sites, id, i, &fi);
        if (fi.kind == MLG_FRAME_RUNTIME && i != site)
            continue;
        if (!(at = child_of(t, at, node_name(sites, id, i, buf, sizeof buf))))
            return -1;
        add_to(&t->n[at], r);
        level++;
    }
    return 0;
}

static int cmp_bytes(const void *a, const void *b, void *ctx)
{
    const struct node *n = ctx;
    const struct node *x = &n[*(const uint32_t *)a], *y = &n[*(const uint32_t *)b];
    if (x->bytes != y->bytes)
        return x->bytes < y->bytes ? 1 : -1;
    return x->allocs < y->allocs ? 1 : x->allocs > y->allocs ? -1 : strcmp(x->name, y->name);
}

/* The children of node p worth showing, by bytes: into kids (at most top), the rest counted in
 * *more. Returns how many are shown. */
static uint32_t shown_children(const struct tree *t, uint32_t p, uint32_t top, uint32_t *kids,
                               uint32_t *more)
{
    uint32_t n = 0;
    for (uint32_t c = t->n[p].child; c; c = t->n[c].next)
        kids[n++] = c;
    qsort_r(kids, n, sizeof *kids, cmp_bytes, t->n);
    const struct node *root = &t->n[0];
    uint32_t m = 0;
    for (uint32_t i = 0; i < n; i++) {
        const struct node *c = &t->n[kids[i]];
        int tiny = c->bytes * 1000 < root->bytes * TREE_HIDE_PERMILLE &&
                   c->allocs * 1000 < root->allocs * TREE_HIDE_PERMILLE;
        if (m < top && !tiny)
            kids[m++] = kids[i];
    }
    *more = n - m;
    return m;
}

static void print_text(FILE *f, const struct tree *t, uint32_t p, uint32_t level, uint32_t top,
                       uint64_t peak, uint32_t *scratch)
{
    uint32_t more, *kids = scratch;
    uint32_t n = shown_children(t, p, top, kids, &more);
    for (uint32_t i = 0; i < n; i++) {
        const struct node *c = &t->n[kids[i]];
        char b1[32], b2[32], b3[32], leak[48];
        snprintf(leak, sizeof leak, "%s (%" PRIu64 ")",
                 mlg_format_size(c->leaked, b3, sizeof b3), c->leaked_blocks);
        fprintf(f, "%-8" PRIu64 " %11s %11s %5.1f%% %18s  %*s%s\n", c->allocs,
                mlg_format_size(c->bytes, b1, sizeof b1), mlg_format_size(c->peak, b2, sizeof b2),
                peak ? 100.0 * (double)c->peak / (double)peak : 0, leak, (int)(2 * level), "",
                c->name);
        print_text(f, t, kids[i], level + 1, top, peak, scratch + n);
    }
    if (more)
        fprintf(f, "%-8s %11s %11s %6s %18s  %*s... %u more\n", "", "", "", "", "",
                (int)(2 * level), "", more);
}

/* The shown children of p as a JSON array; returns how many were left out. */
static uint32_t print_json(FILE *f, const struct tree *t, uint32_t p, uint32_t top, uint64_t peak,
                           uint32_t *scratch)
{
    uint32_t more, *kids = scratch;
    uint32_t n = shown_children(t, p, top, kids, &more);
    fputc('[', f);
    for (uint32_t i = 0; i < n; i++) {
        const struct node *c = &t->n[kids[i]];
        fprintf(f, "%s{\"function\":", i ? "," : "");
        json_write_string(f, c->name);
        fprintf(f, ",\"allocs\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"peak_bytes\":%" PRIu64
                   ",\"peak_share\":%.4f,\"leaked_bytes\":%" PRIu64 ",\"leaked_blocks\":%" PRIu64,
                c->allocs, c->bytes, c->peak, peak ? (double)c->peak / (double)peak : 0, c->leaked,
                c->leaked_blocks);
        if (c->child) {
            fprintf(f, ",\"children\":");
            uint32_t hidden = print_json(f, t, kids[i], top, peak, scratch + n);
            fprintf(f, ",\"more\":%u", hidden);
        }
        fputc('}', f);
    }
    fputc(']', f);
    return more;
}

int calltree_print(FILE *f, const struct callsites_opts *o, const struct mlg_sites *sites,
                   const struct calltree_stack *rows, uint32_t nrows, uint64_t peak,
                   uint64_t peak_event)
{
    struct tree t = {malloc(1024 * sizeof *t.n), 1, 1024};
    int rc = -1;
    uint32_t *scratch = NULL;
    if (!t.n)
        return -1;
    t.n[0] = (struct node){NULL, 0, 0, 0, 0, 0, 0, 0};
    for (uint32_t id = 0; id < nrows; id++)
        if (rows[id].allocs && add_stack(&t, o, sites, id, &rows[id]) != 0)
            goto out;
    /* one scratch list of children per level on the printing path: nn entries are enough */
    if (!(scratch = malloc((size_t)t.nn * sizeof *scratch)))
        goto out;
    const char *what = o->tree == TREE_CALLER ? "caller" : "callee";
    if (o->json) {
        fprintf(f, "{\"by\":\"%s\",\"depth\":%u,\"stacks\":%u,\"peak_live_requested\":%" PRIu64
                   ",\"peak_event\":%" PRIu64 ",\"allocs\":%" PRIu64 ",\"bytes\":%" PRIu64
                   ",\"leaked_bytes\":%" PRIu64 ",\"tree\":",
                what, o->depth, mlg_sites_stack_count(sites), peak, peak_event, t.n[0].allocs,
                t.n[0].bytes, t.n[0].leaked);
        uint32_t hidden = print_json(f, &t, 0, o->top, peak, scratch);
        fprintf(f, ",\"more\":%u}\n", hidden);
    } else {
        char b1[32];
        fprintf(f, "%s tree (%s), %u levels at most (--depth), %u children a node (--top); "
                   "peak live requested %s at event %" PRIu64 "\n",
                what,
                o->tree == TREE_CALLER ? "top-down: from main to the allocating sites"
                                       : "bottom-up: from the allocating sites to their callers",
                o->depth, o->top, mlg_format_size(peak, b1, sizeof b1), peak_event);
        fprintf(f, "%-8s %11s %11s %6s %18s  %s\n", "allocs", "bytes", "at peak", "%", 
                "leaked (blocks)", "function");
        print_text(f, &t, 0, 0, o->top, peak, scratch);
    }
    rc = 0;
out:
    for (uint32_t i = 1; i < t.nn; i++)
        free(t.n[i].name);
    free(t.n);
    free(scratch);
    return rc;
}

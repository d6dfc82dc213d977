/* holes_out.c - the holes at the stop event of a `mallog holes` replay, as text or JSON, each
 * with the live blocks that bound it and their call sites (a log recorded with --stacks):
 * printed by the worker once its replay is over. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "../common/json.h"
#include "../common/msg.h"
#include "cmd.h"

/* Call sites of the blocks that bound holes, for a log recorded with --stacks: loaded and
 * symbolized once the replay is over (nothing here runs during the measured phase). */
static struct mlg_sites *hole_sites;

static void load_hole_sites(const char *log, const struct engine_result *r)
{
    int any = 0;
    for (uint64_t i = 0; i < r->holes.nh && !any; i++)
        any = r->meta[r->holes.b[r->holes.h[i].left].slot].stack ||
              r->meta[r->holes.b[r->holes.h[i].right].slot].stack;
    struct mlg_error err;
    if (!any || mlg_sites_load(&hole_sites, log, &err) != 0 || mlg_sites_symbolize(hole_sites) != 0)
        return; /* without symbols a site still reads module+offset */
}

/* "main (fragment.c:57)" for a block's stack, or "" */
static const char *site_name(uint32_t stack, char *buf, size_t len)
{
    uint64_t pc = hole_sites && stack ? mlg_sites_site_pc(hole_sites, stack) : 0;
    if (!pc) {
        buf[0] = 0;
        if (stack)
            snprintf(buf, len, "#%u", stack);
        return buf;
    }
    return mlg_sites_frame_name(hole_sites, pc, buf, len);
}

static void print_block(FILE *f, const char *side, const struct engine_result *r, uint64_t bi,
                        uint64_t at)
{
    const struct hole_block *b = &r->holes.b[bi];
    const struct slot *s = &r->meta[b->slot];
    char sz[32], site[1100] = "", name[1024];
    if (s->stack)
        snprintf(site, sizeof site, ", site %s", site_name(s->stack, name, sizeof name));
    fprintf(f,
            "    %-6s %s (%" PRIu64 " B) at 0x%" PRIx64 ", allocated at event %" PRIu64
            ", age %" PRIu64 " events, thread %u%s\n",
            side, mlg_format_size(s->size, sz, sizeof sz), s->size, b->start, s->event,
            at - s->event, s->thread, site);
}

static void json_block(FILE *f, const char *side, const struct engine_result *r, uint64_t bi,
                       uint64_t at)
{
    const struct slot *s = &r->meta[r->holes.b[bi].slot];
    char name[1024];
    fprintf(f,
            "\"%s\": {\"size\": %" PRIu64 ", \"event\": %" PRIu64 ", \"age\": %" PRIu64
            ", \"thread\": %u, \"stack\": %u, \"site\": ",
            side, s->size, s->event, at - s->event, s->thread, s->stack);
    json_write_string(f, site_name(s->stack, name, sizeof name));
    fputc('}', f);
}

/* The holes at the stop event, largest first: the first `top` (0 = all); text says how many
 * more there are, JSON gives their count as "holes_total". */
static void print_holes(const char *name, const struct engine_result *r, const char *fmt,
                        const char *label, uint64_t top)
{
    uint64_t at = r->stopped_at;
    uint64_t shown = top && top < r->holes.nh ? top : r->holes.nh;
    const struct sample *s = r->nsamples ? &r->samples[r->nsamples - 1] : NULL;
    if (strcmp(fmt, "json") == 0) {
        printf("{\"allocator\": ");
        json_write_string(stdout, name);
        printf(", \"event\": %" PRIu64 ", \"holes_total\": %" PRIu64 ", \"holes\": [", at,
               r->holes.nh);
        for (uint64_t i = 0; i < shown; i++) {
            const struct hole *h = &r->holes.h[i];
            printf("%s{\"start\": %" PRIu64 ", \"size\": %" PRIu64 ", \"resident\": %" PRIu64 ", ",
                   i ? ", " : "", h->start, h->size, h->resident);
            json_block(stdout, "left", r, h->left, at);
            printf(", ");
            json_block(stdout, "right", r, h->right, at);
            printf("}");
        }
        printf("]}\n");
        return;
    }
    char b1[32], b2[32], b3[32], b4[32];
    printf("%s at event %" PRIu64 " (%s): live %s in %" PRIu64 " blocks, footprint %s\n", name,
           at, label, mlg_format_size(s ? s->live_requested : 0, b1, sizeof b1),
           s ? s->live_blocks : 0, mlg_format_size(s ? s->sys_mapped : 0, b2, sizeof b2));
    printf("%" PRIu64 " holes >= 4 KiB, %s in all (%s resident); %" PRIu64 " >= 1 MiB, %" PRIu64
           " >= 8 MiB\n",
           r->holes.nh, mlg_format_size(s ? s->hole_bytes : 0, b3, sizeof b3),
           mlg_format_size(s ? s->hole_resident : 0, b4, sizeof b4), s ? s->holes_1m : 0,
           s ? s->holes_8m : 0);
    for (uint64_t i = 0; i < shown; i++) {
        const struct hole *h = &r->holes.h[i];
        printf("#%-4" PRIu64 " %s hole at 0x%" PRIx64 " (%" PRIu64 " B, resident %s)\n", i + 1,
               mlg_format_size(h->size, b1, sizeof b1), h->start, h->size,
               mlg_format_size(h->resident, b2, sizeof b2));
        print_block(stdout, "left:", r, h->left, at);
        print_block(stdout, "right:", r, h->right, at);
    }
    if (shown < r->holes.nh)
        printf("... and %" PRIu64 " smaller hole%s (--top N lists N, --top 0 all)\n",
               r->holes.nh - shown, r->holes.nh - shown == 1 ? "" : "s");
}

void holes_print(const char *name, const char *log, const struct engine_result *r,
                 const char *fmt, const char *label, uint64_t top)
{
    load_hole_sites(log, r);
    print_holes(name, r, fmt, label, top);
    fflush(stdout);
    mlg_sites_free(hole_sites);
    hole_sites = NULL;
}

/* holes.c - holes: gaps between live blocks (by address, each block [ptr, ptr + usable)) that lie
 * wholly inside the allocator's read-write anonymous mappings, minus the replayer's own memory.
 * A hole is bounded on both sides by a live block, so it can name what pins it. Gaps below a page
 * are chunk headers and alignment, not holes. Sorting uses a radix sort in mapped memory: qsort
 * may call malloc, which would go to the allocator under test. */
#include <string.h>

#include "replay.h"
#include "../lib/maps.h"

int holes_init(struct holes *h)
{
    memset(h, 0, sizeof *h);
    return 0;
}

void holes_fini(struct holes *h)
{
    if (h->b)
        mem_unmap(h->b, h->capb * sizeof *h->b);
    if (h->tmp)
        mem_unmap(h->tmp, h->capb * sizeof *h->tmp);
    if (h->h)
        mem_unmap(h->h, h->caph * sizeof *h->h);
    if (h->ranges)
        mem_unmap(h->ranges, h->capr * sizeof *h->ranges);
    mem_buf_free(&h->maps);
    memset(h, 0, sizeof *h);
}

void holes_clear(struct holes *h)
{
    h->nb = h->nh = 0;
}

static int grow(void **p, uint64_t *cap, uint64_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    uint64_t c = *cap ? *cap : 1024;
    while (c < need)
        c *= 2;
    void *q = *p ? mem_remap(*p, *cap * elem, c * elem) : mem_map(c * elem, "mallog:holes");
    if (!q)
        return -1;
    *p = q;
    *cap = c;
    return 0;
}

int holes_add_block(struct holes *h, uint64_t start, uint64_t end, uint64_t slot)
{
    if (h->nb == h->capb) {
        uint64_t cap = h->capb;
        if (grow((void **)&h->b, &h->capb, h->nb + 1, sizeof *h->b) < 0)
            return -1;
        if (h->tmp)
            mem_unmap(h->tmp, cap * sizeof *h->tmp);
        h->tmp = mem_map(h->capb * sizeof *h->tmp, "mallog:holes");
        if (!h->tmp)
            return -1;
    }
    h->b[h->nb++] = (struct hole_block){start, end, slot};
    return 0;
}

void holes_sort(struct hole_block *v, struct hole_block *tmp, uint64_t n)
{
    /* LSD radix sort on the low 48 bits (user-space addresses), 16 bits per pass; stable. */
    static uint64_t count[65536];
    struct hole_block *src = v, *dst = tmp;
    for (int shift = 0; shift < 48; shift += 16) {
        memset(count, 0, sizeof count);
        for (uint64_t i = 0; i < n; i++)
            count[(src[i].start >> shift) & 0xffff]++;
        uint64_t sum = 0;
        for (int k = 0; k < 65536; k++) {
            uint64_t c = count[k];
            count[k] = sum;
            sum += c;
        }
        for (uint64_t i = 0; i < n; i++)
            dst[count[(src[i].start >> shift) & 0xffff]++] = src[i];
        struct hole_block *t = src;
        src = dst;
        dst = t;
    }
    if (src != v)
        memcpy(v, src, n * sizeof *v);
}

#define RESIDENT_BY_SMAPS_ABOVE (64ull << 30) /* a mapping wider than this: Rss from smaps */

struct cut_ctx {
    struct holes *h;
    int err;
};

/* Removes [start, end) (one of the replayer's own regions) from the ranges. */
static void cut(void *ctx, uint64_t start, uint64_t end)
{
    struct cut_ctx *c = ctx;
    struct holes *h = c->h;
    for (uint64_t i = 0; i < h->nr; i++) {
        uint64_t a = h->ranges[i][0], b = h->ranges[i][1];
        if (end <= a || start >= b)
            continue;
        if (h->have_rss) /* the Rss of the mapping counted it: take it back */
            h->cut_resident += mem_resident(start > a ? start : a, end < b ? end : b);
        if (start > a && end < b) { /* split in two */
            if (grow((void **)&h->ranges, &h->capr, h->nr + 1, sizeof *h->ranges) < 0) {
                c->err = -1;
                return;
            }
            memmove(&h->ranges[i + 2], &h->ranges[i + 1], (h->nr - i - 1) * sizeof *h->ranges);
            h->ranges[i][1] = start;
            h->ranges[i + 1][0] = end;
            h->ranges[i + 1][1] = b;
            h->nr++;
            return;
        }
        if (start <= a && end >= b) { /* all of it: the range goes */
            memmove(&h->ranges[i], &h->ranges[i + 1], (h->nr - i - 1) * sizeof *h->ranges);
            h->nr--;
            i--;
            continue;
        }
        if (start <= a)
            h->ranges[i][0] = end;
        else
            h->ranges[i][1] = start;
    }
}

int holes_parse_maps(struct holes *h, const char *text, size_t len)
{
    const char *p = text, *stop = text + len;
    int counted = 0; /* the mapping whose attribute lines follow (smaps) is one of the ranges */
    h->nr = 0;
    h->have_rss = 0;
    h->anon_rss = h->cut_resident = 0;
    while (p < stop) {
        const char *eol = memchr(p, '\n', (size_t)(stop - p));
        if (!eol)
            eol = stop;
        const char *s = p;
        if (*s >= 'A' && *s <= 'Z') { /* an smaps attribute line: "Rss:   1234 kB" */
            if (eol - s > 4 && memcmp(s, "Rss:", 4) == 0) {
                h->have_rss = 1;
                uint64_t kb = 0;
                for (s += 4; s < eol && *s == ' '; s++)
                    ;
                while (s < eol && *s >= '0' && *s <= '9')
                    kb = kb * 10 + (uint64_t)(*s++ - '0');
                if (counted)
                    h->anon_rss += kb * 1024;
            }
            p = eol + 1;
            continue;
        }
        struct mlg_map m;
        if (!mlg_maps_line(p, eol, &m)) {
            counted = 0;
            p = eol + 1;
            continue;
        }
        uint64_t a = m.start, b = m.end;
        int rw = m.perms[0] == 'r' && m.perms[1] == 'w';
        const char *path = m.path;
        size_t plen = m.plen;
        int anon = m.inode == 0 && (plen == 0 || (plen >= 6 && memcmp(path, "[heap]", 6) == 0) ||
                                    (plen >= 6 && memcmp(path, "[anon:", 6) == 0 &&
                                     !(plen >= 13 && memcmp(path, "[anon:mallog:", 13) == 0)));
        counted = rw && anon && b > a;
        if (counted) {
            if (h->nr && h->ranges[h->nr - 1][1] == a) {
                h->ranges[h->nr - 1][1] = b;
            } else {
                if (grow((void **)&h->ranges, &h->capr, h->nr + 1, sizeof *h->ranges) < 0)
                    return -1;
                h->ranges[h->nr][0] = a;
                h->ranges[h->nr][1] = b;
                h->nr++;
            }
        }
        p = eol + 1;
    }
    struct cut_ctx c = {h, 0};
    mem_each(cut, &c);
    h->anon_mapped = 0;
    for (uint64_t i = 0; i < h->nr; i++)
        h->anon_mapped += h->ranges[i][1] - h->ranges[i][0];
    return c.err;
}

int64_t holes_find_range(const struct holes *h, uint64_t addr)
{
    uint64_t lo = 0, hi = h->nr;
    while (lo < hi) {
        uint64_t mid = (lo + hi) / 2;
        if (addr < h->ranges[mid][0])
            hi = mid;
        else if (addr >= h->ranges[mid][1])
            lo = mid + 1;
        else
            return (int64_t)mid;
    }
    return -1;
}

static int hole_before(const struct hole *x, const struct hole *y)
{
    return x->size != y->size ? x->size > y->size : x->start < y->start;
}

/* Shell sort, largest first: the list is only kept for `mallog holes`. */
static void sort_holes(struct hole *v, uint64_t n)
{
    static const uint64_t gaps[] = {701, 301, 132, 57, 23, 10, 4, 1};
    for (unsigned g = 0; g < sizeof gaps / sizeof *gaps; g++) {
        uint64_t gap = gaps[g];
        for (uint64_t i = gap; i < n; i++) {
            struct hole t = v[i];
            uint64_t j = i;
            while (j >= gap && hole_before(&t, &v[j - gap])) {
                v[j] = v[j - gap];
                j -= gap;
            }
            v[j] = t;
        }
    }
}

int holes_scan(struct holes *h, struct sample *s, int keep_list)
{
    holes_sort(h->b, h->tmp, h->nb);
    if (mem_buf_read_file(&h->maps, "/proc/self/maps") < 0 ||
        holes_parse_maps(h, h->maps.p, h->maps.len) < 0)
        return -1;
    /* mincore fills a byte per page of a range, resident or not: over a huge reservation (ASan's
     * terabytes of shadow, an allocator's reserved address space) a sample would take seconds.
     * Then smaps' Rss, whose cost is the page tables that exist (but it walks every mapping:
     * twice the time of a whole replay's samples when used always, so only then). */
    uint64_t widest = 0;
    for (uint64_t i = 0; i < h->nr; i++)
        if (h->ranges[i][1] - h->ranges[i][0] > widest)
            widest = h->ranges[i][1] - h->ranges[i][0];
    if (widest > RESIDENT_BY_SMAPS_ABOVE &&
        (mem_buf_read_file(&h->maps, "/proc/self/smaps") < 0 ||
         holes_parse_maps(h, h->maps.p, h->maps.len) < 0))
        return -1;
    if (h->have_rss) {
        h->anon_resident = h->anon_rss > h->cut_resident ? h->anon_rss - h->cut_resident : 0;
    } else { /* page by page */
        h->anon_resident = 0;
        for (uint64_t i = 0; i < h->nr; i++)
            h->anon_resident += mem_resident(h->ranges[i][0], h->ranges[i][1]);
    }
    s->holes_1m = s->holes_8m = s->largest_hole = s->hole_bytes = s->hole_resident = 0;
    h->nh = 0;
    uint64_t reach = 0, reach_i = 0; /* furthest block end so far and its block */
    for (uint64_t i = 0; i < h->nb; i++) {
        if (i > 0 && h->b[i].start >= reach + MLG_HOLE_MIN) {
            int64_t r = holes_find_range(h, reach);
            if (r >= 0 && h->b[i].start <= h->ranges[r][1]) {
                uint64_t size = h->b[i].start - reach, res = mem_resident(reach, h->b[i].start);
                s->holes_1m += size >= (1u << 20);
                s->holes_8m += size >= (8u << 20);
                if (size > s->largest_hole)
                    s->largest_hole = size;
                s->hole_bytes += size;
                s->hole_resident += res;
                if (keep_list) {
                    if (grow((void **)&h->h, &h->caph, h->nh + 1, sizeof *h->h) < 0)
                        return -1;
                    h->h[h->nh++] = (struct hole){reach, size, res, reach_i, i};
                }
            }
        }
        if (i == 0 || h->b[i].end > reach) {
            reach = h->b[i].end;
            reach_i = i;
        }
    }
    if (keep_list)
        sort_holes(h->h, h->nh);
    return 0;
}

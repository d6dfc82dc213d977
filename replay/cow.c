/* cow.c - copy-on-write after a fork, measured in the replaying process itself (issue 22): which
 * pages of the allocator's memory were present when the process was forked (or first forked),
 * and of those, which it now holds alone; its new pages; its PSS. Only the allocator's ranges
 * count (read-write anonymous mappings minus the replayer's own, as hole finding takes them,
 * minus this binary's .bss). Never calls malloc: it runs between replayed calls. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "replay.h"
#include "../lib/maps.h"

#define PAGE 4096u
#define PM_PRESENT (1ull << 63)
#define PM_EXCLUSIVE (1ull << 56) /* the page is mapped once (mapcount 1): readable unprivileged */
#define PM_CHUNK 8192u            /* pagemap entries per read (64 KiB) */
#define COW_RANGE_MAX (1ull << 36) /* wider ranges are reservations, not heap: left out */

extern char __bss_start[], _end[];

int cow_init(struct cow *c)
{
    memset(c, 0, sizeof *c);
    holes_init(&c->h);
    c->pm = mem_map(PM_CHUNK * sizeof *c->pm, "mallog:cow");
    return c->pm ? 0 : -1;
}

void cow_fini(struct cow *c)
{
    holes_fini(&c->h);
    if (c->pm)
        mem_unmap(c->pm, PM_CHUNK * sizeof *c->pm);
    if (c->inh)
        mem_unmap(c->inh, c->cap_inh * sizeof *c->inh);
    if (c->bits)
        mem_unmap(c->bits, c->cap_bits * sizeof *c->bits);
    mem_buf_free(&c->smaps);
    memset(c, 0, sizeof *c);
}

/* Removes [a, b) from the sorted ranges of h (this binary's .bss: the replayer's statics). */
static void cut_range(struct holes *h, uint64_t a, uint64_t b)
{
    for (uint64_t i = 0; i < h->nr; i++) {
        uint64_t s = h->ranges[i][0], e = h->ranges[i][1];
        if (b <= s || a >= e)
            continue;
        if (a <= s && b >= e) { /* all of it */
            memmove(&h->ranges[i], &h->ranges[i + 1], (h->nr - i - 1) * sizeof *h->ranges);
            h->nr--;
            i--;
        } else if (a <= s) {
            h->ranges[i][0] = b;
        } else if (b >= e) {
            h->ranges[i][1] = a;
        } else { /* the middle: keep the head here; the tail is rare and dropped, not split */
            h->ranges[i][1] = a;
        }
    }
}

/* The allocator's ranges now, into c->h.ranges. 0 or -1. */
static int read_ranges(struct cow *c)
{
    if (mem_buf_read_file(&c->h.maps, "/proc/self/maps") < 0 ||
        holes_parse_maps(&c->h, c->h.maps.p, c->h.maps.len) < 0)
        return -1;
    cut_range(&c->h, (uint64_t)__bss_start & ~(uint64_t)(PAGE - 1),
              ((uint64_t)_end + PAGE - 1) & ~(uint64_t)(PAGE - 1));
    /* a reservation of terabytes (ASan's shadow) is no heap, and its page map alone would be
     * gigabytes to read */
    for (uint64_t i = 0; i < c->h.nr; i++)
        if (c->h.ranges[i][1] - c->h.ranges[i][0] > COW_RANGE_MAX) {
            memmove(&c->h.ranges[i], &c->h.ranges[i + 1], (c->h.nr - i - 1) * sizeof *c->h.ranges);
            c->h.nr--;
            i--;
        }
    return 0;
}

/* Calls fn(ctx, addr, entry) for every page of [a, b) with its pagemap entry. 0 or -1. */
static int walk(struct cow *c, int fd, uint64_t a, uint64_t b,
                void (*fn)(struct cow *c, uint64_t addr, uint64_t e, void *ctx), void *ctx)
{
    for (uint64_t p = a; p < b;) {
        uint64_t n = (b - p) / PAGE;
        if (n > PM_CHUNK)
            n = PM_CHUNK;
        ssize_t got = pread(fd, c->pm, n * 8, (off_t)(p / PAGE * 8));
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return -1;
        uint64_t k = (uint64_t)got / 8;
        for (uint64_t i = 0; i < k; i++)
            fn(c, p + i * PAGE, c->pm[i], ctx);
        p += k * PAGE;
    }
    return 0;
}

static void mark_present(struct cow *c, uint64_t addr, uint64_t e, void *ctx)
{
    uint64_t *bit = ctx;
    if (e & PM_PRESENT) {
        c->bits[*bit / 64] |= 1ull << (*bit % 64);
        c->inherited += PAGE;
    }
    (void)addr;
    ++*bit;
}

int cow_snapshot(struct cow *c)
{
    if (read_ranges(c) < 0)
        return -1;
    uint64_t pages = 0;
    for (uint64_t i = 0; i < c->h.nr; i++)
        pages += (c->h.ranges[i][1] - c->h.ranges[i][0]) / PAGE;
    if (mem_reserve(&c->inh, &c->cap_inh, c->h.nr + 1, sizeof *c->inh, 64) < 0 ||
        mem_reserve(&c->bits, &c->cap_bits, pages / 64 + 1, sizeof *c->bits, 1024) < 0)
        return -1;
    memset(c->bits, 0, (pages / 64 + 1) * sizeof *c->bits);
    c->ninh = c->h.nr;
    c->inherited = 0;
    int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC); /* this process's, after a fork */
    if (fd < 0)
        return -1;
    uint64_t bit = 0;
    for (uint64_t i = 0; i < c->h.nr; i++) {
        c->inh[i][0] = c->h.ranges[i][0];
        c->inh[i][1] = c->h.ranges[i][1];
        c->inh[i][2] = bit;
        if (walk(c, fd, c->h.ranges[i][0], c->h.ranges[i][1], mark_present, &bit) < 0) {
            close(fd);
            return -1;
        }
    }
    close(fd);
    c->have_snapshot = 1;
    return 0;
}

/* Whether addr was present in the snapshot. */
static int was_present(const struct cow *c, uint64_t addr)
{
    uint64_t lo = 0, hi = c->ninh;
    while (lo < hi) {
        uint64_t mid = (lo + hi) / 2;
        if (addr < c->inh[mid][0])
            hi = mid;
        else if (addr >= c->inh[mid][1])
            lo = mid + 1;
        else {
            uint64_t bit = c->inh[mid][2] + (addr - c->inh[mid][0]) / PAGE;
            return (c->bits[bit / 64] >> (bit % 64)) & 1;
        }
    }
    return 0;
}

static void count_page(struct cow *c, uint64_t addr, uint64_t e, void *ctx)
{
    struct cow_figures *f = ctx;
    if (!(e & PM_PRESENT))
        return;
    if (c->have_snapshot && was_present(c, addr)) {
        if (e & PM_EXCLUSIVE)
            f->unshared += PAGE;
    } else if (e & PM_EXCLUSIVE) {
        f->fresh += PAGE;
    }
}

/* A "Name:   1234 kB" line's value in bytes. */
static uint64_t kb_value(const char *s, const char *eol)
{
    uint64_t kb = 0;
    while (s < eol && (*s < '0' || *s > '9'))
        s++;
    while (s < eol && *s >= '0' && *s <= '9')
        kb = kb * 10 + (uint64_t)(*s++ - '0');
    return kb * 1024;
}

/* PSS and private bytes of the mappings that are the allocator's (smaps). 0 or -1. */
static int read_pss(struct cow *c, struct cow_figures *f)
{
    if (mem_buf_read_file(&c->smaps, "/proc/self/smaps") < 0)
        return -1;
    const char *p = c->smaps.p, *stop = p + c->smaps.len;
    int counted = 0;
    uint64_t priv = 0;
    while (p < stop) {
        const char *eol = memchr(p, '\n', (size_t)(stop - p));
        if (!eol)
            eol = stop;
        if (*p >= 'A' && *p <= 'Z') {
            if (counted && eol - p > 4 && memcmp(p, "Pss:", 4) == 0)
                f->pss += kb_value(p + 4, eol);
            else if (counted && eol - p > 8 && memcmp(p, "Private_", 8) == 0)
                priv += kb_value(p + 8, eol);
        } else {
            struct mlg_map m;
            counted = mlg_maps_line(p, eol, &m) && holes_find_range(&c->h, m.start) >= 0;
        }
        p = eol + 1;
    }
    f->shared = f->pss > priv ? f->pss - priv : 0;
    return 0;
}

int cow_measure(struct cow *c, struct cow_figures *f)
{
    memset(f, 0, sizeof *f);
    if (read_ranges(c) < 0)
        return -1;
    int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    for (uint64_t i = 0; i < c->h.nr; i++)
        if (walk(c, fd, c->h.ranges[i][0], c->h.ranges[i][1], count_page, f) < 0) {
            close(fd);
            return -1;
        }
    close(fd);
    f->inherited = c->inherited;
    return read_pss(c, f);
}

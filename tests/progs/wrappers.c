/* wrappers.c - allocations through two levels of the program's own wrappers (xmalloc -> my_alloc
 * -> malloc) from three callers with known counts: parse_config 10 x 32 B, build_index 20 x 64 B,
 * load_records 30 x 128 B. load_records keeps its last 5 blocks (leaks); the rest is freed.
 * `mallog stats --by site` must name the three callers, not the wrappers.
 * `wrappers pins`: then 8 rounds of a growing 100 KB buffer freed after pin_block has allocated
 * a 232-byte block (through xmalloc) right after it: glibc keeps 8 holes, each pinned by a block
 * whose site is pin_block, for `mallog holes`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned long wrapped;

__attribute__((noinline)) static void *my_alloc(size_t n)
{
    void *p = malloc(n);
    if (!p)
        abort();
    wrapped++;
    return p;
}

__attribute__((noinline)) void *xmalloc(size_t n)
{
    void *p = my_alloc(n);
    memset(p, 0, n);
    return p;
}

__attribute__((noinline)) static void parse_config(void)
{
    void *p[10];
    for (int i = 0; i < 10; i++)
        p[i] = xmalloc(32);
    for (int i = 0; i < 10; i++)
        free(p[i]);
}

__attribute__((noinline)) static void build_index(void)
{
    void *p[20];
    for (int i = 0; i < 20; i++)
        p[i] = xmalloc(64);
    for (int i = 0; i < 20; i++)
        free(p[i]);
}

static void *kept[5];

__attribute__((noinline)) static void load_records(void)
{
    for (int i = 0; i < 30; i++) {
        void *p = xmalloc(128);
        if (i >= 25)
            kept[i - 25] = p;
        else
            free(p);
    }
}

__attribute__((noinline)) static void *pin_block(void)
{
    return xmalloc(232);
}

static void *pins[8];

static void pin_holes(void)
{
    for (int r = 0; r < 8; r++) {
        char *buf = malloc(100000 + 4096 * (size_t)r); /* each larger than the holes before */
        memset(buf, 1, 1000);
        pins[r] = pin_block();
        free(buf);
    }
}

int main(int argc, char **argv)
{
    parse_config();
    build_index();
    load_records();
    if (argc > 1 && strcmp(argv[1], "pins") == 0)
        pin_holes();
    printf("wrapped %lu kept %p\n", wrapped, kept[0]);
    return 0;
}

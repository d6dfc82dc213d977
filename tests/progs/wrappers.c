/* wrappers.c - allocations through two levels of the program's own wrappers (xmalloc -> my_alloc
 * -> malloc) from three callers with known counts: parse_config 10 x 32 B, build_index 20 x 64 B,
 * load_records 30 x 128 B. load_records keeps its last 5 blocks (leaks); the rest is freed.
 * `mallog stats --by site` must name the three callers, not the wrappers. */
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

int main(void)
{
    parse_config();
    build_index();
    load_records();
    printf("wrapped %lu kept %p\n", wrapped, kept[0]);
    return 0;
}

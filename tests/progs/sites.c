/* sites.c - allocations from known functions, for call-site attribution (--stacks).
 *
 * Exact counts per function: small_objects 100 malloc(48), all freed; scratch_buffers 10
 * malloc(4096), all freed; leak_records 7 malloc(24), never freed; grow_text 1 malloc(16) then 5
 * realloc growing it, freed; zeroed_table 3 calloc(4, 32), freed. Each function is noinline and
 * keeps its frame pointer so both unwinders see it. Built with -fno-omit-frame-pointer through the
 * pragma below (the test Makefile flags stay the same for every program).
 */
#pragma GCC optimize("no-omit-frame-pointer")
#include <stdlib.h>
#include <string.h>

static void *volatile sink[128];

__attribute__((noinline)) static void small_objects(void)
{
    for (int i = 0; i < 100; i++)
        sink[i] = malloc(48);
    for (int i = 0; i < 100; i++)
        free(sink[i]);
}

__attribute__((noinline)) static void scratch_buffers(void)
{
    for (int i = 0; i < 10; i++) {
        char *p = malloc(4096);
        memset(p, i, 4096);
        sink[0] = p;
        free(p);
    }
}

__attribute__((noinline)) static void leak_records(void)
{
    for (int i = 0; i < 7; i++)
        sink[i] = malloc(24); /* never freed: the leak */
}

__attribute__((noinline)) static void grow_text(void)
{
    char *s = malloc(16);
    for (int i = 1; i <= 5; i++)
        s = realloc(s, 16u << (2 * i));
    sink[0] = s;
    free(s);
}

__attribute__((noinline)) static void zeroed_table(void)
{
    for (int i = 0; i < 3; i++) {
        sink[i] = calloc(4, 32);
        free(sink[i]);
    }
}

int main(void)
{
    small_objects();
    scratch_buffers();
    leak_records();
    grow_text();
    zeroed_table();
    return 0;
}

/* analyze_basic.c - a workload with known figures for `mallog stats` (tests/e2e/t_stats_basic.sh).
 * It prints nothing (stdio would allocate a buffer). Phases, in event order:
 *   1. peak: 50 x malloc(2000) held together (100,000 bytes), then freed in allocation order:
 *      each lives exactly 50 events (49 later allocations + itself... see t_stats_basic.sh)
 *   2. temporaries: 20 x (malloc(64); free) - each freed 1 event after its allocation
 *   3. growth chain: malloc(16), then 100 x realloc to 16 + 8*i (i = 1..100): chain length 100,
 *      16 -> 816 bytes; then free
 *   4. calloc(10, 10) freed; one failing malloc(huge)
 *   5. leaks: 3 x malloc(24) and 2 x malloc(4000), never freed (72 + 8000 bytes)
 * Variants (argv[1]), for diff/check tests:
 *   "leak"    one more malloc(24) leaked (4 x 24)
 *   "bigger"  the phase-1 buffers are 4000 bytes (peak 200,000)
 * Allocations: 50 + 20 + 1 + 1 + 5 = 77 (78 with "leak"); reallocs 100; frees 50 + 20 + 2 = 72. */
#pragma GCC diagnostic ignored "-Walloc-size-larger-than="
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void *volatile keep[6]; /* the leaks stay reachable: a global, not optimised away */

int main(int argc, char **argv)
{
    int leak = argc > 1 && strcmp(argv[1], "leak") == 0;
    size_t big = argc > 1 && strcmp(argv[1], "bigger") == 0 ? 4000 : 2000;
    void *p[50];
    for (int i = 0; i < 50; i++)
        p[i] = malloc(big);
    for (int i = 0; i < 50; i++)
        free(p[i]);
    for (int i = 0; i < 20; i++) {
        void *t = malloc(64);
        free(t);
    }
    char *s = malloc(16);
    for (int i = 1; i <= 100; i++) {
        char *n = realloc(s, 16 + 8 * (size_t)i);
        if (!n)
            return 3;
        s = n;
    }
    free(s);
    void *c = calloc(10, 10);
    free(c);
    void *volatile huge = malloc(SIZE_MAX / 2);
    if (huge)
        return 3;
    for (int i = 0; i < 3; i++)
        keep[i] = malloc(24);
    keep[3] = malloc(4000);
    keep[4] = malloc(4000);
    if (leak)
        keep[5] = malloc(24);
    return 0;
}

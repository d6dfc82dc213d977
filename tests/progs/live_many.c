/* live_many.c - many blocks live at once, for the memory of `mallog stats` per live block.
 *
 * live_many [N [CHURN]]: allocates N blocks (default 600000) of 16..271 bytes and keeps them,
 * every 8th of them reallocated once (a realloc chain); between allocations CHURN short-lived
 * malloc/free pairs (default 3) lengthen the log. At the end half of the blocks are freed and
 * the rest leak: peak live blocks = N, leaked blocks = N - N/2. Deterministic sizes. */
#include <stdlib.h>

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 600000, churn = argc > 2 ? atol(argv[2]) : 3;
    void **v = malloc((size_t)n * sizeof *v);
    if (!v)
        return 1;
    for (long i = 0; i < n; i++) {
        v[i] = malloc(16 + (size_t)(i % 256));
        if (i % 8 == 0)
            v[i] = realloc(v[i], 32 + (size_t)(i % 256));
        for (long k = 0; k < churn; k++)
            free(malloc(64 + (size_t)k));
    }
    for (long i = 0; i < n; i += 2)
        free(v[i]);
    return 0;
}

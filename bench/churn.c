/* churn.c - malloc-bound benchmark workload: N calls (default 10M) of random-size malloc/free/
 * realloc over a working set of 32k live blocks, deterministic (fixed xorshift seed).
 * usage: churn [calls] [live_slots] */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng = 88172645463325252ull;

static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static size_t random_size(void)
{
    uint64_t r = next();
    unsigned cls = (unsigned)(r % 100);
    if (cls < 60)
        return 8 + (r >> 8) % 120;      /* small objects */
    if (cls < 90)
        return 128 + (r >> 8) % 1920;   /* medium */
    if (cls < 99)
        return 2048 + (r >> 8) % 30000; /* large-ish */
    return 65536 + (r >> 8) % 200000;   /* a few big buffers */
}

int main(int argc, char **argv)
{
    long calls = argc > 1 ? atol(argv[1]) : 10000000;
    size_t slots = argc > 2 ? (size_t)atol(argv[2]) : 32768;
    void **live = calloc(slots, sizeof *live);
    uint64_t checksum = 0;
    for (long i = 0; i < calls;) {
        size_t k = (size_t)(next() % slots);
        if (live[k]) {
            if (next() % 8 == 0) {
                void *p = realloc(live[k], random_size());
                if (p)
                    live[k] = p;
            } else {
                free(live[k]);
                live[k] = NULL;
            }
        } else {
            size_t n = random_size();
            live[k] = malloc(n);
            if (live[k])
                memset(live[k], (int)i, n < 64 ? n : 64);
        }
        checksum += (uintptr_t)live[k] & 0xff;
        i++;
    }
    for (size_t k = 0; k < slots; k++)
        free(live[k]);
    free(live);
    printf("%llu\n", (unsigned long long)checksum);
    return 0;
}

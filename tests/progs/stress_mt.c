/* stress_mt.c - multi-threaded allocator stress: T threads (default 8) each make N operations
 * (default 300000) of malloc/realloc/free on a shared table of slots, so blocks are freed and
 * reallocated by threads other than the one that allocated them. Every block is freed at the end,
 * so a correct log has 0 live blocks, 0 unknown frees and 0 ordering inversions.
 * usage: stress_mt [threads] [ops_per_thread] */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SLOTS 4096

static void *slots[SLOTS];
static pthread_mutex_t locks[64];
static long ops_per_thread = 300000;

static uint64_t xorshift(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void *worker(void *arg)
{
    uint64_t seed = 0x9E3779B97F4A7C15ull * ((uintptr_t)arg + 1);
    for (long i = 0; i < ops_per_thread; i++) {
        size_t k = (size_t)(xorshift(&seed) % SLOTS);
        pthread_mutex_t *l = &locks[k % 64];
        size_t size = 1 + (size_t)(xorshift(&seed) % 2000);
        pthread_mutex_lock(l);
        void *p = slots[k];
        unsigned action = (unsigned)(xorshift(&seed) % 4);
        if (!p) {
            slots[k] = malloc(size);
        } else if (action == 0) {
            void *q = realloc(p, size);
            if (q)
                slots[k] = q;
        } else {
            free(p);
            slots[k] = NULL;
        }
        pthread_mutex_unlock(l);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : 8;
    if (argc > 2)
        ops_per_thread = atol(argv[2]);
    for (int i = 0; i < 64; i++)
        pthread_mutex_init(&locks[i], NULL);
    pthread_t *t = calloc((size_t)threads, sizeof *t);
    for (int i = 0; i < threads; i++)
        pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)i);
    for (int i = 0; i < threads; i++)
        pthread_join(t[i], NULL);
    for (int k = 0; k < SLOTS; k++)
        free(slots[k]);
    free(t);
    return 0;
}

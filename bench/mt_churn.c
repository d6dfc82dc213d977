/* mt_churn.c - a malloc-bound multi-threaded workload: T threads (default 4) each make N calls
 * (default 500000) of malloc/free/realloc with random sizes on a working set of their own, and
 * hand every 8th block they make to the next thread, which frees it (frees by another thread,
 * through a lock-free ring per pair of threads: no lock on the hot path, so the threads' calls
 * interleave as finely as the cores allow). Everything is freed at the end.
 * usage: mt_churn [threads] [calls_per_thread] */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_THREADS 64
#define WORKING_SET 2048
#define RING 1024 /* power of two */

struct ring { /* single producer (thread i), single consumer (thread i + 1) */
    _Alignas(64) _Atomic uint64_t head;
    _Alignas(64) _Atomic uint64_t tail;
    void *slot[RING];
};

static struct ring rings[MAX_THREADS];
static int nthreads = 4;
static long calls = 500000;
static _Atomic int finished;

static uint64_t xorshift(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static size_t rand_size(uint64_t *s)
{
    uint64_t r = xorshift(s);
    return (r & 7) == 0 ? 1024 + r % 16384 : 16 + r % 512; /* mostly small, some larger */
}

/* Gives p to the next thread; 0 if its ring is full. */
static int hand_on(struct ring *r, void *p)
{
    uint64_t h = atomic_load_explicit(&r->head, memory_order_relaxed);
    if (h - atomic_load_explicit(&r->tail, memory_order_acquire) == RING)
        return 0;
    r->slot[h & (RING - 1)] = p;
    atomic_store_explicit(&r->head, h + 1, memory_order_release);
    return 1;
}

/* Frees what the previous thread handed on (at most max). */
static void drain(struct ring *r, int max)
{
    uint64_t t = atomic_load_explicit(&r->tail, memory_order_relaxed);
    uint64_t h = atomic_load_explicit(&r->head, memory_order_acquire);
    for (int i = 0; t < h && i < max; t++, i++)
        free(r->slot[t & (RING - 1)]);
    atomic_store_explicit(&r->tail, t, memory_order_release);
}

static void *run(void *arg)
{
    long id = (long)(intptr_t)arg;
    uint64_t seed = 0x9E3779B97F4A7C15ull * (uint64_t)(id + 1);
    static _Thread_local void *set[WORKING_SET];
    struct ring *out = &rings[id], *in = &rings[(id + nthreads - 1) % nthreads];
    for (long i = 0; i < calls; i++) {
        uint64_t r = xorshift(&seed);
        size_t k = (size_t)(r % WORKING_SET);
        if (!set[k]) {
            set[k] = malloc(rand_size(&seed));
            memset(set[k], 1, 8);
        } else if ((r >> 20) % 8 == 0) {
            set[k] = realloc(set[k], rand_size(&seed));
        } else if ((r >> 24) % 8 == 0 && hand_on(out, set[k])) {
            set[k] = NULL;
        } else {
            free(set[k]);
            set[k] = NULL;
        }
        if ((i & 15) == 0)
            drain(in, 16);
    }
    for (size_t k = 0; k < WORKING_SET; k++)
        free(set[k]);
    atomic_fetch_add(&finished, 1);
    /* the next thread may have ended: whoever is last frees what is left in every ring */
    while (atomic_load(&finished) < nthreads)
        drain(in, RING);
    drain(in, RING);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc > 1)
        nthreads = atoi(argv[1]);
    if (argc > 2)
        calls = atol(argv[2]);
    if (nthreads < 1 || nthreads > MAX_THREADS || calls < 1) {
        fprintf(stderr, "usage: mt_churn [threads 1..64] [calls_per_thread]\n");
        return 2;
    }
    pthread_t tid[MAX_THREADS];
    for (long i = 0; i < nthreads; i++)
        pthread_create(&tid[i], NULL, run, (void *)(intptr_t)i);
    for (int i = 0; i < nthreads; i++)
        pthread_join(tid[i], NULL);
    return 0;
}

/* arenas_mt.c - a multi-threaded program whose footprint depends on per-thread arenas, to check
 * a threaded replay against the real program. T threads (default 8, even) start together; the
 * first half ("producers") each allocate N blocks of 64-448 bytes and free every other one,
 * leaving holes in their own arena; after a barrier the second half ("consumers") each allocate
 * N/2 blocks of the same sizes and free a fifth of the producers' remaining blocks (frees by
 * another thread). In one arena the consumers' blocks would fill the producers' holes; with an
 * arena per thread they cannot. Every thread stays alive until all are done, then all are
 * joined, and the program prints what its allocator holds and frees nothing after:
 *   glibc_system BYTES       mallinfo2 arena + hblkhd (when malloc is glibc's)
 *   jemalloc_mapped BYTES    stats.mapped (when jemalloc is preloaded)
 * usage: arenas_mt [threads] [blocks_per_producer] */
#include <dlfcn.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int nthreads = 8;
static long nblocks = 60000;
static void **blocks[64]; /* per producer */
static pthread_barrier_t made, done;

static uint64_t xorshift(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static size_t block_size(uint64_t *seed)
{
    return 64 + (size_t)(xorshift(seed) % 6) * 64; /* 64..384, a few size classes */
}

static void *producer(long id, uint64_t *seed)
{
    void **v = blocks[id];
    for (long i = 0; i < nblocks; i++) {
        v[i] = malloc(block_size(seed));
        memset(v[i], 1, 16);
    }
    for (long i = 0; i < nblocks; i += 2) {
        free(v[i]);
        v[i] = NULL;
    }
    pthread_barrier_wait(&made);
    return NULL;
}

static void *consumer(long id, uint64_t *seed)
{
    pthread_barrier_wait(&made);
    long nprod = nthreads / 2, me = id - nprod;
    void **mine = malloc((size_t)nblocks / 2 * sizeof *mine);
    for (long i = 0; i < nblocks / 2; i++) {
        mine[i] = malloc(block_size(seed));
        memset(mine[i], 2, 16);
    }
    /* a fifth of producer `me`'s live blocks, freed here */
    void **v = blocks[me % nprod];
    for (long i = 1 + 2 * (me / nprod); i < nblocks; i += 10) {
        free(v[i]);
        v[i] = NULL;
    }
    return mine; /* kept live */
}

static void *run(void *arg)
{
    long id = (long)(intptr_t)arg;
    uint64_t seed = 0x9E3779B97F4A7C15ull * (uint64_t)(id + 1);
    void *r = id < nthreads / 2 ? producer(id, &seed) : consumer(id, &seed);
    pthread_barrier_wait(&done);
    return r;
}

int main(int argc, char **argv)
{
    if (argc > 1)
        nthreads = atoi(argv[1]);
    if (argc > 2)
        nblocks = atol(argv[2]);
    if (nthreads < 2 || nthreads > 64 || nthreads % 2 || nblocks < 10) {
        fprintf(stderr, "usage: arenas_mt [threads: even, 2..64] [blocks >= 10]\n");
        return 2;
    }
    for (int i = 0; i < nthreads / 2; i++)
        blocks[i] = malloc((size_t)nblocks * sizeof *blocks[i]);
    pthread_barrier_init(&made, NULL, (unsigned)nthreads);
    pthread_barrier_init(&done, NULL, (unsigned)nthreads);
    pthread_t tid[64];
    for (long i = 0; i < nthreads; i++)
        pthread_create(&tid[i], NULL, run, (void *)(intptr_t)i);
    for (int i = 0; i < nthreads; i++)
        pthread_join(tid[i], NULL);
    int (*mallctl)(const char *, void *, size_t *, void *, size_t) =
        (int (*)(const char *, void *, size_t *, void *, size_t))dlsym(RTLD_DEFAULT, "mallctl");
    if (mallctl) {
        uint64_t epoch = 1;
        size_t mapped = 0, len = sizeof mapped;
        mallctl("epoch", NULL, NULL, &epoch, sizeof epoch);
        if (mallctl("stats.mapped", &mapped, &len, NULL, 0) == 0)
            printf("jemalloc_mapped %zu\n", mapped);
    } else {
        struct mallinfo2 mi = mallinfo2();
        printf("glibc_system %zu\n", mi.arena + mi.hblkhd);
    }
    return 0;
}

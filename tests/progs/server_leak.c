/* server_leak.c - behaves like a long-running server, for `mallog stats --growth`.
 *
 * usage: server_leak [REQUESTS] [late|early] [SEED]
 * load_config allocates one 64 KiB block at start and keeps it. Each request, handle_request takes
 * three temporary buffers (512..4095 bytes) and frees them; every 8th request cache_put adds an
 * entry of 200..799 bytes to a cache of at most 400 entries, evicting the oldest once full (full
 * after 3200 requests, 8% of the default 40000; its content turns over every 3200 requests after
 * that). remember_session leaks 40 bytes every 32nd request (from the first request, or with
 * "late" from the middle of the run). At the end it prints what it leaked ("leaked B bytes in N
 * blocks") on stderr, so a test compares the analysis with the real figure. Deterministic: a fixed
 * xorshift seed (or SEED). Functions are noinline and keep frame pointers so both unwinders see
 * them.
 */
#pragma GCC optimize("no-omit-frame-pointer")
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CACHE_CAP 400
#define LEAK_SIZE 40

static unsigned long long rng = 0x2545f4914f6cdd1dull;
static unsigned long long rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static char *config;
static void *cache[CACHE_CAP];
static int cache_n, cache_head;
static void **sessions; /* the leak: a chain no one frees */
static unsigned long leaked_blocks;

__attribute__((noinline)) static void load_config(void)
{
    config = malloc(64 * 1024);
    memset(config, 1, 64 * 1024);
}

__attribute__((noinline)) static void cache_put(unsigned long key)
{
    size_t size = 200 + rnd() % 600;
    char *e = malloc(size);
    memset(e, (int)key, size);
    if (cache_n == CACHE_CAP) { /* evict the oldest */
        free(cache[cache_head]);
        cache[cache_head] = e;
        cache_head = (cache_head + 1) % CACHE_CAP;
    } else {
        cache[cache_n++] = e;
    }
}

__attribute__((noinline)) static void remember_session(unsigned long id)
{
    void **s = malloc(LEAK_SIZE);
    s[0] = sessions;
    s[1] = (void *)id;
    sessions = s;
    leaked_blocks++;
}

__attribute__((noinline)) static unsigned handle_request(unsigned long id)
{
    char *buf[3];
    unsigned sum = 0;
    for (int i = 0; i < 3; i++) {
        size_t size = 512 + rnd() % 3584;
        buf[i] = malloc(size);
        memset(buf[i], (int)id, size);
        sum += (unsigned char)buf[i][size / 2];
    }
    for (int i = 0; i < 3; i++)
        free(buf[i]);
    return sum;
}

int main(int argc, char **argv)
{
    unsigned long requests = argc > 1 ? strtoul(argv[1], NULL, 10) : 40000;
    int late = argc > 2 && strcmp(argv[2], "late") == 0;
    if (argc > 3)
        rng = strtoull(argv[3], NULL, 0) * 2 + 1; /* xorshift needs a nonzero state */
    unsigned sum = 0;
    load_config();
    for (unsigned long id = 0; id < requests; id++) {
        sum += handle_request(id);
        if (id % 8 == 0)
            cache_put(id);
        if (id % 32 == 31 && (!late || id >= requests / 2))
            remember_session(id);
    }
    fprintf(stderr, "leaked %lu bytes in %lu blocks (checksum %u)\n", leaked_blocks * LEAK_SIZE,
            leaked_blocks, sum);
    return config[0] == 1 ? 0 : 1;
}

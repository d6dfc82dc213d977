/* fragment.c - reproduces the known glibc fragmentation pattern, deterministically (no threads,
 * no randomness, glibc defaults). Round r: a buffer starts at 8,000,835 + r*880,323 bytes and grows
 * by realloc in steps of 90 bytes to 880,984 more (round 0: 8,000,835 -> 8,880,819), overshoots by
 * 240 bytes and is trimmed back to fit; then a small long-lived block (malloc(232)) is allocated
 * right after it (it reuses the trimmed tail) and the buffer is freed. The next round's first
 * request is 339 bytes too large for the hole the buffer left, so glibc's heap gains one
 * 8-29 MB hole per round, each pinned by a 232-byte block. Size-grouped allocators (jemalloc)
 * do not show it.
 * At start the program allocates and frees one 28.5 MB block (as a program that once read a large
 * file would): glibc then raises its dynamic mmap threshold and serves the buffers from the heap.
 * Mode "mallopt" sets the mmap threshold with mallopt(M_MMAP_THRESHOLD, 32 MiB) instead of the
 * warm-up block (the same heap, by a tuning call a replay must repeat); mode "none" does neither,
 * so glibc serves every buffer by mmap and no hole appears. Mode "mixed" is "warmup" with other
 * work around the buffer: each round first allocates 48 medium blocks (3-192 KiB, fixed
 * pseudo-random sizes), frees every other one at once and the rest two rounds later, so the heap
 * holds free spans of many sizes and an allocator's placement policy decides where the next
 * blocks go (`mallog replay -a arena:MALLOG_ARENA_POLICY=...`).
 * usage: fragment [rounds] [warmup|mallopt|none|mixed] [mallinfo]   (default 24 warmup; at most 24
 * rounds so every buffer stays below 30 MiB). With "mallinfo" it also prints glibc's own
 * system bytes (mallinfo2 arena + hblkhd) at their largest, taken each round while the buffer
 * is still live (`mallog tune`'s test runs the real program with and without a setting). */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define START 8000835u
#define GROWTH 879984u /* 8,880,819 - 8,000,835 */
#define STEP 90u
#define TOO_LARGE 339u
#define PIN 232u
#define WARMUP 28500000u /* above every buffer's first request, below glibc's 32 MiB cap */
#define MEDIUMS 48        /* mode mixed: medium blocks a round */

/* Mode mixed: round r's medium blocks; those of round r - 2 are freed first. */
static void mediums(void **m, int r)
{
    static unsigned seed = 12345;
    void **mine = m + (r % 3) * MEDIUMS, **old = m + ((r + 1) % 3) * MEDIUMS;
    for (int i = 0; i < MEDIUMS; i++) {
        free(old[i]);
        old[i] = NULL;
    }
    for (int i = 0; i < MEDIUMS; i++) {
        seed = seed * 1103515245u + 12345u;
        size_t n = 3072 + (seed >> 8) % (189 * 1024);
        if ((mine[i] = malloc(n)))
            memset(mine[i], 'm', n < 4096 ? n : 4096);
    }
    for (int i = 0; i < MEDIUMS; i += 2) {
        free(mine[i]);
        mine[i] = NULL;
    }
}

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 24;
    const char *mode = argc > 2 ? argv[2] : "warmup";
    int info = argc > 3 && strcmp(argv[3], "mallinfo") == 0;
    size_t peak_system = 0;
    int mixed = strcmp(mode, "mixed") == 0;
    static void *med[3 * MEDIUMS];
    if (rounds < 1 || rounds > 24 || (argc > 3 && !info) ||
        (strcmp(mode, "warmup") && strcmp(mode, "mallopt") && strcmp(mode, "none") && !mixed)) {
        fprintf(stderr, "usage: fragment [rounds 1..24] [warmup|mallopt|none|mixed] [mallinfo]\n");
        return 2;
    }
    if (strcmp(mode, "warmup") == 0 || mixed) {
        char *warm = malloc(WARMUP);
        if (!warm)
            return 1;
        memset(warm, 'w', 4096);
        free(warm);
    } else if (strcmp(mode, "mallopt") == 0 && mallopt(M_MMAP_THRESHOLD, 32 << 20) != 1) {
        return 1;
    }
    void **pins = calloc((size_t)rounds, sizeof *pins);
    unsigned long sum = 0;
    if (!pins)
        return 1;
    size_t first = START;
    for (int r = 0; r < rounds; r++) {
        size_t n = first, end = first + GROWTH;
        if (mixed)
            mediums(med, r);
        char *buf = malloc(n), *p;
        if (!buf)
            return 1;
        memset(buf, 'a', n);
        while (n < end) {
            size_t next = n + STEP < end ? n + STEP : end;
            if (!(p = realloc(buf, next)))
                return 1;
            buf = p;
            memset(buf + n, 'b', next - n); /* the program writes what it grows */
            n = next;
        }
        /* overshoot and trim to fit, as a buffer-builder does at the end */
        if (!(p = realloc(buf, n + 240)) || !(buf = realloc(p, n)))
            return 1;
        pins[r] = malloc(PIN);
        if (!pins[r])
            return 1;
        memset(pins[r], 'p', PIN);
        sum += (unsigned char)buf[n / 2];
        if (info) {
            struct mallinfo2 mi = mallinfo2();
            if (mi.arena + mi.hblkhd > peak_system)
                peak_system = mi.arena + mi.hblkhd;
        }
        free(buf);
        first = end + TOO_LARGE;
    }
    for (int r = 0; r < rounds; r++)
        free(pins[r]);
    for (int i = 0; i < 3 * MEDIUMS; i++)
        free(med[i]);
    free(pins);
    printf("fragment: %d rounds, checksum %lu\n", rounds, sum);
    if (info)
        printf("fragment: peak system bytes %zu\n", peak_system);
    return 0;
}

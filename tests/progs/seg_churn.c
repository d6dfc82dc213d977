/* seg_churn.c - a long malloc-bound run for segmented recordings (issue 19): random malloc, free
 * and realloc over a working set of slots, deterministic (fixed xorshift seed). At the end it
 * writes how many blocks and bytes it still holds (write(2): no stdio buffer is allocated) and
 * returns without freeing them, so the log's live set at the end is exactly what it reports.
 * usage: seg_churn CALLS [SLOTS] [PAUSE]   (PAUSE: halfway, write "paused" and wait until a
 * file named PAUSE exists (2 minutes at most), for a recording in progress to be read) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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
    if (cls < 70)
        return 8 + (r >> 8) % 120;
    if (cls < 97)
        return 128 + (r >> 8) % 1920;
    return 2048 + (r >> 8) % 30000;
}

static void say(const char *s)
{
    ssize_t n = write(1, s, strlen(s));
    (void)n;
}

int main(int argc, char **argv)
{
    long calls = argc > 1 ? atol(argv[1]) : 1000000, nslots = argc > 2 ? atol(argv[2]) : 20000;
    const char *resume = argc > 3 ? argv[3] : NULL;
    void **slot = calloc((size_t)nslots, sizeof *slot);
    size_t *size = calloc((size_t)nslots, sizeof *size);
    if (!slot || !size)
        return 1;
    for (long i = 0; i < calls; i++) {
        if (resume && i == calls / 2) {
            say("paused\n");
            struct timespec ts = {0, 10000000L};
            for (int t = 0; t < 12000 && access(resume, F_OK) != 0; t++) /* 2 minutes at most */
                nanosleep(&ts, NULL);
        }
        uint64_t r = next();
        long k = (long)(r % (uint64_t)nslots);
        if (!slot[k]) {
            size[k] = random_size();
            slot[k] = malloc(size[k]);
        } else if ((r >> 32) % 4 == 0) {
            size_t n = random_size();
            void *p = realloc(slot[k], n);
            if (p) {
                slot[k] = p;
                size[k] = n;
            }
        } else {
            free(slot[k]);
            slot[k] = NULL;
        }
        if (slot[k])
            memset(slot[k], (int)i, 8);
    }
    /* the two tables themselves are live blocks too */
    uint64_t blocks = 2, bytes = (uint64_t)nslots * (sizeof *slot + sizeof *size);
    for (long k = 0; k < nslots; k++)
        if (slot[k]) {
            blocks++;
            bytes += size[k];
        }
    char line[96];
    snprintf(line, sizeof line, "live %llu %llu\n", (unsigned long long)blocks,
             (unsigned long long)bytes);
    say(line);
    return 0;
}

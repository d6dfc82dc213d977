/* prefork.c - a pre-fork server in miniature (issue 22): the master builds MB megabytes of small
 * (64-448 B) and some few-KB blocks, writes them all, then forks 4 workers and waits for them.
 * Each worker measures its own Private_Dirty (/proc/self/smaps_rollup) right after the fork and
 * again after its work, touching nothing else, and prints the growth:
 *   worker 0 every8   frees every 8th inherited block
 *   worker 1 quarter  frees the first quarter of the inherited blocks
 *   worker 2 renew    frees the first quarter, then allocates as many new blocks (written)
 *   worker 3 control  only allocates new blocks (an eighth as many, written), frees nothing
 * Output: "worker K NAME pid PID private_dirty_growth BYTES" per worker, then "master blocks N
 * bytes B". No stdio before a worker's second measurement (stdio allocates).
 * Usage: prefork [MB] (default 100) */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static void **blk;
static size_t *blk_size;
static size_t nblk;

/* The block sizes: a fixed sequence (LCG), 64-448 B in steps of 16, every 32nd 1-4 KiB. */
static size_t size_of(size_t i)
{
    uint64_t x = (i + 1) * 6364136223846793005ull + 1442695040888963407ull;
    x ^= x >> 29;
    if (i % 32 == 31)
        return 1024 + (x % 13) * 256;
    return 64 + (x % 25) * 16;
}

/* Private_Dirty of the whole process, bytes, from smaps_rollup, read without malloc. */
static uint64_t private_dirty(void)
{
    static char buf[8192];
    int fd = open("/proc/self/smaps_rollup", O_RDONLY);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = 0;
    char *p = strstr(buf, "Private_Dirty:");
    if (!p)
        return 0;
    return strtoull(p + 14, NULL, 10) * 1024;
}

static void fill(void *p, size_t size, size_t i)
{
    memset(p, (int)(i & 0x7f) | 1, size);
}

static void worker(int k)
{
    static const char *const names[] = {"every8", "quarter", "renew", "control"};
    uint64_t before = private_dirty();
    size_t q = nblk / 4;
    switch (k) {
    case 0:
        for (size_t i = 0; i < nblk; i += 8)
            free(blk[i]);
        break;
    case 1:
        for (size_t i = 0; i < q; i++)
            free(blk[i]);
        break;
    case 2:
        for (size_t i = 0; i < q; i++)
            free(blk[i]);
        for (size_t i = 0; i < q; i++) {
            blk[i] = malloc(blk_size[i]);
            fill(blk[i], blk_size[i], i);
        }
        break;
    default:
        for (size_t i = 0; i < nblk / 8; i++) {
            void *p = malloc(blk_size[i]);
            fill(p, blk_size[i], i);
        }
        break;
    }
    uint64_t after = private_dirty();
    char line[160];
    int n = snprintf(line, sizeof line, "worker %d %s pid %d private_dirty_growth %llu\n", k,
                     names[k], (int)getpid(),
                     (unsigned long long)(after > before ? after - before : 0));
    if (write(1, line, (size_t)n) != n)
        _exit(1);
    exit(0);
}

int main(int argc, char **argv)
{
    size_t mb = argc > 1 ? strtoul(argv[1], NULL, 10) : 100;
    size_t want = mb << 20, total = 0;
    size_t cap = want / 64 + 1;
    /* the master's own tables are not heap: mapped, so the allocator's figures are the blocks' */
    blk = mmap(NULL, cap * sizeof *blk, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    blk_size = mmap(NULL, cap * sizeof *blk_size, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (blk == MAP_FAILED || blk_size == MAP_FAILED)
        return 1;
    while (total < want && nblk < cap) {
        size_t s = size_of(nblk);
        void *p = malloc(s);
        if (!p)
            return 1;
        fill(p, s, nblk);
        blk[nblk] = p;
        blk_size[nblk++] = s;
        total += s;
    }
    fflush(stdout);
    pid_t pids[4];
    for (int k = 0; k < 4; k++) {
        pids[k] = fork();
        if (pids[k] < 0)
            return 1;
        if (pids[k] == 0)
            worker(k);
    }
    int bad = 0;
    for (int k = 0; k < 4; k++) {
        int st;
        if (waitpid(pids[k], &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
            bad = 1;
    }
    printf("master blocks %zu bytes %zu\n", nblk, total);
    return bad;
}

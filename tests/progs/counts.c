/* counts.c - makes a known number of each allocator call with known sizes and outcomes, so
 * `mallog info` and `mallog dump` can be checked exactly (tests/e2e/t_record_counts.sh).
 *   malloc 10 (sizes 100*i+1) + malloc(0) + failing malloc(huge): 12 malloc calls, 1 failed
 *   calloc 5 (n=i+1, 24) + overflowing calloc: 6 calls, 1 overflow
 *   realloc: NULL->64, grow 64->100000 (moved), shrink ->50 (in place), realloc(p,0) freed,
 *            huge realloc failed: 5 calls
 *   reallocarray: 2 ok + 1 overflow = 3
 *   posix_memalign: (64,1000) ok, (3,10) EINVAL = 2;  aligned_alloc (4096, 8192) = 1
 *   memalign (256, 300) = 1; valloc(5000) = 1; pvalloc(100) = 1
 *   malloc_usable_size 1, malloc_trim 1, mallopt 1 (M_MMAP_THRESHOLD... value kept default)
 *   free: everything live is freed + free(NULL) once. */
#pragma GCC diagnostic ignored "-Walloc-size-larger-than="
#pragma GCC diagnostic ignored "-Wuse-after-free"
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
    void *m[10];
    for (int i = 0; i < 10; i++)
        m[i] = malloc((size_t)(100 * i + 1));
    void *zero = malloc(0);
    void *volatile huge = malloc(SIZE_MAX / 2);
    if (huge)
        return 3;
    void *c[5];
    for (int i = 0; i < 5; i++)
        c[i] = calloc((size_t)i + 1, 24);
    void *volatile over = calloc(SIZE_MAX / 2, 16);
    if (over)
        return 3;
    void *r = realloc(NULL, 64);
    r = realloc(r, 100000);
    r = realloc(r, 50);
    void *r2 = malloc(10);
    void *volatile rz = realloc(r2, 0); /* glibc: frees r2, returns NULL */
    if (rz)
        free(rz);
    void *volatile rf = realloc(r, SIZE_MAX / 2);
    if (rf)
        return 3;
    void *ra = reallocarray(NULL, 10, 10);
    ra = reallocarray(ra, 20, 10);
    void *volatile rao = reallocarray(ra, SIZE_MAX / 2, 4);
    if (rao)
        return 3;
    void *pm = NULL, *pbad = NULL;
    if (posix_memalign(&pm, 64, 1000) != 0)
        return 3;
    if (posix_memalign(&pbad, 3, 10) != EINVAL)
        return 3;
    void *aa = aligned_alloc(4096, 8192);
    void *ma = memalign(256, 300);
    void *va = valloc(5000);
    void *pv = pvalloc(100);
    size_t us = malloc_usable_size(m[1]);
    malloc_trim(0);
    mallopt(M_TOP_PAD, 0);
    for (int i = 0; i < 10; i++)
        free(m[i]);
    free(zero);
    for (int i = 0; i < 5; i++)
        free(c[i]);
    free(r);
    free(ra);
    free(pm);
    free(aa);
    free(ma);
    free(va);
    free(pv);
    free(NULL);
    printf("usable %zu\n", us);
    return 0;
}

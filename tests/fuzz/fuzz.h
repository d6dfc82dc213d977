/* fuzz.h - what the fuzz targets share: the input as a file (a memfd, so a path and an fd exist
 * without touching the disk), and the repair of a mutated log's CRC-32C fields so the fuzzer gets
 * past them to the code behind them. Test code only: built by tests/fuzz/build.sh, never in lib/.
 */
#ifndef FUZZ_H
#define FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../lib/crc32c.h"
#include "../../lib/logfile.h"

/* An invariant of a target: reported with the target's file and line, then abort() (a crash the
 * fuzzer keeps). */
#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c);                  \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* The input as a file: one memfd per process, rewritten for every input. Returns the fd, positioned
 * at 0; *path names it for the APIs that open a path (/proc/self/fd/N opens the same file anew). */
static inline int fuzz_file(const uint8_t *data, size_t size, char *path, size_t plen)
{
    static int fd = -1;
    if (fd < 0) {
        fd = memfd_create("mallog-fuzz", 0);
        if (fd < 0) {
            perror("memfd_create");
            abort();
        }
    }
    if (ftruncate(fd, 0) != 0 || (size && pwrite(fd, data, size, 0) != (ssize_t)size) ||
        lseek(fd, 0, SEEK_SET) != 0) {
        perror("fuzz input file");
        abort();
    }
    snprintf(path, plen, "/proc/self/fd/%d", fd);
    return fd;
}

/* Recomputes every CRC-32C of a log in place: the file header, frame metadata, call-site and
 * trailer frames (docs/FORMAT.md). Walks the frames as a reader does and stops where the framing
 * itself no longer parses; zstd frames keep their own XXH64 (mutating them tests zstd's check). */
static inline void fuzz_fix_crcs(uint8_t *d, size_t size)
{
    size_t off = 0;
    while (size - off >= 8) {
        uint32_t magic = mlg_get32(d + off), len = mlg_get32(d + off + 4);
        if ((magic & 0xFFFFFFF0u) != MLG_SKIP_MAGIC || len > size - off - 8)
            return;
        uint8_t *body = d + off + 8;
        unsigned variant = magic & 0xf;
        off += 8 + (size_t)len;
        if (variant == MLG_SKIP_FRAME) {
            if (len != MLG_FRAME_META_SIZE)
                return;
            mlg_put32(body + 36, mlg_crc32c(body, 36));
            uint32_t comp = mlg_get32(body + 32);
            if (comp > size - off)
                return;
            off += comp;
        } else if (len >= 12) {
            mlg_put32(body + len - 4, mlg_crc32c(body, len - 4));
        }
    }
}

#endif

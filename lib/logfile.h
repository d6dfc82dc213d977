/* logfile.h - the container of a .mlog: zstd skippable frames for metadata, standard zstd frames
 * (with content checksums) for events. Shared by the lib/ files that read or write logs. docs/FORMAT.md. */
#ifndef MLG_LOGFILE_H
#define MLG_LOGFILE_H

#include <stdint.h>
#include <string.h>

#include "crc32c.h"
#include "mallog.h"

#define MLG_SKIP_MAGIC 0x184D2A50u /* zstd skippable frame magic, variant 0 */
#define MLG_SKIP_HEADER 0u         /* variant: file header */
#define MLG_SKIP_FRAME 1u          /* variant: metadata of the zstd frame that follows */
#define MLG_SKIP_TRAILER 2u        /* variant: totals and how the process ended */
#define MLG_SKIP_SITES 3u          /* variant: call-site definitions (modules, stacks) */
#define MLG_SITES_TAG "MLOGSIT1"
#define MLG_SITE_MODULE 1u
#define MLG_SITE_STACK 2u
#define MLG_HEADER_TAG "MLOGHDR1"
#define MLG_TRAILER_TAG "MLOGEND1"
#define MLG_FRAME_META_SIZE 40u
#define MLG_FRAME_RAW_MAX (8u << 20) /* a reader refuses larger frames */

enum mlg_header_key {
    MLG_HK_VERSION = 1,
    MLG_HK_PID,
    MLG_HK_PPID,
    MLG_HK_EXEC_GEN,
    MLG_HK_PARENT_PID,
    MLG_HK_PARENT_GEN,
    MLG_HK_FORK_SEQ,
    MLG_HK_START_REALTIME,
    MLG_HK_PAGE_SIZE,
    MLG_HK_NPROC,
    MLG_HK_ARGC,
    MLG_HK_EXE,
    MLG_HK_ARGV,
    MLG_HK_GLIBC,
    MLG_HK_MALLOC_LIB,
    MLG_HK_MALLOC_SHADOWED,
    MLG_HK_ENV,
    MLG_HK_SEGMENT, /* 18: u64, the segment's number (1, 2, ...); absent = a whole log */
};

static inline void mlg_put32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, 4); /* x86-64 only: little-endian as the format says */
}

static inline void mlg_put64(uint8_t *p, uint64_t v)
{
    memcpy(p, &v, 8);
}

static inline uint32_t mlg_get32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static inline uint64_t mlg_get64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

/* The next segment named by a trailer frame body (buf, len: "MLOGEND1" ... crc32c), for a trailer
 * that ends with MLG_END_SEGMENT: 1 and its file name in out, or 0. The name is a bare file name
 * (no '/'), as the writer stores it; anything else is not followed. */
static inline int mlg_trailer_next(const uint8_t *buf, uint32_t len, char *out, size_t cap)
{
    if (len < 8 + 52 + 4 || mlg_get32(buf + 8 + 40) != MLG_END_SEGMENT ||
        mlg_crc32c(buf, len - 4) != mlg_get32(buf + len - 4))
        return 0;
    uint64_t at = 8 + 52 + 8 * (uint64_t)mlg_get32(buf + 8 + 48) + 8; /* past end_time_ns */
    if (at + 4 + 4 > len)
        return 0;
    uint32_t n = mlg_get32(buf + at);
    if (n == 0 || n >= cap || at + 4 + n + 4 > len || memchr(buf + at + 4, '/', n) ||
        memchr(buf + at + 4, 0, n))
        return 0;
    memcpy(out, buf + at + 4, n);
    out[n] = 0;
    return 1;
}

/* Opens the segment `name` beside the file cur: name, or while it is being written name.partial
 * (the name a live packer writes under until the segment is complete). Returns the fd (O_RDONLY)
 * with the path in out, or -1 with errno. frames.c. */
int mlg_segment_open(const char *cur, const char *name, char *out, size_t len);

#endif

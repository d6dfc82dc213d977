/* reader.c - streaming reader of a .mlog.
 *
 * Reads frame by frame with read(2) into buffers from the caller's allocator, so it works on pipes
 * and keeps a replayer's memory out of the allocator under test. Every event before damage is
 * delivered; the error then names the byte offset of the damaged frame and the first event lost.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#define ZSTD_STATIC_LINKING_ONLY
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "codec.h"
#include "crc32c.h"
#include "logfile.h"
#include "error.h"
#include "mallog.h"

struct mlg_reader {
    int fd, own_fd;
    struct mlg_allocator alloc;
    ZSTD_DCtx *dctx;
    struct mlg_header header;
    struct mlg_trailer trailer;
    int have_trailer, done;
    struct mlg_error err;
    uint64_t offset;       /* bytes consumed */
    uint64_t file_size;
    uint64_t next_event;   /* index of the next event to deliver */
    uint64_t local_next;   /* index of the next event in the file (segment) being read */
    uint64_t frames;
    /* segments: the file being read, and what the segments before it added up to */
    char path[4096];
    int in_progress;       /* the file is being written (its writer holds the lock) */
    int segments;          /* segments followed after the first file */
    int skipping;          /* a later segment: its checkpoint (LIVE events) is skipped */
    uint64_t skipped;      /* checkpoint events skipped so far */
    struct mlg_trailer sum; /* the trailers of the segments before the current one, added up */
    /* the open frame */
    uint8_t *raw;
    size_t raw_cap;
    const uint8_t *pos, *end;
    uint32_t frame_left;
    uint64_t frame_offset;
    struct mlg_codec codec;
    uint8_t *comp;
    size_t comp_cap;
};

static void *std_alloc(void *ctx, size_t n)
{
    (void)ctx;
    return malloc(n);
}

static void std_free(void *ctx, void *p, size_t n)
{
    (void)ctx;
    (void)n;
    free(p);
}

static void *zstd_alloc(void *opaque, size_t n)
{
    struct mlg_allocator *a = opaque;
    /* zstd frees without a size: keep it in front of the block. */
    uint64_t *p = a->alloc(a->ctx, n + 16);
    if (!p)
        return NULL;
    p[0] = n + 16;
    return p + 2;
}

static void zstd_free(void *opaque, void *ptr)
{
    struct mlg_allocator *a = opaque;
    if (!ptr)
        return;
    uint64_t *p = (uint64_t *)ptr - 2;
    a->free(a->ctx, p, p[0]);
}

/* The reader stops at its first error: r->err says where (the next event it would deliver). */
static int fail(struct mlg_reader *r, int code, uint64_t offset, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(struct mlg_reader *r, int code, uint64_t offset, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    mlg_error_vset(&r->err, code, offset, r->next_event, fmt, ap);
    va_end(ap);
    if (r->segments) { /* the offset is in that file, not in the one the caller named */
        char d[sizeof r->err.detail];
        const char *base = strrchr(r->path, '/');
        snprintf(d, sizeof d, "in segment %s: %s", base ? base + 1 : r->path, r->err.detail);
        memcpy(r->err.detail, d, sizeof d);
    }
    r->done = 1;
    return code;
}

/* Whether the writer of fd's file still holds its lock (lib/writer.c): a log being written.
 * F_OFD_GETLK only asks whether a read lock could be placed: no lock is ever taken here, so the
 * writer is never made to wait, nor kept from locking a file a reader has open. */
static int being_written(int fd)
{
    struct flock lk = {.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
    return fcntl(fd, F_OFD_GETLK, &lk) == 0 && lk.l_type != F_UNLCK;
}

/* The log ends here, without its trailer: in a log being written, that is where its writer is
 * (a clean end: every complete frame was read); otherwise the log was cut. */
static int cut_short(struct mlg_reader *r, uint64_t offset, const char *what)
{
    if (r->in_progress) {
        r->done = 1;
        return 0;
    }
    return -fail(r, MLG_E_TRUNCATED, offset, "%s", what);
}

/* Reads exactly len bytes. Returns len, a smaller count at EOF, or -1 on error. */
static ssize_t read_full(struct mlg_reader *r, void *buf, size_t len)
{
    size_t got = 0;
    while (got < len) {
        ssize_t n = read(r->fd, (uint8_t *)buf + got, len - got);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            r->err.sys_errno = errno;
            return -1;
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    return (ssize_t)got;
}

static int ensure(struct mlg_reader *r, uint8_t **buf, size_t *cap, size_t need)
{
    if (*cap >= need)
        return 0;
    if (*buf)
        r->alloc.free(r->alloc.ctx, *buf, *cap);
    *buf = r->alloc.alloc(r->alloc.ctx, need);
    *cap = *buf ? need : 0;
    return *buf ? 0 : -1;
}

static const uint8_t *tlv_find(const uint8_t *p, const uint8_t *end, unsigned key, uint32_t *len)
{
    while (end - p >= 6) {
        unsigned k = p[0] | (unsigned)p[1] << 8;
        uint32_t l = mlg_get32(p + 2);
        if ((size_t)(end - p - 6) < l)
            return NULL;
        if (k == key) {
            *len = l;
            return p + 6;
        }
        p += 6 + l;
    }
    return NULL;
}

static uint64_t tlv_u64(const uint8_t *p, const uint8_t *end, unsigned key)
{
    uint32_t len;
    const uint8_t *v = tlv_find(p, end, key, &len);
    return v && len == 8 ? mlg_get64(v) : 0;
}

static void tlv_str(const uint8_t *p, const uint8_t *end, unsigned key, char *dst, size_t cap)
{
    uint32_t len;
    const uint8_t *v = tlv_find(p, end, key, &len);
    size_t n = v ? (len < cap - 1 ? len : cap - 1) : 0;
    if (n)
        memcpy(dst, v, n);
    dst[n] = 0;
}

static int read_header(struct mlg_reader *r, struct mlg_header *h)
{
    uint8_t head[8];
    ssize_t n = read_full(r, head, 8);
    if (n < 0)
        return fail(r, MLG_E_IO, 0, "reading the header");
    if (n == 0)
        return fail(r, MLG_E_EMPTY, 0, "%s", "");
    if (n < 8 || mlg_get32(head) != MLG_SKIP_MAGIC + MLG_SKIP_HEADER)
        return fail(r, n < 8 ? MLG_E_NOT_MLOG : MLG_E_NOT_MLOG, 0,
                    "no mallog header (magic) at the start");
    uint32_t len = mlg_get32(head + 4);
    if (len < 12 || len > (1u << 20))
        return fail(r, MLG_E_NOT_MLOG, 4, "implausible header length");
    uint8_t *buf = r->alloc.alloc(r->alloc.ctx, len);
    if (!buf)
        return fail(r, MLG_E_NOMEM, 8, "%s", "");
    int rc = 0;
    n = read_full(r, buf, len);
    if (n < 0) {
        rc = fail(r, MLG_E_IO, 8, "reading the header");
        goto out;
    }
    if ((size_t)n < len) {
        rc = fail(r, MLG_E_TRUNCATED, 8 + (uint64_t)n, "inside the file header");
        goto out;
    }
    if (memcmp(buf, MLG_HEADER_TAG, 8) != 0) {
        rc = fail(r, MLG_E_NOT_MLOG, 8, "header tag is not " MLG_HEADER_TAG "%s", "");
        goto out;
    }
    if (mlg_crc32c(buf, len - 4) != mlg_get32(buf + len - 4)) {
        rc = fail(r, MLG_E_CHECKSUM, 8, "file header");
        goto out;
    }
    const uint8_t *p = buf + 8, *end = buf + len - 4;
    memset(h, 0, sizeof *h);
    h->version = (uint32_t)tlv_u64(p, end, MLG_HK_VERSION);
    if (h->version != MLG_FORMAT_VERSION) {
        char v[24];
        snprintf(v, sizeof v, "%u", h->version);
        rc = fail(r, MLG_E_VERSION, 8, "version %s", v);
        goto out;
    }
    h->pid = tlv_u64(p, end, MLG_HK_PID);
    h->ppid = tlv_u64(p, end, MLG_HK_PPID);
    h->exec_gen = (uint32_t)tlv_u64(p, end, MLG_HK_EXEC_GEN);
    h->parent_pid = tlv_u64(p, end, MLG_HK_PARENT_PID);
    h->parent_gen = (uint32_t)tlv_u64(p, end, MLG_HK_PARENT_GEN);
    h->fork_seq = tlv_u64(p, end, MLG_HK_FORK_SEQ);
    h->start_realtime_ns = tlv_u64(p, end, MLG_HK_START_REALTIME);
    h->page_size = (uint32_t)tlv_u64(p, end, MLG_HK_PAGE_SIZE);
    h->nproc = (uint32_t)tlv_u64(p, end, MLG_HK_NPROC);
    h->argc = (uint32_t)tlv_u64(p, end, MLG_HK_ARGC);
    tlv_str(p, end, MLG_HK_EXE, h->exe, sizeof h->exe);
    uint32_t alen;
    const uint8_t *av = tlv_find(p, end, MLG_HK_ARGV, &alen);
    if (av) {
        size_t cp = alen < sizeof h->argv ? alen : sizeof h->argv - 1;
        memcpy(h->argv, av, cp);
    }
    tlv_str(p, end, MLG_HK_GLIBC, h->glibc_version, sizeof h->glibc_version);
    tlv_str(p, end, MLG_HK_MALLOC_LIB, h->malloc_lib, sizeof h->malloc_lib);
    tlv_str(p, end, MLG_HK_MALLOC_SHADOWED, h->malloc_shadowed, sizeof h->malloc_shadowed);
    tlv_str(p, end, MLG_HK_ENV, h->env, sizeof h->env);
    h->segment = (uint32_t)tlv_u64(p, end, MLG_HK_SEGMENT);
    r->offset = 8 + len;
out:
    r->alloc.free(r->alloc.ctx, buf, len);
    return rc;
}

int mlg_reader_open_fd(struct mlg_reader **out, int fd, const char *name,
                       const struct mlg_allocator *alloc, struct mlg_error *err)
{
    (void)name;
    memset(err, 0, sizeof *err);
    struct mlg_allocator a = alloc ? *alloc : (struct mlg_allocator){std_alloc, std_free, NULL};
    struct mlg_reader *r = a.alloc(a.ctx, sizeof *r);
    if (!r) {
        err->code = MLG_E_NOMEM;
        return MLG_E_NOMEM;
    }
    memset(r, 0, sizeof *r);
    r->alloc = a;
    r->fd = fd;
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
        r->file_size = (uint64_t)st.st_size;
    ZSTD_customMem mem = {zstd_alloc, zstd_free, &r->alloc};
    r->dctx = ZSTD_createDCtx_advanced(mem);
    r->in_progress = being_written(fd);
    snprintf(r->path, sizeof r->path, "%s", name ? name : "");
    int rc = r->dctx ? read_header(r, &r->header) : fail(r, MLG_E_NOMEM, 0, "%s", "");
    if (rc) {
        *err = r->err;
        mlg_reader_close(r);
        return rc;
    }
    *out = r;
    return 0;
}

int mlg_reader_open(struct mlg_reader **out, const char *path, const struct mlg_allocator *alloc,
                    struct mlg_error *err)
{
    memset(err, 0, sizeof *err);
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return mlg_error_set(err, MLG_E_IO, 0, 0, "open");
    }
    int rc = mlg_reader_open_fd(out, fd, path, alloc, err);
    if (rc) {
        close(fd);
        return rc;
    }
    (*out)->own_fd = 1;
    return 0;
}

static int read_trailer(struct mlg_reader *r, const uint8_t *buf, uint32_t len, uint64_t off)
{
    size_t want = 8 + 40 + 12 + MLG_OP_COUNT * 8 + 4;
    if (len < want || memcmp(buf, MLG_TRAILER_TAG, 8) != 0)
        return fail(r, MLG_E_CORRUPT, off, "malformed trailer");
    if (mlg_crc32c(buf, len - 4) != mlg_get32(buf + len - 4))
        return fail(r, MLG_E_CHECKSUM, off, "trailer");
    const uint8_t *p = buf + 8;
    struct mlg_trailer *t = &r->trailer;
    t->events = mlg_get64(p);
    t->frames = mlg_get64(p + 8);
    t->lost_events = mlg_get64(p + 16);
    t->threads = mlg_get64(p + 24);
    t->last_seq = mlg_get64(p + 32);
    t->end = mlg_get32(p + 40);
    t->end_status = (int32_t)mlg_get32(p + 44);
    uint32_t nops = mlg_get32(p + 48);
    p += 52;
    for (uint32_t i = 0; i < nops && i < MLG_OP_COUNT; i++)
        t->op_counts[i] = mlg_get64(p + 8 * i);
    /* end_time_ns came later: a trailer without it ends right after the op counts */
    size_t end_at = 8 + 52 + 8 * (size_t)nops;
    t->end_time_ns = end_at + 8 + 4 <= len ? mlg_get64(buf + end_at) : 0;
    t->next_segment[0] = 0;
    mlg_trailer_next(buf, len, t->next_segment, sizeof t->next_segment);
    if (t->events != r->local_next) {
        char d[64];
        snprintf(d, sizeof d, "%llu events counted, %llu read", (unsigned long long)t->events,
                 (unsigned long long)r->local_next);
        return fail(r, MLG_E_CORRUPT, off, "trailer: %s", d);
    }
    r->have_trailer = 1;
    return 0;
}

static void frame_end(struct mlg_reader *r);

/* The last segment's trailer, made the trailer of the whole: the totals of every segment read,
 * without the checkpoints skipped, as one log's trailer would say. */
static void sum_segments(struct mlg_reader *r)
{
    struct mlg_trailer *t = &r->trailer;
    t->events = r->next_event;
    t->frames += r->sum.frames;
    t->lost_events += r->sum.lost_events;
    if (r->sum.threads > t->threads)
        t->threads = r->sum.threads;
    for (int i = 0; i < MLG_OP_COUNT; i++)
        t->op_counts[i] += r->sum.op_counts[i];
    t->op_counts[MLG_OP_LIVE] -= r->skipped;
}

/* The end of a segment whose trailer names the next: goes on reading in that file, as one log.
 * Its checkpoint is skipped (those blocks are live already); its trailer counts are added up.
 * Returns 1 = the next file is open, 0 = no next segment to follow, < 0 = error. */
static int follow_segment(struct mlg_reader *r, uint64_t off)
{
    const struct mlg_trailer *t = &r->trailer;
    if (t->end != MLG_END_SEGMENT || !t->next_segment[0] || !r->own_fd)
        return 0;
    char path[sizeof r->path];
    int fd = mlg_segment_open(r->path, t->next_segment, path, sizeof path);
    if (fd < 0) {
        r->err.sys_errno = errno;
        struct stat st; /* this one deleted too: a recording with --keep moved on while read */
        if (fstat(r->fd, &st) == 0 && st.st_nlink == 0)
            return -fail(r, MLG_E_TRUNCATED, off,
                         "the next segment %s is missing: the recording deleted these segments "
                         "(--keep) while they were read; read it again", t->next_segment);
        return -fail(r, MLG_E_TRUNCATED, off, "the next segment %s is missing", t->next_segment);
    }
    r->sum.frames += t->frames;
    r->sum.lost_events += t->lost_events;
    r->sum.threads = t->threads > r->sum.threads ? t->threads : r->sum.threads;
    for (int i = 0; i < MLG_OP_COUNT; i++)
        r->sum.op_counts[i] += t->op_counts[i];
    close(r->fd);
    r->fd = fd;
    snprintf(r->path, sizeof r->path, "%s", path);
    r->segments++;
    struct stat st;
    r->file_size = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0;
    r->in_progress = being_written(fd);
    r->offset = 0;
    r->local_next = 0;
    r->have_trailer = 0;
    struct mlg_header h;
    int rc = read_header(r, &h);
    if (rc)
        return -rc;
    if (h.pid != r->header.pid || h.exec_gen != r->header.exec_gen ||
        h.start_realtime_ns != r->header.start_realtime_ns || !h.segment)
        return -fail(r, MLG_E_CORRUPT, 0, "not the next segment of the same process");
    r->skipping = 1;
    return 1;
}

/* A later segment begins with its checkpoint: the LIVE events of blocks the log read so far
 * already made. Skipped one by one (they are at the start of the segment only) without touching
 * the delivered index; the first other event stays for the caller. */
static void skip_checkpoint(struct mlg_reader *r)
{
    while (r->skipping && r->frame_left) {
        struct mlg_codec c;
        memcpy(&c, &r->codec, offsetof(struct mlg_codec, where));
        struct mlg_event ev;
        const uint8_t *p = mlg_codec_get_padded(&c, r->pos, r->end, &ev);
        if (!p || ev.op != MLG_OP_LIVE) {
            r->skipping = 0; /* damage is found by the caller's own decoding */
            return;
        }
        memcpy(&r->codec, &c, offsetof(struct mlg_codec, where));
        r->pos = p;
        r->local_next++;
        r->skipped++;
        if (--r->frame_left == 0)
            frame_end(r);
    }
}

/* Reads the next frame (meta + zstd) and decompresses it. Returns 1 = a frame is open,
 * 0 = clean end (trailer read), <0 = error. */
static int next_frame(struct mlg_reader *r)
{
    for (;;) {
        uint64_t off = r->offset;
        uint8_t head[8];
        ssize_t n = read_full(r, head, 8);
        if (n < 0)
            return -fail(r, MLG_E_IO, off, "%s", "");
        if (n == 0)
            return cut_short(r, off, "log ends without a trailer (incomplete)");
        if (n < 8)
            return cut_short(r, off, "inside a frame header");
        uint32_t magic = mlg_get32(head), len = mlg_get32(head + 4);
        if ((magic & 0xFFFFFFF0u) != MLG_SKIP_MAGIC)
            return -fail(r, MLG_E_CORRUPT, off, "expected a frame header");
        unsigned variant = magic & 0xf;
        if (len > (1u << 20))
            return -fail(r, MLG_E_CORRUPT, off, "implausible metadata length");
        uint8_t meta[1024];
        uint8_t *mbuf = meta;
        size_t mcap = 0;
        if (len > sizeof meta) {
            mbuf = NULL;
            if (ensure(r, &mbuf, &mcap, len) != 0)
                return -fail(r, MLG_E_NOMEM, off, "%s", "");
        }
        n = read_full(r, mbuf, len);
        int rc = 0;
        if (n < 0)
            rc = -fail(r, MLG_E_IO, off, "%s", "");
        else if ((size_t)n < len)
            rc = cut_short(r, off, "inside frame metadata");
        else if (variant == MLG_SKIP_TRAILER)
            rc = read_trailer(r, mbuf, len, off) ? -r->err.code : 0;
        if (mcap)
            r->alloc.free(r->alloc.ctx, mbuf, mcap);
        if (rc || n < 0 || (size_t)n < len)
            return rc;
        r->offset += 8 + len;
        if (variant == MLG_SKIP_TRAILER) {
            if ((rc = follow_segment(r, off)) != 0) {
                if (rc < 0)
                    return rc;
                continue;
            }
            if (r->segments)
                sum_segments(r);
            r->done = 1;
            return 0;
        }
        if (variant != MLG_SKIP_FRAME)
            continue; /* a metadata kind from a newer writer: skip it */
        if (len != MLG_FRAME_META_SIZE || mlg_crc32c(meta, 36) != mlg_get32(meta + 36))
            return -fail(r, MLG_E_CHECKSUM, off, "frame metadata");
        uint64_t first_event = mlg_get64(meta), first_seq = mlg_get64(meta + 8);
        uint64_t time_ns = mlg_get64(meta + 16);
        uint32_t events = mlg_get32(meta + 24), raw_size = mlg_get32(meta + 28);
        uint32_t comp_size = mlg_get32(meta + 32);
        if (first_event != r->local_next)
            return -fail(r, MLG_E_CORRUPT, off, "frame starts at the wrong event");
        if (raw_size > MLG_FRAME_RAW_MAX || comp_size > ZSTD_compressBound(MLG_FRAME_RAW_MAX))
            return -fail(r, MLG_E_CORRUPT, off, "implausible frame size");
        if (ensure(r, &r->comp, &r->comp_cap, comp_size ? comp_size : 1) != 0 ||
            ensure(r, &r->raw, &r->raw_cap, (size_t)raw_size + MLG_VARINT_PAD) != 0)
            return -fail(r, MLG_E_NOMEM, off, "%s", "");
        n = read_full(r, r->comp, comp_size);
        if (n < 0)
            return -fail(r, MLG_E_IO, r->offset, "%s", "");
        if ((size_t)n < comp_size)
            return cut_short(r, off, "inside a compressed frame");
        size_t got = ZSTD_decompressDCtx(r->dctx, r->raw, r->raw_cap - MLG_VARINT_PAD, r->comp,
                                         comp_size);
        if (ZSTD_isError(got)) {
            ZSTD_DCtx_reset(r->dctx, ZSTD_reset_session_only);
            int code = ZSTD_getErrorCode(got) == ZSTD_error_checksum_wrong ? MLG_E_CHECKSUM : MLG_E_ZSTD;
            return -fail(r, code, off, "zstd: %s", ZSTD_getErrorName(got));
        }
        if (got != raw_size)
            return -fail(r, MLG_E_CORRUPT, off, "frame decompresses to the wrong size");
        memset(r->raw + got, 0, MLG_VARINT_PAD); /* the decoder's loads may look past the end */
        r->offset += comp_size;
        r->frame_offset = off;
        r->pos = r->raw;
        r->end = r->raw + got;
        r->frame_left = events;
        mlg_codec_reset(&r->codec, first_seq, time_ns);
        r->frames++;
        if (r->skipping)
            skip_checkpoint(r);
        if (r->frame_left)
            return 1;
        if (r->done) /* the frame ended in bytes that are no event */
            return r->err.code ? -r->err.code : 0;
    }
}

/* The event at r->pos does not decode: the frame is damaged from there on. */
static int bad_event(struct mlg_reader *r)
{
    char d[64];
    snprintf(d, sizeof d, "byte %zu of the decompressed frame", (size_t)(r->pos - r->raw));
    r->frame_left = 0;
    return -fail(r, MLG_E_CORRUPT, r->frame_offset, "bad event at %s", d);
}

/* The frame's last event was delivered: trailing bytes, other than a clock reading, mean the count
 * lies. The error is reported by the next call (every event of the frame was delivered). */
static void frame_end(struct mlg_reader *r)
{
    const uint8_t *p = r->pos;
    while (p < r->end && *p == MLG_TAG_TIME) {
        uint64_t v;
        p = mlg_varint_get_padded(p + 1, r->end, &v);
        if (!p)
            break;
    }
    if (p != r->end) {
        fail(r, MLG_E_CORRUPT, r->frame_offset, "frame has bytes past its last event");
    }
}

int mlg_reader_next(struct mlg_reader *r, struct mlg_event *ev)
{
    while (r->frame_left == 0) {
        if (r->done)
            return r->err.code ? -r->err.code : 0;
        int rc = next_frame(r);
        if (rc <= 0)
            return rc;
    }
    const uint8_t *p = mlg_codec_get_padded(&r->codec, r->pos, r->end, ev);
    if (!p)
        return bad_event(r);
    r->pos = p;
    ev->index = r->next_event++;
    r->local_next++;
    if (--r->frame_left == 0)
        frame_end(r);
    return 1;
}

/* The record of an event decoded by the general decoder. */
static inline void rec_of(struct mlg_rec *v, const struct mlg_event *e)
{
    v->ptr = e->ptr;
    v->old_ptr = e->old_ptr;
    v->size = e->size;
    v->result = e->result;
    v->time_ns = e->time_ns;
    v->thread = e->thread;
    v->op = e->op;
    v->outcome = e->outcome;
}

/* Decodes k (<= frame_left) events of the open frame into out: struct mlg_event (rec = 0) or
 * struct mlg_rec (rec = 1, a constant at each call: two loops are compiled). The codec state lives
 * in a local copy for the loop (registers, not the reader's memory); the encoder's part of it is
 * not copied. Returns the number decoded; fewer than k = the frame is damaged there (error set). */
static inline __attribute__((always_inline)) uint32_t decode_run_(struct mlg_reader *r, void *out,
                                                                 uint32_t k, int rec)
{
    struct mlg_codec c;
    memcpy(&c, &r->codec, offsetof(struct mlg_codec, where));
    const uint8_t *p = r->pos, *end = r->end;
    uint64_t index = r->next_event;
    /* the plain decoder's part of the state, in registers; back in c for the general decoder */
    uint32_t ring_head = c.ring_head;
    uint64_t last_ptr = c.last_ptr, prev_seq = c.prev_seq;
    uint32_t i = 0;
    for (; i < k; i++) {
        struct mlg_event *e = &((struct mlg_event *)out)[i], tmp;
        struct mlg_rec *v = &((struct mlg_rec *)out)[i];
        const uint8_t *q;
        /* The two commonest events, a malloc and a free in the current thread with nothing
         * unusual, take a straight path; everything else the general decoder. */
        unsigned op;
        uint64_t size, ptr;
        if ((q = mlg_codec_get_plain(c.ring, &ring_head, &last_ptr, &prev_seq, p, end, &op, &size,
                                     &ptr))) {
            if (rec) {
                v->ptr = ptr;
                v->old_ptr = 0;
                v->size = size;
                v->result = 0;
                v->time_ns = c.time_ns;
                v->thread = c.thread;
                v->op = (uint8_t)op;
                v->outcome = MLG_OUT_OK;
            } else {
                e->index = index;
                e->seq = prev_seq;
                e->seq_rel = 0;
                e->time_ns = c.time_ns;
                e->ptr = ptr;
                e->old_ptr = 0;
                e->size = size;
                e->arg = 0;
                e->result = 0;
                e->thread = c.thread;
                e->stack = 0;
                e->op = (uint8_t)op;
                e->outcome = MLG_OUT_OK;
            }
        } else if (rec && (q = mlg_codec_get_realloc(c.ring, &ring_head, &last_ptr, &prev_seq, p,
                                                     end, &v->old_ptr, &v->size, &v->ptr, &op))) {
            v->result = 0;
            v->time_ns = c.time_ns;
            v->thread = c.thread;
            v->op = MLG_OP_REALLOC;
            v->outcome = (uint8_t)op;
        } else {
            c.ring_head = ring_head;
            c.last_ptr = last_ptr;
            c.prev_seq = prev_seq;
            q = mlg_codec_get_padded(&c, p, end, rec ? &tmp : e);
            ring_head = c.ring_head;
            last_ptr = c.last_ptr;
            prev_seq = c.prev_seq;
            if (!q)
                break;
            if (rec)
                rec_of(v, &tmp);
            else
                e->index = index;
        }
        index++;
        p = q;
    }
    c.ring_head = ring_head;
    c.last_ptr = last_ptr;
    c.prev_seq = prev_seq;
    memcpy(&r->codec, &c, offsetof(struct mlg_codec, where));
    r->pos = p;
    r->local_next += index - r->next_event;
    r->next_event = index;
    r->frame_left -= i;
    if (i < k)
        bad_event(r);
    else if (r->frame_left == 0)
        frame_end(r);
    return i;
}

/* The batch loop of mlg_reader_next_batch and mlg_reader_next_recs. */
static inline __attribute__((always_inline)) int next_run(struct mlg_reader *r, void *out, int n,
                                                          int rec)
{
    int got = 0;
    while (got < n && !(r->frame_left == 0 && r->done)) {
        if (r->frame_left == 0 && next_frame(r) <= 0)
            break;
        uint32_t want = (uint32_t)(n - got);
        void *at = rec ? (void *)((struct mlg_rec *)out + got) : (void *)((struct mlg_event *)out + got);
        got += (int)decode_run_(r, at, r->frame_left < want ? r->frame_left : want, rec);
    }
    if (got > 0)
        return got;
    return r->err.code ? -r->err.code : 0;
}

int mlg_reader_next_batch(struct mlg_reader *r, struct mlg_event *ev, int n)
{
    return next_run(r, ev, n, 0);
}

int mlg_reader_next_recs(struct mlg_reader *r, struct mlg_rec *v, int n)
{
    return next_run(r, v, n, 1);
}

const struct mlg_header *mlg_reader_header(const struct mlg_reader *r)
{
    return &r->header;
}

const struct mlg_error *mlg_reader_error(const struct mlg_reader *r)
{
    return &r->err;
}

const struct mlg_trailer *mlg_reader_trailer(const struct mlg_reader *r)
{
    if (!r->have_trailer)
        return NULL;
    return &r->trailer;
}

int mlg_reader_in_progress(const struct mlg_reader *r)
{
    return r->in_progress;
}

const char *mlg_reader_path(const struct mlg_reader *r)
{
    return r->path;
}

uint64_t mlg_reader_frames(const struct mlg_reader *r)
{
    return r->frames;
}

uint64_t mlg_reader_offset(const struct mlg_reader *r)
{
    return r->offset;
}

uint64_t mlg_reader_file_size(const struct mlg_reader *r)
{
    return r->file_size;
}

void mlg_reader_close(struct mlg_reader *r)
{
    if (!r)
        return;
    if (r->own_fd)
        close(r->fd);
    ZSTD_freeDCtx(r->dctx);
    if (r->raw)
        r->alloc.free(r->alloc.ctx, r->raw, r->raw_cap);
    if (r->comp)
        r->alloc.free(r->alloc.ctx, r->comp, r->comp_cap);
    r->alloc.free(r->alloc.ctx, r, sizeof *r);
}

int mlg_read_file(const char *path, const struct mlg_visitor *v, const struct mlg_allocator *alloc,
                  struct mlg_error *err)
{
    struct mlg_reader *r;
    int rc = mlg_reader_open(&r, path, alloc, err);
    if (rc)
        return rc;
    if (v->on_header && v->on_header(v->ctx, &r->header) != 0) {
        mlg_reader_close(r);
        err->code = MLG_E_STOPPED;
        return MLG_E_STOPPED;
    }
    struct mlg_event ev;
    int n;
    while ((n = mlg_reader_next(r, &ev)) > 0) {
        if (v->on_event && v->on_event(v->ctx, &ev) != 0) {
            r->err.code = MLG_E_STOPPED;
            r->err.event = ev.index + 1;
            break;
        }
    }
    *err = r->err;
    if (v->on_end)
        v->on_end(v->ctx, mlg_reader_trailer(r), err);
    rc = err->code;
    mlg_reader_close(r);
    return rc;
}

/* frames.c - walking a log's frames without decompressing events: the metadata frames are read,
 * the zstd frames of events are seeked over. For what needs only the metadata of a log (its call
 * sites, how many events it holds) at the cost of a few reads per megabyte of log. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crc32c.h"
#include "fields.h"
#include "logfile.h"
#include "error.h"
#include "mallog.h"

static int read_exact(int fd, void *buf, size_t len)
{
    size_t got = 0;
    while (got < len) {
        ssize_t n = read(fd, (uint8_t *)buf + got, len - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        got += (size_t)n;
    }
    return 0;
}

int mlg_segment_open(const char *cur, const char *name, char *out, size_t len)
{
    const char *slash = strrchr(cur, '/');
    int dl = slash ? (int)(slash - cur + 1) : 0;
    for (int partial = 0; partial < 2; partial++) {
        snprintf(out, len, "%.*s%s%s", dl, cur, name, partial ? ".partial" : "");
        int fd = open(out, O_RDONLY | O_CLOEXEC);
        if (fd >= 0 || errno != ENOENT)
            return fd;
    }
    snprintf(out, len, "%.*s%s", dl, cur, name);
    errno = ENOENT;
    return -1;
}

/* One file of a log: its frames, then the name of the next segment in *next ("" if none). */
static int walk_file(int fd, unsigned want, mlg_frame_fn fn, void *ctx, struct mlg_error *err,
                     char *next, size_t next_len);

int mlg_frames_walk(const char *path, unsigned want, mlg_frame_fn fn, void *ctx,
                    struct mlg_error *err)
{
    memset(err, 0, sizeof *err);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        err->sys_errno = errno;
        return mlg_error_set(err, MLG_E_IO, 0, 0, "open");
    }
    /* a segmented log goes on in the segment its trailer names (docs/FORMAT.md, "Segments") */
    char cur[4096], next[256];
    snprintf(cur, sizeof cur, "%s", path);
    for (int seg = 0;; seg++) {
        next[0] = 0;
        int rc = walk_file(fd, want, fn, ctx, err, next, sizeof next);
        close(fd);
        if (rc || !next[0] || seg > 1000000)
            return rc;
        char p[sizeof cur];
        if ((fd = mlg_segment_open(cur, next, p, sizeof p)) < 0) {
            err->sys_errno = errno;
            return mlg_error_set(err, MLG_E_TRUNCATED, 0, 0, "the next segment %s is missing",
                                 next);
        }
        snprintf(cur, sizeof cur, "%s", p);
    }
}

static int walk_file(int fd, unsigned want, mlg_frame_fn fn, void *ctx, struct mlg_error *err,
                     char *next, size_t next_len)
{
    unsigned want_user = want | 1u << MLG_SKIP_FRAME;
    want |= 1u << MLG_SKIP_FRAME | 1u << MLG_SKIP_TRAILER; /* the frame metadata says how far to
                                                               seek; the trailer names the next */
    uint64_t off = 0;
    int rc = 0;
    for (int first = 1;; first = 0) {
        uint8_t head[8];
        ssize_t n = read(fd, head, 8);
        if (n == 0 && !first)
            break; /* no trailer: the log is incomplete, the reader says so */
        if (n != 8 || (mlg_get32(head) & 0xFFFFFFF0u) != MLG_SKIP_MAGIC ||
            (first && mlg_get32(head) != MLG_SKIP_MAGIC + MLG_SKIP_HEADER)) {
            rc = mlg_error_set(err,
                               n == 0  ? MLG_E_EMPTY
                               : first ? MLG_E_NOT_MLOG
                                       : MLG_E_CORRUPT,
                               off, 0, "expected a frame header");
            break;
        }
        unsigned variant = mlg_get32(head) & 0xf;
        uint32_t len = mlg_get32(head + 4);
        if (len > (variant == MLG_SKIP_TRAILER ? 1u << 20 : MLG_FRAME_RAW_MAX * 2u)) {
            rc = mlg_error_set(err, MLG_E_CORRUPT, off, 0, "implausible metadata length");
            break;
        }
        uint64_t skip = len;
        if (want & (1u << variant)) {
            uint8_t *buf = malloc(len ? len : 1);
            if (!buf || read_exact(fd, buf, len) != 0) {
                free(buf);
                rc = mlg_error_set(err, buf ? MLG_E_TRUNCATED : MLG_E_NOMEM, off, 0,
                                   "inside a frame");
                break;
            }
            skip = 0;
            if (variant == MLG_SKIP_FRAME) {
                if (len != MLG_FRAME_META_SIZE || mlg_crc32c(buf, 36) != mlg_get32(buf + 36))
                    rc = mlg_error_set(err, MLG_E_CHECKSUM, off, 0, "frame metadata");
                else
                    skip = mlg_get32(buf + 32); /* the zstd frame of events */
            }
            if (variant == MLG_SKIP_TRAILER)
                mlg_trailer_next(buf, len, next, next_len);
            if (!rc && fn && (want_user & (1u << variant)))
                rc = fn(ctx, variant, buf, len, off, err);
            free(buf);
            if (rc)
                break;
            off += 8 + len;
        } else {
            off += 8;
        }
        if (variant == MLG_SKIP_TRAILER)
            break;
        if (skip && lseek(fd, (off_t)skip, SEEK_CUR) < 0) {
            rc = mlg_error_set(err, MLG_E_IO, off, 0, "seek");
            break;
        }
        off += skip;
    }
    return rc;
}

static int count_frame(void *ctx, unsigned variant, const uint8_t *buf, uint32_t len, uint64_t off,
                       struct mlg_error *err)
{
    (void)len, (void)off, (void)err;
    uint64_t *events = ctx;
    if (variant == MLG_SKIP_FRAME)
        *events += mlg_get32(buf + 24);
    return 0;
}

int mlg_log_events(const char *path, uint64_t *events, struct mlg_error *err)
{
    *events = 0;
    return mlg_frames_walk(path, 0, count_frame, events, err);
}

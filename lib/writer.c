/* writer.c - writes a .mlog: header frame, then checksummed zstd frames of encoded events, then a
 * trailer. A log cut anywhere decodes up to its last whole frame. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>

#include "codec.h"
#include "crc32c.h"
#include "logfile.h"
#include "error.h"
#include "mallog.h"

#define DEFAULT_FRAME_BYTES (1u << 20)

struct mlg_writer {
    int fd;
    ZSTD_CCtx *cctx;
    struct mlg_codec codec;
    uint8_t *raw;          /* encoded events of the open frame */
    size_t raw_len, raw_cap, frame_bytes;
    uint8_t *comp;
    size_t comp_cap;
    uint64_t events, frame_first_event, frame_first_seq, frame_time;
    uint32_t frame_events;
    uint64_t frames, bytes, last_seq, last_time;
    uint32_t max_thread;
    int any_thread;
    uint64_t op_counts[MLG_OP_COUNT];
    /* call-site definitions not yet written: they go out just before the next event frame */
    uint8_t *sites;
    size_t sites_len, sites_cap;
    uint32_t modules, stacks;
};

static int write_all(struct mlg_writer *w, const void *buf, size_t len, struct mlg_error *err)
{
    const uint8_t *p = buf;
    while (len) {
        ssize_t n = write(w->fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return mlg_error_set(err, MLG_E_IO, w->bytes, w->events, "write");
        }
        p += n;
        len -= (size_t)n;
        w->bytes += (uint64_t)n;
    }
    return 0;
}

static int write_skippable(struct mlg_writer *w, unsigned variant, const uint8_t *content,
                           size_t len, struct mlg_error *err)
{
    uint8_t head[8];
    mlg_put32(head, MLG_SKIP_MAGIC + variant);
    mlg_put32(head + 4, (uint32_t)len);
    int rc = write_all(w, head, 8, err);
    return rc ? rc : write_all(w, content, len, err);
}

static uint8_t *tlv_u64(uint8_t *p, unsigned key, uint64_t v)
{
    p[0] = (uint8_t)key;
    p[1] = (uint8_t)(key >> 8);
    mlg_put32(p + 2, 8);
    mlg_put64(p + 6, v);
    return p + 14;
}

static uint8_t *tlv_bytes(uint8_t *p, unsigned key, const void *s, size_t len)
{
    p[0] = (uint8_t)key;
    p[1] = (uint8_t)(key >> 8);
    mlg_put32(p + 2, (uint32_t)len);
    memcpy(p + 6, s, len);
    return p + 6 + len;
}

static size_t argv_len(const struct mlg_header *h)
{
    size_t n = 0;
    for (uint32_t i = 0; i < h->argc && n < sizeof h->argv; i++)
        n += strnlen(h->argv + n, sizeof h->argv - n) + 1;
    return n > sizeof h->argv ? sizeof h->argv : n;
}

static int write_header(struct mlg_writer *w, const struct mlg_header *h, struct mlg_error *err)
{
    uint8_t *buf = malloc(sizeof *h + 512);
    if (!buf) {
        err->code = MLG_E_NOMEM;
        return MLG_E_NOMEM;
    }
    uint8_t *p = buf;
    memcpy(p, MLG_HEADER_TAG, 8);
    p += 8;
    p = tlv_u64(p, MLG_HK_VERSION, MLG_FORMAT_VERSION);
    p = tlv_u64(p, MLG_HK_PID, h->pid);
    p = tlv_u64(p, MLG_HK_PPID, h->ppid);
    p = tlv_u64(p, MLG_HK_EXEC_GEN, h->exec_gen);
    p = tlv_u64(p, MLG_HK_PARENT_PID, h->parent_pid);
    p = tlv_u64(p, MLG_HK_PARENT_GEN, h->parent_gen);
    p = tlv_u64(p, MLG_HK_FORK_SEQ, h->fork_seq);
    p = tlv_u64(p, MLG_HK_START_REALTIME, h->start_realtime_ns);
    p = tlv_u64(p, MLG_HK_PAGE_SIZE, h->page_size);
    p = tlv_u64(p, MLG_HK_NPROC, h->nproc);
    p = tlv_u64(p, MLG_HK_ARGC, h->argc);
    p = tlv_bytes(p, MLG_HK_EXE, h->exe, strnlen(h->exe, sizeof h->exe));
    p = tlv_bytes(p, MLG_HK_ARGV, h->argv, argv_len(h));
    p = tlv_bytes(p, MLG_HK_GLIBC, h->glibc_version, strnlen(h->glibc_version, 64));
    p = tlv_bytes(p, MLG_HK_MALLOC_LIB, h->malloc_lib, strnlen(h->malloc_lib, 512));
    p = tlv_bytes(p, MLG_HK_MALLOC_SHADOWED, h->malloc_shadowed, strnlen(h->malloc_shadowed, 512));
    p = tlv_bytes(p, MLG_HK_ENV, h->env, strnlen(h->env, sizeof h->env));
    if (h->segment)
        p = tlv_u64(p, MLG_HK_SEGMENT, h->segment);
    mlg_put32(p, mlg_crc32c(buf, (size_t)(p - buf)));
    p += 4;
    int rc = write_skippable(w, MLG_SKIP_HEADER, buf, (size_t)(p - buf), err);
    free(buf);
    return rc;
}

int mlg_writer_create(struct mlg_writer **out, const char *path, const struct mlg_header *h,
                      const struct mlg_writer_options *opt, struct mlg_error *err)
{
    memset(err, 0, sizeof *err);
    *out = NULL;
    struct mlg_writer *w = calloc(1, sizeof *w);
    if (!w) {
        err->code = MLG_E_NOMEM;
        return MLG_E_NOMEM;
    }
    w->fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (w->fd < 0) {
        int rc = mlg_error_set(err, errno == EEXIST ? MLG_E_EXISTS : MLG_E_IO, 0, 0, "create");
        free(w);
        return rc;
    }
    /* A write lock on the whole file, held until the log is finished: a reader that finds it
     * (F_OFD_GETLK: it only asks, it never takes a lock, so it can neither make the writer wait
     * nor keep it from locking) knows the log is being written (a recording in progress) and
     * stops at its last whole frame, not at "damage". An open file description lock: released
     * when the writer closes the file or dies. */
    struct flock lk = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
    fcntl(w->fd, F_OFD_SETLK, &lk);
    w->frame_bytes = opt && opt->frame_bytes ? opt->frame_bytes : DEFAULT_FRAME_BYTES;
    if (w->frame_bytes > MLG_FRAME_RAW_MAX - MLG_EVENT_MAX * 2)
        w->frame_bytes = MLG_FRAME_RAW_MAX - MLG_EVENT_MAX * 2;
    w->raw_cap = w->frame_bytes + MLG_EVENT_MAX * 2;
    w->raw = malloc(w->raw_cap);
    w->comp_cap = ZSTD_compressBound(w->raw_cap);
    w->comp = malloc(w->comp_cap);
    w->cctx = ZSTD_createCCtx();
    if (!w->raw || !w->comp || !w->cctx) {
        err->code = MLG_E_NOMEM;
        goto fail;
    }
    ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_compressionLevel, opt && opt->zstd_level ? opt->zstd_level : 3);
    ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_checksumFlag, 1);
    ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_contentSizeFlag, 1);
    if (write_header(w, h, err) != 0)
        goto fail;
    *out = w;
    return 0;
fail:
    close(w->fd);
    unlink(path);
    ZSTD_freeCCtx(w->cctx);
    free(w->raw);
    free(w->comp);
    free(w);
    return err->code;
}

/* "MLOGSIT1", u32 raw size, a zstd frame of the definitions, u32 crc32c of the bytes before it. */
static int flush_sites(struct mlg_writer *w, struct mlg_error *err)
{
    if (w->sites_len == 0)
        return 0;
    size_t cap = 12 + ZSTD_compressBound(w->sites_len) + 4;
    uint8_t *buf = malloc(cap);
    if (!buf)
        return mlg_error_set(err, MLG_E_NOMEM, 0, w->events, "sites frame");
    memcpy(buf, MLG_SITES_TAG, 8);
    mlg_put32(buf + 8, (uint32_t)w->sites_len);
    size_t n = ZSTD_compress2(w->cctx, buf + 12, cap - 16, w->sites, w->sites_len);
    int rc = 0;
    if (ZSTD_isError(n)) {
        rc = mlg_error_set(err, MLG_E_ZSTD, 0, w->events, "%s", ZSTD_getErrorName(n));
    } else {
        mlg_put32(buf + 12 + n, mlg_crc32c(buf, 12 + n));
        rc = write_skippable(w, MLG_SKIP_SITES, buf, 16 + n, err);
    }
    free(buf);
    w->sites_len = 0;
    return rc;
}

static uint8_t *sites_reserve(struct mlg_writer *w, size_t need)
{
    if (w->sites_len + need > w->sites_cap) {
        size_t cap = w->sites_cap ? w->sites_cap * 2 : 64 * 1024;
        while (cap < w->sites_len + need)
            cap *= 2;
        uint8_t *p = realloc(w->sites, cap);
        if (!p)
            return NULL;
        w->sites = p;
        w->sites_cap = cap;
    }
    return w->sites + w->sites_len;
}

/* A long run of new definitions need not wait for the next event frame; a sites frame stays
 * well under the 1 MiB readers accept for a metadata frame even if it does not compress. */
#define SITES_FLUSH_BYTES (512u * 1024)

static int sites_added(struct mlg_writer *w, uint8_t *end, struct mlg_error *err)
{
    w->sites_len = (size_t)(end - w->sites);
    return w->sites_len >= SITES_FLUSH_BYTES ? flush_sites(w, err) : 0;
}

int mlg_writer_add_module(struct mlg_writer *w, uint32_t id, const struct mlg_module *m,
                          struct mlg_error *err)
{
    size_t plen = strnlen(m->path, MLG_STR_MAX);
    if (id != w->modules + 1 || m->end < m->start)
        return mlg_error_set(err, MLG_E_ARG, 0, w->events, "module ids must be 1, 2, 3...");
    uint8_t *p = sites_reserve(w, 1 + 5 * 10 + plen);
    if (!p)
        return mlg_error_set(err, MLG_E_NOMEM, 0, w->events, "sites");
    *p++ = MLG_SITE_MODULE;
    p = mlg_varint_put(p, id);
    p = mlg_varint_put(p, m->start);
    p = mlg_varint_put(p, m->end);
    p = mlg_varint_put(p, m->file_offset);
    p = mlg_varint_put(p, plen);
    memcpy(p, m->path, plen);
    w->modules = id;
    return sites_added(w, p + plen, err);
}

int mlg_writer_add_stack(struct mlg_writer *w, uint32_t id, const uint64_t *pcs, uint32_t depth,
                         struct mlg_error *err)
{
    if (id != w->stacks + 1 || depth > MLG_STACK_DEPTH_MAX)
        return mlg_error_set(err, MLG_E_ARG, 0, w->events, "stack ids must be 1, 2, 3...");
    uint8_t *p = sites_reserve(w, 1 + 10 + 10 + (size_t)depth * 10);
    if (!p)
        return mlg_error_set(err, MLG_E_NOMEM, 0, w->events, "sites");
    *p++ = MLG_SITE_STACK;
    p = mlg_varint_put(p, id);
    p = mlg_varint_put(p, depth);
    for (uint32_t i = 0; i < depth; i++)
        p = mlg_varint_put(p, pcs[i]);
    w->stacks = id;
    return sites_added(w, p, err);
}

static int flush_frame(struct mlg_writer *w, struct mlg_error *err)
{
    int src = flush_sites(w, err);
    if (src)
        return src;
    if (w->frame_events == 0)
        return 0;
    size_t n = ZSTD_compress2(w->cctx, w->comp, w->comp_cap, w->raw, w->raw_len);
    if (ZSTD_isError(n)) {
        return mlg_error_set(err, MLG_E_ZSTD, w->bytes, w->frame_first_event, "%s",
                             ZSTD_getErrorName(n));
    }
    uint8_t meta[MLG_FRAME_META_SIZE];
    mlg_put64(meta, w->frame_first_event);
    mlg_put64(meta + 8, w->frame_first_seq);
    mlg_put64(meta + 16, w->frame_time);
    mlg_put32(meta + 24, w->frame_events);
    mlg_put32(meta + 28, (uint32_t)w->raw_len);
    mlg_put32(meta + 32, (uint32_t)n);
    mlg_put32(meta + 36, mlg_crc32c(meta, 36));
    int rc = write_skippable(w, MLG_SKIP_FRAME, meta, sizeof meta, err);
    if (rc == 0)
        rc = write_all(w, w->comp, n, err);
    w->frames++;
    w->raw_len = 0;
    w->frame_events = 0;
    return rc;
}

int mlg_writer_add(struct mlg_writer *w, const struct mlg_event *ev, struct mlg_error *err)
{
    if (ev->op >= MLG_OP_COUNT || mlg_op_fields(ev->op) == 0xff) {
        return mlg_error_set(err, MLG_E_ARG, 0, w->events, "unknown op %u", ev->op);
    }
    if (w->frame_events == 0) {
        w->frame_first_event = w->events;
        w->frame_first_seq = ev->seq_rel && mlg_op_fields(ev->op) & MLG_F_REL ? ev->seq_rel : ev->seq;
        w->frame_time = w->last_time;
        mlg_codec_reset(&w->codec, w->frame_first_seq, w->frame_time);
    }
    struct mlg_event e = *ev;
    if (e.time_ns < w->last_time)
        e.time_ns = w->last_time; /* per-thread clocks interleave; keep the log monotonic */
    w->last_time = e.time_ns;
    w->raw_len = (size_t)(mlg_codec_put(&w->codec, w->raw + w->raw_len, &e) - w->raw);
    w->frame_events++;
    w->events++;
    w->op_counts[ev->op]++;
    w->last_seq = ev->seq;
    if (!w->any_thread || ev->thread > w->max_thread)
        w->max_thread = ev->thread;
    w->any_thread = 1;
    if (w->raw_len >= w->frame_bytes)
        return flush_frame(w, err);
    return 0;
}

int mlg_writer_flush(struct mlg_writer *w, struct mlg_error *err)
{
    return flush_frame(w, err);
}

uint64_t mlg_writer_bytes(const struct mlg_writer *w)
{
    return w->bytes;
}

int mlg_writer_finish(struct mlg_writer *w, const struct mlg_trailer *t, struct mlg_error *err)
{
    memset(err, 0, sizeof *err);
    int rc = flush_frame(w, err);
    if (rc == 0 && t) {
        uint8_t buf[8 + 5 * 8 + 4 + 4 + 4 + MLG_OP_COUNT * 8 + 8 + 4 + sizeof t->next_segment + 4];
        uint8_t *p = buf;
        memcpy(p, MLG_TRAILER_TAG, 8);
        p += 8;
        mlg_put64(p, w->events);
        mlg_put64(p + 8, w->frames);
        mlg_put64(p + 16, t->lost_events);
        mlg_put64(p + 24, t->threads ? t->threads : (w->any_thread ? w->max_thread + 1u : 0));
        mlg_put64(p + 32, w->last_seq);
        p += 40;
        mlg_put32(p, t->end);
        mlg_put32(p + 4, (uint32_t)t->end_status);
        mlg_put32(p + 8, MLG_OP_COUNT);
        p += 12;
        for (unsigned i = 0; i < MLG_OP_COUNT; i++, p += 8)
            mlg_put64(p, w->op_counts[i]);
        /* per-thread clocks: the end is never before an event the log already holds */
        mlg_put64(p, t->end_time_ns && t->end_time_ns < w->last_time ? w->last_time : t->end_time_ns);
        p += 8;
        size_t nlen = strnlen(t->next_segment, sizeof t->next_segment - 1);
        if (t->end == MLG_END_SEGMENT && nlen) { /* u32 length, the next segment's file name */
            mlg_put32(p, (uint32_t)nlen);
            memcpy(p + 4, t->next_segment, nlen);
            p += 4 + nlen;
        }
        mlg_put32(p, mlg_crc32c(buf, (size_t)(p - buf)));
        p += 4;
        rc = write_skippable(w, MLG_SKIP_TRAILER, buf, (size_t)(p - buf), err);
    }
    if (close(w->fd) != 0 && rc == 0)
        rc = mlg_error_set(err, MLG_E_IO, w->bytes, w->events, "close");
    ZSTD_freeCCtx(w->cctx);
    free(w->raw);
    free(w->comp);
    free(w->sites);
    free(w);
    return rc;
}

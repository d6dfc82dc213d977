/* fuzz_reader.c - libFuzzer target: the log reader through each of its APIs on one input.
 *
 * Every input is read four ways: event by event (mlg_reader_next), in batches of events
 * (mlg_reader_next_batch), in batches of records (mlg_reader_next_recs) and through a visitor
 * (mlg_read_file). Beyond "no crash, no leak, no sanitizer report", the four must agree: the same
 * events (hashed field by field), the same error code, offset and event index, and an error's
 * event index must be the number of events delivered before it. Built three ways (build.sh):
 *   fuzz_reader         the input is the log, as is (the checksums stop most mutations);
 *   fuzz_reader_crc     the input's CRC-32C fields are recomputed first (FUZZ_FIX_CRC);
 *   fuzz_reader_events  the input is the decompressed content of event frames, wrapped into a
 *                       valid log here (FUZZ_EVENTS), so the event decoder itself is fuzzed.
 */
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>

#include "../../lib/mallog.h"
#include "fuzz.h"

struct outcome {
    uint64_t events, hash, rec_hash;
    int code, have_trailer;
    uint64_t offset, event;
};

static uint64_t mix(uint64_t h, uint64_t v)
{
    h ^= v;
    h *= 0x100000001b3ull;
    return h ^ (h >> 29);
}

static uint64_t rec_hash(uint64_t h, const struct mlg_rec *v)
{
    h = mix(h, v->ptr);
    h = mix(h, v->old_ptr);
    h = mix(h, v->size);
    h = mix(h, (uint64_t)v->result);
    h = mix(h, v->time_ns);
    h = mix(h, v->thread);
    return mix(h, (uint64_t)v->op << 8 | v->outcome);
}

static void add_event(struct outcome *o, const struct mlg_event *e)
{
    CHECK(e->index == o->events);
    CHECK(mlg_op_kind(e->op) != 0);          /* only real ops reach a consumer */
    CHECK(e->outcome < MLG_OUT_COUNT);
    uint64_t h = mix(o->hash, e->index);
    h = mix(h, e->seq);
    h = mix(h, e->seq_rel);
    h = mix(h, e->arg);
    o->hash = mix(h, e->stack);
    struct mlg_rec v = {e->ptr, e->old_ptr, e->size, e->result, e->time_ns, e->thread, e->op,
                        e->outcome};
    o->hash = rec_hash(o->hash, &v);
    o->rec_hash = rec_hash(o->rec_hash, &v);
    o->events++;
}

static void end_of(struct outcome *o, struct mlg_reader *r)
{
    const struct mlg_error *err = mlg_reader_error(r);
    o->code = err->code;
    o->offset = err->offset;
    o->event = err->event;
    o->have_trailer = mlg_reader_trailer(r) != NULL;
    if (o->code)
        CHECK(o->event == o->events); /* "index of the first event not delivered" */
    CHECK(mlg_reader_offset(r) <= mlg_reader_file_size(r));
}

/* mode 0: pull, 1: batch of events, 2: batch of records. Returns 0, or the open error. */
static int read_with(int fd, int mode, struct outcome *o)
{
    memset(o, 0, sizeof *o);
    if (lseek(fd, 0, SEEK_SET) != 0)
        abort();
    struct mlg_reader *r;
    struct mlg_error err;
    int rc = mlg_reader_open_fd(&r, fd, "fuzz", NULL, &err);
    if (rc) {
        CHECK(err.code == rc);
        o->code = rc;
        o->offset = err.offset;
        return rc;
    }
    int n;
    if (mode == 0) {
        struct mlg_event ev;
        while ((n = mlg_reader_next(r, &ev)) > 0)
            add_event(o, &ev);
    } else if (mode == 1) {
        struct mlg_event ev[7];
        while ((n = mlg_reader_next_batch(r, ev, 7)) > 0) {
            CHECK(n <= 7);
            for (int i = 0; i < n; i++)
                add_event(o, &ev[i]);
        }
    } else {
        struct mlg_rec v[61];
        while ((n = mlg_reader_next_recs(r, v, 61)) > 0) {
            CHECK(n <= 61);
            for (int i = 0; i < n; i++) {
                o->rec_hash = rec_hash(o->rec_hash, &v[i]);
                o->events++;
            }
        }
    }
    CHECK(n == -mlg_reader_error(r)->code);
    end_of(o, r);
    /* once ended, a reader stays ended */
    struct mlg_event ev;
    CHECK(mlg_reader_next(r, &ev) == n);
    mlg_reader_close(r);
    return 0;
}

struct visit {
    struct outcome o;
    int ends;
};

static int on_event(void *ctx, const struct mlg_event *ev)
{
    add_event(&((struct visit *)ctx)->o, ev);
    return 0;
}

static void on_end(void *ctx, const struct mlg_trailer *t, const struct mlg_error *err)
{
    struct visit *v = ctx;
    v->ends++;
    v->o.have_trailer = t != NULL;
    v->o.code = err->code;
    v->o.offset = err->offset;
    v->o.event = err->event;
}

static void check_same(const struct outcome *a, const struct outcome *b, int full)
{
    CHECK(a->events == b->events);
    CHECK(a->rec_hash == b->rec_hash);
    if (full)
        CHECK(a->hash == b->hash);
    CHECK(a->code == b->code);
    CHECK(a->offset == b->offset);
    CHECK(a->event == b->event);
    CHECK(a->have_trailer == b->have_trailer);
}

#ifdef FUZZ_EVENTS
/* Wraps raw event bytes into a log: a file header, one frame per "FRM|"-separated piece (each
 * piece: u8 event count, u8 first_seq, then the decompressed events), a trailer counting them. */
static size_t put_frame(uint8_t *out, uint32_t variant, const uint8_t *body, uint32_t len)
{
    mlg_put32(out, MLG_SKIP_MAGIC + variant);
    mlg_put32(out + 4, len);
    memcpy(out + 8, body, len);
    return 8 + (size_t)len;
}

static uint8_t *wrap_events(const uint8_t *data, size_t size, size_t *out_len)
{
    static ZSTD_CCtx *cctx;
    if (!cctx) {
        cctx = ZSTD_createCCtx();
        ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, 1);
        ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1);
    }
    size_t cap = 4096 + 2 * ZSTD_compressBound(size) + 128 * (size / 4 + 1);
    uint8_t *out = malloc(cap), *p = out;
    uint8_t hdr[64];
    memcpy(hdr, MLG_HEADER_TAG, 8);
    uint8_t *h = hdr + 8;
    h[0] = MLG_HK_VERSION, h[1] = 0, mlg_put32(h + 2, 8), mlg_put64(h + 6, MLG_FORMAT_VERSION);
    h += 14;
    h[0] = MLG_HK_PID, h[1] = 0, mlg_put32(h + 2, 8), mlg_put64(h + 6, 4242);
    h += 14;
    mlg_put32(h, mlg_crc32c(hdr, (size_t)(h - hdr)));
    p += put_frame(p, MLG_SKIP_HEADER, hdr, (uint32_t)(h + 4 - hdr));
    uint64_t events = 0, frames = 0;
    size_t at = 0;
    while (at < size) {
        const uint8_t *sep = memmem(data + at, size - at, "FRM|", 4);
        size_t piece = sep ? (size_t)(sep - data) - at : size - at;
        const uint8_t *b = data + at;
        at += piece + (sep ? 4 : 0);
        if (piece < 2)
            continue;
        uint8_t meta[MLG_FRAME_META_SIZE];
        size_t comp = ZSTD_compress2(cctx, p + 8 + sizeof meta, cap - (size_t)(p - out) - 48,
                                     b + 2, piece - 2);
        if (ZSTD_isError(comp))
            abort();
        mlg_put64(meta, events);
        mlg_put64(meta + 8, b[1]);
        mlg_put64(meta + 16, 0);
        mlg_put32(meta + 24, b[0]);
        mlg_put32(meta + 28, (uint32_t)(piece - 2));
        mlg_put32(meta + 32, (uint32_t)comp);
        mlg_put32(meta + 36, mlg_crc32c(meta, 36));
        mlg_put32(p, MLG_SKIP_MAGIC + MLG_SKIP_FRAME);
        mlg_put32(p + 4, sizeof meta);
        memcpy(p + 8, meta, sizeof meta);
        p += 8 + sizeof meta + comp;
        events += b[0];
        frames++;
    }
    uint8_t tr[8 + 52 + MLG_OP_COUNT * 8 + 4] = {0};
    memcpy(tr, MLG_TRAILER_TAG, 8);
    mlg_put64(tr + 8, events);
    mlg_put64(tr + 16, frames);
    mlg_put32(tr + 8 + 48, MLG_OP_COUNT);
    mlg_put32(tr + sizeof tr - 4, mlg_crc32c(tr, sizeof tr - 4));
    p += put_frame(p, MLG_SKIP_TRAILER, tr, sizeof tr);
    *out_len = (size_t)(p - out);
    return out;
}
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *copy = NULL;
#if defined(FUZZ_EVENTS)
    copy = wrap_events(data, size, &size);
    data = copy;
#elif defined(FUZZ_FIX_CRC)
    copy = malloc(size ? size : 1);
    memcpy(copy, data, size);
    fuzz_fix_crcs(copy, size);
    data = copy;
#endif
    char path[64];
    int fd = fuzz_file(data, size, path, sizeof path);
    struct outcome pull, batch, recs;
    int rc = read_with(fd, 0, &pull);
    CHECK(read_with(fd, 1, &batch) == rc);
    CHECK(read_with(fd, 2, &recs) == rc);
    if (rc == 0) {
        check_same(&pull, &batch, 1);
        check_same(&pull, &recs, 0);
    }
    struct visit v = {{0}, 0};
    struct mlg_visitor vis = {&v, NULL, on_event, on_end};
    struct mlg_error err;
    int vrc = mlg_read_file(path, &vis, NULL, &err);
    CHECK(vrc == err.code);
    if (rc == 0) {
        CHECK(v.ends == 1);
        check_same(&pull, &v.o, 1);
    } else {
        CHECK(v.ends == 0 && vrc == rc && err.offset == pull.offset);
    }
    free(copy);
    return 0;
}

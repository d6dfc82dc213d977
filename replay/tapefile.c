/* tapefile.c - a log decoded once, replayed by every worker. `mallog replay` runs one worker per
 * allocator, and each used to decode the log itself in a second process (~50 ns an event, as
 * much as or more than the allocator calls it feeds: tcmalloc's are ~26 ns; and on few cores
 * the measured process waited whenever its decoder was not scheduled). Instead the parent
 * decodes the log once into two unnamed files, and each worker's measured process reads the op
 * file itself (a pread per 4096 records, no other process in its way) and plays it: its loop is
 * the bare loop's. The slot records that samples read (size, allocating event, thread, call
 * site) are brought up to date at each sample, from the op file read again and the meta file,
 * outside the measured time.
 * The op file is a header page, then the ring's records in order, in chunks of
 * TAPEFILE_CHUNK records that a record and its operand never straddle (NOP padding). The meta
 * file holds one record per allocating op record (ALLOC, ALLOC_ARG, REALLOC0, REALLOC), in order.
 * Unnamed (O_TMPFILE, or unlinked at once): nothing is left behind whatever ends the run. */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "replay.h"

#define TAPEFILE_MAGIC "MLGTAPE2"
#define TAPEFILE_DATA 4096 /* op records start here, after the header page */

struct tapefile_header {
    char magic[8];
    uint64_t records, metas;
    struct dec_out out;
};

struct meta {
    uint64_t event;
    uint32_t thread, stack;
};

static int write_all(int fd, const void *p, size_t len, off_t at)
{
    const char *c = p;
    while (len) {
        ssize_t n = pwrite(fd, c, len, at);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        c += n;
        len -= (size_t)n;
        at += n;
    }
    return 0;
}

/* Reads up to `want` items of `size` bytes at item `at` of the stream starting at `base`;
 * returns how many (fewer at the end or on an error). */
static uint64_t read_items(int fd, void *buf, size_t size, uint64_t want, uint64_t at, off_t base)
{
    size_t len = want * size, got = 0;
    off_t off = base + (off_t)(at * size);
    while (got < len) {
        ssize_t n = pread(fd, (char *)buf + got, len - got, off + (off_t)got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    return got / size;
}

static int is_allocating(int kind)
{
    return kind == TAPE_ALLOC || kind == TAPE_ALLOC_ARG || kind == TAPE_REALLOC0 ||
           kind == TAPE_REALLOC;
}

/* ---- writing ------------------------------------------------------------------------------- */

struct writer {
    int fd, meta_fd;
    struct tape_op *ops;
    struct meta *metas;
    uint64_t n_ops, n_metas; /* buffered */
    uint64_t records, metas_total;
};

static int flush_ops(struct writer *w)
{
    if (write_all(w->fd, w->ops, w->n_ops * sizeof *w->ops,
                  TAPEFILE_DATA + (off_t)(w->records * sizeof *w->ops)) < 0)
        return -1;
    w->records += w->n_ops;
    w->n_ops = 0;
    return 0;
}

static int flush_metas(struct writer *w)
{
    if (write_all(w->meta_fd, w->metas, w->n_metas * sizeof *w->metas,
                  (off_t)(w->metas_total * sizeof *w->metas)) < 0)
        return -1;
    w->metas_total += w->n_metas;
    w->n_metas = 0;
    return 0;
}

/* Appends op (and its operand arg if it has one); a chunk is written whole. */
static int put_op(struct writer *w, const struct tape_op *op, const struct tape_op *arg)
{
    if (arg && w->n_ops == TAPEFILE_CHUNK - 1)
        w->ops[w->n_ops++] = (struct tape_op){0, 0, 0}; /* the pair starts the next chunk */
    if (w->n_ops == TAPEFILE_CHUNK && flush_ops(w) < 0)
        return -1;
    w->ops[w->n_ops++] = *op;
    if (arg)
        w->ops[w->n_ops++] = *arg;
    return 0;
}

int tapefile_make(const struct engine_opts *o, int fd, int meta_fd,
                  void (*progress)(uint64_t events))
{
    struct tape *t = tape_new(14);
    struct dec_out *out = mem_map_shared(-1, sizeof *out, "mallog:decoder");
    struct writer w = {fd, meta_fd, mem_map(TAPEFILE_CHUNK * sizeof *w.ops, "mallog:tapefile"),
                       mem_map(TAPEFILE_CHUNK * sizeof *w.metas, "mallog:tapefile"), 0, 0, 0, 0};
    pid_t child = -1;
    int rc = -1, saved = ENOMEM;
    if (!t || !out || !w.ops || !w.metas)
        goto done;
    struct engine_opts fo = *o;
    fo.progress = NULL;
    fo.tape_fd = 0;
    if ((child = engine_spawn_file_decoder(&fo, t, out)) < 0) {
        saved = errno;
        goto done;
    }
    uint64_t shown = 0;
    int ended = 0;
    while (!ended) {
        const struct tape_op *v;
        uint64_t n = tape_get(t, 4096, 200, &v);
        if (!n) {
            if (waitpid(child, NULL, WNOHANG) == child) { /* died before END */
                child = -1;
                saved = EIO;
                goto done;
            }
            continue;
        }
        uint64_t i = 0;
        for (; i < n && !ended; i++) {
            const struct tape_op *op = &v[i];
            int kind = TAPE_KIND(op), bad = 0;
            switch (kind) {
            case TAPE_NOP:
                continue;
            case TAPE_META:
                w.metas[w.n_metas++] = (struct meta){TAPE_SIZE(op), op->aux, op->slot};
                if (w.n_metas == TAPEFILE_CHUNK)
                    bad = flush_metas(&w) < 0;
                if (progress && TAPE_SIZE(op) >> 16 != shown) {
                    shown = TAPE_SIZE(op) >> 16;
                    progress(TAPE_SIZE(op));
                }
                break;
            case TAPE_SAMPLE: /* the decoder waits for each sample: nothing to wait for */
                tape_ack(t, 0);
                bad = put_op(&w, op, NULL) < 0;
                break;
            default:
                /* an operand has any bits: it goes with the record before it */
                bad = put_op(&w, op, tape_has_arg(kind) ? &v[++i] : NULL) < 0;
                ended = kind == TAPE_END;
                break;
            }
            if (bad) {
                saved = errno ? errno : EIO;
                tape_ack(t, 1);
                goto done;
            }
        }
        tape_done(t, i);
    }
    while (waitpid(child, NULL, 0) < 0 && errno == EINTR)
        ;
    child = -1;
    if (flush_ops(&w) < 0 || flush_metas(&w) < 0) {
        saved = errno ? errno : EIO;
        goto done;
    }
    struct tapefile_header h = {TAPEFILE_MAGIC, w.records, w.metas_total, *out};
    if (write_all(fd, &h, sizeof h, 0) < 0) {
        saved = errno ? errno : EIO;
        goto done;
    }
    rc = 0;
done:
    if (child > 0) {
        kill(child, SIGKILL);
        while (waitpid(child, NULL, 0) < 0 && errno == EINTR)
            ;
    }
    tape_free(t);
    if (out)
        mem_unmap(out, sizeof *out);
    if (w.ops)
        mem_unmap(w.ops, TAPEFILE_CHUNK * sizeof *w.ops);
    if (w.metas)
        mem_unmap(w.metas, TAPEFILE_CHUNK * sizeof *w.metas);
    if (rc)
        errno = saved;
    return rc;
}

/* ---- reading ------------------------------------------------------------------------------- */

int tapefile_open(int fd, uint64_t *records, struct dec_out *out)
{
    struct tapefile_header h;
    if (pread(fd, &h, sizeof h, 0) != (ssize_t)sizeof h ||
        memcmp(h.magic, TAPEFILE_MAGIC, sizeof h.magic) != 0)
        return -1;
    *records = h.records;
    *out = h.out;
    return 0;
}

uint64_t tapefile_read(int fd, struct tape_op *buf, uint64_t at, uint64_t records)
{
    uint64_t want = records - at < TAPEFILE_CHUNK ? records - at : TAPEFILE_CHUNK;
    return read_items(fd, buf, sizeof *buf, want, at, TAPEFILE_DATA);
}

/* ---- the slot records, caught up at samples ------------------------------------------------ */

_Static_assert(sizeof(struct meta) == sizeof(struct tape_op), "a meta chunk is an op chunk");

void tapefile_catchup_init(struct tapefile_catchup *c, int fd, int meta_fd, uint64_t records,
                           struct tape_op *buf, int slots_fd, uint64_t slots_cap)
{
    memset(c, 0, sizeof *c);
    c->fd = fd;
    c->meta_fd = meta_fd;
    c->records = records;
    c->ops = buf;
    c->metas = buf + TAPEFILE_CHUNK;
    c->slots_fd = slots_fd;
    c->slots_cap = slots_cap;
}

int tapefile_catchup(struct tapefile_catchup *c, struct slot *v, uint64_t cap)
{
    struct meta *metas = c->metas;
    for (;;) {
        if (c->next == c->n) { /* the next chunk of ops */
            c->at += c->n;
            c->next = 0;
            if (c->at >= c->records || (c->n = tapefile_read(c->fd, c->ops, c->at, c->records)) == 0)
                return -1; /* no SAMPLE left: a damaged file */
        }
        const struct tape_op *op = &c->ops[c->next++];
        int kind = TAPE_KIND(op);
        uint64_t lim = cap < c->slots_cap ? cap : c->slots_cap; /* valid slot indexes */
        if (is_allocating(kind)) {
            if (c->next_meta == c->n_metas) {
                c->meta_at += c->n_metas;
                c->n_metas = read_items(c->meta_fd, metas, sizeof *metas, TAPEFILE_CHUNK,
                                        c->meta_at, 0);
                c->next_meta = 0;
                if (c->n_metas == 0)
                    return -1;
            }
            const struct meta *m = &metas[c->next_meta++];
            if (op->slot >= lim || (kind == TAPE_REALLOC && op->aux >= lim))
                return -1;
            if (kind == TAPE_REALLOC) /* the old block goes first: its slot may be reused */
                v[op->aux].thread = SLOT_DEAD;
            v[op->slot] = (struct slot){TAPE_SIZE(op), m->event, SLOT_UNASKED,
                                        m->thread == SLOT_DEAD ? 0 : m->thread, m->stack};
            c->next += (uint64_t)tape_has_arg(kind); /* a chunk never splits a pair */
            continue;
        }
        switch (kind) {
        case TAPE_FREE:
            if (op->slot >= lim)
                return -1;
            v[op->slot].thread = SLOT_DEAD;
            break;
        case TAPE_GROW: /* the view was grown as the op was played: now the memory behind it */
            if (TAPE_SIZE(op) > c->slots_cap) {
                if (ftruncate(c->slots_fd, (off_t)(TAPE_SIZE(op) * sizeof *v)) != 0)
                    return -1;
                c->slots_cap = TAPE_SIZE(op);
            }
            break;
        case TAPE_SAMPLE:
            return 0;
        default:
            break;
        }
    }
}

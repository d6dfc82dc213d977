/* pack.c - turns a recorder spool into a .mlog.
 *
 * The spool holds per-thread chunks of records in the order each thread wrote them. Packing merges
 * the threads by sequence number (a heap over threads, each with a small reorder window for the
 * records a signal handler wrote out of order), splits a realloc whose release and acquire points
 * had other events between them into REALLOC_RELEASE + REALLOC, and writes the result with
 * mlg_writer. Holes (records being written when the process died) are counted as lost.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "logfile.h"
#include "mallog.h"
#include "spool.h"

#define WINDOW 8 /* reorder window per thread, a power of two */

struct pending {
    struct mlg_event ev;
    uint64_t key;
    int needs_release;
};

struct tstream {
    uint32_t thread;
    uint32_t nchunks, next_chunk;
    uint32_t *chunks;
    const uint8_t *pos, *end;
    struct mlg_spool_state st;
    uint64_t time_ns;
    struct pending buf[WINDOW]; /* a ring sorted by key from buf[head] */
    unsigned head, nbuf;
};

struct packer {
    const uint8_t *map;
    size_t size;
    struct tstream *streams;
    uint32_t nstreams;
    uint32_t *heap; /* stream indices, min-heap on head key */
    uint32_t nheap;
    uint64_t lost;
};

static int set_err(struct mlg_error *err, int code, uint64_t off, const char *what)
{
    err->code = code;
    err->offset = off;
    err->sys_errno = code == MLG_E_IO ? errno : 0;
    snprintf(err->detail, sizeof err->detail, "%s", what);
    return code;
}

static const uint8_t *get_ptr(const uint8_t *p, const uint8_t *end, struct mlg_spool_state *st,
                              int abs, uint64_t *out)
{
    uint64_t v;
    if (!(p = mlg_varint_get(p, end, &v)))
        return NULL;
    if (abs) {
        *out = v;
    } else {
        *out = st->prev_ptr + (uint64_t)mlg_unzigzag(v);
        st->prev_ptr = *out;
    }
    return p;
}

/* Decodes one spool record [p, p+len). Returns 1 = event, 0 = clock reading, -1 = corrupt. */
static int decode_record(struct tstream *s, const uint8_t *p, unsigned len, struct mlg_event *ev)
{
    const uint8_t *end = p + len;
    unsigned tag = p[0], op = tag & MLG_SPOOL_OP_MASK;
    int abs = (tag & MLG_SPOOL_ABS) != 0;
    uint64_t v;
    p += 2;
    if (op == MLG_TAG_TIME) {
        if (!(p = mlg_varint_get(p, end, &v)) || p != end)
            return -1;
        if (v > s->time_ns)
            s->time_ns = v;
        return 0;
    }
    unsigned f = mlg_op_fields(op);
    if (f == 0xff || op == MLG_OP_REALLOC_RELEASE)
        return -1;
    struct mlg_spool_state tmp = s->st;
    memset(ev, 0, sizeof *ev);
    ev->op = (uint8_t)op;
    ev->thread = s->thread;
    ev->time_ns = s->time_ns;
    if (!(p = mlg_varint_get(p, end, &v)))
        return -1;
    ev->seq = abs ? v : tmp.prev_seq + 1 + (uint64_t)mlg_unzigzag(v);
    if (!abs)
        tmp.prev_seq = ev->seq;
    int has_outcome = 0;
    if (tag & MLG_SPOOL_OUTCOME) {
        if (p >= end || *p >= MLG_OUT_COUNT)
            return -1;
        ev->outcome = *p++;
        has_outcome = 1;
    }
    uint64_t d = 0;
    if ((f & MLG_F_REL) && !(p = mlg_varint_get(p, end, &d)))
        return -1;
    if ((f & MLG_F_OLD) && !(p = get_ptr(p, end, &tmp, abs, &ev->old_ptr)))
        return -1;
    if ((f & MLG_F_ARG) && !(p = mlg_varint_get(p, end, &ev->arg)))
        return -1;
    if ((f & MLG_F_SIZE) && !(p = mlg_varint_get(p, end, &ev->size)))
        return -1;
    if ((f & MLG_F_PTR) && !(p = get_ptr(p, end, &tmp, abs, &ev->ptr)))
        return -1;
    if (f & MLG_F_RESULT) {
        if (!(p = mlg_varint_get(p, end, &v)))
            return -1;
        ev->result = mlg_unzigzag(v);
    }
    if (p != end || ((f & MLG_F_REL) && (d == 0 || d > ev->seq)))
        return -1;
    if (f & MLG_F_REL)
        ev->seq_rel = ev->seq - d;
    if (!has_outcome)
        ev->outcome = (uint8_t)mlg_default_outcome(op, ev->ptr, ev->old_ptr);
    s->st = tmp;
    return 1;
}

static int open_chunk(struct packer *pk, struct tstream *s)
{
    while (s->next_chunk < s->nchunks) {
        size_t off = (size_t)s->chunks[s->next_chunk++] * MLG_SPOOL_CHUNK;
        const struct mlg_spool_chunk *c = (const void *)(pk->map + off);
        s->pos = pk->map + off + sizeof *c;
        s->end = pk->map + off + MLG_SPOOL_CHUNK;
        s->st.prev_seq = 0;
        s->st.prev_ptr = 0;
        if (c->time_ns > s->time_ns)
            s->time_ns = c->time_ns;
        return 1;
    }
    return 0;
}

/* Next event of a thread's stream, in the order the thread wrote them. Returns 1 or 0 at end. */
static int stream_next(struct packer *pk, struct tstream *s, struct mlg_event *ev)
{
    for (;;) {
        if (!s->pos || s->end - s->pos < 2 || s->pos[1] == 0) {
            if (!open_chunk(pk, s))
                return 0;
            continue;
        }
        unsigned len = s->pos[1];
        if (len < 3 || len > s->end - s->pos) {
            pk->lost++; /* a torn record at the very end of a chunk */
            s->pos = s->end;
            continue;
        }
        const uint8_t *rec = s->pos;
        s->pos += len;
        if (rec[0] == 0) {
            pk->lost++; /* being written when the process died */
            continue;
        }
        int r = decode_record(s, rec, len, ev);
        if (r == 1)
            return 1;
        if (r < 0)
            pk->lost++;
    }
}

static uint64_t key_of(const struct pending *p)
{
    return p->needs_release ? p->ev.seq_rel : p->ev.seq;
}

#define AT(s, i) ((s)->buf[((s)->head + (i)) & (WINDOW - 1)])

/* Keeps the ring sorted by key: records almost always arrive in order, so this rarely moves. */
static void buf_insert(struct tstream *s, const struct pending *p)
{
    unsigned i = s->nbuf++;
    while (i > 0 && key_of(&AT(s, i - 1)) > key_of(p)) {
        AT(s, i) = AT(s, i - 1);
        i--;
    }
    AT(s, i) = *p;
}

static struct pending *buf_front(struct tstream *s)
{
    return &s->buf[s->head & (WINDOW - 1)];
}

static void buf_pop(struct tstream *s)
{
    s->head++;
    s->nbuf--;
}

static void refill(struct packer *pk, struct tstream *s)
{
    struct pending p;
    while (s->nbuf < WINDOW && stream_next(pk, s, &p.ev)) {
        unsigned f = mlg_op_fields(p.ev.op);
        p.needs_release = (f & MLG_F_REL) && p.ev.seq - p.ev.seq_rel > 1 &&
                          (p.ev.outcome == MLG_OUT_MOVED || p.ev.outcome == MLG_OUT_FREED);
        buf_insert(s, &p);
    }
}

static uint64_t head_key(const struct packer *pk, uint32_t i)
{
    return key_of(buf_front(&pk->streams[i]));
}

static void heap_down(struct packer *pk, uint32_t i)
{
    for (;;) {
        uint32_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < pk->nheap && head_key(pk, pk->heap[l]) < head_key(pk, pk->heap[m]))
            m = l;
        if (r < pk->nheap && head_key(pk, pk->heap[r]) < head_key(pk, pk->heap[m]))
            m = r;
        if (m == i)
            return;
        uint32_t t = pk->heap[i];
        pk->heap[i] = pk->heap[m];
        pk->heap[m] = t;
        i = m;
    }
}

static int cmp_chunk(const void *a, const void *b)
{
    const uint64_t *x = a, *y = b;
    return *x < *y ? -1 : *x > *y;
}

static void header_from_spool(struct mlg_header *h, const struct mlg_spool_header *s)
{
    memset(h, 0, sizeof *h);
    h->version = MLG_FORMAT_VERSION;
    h->pid = s->pid;
    h->ppid = s->ppid;
    h->exec_gen = s->exec_gen;
    h->parent_pid = s->parent_pid;
    h->parent_gen = s->parent_gen;
    h->fork_seq = s->fork_seq;
    h->start_realtime_ns = s->start_realtime_ns;
    h->page_size = s->page_size;
    h->nproc = s->nproc;
    h->argc = s->argc;
    memcpy(h->exe, s->exe, sizeof h->exe - 1);
    memcpy(h->argv, s->argv, sizeof h->argv - 1);
    memcpy(h->glibc_version, s->glibc_version, sizeof h->glibc_version - 1);
    memcpy(h->malloc_lib, s->malloc_lib, sizeof h->malloc_lib - 1);
    memcpy(h->malloc_shadowed, s->malloc_shadowed, sizeof h->malloc_shadowed - 1);
    memcpy(h->env, s->env, sizeof h->env - 1);
}

static int map_spool(const char *path, const uint8_t **map, size_t *size, struct mlg_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return set_err(err, MLG_E_IO, 0, "open spool");
    struct stat st;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return set_err(err, MLG_E_IO, 0, "stat spool");
    }
    if ((size_t)st.st_size < sizeof(struct mlg_spool_header)) {
        close(fd);
        return set_err(err, st.st_size ? MLG_E_TRUNCATED : MLG_E_EMPTY, (uint64_t)st.st_size,
                       "spool shorter than its header");
    }
    void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (p == MAP_FAILED)
        return set_err(err, MLG_E_IO, 0, "mmap spool");
    const struct mlg_spool_header *h = p;
    if (memcmp(h->magic, MLG_SPOOL_MAGIC, 8) != 0 || h->version != MLG_SPOOL_VERSION ||
        h->chunk_size != MLG_SPOOL_CHUNK) {
        munmap(p, (size_t)st.st_size);
        return set_err(err, MLG_E_NOT_MLOG, 0, "not a mallog spool (or another version)");
    }
    *map = p;
    *size = (size_t)st.st_size;
    return 0;
}

static void end_of(const struct mlg_spool_header *h, int *end, int *status)
{
    uint32_t set = h->end_set;
    if (set == 1) {
        *end = (int)h->end;
        *status = h->end_status;
    } else if (set == 2) {
        *end = (int)h->end;
        *status = INT32_MIN; /* exit status unknown (returned from main) */
    } else {
        *end = MLG_END_VANISHED;
        *status = 0;
    }
}

int mlg_spool_peek(const char *spool_path, struct mlg_header *h, int *end, struct mlg_error *err)
{
    memset(err, 0, sizeof *err);
    const uint8_t *map;
    size_t size;
    int rc = map_spool(spool_path, &map, &size, err);
    if (rc)
        return rc;
    const struct mlg_spool_header *s = (const void *)map;
    header_from_spool(h, s);
    int status;
    end_of(s, end, &status);
    munmap((void *)map, size);
    return 0;
}

static int build_streams(struct packer *pk)
{
    size_t nchunk_slots = pk->size / MLG_SPOOL_CHUNK;
    uint64_t *keys = malloc((nchunk_slots + 1) * sizeof *keys);
    if (!keys)
        return -1;
    size_t n = 0;
    for (size_t k = 1; k < nchunk_slots; k++) {
        const struct mlg_spool_chunk *c = (const void *)(pk->map + k * MLG_SPOOL_CHUNK);
        if (c->magic == MLG_SPOOL_CHUNK_MAGIC)
            keys[n++] = (uint64_t)c->thread << 32 | k;
    }
    qsort(keys, n, sizeof *keys, cmp_chunk);
    uint32_t nthreads = 0;
    for (size_t i = 0; i < n; i++)
        nthreads += i == 0 || keys[i] >> 32 != keys[i - 1] >> 32;
    pk->streams = calloc(nthreads ? nthreads : 1, sizeof *pk->streams);
    pk->heap = calloc(nthreads ? nthreads : 1, sizeof *pk->heap);
    uint32_t *chunks = malloc((n ? n : 1) * sizeof *chunks);
    if (!pk->streams || !pk->heap || !chunks) {
        free(keys);
        free(chunks);
        return -1;
    }
    struct tstream *s = NULL;
    for (size_t i = 0; i < n; i++) {
        chunks[i] = (uint32_t)keys[i];
        if (i == 0 || keys[i] >> 32 != keys[i - 1] >> 32) {
            s = &pk->streams[pk->nstreams++];
            s->thread = (uint32_t)(keys[i] >> 32);
            s->chunks = &chunks[i];
        }
        s->nchunks++;
    }
    if (n == 0)
        free(chunks);
    free(keys);
    return 0;
}

/* The merge runs on a thread of its own and hands events over in batches, so merging (decode,
 * reorder, heap) and writing (encode, zstd) use both cores. Batches are a small ring. */
#define BATCH_EVENTS 4096
#define BATCHES 4

struct handoff {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct mlg_event (*ev)[BATCH_EVENTS];
    unsigned count[BATCHES];
    unsigned head, tail; /* batches [head, tail) are full and waiting for the writer */
    int merge_done, writer_failed;
    struct packer *pk;
    uint64_t events;
};

static void handoff_publish(struct handoff *ho, unsigned n)
{
    pthread_mutex_lock(&ho->lock);
    ho->count[ho->tail % BATCHES] = n;
    ho->tail++;
    pthread_cond_broadcast(&ho->cond);
    while (ho->tail - ho->head == BATCHES && !ho->writer_failed)
        pthread_cond_wait(&ho->cond, &ho->lock);
    pthread_mutex_unlock(&ho->lock);
}

static void *merge_thread(void *arg)
{
    struct handoff *ho = arg;
    struct packer *pk = ho->pk;
    unsigned n = 0;
    struct mlg_event *batch = ho->ev[ho->tail % BATCHES];
    while (pk->nheap && !__atomic_load_n(&ho->writer_failed, __ATOMIC_RELAXED)) {
        struct tstream *s = &pk->streams[pk->heap[0]];
        struct pending *p = buf_front(s);
        if (p->needs_release) {
            /* The old block was released (and could be reused by another thread) at seq_rel. */
            struct mlg_event *rel = &batch[n++];
            memset(rel, 0, sizeof *rel);
            rel->op = MLG_OP_REALLOC_RELEASE;
            rel->seq = p->ev.seq_rel;
            rel->old_ptr = p->ev.old_ptr;
            rel->thread = p->ev.thread;
            rel->time_ns = p->ev.time_ns;
            struct pending moved = *p;
            moved.needs_release = 0;
            moved.ev.outcome = MLG_OUT_OLD_RELEASED;
            buf_pop(s);
            buf_insert(s, &moved);
        } else {
            batch[n++] = p->ev;
            buf_pop(s);
            refill(pk, s);
            if (s->nbuf == 0)
                pk->heap[0] = pk->heap[--pk->nheap];
        }
        if (pk->nheap)
            heap_down(pk, 0);
        if (n == BATCH_EVENTS) {
            handoff_publish(ho, n);
            n = 0;
            batch = ho->ev[ho->tail % BATCHES];
        }
    }
    if (n)
        handoff_publish(ho, n);
    pthread_mutex_lock(&ho->lock);
    ho->merge_done = 1;
    pthread_cond_broadcast(&ho->cond);
    pthread_mutex_unlock(&ho->lock);
    return NULL;
}

/* Writes every batch the merge thread hands over. Returns 0 or the writer's error. */
static int write_batches(struct handoff *ho, struct mlg_writer *w, struct mlg_error *err)
{
    int rc = 0;
    for (;;) {
        pthread_mutex_lock(&ho->lock);
        while (ho->head == ho->tail && !ho->merge_done)
            pthread_cond_wait(&ho->cond, &ho->lock);
        if (ho->head == ho->tail) {
            pthread_mutex_unlock(&ho->lock);
            return rc;
        }
        unsigned slot = ho->head % BATCHES, n = ho->count[slot];
        pthread_mutex_unlock(&ho->lock);
        for (unsigned i = 0; i < n && rc == 0; i++)
            rc = mlg_writer_add(w, &ho->ev[slot][i], err);
        ho->events += n;
        pthread_mutex_lock(&ho->lock);
        ho->head++;
        if (rc)
            ho->writer_failed = 1;
        pthread_cond_broadcast(&ho->cond);
        pthread_mutex_unlock(&ho->lock);
    }
}

int mlg_pack_spool(const char *spool_path, const char *out_path, int end, int end_status,
                   const struct mlg_writer_options *opt, struct mlg_pack_result *res,
                   struct mlg_error *err)
{
    memset(err, 0, sizeof *err);
    memset(res, 0, sizeof *res);
    struct packer pk = {0};
    int rc = map_spool(spool_path, &pk.map, &pk.size, err);
    if (rc)
        return rc;
    const struct mlg_spool_header *sh = (const void *)pk.map;
    struct mlg_header h;
    header_from_spool(&h, sh);
    struct mlg_writer *w = NULL;
    struct handoff ho = {.pk = &pk};
    pthread_mutex_init(&ho.lock, NULL);
    pthread_cond_init(&ho.cond, NULL);
    ho.ev = malloc(sizeof *ho.ev * BATCHES);
    if (!ho.ev || build_streams(&pk) != 0) {
        rc = set_err(err, MLG_E_NOMEM, 0, "packing");
        goto out;
    }
    rc = mlg_writer_create(&w, out_path, &h, opt, err);
    if (rc)
        goto out;
    for (uint32_t i = 0; i < pk.nstreams; i++) {
        refill(&pk, &pk.streams[i]);
        if (pk.streams[i].nbuf)
            pk.heap[pk.nheap++] = i;
    }
    for (uint32_t i = pk.nheap; i-- > 0;)
        heap_down(&pk, i);
    pthread_t merger;
    if (pthread_create(&merger, NULL, merge_thread, &ho) != 0) {
        rc = set_err(err, MLG_E_NOMEM, 0, "cannot start the merge thread");
        goto out;
    }
    rc = write_batches(&ho, w, err);
    pthread_join(merger, NULL);
    if (rc)
        goto out;
    struct mlg_trailer t = {0};
    int spool_end, spool_status;
    end_of(sh, &spool_end, &spool_status);
    t.end = (uint32_t)(end >= 0 ? end : spool_end);
    t.end_status = end >= 0 ? end_status : spool_status;
    t.lost_events = pk.lost + sh->lost_events;
    t.threads = pk.nstreams;
    res->events = ho.events;
    res->lost_events = t.lost_events;
    res->threads = pk.nstreams;
    res->raw_bytes = pk.size;
    res->end = t.end;
    res->end_status = t.end_status;
    res->pid = h.pid;
    res->exec_gen = h.exec_gen;
    struct mlg_writer *wf = w;
    w = NULL;
    rc = mlg_writer_finish(wf, &t, err);
    if (rc == 0) {
        struct stat st;
        if (stat(out_path, &st) == 0)
            res->log_bytes = (uint64_t)st.st_size;
    }
out:
    if (w) {
        mlg_writer_finish(w, NULL, &(struct mlg_error){0});
        unlink(out_path);
    }
    if (pk.nstreams)
        free(pk.streams[0].chunks);
    free(pk.streams);
    free(pk.heap);
    free(ho.ev);
    pthread_mutex_destroy(&ho.lock);
    pthread_cond_destroy(&ho.cond);
    munmap((void *)pk.map, pk.size);
    return rc;
}

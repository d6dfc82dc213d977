/* pack.c - turns a recorder spool into a .mlog, after the process ended or while it runs.
 *
 * The spool holds per-thread chunks of records in the order each thread wrote them. Packing merges
 * the threads by sequence number (a heap over threads, each with a small reorder window for the
 * records a signal handler wrote out of order), splits a realloc whose release and acquire points
 * had other events between them into REALLOC_RELEASE + REALLOC, and writes the result with
 * mlg_writer. Holes (records being written when the process died) are counted as lost.
 *
 * While the program runs, only events below the "horizon" are final: the global counter, lowered
 * to the bound in the slot of every thread that is between taking a number and publishing its
 * record (lib/spool.h). The horizon is read before the spool is scanned, so every record below it
 * is already published when we look.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "logfile.h"
#include "error.h"
#include "mallog.h"
#include "spool.h"

#define WINDOW 8 /* reorder window per thread, a power of two */

struct pending {
    struct mlg_event ev;
    int needs_release; /* sorts by seq_rel until its REALLOC_RELEASE is written (key_of) */
};

struct tstream {
    uint32_t thread;
    uint32_t *chunks; /* chunk indices of this thread, in claim order */
    uint32_t nchunks, cap;
    uint32_t cur;     /* chunks[cur] is being read */
    size_t pos;       /* file offset of the next record; 0 = no chunk open */
    struct mlg_spool_state st;
    uint64_t time_ns;
    struct pending buf[WINDOW]; /* a ring sorted by key from buf[head] */
    unsigned head, nbuf;
    int in_heap;
};

struct mlg_packer {
    int fd;
    const uint8_t *map;
    size_t size;
    char *out_path;
    struct mlg_writer *w;
    struct mlg_header h;
    struct tstream *streams;
    uint32_t nstreams, streams_cap;
    uint32_t *heap; /* stream indices, min-heap on head key */
    uint32_t nheap;
    uint32_t scanned; /* chunks below this index were assigned to streams, or are pending */
    /* claimed but not stamped when scanned: assigned once stamped (scan_chunks) */
    uint32_t pending[64];
    uint32_t npending;
    uint64_t lost, events;
    /* call sites: chunks of entries, read in order up to the first unpublished entry */
    uint32_t *site_chunks;
    uint32_t nsite_chunks, site_chunks_cap;
    uint32_t site_cur;  /* site_chunks[site_cur] is being read at site_pos */
    size_t site_pos;    /* offset inside that chunk's payload */
    uint32_t modules, stacks; /* ids written so far */
    uint64_t unknown_stacks;  /* events whose stack entry never appeared (lost with a crash) */
};

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
    if (tag & MLG_SPOOL_STACK) {
        if (!(p = mlg_varint_get(p, end, &v)) || v == 0 || v > UINT32_MAX)
            return -1;
        ev->stack = (uint32_t)v;
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
        return mlg_error_set(err, MLG_E_IO, 0, 0, "open spool");
    struct stat st;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return mlg_error_set(err, MLG_E_IO, 0, 0, "stat spool");
    }
    if ((size_t)st.st_size < sizeof(struct mlg_spool_header)) {
        close(fd);
        return mlg_error_set(err, st.st_size ? MLG_E_TRUNCATED : MLG_E_EMPTY, (uint64_t)st.st_size,
                             0, "spool shorter than its header");
    }
    void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (p == MAP_FAILED)
        return mlg_error_set(err, MLG_E_IO, 0, 0, "mmap spool");
    /* No read-around from the header: a fault on a hole there (the header's unused fields)
     * would zero megabytes of page cache past it. Chunks are read only where they hold data
     * (scan_chunks), where read-ahead pays when the spool is back on disk. */
    madvise(p, MLG_SPOOL_CHUNK, MADV_RANDOM);
    const struct mlg_spool_header *h = p;
    if (memcmp(h->magic, MLG_SPOOL_MAGIC, 8) != 0 || h->version != MLG_SPOOL_VERSION ||
        h->chunk_size != MLG_SPOOL_CHUNK) {
        munmap(p, (size_t)st.st_size);
        return mlg_error_set(err, MLG_E_NOT_MLOG, 0, 0, "not a mallog spool (or another version)");
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

static const struct mlg_spool_header *spool_header(const struct mlg_packer *pk)
{
    return (const struct mlg_spool_header *)(const void *)pk->map;
}

/* Maps the whole spool again if it grew. */
static int remap(struct mlg_packer *pk)
{
    struct stat st;
    if (fstat(pk->fd, &st) != 0)
        return -1;
    size_t size = (size_t)st.st_size;
    if (size <= pk->size)
        return 0;
    void *p = mmap(NULL, size, PROT_READ, MAP_SHARED, pk->fd, 0);
    if (p == MAP_FAILED)
        return -1;
    madvise(p, MLG_SPOOL_CHUNK, MADV_RANDOM); /* as in map_spool */
    munmap((void *)pk->map, pk->size);
    pk->map = p;
    pk->size = size;
    return 0;
}

static uint8_t load_byte(const struct mlg_packer *pk, size_t off)
{
    return __atomic_load_n(pk->map + off, __ATOMIC_ACQUIRE);
}

static int chunk_has_record(const struct mlg_packer *pk, uint32_t chunk)
{
    size_t off = (size_t)chunk * MLG_SPOOL_CHUNK + sizeof(struct mlg_spool_chunk);
    return off + 2 <= pk->size && load_byte(pk, off) != 0;
}

/* Next event of a thread, in the order the thread wrote them. Returns 1, or 0 when nothing more
 * is readable now (while the program runs) or ever (final). */
static int stream_next(struct mlg_packer *pk, struct tstream *s, struct mlg_event *ev, int final)
{
    for (;;) {
        if (s->cur >= s->nchunks) /* ended (final): nothing more, and no chunk to look at */
            return 0;
        if (s->pos == 0) {
            size_t off = (size_t)s->chunks[s->cur] * MLG_SPOOL_CHUNK;
            const struct mlg_spool_chunk *c = (const void *)(pk->map + off);
            s->pos = off + sizeof *c;
            s->st.prev_seq = 0;
            s->st.prev_ptr = 0;
            if (c->time_ns > s->time_ns)
                s->time_ns = c->time_ns;
        }
        size_t chunk_end = (size_t)s->chunks[s->cur] * MLG_SPOOL_CHUNK + MLG_SPOOL_CHUNK;
        int room = chunk_end - s->pos >= 2;
        if (!room || load_byte(pk, s->pos) == 0) {
            /* Not published (yet). The record's length byte is read only when nothing can be
             * writing it: once the process is gone, or once the thread's next chunk holds a record
             * (the thread moved on; the acquire of that record's tag orders all it wrote here
             * before our read). A record nested in a signal handler lands here only before that. */
            int moved_on = s->cur + 1 < s->nchunks &&
                           (final || chunk_has_record(pk, s->chunks[s->cur + 1]));
            if (!final && !moved_on)
                return 0; /* nothing yet, or being written right now */
            unsigned len = room ? pk->map[s->pos + 1] : 0;
            if (len == 0) { /* nothing here */
                if (moved_on) {
                    s->cur++;
                    s->pos = 0;
                    continue;
                }
                s->cur = s->nchunks;
                s->pos = 0;
                return 0;
            }
            if (!final)
                return 0; /* begun, not finished: a signal handler's record came first */
            pk->lost++; /* being written when the process died */
            s->pos = len < 3 || len > chunk_end - s->pos ? chunk_end : s->pos + len;
            continue;
        }
        unsigned len = pk->map[s->pos + 1];
        if (len < 3 || len > chunk_end - s->pos) {
            pk->lost++; /* a torn record at the very end of a chunk */
            s->pos = chunk_end;
            continue;
        }
        size_t rec = s->pos;
        s->pos += len;
        int r = decode_record(s, pk->map + rec, len, ev);
        if (r == 1)
            return 1;
        if (r < 0)
            pk->lost++;
    }
}

static void refill(struct mlg_packer *pk, struct tstream *s, int final)
{
    struct pending p;
    while (s->nbuf < WINDOW && stream_next(pk, s, &p.ev, final)) {
        unsigned f = mlg_op_fields(p.ev.op);
        p.needs_release = (f & MLG_F_REL) && p.ev.seq - p.ev.seq_rel > 1 &&
                          (p.ev.outcome == MLG_OUT_MOVED || p.ev.outcome == MLG_OUT_FREED);
        buf_insert(s, &p);
    }
}

static uint64_t head_key(const struct mlg_packer *pk, uint32_t i)
{
    return key_of(buf_front(&pk->streams[i]));
}

static void heap_swap(struct mlg_packer *pk, uint32_t a, uint32_t b)
{
    uint32_t t = pk->heap[a];
    pk->heap[a] = pk->heap[b];
    pk->heap[b] = t;
}

static void heap_down(struct mlg_packer *pk, uint32_t i)
{
    for (;;) {
        uint32_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < pk->nheap && head_key(pk, pk->heap[l]) < head_key(pk, pk->heap[m]))
            m = l;
        if (r < pk->nheap && head_key(pk, pk->heap[r]) < head_key(pk, pk->heap[m]))
            m = r;
        if (m == i)
            return;
        heap_swap(pk, i, m);
        i = m;
    }
}

static void heap_push(struct mlg_packer *pk, uint32_t stream)
{
    uint32_t i = pk->nheap++;
    pk->heap[i] = stream;
    pk->streams[stream].in_heap = 1;
    while (i > 0 && head_key(pk, pk->heap[(i - 1) / 2]) > head_key(pk, pk->heap[i])) {
        heap_swap(pk, i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
}

static struct tstream *stream_of(struct mlg_packer *pk, uint32_t thread)
{
    for (uint32_t i = pk->nstreams; i-- > 0;) /* few threads; the newest are the likely ones */
        if (pk->streams[i].thread == thread)
            return &pk->streams[i];
    if (pk->nstreams == pk->streams_cap) {
        uint32_t cap = pk->streams_cap ? pk->streams_cap * 2 : 16;
        struct tstream *s = realloc(pk->streams, cap * sizeof *s);
        uint32_t *h = realloc(pk->heap, cap * sizeof *h);
        if (s)
            pk->streams = s;
        if (h)
            pk->heap = h;
        if (!s || !h)
            return NULL;
        pk->streams_cap = cap;
    }
    struct tstream *s = &pk->streams[pk->nstreams++];
    memset(s, 0, sizeof *s);
    s->thread = thread;
    return s;
}

static int append_chunk(uint32_t **list, uint32_t *n, uint32_t *cap, uint32_t chunk)
{
    if (*n == *cap) {
        uint32_t c = *cap ? *cap * 2 : 8;
        uint32_t *l = realloc(*list, c * sizeof *l);
        if (!l)
            return -1;
        *list = l;
        *cap = c;
    }
    (*list)[(*n)++] = chunk;
    return 0;
}

/* Hands stamped chunk i to its thread's stream, or to the call-site list. */
static int assign_chunk(struct mlg_packer *pk, uint32_t i, const struct mlg_spool_chunk *c)
{
    if (c->thread == MLG_SPOOL_SITES_THREAD)
        return append_chunk(&pk->site_chunks, &pk->nsite_chunks, &pk->site_chunks_cap, i);
    struct tstream *s = stream_of(pk, c->thread);
    if (!s || append_chunk(&s->chunks, &s->nchunks, &s->cap, i) != 0)
        return -1;
    return 0;
}

static const struct mlg_spool_chunk *chunk_at(const struct mlg_packer *pk, uint32_t i)
{
    return (const void *)(pk->map + (size_t)i * MLG_SPOOL_CHUNK);
}

/* Assigns the pending chunks stamped by now, in index order. */
static int settle_pending(struct mlg_packer *pk)
{
    uint32_t keep = 0;
    for (uint32_t k = 0; k < pk->npending; k++) {
        uint32_t i = pk->pending[k];
        const struct mlg_spool_chunk *c = chunk_at(pk, i);
        if (__atomic_load_n(&c->magic, __ATOMIC_ACQUIRE) != MLG_SPOOL_CHUNK_MAGIC)
            pk->pending[keep++] = i;
        else if (assign_chunk(pk, i, c) != 0)
            return -1;
    }
    pk->npending = keep;
    return 0;
}

/* Hands newly claimed chunks to their threads' streams, call-site chunks to their list.
 * A chunk claimed but not stamped yet (its thread was preempted between the two) must not hide
 * the chunks claimed after it: their records may be below the horizon, published, and would be
 * merged late. So it waits in `pending` while the scan goes on. Its thread stamps it before it
 * claims any other chunk, so before a later chunk is assigned, the pending ones are looked at
 * again: one stamped by now is assigned first (it may be that thread's earlier chunk); one still
 * unstamped cannot belong to the thread of any chunk stamped since. */
static int scan_chunks(struct mlg_packer *pk, int final)
{
    uint32_t claimed = __atomic_load_n(&spool_header(pk)->chunks_claimed, __ATOMIC_ACQUIRE);
    if (final || claimed == 0) /* final: trust the file, not a counter a crash may have left */
        claimed = (uint32_t)(pk->size / MLG_SPOOL_CHUNK);
    if (pk->scanned == 0)
        pk->scanned = 1; /* chunk 0 is the header */
    if (settle_pending(pk) != 0)
        return -1;
    for (; pk->scanned < claimed; pk->scanned++) {
        size_t off = (size_t)pk->scanned * MLG_SPOOL_CHUNK;
        if (off + MLG_SPOOL_CHUNK > pk->size)
            break;
        if (final) {
            /* The file grows by sparse windows: never read a hole (each read fault on one
             * allocates and zeroes page cache). A chunk that holds nothing is no chunk. */
            off_t data = lseek(pk->fd, (off_t)off, SEEK_DATA);
            if (data < 0) /* ENXIO: only holes from here; another error: read as before */
                data = errno == ENXIO ? (off_t)pk->size : (off_t)off;
            if ((size_t)data >= off + MLG_SPOOL_CHUNK) {
                pk->scanned = (uint32_t)((size_t)data / MLG_SPOOL_CHUNK) - 1;
                continue;
            }
        }
        const struct mlg_spool_chunk *c = chunk_at(pk, pk->scanned);
        if (__atomic_load_n(&c->magic, __ATOMIC_ACQUIRE) != MLG_SPOOL_CHUNK_MAGIC) {
            if (final)
                continue; /* never stamped: a crash between claim and stamp */
            if (pk->npending == sizeof pk->pending / sizeof *pk->pending)
                break; /* that many threads preempted at once: look again next time */
            pk->pending[pk->npending++] = pk->scanned;
            continue;
        }
        if ((pk->npending && settle_pending(pk) != 0) || assign_chunk(pk, pk->scanned, c) != 0)
            return -1;
    }
    if (final)
        pk->npending = 0; /* still unstamped at the end: never will be */
    return 0;
}

/* Where the merged order is final while the program runs. */
static uint64_t horizon(const struct mlg_packer *pk)
{
    const struct mlg_spool_header *h = spool_header(pk);
    if (__atomic_load_n(&h->no_online, __ATOMIC_ACQUIRE))
        return 0;
    /* the counter first: a thread whose number is below it registered its slot before */
    uint64_t hz = __atomic_load_n(&h->seq_counter, __ATOMIC_ACQUIRE);
    uint32_t slots = __atomic_load_n(&h->threads_started, __ATOMIC_ACQUIRE);
    for (uint32_t i = 0; i < slots && i < MLG_SPOOL_MAX_SLOTS; i++) {
        uint64_t v = __atomic_load_n(mlg_spool_slot(h, i), __ATOMIC_ACQUIRE);
        if (v && v - 1 < hz)
            hz = v - 1;
    }
    return hz;
}

/* Hands every published call-site entry to the writer, in id order. */
static int read_sites(struct mlg_packer *pk, struct mlg_error *err)
{
    const size_t payload = MLG_SPOOL_CHUNK - sizeof(struct mlg_spool_chunk);
    while (pk->site_cur < pk->nsite_chunks) {
        size_t base = (size_t)pk->site_chunks[pk->site_cur] * MLG_SPOOL_CHUNK +
                      sizeof(struct mlg_spool_chunk);
        uint32_t head = 0;
        if (pk->site_pos + 8 <= payload)
            head = __atomic_load_n((const uint32_t *)(const void *)(pk->map + base + pk->site_pos),
                                   __ATOMIC_ACQUIRE);
        uint32_t kind = head >> 24, len = head & 0xffffff;
        if (head == 0) {
            /* the writer moved to its next chunk only when this one had no room left */
            if (pk->site_cur + 1 < pk->nsite_chunks) {
                pk->site_cur++;
                pk->site_pos = 0;
                continue;
            }
            return 0;
        }
        if (len < 8 || len % 8 || pk->site_pos + len > payload) {
            pk->site_cur = pk->nsite_chunks; /* torn: stop reading sites, keep the events */
            return 0;
        }
        const uint8_t *e = pk->map + base + pk->site_pos;
        uint32_t id = mlg_get32(e + 4);
        int rc = 0;
        if (kind == MLG_SPOOL_SITE_MODULE && len >= 32 && id == pk->modules + 1) {
            char path[MLG_STR_MAX];
            size_t plen = len - 32 < sizeof path - 1 ? len - 32 : sizeof path - 1;
            memcpy(path, e + 32, plen);
            path[plen] = 0;
            struct mlg_module m = {mlg_get64(e + 8), mlg_get64(e + 16),
                                   mlg_get64(e + 24), path};
            if ((rc = mlg_writer_add_module(pk->w, id, &m, err)) == 0)
                pk->modules = id;
        } else if (kind == MLG_SPOOL_SITE_STACK && id == pk->stacks + 1 &&
                   (len - 8) / 8 <= MLG_STACK_DEPTH_MAX) {
            uint64_t pcs[MLG_STACK_DEPTH_MAX];
            uint32_t depth = (len - 8) / 8;
            memcpy(pcs, e + 8, (size_t)depth * 8);
            if ((rc = mlg_writer_add_stack(pk->w, id, pcs, depth, err)) == 0)
                pk->stacks = id;
        }
        if (rc)
            return rc;
        pk->site_pos += len;
    }
    return 0;
}

static int emit(struct mlg_packer *pk, const struct mlg_event *ev, struct mlg_error *err)
{
    pk->events++;
    if (ev->stack > pk->stacks) {
        /* Published before the event that uses it, so visible now that we have read the event. */
        int rc = scan_chunks(pk, 0) != 0 ? mlg_error_set(err, MLG_E_NOMEM, 0, 0, "packing")
                                         : read_sites(pk, err);
        if (rc)
            return rc;
        if (ev->stack > pk->stacks) {
            struct mlg_event e = *ev;
            e.stack = 0;
            pk->unknown_stacks++;
            return mlg_writer_add(pk->w, &e, err);
        }
    }
    return mlg_writer_add(pk->w, ev, err);
}

int mlg_packer_step(struct mlg_packer *pk, int final, uint64_t *progress, struct mlg_error *err)
{
    uint64_t before = pk->events;
    uint64_t hz = final ? UINT64_MAX : horizon(pk); /* first: see the comment at the top */
    if (remap(pk) != 0)
        return mlg_error_set(err, MLG_E_IO, pk->size, 0, "mmap spool");
    if (scan_chunks(pk, final) != 0)
        return mlg_error_set(err, MLG_E_NOMEM, 0, 0, "packing");
    int src = read_sites(pk, err);
    if (src)
        return src;
    for (uint32_t i = 0; i < pk->nstreams; i++) {
        struct tstream *s = &pk->streams[i];
        refill(pk, s, final);
        if (s->nbuf && !s->in_heap)
            heap_push(pk, i);
    }
    int rc = 0;
    while (pk->nheap && head_key(pk, pk->heap[0]) < hz && rc == 0) {
        struct tstream *s = &pk->streams[pk->heap[0]];
        struct pending *p = buf_front(s);
        if (p->needs_release) {
            /* The old block was released (and could be reused by another thread) at seq_rel. */
            struct mlg_event rel = {0};
            rel.op = MLG_OP_REALLOC_RELEASE;
            rel.seq = p->ev.seq_rel;
            rel.old_ptr = p->ev.old_ptr;
            rel.thread = p->ev.thread;
            rel.time_ns = p->ev.time_ns;
            rc = emit(pk, &rel, err);
            struct pending moved = *p;
            moved.needs_release = 0;
            moved.ev.outcome = MLG_OUT_OLD_RELEASED;
            buf_pop(s);
            buf_insert(s, &moved);
        } else {
            rc = emit(pk, &p->ev, err);
            buf_pop(s);
            refill(pk, s, final);
            if (s->nbuf == 0) {
                s->in_heap = 0;
                pk->heap[0] = pk->heap[--pk->nheap];
            }
        }
        if (pk->nheap)
            heap_down(pk, 0);
    }
    if (progress)
        *progress = pk->events - before;
    return rc;
}

int mlg_packer_open(struct mlg_packer **out, const char *spool_path, const char *out_path,
                    const struct mlg_writer_options *opt, struct mlg_error *err)
{
    memset(err, 0, sizeof *err);
    *out = NULL;
    struct mlg_packer *pk = calloc(1, sizeof *pk);
    if (!pk)
        return mlg_error_set(err, MLG_E_NOMEM, 0, 0, "packing");
    int rc = map_spool(spool_path, &pk->map, &pk->size, err);
    if (rc) {
        free(pk);
        return rc;
    }
    pk->fd = open(spool_path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    pk->out_path = strdup(out_path);
    if (pk->fd < 0 || !pk->out_path) {
        rc = mlg_error_set(err, MLG_E_IO, 0, 0, "open spool");
        goto fail;
    }
    header_from_spool(&pk->h, spool_header(pk));
    rc = mlg_writer_create(&pk->w, out_path, &pk->h, opt, err);
    if (rc)
        goto fail;
    *out = pk;
    return 0;
fail:
    if (pk->fd >= 0)
        close(pk->fd);
    free(pk->out_path);
    munmap((void *)pk->map, pk->size);
    free(pk);
    return rc;
}

static void packer_free(struct mlg_packer *pk)
{
    for (uint32_t i = 0; i < pk->nstreams; i++)
        free(pk->streams[i].chunks);
    free(pk->streams);
    free(pk->site_chunks);
    free(pk->heap);
    free(pk->out_path);
    close(pk->fd);
    munmap((void *)pk->map, pk->size);
    free(pk);
}

int mlg_packer_spool_end(const struct mlg_packer *pk, int *end, int *status)
{
    end_of(spool_header(pk), end, status);
    return __atomic_load_n(&spool_header(pk)->end_set, __ATOMIC_ACQUIRE) != 0;
}

int mlg_packer_finish(struct mlg_packer *pk, int end, int end_status, struct mlg_pack_result *res,
                      struct mlg_error *err)
{
    memset(res, 0, sizeof *res);
    int rc = mlg_packer_step(pk, 1, NULL, err);
    if (rc) {
        mlg_packer_abandon(pk);
        return rc;
    }
    const struct mlg_spool_header *sh = spool_header(pk);
    struct mlg_trailer t = {0};
    int spool_end, spool_status;
    end_of(sh, &spool_end, &spool_status);
    t.end = (uint32_t)(end >= 0 ? end : spool_end);
    t.end_status = end >= 0 ? end_status : spool_status;
    t.lost_events = pk->lost + sh->lost_events;
    t.threads = pk->nstreams;
    t.end_time_ns = __atomic_load_n(&sh->end_time_ns, __ATOMIC_RELAXED);
    res->events = pk->events;
    res->lost_events = t.lost_events;
    res->threads = pk->nstreams;
    res->raw_bytes = pk->size;
    res->end = t.end;
    res->end_status = t.end_status;
    res->pid = pk->h.pid;
    res->exec_gen = pk->h.exec_gen;
    rc = mlg_writer_finish(pk->w, &t, err);
    if (rc == 0) {
        struct stat st;
        if (stat(pk->out_path, &st) == 0)
            res->log_bytes = (uint64_t)st.st_size;
    } else {
        unlink(pk->out_path);
    }
    packer_free(pk);
    return rc;
}

void mlg_packer_abandon(struct mlg_packer *pk)
{
    if (!pk)
        return;
    struct mlg_error ignored;
    mlg_writer_finish(pk->w, NULL, &ignored);
    unlink(pk->out_path);
    packer_free(pk);
}

int mlg_pack_spool(const char *spool_path, const char *out_path, int end, int end_status,
                   const struct mlg_writer_options *opt, struct mlg_pack_result *res,
                   struct mlg_error *err)
{
    memset(res, 0, sizeof *res);
    struct mlg_packer *pk;
    int rc = mlg_packer_open(&pk, spool_path, out_path, opt, err);
    if (rc)
        return rc;
    return mlg_packer_finish(pk, end, end_status, res, err);
}

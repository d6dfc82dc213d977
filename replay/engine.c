/* engine.c - the replay. A decoder turns the log into an op tape on dense slot numbers: it reads
 * the log (reader memory from mem.c), keeps the address map (slots.c), counts anomalies
 * (unknown or double frees: skipped) and decides where to sample (every N events, the peak of
 * live requested bytes, the stop event, the end). The replaying side only executes the tape:
 * calls the allocator, keeps each slot's pointer, and samples where the tape says.
 * Serial mode pipelines the two: the decoder is a forked process feeding a shared ring, so the
 * measured process stays single-threaded and its loop is the bare loop's; at a sample the
 * decoder waits until the sample is taken, so the slot records match the heap. The threaded
 * modes (strict, faithful) decode in this process and hand the records to threads.c, which plays
 * each recorded thread's records on a replay thread of its own.
 * No stdio and no malloc of its own: only the replayed calls reach the allocator. */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "replay.h"

#define PAGE 4096u
#define TAPE_ORDER 14   /* ring of 16384 records (256 KiB) */
#define WANT_RUN 2048   /* an idle replaying side sleeps until this many records are ready */
#define WANT_SAMPLE 256 /* ... or this many right after a sample (the decoder had stopped) */

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t engine_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Dirties [from, to) of a block as the touch mode says. */
static void touch(int mode, char *p, uint64_t from, uint64_t to)
{
    if (mode == TOUCH_NONE || from >= to)
        return;
    if (mode == TOUCH_FULL) {
        memset(p + from, 0x5a, to - from);
        return;
    }
    /* one byte in every page the range covers */
    volatile char *v = p;
    v[from] = 1;
    uint64_t a = (((uint64_t)p + from) | (PAGE - 1)) + 1 - (uint64_t)p;
    for (; a < to; a += PAGE)
        v[a] = 1;
}

/* ---- the decoder ------------------------------------------------------------------------------
 */

/* Room kept for one event's records: at most 5 (GROW, an inversion's FREE, META, ALLOC_ARG,
 * ARG). */
#define EVENT_OPS 8

struct dec {
    const struct engine_opts *o;
    struct slots slots;
    uint64_t announced; /* slot capacity last sent with TAPE_GROW */
    struct dec_out *out;
    struct sink *sink;
    struct tape *tape; /* the pipeline: records are written straight into the ring */
    struct tape_op *w; /* where decode_event writes (the ring, or buf) */
    struct tape_op buf[EVENT_OPS];
    int n;
    int meta; /* for a tape file: a TAPE_META before each allocating record */
};

static void put(struct dec *d, struct tape_op op)
{
    d->w[d->n++] = op;
}

/* Each op's kind ('A'llocates, 'F'rees, 'R'eallocates, 'Q'uery, 'L'ifecycle, a checkpoint
 * 'B'lock, 0 unknown): a table read instead of a call of mlg_op_kind per event. */
#define KIND_A 'A'
#define KIND_B 'B'
#define KIND_F 'F'
#define KIND_R 'R'
#define KIND_Q 'Q'
#define KIND_L 'L'
static const char op_kind[256] = {
#define MLG_X_KIND(name, code, str, kind) [code] = KIND_##kind,
    MLG_OPS(MLG_X_KIND)
#undef MLG_X_KIND
};

/* What the slot record of an allocating event's block gets (the event index is kept to 48
 * bits: 2.8e14 events). */
static inline struct tape_op meta_op(uint64_t event, uint32_t thread, uint32_t stack)
{
    return tape_op(TAPE_META, 0, event & TAPE_SIZE_MAX, stack, thread);
}

/* A new block for recorded address rec in a slot; ops: the call that makes it. Returns the slot
 * or -1 (no memory). The log may have the address live twice (a missed free): the older block
 * goes first. */
static int64_t new_block(struct dec *d, const struct mlg_event *ev, uint64_t rec)
{
    uint64_t j;
    int64_t old = slots_find_bucket(&d->slots, rec, &j);
    if (old >= 0) {
        d->out->inversions++;
        put(d, tape_op(TAPE_FREE, 0, 0, (uint64_t)old, 0));
        slots_remove_at(&d->slots, old, j);
        slots_find_bucket(&d->slots, rec, &j);
    }
    int64_t idx = slots_add_at(&d->slots, j, rec, ev->size, ev->index, ev->thread, ev->stack);
    if (d->meta && idx >= 0)
        put(d, meta_op(ev->index, ev->thread, ev->stack));
    return idx;
}

static void alloc_call(struct dec *d, const struct mlg_event *ev, int64_t idx)
{
    if (ev->arg <= UINT32_MAX) {
        put(d, tape_op(TAPE_ALLOC, ev->op, ev->size, (uint64_t)idx, ev->arg));
    } else {
        put(d, tape_op(TAPE_ALLOC_ARG, ev->op, ev->size, (uint64_t)idx, 0));
        put(d, (struct tape_op){ev->arg, 0, 0});
    }
}

static void do_free(struct dec *d, uint64_t rec)
{
    uint64_t j;
    int64_t idx = slots_find_bucket(&d->slots, rec, &j);
    if (idx < 0) {
        d->out->bad_frees++;
        return;
    }
    put(d, tape_op(TAPE_FREE, 0, 0, (uint64_t)idx, 0));
    slots_remove_at(&d->slots, idx, j);
}

/* Translates one event into d->w (d->n records, a TAPE_GROW first if the slots grew; d->w has
 * room for EVENT_OPS). Returns 0 or -1 (no memory). */
static int decode_event(struct dec *d, const struct mlg_event *ev)
{
    int64_t idx, old;
    int kind = op_kind[ev->op];
    d->n = 0;
    if (__builtin_expect(ev->size > TAPE_SIZE_MAX, 0) && kind != 'F') {
        /* cannot have succeeded; a log that says so is not replayed for this event */
        if (ev->outcome == MLG_OUT_OK && ev->ptr)
            d->out->skipped++;
        return 0;
    }
    switch (kind) {
    case 'A':
        if (ev->outcome != MLG_OUT_OK || !ev->ptr)
            break;
        if ((idx = new_block(d, ev, ev->ptr)) < 0)
            return -1;
        alloc_call(d, ev, idx);
        break;
    case 'B': { /* a segment's checkpoint block (decode_all plays them before the clock) */
        if (!ev->ptr)
            break;
        struct mlg_event a = *ev; /* made as malloc, or memalign when it was aligned */
        a.op = ev->arg > 16 ? MLG_OP_MEMALIGN : MLG_OP_MALLOC;
        a.arg = ev->arg > 16 ? ev->arg : 0;
        if ((idx = new_block(d, &a, a.ptr)) < 0)
            return -1;
        alloc_call(d, &a, idx);
        break;
    }
    case 'F':
        if (ev->op == MLG_OP_FREE && ev->ptr)
            do_free(d, ev->ptr);
        else if (ev->op == MLG_OP_REALLOC_RELEASE)
            do_free(d, ev->old_ptr);
        break;
    case 'R':
        switch (ev->outcome) {
        case MLG_OUT_OK:           /* realloc(NULL, n) */
        case MLG_OUT_OLD_RELEASED: /* the old block went with its REALLOC_RELEASE event */
            if (!ev->ptr)
                break;
            if ((idx = new_block(d, ev, ev->ptr)) < 0)
                return -1;
            put(d, tape_op(TAPE_REALLOC0, 0, ev->size, (uint64_t)idx, 0));
            break;
        case MLG_OUT_MOVED:
        case MLG_OUT_INPLACE: {
            uint64_t j;
            if ((old = slots_find_bucket(&d->slots, ev->old_ptr, &j)) < 0) {
                /* unknown old block: count it, replay the new one as fresh */
                d->out->bad_frees++;
                if ((idx = new_block(d, ev, ev->ptr)) < 0)
                    return -1;
                put(d, tape_op(TAPE_REALLOC0, 0, ev->size, (uint64_t)idx, 0));
                break;
            }
            uint64_t old_size = d->slots.v[old].size;
            if (ev->ptr == ev->old_ptr) {
                idx = old;
                slots_resize(&d->slots, idx, ev->size, ev->index);
                if (d->meta)
                    put(d, meta_op(ev->index, d->slots.v[idx].thread, d->slots.v[idx].stack));
            } else {
                slots_remove_at(&d->slots, old, j);
                /* the old slot is free now but its block is read by this very call: a slot
                 * reused here is written only after the call has read the old pointer */
                if ((idx = new_block(d, ev, ev->ptr)) < 0)
                    return -1;
            }
            put(d, tape_op(TAPE_REALLOC, 0, ev->size, (uint64_t)idx, (uint64_t)old));
            put(d, (struct tape_op){old_size, 0, 0});
            break;
        }
        case MLG_OUT_FREED:
            do_free(d, ev->old_ptr);
            break;
        default: /* failed or overflow: nothing changed */
            break;
        }
        break;
    case 'Q':
        if (ev->op == MLG_OP_TRIM)
            put(d, tape_op(TAPE_TRIM, 0, ev->arg > TAPE_SIZE_MAX ? TAPE_SIZE_MAX : ev->arg, 0, 0));
        else if (ev->op == MLG_OP_MALLOPT) /* the recorder keeps both ints sign-extended */
            put(d, tape_op(TAPE_MALLOPT, 0, (uint32_t)ev->size, (uint32_t)ev->arg, 0));
        break;
    default:
        break;
    }
    if (__builtin_expect(d->slots.cap != d->announced, 0)) { /* rare: the GROW goes first */
        d->announced = d->slots.cap;
        memmove(d->w + 1, d->w, (size_t)d->n * sizeof *d->w);
        d->w[0] = tape_op(TAPE_GROW, 0, d->slots.cap, 0, 0);
        d->n++;
    }
    return 0;
}

static int emit_ctl(struct dec *d, int kind, uint64_t size, uint64_t slot, uint64_t aux)
{
    struct tape_op op = tape_op(kind, 0, size, slot, aux);
    return d->sink->emit(d->sink, &op, 1, NULL);
}

/* The two commonest events, an allocation that succeeded and the free of a live block, when
 * nothing unusual goes with them (no inversion, no growth, operands that fit one record):
 * decoded with the fewest steps into w. Returns how many records it wrote (0, 1, or 2 with the
 * TAPE_META of a tape file), or -1 for "not handled here" (nothing changed: decode_event does
 * it). */
static inline int fast_event(struct slots *s, const struct mlg_event *ev, struct tape_op *w,
                             int meta)
{
    uint64_t j;
    if (ev->op == MLG_OP_FREE) {
        if (!ev->ptr)
            return 0;
        int64_t idx = slots_find_bucket(s, ev->ptr, &j);
        if (idx < 0)
            return -1; /* an anomaly: counted there */
        w[0] = tape_op(TAPE_FREE, 0, 0, (uint64_t)idx, 0);
        slots_remove_at(s, idx, j);
        return 1;
    }
    if (op_kind[ev->op] != 'A' || ev->outcome != MLG_OUT_OK || !ev->ptr ||
        ev->size > TAPE_SIZE_MAX || ev->arg > UINT32_MAX)
        return -1;
    if (slots_find_bucket(s, ev->ptr, &j) >= 0 || (s->count + 1) * 2 > s->mask + 1 ||
        (!s->nfree && s->n == s->cap))
        return -1; /* an inversion, or the table or the records grow */
    int64_t idx = slots_add_at(s, j, ev->ptr, ev->size, ev->index, ev->thread, ev->stack);
    if (meta) {
        w[0] = meta_op(ev->index, ev->thread, ev->stack);
        w[1] = tape_op(TAPE_ALLOC, ev->op, ev->size, (uint64_t)idx, ev->arg);
        return 2;
    }
    w[0] = tape_op(TAPE_ALLOC, ev->op, ev->size, (uint64_t)idx, ev->arg);
    return 1;
}

/* Decodes event ev and hands its records on: straight into the ring (the pipeline), else to
 * the sink. Returns 0 or -1 (no memory, or the consumer quit). Inlined into both loops that
 * call it (measured: the call's register saves were ~6% of the decoder's instructions). */
static inline __attribute__((always_inline)) int emit_event(struct dec *d,
                                                            const struct mlg_event *ev)
{
    if (d->tape) {
        struct tape_op *w = tape_reserve(d->tape, EVENT_OPS);
        if (!w)
            return -1;
        int k = fast_event(&d->slots, ev, w, d->meta);
        if (k < 0) {
            d->w = w;
            if (decode_event(d, ev) < 0)
                return -1;
            k = d->n;
        }
        tape_commit(d->tape, (unsigned)k);
        return 0;
    }
    d->w = d->buf;
    if (decode_event(d, ev) < 0)
        return -1;
    return d->sink->emit(d->sink, d->buf, d->n, ev);
}

/* The address an event will look up in the address map, or 0 (allocations only insert). */
static uint64_t key_of(const struct mlg_event *e)
{
    switch (e->op) {
    case MLG_OP_FREE:
        return e->ptr;
    case MLG_OP_REALLOC_RELEASE:
        return e->old_ptr;
    case MLG_OP_REALLOC:
    case MLG_OP_REALLOCARRAY:
        return e->outcome == MLG_OUT_MOVED || e->outcome == MLG_OUT_INPLACE ||
                       e->outcome == MLG_OUT_FREED
                   ? e->old_ptr
                   : 0;
    default:
        return 0;
    }
}

#define AHEAD 64

/* The whole decoding: the fork ancestors' logs (unmeasured), CLOCK, the log with its samples,
 * END. Results in d->out. */
static void decode_all(struct dec *d)
{
    const struct engine_opts *o = d->o;
    struct dec_out *out = d->out;
    struct mlg_reader *rd = NULL;
    int rc = 0;
    out->stopped_at = UINT64_MAX;
    for (int i = 0; i < o->nseeds && rc == 0; i++) {
        /* the inherited heap, before the clock starts */
        struct mlg_event sev;
        if ((rc = mlg_reader_open(&rd, o->seed_log[i], mem_allocator(), &out->err)) != 0)
            break;
        while (mlg_reader_next(rd, &sev) == 1 && sev.seq < o->seed_upto[i]) {
            if (emit_event(d, &sev) < 0) {
                rc = MLG_E_NOMEM;
                break;
            }
        }
        mlg_reader_close(rd);
        rd = NULL;
    }
    if (rc == 0)
        rc = mlg_reader_open(&rd, o->log, mem_allocator(), &out->err);
    /* A segment starts with its checkpoint: the heap it begins with, made unmeasured before the
     * clock like a fork parent's. The first other event waits in the ring. */
    struct mlg_event first;
    int nfirst = 0;
    while (rc == 0 && (nfirst = mlg_reader_next(rd, &first)) == 1 && first.op == MLG_OP_LIVE) {
        if (emit_event(d, &first) < 0)
            rc = MLG_E_NOMEM;
    }
    out->bad_frees = out->skipped = 0; /* the ancestors' own oddities are theirs */
    if (rc == 0 && emit_ctl(d, TAPE_CLOCK, 0, 0, 0) < 0)
        rc = MLG_E_NOMEM;
    if (rc) {
        if (rc == MLG_E_NOMEM)
            out->err.code = MLG_E_NOMEM;
        out->err_code = rc;
        emit_ctl(d, TAPE_END, 0, 0, 0);
        mlg_reader_close(rd);
        return;
    }
    uint64_t every = o->every ? o->every : 1, last_sampled = UINT64_MAX, done = 0;
    /* the first event index at which a sample, the stop or a progress update may be due: the
     * loop only compares with it */
    uint64_t watch = 0, log_threads = out->log_threads;
    /* Events are decoded AHEAD in advance; the bucket each will look up is prefetched (and,
     * halfway, a realloc's record, whose old size it reads), so lookups hit the cache. */
    struct mlg_event ring[AHEAD];
    uint64_t head = 0, have = 0;
    int n = nfirst < 0 ? nfirst : 1; /* an error before the first event: the reader says it again */
    if (nfirst == 1 && first.op != MLG_OP_LIVE)
        ring[have++] = first;
    for (;;) {
        /* refill in batches (the reader's fast path) once half the ring is used */
        while (have <= AHEAD / 2 && n == 1) {
            uint64_t pos = (head + have) % AHEAD, room = AHEAD - have;
            if (pos + room > AHEAD)
                room = AHEAD - pos;
            int k = mlg_reader_next_batch(rd, &ring[pos], (int)room);
            if (k <= 0) {
                n = k;
                break;
            }
            for (int i = 0; i < k; i++) {
                const struct mlg_event *e = &ring[pos + (uint64_t)i];
                slots_prefetch_bucket(&d->slots, key_of(e) ? key_of(e) : e->ptr);
            }
            have += (uint64_t)k;
        }
        if (!have)
            break;
        if (have > AHEAD / 2) {
            const struct mlg_event *e = &ring[(head + AHEAD / 2) % AHEAD];
            if (e->op == MLG_OP_REALLOC || e->op == MLG_OP_REALLOCARRAY) {
                uint64_t k = key_of(e);
                if (k)
                    slots_prefetch_slot(&d->slots, k);
            }
        }
        struct mlg_event *ev = &ring[head];
        head = (head + 1) % AHEAD;
        have--;
        if (__builtin_expect(ev->thread >= log_threads, 0))
            out->log_threads = log_threads = ev->thread + 1;
        if (emit_event(d, ev) < 0) {
            rc = MLG_E_NOMEM;
            break;
        }
        done = ev->index + 1;
        if (__builtin_expect(ev->index < watch, 1))
            continue;
        /* an event where something else may happen: the exact tests, and the next such event */
        int stop = ev->index == o->stop_event;
        int period = done % every == 0;
        watch = done - done % every + every - 1; /* the next sample period */
        if (o->stop_event > ev->index && o->stop_event < watch)
            watch = o->stop_event;
        if (o->peak_event > ev->index && o->peak_event < watch)
            watch = o->peak_event;
        if (o->progress && (done | 0xffff) < watch) /* the next progress update */
            watch = done | 0xffff;
        if (stop || ev->index == o->peak_event || period) {
            if (emit_ctl(d, TAPE_SAMPLE, ev->index, d->slots.n, stop && o->keep_holes) < 0) {
                rc = MLG_E_NOMEM;
                break;
            }
            last_sampled = ev->index;
        }
        if (o->progress && (done & 0xffff) == 0)
            *o->progress = done;
        if (stop) {
            out->stopped_at = ev->index;
            break;
        }
    }
    if (rc)
        out->err.code = rc;
    if (n < 0 && rc == 0 && out->stopped_at == UINT64_MAX) {
        out->err = *mlg_reader_error(rd);
        rc = out->err.code;
    }
    out->events = done;
    if (done && last_sampled != done - 1 && out->stopped_at == UINT64_MAX && rc == 0 &&
        emit_ctl(d, TAPE_SAMPLE, done - 1, d->slots.n, 0) < 0)
        rc = out->err.code = MLG_E_NOMEM;
    out->err_code = rc;
    mlg_reader_close(rd);
    emit_ctl(d, TAPE_END, 0, 0, 0);
}

/* ---- the replaying side ---------------------------------------------------------------------
 */

int engine_grow_slots(struct player *pl, uint64_t cap)
{
    struct engine_result *r = pl->r;
    if (cap <= r->cap_slots)
        return 0;
    void **p = mem_remap(r->ptrs, r->cap_slots * sizeof *p, cap * sizeof *p);
    struct slot *m = p ? mem_remap(r->meta, r->cap_slots * sizeof *m, cap * sizeof *m) : NULL;
    if (p)
        r->ptrs = p;
    if (!m)
        return -1;
    r->meta = m;
    r->cap_slots = cap;
    return 0;
}

/* The measured loop: it should stay as close to engine_bare's as it can. */
uint64_t engine_play(struct player *pl, const struct tape_op *v, uint64_t n, int64_t *ctl)
{
    const struct backend *b = pl->b;
    void **ptr = pl->r->ptrs;
    int tm = pl->touch;
    *ctl = -1;
    for (uint64_t i = 0; i < n; i++) {
        const struct tape_op *op = &v[i];
        uint64_t size = TAPE_SIZE(op);
        void *p, *q;
        switch (TAPE_KIND(op)) {
        case TAPE_ALLOC:
            p = b->alloc(TAPE_OP(op), size, op->aux);
            goto made;
        case TAPE_ALLOC_ARG:
            p = b->alloc(TAPE_OP(op), size, v[++i].a);
            goto made;
        case TAPE_REALLOC0:
            p = b->realloc(NULL, size);
        made:
            if (p)
                touch(tm, p, 0, size);
            else
                pl->skipped++;
            ptr[op->slot] = p;
            break;
        case TAPE_FREE:
            b->free(ptr[op->slot]);
            break;
        case TAPE_REALLOC:
            q = ptr[op->aux];
            p = b->realloc(q, size);
            i++; /* TAPE_ARG: the old size */
            if (p) {
                touch(tm, p, v[i].a, size);
            } else { /* the program went on without the old block: so does the replay */
                pl->skipped++;
                b->free(q);
            }
            ptr[op->slot] = p;
            break;
        case TAPE_TRIM:
            if (b->trim)
                b->trim((size_t)size);
            break;
        case TAPE_MALLOPT:
            if (b->mallopt)
                b->mallopt((int)op->slot, (int)(uint32_t)size);
            break;
        case TAPE_GROW:
            if (engine_grow_slots(pl, size) < 0) {
                pl->err = MLG_E_NOMEM;
                *ctl = (int64_t)i;
                return i + 1;
            }
            ptr = pl->r->ptrs;
            break;
        case TAPE_NOP:
        case TAPE_ARG:
            break;
        default: /* CLOCK, SAMPLE, END */
            *ctl = (int64_t)i;
            return i + 1;
        }
    }
    return n;
}

/* Plays v[*i, n) up to the next control record: returns it, with *i just past it, or NULL once
 * every record is played (*i = n). */
static inline const struct tape_op *play_to_control(struct player *pl, const struct tape_op *v,
                                                    uint64_t n, uint64_t *i)
{
    while (*i < n) {
        int64_t ctl;
        const struct tape_op *run = v + *i;
        *i += engine_play(pl, run, n - *i, &ctl);
        if (ctl >= 0)
            return &run[ctl];
    }
    return NULL;
}

/* A sample after event `event`, slots [0, nslots) as the decoder left them. Live bytes and
 * blocks come from the records of the slots whose replayed call succeeded; the usable size of a
 * block is asked at the first sample it is live in (it does not change while it lives). */
static int take_sample(struct player *pl, uint64_t t0, uint64_t event, uint64_t nslots,
                       int keep_list)
{
    struct engine_result *r = pl->r;
    const struct backend *b = pl->b;
    if (mem_reserve(&r->samples, &r->cap, r->nsamples + 1, sizeof *r->samples, 4096) < 0)
        return -1;
    uint64_t t = now_ns(), c = engine_cpu_ns();
    struct sample *s = &r->samples[r->nsamples];
    memset(s, 0, sizeof *s);
    s->event = event;
    s->time_ns = t - t0;
    r->nslots = nslots;
    holes_clear(&r->holes);
    for (uint64_t i = 0; i < nslots; i++) {
        struct slot *sl = &r->meta[i];
        void *p = r->ptrs[i];
        if (sl->thread == SLOT_DEAD || !p)
            continue;
        if (sl->usable == SLOT_UNASKED)
            sl->usable = b->usable(p);
        uint64_t u = sl->usable > sl->size ? sl->usable : sl->size;
        s->live_blocks++;
        s->live_requested += sl->size;
        s->live_usable += u;
        if (holes_add_block(&r->holes, (uint64_t)p, (uint64_t)p + (u ? u : 1), i) < 0)
            return -1;
    }
    if (holes_scan(&r->holes, s, keep_list) < 0)
        return -1;
    s->heap_rss = r->holes.anon_resident;
    uint64_t mapped = 0, active = 0;
    int have = b->stats ? b->stats(&mapped, &active) : 0;
    s->sys_mapped = have ? mapped : r->holes.anon_mapped;
    s->sys_active = have == 1 ? active : s->live_usable;
    r->nsamples++;
    r->sample_ns += now_ns() - t;
    r->sample_cpu_ns += engine_cpu_ns() - c;
    return 0;
}

int engine_control(struct player *pl, const struct tape_op *op, uint64_t *t0)
{
    struct engine_result *r = pl->r;
    switch (TAPE_KIND(op)) {
    case TAPE_CLOCK:
        pl->skipped = 0; /* the ancestors' failures are theirs */
        *t0 = now_ns();
        pl->cpu0 = engine_cpu_ns();
        return 0;
    case TAPE_SAMPLE:
        if (take_sample(pl, *t0, TAPE_SIZE(op), op->slot, (int)op->aux) < 0) {
            r->err.code = r->err_code = MLG_E_NOMEM;
            return -1;
        }
        return 0;
    case TAPE_END:
        if (!pl->threaded) {
            uint64_t cpu = engine_cpu_ns() - pl->cpu0;
            r->play_cpu_ns = cpu > r->sample_cpu_ns ? cpu - r->sample_cpu_ns : 0;
        }
        return 1;
    default: /* a failed TAPE_GROW */
        r->err.code = r->err_code = MLG_E_NOMEM;
        return -1;
    }
}

/* ---- decoding in this process (serial, for tests) ----------------------------------------------
 */

/* The in-process serial sink: records are played as they come, on this thread. */
struct local {
    struct sink k;
    struct player *pl;
    uint64_t t0;
};

static int local_emit(struct sink *k, const struct tape_op *v, int n, const struct mlg_event *ev)
{
    struct local *l = (struct local *)k;
    if (!ev)
        return engine_control(l->pl, v, &l->t0) < 0 || l->pl->err ? -1 : 0;
    for (uint64_t i = 0; i < (uint64_t)n && !l->pl->err;) {
        int64_t ctl;
        i += engine_play(l->pl, v + i, (uint64_t)n - i, &ctl);
        if (ctl >= 0 && !l->pl->err) /* a failed GROW is the only control record here */
            l->pl->err = MLG_E_NOMEM;
    }
    if (l->pl->err)
        l->pl->r->err.code = l->pl->r->err_code = l->pl->err;
    return l->pl->err ? -1 : 0;
}

/* ---- the pipeline ----------------------------------------------------------------------------
 */

struct piped {
    struct sink k;
    struct tape *t;
    uint32_t samples;
};

static int pipe_emit(struct sink *k, const struct tape_op *v, int n, const struct mlg_event *ev)
{
    struct piped *p = (struct piped *)k;
    for (int i = 0; i < n; i++) {
        int kind = TAPE_KIND(&v[i]);
        if (tape_has_arg(kind)) {
            if (tape_put2(p->t, v[i], v[i + 1]) < 0)
                return -1;
            i++;
        } else if (tape_put(p->t, v[i]) < 0) {
            return -1;
        }
    }
    if (ev)
        return 0;
    if (TAPE_KIND(v) == TAPE_SAMPLE) /* the records must not change until the sample is taken */
        return tape_wait_ack(p->t, ++p->samples);
    tape_flush(p->t);
    return 0;
}

/* The decoder process: decodes into the ring, then exits (never returns). */
static void decoder_process(struct dec *d, struct tape *t, pid_t parent)
{
    /* the replaying process may die (killed, out of memory): do not outlive it */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(1);
    struct piped p = {{pipe_emit}, t, 0};
    d->sink = &p.k; /* control records; an event's records go straight into t */
    d->tape = t;
    decode_all(d);
    tape_flush(t);
    _exit(0);
}

pid_t engine_spawn_file_decoder(const struct engine_opts *o, struct tape *t, struct dec_out *out)
{
    static struct dec d;
    static struct engine_opts fo;
    fo = *o;
    memset(&d, 0, sizeof d);
    d.o = &fo;
    d.out = out;
    d.meta = 1;
    pid_t parent = getpid(), child = fork();
    if (child == 0) {
        if (slots_init(&d.slots) < 0) {
            out->err.code = out->err_code = MLG_E_NOMEM;
            tape_put(t, tape_op(TAPE_END, 0, 0, 0, 0));
            tape_flush(t);
            _exit(1);
        }
        d.announced = d.slots.cap; /* as the worker's slots start: GROW records stay valid */
        decoder_process(&d, t, parent);
    }
    return child;
}

/* The replaying side of the pipeline. Returns when END is read, or on failure. */
static void consume(struct player *pl, struct tape *t, pid_t child, uint64_t *t0)
{
    uint64_t want = WANT_SAMPLE;
    for (;;) {
        const struct tape_op *v;
        uint64_t n = tape_get(t, want, 200, &v);
        if (!n) {
            int st;
            if (waitpid(child, &st, WNOHANG) == child) { /* the decoder died before END */
                pl->r->err.code = pl->r->err_code = MLG_E_IO;
                return;
            }
            continue;
        }
        want = WANT_RUN;
        const struct tape_op *op;
        for (uint64_t i = 0; (op = play_to_control(pl, v, n, &i));) {
            int c = engine_control(pl, op, t0);
            if (c != 0) {
                if (c < 0) /* the decoder may be waiting for this sample: tell it to stop */
                    tape_ack(t, 1);
                tape_done(t, i);
                return;
            }
            if (TAPE_KIND(op) == TAPE_SAMPLE) {
                tape_ack(t, 0);
                want = WANT_SAMPLE;
            }
        }
        tape_done(t, n);
    }
}

/* ---- replaying tape files (tapefile.c) -------------------------------------------------------
 */

/* Plays the op file, in chunks read into the ring's memory (the same memory the pipeline maps,
 * so the allocator's mappings land where they would there). The slot records are brought up to
 * date at each sample, outside the measured time. Returns at END or on failure (r->err_code). */
static void replay_files(struct player *pl, const struct engine_opts *o, struct tape *t,
                         const struct slots *s, struct dec_out *out, uint64_t *t0)
{
    struct engine_result *r = pl->r;
    struct tapefile_catchup c;
    uint64_t records;
    struct tape_op *buf = t->ops; /* then two chunks for the catch-up */
    if (tapefile_open(o->tape_fd, &records, out) < 0) {
        r->err.code = r->err_code = MLG_E_IO;
        return;
    }
    tapefile_catchup_init(&c, o->tape_fd, o->meta_fd, records, buf + TAPEFILE_CHUNK, s->fd,
                          s->cap);
    for (uint64_t at = 0; at < records;) {
        uint64_t n = tapefile_read(o->tape_fd, buf, at, records);
        if (n == 0)
            goto damaged;
        const struct tape_op *op;
        for (uint64_t i = 0; (op = play_to_control(pl, buf, n, &i));) {
            if (TAPE_KIND(op) == TAPE_SAMPLE) {
                uint64_t c0 = now_ns();
                int bad = tapefile_catchup(&c, r->meta, r->cap_slots) < 0;
                r->sample_ns += now_ns() - c0;
                if (bad)
                    goto damaged;
                if (o->progress) /* a worker's progress moves at samples here */
                    *o->progress = TAPE_SIZE(op) + 1;
            }
            if (engine_control(pl, op, t0) != 0)
                return;
        }
        at += n;
    }
damaged: /* no END, or the files disagree */
    r->err.code = r->err_code = MLG_E_IO;
}

_Static_assert(3 * TAPEFILE_CHUNK <= 1u << TAPE_ORDER, "the files' three chunk buffers fit the ring");

int engine_run(const struct engine_opts *o, const struct backend *b, struct engine_result *r)
{
    static struct dec d;
    struct player pl = {b, o->touch, 0, r, -1, 0};
    struct dec_out *out = NULL;
    struct tape *t = NULL;
    uint64_t t0 = 0;
    pid_t child = -1;
    memset(r, 0, sizeof *r);
    memset(&d, 0, sizeof d);
    r->stopped_at = UINT64_MAX;
    d.o = o;
    if (slots_init(&d.slots) < 0 || holes_init(&r->holes) < 0 ||
        !(out = mem_map_shared(-1, sizeof *out, "mallog:decoder")) ||
        !(r->meta = mem_map_shared(d.slots.fd, d.slots.cap * sizeof *r->meta, "mallog:slots")) ||
        !(r->ptrs = mem_map(d.slots.cap * sizeof *r->ptrs, "mallog:ptrs"))) {
        r->err.code = r->err_code = MLG_E_NOMEM;
        return MLG_E_NOMEM;
    }
    r->cap_slots = d.announced = d.slots.cap;
    d.out = out;
    /* from tape files or piped, the same memory is mapped (the ring is the read buffer of the
     * files), so the allocator's mappings land where they would in the other mode */
    int serial = o->threads == THREADS_SERIAL && !o->in_process && (t = tape_new(TAPE_ORDER)) != NULL;
    int from_files = serial && o->tape_fd > 0, piped = 0;
    if (serial && !from_files) {
        pid_t parent = getpid();
        child = fork();
        if (child == 0)
            decoder_process(&d, t, parent);
        piped = child > 0;
    }
    if (from_files) {
        replay_files(&pl, o, t, &d.slots, out, &t0);
        slots_fini(&d.slots);
    } else if (piped) {
        /* The address map is the decoder's alone. It is left mapped here, not unmapped: the
         * gap an unmap leaves would be where the allocator's next mapping goes, and the
         * allocator's address space would then differ from a replay without the pipeline. */
        consume(&pl, t, child, &t0);
        if (r->err_code) {
            kill(child, SIGKILL);
        }
        while (waitpid(child, NULL, 0) < 0 && errno == EINTR)
            ;
        slots_fini(&d.slots);
    } else {
        struct local l = {{local_emit}, &pl, 0};
        struct sink *k = &l.k;
        struct backend tb = *b;
        if (o->threads != THREADS_SERIAL) {
            backend_thread_safe(&tb);
            pl.b = &tb;
        }
        if (o->threads != THREADS_SERIAL && !(k = threads_new(&pl, &d.slots, o->threads, o->archive))) {
            r->err.code = r->err_code = MLG_E_NOMEM;
            return MLG_E_NOMEM;
        }
        d.sink = k;
        decode_all(&d);
        t0 = l.t0;
        if (k != &l.k) {
            int trc = threads_finish(k, &t0);
            if (trc && !r->err_code)
                r->err.code = r->err_code = trc;
        }
        slots_fini(&d.slots);
    }
    r->replay_ns = now_ns() - t0;
    if (!pl.threaded)
        r->play_ns = r->replay_ns > r->sample_ns ? r->replay_ns - r->sample_ns : 0;
    int rc = r->err_code;
    if (!rc || !r->nsamples) {
        r->events = out->events;
        r->log_threads = out->log_threads;
        r->stopped_at = out->stopped_at;
    } else { /* failed mid-way: the state is at the last sample */
        r->events = r->samples[r->nsamples - 1].event + 1;
    }
    r->bad_frees = out->bad_frees;
    r->inversions = out->inversions;
    r->skipped = out->skipped + pl.skipped;
    if (!rc && out->err_code) {
        r->err = out->err;
        rc = out->err_code;
    }
    if (o->progress)
        *o->progress = r->events;
    mem_unmap(out, sizeof *out);
    tape_free(t);
    r->err_code = rc;
    return rc;
}
/* ---- the bare loop (bench) --------------------------------------------------------------------
 */

struct bop {
    uint32_t slot, old_slot;
    uint64_t
        size_op;  /* size << 8 | kind: 1 alloc (op in arg), 2 free, 3 realloc, 4 realloc(NULL) */
    uint64_t arg; /* alloc: op << 32 | alignment or nmemb (low 32 bits) */
};

/* Times the log's allocator calls without the replayer: the log is first translated into a flat
 * array of calls on dense slot numbers (no decoding, no map lookups left), then run in a tight
 * loop with the same touch mode. Returns 0 and *ns, or an mlg error code. */
int engine_bare(const struct engine_opts *o, const struct backend *b, uint64_t *ns, uint64_t *calls)
{
    struct slots s;
    struct mlg_reader *rd = NULL;
    struct mlg_error err;
    struct mlg_event ev;
    struct bop *v = NULL;
    uint64_t n = 0, cap = 0;
    int rc = MLG_E_NOMEM;
    if (slots_init(&s) < 0)
        return MLG_E_NOMEM;
    if ((rc = mlg_reader_open(&rd, o->log, mem_allocator(), &err)) != 0)
        goto out;
    while (mlg_reader_next(rd, &ev) == 1) {
        struct bop op = {0};
        int64_t idx, old;
        int kind = op_kind[ev.op];
        uint64_t rec = 0;
        if (kind == 'A' && ev.outcome == MLG_OUT_OK && ev.ptr) {
            op.size_op = ev.size << 8 | 1;
            op.arg = (uint64_t)ev.op << 32 | (ev.arg & 0xffffffffu);
            rec = ev.ptr;
        } else if (kind == 'F' && (ev.op == MLG_OP_REALLOC_RELEASE || ev.ptr)) {
            uint64_t p = ev.op == MLG_OP_FREE ? ev.ptr : ev.old_ptr;
            if ((idx = slots_find(&s, p)) < 0)
                continue;
            op.slot = (uint32_t)idx;
            op.size_op = 2;
            slots_remove(&s, idx, p);
        } else if (kind == 'R' && (ev.outcome == MLG_OUT_MOVED || ev.outcome == MLG_OUT_INPLACE) &&
                   (old = slots_find(&s, ev.old_ptr)) >= 0) {
            op.old_slot = (uint32_t)old;
            op.size_op = ev.size << 8 | 3;
            slots_remove(&s, old, ev.old_ptr);
            rec = ev.ptr;
        } else if (kind == 'R' &&
                   (ev.outcome == MLG_OUT_OK || ev.outcome == MLG_OUT_OLD_RELEASED) && ev.ptr) {
            op.size_op = ev.size << 8 | 4;
            rec = ev.ptr;
        } else {
            continue;
        }
        if (rec) {
            if ((idx = slots_find(&s, rec)) >= 0)
                slots_remove(&s, idx, rec);
            if ((idx = slots_add(&s, rec, 0, 0, 0, 0)) < 0)
                goto out;
            op.slot = (uint32_t)idx;
        }
        if (n == cap) {
            uint64_t c = cap ? 2 * cap : 1 << 16;
            struct bop *nv = mem_remap(v, cap * sizeof *v, c * sizeof *v);
            if (!nv)
                goto out;
            v = nv;
            cap = c;
        }
        v[n++] = op;
    }
    void **ptr = mem_map((s.n + 1) * sizeof *ptr, "mallog:bare");
    if (!ptr)
        goto out;
    uint64_t t0 = now_ns();
    for (uint64_t i = 0; i < n; i++) {
        const struct bop *op = &v[i];
        uint64_t size = op->size_op >> 8;
        void *p;
        switch (op->size_op & 0xff) {
        case 1:
            p = b->alloc((int)(op->arg >> 32), size, op->arg & 0xffffffffu);
            touch(o->touch, p, 0, p ? size : 0);
            ptr[op->slot] = p;
            break;
        case 2:
            b->free(ptr[op->slot]);
            break;
        case 3:
            p = b->realloc(ptr[op->old_slot], size);
            touch(o->touch, p, 0, p ? size : 0);
            ptr[op->slot] = p;
            break;
        default:
            p = b->realloc(NULL, size);
            touch(o->touch, p, 0, p ? size : 0);
            ptr[op->slot] = p;
            break;
        }
    }
    *ns = now_ns() - t0;
    *calls = n;
    mem_unmap(ptr, (s.n + 1) * sizeof *ptr);
    rc = 0;
out:
    if (rd)
        mlg_reader_close(rd);
    if (v)
        mem_unmap(v, cap * sizeof *v);
    slots_fini(&s);
    return rc;
}

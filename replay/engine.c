/* engine.c - the replay loop: decodes a log (reader memory from mem.c), applies each event to
 * the backend, keeps the slot table, and samples metrics every N events, at the peak of live
 * requested bytes and at the end. Anomalies (unknown or double frees) are counted and skipped.
 * Strict mode runs each recorded thread's events on its own replay thread, one event at a time
 * in the recorded global order (a futex hand-off), so per-thread caches behave as recorded.
 * No stdio and no malloc of its own: only the replayed calls reach the allocator. */
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "replay.h"

#define PAGE 4096u
#define MAX_THREADS 65536u

struct worker {
    _Atomic uint32_t state; /* 0 idle, 1 go, 2 done, 3 exit */
    int started;
    pthread_t tid;
    const struct mlg_event *ev;
    struct ctx *cx;
};

struct ctx {
    const struct engine_opts *o;
    const struct backend *b;
    struct engine_result *r;
    struct worker *workers; /* indexed by recorded thread, MAX_THREADS entries, mapped */
    uint64_t t0;
};

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
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

static void add_block(struct ctx *cx, const struct mlg_event *ev, uint64_t rec, void *p,
                      uint64_t size)
{
    struct engine_result *r = cx->r;
    int64_t old = slots_find(&r->slots, rec);
    if (old >= 0) { /* the log has the address live twice: drop the older block */
        r->inversions++;
        cx->b->free((void *)r->slots.v[old].ptr);
        slots_remove(&r->slots, old, rec);
    }
    uint64_t usable = cx->b->usable(p);
    if (slots_add(&r->slots, rec, (uint64_t)p, size, usable, ev->index, ev->thread) < 0) {
        cx->b->free(p); /* no room to track it: keep the replay consistent */
        r->skipped++;
    }
}

static void bad_free(struct engine_result *r, int64_t why)
{
    (void)why;
    r->bad_frees++;
}

static void do_free(struct ctx *cx, uint64_t rec)
{
    int64_t idx = slots_find(&cx->r->slots, rec);
    if (idx < 0) {
        bad_free(cx->r, idx);
        return;
    }
    cx->b->free((void *)cx->r->slots.v[idx].ptr);
    slots_remove(&cx->r->slots, idx, rec);
}

static void apply(struct ctx *cx, const struct mlg_event *ev)
{
    const struct backend *b = cx->b;
    struct engine_result *r = cx->r;
    int tm = cx->o->touch;
    void *p;
    switch (mlg_op_kind(ev->op)) {
    case 'A':
        if (ev->outcome != MLG_OUT_OK || !ev->ptr)
            break;
        if (!(p = b->alloc(ev->op, ev->size, ev->arg))) {
            r->skipped++;
            break;
        }
        touch(tm, p, 0, ev->size);
        add_block(cx, ev, ev->ptr, p, ev->size);
        break;
    case 'F':
        if (ev->op == MLG_OP_FREE && ev->ptr)
            do_free(cx, ev->ptr);
        else if (ev->op == MLG_OP_REALLOC_RELEASE)
            do_free(cx, ev->old_ptr);
        break;
    case 'R':
        switch (ev->outcome) {
        case MLG_OUT_OK:           /* realloc(NULL, n) */
        case MLG_OUT_OLD_RELEASED: /* the old block went with its REALLOC_RELEASE event */
            if (!ev->ptr)
                break;
            if (!(p = b->realloc(NULL, ev->size))) {
                r->skipped++;
                break;
            }
            touch(tm, p, 0, ev->size);
            add_block(cx, ev, ev->ptr, p, ev->size);
            break;
        case MLG_OUT_MOVED:
        case MLG_OUT_INPLACE: {
            int64_t idx = slots_find(&r->slots, ev->old_ptr);
            if (idx < 0) { /* unknown old block: count it, replay the new one as fresh */
                bad_free(r, idx);
                if ((p = b->realloc(NULL, ev->size))) {
                    touch(tm, p, 0, ev->size);
                    add_block(cx, ev, ev->ptr, p, ev->size);
                }
                break;
            }
            struct slot *s = &r->slots.v[idx];
            uint64_t old_size = s->size;
            if (!(p = b->realloc((void *)s->ptr, ev->size))) {
                r->skipped++; /* the old block stays, as after a failed realloc */
                break;
            }
            touch(tm, p, old_size, ev->size);
            if (ev->ptr == ev->old_ptr) {
                s->ptr = (uint64_t)p;
                s->event = ev->index;
                slots_resize(&r->slots, idx, ev->size, b->usable(p));
            } else {
                slots_remove(&r->slots, idx, ev->old_ptr);
                add_block(cx, ev, ev->ptr, p, ev->size);
            }
            break;
        }
        case MLG_OUT_FREED:
            do_free(cx, ev->old_ptr);
            break;
        default: /* failed or overflow: nothing changed */
            break;
        }
        break;
    case 'Q':
        if (ev->op == MLG_OP_TRIM && b->trim)
            b->trim((size_t)ev->arg);
        break;
    default:
        break;
    }
}

/* ---- strict threads ---------------------------------------------------------------------------
 */

static void futex_wait(_Atomic uint32_t *a, uint32_t v)
{
    syscall(SYS_futex, a, FUTEX_WAIT_PRIVATE, v, NULL, NULL, 0);
}

static void futex_wake(_Atomic uint32_t *a)
{
    syscall(SYS_futex, a, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

/* Waits while *a is one of the values in `while_mask` (bit per state). No spinning: replay
 * processes run in parallel on few cores, and a spinning waiter steals the CPU from the thread
 * it waits for (measured: 5x slower on 2 cores). */
static uint32_t wait_state(_Atomic uint32_t *a, uint32_t while_mask)
{
    uint32_t st;
    while ((while_mask >> (st = atomic_load_explicit(a, memory_order_acquire))) & 1)
        futex_wait(a, st);
    return st;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    for (;;) {
        uint32_t st = wait_state(&w->state, 1u << 0 | 1u << 2);
        if (st == 3)
            return NULL;
        apply(w->cx, w->ev);
        atomic_store_explicit(&w->state, 2, memory_order_release);
        futex_wake(&w->state);
    }
}

/* Waits until worker w has finished its event. */
static void wait_done(struct worker *w)
{
    wait_state(&w->state, 1u << 1);
}

static void stop_worker(struct worker *w)
{
    if (!w->started)
        return;
    atomic_store_explicit(&w->state, 3, memory_order_release);
    futex_wake(&w->state);
    pthread_join(w->tid, NULL);
    w->started = 0;
}

static void dispatch(struct ctx *cx, const struct mlg_event *ev)
{
    uint32_t t = ev->thread;
    if (!cx->o->strict || t == 0 || t >= MAX_THREADS) {
        apply(cx, ev);
        return;
    }
    struct worker *w = &cx->workers[t];
    if (ev->op == MLG_OP_THREAD_END) {
        stop_worker(w);
        return;
    }
    if (!w->started) {
        w->cx = cx;
        atomic_store(&w->state, 0);
        if (pthread_create(&w->tid, NULL, worker_main, w) != 0) {
            apply(cx, ev); /* cannot make a thread: run it here */
            return;
        }
        w->started = 1;
    }
    w->ev = ev;
    atomic_store_explicit(&w->state, 1, memory_order_release);
    futex_wake(&w->state);
    wait_done(w);
}

/* ---- read-ahead ---- */

#define AHEAD 16

/* The live block an event will look up, or 0 (allocations only insert). */
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

/* ---- sampling -------------------------------------------------------------------------------- */

static int take_sample(struct ctx *cx, uint64_t event, int keep_list)
{
    struct engine_result *r = cx->r;
    const struct backend *b = cx->b;
    if (r->nsamples == r->cap) {
        uint64_t cap = r->cap ? 2 * r->cap : 4096;
        struct sample *v = mem_remap(r->samples, r->cap * sizeof *v, cap * sizeof *v);
        if (!v)
            return -1;
        r->samples = v;
        r->cap = cap;
    }
    uint64_t t = now_ns();
    struct sample *s = &r->samples[r->nsamples];
    memset(s, 0, sizeof *s);
    s->event = event;
    s->time_ns = t - cx->t0;
    s->live_requested = r->slots.live_bytes;
    s->live_blocks = r->slots.live_blocks;
    s->live_usable = r->slots.live_usable;
    holes_clear(&r->holes);
    for (uint64_t i = 0; i < r->slots.n; i++) {
        const struct slot *sl = &r->slots.v[i];
        if (sl->thread == SLOT_DEAD)
            continue;
        uint64_t u = sl->size + sl->slop;
        if (holes_add_block(&r->holes, sl->ptr, sl->ptr + (u ? u : 1), i) < 0)
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
    return 0;
}

int engine_run(const struct engine_opts *o, const struct backend *b, struct engine_result *r)
{
    struct ctx cx = {o, b, r, NULL, 0};
    struct mlg_reader *rd = NULL;
    int rc = 0;
    memset(r, 0, sizeof *r);
    r->stopped_at = UINT64_MAX;
    if (slots_init(&r->slots) < 0 || holes_init(&r->holes) < 0) {
        r->err.code = MLG_E_NOMEM;
        return MLG_E_NOMEM;
    }
    if (o->strict && !(cx.workers = mem_map(MAX_THREADS * sizeof *cx.workers, "mallog:threads"))) {
        r->err.code = MLG_E_NOMEM;
        return MLG_E_NOMEM;
    }
    for (int i = 0; i < o->nseeds; i++) {
        /* the inherited heap, in one thread, before the clock starts */
        struct mlg_event sev;
        if ((rc = mlg_reader_open(&rd, o->seed_log[i], mem_allocator(), &r->err)) != 0)
            return rc;
        while (mlg_reader_next(rd, &sev) == 1 && sev.seq < o->seed_upto[i])
            apply(&cx, &sev);
        mlg_reader_close(rd);
        rd = NULL;
    }
    r->bad_frees = r->skipped = 0; /* the ancestors' own oddities are theirs */
    rc = mlg_reader_open(&rd, o->log, mem_allocator(), &r->err);
    if (rc)
        return rc;
    uint64_t every = o->every ? o->every : 1, last_sampled = UINT64_MAX, done = 0;
    /* Events are decoded AHEAD in advance; as an event comes closer its bucket, then its slot,
     * then the replayed block's header are prefetched, so the lookups of the event being
     * applied hit the cache. */
    static struct mlg_event ring[AHEAD];
    uint64_t head = 0, have = 0;
    cx.t0 = now_ns();
    int n = 1;
    for (;;) {
        while (have < AHEAD && n == 1) {
            struct mlg_event *e = &ring[(head + have) % AHEAD];
            if ((n = mlg_reader_next(rd, e)) == 1) {
                slots_prefetch_bucket(&r->slots, key_of(e) ? key_of(e) : e->ptr);
                have++;
            }
        }
        if (!have)
            break;
        if (have > AHEAD / 2)
            slots_prefetch_slot(&r->slots, key_of(&ring[(head + AHEAD / 2) % AHEAD]));
        if (have > AHEAD / 4)
            slots_prefetch_block(&r->slots, key_of(&ring[(head + AHEAD / 4) % AHEAD]));
        struct mlg_event *ev = &ring[head];
        head = (head + 1) % AHEAD;
        have--;
        if (ev->thread >= r->log_threads)
            r->log_threads = ev->thread + 1;
        dispatch(&cx, ev);
        done = ev->index + 1;
        int stop = ev->index == o->stop_event;
        if (stop || ev->index == o->peak_event || done % every == 0) {
            if (take_sample(&cx, ev->index, stop && o->keep_holes) < 0) {
                r->err.code = MLG_E_NOMEM;
                rc = MLG_E_NOMEM;
                break;
            }
            last_sampled = ev->index;
        }
        if (o->progress && (done & 0xffff) == 0)
            *o->progress = done;
        if (stop) {
            r->stopped_at = ev->index;
            break;
        }
    }
    if (n < 0 && rc == 0 && r->stopped_at == UINT64_MAX) {
        r->err = *mlg_reader_error(rd);
        rc = r->err.code;
    }
    r->events = done;
    if (done && last_sampled != done - 1 && r->stopped_at == UINT64_MAX && rc == 0) {
        if (take_sample(&cx, done - 1, 0) < 0)
            rc = MLG_E_NOMEM;
    }
    r->replay_ns = now_ns() - cx.t0;
    if (o->progress)
        *o->progress = done;
    if (cx.workers) {
        for (uint32_t t = 0; t < MAX_THREADS && t < r->log_threads; t++)
            stop_worker(&cx.workers[t]);
    }
    mlg_reader_close(rd);
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
        int kind = mlg_op_kind(ev.op);
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
            if ((idx = slots_add(&s, rec, 0, 0, 0, 0, 0)) < 0)
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

/* threads.c - the threaded replay: each recorded thread's records are played on a replay thread
 * of its own (recorded thread 0 on the calling thread, so it keeps glibc's main arena), because
 * arenas and thread caches are per thread and a block freed by another thread takes another
 * path in every allocator.
 *
 * The decoder runs in this process and hands over the records of each event (engine.c's sink).
 * They are sorted into one stream per recorded thread for an *epoch*; at a global cut (a sample,
 * thread start or end, fork, malloc_trim, mallopt, CLOCK, END, or an epoch grown past
 * EPOCH_RECORDS) the epoch's streams are played, all threads at once, and the cut waits for
 * every one. Inside an epoch only the order that matters is kept:
 *   faithful: an op on a block that another thread made in the same epoch (free, realloc)
 *             waits until that thread has made it (TAPE_WAIT on a record published with
 *             TAPE_PUB_FLAG). Everything else runs freely, as it did in the program.
 *   strict:   the recorded global order: each run of one thread's events waits for the run
 *             before it (TAPE_PUB at the end of a run, TAPE_WAIT at the start of the next).
 * A slot freed in an epoch is not given to another block before the cut (the decoder's free
 * stack would otherwise let a thread write the pointer another thread is about to free).
 * Never allocates through the allocator under test: streams, stacks and tables are mem_map'd
 * (and the stacks registered, so the replayer's memory stays out of RSS and holes). */
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "replay.h"

const char *const threads_mode_names[3] = {"serial", "strict", "faithful"};

#define MAX_THREADS 65536u
#define EPOCH_RECORDS (1u << 18) /* a cut at least this often: streams stay ~4 MiB in all */
#define STACK_SIZE (512u << 10)
#define STACKS_PER_MAP 32
#define SPINS 64 /* a waiter polls this long before it sleeps (a few us) */

enum { ST_IDLE, ST_GO, ST_DONE, ST_EXIT };

struct rthread {
    _Alignas(64) _Atomic uint64_t done; /* records of this epoch's stream done, as published */
    _Atomic uint32_t wake;             /* futex word: bumped when a waiter is to be woken */
    _Atomic uint32_t waiters;          /* a thread sleeps on `wake` */
    _Alignas(64) _Atomic uint32_t state; /* ST_*: the epoch hand-over with the cutting thread */
    int started, active;
    pthread_t tid;
    void *stack;
    struct tape_op *buf; /* this epoch's stream, as the decoder sorts records into it */
    uint64_t len, cap;
    const struct tape_op *v; /* what the thread plays at the next GO (buf, or the archive) */
    uint64_t n;
    struct tape_op *arch; /* --bench: every epoch's stream of this thread, one after another */
    uint64_t arch_len, arch_cap;
    struct player pl; /* its own: counts are per thread */
    struct threads *f;
};

/* What happens at a cut, once every thread has played up to it. */
enum { ACT_NONE, ACT_CONTROL, ACT_THREAD_END, ACT_OP };
struct cut_action {
    int kind;
    uint32_t thread;   /* ACT_THREAD_END */
    struct tape_op op; /* ACT_CONTROL: CLOCK, SAMPLE, END; ACT_OP: a trim or mallopt */
};
/* An archived epoch (--bench): its streams are entries [first, first + count). */
struct epoch_entry {
    uint32_t thread;
    uint64_t off, n;
};
struct epoch_rec {
    uint64_t first, count;
    struct cut_action act;
};

/* Which thread last made each slot's block in this epoch, and the record that did. */
struct maker {
    uint32_t thread, epoch, index;
};

struct threads {
    struct sink k;
    struct player *pl;
    struct slots *slots;
    int mode;
    struct rthread *th; /* MAX_THREADS, mapped: pages touched as threads appear */
    uint32_t *active, nactive;
    struct maker *maker;
    uint64_t cap_maker;
    uint32_t *deferred; /* slots freed this epoch, kept from reuse until the cut */
    uint64_t ndeferred, cap_deferred;
    void **stacks; /* free stacks */
    uint64_t nstacks, cap_stacks;
    uint32_t epoch;
    uint64_t records, grow_to;
    uint32_t last; /* strict: the thread of the last run */
    int archive;   /* --bench: epochs are kept and played after END, back to back */
    struct epoch_entry *entries; /* archived epochs' streams: (thread, offset, records) */
    uint64_t nentries, cap_entries;
    struct epoch_rec *epochs; /* archived epochs, each with its cut action */
    uint64_t nepochs, cap_epochs;
    int timing; /* CLOCK has been played: the playing is timed */
    int clock, err;
    uint64_t t0;
};

static void futex_wait(_Atomic uint32_t *a, uint32_t v)
{
    syscall(SYS_futex, a, FUTEX_WAIT_PRIVATE, v, NULL, NULL, 0);
}

static void futex_wake(_Atomic uint32_t *a, int n)
{
    syscall(SYS_futex, a, FUTEX_WAKE_PRIVATE, n, NULL, NULL, 0);
}

/* Waits while *a is one of the states in while_mask (a bit per state); returns the state. */
static uint32_t wait_state(_Atomic uint32_t *a, uint32_t while_mask)
{
    uint32_t st;
    while ((while_mask >> (st = atomic_load_explicit(a, memory_order_acquire))) & 1)
        futex_wait(a, st);
    return st;
}

static void set_state(struct rthread *w, uint32_t st)
{
    atomic_store_explicit(&w->state, st, memory_order_release);
    futex_wake(&w->state, 1);
}

/* ---- the protocol between replay threads ----------------------------------------------------- */

/* w has done the first `pos` records of its stream. The store and the load of `waiters` are
 * sequentially consistent, as are the waiter's store of `waiters` and load of `done`: one of
 * the two sides always sees the other, so no wake-up is lost. */
static void publish(struct rthread *w, uint64_t pos)
{
    atomic_store(&w->done, pos);
    if (atomic_load(&w->waiters)) {
        atomic_store(&w->waiters, 0);
        atomic_fetch_add(&w->wake, 1);
        futex_wake(&w->wake, INT32_MAX);
    }
}

/* Waits until thread `owner` has published `pos` records done. Polls a little first: the
 * other thread is often about to get there; then sleeps (on 2 cores a spinning waiter takes
 * the CPU from the thread it waits for). */
static void wait_for(struct threads *f, uint32_t owner, uint64_t pos)
{
    struct rthread *o = &f->th[owner];
    for (int i = 0; i < SPINS; i++) {
        if (atomic_load_explicit(&o->done, memory_order_acquire) >= pos)
            return;
        __builtin_ia32_pause();
    }
    for (;;) {
        uint32_t seq = atomic_load(&o->wake);
        atomic_store(&o->waiters, 1);
        if (atomic_load(&o->done) >= pos)
            return;
        futex_wait(&o->wake, seq);
    }
}

/* Records a kind takes: the op and its TAPE_ARG operand. */
static int record_count(int kind)
{
    return 1 + tape_has_arg(kind);
}

/* Plays w's stream of this epoch. */
static void play_stream(struct rthread *w)
{
    const struct tape_op *v = w->v;
    uint64_t n = w->n, i = 0;
    while (i < n && !w->pl.err) {
        int64_t ctl;
        const struct tape_op *run = v + i;
        i += engine_play(&w->pl, run, n - i, &ctl);
        if (ctl < 0)
            continue;
        const struct tape_op *op = &run[ctl];
        uint64_t at = (uint64_t)(op - v);
        int kind = TAPE_KIND(op);
        if (kind == TAPE_WAIT) {
            wait_for(w->f, op->slot, TAPE_SIZE(op));
        } else if (kind == TAPE_PUB) {
            publish(w, at + 1);
        } else if (kind & TAPE_PUB_FLAG) {
            struct tape_op one[2];
            int k = record_count(kind & ~TAPE_PUB_FLAG);
            memcpy(one, op, (size_t)k * sizeof *op);
            one[0].a &= ~(uint64_t)TAPE_PUB_FLAG;
            int64_t c2;
            engine_play(&w->pl, one, (uint64_t)k, &c2);
            i = at + (uint64_t)k;
            publish(w, at + 1);
        } else { /* no stream holds another kind (GROW is applied at the cut) */
            w->pl.err = MLG_E_NOMEM;
        }
    }
    publish(w, n); /* nobody waits past the end, but a waiter of a failed thread must not hang */
}

static void *thread_main(void *arg)
{
    struct rthread *w = arg;
    for (;;) {
        if (wait_state(&w->state, 1u << ST_IDLE | 1u << ST_DONE) == ST_EXIT)
            return NULL;
        play_stream(w);
        set_state(w, ST_DONE);
    }
}

/* ---- replay threads: start, stacks, end ------------------------------------------------------ */

/* A stack for a replay thread: mapped (registered: not the heap) in groups, reused after a
 * thread ends. NULL if out of memory. */
static void *take_stack(struct threads *f)
{
    if (!f->nstacks) {
        char *m = mem_map((size_t)STACK_SIZE * STACKS_PER_MAP, "mallog:stacks");
        if (!m)
            return NULL;
        if (mem_reserve(&f->stacks, &f->cap_stacks, f->nstacks + STACKS_PER_MAP,
                        sizeof *f->stacks, 4 * STACKS_PER_MAP) < 0)
            return NULL;
        for (int i = 0; i < STACKS_PER_MAP; i++)
            f->stacks[f->nstacks++] = m + (size_t)i * STACK_SIZE;
    }
    return f->stacks[--f->nstacks];
}

static int start_thread(struct threads *f, struct rthread *w)
{
    pthread_attr_t attr;
    if (!(w->stack = take_stack(f)) || pthread_attr_init(&attr) != 0)
        return -1;
    int rc = pthread_attr_setstack(&attr, w->stack, STACK_SIZE);
    atomic_store(&w->state, ST_IDLE);
    if (rc == 0)
        rc = pthread_create(&w->tid, &attr, thread_main, w);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        f->stacks[f->nstacks++] = w->stack; /* room: it came from there */
        return -1;
    }
    w->started = 1;
    return 0;
}

/* The recorded thread ended: so does its replay thread (glibc then gives its arena to the next
 * new thread, and every allocator drops its thread cache), at a cut. */
static void end_thread(struct threads *f, struct rthread *w)
{
    if (!w->started)
        return;
    set_state(w, ST_EXIT);
    pthread_join(w->tid, NULL);
    w->started = 0;
    f->stacks[f->nstacks++] = w->stack;
}

/* ---- epochs ----------------------------------------------------------------------------------- */

/* Room for k more records in t's stream; NULL if out of memory. */
static struct tape_op *stream_room(struct threads *f, uint32_t t, uint64_t k)
{
    struct rthread *w = &f->th[t];
    if (!w->f) { /* first use */
        w->f = f;
        w->pl = *f->pl;
    }
    if (mem_reserve(&w->buf, &w->cap, w->len + k, sizeof *w->buf, 4096) < 0)
        return NULL;
    if (!w->active) {
        w->active = 1;
        f->active[f->nactive++] = t;
    }
    return &w->buf[w->len];
}

/* Plays the epoch's streams (each active thread's v[0..n)), all threads at once, and waits for
 * all: the cut. Timed once CLOCK has been played. */
static int play_epoch(struct threads *f)
{
    struct player *pl = f->pl;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t w0 = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    uint64_t c0 = f->timing && f->nactive ? engine_cpu_ns() : 0;
    if (f->grow_to > pl->r->cap_slots && engine_grow_slots(pl, f->grow_to) < 0)
        f->err = MLG_E_NOMEM;
    int main_active = 0;
    for (uint32_t i = 0; i < f->nactive && !f->err; i++) {
        struct rthread *w = &f->th[f->active[i]];
        if (f->active[i] == 0) {
            main_active = 1;
            continue;
        }
        if (!w->started && start_thread(f, w) < 0) {
            f->err = MLG_E_NOMEM; /* cannot make the thread: its records cannot run faithfully */
            break;
        }
        set_state(w, ST_GO);
    }
    if (main_active && !f->err)
        play_stream(&f->th[0]);
    for (uint32_t i = 0; i < f->nactive; i++) {
        struct rthread *w = &f->th[f->active[i]];
        if (f->active[i] != 0 && w->started &&
            atomic_load_explicit(&w->state, memory_order_acquire) != ST_IDLE)
            wait_state(&w->state, 1u << ST_GO);
    }
    /* every thread is done: only now may the counters another thread waits on be reset */
    for (uint32_t i = 0; i < f->nactive; i++) {
        struct rthread *w = &f->th[f->active[i]];
        if (w->pl.err && !f->err)
            f->err = w->pl.err;
        if (w->started)
            atomic_store(&w->state, ST_IDLE);
        w->n = 0;
        w->active = 0;
        atomic_store(&w->done, 0);
    }
    f->nactive = 0;
    if (c0) { /* the playing alone: the decoding between epochs is not timed */
        clock_gettime(CLOCK_MONOTONIC, &ts);
        pl->r->play_ns += (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec - w0;
        pl->r->play_cpu_ns += engine_cpu_ns() - c0;
    }
    if (f->err)
        pl->r->err.code = pl->r->err_code = f->err;
    return f->err ? -1 : 0;
}

/* The decoder's side of a cut: a new epoch begins; the slots freed in the last may be reused. */
static void close_epoch(struct threads *f)
{
    f->records = 0;
    f->epoch++;
    f->last = UINT32_MAX;
    struct slots *s = f->slots;
    for (uint64_t i = 0; i < f->ndeferred; i++)
        s->free[s->nfree++] = f->deferred[i];
    f->ndeferred = 0;
}

/* What the cut does once every thread stands at it. Returns 0, or -1 (a failure said in r). */
static int do_action(struct threads *f, const struct cut_action *act)
{
    int64_t ctl;
    switch (act->kind) {
    case ACT_CONTROL:
        if (TAPE_KIND(&act->op) == TAPE_CLOCK) { /* the ancestors' failed calls are theirs */
            f->timing = 1;
            f->th[0].pl.skipped = 0;
        }
        return engine_control(f->pl, &act->op, &f->t0) < 0 ? -1 : 0;
    case ACT_THREAD_END:
        end_thread(f, &f->th[act->thread]);
        return 0;
    case ACT_OP: /* trim and mallopt act on the whole heap: played here, alone */
        engine_play(f->pl, &act->op, 1, &ctl);
        return f->pl->err ? -1 : 0;
    default:
        return 0;
    }
}

/* Keeps the epoch's streams and its action for later (--bench). 0, or -1 (no memory). */
static int archive_epoch(struct threads *f, const struct cut_action *act)
{
    if (mem_reserve(&f->epochs, &f->cap_epochs, f->nepochs + 1, sizeof *f->epochs, 256) < 0)
        return -1;
    struct epoch_rec *rec = &f->epochs[f->nepochs++];
    *rec = (struct epoch_rec){f->nentries, 0, *act};
    for (uint32_t i = 0; i < f->nactive; i++) {
        struct rthread *w = &f->th[f->active[i]];
        if (mem_reserve(&w->arch, &w->arch_cap, w->arch_len + w->len, sizeof *w->arch,
                        1 << 16) < 0 ||
            mem_reserve(&f->entries, &f->cap_entries, f->nentries + 1, sizeof *f->entries,
                        1024) < 0)
            return -1;
        memcpy(w->arch + w->arch_len, w->buf, w->len * sizeof *w->buf);
        f->entries[f->nentries++] = (struct epoch_entry){f->active[i], w->arch_len, w->len};
        rec->count++;
        w->arch_len += w->len;
        w->len = 0;
        w->active = 0;
    }
    f->nactive = 0;
    return 0;
}

/* Plays the archived epochs back to back, each followed by its action: no decoding between
 * them, so no idle time an allocator's time-based purging could mistake for the program's. */
static int play_archive(struct threads *f)
{
    for (uint64_t e = 0; e < f->nepochs; e++) {
        const struct epoch_rec *rec = &f->epochs[e];
        for (uint64_t i = 0; i < rec->count; i++) {
            const struct epoch_entry *en = &f->entries[rec->first + i];
            struct rthread *w = &f->th[en->thread];
            w->v = w->arch + en->off;
            w->n = en->n;
            f->active[f->nactive++] = en->thread;
        }
        if (play_epoch(f) < 0 || do_action(f, &rec->act) < 0)
            return -1;
    }
    return 0;
}

/* A cut: everything before it is played (now, or with --bench after END), then the action. */
static int cut(struct threads *f, const struct cut_action *act)
{
    if (f->archive) {
        if (archive_epoch(f, act) < 0) {
            f->err = MLG_E_NOMEM;
            f->pl->r->err.code = f->pl->r->err_code = MLG_E_NOMEM;
            return -1;
        }
        close_epoch(f);
        if (act->kind == ACT_CONTROL && TAPE_KIND(&act->op) == TAPE_END)
            return play_archive(f);
        return 0;
    }
    for (uint32_t i = 0; i < f->nactive; i++) {
        struct rthread *w = &f->th[f->active[i]];
        w->v = w->buf;
        w->n = w->len;
        w->len = 0;
    }
    int rc = play_epoch(f);
    close_epoch(f);
    return rc < 0 ? -1 : do_action(f, act);
}

/* ---- sorting an event's records into streams ------------------------------------------------ */

/* The slot's block was made, in this epoch, by another thread than t: t's op on it waits for
 * that record, which is published. Returns 0 or -1 (no memory). */
static int depend(struct threads *f, uint32_t t, uint64_t slot)
{
    if (slot >= f->cap_maker)
        return 0;
    struct maker *m = &f->maker[slot];
    if (m->epoch != f->epoch || m->thread == t)
        return 0;
    struct rthread *o = &f->th[m->thread];
    o->buf[m->index].a |= TAPE_PUB_FLAG;
    struct tape_op *w = stream_room(f, t, 1);
    if (!w)
        return -1;
    *w = tape_op(TAPE_WAIT, 0, (uint64_t)m->index + 1, m->thread, 0);
    f->th[t].len++;
    return 0;
}

static int made(struct threads *f, uint32_t t, uint64_t slot, uint64_t index)
{
    if (mem_reserve(&f->maker, &f->cap_maker, slot + 1, sizeof *f->maker, 1 << 16) < 0)
        return -1;
    f->maker[slot] = (struct maker){t, f->epoch, (uint32_t)index};
    return 0;
}

/* The slot was freed by this event: if the decoder put it on its free stack (near the top:
 * an event frees at most two), it waits for the cut there. */
static int defer_slot(struct threads *f, uint64_t slot)
{
    struct slots *s = f->slots;
    if (s->v[slot].thread != SLOT_DEAD)
        return 0; /* reused by the same event (a realloc or an inversion): same thread */
    for (uint64_t k = s->nfree; k > 0 && k + 4 > s->nfree; k--) {
        if (s->free[k - 1] != slot)
            continue;
        s->free[k - 1] = s->free[--s->nfree];
        if (mem_reserve(&f->deferred, &f->cap_deferred, f->ndeferred + 1, sizeof *f->deferred,
                        4096) < 0)
            return -1;
        f->deferred[f->ndeferred++] = (uint32_t)slot;
        return 0;
    }
    return 0;
}

/* Appends one op (k records at v) to t's stream, with what it waits for first. */
static int append(struct threads *f, uint32_t t, const struct tape_op *v, int k)
{
    int kind = TAPE_KIND(v);
    int frees = kind == TAPE_FREE, reallocs = kind == TAPE_REALLOC;
    if (f->mode == THREADS_FAITHFUL && (frees || reallocs) &&
        depend(f, t, frees ? v->slot : v->aux) < 0)
        return -1;
    struct tape_op *w = stream_room(f, t, (uint64_t)k);
    if (!w)
        return -1;
    memcpy(w, v, (size_t)k * sizeof *v);
    uint64_t index = f->th[t].len;
    f->th[t].len += (uint64_t)k;
    f->records += (uint64_t)k;
    if (kind != TAPE_FREE && made(f, t, v->slot, index) < 0)
        return -1;
    if (frees || (reallocs && v->aux != v->slot))
        return defer_slot(f, frees ? v->slot : v->aux);
    return 0;
}

/* strict: t's run starts; it waits for the run before it, on another thread. */
static int hand_over(struct threads *f, uint32_t t)
{
    uint32_t last = f->last;
    f->last = t;
    if (last == UINT32_MAX || last == t)
        return 0;
    struct tape_op *w = stream_room(f, last, 1);
    if (!w)
        return -1;
    uint64_t pos = ++f->th[last].len;
    *w = tape_op(TAPE_PUB, 0, 0, 0, 0);
    if (!(w = stream_room(f, t, 1)))
        return -1;
    *w = tape_op(TAPE_WAIT, 0, pos, last, 0);
    f->th[t].len++;
    return 0;
}

static int is_cut(const struct mlg_event *ev)
{
    return ev->op == MLG_OP_THREAD_START || ev->op == MLG_OP_THREAD_END || ev->op == MLG_OP_FORK ||
           ev->op == MLG_OP_TRIM || ev->op == MLG_OP_MALLOPT;
}

static int threads_emit(struct sink *k, const struct tape_op *v, int n, const struct mlg_event *ev)
{
    struct threads *f = (struct threads *)k;
    if (!ev) { /* CLOCK, SAMPLE, END: at a cut, on this thread */
        struct cut_action act = {ACT_CONTROL, 0, *v};
        if (TAPE_KIND(v) == TAPE_CLOCK)
            f->clock = 1;
        return cut(f, &act);
    }
    /* the fork ancestors' heap (before CLOCK) is built on one thread */
    uint32_t t = f->clock && ev->thread < MAX_THREADS ? ev->thread : 0;
    if (is_cut(ev)) {
        struct cut_action act = {ACT_NONE, t, {0, 0, 0}};
        if (ev->op == MLG_OP_THREAD_END && t != 0)
            act.kind = ACT_THREAD_END;
        for (int i = 0; i < n; i++) { /* trim or mallopt: one record each */
            if (TAPE_KIND(&v[i]) == TAPE_GROW && TAPE_SIZE(&v[i]) > f->grow_to)
                f->grow_to = TAPE_SIZE(&v[i]);
            else if (TAPE_KIND(&v[i]) == TAPE_TRIM || TAPE_KIND(&v[i]) == TAPE_MALLOPT)
                act = (struct cut_action){ACT_OP, t, v[i]};
        }
        return cut(f, &act);
    }
    for (int i = 0; i < n;) {
        int kind = TAPE_KIND(&v[i]), c = record_count(kind);
        if (kind == TAPE_GROW) {
            if (TAPE_SIZE(&v[i]) > f->grow_to)
                f->grow_to = TAPE_SIZE(&v[i]);
        } else if (kind != TAPE_NOP && kind != TAPE_ARG) {
            if (f->mode == THREADS_STRICT && hand_over(f, t) < 0)
                goto nomem;
            if (append(f, t, &v[i], c) < 0)
                goto nomem;
        }
        i += c;
    }
    if (f->records >= EPOCH_RECORDS) {
        struct cut_action none = {ACT_NONE, 0, {0, 0, 0}};
        return cut(f, &none);
    }
    return 0;
nomem:
    f->err = MLG_E_NOMEM;
    f->pl->r->err.code = f->pl->r->err_code = MLG_E_NOMEM;
    return -1;
}

struct sink *threads_new(struct player *pl, struct slots *slots, int mode, int archive)
{
    struct threads *f = mem_map(sizeof *f, "mallog:threads");
    if (!f)
        return NULL;
    f->k.emit = threads_emit;
    f->pl = pl;
    f->slots = slots;
    f->mode = mode;
    f->archive = archive;
    pl->threaded = 1;
    f->epoch = 1; /* a maker of epoch 0 is an empty entry */
    f->last = UINT32_MAX;
    f->grow_to = pl->r->cap_slots;
    f->th = mem_map(MAX_THREADS * sizeof *f->th, "mallog:threads");
    f->active = mem_map(MAX_THREADS * sizeof *f->active, "mallog:threads");
    if (!f->th || !f->active) {
        mem_unmap(f->th, MAX_THREADS * sizeof *f->th);
        mem_unmap(f->active, MAX_THREADS * sizeof *f->active);
        mem_unmap(f, sizeof *f);
        return NULL;
    }
    return &f->k;
}

int threads_finish(struct sink *k, uint64_t *t0)
{
    struct threads *f = (struct threads *)k;
    int err = f->err;
    *t0 = f->t0;
    for (uint32_t i = 1; i < MAX_THREADS; i++) {
        struct rthread *w = &f->th[i];
        if (w->started)
            end_thread(f, w);
    }
    for (uint32_t i = 0; i < MAX_THREADS; i++) {
        struct rthread *w = &f->th[i];
        if (w->buf)
            mem_unmap(w->buf, w->cap * sizeof *w->buf);
        if (w->arch)
            mem_unmap(w->arch, w->arch_cap * sizeof *w->arch);
    }
    mem_unmap(f->entries, f->cap_entries * sizeof *f->entries);
    mem_unmap(f->epochs, f->cap_epochs * sizeof *f->epochs);
    /* the replay threads' skipped calls count like the serial replay's */
    for (uint32_t i = 0; i < MAX_THREADS; i++)
        if (f->th[i].f)
            f->pl->skipped += f->th[i].pl.skipped;
    mem_unmap(f->maker, f->cap_maker * sizeof *f->maker);
    mem_unmap(f->deferred, f->cap_deferred * sizeof *f->deferred);
    mem_unmap(f->th, MAX_THREADS * sizeof *f->th);
    mem_unmap(f->active, MAX_THREADS * sizeof *f->active);
    mem_unmap(f, sizeof *f);
    return err;
}

/* tree.c - `mallog replay --tree`: a recorded process tree replayed with real forks (issue 22).
 * Each root (a process not forked from one replayed here: the first image, an exec'd image, a
 * child whose parent's log is missing) starts in a process forked from the worker; a process
 * replays its own log and forks each of its children when its log reaches the child's fork
 * point, so the child starts with the allocator's real heap as it was there, pages shared
 * copy-on-write. Each replayed process keeps its own map of recorded addresses (fork copies it:
 * the child's frees of inherited blocks find their replayed blocks) and measures, at its samples,
 * what it now holds alone of the pages it inherited (cow.c). Its own bookkeeping is mapped and
 * named (mem.c), never the allocator's: no malloc, no stdio here. The order across processes is
 * only the fork points, as the logs give it; within a process, the recorded order, one thread. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../lib/hash.h"
#include "../lib/heap.h"
#include "replay.h"

#define PAGE 4096u

/* ---- the address map: recorded address -> replayed block (per process; fork copies it) ---- */
struct tslot {
    uint64_t key; /* recorded address, 0 = empty */
    void *p;
    uint64_t size, owner; /* owner: the process (index in the tree) that made the block */
};
static struct tslot *map;
static uint64_t map_mask, map_used;
static unsigned map_shift;
static uint64_t self; /* the index of the process this one replays */

static int map_grow(void)
{
    uint64_t n = map ? (map_mask + 1) * 2 : 1u << 16;
    struct tslot *t = mem_map(n * sizeof *t, "mallog:tree-map");
    if (!t)
        return -1;
    unsigned shift = 64;
    for (uint64_t k = n; k > 1; k >>= 1)
        shift--;
    for (uint64_t i = 0; map && i <= map_mask; i++)
        if (map[i].key) {
            uint64_t j = mlg_hash_slot(map[i].key, shift);
            while (t[j].key)
                j = (j + 1) & (n - 1);
            t[j] = map[i];
        }
    if (map)
        mem_unmap(map, (map_mask + 1) * sizeof *map);
    map = t;
    map_mask = n - 1;
    map_shift = shift;
    return 0;
}

/* The entry of key, or of the empty place where it would go. */
static uint64_t map_find(uint64_t key)
{
    uint64_t i = mlg_hash_slot(key, map_shift);
    while (map[i].key && map[i].key != key)
        i = (i + 1) & map_mask;
    return i;
}

static int map_put(uint64_t key, void *p, uint64_t size)
{
    if ((map_used + 1) * 2 > map_mask + 1 && map_grow() < 0)
        return -1;
    uint64_t i = map_find(key);
    if (!map[i].key)
        map_used++;
    map[i] = (struct tslot){key, p, size, self};
    return 0;
}

/* Takes key out of the map: its block in *p, *size, who made it in *owner. 0, or -1 if not
 * live. */
static int map_take(uint64_t key, void **p, uint64_t *size, uint64_t *owner)
{
    uint64_t i = map_find(key);
    if (!map[i].key)
        return -1;
    *p = map[i].p;
    *size = map[i].size;
    *owner = map[i].owner;
    mlg_hash_delete(map, sizeof *map, map_mask, map_shift, i);
    map_used--;
    return 0;
}

/* ---- one process's replay -------------------------------------------------------------------- */
static struct tree_shared *tree;
static const struct backend *be;
static int touch_mode;
static struct cow cow;
static pid_t kids[TREE_MAX_PROCS];
static int nkids;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* As engine.c's: one byte in every page of [p + from, p + to), or every byte (full). */
static void touch(char *p, uint64_t from, uint64_t to)
{
    if (touch_mode == TOUCH_NONE || !p || from >= to)
        return;
    if (touch_mode == TOUCH_FULL) {
        memset(p + from, 0x5a, to - from);
        return;
    }
    volatile char *v = p;
    v[from] = 1;
    for (uint64_t a = (((uint64_t)p + from) | (PAGE - 1)) + 1 - (uint64_t)p; a < to; a += PAGE)
        v[a] = 1;
}

/* Applies one event (lib/heap.h's rule) to the allocator and the map. 0, or -1 (no memory). */
static int apply(struct tree_proc *me, const struct mlg_event *ev)
{
    if (ev->op == MLG_OP_TRIM) {
        if (be->trim)
            be->trim((size_t)ev->arg);
        return 0;
    }
    if (ev->op == MLG_OP_MALLOPT) { /* glibc only, as in the engine */
        if (be->mallopt)
            be->mallopt((int)ev->arg, (int)ev->size);
        return 0;
    }
    struct mlg_heap_effect e = mlg_heap_effects_of(ev->op, ev->outcome, ev->ptr, ev->old_ptr,
                                                   ev->size);
    void *old = NULL;
    uint64_t old_size = 0;
    int have_old = 0;
    if (e.flags & MLG_HEAP_RELEASE) {
        uint64_t owner = 0;
        have_old = map_take(e.release, &old, &old_size, &owner) == 0;
        if (!have_old) {
            me->unknown_frees++; /* a free of a block not live here: skipped */
        } else if (owner != self) { /* made before this process was forked */
            me->inherited_frees++;
            me->inherited_freed += old_size;
        }
    }
    if (!(e.flags & MLG_HEAP_ACQUIRE)) {
        if (have_old && old)
            be->free(old);
        return 0;
    }
    void *p;
    if ((e.flags & MLG_HEAP_RESIZE) && have_old && old) {
        p = be->realloc(old, e.size ? e.size : 1);
        if (!p) { /* the program went on without the old block: so does the replay */
            me->skipped++;
            be->free(old);
            return 0;
        }
        touch(p, old_size < e.size ? old_size : e.size, e.size);
    } else {
        if (have_old && old)
            be->free(old);
        int op = ev->op == MLG_OP_REALLOC || ev->op == MLG_OP_REALLOCARRAY ? MLG_OP_MALLOC : ev->op;
        p = be->alloc(op, e.size, ev->arg);
        if (!p) {
            me->skipped++;
            return 0;
        }
        touch(p, 0, e.size);
    }
    return map_put(e.acquire, p, e.size);
}

static void take_sample(struct tree_proc *me, uint64_t event)
{
    struct cow_figures f;
    if (cow_measure(&cow, &f) < 0)
        return;
    struct cow_figures *pk = &me->peak;
#define MAX_INTO(field) pk->field = f.field > pk->field ? f.field : pk->field
    MAX_INTO(inherited);
    MAX_INTO(unshared);
    MAX_INTO(fresh);
    MAX_INTO(pss);
    MAX_INTO(shared);
#undef MAX_INTO
    me->end = f;
    if (me->nsamples < TREE_SAMPLES)
        me->s[me->nsamples++] = (struct tree_sample){event, now_ns(), f};
    else /* full: the last one follows the end */
        me->s[TREE_SAMPLES - 1] = (struct tree_sample){event, now_ns(), f};
}

/* Waits until *counter reaches the tree's size (or a process failed), reaping this process's
 * children that end early: a child killed before the barrier would hold everyone forever. */
static void barrier(_Atomic uint32_t *counter)
{
    atomic_fetch_add(counter, 1);
    while (atomic_load(counter) < tree->n && !atomic_load(&tree->failed)) {
        int st;
        pid_t w = waitpid(-1, &st, WNOHANG);
        if (w > 0 && !(WIFEXITED(st) && WEXITSTATUS(st) == 0))
            atomic_fetch_add(&tree->failed, 1);
        struct timespec ts = {0, 2000000};
        nanosleep(&ts, NULL);
    }
}

static void play(int i) __attribute__((noreturn));

/* Forks child j of the calling process's replay. */
static void fork_child(int j, struct mlg_reader *r)
{
    pid_t pid = fork();
    if (pid == 0) {
        mlg_reader_close(r); /* the parent's reader; this copy only */
        play(j);
    }
    if (pid < 0) {
        snprintf(tree->p[j].error, sizeof tree->p[j].error, "fork: %s", strerror(errno));
        tree->p[j].state = 2;
        atomic_fetch_add(&tree->failed, 1);
        return;
    }
    kids[nkids++] = pid;
}

/* The children of process i in fork order (fork_seq, then index): the one after child prev
 * (-1: the first), or -1 when there is none. */
static int next_child(int i, int prev)
{
    int best = -1;
    for (uint32_t j = 0; j < tree->n; j++) {
        const struct tree_proc *c = &tree->p[j];
        if (c->parent != i)
            continue;
        if (prev >= 0 && (c->fork_seq < tree->p[prev].fork_seq ||
                          (c->fork_seq == tree->p[prev].fork_seq && (int)j <= prev)))
            continue;
        if (best < 0 || c->fork_seq < tree->p[best].fork_seq)
            best = (int)j;
    }
    return best;
}

static void fail(struct tree_proc *me, const char *what)
{
    snprintf(me->error, sizeof me->error, "%s", what);
    me->state = 2;
    atomic_fetch_add(&tree->failed, 1);
    _exit(1);
}

/* Replays process i in this process (forked for it), then the barriers; never returns. */
static void play(int i)
{
    struct tree_proc *me = &tree->p[i];
    nkids = 0;
    self = (uint64_t)i;
    /* what this process inherited: the allocator's pages present now (a root: none yet; it
     * takes its snapshot when it first forks) */
    cow_fini(&cow);
    if (cow_init(&cow) < 0 || (me->parent >= 0 && cow_snapshot(&cow) < 0))
        fail(me, "cannot read /proc/self/pagemap or maps");
    struct mlg_reader *r;
    struct mlg_error err;
    if (mlg_reader_open(&r, me->log, mem_allocator(), &err) != 0) {
        char e[200];
        fail(me, mlg_error_format(&err, e, sizeof e));
    }
    int next = next_child(i, -1);
    struct mlg_event ev;
    uint64_t every = me->every ? me->every : 1, n = 0;
    take_sample(me, 0);
    int rc;
    while ((rc = mlg_reader_next(r, &ev)) == 1) {
        while (next >= 0 && tree->p[next].fork_seq <= ev.seq) {
            fork_child(next, r);
            if (!cow.have_snapshot && cow_snapshot(&cow) < 0)
                fail(me, "cannot read /proc/self/pagemap");
            /* its PSS halves at a fork: the tree's sum must not count its pages twice */
            take_sample(me, ev.index ? ev.index - 1 : 0);
            next = next_child(i, next);
        }
        if (apply(me, &ev) < 0)
            fail(me, "out of memory");
        if (++n % every == 0)
            take_sample(me, ev.index);
    }
    /* children forked after the last event */
    for (; next >= 0; next = next_child(i, next)) {
        fork_child(next, r);
        if (!cow.have_snapshot && cow_snapshot(&cow) < 0)
            fail(me, "cannot read /proc/self/pagemap");
        take_sample(me, n ? n - 1 : 0);
    }
    me->replayed = n;
    if (rc < 0) { /* a damaged log: replayed up to the damage; the parent says where */
        char e[200];
        snprintf(me->error, sizeof me->error, "%s; replayed up to it",
                 mlg_error_format(mlg_reader_error(r), e, sizeof e));
    }
    mlg_reader_close(r);
    /* every process has played its log: the end figures are taken with the whole tree alive */
    barrier(&tree->done);
    take_sample(me, n ? n - 1 : 0);
    me->state = 1;
    barrier(&tree->measured);
    for (int k = 0; k < nkids; k++) {
        int st;
        if (waitpid(kids[k], &st, 0) == kids[k] && !(WIFEXITED(st) && WEXITSTATUS(st) == 0))
            atomic_fetch_add(&tree->failed, 1);
    }
    _exit(atomic_load(&tree->failed) ? 1 : 0);
}

int tree_run(struct tree_shared *t, const struct backend *b, int touch)
{
    tree = t;
    be = b;
    touch_mode = touch;
    if (map_grow() < 0)
        return -1;
    /* orphans of a failed replay come back here to be reaped */
    prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    for (uint32_t i = 0; i < t->n; i++) {
        if (t->p[i].parent >= 0)
            continue;
        pid_t pid = fork();
        if (pid == 0)
            play((int)i);
        if (pid < 0) {
            atomic_fetch_add(&t->failed, 1);
            break;
        }
    }
    int st, bad = 0;
    pid_t w;
    while ((w = waitpid(-1, &st, 0)) > 0 || (w < 0 && errno == EINTR))
        if (w > 0 && !(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
            bad = 1;
            atomic_fetch_add(&t->failed, 1);
        }
    for (uint32_t i = 0; i < t->n; i++)
        if (t->p[i].state != 1)
            bad = 1;
    return bad ? -1 : 0;
}

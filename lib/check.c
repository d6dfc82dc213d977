/* check.c - integrity of an event stream: unknown frees, double frees, ordering inversions.
 * A log written by libmallog.so must show 0 of each (a forked child's frees of blocks inherited
 * from its parent are unknown unless the parent's live set is seeded first). */
#include <string.h>

#include "heap.h"

int mlg_check_init(struct mlg_check *c, const struct mlg_allocator *alloc)
{
    memset(c, 0, sizeof *c);
    c->first_anomaly_event = UINT64_MAX;
    c->live = mlg_addrmap_new(alloc);
    c->freed = mlg_addrmap_new(alloc);
    if (!c->live || !c->freed) {
        mlg_check_fini(c);
        return MLG_E_NOMEM;
    }
    return 0;
}

void mlg_check_fini(struct mlg_check *c)
{
    mlg_addrmap_free(c->live);
    mlg_addrmap_free(c->freed);
    c->live = c->freed = NULL;
}

uint64_t mlg_check_anomalies(const struct mlg_check *c)
{
    return c->unknown_frees + c->double_frees + c->inversions + c->seq_disorder;
}

static void anomaly(struct mlg_check *c, const struct mlg_event *ev, uint64_t *counter)
{
    (*counter)++;
    if (c->first_anomaly_event == UINT64_MAX)
        c->first_anomaly_event = ev->index;
}

static void add_block(struct mlg_check *c, const struct mlg_event *ev, uint64_t ptr, uint64_t size)
{
    uint64_t old;
    if (mlg_addrmap_get(c->live, ptr, &old)) {
        anomaly(c, ev, &c->inversions);
        c->live_bytes -= old;
        c->live_blocks--;
    }
    mlg_addrmap_put(c->live, ptr, size);
    mlg_addrmap_del(c->freed, ptr, NULL);
    c->live_blocks++;
    c->live_bytes += size;
    if (c->live_bytes > c->peak_live_bytes)
        c->peak_live_bytes = c->live_bytes;
}

static void drop_block(struct mlg_check *c, const struct mlg_event *ev, uint64_t ptr)
{
    uint64_t size;
    if (mlg_addrmap_del(c->live, ptr, &size)) {
        c->live_blocks--;
        c->live_bytes -= size;
        mlg_addrmap_put(c->freed, ptr, 1);
    } else if (mlg_addrmap_get(c->freed, ptr, NULL)) {
        anomaly(c, ev, &c->double_frees);
    } else {
        anomaly(c, ev, &c->unknown_frees);
    }
}

/* A realloc in place: the block keeps its address and takes the new size. The recorder saw it
 * return its input, so an old block it does not know is an unknown free and no new block (a
 * moved realloc of an unknown block still makes one: its new address is real). */
static void resize_block(struct mlg_check *c, const struct mlg_event *ev,
                         const struct mlg_heap_effect *e)
{
    uint64_t old;
    if (!mlg_addrmap_get(c->live, e->release, &old)) {
        anomaly(c, ev, &c->unknown_frees);
        return;
    }
    c->live_bytes = c->live_bytes - old + e->size;
    mlg_addrmap_put(c->live, e->release, e->size);
    if (c->live_bytes > c->peak_live_bytes)
        c->peak_live_bytes = c->live_bytes;
}

void mlg_check_event(struct mlg_check *c, const struct mlg_event *ev)
{
    if (c->seen_any && ev->seq <= c->last_seq)
        anomaly(c, ev, &c->seq_disorder);
    c->last_seq = ev->seq;
    c->seen_any = 1;
    struct mlg_heap_effect e =
        mlg_heap_effects_of(ev->op, ev->outcome, ev->ptr, ev->old_ptr, ev->size);
    if (e.flags & MLG_HEAP_INPLACE) {
        resize_block(c, ev, &e);
        return;
    }
    if (e.flags & MLG_HEAP_RELEASE)
        drop_block(c, ev, e.release);
    if (e.flags & MLG_HEAP_ACQUIRE)
        add_block(c, ev, e.acquire, e.size);
}

struct seed {
    struct mlg_check *c;
    uint64_t upto;
};

static int seed_event(void *ctx, const struct mlg_event *ev)
{
    struct seed *s = ctx;
    if (ev->seq >= s->upto)
        return 1; /* the fork point: the rest is the parent's alone */
    mlg_check_event(s->c, ev);
    return 0;
}

int mlg_check_seed(struct mlg_check *c, const char *path, uint64_t upto, struct mlg_error *err)
{
    struct seed s = {c, upto};
    struct mlg_visitor v = {&s, NULL, seed_event, NULL};
    int rc = mlg_read_file(path, &v, NULL, err);
    if (rc == MLG_E_STOPPED) {
        memset(err, 0, sizeof *err);
        rc = 0;
    }
    /* what the parent did wrong is the parent's report, not the child's */
    c->unknown_frees = c->double_frees = c->inversions = c->seq_disorder = 0;
    c->first_anomaly_event = UINT64_MAX;
    c->seen_any = 0;
    c->peak_live_bytes = c->live_bytes;
    c->inherited_blocks = c->live_blocks;
    return rc;
}

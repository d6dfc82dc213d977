/* fuzz_sites.c - libFuzzer target: the metadata walk of a log without its events: mlg_sites_load
 * (call-site frames: modules and stacks), mlg_frames_walk over every variant, mlg_log_events.
 * CRC-32C fields are recomputed first (fuzz.h) so mutations reach the parsers behind them; every
 * stack and module the table holds is then read back, and a pc of each named.
 * Symbolizing is left out: it runs addr2line on the paths the log names.
 */
#include "../../lib/mallog.h"
#include "fuzz.h"

struct walk {
    uint64_t frames, last_off;
};

static int on_frame(void *ctx, unsigned variant, const uint8_t *body, uint32_t len, uint64_t off,
                    struct mlg_error *err)
{
    (void)err;
    struct walk *w = ctx;
    CHECK(variant < 16);
    CHECK(w->frames == 0 || off > w->last_off);
    volatile uint8_t sum = 0;
    for (uint32_t i = 0; i < len; i++) /* the whole body must be readable */
        sum += body[i];
    w->frames++;
    w->last_off = off;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *copy = malloc(size ? size : 1);
    memcpy(copy, data, size);
    fuzz_fix_crcs(copy, size);
    char path[64];
    fuzz_file(copy, size, path, sizeof path);
    free(copy);

    struct mlg_sites *s;
    struct mlg_error err;
    int rc = mlg_sites_load(&s, path, &err);
    CHECK(rc == err.code);
    if (s) {
        uint32_t nstacks = mlg_sites_stack_count(s), nmod = mlg_sites_module_count(s);
        for (uint32_t id = 0; id <= nstacks + 1; id++) {
            const uint64_t *pcs;
            uint32_t depth;
            int have = mlg_sites_stack(s, id, &pcs, &depth);
            CHECK(have == (id >= 1 && id <= nstacks));
            if (!have)
                continue;
            CHECK(depth <= MLG_STACK_DEPTH_MAX);
            char buf[256];
            for (uint32_t i = 0; i < depth; i++)
                mlg_sites_frame_name(s, pcs[i], buf, sizeof buf);
            mlg_sites_site_pc(s, id);
        }
        for (uint32_t id = 1; id <= nmod; id++) {
            const struct mlg_module *m = mlg_sites_module(s, id);
            CHECK(m && m->path && m->start <= m->end);
            CHECK(strlen(m->path) < MLG_STR_MAX);
            mlg_sites_module_of(s, m->start);
        }
        mlg_sites_free(s);
    }
    struct walk w = {0, 0};
    struct mlg_error werr;
    int wrc = mlg_frames_walk(path, 0xffffu, on_frame, &w, &werr);
    CHECK(wrc == werr.code);
    uint64_t events;
    mlg_log_events(path, &events, &werr);
    return 0;
}

/* growth.h - `mallog stats --growth`: which call sites (logs recorded with --stacks) or size
 * classes (other logs) keep growing through a run. analyze/growth.c follows every block to its
 * group and keeps, per group, its live bytes and blocks in a fixed number of windows of the run
 * (merged in pairs when full, so memory is bounded by live blocks and groups, never by the run's
 * length); then judges each group's series (growing, levels_off, returns) with rank statistics.
 * analyze/growth_out.c writes the result as text or JSON. docs/ANALYZE.md "What grows" has the
 * rule and its limits. */
#ifndef MLG_GROWTH_H
#define MLG_GROWTH_H

#include <stdint.h>
#include <stdio.h>

#include "../lib/mallog.h"

#define GROWTH_WINDOWS 64      /* windows kept; when full, pairs merge and the width doubles */
#define GROWTH_MIN_EVENTS 1000 /* fewer events: too short to judge (exit 2) */
#define GROWTH_SAMPLES 3       /* oldest live blocks kept per group (a sample of their stacks) */
#define GROWTH_Z 3.0           /* Mann-Kendall Z the last half must reach to be "growing" */
#define GROWTH_RETURN_SHARE 0.1 /* "returns": back within this share of its rise */
#define GROWTH_LAST_SHARE 0.1  /* "growing": the last half adds at least this share of the rise */
#define GROWTH_MIN_RISES 3     /* "growing": new highs in the last half, each a tenth of its range */

enum growth_verdict { GROWTH_GROWING, GROWTH_LEVELS_OFF, GROWTH_RETURNS };

/* What the statistics say of one series (the floor of live bytes per window, oldest first). */
struct growth_judgement {
    int verdict;      /* enum growth_verdict */
    int last_from;    /* first window of the last half (the part the growing test looks at) */
    double tau_all;   /* Kendall tau-b of the series against the window index, whole run */
    double tau_last;  /* the same over the last half */
    double z_last;    /* Mann-Kendall Z of the last half (ties corrected; its variance widened
                         when the windows are autocorrelated) */
    double autocorr;  /* lag-1 autocorrelation of the last half around its Theil-Sen line */
    double slope_last; /* Theil-Sen slope over the last half, bytes per window */
    int rises;        /* windows of the last half whose floor tops the previous such high by a
                         tenth of the last half's range (the first: its first window) */
};

/* ---- the statistics (pure functions, unit-tested on synthetic series) ---------------------- */

/* Kendall tau-b of y[0..n) against its index (ties in y corrected); *z (if not NULL) gets the
 * Mann-Kendall Z with continuity correction (0 when the variance is 0). n < 2: 0. */
double growth_kendall(const double *y, int n, double *z);
/* Theil-Sen slope of y against x over n points: the median of the slopes of every pair with
 * x_i != x_j. NAN when no such pair exists. */
double growth_theil_sen(const double *x, const double *y, int n);
/* The verdict on y[0..n) (8 <= n <= 4 * GROWTH_WINDOWS; else -1). Growing when, over the last
 * half: the Mann-Kendall Z (widened for autocorrelation) is at least GROWTH_Z, the Theil-Sen
 * slope is positive, the rise it predicts is at least GROWTH_LAST_SHARE of the series' whole rise
 * (highest - first window), and the floor set at least GROWTH_MIN_RISES new highs a tenth of the
 * last half's range apart (one or two steps are no trend). Otherwise returns when the last window
 * is back within GROWTH_RETURN_SHARE of the rise above the first window, levels_off when not. */
int growth_judge(const double *y, int n, struct growth_judgement *j);
/* The first window of the last half of n windows (at least 8 windows long). */
int growth_last_from(int n);
const char *growth_verdict_name(int verdict);

/* ---- the analysis of a log ------------------------------------------------------------------ */

/* One oldest still-live block of a group at the end. */
struct growth_sample {
    uint64_t event, time_ns, size;
    uint32_t stack; /* 0 = none */
};

/* One window's figures of one group. floor/max: the lowest/highest live bytes of the group after
 * any event of the window (the floor ignores blocks that came and went inside the window);
 * end_*: at the window's last event. */
struct growth_cell {
    uint64_t floor, max, end_bytes, end_blocks;
};

struct growth_window {
    uint64_t first_event, last_event, start_ns, end_ns;
};

struct growth_group {
    char *name;                 /* site name (as `--by site`), or "32..63 B" */
    uint32_t id;                /* index before growth_rank (stack_group's numbering) */
    uint64_t class_min, class_max; /* size classes only */
    uint64_t live_bytes, live_blocks, allocs, peak_bytes;
    uint64_t cur_min, cur_max;  /* of the open window */
    struct growth_sample oldest[GROWTH_SAMPLES];
    int noldest;
    struct growth_judgement j;
    double per_million; /* Theil-Sen over the last half, bytes per million events */
    double per_hour;    /* the same against time; valid when struct growth.has_times */
};

struct growth {
    int by_site;         /* groups are call sites (log with stacks), else size classes */
    struct mlg_sites *sites; /* the log's stack table (by_site), symbolized */
    uint32_t ngroups;
    struct growth_group *groups;
    uint32_t *stack_group; /* stack id -> group (by_site) */
    uint32_t nstacks;
    struct growth_cell *cells; /* ngroups x GROWTH_WINDOWS, group-major */
    struct growth_window win[GROWTH_WINDOWS];
    int nwin;                  /* closed windows */
    uint64_t width;            /* events per window */
    uint64_t in_win;           /* events in the open window */
    struct growth_window open;
    uint64_t events, first_ns, last_ns;
    int has_times;             /* the windows' times rise: bytes per hour can be given */
    const char *no_times_why;  /* why not, otherwise */
    /* live blocks: address -> index into blocks (a free list through .next) */
    struct mlg_addrmap *live;
    struct growth_block *blocks;
    uint64_t nblocks, cap, free_head;
    struct mlg_error err; /* damage (err.code != 0): the analysis covers the events before it */
};

struct growth_opts {
    int json;
    uint64_t top; /* groups listed (ranked) */
};

/* Reads the log at path and analyses it into g (zeroed by the caller). 0, or an error code after
 * saying why on stderr (the log could not be opened, no memory). A damaged log returns 0 with
 * g->err set: the analysis covers the valid prefix. */
int growth_run(struct growth *g, const char *path);
/* Ranks g->groups (and their cells): groups that allocated first; growing, then levels_off, then
 * returns; each by bytes per million events, fastest first. 0, or -1 (no memory). */
int growth_rank(struct growth *g);
void growth_free(struct growth *g);
/* `mallog stats LOG --growth [--json]`: run, rank, write. Returns 0 or EXIT_ERROR (too short to
 * judge, unreadable, damaged: what could be written is written first). */
int growth_report(const char *path, const struct growth_opts *o, FILE *out);

/* growth_out.c */
void growth_write_text(FILE *f, const struct growth *g, const struct growth_opts *o);
void growth_write_json(FILE *f, const struct growth *g, const struct growth_opts *o,
                       const char *path);

#endif

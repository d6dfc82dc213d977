/* tune.h - `mallog tune`: the search over allocator settings (tune.c) and the command that runs
 * it and writes its results (cmd_tune.c). Every candidate is an ordinary replay (jobs.c), so
 * `mallog replay -a SPEC` reproduces any line. */
#ifndef MLG_REPLAY_TUNE_H
#define MLG_REPLAY_TUNE_H

#include "cmd.h"
#include "knobs.h"

enum tune_objective { TUNE_FOOTPRINT, TUNE_RSS, TUNE_HOLES, TUNE_SPEED };
enum tune_status { TUNE_OK, TUNE_FAILED, TUNE_CRASHED };
#define TUNE_SETS_MAX 16 /* knobs set in one candidate */
#define TUNE_CANDS_MAX 512
#define TUNE_SPEED_RUNS 3 /* replays of a candidate timed for speed (the median) */

struct tune_cand {
    int fam;   /* index into tune.fams */
    int round; /* 0: the defaults and --try; then each round of the search */
    struct knob_set set[TUNE_SETS_MAX];
    int nset;
    int user;               /* from --try: spec.env as given, no knobs */
    struct alloc_spec spec; /* what the worker replays (name: the row and files) */
    char line[1024];        /* the exact environment line ("" for the defaults) */
    struct summary sum;
    int status; /* TUNE_* */
    char why[256];
    double score;         /* the objective (lower is better); valid if status is TUNE_OK */
    double speed_seconds; /* replay time measured for the speed cost, 0 if not */
};

struct tune_fam {
    struct alloc_spec base; /* the allocator with its defaults */
    int def, best;          /* candidate indexes: its defaults, its best (-1: none) */
    int active;             /* still searching */
};

struct tune {
    struct run_opts ro; /* every replay's request (each candidate sets its spec) */
    struct prepass pp;
    int objective;         /* TUNE_* */
    uint64_t min_gain;     /* bytes a setting must save (memory objectives) */
    double time_limit, t0; /* seconds */
    int speed_cost;        /* time the defaults and the best of each allocator */
    struct tune_fam fams[MAX_ALLOCS];
    int nfams;
    struct alloc_spec tries[MAX_ALLOCS]; /* --try */
    int ntries;
    struct tune_cand *c; /* TUNE_CANDS_MAX */
    int nc;
    int rounds;
    char cand_dir[PATH_MAX]; /* with -o: where each candidate's replay files go */
};

/* ---- tune.c -----------------------------------------------------------------------------------
 */
const char *tune_objective_name(int objective);
const char *tune_status_name(int status);
/* Runs the search: the defaults (and --try) of every allocator, then rounds of one-knob changes
 * from the best so far, while time is left. 0, or -1 (message printed) if nothing could run. */
int tune_search(struct tune *t);
/* Times the defaults and the best of every allocator whose best is not its defaults (--bench
 * replays, one at a time, TUNE_SPEED_RUNS each; speed_seconds). */
void tune_speed_cost(struct tune *t);
/* The index of the candidate recommended overall (lowest objective among every allocator's
 * best), or -1 if no allocator could be replayed. */
int tune_overall(const struct tune *t);
/* The value of the objective in c's figures. */
double tune_score(const struct tune *t, const struct summary *s);

#endif

/* tune.c - the search of `mallog tune`: every allocator's defaults first, then rounds that vary
 * one knob of the best setting so far over its values (knobs.c), in parallel on the free cores
 * (jobs.c), keeping the change that helps most, while time is left. A candidate whose replay
 * failed, crashed or failed an allocation the program did not fail is never kept. */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../common/msg.h"
#include "tune.h"

static const char *const objective_names[] = {"footprint", "rss", "holes", "speed"};
static const char *const status_names[] = {"ok", "failed", "crashed"};

const char *tune_objective_name(int objective)
{
    return objective >= 0 && objective <= TUNE_SPEED ? objective_names[objective] : "?";
}

const char *tune_status_name(int status)
{
    return status >= 0 && status <= TUNE_CRASHED ? status_names[status] : "?";
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double tune_score(const struct tune *t, const struct summary *s)
{
    switch (t->objective) {
    case TUNE_RSS:
        return (double)s->peak_rss;
    case TUNE_HOLES: /* the bytes in holes at the worst point, the footprint breaking ties */
        return (double)s->worst_hole_bytes + (double)s->peak_footprint / 1e6;
    case TUNE_SPEED:
        return s->replay_seconds;
    default:
        return (double)s->peak_footprint;
    }
}

/* Whether a candidate scoring `now` helps against `was`: memory by at least 1% and min_gain
 * bytes; speed by at least 5% (run-to-run spread of a replay's time is a few percent). */
static int helps(const struct tune *t, double was, double now)
{
    if (t->objective == TUNE_SPEED)
        return now < was * 0.95;
    return now < was && was - now >= was * 0.01 && was - now >= (double)t->min_gain;
}

/* Candidate i's row name: family, then +knob-value for each setting (glibc+mmap_threshold-
 * 1048576), or family+tN when that is too long. */
static void cand_name(struct tune *t, int i)
{
    struct tune_cand *c = &t->c[i];
    char buf[256];
    size_t k = 0;
    buf[0] = 0;
    for (const char *p = t->fams[c->fam].base.family; *p; p++)
        specs_name_put(buf, sizeof buf, &k, *p);
    for (int s = 0; s < c->nset; s++) {
        const struct knob *kn = &knobs_list[c->set[s].knob];
        specs_name_put(buf, sizeof buf, &k, '+');
        for (const char *p = kn->name; *p; p++)
            specs_name_put(buf, sizeof buf, &k, *p);
        specs_name_put(buf, sizeof buf, &k, '-');
        for (const char *p = kn->values[c->set[s].value]; *p; p++)
            specs_name_put(buf, sizeof buf, &k, *p);
    }
    if (c->user || strlen(buf) >= sizeof c->spec.name)
        snprintf(buf, sizeof buf, "%.40s+t%d", t->fams[c->fam].base.family, i);
    snprintf(c->spec.name, sizeof c->spec.name, "%s", buf);
}

/* Whether family f already has a candidate with exactly the settings v[0..n). */
static int seen(const struct tune *t, int f, const struct knob_set *v, int n)
{
    for (int i = 0; i < t->nc; i++) {
        const struct tune_cand *c = &t->c[i];
        if (c->fam != f || c->user || c->nset != n)
            continue;
        int same = 1;
        for (int a = 0; a < n && same; a++) {
            int found = 0;
            for (int b = 0; b < n && !found; b++)
                found = c->set[b].knob == v[a].knob && c->set[b].value == v[a].value;
            same = found;
        }
        if (same)
            return 1;
    }
    return 0;
}

/* A new candidate of family f with settings v[0..n): its spec, name and line. -1 if full. */
static int add_cand(struct tune *t, int f, const struct knob_set *v, int n, int round)
{
    if (t->nc == TUNE_CANDS_MAX)
        return -1;
    struct tune_cand *c = &t->c[t->nc];
    memset(c, 0, sizeof *c);
    c->fam = f;
    c->round = round;
    c->nset = n;
    memcpy(c->set, v, (size_t)n * sizeof *v);
    c->spec = t->fams[f].base;
    /* the pinned settings go in the same variable (MALLOC_CONF) unless speed is measured:
     * --bench replays use the libraries' defaults */
    if (knobs_env(c->spec.family, v, n, t->objective != TUNE_SPEED, c->spec.env,
                  sizeof c->spec.env) < 0)
        return -1;
    knobs_line(c->spec.family, v, n, c->line, sizeof c->line);
    cand_name(t, t->nc);
    return t->nc++;
}

/* The request every replay of the search (or of the speed cost: bench) starts from. */
static void request(const struct tune *t, int bench, struct worker_req *req)
{
    *req = t->ro.w;
    req->tape_fd = req->meta_fd = 0; /* each worker decodes the log itself */
    if (bench) {
        req->bench = 1;
        req->every = UINT64_MAX;
        req->peak_event = UINT64_MAX;
        req->out_dir[0] = 0;
    } else if (t->cand_dir[0]) {
        snprintf(req->out_dir, sizeof req->out_dir, "%s", t->cand_dir);
    }
}

/* What a job's run says about its candidate: a status and why. */
static int classify(const struct job *j, char *why, size_t len)
{
    if (WIFSIGNALED(j->status)) {
        snprintf(why, len, "the replay was killed by signal %d (%s)", WTERMSIG(j->status),
                 strsignal(WTERMSIG(j->status)));
        return TUNE_CRASHED;
    }
    if (!j->sum.ok) {
        const char *e = j->sum.error;
        const char *pre = "mallog replay: ";
        if (strncmp(e, pre, strlen(pre)) == 0)
            e += strlen(pre);
        if (*e)
            snprintf(why, len, "%s", e);
        else if (WIFEXITED(j->status))
            snprintf(why, len, "the replay failed (exit status %d)", WEXITSTATUS(j->status));
        else
            snprintf(why, len, "the replay gave no result");
        return TUNE_FAILED;
    }
    if (j->sum.failed_calls) {
        snprintf(why, len,
                 "%" PRIu64 " allocation%s failed in the replay that succeeded in the recording",
                 j->sum.failed_calls, j->sum.failed_calls == 1 ? "" : "s");
        return TUNE_FAILED;
    }
    why[0] = 0;
    return TUNE_OK;
}

/* Replays candidates idx[0..n) (bench: timed, TUNE_SPEED_RUNS runs each, one at a time) and
 * fills their figures, status and score (bench: speed_seconds only, unless the objective is
 * speed). Returns 0, or -1 out of memory. */
static int run_cands(struct tune *t, const int *idx, int n, int bench)
{
    int runs = bench ? TUNE_SPEED_RUNS : 1;
    struct job *jobs = calloc((size_t)(n * runs), sizeof *jobs);
    static struct worker_req req;
    if (!jobs)
        return -1;
    for (int r = 0; r < runs; r++)
        for (int i = 0; i < n; i++)
            jobs[r * n + i] = (struct job){.spec = &t->c[idx[i]].spec};
    request(t, bench, &req);
    jobs_run("tune", &req, jobs, n * runs, t->pp.events, bench ? 1 : 0);
    int status[TUNE_CANDS_MAX];
    char why[TUNE_CANDS_MAX][256];
    for (int i = 0; i < n; i++) { /* the worst run decides */
        status[i] = TUNE_OK;
        why[i][0] = 0;
        for (int r = 0; r < runs; r++) {
            char w[256];
            int s = classify(&jobs[r * n + i], w, sizeof w);
            if (s > status[i] || (s != TUNE_OK && !why[i][0])) {
                status[i] = s > status[i] ? s : status[i];
                snprintf(why[i], sizeof why[i], "%s", w);
            }
        }
    }
    if (runs > 1)
        jobs_fold(NULL, jobs, n, runs);
    for (int i = 0; i < n; i++) {
        struct tune_cand *c = &t->c[idx[i]];
        if (bench && t->objective != TUNE_SPEED) { /* the speed cost of a measured candidate */
            c->speed_seconds = status[i] == TUNE_OK ? jobs[i].sum.replay_seconds : 0;
            continue;
        }
        c->sum = jobs[i].sum;
        c->status = status[i];
        snprintf(c->why, sizeof c->why, "%s", why[i]);
        c->score = c->status == TUNE_OK ? tune_score(t, &c->sum) : 0;
        if (bench)
            c->speed_seconds = c->status == TUNE_OK ? c->sum.replay_seconds : 0;
    }
    free(jobs);
    return 0;
}

/* Runs candidates [from, t->nc) in batches of the free cores, while time is left (always all
 * of them: round 0); candidates that time did not reach are dropped. Returns 1 if time ran out,
 * 0, or -1 out of memory. */
static int run_range(struct tune *t, int from, int always)
{
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    int batch = t->objective == TUNE_SPEED ? 1 : ncpu > 0 ? (int)ncpu : 1;
    int idx[TUNE_CANDS_MAX];
    for (int i = from; i < t->nc; i += batch) {
        if (!always && now_s() - t->t0 >= t->time_limit) {
            t->nc = i;
            return 1;
        }
        int n = 0;
        for (int k = i; k < t->nc && k < i + batch; k++)
            idx[n++] = k;
        if (run_cands(t, idx, n, t->objective == TUNE_SPEED) < 0)
            return -1;
    }
    return 0;
}

int tune_search(struct tune *t)
{
    t->t0 = now_s();
    /* round 0: the defaults of each allocator and the user's own settings (--try) */
    for (int f = 0; f < t->nfams; f++) {
        t->fams[f].def = add_cand(t, f, NULL, 0, 0);
        t->fams[f].best = -1;
        if (t->fams[f].def < 0) {
            msg_error("tune", "out of memory");
            return -1;
        }
    }
    for (int u = 0; u < t->ntries; u++) {
        int f = 0;
        while (f < t->nfams && strcmp(t->fams[f].base.family, t->tries[u].family) != 0)
            f++;
        if (f == t->nfams || t->nc == TUNE_CANDS_MAX)
            continue; /* checked by the command: every --try names an allocator being tuned */
        struct tune_cand *c = &t->c[t->nc];
        memset(c, 0, sizeof *c);
        c->fam = f;
        c->user = 1;
        c->spec = t->tries[u];
        snprintf(c->line, sizeof c->line, "%s", t->tries[u].env);
        for (char *p = c->line; *p; p++)
            if (*p == '\n')
                *p = p[1] ? ' ' : 0;
        cand_name(t, t->nc++);
    }
    int rc = run_range(t, 0, 1);
    if (rc < 0)
        return -1;
    int usable = 0;
    for (int f = 0; f < t->nfams; f++) {
        struct tune_fam *fm = &t->fams[f];
        fm->active = t->c[fm->def].status == TUNE_OK;
        fm->best = fm->active ? fm->def : -1;
        usable += fm->active;
    }
    if (!usable) {
        msg_error("tune", "%s: no allocator could be replayed: nothing to compare a setting with",
                  t->ro.w.log);
        return -1;
    }
    /* rounds: from each allocator's best so far, every other value of every knob */
    for (int round = 1; rc == 0; round++) {
        int from = t->nc;
        for (int f = 0; f < t->nfams; f++) {
            struct tune_fam *fm = &t->fams[f];
            if (!fm->active)
                continue;
            const struct tune_cand *cur = &t->c[fm->best];
            for (int k = 0; k < knobs_count; k++) {
                if (!knobs_for(fm->base.family, k) ||
                    (knobs_list[k].when == KNOB_THREADS && t->pp.threads < 2))
                    continue;
                for (int v = 0; v < KNOB_VALUES_MAX && knobs_list[k].values[v]; v++) {
                    struct knob_set set[TUNE_SETS_MAX];
                    int n = 0, have = 0;
                    for (int s = 0; s < cur->nset; s++) {
                        set[n] = cur->set[s];
                        if (set[n].knob == k) {
                            set[n].value = v;
                            have = 1;
                        }
                        n++;
                    }
                    if (!have) {
                        if (n == TUNE_SETS_MAX)
                            continue;
                        set[n++] = (struct knob_set){k, v};
                    }
                    if (seen(t, f, set, n))
                        continue;
                    if (add_cand(t, f, set, n, round) < 0)
                        break; /* full: the search ends with what it has */
                }
            }
        }
        if (t->nc == from)
            break;
        if ((rc = run_range(t, from, 0)) < 0)
            return -1;
        t->rounds = round;
        /* keep, per allocator, the change of this round that helps most */
        for (int f = 0; f < t->nfams; f++) {
            struct tune_fam *fm = &t->fams[f];
            if (!fm->active)
                continue;
            int pick = -1;
            for (int i = from; i < t->nc; i++) {
                const struct tune_cand *c = &t->c[i];
                if (c->fam != f || c->status != TUNE_OK ||
                    !helps(t, t->c[fm->best].score, c->score))
                    continue;
                if (pick < 0 || c->score < t->c[pick].score)
                    pick = i;
            }
            if (pick >= 0)
                fm->best = pick;
            else
                fm->active = 0;
        }
    }
    /* the user's own settings win when they help beyond the search's best */
    for (int i = 0; i < t->nc; i++) {
        const struct tune_cand *c = &t->c[i];
        struct tune_fam *fm = &t->fams[c->fam];
        if (c->user && c->status == TUNE_OK && fm->best >= 0 &&
            helps(t, t->c[fm->best].score, c->score))
            fm->best = i;
    }
    return 0;
}

void tune_speed_cost(struct tune *t)
{
    int idx[2 * MAX_ALLOCS], n = 0;
    if (t->objective == TUNE_SPEED)
        return; /* measured by the search itself */
    for (int f = 0; f < t->nfams; f++) {
        const struct tune_fam *fm = &t->fams[f];
        if (fm->best < 0 || fm->best == fm->def)
            continue;
        idx[n++] = fm->def;
        idx[n++] = fm->best;
    }
    /* timed as `replay --bench` times: the libraries' defaults under the knobs, nothing pinned */
    static char saved[2 * MAX_ALLOCS][sizeof t->c[0].spec.env];
    for (int i = 0; i < n; i++) {
        struct tune_cand *c = &t->c[idx[i]];
        memcpy(saved[i], c->spec.env, sizeof saved[i]);
        if (!c->user)
            knobs_env(c->spec.family, c->set, c->nset, 0, c->spec.env, sizeof c->spec.env);
    }
    if (n && run_cands(t, idx, n, 1) < 0)
        msg_error("tune", "out of memory: speed not measured");
    for (int i = 0; i < n; i++)
        memcpy(t->c[idx[i]].spec.env, saved[i], sizeof saved[i]);
}

int tune_overall(const struct tune *t)
{
    int pick = -1;
    for (int f = 0; f < t->nfams; f++) {
        int b = t->fams[f].best;
        if (b >= 0 && (pick < 0 || t->c[b].score < t->c[pick].score))
            pick = b;
    }
    return pick;
}

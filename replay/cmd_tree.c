/* cmd_tree.c - `mallog replay --tree`: the parent's side (issue 22). Finds the processes of a
 * recording and how they were forked, writes that plan into shared memory, runs one worker per
 * allocator (one at a time: each holds a whole process tree), and from the figures the replayed
 * processes wrote there prints the tree's memory, each forked process's un-shared inherited
 * bytes and the finding in words, and writes replay.<alloc>.json (`processes`) and
 * replay.<alloc>.tree.tsv (the timeline of each process). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../common/json.h"
#include "../common/msg.h"
#include "cmd.h"

#define TREE_SAMPLES_PER_PROC 32 /* periodic samples of a process; + its start and its end */

/* The group (recording) of log i: the root it descends from by fork, exec or spawn links. A
 * forked child whose parent's log is missing has no link: it joins the newest root that
 * started before it (it was recorded in that run); without one, the orphans are one group (the
 * earliest of them stands for it). Returns an index into logs. */
static int group_of(const struct rec_log *logs, int n, int i)
{
    int k = i;
    for (int steps = 0; steps < n; steps++) { /* bounded: a damaged set may link in a circle */
        int p = rec_parent_index(logs, n, k);
        if (p < 0)
            break;
        k = p;
    }
    const struct mlg_header *h = &logs[k].header;
    if (!(h->parent_pid && h->parent_pid != h->pid))
        return k;
    int best = -1; /* an orphaned fork child: the newest true root started before it */
    for (int r = 0; r < n; r++) {
        const struct mlg_header *rh = &logs[r].header;
        if (rec_parent_index(logs, n, r) >= 0 || (rh->parent_pid && rh->parent_pid != rh->pid))
            continue;
        if (rh->start_realtime_ns <= h->start_realtime_ns &&
            (best < 0 || rh->start_realtime_ns > logs[best].header.start_realtime_ns))
            best = r;
    }
    if (best >= 0)
        return best;
    for (int r = 0; r < n; r++) { /* none: the orphans of the set form one group */
        const struct mlg_header *rh = &logs[r].header;
        if (rh->parent_pid && rh->parent_pid != rh->pid && rec_parent_index(logs, n, r) < 0 &&
            (rh->start_realtime_ns < logs[k].header.start_realtime_ns ||
             (rh->start_realtime_ns == logs[k].header.start_realtime_ns && r < k)))
            k = r;
    }
    return k;
}

/* The plan: the newest recording's processes, their fork parents and fork points. 0 or -1. */
static int plan(const char *arg, struct tree_shared *t)
{
    struct rec_log *logs;
    int n = rec_find_logs("replay", arg, NULL, &logs);
    if (n < 0)
        return -1;
    int *grp = calloc((size_t)n, sizeof *grp), newest = -1, groups = 0;
    if (!grp) {
        free(logs);
        msg_error("replay", "out of memory");
        return -1;
    }
    for (int i = 0; i < n; i++) {
        grp[i] = group_of(logs, n, i);
        if (grp[i] == i)
            groups++;
        if (newest < 0 ||
            logs[grp[i]].header.start_realtime_ns > logs[newest].header.start_realtime_ns)
            newest = grp[i];
    }
    if (groups > 1) {
        char label[64];
        rec_pid_label(label, sizeof label, &logs[newest].header);
        msg_error("replay", "%s holds %d recordings; replaying the newest tree (root pid %s)", arg,
                  groups, label);
    }
    t->n = 0;
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        if (grp[i] != newest)
            continue;
        if (t->n == TREE_MAX_PROCS) {
            msg_error("replay", "%s: more than %d processes: --tree replays at most %d", arg,
                      TREE_MAX_PROCS, TREE_MAX_PROCS);
            rc = -1;
            break;
        }
        struct tree_proc *p = &t->p[t->n++];
        memset(p, 0, sizeof *p);
        const struct mlg_header *h = &logs[i].header;
        snprintf(p->log, sizeof p->log, "%s", logs[i].path);
        p->pid = h->pid;
        p->exec_gen = h->exec_gen;
        p->parent = -1;
        struct mlg_error err;
        if (mlg_log_events(logs[i].path, &p->events, &err) != 0)
            p->events = 0;
        p->every = p->events / TREE_SAMPLES_PER_PROC + 1;
        if (h->parent_pid && h->parent_pid != h->pid) { /* forked (an exec'd image starts fresh) */
            p->fork_parent = h->parent_pid;
            p->fork_seq = h->fork_seq;
        }
    }
    /* each forked child's parent among them (the parent may come later in the list) */
    for (uint32_t i = 0; i < t->n && rc == 0; i++) {
        struct tree_proc *p = &t->p[i];
        if (!p->fork_parent)
            continue;
        const struct mlg_header *h = NULL;
        for (int k = 0; k < n && !h; k++)
            if (strcmp(logs[k].path, p->log) == 0)
                h = &logs[k].header;
        for (uint32_t k = 0; k < t->n && h; k++)
            if (t->p[k].pid == h->parent_pid && t->p[k].exec_gen == h->parent_gen)
                p->parent = (int)k;
        if (p->parent < 0) {
            p->missing_parent = 1;
            msg_error("replay",
                      "pid %" PRIu64 ": the log of its fork parent (pid %" PRIu64
                      ") is missing: replayed alone, from an empty heap (its frees of inherited "
                      "blocks are skipped)",
                      p->pid, p->fork_parent);
        }
    }
    free(grp);
    free(logs);
    if (rc == 0 && t->n == 0) {
        msg_error("replay", "%s: no logs", arg);
        rc = -1;
    }
    return rc;
}

/* ---- output ---------------------------------------------------------------------------------- */

static const char *sz(uint64_t v, char *buf)
{
    return mlg_format_size(v, buf, 32);
}

static int cmp_u64x2(const void *a, const void *b)
{
    const uint64_t *x = a, *y = b;
    return x[0] < y[0] ? -1 : x[0] > y[0];
}

/* The tree's PSS at its peak: the sum over processes of each one's latest sample, at every
 * sample time (the processes sample independently; this is the sum as the samples saw it). */
static uint64_t tree_pss_peak(const struct tree_shared *t)
{
    uint64_t total = 0, peak = 0, cnt = 0;
    for (uint32_t i = 0; i < t->n; i++)
        cnt += t->p[i].nsamples;
    uint64_t(*v)[2] = calloc(cnt ? cnt : 1, sizeof *v);
    uint64_t *last = calloc(t->n ? t->n : 1, sizeof *last);
    if (!v || !last) {
        free(v);
        free(last);
        return 0;
    }
    cnt = 0;
    for (uint32_t i = 0; i < t->n; i++)
        for (uint64_t k = 0; k < t->p[i].nsamples; k++) {
            v[cnt][0] = t->p[i].s[k].t_ns;
            v[cnt++][1] = (uint64_t)i << 32 | k;
        }
    qsort(v, cnt, sizeof *v, cmp_u64x2);
    for (uint64_t k = 0; k < cnt; k++) {
        uint32_t i = (uint32_t)(v[k][1] >> 32);
        uint64_t pss = t->p[i].s[v[k][1] & 0xffffffffu].f.pss;
        total = total - last[i] + pss;
        last[i] = pss;
        if (total > peak)
            peak = total;
    }
    free(v);
    free(last);
    return peak;
}

struct tree_totals {
    uint64_t pss_peak, pss_end, shared_end, forked, roots_forking;
    uint64_t unshared_sum, unshared_max, master_unshared;
    int max_proc;
};

static void totals(const struct tree_shared *t, struct tree_totals *s)
{
    memset(s, 0, sizeof *s);
    s->max_proc = -1;
    s->pss_peak = tree_pss_peak(t);
    for (uint32_t i = 0; i < t->n; i++) {
        const struct tree_proc *p = &t->p[i];
        s->pss_end += p->end.pss;
        s->shared_end += p->end.shared;
        if (p->parent >= 0) {
            s->forked++;
            s->unshared_sum += p->end.unshared;
            if (s->max_proc < 0 || p->end.unshared > s->unshared_max) {
                s->unshared_max = p->end.unshared;
                s->max_proc = (int)i;
            }
        }
    }
    for (uint32_t i = 0; i < t->n; i++) /* roots whose children were replayed */
        for (uint32_t k = 0; k < t->n; k++)
            if (t->p[k].parent == (int)i && t->p[i].parent < 0) {
                s->roots_forking++;
                s->master_unshared += t->p[i].end.unshared;
                break;
            }
    if (s->pss_peak < s->pss_end)
        s->pss_peak = s->pss_end;
}

static void print_tree(const char *name, const struct tree_shared *t, const struct tree_totals *s)
{
    char a[32], b[32], c[32], d[32], e[32];
    printf("%s: %u processes (%" PRIu64 " forked from a replayed parent), really forked\n", name,
           t->n, s->forked);
    printf("  tree PSS (allocator's memory, sum over processes): peak %s, end %s, of which still "
           "shared %s\n",
           sz(s->pss_peak, a), sz(s->pss_end, b), sz(s->shared_end, c));
    printf("  %-10s %-10s %10s %11s %11s %11s %10s %10s\n", "pid", "parent", "events",
           "inherited", "un-shared", "(peak)", "new", "PSS");
    for (uint32_t i = 0; i < t->n; i++) {
        const struct tree_proc *p = &t->p[i];
        char pid[32], par[32];
        snprintf(pid, sizeof pid, p->exec_gen ? "%" PRIu64 ".%u" : "%" PRIu64, p->pid,
                 p->exec_gen);
        if (p->parent >= 0)
            snprintf(par, sizeof par, "%" PRIu64, p->fork_parent);
        else
            snprintf(par, sizeof par, "%s", p->missing_parent ? "(missing)" : "-");
        printf("  %-10s %-10s %10" PRIu64 " %11s %11s %11s %10s %10s\n", pid, par, p->replayed,
               p->end.inherited ? sz(p->end.inherited, a) : "-", sz(p->end.unshared, b),
               sz(p->peak.unshared, c), sz(p->end.fresh, d), sz(p->end.pss, e));
    }
    if (s->roots_forking)
        printf("  the master%s un-shared %s of its heap after forking\n",
               s->roots_forking > 1 ? "s" : "", sz(s->master_unshared, a));
}

/* replay.<name>.json: the tree's figures and `processes`. 0 or -1 (errno). */
static int write_json(const char *path, const char *name, int touch, const struct tree_shared *t,
                      const struct tree_totals *s)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fprintf(f, "{\n  \"allocator\": ");
    json_write_string(f, name);
    fprintf(f, ",\n  \"tree\": true,\n  \"touch\": \"%s\",\n", touch_name(touch));
    fprintf(f,
            "  \"tree_pss_peak\": %" PRIu64 ",\n  \"tree_pss_end\": %" PRIu64
            ",\n  \"tree_shared_end\": %" PRIu64 ",\n  \"master_unshared_bytes\": %" PRIu64
            ",\n  \"forked_processes\": %" PRIu64 ",\n  \"unshared_inherited_mean\": %" PRIu64
            ",\n",
            s->pss_peak, s->pss_end, s->shared_end, s->master_unshared, s->forked,
            s->forked ? s->unshared_sum / s->forked : 0);
    fprintf(f, "  \"note\": \"the allocator's part of copy-on-write (its calls on inherited "
               "blocks and new blocks landing in inherited pages): a lower bound; the program's "
               "own writes into inherited objects are not in the log\",\n");
    fprintf(f, "  \"processes\": [");
    for (uint32_t i = 0; i < t->n; i++) {
        const struct tree_proc *p = &t->p[i];
        fprintf(f, "%s\n    {\"pid\": %" PRIu64 ", \"exec_gen\": %u, \"fork_parent\": %" PRIu64
                   ", \"parent_replayed\": %s, \"log\": ",
                i ? "," : "", p->pid, p->exec_gen, p->fork_parent,
                p->parent >= 0 ? "true" : "false");
        json_write_string(f, p->log);
        fprintf(f,
                ", \"events\": %" PRIu64 ", \"unknown_frees\": %" PRIu64
                ", \"inherited_bytes\": %" PRIu64 ", \"unshared_inherited_bytes\": %" PRIu64
                ", \"unshared_inherited_peak\": %" PRIu64 ", \"new_bytes\": %" PRIu64
                ", \"new_peak\": %" PRIu64 ", \"pss_bytes\": %" PRIu64 ", \"pss_peak\": %" PRIu64
                ", \"shared_bytes\": %" PRIu64 ", \"inherited_frees\": %" PRIu64
                ", \"inherited_freed_bytes\": %" PRIu64 "}",
                p->replayed, p->unknown_frees, p->end.inherited, p->end.unshared,
                p->peak.unshared, p->end.fresh, p->peak.fresh, p->end.pss, p->peak.pss,
                p->end.shared, p->inherited_frees, p->inherited_freed);
    }
    fprintf(f, "\n  ]\n}\n");
    return fclose(f) == 0 ? 0 : -1;
}

/* replay.<name>.tree.tsv: every process's samples. 0 or -1 (errno). */
static int write_tsv(const char *path, const struct tree_shared *t)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fprintf(f, "pid\tfork_parent\tevent\ttime_ns\tunshared_inherited\tnew_private\tpss\tshared\n");
    uint64_t t0 = UINT64_MAX;
    for (uint32_t i = 0; i < t->n; i++)
        if (t->p[i].nsamples && t->p[i].s[0].t_ns < t0)
            t0 = t->p[i].s[0].t_ns;
    for (uint32_t i = 0; i < t->n; i++)
        for (uint64_t k = 0; k < t->p[i].nsamples; k++) {
            const struct tree_sample *x = &t->p[i].s[k];
            fprintf(f,
                    "%" PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64
                    "\t%" PRIu64 "\t%" PRIu64 "\n",
                    t->p[i].pid, t->p[i].fork_parent, x->event, x->t_ns - t0, x->f.unshared,
                    x->f.fresh, x->f.pss, x->f.shared);
        }
    return fclose(f) == 0 ? 0 : -1;
}

/* One allocator's tree: the worker, then its output. 0, 1 (figures printed, but a log was
 * damaged: replayed up to the damage), or -1 (failed; said). */
static int run_one(struct run_opts *ro, struct alloc_spec *spec, int fd, struct tree_shared *t,
                   struct tree_totals *s)
{
    for (uint32_t i = 0; i < t->n; i++) { /* the results of the last allocator's run */
        struct tree_proc *p = &t->p[i];
        p->state = 0;
        p->replayed = p->unknown_frees = p->skipped = p->nsamples = 0;
        p->inherited_frees = p->inherited_freed = 0;
        memset(&p->end, 0, sizeof p->end);
        memset(&p->peak, 0, sizeof p->peak);
        p->error[0] = 0;
    }
    t->done = t->measured = t->failed = 0;
    struct worker_req req = ro->w;
    req.spec = *spec;
    req.tree_fd = fd;
    req.threads = THREADS_SERIAL; /* each process on one thread */
    snprintf(req.log, sizeof req.log, "%s", t->p[0].log);
    int rfd;
    fflush(stdout);
    pid_t pid = worker_spawn(&req, &rfd);
    if (pid < 0) {
        msg_error("replay", "cannot start a worker: %s", strerror(errno));
        return -1;
    }
    struct summary sum = {0};
    ssize_t got = read(rfd, &sum, sizeof sum);
    close(rfd);
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    if (got != (ssize_t)sizeof sum || !sum.ok) {
        printf("%s: (failed)\n", spec->name);
        if (sum.error[0])
            fprintf(stderr, "%s\n", sum.error);
        for (uint32_t i = 0; i < t->n; i++)
            if (t->p[i].error[0] || t->p[i].state != 1)
                msg_error("replay", "%s: pid %" PRIu64 ": %s", spec->name, t->p[i].pid,
                          t->p[i].error[0] ? t->p[i].error : "did not finish");
        return -1;
    }
    totals(t, s);
    print_tree(spec->name, t, s);
    int damaged = 0;
    for (uint32_t i = 0; i < t->n; i++)
        if (t->p[i].error[0]) { /* a damaged log: replayed up to the damage, and said */
            msg_error("replay", "%s: pid %" PRIu64 ": %s: %s", spec->name, t->p[i].pid,
                      t->p[i].log, t->p[i].error);
            damaged = 1;
        }
    if (ro->w.out_dir[0]) {
        char path[PATH_MAX + 128];
        snprintf(path, sizeof path, "%s/replay.%s.json", ro->w.out_dir, spec->name);
        int bad = write_json(path, spec->name, ro->w.touch, t, s) < 0;
        if (!bad) {
            snprintf(path, sizeof path, "%s/replay.%s.tree.tsv", ro->w.out_dir, spec->name);
            bad = write_tsv(path, t) < 0;
        }
        if (bad) {
            msg_error("replay", "%s: %s", path, strerror(errno));
            return -1;
        }
    }
    return damaged ? 1 : 0;
}

int tree_cmd(struct run_opts *ro, struct alloc_spec *specs, int n, const char *arg)
{
    if (ro->w.bench || ro->w.bare || ro->repeat || ro->pid.pid || ro->w.threads >= 0 ||
        ro->samples_set || ro->w.every || ro->decode_each) {
        msg_error("replay", "--tree replays the whole recording, each process on one thread, "
                            "~32 samples each: not with --bench, --bare, --repeat, --pid, "
                            "--threads, --samples, --every or --decode");
        return EXIT_ERROR;
    }
    if (!n)
        n = specs_default(specs);
    specs_name(specs, n);
    if (jobs_probe("replay", &ro->w, specs, n) < 0)
        return EXIT_ERROR;
    if (ro->w.out_dir[0] && options_out_dir("replay", ro->w.out_dir) < 0)
        return EXIT_ERROR;
    int fd = memfd_create("mallog:tree", 0); /* inherited by the workers (no close-on-exec) */
    struct tree_shared *t = MAP_FAILED;
    if (fd < 0 || ftruncate(fd, sizeof *t) < 0 ||
        (t = mmap(NULL, sizeof *t, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)) == MAP_FAILED) {
        msg_error("replay", "shared memory for the tree: %s", strerror(errno));
        return EXIT_ERROR;
    }
    t->magic = TREE_MAGIC;
    char rec[PATH_MAX];
    rec_recording_of(arg, rec, sizeof rec); /* a log file stands for its recording */
    arg = rec;
    if (plan(arg, t) < 0)
        return EXIT_ERROR;
    uint64_t forked = 0;
    for (uint32_t i = 0; i < t->n; i++)
        forked += t->p[i].parent >= 0;
    printf("recording %s: %u process%s, %" PRIu64 " forked from a replayed parent; replayed as a "
           "tree: real forks at the recorded fork points, each process on one thread, "
           "touch=%s, ASLR off, THP off\n",
           arg, t->n, t->n == 1 ? "" : "es", forked, touch_name(ro->w.touch));
    int failed = 0;
    char a[32];
    struct {
        const char *name;
        uint64_t mean, max, maxpid, frees, freed;
        int ok;
    } find[MAX_ALLOCS] = {0};
    for (int i = 0; i < n; i++) {
        struct tree_totals s;
        find[i].name = specs[i].name;
        int rc = run_one(ro, &specs[i], fd, t, &s);
        if (rc)
            failed = 1;
        if (rc < 0)
            continue;
        find[i].ok = 1;
        find[i].mean = s.forked ? s.unshared_sum / s.forked : 0;
        find[i].max = s.unshared_max;
        find[i].maxpid = s.max_proc >= 0 ? t->p[s.max_proc].pid : 0;
        find[i].frees = s.max_proc >= 0 ? t->p[s.max_proc].inherited_frees : 0;
        find[i].freed = s.max_proc >= 0 ? t->p[s.max_proc].inherited_freed : 0;
    }
    if (forked) {
        printf("finding:");
        const char *sep = " on";
        for (int i = 0; i < n; i++) {
            if (!find[i].ok)
                continue;
            char m[32], fr[32], why[96] = "";
            if (find[i].frees) /* how much it freed of what it inherited, for scale */
                snprintf(why, sizeof why, ", having freed %" PRIu64 " inherited blocks of %s",
                         find[i].frees, sz(find[i].freed, fr));
            if (sep[0] == ' ')
                printf(" on %s each forked process un-shares %s of the inherited heap on average "
                       "(most: pid %" PRIu64 ", %s%s)",
                       find[i].name, sz(find[i].mean, a), find[i].maxpid, sz(find[i].max, m), why);
            else
                printf("; on %s %s (most: pid %" PRIu64 ", %s%s)", find[i].name,
                       sz(find[i].mean, a), find[i].maxpid, sz(find[i].max, m), why);
            sep = ";";
        }
        printf("\n");
    }
    printf("un-shared = inherited pages of the allocator's memory now held by that process "
           "alone, made so by the replayed calls (frees of inherited blocks, new blocks in "
           "inherited pages): the allocator's part of copy-on-write, a lower bound. The "
           "program's own writes into inherited objects (reference counts, caches) are not "
           "allocator calls and are not in the log.\n");
    munmap(t, sizeof *t);
    close(fd);
    return failed ? EXIT_ERROR : 0;
}

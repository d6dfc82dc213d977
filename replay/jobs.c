/* jobs.c - running workers: one process per allocator (and per run), at most one per core
 * (one at a time for --bench), their progress on a TTY, their answers; the probe that checks a
 * preloaded library serves malloc; several runs of one allocator folded into one summary. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../common/msg.h"
#include "cmd.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int jobs_run(const char *cmd, const struct worker_req *base, struct job *jobs, int n,
             uint64_t total_events, int parallel)
{
    int pfd = memfd_create("mallog-progress", 0);
    volatile uint64_t *prog = NULL;
    if (pfd >= 0 && ftruncate(pfd, 4096) == 0)
        prog = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, pfd, 0);
    if (prog == MAP_FAILED)
        prog = NULL;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    if (parallel <= 0)
        parallel = ncpu > 0 ? (int)ncpu : 1;
    int running = 0, next = 0, finished = 0, failed = 0;
    int tty = isatty(2) && msg_verbosity > 0;
    double t0 = now_s(), last_print = 0;
    while (finished < n) {
        while (running < parallel && next < n) {
            struct job *j = &jobs[next];
            static struct worker_req req;
            req = *base;
            req.spec = *j->spec;
            req.progress_fd = prog ? pfd : -1;
            req.progress_slot = next % 512;
            j->pid = worker_spawn(&req, &j->result_fd);
            if (j->pid < 0) {
                msg_error(cmd, "%s: cannot start a worker: %s", j->spec->name, strerror(errno));
                j->done = 1;
                finished++;
                failed++;
            } else {
                running++;
            }
            next++;
        }
        int status;
        pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid > 0) {
            for (int i = 0; i < n; i++) {
                struct job *j = &jobs[i];
                if (j->pid != pid || j->done)
                    continue;
                j->done = 1;
                j->status = status;
                ssize_t got = read(j->result_fd, &j->sum, sizeof j->sum);
                close(j->result_fd);
                if (got != (ssize_t)sizeof j->sum || !j->sum.ok || !WIFEXITED(status) ||
                    WEXITSTATUS(status) != 0) {
                    if (got == (ssize_t)sizeof j->sum && j->sum.error[0])
                        fprintf(stderr, "%s%s\n", tty ? "\r\033[K" : "", j->sum.error);
                    else if (WIFSIGNALED(status))
                        msg_error(cmd, "%s: replay worker killed by signal %d (%s)", j->spec->name,
                                  WTERMSIG(status), strsignal(WTERMSIG(status)));
                    else
                        msg_error(cmd, "%s: replay worker failed", j->spec->name);
                    j->sum.ok = 0;
                    failed++;
                }
                running--;
                finished++;
            }
            continue;
        }
        if (tty && prog && now_s() - last_print >= 0.2) {
            last_print = now_s();
            double el = last_print - t0;
            fprintf(stderr, "\r\033[K");
            for (int i = 0; i < n && i < 512; i++) {
                if (!jobs[i].pid || jobs[i].done)
                    continue;
                uint64_t d = prog[i];
                fprintf(stderr, "%s %" PRIu64 "/%" PRIu64 " %.0f%% %.2fM ev/s  ",
                        jobs[i].spec->name, d, total_events,
                        total_events ? 100.0 * (double)d / (double)total_events : 0,
                        el > 0 ? (double)d / el / 1e6 : 0);
            }
        }
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    if (tty)
        fprintf(stderr, "\r\033[K");
    if (prog)
        munmap((void *)prog, 4096);
    if (pfd >= 0)
        close(pfd);
    return failed ? -1 : 0;
}

/* Starts each preloaded library's worker with --probe, before any work: a library that ld.so
 * did not load, or that does not export malloc & co., would replay on glibc's malloc under its
 * own name. Returns 0, or -1 (message printed) if one does not serve malloc. */
int jobs_probe(const char *cmd, const struct worker_req *base, struct alloc_spec *v, int n)
{
    static struct worker_req po;
    po = *base;
    po.probe = 1;
    po.threads = THREADS_SERIAL; /* not chosen yet: a probe replays nothing */
    po.out_dir[0] = po.holes_fmt[0] = 0;
    po.tape_fd = po.meta_fd = 0;
    po.nseeds = 0;
    po.progress_fd = -1;
    int bad = 0;
    for (int i = 0; i < n; i++) {
        if (strcmp(v[i].kind, "libc") != 0)
            continue;
        int rfd, status;
        static struct summary sum;
        po.spec = v[i];
        pid_t pid = worker_spawn(&po, &rfd);
        if (pid < 0) {
            msg_error(cmd, "%s: cannot start a worker: %s", v[i].name, strerror(errno));
            return -1;
        }
        memset(&sum, 0, sizeof sum);
        ssize_t got = read(rfd, &sum, sizeof sum);
        close(rfd);
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
        if (got == (ssize_t)sizeof sum && sum.ok && WIFEXITED(status) && WEXITSTATUS(status) == 0)
            continue;
        const char *said = sum.error, *pre = "mallog replay: ";
        if (strncmp(said, pre, strlen(pre)) == 0)
            said += strlen(pre);
        if (got == (ssize_t)sizeof sum && *said)
            msg_error(cmd, "%s", said);
        else
            msg_error(cmd, "%s: the worker that preloads it failed", v[i].lib);
        bad = 1;
    }
    return bad ? -1 : 0;
}

/* ---- several replays of one allocator (--repeat, --bench) ---------------------------------- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The median of v[0..n) (sorted in place; the mean of the middle two for even n). */
static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* The run whose peak footprint is the median stands for the others, with the median and spread
 * of the footprint, RSS and time. An allocator with a failed run has failed. */
int jobs_fold(const char *out_dir, struct job *jobs, int n, int runs)
{
    int failed = 0;
    for (int i = 0; i < n; i++) {
        double fp[JOBS_RUNS_MAX], rss[JOBS_RUNS_MAX], sec[JOBS_RUNS_MAX], cpu[JOBS_RUNS_MAX];
        int ok = 1;
        for (int r = 0; r < runs; r++) {
            const struct summary *s = &jobs[r * n + i].sum;
            ok &= s->ok;
            fp[r] = (double)s->peak_footprint;
            rss[r] = (double)s->peak_rss;
            sec[r] = s->replay_seconds;
            cpu[r] = s->replay_cpu_seconds;
        }
        if (!ok) {
            for (int r = 0; r < runs && jobs[i].sum.ok; r++)
                jobs[i].sum = jobs[r * n + i].sum; /* the failed one, for its message */
            jobs[i].sum.ok = 0;
            failed++;
            continue;
        }
        double mfp = median(fp, runs);
        int pick = 0; /* the run closest to the median footprint */
        for (int r = 1; r < runs; r++)
            if (fabs((double)jobs[r * n + i].sum.peak_footprint - mfp) <
                fabs((double)jobs[pick * n + i].sum.peak_footprint - mfp))
                pick = r;
        struct summary agg = jobs[pick * n + i].sum;
        agg.runs = runs;
        agg.peak_footprint = (uint64_t)mfp;
        agg.peak_footprint_min = (uint64_t)fp[0];
        agg.peak_footprint_max = (uint64_t)fp[runs - 1];
        agg.peak_rss = (uint64_t)median(rss, runs);
        agg.peak_rss_min = (uint64_t)rss[0];
        agg.peak_rss_max = (uint64_t)rss[runs - 1];
        agg.replay_seconds = median(sec, runs);
        agg.replay_seconds_min = sec[0];
        agg.replay_seconds_max = sec[runs - 1];
        agg.replay_cpu_seconds = median(cpu, runs);
        jobs[i].sum = agg;
        if (out_dir) {
            struct mem_buf jb = {0};
            char path[PATH_MAX];
            snprintf(path, sizeof path, "%s/replay.%s.json", out_dir, agg.allocator);
            if (output_json(&agg, &jb) < 0 || mem_buf_write_file(&jb, path) < 0) {
                msg_error("replay", "%s: %s", path, strerror(errno));
                jobs[i].sum.ok = 0;
                failed++;
            }
            mem_buf_free(&jb);
        }
    }
    return failed;
}

/* --bench: the time of the replayed calls per allocator, and its speed against glibc (or the
 * first allocator when glibc is not among them). */

/* worker.c - the worker protocol, both sides. The parent writes a struct worker_req into a
 * memfd and re-executes this binary as `mallog replay --worker FD` with ASLR and THP off, the
 * allocator environment scrubbed and the spec's settings (and LD_PRELOAD) set; the worker reads
 * the request, replays, writes its files and answers with a struct summary on result_fd.
 * The worker is the measured process: it touches the allocator only through the replay until
 * the replay ends (no stdio, no malloc of its own before), then writes its results. */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "../common/msg.h"
#include "cmd.h"

extern char **environ;

/* ---- the parent's side ----------------------------------------------------------------------- */

/* The worker's environment: the caller's minus every allocator setting, plus LD_PRELOAD for a
 * library and the spec's settings (pinned ones too, unless --bench). Static: filled just
 * before fork, read by execve. */
static char **worker_env(const struct worker_req *req)
{
    static char *envp[4096];
    static char envbuf[16384];
    const struct alloc_spec *a = &req->spec;
    int e = 0;
    for (char **p = environ; *p && e < 4000; p++)
        if (!specs_allocator_var(*p))
            envp[e++] = *p;
    size_t used = 0;
    if (strcmp(a->kind, "libc") == 0) {
        int n = snprintf(envbuf, sizeof envbuf, "LD_PRELOAD=%s", a->lib);
        envp[e++] = envbuf;
        used = (size_t)n + 1;
    }
    /* time-based purging (jemalloc decay, mimalloc delays) would make the numbers depend on how
     * fast the replay runs: pinned to purge at once unless the caller tunes it. Not for
     * --bench: purging at once costs time the program, with the library's defaults, does not
     * spend (jemalloc: 5x slower on a malloc-bound trace) */
    char all[4096];
    specs_env(a, !req->bench, all, sizeof all);
    for (char *p = all; *p && e < 4090;) {
        char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        if (used + len + 1 > sizeof envbuf)
            break;
        memcpy(envbuf + used, p, len);
        envbuf[used + len] = 0;
        envp[e++] = envbuf + used;
        used += len + 1;
        p += len + (eol ? 1 : 0);
    }
    envp[e] = NULL;
    return envp;
}

int worker_write_req(int fd, struct worker_req *req)
{
    req->magic = WORKER_MAGIC;
    req->size = sizeof *req;
    return pwrite(fd, req, sizeof *req, 0) == (ssize_t)sizeof *req ? 0 : -1;
}

pid_t worker_spawn(const struct worker_req *base, int *result_fd)
{
    int fds[2], rq = memfd_create("mallog:worker", 0); /* inherited by the worker */
    if (rq < 0)
        return -1;
    if (pipe(fds) < 0) {
        close(rq);
        return -1;
    }
    static struct worker_req req;
    req = *base;
    req.result_fd = fds[1];
    if (worker_write_req(rq, &req) < 0) {
        close(rq);
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    char rqs[16];
    snprintf(rqs, sizeof rqs, "%d", rq);
    char *argv[] = {"mallog", "replay", "--worker", rqs, NULL};
    char **envp = worker_env(&req);
    fflush(NULL);
    pid_t parent = getpid(), pid = fork();
    if (pid == 0) {
        close(fds[0]);
        /* A worker must not outlive `mallog replay` (killed by a timeout, a CI runner, kill -9):
         * it would replay on for nobody. Survives execve, like the two settings below. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        /* both survive execve: what `setarch -R` does, and no transparent huge pages */
        personality(personality(0xffffffff) | ADDR_NO_RANDOMIZE);
        prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);
        execve("/proc/self/exe", argv, envp);
        _exit(127);
    }
    int saved = errno;
    close(rq);
    close(fds[1]);
    if (pid < 0) {
        close(fds[0]);
        errno = saved;
        return -1;
    }
    *result_fd = fds[0];
    return pid;
}

/* ---- the worker's side ---------------------------------------------------------------------- */

static void env_of_worker(char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = 0;
    for (char **p = environ; *p; p++)
        if (specs_allocator_var(*p) && used < len) {
            int n = snprintf(buf + used, len - used, "%s\n", *p);
            if (n > 0)
                used += (size_t)n;
        }
}

static int answer(const struct worker_req *req, const struct summary *sum)
{
    if (req->result_fd >= 0 && write(req->result_fd, sum, sizeof *sum) != (ssize_t)sizeof *sum)
        return EXIT_ERROR;
    return sum->ok ? 0 : EXIT_ERROR;
}

int worker_read_req(const char *fdtext, struct worker_req *req)
{
    char *end;
    long fd = strtol(fdtext, &end, 10);
    if (!*fdtext || *end || fd < 0 || fd > 1 << 20 ||
        pread((int)fd, req, sizeof *req, 0) != (ssize_t)sizeof *req ||
        req->magic != WORKER_MAGIC || req->size != sizeof *req)
        return -1;
    close((int)fd);
    struct alloc_spec *a = &req->spec; /* every string ends in its array */
    a->name[sizeof a->name - 1] = a->family[sizeof a->family - 1] = a->kind[sizeof a->kind - 1] = 0;
    a->lib[sizeof a->lib - 1] = a->env[sizeof a->env - 1] = 0;
    req->log[sizeof req->log - 1] = req->out_dir[sizeof req->out_dir - 1] = 0;
    req->holes_fmt[sizeof req->holes_fmt - 1] = req->at_label[sizeof req->at_label - 1] = 0;
    for (int i = 0; i < MAX_SEEDS; i++)
        req->seed_log[i][sizeof req->seed_log[i] - 1] = 0;
    return req->nseeds < 0 || req->nseeds > MAX_SEEDS || req->threads < 0 || req->threads > 2 ||
                   req->touch < TOUCH_NONE || req->touch > TOUCH_FULL
               ? -1
               : 0;
}

/* Started by hand (not by the parent)? Turn ASLR off by re-exec, as the parent does. */
static void no_aslr(int argc, char **argv)
{
    int pers = personality(0xffffffff);
    if (pers == -1 || (pers & ADDR_NO_RANDOMIZE))
        return;
    static char *nargv[8];
    int k = 0;
    nargv[k++] = "mallog";
    for (int i = 0; i < argc && k < 7; i++)
        nargv[k++] = argv[i];
    nargv[k] = NULL;
    personality((unsigned long)pers | ADDR_NO_RANDOMIZE);
    execv("/proc/self/exe", nargv);
}

/* The replay's files (TSV, JSON) into req->out_dir; the summary says what failed. */
static void write_files(const struct worker_req *req, const struct engine_result *res,
                        struct summary *sum)
{
    struct mem_buf tb = {0}, jb = {0};
    char path[PATH_MAX + 128];
    snprintf(path, sizeof path, "%s/replay.%s.tsv", req->out_dir, req->spec.name);
    if (output_tsv(res, &tb) < 0 || mem_buf_write_file(&tb, path) < 0) {
        snprintf(sum->error, sizeof sum->error, "mallog replay: %s: %s", path, strerror(errno));
        sum->ok = 0;
    }
    snprintf(path, sizeof path, "%s/replay.%s.json", req->out_dir, req->spec.name);
    if (sum->ok && (output_json(sum, &jb) < 0 || mem_buf_write_file(&jb, path) < 0)) {
        snprintf(sum->error, sizeof sum->error, "mallog replay: %s: %s", path, strerror(errno));
        sum->ok = 0;
    }
    mem_buf_free(&tb);
    mem_buf_free(&jb);
}

/* After the replay: the summary of r (rc: engine_run's code) for req. */
static void summarize(const struct worker_req *req, const struct engine_opts *eo, int rc,
                      const struct engine_result *res, struct summary *sum)
{
    snprintf(sum->allocator, sizeof sum->allocator, "%s", req->spec.name);
    snprintf(sum->library, sizeof sum->library, "%s", req->spec.lib);
    snprintf(sum->log, sizeof sum->log, "%s", eo->log);
    snprintf(sum->threads_mode, sizeof sum->threads_mode, "%s", threads_mode_names[eo->threads]);
    snprintf(sum->touch, sizeof sum->touch, "%s", touch_name(eo->touch));
    env_of_worker(sum->env, sizeof sum->env);
    output_summarize(res, sum);
    sum->unknown_frees = req->unknown_frees;
    sum->double_frees = req->double_frees;
    sum->bench = req->bench;
    sum->ok = 1;
    if (rc && res->events == 0) {
        char e[400];
        snprintf(sum->error, sizeof sum->error, "mallog replay: %s: %s", eo->log,
                 mlg_error_format(&res->err, e, sizeof e));
        sum->ok = 0;
    } else if (rc == MLG_E_NOMEM) {
        snprintf(sum->error, sizeof sum->error, "mallog replay: %s: %s: out of memory", eo->log,
                 req->spec.name);
        sum->ok = 0;
    } /* else a damaged log: everything before the damage was replayed; the parent's pre-pass
       * has already said where the damage is */
}

int worker_main(int argc, char **argv)
{
    static struct worker_req req;
    static struct summary sum;
    static struct engine_result res;
    struct engine_opts eo = {0};
    if (argc != 3 || worker_read_req(argv[2], &req) < 0) {
        msg_error("replay", "--worker: a request from `mallog replay`, not by hand");
        return EXIT_ERROR;
    }
    no_aslr(argc, argv);
    prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);
    eo.log = req.log;
    for (int i = 0; i < req.nseeds; i++) {
        eo.seed_log[i] = req.seed_log[i];
        eo.seed_upto[i] = req.seed_upto[i];
    }
    eo.nseeds = req.nseeds;
    eo.every = req.every;
    eo.peak_event = req.peak_event;
    eo.stop_event = req.stop_event;
    eo.threads = req.threads;
    eo.touch = req.touch;
    eo.keep_holes = req.holes_fmt[0] != 0;
    eo.archive = req.bench; /* one sample, at the end: the epochs can wait for END */
    eo.tape_fd = req.tape_fd;
    eo.meta_fd = req.meta_fd;
    if (req.progress_fd >= 0 && req.progress_slot >= 0 && req.progress_slot < 512) {
        void *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, req.progress_fd, 0);
        if (m != MAP_FAILED)
            eo.progress = (volatile uint64_t *)m + req.progress_slot;
    }
    struct backend b;
    if (backend_open(&b, req.spec.kind, req.spec.family) < 0)
        return EXIT_ERROR;
    /* LD_PRELOAD of a file that is not a shared library, or of one without malloc, leaves
     * glibc's malloc in place: its figures would be glibc's under another name */
    char why[PATH_MAX + 200];
    if (strcmp(req.spec.kind, "libc") == 0 && backend_serves(req.spec.lib, why, sizeof why) < 0) {
        snprintf(sum.error, sizeof sum.error, "mallog replay: %s: %s", req.spec.lib, why);
        return answer(&req, &sum);
    }
    if (req.probe) { /* the parent checks each library before any work (jobs_probe) */
        sum.ok = 1;
        return answer(&req, &sum);
    }
    if (req.bare) { /* bench: "NAME CALLS NS" of the calls in a tight loop */
        uint64_t ns = 0, calls = 0;
        if (engine_bare(&eo, &b, &ns, &calls))
            return EXIT_ERROR;
        printf("%s %" PRIu64 " %" PRIu64 "\n", req.spec.name, calls, ns);
        fflush(stdout);
        sum.ok = 1;
        return answer(&req, &sum);
    }
    if (req.tree_fd > 0) { /* --tree: the process tree with real forks; results in the memfd */
        struct tree_shared *t = mmap(NULL, sizeof *t, PROT_READ | PROT_WRITE, MAP_SHARED,
                                     req.tree_fd, 0);
        sum.ok = t != MAP_FAILED && t->magic == TREE_MAGIC && t->n <= TREE_MAX_PROCS &&
                 tree_run(t, &b, req.touch) == 0;
        return answer(&req, &sum);
    }
    int rc = engine_run(&eo, &b, &res);
    /* measured phase over: stdio and malloc are fine from here on */
    summarize(&req, &eo, rc, &res, &sum);
    if (sum.ok && req.out_dir[0])
        write_files(&req, &res, &sum);
    if (sum.ok && req.holes_fmt[0]) {
        if (res.stopped_at == UINT64_MAX) {
            snprintf(sum.error, sizeof sum.error,
                     "mallog holes: %s: event %" PRIu64 " is past the end (%" PRIu64 " events)",
                     eo.log, eo.stop_event, res.events);
            sum.ok = 0;
        } else {
            holes_print(req.spec.name, eo.log, &res, req.holes_fmt, req.at_label, req.holes_top);
        }
    }
    return answer(&req, &sum);
}

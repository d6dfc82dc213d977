/* record.c - `mallog record [-o PREFIX] [--no-follow] -- CMD...` and `mallog pack`.
 *
 * Runs CMD with libmallog.so preloaded, becomes the subreaper of its process tree (so orphaned
 * descendants report how they ended), waits, then packs every spool of the recording into a
 * compressed log. Returns CMD's exit status (128+N if a signal killed it).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../lib/trap.h"
#include "../common/msg.h"
#include "../common/opt.h"
#include "../common/progress.h"
#include "../common/recording.h"
#include "commands.h"

#define MAX_REAPED 4096

struct reaped {
    pid_t pid;
    int status;
};

static struct reaped reaped[MAX_REAPED];
static size_t nreaped;

static void remember(pid_t pid, int status)
{
    if (nreaped < MAX_REAPED)
        reaped[nreaped++] = (struct reaped){pid, status};
}

static const struct reaped *find_reaped(pid_t pid)
{
    for (size_t i = nreaped; i-- > 0;)
        if (reaped[i].pid == pid)
            return &reaped[i];
    return NULL;
}

/* Finds CMD on PATH like execvp would. */
static int resolve_cmd(const char *cmd, char *out, size_t len)
{
    if (strchr(cmd, '/')) {
        snprintf(out, len, "%s", cmd);
        return access(out, X_OK);
    }
    const char *path = getenv("PATH");
    if (!path)
        path = "/usr/bin:/bin";
    while (*path) {
        const char *c = strchr(path, ':');
        size_t n = c ? (size_t)(c - path) : strlen(path);
        snprintf(out, len, "%.*s/%s", (int)n, path, cmd);
        if (access(out, X_OK) == 0)
            return 0;
        path += n + (c ? 1 : 0);
    }
    return -1;
}

/* LD_PRELOAD cannot see static or setuid programs: say so before the run, not after. */
static void warn_unpreloadable(const char *cmd)
{
    char path[PATH_MAX];
    if (resolve_cmd(cmd, path, sizeof path) != 0)
        return;
    struct stat st;
    if (stat(path, &st) == 0 && (st.st_mode & (S_ISUID | S_ISGID)) && getuid() != 0)
        fprintf(stderr, "mallog record: warning: %s is setuid/setgid: the loader ignores "
                        "LD_PRELOAD for it, its allocations will not be recorded\n", path);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    Elf64_Ehdr eh;
    if (read(fd, &eh, sizeof eh) == (ssize_t)sizeof eh && memcmp(eh.e_ident, ELFMAG, SELFMAG) == 0 &&
        eh.e_ident[EI_CLASS] == ELFCLASS64) {
        int dynamic = 0;
        for (unsigned i = 0; i < eh.e_phnum; i++) {
            Elf64_Phdr ph;
            if (pread(fd, &ph, sizeof ph, (off_t)(eh.e_phoff + i * eh.e_phentsize)) != sizeof ph)
                break;
            dynamic |= ph.p_type == PT_INTERP;
        }
        if (!dynamic)
            fprintf(stderr, "mallog record: warning: %s is statically linked: LD_PRELOAD cannot "
                            "interpose its malloc, nothing will be recorded for it\n", path);
    }
    close(fd);
}

/* -o DIR/ (made when missing) or -o DIR of an existing directory: the logs go inside it, named
 * after the default prefix. out gets the prefix to use. Returns 0, or -1 with errno. */
static int prefix_in_dir(const char *prefix, char *out, size_t len)
{
    size_t n = strlen(prefix);
    struct stat st;
    int slash = n > 1 && prefix[n - 1] == '/';
    if (stat(prefix, &st) == 0 ? !S_ISDIR(st.st_mode) : !slash) {
        snprintf(out, len, "%s", prefix);
        return 0;
    }
    while (n > 1 && prefix[n - 1] == '/')
        n--;
    if (slash && mkdir(prefix, 0777) != 0 && errno != EEXIST)
        return -1;
    snprintf(out, len, "%.*s/mallog", (int)n, prefix);
    return 0;
}

/* Whether the logs can be written beside abs_prefix: a file is made and removed there (access()
 * would say yes to root on a read-only directory). Returns 0, or -1 with errno. */
static int dir_writable(const char *abs_prefix)
{
    char probe[PATH_MAX + 64];
    snprintf(probe, sizeof probe, "%s.probe.%d", abs_prefix, (int)getpid());
    int fd = open(probe, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    close(fd);
    unlink(probe);
    return 0;
}

/* Absolute prefix: realpath of its directory + its last component. */
static int absolute_prefix(const char *prefix, char *out, size_t len)
{
    char tmp[PATH_MAX], dir[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s", prefix);
    char *d = dirname(tmp);
    if (!realpath(d, dir))
        return -1;
    snprintf(tmp, sizeof tmp, "%s", prefix);
    snprintf(out, len, "%s/%s", dir, basename(tmp));
    return 0;
}

static int process_alive(uint64_t pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%" PRIu64 "/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    const char *rp = strrchr(buf, ')');
    return rp && rp[1] == ' ' && rp[2] != 'Z' && rp[2] != 'X';
}

/* How the launched process ended, for its newest log: the wait status beats the spool's guess. */
static void root_end(int spool_end, int root_status, int *end, int *status)
{
    *end = -1;
    *status = 0;
    if (WIFSIGNALED(root_status)) {
        *end = MLG_END_SIGNAL;
        *status = WTERMSIG(root_status);
    } else if (spool_end == MLG_END_VANISHED || spool_end == MLG_END_EXIT) {
        *end = MLG_END_EXIT;
        *status = WEXITSTATUS(root_status);
    }
}

static void report_packed(const char *out, const struct mlg_pack_result *res)
{
    if (msg_verbosity <= 0)
        return;
    char sz[32];
    fprintf(stderr, "mallog: pid %" PRIu64 ": %" PRIu64 " events -> %s (%s, %.2f bytes/event)%s\n",
            res->pid, res->events, out, mlg_format_size(res->log_bytes, sz, sizeof sz),
            res->events ? (double)res->log_bytes / (double)res->events : 0.0,
            res->lost_events ? " [some events lost]" : "");
}

/* python3's default allocator (pymalloc) serves objects up to 512 bytes from its own arenas, so
 * the log shows arenas, not objects: said once per recording, on the first python process whose
 * environment does not already ask for malloc (PYTHONMALLOC is inherited from ours). */
static void python_hint(const char *exe)
{
    static int said;
    const char *base = strrchr(exe, '/');
    base = base ? base + 1 : exe;
    const char *pm = getenv("PYTHONMALLOC");
    if (said || msg_verbosity <= 0 || strncmp(base, "python", 6) != 0 ||
        (pm && strncmp(pm, "malloc", 6) == 0))
        return;
    said = 1;
    fprintf(stderr, "mallog record: note: %s allocates small objects from its own arenas "
                    "(pymalloc), which the log shows as a few large blocks; run it with "
                    "PYTHONMALLOC=malloc to record every object\n", base);
}

struct spool_entry {
    char path[PATH_MAX];
    struct mlg_header h;
    int end;
};

static int cmp_spool(const void *a, const void *b)
{
    const struct spool_entry *x = a, *y = b;
    if (x->h.pid != y->h.pid)
        return x->h.pid < y->h.pid ? -1 : 1;
    return x->h.exec_gen < y->h.exec_gen ? -1 : x->h.exec_gen > y->h.exec_gen;
}

/* Whether a spool file name (already known to start with "<base>.") is one of run's: its name
 * ends in ".<run>.spool". run NULL: every spool of the prefix (`mallog pack`). */
static int spool_of_run(const char *name, size_t len, const char *run)
{
    if (!run)
        return 1;
    size_t rl = strlen(run);
    return len > rl + 7 && name[len - rl - 7] == '.' && strncmp(name + len - rl - 6, run, rl) == 0;
}

/* --max-size / --keep: how the packer's segments are named and dropped (lib/pack.c writes
 * them, common/recording.c names them). */
struct seg_opts {
    uint64_t max_size; /* 0 = one log per process */
    unsigned keep;     /* 0 = keep every segment */
};
static struct seg_opts seg_opts; /* of this run: record's or pack's options */

struct seg_files {
    const struct seg_opts *so;
    const char *prefix;
    uint64_t pid;
    uint32_t gen;
    int partial;                 /* live: written as NAME.partial, linked to NAME once complete */
    char out[PATH_MAX + 64];     /* the segment being written, its final name */
    char cur[PATH_MAX + 80];     /* ... and the file it is written to */
    pid_t kill_in_checkpoint;    /* test hook (MALLOG_TEST_KILL_IN_CHECKPOINT) */
    uint64_t kill_after;
};

static int seg_path(void *ctx, uint32_t k, char *out, size_t len)
{
    struct seg_files *f = ctx;
    rec_segment_name(f->out, sizeof f->out, f->prefix, f->pid, f->gen, k);
    snprintf(f->cur, sizeof f->cur, "%s%s", f->out, f->partial ? ".partial" : "");
    snprintf(out, len, "%s", f->cur);
    return 0;
}

/* Segment k is complete: under its name, and the oldest beyond --keep goes (counting the one
 * just started: --keep N leaves at most N segments on disk). */
static void seg_done(void *ctx, uint32_t k, const char *path)
{
    struct seg_files *f = ctx;
    char name[PATH_MAX + 64];
    rec_segment_name(name, sizeof name, f->prefix, f->pid, f->gen, k);
    if (f->partial && strcmp(name, path) != 0) {
        if (link(path, name) == 0)
            unlink(path);
        else
            fprintf(stderr, "mallog record: %s: %s; the segment stays in %s\n", name,
                    strerror(errno), path);
    }
    if (f->so->keep && k + 1 > f->so->keep) {
        rec_segment_name(name, sizeof name, f->prefix, f->pid, f->gen, k + 1 - f->so->keep);
        unlink(name);
    }
}

/* Tests: MALLOG_TEST_KILL_IN_CHECKPOINT=N kills the program and this process with SIGKILL once
 * N blocks of a checkpoint are written (the damage a crash leaves there). */
static void seg_checkpoint(void *ctx, uint64_t blocks)
{
    struct seg_files *f = ctx;
    if (f->kill_after && blocks >= f->kill_after) {
        if (f->kill_in_checkpoint > 0)
            kill(f->kill_in_checkpoint, SIGKILL);
        raise(SIGKILL);
    }
}

static volatile sig_atomic_t forward_to;

/* The segments of the log of pid/gen, as the packer calls them (f filled, ms returned), or NULL
 * without --max-size. */
static const struct mlg_segments *seg_setup(struct mlg_segments *ms, struct seg_files *f,
                                            const struct seg_opts *so, const char *prefix,
                                            uint64_t pid, uint32_t gen, int partial)
{
    if (!so || !so->max_size)
        return NULL;
    memset(f, 0, sizeof *f);
    f->so = so;
    f->prefix = prefix;
    f->pid = pid;
    f->gen = gen;
    f->partial = partial;
    const char *k = getenv("MALLOG_TEST_KILL_IN_CHECKPOINT");
    if (k) {
        f->kill_after = strtoull(k, NULL, 10);
        f->kill_in_checkpoint = forward_to;
    }
    *ms = (struct mlg_segments){so->max_size, seg_path, seg_done, seg_checkpoint, f};
    return ms;
}

/* Packs one spool into its log; the spool goes once the log is written. Returns 0, or 1 (the
 * error said, the spool stays). */
static int pack_one(const char *cmd, const char *prefix, const char *spool, uint64_t pid,
                    uint32_t gen, int end, int status, int level, const struct seg_opts *so)
{
    char out[PATH_MAX + 64];
    rec_log_name(out, sizeof out, prefix, pid, gen);
    struct mlg_segments ms;
    struct seg_files sf;
    struct mlg_writer_options opt = {.zstd_level = level,
                                     .segments = seg_setup(&ms, &sf, so, prefix, pid, gen, 0)};
    struct mlg_pack_result res;
    struct mlg_error err;
    if (mlg_pack_spool(spool, out, end, status, &opt, &res, &err) != 0) {
        msg_log_error(cmd, err.code == MLG_E_EXISTS ? out : spool, &err);
        if (err.code == MLG_E_EXISTS)
            fprintf(stderr, "mallog %s: not overwriting an existing log; the spool %s stays\n",
                    cmd, spool);
        return 1;
    }
    unlink(spool);
    if (opt.segments)
        snprintf(out, sizeof out, "%s", sf.out); /* the last segment */
    char partial[PATH_MAX + 80];
    snprintf(partial, sizeof partial, "%s.partial", out);
    unlink(partial); /* what a killed live pack of this spool left, if anything */
    report_packed(out, &res);
    return 0;
}

/* Packs every <prefix>.*.spool of run (NULL = of any run). root/root_status: the launched process
 * and its wait status (root = 0 when unknown). Returns the number of spools that could not be
 * packed. */
static int pack_prefix(const char *cmd, const char *prefix, const char *run, pid_t root,
                       int root_status, int level)
{
    char dirbuf[PATH_MAX], basebuf[PATH_MAX];
    snprintf(dirbuf, sizeof dirbuf, "%s", prefix);
    snprintf(basebuf, sizeof basebuf, "%s", prefix);
    const char *dir = dirname(dirbuf), *base = basename(basebuf);
    size_t blen = strlen(base);
    DIR *d = opendir(dir);
    if (!d) {
        msg_error(cmd, "%s: %s", dir, strerror(errno));
        return 1;
    }
    struct spool_entry *list = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t l = strlen(de->d_name);
        if (l <= blen + 7 || strncmp(de->d_name, base, blen) != 0 || de->d_name[blen] != '.' ||
            strcmp(de->d_name + l - 6, ".spool") != 0 || !spool_of_run(de->d_name, l, run))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            list = realloc(list, cap * sizeof *list);
            if (!list)
                abort();
        }
        snprintf(list[n].path, sizeof list[n].path, "%s/%s", dir, de->d_name);
        struct mlg_error err;
        if (mlg_spool_peek(list[n].path, &list[n].h, &list[n].end, &err) != 0) {
            msg_log_error(cmd, list[n].path, &err);
            continue;
        }
        n++;
    }
    closedir(d);
    if (n) /* qsort with a NULL list is undefined even for no entries (UBSan says so) */
        qsort(list, n, sizeof *list, cmp_spool);
    int failures = 0;
    for (size_t i = 0; i < n; i++) {
        struct spool_entry *s = &list[i];
        int newest = i + 1 == n || list[i + 1].h.pid != s->h.pid;
        int end = -1, status = 0;
        if (!newest) {
            end = MLG_END_EXEC; /* a later image of the same pid exists */
        } else if (root && (pid_t)s->h.pid == root) {
            root_end(s->end, root_status, &end, &status);
        } else if (s->end == MLG_END_VANISHED) {
            const struct reaped *r = find_reaped((pid_t)s->h.pid);
            if (r && WIFSIGNALED(r->status)) {
                end = MLG_END_SIGNAL;
                status = WTERMSIG(r->status);
            } else if (!r && process_alive(s->h.pid)) {
                fprintf(stderr, "mallog %s: pid %" PRIu64 " is still running; its spool %s stays "
                                "until you run 'mallog pack %s'\n", cmd, s->h.pid, s->path, prefix);
                continue;
            }
        }
        python_hint(s->h.exe);
        failures += pack_one(cmd, prefix, s->path, s->h.pid, s->h.exec_gen, end, status, level,
                             &seg_opts) != 0;
    }
    free(list);
    return failures;
}

/* Packs the launched process's spool while it runs, on the core the program leaves free, so that
 * little is left to do when it ends. Later exec generations of the same pid follow; forked
 * children are packed after the end. */
struct live_pack {
    struct mlg_packer *pk;
    int enabled;
    uint32_t gen;
    char spool[PATH_MAX + 64], out[PATH_MAX + 64];
    char partial[PATH_MAX + 80]; /* written here, linked to out when complete: if we are killed,
                                    the spool stays packable and no half log takes out's name */
    struct mlg_segments ms;      /* --max-size: the segments (out, partial: the current one) */
    struct seg_files sf;
    int segmented;
    uint64_t unflushed;          /* events packed since the log was last made readable */
    double last_flush;
};

/* With segments, the log being written is the current segment. */
static void live_names(struct live_pack *lp)
{
    if (!lp->segmented)
        return;
    snprintf(lp->out, sizeof lp->out, "%s", lp->sf.out);
    snprintf(lp->partial, sizeof lp->partial, "%s", lp->sf.cur);
}

/* Gives the finished partial log its name without ever replacing an existing file. */
static int publish_partial(struct live_pack *lp)
{
    live_names(lp); /* a final step may have started another segment */
    int rc = link(lp->partial, lp->out);
    if (rc != 0)
        fprintf(stderr, "mallog record: %s: %s; the log stays in %s\n", lp->out, strerror(errno),
                lp->partial);
    else
        unlink(lp->partial);
    return rc;
}

#define LIVE_BURST 200000   /* events: a step that packed fewer caught up with the program */
#define LIVE_PAUSE_US 20000 /* then wait this long before looking again */
#define LIVE_FLUSH_S 0.5    /* a log being written is readable to at most this far back */

/* The spool of pid's exec generation gen in run: PREFIX.PID.GEN.RUN.spool (preload/recorder.c). */
static void spool_name(char *out, size_t len, const char *prefix, pid_t pid, uint32_t gen,
                       const char *run)
{
    snprintf(out, len, "%s.%d.%u.%s.spool", prefix, (int)pid, gen, run);
}

/* Live packing of lp's spool stops (the spool stays: it is packed when the process ends), and
 * says why: the tools that look at a recording while it runs would find nothing new. */
static void live_off(struct live_pack *lp, const char *what, const struct mlg_error *err)
{
    if (msg_verbosity >= 1)
        fprintf(stderr, "mallog record: %s: packing while the program runs stopped (%s: error %d%s%s); "
                        "it is packed when the process ends\n",
                lp->spool, what, err->code, err->detail[0] ? ", " : "", err->detail);
    if (lp->pk)
        mlg_packer_abandon(lp->pk);
    lp->pk = NULL;
    lp->enabled = 0;
}

static uint64_t live_step(struct live_pack *lp, const char *prefix, const char *run, pid_t root,
                          int level)
{
    if (!lp->enabled)
        return 0;
    struct mlg_error err;
    if (!lp->pk) {
        spool_name(lp->spool, sizeof lp->spool, prefix, root, lp->gen, run);
        if (access(lp->spool, R_OK) != 0)
            return 0;
        rec_log_name(lp->out, sizeof lp->out, prefix, (uint64_t)root, lp->gen);
        snprintf(lp->partial, sizeof lp->partial, "%s.partial", lp->out);
        struct mlg_writer_options opt = {.zstd_level = level};
        opt.segments = seg_setup(&lp->ms, &lp->sf, &seg_opts, prefix, (uint64_t)root, lp->gen, 1);
        lp->segmented = opt.segments != NULL;
        if (lp->segmented) /* the first segment's name is the one that must be free */
            rec_segment_name(lp->out, sizeof lp->out, prefix, (uint64_t)root, lp->gen, 1);
        struct mlg_header h;
        int end;
        if (mlg_spool_peek(lp->spool, &h, &end, &err) == 0)
            python_hint(h.exe);
        if (access(lp->out, F_OK) == 0) {
            lp->enabled = 0; /* the log exists: the after-the-end path reports it */
            return 0;
        }
        if (mlg_packer_open(&lp->pk, lp->spool, lp->partial, &opt, &err) != 0) {
            lp->pk = NULL;
            live_off(lp, "open", &err);
            return 0;
        }
    }
    uint64_t progress = 0;
    if (mlg_packer_step(lp->pk, 0, &progress, &err) != 0) {
        live_off(lp, "step", &err);
        return 0;
    }
    /* Caught up with the program: what was packed becomes readable within a second, for the
     * tools that look at the recording while it runs (frames are otherwise written by MiB). */
    lp->unflushed += progress;
    double now = progress_now();
    if (progress < LIVE_BURST && lp->unflushed && now - lp->last_flush >= LIVE_FLUSH_S) {
        if (mlg_packer_flush(lp->pk, &err) != 0) {
            live_off(lp, "flush", &err);
            return 0;
        }
        lp->unflushed = 0;
        lp->last_flush = now;
    }
    live_names(lp);
    int end, status;
    char next[PATH_MAX + 64];
    spool_name(next, sizeof next, prefix, root, lp->gen + 1, run);
    /* an exec that failed marks the spool for a moment too: final only once the next image of
     * the pid has started its own spool */
    if (mlg_packer_spool_end(lp->pk, &end, &status) && end == MLG_END_EXEC &&
        access(next, F_OK) == 0) {
        struct mlg_pack_result res;
        if (mlg_packer_finish(lp->pk, MLG_END_EXEC, 0, &res, &err) == 0 &&
            publish_partial(lp) == 0) {
            unlink(lp->spool);
            report_packed(lp->out, &res);
        } else {
            lp->enabled = 0;
        }
        lp->pk = NULL;
        lp->gen++;
    }
    return progress;
}

/* Waits LIVE_PAUSE_US, or less if the launched process ends meanwhile (pidfd, Linux 5.3). */
static void pause_for_child(int pidfd)
{
    struct pollfd pf = {.fd = pidfd, .events = POLLIN};
    if (pidfd < 0 || poll(&pf, 1, LIVE_PAUSE_US / 1000) < 0)
        usleep(LIVE_PAUSE_US);
}

static void live_finish(struct live_pack *lp, int root_status)
{
    if (!lp->pk)
        return;
    struct mlg_error err;
    int spool_end, spool_status, end, status;
    mlg_packer_spool_end(lp->pk, &spool_end, &spool_status);
    root_end(spool_end, root_status, &end, &status);
    struct mlg_pack_result res;
    if (mlg_packer_finish(lp->pk, end, status, &res, &err) != 0)
        msg_log_error("record", lp->spool, &err); /* the spool stays for the pass after */
    else if (publish_partial(lp) == 0) {
        unlink(lp->spool);
        report_packed(lp->out, &res);
    }
    lp->pk = NULL;
}

/* The failure list of a run: a file the recorder of every process appends "pid errno path" lines
 * to when it cannot record (preload/recorder.c, MALLOG_FAILS). It lives in $TMPDIR, not beside
 * the logs: the logs' directory may be exactly what failed. */
static int fails_open(char *path, size_t len)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(path, len, "%s/mallog-record.XXXXXX", tmp && *tmp == '/' ? tmp : "/tmp");
    int fd = mkstemp(path);
    if (fd < 0)
        return -1;
    close(fd);
    return 0;
}

/* Names every process that could not be recorded, removes the list; returns how many. */
static int fails_report(const char *path)
{
    FILE *f = fopen(path, "r");
    int n = 0;
    if (f) {
        char line[PATH_MAX + 64];
        while (fgets(line, sizeof line, f)) {
            long pid, err;
            int off = 0;
            if (sscanf(line, "%ld %ld %n", &pid, &err, &off) != 2 || off == 0)
                continue;
            line[strcspn(line, "\n")] = 0;
            msg_error("record", "pid %ld was not recorded: %s: %s", pid, line + off,
                      strerror((int)err));
            n++;
        }
        fclose(f);
    }
    unlink(path);
    return n;
}

/* The other processes of the tree are packed while the recording runs too, each as soon as its
 * spool is final: its process is gone (kill(pid, 0): ESRCH; a pid reused meanwhile only defers it
 * to the end), or it exec'd and the next image has its own spool. inotify names the spools as
 * they appear (no directory scans); anything it misses is packed after the end, as before. */
struct child_spool {
    pid_t pid;
    uint32_t gen;
};

struct children {
    int fd; /* inotify, -1 = off */
    char base[PATH_MAX];
    size_t blen;
    struct child_spool *list;
    size_t n, cap;
    int failures;
};

static void children_open(struct children *cs, const char *prefix)
{
    char dirbuf[PATH_MAX], basebuf[PATH_MAX];
    snprintf(dirbuf, sizeof dirbuf, "%s", prefix);
    snprintf(basebuf, sizeof basebuf, "%s", prefix);
    snprintf(cs->base, sizeof cs->base, "%s", basename(basebuf));
    cs->blen = strlen(cs->base);
    cs->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (cs->fd >= 0 && inotify_add_watch(cs->fd, dirname(dirbuf), IN_CREATE | IN_MOVED_TO) < 0) {
        close(cs->fd);
        cs->fd = -1;
    }
}

/* <base>.<pid>.<gen>.<run>.spool -> pid, gen (a spool of another run: 0) */
static int parse_spool_name(const struct children *cs, const char *name, const char *run,
                            pid_t *pid, uint32_t *gen)
{
    if (strncmp(name, cs->base, cs->blen) != 0 || name[cs->blen] != '.')
        return 0;
    char *end;
    const char *p = name + cs->blen + 1;
    if (*p < '0' || *p > '9')
        return 0;
    unsigned long pv = strtoul(p, &end, 10);
    if (*end != '.' || end[1] < '0' || end[1] > '9')
        return 0;
    unsigned long gv = strtoul(end + 1, &end, 10);
    size_t rl = strlen(run);
    if (*end != '.' || strncmp(end + 1, run, rl) != 0 || strcmp(end + 1 + rl, ".spool") != 0 ||
        pv == 0 || pv > INT_MAX || gv > UINT32_MAX)
        return 0;
    *pid = (pid_t)pv;
    *gen = (uint32_t)gv;
    return 1;
}

static void children_poll(struct children *cs, const char *run, pid_t root)
{
    if (cs->fd < 0)
        return;
    char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
    ssize_t len;
    while ((len = read(cs->fd, buf, sizeof buf)) > 0) {
        for (char *p = buf; p < buf + len;) {
            const struct inotify_event *ev = (const void *)p;
            p += sizeof *ev + ev->len;
            pid_t pid;
            uint32_t gen;
            if (!ev->len || !parse_spool_name(cs, ev->name, run, &pid, &gen) || pid == root)
                continue;
            if (cs->n == cs->cap) {
                size_t cap = cs->cap ? cs->cap * 2 : 64;
                struct child_spool *l = realloc(cs->list, cap * sizeof *l);
                if (!l)
                    return; /* packed after the end instead */
                cs->list = l;
                cs->cap = cap;
            }
            cs->list[cs->n++] = (struct child_spool){pid, gen};
        }
    }
}

/* Packs the spools that are final by now; returns how many. */
static size_t children_pack(struct children *cs, const char *prefix, const char *run, int level)
{
    size_t keep = 0, packed = 0;
    for (size_t i = 0; i < cs->n; i++) {
        struct child_spool c = cs->list[i];
        char spool[PATH_MAX + 64], next[PATH_MAX + 64], out[PATH_MAX + 64];
        spool_name(spool, sizeof spool, prefix, c.pid, c.gen, run);
        spool_name(next, sizeof next, prefix, c.pid, c.gen + 1, run);
        rec_log_name(out, sizeof out, prefix, (uint64_t)c.pid, c.gen + 1);
        int exec_done = access(next, F_OK) == 0 || access(out, F_OK) == 0;
        int gone = !exec_done && kill(c.pid, 0) != 0 && errno == ESRCH;
        if (!exec_done && !gone) {
            cs->list[keep++] = c;
            continue;
        }
        rec_log_name(out, sizeof out, prefix, (uint64_t)c.pid, c.gen);
        if (access(spool, F_OK) != 0 || access(out, F_OK) == 0)
            continue; /* gone already, or a log in the way: the pass after the end says so */
        int end = -1, status = 0, spool_end;
        struct mlg_header h;
        struct mlg_error err;
        if (mlg_spool_peek(spool, &h, &spool_end, &err) == 0)
            python_hint(h.exe);
        if (exec_done) {
            end = MLG_END_EXEC;
        } else {
            const struct reaped *r = find_reaped(c.pid);
            if (r && WIFSIGNALED(r->status) && mlg_spool_peek(spool, &h, &spool_end, &err) == 0 &&
                spool_end == MLG_END_VANISHED) {
                end = MLG_END_SIGNAL;
                status = WTERMSIG(r->status);
            }
        }
        cs->failures += pack_one("record", prefix, spool, (uint64_t)c.pid, c.gen, end, status,
                                 level, &seg_opts);
        packed++;
    }
    cs->n = keep;
    return packed;
}

static void record_usage(FILE *f)
{
    fprintf(f, "usage: mallog record [-o PREFIX] [--stacks[=DEPTH]] [--no-follow] [--level N]\n"
               "                     [--max-size SIZE [--keep N]] -- CMD [ARGS...]\n\n"
               "Runs CMD with libmallog.so preloaded and writes PREFIX.<pid>.mlog for every\n"
               "process of its tree (PREFIX.<pid>.<n>.mlog after the n-th exec).\n\n"
               "  -o, --output PREFIX  where logs go (default: ./mallog); a directory (DIR/, made\n"
               "                       when missing, or an existing one) means DIR/mallog\n"
               "      --no-follow      record only CMD itself, not its children or exec'd programs\n"
               "      --level N        zstd level for the logs (default 3)\n"
               "      --stacks[=DEPTH] record the call stack of every allocation (default depth 32,\n"
               "                       at most 256); `mallog stats --by site` names the callers\n"
               "      --unwind=dwarf|fp  how stacks are walked: libunwind on .eh_frame (default,\n"
               "                       right everywhere) or frame pointers (faster, right only\n"
               "                       for code built with -fno-omit-frame-pointer)\n"
               "      --pack=after     compress only after the program ends (default: while it\n"
               "                       runs, on a spare core)\n"
               "      --max-size SIZE  close a log at about SIZE (e.g. 2G) and go on in the next:\n"
               "                       PREFIX.<pid>[.<n>].s<k>.mlog, each starting with a\n"
               "                       checkpoint of the live blocks, so it reads on its own\n"
               "      --keep N         with --max-size: keep the newest N segments, delete older\n"
               "      --trap SPEC      raise SIGTRAP in the program at the first call matching\n"
               "                       OP, OP:size=N (e.g. realloc:size=8880819) or seq=N (the\n"
               "                       second column of `mallog dump`); under gdb it stops there:\n"
               "                       gdb -ex 'set follow-fork-mode child' -ex run \\\n"
               "                           --args mallog record --trap SPEC -- CMD\n"
               "  -q                   say nothing but errors\n");
}

static void forward_signal(int sig)
{
    if (forward_to > 0)
        kill(forward_to, sig);
}

/* The recorder library: beside the binary (the build tree) or in PREFIX/lib/mallog when the
 * binary is PREFIX/bin/mallog (make install). out gets the path found, or the first tried.
 * Returns 0, or -1 with errno. */
static int find_preload(const char *name, char *out, size_t len)
{
    static const char *const where[] = {"%s/%s", "%s/../lib/mallog/%s"};
    for (size_t i = 0; i < sizeof where / sizeof where[0]; i++) {
        snprintf(out, len, where[i], msg_self_dir(), name);
        if (access(out, R_OK) == 0)
            return 0;
    }
    snprintf(out, len, where[0], msg_self_dir(), name);
    errno = ENOENT;
    return -1;
}

/* A whole decimal number in [min, max], nothing else ("12abc", "", "-1" are not). */
static int parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
    if (!s || *s < '0' || *s > '9')
        return -1;
    errno = 0;
    char *end;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

#define LEVEL_MAX 22 /* zstd's highest level */

/* --max-size SIZE (at least 64 KiB: a segment holds at least a frame) and --keep N. */
static int seg_option(const char *cmd, int c, const char *arg)
{
    uint64_t v;
    if (c == 'M') {
        if (opt_u64(cmd, "--max-size", arg, 64u << 10, UINT64_C(1) << 50, &v) != 0)
            return -1;
        seg_opts.max_size = v;
        return 0;
    }
    if (opt_u64(cmd, "--keep", arg, 1, 1000000, &v) != 0)
        return -1;
    seg_opts.keep = (unsigned)v;
    return 0;
}

static int seg_check(const char *cmd)
{
    if (seg_opts.keep && !seg_opts.max_size) {
        msg_error(cmd, "--keep needs --max-size (it keeps the newest N segments)");
        return -1;
    }
    return 0;
}

/* A bad option: its message, then the usage; exit status 2. */
static int bad_option(const char *fmt, const char *arg)
{
    fprintf(stderr, "mallog record: ");
    fprintf(stderr, fmt, arg);
    fputs("\n", stderr);
    record_usage(stderr);
    return EXIT_ERROR;
}

int cmd_record(int argc, char **argv)
{
    const char *prefix = "mallog";
    int follow = 1, level = 3, live = 1;
    const char *trap = NULL, *unwind = "dwarf";
    unsigned long stacks = 0;
    static const struct option opts[] = {{"output", required_argument, NULL, 'o'},
                                         {"stacks", optional_argument, NULL, 'S'},
                                         {"unwind", required_argument, NULL, 'U'},
                                         {"pack", required_argument, NULL, 'P'},
                                         {"trap", required_argument, NULL, 'T'},
                                         {"no-follow", no_argument, NULL, 'F'},
                                         {"level", required_argument, NULL, 'l'},
                                         {"max-size", required_argument, NULL, 'M'},
                                         {"keep", required_argument, NULL, 'K'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int c;
    optind = 1;
    /* Every option is checked here, before the program starts: a typo must not cost a run. */
    while ((c = getopt_long(argc, argv, "+o:qh", opts, NULL)) != -1) {
        switch (c) {
        case 'o':
            if (!*optarg)
                return bad_option("-o %s: an empty output prefix", "''");
            prefix = optarg;
            break;
        case 'F': follow = 0; break;
        case 'l': {
            uint64_t v; /* zstd levels 1..22 */
            if (opt_u64("record", "--level", optarg, 1, 22, &v) != 0) {
                record_usage(stderr);
                return EXIT_ERROR;
            }
            level = (int)v;
            break;
        }
        case 'P':
            if (strcmp(optarg, "after") != 0 && strcmp(optarg, "live") != 0)
                return bad_option("--pack=%s: expected after or live", optarg);
            live = strcmp(optarg, "live") == 0;
            break;
        case 'T':
            if (mlg_trap_parse(optarg, &(struct mlg_trap){0}) != 0)
                return bad_option("--trap %s: expected OP, OP:size=N or seq=N (OP an "
                                  "allocator call such as malloc or realloc)", optarg);
            trap = optarg;
            break;
        case 'S': {
            /* DEPTH is optional, so getopt only sees --stacks=DEPTH; --stacks DEPTH would make
             * DEPTH the command. A number there is taken as the depth (no program is named
             * by digits alone; ./16 still runs one). */
            const char *depth = optarg;
            if (!depth && optind < argc && argv[optind][0] >= '0' && argv[optind][0] <= '9' &&
                strspn(argv[optind], "0123456789") == strlen(argv[optind]))
                depth = argv[optind++];
            if (!depth)
                stacks = 32;
            else if (parse_uint(depth, 1, MLG_STACK_DEPTH_MAX, &stacks) != 0)
                return bad_option("--stacks=%s: depth must be a number 1..256", depth);
            break;
        }
        case 'U':
            if (strcmp(optarg, "dwarf") != 0 && strcmp(optarg, "fp") != 0)
                return bad_option("--unwind=%s: expected dwarf or fp", optarg);
            unwind = optarg;
            break;
        case 'M':
        case 'K':
            if (seg_option("record", c, optarg) != 0) {
                record_usage(stderr);
                return EXIT_ERROR;
            }
            break;
        case 'q': msg_verbosity = 0; break;
        case 'h': record_usage(stdout); return 0;
        default: record_usage(stderr); return EXIT_ERROR;
        }
    }
    if (optind >= argc || seg_check("record") != 0) {
        record_usage(stderr);
        return EXIT_ERROR;
    }
    char in_dir[PATH_MAX], abs_prefix[PATH_MAX], so[PATH_MAX];
    if (prefix_in_dir(prefix, in_dir, sizeof in_dir) != 0 ||
        absolute_prefix(in_dir, abs_prefix, sizeof abs_prefix) != 0) {
        msg_error("record", "%s: %s", prefix, strerror(errno));
        return EXIT_ERROR;
    }
    /* before the program runs: a run whose logs cannot be written is a wasted run */
    if (dir_writable(abs_prefix) != 0) {
        char d[PATH_MAX];
        snprintf(d, sizeof d, "%s", in_dir);
        msg_error("record", "%s: cannot write logs there: %s", dirname(d), strerror(errno));
        return EXIT_ERROR;
    }
    /* libunwind comes in with its own build of the recorder, only when it is asked for */
    int with_libunwind = stacks && strcmp(unwind, "dwarf") == 0;
    if (find_preload(with_libunwind ? "libmallog-unwind.so" : "libmallog.so", so, sizeof so) != 0) {
        msg_error("record", "%s: %s (build it with make, or make install)", so, strerror(errno));
        return EXIT_ERROR;
    }
    warn_unpreloadable(argv[optind]);
    /* Our spools carry our pid as run id: another record with the same prefix has its own. */
    char run[32];
    snprintf(run, sizeof run, "r%d", (int)getpid());
    char fails[PATH_MAX];
    if (fails_open(fails, sizeof fails) != 0) {
        msg_error("record", "%s: %s", fails, strerror(errno));
        return EXIT_ERROR;
    }
    const char *old = getenv("LD_PRELOAD");
    char *preload = malloc(strlen(so) + (old ? strlen(old) : 0) + 2);
    sprintf(preload, "%s%s%s", so, old && *old ? ":" : "", old ? old : "");
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    struct children cs = {.fd = -1};
    if (live)
        children_open(&cs, abs_prefix); /* before the fork: no spool is created unseen */
    pid_t child = fork();
    if (child < 0) {
        msg_error("record", "fork: %s", strerror(errno));
        unlink(fails);
        return EXIT_ERROR;
    }
    if (child == 0) {
        setenv("LD_PRELOAD", preload, 1);
        setenv("MALLOG_OUT", abs_prefix, 1);
        setenv("MALLOG_FOLLOW", follow ? "1" : "0", 1);
        setenv("MALLOG_RUN", run, 1);
        setenv("MALLOG_FAILS", fails, 1);
        if (trap)
            setenv("MALLOG_TRAP", trap, 1);
        if (stacks) {
            char depth[16];
            snprintf(depth, sizeof depth, "%lu", stacks);
            setenv("MALLOG_STACKS", depth, 1);
            setenv("MALLOG_UNWIND", unwind, 1);
        } else {
            unsetenv("MALLOG_STACKS");
        }
        execvp(argv[optind], argv + optind);
        fprintf(stderr, "mallog record: %s: %s\n", argv[optind], strerror(errno));
        _exit(127);
    }
    free(preload);
    /* The terminal's ^C reaches the program directly; we stay to pack what it left. */
    signal(SIGINT, SIG_IGN);
    signal(SIGQUIT, SIG_IGN);
    forward_to = child;
    signal(SIGTERM, forward_signal);
    signal(SIGHUP, forward_signal);
    int status = 0, root_status = 0;
    struct live_pack lp = {.enabled = live};
    /* readable when the launched process ends: the pause below ends then, not 20 ms later */
    int pidfd = live ? (int)syscall(SYS_pidfd_open, child, 0) : -1;
    for (;;) {
        pid_t p = waitpid(-1, &status, lp.enabled ? WNOHANG : 0);
        if (p < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (p == 0) {
            /* Pack in bursts, well behind the program: reading the lines it is writing (and the
             * counter it increments) from the other core would slow every one of its calls. */
            children_poll(&cs, run, child);
            size_t done = children_pack(&cs, abs_prefix, run, level);
            if (live_step(&lp, abs_prefix, run, child, level) < LIVE_BURST && !done)
                pause_for_child(pidfd);
            continue;
        }
        remember(p, status);
        if (p == child) {
            root_status = status;
            break;
        }
    }
    forward_to = 0;
    if (pidfd >= 0)
        close(pidfd);
    live_finish(&lp, root_status);
    /* Orphaned descendants that already ended: collect how. Still-running ones stay spooled. */
    pid_t p;
    while ((p = waitpid(-1, &status, WNOHANG)) > 0)
        remember(p, status);
    int failures = pack_prefix("record", abs_prefix, run, child, root_status, level) + cs.failures;
    failures += fails_report(fails);
    if (cs.fd >= 0)
        close(cs.fd);
    free(cs.list);
    int rc = WIFSIGNALED(root_status) ? 128 + WTERMSIG(root_status) : WEXITSTATUS(root_status);
    if (failures) {
        /* exit 2 says the recording is incomplete; the program's own status is still told */
        if (WIFSIGNALED(root_status))
            msg_error("record", "the program was killed by signal %d (%s)", WTERMSIG(root_status),
                      strsignal(WTERMSIG(root_status)));
        else
            msg_error("record", "the program exited with status %d", rc);
        return EXIT_ERROR;
    }
    return rc;
}

int cmd_pack(int argc, char **argv)
{
    int level = 3;
    static const struct option opts[] = {{"level", required_argument, NULL, 'l'},
                                         {"max-size", required_argument, NULL, 'M'},
                                         {"keep", required_argument, NULL, 'K'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'M':
        case 'K':
            if (seg_option("pack", c, optarg) != 0)
                return EXIT_ERROR;
            break;
        case 'l': {
            uint64_t v;
            if (opt_u64("pack", "--level", optarg, 1, 22, &v) != 0) {
                fprintf(stderr, "usage: mallog pack [--level N] PREFIX...\n");
                return EXIT_ERROR;
            }
            level = (int)v;
            break;
        }
        case 'h':
            printf("usage: mallog pack [--level N] [--max-size SIZE [--keep N]] PREFIX...\n\n"
                   "Packs the spools PREFIX.*.spool that a recording left (a killed 'mallog "
                   "record', or a daemon that outlived it); --max-size and --keep as for record.\n");
            return 0;
        default: return EXIT_ERROR;
        }
    }
    if (optind >= argc || seg_check("pack") != 0) {
        fprintf(stderr, "usage: mallog pack [--level N] [--max-size SIZE [--keep N]] PREFIX...\n");
        return EXIT_ERROR;
    }
    int failures = 0;
    for (int i = optind; i < argc; i++) {
        char abs_prefix[PATH_MAX];
        if (absolute_prefix(argv[i], abs_prefix, sizeof abs_prefix) != 0) {
            msg_error("pack", "%s: %s", argv[i], strerror(errno));
            failures++;
            continue;
        }
        failures += pack_prefix("pack", abs_prefix, NULL, 0, 0, level);
    }
    return failures ? EXIT_ERROR : 0;
}

/* recording.c - knowledge of recordings: log names, finding the logs of a file, a directory or a
 * prefix, a forked child's parent log and inherited heap. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "msg.h"
#include "recording.h"

void rec_log_name(char *out, size_t len, const char *prefix, uint64_t pid, unsigned gen)
{
    if (gen)
        snprintf(out, len, "%s.%" PRIu64 ".%u.mlog", prefix, pid, gen);
    else
        snprintf(out, len, "%s.%" PRIu64 ".mlog", prefix, pid);
}

void rec_segment_name(char *out, size_t len, const char *prefix, uint64_t pid, unsigned gen,
                      unsigned k)
{
    char gen_part[16] = "";
    if (!k) {
        rec_log_name(out, len, prefix, pid, gen);
        return;
    }
    if (gen)
        snprintf(gen_part, sizeof gen_part, ".%u", gen);
    snprintf(out, len, "%s.%" PRIu64 "%s.s%u.mlog", prefix, pid, gen_part, k);
}

void rec_say_running(const char *cmd, const char *path, uint64_t pid, uint64_t events)
{
    msg_error(cmd, "%s: pid %" PRIu64 " is still running (its recording is in progress): read up "
                   "to event %" PRIu64 ", the last one packed", path, pid, events);
}

static int cmp_log(const void *a, const void *b)
{
    const struct rec_log *x = a, *y = b;
    if (x->header.start_realtime_ns != y->header.start_realtime_ns)
        return x->header.start_realtime_ns < y->header.start_realtime_ns ? -1 : 1;
    if (x->header.pid != y->header.pid)
        return x->header.pid < y->header.pid ? -1 : 1;
    return x->header.exec_gen < y->header.exec_gen ? -1 : x->header.exec_gen > y->header.exec_gen;
}

static int read_header(struct rec_log *l)
{
    struct mlg_reader *r;
    struct mlg_error err;
    if (mlg_reader_open(&r, l->path, NULL, &err) != 0)
        return -1;
    l->header = *mlg_reader_header(r);
    l->header_ok = 1;
    mlg_reader_close(r);
    return 0;
}

int rec_parse_pid(const char *cmd, const char *arg, struct rec_pid *out)
{
    /* PID or PID.GEN, decimal, nothing else: "--pid abc" must not mean "no --pid" */
    char *end;
    errno = 0;
    unsigned long long pid = strtoull(arg, &end, 10);
    long long gen = -1;
    int ok = isdigit((unsigned char)arg[0]) && errno == 0 && pid > 0 && pid <= INT32_MAX;
    if (ok && *end == '.') {
        const char *g = end + 1;
        gen = strtoll(g, &end, 10);
        ok = isdigit((unsigned char)g[0]) && errno == 0 && gen <= UINT32_MAX;
    }
    if (!ok || *end) {
        msg_error(cmd, "--pid: '%s' is not PID or PID.GEN (the process names `mallog info` prints)",
                  arg);
        return -1;
    }
    out->pid = pid;
    out->gen = gen;
    return 0;
}

void rec_pid_label(char *out, size_t len, const struct mlg_header *h)
{
    if (h->exec_gen)
        snprintf(out, len, "%" PRIu64 ".%u", h->pid, h->exec_gen);
    else
        snprintf(out, len, "%" PRIu64, h->pid);
}

/* 1 if the log of header h is a process sel chooses (every log when there is no selection). */
static int pid_selected(const struct rec_pid *sel, const struct rec_log *l)
{
    if (!sel || !sel->pid)
        return 1;
    return l->header_ok && l->header.pid == sel->pid &&
           (sel->gen < 0 || l->header.exec_gen == (uint32_t)sel->gen);
}

static void no_such_pid(const char *cmd, const char *arg, const struct rec_pid *sel)
{
    if (sel->gen >= 0)
        msg_error(cmd, "%s: no log of pid %" PRIu64 ".%lld (`mallog info %s` lists its processes)",
                  arg, sel->pid, sel->gen, arg);
    else
        msg_error(cmd, "%s: no log of pid %" PRIu64 " (`mallog info %s` lists its processes)", arg,
                  sel->pid, arg);
}

/* Whether a and b are segments of one process's log (same pid, image and start). */
static int same_log(const struct rec_log *a, const struct rec_log *b)
{
    return a->header_ok && b->header_ok && a->header.segment && b->header.segment &&
           a->header.pid == b->header.pid && a->header.exec_gen == b->header.exec_gen &&
           a->header.start_realtime_ns == b->header.start_realtime_ns;
}

/* One entry per log: a NAME.partial whose NAME exists too was completed a moment ago (NAME is
 * read); of a segmented log, the oldest segment present (the reader goes on into the next ones:
 * lib/reader.c). Returns the new count. */
static size_t one_per_log(struct rec_log *list, size_t n)
{
    size_t keep = 0;
    for (size_t i = 0; i < n; i++) {
        size_t pl = strlen(list[i].path);
        int drop = 0;
        for (size_t j = 0; j < n && !drop; j++) {
            if (j == i)
                continue;
            size_t jl = strlen(list[j].path);
            if (pl == jl + 8 && strncmp(list[i].path, list[j].path, jl) == 0)
                drop = 1; /* list[i] is list[j].partial */
            else if (same_log(&list[i], &list[j]) &&
                     (list[j].header.segment < list[i].header.segment ||
                      (list[j].header.segment == list[i].header.segment && j < i)))
                drop = 1; /* an older segment of the same log is listed */
        }
        if (!drop)
            list[keep++] = list[i];
    }
    return keep;
}

int rec_find_logs(const char *cmd, const char *arg, const struct rec_pid *sel,
                  struct rec_log **out)
{
    struct stat st;
    *out = NULL;
    if (stat(arg, &st) == 0 && S_ISREG(st.st_mode)) {
        struct rec_log *l = calloc(1, sizeof *l);
        snprintf(l->path, sizeof l->path, "%s", arg);
        read_header(l);
        if (!pid_selected(sel, l)) {
            /* a log named outright with a --pid it is not: say so rather than read it */
            no_such_pid(cmd, arg, sel);
            free(l);
            return -1;
        }
        *out = l;
        return 1;
    }
    char dirbuf[PATH_MAX], basebuf[PATH_MAX];
    const char *dir, *base;
    if (stat(arg, &st) == 0 && S_ISDIR(st.st_mode)) {
        dir = arg;
        base = "";
    } else {
        snprintf(dirbuf, sizeof dirbuf, "%s", arg);
        snprintf(basebuf, sizeof basebuf, "%s", arg);
        dir = dirname(dirbuf);
        base = basename(basebuf);
    }
    DIR *d = opendir(dir);
    if (!d) {
        msg_error(cmd, "%s: %s", arg, strerror(errno));
        return -1;
    }
    size_t blen = strlen(base), n = 0, cap = 0;
    struct rec_log *list = NULL;
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t l = strlen(de->d_name);
        /* a log, or one being written while its process runs (NAME.mlog.partial) */
        if (l > 8 && strcmp(de->d_name + l - 8, ".partial") == 0)
            l -= 8;
        if (l < 6 || strncmp(de->d_name + l - 5, ".mlog", 5) != 0)
            continue;
        if (blen && (strncmp(de->d_name, base, blen) != 0 || de->d_name[blen] != '.'))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            list = realloc(list, cap * sizeof *list);
        }
        memset(&list[n], 0, sizeof list[n]);
        snprintf(list[n].path, sizeof list[n].path, "%s/%s", dir, de->d_name);
        read_header(&list[n]);
        if (!pid_selected(sel, &list[n]))
            continue;
        n++;
    }
    closedir(d);
    n = one_per_log(list, n);
    if (n == 0) {
        if (sel && sel->pid)
            no_such_pid(cmd, arg, sel);
        else
            msg_error(cmd, "%s: no such log, directory or recording prefix", arg);
        free(list);
        return -1;
    }
    qsort(list, n, sizeof *list, cmp_log);
    *out = list;
    return (int)n;
}

int rec_parent_index(const struct rec_log *logs, int n, int i)
{
    const struct mlg_header *h = &logs[i].header;
    int best = -1;
    for (int k = 0; k < n; k++) {
        const struct mlg_header *p = &logs[k].header;
        if (k == i || !logs[k].header_ok)
            continue;
        if (h->parent_pid) {
            if (p->pid == h->parent_pid && p->exec_gen == h->parent_gen)
                return k;
        } else if (p->pid == h->ppid && p->start_realtime_ns <= h->start_realtime_ns &&
                   (best < 0 || p->exec_gen > logs[best].header.exec_gen)) {
            best = k;
        }
    }
    return best;
}

/* The root of log i's process tree: the log no other log of the list started. */
static int root_index(const struct rec_log *logs, int n, int i)
{
    for (int steps = 0; steps < n; steps++) { /* bounded: a damaged set may link in a circle */
        int p = rec_parent_index(logs, n, i);
        if (p < 0)
            break;
        i = p;
    }
    return i;
}

int rec_pick_log(const char *cmd, const char *arg, const struct rec_pid *sel, char *path,
                 size_t len)
{
    struct rec_log *logs;
    int n = rec_find_logs(cmd, arg, sel, &logs);
    if (n < 0)
        return -1;
    if (n == 1) {
        snprintf(path, len, "%s", logs[0].path);
        free(logs);
        return 0;
    }
    /* Several logs. Those of one prefix may come from several recordings (runs of `mallog record`
     * with the same -o): each is a tree; the newest tree is read. Within it, the process with the
     * most events: the root of `sh -c ...` or of a pyenv shim is rarely the program. */
    struct rec_log *all;
    int nall = sel && sel->pid ? rec_find_logs(cmd, arg, NULL, &all) : (all = logs, n);
    if (nall < 0)
        nall = 0;
    int newest_root = -1, recordings = 0;
    int *root = calloc((size_t)n, sizeof *root);
    for (int i = 0; root && i < n; i++) {
        int a = 0; /* logs[i] in all[] */
        while (a < nall && strcmp(all[a].path, logs[i].path) != 0)
            a++;
        root[i] = a < nall ? root_index(all, nall, a) : -1;
        int seen = 0;
        for (int k = 0; k < i; k++)
            seen |= root[k] == root[i];
        recordings += !seen;
        if (root[i] >= 0 && (newest_root < 0 || all[root[i]].header.start_realtime_ns >
                                                    all[newest_root].header.start_realtime_ns))
            newest_root = root[i];
    }
    int pick = -1;
    uint64_t most = 0;
    for (int i = 0; i < n; i++) {
        if (root && recordings > 1 && root[i] != newest_root)
            continue;
        uint64_t events = 0;
        struct mlg_error err;
        mlg_log_events(logs[i].path, &events, &err);
        if (pick < 0 || events > most) {
            pick = i;
            most = events;
        }
    }
    char label[64], root_label[64];
    rec_pid_label(label, sizeof label, &logs[pick].header);
    if (recordings > 1 && newest_root >= 0) {
        rec_pid_label(root_label, sizeof root_label, &all[newest_root].header);
        msg_error(cmd, "%s holds %d recordings; reading the newest (root pid %s); give a log "
                       "file, or record each run with its own -o", arg, recordings, root_label);
    }
    if (msg_verbosity > 0)
        msg_error(cmd, "%s holds %d logs; reading pid %s (%s), the process with the most events "
                       "(%" PRIu64 "); choose another with --pid PID[.GEN] (`mallog info %s` "
                       "lists them)", arg, n, label, logs[pick].path, most, arg);
    snprintf(path, len, "%s", logs[pick].path);
    free(root);
    if (all != logs)
        free(all);
    free(logs);
    return 0;
}

/* Whether the directory of prefix holds a segment of pid/gen's log (any k): a directory scan,
 * done only when segment 1 is not there (--keep deleted it). */
static int segmented_beside(const char *prefix, uint64_t pid, unsigned gen)
{
    char dirbuf[PATH_MAX], basebuf[PATH_MAX], stem[PATH_MAX];
    snprintf(dirbuf, sizeof dirbuf, "%s", prefix);
    snprintf(basebuf, sizeof basebuf, "%s", prefix);
    rec_log_name(stem, sizeof stem, basename(basebuf), pid, gen);
    size_t sl = strlen(stem) - 4; /* "<base>.<pid>[.<gen>]." */
    DIR *d = opendir(dirname(dirbuf));
    if (!d)
        return 0;
    int found = 0;
    struct dirent *de;
    while (!found && (de = readdir(d)))
        found = strncmp(de->d_name, stem, sl) == 0 && de->d_name[sl] == 's' &&
                isdigit((unsigned char)de->d_name[sl + 1]);
    closedir(d);
    return found;
}

int rec_parent_log(const char *path, const struct mlg_header *h, char *out, size_t len)
{
    if (!h->parent_pid || h->parent_pid == h->pid)
        return -1; /* not forked (an exec'd image starts with a fresh heap) */
    /* strip ".<pid>[.<gen>][.s<k>].mlog[.partial]" to get the recording prefix */
    char pre[PATH_MAX], tail[PATH_MAX];
    snprintf(pre, sizeof pre, "%s", path);
    size_t pl = strlen(pre), tl;
    if (pl > 8 && strcmp(pre + pl - 8, ".partial") == 0)
        pre[pl -= 8] = 0;
    rec_segment_name(tail, sizeof tail, "", h->pid, h->exec_gen, h->segment);
    tl = strlen(tail);
    if (pl <= tl || strcmp(pre + pl - tl, tail) != 0)
        return -1;
    pre[pl - tl] = 0;
    /* the parent's whole log, or its oldest segment present (the reader goes on from there), or
     * either being written while the parent runs */
    struct stat st;
    for (unsigned k = 0; k <= 100000; k++) {
        rec_segment_name(out, len, pre, h->parent_pid, h->parent_gen, k);
        if (stat(out, &st) == 0)
            return 0;
        size_t ol = strlen(out);
        if (ol + 9 <= len) {
            strcpy(out + ol, ".partial");
            if (stat(out, &st) == 0)
                return 0;
            out[ol] = 0;
        }
        if (k == 1 && !segmented_beside(pre, h->parent_pid, h->parent_gen))
            break; /* no segment 1 or later: no need to look further */
    }
    rec_log_name(out, len, pre, h->parent_pid, h->parent_gen);
    return -1;
}

int rec_fork_chain(const char *path, const struct mlg_header *h, const struct mlg_allocator *alloc,
                   void (*fn)(void *ctx, const char *parent, uint64_t upto), void *ctx)
{
    char parent[PATH_MAX];
    if (rec_parent_log(path, h, parent, sizeof parent) != 0)
        return 0;
    struct mlg_reader *r;
    struct mlg_error err;
    if (mlg_reader_open(&r, parent, alloc, &err) != 0)
        return 0;
    struct mlg_header ph = *mlg_reader_header(r);
    mlg_reader_close(r);
    /* the parent's own heap came from its parent: the oldest ancestor goes first */
    int depth = 1 + rec_fork_chain(parent, &ph, alloc, fn, ctx);
    fn(ctx, parent, h->fork_seq);
    return depth;
}

static void seed_one(void *ctx, const char *parent, uint64_t upto)
{
    struct mlg_error err;
    mlg_check_seed(ctx, parent, upto, &err);
}

int rec_seed_inherited(struct mlg_check *c, const char *path, const struct mlg_header *h)
{
    return rec_fork_chain(path, h, NULL, seed_one, c);
}

void rec_recording_of(const char *arg, char *out, size_t len)
{
    snprintf(out, len, "%s", arg);
    struct mlg_reader *r;
    struct mlg_error err;
    struct stat st;
    if (stat(arg, &st) != 0 || !S_ISREG(st.st_mode) || mlg_reader_open(&r, arg, NULL, &err) != 0)
        return;
    struct mlg_header h = *mlg_reader_header(r);
    mlg_reader_close(r);
    char tail[128];
    rec_log_name(tail, sizeof tail, "", h.pid, h.exec_gen);
    size_t ol = strlen(out), tl = strlen(tail);
    if (ol > tl && strcmp(out + ol - tl, tail) == 0)
        out[ol - tl] = 0;
}

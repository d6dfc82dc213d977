/* recording.c - knowledge of recordings: log names, finding the logs of a file, a directory or a
 * prefix, a forked child's parent log and inherited heap. */
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

int rec_find_logs(const char *cmd, const char *arg, uint64_t pid, struct rec_log **out)
{
    struct stat st;
    *out = NULL;
    if (stat(arg, &st) == 0 && S_ISREG(st.st_mode)) {
        struct rec_log *l = calloc(1, sizeof *l);
        snprintf(l->path, sizeof l->path, "%s", arg);
        read_header(l);
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
        if (l < 6 || strcmp(de->d_name + l - 5, ".mlog") != 0)
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
        if (pid && (!list[n].header_ok || list[n].header.pid != pid))
            continue;
        n++;
    }
    closedir(d);
    if (n == 0) {
        if (pid)
            msg_error(cmd, "%s: no log of pid %" PRIu64, arg, pid);
        else
            msg_error(cmd, "%s: no such log, directory or recording prefix", arg);
        free(list);
        return -1;
    }
    qsort(list, n, sizeof *list, cmp_log);
    *out = list;
    return (int)n;
}

int rec_pick_log(const char *cmd, const char *arg, uint64_t pid, char *path, size_t len)
{
    struct rec_log *logs;
    int n = rec_find_logs(cmd, arg, pid, &logs);
    if (n < 0)
        return -1;
    int pick = 0;
    if (n > 1 && !pid) {
        /* Several processes: the root (the one no other log of this recording forked). */
        fprintf(stderr, "mallog %s: %s holds %d logs; reading the first process (%s); "
                        "choose another with --pid\n", cmd, arg, n, logs[0].path);
    }
    snprintf(path, len, "%s", logs[pick].path);
    free(logs);
    return 0;
}

int rec_parent_log(const char *path, const struct mlg_header *h, char *out, size_t len)
{
    if (!h->parent_pid || h->parent_pid == h->pid)
        return -1; /* not forked (an exec'd image starts with a fresh heap) */
    /* strip ".<pid>[.<gen>].mlog" to get the recording prefix */
    char pre[PATH_MAX], tail[PATH_MAX];
    snprintf(pre, sizeof pre, "%s", path);
    rec_log_name(tail, sizeof tail, "", h->pid, h->exec_gen);
    size_t pl = strlen(pre), tl = strlen(tail);
    if (pl <= tl || strcmp(pre + pl - tl, tail) != 0)
        return -1;
    pre[pl - tl] = 0;
    rec_log_name(out, len, pre, h->parent_pid, h->parent_gen);
    struct stat st;
    return stat(out, &st) == 0 ? 0 : -1;
}

int rec_seed_inherited(struct mlg_check *c, const char *path, const struct mlg_header *h)
{
    char parent[PATH_MAX];
    if (rec_parent_log(path, h, parent, sizeof parent) != 0)
        return 0;
    struct mlg_reader *r;
    struct mlg_error err;
    if (mlg_reader_open(&r, parent, NULL, &err) != 0)
        return 0;
    struct mlg_header ph = *mlg_reader_header(r);
    mlg_reader_close(r);
    int depth = 1 + rec_seed_inherited(c, parent, &ph);
    mlg_check_seed(c, parent, h->fork_seq, &err);
    return depth;
}

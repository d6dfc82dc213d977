/* report_fork.c - the report's "Fork and copy-on-write" section (issue 22), written only when
 * the recording has a process forked from another whose log is there: `mallog replay LOG --tree`
 * into DIR/tree/, then per allocator the tree's memory, a table of its processes and a chart of
 * each forked process's un-shared inherited bytes over its own events (inline SVG, from
 * replay.<alloc>.tree.tsv). Reads the replay's JSON/TSV; never a .mlog beyond its header. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../common/msg.h"
#include "../common/recording.h"
#include "plots.h"

static const char *const colours[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd",
                                      "#ff7f0e", "#8c564b", "#e377c2", "#17becf"};

/* Whether the recording log names has a forked process whose parent's log is there too. */
static int has_forked_child(const char *log)
{
    struct rec_log *logs;
    int n = rec_find_logs("report", log, NULL, &logs), found = 0;
    for (int i = 0; i < n && !found; i++) {
        const struct mlg_header *h = &logs[i].header;
        if (!h->parent_pid || h->parent_pid == h->pid)
            continue;
        for (int k = 0; k < n && !found; k++)
            found = logs[k].header.pid == h->parent_pid &&
                    logs[k].header.exec_gen == h->parent_gen;
    }
    if (n >= 0)
        free(logs);
    return found;
}

/* `mallog -q replay LOG --tree -o DIR/tree [-a LIST]`, stdout into DIR/tree/replay.txt. The
 * exit code, or -1 if it could not run. */
static int run_tree(const char *dir, const char *log, const char *alist)
{
    char tdir[4200], out[4300];
    snprintf(tdir, sizeof tdir, "%s/tree", dir);
    snprintf(out, sizeof out, "%s/replay.txt", tdir);
    if (mkdir(tdir, 0777) < 0 && errno != EEXIST)
        return -1;
    char *av[12];
    int n = 0;
    av[n++] = "mallog";
    av[n++] = "-q";
    av[n++] = "replay";
    av[n++] = (char *)log;
    av[n++] = "--tree";
    av[n++] = "-o";
    av[n++] = tdir;
    if (alist && *alist) {
        av[n++] = "-a";
        av[n++] = (char *)alist;
    }
    av[n] = NULL;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int nul = open("/dev/null", O_WRONLY);
        if (fd < 0 || nul < 0)
            _exit(127);
        dup2(fd, 1);
        dup2(nul, 2);
        execv("/proc/self/exe", av);
        _exit(127);
    }
    if (pid < 0)
        return -1;
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The chart: for each forked process of the allocator's tree TSV, its un-shared inherited bytes
 * over its own events (x: 0 to its last event). */
static void write_svg(FILE *f, const char *tsv)
{
    size_t len;
    char *text = json_read_file(tsv, &len);
    if (!text)
        return;
    enum { W = 760, H = 260, L = 70, R = 150, T = 12, BOT = 36 };
    /* two passes over the rows: the ranges, then the lines */
    uint64_t ymax = 1, pids[64];
    uint64_t xmax[64] = {0};
    int np = 0;
    for (int pass = 0; pass < 2; pass++) {
        uint64_t cur = 0;
        int open_line = 0, idx = -1;
        char *p = strchr(text, '\n');
        while (p && *++p) {
            uint64_t v[8] = {0};
            char *q = p;
            for (int c = 0; c < 8; c++) {
                v[c] = strtoull(q, &q, 10);
                if (*q == '\t')
                    q++;
            }
            p = strchr(p, '\n');
            if (!v[1]) /* a root: nothing inherited */
                continue;
            if (pass == 0) {
                int k = 0;
                while (k < np && pids[k] != v[0])
                    k++;
                if (k == np && np < 64)
                    pids[np++] = v[0];
                if (k < np && v[2] > xmax[k])
                    xmax[k] = v[2];
                if (v[4] > ymax)
                    ymax = v[4];
                continue;
            }
            if (v[0] != cur || !open_line) {
                if (open_line)
                    fprintf(f, "\"/>\n");
                cur = v[0];
                idx = 0;
                while (idx < np && pids[idx] != cur)
                    idx++;
                if (idx == np)
                    break;
                fprintf(f, "<polyline fill=\"none\" stroke-width=\"2\" stroke=\"%s\" points=\"",
                        colours[idx % 8]);
                open_line = 1;
            }
            double x = L + (double)(W - L - R) * (double)v[2] / (double)(xmax[idx] ? xmax[idx] : 1);
            double y = T + (double)(H - T - BOT) * (1.0 - (double)v[4] / (double)ymax);
            fprintf(f, "%.1f,%.1f ", x, y);
        }
        if (pass == 0) {
            if (!np)
                break;
            fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
                       "viewBox=\"0 0 %d %d\" font-size=\"11\" font-family=\"sans-serif\">\n",
                    W, H, W, H);
            fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" "
                       "stroke=\"#999\"/>\n",
                    L, T, W - L - R, H - T - BOT);
            char b[32];
            fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%s</text>\n", L - 4, T + 8,
                    plots_fmt_bytes(ymax, b, sizeof b));
            fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">0</text>\n", L - 4, H - BOT);
            fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">each forked process's own "
                       "events, 0 to its last (x); inherited bytes un-shared (y)</text>\n",
                    (W - R + L) / 2, H - 10);
        } else if (open_line) {
            fprintf(f, "\"/>\n");
        }
    }
    if (np) {
        for (int k = 0; k < np && k < 16; k++)
            fprintf(f, "<text x=\"%d\" y=\"%d\" fill=\"%s\">pid %" PRIu64 "</text>\n", W - R + 8,
                    T + 12 + 14 * k, colours[k % 8], pids[k]);
        if (np > 16)
            fprintf(f, "<text x=\"%d\" y=\"%d\">(+%d more)</text>\n", W - R + 8, T + 12 + 14 * 16,
                    np - 16);
        fprintf(f, "</svg>\n");
    }
    free(text);
}

/* One allocator's table of processes, from its replay JSON. */
static void write_table(FILE *f, const char *js)
{
    char a[32], b[32], c[32], d[32];
    uint64_t pk = 0, end = 0, shared = 0, master = 0;
    json_u64(js, "tree_pss_peak", &pk);
    json_u64(js, "tree_pss_end", &end);
    json_u64(js, "tree_shared_end", &shared);
    json_u64(js, "master_unshared_bytes", &master);
    fprintf(f, "<p>The tree's memory (PSS of the allocator's mappings, summed over its processes): "
               "peak %s, at the end %s, of which still shared %s. The master un-shared %s of its "
               "heap after forking.</p>\n",
            plots_fmt_bytes(pk, a, sizeof a), plots_fmt_bytes(end, b, sizeof b),
            plots_fmt_bytes(shared, c, sizeof c), plots_fmt_bytes(master, d, sizeof d));
    fprintf(f, "<table><tr><th>pid</th><th>fork parent</th><th>events</th><th>inherited</th>"
               "<th>un-shared</th><th>un-shared peak</th><th>new</th><th>PSS</th></tr>\n");
    int n = json_array_len(js, "processes");
    for (int i = 0; i < n && i < 200; i++) {
        char path[64];
        uint64_t v[7] = {0};
        static const char *const keys[] = {"pid",
                                           "fork_parent",
                                           "events",
                                           "inherited_bytes",
                                           "unshared_inherited_bytes",
                                           "unshared_inherited_peak",
                                           "new_bytes"};
        for (int k = 0; k < 7; k++) {
            snprintf(path, sizeof path, "processes[%d].%s", i, keys[k]);
            json_u64(js, path, &v[k]);
        }
        uint64_t pss = 0;
        snprintf(path, sizeof path, "processes[%d].pss_bytes", i);
        json_u64(js, path, &pss);
        char e[32];
        fprintf(f, "<tr><td>%" PRIu64 "</td><td>", v[0]);
        if (v[1])
            fprintf(f, "%" PRIu64, v[1]);
        else
            fprintf(f, "-");
        fprintf(f, "</td><td>%" PRIu64 "</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td>"
                   "<td>%s</td></tr>\n",
                v[2], v[1] ? plots_fmt_bytes(v[3], a, sizeof a) : "-",
                plots_fmt_bytes(v[4], b, sizeof b), plots_fmt_bytes(v[5], c, sizeof c),
                plots_fmt_bytes(v[6], d, sizeof d), plots_fmt_bytes(pss, e, sizeof e));
    }
    if (n > 200)
        fprintf(f, "<tr><td colspan=\"8\">... and %d more processes</td></tr>\n", n - 200);
    fprintf(f, "</table>\n");
}

int report_fork_section(FILE *f, const char *dir, const char *arg, const struct plots_alloc *as,
                        int n)
{
    const char *allocs[PLOTS_MAX_ALLOCS];
    int nallocs = 0;
    for (int i = 0; i < n && nallocs < PLOTS_MAX_ALLOCS; i++)
        allocs[nallocs++] = as[i].name;
    char log[4096];
    rec_recording_of(arg, log, sizeof log); /* a log file stands for its recording */
    if (!has_forked_child(log))
        return 0;
    char alist[1024] = "";
    size_t used = 0;
    for (int i = 0; i < nallocs; i++) { /* the allocators of the report (tuned ones left out) */
        if (strchr(allocs[i], '+') || used + strlen(allocs[i]) + 2 > sizeof alist)
            continue;
        used += (size_t)snprintf(alist + used, sizeof alist - used, "%s%s", used ? "," : "",
                                 allocs[i]);
    }
    fprintf(f, "<h2 id=\"fork\">Fork and copy-on-write</h2>\n");
    int rc = run_tree(dir, log, alist);
    fprintf(f, "<p>The recording was replayed as a process tree (<code>mallog replay --tree</code>): "
               "at each recorded fork point the replay really forks, so the child starts with "
               "the allocator's real heap, its pages shared copy-on-write. <b>Un-shared</b>: "
               "pages of the inherited heap the process now holds alone (the kernel's page map "
               "over the pages present at the fork), made private by the replayed calls: frees "
               "of inherited blocks write the allocator's bookkeeping, new blocks land in "
               "inherited pages. This is the allocator's part of copy-on-write, a lower bound: "
               "the program's own writes into inherited objects (reference counts, caches "
               "updated in place) are not allocator calls and are not in the log.</p>\n");
    if (rc != 0)
        fprintf(f, "<p class=\"warn\">The tree replay failed (exit %d); see "
                   "<a href=\"tree/replay.txt\">tree/replay.txt</a>.</p>\n",
                rc);
    char path[4300];
    snprintf(path, sizeof path, "%s/tree/replay.txt", dir);
    size_t len;
    char *txt = json_read_file(path, &len);
    char *fl = txt ? strstr(txt, "\nfinding: ") : NULL;
    if (fl) {
        char *eol = strchr(fl + 1, '\n');
        if (eol)
            *eol = 0;
        fprintf(f, "<p><b>Finding</b>: ");
        msg_xml_escape(f, fl + 10);
        fprintf(f, ".</p>\n");
    }
    free(txt);
    for (int i = 0; i < nallocs; i++) {
        snprintf(path, sizeof path, "%s/tree/replay.%s.json", dir, allocs[i]);
        char *js = json_read_file(path, &len);
        if (!js)
            continue;
        fprintf(f, "<h3>");
        msg_xml_escape(f, allocs[i]);
        fprintf(f, "</h3>\n");
        write_table(f, js);
        free(js);
        snprintf(path, sizeof path, "%s/tree/replay.%s.tree.tsv", dir, allocs[i]);
        write_svg(f, path);
        fprintf(f, "<p class=\"meta\"><a href=\"tree/replay.");
        msg_xml_escape(f, allocs[i]);
        fprintf(f, ".json\">json</a> <a href=\"tree/replay.");
        msg_xml_escape(f, allocs[i]);
        fprintf(f, ".tree.tsv\">tsv</a></p>\n");
    }
    return 1;
}

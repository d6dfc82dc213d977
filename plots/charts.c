/* charts.c - runs the gnuplot scripts of plots/ on replay/stats output. gnuplot runs in the data
 * directory (scripts name files relative to it) with every input passed as a -e variable; the
 * scripts read columns by header name, so a new TSV column never breaks a chart. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../common/allocators.h"
#include "../common/msg.h"
#include "plots.h"

static const char *const chart_names[] = {
#define PLOTS_X_NAME(name, script, desc) #name,
    PLOTS_CHARTS(PLOTS_X_NAME)
#undef PLOTS_X_NAME
};
static const char *const chart_scripts[] = {
#define PLOTS_X_SCRIPT(name, script, desc) script,
    PLOTS_CHARTS(PLOTS_X_SCRIPT)
#undef PLOTS_X_SCRIPT
};
static const char *const chart_descs[] = {
#define PLOTS_X_DESC(name, script, desc) desc,
    PLOTS_CHARTS(PLOTS_X_DESC)
#undef PLOTS_X_DESC
};

const char *plots_chart_name(int chart)
{
    return chart >= 0 && chart < PLOT_COUNT ? chart_names[chart] : "?";
}

const char *plots_chart_desc(int chart)
{
    return chart >= 0 && chart < PLOT_COUNT ? chart_descs[chart] : "?";
}

int plots_chart_from_name(const char *name)
{
    for (int i = 0; i < PLOT_COUNT; i++)
        if (strcmp(name, chart_names[i]) == 0)
            return i;
    return -1;
}

static int has_scripts(const char *dir)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/memory.gp", dir);
    return access(p, R_OK) == 0;
}

const char *plots_scripts_dir(void)
{
    static char dir[4096];
    const char *env = getenv("MALLOG_PLOTS_DIR");
    if (env && *env && has_scripts(env))
        return env;
    char self[4096] = ".";
    ssize_t sn = readlink("/proc/self/exe", self, sizeof self - 1);
    if (sn > 0) {
        self[sn] = 0;
        char *slash = strrchr(self, '/');
        if (slash)
            *slash = 0;
    }
    static const char *const rel[] = {"/../../plots", "/../share/mallog/plots", "/plots"};
    for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++) {
        char p[4096];
        snprintf(p, sizeof p, "%s%s", self, rel[i]);
        if (has_scripts(p) && realpath(p, dir))
            return dir;
    }
    return NULL;
}

int plots_have_gnuplot(void)
{
    const char *path = getenv("PATH");
    if (!path)
        path = "/usr/bin:/bin";
    char buf[4200];
    while (*path) {
        size_t n = strcspn(path, ":");
        snprintf(buf, sizeof buf, "%.*s/gnuplot", (int)n, path);
        if (n && access(buf, X_OK) == 0)
            return 1;
        path += n + (path[n] == ':');
    }
    return 0;
}

/* Known allocators first, in the order of the list (common/allocators.h). */
static int alloc_rank(const char *name)
{
    return allocators_find(name, strlen(name));
}

static int cmp_alloc(const void *a, const void *b)
{
    const char *x = a, *y = b;
    int rx = alloc_rank(x), ry = alloc_rank(y);
    return rx != ry ? rx - ry : strcmp(x, y);
}

int plots_find_allocs(const char *dir, char names[][64], int max)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < max) {
        size_t len = strlen(e->d_name);
        if (len <= 11 || strncmp(e->d_name, "replay.", 7) != 0 ||
            strcmp(e->d_name + len - 4, ".tsv") != 0 || len - 11 >= 64)
            continue;
        /* names go into gnuplot word lists and quoted strings: plain characters only */
        const char *nm = e->d_name + 7;
        size_t nl = len - 11, k;
        for (k = 0; k < nl; k++)
            if (!(nm[k] == '-' || nm[k] == '_' || nm[k] == '.' || nm[k] == '+' ||
                  (nm[k] >= '0' && nm[k] <= '9') || (nm[k] >= 'a' && nm[k] <= 'z') ||
                  (nm[k] >= 'A' && nm[k] <= 'Z')))
                break;
        if (k < nl)
            continue;
        memcpy(names[n], nm, nl);
        names[n][nl] = 0;
        n++;
    }
    closedir(d);
    qsort(names, (size_t)n, sizeof names[0], cmp_alloc);
    return n;
}

long plots_tsv_rows(const char *dir, const char *file)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/%s", dir, file);
    FILE *f = fopen(p, "r");
    if (!f)
        return -1;
    long lines = 0;
    int c, last = '\n';
    while ((c = getc(f)) != EOF) {
        if (c == '\n')
            lines++;
        last = c;
    }
    fclose(f);
    if (last != '\n')
        lines++;
    return lines > 0 ? lines - 1 : 0;
}

int plots_tsv_has_column(const char *dir, const char *file, const char *col)
{
    char p[4200], line[4096];
    snprintf(p, sizeof p, "%s/%s", dir, file);
    FILE *f = fopen(p, "r");
    if (!f)
        return 0;
    int found = 0;
    if (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = 0;
        for (char *tok = strtok(line, "\t"); tok; tok = strtok(NULL, "\t"))
            if (strcmp(tok, col) == 0)
                found = 1;
    }
    fclose(f);
    return found;
}

int plots_tsv_span(const char *dir, const char *file, const char *col, double *lo, double *hi)
{
    char p[4200], line[4096];
    snprintf(p, sizeof p, "%s/%s", dir, file);
    FILE *f = fopen(p, "r");
    if (!f)
        return -1;
    int idx = -1, found = 0;
    if (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = 0;
        int k = 0;
        for (char *save, *tok = strtok_r(line, "\t", &save); tok; tok = strtok_r(NULL, "\t", &save), k++)
            if (strcmp(tok, col) == 0)
                idx = k;
    }
    while (idx >= 0 && fgets(line, sizeof line, f)) {
        char *save, *tok = strtok_r(line, "\t\r\n", &save);
        for (int k = 0; tok && k < idx; k++)
            tok = strtok_r(NULL, "\t\r\n", &save);
        char *end;
        double v = tok ? strtod(tok, &end) : 0;
        if (!tok || end == tok)
            continue;
        if (!found || v < *lo)
            *lo = v;
        if (!found || v > *hi)
            *hi = v;
        found = 1;
    }
    fclose(f);
    return found ? 0 : -1;
}

static const char *chart_input(int chart)
{
    switch (chart) {
    case PLOT_sizes: return "sizes.tsv";
    case PLOT_lifetimes: return "lifetimes.tsv";
    case PLOT_reallocs: return "reallocs.tsv";
    case PLOT_cumulative: return "timeline.tsv";
    default: return NULL; /* replay.*.tsv */
    }
}

int plots_chart_available(const char *dir, int chart, const char **why)
{
    const char *in = chart_input(chart);
    if (!in) {
        char names[PLOTS_MAX_ALLOCS][64];
        int n = plots_find_allocs(dir, names, PLOTS_MAX_ALLOCS);
        for (int i = 0; i < n; i++) {
            char f[128];
            snprintf(f, sizeof f, "replay.%s.tsv", names[i]);
            if (plots_tsv_rows(dir, f) > 0)
                return 1;
        }
        *why = "no replay.<allocator>.tsv with data (mallog replay LOG -o DIR)";
        return 0;
    }
    long rows = plots_tsv_rows(dir, in);
    if (rows < 0) {
        *why = chart == PLOT_reallocs     ? "no reallocs.tsv (mallog stats LOG --tsv DIR)"
               : chart == PLOT_cumulative ? "no timeline.tsv (mallog stats LOG --tsv DIR)"
               : chart == PLOT_sizes      ? "no sizes.tsv (mallog stats LOG --tsv DIR)"
                                          : "no lifetimes.tsv (mallog stats LOG --tsv DIR)";
        return 0;
    }
    if (rows == 0) {
        *why = chart == PLOT_reallocs ? "the log has no realloc chains" : "no data rows";
        return 0;
    }
    return 1;
}

/* Appends name='value'; with the value's single quotes doubled (gnuplot's escape). */
static void add_str(char *buf, size_t len, const char *name, const char *value)
{
    size_t n = strlen(buf);
    n += (size_t)snprintf(buf + n, n < len ? len - n : 0, "%s='", name);
    for (const char *p = value; *p && n + 3 < len; p++) {
        buf[n++] = *p;
        if (*p == '\'')
            buf[n++] = '\'';
    }
    if (n + 2 < len) {
        buf[n++] = '\'';
        buf[n++] = ';';
    }
    buf[n < len ? n : len - 1] = 0;
}

static void add_num(char *buf, size_t len, const char *name, double v)
{
    size_t n = strlen(buf);
    snprintf(buf + n, n < len ? len - n : 0, "%s=%.17g;", name, v);
}

/* out and o->statsout made absolute into outabs and statsabs ("" when none): gnuplot runs in
 * o->dir, where a relative path would name another file. 0, or -1 (said). */
static int abs_paths(const struct plot_opts *o, const char *out, const char *cmd, char *outabs,
                     size_t outabs_len, char *statsabs, size_t statsabs_len)
{
    if (out[0] == '/')
        snprintf(outabs, outabs_len, "%s", out);
    else {
        char cwd[2048];
        if (!getcwd(cwd, sizeof cwd)) {
            msg_error(cmd, "getcwd: %s", strerror(errno));
            return -1;
        }
        snprintf(outabs, outabs_len, "%s/%s", cwd, out);
    }
    if (o->statsout) {
        if (o->statsout[0] == '/')
            snprintf(statsabs, statsabs_len, "%s", o->statsout);
        else {
            char cwd[2048];
            if (getcwd(cwd, sizeof cwd))
                snprintf(statsabs, statsabs_len, "%s/%s", cwd, o->statsout);
        }
    }
    return 0;
}

/* A zoom that misses the data entirely: say so, instead of gnuplot's "all points y value
 * undefined". The histograms cover the whole log and ignore the zoom. 0, or -1 (said). */
static int check_zoom(int chart, const struct plot_opts *o, const char *cmd)
{
    if (!(o->has_xmin || o->has_xmax) || chart == PLOT_sizes || chart == PLOT_lifetimes)
        return 0;
    char first[128];
    const char *file = chart_input(chart), *col = "event";
    if (!file) {
        char names[PLOTS_MAX_ALLOCS][64];
        if (plots_find_allocs(o->dir, names, PLOTS_MAX_ALLOCS) > 0)
            snprintf(first, sizeof first, "replay.%s.tsv", names[0]);
        else
            first[0] = 0;
        file = first;
    }
    if (chart == PLOT_reallocs)
        col = "start_event";
    else if (o->xtime)
        col = "time_ns";
    double lo = 0, hi = 0;
    if (*file && plots_tsv_span(o->dir, file, col, &lo, &hi) == 0) {
        if (o->xtime && chart != PLOT_reallocs) {
            lo /= 1e9;
            hi /= 1e9;
        }
        /* (a realloc chain that starts before xmin may still reach into the range) */
        if ((o->has_xmin && o->xmin > hi && chart != PLOT_reallocs) ||
            (o->has_xmax && o->xmax < lo)) {
            msg_error(cmd, "%s chart: nothing in the range %g:%g (%s covers %g..%g)",
                        chart_names[chart], o->has_xmin ? o->xmin : lo,
                        o->has_xmax ? o->xmax : hi, file, lo, hi);
            return -1;
        }
    }
    return 0;
}

/* The gnuplot -e variables of a chart: the scripts read their inputs and settings only from
 * these. The replay charts get the replay TSVs that have rows, each with its allocator's name.
 * Returns a string the caller frees, or NULL (no memory). */
static char *chart_vars(int chart, const struct plot_opts *o, const char *term, const char *sdir,
                        const char *outabs, const char *statsabs)
{
    size_t vlen = 16384;
    char *vars = calloc(1, vlen);
    if (!vars)
        return NULL;
    add_str(vars, vlen, "dir_scripts", sdir);
    add_str(vars, vlen, "term", term);
    add_str(vars, vlen, "out", outabs);
    if (o->title && *o->title)
        add_str(vars, vlen, "title", o->title);
    if (statsabs[0])
        add_str(vars, vlen, "statsout", statsabs);
    if (o->has_xmin)
        add_num(vars, vlen, "xmin", o->xmin);
    if (o->has_xmax)
        add_num(vars, vlen, "xmax", o->xmax);
    add_num(vars, vlen, "xtime", o->xtime);
    if (o->note && *o->note && chart == PLOT_memory)
        add_str(vars, vlen, "note", o->note);
    if (!chart_input(chart)) {
        char names[PLOTS_MAX_ALLOCS][64], files[PLOTS_MAX_ALLOCS * 80] = "",
             words[PLOTS_MAX_ALLOCS * 66] = "";
        int n = plots_find_allocs(o->dir, names, PLOTS_MAX_ALLOCS);
        for (int i = 0; i < n; i++) {
            char f[128];
            snprintf(f, sizeof f, "replay.%s.tsv", names[i]);
            if (plots_tsv_rows(o->dir, f) <= 0)
                continue;
            size_t fl = strlen(files), wl = strlen(words);
            snprintf(files + fl, sizeof files - fl, "%s%s", fl ? " " : "", f);
            snprintf(words + wl, sizeof words - wl, "%s%s", wl ? " " : "", names[i]);
        }
        add_str(vars, vlen, "files", files);
        add_str(vars, vlen, "names", words);
    } else {
        const char *var = chart == PLOT_sizes        ? "sizes"
                          : chart == PLOT_lifetimes  ? "lifetimes"
                          : chart == PLOT_reallocs   ? "reallocs"
                                                     : "timeline";
        add_str(vars, vlen, var, chart_input(chart));
        if (chart == PLOT_reallocs)
            add_num(vars, vlen, "has_end",
                    plots_tsv_has_column(o->dir, "reallocs.tsv", "end_event"));
    }
    return vars;
}

/* Runs `gnuplot -e vars script` in dir and waits for it: its stdout goes to /dev/null, its
 * stderr into err (NUL-terminated, the first errlen - 1 bytes; *en of them), to be shown only
 * when it fails. The wait status in *status. 0, or -1 (pipe or fork failed; said). */
static int run_gnuplot(const char *cmd, const char *dir, const char *vars, const char *script,
                       int *status, char *err, size_t errlen, size_t *en)
{
    int errpipe[2];
    if (pipe(errpipe) != 0) {
        msg_error(cmd, "pipe: %s", strerror(errno));
        return -1;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        msg_error(cmd, "fork: %s", strerror(errno));
        close(errpipe[0]);
        close(errpipe[1]);
        return -1;
    }
    if (pid == 0) {
        close(errpipe[0]);
        dup2(errpipe[1], 2);
        int devnull = open("/dev/null", O_RDWR);
        if (devnull >= 0) {
            dup2(devnull, 0);
            dup2(devnull, 1);
        }
        if (chdir(dir) != 0) {
            fprintf(stderr, "cannot enter %s: %s\n", dir, strerror(errno));
            _exit(127);
        }
        execlp("gnuplot", "gnuplot", "-e", vars, script, (char *)NULL);
        fprintf(stderr, "cannot run gnuplot: %s (make deps installs gnuplot-nox)\n",
                strerror(errno));
        _exit(127);
    }
    close(errpipe[1]);
    /* read to the end (past errlen into sink), so gnuplot never blocks on a full pipe */
    ssize_t got;
    char sink[1024];
    *en = 0;
    while ((got = read(errpipe[0], *en < errlen - 1 ? err + *en : sink,
                       *en < errlen - 1 ? errlen - 1 - *en : sizeof sink)) > 0 ||
           (got < 0 && errno == EINTR))
        if (got > 0 && *en < errlen - 1)
            *en += (size_t)got;
    err[*en] = 0;
    close(errpipe[0]);
    *status = 0;
    while (waitpid(pid, status, 0) < 0 && errno == EINTR)
        ;
    return 0;
}

int plots_render(int chart, const struct plot_opts *o, const char *term, const char *out,
                 const char *cmd)
{
    const char *sdir = plots_scripts_dir();
    if (!sdir) {
        msg_error(cmd, "gnuplot scripts not found (set MALLOG_PLOTS_DIR to mallog's plots/)");
        return -1;
    }
    char outabs[4096], script[4200], statsabs[4096] = "";
    if (abs_paths(o, out, cmd, outabs, sizeof outabs, statsabs, sizeof statsabs) != 0)
        return -1;
    snprintf(script, sizeof script, "%s/%s", sdir, chart_scripts[chart]);
    if (check_zoom(chart, o, cmd) != 0)
        return -1;
    char *vars = chart_vars(chart, o, term, sdir, outabs, statsabs);
    if (!vars)
        return -1;
    if (msg_verbosity >= 2)
        fprintf(stderr, "mallog %s: (cd %s && gnuplot -e \"%s\" %s)\n", cmd, o->dir, vars, script);
    char err[8192];
    size_t en = 0;
    int status = 0;
    int ran = run_gnuplot(cmd, o->dir, vars, script, &status, err, sizeof err, &en);
    free(vars);
    if (ran != 0)
        return -1;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        msg_error(cmd, "%s chart: gnuplot failed (%s %d)%s%s", chart_names[chart],
                  WIFEXITED(status) ? "exit" : "signal",
                  WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), en ? ":\n" : "",
                  err);
        return -1;
    }
    struct stat st;
    if (stat(outabs, &st) != 0 || st.st_size == 0) {
        msg_error(cmd, "%s chart: gnuplot wrote nothing to %s", chart_names[chart], out);
        return -1;
    }
    return 0;
}

const char *plots_fmt_bytes(uint64_t b, char *buf, size_t len)
{
    static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    double v = (double)b;
    int u = 0;
    while (v >= 1024 && u < 5) {
        v /= 1024;
        u++;
    }
    if (u == 0)
        snprintf(buf, len, "%" PRIu64 " B", b);
    else
        snprintf(buf, len, v >= 100 ? "%.0f %s" : v >= 10 ? "%.1f %s" : "%.2f %s", v, unit[u]);
    return buf;
}

const char *plots_fmt_count(uint64_t n, char *buf, size_t len)
{
    char tmp[32];
    int k = snprintf(tmp, sizeof tmp, "%" PRIu64, n);
    size_t o = 0;
    for (int i = 0; i < k && o + 1 < len; i++) {
        if (i && (k - i) % 3 == 0 && o + 2 < len)
            buf[o++] = ',';
        buf[o++] = tmp[i];
    }
    buf[o < len ? o : len - 1] = 0;
    return buf;
}

int plots_render_script(const char *script, const char *vars_extra, const char *dir,
                        const char *term, const char *out, const char *cmd)
{
    const char *sdir = plots_scripts_dir();
    if (!sdir) {
        msg_error(cmd, "gnuplot scripts not found (set MALLOG_PLOTS_DIR to mallog's plots/)");
        return -1;
    }
    struct plot_opts o = {.dir = dir};
    char outabs[4096], statsabs[8] = "", path[4200], vars[8192] = "";
    if (abs_paths(&o, out, cmd, outabs, sizeof outabs, statsabs, sizeof statsabs) != 0)
        return -1;
    snprintf(path, sizeof path, "%s/%s", sdir, script);
    add_str(vars, sizeof vars, "dir_scripts", sdir);
    add_str(vars, sizeof vars, "term", term);
    add_str(vars, sizeof vars, "out", outabs);
    size_t n = strlen(vars);
    snprintf(vars + n, sizeof vars - n, "%s", vars_extra ? vars_extra : "");
    char err[8192];
    size_t en = 0;
    int status = 0;
    if (run_gnuplot(cmd, dir, vars, path, &status, err, sizeof err, &en) != 0)
        return -1;
    struct stat st;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || stat(outabs, &st) != 0 || !st.st_size) {
        msg_error(cmd, "%s: gnuplot failed%s%s", script, en ? ":\n" : "", err);
        return -1;
    }
    return 0;
}

void plots_gp_str(char *buf, size_t len, const char *name, const char *value)
{
    add_str(buf, len, name, value);
}

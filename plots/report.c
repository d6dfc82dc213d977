/* report.c - `mallog report LOG -o DIR`: replays LOG on the installed allocators, analyzes it,
 * finds the holes that matter, draws the charts and writes DIR/index.html: tables, charts and the
 * key findings in words. Every step is this same binary (or gnuplot) run as a subprocess; the
 * TSV/JSON they write stay in DIR beside the page, which references everything relatively. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../common/msg.h"
#include "../common/recording.h"
#include "../common/progress.h"
#include "plots.h"
#include "report_tune.h"


#define MAX_HOLES_LISTED 10
#define MAX_HOLES_SCANNED 500

struct report {
    const char *dir, *log;
    char logpath[4096];
    int tty;
    struct progress progress;
    int nexpected; /* allocators asked for with -a, 0 = unknown (all installed) */
    struct plots_alloc allocs[PLOTS_MAX_ALLOCS];
    int nallocs;
    char *stats; /* stats.json text or NULL */
    char *sites; /* sites.json (stats --by site) of a log recorded with --stacks, or NULL */
    char prog[256];
    struct plot_opts popts;
    int chart_ok[PLOT_COUNT];
    const char *chart_why[PLOT_COUNT];
};

static void usage(FILE *f)
{
    fprintf(f,
            "usage: mallog report LOG|PREFIX|DIR [-o DIR] [-a LIST] [--pid PID] [--range A:B]\n"
            "                     [--threads MODE] [--touch MODE] [--holes N]\n"
            "Replays LOG on every installed allocator (or -a LIST), analyzes it, lists the holes\n"
            "and what pins them, draws the charts, and writes one HTML page with the findings:\n"
            "  DIR/index.html   open it in a browser (everything it shows is in DIR)\n"
            "  DIR/replay.<allocator>.tsv/.json, stats.json, timeline.tsv, sizes.tsv, ...,\n"
            "  holes.<allocator>.json, <chart>.png/.svg, report.json (the findings)\n"
            "  -o, --output DIR   the report directory (default: report)\n"
            "  -a, --alloc LIST   allocators, as for replay (default: every installed one)\n"
            "      --pid PID      the process to report on, from a recording prefix or directory\n"
            "      --range A:B    zoom the event charts into events A..B\n"
            "      --threads, --touch   passed to replay\n"
            "      --holes N      list holes for the N allocators with the most bytes in holes\n"
            "                     (default 2; each is one more replay)\n"
            "Progress on stderr when it is a terminal. Exit 0, or 2 on error.\n");
}

/* ---- progress ------------------------------------------------------------------------------ */

static int count_files(const char *dir, const char *prefix, const char *suffix)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int n = 0;
    struct dirent *e;
    size_t pl = strlen(prefix), sl = strlen(suffix);
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l > pl + sl && strncmp(e->d_name, prefix, pl) == 0 &&
            strcmp(e->d_name + l - sl, suffix) == 0)
            n++;
    }
    closedir(d);
    return n;
}

/* The step and the seconds since the report began (common/progress.c). */
static void progress(struct report *r, const char *step, int force)
{
    progress_show(&r->progress, force, "mallog report: %s  %.0f s", step,
                  progress_elapsed(&r->progress));
}

static void progress_clear_line(struct report *r)
{
    progress_clear(&r->progress);
}

/* ---- subprocesses -------------------------------------------------------------------------- */

/* Runs this binary with argv (argv[0] = the command), stdout into out_path (or /dev/null),
 * stderr into a temporary file, shown after the progress line is cleared. step names the progress line; for replay
 * the line counts finished allocators. Returns the exit status (0..255) or -1. */
/* Appends the replay options replay and holes share (--threads, --touch) and the NULL. */
static int add_replay_tuning(char **av, int n, const char *threads, const char *touch)
{
    if (threads) {
        av[n++] = "--threads";
        av[n++] = (char *)threads;
    }
    if (touch) {
        av[n++] = "--touch";
        av[n++] = (char *)touch;
    }
    av[n] = NULL;
    return n;
}

static int run_self(struct report *r, const char *step, char *const argv[], const char *out_path)
{
    char errpath[4200];
    snprintf(errpath, sizeof errpath, "%s/.report-stderr.XXXXXX", r->dir);
    int errfd = mkstemp(errpath);
    if (errfd < 0) {
        msg_error("report", "%s: %s", errpath, strerror(errno));
        return -1;
    }
    int outfd = open(out_path ? out_path : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
                     0644);
    if (outfd < 0) {
        msg_error("report", "%s: %s", out_path, strerror(errno));
        close(errfd);
        unlink(errpath);
        return -1;
    }
    /* "mallog -q <cmd> ...": the child's own progress would fight with ours */
    int argc = 0;
    while (argv[argc])
        argc++;
    char **full = calloc((size_t)argc + 3, sizeof *full);
    if (!full) {
        close(errfd);
        close(outfd);
        unlink(errpath);
        return -1;
    }
    full[0] = "mallog";
    full[1] = "-q";
    for (int i = 0; i < argc; i++)
        full[i + 2] = argv[i];
    if (msg_verbosity >= 2) {
        progress_clear_line(r);
        fprintf(stderr, "mallog report: running");
        for (int i = 0; full[i]; i++)
            fprintf(stderr, " %s", full[i]);
        fprintf(stderr, "%s%s\n", out_path ? " > " : "", out_path ? out_path : "");
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        msg_error("report", "fork: %s", strerror(errno));
        free(full);
        close(errfd);
        close(outfd);
        unlink(errpath);
        return -1;
    }
    if (pid == 0) {
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0)
            dup2(devnull, 0);
        dup2(outfd, 1);
        dup2(errfd, 2);
        execv("/proc/self/exe", full);
        fprintf(stderr, "cannot run /proc/self/exe: %s\n", strerror(errno));
        _exit(127);
    }
    free(full);
    close(outfd);
    int status = 0;
    for (;;) {
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid)
            break;
        if (w < 0 && errno != EINTR) {
            status = -1;
            break;
        }
        if (!r->tty) {
            struct timespec ts = {0, 50 * 1000 * 1000};
            nanosleep(&ts, NULL);
            continue;
        }
        char line[256];
        int done = count_files(r->dir, "replay.", ".json");
        if (strcmp(argv[0], "replay") == 0 && r->nexpected)
            snprintf(line, sizeof line, "%s: %d/%d allocators done", step, done, r->nexpected);
        else if (strcmp(argv[0], "replay") == 0)
            snprintf(line, sizeof line, "%s: %d allocator%s done", step, done, done == 1 ? "" : "s");
        else
            snprintf(line, sizeof line, "%s", step);
        progress(r, line, 0);
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    int rc = status < 0 ? -1 : WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    /* what the child said (under -q: errors and warnings only) is for the user */
    {
        char *err = json_read_file(errpath, NULL);
        if (err && *err) {
            progress_clear_line(r);
            fputs(err, stderr);
            if (err[strlen(err) - 1] != '\n')
                fputc('\n', stderr);
        }
        free(err);
    }
    close(errfd);
    unlink(errpath);
    return rc;
}

/* ---- reading the tools' output --------------------------------------------------------------- */

static char *read_in(const char *dir, const char *name)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return json_read_file(p, NULL);
}

void plots_alloc_load(const char *dir, struct plots_alloc *a)
{
    char f[128];
    snprintf(f, sizeof f, "replay.%s.json", a->name);
    char *js = read_in(dir, f);
    if (!js)
        return;
    a->ok = json_u64(js, "peak_live_requested", &a->peak_live) == 0 &&
            json_u64(js, "peak_footprint", &a->peak_fp) == 0;
    json_string(js, "library", a->library, sizeof a->library);
    json_string(js, "threads_mode", a->threads_mode, sizeof a->threads_mode);
    json_u64(js, "peak_live_event", &a->peak_live_event);
    json_u64(js, "peak_rss", &a->peak_rss);
    json_u64(js, "slop_at_peak", &a->slop);
    json_double(js, "footprint_ratio_at_peak", &a->ratio);
    json_double(js, "events_per_sec", &a->eps);
    json_u64(js, "worst.event", &a->worst_event);
    json_u64(js, "worst.holes_1m", &a->holes_1m);
    json_u64(js, "worst.holes_8m", &a->holes_8m);
    json_u64(js, "worst.largest_hole", &a->largest);
    json_u64(js, "worst.hole_bytes", &a->hole_bytes);
    json_u64(js, "worst.hole_resident", &a->hole_resident);
    json_u64(js, "anomalies.unknown_frees", &a->unknown_frees);
    json_u64(js, "anomalies.double_frees", &a->double_frees);
    free(js);
}

/* Removes what an earlier report left in dir, so allocators from an old run do not linger. */
static void clean_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        const char *n = e->d_name;
        size_t l = strlen(n);
        int ours = (strncmp(n, "replay.", 7) == 0 &&
                    (strstr(n, ".tsv") == n + l - 4 || strstr(n, ".json") == n + l - 5)) ||
                   (strncmp(n, "holes.", 6) == 0 && l > 11 && strcmp(n + l - 5, ".json") == 0) ||
                   strcmp(n, "plotstats.tsv") == 0;
        if (ours) {
            char p[4200];
            snprintf(p, sizeof p, "%s/%s", dir, n);
            unlink(p);
        }
    }
    closedir(d);
}

/* ---- HTML ---------------------------------------------------------------------------------- */


/* Formatted numbers for one printf: a ring of buffers, so several can appear in one call. */
static char ring[16][64];
static unsigned ring_i;

static const char *B(uint64_t v)
{
    char *b = ring[ring_i++ % 16];
    return plots_fmt_bytes(v, b, sizeof ring[0]);
}

static const char *N(uint64_t v)
{
    char *b = ring[ring_i++ % 16];
    return plots_fmt_count(v, b, sizeof ring[0]);
}

/* mallog's own arena is a reference point, not an allocator a program can switch to. */
static int is_reference(const struct plots_alloc *a)
{
    return strcmp(a->name, "arena") == 0;
}

/* What an allocator costs is the memory it keeps resident (peak RSS: pages touched); a
 * footprint is what it committed from the OS, touched or not (mimalloc and jemalloc commit
 * ahead), so findings rank by RSS and show the committed excess separately. */

/* The allocator with the smallest peak RSS among those a program can use (the reference only if
 * it is alone), or -1. Ties: the smaller footprint. */
static int best_alloc(const struct plots_alloc *as, int n)
{
    int best = -1;
    for (int pass = 0; pass < 2 && best < 0; pass++)
        for (int i = 0; i < n; i++)
            if (as[i].ok && (pass || !is_reference(&as[i])) &&
                (best < 0 || as[i].peak_rss < as[best].peak_rss ||
                 (as[i].peak_rss == as[best].peak_rss && as[i].peak_fp < as[best].peak_fp)))
                best = i;
    return best;
}

/* The allocator with the largest peak RSS among those a program can use, or best. */
static int most_alloc(const struct plots_alloc *as, int n, int best)
{
    int most = best;
    for (int i = 0; i < n; i++)
        if (as[i].ok && !is_reference(&as[i]) && as[i].peak_rss > as[most].peak_rss)
            most = i;
    return most;
}

/* The worst fragmentation is the one that costs the most memory: the most resident bytes in
 * holes (address space alone costs nothing); among holes that hold none, the most hole bytes. */
static int worst_frag(const struct plots_alloc *as, int n)
{
    int w = -1;
    for (int i = 0; i < n; i++) {
        const struct plots_alloc *a = &as[i];
        if (a->ok && a->holes_1m > 0 &&
            (w < 0 || a->hole_resident > as[w].hole_resident ||
             (a->hole_resident == as[w].hole_resident && a->hole_bytes > as[w].hole_bytes)))
            w = i;
    }
    return w;
}

/* "X commits F (its footprint) but has only R resident: D committed, never touched." for every
 * allocator whose footprint exceeds its RSS by more than a quarter (and 1 MiB). */
static void write_committed(FILE *f, const struct plots_alloc *as, int n)
{
    for (int i = 0; i < n; i++) {
        const struct plots_alloc *a = &as[i];
        if (!a->ok || a->peak_fp <= a->peak_rss || a->peak_fp - a->peak_rss < (1u << 20) ||
            a->peak_fp - a->peak_rss < a->peak_rss / 4)
            continue;
        fprintf(f, " <b>");
        msg_xml_escape(f, a->name);
        fprintf(f, "</b> commits more than it touches: a peak footprint of %s (committed from "
                   "the OS) for a peak RSS of %s, %s committed but not resident.",
                B(a->peak_fp), B(a->peak_rss), B(a->peak_fp - a->peak_rss));
    }
}

void plots_pin_summary(const char *js, struct pin_summary *ps)
{
    memset(ps, 0, sizeof *ps);
    int n = json_array_len(js, "holes");
    if (n > MAX_HOLES_SCANNED)
        n = MAX_HOLES_SCANNED;
    uint64_t sizes[MAX_HOLES_SCANNED];
    int ns = 0;
    for (int i = 0; i < n; i++) {
        char path[96];
        uint64_t size = 0, ls = 0, rs = 0;
        snprintf(path, sizeof path, "holes[%d].size", i);
        if (json_u64(js, path, &size) != 0 || size < (1u << 20))
            continue;
        ps->holes++;
        snprintf(path, sizeof path, "holes[%d].left.size", i);
        int hl = json_u64(js, path, &ls) == 0 && ls > 0;
        snprintf(path, sizeof path, "holes[%d].right.size", i);
        int hr = json_u64(js, path, &rs) == 0 && rs > 0;
        if (hl || hr)
            sizes[ns++] = hl && hr ? (ls < rs ? ls : rs) : hl ? ls : rs;
    }
    int bestc = 0;
    for (int i = 0; i < ns; i++) {
        int c = 0;
        for (int k = 0; k < ns; k++)
            c += sizes[k] == sizes[i];
        if (c > bestc) {
            bestc = c;
            ps->pin_size = sizes[i];
        }
    }
    ps->with_pin = bestc;
    /* an example: the first hole >= 1 MiB bounded by a block of that size */
    for (int i = 0; i < n && bestc; i++) {
        char path[96];
        uint64_t size = 0, s = 0;
        snprintf(path, sizeof path, "holes[%d].size", i);
        if (json_u64(js, path, &size) != 0 || size < (1u << 20))
            continue;
        for (int side = 0; side < 2; side++) {
            snprintf(path, sizeof path, "holes[%d].%s.size", i, side ? "right" : "left");
            if (json_u64(js, path, &s) == 0 && s == ps->pin_size) {
                snprintf(path, sizeof path, "holes[%d].%s.event", i, side ? "right" : "left");
                json_u64(js, path, &ps->example_event);
                snprintf(path, sizeof path, "holes[%d].%s.age", i, side ? "right" : "left");
                json_u64(js, path, &ps->example_age);
                return;
            }
        }
    }
}

void plots_write_findings(FILE *f, FILE *jf, const char *logpath, const char *stats,
                          const struct plots_alloc *as, int n)
{
    int best = best_alloc(as, n), worst = worst_frag(as, n);
    fprintf(f, "<h2 id=\"findings\">Key findings</h2>\n<ul class=\"findings\">\n");
    char damage[512] = "";
    if (stats && json_string(stats, "damage", damage, sizeof damage) == 0 && damage[0]) {
        fprintf(f, "<li class=\"warn\">The log is damaged (");
        msg_xml_escape(f, damage);
        fprintf(f, "): everything below covers the events before the damage.</li>\n");
    }
    if (!stats)
        fprintf(f, "<li class=\"warn\">No analysis: <code>mallog stats</code> failed on this "
                   "log.</li>\n");
    fprintf(jf, "{\"log\": \"");
    for (const char *p = logpath; *p; p++)
        fprintf(jf, (*p == '"' || *p == '\\') ? "\\%c" : (unsigned char)*p < 0x20 ? "?" : "%c",
                *p);
    fprintf(jf, "\"");
    if (best >= 0) {
        const struct plots_alloc *b = &as[best];
        int most = most_alloc(as, n, best);
        fprintf(f, "<li><b>");
        msg_xml_escape(f, b->name);
        fprintf(f, "</b> holds the least resident memory for this trace: a peak RSS of %s for %s "
                   "of live requested bytes at the peak (%.2f&times;).",
                B(b->peak_rss), B(b->peak_live),
                b->peak_live ? (double)b->peak_rss / (double)b->peak_live : 0.0);
        if (most != best && as[most].peak_rss > b->peak_rss) {
            const struct plots_alloc *m = &as[most];
            fprintf(f, " The most, <b>");
            msg_xml_escape(f, m->name);
            fprintf(f, "</b>, has a peak RSS of %s: %.1f&times; as much as ", B(m->peak_rss),
                    b->peak_rss ? (double)m->peak_rss / (double)b->peak_rss : 0.0);
            msg_xml_escape(f, b->name);
            fprintf(f, ", %s more.", B(m->peak_rss - b->peak_rss));
        }
        /* glibc is what the program ran with: say what switching would save */
        for (int i = 0; i < n; i++)
            if (i != best && i != most && as[i].ok && strcmp(as[i].name, "glibc") == 0 &&
                as[i].peak_rss > b->peak_rss) {
                fprintf(f, " glibc (the default) has a peak RSS of %s: switching to ",
                        B(as[i].peak_rss));
                msg_xml_escape(f, b->name);
                fprintf(f, " would save %s (%.1f&times; less).", B(as[i].peak_rss - b->peak_rss),
                        b->peak_rss ? (double)as[i].peak_rss / (double)b->peak_rss : 0.0);
            }
        write_committed(f, as, n);
        for (int i = 0; i < n; i++)
            if (i != best && as[i].ok && is_reference(&as[i]))
                fprintf(f, " For reference, mallog's own best-fit arena: peak RSS %s, footprint "
                           "%s.", B(as[i].peak_rss), B(as[i].peak_fp));
        fprintf(f, "</li>\n");
        fprintf(jf, ", \"measure\": \"peak_rss\", \"best\": ");
        json_write_string(jf, b->name);
        fprintf(jf, ", \"best_peak_rss\": %" PRIu64 ", \"best_peak_footprint\": %" PRIu64
                    ", \"most\": ",
                b->peak_rss, b->peak_fp);
        json_write_string(jf, as[most].name);
        fprintf(jf, ", \"most_peak_rss\": %" PRIu64 ", \"most_peak_footprint\": %" PRIu64,
                as[most].peak_rss, as[most].peak_fp);
    } else {
        fprintf(f, "<li>No replay result could be read.</li>\n");
    }
    if (worst >= 0) {
        const struct plots_alloc *w = &as[worst];
        uint64_t events = 0;
        if (stats)
            json_u64(stats, "events", &events);
        fprintf(f, "<li>The worst fragmentation (by resident memory in holes): <b>");
        msg_xml_escape(f, w->name);
        fprintf(f, "</b> at event %s", N(w->worst_event));
        if (events)
            fprintf(f, " of %s", N(events));
        fprintf(f, ": %s holes &ge; 1 MiB between live blocks (%s &ge; 8 MiB), %s resident in "
                   "holes (%s of address space), the largest %s.",
                N(w->holes_1m), N(w->holes_8m), B(w->hole_resident), B(w->hole_bytes),
                B(w->largest));
        if (!w->hole_resident)
            fprintf(f, " No hole holds resident memory: they cost address space, not RAM.");
        fprintf(f, "</li>\n");
        fprintf(jf, ", \"worst_allocator\": ");
        json_write_string(jf, w->name);
        fprintf(jf,
                ", \"worst_event\": %" PRIu64 ", \"worst_holes_1m\": %" PRIu64
                ", \"worst_hole_bytes\": %" PRIu64 ", \"worst_hole_resident\": %" PRIu64,
                w->worst_event, w->holes_1m, w->hole_bytes, w->hole_resident);
        if (w->holes) {
            struct pin_summary ps;
            plots_pin_summary(w->holes, &ps);
            if (ps.with_pin >= 2 && 2 * ps.with_pin >= ps.holes) {
                fprintf(f, "<li>What pins them: %d of the %d holes &ge; 1 MiB in ", ps.with_pin,
                        ps.holes);
                msg_xml_escape(f, w->name);
                fprintf(f, "'s heap are bounded by a live <b>%s</b> block", B(ps.pin_size));
                if (ps.example_event)
                    fprintf(f, " (for example the one allocated at event %s, still live %s "
                               "events later)",
                            N(ps.example_event), N(ps.example_age));
                fprintf(f, ". A small long-lived block allocated right after a large one keeps "
                           "the large one's space from being returned or merged. "
                           "<a href=\"#holes\">The largest holes</a>.</li>\n");
                fprintf(jf, ", \"pin_size\": %" PRIu64 ", \"pinned_holes\": %d", ps.pin_size,
                        ps.with_pin);
            } else if (ps.holes > 0) {
                fprintf(f, "<li>The %d hole%s &ge; 1 MiB in ", ps.holes, ps.holes == 1 ? "" : "s");
                msg_xml_escape(f, w->name);
                fprintf(f, "'s heap %s bounded by live blocks of different sizes. "
                           "<a href=\"#holes\">The largest holes</a>.</li>\n",
                        ps.holes == 1 ? "is" : "are");
            }
        }
    } else if (n) {
        fprintf(f, "<li>No allocator had a hole of 1 MiB or more between live blocks.</li>\n");
    }
    if (stats) {
        uint64_t lb = 0, lbytes = 0, unknown = 0;
        json_u64(stats, "leaked_blocks", &lb);
        json_u64(stats, "leaked_bytes", &lbytes);
        json_u64(stats, "unknown_frees", &unknown);
        if (lb)
            fprintf(f, "<li>Still live at exit: %s block%s, %s (never freed; often caches or "
                       "buffers the program keeps to the end). <a href=\"#leaks\">By size</a>."
                       "</li>\n",
                    N(lb), lb == 1 ? "" : "s", B(lbytes));
        else
            fprintf(f, "<li>Every block was freed before the program ended.</li>\n");
        uint64_t calls = 0, chains = 0, longest = 0, cum = 0, comp = 0;
        json_u64(stats, "realloc.calls", &calls);
        json_u64(stats, "realloc.chains", &chains);
        json_u64(stats, "realloc.longest_chain", &longest);
        json_u64(stats, "cumulative_requested", &cum);
        json_u64(stats, "cumulative_compensated", &comp);
        if (calls && cum > 2 * comp && comp)
            fprintf(f, "<li>realloc: %s calls in %s chains (the longest %s calls); counted in "
                       "full every request adds up to %s, but the program only grew its blocks "
                       "by %s in total (compensated).</li>\n",
                    N(calls), N(chains), N(longest), B(cum), B(comp));
        if (unknown)
            fprintf(f, "<li class=\"warn\">%s frees of blocks the log never saw allocated "
                       "(a damaged or partial log?).</li>\n",
                    N(unknown));
        fprintf(jf, ", \"leaked_blocks\": %" PRIu64 ", \"leaked_bytes\": %" PRIu64, lb, lbytes);
    }
    fprintf(f, "</ul>\n");
    fprintf(jf, "}\n");
}

static void write_alloc_table(FILE *f, const struct report *r)
{
    int best = best_alloc(r->allocs, r->nallocs);
    fprintf(f, "<h2 id=\"allocators\">Allocators</h2>\n<p>The same calls replayed on each "
               "allocator. Footprint: bytes the allocator holds from the OS; RSS: its resident "
               "heap pages; holes: free gaps between live blocks at the worst sample.</p>\n"
               "<table>\n<tr><th>allocator</th><th>peak live</th><th>peak footprint</th>"
               "<th>footprint / live</th><th>peak RSS</th><th>slop at peak</th>"
               "<th>holes &ge; 1 MiB</th><th>&ge; 8 MiB</th><th>largest hole</th>"
               "<th>worst at event</th><th>events/s</th><th>data</th></tr>\n");
    for (int i = 0; i < r->nallocs; i++) {
        const struct plots_alloc *a = &r->allocs[i];
        fprintf(f, "<tr%s><td title=\"", i == best ? " class=\"best\"" : "");
        msg_xml_escape(f, a->library);
        fprintf(f, "\">");
        msg_xml_escape(f, a->name);
        if (!a->ok) {
            fprintf(f, "</td><td colspan=\"11\">no result</td></tr>\n");
            continue;
        }
        fprintf(f, "</td><td>%s</td><td>%s</td><td>%.2f&times;</td><td>%s</td><td>%s</td>"
                   "<td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td>",
                B(a->peak_live), B(a->peak_fp), a->ratio, B(a->peak_rss), B(a->slop),
                N(a->holes_1m), N(a->holes_8m), B(a->largest), N(a->worst_event),
                N((uint64_t)a->eps));
        fprintf(f, "<td><a href=\"replay.");
        msg_xml_escape(f, a->name);
        fprintf(f, ".tsv\">tsv</a> <a href=\"replay.");
        msg_xml_escape(f, a->name);
        fprintf(f, ".json\">json</a></td></tr>\n");
    }
    fprintf(f, "</table>\n");
}

static void write_chart(FILE *f, const struct report *r, int chart, const char *heading,
                        const char *id, const char *words)
{
    fprintf(f, "<h2 id=\"%s\">%s</h2>\n", id, heading);
    if (words)
        fprintf(f, "<p>%s</p>\n", words);
    if (!r->chart_ok[chart]) {
        fprintf(f, "<p class=\"missing\">No chart: ");
        msg_xml_escape(f, r->chart_why[chart] ? r->chart_why[chart] : "not drawn");
        fprintf(f, ".</p>\n");
        return;
    }
    fprintf(f, "<p><a href=\"%s.svg\"><img src=\"%s.png\" alt=\"%s\" width=\"1100\" "
               "height=\"620\"></a></p>\n",
            plots_chart_name(chart), plots_chart_name(chart), plots_chart_desc(chart));
}

static void write_holes_tables(FILE *f, const struct report *r)
{
    for (int i = 0; i < r->nallocs; i++) {
        const struct plots_alloc *a = &r->allocs[i];
        if (!a->holes)
            continue;
        uint64_t ev = 0;
        json_u64(a->holes, "event", &ev);
        int n = json_array_len(a->holes, "holes");
        fprintf(f, "<h3>");
        msg_xml_escape(f, a->name);
        fprintf(f, ": the largest holes at event %s (<a href=\"holes.", N(ev));
        msg_xml_escape(f, a->name);
        fprintf(f, ".json\">all %d</a>)</h3>\n", n < 0 ? 0 : n);
        if (n <= 0) {
            fprintf(f, "<p>No holes.</p>\n");
            continue;
        }
        fprintf(f, "<table>\n<tr><th>hole</th><th>resident</th><th>block before it</th>"
                   "<th>block after it</th></tr>\n");
        for (int k = 0; k < n && k < MAX_HOLES_LISTED; k++) {
            char p[96];
            uint64_t size = 0, res = 0;
            snprintf(p, sizeof p, "holes[%d].size", k);
            json_u64(a->holes, p, &size);
            snprintf(p, sizeof p, "holes[%d].resident", k);
            json_u64(a->holes, p, &res);
            fprintf(f, "<tr><td>%s</td><td>%s</td>", B(size), B(res));
            for (int side = 0; side < 2; side++) {
                const char *sd = side ? "right" : "left";
                uint64_t bs = 0, be = 0, age = 0, th = 0;
                snprintf(p, sizeof p, "holes[%d].%s.size", k, sd);
                if (json_u64(a->holes, p, &bs) != 0 || !bs) {
                    fprintf(f, "<td>&mdash;</td>");
                    continue;
                }
                snprintf(p, sizeof p, "holes[%d].%s.event", k, sd);
                json_u64(a->holes, p, &be);
                snprintf(p, sizeof p, "holes[%d].%s.age", k, sd);
                json_u64(a->holes, p, &age);
                snprintf(p, sizeof p, "holes[%d].%s.thread", k, sd);
                json_u64(a->holes, p, &th);
                char site[1024] = "";
                snprintf(p, sizeof p, "holes[%d].%s.site", k, sd);
                json_string(a->holes, p, site, sizeof site);
                fprintf(f, "<td>%s from event %s (live %s events, thread %" PRIu64 ")", B(bs),
                        N(be), N(age), th);
                if (site[0]) {
                    fprintf(f, "<br>allocated in <code>");
                    msg_xml_escape(f, site);
                    fprintf(f, "</code>");
                }
                fprintf(f, "</td>");
            }
            fprintf(f, "</tr>\n");
        }
        fprintf(f, "</table>\n");
    }
}

/* A TSV as an HTML table: the first max_rows rows; byte columns (named *bytes*, *size*,
 * class_*) printed with units. */
static void write_tsv_table(FILE *f, const char *dir, const char *file, int max_rows)
{
    char p[4200], line[8192];
    snprintf(p, sizeof p, "%s/%s", dir, file);
    FILE *in = fopen(p, "r");
    if (!in)
        return;
    int isbytes[64] = {0}, row = 0, ncols = 0;
    fprintf(f, "<table>\n");
    while (fgets(line, sizeof line, in)) {
        line[strcspn(line, "\r\n")] = 0;
        if (row > max_rows)
            break;
        fprintf(f, "<tr>");
        int col = 0;
        for (char *save, *tok = strtok_r(line, "\t", &save); tok && col < 64;
             tok = strtok_r(NULL, "\t", &save), col++) {
            if (row == 0) {
                isbytes[col] = (strstr(tok, "bytes") && !strstr(tok, "pct")) ||
                               strcmp(tok, "size") == 0 || strncmp(tok, "class_", 6) == 0 ||
                               strcmp(tok, "max") == 0 || strstr(tok, "_size");
                fprintf(f, "<th>");
                msg_xml_escape(f, tok);
                fprintf(f, "</th>");
                ncols = col + 1;
            } else if (isbytes[col] && strspn(tok, "0123456789") == strlen(tok) && *tok) {
                char b[64];
                fprintf(f, "<td>%s</td>", plots_fmt_bytes(strtoull(tok, NULL, 10), b, sizeof b));
            } else {
                fprintf(f, "<td>");
                msg_xml_escape(f, strlen(tok) > 80 ? "..." : tok);
                fprintf(f, "</td>");
            }
        }
        fprintf(f, "</tr>\n");
        row++;
    }
    if (row > max_rows)
        fprintf(f, "<tr><td colspan=\"%d\">&hellip; <a href=\"%s\">the whole table</a></td></tr>\n",
                ncols, file);
    fprintf(f, "</table>\n");
    fclose(in);
}

static uint64_t site_u64(const char *json, int k, const char *field)
{
    char p[96];
    uint64_t v = 0;
    snprintf(p, sizeof p, "sites[%d].%s", k, field);
    json_u64(json, p, &v);
    return v;
}

/* The call sites that allocate most (logs recorded with --stacks). */
static void write_sites_table(FILE *f, const struct report *r)
{
    int n = r->sites ? json_array_len(r->sites, "sites") : -1;
    if (n <= 0)
        return;
    fprintf(f, "<h2 id=\"sites\">Call sites</h2>\n<p>Who allocates: each call site's allocations, "
               "its bytes, its share of live bytes at the peak, what it still holds at exit and "
               "how many of its blocks were temporary. <a href=\"sites.json\">sites.json</a>; "
               "<code>mallog stats LOG --by stack</code> shows whole stacks, "
               "<code>--folded</code> feeds flame graphs.</p>\n<table>\n<tr><th>site</th>"
               "<th>allocations</th><th>bytes</th><th>at peak</th><th>still live at exit</th>"
               "<th>temporary</th></tr>\n");
    for (int k = 0; k < n; k++) {
        char p[64], name[1024] = "";
        snprintf(p, sizeof p, "sites[%d].site", k);
        json_string(r->sites, p, name, sizeof name);
        fprintf(f, "<tr><td><code>");
        msg_xml_escape(f, name);
        fprintf(f, "</code></td><td>%s</td><td>%s</td><td>%s</td><td>%s in %s blocks</td><td>%s</td></tr>\n",
                N(site_u64(r->sites, k, "allocs")), B(site_u64(r->sites, k, "bytes")),
                B(site_u64(r->sites, k, "peak_bytes")), B(site_u64(r->sites, k, "leaked_bytes")),
                N(site_u64(r->sites, k, "leaked_blocks")),
                N(site_u64(r->sites, k, "temporary_blocks")));
    }
    fprintf(f, "</table>\n");
}

static int write_html(struct report *r)
{
    char path[4200], jpath[4200];
    snprintf(path, sizeof path, "%s/index.html", r->dir);
    snprintf(jpath, sizeof jpath, "%s/report.json", r->dir);
    FILE *f = fopen(path, "w"), *jf = fopen(jpath, "w");
    if (!f || !jf) {
        msg_error("report", "%s: %s", f ? jpath : path, strerror(errno));
        if (f)
            fclose(f);
        if (jf)
            fclose(jf);
        return -1;
    }
    fprintf(f, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
               "<title>mallog report: ");
    msg_xml_escape(f, r->prog[0] ? r->prog : "trace");
    fprintf(f, "</title>\n<style>\n"
               "body{font-family:sans-serif;max-width:1180px;margin:2em auto;padding:0 1em;"
               "color:#222}\n"
               "table{border-collapse:collapse;margin:.5em 0 1.5em}\n"
               "th,td{border:1px solid #ccc;padding:.25em .6em;text-align:right;"
               "font-size:90%%}\n"
               "th{background:#f3f3f3}td:first-child{text-align:left}\n"
               "tr.best td{background:#e8f5e9;font-weight:bold}\n"
               ".findings li{margin:.4em 0}.warn{color:#b00}.missing{color:#777}\n"
               "img{max-width:100%%;height:auto;border:1px solid #eee}\n"
               ".meta{color:#555}code{background:#f6f6f6}\n</style>\n</head>\n<body>\n");
    fprintf(f, "<h1>mallog report: ");
    msg_xml_escape(f, r->prog[0] ? r->prog : "trace");
    fprintf(f, "</h1>\n<p class=\"meta\">log <code>");
    msg_xml_escape(f, r->logpath);
    fprintf(f, "</code>");
    if (r->stats) {
        uint64_t pid = 0, events = 0, threads = 0, dur = 0, peak = 0, blocks = 0;
        json_u64(r->stats, "pid", &pid);
        json_u64(r->stats, "events", &events);
        json_u64(r->stats, "threads", &threads);
        json_u64(r->stats, "duration_ns", &dur);
        json_u64(r->stats, "peak_live_requested", &peak);
        json_u64(r->stats, "peak_live_blocks", &blocks);
        fprintf(f, ": pid %" PRIu64 ", %s events, %s thread%s", pid, N(events), N(threads),
                threads == 1 ? "" : "s");
        if (dur)
            fprintf(f, ", %.2f s", (double)dur / 1e9);
        fprintf(f, "; peak live %s in %s blocks", B(peak), N(blocks));
    }
    for (int i = 0; i < r->nallocs; i++) { /* how the threads were replayed */
        const char *m = r->allocs[i].threads_mode;
        if (!r->allocs[i].ok || !*m)
            continue;
        fprintf(f, ". Replayed %s",
                strcmp(m, "faithful") == 0 ? "faithful (a thread per recorded thread)"
                : strcmp(m, "strict") == 0 ? "strict (a thread per recorded thread, in order)"
                                           : "serial (one thread)");
        break;
    }
    time_t t = time(NULL);
    char when[64];
    strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S %Z", localtime(&t));
    fprintf(f, ". Written %s. <a href=\"stats.json\">stats.json</a>", when);
    if (r->popts.has_xmin || r->popts.has_xmax) {
        fprintf(f, "<br>Event charts zoomed to events ");
        if (r->popts.has_xmin)
            fprintf(f, "%.0f", r->popts.xmin);
        fprintf(f, "..");
        if (r->popts.has_xmax)
            fprintf(f, "%.0f", r->popts.xmax);
        fprintf(f, " (--range).");
    }
    fprintf(f, "</p>\n");

    plots_write_findings(f, jf, r->logpath, r->stats, r->allocs, r->nallocs);
    write_alloc_table(f, r);
    report_tune_section(f, r->dir, r->logpath);
    write_chart(f, r, PLOT_memory, "Memory over time", "memory",
                "Live requested bytes (black, exact from the log) against what each allocator "
                "holds from the OS (solid) and keeps resident (dashed). The gap is what the "
                "allocator costs this program.");
    write_chart(f, r, PLOT_holes, "Holes between live blocks", "holes",
                "Free gaps of 1 MiB or more between live blocks, and the largest one, over the "
                "replay. A gap pinned by a live block cannot be returned to the OS.");
    write_holes_tables(f, r);
    write_chart(f, r, PLOT_sizes, "Request sizes", "sizes", NULL);
    write_tsv_table(f, r->dir, "sizes.tsv", 20);
    write_chart(f, r, PLOT_lifetimes, "Lifetimes", "lifetimes",
                "How many allocator calls each freed block lived.");
    write_chart(f, r, PLOT_reallocs, "Realloc growth", "reallocs",
                "Each realloc chain from its first to its last size.");
    write_chart(f, r, PLOT_cumulative, "Requested bytes", "cumulative",
                "Cumulative counts every request in full (a realloc from 8 MB to 8 MB + 90 B "
                "adds 8 MB); compensated counts only the growth.");
    write_sites_table(f, r);
    if (r->sites)
        report_callers(f, r->dir, r->logpath);
    report_growth_section(f, r->dir);
    report_fork_section(f, r->dir, r->log, r->allocs, r->nallocs);
    fprintf(f, "<h2 id=\"leaks\">Still live at exit</h2>\n");
    if (plots_tsv_rows(r->dir, "leaks.tsv") > 0)
        write_tsv_table(f, r->dir, "leaks.tsv", 20);
    else
        fprintf(f, "<p>None.</p>\n");
    fprintf(f, "<h2 id=\"files\">Data</h2>\n<p>Everything above comes from these files "
               "(TSV with a header line; JSON summaries):");
    DIR *d = opendir(r->dir);
    if (d) {
        struct dirent *e;
        char names[256][128];
        int n = 0;
        while ((e = readdir(d)) && n < 256) {
            size_t l = strlen(e->d_name);
            if (l < 128 && l > 4 && e->d_name[0] != '.' &&
                (strcmp(e->d_name + l - 4, ".tsv") == 0 || strcmp(e->d_name + l - 5, ".json") == 0 ||
                 strcmp(e->d_name + l - 4, ".txt") == 0 || strcmp(e->d_name + l - 4, ".svg") == 0))
                snprintf(names[n++], sizeof names[0], "%s", e->d_name);
        }
        closedir(d);
        qsort(names, (size_t)n, sizeof names[0], (int (*)(const void *, const void *))strcmp);
        for (int i = 0; i < n; i++) {
            fprintf(f, " <a href=\"");
            msg_xml_escape(f, names[i]);
            fprintf(f, "\">");
            msg_xml_escape(f, names[i]);
            fprintf(f, "</a>");
        }
    }
    fprintf(f, "</p>\n");
    char *txt = read_in(r->dir, "replay.txt");
    if (txt && *txt) {
        fprintf(f, "<details><summary>mallog replay's own summary</summary><pre>");
        msg_xml_escape(f, txt);
        fprintf(f, "</pre></details>\n");
    }
    free(txt);
    fprintf(f, "<p class=\"meta\">Made by <code>mallog report</code>.</p>\n</body>\n</html>\n");
    int bad = ferror(f) | ferror(jf);
    bad |= fclose(f) != 0;
    bad |= fclose(jf) != 0;
    if (bad) {
        msg_error("report", "%s: write error", path);
        return -1;
    }
    return 0;
}

/* ---- the command ----------------------------------------------------------------------------- */

/* What `mallog report` is asked, besides the report itself. */
struct report_args {
    const char *alloc, *threads, *touch;
    long nholes;
};

/* Options into r and ra. Returns 0, 1 for --help (printed), or -1 (said). */
static int parse_args(int argc, char **argv, struct report *r, struct report_args *ra)
{
    static const struct option longopts[] = {
        {"output", required_argument, 0, 'o'}, {"alloc", required_argument, 0, 'a'},
        {"pid", required_argument, 0, 'p'},    {"range", required_argument, 0, 'r'},
        {"threads", required_argument, 0, 'T'}, {"touch", required_argument, 0, 'U'},
        {"holes", required_argument, 0, 'H'},  {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    struct rec_pid pid = REC_PID_NONE;
    int c;
    r->dir = "report";
    ra->nholes = 2;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:a:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'o': r->dir = optarg; break;
        case 'a': ra->alloc = optarg; break;
        case 'p':
            if (rec_parse_pid("report", optarg, &pid) != 0)
                return -1;
            break;
        case 'r':
            if (plots_parse_range(optarg, &r->popts) != 0) {
                msg_error("report", "bad --range '%s' (want A:B with A < B)", optarg);
                return -1;
            }
            break;
        case 'T': ra->threads = optarg; break;
        case 'U': ra->touch = optarg; break;
        case 'H': {
            char *end;
            ra->nholes = strtol(optarg, &end, 10);
            if (*end || ra->nholes < 0 || ra->nholes > PLOTS_MAX_ALLOCS) {
                msg_error("report", "bad --holes '%s' (0..%d)", optarg, PLOTS_MAX_ALLOCS);
                return -1;
            }
            break;
        }
        case 'h': usage(stdout); return 1;
        default: usage(stderr); return -1;
        }
    }
    if (optind + 1 != argc) {
        usage(stderr);
        return -1;
    }
    r->log = argv[optind];
    if (rec_pick_log("report", r->log, &pid, r->logpath, sizeof r->logpath) != 0)
        return -1;
    if (mkdir(r->dir, 0777) != 0 && errno != EEXIST) {
        msg_error("report", "%s: %s", r->dir, strerror(errno));
        return -1;
    }
    struct stat st;
    if (stat(r->dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        msg_error("report", "%s: not a directory", r->dir);
        return -1;
    }
    return 0;
}

/* 1. The replay on every allocator, then each one's summary. 0, or -1 if none finished. */
static int step_replay(struct report *r, const struct report_args *ra)
{
    char *av[16];
    int n = 0;
    av[n++] = "replay";
    av[n++] = r->logpath;
    av[n++] = "-o";
    av[n++] = (char *)r->dir;
    if (ra->alloc) {
        r->nexpected = 1;
        for (const char *p = ra->alloc; *p; p++)
            r->nexpected += *p == ',';
        av[n++] = "-a";
        av[n++] = (char *)ra->alloc;
    }
    n = add_replay_tuning(av, n, ra->threads, ra->touch);
    char out[4200];
    snprintf(out, sizeof out, "%s/replay.txt", r->dir);
    int x = run_self(r, "replaying", av, out);
    if (x != 0) {
        /* one allocator crashing must not cost the others' results */
        int done = count_files(r->dir, "replay.", ".json");
        progress_clear_line(r);
        msg_error("report", "%s: replay failed (exit %d)%s", r->logpath, x,
                  done ? "; reporting the allocators that finished" : "");
        if (!done)
            return -1;
    }
    char names[PLOTS_MAX_ALLOCS][64];
    r->nallocs = plots_find_allocs(r->dir, names, PLOTS_MAX_ALLOCS);
    for (int i = 0; i < r->nallocs; i++) {
        snprintf(r->allocs[i].name, sizeof r->allocs[i].name, "%s", names[i]);
        plots_alloc_load(r->dir, &r->allocs[i]);
    }
    return 0;
}

/* 2. The log's statistics and, when it has stacks, its call sites. */
static void step_stats(struct report *r)
{
    char *av[] = {"stats", r->logpath, "--tsv", (char *)r->dir, "--json", NULL};
    char out[4200];
    snprintf(out, sizeof out, "%s/stats.json", r->dir);
    int x = run_self(r, "analyzing", av, out);
    r->stats = read_in(r->dir, "stats.json");
    if (r->stats && !json_get(r->stats, "events")) {
        free(r->stats);
        r->stats = NULL;
    }
    /* a damaged log: stats says so (exit 2) but summarizes the valid prefix */
    if (x != 0) {
        progress_clear_line(r);
        msg_error("report", "%s: stats exit %d; %s", r->logpath, x,
                  r->stats ? "the report covers the valid prefix of the log"
                           : "the report has no analysis");
    }
    /* what keeps growing (issue 19): the section is report_growth.c's */
    char *gv[] = {"stats", r->logpath, "--growth", "--json", "--top", "50", NULL};
    snprintf(out, sizeof out, "%s/growth.json", r->dir);
    run_self(r, "what grows", gv, out);
    char *sv[] = {"stats", r->logpath, "--by", "site", "--json", "--top", "15", NULL};
    snprintf(out, sizeof out, "%s/sites.json", r->dir);
    if (run_self(r, "call sites", sv, out) == 0) {
        r->sites = read_in(r->dir, "sites.json");
        uint64_t stacks = 0;
        if (r->sites && (json_u64(r->sites, "stacks", &stacks) != 0 || stacks == 0)) {
            free(r->sites);
            r->sites = NULL;
            unlink(out);
        }
    }
}

/* 3. The holes of the allocators with the most bytes in holes (ra->nholes of them). */
static void step_holes(struct report *r, const struct report_args *ra)
{
    for (long k = 0; k < ra->nholes; k++) {
        int pick = -1;
        for (int i = 0; i < r->nallocs; i++) {
            const struct plots_alloc *a = &r->allocs[i];
            if (a->ok && !a->holes_tried && a->holes_1m > 0 &&
                (pick < 0 || a->hole_bytes > r->allocs[pick].hole_bytes))
                pick = i;
        }
        if (pick < 0)
            break;
        struct plots_alloc *a = &r->allocs[pick];
        a->holes_tried = 1;
        char *av[16], out[4200], step[128];
        int n = 0;
        av[n++] = "holes";
        av[n++] = r->logpath;
        av[n++] = "-a";
        av[n++] = a->name;
        av[n++] = "--at";
        av[n++] = "worst";
        av[n++] = "--json";
        n = add_replay_tuning(av, n, ra->threads, ra->touch);
        snprintf(out, sizeof out, "%s/holes.%s.json", r->dir, a->name);
        snprintf(step, sizeof step, "finding the holes of %s", a->name);
        int x = run_self(r, step, av, out);
        a->holes = x == 0 ? read_in(r->dir, strrchr(out, '/') + 1) : NULL;
        if (!a->holes || json_array_len(a->holes, "holes") < 0) {
            progress_clear_line(r);
            msg_error("report", "%s: holes failed for %s (exit %d)", r->logpath, a->name, x);
            free(a->holes);
            a->holes = NULL;
            unlink(out);
        }
    }
}

/* 4. The charts (PNG and SVG each), with the main finding as the memory chart's note. */
static void step_charts(struct report *r, int best, char *statsout, char *note, size_t note_len)
{
    r->popts.dir = r->dir;
    r->popts.title = r->prog;
    r->popts.quiet = 1;
    r->popts.statsout = statsout;
    /* the memory chart carries the main finding, so it can be shown alone (README, slides) */
    if (best >= 0) {
        int most = most_alloc(r->allocs, r->nallocs, best);
        const struct plots_alloc *b = &r->allocs[best], *m = &r->allocs[most];
        if (most != best)
            snprintf(note, note_len, "peak RSS: %s %s, %s %s (footprint %s, %s)", m->name,
                     B(m->peak_rss), b->name, B(b->peak_rss), B(m->peak_fp), B(b->peak_fp));
        else
            snprintf(note, note_len, "peak RSS: %s %s (footprint %s)", b->name,
                     B(b->peak_rss), B(b->peak_fp));
        r->popts.note = note;
    }
    int have_gp = plots_have_gnuplot();
    if (!have_gp) {
        progress_clear_line(r);
        msg_error("report", "gnuplot not found: the report has no charts (make deps)");
    }
    for (int i = 0; i < PLOT_COUNT; i++) {
        const char *why = NULL;
        r->chart_why[i] = "gnuplot is not installed";
        if (!have_gp)
            continue;
        if (!plots_chart_available(r->dir, i, &why)) {
            r->chart_why[i] = why;
            continue;
        }
        char step[128];
        snprintf(step, sizeof step, "drawing %s", plots_chart_name(i));
        progress(r, step, 1);
        int ok = 1;
        for (int t = 0; t < 2 && ok; t++) {
            char out[4200];
            snprintf(out, sizeof out, "%s/%s.%s", r->dir, plots_chart_name(i), t ? "svg" : "png");
            /* stats once (png) so plotstats.tsv holds each series once */
            r->popts.statsout = t ? NULL : statsout;
            progress_clear_line(r);
            ok = plots_render(i, &r->popts, t ? "svg" : "png", out, "report") == 0;
        }
        r->chart_ok[i] = ok;
        r->chart_why[i] = ok ? NULL : "it could not be drawn (mallog report printed why on stderr)";
    }
    r->popts.statsout = statsout;
}

int cmd_report(int argc, char **argv)
{
    struct report *r = calloc(1, sizeof *r);
    struct report_args ra = {0};
    int rc = EXIT_ERROR;
    if (!r)
        return EXIT_ERROR;
    int p = parse_args(argc, argv, r, &ra);
    if (p != 0) {
        rc = p > 0 ? 0 : EXIT_ERROR;
        goto out;
    }
    clean_dir(r->dir);
    r->tty = isatty(2) && msg_verbosity > 0;
    progress_init(&r->progress);
    if (step_replay(r, &ra) < 0)
        goto out;
    step_stats(r);
    plots_default_title(r->dir, r->prog, sizeof r->prog);
    step_holes(r, &ra);
    char statsout[4200], note[512] = "";
    snprintf(statsout, sizeof statsout, "%s/plotstats.tsv", r->dir);
    int best = best_alloc(r->allocs, r->nallocs);
    step_charts(r, best, statsout, note, sizeof note);
    /* 5. the page */
    progress(r, "writing index.html", 1);
    if (write_html(r) != 0)
        goto out;
    progress_clear_line(r);
    if (msg_verbosity >= 1) {
        if (best >= 0)
            fprintf(stderr, "mallog report: best allocator for this trace: %s (peak RSS %s, "
                            "footprint %s)\n",
                    r->allocs[best].name, B(r->allocs[best].peak_rss), B(r->allocs[best].peak_fp));
        fprintf(stderr, "mallog report: %s/index.html\n", r->dir);
    }
    rc = 0;
out:
    for (int i = 0; i < r->nallocs; i++)
        free(r->allocs[i].holes);
    free(r->stats);
    free(r->sites);
    free(r);
    return rc;
}

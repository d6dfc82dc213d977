/* cmd_plot.c - `mallog plot DIR`: gnuplot charts (PNG and SVG) from the TSVs `mallog replay -o`
 * and `mallog stats --tsv` wrote into DIR, optionally zoomed into a range of events. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../common/msg.h"
#include "plots.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: mallog plot DIR [-o OUT] [--range A:B] [--time] [--chart LIST]\n"
            "                   [--format png|svg|both] [--title TEXT] [--note TEXT] [--stats FILE]\n"
            "Charts from the TSVs of `mallog replay LOG -o DIR` and `mallog stats LOG --tsv DIR`.\n"
            "  -o, --output OUT  a directory (default DIR): every chart as OUT/<chart>.png/.svg;\n"
            "                    or a file ending in .png or .svg: one chart (default memory)\n"
            "      --range A:B   zoom into events A..B (1.2e9:1.4e9, 5000:, :1e6); with --time,\n"
            "                    seconds\n"
            "      --time        x axis = time (replay time for replay charts) instead of events\n"
            "      --chart LIST  some of:");
    for (int i = 0; i < PLOT_COUNT; i++)
        fprintf(f, "%s%s", i ? "," : " ", plots_chart_name(i));
    fprintf(f, "\n");
    for (int i = 0; i < PLOT_COUNT; i++)
        fprintf(f, "                    %-10s %s\n", plots_chart_name(i), plots_chart_desc(i));
    fprintf(f, "      --format F    png, svg or both (default both; a directory OUT only)\n"
               "      --title TEXT  chart title prefix (default: the program, from stats.json)\n"
               "      --note TEXT   a line of text in a box on the memory chart\n"
               "      --stats FILE  append the maximum of every plotted series, as gnuplot's\n"
               "                    `stats` computed it, to FILE (\"name<TAB>value\" lines)\n"
               "Needs gnuplot (Debian gnuplot-nox). Exit 0, or 2 on error.\n");
}

/* "A:B", "A:", ":B" with strtod numbers (1.2e9). 0 or -1. */
int plots_parse_range(const char *s, struct plot_opts *o)
{
    const char *colon = strchr(s, ':');
    if (!colon)
        return -1;
    char *end;
    if (colon > s) {
        o->xmin = strtod(s, &end);
        if (end != colon)
            return -1;
        o->has_xmin = 1;
    }
    if (colon[1]) {
        o->xmax = strtod(colon + 1, &end);
        if (*end)
            return -1;
        o->has_xmax = 1;
    }
    if (o->has_xmin && o->has_xmax && !(o->xmin < o->xmax))
        return -1;
    return 0;
}

/* The program's name for titles: basename of stats.json's exe, else of a replay json's log. */
void plots_default_title(const char *dir, char *out, size_t len)
{
    char p[4200];
    out[0] = 0;
    snprintf(p, sizeof p, "%s/stats.json", dir);
    char *js = json_read_file(p, NULL);
    char exe[1024] = "";
    if (js && json_string(js, "exe", exe, sizeof exe) == 0 && exe[0]) {
        const char *b = strrchr(exe, '/');
        snprintf(out, len, "%s", b ? b + 1 : exe);
    }
    free(js);
}

static int ends_with(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

int cmd_plot(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"output", required_argument, 0, 'o'}, {"range", required_argument, 0, 'r'},
        {"time", no_argument, 0, 't'},         {"chart", required_argument, 0, 'c'},
        {"format", required_argument, 0, 'f'}, {"title", required_argument, 0, 'T'},
        {"stats", required_argument, 0, 's'},  {"note", required_argument, 0, 'n'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    struct plot_opts o = {0};
    const char *out = NULL, *charts = NULL, *format = "both", *title = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 'r':
            if (plots_parse_range(optarg, &o) != 0) {
                msg_error("plot", "bad --range '%s' (want A:B with A < B, e.g. 1.2e9:1.4e9)",
                          optarg);
                return EXIT_ERROR;
            }
            break;
        case 't': o.xtime = 1; break;
        case 'c': charts = optarg; break;
        case 'f': format = optarg; break;
        case 'T': title = optarg; break;
        case 's': o.statsout = optarg; break;
        case 'n': o.note = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return EXIT_ERROR;
        }
    }
    if (optind + 1 != argc) {
        usage(stderr);
        return EXIT_ERROR;
    }
    if (strcmp(format, "png") && strcmp(format, "svg") && strcmp(format, "both")) {
        msg_error("plot", "bad --format '%s' (png, svg or both)", format);
        return EXIT_ERROR;
    }
    o.dir = argv[optind];
    struct stat st;
    if (stat(o.dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        msg_error("plot", "%s: not a directory (give the -o DIR of replay/stats/report)", o.dir);
        return EXIT_ERROR;
    }
    if (!plots_have_gnuplot()) {
        msg_error("plot", "gnuplot not found in PATH (make deps installs gnuplot-nox)");
        return EXIT_ERROR;
    }
    char deftitle[256];
    plots_default_title(o.dir, deftitle, sizeof deftitle);
    o.title = title ? title : deftitle;

    int want[PLOT_COUNT] = {0}, explicit = 0;
    if (charts) {
        char list[512];
        snprintf(list, sizeof list, "%s", charts);
        for (char *save, *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
            int k = plots_chart_from_name(tok);
            if (k < 0) {
                msg_error("plot", "unknown chart '%s' (see mallog plot --help)", tok);
                return EXIT_ERROR;
            }
            want[k] = 1;
            explicit = 1;
        }
    }
    /* One file: OUT ends in .png/.svg. */
    if (out && (ends_with(out, ".png") || ends_with(out, ".svg"))) {
        int chart = PLOT_memory;
        for (int i = 0; i < PLOT_COUNT; i++)
            if (want[i]) {
                chart = i;
                break;
            }
        const char *why = "";
        if (!plots_chart_available(o.dir, chart, &why)) {
            msg_error("plot", "%s: cannot draw the %s chart: %s", o.dir, plots_chart_name(chart),
                      why);
            return EXIT_ERROR;
        }
        if (plots_render(chart, &o, ends_with(out, ".svg") ? "svg" : "png", out, "plot") != 0)
            return EXIT_ERROR;
        if (msg_verbosity >= 1)
            fprintf(stderr, "mallog plot: %s chart -> %s\n", plots_chart_name(chart), out);
        return 0;
    }
    const char *odir = out ? out : o.dir;
    if (mkdir(odir, 0777) != 0 && errno != EEXIST) {
        msg_error("plot", "%s: %s", odir, strerror(errno));
        return EXIT_ERROR;
    }
    int drawn = 0, failed = 0;
    for (int i = 0; i < PLOT_COUNT; i++) {
        if (explicit && !want[i])
            continue;
        const char *why = "";
        if (!plots_chart_available(o.dir, i, &why)) {
            if (explicit) {
                msg_error("plot", "%s: cannot draw the %s chart: %s", o.dir, plots_chart_name(i),
                          why);
                failed++;
            } else if (msg_verbosity >= 2)
                fprintf(stderr, "mallog plot: skipping %s: %s\n", plots_chart_name(i), why);
            continue;
        }
        for (int t = 0; t < 2; t++) {
            const char *term = t ? "svg" : "png";
            if (strcmp(format, "both") && strcmp(format, term))
                continue;
            char path[4200];
            snprintf(path, sizeof path, "%s/%s.%s", odir, plots_chart_name(i), term);
            if (plots_render(i, &o, term, path, "plot") != 0) {
                failed++;
                break; /* the other format would fail the same way */
            }
            drawn++;
            if (msg_verbosity >= 1)
                fprintf(stderr, "mallog plot: %s\n", path);
        }
    }
    if (!drawn && !failed) {
        msg_error("plot", "%s: nothing to plot (no replay.*.tsv, timeline.tsv, sizes.tsv, ...)",
                  o.dir);
        return EXIT_ERROR;
    }
    return failed ? EXIT_ERROR : 0;
}

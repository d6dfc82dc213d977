/* report_growth.c - the report's "What grows" section: the sites (or size classes) that
 * `mallog stats --growth --json` (run by report.c into DIR/growth.json) calls growing, ranked as
 * it ranks them, each with a small chart of its live bytes per window (growth.gp). Nothing here
 * reads the log or judges anything: the verdicts are analyze/growth.c's. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/msg.h"
#include "plots.h"

#define CHARTS_MAX 4 /* growing sites drawn */
#define ROWS_MAX 10  /* growing sites listed */

static uint64_t u64_at(const char *obj, const char *path)
{
    uint64_t v = 0;
    json_u64(obj, path, &v);
    return v;
}

/* "+1.2 MiB" from a JSON number (or "n/a" for null) */
static const char *rate(const char *obj, const char *key, char *buf, size_t len)
{
    double v;
    if (json_double(obj, key, &v) != 0) {
        snprintf(buf, len, "n/a");
        return buf;
    }
    char b[32];
    plots_fmt_bytes((uint64_t)(v < 0 ? -v : v), b, sizeof b);
    snprintf(buf, len, "%s%s", v < 0 ? "-" : "+", b);
    return buf;
}

/* growth.<k>.tsv from site k's series and the windows. 0, or -1. */
static int write_tsv(const char *dir, const char *js, const char *site, int k, int nwin)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/growth.%d.tsv", dir, k);
    FILE *t = fopen(path, "w");
    if (!t)
        return -1;
    fprintf(t, "window\tevent\ttime_s\tfloor_bytes\tmax_bytes\tend_blocks\n");
    uint64_t t0 = u64_at(js, "window_start_ns[0]");
    for (int w = 0; w < nwin; w++) {
        char p[64];
        snprintf(p, sizeof p, "window_last_event[%d]", w);
        uint64_t ev = u64_at(js, p);
        snprintf(p, sizeof p, "window_end_ns[%d]", w);
        uint64_t ns = u64_at(js, p);
        snprintf(p, sizeof p, "floor_bytes[%d]", w);
        uint64_t fl = u64_at(site, p);
        snprintf(p, sizeof p, "max_bytes[%d]", w);
        uint64_t mx = u64_at(site, p);
        snprintf(p, sizeof p, "end_blocks[%d]", w);
        fprintf(t, "%d\t%" PRIu64 "\t%.6f\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\n", w, ev,
                (double)(ns - t0) / 1e9, fl, mx, u64_at(site, p));
    }
    return fclose(t) == 0 ? 0 : -1;
}

/* Draws growth.<k>.png; 1 if it was drawn. */
static int draw(const char *dir, const char *name, int k, int xtime)
{
    char vars[2048] = "", data[64], out[4200];
    snprintf(data, sizeof data, "growth.%d.tsv", k);
    plots_gp_str(vars, sizeof vars, "growth", data);
    plots_gp_str(vars, sizeof vars, "site", name);
    snprintf(vars + strlen(vars), sizeof vars - strlen(vars), "xtime=%d;", xtime);
    snprintf(out, sizeof out, "%s/growth.%d.png", dir, k);
    return plots_render_script("growth.gp", vars, dir, "png", out, "report") == 0;
}

void report_growth_section(FILE *f, const char *dir)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/growth.json", dir);
    char *js = json_read_file(path, NULL);
    fprintf(f, "<h2 id=\"growth\">What grows</h2>\n");
    int n = js ? json_array_len(js, "growth") : -1;
    if (n < 0) {
        fprintf(f, "<p class=\"missing\">Not judged: <code>mallog stats --growth</code> gave no "
                   "result (a log of fewer than 1000 events is too short to judge; any other "
                   "reason was printed on stderr).</p>\n");
        unlink(path); /* empty or unreadable: not a data file of the page */
        free(js);
        return;
    }
    int nwin = (int)u64_at(js, "windows"), growing = 0, levels = 0, returns = 0;
    char by[32] = "site";
    json_string(js, "by", by, sizeof by);
    const char *what = strcmp(by, "site") == 0 ? "call site" : "size class";
    for (int k = 0; k < n; k++) {
        char p[64], v[32] = "";
        snprintf(p, sizeof p, "growth[%d].verdict", k);
        json_string(js, p, v, sizeof v);
        growing += strcmp(v, "growing") == 0;
        levels += strcmp(v, "levels_off") == 0;
        returns += strcmp(v, "returns") == 0;
    }
    if (!growing) {
        fprintf(f, "<p>Nothing grows: no %s's live bytes keep rising through the run (%d level "
                   "off, %d return to where they were). <a href=\"growth.json\">growth.json</a></p>\n",
                what, levels, returns);
        free(js);
        return;
    }
    char missing[256] = "";
    json_string(js, "bytes_per_hour_missing", missing, sizeof missing);
    int groups = (int)u64_at(js, "groups");
    fprintf(f, "<p>The %ss whose live bytes keep rising through the run (a leak, or a cache "
               "without a bound), fastest first: %d growing, %d level off, %d return", what,
            growing, levels, returns);
    if (groups > n)
        fprintf(f, " (of the first %d of %d, ranked)", n, groups);
    fprintf(f, ". Each "
               "chart shows the %s's floor per window (what stayed live through the whole "
               "window) and its highest point, over %d windows of %s events; the verdict looks "
               "at the last half. <a href=\"growth.json\">growth.json</a>; "
               "<code>mallog stats LOG --growth</code> says the same in text.",
            what, nwin, plots_fmt_count(u64_at(js, "window_events"), path, sizeof path));
    if (missing[0]) {
        fprintf(f, " No bytes per hour: ");
        msg_xml_escape(f, missing);
        fprintf(f, ".");
    }
    fprintf(f, "</p>\n<table>\n<tr><th>%s</th><th>per hour</th><th>per million calls</th>"
               "<th>live at the end</th><th>oldest live block from</th></tr>\n", what);
    int have_gp = plots_have_gnuplot(), xtime = !missing[0], charts = 0;
    char names[CHARTS_MAX][512];
    for (int k = 0, row = 0; k < n && row < ROWS_MAX; k++) {
        char p[64], v[32] = "", name[512] = "", b1[32], b2[32], b3[32], b4[32];
        snprintf(p, sizeof p, "growth[%d]", k);
        const char *site = json_get(js, p);
        if (!site || json_string(site, "verdict", v, sizeof v) != 0 || strcmp(v, "growing") != 0)
            continue;
        row++;
        json_string(site, "site", name, sizeof name);
        fprintf(f, "<tr><td><code>");
        msg_xml_escape(f, name);
        double oldest = 0;
        int has_oldest = json_double(site, "oldest_live_time_ns", &oldest) == 0;
        snprintf(b4, sizeof b4, "%.2f s", oldest / 1e9);
        fprintf(f, "</code></td><td>%s</td><td>%s</td><td>%s in %s blocks</td><td>%s (event "
                   "%s)</td></tr>\n",
                rate(site, "bytes_per_hour", b1, sizeof b1),
                rate(site, "bytes_per_million_calls", b2, sizeof b2),
                plots_fmt_bytes(u64_at(site, "live_bytes_end"), b3, sizeof b3),
                plots_fmt_count(u64_at(site, "live_blocks_end"), path, sizeof path),
                has_oldest ? b4 : "-", has_oldest ? plots_fmt_count(u64_at(site, "oldest_live_event"), p, sizeof p) : "-");
        if (charts < CHARTS_MAX && have_gp && write_tsv(dir, js, site, charts, nwin) == 0 &&
            draw(dir, name, charts, xtime))
            snprintf(names[charts++], sizeof names[0], "%s", name);
    }
    fprintf(f, "</table>\n");
    if (!have_gp)
        fprintf(f, "<p class=\"missing\">No charts: gnuplot is not installed.</p>\n");
    for (int k = 0; k < charts; k++) {
        fprintf(f, "<img class=\"growth\" src=\"growth.%d.png\" width=\"560\" height=\"300\" "
                   "alt=\"live bytes of ", k);
        msg_xml_escape(f, names[k]);
        fprintf(f, " per window\">\n");
    }
    free(js);
}

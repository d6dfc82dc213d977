/* report_tune.c - "Settings that help" in `mallog report`: what `mallog tune LOG -o DIR` found,
 * read from DIR/tune.json (the report's own directory). The report only reads it: a search takes
 * minutes and a report must not, so the section says how to fill it when there is none. */
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../common/json.h"
#include "../common/msg.h"
#include "plots.h"
#include "report_tune.h"

/* One allocator's row: defaults against best. */
static void tune_row(FILE *f, const char *js, const char *alloc)
{
    char path[256], env[1024] = "";
    uint64_t fp = 0, rss = 0, dfp = 0;
    double ratio = 0, sec = 0, dsec = 0, dscore = 0, score = 0;
    char b1[32], b2[32], b3[32];
    snprintf(path, sizeof path, "best.%s.env", alloc);
    if (json_string(js, path, env, sizeof env) < 0)
        return;
    snprintf(path, sizeof path, "best.%s.peak_footprint", alloc);
    json_u64(js, path, &fp);
    snprintf(path, sizeof path, "best.%s.peak_rss", alloc);
    json_u64(js, path, &rss);
    snprintf(path, sizeof path, "best.%s.footprint_ratio_at_peak", alloc);
    json_double(js, path, &ratio);
    snprintf(path, sizeof path, "best.%s.replay_seconds", alloc);
    json_double(js, path, &sec);
    snprintf(path, sizeof path, "best.%s.default_replay_seconds", alloc);
    json_double(js, path, &dsec);
    snprintf(path, sizeof path, "best.%s.default_score", alloc);
    json_double(js, path, &dscore);
    snprintf(path, sizeof path, "best.%s.score", alloc);
    json_double(js, path, &score);
    /* the defaults' footprint: the first candidate of this allocator with no setting */
    int n = json_array_len(js, "candidates");
    for (int i = 0; i < n; i++) {
        char a[128], e[16];
        snprintf(path, sizeof path, "candidates[%d].allocator", i);
        if (json_string(js, path, a, sizeof a) < 0 || strcmp(a, alloc) != 0)
            continue;
        snprintf(path, sizeof path, "candidates[%d].env", i);
        if (json_string(js, path, e, sizeof e) == 0 && !*e) {
            snprintf(path, sizeof path, "candidates[%d].peak_footprint", i);
            json_u64(js, path, &dfp);
            break;
        }
    }
    fprintf(f, "<tr%s><td>", *env ? " class=\"best\"" : "");
    msg_xml_escape(f, alloc);
    fprintf(f, "</td><td>%s</td><td>%s</td><td>%s</td><td>%.2f&times;</td><td>",
            plots_fmt_bytes(dfp, b1, sizeof b1), plots_fmt_bytes(fp, b2, sizeof b2),
            plots_fmt_bytes(rss, b3, sizeof b3), ratio);
    if (sec > 0 && dsec > 0)
        fprintf(f, "%.2f&times; %s", sec >= dsec ? sec / dsec : dsec / sec,
                sec >= dsec ? "slower" : "faster");
    fprintf(f, "</td><td style=\"text-align:left\">");
    if (*env) {
        fprintf(f, "<code>");
        msg_xml_escape(f, env);
        fprintf(f, "</code>");
    } else {
        fprintf(f, "the defaults (no setting helps)");
    }
    fprintf(f, "</td></tr>\n");
}

void report_tune_section(FILE *f, const char *dir, const char *logpath)
{
    char path[PATH_MAX + 32], log[PATH_MAX] = "", want[PATH_MAX], rec[1024] = "", obj[32] = "";
    fprintf(f, "<h2 id=\"tune\">Settings that help</h2>\n");
    snprintf(path, sizeof path, "%s/tune.json", dir);
    char *js = json_read_file(path, NULL);
    if (!js) {
        fprintf(f, "<p class=\"missing\">Not searched: <code>mallog tune LOG -o ");
        msg_xml_escape(f, dir);
        fprintf(f, "</code> replays this log with each allocator's settings (minutes) and "
                   "leaves tune.json here, which the next <code>mallog report</code> into this "
                   "directory shows.</p>\n");
        return;
    }
    json_string(js, "log", log, sizeof log);
    if (!realpath(logpath, want))
        snprintf(want, sizeof want, "%s", logpath);
    if (strcmp(log, want) != 0) {
        fprintf(f, "<p class=\"missing\">tune.json here is about another log (<code>");
        msg_xml_escape(f, log);
        fprintf(f, "</code>): not shown.</p>\n");
        free(js);
        return;
    }
    json_string(js, "objective", obj, sizeof obj);
    json_string(js, "recommendation", rec, sizeof rec);
    int n = json_array_len(js, "candidates");
    int failed = 0;
    for (int i = 0; i < n; i++) {
        char st[16], p[64];
        snprintf(p, sizeof p, "candidates[%d].status", i);
        failed += json_string(js, p, st, sizeof st) == 0 && strcmp(st, "ok") != 0;
    }
    fprintf(f, "<p><b>");
    msg_xml_escape(f, rec);
    fprintf(f,
            "</b></p>\n<p>From <a href=\"tune.json\">tune.json</a> (<code>mallog tune</code>): "
            "%d settings replayed, objective ",
            n < 0 ? 0 : n);
    msg_xml_escape(f, obj);
    fprintf(
        f,
        "; %d failed or crashed (never recommended). Each line is an ordinary replay: "
        "<code>mallog replay LOG -a</code> with the candidate's <code>replay_spec</code>.</p>\n",
        failed);
    fprintf(f, "<table>\n<tr><th>allocator</th><th>defaults: footprint</th><th>best: "
               "footprint</th><th>best: peak RSS</th><th>best: footprint / live</th>"
               "<th>speed cost</th><th>environment</th></tr>\n");
    char done[16][128];
    int nd = 0;
    for (int i = 0; i < n && nd < 16; i++) { /* each allocator once, in the order tried */
        char a[128], p[64];
        snprintf(p, sizeof p, "candidates[%d].allocator", i);
        if (json_string(js, p, a, sizeof a) < 0 || strchr(a, '.') || strchr(a, '['))
            continue;
        int seen = 0;
        for (int k = 0; k < nd && !seen; k++)
            seen = strcmp(done[k], a) == 0;
        if (seen)
            continue;
        snprintf(done[nd++], sizeof done[0], "%s", a);
        tune_row(f, js, a);
    }
    fprintf(f, "</table>\n");
    struct stat st;
    snprintf(path, sizeof path, "%s/tune-memory.png", dir);
    if (stat(path, &st) == 0)
        fprintf(f, "<p><img src=\"tune-memory.png\" alt=\"memory over time: each allocator's "
                   "defaults and best setting\" width=\"1100\" height=\"620\"></p>\n");
    free(js);
}

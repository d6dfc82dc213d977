/* plots.h - internal prototypes of plots/: gnuplot
 * charts from replay/stats TSVs (`mallog plot`), and the HTML report (`mallog report`).
 * Nothing here reads a .mlog: data comes from the other tools' TSV/JSON output. */
#ifndef MLG_PLOTS_H
#define MLG_PLOTS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../common/json.h" /* the reader of the tools' summaries */

/* ---- charts.c: running the gnuplot scripts ------------------------------------------------ */
#define PLOTS_MAX_ALLOCS 16

/* What one chart run needs; every path is a plain file name inside dir unless absolute. */
struct plot_opts {
    const char *dir;      /* the data directory (replay/stats output) */
    const char *title;    /* chart title prefix, or NULL */
    int has_xmin, has_xmax;
    double xmin, xmax;    /* --range */
    int xtime;            /* x = time_ns in seconds instead of events */
    const char *statsout; /* gnuplot `stats` results appended here, or NULL */
    const char *note;     /* memory chart: a line of findings in a box, or NULL */
    int quiet;            /* no messages for skipped charts */
};

/* The charts, defined once: X(name, script, what it shows). */
#define PLOTS_CHARTS(X)                                                                            \
    X(memory, "memory.gp", "memory over time: live requested, footprint and RSS per allocator")   \
    X(holes, "holes.gp", "holes >= 1 MiB and the largest hole over time, per allocator")          \
    X(sizes, "sizes.gp", "request size histogram")                                                 \
    X(lifetimes, "lifetimes.gp", "block lifetime histogram")                                       \
    X(reallocs, "reallocs.gp", "realloc chains: growth from first to last size")                   \
    X(cumulative, "cumulative.gp", "cumulative vs compensated requested bytes")

enum plot_chart {
#define PLOTS_X_ENUM(name, script, desc) PLOT_##name,
    PLOTS_CHARTS(PLOTS_X_ENUM)
#undef PLOTS_X_ENUM
    PLOT_COUNT
};

const char *plots_chart_name(int chart);
const char *plots_chart_desc(int chart);
int plots_chart_from_name(const char *name); /* -1 if unknown */
/* Directory holding the *.gp scripts: $MALLOG_PLOTS_DIR, else beside the binary's source tree
 * (<bin>/../../plots), <bin>/../share/mallog/plots, <bin>/plots. NULL if none has memory.gp. */
const char *plots_scripts_dir(void);
/* Allocator names of dir/replay.<name>.tsv, in a fixed order (glibc, jemalloc, mimalloc,
 * tcmalloc, arena, then the others sorted). Returns the count (0..max). */
int plots_find_allocs(const char *dir, char names[][64], int max);
/* Data rows (lines after the header) of dir/file; -1 if it cannot be read. */
long plots_tsv_rows(const char *dir, const char *file);
/* 1 if the header of dir/file has column col. */
int plots_tsv_has_column(const char *dir, const char *file, const char *col);
/* Smallest and largest numeric value of column col of dir/file: 0, or -1 if none. */
int plots_tsv_span(const char *dir, const char *file, const char *col, double *lo, double *hi);
/* Whether chart can be drawn from what dir holds (1), or not (0, *why says what is missing). */
int plots_chart_available(const char *dir, int chart, const char **why);
/* Renders chart into out (png or svg by term). Returns 0, or -1 with a message on stderr
 * (gnuplot's own error lines included). */
int plots_render(int chart, const struct plot_opts *o, const char *term, const char *out,
                 const char *cmd);
/* 1 if a gnuplot binary can be run. */
int plots_have_gnuplot(void);
/* Renders one script of plots_scripts_dir() outside the chart list (a report section's own
 * charts): gnuplot in dir with dir_scripts, term, out and then vars_extra ("name='v';...", from
 * plots_gp_str) set. 0, or -1 (said on stderr, gnuplot's lines included). */
int plots_render_script(const char *script, const char *vars_extra, const char *dir,
                        const char *term, const char *out, const char *cmd);
/* Appends name='value'; to buf (gnuplot's quoting). */
void plots_gp_str(char *buf, size_t len, const char *name, const char *value);

/* ---- cmd_plot.c -------------------------------------------------------------------------- */
/* --range "A:B", "A:", ":B" (strtod numbers) into o. 0, or -1 if malformed or A >= B. */
int plots_parse_range(const char *s, struct plot_opts *o);
/* Title prefix for charts: the program's name from dir/stats.json ("" if unknown). */
void plots_default_title(const char *dir, char *out, size_t len);

/* ---- report.c ---------------------------------------------------------------------------- */
/* What pins the holes of a `mallog holes --json` document: among its holes >= 1 MiB (the first
 * 500 listed), the most frequent size of the smaller live block bounding each, how many holes it
 * bounds, and one example block (allocating event, age in events). */
struct pin_summary {
    int holes;    /* holes >= 1 MiB scanned */
    int with_pin; /* how many of them are bounded by a block of pin_size (0 = none) */
    uint64_t pin_size, example_event, example_age;
};
void plots_pin_summary(const char *holes_json, struct pin_summary *ps);

/* One allocator's replay summary, as the report's findings and table use it. */
struct plots_alloc {
    char name[64], library[512], threads_mode[16]; /* threads_mode: how it was replayed */
    uint64_t peak_live, peak_live_event, peak_fp, peak_rss, slop;
    uint64_t worst_event, holes_1m, holes_8m, largest, hole_bytes;
    uint64_t hole_resident; /* resident bytes in the holes at the worst sample */
    uint64_t unknown_frees, double_frees;
    double ratio, eps;
    int ok;          /* its JSON was read */
    int holes_tried; /* `mallog holes` was run for it */
    char *holes;     /* holes.<name>.json text, or NULL */
};
/* Reads dir/replay.<a->name>.json into a (a->ok = 0 if it cannot be read). */
void plots_alloc_load(const char *dir, struct plots_alloc *a);
/* The "Key findings" list of the page into f (HTML) and report.json into jf, from the replay
 * summaries as[0..n) and the stats.json text (NULL if stats failed) of the log logpath. */
void plots_write_findings(FILE *f, FILE *jf, const char *logpath, const char *stats,
                          const struct plots_alloc *as, int n);

/* ---- report_growth.c ----------------------------------------------------------------------- */
/* The report's "What grows" section from dir/growth.json (`mallog stats --growth --json`): the
 * growing sites with a small chart each (growth.<k>.tsv, growth.<k>.png), or one line saying
 * nothing grows, or why it was not judged. */
void report_growth_section(FILE *f, const char *dir);
/* ---- report_fork.c ----------------------------------------------------------------------- */
/* The "Fork and copy-on-write" section into f when the recording log names has a forked child
 * whose parent's log is there: replays it as a tree (`mallog replay --tree`, on the allocators
 * as[0..n) of the report, tuned ones left out) into dir/tree/ and shows each allocator's
 * figures. 1 if written, else 0. */
int report_fork_section(FILE *f, const char *dir, const char *log, const struct plots_alloc *as,
                        int n);

/* ---- units ------------------------------------------------------------------------------- */
/* "27.8 MiB", "232 B" */
const char *plots_fmt_bytes(uint64_t b, char *buf, size_t len);
/* "234,822" */
const char *plots_fmt_count(uint64_t n, char *buf, size_t len);

/* ---- commands: entries of cli/commands.h ------------------------------------------------ */
int cmd_plot(int argc, char **argv);
int cmd_report(int argc, char **argv);

/* ---- report_callers.c ------------------------------------------------------------------- */

/* The call trees section of the report (a log with stacks): runs stats --by caller|callee into
 * dir/callers.json and dir/callees.json and writes them as collapsible lists. */
void report_callers(FILE *f, const char *dir, const char *log);

#endif

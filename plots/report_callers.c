/* report_callers.c - the report's call trees (logs recorded with --stacks): `mallog stats LOG
 * --by caller|callee --json` run as a subprocess into callers.json / callees.json, drawn as
 * nested <details>/<summary> elements (collapsible without script or external assets). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../common/json.h"
#include "../common/msg.h"
#include "plots.h"

#define TREE_DEPTH "6"
#define TREE_TOP "8"

/* Runs "mallog -q stats LOG --by WHAT --json ..." with stdout into out. 0, or -1. */
static int run_tree(const char *log, const char *what, const char *out)
{
    int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fd, 1);
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0)
            dup2(null, 2);
        execl("/proc/self/exe", "mallog", "-q", "stats", log, "--by", what, "--json", "--depth",
              TREE_DEPTH, "--top", TREE_TOP, (char *)NULL);
        _exit(127);
    }
    close(fd);
    int status;
    if (pid < 0)
        return -1;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/* The nodes of the JSON array arr (NUL-terminated right after it), each a <details> when it has
 * children. Each node and child array is cut out with a NUL while it is read (and restored), so
 * every lookup scans that node only, not the rest of the file. */
static void write_nodes(FILE *f, char *arr, int level, uint64_t peak)
{
    char *e = (char *)json_skip_ws(arr + 1);
    while (e && *e && *e != ']') {
        char *end = (char *)json_skip(e);
        if (!end)
            return;
        char saved = *end;
        *end = 0;
        char name[512] = "", b1[32], b2[32], b3[32];
        uint64_t allocs = 0, bytes = 0, pk = 0, leaked = 0, lblocks = 0, more = 0;
        json_string(e, "function", name, sizeof name);
        json_u64(e, "allocs", &allocs);
        json_u64(e, "bytes", &bytes);
        json_u64(e, "peak_bytes", &pk);
        json_u64(e, "leaked_bytes", &leaked);
        json_u64(e, "leaked_blocks", &lblocks);
        json_u64(e, "more", &more);
        char *kids = (char *)json_get(e, "children");
        fprintf(f, "%s<code>", kids ? (level < 2 ? "<details open><summary>" : "<details><summary>")
                                    : "<div class=\"leaf\">");
        msg_xml_escape(f, name);
        fprintf(f, "</code> &mdash; %" PRIu64 " allocations, %s, %s at the peak (%.1f%%)",
                allocs, mlg_format_size(bytes, b1, sizeof b1), mlg_format_size(pk, b2, sizeof b2),
                peak ? 100.0 * (double)pk / (double)peak : 0.0);
        if (lblocks)
            fprintf(f, ", %s still live at exit in %" PRIu64 " blocks",
                    mlg_format_size(leaked, b3, sizeof b3), lblocks);
        if (kids) {
            fprintf(f, "</summary>\n<div class=\"tree\">\n");
            char *kend = (char *)json_skip(kids);
            if (kend) {
                char ks = *kend;
                *kend = 0;
                write_nodes(f, kids, level + 1, peak);
                *kend = ks;
            }
            if (more)
                fprintf(f, "<div class=\"leaf\">&hellip; %" PRIu64 " more (small)</div>\n", more);
            fprintf(f, "</div></details>\n");
        } else {
            fprintf(f, "</div>\n");
        }
        *end = saved;
        e = (char *)json_skip_ws(end);
        if (*e == ',')
            e = (char *)json_skip_ws(e + 1);
    }
}

static void write_tree(FILE *f, const char *dir, const char *file, const char *title,
                       const char *what)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    char *json = json_read_file(path, NULL);
    char *tree = json ? (char *)json_get(json, "tree") : NULL;
    uint64_t peak = 0;
    if (tree && json_array_len(json, "tree") > 0) {
        json_u64(json, "peak_live_requested", &peak);
        fprintf(f, "<details class=\"calltree\"%s><summary><b>%s</b> (<a href=\"%s\">%s</a>)"
                   "</summary>\n<div class=\"tree\">\n",
                strcmp(what, "caller") == 0 ? " open" : "", title, file, file);
        char *tend = (char *)json_skip(tree);
        if (tend) {
            char saved = *tend;
            *tend = 0;
            write_nodes(f, tree, 0, peak);
            *tend = saved;
        }
        fprintf(f, "</div></details>\n");
    }
    free(json);
}

void report_callers(FILE *f, const char *dir, const char *log)
{
    char out[4200];
    snprintf(out, sizeof out, "%s/callers.json", dir);
    int top = run_tree(log, "caller", out);
    snprintf(out, sizeof out, "%s/callees.json", dir);
    int bottom = run_tree(log, "callee", out);
    if (top != 0 && bottom != 0)
        return;
    fprintf(f, "<h2 id=\"callers\">Call trees</h2>\n<p>Who allocates, through whom: top-down from "
               "<code>main</code> to the allocating sites, and bottom-up from each site to its "
               "callers, with allocations, bytes, the share of live bytes at the peak and what is "
               "still live at exit at every level. Allocation wrappers are skipped as in the call "
               "sites table; " TREE_DEPTH " levels, " TREE_TOP " children a node, calls under "
               "0.1%% folded into &ldquo;more&rdquo;. "
               "<code>mallog stats LOG --by caller</code> (or <code>callee</code>) "
               "<code>--depth N</code> gives more.</p>\n"
               "<style>.tree{margin-left:1.5em}.calltree summary,.tree summary{cursor:pointer}"
               "</style>\n");
    if (top == 0)
        write_tree(f, dir, "callers.json", "Top-down (callers)", "caller");
    if (bottom == 0)
        write_tree(f, dir, "callees.json", "Bottom-up (callees)", "callee");
}

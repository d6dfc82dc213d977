/* cmd_holes.c - `mallog holes`: one allocator's replay up to a point (an event, the peak of live
 * bytes, or the worst sample of a first replay) and the holes there, with the live blocks that
 * bound them. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/msg.h"
#include "cmd.h"

#define HOLES_TOP 20 /* holes listed by default (--top) */

static void holes_usage(FILE *f)
{
    fprintf(
        f, "usage: mallog holes LOG -a ALLOC --at EVENT|peak|worst [--top N] [--json] [--pid PID]\n"
           "Replays LOG on one allocator up to a point and lists the holes there, largest\n"
           "first, each with the live blocks that bound it (size, allocating event, age in\n"
           "events, thread): the small long-lived block that pins a hole.\n"
           "  -a, --alloc ALLOC    as for replay (default glibc)\n"
           "      --at POINT       an event index, peak (of live bytes, default) or worst\n"
           "                       (the sample with the most bytes in holes)\n"
           "      --top N          the N largest holes (default 20, 0 = all; with --json:\n"
           "                       all unless given)\n"
           "      --json           one JSON object instead of text\n"
           "      --threads, --touch, --samples, --every, --pid: as for replay\n");
}

int cmd_holes(int argc, char **argv)
{
    static struct alloc_spec specs[MAX_ALLOCS];
    static struct run_opts ro;
    struct prepass pp;
    struct job job = {0};
    int n = 0;
    char path[PATH_MAX];
    options_init(&ro);
    ro.at = "peak";
    ro.top = HOLES_TOP;
    int rc = options_parse("holes", 1, argc, argv, specs, &n, &ro);
    if (rc < 0) {
        holes_usage(stdout);
        return 0;
    }
    if (rc) {
        fprintf(stderr, "usage: mallog holes LOG -a ALLOC --at EVENT|peak|worst [--top N] [--json] "
                        "(mallog holes --help)\n");
        return rc;
    }
    if (n > 1) {
        msg_error("holes", "one allocator at a time");
        return EXIT_ERROR;
    }
    if (!n)
        specs_parse("holes", "glibc", &specs[n++]);
    specs_name(specs, n);
    if (rec_pick_log("holes", argv[optind], &ro.pid, path, sizeof path) != 0)
        return EXIT_ERROR;
    if (!realpath(path, ro.w.log))
        snprintf(ro.w.log, sizeof ro.w.log, "%s", path);
    if (jobs_probe("holes", &ro.w, specs, n) < 0)
        return EXIT_ERROR;
    if (options_prepare("holes", &ro, &pp) < 0)
        return EXIT_ERROR;
    const char *at = ro.at;
    job.spec = &specs[0];
    if (strcmp(at, "peak") == 0) {
        ro.w.stop_event = pp.peak_event;
    } else if (strcmp(at, "worst") == 0) {
        if (jobs_run("holes", &ro.w, &job, 1, pp.events, 0) != 0)
            return EXIT_ERROR;
        ro.w.stop_event = job.sum.worst_event;
    } else {
        ro.w.stop_event = strtoull(at, NULL, 10); /* checked by options_parse */
        if (ro.w.stop_event >= pp.events) {
            msg_error("holes", "%s: event %" PRIu64 " is past the end (%" PRIu64 " events)", path,
                      ro.w.stop_event, pp.events);
            return EXIT_ERROR;
        }
    }
    snprintf(ro.w.holes_fmt, sizeof ro.w.holes_fmt, "%s", ro.json ? "json" : "text");
    snprintf(ro.w.at_label, sizeof ro.w.at_label, "%s", at);
    /* JSON is for programs: every hole unless --top says otherwise */
    ro.w.holes_top = ro.json && !ro.top_set ? 0 : ro.top;
    memset(&job, 0, sizeof job);
    job.spec = &specs[0];
    return jobs_run("holes", &ro.w, &job, 1, pp.events, 0) == 0 && !pp.damaged ? 0 : EXIT_ERROR;
}

/* info.c - `mallog info LOG|PREFIX|DIR [--pid P]`: header, counts per op, threads, integrity;
 * for a recording of several processes, the process tree first. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../common/msg.h"
#include "../common/recording.h"

struct log_summary {
    struct mlg_check check;
    uint64_t events, failed[MLG_OP_COUNT], counts[MLG_OP_COUNT], requested[MLG_OP_COUNT];
    uint64_t first_seq, last_seq, last_time;
    uint64_t threads_seen;
    struct mlg_error err;
    const struct mlg_trailer *trailer;
    struct mlg_trailer trailer_copy;
    uint64_t frames, file_size;
    int complete;
    int in_progress;   /* the log is being written: its process still runs */
    char last_file[4096]; /* a segmented log: the last segment read */
    int ancestors; /* fork ancestors whose logs seeded the inherited heap */
};

static void argv_line(const struct mlg_header *h, char *out, size_t len)
{
    size_t o = 0, i = 0;
    out[0] = 0;
    for (uint32_t a = 0; a < h->argc && i < sizeof h->argv; a++) {
        const char *s = h->argv + i;
        size_t l = strnlen(s, sizeof h->argv - i);
        int n = snprintf(out + o, len - o, "%s%s", a ? " " : "", s);
        if (n < 0 || (size_t)n >= len - o)
            break;
        o += (size_t)n;
        i += l + 1;
    }
}

static int summarize(const char *path, struct log_summary *s, struct mlg_header *h)
{
    memset(s, 0, sizeof *s);
    struct mlg_reader *r;
    if (mlg_reader_open(&r, path, NULL, &s->err) != 0)
        return -1;
    *h = *mlg_reader_header(r);
    mlg_check_init(&s->check, NULL);
    s->ancestors = rec_seed_inherited(&s->check, path, h);
    struct mlg_event ev;
    int n;
    uint32_t max_thread = 0;
    while ((n = mlg_reader_next(r, &ev)) > 0) {
        if (s->events == 0)
            s->first_seq = ev.seq;
        s->events++;
        s->counts[ev.op]++;
        if (ev.outcome == MLG_OUT_FAILED || ev.outcome == MLG_OUT_OVERFLOW || ev.outcome == MLG_OUT_EINVAL)
            s->failed[ev.op]++;
        else if (mlg_op_kind(ev.op) == 'A' || mlg_op_kind(ev.op) == 'R')
            s->requested[ev.op] += ev.size;
        if (ev.thread + 1u > max_thread)
            max_thread = ev.thread + 1u;
        s->last_seq = ev.seq;
        s->last_time = ev.time_ns;
        mlg_check_event(&s->check, &ev);
    }
    s->threads_seen = max_thread;
    if (n < 0)
        s->err = *mlg_reader_error(r);
    if (mlg_reader_trailer(r)) {
        s->trailer_copy = *mlg_reader_trailer(r);
        s->trailer = &s->trailer_copy;
    }
    s->frames = mlg_reader_frames(r);
    s->file_size = mlg_reader_file_size(r);
    s->complete = n == 0 && s->trailer;
    s->in_progress = n == 0 && !s->trailer && mlg_reader_in_progress(r);
    snprintf(s->last_file, sizeof s->last_file, "%s", mlg_reader_path(r));
    mlg_reader_close(r);
    return 0;
}

static void end_text(const struct mlg_trailer *t, char *buf, size_t len)
{
    if (!t) {
        snprintf(buf, len, "unknown (the log is incomplete)");
        return;
    }
    switch (t->end) {
    case MLG_END_EXIT:
    case MLG_END_UNDERSCORE_EXIT:
        if (t->end_status == INT32_MIN)
            snprintf(buf, len, "%s (returned from main; status not seen)", mlg_end_name((int)t->end));
        else
            snprintf(buf, len, "%s, status %d", mlg_end_name((int)t->end), t->end_status);
        break;
    case MLG_END_SIGNAL:
        snprintf(buf, len, "killed by signal %d (%s)", t->end_status, strsignal(t->end_status));
        break;
    default:
        snprintf(buf, len, "%s", mlg_end_name((int)t->end));
    }
}

static void print_log(const char *path, const struct mlg_header *h, const struct log_summary *s)
{
    char sz[32], line[1024], when[64];
    printf("log:        %s (%s, %" PRIu64 " frames, %s)\n", path,
           mlg_format_size(s->file_size, sz, sizeof sz), s->frames,
           s->complete ? "complete" : s->in_progress ? "being written" : "INCOMPLETE");
    if (h->segment) {
        const char *base = strrchr(s->last_file, '/');
        printf("segments:   from segment %u (its checkpoint: %" PRIu64 " live blocks) to %s, "
               "read as one log\n", h->segment, s->counts[MLG_OP_LIVE],
               base ? base + 1 : s->last_file);
    }
    if (s->in_progress)
        printf("running:    pid %" PRIu64 " is still running: its recording is in progress; "
               "read up to event %" PRIu64 " (seq %" PRIu64 ", t = %.3f s)\n", h->pid,
               s->events, s->last_seq, (double)s->last_time / 1e9);
    printf("process:    pid %" PRIu64 ", ppid %" PRIu64 ", exec generation %u\n", h->pid, h->ppid,
           h->exec_gen);
    if (h->parent_pid && h->parent_pid == h->pid)
        printf("parent:     exec from pid %" PRIu64 " generation %u\n", h->parent_pid, h->parent_gen);
    else if (h->parent_pid)
        printf("parent:     fork of pid %" PRIu64 " (generation %u) at seq %" PRIu64 "\n",
               h->parent_pid, h->parent_gen, h->fork_seq);
    printf("exe:        %s\n", h->exe);
    argv_line(h, line, sizeof line);
    printf("argv:       %s\n", line);
    time_t t = (time_t)(h->start_realtime_ns / 1000000000u);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", &tm);
    printf("started:    %s\n", when);
    printf("glibc:      %s; malloc served by %s\n", h->glibc_version,
           h->malloc_lib[0] ? h->malloc_lib : "?");
    if (h->malloc_shadowed[0])
        printf("warning:    the program's own malloc (%s) was replaced by glibc's while recording\n",
               h->malloc_shadowed);
    if (h->env[0]) {
        printf("env:        ");
        for (const char *e = h->env; *e; e++)
            fputs(*e == '\n' ? (e[1] ? "; " : "") : (char[]){*e, 0}, stdout);
        putchar('\n');
    }
    end_text(s->trailer, line, sizeof line);
    printf("ended:      %s\n", s->in_progress ? "not yet (still running)" : line);
    printf("events:     %" PRIu64 " (%.2f bytes/event), seq %" PRIu64 "..%" PRIu64 ", lost %" PRIu64
           "\n", s->events, s->events ? (double)s->file_size / (double)s->events : 0.0,
           s->first_seq, s->last_seq, s->trailer ? s->trailer->lost_events : 0);
    printf("threads:    %" PRIu64 "\n", s->trailer ? s->trailer->threads : s->threads_seen);
    struct mlg_sites *sites = NULL;
    struct mlg_error serr;
    mlg_sites_load(&sites, path, &serr); /* damage is reported below, from the events */
    if (sites && mlg_sites_stack_count(sites))
        printf("stacks:     %u distinct call stacks in %u modules (mallog stats --by site)\n",
               mlg_sites_stack_count(sites), mlg_sites_module_count(sites));
    mlg_sites_free(sites);
    /* the process may have run long after its last allocation */
    uint64_t end = s->trailer && s->trailer->end_time_ns > s->last_time ? s->trailer->end_time_ns
                                                                          : s->last_time;
    printf("duration:   %.3f s\n", (double)end / 1e9);
    printf("ops:        %-20s %12s %10s %16s\n", "", "calls", "failed", "bytes requested");
    for (int op = 1; op < MLG_OP_COUNT; op++) {
        if (!s->counts[op])
            continue;
        printf("            %-20s %12" PRIu64 " %10" PRIu64 " %16" PRIu64 "\n", mlg_op_name(op),
               s->counts[op], s->failed[op], s->requested[op]);
    }
    const struct mlg_check *c = &s->check;
    printf("integrity:  %" PRIu64 " frames ok%s; anomalies %" PRIu64 " (unknown frees %" PRIu64
           ", double frees %" PRIu64 ", ordering inversions %" PRIu64 ", seq disorder %" PRIu64 ")\n",
           s->frames, s->err.code ? ", then damage" : "", mlg_check_anomalies(c), c->unknown_frees,
           c->double_frees, c->inversions, c->seq_disorder);
    if (s->ancestors)
        printf("            inherited %" PRIu64 " live blocks from %d ancestor log%s (fork)\n",
               c->inherited_blocks, s->ancestors, s->ancestors > 1 ? "s" : "");
    if (c->first_anomaly_event != UINT64_MAX)
        printf("            first anomaly at event %" PRIu64 "%s\n", c->first_anomaly_event,
               h->parent_pid && h->parent_pid != h->pid && !s->ancestors
                   ? " (a forked child frees blocks its parent allocated; its log is missing)" : "");
    if (s->err.code) {
        char buf[512];
        printf("damage:     %s; everything before it was read\n",
               mlg_error_format(&s->err, buf, sizeof buf));
    }
    printf("live:       %" PRIu64 " blocks, %s at the end; peak %s\n", c->live_blocks,
           mlg_format_size(c->live_bytes, sz, sizeof sz),
           mlg_format_size(c->peak_live_bytes, line, sizeof line));
}

static void print_tree(const struct rec_log *logs, int n, const struct log_summary *sums,
                       const int *parent, int of, int depth, char *done)
{
    for (int i = 0; i < n; i++) {
        const struct mlg_header *h = &logs[i].header;
        if (done[i] || !logs[i].header_ok || parent[i] != of)
            continue;
        done[i] = 1;
        char args[256], end[128];
        argv_line(h, args, sizeof args);
        end_text(sums[i].trailer, end, sizeof end);
        if (sums[i].in_progress)
            snprintf(end, sizeof end, "still running");
        const char *how = depth == 0 ? "*" : h->parent_pid == h->pid ? "exec" : h->parent_pid ? "fork" : "spawn";
        printf("%*s%s pid %" PRIu64 "%s%.0u  %" PRIu64 " events  %s  [%s]%s\n", depth * 2, "", how,
               h->pid, h->exec_gen ? "." : "", h->exec_gen, sums[i].events, args, end,
               mlg_check_anomalies(&sums[i].check) ? "  (anomalies)" : "");
        print_tree(logs, n, sums, parent, i, depth + 1, done);
    }
}

int cmd_info(int argc, char **argv)
{
    struct rec_pid pid = REC_PID_NONE;
    static const struct option opts[] = {{"pid", required_argument, NULL, 'p'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'p':
            if (rec_parse_pid("info", optarg, &pid) != 0)
                return EXIT_ERROR;
            break;
        case 'h':
            printf("usage: mallog info LOG|PREFIX|DIR [--pid PID[.GEN]]\n\n"
                   "Header, counts per op, bytes per event, threads and integrity of each log;\n"
                   "for a recording of several processes, their tree first.\n");
            return 0;
        default: return EXIT_ERROR;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "usage: mallog info LOG|PREFIX|DIR [--pid PID[.GEN]]\n");
        return EXIT_ERROR;
    }
    int rc = 0;
    for (int a = optind; a < argc; a++) {
        struct rec_log *logs;
        int n = rec_find_logs("info", argv[a], &pid, &logs);
        if (n < 0) {
            rc = EXIT_ERROR;
            continue;
        }
        struct log_summary *sums = calloc((size_t)n, sizeof *sums);
        for (int i = 0; i < n; i++) {
            struct mlg_header h;
            if (summarize(logs[i].path, &sums[i], &h) != 0) {
                msg_log_error("info", logs[i].path, &sums[i].err);
                rc = EXIT_ERROR;
                continue;
            }
        }
        if (n > 1) {
            printf("process tree of %s (%d logs):\n", argv[a], n);
            char *done = calloc((size_t)n, 1);
            int *parent = calloc((size_t)n, sizeof *parent);
            for (int i = 0; i < n; i++)
                parent[i] = rec_parent_index(logs, n, i);
            print_tree(logs, n, sums, parent, -1, 0, done);
            free(parent);
            free(done);
            putchar('\n');
        }
        for (int i = 0; i < n; i++) {
            if (!logs[i].header_ok)
                continue;
            if (n > 1)
                printf("---\n");
            print_log(logs[i].path, &logs[i].header, &sums[i]);
            if (sums[i].err.code) {
                msg_log_error("info", logs[i].path, &sums[i].err);
                rc = EXIT_ERROR;
            }
            mlg_check_fini(&sums[i].check);
        }
        free(sums);
        free(logs);
    }
    return rc;
}

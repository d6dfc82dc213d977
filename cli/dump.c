/* dump.c - `mallog dump LOG [--from N] [--to M]`: one text line per event. */
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/msg.h"
#include "../common/opt.h"
#include "../common/recording.h"

static void print_event(FILE *f, const struct mlg_event *ev)
{
    fprintf(f, "%" PRIu64 " %" PRIu64 " %u ", ev->index, ev->seq, ev->thread);
    const char *name = mlg_op_name(ev->op);
    switch (ev->op) {
    case MLG_OP_MALLOC:
    case MLG_OP_VALLOC:
    case MLG_OP_PVALLOC:
        fprintf(f, "%s(%" PRIu64 ") = %#" PRIx64, name, ev->size, ev->ptr);
        break;
    case MLG_OP_CALLOC:
        fprintf(f, "%s(%" PRIu64 ", %" PRIu64 ") = %#" PRIx64, name, ev->arg,
                ev->outcome == MLG_OUT_OVERFLOW ? ev->size : ev->arg ? ev->size / ev->arg : 0,
                ev->ptr);
        break;
    case MLG_OP_POSIX_MEMALIGN:
    case MLG_OP_ALIGNED_ALLOC:
    case MLG_OP_MEMALIGN:
        fprintf(f, "%s(%" PRIu64 ", %" PRIu64 ") = %#" PRIx64, name, ev->arg, ev->size, ev->ptr);
        break;
    case MLG_OP_REALLOC:
        fprintf(f, "%s(%#" PRIx64 ", %" PRIu64 ") = %#" PRIx64, name, ev->old_ptr, ev->size, ev->ptr);
        break;
    case MLG_OP_REALLOCARRAY:
        fprintf(f, "%s(%#" PRIx64 ", %" PRIu64 ", %" PRIu64 ") = %#" PRIx64, name, ev->old_ptr,
                ev->arg,
                ev->outcome == MLG_OUT_OVERFLOW ? ev->size : ev->arg ? ev->size / ev->arg : 0,
                ev->ptr);
        break;
    case MLG_OP_FREE:
        fprintf(f, "%s(%#" PRIx64 ")", name, ev->ptr);
        break;
    case MLG_OP_REALLOC_RELEASE:
        fprintf(f, "%s(%#" PRIx64 ")", name, ev->old_ptr);
        break;
    case MLG_OP_USABLE_SIZE:
        fprintf(f, "%s(%#" PRIx64 ") = %" PRId64, name, ev->ptr, ev->result);
        break;
    case MLG_OP_TRIM:
        fprintf(f, "%s(%" PRIu64 ") = %" PRId64, name, ev->arg, ev->result);
        break;
    case MLG_OP_MALLOPT:
        fprintf(f, "%s(%" PRId64 ", %" PRId64 ") = %" PRId64, name, (int64_t)ev->arg,
                (int64_t)ev->size, ev->result);
        break;
    case MLG_OP_THREAD_START:
        fprintf(f, "%s(tid %" PRId64 ")", name, ev->result);
        break;
    case MLG_OP_FORK:
        fprintf(f, "%s() = %" PRId64, name, ev->result);
        break;
    case MLG_OP_EXIT:
        fprintf(f, "%s(%" PRId64 ")", ev->arg == 2 ? "_exit" : "exit", ev->result);
        break;
    case MLG_OP_EXEC:
        fprintf(f, "%s() = %" PRId64, name, ev->result);
        break;
    default:
        fprintf(f, "%s()", name);
        break;
    }
    if (ev->outcome != MLG_OUT_OK)
        fprintf(f, " [%s]", mlg_outcome_name(ev->outcome));
    if (ev->stack)
        fprintf(f, " stack=%u", ev->stack);
    fputc('\n', f);
}

static const char usage[] = "usage: mallog dump LOG [--from N] [--to M] [--pid PID]\n";

int cmd_dump(int argc, char **argv)
{
    uint64_t from = 0, to = UINT64_MAX;
    struct rec_pid pid = REC_PID_NONE;
    static const struct option opts[] = {{"from", required_argument, NULL, 'f'},
                                         {"to", required_argument, NULL, 't'},
                                         {"pid", required_argument, NULL, 'p'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int c, has_to = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'f':
            if (opt_u64("dump", "--from", optarg, 0, UINT64_MAX - 1, &from) != 0)
                goto bad_option;
            break;
        case 't':
            if (opt_u64("dump", "--to", optarg, 0, UINT64_MAX - 1, &to) != 0)
                goto bad_option;
            has_to = 1;
            break;
        case 'p':
            if (rec_parse_pid("dump", optarg, &pid) != 0)
                return EXIT_ERROR;
            break;
        case 'h':
            printf("%s\n"
                   "One line per event, events N..M (by index, M included):\n"
                   "  index seq thread op(args) = result [outcome]\n"
                   "A range with no events in the log is an error (exit 2).\n", usage);
            return 0;
        default: fputs(usage, stderr); return EXIT_ERROR;
        }
        continue;
    bad_option:
        fputs(usage, stderr);
        return EXIT_ERROR;
    }
    if (optind != argc - 1) {
        fputs(usage, stderr);
        return EXIT_ERROR;
    }
    if (from > to) {
        msg_error("dump", "--from %" PRIu64 " --to %" PRIu64 ": an empty range (want N <= M)",
                  from, to);
        fputs(usage, stderr);
        return EXIT_ERROR;
    }
    char path[PATH_MAX];
    if (rec_pick_log("dump", argv[optind], &pid, path, sizeof path) != 0)
        return EXIT_ERROR;
    struct mlg_reader *r;
    struct mlg_error err;
    if (mlg_reader_open(&r, path, NULL, &err) != 0) {
        msg_log_error("dump", path, &err);
        return EXIT_ERROR;
    }
    static char buf[1 << 16];
    setvbuf(stdout, buf, _IOFBF, sizeof buf);
    struct mlg_event ev;
    int n;
    uint64_t printed = 0, seen = 0;
    while ((n = mlg_reader_next(r, &ev)) > 0) {
        seen = ev.index + 1;
        if (ev.index < from)
            continue;
        if (ev.index > to)
            break;
        print_event(stdout, &ev);
        printed++;
    }
    fflush(stdout);
    int rc = 0;
    if (n < 0) {
        msg_log_error("dump", path, mlg_reader_error(r));
        rc = EXIT_ERROR;
    } else if (!printed && (from || has_to)) {
        /* nothing printed and exit 0 would read as "no such events happened" */
        if (has_to)
            msg_error("dump", "%s: no events %" PRIu64 "..%" PRIu64 ": the log has %" PRIu64
                              " events (0..%" PRIu64 ")", path, from, to, seen,
                      seen ? seen - 1 : 0);
        else
            msg_error("dump", "%s: no events from %" PRIu64 ": the log has %" PRIu64
                              " events", path, from, seen);
        rc = EXIT_ERROR;
    }
    if (n == 0 && !mlg_reader_trailer(r) && mlg_reader_in_progress(r))
        rec_say_running("dump", path, mlg_reader_header(r)->pid, seen);
    mlg_reader_close(r);
    return rc;
}

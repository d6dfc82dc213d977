/* commands.h - the command table, defined once: X(name, function, one-line summary).
 * cli/ defines record, pack, info and dump; each tool directory defines its own commands. */
#ifndef MLG_COMMANDS_H
#define MLG_COMMANDS_H

struct command {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;
};

int cmd_record(int argc, char **argv);
int cmd_pack(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_dump(int argc, char **argv);
/* Commands of the tool directories (each also declared in its tool's header). Strong: a command
 * named here that no tool defines is a link error, not a silent gap in `mallog help`. */
int cmd_replay(int argc, char **argv);
int cmd_holes(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_plot(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_tune(int argc, char **argv);

#define MLG_COMMANDS(X)                                                                            \
    X("record", cmd_record, "run a program and record its allocations (mallog record -- CMD)")    \
    X("info", cmd_info, "header, counts per op, threads, integrity, process tree")                 \
    X("dump", cmd_dump, "print events as text, one per line")                                      \
    X("pack", cmd_pack, "turn a spool left by a killed recording into a log")                      \
    X("replay", cmd_replay, "re-run a log on glibc, jemalloc, mimalloc, tcmalloc, arena; measure") \
    X("holes", cmd_holes, "the holes between live blocks at a point of a replay, and what pins them") \
    X("tune", cmd_tune, "the allocator settings that help a log, found by replaying it")           \
    X("stats", cmd_stats, "streaming summary of a log: sizes, lifetimes, reallocs, leaks, threads") \
    X("diff", cmd_diff, "compare two logs or summaries")                                           \
    X("check", cmd_check, "check a log or summary against a memory budget (for CI)")               \
    X("plot", cmd_plot, "gnuplot charts from replay/stats output")                                 \
    X("report", cmd_report, "replay + analyze + plot into one HTML report")

#endif

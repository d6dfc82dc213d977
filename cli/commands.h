/* commands.h - the command table, defined once: X(name, function, one-line summary).
 * Each tool directory exports its <tool>_main-style entry point declared here. */
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

#define MLG_COMMANDS(X)                                                                            \
    X("record", cmd_record, "run a program and record its allocations (mallog record -- CMD)")    \
    X("info", cmd_info, "header, counts per op, threads, integrity, process tree")                 \
    X("dump", cmd_dump, "print events as text, one per line")                                      \
    X("pack", cmd_pack, "turn a spool left by a killed recording into a log")

#endif

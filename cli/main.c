/* main.c - `mallog <command> [args]`: global options and the command table (git/perf style). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/msg.h"
#include "commands.h"

/* The one place the version is written (docs/man.sh asks the binary for it). */
#define MLG_VERSION "0.1.0"

static const struct command commands[] = {
#define X(name, fn, summary) {name, fn, summary},
    MLG_COMMANDS(X)
#undef X
};

static void usage(FILE *f)
{
    fprintf(f, "usage: mallog [-q|-v] <command> [args] | mallog --version\n\n"
               "Record every heap allocation of a program, replay it on other allocators,\n"
               "and see why a process holds more memory than it uses.\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (commands[i].fn)
            fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\n'mallog <command> --help' for a command's options.\n");
}

int main(int argc, char **argv)
{
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "-q") == 0)
            msg_verbosity = 0;
        else if (strcmp(argv[i], "-v") == 0)
            msg_verbosity = 2;
        else if (strcmp(argv[i], "--version") == 0) {
            printf("mallog " MLG_VERSION "\n");
            return 0;
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "mallog: unknown option %s\n", argv[i]);
            usage(stderr);
            return EXIT_ERROR;
        }
    }
    if (i == argc) {
        usage(stderr);
        return EXIT_ERROR;
    }
    const char *name = argv[i];
    if (strcmp(name, "help") == 0) {
        if (i + 1 < argc) {
            for (size_t k = 0; k < sizeof commands / sizeof commands[0]; k++)
                if (strcmp(commands[k].name, argv[i + 1]) == 0) {
                    char *hargv[] = {argv[i + 1], "--help", NULL};
                    return commands[k].fn(2, hargv);
                }
        }
        usage(stdout);
        return 0;
    }
    for (size_t k = 0; k < sizeof commands / sizeof commands[0]; k++)
        if (strcmp(commands[k].name, name) == 0)
            return commands[k].fn(argc - i, argv + i);
    fprintf(stderr, "mallog: '%s' is not a mallog command. See 'mallog help'.\n", name);
    return EXIT_ERROR;
}

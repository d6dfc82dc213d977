/* cli.h - shared helpers of the mallog command line: one message shape, exit codes. */
#ifndef MLG_CLI_H
#define MLG_CLI_H

#include <stdio.h>
#include "../lib/mallog.h"

#define EXIT_DIFF 1  /* diff/check found a difference */
#define EXIT_ERROR 2 /* any error */

extern int cli_verbosity; /* -q = 0, default 1, -v = 2 */

/* "mallog <cmd>: <file>: <what> at byte N (event M)" */
void cli_log_error(const char *cmd, const char *file, const struct mlg_error *err);
void cli_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Directory of the running mallog binary (to find libmallog.so beside it). */
const char *cli_self_dir(void);
/* Text for HTML or XML (JUnit): < > & " ' escaped. */
void cli_xml_escape(FILE *f, const char *s);
/* s as a JSON string, quotes included. */
void cli_json_string(FILE *f, const char *s);

/* logs.c: finding the logs of a recording. A LOG argument is a .mlog file, a directory, or a
 * recording prefix ("trace" for trace.<pid>[.<gen>].mlog). */
struct cli_log {
    char path[4096];
    struct mlg_header header;
    int header_ok;
};
/* Fills *out (malloc'd, sorted by start time) with the logs arg names. Returns the count, or -1
 * with a message printed. pid != 0 keeps only that process. */
int cli_find_logs(const char *cmd, const char *arg, uint64_t pid, struct cli_log **out);
/* The one log an analysis command reads: arg is a file, or a prefix/dir + pid (or the only/root
 * process). Returns 0 or prints an error and returns -1. */
int cli_pick_log(const char *cmd, const char *arg, uint64_t pid, char *path, size_t len);
/* The log of the process h was forked from, beside path (same recording prefix). 0 or -1. */
int cli_parent_log(const char *path, const struct mlg_header *h, char *out, size_t len);
/* Seeds c with the heap a forked child inherited, following fork links up the tree. Returns the
 * number of ancestor logs read (0 when h is not a forked child or the parent log is absent). */
int cli_seed_inherited(struct mlg_check *c, const char *path, const struct mlg_header *h);

#endif

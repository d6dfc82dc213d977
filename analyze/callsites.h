/* callsites.h - per call site summaries of a log recorded with --stacks (analyze/callsites.c). */
#ifndef MLG_CALLSITES_H
#define MLG_CALLSITES_H

#include <stdint.h>
#include <stdio.h>
#include "../lib/mallog.h"

enum { FOLDED_NONE, FOLDED_ALLOCS, FOLDED_BYTES, FOLDED_LEAKS };
enum { TREE_NONE, TREE_CALLER, TREE_CALLEE };

struct callsites_opts {
    int by_stack;              /* rows per distinct stack rather than per site */
    int folded;                /* FOLDED_*: folded stacks instead of a table */
    int tree;                  /* TREE_*: --by caller (top-down) or callee (bottom-up) */
    uint32_t depth;            /* levels of a tree below its root */
    int json;
    uint32_t top;              /* rows shown (children per node of a tree) */
    uint64_t temporary_events; /* freed within this many events = temporary */
    const char *const *skips;  /* --skip FUNC|REGEX: more wrappers */
    uint32_t nskips;
    int no_skip;               /* --no-skip: no wrapper is skipped, only the C runtime */
    int full_names;            /* --full-names: C++ names unabbreviated */
};

/* Writes the report to out. Returns 0, or EXIT_ERROR after saying why on stderr. */
int callsites_report(const char *path, const struct callsites_opts *o, FILE *out);

/* The naming rules of o (wrappers, full names) on a loaded site table. 0, or EXIT_ERROR after
 * saying which --skip is not a valid regular expression. */
int callsites_rules(struct mlg_sites *sites, const struct callsites_opts *o);

/* ---- calltree.c: --by caller|callee ---- */

/* What a stack did over the log; rows are indexed by stack id ([0]: no stack). */
struct calltree_stack {
    uint64_t allocs, bytes, peak_bytes, leaked_bytes, leaked_blocks;
};
/* Prints the tree of o->tree (text or JSON) of the stacks in rows[0..n). 0, or -1 (no memory). */
int calltree_print(FILE *f, const struct callsites_opts *o, const struct mlg_sites *sites,
                   const struct calltree_stack *rows, uint32_t n, uint64_t peak, uint64_t peak_event);

struct stats;
/* A log recorded with --stacks: names the call sites of the events listed in s's first n leak
 * groups (s->leak_sites, "site" or "site, site"), reading the log up to the last of them. A log
 * without stacks leaves s->leak_sites NULL. Returns 0, or -1 (no memory, or the log could not be
 * read again: the report then has no sites, which is said on stderr). */
int callsites_leak_sites(const char *path, struct stats *s, uint64_t n);

#endif

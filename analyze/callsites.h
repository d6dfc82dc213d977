/* callsites.h - per call site summaries of a log recorded with --stacks (analyze/callsites.c). */
#ifndef MLG_CALLSITES_H
#define MLG_CALLSITES_H

#include <stdint.h>
#include <stdio.h>
#include "../lib/mallog.h"

enum { FOLDED_NONE, FOLDED_ALLOCS, FOLDED_BYTES, FOLDED_LEAKS };

struct callsites_opts {
    int by_stack;              /* rows per distinct stack rather than per site */
    int folded;                /* FOLDED_*: folded stacks instead of a table */
    int json;
    uint32_t top;              /* rows shown */
    uint64_t temporary_events; /* freed within this many events = temporary */
};

/* Writes the report to out. Returns 0, or EXIT_ERROR after saying why on stderr. */
int callsites_report(const char *path, const struct callsites_opts *o, FILE *out);

struct stats;
/* A log recorded with --stacks: names the call sites of the events listed in s's first n leak
 * groups (s->leak_sites, "site" or "site, site"), reading the log up to the last of them. A log
 * without stacks leaves s->leak_sites NULL. Returns 0, or -1 (no memory, or the log could not be
 * read again: the report then has no sites, which is said on stderr). */
int callsites_leak_sites(const char *path, struct stats *s, uint64_t n);

#endif

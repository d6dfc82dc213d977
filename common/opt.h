/* opt.h - the one parser for numeric command-line options: a value is a whole number in a range,
 * or the command stops before any work with a message naming the option (`--top abc` is an
 * error, never 0). Depends on msg.h only. */
#ifndef MLG_OPT_H
#define MLG_OPT_H

#include <stdint.h>

/* Parses arg, the value of option opt (its spelling, "--top") of command cmd, as a whole number
 * in [min, max]: decimal digits, optionally followed by one binary multiple k/K, M, G or T (as
 * "64k", "1Mi", "2MiB"). No sign, space, fraction, base prefix or trailing text.
 * Returns 0 with *out set, or -1 after printing "mallog CMD: OPT 'ARG': <why>" on stderr (*out
 * untouched); the caller prints its usage and exits EXIT_ERROR. */
int opt_u64(const char *cmd, const char *opt, const char *arg, uint64_t min, uint64_t max,
            uint64_t *out);

#endif

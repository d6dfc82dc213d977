/* trap.h - the grammar of a trap (`mallog record --trap SPEC`, MALLOG_TRAP): "seq=N", "OP" or
 * "OP:size=N", OP an event name of MLG_OPS (malloc, realloc, ...), N a decimal number.
 *
 * Header-only because two sides parse it: the CLI checks the option before the program starts and
 * the recorder reads the variable in the program, where lib/'s code is not linked. One grammar, so
 * the CLI never accepts a spec the recorder would then ignore.
 */
#ifndef MLG_TRAP_H
#define MLG_TRAP_H

#include <stdint.h>
#include <string.h>

#include "mallog.h"

struct mlg_trap {
    unsigned op;   /* 0 = any op */
    uint64_t size; /* UINT64_MAX = any size */
    uint64_t seq;  /* UINT64_MAX = any event */
};

/* A decimal number filling the rest of the text: 0, or -1 if empty, not a number, or 2^64-1 or
 * more (UINT64_MAX means "any": "seq=18446744073709551615" would otherwise trap on every call). */
static inline int mlg_trap_number(const char *s, uint64_t *out)
{
    uint64_t x = 0;
    if (!*s)
        return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || x > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
            return -1;
        x = x * 10 + (uint64_t)(*s - '0');
    }
    if (x == UINT64_MAX)
        return -1;
    *out = x;
    return 0;
}

/* Parses SPEC into *t: 0, or -1 if it is not a trap spec (*t then unspecified). */
static inline int mlg_trap_parse(const char *spec, struct mlg_trap *t)
{
    t->op = 0;
    t->size = t->seq = UINT64_MAX;
    if (strncmp(spec, "seq=", 4) == 0)
        return mlg_trap_number(spec + 4, &t->seq);
    size_t len = strcspn(spec, ":");
#define MLG_X_TRAP_OP(op_name, code, str, kind)                                                    \
    if (len == sizeof str - 1 && strncmp(spec, str, len) == 0)                                     \
        t->op = code;
    MLG_OPS(MLG_X_TRAP_OP)
#undef MLG_X_TRAP_OP
    if (!t->op)
        return -1;
    if (!spec[len])
        return 0;
    if (strncmp(spec + len, ":size=", 6) != 0)
        return -1;
    return mlg_trap_number(spec + len + 6, &t->size);
}

#endif

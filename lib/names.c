/* names.c - names of ops, outcomes, ends and errors; size units (errors are filled and
 * formatted in error.c). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mallog.h"

const char *mlg_op_name(int op)
{
    switch (op) {
#define MLG_X_CASE(name, code, str, kind)                                                          \
    case code:                                                                                     \
        return str;
        MLG_OPS(MLG_X_CASE)
#undef MLG_X_CASE
    default:
        return "?";
    }
}

int mlg_op_from_name(const char *name)
{
#define MLG_X_CMP(n, code, str, kind)                                                              \
    if (strcmp(name, str) == 0)                                                                    \
        return code;
    MLG_OPS(MLG_X_CMP)
#undef MLG_X_CMP
    return 0;
}

char mlg_op_kind(int op)
{
    switch (op) {
#define MLG_X_CASE(name, code, str, kind)                                                          \
    case code:                                                                                     \
        return #kind[0];
        MLG_OPS(MLG_X_CASE)
#undef MLG_X_CASE
    default:
        return 0;
    }
}

const char *mlg_outcome_name(int outcome)
{
    switch (outcome) {
#define MLG_X_CASE(name, code, str)                                                                \
    case code:                                                                                     \
        return str;
        MLG_OUTCOMES(MLG_X_CASE)
#undef MLG_X_CASE
    default:
        return "?";
    }
}

const char *mlg_end_name(int end)
{
    switch (end) {
#define MLG_X_CASE(name, code, str)                                                                \
    case code:                                                                                     \
        return str;
        MLG_ENDS(MLG_X_CASE)
#undef MLG_X_CASE
    default:
        return "?";
    }
}

const char *mlg_strerror(int code)
{
    switch (code) {
#define MLG_X_CASE(name, c, str)                                                                   \
    case c:                                                                                        \
        return str;
        MLG_ERRORS(MLG_X_CASE)
#undef MLG_X_CASE
    default:
        return "unknown error";
    }
}

int mlg_parse_size(const char *s, uint64_t *out)
{
    char *end;
    if (!s || !*s)
        return MLG_E_ARG;
    double v = strtod(s, &end);
    if (end == s || v < 0)
        return MLG_E_ARG;
    while (*end == ' ')
        end++;
    double mult = 1;
    if (*end) {
        switch (*end) {
        case 'k': case 'K': mult = 1024.0; break;
        case 'm': case 'M': mult = 1024.0 * 1024; break;
        case 'g': case 'G': mult = 1024.0 * 1024 * 1024; break;
        case 't': case 'T': mult = 1024.0 * 1024 * 1024 * 1024; break;
        case 'b': case 'B': mult = 1; break;
        default: return MLG_E_ARG;
        }
        end++;
        if (*end == 'i' || *end == 'I')
            end++;
        if (*end == 'b' || *end == 'B')
            end++;
        if (*end)
            return MLG_E_ARG;
    }
    double r = v * mult;
    if (r > 1.8e19)
        return MLG_E_ARG;
    *out = (uint64_t)(r + 0.5);
    return MLG_E_OK;
}

const char *mlg_format_size(uint64_t bytes, char *buf, size_t len)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    double v = (double)bytes;
    unsigned u = 0;
    while (v >= 1024 && u < 5) {
        v /= 1024;
        u++;
    }
    if (u == 0)
        snprintf(buf, len, "%" PRIu64 " B", bytes);
    else
        snprintf(buf, len, "%.*f %s", v < 10 ? 2 : v < 100 ? 1 : 0, v, units[u]);
    return buf;
}

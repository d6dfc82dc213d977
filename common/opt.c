/* opt.c - checked numeric option values (see opt.h). strtoull alone takes "-1" for 2^64 - 1,
 * "12abc" for 12 and "" for 0; this does not. */
#include <inttypes.h>
#include <stddef.h>

#include "msg.h"
#include "opt.h"

int opt_u64(const char *cmd, const char *opt, const char *arg, uint64_t min, uint64_t max,
            uint64_t *out)
{
    const char *p = arg ? arg : "";
    uint64_t v = 0;
    int over = 0;
    if (*p < '0' || *p > '9')
        goto junk;
    for (; *p >= '0' && *p <= '9'; p++) {
        unsigned d = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - d) / 10)
            over = 1;
        else
            v = v * 10 + d;
    }
    if (*p) {
        static const char units[] = "kKmMgGtT";
        int shift = 0;
        for (int i = 0; units[i]; i++)
            if (*p == units[i])
                shift = 10 * (i / 2 + 1);
        if (!shift)
            goto junk;
        p++;
        if (*p == 'i')
            p++;
        if (*p == 'B')
            p++;
        if (*p)
            goto junk;
        if (v > UINT64_MAX >> shift)
            over = 1;
        else
            v <<= shift;
    }
    if (over || v < min || v > max) {
        if (max == UINT64_MAX)
            msg_error(cmd, "%s '%s': out of range (at least %" PRIu64 ")", opt, arg, min);
        else
            msg_error(cmd, "%s '%s': out of range (%" PRIu64 "..%" PRIu64 ")", opt, arg, min, max);
        return -1;
    }
    *out = v;
    return 0;
junk:
    msg_error(cmd, "%s '%s': expected a whole number (digits, optionally k/M/G/T)", opt,
              arg ? arg : "");
    return -1;
}

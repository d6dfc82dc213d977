/* error.c - filling and formatting struct mlg_error (error.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "error.h"

int mlg_error_vset(struct mlg_error *err, int code, uint64_t offset, uint64_t event,
                   const char *fmt, va_list ap)
{
    err->sys_errno = code == MLG_E_IO ? errno : 0; /* first: vsnprintf may change errno */
    err->code = code;
    err->offset = offset;
    err->event = event;
    vsnprintf(err->detail, sizeof err->detail, fmt, ap);
    return code;
}

int mlg_error_set(struct mlg_error *err, int code, uint64_t offset, uint64_t event, const char *fmt,
                  ...)
{
    va_list ap;
    va_start(ap, fmt);
    mlg_error_vset(err, code, offset, event, fmt, ap);
    va_end(ap);
    return code;
}

const char *mlg_error_format(const struct mlg_error *err, char *buf, size_t len)
{
    const char *what = mlg_strerror(err->code);
    if (err->code == MLG_E_IO && err->sys_errno)
        snprintf(buf, len, "%s (%s)%s%s at byte %" PRIu64 " (event %" PRIu64 ")", what,
                 strerror(err->sys_errno), err->detail[0] ? ": " : "", err->detail, err->offset,
                 err->event);
    else
        snprintf(buf, len, "%s%s%s at byte %" PRIu64 " (event %" PRIu64 ")", what,
                 err->detail[0] ? ": " : "", err->detail, err->offset, err->event);
    return buf;
}

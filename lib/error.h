/* error.h - the one way lib/ fills a struct mlg_error (zstd's error_private.h in spirit): every
 * failure says its code, where in the file and the event stream it happened, and why, in one
 * printf-checked call that also returns the code:  return mlg_error_set(err, MLG_E_IO, off, ev,
 * "reading %s", what);  An I/O error keeps errno (read it before anything else can change it). */
#ifndef MLG_ERROR_H
#define MLG_ERROR_H

#include <stdarg.h>

#include "mallog.h"

/* Fills *err: code, byte offset, event index, errno for MLG_E_IO, the detail. Returns code. */
int mlg_error_set(struct mlg_error *err, int code, uint64_t offset, uint64_t event, const char *fmt,
                  ...) __attribute__((format(printf, 5, 6)));
int mlg_error_vset(struct mlg_error *err, int code, uint64_t offset, uint64_t event,
                   const char *fmt, va_list ap) __attribute__((format(printf, 5, 0)));

#endif

/* progress.c - the progress line on a terminal and the clock it uses (progress.h). */
#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "msg.h"
#include "progress.h"

/* At most 6 redraws a second: more only costs the terminal time, fewer looks stuck. */
#define PROGRESS_INTERVAL (1.0 / 6)

double progress_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

void progress_init(struct progress *p)
{
    p->on = isatty(2) && msg_verbosity >= 1;
    p->shown = 0;
    p->start = progress_now();
    p->last = p->start;
}

double progress_elapsed(const struct progress *p)
{
    return progress_now() - p->start;
}

int progress_show(struct progress *p, int force, const char *fmt, ...)
{
    if (!p->on)
        return 0;
    double t = progress_now();
    if (!force && t - p->last < PROGRESS_INTERVAL)
        return 0;
    p->last = t;
    va_list ap;
    va_start(ap, fmt);
    fputs("\r\033[K", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fflush(stderr);
    p->shown = 1;
    return 1;
}

void progress_clear(struct progress *p)
{
    if (!p->shown)
        return;
    fputs("\r\033[K", stderr);
    fflush(stderr);
    p->shown = 0;
}

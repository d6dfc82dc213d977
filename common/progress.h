/* progress.h - the one progress line of every long command (stats, report; replay/cmd.c still
 * prints its own until the threaded replay is rewritten) and the one clock helper. A progress line
 * goes to stderr only when it is a terminal and the user did not ask for -q: one "\r" line,
 * redrawn at most 6 times a second. */
#ifndef MLG_PROGRESS_H
#define MLG_PROGRESS_H

struct progress {
    int on;       /* stderr is a terminal and -q was not given */
    int shown;    /* a line is on the screen */
    double start; /* progress_now() at progress_init */
    double last;  /* when the line was last drawn */
};

/* Monotonic seconds (CLOCK_MONOTONIC), for intervals only. */
double progress_now(void);
/* Starts the clock; the line is drawn only if stderr is a terminal and msg_verbosity >= 1. */
void progress_init(struct progress *p);
/* Seconds since progress_init. */
double progress_elapsed(const struct progress *p);
/* Redraws the line with the printf text, unless it was drawn less than 1/6 s ago (force: draw
 * anyway). Returns 1 if it drew. */
int progress_show(struct progress *p, int force, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Erases the line (if one is shown), before other output on stderr. */
void progress_clear(struct progress *p);

#endif

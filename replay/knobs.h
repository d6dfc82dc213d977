/* knobs.h - the settings `mallog tune` tries, defined once: for each allocator, each setting
 * its Debian 12 library really reads, how it goes in the environment, the values tried, what it
 * does and when it applies. docs/TUNE.md's table is `mallog tune --knobs` (a test compares). */
#ifndef MLG_REPLAY_KNOBS_H
#define MLG_REPLAY_KNOBS_H

#include <stddef.h>

/* How a knob's value goes into the environment. */
enum knob_form {
    KNOB_TUNABLE, /* GLIBC_TUNABLES=glibc.malloc.NAME=V, several joined by ':' */
    KNOB_CONF,    /* MALLOC_CONF=NAME:V, several joined by ',' (jemalloc) */
    KNOB_VAR,     /* VAR=V, one variable each (mimalloc, tcmalloc, mallog's arena) */
};

/* When a knob is worth trying. */
enum knob_when {
    KNOB_ALWAYS,
    KNOB_THREADS, /* only for a multi-threaded log (arenas per thread, thread caches) */
};

#define KNOB_VALUES_MAX 6

struct knob {
    const char *family; /* the allocator (common/allocators.h's name) */
    const char *name;   /* the setting's own name: mmap_threshold, narenas, ... */
    int form;           /* KNOB_* */
    const char *var;    /* the environment variable (GLIBC_TUNABLES, MALLOC_CONF, ...) */
    const char *values[KNOB_VALUES_MAX]; /* the values tried, in order (NULL-ended) */
    const char *deflt;                   /* the library's default, as its documentation says */
    int when;                            /* KNOB_ALWAYS or KNOB_THREADS */
    const char *what;                    /* what it does, one sentence */
};

extern const struct knob knobs_list[];
extern const int knobs_count;

/* A setting of one knob: knob index and value index. */
struct knob_set {
    int knob, value;
};

/* The environment of the settings v[0..n) (all of one family) as "VAR=value\n" lines into buf:
 * `pinned` adds the family's pinned settings (common/allocators.h) into the same variables
 * where they share one (MALLOC_CONF: the knob's keys replace the pinned ones), so the replay
 * measures the candidate under the replay's usual conditions. Returns 0, or -1 if it does not
 * fit. */
int knobs_env(const char *family, const struct knob_set *v, int n, int pinned, char *buf,
              size_t len);
/* The same settings as the one line a user puts in front of the program ("VAR=v VAR2=w"),
 * without the pinned ones; "" for none. */
void knobs_line(const char *family, const struct knob_set *v, int n, char *buf, size_t len);
/* Whether the library of family reads knob k's variable at all (the allocator is known). */
int knobs_for(const char *family, int k);
/* The table as text (`mallog tune --knobs`): a markdown table, one row per knob. */
void knobs_print(void);

#endif

/* knobs.c - the settings `mallog tune` tries, one entry per knob (knobs.h), and how a set of them
 * becomes an environment. Only settings the Debian 12 libraries read are here: glibc 2.36's
 * malloc tunables, jemalloc 5.3's MALLOC_CONF, mimalloc 2.0.9's MIMALLOC_* options, gperftools
 * 2.10's TCMALLOC_* variables (read by libtcmalloc_minimal too), and mallog's own arena. */
#include <stdio.h>
#include <string.h>

#include "../common/allocators.h"
#include "knobs.h"

const struct knob knobs_list[] = {
    /* glibc 2.36 (ld.so --list-tunables) */
    {"glibc",
     "mmap_threshold",
     KNOB_TUNABLE,
     "GLIBC_TUNABLES",
     {"65536", "262144", "1048576", "4194304", NULL},
     "128 KiB, dynamic up to 32 MiB",
     KNOB_ALWAYS,
     "blocks this large or larger are mmap'd and unmapped on free; a fixed value also turns the "
     "dynamic threshold off (a large freed block no longer raises it)"},
    {"glibc",
     "trim_threshold",
     KNOB_TUNABLE,
     "GLIBC_TUNABLES",
     {"65536", "1048576", "16777216", NULL},
     "128 KiB, dynamic",
     KNOB_ALWAYS,
     "free space at the top of the heap beyond this is given back to the OS; setting it also "
     "turns the dynamic mmap threshold off"},
    {"glibc",
     "top_pad",
     KNOB_TUNABLE,
     "GLIBC_TUNABLES",
     {"0", "1048576", "16777216", NULL},
     "128 KiB",
     KNOB_ALWAYS,
     "extra bytes asked of the OS each time the heap grows; setting it also turns the dynamic "
     "mmap threshold off"},
    {"glibc",
     "arena_max",
     KNOB_TUNABLE,
     "GLIBC_TUNABLES",
     {"1", "2", "4", NULL},
     "8 x cores",
     KNOB_THREADS,
     "at most this many arenas; threads beyond share them"},
    {"glibc",
     "tcache_count",
     KNOB_TUNABLE,
     "GLIBC_TUNABLES",
     {"0", "16", NULL},
     "7",
     KNOB_ALWAYS,
     "freed blocks each thread caches per size (0: no thread cache)"},
    {"glibc",
     "mxfast",
     KNOB_TUNABLE,
     "GLIBC_TUNABLES",
     {"0", "160", NULL},
     "128",
     KNOB_ALWAYS,
     "blocks up to this size go to fastbins, never coalesced until a consolidation (0: none)"},
    /* jemalloc 5.3 (MALLOC_CONF; the replay pins dirty_decay_ms:0,muzzy_decay_ms:0) */
    {"jemalloc",
     "narenas",
     KNOB_CONF,
     "MALLOC_CONF",
     {"1", "2", NULL},
     "4 x cores",
     KNOB_THREADS,
     "arenas threads are spread over"},
    {"jemalloc",
     "dirty_decay_ms",
     KNOB_CONF,
     "MALLOC_CONF",
     {"1000", "10000", NULL},
     "10000 (the replay pins 0)",
     KNOB_ALWAYS,
     "how long freed dirty pages stay before they are purged (longer: faster, more memory)"},
    {"jemalloc",
     "muzzy_decay_ms",
     KNOB_CONF,
     "MALLOC_CONF",
     {"1000", NULL},
     "0",
     KNOB_ALWAYS,
     "how long lazily purged pages stay mapped before they are given back"},
    {"jemalloc",
     "lg_extent_max_active_fit",
     KNOB_CONF,
     "MALLOC_CONF",
     {"0", "2", "10", NULL},
     "6",
     KNOB_ALWAYS,
     "a free extent at most 2^N times the request may be split to serve it (lower: less "
     "fragmentation, more mapping)"},
    {"jemalloc",
     "oversize_threshold",
     KNOB_CONF,
     "MALLOC_CONF",
     {"0", "1048576", "67108864", NULL},
     "8 MiB",
     KNOB_ALWAYS,
     "blocks this large go to a dedicated arena purged at once"},
    {"jemalloc",
     "retain",
     KNOB_CONF,
     "MALLOC_CONF",
     {"false", NULL},
     "true",
     KNOB_ALWAYS,
     "keep freed virtual memory for reuse instead of unmapping it"},
    /* mimalloc 2.0.9 (MIMALLOC_<OPTION>; the replay pins the three delays to 0) */
    {"mimalloc",
     "eager_commit",
     KNOB_VAR,
     "MIMALLOC_EAGER_COMMIT",
     {"0", NULL},
     "1",
     KNOB_ALWAYS,
     "commit whole segments at once instead of page by page"},
    {"mimalloc",
     "eager_commit_delay",
     KNOB_VAR,
     "MIMALLOC_EAGER_COMMIT_DELAY",
     {"0", "4", NULL},
     "1",
     KNOB_ALWAYS,
     "the first N segments of a thread are committed lazily"},
    {"mimalloc",
     "allow_decommit",
     KNOB_VAR,
     "MIMALLOC_ALLOW_DECOMMIT",
     {"0", NULL},
     "1",
     KNOB_ALWAYS,
     "give free segment memory back to the OS (0: keep it committed)"},
    {"mimalloc",
     "abandoned_page_reset",
     KNOB_VAR,
     "MIMALLOC_ABANDONED_PAGE_RESET",
     {"1", NULL},
     "0",
     KNOB_THREADS,
     "reset the free pages of a thread that ended"},
    {"mimalloc",
     "reset_delay",
     KNOB_VAR,
     "MIMALLOC_RESET_DELAY",
     {"100", NULL},
     "100 (the replay pins 0)",
     KNOB_ALWAYS,
     "milliseconds before free pages are reset"},
    {"mimalloc",
     "segment_decommit_delay",
     KNOB_VAR,
     "MIMALLOC_SEGMENT_DECOMMIT_DELAY",
     {"500", NULL},
     "500 (the replay pins 0)",
     KNOB_ALWAYS,
     "milliseconds before free segment memory is decommitted"},
    /* gperftools 2.10 (TCMALLOC_*, read from the environment at start) */
    {"tcmalloc",
     "release_rate",
     KNOB_VAR,
     "TCMALLOC_RELEASE_RATE",
     {"0", "10", NULL},
     "1.0",
     KNOB_ALWAYS,
     "how fast free spans are given back to the OS (0: never, 10: soon)"},
    {"tcmalloc",
     "aggressive_decommit",
     KNOB_VAR,
     "TCMALLOC_AGGRESSIVE_DECOMMIT",
     {"true", NULL},
     "false",
     KNOB_ALWAYS,
     "give every free span back to the OS at once"},
    {"tcmalloc",
     "max_total_thread_cache_bytes",
     KNOB_VAR,
     "TCMALLOC_MAX_TOTAL_THREAD_CACHE_BYTES",
     {"4194304", "134217728", NULL},
     "32 MiB",
     KNOB_ALWAYS,
     "bytes all thread caches may hold together"},
    /* mallog's own arena (replay/arena.c) */
    {"arena",
     "policy",
     KNOB_VAR,
     "MALLOG_ARENA_POLICY",
     {"first", "next", "seg1", "seg4", NULL},
     "best",
     KNOB_ALWAYS,
     "placement of blocks over 2 KiB: best fit, first fit (lowest address), next fit (from "
     "where the last one went), segregated fits (rounded to N classes per power of two)"},
};
const int knobs_count = (int)(sizeof knobs_list / sizeof *knobs_list);

int knobs_for(const char *family, int k)
{
    return k >= 0 && k < knobs_count && strcmp(knobs_list[k].family, family) == 0;
}

/* Appends text to buf (of room len, used *u); -1 once it does not fit. */
static int put(char *buf, size_t len, size_t *u, const char *text, size_t n)
{
    if (*u + n + 1 > len)
        return -1;
    memcpy(buf + *u, text, n);
    *u += n;
    buf[*u] = 0;
    return 0;
}

/* The value of VAR among a family's pinned "VAR=value" lines, its length in *n; NULL if none. */
static const char *pinned_value(const char *family, const char *var, size_t *n)
{
    int a = allocators_find(family, strlen(family));
    const char *p = a < MLG_ALLOC_COUNT ? allocators_list[a].pinned : NULL;
    size_t vl = strlen(var);
    for (; p && *p; p += strcspn(p, "\n") + (p[strcspn(p, "\n")] ? 1 : 0))
        if (strncmp(p, var, vl) == 0 && p[vl] == '=') {
            *n = strcspn(p + vl + 1, "\n");
            return p + vl + 1;
        }
    return NULL;
}

/* Whether the settings v[0..n) set key (a MALLOC_CONF key of length kl). */
static int sets_key(const struct knob_set *v, int n, const char *key, size_t kl)
{
    for (int i = 0; i < n; i++)
        if (strlen(knobs_list[v[i].knob].name) == kl &&
            strncmp(knobs_list[v[i].knob].name, key, kl) == 0)
            return 1;
    return 0;
}

/* One "VAR=value" for the settings of v of the form form into buf (sep: what ends it). */
static int put_joined(const char *family, const struct knob_set *v, int n, int form, int pinned,
                      const char *sep, char *buf, size_t len, size_t *u)
{
    const char *var = NULL;
    for (int i = 0; i < n && !var; i++)
        if (knobs_list[v[i].knob].form == form)
            var = knobs_list[v[i].knob].var;
    if (!var)
        return 0;
    if (put(buf, len, u, var, strlen(var)) < 0 || put(buf, len, u, "=", 1) < 0)
        return -1;
    int first = 1;
    size_t pn = 0;
    const char *pv = pinned && form == KNOB_CONF ? pinned_value(family, var, &pn) : NULL;
    for (const char *p = pv; p && p < pv + pn;) { /* the pinned keys the knobs leave alone */
        size_t el = strcspn(p, ",\n");
        if (el > (size_t)(pv + pn - p))
            el = (size_t)(pv + pn - p);
        size_t kl = strcspn(p, ":");
        if (kl < el && !sets_key(v, n, p, kl)) {
            if ((!first && put(buf, len, u, ",", 1) < 0) || put(buf, len, u, p, el) < 0)
                return -1;
            first = 0;
        }
        p += el + 1;
    }
    for (int i = 0; i < n; i++) {
        const struct knob *k = &knobs_list[v[i].knob];
        if (k->form != form)
            continue;
        char one[256];
        int l = form == KNOB_TUNABLE ? snprintf(one, sizeof one, "%sglibc.malloc.%s=%s",
                                                first ? "" : ":", k->name, k->values[v[i].value])
                                     : snprintf(one, sizeof one, "%s%s:%s", first ? "" : ",",
                                                k->name, k->values[v[i].value]);
        if (l < 0 || (size_t)l >= sizeof one || put(buf, len, u, one, (size_t)l) < 0)
            return -1;
        first = 0;
    }
    return put(buf, len, u, sep, strlen(sep));
}

static int build(const char *family, const struct knob_set *v, int n, int pinned, const char *sep,
                 char *buf, size_t len)
{
    size_t u = 0;
    buf[0] = 0;
    if (put_joined(family, v, n, KNOB_TUNABLE, 0, sep, buf, len, &u) < 0 ||
        put_joined(family, v, n, KNOB_CONF, pinned, sep, buf, len, &u) < 0)
        return -1;
    for (int i = 0; i < n; i++) {
        const struct knob *k = &knobs_list[v[i].knob];
        if (k->form != KNOB_VAR)
            continue;
        char one[256];
        int l = snprintf(one, sizeof one, "%s=%s%s", k->var, k->values[v[i].value], sep);
        if (l < 0 || (size_t)l >= sizeof one || put(buf, len, &u, one, (size_t)l) < 0)
            return -1;
    }
    return 0;
}

int knobs_env(const char *family, const struct knob_set *v, int n, int pinned, char *buf,
              size_t len)
{
    return build(family, v, n, pinned, "\n", buf, len);
}

void knobs_line(const char *family, const struct knob_set *v, int n, char *buf, size_t len)
{
    if (build(family, v, n, 0, " ", buf, len) < 0)
        buf[0] = 0;
    size_t l = strlen(buf);
    if (l && buf[l - 1] == ' ')
        buf[l - 1] = 0;
}

void knobs_print(void)
{
    printf("| allocator | knob | environment | values tried | default | when | what it does |\n");
    printf("|---|---|---|---|---|---|---|\n");
    for (int i = 0; i < knobs_count; i++) {
        const struct knob *k = &knobs_list[i];
        char vals[256] = "";
        size_t u = 0;
        for (int j = 0; j < KNOB_VALUES_MAX && k->values[j]; j++)
            u += (size_t)snprintf(vals + u, sizeof vals - u, "%s%s", j ? ", " : "", k->values[j]);
        char env[128];
        if (k->form == KNOB_TUNABLE)
            snprintf(env, sizeof env, "`GLIBC_TUNABLES=glibc.malloc.%s=V`", k->name);
        else if (k->form == KNOB_CONF)
            snprintf(env, sizeof env, "`MALLOC_CONF=%s:V`", k->name);
        else
            snprintf(env, sizeof env, "`%s=V`", k->var);
        printf("| %s | %s | %s | %s | %s | %s | %s |\n", k->family, k->name, env, vals, k->deflt,
               k->when == KNOB_THREADS ? "threads" : "always", k->what);
    }
}

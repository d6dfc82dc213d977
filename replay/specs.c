/* specs.c - which allocators a replay runs, with which settings: `-a` values parsed into specs
 * (a built-in allocator, a library path, each with VAR=value settings), the names a row and its
 * files take, the settings pinned for comparable footprints, and the allocator environment that
 * is scrubbed from every worker. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/allocators.h"
#include "../common/msg.h"
#include "cmd.h"

/* Allocator environment that is scrubbed before every replay, so results do not depend on the
 * caller's shell. */
int specs_allocator_var(const char *kv)
{
    static const char *prefixes[] = {"MALLOC_",         "GLIBC_TUNABLES=", "MIMALLOC_", "TCMALLOC_",
                                     "JE_MALLOC_CONF=", "LD_PRELOAD=",     "MALLOG_"};
    for (unsigned i = 0; i < sizeof prefixes / sizeof *prefixes; i++)
        if (strncmp(kv, prefixes[i], strlen(prefixes[i])) == 0)
            return 1;
    return 0;
}

int touch_mode(const char *s)
{
    return strcmp(s, "none") == 0   ? TOUCH_NONE
           : strcmp(s, "full") == 0 ? TOUCH_FULL
           : strcmp(s, "page") == 0 ? TOUCH_PAGE
                                    : -1;
}

int threads_mode(const char *s)
{
    for (int i = 0; i < 3; i++)
        if (strcmp(s, threads_mode_names[i]) == 0)
            return i;
    return -1;
}

const char *touch_name(int t)
{
    return t == TOUCH_NONE ? "none" : t == TOUCH_FULL ? "full" : "page";
}

/* ---- allocator specs ------------------------------------------------------------------------ */

/* The library of a built-in preloaded allocator (common/allocators.h): its path, "" if it is not
 * installed, NULL if name is not one. */
static const char *builtin_lib(const char *name)
{
    int i = allocators_find(name, strlen(name));
    if (i == MLG_ALLOC_COUNT || strcmp(allocators_list[i].kind, "libc") != 0)
        return NULL;
    const char *libs[] = {allocators_list[i].lib, allocators_list[i].lib2};
    for (int k = 0; k < 2; k++)
        if (libs[k] && access(libs[k], R_OK) == 0)
            return libs[k];
    return "";
}

static int looks_like_var(const char *s)
{
    const char *p = s;
    while ((*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_')
        p++;
    return p > s && *p == '=';
}

int specs_parse(const char *cmd, const char *text, struct alloc_spec *a)
{
    memset(a, 0, sizeof *a);
    const char *colon = strchr(text, ':');
    /* a path may not contain ':' here; tuning always starts with VAR= after the colon */
    size_t nlen = colon ? (size_t)(colon - text) : strlen(text);
    char name[PATH_MAX];
    snprintf(name, sizeof name, "%.*s", (int)nlen, text);
    if (colon) {
        const char *p = colon + 1;
        while (*p) {
            const char *next = p;
            do { /* a value may contain ':' (MALLOC_CONF=a:1,b:2): cut only before VAR= */
                next = strchr(next + 1, ':');
            } while (next && !looks_like_var(next + 1));
            size_t len = next ? (size_t)(next - p) : strlen(p);
            if (!looks_like_var(p)) {
                msg_error(cmd, "%s: tuning must be VAR=value, got '%.*s'", text, (int)len, p);
                return -1;
            }
            if (memchr(p, '\n', len)) { /* the settings are kept as "VAR=value\n" lines */
                msg_error(cmd, "%.40s: a setting's value may not contain a newline", text);
                return -1;
            }
            size_t used = strlen(a->env);
            if (used + len + 2 > sizeof a->env) { /* never a setting cut short */
                msg_error(cmd, "%.40s...: settings longer than %zu bytes", text, sizeof a->env - 2);
                return -1;
            }
            snprintf(a->env + used, sizeof a->env - used, "%.*s\n", (int)len, p);
            p = next ? next + 1 : p + len;
        }
    }
    const char *lib;
    if (strcmp(name, "glibc") == 0 || strcmp(name, "arena") == 0) {
        snprintf(a->family, sizeof a->family, "%s", name);
        snprintf(a->kind, sizeof a->kind, "%s", name);
        snprintf(a->lib, sizeof a->lib, "%s", strcmp(name, "glibc") == 0 ? "libc.so.6" : "builtin");
    } else if ((lib = builtin_lib(name))) {
        if (!*lib) {
            msg_error(cmd, "%s is not installed", name);
            return -1;
        }
        snprintf(a->family, sizeof a->family, "%s", name);
        snprintf(a->kind, sizeof a->kind, "libc");
        snprintf(a->lib, sizeof a->lib, "%s", lib);
    } else if (strchr(name, '/') || strstr(name, ".so")) {
        struct stat st;
        if (!realpath(name, a->lib) || stat(a->lib, &st) != 0) {
            msg_error(cmd, "%s: %s", name, strerror(errno));
            return -1;
        }
        if (!S_ISREG(st.st_mode)) {
            msg_error(cmd, "%s: not a library file", name);
            return -1;
        }
        const char *base = strrchr(a->lib, '/') + 1;
        const char *dot = strstr(base, ".so");
        snprintf(a->family, sizeof a->family, "%.*s", (int)(dot ? dot - base : (long)strlen(base)),
                 base);
        snprintf(a->kind, sizeof a->kind, "libc");
    } else {
        msg_error(cmd,
                  "unknown allocator '%s' (glibc, jemalloc, mimalloc, tcmalloc, arena, or a "
                  "path to a .so)",
                  name);
        return -1;
    }
    const char *policy = strcmp(a->kind, "arena") == 0 ? strstr(a->env, "MALLOG_ARENA_POLICY=") : NULL;
    if (policy && (policy == a->env || policy[-1] == '\n')) { /* checked here, not in the worker */
        char v[32];
        snprintf(v, sizeof v, "%.*s", (int)strcspn(policy + 20, "\n"), policy + 20);
        if (!arena_policy_known(v)) {
            msg_error(cmd, "%s: unknown arena policy '%s' (best, first, next, seg1, seg2, seg4, seg8)",
                      text, v);
            return -1;
        }
    }
    snprintf(a->name, sizeof a->name, "%s", a->family);
    return 0;
}

void specs_name_put(char *b, size_t len, size_t *k, char c)
{
    int plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '.' || c == '_' || c == '-' || c == '+';
    if (*k + 1 < len)
        b[(*k)++] = plain ? c : '_';
    b[*k] = 0;
}

/* A tuned spec's name: its family's, then "+" and each setting as key-value in the characters a
 * file name and plots' word lists take ([A-Za-z0-9._+-]), so that two tunings of one allocator
 * get their own row and files, and the name says what differs:
 *   glibc:GLIBC_TUNABLES=glibc.malloc.mmap_threshold=1048576  -> glibc+mmap_threshold-1048576
 *   jemalloc:MALLOC_CONF=narenas:1,tcache:false               -> jemalloc+narenas-1+tcache-false
 *   mimalloc:MIMALLOC_ARENA_EAGER_COMMIT=1                    -> mimalloc+arena_eager_commit-1
 * Written into buf; the caller falls back to a number if it is too long. */
static void variant_name(const struct alloc_spec *a, char *buf, size_t len)
{
    size_t k = 0;
    buf[0] = 0;
    for (const char *p = a->family; *p; p++)
        specs_name_put(buf, len, &k, *p);
    for (const char *line = a->env; *line;) {
        size_t ll = strcspn(line, "\n"), vl = strcspn(line, "=");
        const char *val = line + vl + 1, *end = line + ll;
        specs_name_put(buf, len, &k, '+');
        if (vl == strlen("GLIBC_TUNABLES") && strncmp(line, "GLIBC_TUNABLES", vl) == 0) {
            /* glibc.malloc.a=1:glibc.malloc.b=2 -> a-1+b-2 */
            for (const char *t = val; t < end;) {
                const char *te = t;
                while (te < end && *te != ':')
                    te++;
                const char *eq = t, *key = t;
                while (eq < te && *eq != '=')
                    eq++;
                for (const char *q = t; q < eq; q++)
                    if (*q == '.')
                        key = q + 1;
                for (const char *q = key; q < te; q++)
                    specs_name_put(buf, len, &k, *q == '=' ? '-' : *q);
                if (te < end)
                    specs_name_put(buf, len, &k, '+');
                t = te < end ? te + 1 : te;
            }
        } else if ((vl == 11 && strncmp(line, "MALLOC_CONF", 11) == 0) ||
                   (vl == 14 && strncmp(line, "JE_MALLOC_CONF", 14) == 0)) {
            for (const char *q = val; q < end; q++) /* a:1,b:2 -> a-1+b-2 */
                specs_name_put(buf, len, &k, *q == ':' ? '-' : *q == ',' ? '+' : *q);
        } else {
            const char *key = line;
            static const char *const prefixes[] = {"MIMALLOC_", "TCMALLOC_", "MALLOC_"};
            for (unsigned i = 0; i < sizeof prefixes / sizeof *prefixes; i++)
                if (strncmp(line, prefixes[i], strlen(prefixes[i])) == 0 &&
                    strlen(prefixes[i]) < vl) {
                    key = line + strlen(prefixes[i]);
                    break;
                }
            for (const char *q = key; q < line + vl; q++)
                specs_name_put(buf, len, &k, *q >= 'A' && *q <= 'Z' ? (char)(*q - 'A' + 'a') : *q);
            specs_name_put(buf, len, &k, '-');
            for (const char *q = val; q < end; q++)
                specs_name_put(buf, len, &k, *q);
        }
        line = *end ? end + 1 : end;
    }
}

/* Gives every spec a name of its own: a tuned one family+settings (variant_name), or
 * family+N (N = its place in the list) when that does not fit or is taken already; an untuned
 * one keeps its family's name unless an earlier spec has it. */
void specs_name(struct alloc_spec *v, int n)
{
    for (int i = 0; i < n; i++) {
        char want[256];
        variant_name(&v[i], want, sizeof want);
        int taken = strlen(want) >= sizeof v[i].name;
        for (int j = 0; j < i && !taken; j++)
            taken = strcmp(v[j].name, want) == 0;
        if (taken) {
            snprintf(want, sizeof want, "%.50s+%d", v[i].family, i + 1);
            for (int j = 0; j < i; j++)
                if (strcmp(v[j].name, want) == 0) /* "glibc+2" given as a library stem */
                    snprintf(want, sizeof want, "%.40s+%d+%d", v[i].family, i + 1, j + 1);
        }
        snprintf(v[i].name, sizeof v[i].name, "%s", want);
    }
}

/* Splits an -a value at commas that start a new allocator (a comma inside MALLOC_CONF stays). */
int specs_add(const char *cmd, const char *arg, struct alloc_spec *v, int *n)
{
    char buf[4096];
    if (strlen(arg) >= sizeof buf) {
        msg_error(cmd, "-a %.40s...: longer than %zu bytes", arg, sizeof buf - 1);
        return -1;
    }
    snprintf(buf, sizeof buf, "%s", arg);
    char *start = buf;
    for (char *p = buf;; p++) {
        if (*p == ',' || *p == 0) {
            int end = *p == 0;
            if (!end) {
                const char *q = p + 1;
                char word[64];
                size_t wl = strcspn(q, ":,");
                snprintf(word, sizeof word, "%.*s", (int)wl, q);
                int is_new = strcmp(word, "glibc") == 0 || strcmp(word, "arena") == 0 ||
                             builtin_lib(word) || strchr(word, '/') || strstr(word, ".so");
                if (!is_new)
                    continue;
            }
            *p = 0;
            if (*start) {
                if (*n == MAX_ALLOCS) {
                    msg_error(cmd, "too many allocators (at most %d)", MAX_ALLOCS);
                    return -1;
                }
                if (specs_parse(cmd, start, &v[*n]) < 0)
                    return -1;
                (*n)++;
            }
            if (end)
                return 0;
            start = p + 1;
        }
    }
}

int specs_default(struct alloc_spec *v)
{
    int n = 0;
    for (int i = 0; i < MLG_ALLOC_COUNT; i++) {
        const char *lib = builtin_lib(allocators_list[i].name);
        if (lib && !*lib)
            continue; /* not installed */
        specs_parse("replay", allocators_list[i].name, &v[n++]);
    }
    return n;
}

void specs_env(const struct alloc_spec *a, int pinned_too, char *buf, size_t len)
{
    size_t used = 0;
    int i = allocators_find(a->family, strlen(a->family));
    const char *pin = pinned_too && i != MLG_ALLOC_COUNT ? allocators_list[i].pinned : NULL;
    buf[0] = 0;
    /* each pinned "VAR=value" line, unless the spec sets VAR itself */
    for (const char *line = pin; line && *line;) {
        size_t ll = strcspn(line, "\n"), klen = strcspn(line, "=") + 1;
        int overridden = 0;
        for (const char *q = a->env; *q; q += strcspn(q, "\n") + (q[strcspn(q, "\n")] ? 1 : 0))
            if (strncmp(q, line, klen) == 0)
                overridden = 1;
        if (!overridden && used < len)
            used += (size_t)snprintf(buf + used, len - used, "%.*s\n", (int)ll, line);
        line += ll + (line[ll] ? 1 : 0);
    }
    if (used < len)
        snprintf(buf + used, len - used, "%s", a->env);
}

void specs_list(FILE *f)
{
    for (int i = 0; i < MLG_ALLOC_COUNT; i++) {
        const struct allocator_info *a = &allocators_list[i];
        const char *lib = builtin_lib(a->name);
        fprintf(f, "%s\t%s\t", a->name, !lib ? "builtin" : *lib ? lib : "-");
        for (const char *p = a->pinned; p && *p; p++)
            fputc(*p == '\n' ? ' ' : *p, f);
        fputc('\n', f);
    }
}

/* options.c - the MALLOG_* options of the recorder, as one table (tmux's options-table.c,
 * mimalloc's options.c): name, default, range, help. Read once from the environment at init,
 * inside the traced process: no malloc, no stdio (environ may not even be set up yet: the first
 * malloc can come from ld.so). Numbers take K, M and G suffixes; a bad or out-of-range value
 * warns once, naming the option and its range, and the default stands. */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "preload.h"

const struct preload_option preload_options[PRELOAD_OPT_COUNT] = {
#define PRELOAD_X_ENTRY(id, name, type, def, min, max, help) {name, type, def, min, max, help},
    PRELOAD_OPTIONS(PRELOAD_X_ENTRY)
#undef PRELOAD_X_ENTRY
};

static char env_copy[1 << 16]; /* /proc/self/environ when libc's environ is not set up yet */
extern char **environ;

const char *options_env(const char *name)
{
    size_t nl = strlen(name);
    if (environ) {
        for (char **e = environ; *e; e++)
            if (strncmp(*e, name, nl) == 0 && (*e)[nl] == '=')
                return *e + nl + 1;
        return NULL;
    }
    if (!env_copy[0]) {
        int fd = open("/proc/self/environ", O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return NULL;
        ssize_t n = read(fd, env_copy, sizeof env_copy - 2);
        close(fd);
        if (n <= 0)
            return NULL;
        env_copy[n] = 0;
        env_copy[n + 1] = 0;
    }
    for (const char *e = env_copy; *e; e += strlen(e) + 1)
        if (strncmp(e, name, nl) == 0 && e[nl] == '=')
            return e + nl + 1;
    return NULL;
}

int options_number(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    if (*s < '0' || *s > '9')
        return -1;
    for (; *s >= '0' && *s <= '9'; s++) {
        if (v > (UINT64_MAX - 9) / 10)
            return -1;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    static const char units[] = "kmg"; /* binary: 1K = 1024 */
    const char *u = *s ? strchr(units, *s | 0x20) : NULL;
    if (u) {
        unsigned shift = 10 * (unsigned)(u - units + 1);
        if (v > UINT64_MAX >> shift)
            return -1;
        v <<= shift;
        s++;
    }
    if (*s)
        return -1;
    *out = v;
    return 0;
}

/* Appends s to buf[*n..cap), as far as it fits. */
static void put(char *buf, size_t cap, size_t *n, const char *s)
{
    while (*s && *n + 1 < cap)
        buf[(*n)++] = *s++;
    buf[*n] = 0;
}

static void put_u64(char *buf, size_t cap, size_t *n, uint64_t v)
{
    char d[24];
    int i = (int)sizeof d - 1;
    d[i] = 0;
    do
        d[--i] = (char)('0' + v % 10);
    while (v /= 10);
    put(buf, cap, n, d + i);
}

/* "mallog: warning: MALLOG_X=value: not a number from MIN to MAX; using DEF" */
static void warn_bad(const struct preload_option *o, const char *value)
{
    char line[256];
    size_t n = 0;
    line[0] = 0;
    put(line, sizeof line, &n, o->name);
    put(line, sizeof line, &n, "=");
    put(line, sizeof line, &n, value);
    put(line, sizeof line, &n, ": not a number from ");
    put_u64(line, sizeof line, &n, o->min);
    put(line, sizeof line, &n, " to ");
    put_u64(line, sizeof line, &n, o->max);
    put(line, sizeof line, &n, "; using ");
    put_u64(line, sizeof line, &n, o->def);
    rec_warn(line);
}

void options_load(struct preload_values *v)
{
    for (int i = 0; i < PRELOAD_OPT_COUNT; i++) {
        const struct preload_option *o = &preload_options[i];
        const char *s = options_env(o->name);
        v->str[i] = s;
        v->num[i] = o->def;
        if (o->type != 'u' || !s || !*s) /* set but empty: as if unset */
            continue;
        uint64_t x;
        if (options_number(s, &x) == 0 && x >= o->min && x <= o->max)
            v->num[i] = x;
        else
            warn_bad(o, s);
    }
}

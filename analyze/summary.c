/* summary.c - a stats summary as flat "key.path" = value entries, from a log (analysed here) or
 * from a saved `mallog stats --json` file; what `mallog diff` and `mallog check` compare.
 * Arrays of tables are keyed by their identifying column, not by position, so that
 * "sizes.1024.count" means the same class in two summaries. A small JSON reader for our own
 * output; it reports the line of the first syntax error. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../common/msg.h"
#include "../common/recording.h"
#include "analyze.h"


struct parser {
    const char *p, *start, *end;
    struct summary *out;
    char path[SUMMARY_KEY_MAX];
    const char *err;
};

static int add(struct summary *s, const char *key, int type, double num, const char *str,
               size_t len)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 256;
        struct summary_entry *v = realloc(s->v, cap * sizeof *v);
        if (!v)
            return -1;
        s->v = v;
        s->cap = cap;
    }
    struct summary_entry *e = &s->v[s->n++];
    memset(e, 0, sizeof *e);
    snprintf(e->key, sizeof e->key, "%s", key);
    e->type = type;
    e->num = num;
    if (str) {
        if (len >= sizeof e->str)
            len = sizeof e->str - 1;
        memcpy(e->str, str, len);
    }
    return 0;
}

static void ws(struct parser *ps)
{
    while (ps->p < ps->end && isspace((unsigned char)*ps->p))
        ps->p++;
}

static int value(struct parser *ps);

static int string(struct parser *ps, char *buf, size_t len)
{
    if (ps->p >= ps->end || *ps->p != '"')
        return ps->err = "expected a string", -1;
    ps->p++;
    size_t o = 0;
    while (ps->p < ps->end && *ps->p != '"') {
        char c = *ps->p++;
        if (c == '\\' && ps->p < ps->end) {
            c = *ps->p++;
            if (c == 'u') { /* our writer escapes only control characters */
                c = '?';
                ps->p += ps->end - ps->p >= 4 ? 4 : ps->end - ps->p;
            } else if (c == 'n') {
                c = '\n';
            } else if (c == 't') {
                c = '\t';
            }
        }
        if (o + 1 < len)
            buf[o++] = c;
    }
    if (ps->p >= ps->end)
        return ps->err = "unterminated string", -1;
    ps->p++;
    buf[o] = 0;
    return 0;
}

/* Which member names an element of an array of objects (the rest keep their position). */
static const char *const id_fields[] = {"class_min", "min_events", "min_ns", "size", "thread"};

static int array(struct parser *ps)
{
    ps->p++;
    size_t base = strlen(ps->path);
    for (int i = 0;; i++) {
        ws(ps);
        if (ps->p < ps->end && *ps->p == ']' && i == 0) {
            ps->p++;
            return 0;
        }
        snprintf(ps->path + base, sizeof ps->path - base, ".%d", i);
        size_t first = ps->out->n;
        int is_obj = ps->p < ps->end && *ps->p == '{';
        if (value(ps) != 0)
            return -1;
        if (is_obj && strncmp(ps->path, "chains", 6) != 0) {
            /* rename ".<i>." to ".<id>." for the entries of this element */
            char prefix[SUMMARY_KEY_MAX], id[64] = "";
            snprintf(prefix, sizeof prefix, "%s.", ps->path);
            size_t pl = strlen(prefix);
            for (size_t f = 0; f < sizeof id_fields / sizeof *id_fields && !id[0]; f++)
                for (size_t k = first; k < ps->out->n; k++)
                    if (strncmp(ps->out->v[k].key, prefix, pl) == 0 &&
                        strcmp(ps->out->v[k].key + pl, id_fields[f]) == 0)
                        snprintf(id, sizeof id, "%.0f", ps->out->v[k].num);
            if (id[0]) {
                for (size_t k = first; k < ps->out->n; k++) {
                    char nk[SUMMARY_KEY_MAX];
                    snprintf(nk, sizeof nk, "%.*s.%s.%s", (int)base, ps->path, id,
                             ps->out->v[k].key + pl);
                    snprintf(ps->out->v[k].key, sizeof ps->out->v[k].key, "%s", nk);
                }
            }
        }
        ps->path[base] = 0;
        ws(ps);
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
            continue;
        }
        if (ps->p < ps->end && *ps->p == ']') {
            ps->p++;
            return 0;
        }
        return ps->err = "expected ',' or ']'", -1;
    }
}

static int object(struct parser *ps)
{
    ps->p++;
    size_t base = strlen(ps->path);
    for (int i = 0;; i++) {
        ws(ps);
        if (ps->p < ps->end && *ps->p == '}' && i == 0) {
            ps->p++;
            return 0;
        }
        char name[128];
        if (string(ps, name, sizeof name) != 0)
            return -1;
        ws(ps);
        if (ps->p >= ps->end || *ps->p != ':')
            return ps->err = "expected ':'", -1;
        ps->p++;
        snprintf(ps->path + base, sizeof ps->path - base, "%s%s", base ? "." : "", name);
        ws(ps);
        /* a table or object is an entry of its own: an empty table still says it is there */
        if (ps->p < ps->end && (*ps->p == '{' || *ps->p == '[') &&
            add(ps->out, ps->path, SUMMARY_TABLE, 0, NULL, 0) != 0)
            return ps->err = "no memory", -1;
        if (value(ps) != 0)
            return -1;
        ps->path[base] = 0;
        ws(ps);
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
            continue;
        }
        if (ps->p < ps->end && *ps->p == '}') {
            ps->p++;
            return 0;
        }
        return ps->err = "expected ',' or '}'", -1;
    }
}

static int value(struct parser *ps)
{
    ws(ps);
    if (ps->p >= ps->end)
        return ps->err = "unexpected end", -1;
    char c = *ps->p;
    if (c == '{')
        return object(ps);
    if (c == '[')
        return array(ps);
    if (c == '"') {
        char buf[SUMMARY_STR_MAX];
        if (string(ps, buf, sizeof buf) != 0)
            return -1;
        return add(ps->out, ps->path, SUMMARY_STR, 0, buf, strlen(buf)) ? (ps->err = "no memory",
                                                                         -1) : 0;
    }
    static const struct { const char *word; int type; double num; } words[] = {
        {"null", SUMMARY_NULL, 0}, {"true", SUMMARY_NUM, 1}, {"false", SUMMARY_NUM, 0}};
    for (size_t i = 0; i < sizeof words / sizeof *words; i++) {
        size_t l = strlen(words[i].word);
        if ((size_t)(ps->end - ps->p) >= l && memcmp(ps->p, words[i].word, l) == 0) {
            ps->p += l;
            return add(ps->out, ps->path, words[i].type, words[i].num, NULL, 0) ? -1 : 0;
        }
    }
    char *e;
    errno = 0;
    double d = strtod(ps->p, &e);
    if (e == ps->p || errno)
        return ps->err = "expected a value", -1;
    ps->p = e;
    return add(ps->out, ps->path, SUMMARY_NUM, d, NULL, 0) ? (ps->err = "no memory", -1) : 0;
}

int summary_parse(const char *text, size_t len, struct summary *out, char *err, size_t errlen)
{
    struct parser ps = {text, text, text + len, out, "", NULL};
    ws(&ps);
    if (ps.p >= ps.end || *ps.p != '{') {
        snprintf(err, errlen, "not a JSON object");
        return -1;
    }
    if (value(&ps) != 0) {
        int line = 1;
        for (const char *q = text; q < ps.p && q < ps.end; q++)
            line += *q == '\n';
        snprintf(err, errlen, "JSON: %s at line %d (byte %ld)", ps.err, line,
                 (long)(ps.p - text));
        return -1;
    }
    return 0;
}

const struct summary_entry *summary_get(const struct summary *s, const char *key)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->v[i].key, key) == 0)
            return &s->v[i];
    return NULL;
}

/* The tables whose rows the writer (statsout_json) leaves out when they are empty, with the
 * columns that are then 0 (counts and sums; not maxima, percentages or positions). by_class: the
 * row id is a class's lower bound (0, 1, 2, 4, ...); ops: an op name; else any number.
 * per_process rows are positional and never empty: a missing one is absent, not 0. */
static const struct {
    const char *name;
    int by_class;
    const char *const cols[11];
} tables[] = {
    {"ops", 0, {"calls", "failed", "bytes"}},
    {"sizes", 1, {"count", "bytes"}},
    {"lifetimes", 1, {"count", "bytes"}},
    {"lifetimes_ns", 1, {"count", "bytes"}},
    {"leaks", 0, {"count", "bytes"}},
    {"per_thread", 0, {"events", "allocations", "frees", "reallocs", "failed", "bytes",
                       "cross_frees", "freed_by_others", "live_blocks", "live_bytes"}},
    {"per_process", 0, {NULL}},
};

static int row_id_valid(size_t t, const char *id, size_t len)
{
    char buf[64];
    if (!len || len >= sizeof buf)
        return 0;
    memcpy(buf, id, len);
    buf[len] = 0;
    if (strcmp(tables[t].name, "ops") == 0)
        return mlg_op_from_name(buf) != 0;
    for (size_t i = 0; i < len; i++)
        if (!isdigit((unsigned char)buf[i]))
            return 0;
    if (!tables[t].by_class)
        return 1;
    errno = 0;
    unsigned long long v = strtoull(buf, NULL, 10);
    for (int k = 0; k < STATS_CLASSES && !errno; k++)
        if (stats_class_min(k) == v)
            return 1;
    return 0;
}

int summary_num(const struct summary *s, const char *key, double *v)
{
    *v = 0;
    const struct summary_entry *e = summary_get(s, key);
    if (e)
        return e->type == SUMMARY_NUM ? (*v = e->num, SUMMARY_FOUND) : SUMMARY_ABSENT;
    /* TABLE.ID.COLUMN: the row may be one the writer left out */
    const char *d1 = strchr(key, '.'), *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
    if (!d2)
        return SUMMARY_ABSENT;
    for (size_t t = 0; t < sizeof tables / sizeof *tables; t++) {
        if ((size_t)(d1 - key) != strlen(tables[t].name) ||
            strncmp(key, tables[t].name, (size_t)(d1 - key)) != 0)
            continue;
        const struct summary_entry *te = summary_get(s, tables[t].name);
        if (!te || te->type != SUMMARY_TABLE || !row_id_valid(t, d1 + 1, (size_t)(d2 - d1 - 1)))
            return SUMMARY_ABSENT;
        size_t rl = (size_t)(d2 - key);
        for (size_t i = 0; i < s->n; i++) /* a row that is there lacks the column: absent */
            if (strncmp(s->v[i].key, key, rl) == 0 &&
                (s->v[i].key[rl] == '.' || s->v[i].key[rl] == 0))
                return SUMMARY_ABSENT;
        for (size_t c = 0; c < sizeof tables[t].cols / sizeof *tables[t].cols; c++)
            if (tables[t].cols[c] && strcmp(d2 + 1, tables[t].cols[c]) == 0)
                return SUMMARY_NO_ROW;
        return SUMMARY_NO_ROW_NO_VALUE;
    }
    return SUMMARY_ABSENT;
}

const char *summary_not_stats(const struct summary *s)
{
    const struct summary_entry *e = summary_get(s, "allocator");
    if (e && e->type == SUMMARY_STR)
        return "a `mallog replay` summary, not a `mallog stats --json` summary (ALLOC.* figures "
               "of a replay: pass its directory with --replay DIR)";
    static const char *const need[][2] = {{"log", "s"}, {"range", "t"}, {"events", "n"},
                                          {"ops", "t"}};
    for (size_t i = 0; i < sizeof need / sizeof *need; i++) {
        e = summary_get(s, need[i][0]);
        int want = need[i][1][0] == 's' ? SUMMARY_STR : need[i][1][0] == 't' ? SUMMARY_TABLE
                                                                            : SUMMARY_NUM;
        if (!e || e->type != want)
            return "not a `mallog stats --json` summary";
    }
    return NULL;
}

void summary_free(struct summary *s)
{
    free(s->v);
    memset(s, 0, sizeof *s);
}

static int read_all(const char *path, char **buf, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    size_t cap = 1 << 16, n = 0;
    char *b = malloc(cap);
    size_t k;
    while (b && (k = fread(b + n, 1, cap - n, f)) > 0) {
        n += k;
        if (n == cap) {
            char *nb = realloc(b, cap *= 2);
            if (!nb) {
                free(b);
                b = NULL;
            }
            b = nb;
        }
    }
    int bad = ferror(f) || !b;
    fclose(f);
    if (bad) {
        free(b);
        errno = errno ? errno : ENOMEM;
        return -1;
    }
    *buf = b;
    *len = n;
    return 0;
}

int summary_load_json(const char *cmd, const char *path, struct summary *out)
{
    memset(out, 0, sizeof *out);
    snprintf(out->name, sizeof out->name, "%s", path);
    out->from_json = 1;
    char *buf = NULL, err[256];
    size_t len = 0;
    if (read_all(path, &buf, &len) != 0) {
        fprintf(stderr, "mallog %s: %s: %s\n", cmd, path, strerror(errno));
        return -1;
    }
    int rc = summary_parse(buf, len, out, err, sizeof err);
    free(buf);
    if (rc != 0) {
        fprintf(stderr, "mallog %s: %s: %s\n", cmd, path, err);
        summary_free(out);
        return -1;
    }
    return 0;
}

int summary_load(const char *cmd, const char *arg, const struct rec_pid *pid,
                 struct summary *out)
{
    memset(out, 0, sizeof *out);
    snprintf(out->name, sizeof out->name, "%s", arg);
    char *buf = NULL, err[256];
    size_t len = 0;
    /* a JSON summary starts with '{'; anything else is taken for a log */
    FILE *f = fopen(arg, "rb");
    int c = f ? fgetc(f) : EOF;
    while (c != EOF && isspace(c))
        c = fgetc(f);
    if (f)
        fclose(f);
    if (c == '{') {
        if (summary_load_json(cmd, arg, out) != 0)
            return -1;
        const char *why = summary_not_stats(out);
        if (why) {
            fprintf(stderr, "mallog %s: %s: %s\n", cmd, arg, why);
            summary_free(out);
            return -1;
        }
        return 0;
    } else {
        char path[4096];
        if (rec_pick_log(cmd, arg, pid, path, sizeof path) != 0)
            return -1;
        struct stats *s = malloc(sizeof *s);
        struct stats_opts o = {0, UINT64_MAX, 100, 1000000, 0, NULL};
        if (!s || stats_init(s, &o) != 0) {
            free(s);
            fprintf(stderr, "mallog %s: out of memory\n", cmd);
            return -1;
        }
        int rc = stats_run(s, path);
        if (rc == 0)
            rc = stats_finish(s);
        if (rc == 0 && !s->err.code) {
            FILE *m = open_memstream(&buf, &len);
            if (m) {
                statsout_json(m, s);
                fclose(m);
            }
        }
        if (rc != 0 || s->err.code) {
            char eb[512];
            fprintf(stderr, "mallog %s: %s: %s\n", cmd, path,
                    rc == MLG_E_NOMEM ? "out of memory" : mlg_error_format(&s->err, eb, sizeof eb));
        }
        int bad = rc != 0 || s->err.code || !buf;
        stats_free(s);
        free(s);
        if (bad) {
            free(buf);
            return -1;
        }
    }
    int rc = summary_parse(buf, len, out, err, sizeof err);
    free(buf);
    if (rc != 0) {
        fprintf(stderr, "mallog %s: %s: %s\n", cmd, arg, err);
        summary_free(out);
        return -1;
    }
    return 0;
}

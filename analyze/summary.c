/* summary.c - a stats summary as flat "key.path" = value entries, from a log (analysed here) or
 * from a saved `mallog stats --json` file; what `mallog diff` and `mallog check` compare.
 * Arrays of tables are keyed by their identifying column, not by position, so that
 * "sizes.1024.count" means the same class in two summaries. The JSON is read by common/json.c's
 * walk, which reports the line of the first syntax error. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../common/json.h"
#include "../common/msg.h"
#include "../common/recording.h"
#include "analyze.h"

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

/* a table or object is an entry of its own: an empty table still says it is there */
static int on_open(void *ctx, const char *path)
{
    return add(ctx, path, SUMMARY_TABLE, 0, NULL, 0);
}

static int on_scalar(void *ctx, const char *path, int type, double num, const char *str)
{
    int t = type == JSON_STR ? SUMMARY_STR : type == JSON_NULL ? SUMMARY_NULL : SUMMARY_NUM;
    return add(ctx, path, t, num, str, str ? strlen(str) : 0);
}

/* An array element begins: its entries will start here. */
static size_t on_element_begin(void *ctx)
{
    return ((struct summary *)ctx)->n;
}

/* Which member names an element of an array of objects (the rest keep their position). */
static const char *const id_fields[] = {"class_min", "min_events", "min_ns", "size", "thread"};

/* An object element of an array (but chains, whose order is their rank): ".<i>." becomes
 * ".<id>." in the keys of its entries. */
static void on_element_end(void *ctx, char *path, size_t base, int is_object, size_t first)
{
    struct summary *out = ctx;
    if (!is_object || strncmp(path, "chains", 6) == 0)
        return;
    char prefix[SUMMARY_KEY_MAX], id[64] = "";
    snprintf(prefix, sizeof prefix, "%s.", path);
    size_t pl = strlen(prefix);
    for (size_t k = 0; k < sizeof id_fields / sizeof *id_fields && !id[0]; k++)
        for (size_t e = first; e < out->n; e++)
            if (strncmp(out->v[e].key, prefix, pl) == 0 &&
                strcmp(out->v[e].key + pl, id_fields[k]) == 0)
                snprintf(id, sizeof id, "%.0f", out->v[e].num);
    if (!id[0])
        return;
    for (size_t e = first; e < out->n; e++) {
        char nk[SUMMARY_KEY_MAX];
        snprintf(nk, sizeof nk, "%.*s.%s.%s", (int)base, path, id, out->v[e].key + pl);
        snprintf(out->v[e].key, sizeof out->v[e].key, "%s", nk);
    }
}

int summary_parse(const char *text, size_t len, struct summary *out, char *err, size_t errlen)
{
    _Static_assert(SUMMARY_KEY_MAX == JSON_PATH_MAX && SUMMARY_STR_MAX == JSON_STR_MAX,
                   "keys and strings are cut where the walk cuts them");
    struct json_walker w = {out, on_open, on_scalar, on_element_begin, on_element_end};
    return json_walk(text, len, &w, err, errlen);
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

int summary_load_json(const char *cmd, const char *path, struct summary *out)
{
    memset(out, 0, sizeof *out);
    snprintf(out->name, sizeof out->name, "%s", path);
    out->from_json = 1;
    char *buf, err[256];
    size_t len = 0;
    if (!(buf = json_read_file(path, &len))) {
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

/* json.c - the JSON reader and writer of every tool (json.h). One scanner, bounded by an end
 * pointer: the lookups bound a NUL-terminated text by its NUL, the walk by the length it is given
 * (a saved file, or a fuzzer's bytes with no NUL after them). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

#define JSON_MAX_DEPTH 64 /* deeper nesting is malformed: recursion stays bounded */

/* ---- the scanner ------------------------------------------------------------------------- */

static const char *ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

static int hexval(char h)
{
    return h >= '0' && h <= '9'   ? h - '0'
           : h >= 'a' && h <= 'f' ? h - 'a' + 10
           : h >= 'A' && h <= 'F' ? h - 'A' + 10
                                  : 0;
}

/* The string whose opening quote is at p, unescaped into out (truncated to len - 1; out may be
 * NULL to only skip it). Returns the position after its closing quote, or NULL if it does not
 * end before end. \uXXXX below 0x80 is that character, above it '?' (our writer escapes only
 * control characters). */
static const char *string(const char *p, const char *end, char *out, size_t len)
{
    if (p >= end || *p != '"')
        return NULL;
    size_t n = 0;
    for (p++; p < end && *p != '"'; p++) {
        char c = *p;
        if (c == '\\') {
            if (++p >= end)
                return NULL;
            switch (*p) {
            case 'n':
                c = '\n';
                break;
            case 't':
                c = '\t';
                break;
            case 'r':
                c = '\r';
                break;
            case 'b':
                c = '\b';
                break;
            case 'f':
                c = '\f';
                break;
            case 'u': {
                if (end - p < 5)
                    return NULL;
                unsigned cp = 0;
                for (int i = 1; i <= 4; i++)
                    cp = cp * 16 + (unsigned)hexval(p[i]);
                p += 4;
                c = cp < 0x80 ? (char)cp : '?';
                break;
            }
            default:
                c = *p;
                break; /* \" \\ \/ */
            }
        }
        if (out && n + 1 < len)
            out[n++] = c;
    }
    if (p >= end)
        return NULL;
    if (out && len)
        out[n] = 0;
    return p + 1;
}

static const char *skip_value(const char *p, const char *end, int depth);

/* The members or elements of the object or array opening at p; the position after it. */
static const char *skip_container(const char *p, const char *end, int depth)
{
    char close = *p == '{' ? '}' : ']';
    p = ws(p + 1, end);
    if (p < end && *p == close)
        return p + 1;
    for (;;) {
        if (close == '}') {
            p = string(ws(p, end), end, NULL, 0);
            if (!p)
                return NULL;
            p = ws(p, end);
            if (p >= end || *p != ':')
                return NULL;
            p++;
        }
        p = skip_value(p, end, depth + 1);
        if (!p)
            return NULL;
        p = ws(p, end);
        if (p < end && *p == ',')
            p++;
        else if (p < end && *p == close)
            return p + 1;
        else
            return NULL;
    }
}

static int word(const char *p, const char *end, const char *w)
{
    size_t l = strlen(w);
    return (size_t)(end - p) >= l && memcmp(p, w, l) == 0 ? (int)l : 0;
}

static const char *skip_value(const char *p, const char *end, int depth)
{
    p = ws(p, end);
    if (p >= end || depth > JSON_MAX_DEPTH)
        return NULL;
    int l;
    switch (*p) {
    case '"':
        return string(p, end, NULL, 0);
    case '{':
    case '[':
        return skip_container(p, end, depth);
    default:
        if ((l = word(p, end, "true")) || (l = word(p, end, "false")) || (l = word(p, end, "null")))
            return p + l;
        if (*p == '-' || (*p >= '0' && *p <= '9')) {
            char *e;
            strtod(p, &e); /* stops at the NUL (lookups) or at a non-number byte before end */
            return e > p && e <= end ? e : NULL;
        }
        return NULL;
    }
}

/* ---- lookups ----------------------------------------------------------------------------- */

const char *json_skip_ws(const char *p)
{
    return p ? ws(p, p + strlen(p)) : NULL;
}

const char *json_skip(const char *p)
{
    return p ? skip_value(p, p + strlen(p), 0) : NULL;
}

/* In the object at p, the value of key (klen bytes, no escapes in keys), or NULL. */
static const char *object_member(const char *p, const char *end, const char *key, size_t klen)
{
    p = ws(p, end);
    if (p >= end || *p != '{')
        return NULL;
    p = ws(p + 1, end);
    if (p < end && *p == '}')
        return NULL;
    for (;;) {
        const char *k = ws(p, end), *kend = string(k, end, NULL, 0);
        if (!kend)
            return NULL;
        int match = (size_t)(kend - k - 2) == klen && memcmp(k + 1, key, klen) == 0;
        p = ws(kend, end);
        if (p >= end || *p != ':')
            return NULL;
        const char *v = ws(p + 1, end);
        if (match)
            return v;
        p = skip_value(v, end, 0);
        p = p ? ws(p, end) : NULL;
        if (!p || p >= end || *p != ',')
            return NULL;
        p++;
    }
}

static const char *array_element(const char *p, const char *end, long idx)
{
    p = ws(p, end);
    if (p >= end || *p != '[' || idx < 0)
        return NULL;
    p = ws(p + 1, end);
    if (p < end && *p == ']')
        return NULL;
    for (long i = 0;; i++) {
        if (i == idx)
            return ws(p, end);
        p = skip_value(p, end, 0);
        p = p ? ws(p, end) : NULL;
        if (!p || p >= end || *p != ',')
            return NULL;
        p++;
    }
}

const char *json_get(const char *p, const char *path)
{
    if (!p)
        return NULL;
    const char *end = p + strlen(p);
    p = ws(p, end);
    while (p && *path) {
        if (*path == '.')
            path++;
        if (*path == '[') {
            char *e;
            long idx = strtol(path + 1, &e, 10);
            if (*e != ']')
                return NULL;
            p = array_element(p, end, idx);
            path = e + 1;
            continue;
        }
        size_t klen = strcspn(path, ".[");
        if (!klen)
            return NULL;
        p = object_member(p, end, path, klen);
        path += klen;
    }
    return p;
}

int json_double(const char *p, const char *path, double *out)
{
    const char *v = json_get(p, path);
    if (!v || !(*v == '-' || (*v >= '0' && *v <= '9')))
        return -1;
    char *e;
    errno = 0;
    double d = strtod(v, &e);
    if (e == v || errno)
        return -1;
    *out = d;
    return 0;
}

int json_u64(const char *p, const char *path, uint64_t *out)
{
    const char *v = json_get(p, path);
    if (!v || *v < '0' || *v > '9')
        return -1;
    char *e;
    errno = 0;
    unsigned long long u = strtoull(v, &e, 10);
    if (errno)
        return -1;
    if (*e == '.' || *e == 'e' || *e == 'E') { /* written as a float: round it */
        double d = strtod(v, &e);
        if (d < 0 || d > 1.8e19)
            return -1;
        u = (unsigned long long)(d + 0.5);
    }
    *out = u;
    return 0;
}

int json_string(const char *p, const char *path, char *out, size_t len)
{
    const char *v = json_get(p, path);
    if (!v || *v != '"' || !len)
        return -1;
    return string(v, v + strlen(v), out, len) ? 0 : -1;
}

int json_array_len(const char *p, const char *path)
{
    const char *v = json_get(p, path);
    if (!v || *v != '[')
        return -1;
    const char *end = v + strlen(v), *q = ws(v + 1, end);
    if (q < end && *q == ']')
        return 0;
    for (int n = 1;; n++) {
        q = skip_value(q, end, 0);
        q = q ? ws(q, end) : NULL;
        if (!q || q >= end)
            return -1;
        if (*q == ']')
            return n;
        if (*q != ',')
            return -1;
        q++;
    }
}

/* ---- the walk ---------------------------------------------------------------------------- */

struct walk {
    const char *p, *end;
    const struct json_walker *w;
    char path[JSON_PATH_MAX];
    const char *err;
    int depth;
};

static int walk_value(struct walk *k);

static int fail(struct walk *k, const char *what)
{
    k->err = what;
    return -1;
}

/* After a member or element: 1 if a ',' says another follows, 0 after the closing character,
 * -1 (what) for anything else. */
static int next(struct walk *k, char close, const char *what)
{
    k->p = ws(k->p, k->end);
    if (k->p < k->end && (*k->p == ',' || *k->p == close))
        return *k->p++ == ',';
    return fail(k, what);
}

static int walk_array(struct walk *k)
{
    k->p++;
    size_t base = strlen(k->path);
    for (int i = 0;; i++) {
        k->p = ws(k->p, k->end);
        if (k->p < k->end && *k->p == ']' && i == 0) {
            k->p++;
            return 0;
        }
        snprintf(k->path + base, sizeof k->path - base, ".%d", i);
        int is_obj = k->p < k->end && *k->p == '{';
        size_t mark = k->w->element_begin ? k->w->element_begin(k->w->ctx) : 0;
        if (walk_value(k) != 0)
            return -1;
        if (k->w->element_end)
            k->w->element_end(k->w->ctx, k->path, base, is_obj, mark);
        k->path[base] = 0;
        int more = next(k, ']', "expected ',' or ']'");
        if (more <= 0)
            return more;
    }
}

static int walk_object(struct walk *k)
{
    k->p++;
    size_t base = strlen(k->path);
    for (int i = 0;; i++) {
        k->p = ws(k->p, k->end);
        if (k->p < k->end && *k->p == '}' && i == 0) {
            k->p++;
            return 0;
        }
        char name[128];
        if (k->p >= k->end || *k->p != '"')
            return fail(k, "expected a string");
        if (!(k->p = string(k->p, k->end, name, sizeof name)))
            return fail(k, "unterminated string");
        k->p = ws(k->p, k->end);
        if (k->p >= k->end || *k->p != ':')
            return fail(k, "expected ':'");
        k->p = ws(k->p + 1, k->end);
        snprintf(k->path + base, sizeof k->path - base, "%s%s", base ? "." : "", name);
        if (k->p < k->end && (*k->p == '{' || *k->p == '[') && k->w->open &&
            k->w->open(k->w->ctx, k->path) != 0)
            return fail(k, "no memory");
        if (walk_value(k) != 0)
            return -1;
        k->path[base] = 0;
        int more = next(k, '}', "expected ',' or '}'");
        if (more <= 0)
            return more;
    }
}

static int walk_scalar(struct walk *k, int type, double num, const char *str)
{
    return k->w->scalar && k->w->scalar(k->w->ctx, k->path, type, num, str) != 0
               ? fail(k, "no memory")
               : 0;
}

static int walk_value(struct walk *k)
{
    k->p = ws(k->p, k->end);
    if (k->p >= k->end)
        return fail(k, "unexpected end");
    char c = *k->p;
    if (c == '{' || c == '[') {
        if (k->depth >= JSON_MAX_DEPTH)
            return fail(k, "nested too deeply");
        k->depth++;
        int rc = c == '{' ? walk_object(k) : walk_array(k);
        k->depth--;
        return rc;
    }
    if (c == '"') {
        char buf[JSON_STR_MAX];
        if (!(k->p = string(k->p, k->end, buf, sizeof buf)))
            return fail(k, "unterminated string");
        return walk_scalar(k, JSON_STR, 0, buf);
    }
    static const struct {
        const char *word;
        int type;
        double num;
    } words[] = {{"null", JSON_NULL, 0}, {"true", JSON_NUM, 1}, {"false", JSON_NUM, 0}};
    for (size_t i = 0; i < sizeof words / sizeof *words; i++) {
        int l = word(k->p, k->end, words[i].word);
        if (l) {
            k->p += l;
            return walk_scalar(k, words[i].type, words[i].num, NULL);
        }
    }
    /* strtod needs a terminated copy: the text may end right after the number */
    char num[64];
    size_t n = (size_t)(k->end - k->p) < sizeof num - 1 ? (size_t)(k->end - k->p) : sizeof num - 1;
    memcpy(num, k->p, n);
    num[n] = 0;
    char *e;
    errno = 0;
    double d = strtod(num, &e);
    if (e == num || errno)
        return fail(k, "expected a value");
    k->p += e - num;
    return walk_scalar(k, JSON_NUM, d, NULL);
}

int json_walk(const char *text, size_t len, const struct json_walker *w, char *err, size_t errlen)
{
    struct walk k = {text, text + len, w, "", NULL, 0};
    k.p = ws(k.p, k.end);
    if (k.p >= k.end || *k.p != '{') {
        snprintf(err, errlen, "not a JSON object");
        return -1;
    }
    if (walk_value(&k) != 0) {
        int line = 1;
        for (const char *q = text; q < k.p && q < k.end; q++)
            line += *q == '\n';
        snprintf(err, errlen, "JSON: %s at line %d (byte %ld)", k.err, line, (long)(k.p - text));
        return -1;
    }
    return 0;
}

/* ---- writing ----------------------------------------------------------------------------- */

void json_escape(const char *s, void (*put)(void *ctx, const char *b, size_t n), void *ctx)
{
    put(ctx, "\"", 1);
    const char *run = s; /* characters that need no escape go out in one piece */
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p != '"' && *p != '\\' && *p >= 0x20)
            continue;
        put(ctx, run, (size_t)((const char *)p - run));
        char esc[8];
        int n = *p < 0x20 ? snprintf(esc, sizeof esc, "\\u%04x", *p)
                          : snprintf(esc, sizeof esc, "\\%c", *p);
        put(ctx, esc, (size_t)n);
        run = (const char *)p + 1;
    }
    put(ctx, run, strlen(run));
    put(ctx, "\"", 1);
}

static void put_file(void *ctx, const char *b, size_t n)
{
    fwrite(b, 1, n, ctx);
}

void json_write_string(FILE *f, const char *s)
{
    json_escape(s, put_file, f);
}

char *json_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        if (n + 1 >= cap) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0)
            break;
    }
    int bad = ferror(f);
    fclose(f);
    if (!buf || bad) {
        free(buf);
        errno = bad ? EIO : ENOMEM;
        return NULL;
    }
    buf[n] = 0;
    if (len)
        *len = n;
    return buf;
}

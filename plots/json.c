/* json.c - a careful little JSON reader for the summaries mallog's tools print (replay, stats,
 * holes). It walks the text in place: no tree, no allocation, every lookup re-scans. Malformed
 * text never reads past the terminating NUL; it just makes lookups fail. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plots.h"

#define JSON_MAX_DEPTH 64

const char *json_skip_ws(const char *p)
{
    while (p && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

/* End of the string starting at the opening quote p, or NULL. */
static const char *skip_string(const char *p)
{
    if (*p != '"')
        return NULL;
    for (p++; *p; p++) {
        if (*p == '\\') {
            if (!p[1])
                return NULL;
            p++;
        } else if (*p == '"')
            return p + 1;
    }
    return NULL;
}

static const char *skip_value(const char *p, int depth)
{
    p = json_skip_ws(p);
    if (!p || depth > JSON_MAX_DEPTH)
        return NULL;
    switch (*p) {
    case '"':
        return skip_string(p);
    case '{':
    case '[': {
        char close = *p == '{' ? '}' : ']';
        p = json_skip_ws(p + 1);
        if (*p == close)
            return p + 1;
        for (;;) {
            if (close == '}') {
                p = skip_string(json_skip_ws(p));
                if (!p)
                    return NULL;
                p = json_skip_ws(p);
                if (*p != ':')
                    return NULL;
                p++;
            }
            p = skip_value(p, depth + 1);
            if (!p)
                return NULL;
            p = json_skip_ws(p);
            if (*p == ',')
                p++;
            else if (*p == close)
                return p + 1;
            else
                return NULL;
        }
    }
    default:
        if (strncmp(p, "true", 4) == 0)
            return p + 4;
        if (strncmp(p, "false", 5) == 0)
            return p + 5;
        if (strncmp(p, "null", 4) == 0)
            return p + 4;
        if (*p == '-' || (*p >= '0' && *p <= '9')) {
            char *end;
            strtod(p, &end);
            return end > p ? end : NULL;
        }
        return NULL;
    }
}

const char *json_skip(const char *p)
{
    return p ? skip_value(p, 0) : NULL;
}

/* In the object at p, the value of key (len bytes, no escapes in keys), or NULL. */
static const char *object_member(const char *p, const char *key, size_t klen)
{
    p = json_skip_ws(p);
    if (*p != '{')
        return NULL;
    p = json_skip_ws(p + 1);
    if (*p == '}')
        return NULL;
    for (;;) {
        const char *k = json_skip_ws(p), *kend = skip_string(k);
        if (!kend)
            return NULL;
        int match = (size_t)(kend - k - 2) == klen && memcmp(k + 1, key, klen) == 0;
        p = json_skip_ws(kend);
        if (*p != ':')
            return NULL;
        const char *v = json_skip_ws(p + 1);
        if (match)
            return v;
        p = json_skip_ws(json_skip(v));
        if (!p || *p != ',')
            return NULL;
        p++;
    }
}

static const char *array_element(const char *p, long idx)
{
    p = json_skip_ws(p);
    if (*p != '[' || idx < 0)
        return NULL;
    p = json_skip_ws(p + 1);
    if (*p == ']')
        return NULL;
    for (long i = 0;; i++) {
        if (i == idx)
            return json_skip_ws(p);
        p = json_skip_ws(json_skip(p));
        if (!p || *p != ',')
            return NULL;
        p++;
    }
}

const char *json_get(const char *p, const char *path)
{
    p = json_skip_ws(p);
    while (p && *path) {
        if (*path == '.')
            path++;
        if (*path == '[') {
            char *end;
            long idx = strtol(path + 1, &end, 10);
            if (*end != ']')
                return NULL;
            p = array_element(p, idx);
            path = end + 1;
            continue;
        }
        size_t klen = strcspn(path, ".[");
        if (!klen)
            return NULL;
        p = object_member(p, path, klen);
        path += klen;
    }
    return p;
}

int json_double(const char *p, const char *path, double *out)
{
    const char *v = json_get(p, path);
    if (!v || !(*v == '-' || (*v >= '0' && *v <= '9')))
        return -1;
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (end == v || errno)
        return -1;
    *out = d;
    return 0;
}

int json_u64(const char *p, const char *path, uint64_t *out)
{
    const char *v = json_get(p, path);
    if (!v || *v < '0' || *v > '9')
        return -1;
    char *end;
    errno = 0;
    unsigned long long u = strtoull(v, &end, 10);
    if (errno)
        return -1;
    if (*end == '.' || *end == 'e' || *end == 'E') { /* written as a float: round it */
        double d = strtod(v, &end);
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
    if (!v || *v != '"' || !skip_string(v) || !len)
        return -1;
    size_t n = 0;
    for (v++; *v != '"'; v++) {
        char c = *v;
        if (c == '\\') {
            v++;
            switch (*v) {
            case 'n': c = '\n'; break;
            case 't': c = '\t'; break;
            case 'r': c = '\r'; break;
            case 'b': c = '\b'; break;
            case 'f': c = '\f'; break;
            case 'u': {
                unsigned cp = 0;
                int ok = 1;
                for (int i = 1; i <= 4; i++) {
                    char h = v[i];
                    if (!h) { ok = 0; break; }
                    cp = cp * 16 + (unsigned)(h >= '0' && h <= '9' ? h - '0'
                                             : h >= 'a' && h <= 'f' ? h - 'a' + 10
                                             : h >= 'A' && h <= 'F' ? h - 'A' + 10 : 0);
                }
                if (!ok)
                    return -1;
                v += 4;
                c = cp < 0x80 ? (char)cp : '?';
                break;
            }
            default: c = *v; break; /* \" \\ \/ */
            }
        }
        if (n + 1 < len)
            out[n++] = c;
    }
    out[n] = 0;
    return 0;
}

int json_array_len(const char *p, const char *path)
{
    const char *v = json_get(p, path);
    if (!v || *v != '[')
        return -1;
    const char *q = json_skip_ws(v + 1);
    if (*q == ']')
        return 0;
    int n = 0;
    for (;;) {
        n++;
        q = json_skip_ws(json_skip(q));
        if (!q)
            return -1;
        if (*q == ']')
            return n;
        if (*q != ',')
            return -1;
        q++;
    }
}

char *plots_read_file(const char *path, size_t *len)
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

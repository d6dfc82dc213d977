/* json.h - the one JSON reader and writer of mallog's tools, for their own output (replay, stats,
 * holes summaries) and the files users hand back (`mallog diff`/`check` on a saved stats.json).
 * Two ways to read over one scanner: lookups by path into a NUL-terminated text (plots, report),
 * and a walk over every value of a bounded text with the line of the first syntax error (diff,
 * check). Nothing is allocated; malformed text never reads past its end. */
#ifndef MLG_JSON_H
#define MLG_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ---- lookups: a path is keys separated by dots ("worst.holes_1m"); "[N]" after a key indexes an
 * array ("holes[0].left.event"). They return NULL or -1 when the key is absent or the text is
 * malformed; values are pointers into the caller's text. */
const char *json_skip_ws(const char *p);
/* End of the value starting at p (after skipping spaces), or NULL if malformed. */
const char *json_skip(const char *p);
/* The value at path inside the object/array starting at p (p may be a whole document). */
const char *json_get(const char *p, const char *path);
/* Conversions of the value at path: 0 on success, -1 if absent or of another type. */
int json_u64(const char *p, const char *path, uint64_t *out);
int json_double(const char *p, const char *path, double *out);
/* A string value, unescaped (\uXXXX below 0x80 only, others become '?'), truncated to len-1. */
int json_string(const char *p, const char *path, char *out, size_t len);
/* Number of elements of the array at path, or -1. */
int json_array_len(const char *p, const char *path);

/* ---- the walk --------------------------------------------------------------------------- */

#define JSON_PATH_MAX 128               /* "key.0.key" paths longer than this are cut */
#define JSON_STR_MAX 256                /* string values longer than this are cut */
enum { JSON_NUM, JSON_STR, JSON_NULL }; /* true and false are the numbers 1 and 0 */

/* What a walk calls back; each returns 0 to go on, nonzero to stop ("no memory"). */
struct json_walker {
    void *ctx;
    /* An object or array begins as the member at path of an object (not as an array element). */
    int (*open)(void *ctx, const char *path);
    /* A number, string (str) or null at path. */
    int (*scalar)(void *ctx, const char *path, int type, double num, const char *str);
    /* Element i of the array at path[0..base) begins (returning a mark, e.g. how many values the
     * caller has so far), or has ended (path: "<array>.<i>", the mark that element_begin
     * returned for it; is_object: the element is an object). */
    size_t (*element_begin)(void *ctx);
    void (*element_end)(void *ctx, char *path, size_t base, int is_object, size_t mark);
};
/* Walks the object in text[0..len) (no NUL needed). Returns 0, or -1 with the error in err:
 * "not a JSON object", or "JSON: <what> at line L (byte B)". */
int json_walk(const char *text, size_t len, const struct json_walker *w, char *err, size_t errlen);

/* ---- writing ------------------------------------------------------------------------------ */

/* s as a JSON string, quotes included: quotes, backslashes and control characters escaped.
 * put(ctx, bytes, n) receives it in pieces (for a writer that is not stdio). */
void json_escape(const char *s, void (*put)(void *ctx, const char *b, size_t n), void *ctx);
void json_write_string(FILE *f, const char *s);

/* Reads a whole file into a malloc'd NUL-terminated buffer (NULL on error, errno set). */
char *json_read_file(const char *path, size_t *len);

#endif

/* maps.h - one line of /proc/PID/maps (or a mapping line of smaps):
 *     "start-end perms offset dev inode [path]"      e.g.
 *     "7f2c1a000000-7f2c1a021000 rw-p 00000000 00:00 0          [heap]"
 *
 * Header-only because the recorder (preload/, which links none of lib/'s code) reads the maps of
 * the traced program for its module table, and the replayer reads its own for the heap's ranges:
 * one parser, which never reads past the line's end (the recorder's buffer may cut the last line
 * anywhere) and fuzzed as such (tests/fuzz/fuzz_maps.c).
 */
#ifndef MLG_MAPS_H
#define MLG_MAPS_H

#include <stddef.h>
#include <stdint.h>

struct mlg_map {
    uint64_t start, end, offset, inode;
    char perms[4];    /* "rwxp" as written, '-' where absent */
    const char *path; /* into the line; the path's length is plen (0: an anonymous mapping) */
    size_t plen;
};

/* Hex digits at *p (before end) into *v: 0, or -1 if there is none or more than 16. */
static inline int mlg_maps_hex(const char **p, const char *end, uint64_t *v)
{
    const char *s = *p;
    uint64_t x = 0;
    int n = 0;
    for (; s < end; s++, n++) {
        char c = *s;
        unsigned d = c >= '0' && c <= '9' ? (unsigned)(c - '0')
                   : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10) : 16;
        if (d == 16)
            break;
        x = x << 4 | d;
    }
    if (n == 0 || n > 16)
        return -1;
    *p = s;
    *v = x;
    return 0;
}

static inline const char *mlg_maps_skip_blanks(const char *s, const char *end)
{
    while (s < end && *s == ' ')
        s++;
    return s;
}

/* Parses the line [line, eol) (eol: its '\n' or the end of the text). Returns 1 and fills *m for a
 * mapping line, 0 for anything else (an smaps attribute line, a line cut short, garbage). */
static inline int mlg_maps_line(const char *line, const char *eol, struct mlg_map *m)
{
    const char *s = line;
    uint64_t dev;
    if (mlg_maps_hex(&s, eol, &m->start) || s == eol || *s++ != '-' ||
        mlg_maps_hex(&s, eol, &m->end) || s == eol || *s++ != ' ' || eol - s < 5)
        return 0;
    for (int i = 0; i < 4; i++)
        m->perms[i] = s[i];
    s += 4;
    s = mlg_maps_skip_blanks(s, eol);
    if (mlg_maps_hex(&s, eol, &m->offset))
        return 0;
    s = mlg_maps_skip_blanks(s, eol); /* dev "major:minor", in hex */
    if (mlg_maps_hex(&s, eol, &dev) || s == eol || *s++ != ':' || mlg_maps_hex(&s, eol, &dev))
        return 0;
    s = mlg_maps_skip_blanks(s, eol);
    if (s == eol || *s < '0' || *s > '9')
        return 0;
    m->inode = 0;
    for (; s < eol && *s >= '0' && *s <= '9'; s++)
        m->inode = m->inode * 10 + (uint64_t)(*s - '0');
    s = mlg_maps_skip_blanks(s, eol);
    m->path = s;
    m->plen = (size_t)(eol - s);
    return 1;
}

#endif

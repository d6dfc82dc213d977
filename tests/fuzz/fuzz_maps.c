/* fuzz_maps.c - libFuzzer target: the /proc/PID/maps line parser (lib/maps.h), which the recorder
 * runs inside the traced program on a buffer that may cut the last line anywhere, and the
 * replayer's maps/smaps reader built on it (holes_parse_maps).
 *
 * The input is the text. Each line goes through mlg_maps_line with its end exactly at the line's
 * end, in a buffer of that size (ASan sees a read past it); a parsed mapping must have its path
 * inside the line. Then the whole text goes through holes_parse_maps: its ranges must be non-empty
 * and add up to anon_mapped.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/maps.h"
#include "../../replay/replay.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data, *stop = text + size;
    for (const char *p = text; p < stop;) {
        const char *nl = memchr(p, '\n', (size_t)(stop - p));
        size_t len = (size_t)((nl ? nl : stop) - p);
        char *line = malloc(len ? len : 1); /* exactly the line: a read past it is an ASan report */
        CHECK(line);
        memcpy(line, p, len);
        struct mlg_map m;
        if (mlg_maps_line(line, line + len, &m)) {
            CHECK(m.path >= line && m.path + m.plen == line + len);
        }
        free(line);
        p += len + (nl != NULL);
    }
    struct holes h;
    CHECK(holes_init(&h) == 0);
    if (holes_parse_maps(&h, text, size) == 0) {
        uint64_t sum = 0;
        for (uint64_t i = 0; i < h.nr; i++) {
            CHECK(h.ranges[i][0] < h.ranges[i][1]); /* sorted only if the text is, as the kernel's */
            sum += h.ranges[i][1] - h.ranges[i][0];
        }
        CHECK(sum == h.anon_mapped);
    }
    holes_fini(&h);
    return 0;
}

/* fuzz_summary.c - libFuzzer target: the JSON summary reader of diff and check (summary_parse in
 * analyze/summary.c, what summary_load runs on a saved `stats --json`). The input is handed over
 * exactly as long as it is, without a NUL after it (common/json.c's walk is bounded by the length,
 * not by a NUL): a read past its end is an ASan report. Every entry read must have a
 * NUL-terminated key and string.
 */
#include <stdarg.h>
#include <stdbool.h>

#include "../../lib/mallog.h"
#include "../../common/recording.h"
#include "../../analyze/analyze.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size ? size : 1);
    memcpy(text, data, size);
    struct summary s;
    memset(&s, 0, sizeof s);
    char err[256];
    if (summary_parse(text, size, &s, err, sizeof err) == 0) {
        for (size_t i = 0; i < s.n; i++) {
            if (!memchr(s.v[i].key, 0, sizeof s.v[i].key) ||
                !memchr(s.v[i].str, 0, sizeof s.v[i].str))
                abort();
            if (summary_get(&s, s.v[i].key) == NULL)
                abort();
        }
    } else if (!memchr(err, 0, sizeof err)) {
        abort();
    }
    summary_free(&s);
    free(text);
    return 0;
}

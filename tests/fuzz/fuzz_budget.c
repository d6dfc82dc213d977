/* fuzz_budget.c - libFuzzer target: the rule parser of `mallog check --budget FILE`
 * (parse_rule in analyze/budget.c, static there: the file is included, not copied, and the build
 * links every other tool object but budget.o). The input is cut into lines as cmd_check's fgets
 * loop does (at most 1023 bytes), with its comments cut and blank lines skipped the same way.
 */
#include "../../analyze/budget.c"

#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t at = 0;
    while (at < size) {
        char line[1024];
        size_t n = 0;
        while (at < size && n < sizeof line - 1) {
            char c = (char)data[at++];
            line[n++] = c;
            if (c == '\n')
                break;
        }
        line[n] = 0;
        char *hash = strchr(line, '#');
        if (hash)
            *hash = 0;
        char *p = line;
        while (isspace((unsigned char)*p))
            p++;
        if (!*p)
            continue;
        struct rule r;
        memset(&r, 0, sizeof r);
        if (parse_rule(p, &r) == 0) {
            if (r.op < 0 || r.op > OP_NE || !memchr(r.key, 0, sizeof r.key))
                abort();
        } else if (!r.why[0] || !memchr(r.why, 0, sizeof r.why)) {
            abort();
        }
    }
    return 0;
}

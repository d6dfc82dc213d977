/* fuzz_trap.c - libFuzzer target: the --trap / MALLOG_TRAP grammar (lib/trap.h), which the
 * recorder parses inside the traced program. The input (cut at its first NUL) is the spec. An
 * accepted spec must print back to a spec that parses to the same trap: the CLI and the recorder
 * can then never understand one text two ways.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/trap.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *spec = malloc(size + 1);
    CHECK(spec);
    memcpy(spec, data, size);
    spec[size] = 0;
    struct mlg_trap t, back;
    if (mlg_trap_parse(spec, &t) == 0) {
        char again[128];
        if (t.op == 0) {
            CHECK(t.size == UINT64_MAX && t.seq != UINT64_MAX);
            snprintf(again, sizeof again, "seq=%" PRIu64, t.seq);
        } else {
            const char *name = mlg_op_name(t.op);
            CHECK(name && t.seq == UINT64_MAX);
            if (t.size == UINT64_MAX && !strchr(spec, ':'))
                snprintf(again, sizeof again, "%s", name);
            else
                snprintf(again, sizeof again, "%s:size=%" PRIu64, name, t.size);
        }
        CHECK(mlg_trap_parse(again, &back) == 0);
        CHECK(back.op == t.op && back.size == t.size && back.seq == t.seq);
    }
    free(spec);
    return 0;
}

/* fuzz_specs.c - libFuzzer target: the allocator-spec parser of `mallog replay/holes -a`
 * (replay/specs.c: "name[:VAR=value...]" lists, commas inside MALLOC_CONF kept), then the names
 * and the environment each spec gives its worker.
 *
 * The input (cut at its first NUL) is the -a value. For every accepted list: each spec has a
 * family, a kind and a library; the names specs_name gives are distinct, non-empty and fit; every
 * line of the worker's environment is VAR=value with VAR an allocator setting or one the spec set.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../replay/cmd.h"
#include "fuzz.h"

static struct alloc_spec specs[MAX_ALLOCS];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *arg = malloc(size + 1);
    CHECK(arg);
    memcpy(arg, data, size);
    arg[size] = 0;
    int n = 0;
    if (specs_add("fuzz", arg, specs, &n) == 0) {
        CHECK(n >= 0 && n <= MAX_ALLOCS);
        specs_name(specs, n);
        for (int i = 0; i < n; i++) {
            CHECK(specs[i].family[0] && specs[i].kind[0] && specs[i].lib[0]);
            CHECK(specs[i].name[0] && memchr(specs[i].name, 0, sizeof specs[i].name));
            for (int j = 0; j < i; j++)
                CHECK(strcmp(specs[i].name, specs[j].name) != 0);
            char env[4096];
            specs_env(&specs[i], 1, env, sizeof env);
            for (const char *line = env; *line;) {
                size_t len = strcspn(line, "\n");
                const char *eq = memchr(line, '=', len);
                CHECK(eq && eq > line);
                line += len + (line[len] == '\n');
            }
        }
    }
    free(arg);
    return 0;
}

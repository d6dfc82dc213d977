#!/usr/bin/env bash
# gen-project.sh DIR [FILES]: writes a small C project (FILES .c files, default 48, each with a
# header, plus a Makefile) for `make bench` and tests/e2e/t_record_make.sh to build under
# `mallog record -- make -j2`: many short processes (make, sh, gcc, cc1, as, collect2, ld).
set -euo pipefail
DIR=$1
N=${2:-48}
mkdir -p "$DIR/src"
for ((i = 0; i < N; i++)); do
    cat > "$DIR/src/m$i.h" << H
#ifndef M${i}_H
#define M${i}_H
#include <stddef.h>
struct m$i { int id; char name[32]; double w[4]; };
int m${i}_run(int n);
#endif
H
    cat > "$DIR/src/m$i.c" << C
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "m$i.h"
static int cmp(const void *a, const void *b)
{
    const struct m$i *x = a, *y = b;
    return x->id - y->id;
}
int m${i}_run(int n)
{
    struct m$i *v = calloc((size_t)n, sizeof *v);
    if (!v)
        return -1;
    for (int k = 0; k < n; k++) {
        v[k].id = (k * $((i + 7))) % n;
        snprintf(v[k].name, sizeof v[k].name, "m$i-%d", k);
        for (int j = 0; j < 4; j++)
            v[k].w[j] = k * 0.5 + j;
    }
    qsort(v, (size_t)n, sizeof *v, cmp);
    int s = v[0].id + (int)strlen(v[n - 1].name);
    free(v);
    return s;
}
C
done
{
    echo '#include <stdio.h>'
    for ((i = 0; i < N; i++)); do echo "#include \"m$i.h\""; done
    echo 'int main(void)'
    echo '{'
    echo '    long s = 0;'
    for ((i = 0; i < N; i++)); do echo "    s += m${i}_run(100);"; done
    echo '    printf("%ld\n", s);'
    echo '    return 0;'
    echo '}'
} > "$DIR/src/main.c"
cat > "$DIR/Makefile" << 'M'
SRC := $(wildcard src/*.c)
OBJ := $(SRC:src/%.c=obj/%.o)
CFLAGS ?= -O1 -Wall
prog: $(OBJ)
	$(CC) -o $@ $(OBJ)
obj/%.o: src/%.c | obj
	$(CC) $(CFLAGS) -Isrc -c -o $@ $<
obj:
	mkdir -p obj
clean:
	rm -rf obj prog
.PHONY: clean
M

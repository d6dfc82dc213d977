/* standalone.c - runs a libFuzzer target's LLVMFuzzerTestOneInput on files, without libFuzzer:
 * `make test` builds every target with gcc and ASan+UBSan and this main, and feeds it the corpus
 * and every crash input ever kept (tests/corpus/, tests/fuzz/crashes/), so a regression in a
 * parser shows in the suite in seconds, on a machine without clang's fuzzer runtime.
 * Usage: fuzz_TARGET FILE|DIR...  (a directory: its regular files, one level). Prints how many
 * inputs ran; a crash is the sanitizer's report and a non-zero exit, naming the input first.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <signal.h>
#include <unistd.h>

#include <sanitizer/common_interface_defs.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* the sanitizers' allocator hooks (sanitizer/allocator_interface.h: clang ships it, gcc 12 not) */
int __sanitizer_install_malloc_and_free_hooks(void (*malloc_hook)(const volatile void *, size_t),
                                              void (*free_hook)(const volatile void *));

/* The input being run, named when the target dies on it (a sanitizer report, or a target's own
 * abort() on a broken invariant). */
static const char *current_input;

static void name_input(void)
{
    if (current_input) {
        static const char what[] = "fuzz: the input that failed: ";
        (void)!write(2, what, sizeof what - 1);
        (void)!write(2, current_input, strlen(current_input));
        (void)!write(2, "\n", 1);
    }
}

/* As libFuzzer's -malloc_limit_mb: an input that makes a parser ask for this much is a memory
 * bomb (a length field believed), whether or not the allocation would succeed here. */
#define MALLOC_LIMIT (2048ull << 20)

static void on_malloc(const volatile void *p, size_t size)
{
    (void)p;
    if (size > MALLOC_LIMIT) {
        static const char what[] = "fuzz: a memory bomb: one allocation over the 2048 MiB limit\n";
        (void)!write(2, what, sizeof what - 1);
        name_input();
        signal(SIGABRT, SIG_DFL); /* named already */
        abort();
    }
}

static void on_free(const volatile void *p)
{
    (void)p;
}

static void on_fatal_signal(int sig)
{
    name_input();
    signal(sig, SIG_DFL);
    raise(sig);
}

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "fuzz: %s: %s\n", path, strerror(errno));
        return -1;
    }
    size_t cap = 1 << 16, len = 0;
    uint8_t *buf = malloc(cap);
    size_t n;
    while (buf && (n = fread(buf + len, 1, cap - len, f)) > 0) {
        len += n;
        if (len == cap) {
            uint8_t *grown = realloc(buf, cap *= 2);
            if (!grown) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = grown;
        }
    }
    int bad = ferror(f) || !buf;
    fclose(f);
    if (bad) {
        fprintf(stderr, "fuzz: %s: cannot read\n", path);
        free(buf);
        return -1;
    }
    current_input = path;
    LLVMFuzzerTestOneInput(buf, len);
    current_input = NULL;
    free(buf);
    return 0;
}

int main(int argc, char **argv)
{
    long ran = 0;
    __sanitizer_set_death_callback(name_input);
    __sanitizer_install_malloc_and_free_hooks(on_malloc, on_free);
    signal(SIGABRT, on_fatal_signal);
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "fuzz: %s: %s\n", argv[i], strerror(errno));
            return 1;
        }
        if (!S_ISDIR(st.st_mode)) {
            if (run_file(argv[i]) != 0)
                return 1;
            ran++;
            continue;
        }
        struct dirent **names;
        int n = scandir(argv[i], &names, NULL, alphasort);
        if (n < 0) {
            fprintf(stderr, "fuzz: %s: %s\n", argv[i], strerror(errno));
            return 1;
        }
        for (int k = 0; k < n; k++) {
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", argv[i], names[k]->d_name);
            if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
                if (run_file(path) != 0)
                    return 1;
                ran++;
            }
            free(names[k]);
        }
        free(names);
    }
    printf("%s: %ld inputs, no crash\n", argv[0], ran);
    return 0;
}

/* sites.c - a log's call-site table (modules and stacks), loaded without decoding any event, and
 * its offline symbolization with addr2line on the module files the log names.
 *
 * The recorder stores raw return addresses plus the executable mappings they fall in, because the
 * program's mappings are gone by the time anyone asks. Here a return address becomes a file offset
 * in its module, then an ELF virtual address (through the PT_LOAD headers), which is what
 * addr2line wants. A return address points after the call: we look up pc - 1 so the line is the
 * call's, not the next statement's.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zstd.h>

#include "crc32c.h"
#include "logfile.h"
#include "error.h"
#include "mallog.h"
#include "fields.h"
#include "varint.h"

extern char **environ;

struct frame_sym {
    uint64_t pc;
    char *function, *file;
    uint32_t line;
    uint32_t module; /* 1-based, 0 = none */
};

struct mlg_sites {
    struct mlg_module *modules; /* [0] unused: ids are 1-based */
    uint32_t nmodules, modules_cap;
    uint64_t *pcs;
    size_t npcs, pcs_cap;
    uint64_t *stack_off; /* stack id -> first pc index; stack_off[id + 1] - stack_off[id] = depth */
    uint32_t nstacks, stacks_cap;
    struct frame_sym *syms; /* sorted by pc after symbolizing */
    size_t nsyms;
};

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t c = *cap ? *cap : 64;
    while (c < need)
        c *= 2;
    void *n = realloc(*p, c * elem);
    if (!n)
        return -1;
    *p = n;
    *cap = c;
    return 0;
}

static int add_module(struct mlg_sites *s, const uint8_t *p, const uint8_t *end, const uint8_t **out)
{
    uint64_t id, start, stop, off, len;
    if (!(p = mlg_varint_get(p, end, &id)) || !(p = mlg_varint_get(p, end, &start)) ||
        !(p = mlg_varint_get(p, end, &stop)) || !(p = mlg_varint_get(p, end, &off)) ||
        !(p = mlg_varint_get(p, end, &len)) || len > (uint64_t)(end - p) || len >= MLG_STR_MAX ||
        id == 0 || id > s->nmodules + 1u || stop < start)
        return -1;
    if (id <= s->nmodules) { /* a later segment repeats the definitions before it: known */
        *out = p + len;
        return 0;
    }
    size_t cap = s->modules_cap;
    if (grow((void **)&s->modules, &cap, id + 1, sizeof *s->modules) != 0)
        return -1;
    s->modules_cap = (uint32_t)cap;
    char *path = malloc(len + 1);
    if (!path)
        return -1;
    memcpy(path, p, len);
    path[len] = 0;
    s->modules[id] = (struct mlg_module){start, stop, off, path};
    s->nmodules = (uint32_t)id;
    *out = p + len;
    return 0;
}

static int add_stack(struct mlg_sites *s, const uint8_t *p, const uint8_t *end, const uint8_t **out)
{
    uint64_t id, depth;
    if (!(p = mlg_varint_get(p, end, &id)) || !(p = mlg_varint_get(p, end, &depth)) ||
        id == 0 || id > s->nstacks + 1u || depth > MLG_STACK_DEPTH_MAX)
        return -1;
    if (id <= s->nstacks) { /* repeated by a later segment (its own table starts over) */
        for (uint64_t i = 0; i < depth; i++) {
            uint64_t pc;
            if (!(p = mlg_varint_get(p, end, &pc)))
                return -1;
        }
        *out = p;
        return 0;
    }
    size_t cap = s->stacks_cap;
    if (grow((void **)&s->stack_off, &cap, id + 2, sizeof *s->stack_off) != 0 ||
        grow((void **)&s->pcs, &s->pcs_cap, s->npcs + depth, sizeof *s->pcs) != 0)
        return -1;
    s->stacks_cap = (uint32_t)cap;
    for (uint64_t i = 0; i < depth; i++)
        if (!(p = mlg_varint_get(p, end, &s->pcs[s->npcs + i])))
            return -1;
    s->stack_off[id] = s->npcs;
    s->npcs += depth;
    s->stack_off[id + 1] = s->npcs;
    s->nstacks = (uint32_t)id;
    *out = p;
    return 0;
}

static int parse_sites(struct mlg_sites *s, const uint8_t *buf, uint32_t len)
{
    if (len < 16 || memcmp(buf, MLG_SITES_TAG, 8) != 0)
        return MLG_E_CORRUPT;
    if (mlg_crc32c(buf, len - 4) != mlg_get32(buf + len - 4))
        return MLG_E_CHECKSUM;
    uint32_t raw_size = mlg_get32(buf + 8);
    if (raw_size > MLG_FRAME_RAW_MAX)
        return MLG_E_CORRUPT;
    uint8_t *raw = malloc(raw_size ? raw_size : 1);
    if (!raw)
        return MLG_E_NOMEM;
    size_t got = ZSTD_decompress(raw, raw_size, buf + 12, len - 16);
    int rc = ZSTD_isError(got) ? MLG_E_ZSTD : got != raw_size ? MLG_E_CORRUPT : 0;
    const uint8_t *p = raw, *end = raw + (rc ? 0 : got); /* got may be a zstd error code */
    while (rc == 0 && p < end) {
        unsigned kind = *p++;
        if (kind == MLG_SITE_MODULE)
            rc = add_module(s, p, end, &p) ? MLG_E_CORRUPT : 0;
        else if (kind == MLG_SITE_STACK)
            rc = add_stack(s, p, end, &p) ? MLG_E_CORRUPT : 0;
        else
            rc = MLG_E_CORRUPT;
    }
    free(raw);
    return rc;
}

static int sites_frame(void *ctx, unsigned variant, const uint8_t *buf, uint32_t len, uint64_t off,
                       struct mlg_error *err)
{
    if (variant != MLG_SKIP_SITES)
        return 0;
    int rc = parse_sites(ctx, buf, len);
    return rc ? mlg_error_set(err, rc, off, 0, "sites frame") : 0;
}

int mlg_sites_load(struct mlg_sites **out, const char *path, struct mlg_error *err)
{
    memset(err, 0, sizeof *err);
    struct mlg_sites *s = *out = calloc(1, sizeof *s);
    if (!s)
        return mlg_error_set(err, MLG_E_NOMEM, 0, 0, "sites");
    return mlg_frames_walk(path, 1u << MLG_SKIP_SITES, sites_frame, s, err);
}

void mlg_sites_free(struct mlg_sites *s)
{
    if (!s)
        return;
    for (uint32_t i = 1; i <= s->nmodules; i++)
        free((char *)s->modules[i].path);
    for (size_t i = 0; i < s->nsyms; i++) {
        free(s->syms[i].function);
        free(s->syms[i].file);
    }
    free(s->syms);
    free(s->modules);
    free(s->pcs);
    free(s->stack_off);
    free(s);
}

uint32_t mlg_sites_stack_count(const struct mlg_sites *s)
{
    return s->nstacks;
}

int mlg_sites_stack(const struct mlg_sites *s, uint32_t id, const uint64_t **pcs, uint32_t *depth)
{
    if (id == 0 || id > s->nstacks)
        return 0;
    *pcs = s->pcs + s->stack_off[id];
    *depth = (uint32_t)(s->stack_off[id + 1] - s->stack_off[id]);
    return 1;
}

uint32_t mlg_sites_module_count(const struct mlg_sites *s)
{
    return s->nmodules;
}

const struct mlg_module *mlg_sites_module(const struct mlg_sites *s, uint32_t id)
{
    return id >= 1 && id <= s->nmodules ? &s->modules[id] : NULL;
}

static uint32_t module_id_of(const struct mlg_sites *s, uint64_t pc)
{
    /* newest first: a library loaded later at a reused address wins */
    for (uint32_t i = s->nmodules; i >= 1; i--)
        if (pc >= s->modules[i].start && pc < s->modules[i].end)
            return i;
    return 0;
}

const struct mlg_module *mlg_sites_module_of(const struct mlg_sites *s, uint64_t pc)
{
    return mlg_sites_module(s, module_id_of(s, pc));
}

/* ---- symbolizing -------------------------------------------------------------------------- */

static int cmp_sym(const void *a, const void *b)
{
    const struct frame_sym *x = a, *y = b;
    if (x->module != y->module)
        return x->module < y->module ? -1 : 1;
    return x->pc < y->pc ? -1 : x->pc > y->pc;
}

static int cmp_sym_pc(const void *a, const void *b)
{
    const struct frame_sym *x = a, *y = b;
    return x->pc < y->pc ? -1 : x->pc > y->pc;
}

/* File offset -> ELF virtual address, through the PT_LOAD that maps it. */
static int load_segments(const char *path, Elf64_Phdr **ph, unsigned *n)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    Elf64_Ehdr eh;
    int rc = -1;
    if (pread(fd, &eh, sizeof eh, 0) == (ssize_t)sizeof eh && memcmp(eh.e_ident, ELFMAG, SELFMAG) == 0 &&
        eh.e_ident[EI_CLASS] == ELFCLASS64 && eh.e_phentsize == sizeof(Elf64_Phdr) && eh.e_phnum < 4096) {
        *ph = calloc(eh.e_phnum ? eh.e_phnum : 1, sizeof **ph);
        size_t bytes = (size_t)eh.e_phnum * sizeof **ph;
        if (*ph && pread(fd, *ph, bytes, (off_t)eh.e_phoff) == (ssize_t)bytes) {
            *n = eh.e_phnum;
            rc = 0;
        } else {
            free(*ph);
            *ph = NULL;
        }
    }
    close(fd);
    return rc;
}

static int vaddr_of(const Elf64_Phdr *ph, unsigned n, uint64_t file_off, uint64_t *vaddr)
{
    for (unsigned i = 0; i < n; i++)
        if (ph[i].p_type == PT_LOAD && file_off >= ph[i].p_offset &&
            file_off < ph[i].p_offset + ph[i].p_filesz) {
            *vaddr = file_off - ph[i].p_offset + ph[i].p_vaddr;
            return 0;
        }
    return -1;
}

static char *dup_or_null(const char *s)
{
    return s && *s && strcmp(s, "??") != 0 ? strdup(s) : NULL;
}

/* addr2line -f -C -a on a batch: for each address, "0x<addr>", then the function and "file:line"
 */
static int run_addr2line(const char *module, struct frame_sym *syms, size_t n, const uint64_t *vaddrs)
{
    size_t argc = 0;
    char **argv = calloc(n + 8, sizeof *argv);
    char *nums = malloc(n * 24);
    if (!argv || !nums) {
        free(argv);
        free(nums);
        return -1;
    }
    argv[argc++] = "addr2line";
    argv[argc++] = "-f";
    argv[argc++] = "-C";
    argv[argc++] = "-a";
    argv[argc++] = "-e";
    argv[argc++] = (char *)module;
    for (size_t i = 0; i < n; i++) {
        argv[argc] = nums + i * 24;
        snprintf(argv[argc++], 24, "0x%llx", (unsigned long long)vaddrs[i]);
    }
    int pfd[2], rc = -1;
    posix_spawn_file_actions_t fa;
    pid_t pid;
    if (pipe2(pfd, O_CLOEXEC) != 0)
        goto out;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    int sp = posix_spawnp(&pid, "addr2line", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(pfd[1]);
    if (sp != 0) {
        close(pfd[0]);
        goto out;
    }
    FILE *f = fdopen(pfd[0], "r");
    char *line = NULL, *func = NULL;
    size_t cap = 0, fcap = 0;
    ssize_t got;
    size_t at = SIZE_MAX;
    int state = 0; /* 0 expect address, 1 function, 2 file:line, 3 skip inline callers */
    while (f && (got = getline(&line, &cap, f)) > 0) {
        line[strcspn(line, "\n")] = 0;
        if (strncmp(line, "0x", 2) == 0 && strlen(line) == 18 && state != 1) {
            at = at == SIZE_MAX ? 0 : at + 1;
            state = at < n ? 1 : 3;
            continue;
        }
        if (state == 1) {
            if (getline(&func, &fcap, f) <= 0)
                break;
            func[strcspn(func, "\n")] = 0;
            char *colon = strrchr(func, ':');
            unsigned long ln = colon ? strtoul(colon + 1, NULL, 10) : 0;
            if (colon)
                *colon = 0;
            syms[at].function = dup_or_null(line);
            syms[at].file = dup_or_null(func);
            syms[at].line = (uint32_t)ln;
            state = 3;
        }
    }
    free(line);
    free(func);
    if (f)
        fclose(f);
    else
        close(pfd[0]);
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    rc = WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
out:
    free(argv);
    free(nums);
    return rc;
}

int mlg_sites_symbolize(struct mlg_sites *s)
{
    if (s->syms)
        return 0;
    /* every distinct frame pc, grouped by module */
    struct frame_sym *syms = calloc(s->npcs ? s->npcs : 1, sizeof *syms);
    if (!syms)
        return -1;
    for (size_t i = 0; i < s->npcs; i++)
        syms[i].pc = s->pcs[i];
    qsort(syms, s->npcs, sizeof *syms, cmp_sym_pc);
    size_t n = 0;
    for (size_t i = 0; i < s->npcs; i++)
        if (n == 0 || syms[n - 1].pc != syms[i].pc)
            syms[n++] = syms[i];
    for (size_t i = 0; i < n; i++)
        syms[i].module = module_id_of(s, syms[i].pc);
    qsort(syms, n, sizeof *syms, cmp_sym);
    int rc = 0;
    enum { BATCH = 4096 };
    uint64_t *vaddrs = malloc(BATCH * sizeof *vaddrs);
    struct frame_sym *batch = malloc(BATCH * sizeof *batch);
    size_t *where = malloc(BATCH * sizeof *where);
    for (size_t i = 0; vaddrs && batch && where && i < n;) {
        uint32_t m = syms[i].module;
        size_t j = i;
        while (j < n && syms[j].module == m)
            j++;
        Elf64_Phdr *ph = NULL;
        unsigned nph = 0;
        if (m && load_segments(s->modules[m].path, &ph, &nph) == 0) {
            for (size_t k = i; k < j;) {
                size_t b = 0;
                for (; k < j && b < BATCH; k++) {
                    uint64_t fo = syms[k].pc - 1 - s->modules[m].start + s->modules[m].file_offset;
                    if (vaddr_of(ph, nph, fo, &vaddrs[b]) == 0) {
                        batch[b] = syms[k];
                        where[b++] = k;
                    }
                }
                if (b && run_addr2line(s->modules[m].path, batch, b, vaddrs) != 0)
                    rc = -1;
                for (size_t q = 0; q < b; q++)
                    syms[where[q]] = batch[q];
            }
        }
        free(ph);
        i = j;
    }
    free(vaddrs);
    free(batch);
    free(where);
    qsort(syms, n, sizeof *syms, cmp_sym_pc);
    s->syms = syms;
    s->nsyms = n;
    return rc;
}

static const struct frame_sym *sym_of(const struct mlg_sites *s, uint64_t pc)
{
    struct frame_sym key = {.pc = pc};
    return s->syms ? bsearch(&key, s->syms, s->nsyms, sizeof key, cmp_sym_pc) : NULL;
}

static const char *base_name(const char *path)
{
    const char *b = strrchr(path, '/');
    return b ? b + 1 : path;
}

void mlg_sites_frame(const struct mlg_sites *s, uint64_t pc, struct mlg_frame_info *fi)
{
    memset(fi, 0, sizeof *fi);
    const struct frame_sym *fs = sym_of(s, pc);
    uint32_t m = fs ? fs->module : module_id_of(s, pc);
    fi->module = m ? base_name(s->modules[m].path) : "?";
    fi->offset = m ? pc - s->modules[m].start + s->modules[m].file_offset : pc;
    if (fs) {
        fi->function = fs->function;
        fi->file = fs->file;
        fi->line = fs->line;
    }
}

const char *mlg_sites_frame_name(const struct mlg_sites *s, uint64_t pc, char *buf, size_t len)
{
    struct mlg_frame_info fi;
    mlg_sites_frame(s, pc, &fi);
    if (fi.function && fi.file && fi.line)
        snprintf(buf, len, "%s (%s:%u)", fi.function, base_name(fi.file), fi.line);
    else if (fi.function)
        snprintf(buf, len, "%s (%s)", fi.function, fi.module);
    else
        snprintf(buf, len, "%s+0x%llx", fi.module, (unsigned long long)fi.offset);
    return buf;
}

/* Frames that are never the interesting caller: the C runtime, operator new, the dynamic loader,
 * the recorder itself. */
static int is_runtime_frame(const struct mlg_sites *s, uint64_t pc)
{
    struct mlg_frame_info fi;
    mlg_sites_frame(s, pc, &fi);
    static const char *const runtime[] = {"libc.so", "libstdc++.so", "ld-linux", "libgcc_s.so",
                                          "libmallog", "libc-"};
    for (size_t i = 0; i < sizeof runtime / sizeof *runtime; i++)
        if (strncmp(fi.module, runtime[i], strlen(runtime[i])) == 0)
            return 1;
    return fi.function && strncmp(fi.function, "operator new", 12) == 0;
}

uint64_t mlg_sites_site_pc(const struct mlg_sites *s, uint32_t id)
{
    const uint64_t *pcs;
    uint32_t depth;
    if (!mlg_sites_stack(s, id, &pcs, &depth) || depth == 0)
        return 0;
    for (uint32_t i = 0; i < depth; i++)
        if (!is_runtime_frame(s, pcs[i]))
            return pcs[i];
    return pcs[0];
}

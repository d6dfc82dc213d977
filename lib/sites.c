/* sites.c - a log's call-site table (modules and stacks), loaded without decoding any event, and
 * its offline symbolization with addr2line on the module files the log names (or their separate
 * debug files), and the naming rules of call sites: allocation wrappers skipped, C++ names
 * abbreviated, names guessed from a stripped module's exports marked.
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
#include <regex.h>
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

/* One inline level of a frame (addr2line -i): the innermost level is the function the pc is in
 * after inlining, the last one the function the machine code belongs to. */
struct level {
    char *function, *file;
    uint32_t line;
    uint32_t fid; /* index in mlg_sites.fns */
};

struct frame_sym {
    uint64_t pc;
    struct level *lv; /* innermost first; at least one once symbolized */
    uint32_t nlv;
    uint32_t module;  /* 1-based, 0 = none */
    uint8_t runtime;  /* in the C runtime (libc, libstdc++, ld.so, the recorder) */
    uint8_t guess;    /* named after the nearest exported symbol of a stripped module */
};

/* A distinct function name and what the naming rules make of it. */
enum { FN_RUNTIME = 1, FN_LISTED = 2, FN_USER = 4, FN_DETECTED = 8 };
struct fn {
    char *full, *shortname;
    uint8_t flags;
};

struct fn_key {
    const char *name;
    uint32_t sym, level;
};

/* A frame of a stack with inline levels expanded. */
struct vframe {
    uint32_t fid, sym;
    uint16_t level;
    uint8_t runtime;
};

struct skip { /* a --skip FUNC|REGEX */
    char *text;
    regex_t re;
    int is_re;
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
    /* the naming rules (built by mlg_sites_symbolize) */
    struct fn *fns;
    uint32_t nfns;
    struct vframe *vfs;
    uint64_t *vf_off;  /* stack id -> first vframe; like stack_off */
    uint32_t *site_vf; /* stack id -> index of its site among its vframes */
    struct skip *skips;
    uint32_t nskips;
    int no_skip, full_names;
    char *debug_dirs;
};

static const struct frame_sym *sym_of(const struct mlg_sites *s, uint64_t pc);
static void free_names(struct mlg_sites *s);
static const char *base_name(const char *path);

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
        for (uint32_t l = 0; l < s->syms[i].nlv; l++) {
            free(s->syms[i].lv[l].function);
            free(s->syms[i].lv[l].file);
        }
        free(s->syms[i].lv);
    }
    free(s->syms);
    free_names(s);
    for (uint32_t i = 0; i < s->nskips; i++) {
        if (s->skips[i].is_re)
            regfree(&s->skips[i].re);
        free(s->skips[i].text);
    }
    free(s->skips);
    free(s->debug_dirs);
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

/* What symbolizing needs of a module file: the PT_LOAD headers (file offset -> ELF virtual
 * address), whether it has a full symbol table, where its separate debug file may be (build-id
 * note, .gnu_debuglink) and, for a stripped module, its exported symbols. */
struct elf_info {
    Elf64_Phdr *ph;
    unsigned nph;
    int has_symtab;
    uint8_t build_id[64];
    unsigned build_id_len;
    char debuglink[256];
    Elf64_Sym *dynsym; /* defined function symbols, sorted by address */
    size_t ndynsym;
    char *dynstr;
    size_t dynstr_len;
};

static void elf_info_free(struct elf_info *e)
{
    free(e->ph);
    free(e->dynsym);
    free(e->dynstr);
    memset(e, 0, sizeof *e);
}

/* A section's bytes (at most 64 MiB), or NULL. */
static void *read_section(int fd, const Elf64_Shdr *sh)
{
    if (sh->sh_size == 0 || sh->sh_size > (64u << 20) || sh->sh_type == SHT_NOBITS)
        return NULL;
    void *p = malloc(sh->sh_size);
    if (p && pread(fd, p, sh->sh_size, (off_t)sh->sh_offset) != (ssize_t)sh->sh_size) {
        free(p);
        p = NULL;
    }
    return p;
}

static void read_build_id(struct elf_info *e, const uint8_t *p, size_t len)
{
    while (len >= 12) {
        uint32_t nsz, dsz, type;
        memcpy(&nsz, p, 4);
        memcpy(&dsz, p + 4, 4);
        memcpy(&type, p + 8, 4);
        size_t n4 = (nsz + 3u) & ~3u, d4 = (dsz + 3u) & ~3u;
        if (n4 + d4 + 12 > len || n4 < nsz || d4 < dsz)
            return;
        if (type == NT_GNU_BUILD_ID && nsz == 4 && memcmp(p + 12, "GNU", 4) == 0 &&
            dsz <= sizeof e->build_id) {
            memcpy(e->build_id, p + 12 + n4, dsz);
            e->build_id_len = dsz;
            return;
        }
        p += 12 + n4 + d4;
        len -= 12 + n4 + d4;
    }
}

static int cmp_elfsym(const void *a, const void *b)
{
    const Elf64_Sym *x = a, *y = b;
    return x->st_value < y->st_value ? -1 : x->st_value > y->st_value;
}

/* Section headers: symbol tables, build-id, debug link. */
static void read_sections(int fd, const Elf64_Ehdr *eh, struct elf_info *e)
{
    if (eh->e_shentsize != sizeof(Elf64_Shdr) || eh->e_shnum == 0 || eh->e_shnum > 65000 ||
        eh->e_shstrndx >= eh->e_shnum)
        return;
    size_t bytes = (size_t)eh->e_shnum * sizeof(Elf64_Shdr);
    Elf64_Shdr *sh = malloc(bytes);
    if (!sh || pread(fd, sh, bytes, (off_t)eh->e_shoff) != (ssize_t)bytes) {
        free(sh);
        return;
    }
    char *names = read_section(fd, &sh[eh->e_shstrndx]);
    size_t names_len = names ? sh[eh->e_shstrndx].sh_size : 0;
    for (unsigned i = 0; i < eh->e_shnum; i++) {
        const char *name = names && sh[i].sh_name < names_len ? names + sh[i].sh_name : "";
        if (sh[i].sh_type == SHT_SYMTAB) {
            e->has_symtab = 1;
        } else if (sh[i].sh_type == SHT_NOTE && !e->build_id_len) {
            uint8_t *p = read_section(fd, &sh[i]);
            if (p)
                read_build_id(e, p, sh[i].sh_size);
            free(p);
        } else if (strcmp(name, ".gnu_debuglink") == 0) {
            char *p = read_section(fd, &sh[i]);
            if (p && memchr(p, 0, sh[i].sh_size) && strlen(p) < sizeof e->debuglink)
                strcpy(e->debuglink, p);
            free(p);
        } else if (sh[i].sh_type == SHT_DYNSYM && sh[i].sh_link < eh->e_shnum && !e->dynsym) {
            Elf64_Sym *syms = read_section(fd, &sh[i]);
            char *str = read_section(fd, &sh[sh[i].sh_link]);
            size_t n = syms ? sh[i].sh_size / sizeof *syms : 0, m = 0;
            for (size_t k = 0; k < n; k++)
                if (syms[k].st_shndx != SHN_UNDEF && syms[k].st_value &&
                    (ELF64_ST_TYPE(syms[k].st_info) == STT_FUNC ||
                     ELF64_ST_TYPE(syms[k].st_info) == STT_GNU_IFUNC))
                    syms[m++] = syms[k];
            qsort(syms, m, sizeof *syms, cmp_elfsym);
            e->dynsym = syms;
            e->ndynsym = m;
            e->dynstr = str;
            e->dynstr_len = str ? sh[sh[i].sh_link].sh_size : 0;
        }
    }
    free(names);
    free(sh);
}

static int elf_read(const char *path, struct elf_info *e)
{
    memset(e, 0, sizeof *e);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    Elf64_Ehdr eh;
    int rc = -1;
    if (pread(fd, &eh, sizeof eh, 0) == (ssize_t)sizeof eh && memcmp(eh.e_ident, ELFMAG, SELFMAG) == 0 &&
        eh.e_ident[EI_CLASS] == ELFCLASS64 && eh.e_phentsize == sizeof(Elf64_Phdr) && eh.e_phnum < 4096) {
        e->ph = calloc(eh.e_phnum ? eh.e_phnum : 1, sizeof *e->ph);
        size_t bytes = (size_t)eh.e_phnum * sizeof *e->ph;
        if (e->ph && pread(fd, e->ph, bytes, (off_t)eh.e_phoff) == (ssize_t)bytes) {
            e->nph = eh.e_phnum;
            read_sections(fd, &eh, e);
            rc = 0;
        }
    }
    close(fd);
    if (rc)
        elf_info_free(e);
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

/* The exported function at or before vaddr (NULL if none). */
static const Elf64_Sym *nearest_export(const struct elf_info *e, uint64_t vaddr)
{
    size_t lo = 0, hi = e->ndynsym;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (e->dynsym[mid].st_value <= vaddr)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (!lo)
        return NULL;
    /* of several symbols at one address, the one whose extent covers vaddr */
    for (size_t i = lo; i-- > 0 && e->dynsym[i].st_value == e->dynsym[lo - 1].st_value;)
        if (vaddr < e->dynsym[i].st_value + e->dynsym[i].st_size)
            return &e->dynsym[i];
    return &e->dynsym[lo - 1];
}

static int readable(const char *path)
{
    return access(path, R_OK) == 0;
}

/* The separate debug file of a module (gdb's rules): DIR/.build-id/xx/rest.debug for each debug
 * directory, then the .gnu_debuglink name beside the module, in its .debug/, and under each
 * debug directory + the module's directory. Directories: s->debug_dirs (colon-separated), then
 * /usr/lib/debug. Writes the path into out and returns 1, or 0 if there is none. */
static int find_debug_file(const struct mlg_sites *s, const char *module, const struct elf_info *e,
                           char *out, size_t len)
{
    char dirs[4096];
    snprintf(dirs, sizeof dirs, "%s%s/usr/lib/debug", s->debug_dirs ? s->debug_dirs : "",
             s->debug_dirs && *s->debug_dirs ? ":" : "");
    char hex[2 * sizeof e->build_id + 1];
    for (unsigned i = 0; i < e->build_id_len; i++)
        snprintf(hex + 2 * i, 3, "%02x", e->build_id[i]);
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1 && e->debuglink[0]) { /* beside the module */
            const char *slash = strrchr(module, '/');
            int dl = slash ? (int)(slash - module) : 0;
            snprintf(out, len, "%.*s/%s", dl, module, e->debuglink);
            if (strcmp(out, module) != 0 && readable(out))
                return 1;
            snprintf(out, len, "%.*s/.debug/%s", dl, module, e->debuglink);
            if (readable(out))
                return 1;
        }
        char *save = NULL, copy[4096];
        snprintf(copy, sizeof copy, "%s", dirs);
        for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
            if (pass == 0 && e->build_id_len >= 2) {
                snprintf(out, len, "%s/.build-id/%.2s/%s.debug", d, hex, hex + 2);
                if (readable(out))
                    return 1;
            } else if (pass == 1 && e->debuglink[0]) {
                const char *slash = strrchr(module, '/');
                int dl = slash ? (int)(slash - module) : 0;
                snprintf(out, len, "%s%.*s/%s", d, dl, module, e->debuglink);
                if (readable(out))
                    return 1;
            }
        }
    }
    return 0;
}

static char *dup_or_null(const char *s)
{
    return s && *s && strcmp(s, "??") != 0 ? strdup(s) : NULL;
}

static int add_level(struct frame_sym *fs, const char *function, const char *fileline)
{
    struct level *lv = realloc(fs->lv, (fs->nlv + 1) * sizeof *lv);
    if (!lv)
        return -1;
    fs->lv = lv;
    char file[4096];
    snprintf(file, sizeof file, "%s", fileline);
    char *colon = strrchr(file, ':');
    unsigned long ln = colon ? strtoul(colon + 1, NULL, 10) : 0;
    if (colon)
        *colon = 0;
    char *sp = strstr(file, " (discriminator");
    if (sp)
        *sp = 0;
    lv[fs->nlv++] = (struct level){dup_or_null(function), dup_or_null(file), (uint32_t)ln, 0};
    return 0;
}

static int is_addr_line(const char *line)
{
    return strncmp(line, "0x", 2) == 0 && strlen(line) == 18;
}

/* addr2line -f -C -i -a on a batch: for each address, "0x<addr>", then pairs of lines (function,
 * "file:line"), innermost inline level first. */
static int run_addr2line(const char *file, struct frame_sym *syms, size_t n, const uint64_t *vaddrs)
{
    size_t argc = 0;
    char **argv = calloc(n + 9, sizeof *argv);
    char *nums = malloc(n * 24);
    if (!argv || !nums) {
        free(argv);
        free(nums);
        return -1;
    }
    argv[argc++] = "addr2line";
    argv[argc++] = "-f";
    argv[argc++] = "-C";
    argv[argc++] = "-i";
    argv[argc++] = "-a";
    argv[argc++] = "-e";
    argv[argc++] = (char *)file;
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
    char *line = NULL, *second = NULL;
    size_t cap = 0, cap2 = 0;
    size_t at = SIZE_MAX;
    int nomem = 0;
    while (f && getline(&line, &cap, f) > 0) {
        line[strcspn(line, "\n")] = 0;
        if (is_addr_line(line)) {
            at = at == SIZE_MAX ? 0 : at + 1;
            continue;
        }
        if (getline(&second, &cap2, f) <= 0)
            break;
        second[strcspn(second, "\n")] = 0;
        if (at < n && syms[at].nlv < 64 && add_level(&syms[at], line, second) != 0)
            nomem = 1;
    }
    free(line);
    free(second);
    if (f)
        fclose(f);
    else
        close(pfd[0]);
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    rc = !nomem && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
out:
    free(argv);
    free(nums);
    return rc;
}

/* A stripped module without a debug file: addr2line took the nearest exported symbol. Inside
 * that symbol's extent the name is right; past it the pc is in some static function, and the name
 * becomes "symbol+0xoff?" (a guess, and unique per pc, so such sites group by module+offset). */
static int mark_guess(struct frame_sym *fs, const struct elf_info *e, uint64_t vaddr)
{
    const Elf64_Sym *sym = nearest_export(e, vaddr);
    if (!sym || vaddr < sym->st_value + sym->st_size || fs->nlv == 0)
        return 0;
    const char *name = fs->lv[0].function;
    if (!name)
        name = sym->st_name < e->dynstr_len ? e->dynstr + sym->st_name : NULL;
    if (!name)
        return 0;
    char buf[1200];
    snprintf(buf, sizeof buf, "%.1000s+0x%llx?", name,
             (unsigned long long)(vaddr + 1 - sym->st_value));
    char *g = strdup(buf);
    if (!g)
        return -1;
    for (uint32_t l = 0; l < fs->nlv; l++) {
        free(fs->lv[l].function);
        free(fs->lv[l].file);
    }
    fs->nlv = 1;
    fs->lv[0] = (struct level){g, NULL, 0, 0};
    fs->guess = 1;
    return 0;
}

/* Symbolizes syms[i..j), the frames of module m. */
static int symbolize_module(struct mlg_sites *s, uint32_t m, struct frame_sym *syms, size_t i,
                            size_t j)
{
    enum { BATCH = 16384 }; /* one addr2line reads the module once: cc1 costs ~1 s a batch */
    struct elf_info e;
    if (elf_read(s->modules[m].path, &e) != 0)
        return 0; /* gone or not ELF: module+offset */
    char debug[4096];
    int have_debug = find_debug_file(s, s->modules[m].path, &e, debug, sizeof debug);
    int stripped = !e.has_symtab && !have_debug;
    uint64_t *vaddrs = malloc(BATCH * sizeof *vaddrs);
    struct frame_sym *batch = malloc(BATCH * sizeof *batch);
    size_t *where = malloc(BATCH * sizeof *where);
    int rc = vaddrs && batch && where ? 0 : -1;
    for (size_t k = i; rc == 0 && k < j;) {
        size_t b = 0;
        for (; k < j && b < BATCH; k++) {
            uint64_t fo = syms[k].pc - 1 - s->modules[m].start + s->modules[m].file_offset;
            if (vaddr_of(e.ph, e.nph, fo, &vaddrs[b]) == 0) {
                batch[b] = syms[k];
                where[b++] = k;
            }
        }
        if (b && run_addr2line(have_debug ? debug : s->modules[m].path, batch, b, vaddrs) != 0)
            rc = -1;
        for (size_t q = 0; q < b; q++) {
            if (stripped && mark_guess(&batch[q], &e, vaddrs[q]) != 0)
                rc = -1;
            syms[where[q]] = batch[q];
        }
    }
    free(vaddrs);
    free(batch);
    free(where);
    elf_info_free(&e);
    return rc;
}

/* ---- names people can read ---------------------------------------------------------------- */

/* Where the qualified name of a demangled function starts: after the return type that the
 * demangler puts before template functions ("void std::vector<...>::_M_realloc_insert<...>(...)"),
 * i.e. after the last space outside <> and () before the parameter list, unless that space
 * belongs to "operator new" and the like. */
static const char *name_start(const char *full)
{
    const char *start = full;
    int angle = 0;
    for (const char *p = full; *p; p++) {
        if (*p == '<')
            angle++;
        else if (*p == '>' && angle)
            angle--;
        else if (!angle && *p == '(' && strncmp(p, "(anonymous namespace)", 21) != 0)
            break;
        else if (!angle && *p == ' ' && !(p - full >= 8 && strncmp(p - 8, "operator", 8) == 0))
            start = p + 1;
        if (!angle && strncmp(p, "operator", 8) == 0)
            break; /* operator<, operator() ...: what follows is not a return type boundary */
    }
    return start;
}

#define SHORT_NAME_MAX 120 /* bytes of an abbreviated name */

/* C++ template arguments become "<…>", parameter lists go: "std::vector<…>::_M_realloc_insert".
 * Operators keep their symbols ("operator<<"), "(anonymous namespace)" stays. At most
 * SHORT_NAME_MAX bytes, cut with "…". NULL when out of memory. */
static char *abbreviate(const char *full)
{
    full = name_start(full);
    size_t n = strlen(full);
    char *out = malloc(n + 8);
    if (!out)
        return NULL;
    size_t o = 0;
    int angle = 0;
    for (size_t i = 0; i < n;) {
        if (!angle && strncmp(full + i, "operator", 8) == 0 &&
            (i == 0 || full[i - 1] == ':' || full[i - 1] == ' ')) {
            memcpy(out + o, "operator", 8);
            o += 8;
            i += 8;
            if (strncmp(full + i, "()", 2) == 0) {
                memcpy(out + o, "()", 2);
                o += 2;
                i += 2;
            } else {
                while (i < n && o < n + 4 && strchr("<>=!+-*/%^&|~[],", full[i]) && full[i])
                    out[o++] = full[i++];
            }
            continue;
        }
        char c = full[i];
        if (!angle && c == '(') {
            if (strncmp(full + i, "(anonymous namespace)", 21) == 0) {
                memcpy(out + o, full + i, 21);
                o += 21;
                i += 21;
                continue;
            }
            int depth = 0; /* a parameter list: dropped */
            do {
                depth += full[i] == '(' ? 1 : full[i] == ')' ? -1 : 0;
                i++;
            } while (i < n && depth > 0);
            continue;
        }
        i++;
        if (c == '<') {
            if (angle++ == 0) {
                memcpy(out + o, "<\xe2\x80\xa6>", 5);
                o += 5;
            }
        } else if (c == '>' && angle) {
            angle--;
        } else if (!angle) {
            out[o++] = c;
        }
    }
    while (o && out[o - 1] == ' ')
        o--;
    if (o >= 6 && memcmp(out + o - 6, " const", 6) == 0)
        o -= 6;
    if (o > 5 && memcmp(out + o - 5, "<\xe2\x80\xa6>", 5) == 0 && out[o - 6] != ':')
        o -= 5; /* a function template's own arguments: the name says enough */
    if (o > SHORT_NAME_MAX) {
        o = SHORT_NAME_MAX - 3;
        while (o && ((unsigned char)out[o] & 0xc0) == 0x80)
            o--; /* not inside a UTF-8 character */
        memcpy(out + o, "\xe2\x80\xa6", 3);
        o += 3;
    }
    out[o] = 0;
    return out;
}

/* ---- which frames are allocation wrappers ------------------------------------------------- */

/* Functions that only forward to the allocator, in libraries and programs people record. A
 * trailing '*' matches a prefix; the rest match the name up to its parameter list. */
static const char *const known_wrappers[] = {
    "operator new*", "operator delete*", "std::*", "__gnu_cxx::*",
    "g_malloc", "g_malloc0", "g_realloc", "g_try_malloc", "g_try_malloc0", "g_try_realloc",
    "g_malloc_n", "g_malloc0_n", "g_realloc_n", "g_try_malloc_n", "g_try_malloc0_n",
    "g_try_realloc_n", "g_slice_alloc", "g_slice_alloc0", "g_memdup", "g_memdup2", "g_strdup",
    "g_strndup", "g_new", "g_new0",
    "xmalloc", "xcalloc", "xrealloc", "xzalloc", "xstrdup", "xstrndup", "xmemdup", "xnmalloc",
    "xcharalloc", "xreallocarray", "x2realloc", "x2nrealloc",
    "Perl_safesys*", "Perl_safesysmalloc", "Perl_safesyscalloc", "Perl_safesysrealloc",
    "sqlite3Malloc", "sqlite3MallocZero", "sqlite3Realloc", "sqlite3DbMallocRaw",
    "sqlite3DbMallocRawNN", "sqlite3DbMallocZero", "sqlite3DbRealloc", "sqlite3DbReallocOrFree",
    "dbMallocRawFinish", "dbReallocFinish", "sqlite3_malloc", "sqlite3_malloc64", "sqlite3_realloc",
    "sqlite3_realloc64", "sqlite3MemMalloc", "sqlite3MemRealloc", "mallocWithAlarm",
    "PyMem_*", "_PyMem_*", "PyObject_Malloc", "PyObject_Calloc", "PyObject_Realloc",
    "_PyObject_Malloc", "_PyObject_Calloc", "_PyObject_Realloc", "_PyObject_New*",
    "_PyObject_GC_New*", "_PyObject_GC_Malloc", "_PyObject_GC_Alloc", "gc_alloc",
    "pymalloc_alloc", "_PyObject_MallocWithType",
    "strdup", "strndup", "__strdup", "__strndup",
};

/* The length of a name before its parameter list. */
static size_t base_len(const char *name)
{
    const char *p = strchr(name, '(');
    while (p && strncmp(p, "(anonymous namespace)", 21) == 0)
        p = strchr(p + 21, '(');
    if (p && strncmp(name, "operator()", 10) == 0 && p == name + 8)
        p = strchr(p + 2, '(');
    return p ? (size_t)(p - name) : strlen(name);
}

static int name_matches(const char *pattern, const char *name)
{
    name = name_start(name);
    size_t pl = strlen(pattern), bl = base_len(name);
    if (pl && pattern[pl - 1] == '*')
        return strncmp(name, pattern, pl - 1) == 0;
    return bl == pl && strncmp(name, pattern, pl) == 0;
}

static int is_known_wrapper(const char *name)
{
    for (size_t i = 0; i < sizeof known_wrappers / sizeof *known_wrappers; i++)
        if (name_matches(known_wrappers[i], name))
            return 1;
    return 0;
}

static int is_user_skip(const struct mlg_sites *s, const char *full, const char *shortname)
{
    for (uint32_t i = 0; i < s->nskips; i++) {
        const struct skip *k = &s->skips[i];
        if (k->is_re ? regexec(&k->re, full, 0, NULL, 0) == 0 ||
                           regexec(&k->re, shortname, 0, NULL, 0) == 0
                     : name_matches(k->text, full) || strcmp(k->text, shortname) == 0)
            return 1;
    }
    return 0;
}

int mlg_sites_skip(struct mlg_sites *s, const char *func_or_regex)
{
    struct skip *k = realloc(s->skips, (s->nskips + 1) * sizeof *k);
    if (!k)
        return -1;
    s->skips = k;
    k = &s->skips[s->nskips];
    memset(k, 0, sizeof *k);
    /* a plain C or C++ name (letters, digits, _, :, ~) is matched as a name, the rest as an
     * extended regular expression */
    k->is_re = func_or_regex[strspn(func_or_regex, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRS"
                                                   "TUVWXYZ0123456789_:~")] != 0;
    if (k->is_re && regcomp(&k->re, func_or_regex, REG_EXTENDED | REG_NOSUB) != 0)
        return -1;
    if (!(k->text = strdup(func_or_regex))) {
        if (k->is_re)
            regfree(&k->re);
        return -1;
    }
    s->nskips++;
    return s->syms ? mlg_sites_classify(s) : 0;
}

void mlg_sites_no_skip(struct mlg_sites *s)
{
    s->no_skip = 1;
    if (s->syms)
        mlg_sites_classify(s);
}

void mlg_sites_full_names(struct mlg_sites *s, int on)
{
    s->full_names = on;
}

int mlg_sites_debug_dir(struct mlg_sites *s, const char *dirs)
{
    char *d = dirs ? strdup(dirs) : NULL;
    if (dirs && !d)
        return -1;
    free(s->debug_dirs);
    s->debug_dirs = d;
    return 0;
}

/* Frames that are never the interesting caller: the C runtime, the dynamic loader, the recorder
 * itself. */
static int is_runtime_module(const char *module)
{
    static const char *const runtime[] = {"libc.so", "libstdc++.so", "ld-linux", "libgcc_s.so",
                                          "libmallog", "libc-"};
    for (size_t i = 0; i < sizeof runtime / sizeof *runtime; i++)
        if (strncmp(module, runtime[i], strlen(runtime[i])) == 0)
            return 1;
    return 0;
}

static int is_wrapper_fn(const struct mlg_sites *s, uint32_t fid)
{
    return !s->no_skip && (s->fns[fid].flags & (FN_LISTED | FN_USER | FN_DETECTED));
}

static int vf_skipped(const struct mlg_sites *s, const struct vframe *v)
{
    return v->runtime || is_wrapper_fn(s, v->fid);
}

enum { CALLER_UNSET = UINT32_MAX, CALLER_MANY = UINT32_MAX - 1, CALLER_NONE = UINT32_MAX - 2 };

/* Wrapper detection on the stack table. A function is a wrapper when it is always the frame next
 * to the allocator (or next to another wrapper), it is so in at least 2% of the stacks (and two),
 * and its callers vary, or its only caller is a wrapper (sqlite3Malloc -> a static function of a
 * stripped libsqlite3 -> malloc). A function with a single caller is kept pending: it is a wrapper if that
 * caller turns out to be one (xmalloc -> my_alloc -> malloc: my_alloc has one caller, xmalloc
 * many). Pending frames count as skipped while the next round looks further out. */
static int detect_wrappers(struct mlg_sites *s)
{
    uint32_t nf = s->nfns;
    uint64_t *weight = calloc(nf ? nf : 1, sizeof *weight);
    uint32_t *caller = malloc((nf ? nf : 1) * sizeof *caller);
    uint32_t *pend = malloc((nf ? nf : 1) * sizeof *pend);
    uint8_t *outer = calloc(nf ? nf : 1, 1);
    int rc = -1;
    if (!weight || !caller || !pend || !outer)
        goto out;
    for (uint32_t f = 0; f < nf; f++)
        pend[f] = CALLER_UNSET;
    uint64_t need = s->nstacks / 50 > 2 ? s->nstacks / 50 : 2;
    for (int round = 0; round < 8; round++) {
        memset(weight, 0, nf * sizeof *weight);
        memset(outer, 0, nf);
        for (uint32_t f = 0; f < nf; f++)
            caller[f] = CALLER_UNSET;
        for (uint32_t id = 1; id <= s->nstacks; id++) {
            const struct vframe *v = s->vfs + s->vf_off[id], *end = s->vfs + s->vf_off[id + 1];
            while (v < end && (vf_skipped(s, v) || pend[v->fid] != CALLER_UNSET))
                v++;
            if (v == end)
                continue;
            uint32_t f = v->fid;
            weight[f]++;
            const struct vframe *c = v + 1;
            while (c < end && c->fid == f)
                c++;
            uint32_t cf = c < end ? c->fid : CALLER_NONE;
            caller[f] = caller[f] == CALLER_UNSET || caller[f] == cf ? cf : CALLER_MANY;
            for (; c < end; c++)
                if (c->fid != f)
                    outer[c->fid] = 1;
        }
        int changed = 0;
        for (uint32_t f = 0; f < nf; f++) {
            if (is_wrapper_fn(s, f) || pend[f] != CALLER_UNSET || outer[f] || weight[f] < need)
                continue;
            if (caller[f] == CALLER_MANY) {
                s->fns[f].flags |= FN_DETECTED;
                /* and the pending chains that lead to f */
                for (uint32_t p = 0; p < nf; p++) {
                    uint32_t q = p;
                    for (int k = 0; k < 8 && q < nf && pend[q] < nf && q != f; k++)
                        q = pend[q];
                    if (q == f && p != f && pend[p] != CALLER_UNSET)
                        s->fns[p].flags |= FN_DETECTED;
                }
                changed = 1;
            } else if (caller[f] < nf && is_wrapper_fn(s, caller[f])) {
                s->fns[f].flags |= FN_DETECTED; /* only ever called by a wrapper: part of it */
                changed = 1;
            } else if (caller[f] < nf) {
                pend[f] = caller[f];
                changed = 1;
            }
        }
        if (!changed)
            break;
    }
    rc = 0;
out:
    free(weight);
    free(caller);
    free(pend);
    free(outer);
    return rc;
}

static int cmp_key(const void *a, const void *b)
{
    const struct fn_key *x = a, *y = b;
    return strcmp(x->name, y->name);
}

static void free_names(struct mlg_sites *s)
{
    for (uint32_t i = 0; i < s->nfns; i++) {
        free(s->fns[i].full);
        free(s->fns[i].shortname);
    }
    free(s->fns);
    free(s->vfs);
    free(s->vf_off);
    free(s->site_vf);
    s->fns = NULL;
    s->vfs = NULL;
    s->vf_off = NULL;
    s->site_vf = NULL;
    s->nfns = 0;
}

/* Function ids: one per distinct name over every inline level of every frame (a frame without a
 * function is named module+0xoffset). */
static int build_functions(struct mlg_sites *s)
{
    size_t nk = 0;
    for (size_t i = 0; i < s->nsyms; i++)
        nk += s->syms[i].nlv;
    struct fn_key *keys = malloc((nk ? nk : 1) * sizeof *keys);
    char **owned = calloc(s->nsyms ? s->nsyms : 1, sizeof *owned);
    int rc = -1;
    if (!keys || !owned)
        goto out;
    nk = 0;
    for (size_t i = 0; i < s->nsyms; i++) {
        struct frame_sym *fs = &s->syms[i];
        for (uint32_t l = 0; l < fs->nlv; l++) {
            const char *name = fs->lv[l].function;
            if (!name) {
                char buf[600];
                uint32_t m = fs->module;
                snprintf(buf, sizeof buf, "%s+0x%llx", m ? base_name(s->modules[m].path) : "?",
                         (unsigned long long)(m ? fs->pc - s->modules[m].start +
                                                      s->modules[m].file_offset
                                                : fs->pc));
                if (!owned[i] && !(owned[i] = strdup(buf)))
                    goto out;
                name = owned[i];
            }
            keys[nk++] = (struct fn_key){name, (uint32_t)i, l};
        }
    }
    qsort(keys, nk, sizeof *keys, cmp_key);
    if (!(s->fns = calloc(nk ? nk : 1, sizeof *s->fns)))
        goto out;
    for (size_t k = 0; k < nk; k++) {
        if (k == 0 || strcmp(keys[k - 1].name, keys[k].name) != 0) {
            struct fn *f = &s->fns[s->nfns++];
            if (!(f->full = strdup(keys[k].name)) || !(f->shortname = abbreviate(keys[k].name)))
                goto out;
            if (is_known_wrapper(f->full))
                f->flags |= FN_LISTED;
            if (strncmp(f->full, "operator new", 12) == 0 ||
                strncmp(f->full, "operator delete", 15) == 0 || strcmp(f->full, "_start") == 0)
                f->flags |= FN_RUNTIME;
        }
        s->syms[keys[k].sym].lv[keys[k].level].fid = s->nfns - 1;
    }
    rc = 0;
out:
    for (size_t i = 0; i < s->nsyms; i++)
        free(owned[i]);
    free(owned);
    free(keys);
    return rc;
}

/* Virtual frames: each stack with its inline levels expanded, innermost first. */
static int build_vframes(struct mlg_sites *s)
{
    size_t n = 0;
    for (size_t i = 0; i < s->npcs; i++) {
        const struct frame_sym *fs = sym_of(s, s->pcs[i]);
        n += fs ? fs->nlv : 1;
    }
    s->vfs = malloc((n ? n : 1) * sizeof *s->vfs);
    s->vf_off = calloc((size_t)s->nstacks + 2, sizeof *s->vf_off);
    s->site_vf = calloc((size_t)s->nstacks + 1, sizeof *s->site_vf);
    if (!s->vfs || !s->vf_off || !s->site_vf)
        return -1;
    size_t k = 0;
    for (uint32_t id = 1; id <= s->nstacks; id++) {
        s->vf_off[id] = k;
        for (uint64_t i = s->stack_off[id]; i < s->stack_off[id + 1]; i++) {
            const struct frame_sym *fs = sym_of(s, s->pcs[i]);
            for (uint32_t l = 0; fs && l < fs->nlv; l++)
                s->vfs[k++] = (struct vframe){fs->lv[l].fid, (uint32_t)(fs - s->syms), l,
                                              fs->runtime ||
                                                  (s->fns[fs->lv[l].fid].flags & FN_RUNTIME)};
        }
    }
    s->vf_off[s->nstacks + 1] = k;
    if (s->nstacks)
        s->vf_off[s->nstacks + 1] = k;
    return 0;
}

/* The site of each stack: its first virtual frame that is neither the runtime nor a wrapper
 * (else its first outside the runtime, else its innermost). */
static void find_sites(struct mlg_sites *s)
{
    for (uint32_t id = 1; id <= s->nstacks; id++) {
        uint64_t a = s->vf_off[id], b = s->vf_off[id + 1], i = a;
        while (i < b && vf_skipped(s, &s->vfs[i]))
            i++;
        if (i == b)
            for (i = a; i < b && s->vfs[i].runtime; i++)
                ;
        s->site_vf[id] = (uint32_t)(i < b ? i - a : 0);
    }
}

int mlg_sites_classify(struct mlg_sites *s)
{
    if (!s->fns)
        return 0;
    for (uint32_t f = 0; f < s->nfns; f++) {
        s->fns[f].flags &= (uint8_t)~(FN_USER | FN_DETECTED);
        if (is_user_skip(s, s->fns[f].full, s->fns[f].shortname))
            s->fns[f].flags |= FN_USER;
    }
    int rc = s->no_skip ? 0 : detect_wrappers(s);
    find_sites(s);
    return rc;
}

int mlg_sites_symbolize(struct mlg_sites *s)
{
    if (s->syms)
        return 0;
    if (!s->debug_dirs && getenv("MALLOG_DEBUG_DIR") &&
        mlg_sites_debug_dir(s, getenv("MALLOG_DEBUG_DIR")) != 0)
        return -1;
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
    for (size_t i = 0; i < n; i++) {
        syms[i].module = module_id_of(s, syms[i].pc);
        syms[i].runtime = syms[i].module && is_runtime_module(base_name(s->modules[syms[i].module].path));
    }
    qsort(syms, n, sizeof *syms, cmp_sym);
    int rc = 0;
    for (size_t i = 0; i < n;) {
        uint32_t m = syms[i].module;
        size_t j = i;
        while (j < n && syms[j].module == m)
            j++;
        if (m && symbolize_module(s, m, syms, i, j) != 0)
            rc = -1;
        i = j;
    }
    int nomem = 0;
    for (size_t i = 0; i < n; i++)
        if (syms[i].nlv == 0 && !nomem && add_level(&syms[i], "??", "??:0") != 0)
            nomem = 1;
    qsort(syms, n, sizeof *syms, cmp_sym_pc);
    s->syms = syms;
    s->nsyms = n;
    if (nomem || build_functions(s) != 0 || build_vframes(s) != 0 || mlg_sites_classify(s) != 0) {
        free_names(s);
        return -1;
    }
    return rc;
}

static const char *base_name(const char *path)
{
    const char *b = strrchr(path, '/');
    return b ? b + 1 : path;
}

static const struct frame_sym *sym_of(const struct mlg_sites *s, uint64_t pc)
{
    struct frame_sym key = {.pc = pc};
    return s->syms ? bsearch(&key, s->syms, s->nsyms, sizeof key, cmp_sym_pc) : NULL;
}

static void fill_info(const struct mlg_sites *s, const struct frame_sym *fs, uint32_t l,
                      uint64_t pc, struct mlg_frame_info *fi)
{
    memset(fi, 0, sizeof *fi);
    uint32_t m = fs ? fs->module : module_id_of(s, pc);
    fi->module = m ? base_name(s->modules[m].path) : "?";
    fi->offset = m ? pc - s->modules[m].start + s->modules[m].file_offset : pc;
    if (!fs || l >= fs->nlv)
        return;
    const struct level *lv = &fs->lv[l];
    if (lv->function && s->fns) {
        const struct fn *f = &s->fns[lv->fid];
        fi->function = s->full_names ? f->full : f->shortname;
        fi->full_function = f->full;
        fi->kind = fs->runtime || (f->flags & FN_RUNTIME) ? MLG_FRAME_RUNTIME
                 : is_wrapper_fn(s, lv->fid)               ? MLG_FRAME_WRAPPER
                                                           : MLG_FRAME_CODE;
    } else {
        fi->function = fi->full_function = lv->function;
        fi->kind = fs->runtime ? MLG_FRAME_RUNTIME : MLG_FRAME_CODE;
    }
    fi->file = lv->file;
    fi->line = lv->line;
    fi->guess = fs->guess;
}

void mlg_sites_frame(const struct mlg_sites *s, uint64_t pc, struct mlg_frame_info *fi)
{
    const struct frame_sym *fs = sym_of(s, pc);
    uint32_t l = 0;
    /* of a pc's inline levels, the one that names it: the first that is not a wrapper */
    if (fs && s->fns)
        while (l + 1 < fs->nlv &&
               (is_wrapper_fn(s, fs->lv[l].fid) || (s->fns[fs->lv[l].fid].flags & FN_RUNTIME)))
            l++;
    fill_info(s, fs, l, pc, fi);
}

static const char *info_name(const struct mlg_frame_info *fi, char *buf, size_t len)
{
    if (fi->function && fi->file && fi->line)
        snprintf(buf, len, "%s (%s:%u)", fi->function, base_name(fi->file), fi->line);
    else if (fi->function)
        snprintf(buf, len, "%s (%s)", fi->function, fi->module);
    else
        snprintf(buf, len, "%s+0x%llx", fi->module, (unsigned long long)fi->offset);
    return buf;
}

const char *mlg_sites_frame_name(const struct mlg_sites *s, uint64_t pc, char *buf, size_t len)
{
    struct mlg_frame_info fi;
    mlg_sites_frame(s, pc, &fi);
    return info_name(&fi, buf, len);
}

uint32_t mlg_sites_vdepth(const struct mlg_sites *s, uint32_t id)
{
    if (id == 0 || id > s->nstacks)
        return 0;
    if (!s->vf_off)
        return (uint32_t)(s->stack_off[id + 1] - s->stack_off[id]);
    return (uint32_t)(s->vf_off[id + 1] - s->vf_off[id]);
}

void mlg_sites_vframe(const struct mlg_sites *s, uint32_t id, uint32_t i,
                      struct mlg_frame_info *fi)
{
    if (!s->vf_off) { /* not symbolized: one frame per pc */
        uint64_t pc = s->pcs[s->stack_off[id] + i];
        fill_info(s, sym_of(s, pc), 0, pc, fi);
        return;
    }
    const struct vframe *v = &s->vfs[s->vf_off[id] + i];
    const struct frame_sym *fs = &s->syms[v->sym];
    fill_info(s, fs, v->level, fs->pc, fi);
}

const char *mlg_sites_vframe_name(const struct mlg_sites *s, uint32_t id, uint32_t i, char *buf,
                                  size_t len)
{
    struct mlg_frame_info fi;
    mlg_sites_vframe(s, id, i, &fi);
    return info_name(&fi, buf, len);
}

uint32_t mlg_sites_site_index(const struct mlg_sites *s, uint32_t id)
{
    if (id == 0 || id > s->nstacks)
        return 0;
    if (s->site_vf)
        return s->site_vf[id];
    /* not symbolized: the first pc outside the runtime modules */
    uint32_t depth = (uint32_t)(s->stack_off[id + 1] - s->stack_off[id]);
    for (uint32_t i = 0; i < depth; i++) {
        uint32_t m = module_id_of(s, s->pcs[s->stack_off[id] + i]);
        if (!m || !is_runtime_module(base_name(s->modules[m].path)))
            return i;
    }
    return 0;
}

uint64_t mlg_sites_site_pc(const struct mlg_sites *s, uint32_t id)
{
    if (id == 0 || id > s->nstacks || s->stack_off[id + 1] == s->stack_off[id])
        return 0;
    uint32_t i = mlg_sites_site_index(s, id);
    if (!s->vfs)
        return s->pcs[s->stack_off[id] + i];
    return s->syms[s->vfs[s->vf_off[id] + i].sym].pc;
}

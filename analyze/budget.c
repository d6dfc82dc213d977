/* budget.c - `mallog check LOG|SUMMARY.json --budget FILE`: evaluates memory budget rules for
 * CI. A rule is `KEY OP LIMIT` with OP one of <= < >= > == !=, LIMIT a number with an optional
 * unit (64M, 1.5GiB, 1.05) or `[F *] baseline [+|- N]` (with --baseline). KEY is a figure of
 * `mallog stats --json` (peak_live_requested, ops.malloc.calls, sizes.1024.count, ...), an alias
 * (peak_live_bytes), or ALLOC.NAME from a replay (`glibc.footprint_ratio` reads
 * footprint_ratio[_at_peak] from DIR/replay.glibc.json, DIR given by --replay).
 * Exit 0 = every rule passes, 1 = some rule fails, 2 = an error (bad rule, missing input). */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../common/allocators.h"
#include "../common/msg.h"
#include "analyze.h"

enum { OP_LE, OP_LT, OP_GE, OP_GT, OP_EQ, OP_NE };
static const char *const op_text[] = {"<=", "<", ">=", ">", "==", "!="};

enum { R_PASS, R_FAIL, R_ERROR };
static const char *const result_text[] = {"PASS", "FAIL", "ERROR"};

struct rule {
    int line;
    char text[256];
    char key[SUMMARY_KEY_MAX];
    int op;
    int uses_baseline;
    double factor, offset, constant; /* limit = factor * baseline + offset, or constant */
    double measured, limit;
    int result;
    char why[256];
};

static const struct {
    const char *alias, *key;
} aliases[] = {
    {"peak_live_bytes", "peak_live_requested"}, {"peak_bytes", "peak_live_requested"},
    {"peak_blocks", "peak_live_blocks"},        {"leaks", "leaked_blocks"},
    {"leaked_allocations", "leaked_blocks"},    {"live_at_end", "live_at_end_bytes"},
};

static const char *canonical(const char *k)
{
    for (size_t i = 0; i < sizeof aliases / sizeof *aliases; i++)
        if (strcmp(k, aliases[i].alias) == 0)
            return aliases[i].key;
    return k;
}

static int is_replay_key(const char *k)
{
    const char *dot = strchr(k, '.');
    if (!dot)
        return 0;
    return allocators_find(k, (size_t)(dot - k)) < MLG_ALLOC_COUNT;
}

/* Known without looking at a summary: the metrics and the per-op figures (absent when 0). */
static int known_key(const char *k)
{
#define BUDGET_X_KNOWN(name, what) if (strcmp(k, #name) == 0) return 1;
    STATS_METRICS(BUDGET_X_KNOWN)
#undef BUDGET_X_KNOWN
    if (strncmp(k, "ops.", 4) == 0) {
        char op[64];
        const char *dot = strchr(k + 4, '.');
        if (!dot || (size_t)(dot - k - 4) >= sizeof op)
            return 0;
        memcpy(op, k + 4, (size_t)(dot - k - 4));
        op[dot - k - 4] = 0;
        return mlg_op_from_name(op) &&
               (!strcmp(dot, ".calls") || !strcmp(dot, ".failed") || !strcmp(dot, ".bytes"));
    }
    static const char *const more[] = {"realloc.calls", "realloc.in_place", "realloc.moved",
        "realloc.failed", "realloc.freed", "realloc.grew", "realloc.shrank",
        "realloc.bytes_copied_upper", "realloc.chains", "realloc.longest_chain",
        "start_live_bytes", "start_live_blocks", "inherited_blocks", "inherited_bytes"};
    for (size_t i = 0; i < sizeof more / sizeof *more; i++)
        if (strcmp(k, more[i]) == 0)
            return 1;
    /* table rows ("sizes.1024.count") exist only when non-zero: accept the shapes */
    static const char *const tables[] = {"sizes.", "lifetimes.", "lifetimes_ns.", "leaks.",
                                         "per_thread.", "per_process."};
    for (size_t i = 0; i < sizeof tables / sizeof *tables; i++)
        if (strncmp(k, tables[i], strlen(tables[i])) == 0 && isdigit((unsigned char)k[strlen(tables[i])]))
            return 1;
    return 0;
}

/* A number: plain or float (1.05, 2e6), or a size with a unit (64M, 1.5GiB). */
static int parse_number(const char *s, double *out)
{
    char *e;
    errno = 0;
    double d = strtod(s, &e);
    if (e != s && !*e && !errno) {
        *out = d;
        return 0;
    }
    uint64_t v;
    if (mlg_parse_size(s, &v) == 0) {
        *out = (double)v;
        return 0;
    }
    return -1;
}

/* Parses "KEY OP LIMIT". Returns 0 or -1 with the reason in r->why. */
static int parse_rule(char *line, struct rule *r)
{
    char *tok[8];
    int n = 0;
    for (char *t = strtok(line, " \t\r\n"); t; t = strtok(NULL, " \t\r\n")) {
        if (n == 8) {
            snprintf(r->why, sizeof r->why, "too many words");
            return -1;
        }
        tok[n++] = t;
    }
    if (n < 3) {
        snprintf(r->why, sizeof r->why, "expected KEY OP LIMIT");
        return -1;
    }
    const char *key = canonical(tok[0]);
    if (!known_key(key) && !is_replay_key(key)) {
        snprintf(r->why, sizeof r->why, "unknown key '%s'", tok[0]);
        return -1;
    }
    snprintf(r->key, sizeof r->key, "%s", key);
    r->op = -1;
    for (int i = 0; i < 6; i++)
        if (strcmp(tok[1], op_text[i]) == 0)
            r->op = i;
    if (r->op < 0) {
        snprintf(r->why, sizeof r->why, "unknown operator '%s' (use <= < >= > == !=)", tok[1]);
        return -1;
    }
    /* LIMIT: NUM | baseline | NUM * baseline | baseline * NUM, then optionally + NUM / - NUM */
    int i = 2;
    r->factor = 1;
    if (i + 2 < n + 0 && strcmp(tok[i + 1], "*") == 0 && strcmp(tok[i + 2], "baseline") == 0) {
        if (parse_number(tok[i], &r->factor) != 0)
            goto bad_limit;
        r->uses_baseline = 1;
        i += 3;
    } else if (strcmp(tok[i], "baseline") == 0) {
        r->uses_baseline = 1;
        i++;
        if (i + 1 < n && strcmp(tok[i], "*") == 0) {
            if (parse_number(tok[i + 1], &r->factor) != 0)
                goto bad_limit;
            i += 2;
        }
    } else {
        if (parse_number(tok[i], &r->constant) != 0)
            goto bad_limit;
        i++;
    }
    if (i < n && r->uses_baseline && i + 1 < n && (!strcmp(tok[i], "+") || !strcmp(tok[i], "-"))) {
        if (parse_number(tok[i + 1], &r->offset) != 0)
            goto bad_limit;
        if (tok[i][0] == '-')
            r->offset = -r->offset;
        i += 2;
    }
    if (i != n)
        goto bad_limit;
    return 0;
bad_limit:
    snprintf(r->why, sizeof r->why, "bad limit (want a number like 64M or 1.5, or "
                                    "[F *] baseline [+ N])");
    return -1;
}

/* The file a log name means, for comparing two names of it: the same inode when both exist,
 * else the same last component (a summary saved elsewhere names the log relative to where
 * stats ran). */
static int same_log(const char *a, const char *b)
{
    struct stat sa, sb;
    if (stat(a, &sa) == 0 && stat(b, &sb) == 0)
        return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
    const char *ba = strrchr(a, '/'), *bb = strrchr(b, '/');
    return strcmp(ba ? ba + 1 : a, bb ? bb + 1 : b) == 0;
}

/* The value of a replay figure: ALLOC.NAME from DIR/replay.ALLOC.json (NAME or NAME_at_peak).
 * The replay must be of log (the log the checked summary names): a replay of another log
 * would measure another program. */
static int replay_value(const char *dir, const char *key, const char *log, double *out, char *why,
                        size_t len)
{
    const char *dot = strchr(key, '.');
    if (!dir) {
        snprintf(why, len, "needs replay: run `mallog replay LOG -a %.*s -o DIR`, then pass "
                           "--replay DIR", (int)(dot - key), key);
        return -1;
    }
    char path[4200];
    snprintf(path, sizeof path, "%s/replay.%.*s.json", dir, (int)(dot - key), key);
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(why, len, "needs replay: %s: %s (run `mallog replay LOG -a %.*s -o %s`)", path,
                 strerror(errno), (int)(dot - key), key, dir);
        return -1;
    }
    fclose(f);
    struct summary s;
    if (summary_load_json("check", path, &s) != 0) {
        snprintf(why, len, "cannot read %s", path);
        return -1;
    }
    int rc = -1;
    const struct summary_entry *rl = summary_get(&s, "log");
    char name[SUMMARY_KEY_MAX + 16];
    const struct summary_entry *e = summary_get(&s, dot + 1);
    if (!e) {
        snprintf(name, sizeof name, "%s_at_peak", dot + 1);
        e = summary_get(&s, name);
    }
    if (!rl || rl->type != SUMMARY_STR) {
        snprintf(why, len, "%s names no log: not a `mallog replay` summary", path);
    } else if (!log) {
        snprintf(why, len, "the checked summary names no log to match %s", path);
    } else if (!same_log(rl->str, log)) {
        snprintf(why, len, "%s is a replay of %s, not of %s", path, rl->str, log);
    } else if (e && e->type == SUMMARY_NUM) {
        *out = e->num;
        rc = 0;
    } else {
        snprintf(why, len, "%s has no figure '%s'", path, dot + 1);
    }
    summary_free(&s);
    return rc;
}

/* The figure key of s: 0, or -1 with why naming the file (absent is never 0). A count column
 * of a table row the writer leaves out when empty is 0. */
static int value_of(const struct summary *s, const char *key, double *v, char *why, size_t len)
{
    int k = summary_num(s, key, v);
    if (k == SUMMARY_FOUND || k == SUMMARY_NO_ROW)
        return 0;
    snprintf(why, len, "%s has no figure '%s'", s->name, key);
    return -1;
}

static void fmt(char *buf, size_t len, double v)
{
    if (v == floor(v) && fabs(v) < 1e18)
        snprintf(buf, len, "%.0f", v);
    else
        snprintf(buf, len, "%.4g", v);
}

static const char usage[] =
    "usage: mallog check LOG|SUMMARY.json --budget FILE [--baseline LOG|JSON] [--replay DIR]\n"
    "                    [--pid PID] [--tap] [--junit FILE]\n";

/* What `mallog check` is asked. */
struct check_args {
    const char *input, *budget, *baseline, *replay, *junit;
    int tap;
    struct rec_pid pid;
};

/* Options into a. Returns 0, 1 for --help (printed), or -1 (said). */
static int parse_args(int argc, char **argv, struct check_args *a)
{
    static const struct option opts[] = {{"budget", required_argument, NULL, 'b'},
                                         {"baseline", required_argument, NULL, 'B'},
                                         {"replay", required_argument, NULL, 'r'},
                                         {"pid", required_argument, NULL, 'p'},
                                         {"tap", no_argument, NULL, 't'},
                                         {"junit", required_argument, NULL, 'j'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int c;
    a->pid = (struct rec_pid)REC_PID_NONE;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'b': a->budget = optarg; break;
        case 'B': a->baseline = optarg; break;
        case 'r': a->replay = optarg; break;
        case 'p':
            if (rec_parse_pid("check", optarg, &a->pid) != 0)
                return -1;
            break;
        case 't': a->tap = 1; break;
        case 'j': a->junit = optarg; break;
        case 'h':
            printf("%s\nEvaluates budget rules, one per line (# comments):\n"
                   "  peak_live_bytes <= 64M\n  allocations <= 1.05 * baseline\n"
                   "  leaked_blocks == 0\n  glibc.footprint_ratio <= 1.5\n"
                   "Keys: the figures of `mallog stats --json` (docs/ANALYZE.md), aliases\n"
                   "peak_live_bytes, peak_blocks, leaks; ALLOC.NAME from a replay directory.\n"
                   "Prints each rule with its measured value, limit and PASS/FAIL/ERROR;\n"
                   "--tap: TAP on stdout; --junit FILE: a JUnit XML report.\n"
                   "Exit 0 = within budget, 1 = over budget, 2 = error.\n", usage);
            return 1;
        default: fputs(usage, stderr); return -1;
        }
    }
    if (argc - optind != 1 || !a->budget) {
        fputs(usage, stderr);
        return -1;
    }
    a->input = argv[optind];
    return 0;
}

/* The rules of a->budget into *rules (caller frees, also on error). Every bad line is said
 * before giving up, so one run lists all the mistakes of a budget file. 0, or -1 (said). */
static int load_rules(const struct check_args *a, struct rule **rules, size_t *nrules)
{
    FILE *bf = fopen(a->budget, "r");
    if (!bf) {
        fprintf(stderr, "mallog check: %s: %s\n", a->budget, strerror(errno));
        return -1;
    }
    size_t cap = 0;
    int bad = 0, lineno = 0;
    char line[1024];
    while (fgets(line, sizeof line, bf)) {
        lineno++;
        char *hash = strchr(line, '#');
        if (hash)
            *hash = 0;
        char *p = line;
        while (isspace((unsigned char)*p))
            p++;
        if (!*p)
            continue;
        if (*nrules == cap) {
            cap = cap ? cap * 2 : 16;
            struct rule *nr = realloc(*rules, cap * sizeof *nr);
            if (!nr) {
                fprintf(stderr, "mallog check: out of memory\n");
                fclose(bf);
                return -1;
            }
            *rules = nr;
        }
        struct rule *r = &(*rules)[*nrules];
        memset(r, 0, sizeof *r);
        r->line = lineno;
        snprintf(r->text, sizeof r->text, "%s", p);
        r->text[strcspn(r->text, "\r\n")] = 0;
        for (size_t l = strlen(r->text); l && isspace((unsigned char)r->text[l - 1]); l--)
            r->text[l - 1] = 0;
        if (parse_rule(p, r) != 0) {
            fprintf(stderr, "mallog check: %s:%d: %s: %s\n", a->budget, lineno, r->why, r->text);
            bad = 1;
            continue;
        }
        if (r->uses_baseline && !a->baseline) {
            fprintf(stderr, "mallog check: %s:%d: the rule uses 'baseline' but no --baseline "
                            "was given: %s\n", a->budget, lineno, r->text);
            bad = 1;
            continue;
        }
        (*nrules)++;
    }
    fclose(bf);
    if (bad)
        return -1;
    if (!*nrules) {
        fprintf(stderr, "mallog check: %s: no rules\n", a->budget);
        return -1;
    }
    return 0;
}

/* Measures and judges each rule against S (and Bs for baseline rules): fills measured, limit,
 * result and why. A rule that cannot be measured is an ERROR, never a pass. */
static void evaluate(struct rule *rules, size_t nrules, const struct summary *S,
                     const struct summary *Bs, const char *replay, int *fails, int *errors)
{
    const struct summary_entry *log = summary_get(S, "log");
    for (size_t i = 0; i < nrules; i++) {
        struct rule *r = &rules[i];
        int found;
        if (is_replay_key(r->key))
            found = replay_value(replay, r->key, log && log->type == SUMMARY_STR ? log->str : NULL,
                                 &r->measured, r->why, sizeof r->why) == 0;
        else
            found = value_of(S, r->key, &r->measured, r->why, sizeof r->why) == 0;
        if (found && r->uses_baseline) {
            double base = 0;
            if (is_replay_key(r->key)) {
                snprintf(r->why, sizeof r->why, "a replay figure cannot use a baseline");
                found = 0;
            } else {
                found = value_of(Bs, r->key, &base, r->why, sizeof r->why) == 0;
            }
            r->limit = r->factor * base + r->offset;
        } else {
            r->limit = r->constant;
        }
        if (!found) {
            r->result = R_ERROR;
            (*errors)++;
            continue;
        }
        double m = r->measured, l = r->limit;
        int ok = r->op == OP_LE ? m <= l : r->op == OP_LT ? m < l : r->op == OP_GE ? m >= l
               : r->op == OP_GT ? m > l : r->op == OP_EQ ? m == l : m != l;
        r->result = ok ? R_PASS : R_FAIL;
        *fails += !ok;
    }
}

/* The verdicts on stdout: TAP with --tap, else one line per rule and a tally naming what was
 * checked (what CI logs show). */
static void print_results(const struct check_args *a, const struct rule *rules, size_t nrules,
                          int fails, int errors, const char *checked)
{
    if (a->tap)
        printf("TAP version 13\n1..%zu\n", nrules);
    for (size_t i = 0; i < nrules; i++) {
        const struct rule *r = &rules[i];
        char m[32], l[32];
        fmt(m, sizeof m, r->measured);
        fmt(l, sizeof l, r->limit);
        if (a->tap) {
            printf("%s %zu - %s:%d: %s", r->result == R_PASS ? "ok" : "not ok", i + 1, a->budget,
                   r->line, r->text);
            if (r->result == R_ERROR)
                printf(" # error: %s\n", r->why);
            else
                printf(" (measured %s, limit %s)\n", m, l);
        } else if (r->result == R_ERROR) {
            printf("%-5s %s:%d: %-44s %s\n", result_text[r->result], a->budget, r->line, r->text,
                   r->why);
        } else {
            printf("%-5s %s:%d: %-44s measured %s, limit %s %s\n", result_text[r->result],
                   a->budget, r->line, r->text, m, op_text[r->op], l);
        }
    }
    if (!a->tap)
        printf("%zu rules: %zu passed, %d failed, %d errors (%s)\n", nrules,
               nrules - (size_t)fails - (size_t)errors, fails, errors, checked);
}

/* The JUnit XML report for CI dashboards. 0, or -1 when it cannot be written (an error: a
 * missing report must not read as a passing build). */
static int write_junit(const struct check_args *a, const struct rule *rules, size_t nrules,
                       int fails, int errors)
{
    FILE *j = fopen(a->junit, "w");
    if (!j) {
        fprintf(stderr, "mallog check: %s: %s\n", a->junit, strerror(errno));
        return -1;
    }
    fprintf(j, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n"
               "  <testsuite name=\"mallog check\" tests=\"%zu\" failures=\"%d\" "
               "errors=\"%d\">\n", nrules, fails, errors);
    for (size_t i = 0; i < nrules; i++) {
        const struct rule *r = &rules[i];
        char m[32], l[32];
        fmt(m, sizeof m, r->measured);
        fmt(l, sizeof l, r->limit);
        fprintf(j, "    <testcase classname=\"");
        msg_xml_escape(j, a->budget);
        fprintf(j, "\" name=\"");
        msg_xml_escape(j, r->text);
        fprintf(j, "\">");
        if (r->result == R_FAIL)
            fprintf(j, "<failure message=\"measured %s, limit %s\"/>", m, l);
        else if (r->result == R_ERROR) {
            fprintf(j, "<error message=\"");
            msg_xml_escape(j, r->why);
            fprintf(j, "\"/>");
        }
        fprintf(j, "</testcase>\n");
    }
    fprintf(j, "  </testsuite>\n</testsuites>\n");
    return fclose(j) != 0 ? -1 : 0;
}

int cmd_check(int argc, char **argv)
{
    struct check_args a = {0};
    struct rule *rules = NULL;
    size_t nrules = 0;
    int rc = EXIT_ERROR;
    int p = parse_args(argc, argv, &a);
    if (p != 0)
        return p > 0 ? 0 : EXIT_ERROR;
    if (load_rules(&a, &rules, &nrules) != 0)
        goto out_rules;
    struct summary S, Bs = {0};
    if (summary_load("check", a.input, &a.pid, &S) != 0)
        goto out_rules;
    if (a.baseline && summary_load("check", a.baseline, &a.pid, &Bs) != 0) {
        summary_free(&S);
        goto out_rules;
    }
    int fails = 0, errors = 0;
    evaluate(rules, nrules, &S, &Bs, a.replay, &fails, &errors);
    print_results(&a, rules, nrules, fails, errors, S.name);
    rc = errors ? EXIT_ERROR : fails ? EXIT_DIFF : 0;
    if (a.junit && write_junit(&a, rules, nrules, fails, errors) != 0)
        rc = EXIT_ERROR;
    summary_free(&S);
    summary_free(&Bs);
out_rules:
    free(rules);
    return rc;
}

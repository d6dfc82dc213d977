/* recording.h - knowledge of recordings, for every tool that reads them: how logs are named,
 * finding the logs of a prefix or directory, picking the one an analysis reads, the log a forked
 * child came from, and seeding a child's inherited heap. Depends on lib/ and msg.h only. */
#ifndef MLG_RECORDING_H
#define MLG_RECORDING_H

#include <stddef.h>
#include <stdint.h>
#include "../lib/mallog.h"

/* A LOG argument is a .mlog file, a directory, or a recording prefix ("trace" for
 * trace.<pid>[.<gen>].mlog). */
struct rec_log {
    char path[4096];
    struct mlg_header header;
    int header_ok;
};
/* The name of a log: <prefix>.<pid>.mlog for the first image of a pid, <prefix>.<pid>.<gen>.mlog
 * after the gen-th exec. (preload/recorder.c builds the same name without stdio.) */
void rec_log_name(char *out, size_t len, const char *prefix, uint64_t pid, unsigned gen);
/* Segment k (>= 1) of that log, recorded with --max-size: <prefix>.<pid>[.<gen>].s<k>.mlog
 * (k = 0: rec_log_name). A segment being written carries ".partial" after it, as a whole log
 * written while its process runs does; preload/recorder.c checks the names of segment 1. */
void rec_segment_name(char *out, size_t len, const char *prefix, uint64_t pid, unsigned gen,
                      unsigned k);
/* "mallog CMD: LOG: pid N is still running ...: read up to event M", on stderr: a tool read a
 * log being written (mlg_reader_in_progress). */
void rec_say_running(const char *cmd, const char *path, uint64_t pid, uint64_t events);
/* --pid: a process of a recording, PID or PID.GEN (the gen-th exec image of PID). */
struct rec_pid {
    uint64_t pid;  /* 0 = no selection */
    long long gen; /* < 0 = any generation */
};
#define REC_PID_NONE {0, -1}
/* Parses "PID" or "PID.GEN" into *out: 0, or -1 with a message (`mallog CMD: --pid: ...`). */
int rec_parse_pid(const char *cmd, const char *arg, struct rec_pid *out);
/* "PID" or "PID.GEN", as `mallog info` names a process. */
void rec_pid_label(char *out, size_t len, const struct mlg_header *h);
/* Fills *out (malloc'd, sorted by start time) with the logs arg names. Returns the count, or -1
 * with a message printed. A selection (sel non-NULL, sel->pid != 0) keeps only those processes;
 * a log file named outright that is not the selected process is an error. */
int rec_find_logs(const char *cmd, const char *arg, const struct rec_pid *sel,
                  struct rec_log **out);
/* The index in logs[] of the log that started log i's process (its fork or exec link, or for a
 * process spawned without one, the newest log of its ppid started before it), or -1. */
int rec_parent_index(const struct rec_log *logs, int n, int i);
/* The one log an analysis command reads: arg is a file, or a prefix/dir (+ a selection). Among
 * several: the newest recording of the prefix, and in it the process with the most events; both
 * choices are said on stderr. Returns 0 or prints an error and returns -1. */
int rec_pick_log(const char *cmd, const char *arg, const struct rec_pid *sel, char *path,
                 size_t len);
/* The log of the process h was forked from, beside path (same recording prefix). 0 or -1. */
int rec_parent_log(const char *path, const struct mlg_header *h, char *out, size_t len);
/* The fork ancestors of the log at path (header h), oldest first: fn(ctx, parent log, upto) for
 * each, where the child's heap is the parent's live blocks before sequence number upto (the fork
 * point). A missing or unreadable ancestor ends the chain there. alloc: the reader's allocator
 * (NULL = libc). Returns the number of ancestors seen. */
int rec_fork_chain(const char *path, const struct mlg_header *h, const struct mlg_allocator *alloc,
                   void (*fn)(void *ctx, const char *parent, uint64_t upto), void *ctx);
/* The recording a LOG argument belongs to: for a log file named as a recording names its logs
 * (<prefix>.<pid>[.<gen>].mlog), its prefix; anything else as it is. */
void rec_recording_of(const char *arg, char *out, size_t len);
/* Seeds c with the heap a forked child inherited, following fork links up the tree. Returns the
 * number of ancestor logs read (0 when h is not a forked child or the parent log is absent). */
int rec_seed_inherited(struct mlg_check *c, const char *path, const struct mlg_header *h);

#endif

/* lifecycle.c - fork, exec and exit in the traced process.
 *
 * No signal handlers, no atexit: records already sit in shared file pages, so these hooks only
 * mark how the process ends and link a forked child's log to its parent's. Runs inside the traced
 * process: no malloc, no stdio.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "preload.h"

extern pid_t __fork(void);

typedef void (*exit_fn)(int);
static exit_fn real_exit;
static pid_t (*real_Fork)(void);
static __thread int in_fork __attribute__((tls_model("initial-exec")));
static int (*real_execve)(const char *, char *const[], char *const[]);
static int (*real_execvpe)(const char *, char *const[], char *const[]);
static int (*real_fexecve)(int, char *const[], char *const[]);

void hooks_resolve(void) MLG_HIDDEN;
void rec_constructor(void) MLG_HIDDEN;
void rec_destructor(void) MLG_HIDDEN;

static void emit_simple(unsigned op, uint64_t arg, int64_t result)
{
    struct tstate *t = rec_thread();
    if (t)
        rec_event(t, op, MLG_OUT_OK, arg, 0, 0, result);
}

MLG_EXPORT pid_t fork(void)
{
    struct tstate *t = rec_thread();
    if (t)
        rec_enter(t); /* until the FORK record is written, after the fork */
    mlg_rec.fork_seq = rec_seq(); /* the child's log starts after this point of ours */
    uint64_t fork_seq = mlg_rec.fork_seq;
    in_fork = 1;
    pid_t pid = __fork(); /* runs the atfork handlers: the child gets its own log there */
    in_fork = 0;
    if (pid != 0 && t) {
        rec_emit(t, MLG_OP_FORK, pid > 0 ? MLG_OUT_OK : MLG_OUT_FAILED, fork_seq, 0, 0, 0, 0, 0,
                 pid, 0);
        rec_leave(t);
    }
    return pid;
}

/* _Fork runs no atfork handlers, so the child path runs here. */
MLG_EXPORT pid_t _Fork(void)
{
    if (in_fork || !real_Fork)
        return real_Fork ? real_Fork() : __fork();
    struct tstate *t = rec_thread();
    if (t)
        rec_enter(t);
    uint64_t fork_seq = rec_seq();
    uint64_t parent = (uint64_t)mlg_rec.pid;
    uint32_t gen = mlg_rec.exec_gen;
    int active = __atomic_load_n(&mlg_rec.state, __ATOMIC_ACQUIRE) == REC_ACTIVE;
    pid_t pid = real_Fork();
    if (pid == 0) {
        if (active)
            rec_after_fork_child(parent, gen, fork_seq);
    } else if (t) {
        rec_emit(t, MLG_OP_FORK, pid > 0 ? MLG_OUT_OK : MLG_OUT_FAILED, fork_seq, 0, 0, 0, 0, 0,
                 pid, 0);
        rec_leave(t);
    }
    return pid;
}

/* exec: the records are already in the page cache; just say this image ended by exec. If exec
 * fails and returns, take it back. */
/* A vfork child (or posix_spawn's clone) shares our memory and spool mapping but is another
 * process: its exec must not mark our log as ended. */
static int in_vfork_child(void)
{
    return (pid_t)syscall(SYS_getpid) != mlg_rec.pid;
}

static void before_exec(void)
{
    if (in_vfork_child())
        return;
    emit_simple(MLG_OP_EXEC, 0, 0);
    rec_mark_end(MLG_END_EXEC, 0, 1);
}

static void exec_failed(int saved_errno)
{
    if (in_vfork_child()) {
        errno = saved_errno;
        return;
    }
    emit_simple(MLG_OP_EXEC, 0, -saved_errno);
    if (mlg_rec.hdr)
        __atomic_store_n(&mlg_rec.hdr->end_set, 0u, __ATOMIC_RELEASE);
    errno = saved_errno;
}

/* The environment for an exec'd image: envp plus MALLOG_EXEC=<pid>:<gen>, so the next image of
 * this pid knows which log it continues. Built on the caller's stack (no malloc); an environment
 * too large for that is passed on unchanged. */
#define MAX_ENV_ON_STACK 8192
#define WITH_EXEC_ENV(envp, out)                                                                   \
    size_t n_env_ = 0;                                                                             \
    while ((envp) && (envp)[n_env_])                                                               \
        n_env_++;                                                                                  \
    char *out[n_env_ < MAX_ENV_ON_STACK ? n_env_ + 2 : 1];                                         \
    char exec_var_[64];                                                                            \
    char *const *out##_use = (envp);                                                               \
    if (n_env_ < MAX_ENV_ON_STACK && mlg_rec.hdr && !in_vfork_child()) {                           \
        size_t k_ = 0;                                                                             \
        for (size_t i_ = 0; i_ < n_env_; i_++)                                                     \
            if (strncmp((envp)[i_], "MALLOG_EXEC=", 12) != 0)                                      \
                out[k_++] = (envp)[i_];                                                            \
        exec_env_var(exec_var_);                                                                   \
        out[k_++] = exec_var_;                                                                     \
        out[k_] = NULL;                                                                            \
        out##_use = out;                                                                           \
    }

static void exec_env_var(char *buf)
{
    char digits[24];
    char *p = stpcpy(buf, "MALLOG_EXEC=");
    uint64_t vals[2] = {(uint64_t)mlg_rec.pid, mlg_rec.exec_gen};
    for (int k = 0; k < 2; k++) {
        int n = 0;
        uint64_t v = vals[k];
        do {
            digits[n++] = (char)('0' + v % 10);
            v /= 10;
        } while (v);
        while (n)
            *p++ = digits[--n];
        if (k == 0)
            *p++ = ':';
    }
    *p = 0;
}

MLG_EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
    WITH_EXEC_ENV(envp, env);
    before_exec();
    int r = real_execve ? real_execve(path, argv, env_use)
                        : (int)syscall(SYS_execve, path, argv, env_use);
    exec_failed(errno);
    return r;
}

MLG_EXPORT int execv(const char *path, char *const argv[])
{
    extern char **environ;
    return execve(path, argv, environ);
}

MLG_EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
    WITH_EXEC_ENV(envp, env);
    before_exec();
    int r = real_execvpe ? real_execvpe(file, argv, env_use) : -1;
    exec_failed(real_execvpe ? errno : ENOSYS);
    return r;
}

MLG_EXPORT int execvp(const char *file, char *const argv[])
{
    extern char **environ;
    return execvpe(file, argv, environ);
}

MLG_EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
    WITH_EXEC_ENV(envp, env);
    before_exec();
    int r = real_fexecve ? real_fexecve(fd, argv, env_use) : -1;
    exec_failed(real_fexecve ? errno : ENOSYS);
    return r;
}

/* The execl family is variadic; gather the arguments on the stack. */
#define GATHER_ARGS(first, last_named, argv_out, envp_out, want_env)                               \
    size_t argc_ = 1;                                                                              \
    va_list ap_;                                                                                   \
    va_start(ap_, last_named);                                                                     \
    while (va_arg(ap_, char *) != NULL)                                                            \
        argc_++;                                                                                   \
    va_end(ap_);                                                                                   \
    char *argv_out[argc_ + 1];                                                                     \
    char **envp_out = NULL;                                                                        \
    va_start(ap_, last_named);                                                                     \
    argv_out[0] = (char *)(first);                                                                 \
    for (size_t i_ = 1; i_ <= argc_; i_++)                                                         \
        argv_out[i_] = va_arg(ap_, char *);                                                        \
    if (want_env)                                                                                  \
        envp_out = va_arg(ap_, char **);                                                           \
    va_end(ap_);

MLG_EXPORT int execl(const char *path, const char *arg, ...)
{
    extern char **environ;
    GATHER_ARGS(arg, arg, argv, envp, 0);
    (void)envp;
    return execve(path, argv, environ);
}

MLG_EXPORT int execle(const char *path, const char *arg, ...)
{
    GATHER_ARGS(arg, arg, argv, envp, 1);
    return execve(path, argv, envp);
}

MLG_EXPORT int execlp(const char *file, const char *arg, ...)
{
    extern char **environ;
    GATHER_ARGS(arg, arg, argv, envp, 0);
    (void)envp;
    return execvpe(file, argv, environ);
}

MLG_EXPORT void exit(int status)
{
    emit_simple(MLG_OP_EXIT, 1, status);
    rec_mark_end(MLG_END_EXIT, status, 1);
    if (real_exit)
        real_exit(status);
    syscall(SYS_exit_group, status);
    __builtin_unreachable();
}

static void quick_exit_common(int status)
{
    emit_simple(MLG_OP_EXIT, 2, status);
    rec_mark_end(MLG_END_UNDERSCORE_EXIT, status, 1);
    syscall(SYS_exit_group, status);
    __builtin_unreachable();
}

MLG_EXPORT void _exit(int status)
{
    quick_exit_common(status);
    __builtin_unreachable();
}

MLG_EXPORT void _Exit(int status)
{
    quick_exit_common(status);
    __builtin_unreachable();
}

__attribute__((constructor(101))) static void preload_constructor(void)
{
    int saved = errno;
    real_exit = (exit_fn)dlsym(RTLD_NEXT, "exit");
    real_Fork = (pid_t(*)(void))dlsym(RTLD_NEXT, "_Fork");
    real_execve = (int (*)(const char *, char *const[], char *const[]))dlsym(RTLD_NEXT, "execve");
    real_execvpe =
        (int (*)(const char *, char *const[], char *const[]))dlsym(RTLD_NEXT, "execvpe");
    real_fexecve = (int (*)(int, char *const[], char *const[]))dlsym(RTLD_NEXT, "fexecve");
    rec_constructor();
    hooks_resolve();
    errno = saved;
}

__attribute__((destructor)) static void preload_destructor(void)
{
    rec_destructor();
}

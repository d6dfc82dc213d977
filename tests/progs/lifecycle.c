/* lifecycle.c - process-lifecycle workloads for the recorder's e2e tests (issue 4).
 * usage: lifecycle MODE [args]
 *   fork_storm THREADS FORKS  threads allocate while main forks; children free inherited blocks
 *   die HOW N                 N malloc/free rounds, then exit|_exit|abort|segv|kill|return
 *   daemon PIDFILE            double fork, setsid, close every fd, dup2 over 0..1023, chdir /
 *   sigalrm MS                a SIGALRM handler that mallocs during a malloc loop
 *   tls_dtor THREADS          pthread key destructors that free at thread exit
 *   spawn                     vfork+exec, posix_spawn, _Fork, system()
 * Every mode prints one line "ok <number>" where the number is mode-specific (tests check it). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;
extern pid_t _Fork(void);

static volatile int stop;
static void *inherited[64];

static void *churn_thread(void *arg)
{
    (void)arg;
    void *keep[32] = {0};
    unsigned i = 0;
    while (!stop) {
        unsigned k = i++ % 32;
        free(keep[k]);
        keep[k] = malloc(16 + (i % 500));
    }
    for (unsigned k = 0; k < 32; k++)
        free(keep[k]);
    return NULL;
}

static int fork_storm(int threads, int forks)
{
    for (int i = 0; i < 64; i++)
        inherited[i] = malloc(100 + (size_t)i);
    pthread_t t[64];
    for (int i = 0; i < threads && i < 64; i++)
        pthread_create(&t[i], NULL, churn_thread, NULL);
    int ok = 0;
    for (int f = 0; f < forks; f++) {
        pid_t pid = fork();
        if (pid == 0) {
            /* the child owns copies of the parent's blocks: free some, allocate its own */
            for (int i = 0; i < 64; i += 2)
                free(inherited[i]);
            for (int i = 0; i < 1000; i++)
                free(malloc(32));
            exit(0);
        }
        int st;
        if (pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0)
            ok++;
    }
    stop = 1;
    for (int i = 0; i < threads && i < 64; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < 64; i++)
        free(inherited[i]);
    printf("ok %d\n", ok);
    return 0;
}

static int die(const char *how, long n)
{
    void *keep[16] = {0};
    for (long i = 0; i < n; i++) {
        free(keep[i % 16]);
        keep[i % 16] = malloc(64);
    }
    printf("ok %ld\n", n);
    fflush(stdout);
    if (!strcmp(how, "exit"))
        exit(7);
    if (!strcmp(how, "_exit"))
        _exit(8);
    if (!strcmp(how, "abort"))
        abort();
    if (!strcmp(how, "segv"))
        *(volatile int *)(uintptr_t)8 = 1;
    if (!strcmp(how, "kill"))
        kill(getpid(), SIGKILL);
    return 0;
}

static int daemonize(const char *pidfile)
{
    pid_t p = fork();
    if (p < 0)
        return 1;
    if (p > 0) {
        int st;
        waitpid(p, &st, 0); /* the intermediate child exits at once */
        printf("ok 0\n");
        return 0;
    }
    setsid();
    if (fork() != 0)
        _exit(0);
    FILE *f = fopen(pidfile, "w");
    if (f) {
        fprintf(f, "%d\n", (int)getpid());
        fclose(f);
    }
    syscall(SYS_close_range, 0u, ~0u, 0u);
    int fd = open("/dev/null", O_RDWR);
    for (int i = 0; i < 1024; i++)
        if (i != fd)
            dup2(fd, i);
    if (chdir("/") != 0)
        _exit(3);
    char *blocks[100] = {0};
    for (int i = 0; i < 20000; i++) {
        free(blocks[i % 100]);
        blocks[i % 100] = malloc(24 + (size_t)(i % 300));
    }
    for (int i = 0; i < 100; i++)
        free(blocks[i]);
    /* stdout is /dev/null now: nothing to print */
    exit(0);
}

static volatile long handler_mallocs;

/* malloc in a signal handler is not async-signal-safe in glibc: the handler uses a size class
 * of its own, pre-filled in the tcache, so glibc itself stays consistent while our hooks are
 * interrupted at every possible instruction. */
#define HANDLER_SIZE 500 /* tcache covers up to 1032 bytes */

static void on_alarm(int sig)
{
    (void)sig;
    void *p = malloc(HANDLER_SIZE);
    free(p);
    handler_mallocs++;
}

static int sigalrm(long ms)
{
    void *warm[4];
    for (int k = 0; k < 4; k++)
        warm[k] = malloc(HANDLER_SIZE);
    for (int k = 0; k < 4; k++)
        free(warm[k]);
    struct sigaction sa = {0};
    sa.sa_handler = on_alarm;
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval it = {{0, 500}, {0, 500}};
    setitimer(ITIMER_REAL, &it, NULL);
    struct timeval start, now;
    gettimeofday(&start, NULL);
    void *keep[8] = {0};
    long i = 0;
    do {
        for (int k = 0; k < 1000; k++, i++) {
            free(keep[i % 8]);
            keep[i % 8] = malloc(16 + (size_t)(i % 64));
            for (volatile int w = 0; w < 100; w++) /* some work between calls */
                ;
        }
        gettimeofday(&now, NULL);
    } while ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_usec - start.tv_usec) / 1000 < ms);
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, NULL);
    for (int k = 0; k < 8; k++)
        free(keep[k]);
    printf("ok %ld\n", handler_mallocs);
    return 0;
}

static pthread_key_t key;

static void free_value(void *p)
{
    free(p);
}

static void *tls_thread(void *arg)
{
    (void)arg;
    pthread_setspecific(key, malloc(333));
    for (int i = 0; i < 100; i++)
        free(malloc(10));
    return NULL;
}

static int tls_dtor(int threads)
{
    pthread_key_create(&key, free_value);
    for (int i = 0; i < threads; i++) {
        pthread_t t;
        pthread_create(&t, NULL, tls_thread, NULL);
        pthread_join(t, NULL);
    }
    printf("ok %d\n", threads);
    return 0;
}

static int spawn(void)
{
    int ok = 0, st;
    char *targv[] = {"true", NULL};
    pid_t p = vfork();
    if (p == 0) {
        execve("/bin/true", targv, environ);
        _exit(127);
    }
    ok += waitpid(p, &st, 0) == p && WIFEXITED(st) && WEXITSTATUS(st) == 0;
    if (posix_spawn(&p, "/bin/true", NULL, NULL, targv, environ) == 0)
        ok += waitpid(p, &st, 0) == p && WIFEXITED(st) && WEXITSTATUS(st) == 0;
    p = _Fork();
    if (p == 0) {
        for (int i = 0; i < 100; i++)
            free(malloc(200));
        _exit(0);
    }
    ok += waitpid(p, &st, 0) == p && WIFEXITED(st) && WEXITSTATUS(st) == 0;
    ok += system("true") == 0;
    printf("ok %d\n", ok);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    const char *m = argv[1];
    if (!strcmp(m, "fork_storm") && argc == 4)
        return fork_storm(atoi(argv[2]), atoi(argv[3]));
    if (!strcmp(m, "die") && argc == 4)
        return die(argv[2], atol(argv[3]));
    if (!strcmp(m, "daemon") && argc == 3)
        return daemonize(argv[2]);
    if (!strcmp(m, "sigalrm") && argc == 3)
        return sigalrm(atol(argv[2]));
    if (!strcmp(m, "tls_dtor") && argc == 3)
        return tls_dtor(atoi(argv[2]));
    if (!strcmp(m, "spawn"))
        return spawn();
    fprintf(stderr, "lifecycle: bad arguments\n");
    return 2;
}

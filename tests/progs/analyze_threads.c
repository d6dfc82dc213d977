/* analyze_threads.c - cross-thread frees with known counts (tests/e2e/t_stats_threads.sh).
 * The main thread allocates 10 x 300 bytes; a second thread frees them (10 cross-thread frees)
 * and allocates 5 x 700 bytes, which main frees after the join (5 more). One block of 123 bytes
 * allocated by the second thread is leaked. Prints nothing. Threads in the log: 2. */
#include <pthread.h>
#include <stdlib.h>

static void *blocks[10];
static void *theirs[5];
void *volatile leaked;

static void *worker(void *arg)
{
    (void)arg;
    for (int i = 0; i < 10; i++)
        free(blocks[i]);
    for (int i = 0; i < 5; i++)
        theirs[i] = malloc(700);
    leaked = malloc(123);
    return NULL;
}

int main(void)
{
    for (int i = 0; i < 10; i++)
        blocks[i] = malloc(300);
    pthread_t t;
    if (pthread_create(&t, NULL, worker, NULL) != 0)
        return 3;
    pthread_join(t, NULL);
    for (int i = 0; i < 5; i++)
        free(theirs[i]);
    return 0;
}

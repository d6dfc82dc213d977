/* pause.c - a program that allocates a little, pauses, and allocates a little again: its log
 * must carry the times of the calls after the pause and of its end (issue 15 item 4).
 * Usage: pause MILLISECONDS  (then returns from main: the end is seen by the destructor) */
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void pause_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

int main(int argc, char **argv)
{
    long ms = argc > 1 ? atol(argv[1]) : 1000;
    char *held = malloc(100000); /* lives across the pause */
    memset(held, 1, 100000);
    pause_ms(ms);
    free(held);
    char *after = malloc(64); /* allocated after the pause, held across a second one */
    pause_ms(ms);
    free(after);
    return 0;
}

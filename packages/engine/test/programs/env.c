/* ESCAPES 56: the environment the server sees, "env.NAME=VALUE" per variable, and whether the
 * environment of init (PID 1) can be read. */
#include "common.h"

extern char **environ;

int main(void)
{
    int n = 0;
    for (char **e = environ; *e != NULL; e++, n++)
        printf("env.%s\n", *e);
    reportf("env_count", "%d", n);
    CHECK_FD("init_environ", open("/proc/1/environ", O_RDONLY | O_CLOEXEC));
    return 0;
}

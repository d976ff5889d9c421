/* rtime CMD ARGS...: runs CMD (stdout and stderr to /dev/null), then prints on stdout
 * "WALL_US USER_US SYS_US MAXRSS_KIB EXIT": wait4's resource usage, which counts the command and
 * every descendant it waited for (for mcp-j: node, the helper, the jail). bench/lib/mcp-timing.mjs
 * builds it with the system compiler; /usr/bin/time only gives 10 ms steps. */
#include <fcntl.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    pid_t pid = fork();
    if (pid < 0)
        return 2;
    if (pid == 0) {
        int fd = open("/dev/null", O_RDWR);
        if (fd < 0 || dup2(fd, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
            _exit(2);
        execvp(argv[1], argv + 1);
        _exit(127);
    }
    int status;
    struct rusage ru;
    if (wait4(pid, &status, 0, &ru) != pid)
        return 2;
    clock_gettime(CLOCK_MONOTONIC, &b);
    long long wall = (b.tv_sec - a.tv_sec) * 1000000LL + (b.tv_nsec - a.tv_nsec) / 1000;
    printf("%lld %lld %lld %ld %d\n", wall, ru.ru_utime.tv_sec * 1000000LL + ru.ru_utime.tv_usec,
           ru.ru_stime.tv_sec * 1000000LL + ru.ru_stime.tv_usec, ru.ru_maxrss,
           WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
    return 0;
}

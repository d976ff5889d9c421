/* ESCAPES 5: runs argv[1] with LD_PRELOAD=argv[2] (when given) and reports how it ended. */
#include "common.h"

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    char env[4096];
    snprintf(env, sizeof env, "LD_PRELOAD=%s", argc > 2 ? argv[2] : "");
    char *envp[] = { env, NULL };
    char *args[] = { argv[1], NULL };
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        execve(argv[1], args, envp);
        reportf("exec", "%s", errname(errno));
        _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    reportf("status", WIFEXITED(status) ? "exit:%d" : "signal:%d", WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
    return 0;
}

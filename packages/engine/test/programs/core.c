/* ESCAPES 28: a crash leaves no core file, whatever the jail does to its limits. */
#include "common.h"
#include <sys/prctl.h>
#include <sys/resource.h>

int main(void)
{
    struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };
    CHECK("raise_core_limit", setrlimit(RLIMIT_CORE, &rl));
    struct rlimit one = { 1 << 20, 1 << 20 };
    CHECK("raise_core_limit_1m", setrlimit(RLIMIT_CORE, &one));
    getrlimit(RLIMIT_CORE, &rl);
    reportf("core_limit", "%llu %llu", (unsigned long long)rl.rlim_cur, (unsigned long long)rl.rlim_max);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        /* Try again from the crashing process itself, then crash. */
        setrlimit(RLIMIT_CORE, &one);
        prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
        abort();
    }
    int status = 0;
    waitpid(pid, &status, 0);
    reportf("crash", "signal:%d core:%s", WIFSIGNALED(status) ? WTERMSIG(status) : 0, WCOREDUMP(status) ? "yes" : "no");
    /* Anything named core* in the working directory? */
    DIR *d = opendir(".");
    char names[1024] = "";
    struct dirent *e;
    while (d != NULL && (e = readdir(d)) != NULL)
        if (strncmp(e->d_name, "core", 4) == 0)
            snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", names[0] ? "," : "", e->d_name);
    if (d != NULL)
        closedir(d);
    report("core_files", names);
    char cwd[PATH_MAX];
    report("cwd", getcwd(cwd, sizeof cwd) != NULL ? cwd : errname(errno));
    return 0;
}

/*
 * ESCAPES 11, 12, 27: the processes the jail can see and reach. argv[1..]: host pids the test
 * knows (mcp-j, the supervisor, a host process of the same user); none may be reachable.
 */
#include "common.h"
#include <sys/ptrace.h>

static void list_proc(void)
{
    DIR *d = opendir("/proc");
    if (d == NULL) {
        report("proc", errname(errno));
        return;
    }
    int pids[64], n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < 64) {
        char *end;
        long v = strtol(e->d_name, &end, 10);
        if (*end == 0 && e->d_name[0] != 0)
            pids[n++] = (int)v;
    }
    closedir(d);
    /* Sorted, so the test compares a plain string. */
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            if (pids[j] < pids[i]) {
                int t = pids[i];
                pids[i] = pids[j];
                pids[j] = t;
            }
    char out[512] = "";
    for (int i = 0; i < n; i++)
        snprintf(out + strlen(out), sizeof out - strlen(out), "%s%d", i ? "," : "", pids[i]);
    report("proc", out);
}

int main(int argc, char **argv)
{
    /* 11. Who is there. */
    list_proc();
    reportf("self", "%d %d", (int)getpid(), (int)getppid());
    char comm[64] = "";
    FILE *f = fopen("/proc/1/comm", "re");
    if (f != NULL) {
        if (fgets(comm, sizeof comm, f) != NULL)
            comm[strcspn(comm, "\n")] = 0;
        fclose(f);
    }
    report("init_comm", comm);

    /* 12. PID 1, the jail's init. */
    CHECK_FD("init_mem_rw", open("/proc/1/mem", O_RDWR | O_CLOEXEC));
    CHECK_FD("init_mem_r", open("/proc/1/mem", O_RDONLY | O_CLOEXEC));
    ISOLATED("ptrace_attach_init", ptrace(PTRACE_ATTACH, 1, NULL, NULL));
    ISOLATED("ptrace_seize_init", ptrace(PTRACE_SEIZE, 1, NULL, NULL));
    int pidfd = (int)syscall(SYS_pidfd_open, 1, 0);
    report("pidfd_open_init", pidfd < 0 ? errname(errno) : "OK");
    if (pidfd >= 0) {
        CHECK_FD("pidfd_getfd_init", syscall(SYS_pidfd_getfd, pidfd, 0, 0));
        CHECK("pidfd_send_signal_init", syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0));
        close(pidfd);
    }
    CHECK("kill_init", kill(1, SIGKILL));

    /* 27. Signals: kill(-1) reaches only the jail's own processes. */
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        pause();
        _exit(0);
    }
    CHECK("kill_all", kill(-1, SIGKILL));
    int status = 0;
    waitpid(child, &status, 0);
    reportf("kill_all_child", WIFSIGNALED(status) ? "signal:%d" : "exit:%d", WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
    for (int i = 1; i < argc; i++) {
        int hp = atoi(argv[i]);
        char key[64];
        snprintf(key, sizeof key, "kill_host_%s", argv[i]);
        CHECK(key, kill(hp, SIGKILL));
        snprintf(key, sizeof key, "killpg_host_%s", argv[i]);
        CHECK(key, kill(-hp, SIGKILL));
        int p[2];
        if (pipe(p) < 0)
            continue;
        snprintf(key, sizeof key, "setown_host_%s", argv[i]);
        CHECK(key, fcntl(p[0], F_SETOWN, hp));
        snprintf(key, sizeof key, "setown_pg_host_%s", argv[i]);
        CHECK(key, fcntl(p[0], F_SETOWN, -hp));
        close(p[0]);
        close(p[1]);
    }
    return 0;
}

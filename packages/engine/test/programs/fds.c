/* ESCAPES 2: the only open descriptors are 0, 1 and 2, and they are the stdio mcp-j gave. */
#include "common.h"

int main(void)
{
    /* fstat every descriptor up to 4096: which exist? */
    char list[256] = "";
    for (int fd = 0; fd <= 4096; fd++) {
        struct stat st;
        if (fstat(fd, &st) == 0)
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s%d", list[0] ? "," : "", fd);
    }
    report("fstat", list);

    /* /proc/self/fd, minus the directory descriptor of the walk itself. */
    DIR *d = opendir("/proc/self/fd");
    if (d == NULL) {
        report("procfd", errname(errno));
    } else {
        char names[256] = "";
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (e->d_name[0] == '.' || atoi(e->d_name) == dirfd(d))
                continue;
            snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", names[0] ? "," : "", e->d_name);
        }
        closedir(d);
        report("procfd", names);
    }

    /* What 0, 1, 2 are: sockets (Node's stdio pipes), never a directory or a seccomp listener. */
    for (int fd = 0; fd <= 2; fd++) {
        char path[64], key[16], target[256];
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        ssize_t n = readlink(path, target, sizeof target - 1);
        target[n > 0 ? n : 0] = 0;
        struct stat st;
        fstat(fd, &st);
        snprintf(key, sizeof key, "fd%d", fd);
        reportf(key, "%s %s", S_ISSOCK(st.st_mode) ? "socket" : S_ISFIFO(st.st_mode) ? "fifo" : S_ISDIR(st.st_mode) ? "dir" : "other",
                strncmp(target, "socket:[", 8) == 0 ? "socket:[N]" : target);
    }

    /* fd 0 carries the test's stdin, fd 2 reaches the test's stderr: they are the real stdio. */
    char buf[64] = "";
    ssize_t n = read(0, buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = 0;
    buf[strcspn(buf, "\n")] = 0;
    report("stdin", buf);
    dprintf(2, "stderr-marker\n");
    return 0;
}

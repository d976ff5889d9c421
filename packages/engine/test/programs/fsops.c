/*
 * A small interpreter of filesystem attacks, so that one jail start runs many of them: each
 * argument is one operation, "OP ARG [ARG2]" (space-separated), and each prints
 * "OP ARG [ARG2]=OUTCOME" (OK or the errno's name; a few operations print a value).
 * ESCAPES 10, 13, 14, 15, 29, 30, 31, 34, 35, 36.
 */
#include "common.h"
#include <sys/sysmacros.h>

static int open_dir_path(const char *p)
{
    return open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

/* Copies a file byte for byte (the "download a binary and run it" step of an attack). */
static int copy_file(const char *src, const char *dst, mode_t mode)
{
    int in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return -1;
    int out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (out < 0) {
        int e = errno;
        close(in);
        errno = e;
        return -1;
    }
    char buf[65536];
    ssize_t n;
    while ((n = read(in, buf, sizeof buf)) > 0)
        if (write(out, buf, (size_t)n) != n)
            return -1;
    close(in);
    if (fchmod(out, mode) < 0)
        return -1;
    return close(out);
}

/* fork + execve: OK when the program ran (its exit code 0), else the errno execve failed with. */
static void run_exec(const char *key, char *const argv[])
{
    exec_report(key, -1, argv[0], argv, 0);
}

static void op(const char *spec)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", spec);
    char *save = NULL;
    char *name = strtok_r(buf, " ", &save);
    char *a = strtok_r(NULL, " ", &save);
    char *b = strtok_r(NULL, " ", &save);
    if (name == NULL || a == NULL) {
        report(spec, "BAD_OP");
        return;
    }
    errno = 0;
    if (strcmp(name, "creat") == 0)
        CHECK_FD(spec, open(a, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
    else if (strcmp(name, "mkdir") == 0)
        CHECK(spec, mkdir(a, 0755));
    else if (strcmp(name, "symlink") == 0 && b != NULL)
        CHECK(spec, symlink(a, b));
    else if (strcmp(name, "mknod_blk") == 0)
        CHECK(spec, mknod(a, S_IFBLK | 0600, makedev(8, 0)));
    else if (strcmp(name, "mknod_chr") == 0)
        CHECK(spec, mknod(a, S_IFCHR | 0600, makedev(1, 1)));
    else if (strcmp(name, "mkfifo") == 0)
        CHECK(spec, mkfifo(a, 0600));
    else if (strcmp(name, "open_r") == 0)
        CHECK_FD(spec, open(a, O_RDONLY | O_CLOEXEC));
    else if (strcmp(name, "open_w") == 0)
        CHECK_FD(spec, open(a, O_WRONLY | O_CLOEXEC));
    else if (strcmp(name, "open_rw") == 0)
        CHECK_FD(spec, open(a, O_RDWR | O_CLOEXEC));
    else if (strcmp(name, "open_path") == 0)
        CHECK_FD(spec, open(a, O_PATH | O_CLOEXEC));
    else if (strcmp(name, "open_nofollow") == 0)
        CHECK_FD(spec, open(a, O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    else if (strcmp(name, "read") == 0) {
        /* The first line of the file, or the errno. */
        read_report(spec, a);
    } else if (strcmp(name, "write") == 0) {
        int fd = open(a, O_WRONLY | O_CLOEXEC);
        if (fd < 0) {
            report(spec, errname(errno));
            return;
        }
        ssize_t n = write(fd, b != NULL ? b : "x", b != NULL ? strlen(b) : 1);
        int e = errno;
        close(fd);
        report(spec, n < 0 ? errname(e) : "OK");
    } else if (strcmp(name, "openat") == 0 && b != NULL) {
        /* openat(dirfd of a, b): relative escapes from a granted directory's descriptor. */
        int dfd = open_dir_path(a);
        if (dfd < 0) {
            reportf(spec, "dir:%s", errname(errno));
            return;
        }
        CHECK_FD(spec, openat(dfd, b, O_RDONLY | O_CLOEXEC));
        close(dfd);
    } else if (strcmp(name, "reopen_w") == 0) {
        /* Reopen a read-only descriptor for writing through its magic link. */
        int fd = open(a, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            reportf(spec, "open:%s", errname(errno));
            return;
        }
        char p[64];
        snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
        CHECK_FD(spec, open(p, O_WRONLY | O_CLOEXEC));
        close(fd);
    } else if (strcmp(name, "fdpath") == 0 && b != NULL) {
        /* /proc/self/fd/N/REL where N is a descriptor of directory a. */
        int dfd = open_dir_path(a);
        if (dfd < 0) {
            reportf(spec, "dir:%s", errname(errno));
            return;
        }
        char p[PATH_MAX];
        snprintf(p, sizeof p, "/proc/self/fd/%d/%s", dfd, b);
        CHECK_FD(spec, open(p, O_RDONLY | O_CLOEXEC));
        close(dfd);
    } else if (strcmp(name, "truncate") == 0)
        CHECK(spec, truncate(a, 0));
    else if (strcmp(name, "ftruncate") == 0) {
        int fd = open(a, O_WRONLY | O_CLOEXEC);
        if (fd < 0) {
            reportf(spec, "open:%s", errname(errno));
            return;
        }
        CHECK(spec, ftruncate(fd, 0));
        close(fd);
    } else if (strcmp(name, "rename") == 0 && b != NULL)
        CHECK(spec, rename(a, b));
    else if (strcmp(name, "link") == 0 && b != NULL)
        CHECK(spec, link(a, b));
    else if (strcmp(name, "unlink") == 0)
        CHECK(spec, unlink(a));
    else if (strcmp(name, "chdir") == 0)
        CHECK(spec, chdir(a));
    else if (strcmp(name, "copy") == 0 && b != NULL)
        CHECK(spec, copy_file(a, b, 0755));
    else if (strcmp(name, "chmodx") == 0)
        CHECK(spec, chmod(a, 0755));
    else if (strcmp(name, "exec") == 0) {
        char *argv[] = { a, NULL };
        run_exec(spec, argv);
    } else if (strcmp(name, "ldso") == 0 && b != NULL) {
        /* b: the dynamic loader; a: the program it is asked to load. */
        char *argv[] = { b, a, NULL };
        run_exec(spec, argv);
    } else if (strcmp(name, "mmapx") == 0) {
        int fd = open(a, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            reportf(spec, "open:%s", errname(errno));
            return;
        }
        void *m = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);
        report(spec, m == MAP_FAILED ? errname(errno) : "OK");
        if (m != MAP_FAILED)
            munmap(m, 4096);
        close(fd);
    } else if (strcmp(name, "mprotectx") == 0) {
        int fd = open(a, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            reportf(spec, "open:%s", errname(errno));
            return;
        }
        void *m = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m == MAP_FAILED) {
            reportf(spec, "mmap:%s", errname(errno));
        } else {
            CHECK(spec, mprotect(m, 4096, PROT_READ | PROT_EXEC));
            munmap(m, 4096);
        }
        close(fd);
    } else if (strcmp(name, "stat") == 0) {
        struct stat st;
        CHECK(spec, stat(a, &st));
    } else if (strcmp(name, "readlink") == 0) {
        char t[PATH_MAX];
        ssize_t n = readlink(a, t, sizeof t - 1);
        if (n < 0)
            report(spec, errname(errno));
        else {
            t[n] = 0;
            reportf(spec, "link:%s", t);
        }
    } else if (strcmp(name, "lines") == 0 || strcmp(name, "lines_path") == 0) {
        /* Every line of a file, as "lines PATH.N=LINE", then "lines PATH=N". lines_path opens it
         * O_PATH first and reads it through /proc/self/fd/N (a reopen of the object). */
        char via[64];
        int pfd = -1;
        if (strcmp(name, "lines_path") == 0) {
            pfd = open(a, O_PATH | O_CLOEXEC);
            if (pfd < 0) {
                reportf(spec, "path:%s", errname(errno));
                return;
            }
            snprintf(via, sizeof via, "/proc/self/fd/%d", pfd);
            a = via;
        }
        FILE *f = fopen(a, "re");
        if (pfd >= 0)
            close(pfd);
        if (f == NULL) {
            report(spec, errname(errno));
            return;
        }
        char line[4096], key[1100];
        int n = 0;
        while (fgets(line, sizeof line, f) != NULL) {
            line[strcspn(line, "\n")] = 0;
            snprintf(key, sizeof key, "%s.%d", spec, n++);
            report(key, line);
        }
        fclose(f);
        reportf(spec, "%d", n);
    } else if (strcmp(name, "ls") == 0) {
        /* The directory's entries, sorted, comma-separated. */
        struct dirent **list;
        int n = scandir(a, &list, NULL, alphasort);
        if (n < 0) {
            report(spec, errname(errno));
            return;
        }
        char names[4096] = "";
        for (int i = 0; i < n; i++) {
            const char *nm = list[i]->d_name;
            if (strcmp(nm, ".") != 0 && strcmp(nm, "..") != 0) {
                size_t l = strlen(names);
                snprintf(names + l, sizeof names - l, "%s%s", l ? "," : "", nm);
            }
            free(list[i]);
        }
        free(list);
        reportf(spec, "list:%s", names);
    } else
        report(spec, "BAD_OP");
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        op(argv[i]);
    return 0;
}

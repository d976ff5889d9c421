/*
 * The jail's mount tables without host paths (ESCAPES 9).
 *
 * A bind mount's line in /proc/PID/mountinfo names, as its "root" field, the path of the bound
 * directory inside its host filesystem: a `--ro /home/me/project:/data` grant would show
 * /home/me/project to the server. No mount option hides that field (it is the dentry's path in its
 * superblock), and an overlayfs host root adds its lowerdir=/var/lib/... paths to every line's
 * super options. So when the deputy has opened a mount table for the server (deputy_open.c), it
 * hands over a copy instead: the same lines with the root field "/", super options that name a
 * path dropped, and a source that is a path but not a device replaced by "none". The mount points
 * (the jail's own paths), ids, types and flags stay as the kernel wrote them.
 *
 * The copy is a sealed memfd (MFD_NOEXEC_SEAL, 6.3+) read from its start, or on older kernels a
 * pipe holding the whole text; both end in EOF where the file ended. statmount(2), which would
 * give the same root field, is refused by the seccomp filter (policy.ts, "mount-info").
 */
#include "deputy.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/vfs.h>
#include <unistd.h>

#ifndef MFD_NOEXEC_SEAL
#define MFD_NOEXEC_SEAL 0x0008U
#endif

/* A jail has tens of mounts; a table past this is not one of ours and is refused (EIO). */
#define MOUNTS_MAX (1024 * 1024)

/* "/proc/N/mountinfo", "/proc/N/task/T/mounts", ...: which table, or 0 for none. */
static int table_kind(const char *real)
{
    if (strncmp(real, "/proc/", 6) != 0)
        return 0;
    const char *base = strrchr(real, '/') + 1;
    if (strcmp(base, "mountinfo") == 0)
        return 'i';
    if (strcmp(base, "mounts") == 0)
        return 'm';
    return 0;
}

/* Appends one space-separated field to out (capacity checked by the caller's sizing). */
static void put(char **out, const char *s, size_t n, int first)
{
    if (!first)
        *(*out)++ = ' ';
    memcpy(*out, s, n);
    *out += n;
}

/* Options without the ones that name a path ("lowerdir=/a:/b", "upperdir=/c"); never first. */
static void put_options(char **out, const char *s, size_t n)
{
    *(*out)++ = ' ';
    int any = 0;
    size_t i = 0;
    while (i <= n) {
        size_t j = i;
        while (j < n && s[j] != ',')
            j++;
        if (j > i && memchr(s + i, '/', j - i) == NULL) {
            if (any)
                *(*out)++ = ',';
            memcpy(*out, s + i, j - i);
            *out += j - i;
            any = 1;
        }
        i = j + 1;
    }
    if (!any) {
        memcpy(*out, "rw", 2); /* the field cannot be empty; mount flags say the truth anyway */
        *out += 2;
    }
}

/* A source that is a path outside /dev is a host path; devices and names ("tmpfs") stay. */
static void put_source(char **out, const char *s, size_t n, int first)
{
    if (memchr(s, '/', n) != NULL && !(n > 5 && memcmp(s, "/dev/", 5) == 0))
        put(out, "none", 4, first);
    else
        put(out, s, n, first);
}

/*
 * Rewrites one line (without its '\n') into out, which has room for len + 8 bytes.
 * mountinfo: ID PARENT MAJ:MIN ROOT POINT OPTS [OPTIONAL...] - TYPE SOURCE SUPEROPTS
 * mounts:    SOURCE POINT TYPE OPTS DUMP PASS
 */
static void rewrite_line(int kind, const char *line, size_t len, char **out)
{
    const char *f[64];
    size_t n[64];
    int nf = 0;
    size_t i = 0;
    while (i < len && nf < 64) {
        size_t j = i;
        while (j < len && line[j] != ' ')
            j++;
        f[nf] = line + i;
        n[nf++] = j - i;
        i = j + 1;
    }
    int dash = -1;
    for (int k = 6; kind == 'i' && k < nf; k++)
        if (n[k] == 1 && f[k][0] == '-') {
            dash = k;
            break;
        }
    if ((kind == 'i' && (dash < 0 || nf != dash + 4)) || (kind == 'm' && nf != 6)) {
        /* Not the format this code knows: say nothing rather than something unchecked. */
        return;
    }
    for (int k = 0; k < nf; k++) {
        if (kind == 'i' && k == 3)
            put(out, "/", 1, 0);
        else if ((kind == 'i' && k == dash + 2) || (kind == 'm' && k == 0))
            put_source(out, f[k], n[k], k == 0);
        else if ((kind == 'i' && k == dash + 3) || (kind == 'm' && k == 3))
            put_options(out, f[k], n[k]);
        else
            put(out, f[k], n[k], k == 0);
    }
    *(*out)++ = '\n';
}

/* The rewritten table of `text`; *outlen its length. NULL when out of memory. */
char *dep_mounts_rewrite(int kind, const char *text, size_t len, size_t *outlen)
{
    /* Every line grows by at most "none" over an empty source, "rw" over empty options and
     * the separators: 8 bytes a line, and a line has at least one byte. */
    char *buf = malloc(len * 9 + 1);
    if (buf == NULL)
        return NULL;
    char *out = buf;
    size_t i = 0;
    while (i < len) {
        const char *nl = memchr(text + i, '\n', len - i);
        size_t l = nl != NULL ? (size_t)(nl - (text + i)) : len - i;
        rewrite_line(kind, text + i, l, &out);
        i += l + 1;
    }
    *outlen = (size_t)(out - buf);
    return buf;
}

/* Reads all of fd (a proc file: read until 0, bounded). */
static char *read_all(int fd, size_t *len)
{
    size_t cap = 16384;
    char *buf = malloc(cap);
    *len = 0;
    while (buf != NULL) {
        if (*len == cap) {
            if (cap >= MOUNTS_MAX) {
                free(buf);
                errno = EIO;
                return NULL;
            }
            char *b = realloc(buf, cap * 2);
            if (b == NULL)
                break;
            buf = b;
            cap *= 2;
        }
        ssize_t n = read(fd, buf + *len, cap - *len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            free(buf);
            errno = e;
            return NULL;
        }
        if (n == 0)
            return buf;
        *len += (size_t)n;
    }
    free(buf);
    errno = ENOMEM;
    return NULL;
}

/* A read-only file holding text: a sealed memfd, or a pipe on kernels without MFD_NOEXEC_SEAL. */
static int hold(const char *text, size_t len)
{
    int m = memfd_create("mountinfo", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_NOEXEC_SEAL);
    if (m >= 0) {
        size_t off = 0;
        while (off < len) {
            ssize_t w = write(m, text + off, len - off);
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0) {
                int e = errno;
                close(m);
                return -e;
            }
            off += (size_t)w;
        }
        /* Sealed, then reopened read-only: the server gets a file it cannot change or grow. */
        if (fcntl(m, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK) < 0) {
            int e = errno;
            close(m);
            return -e;
        }
        char link[64];
        snprintf(link, sizeof link, "/proc/self/fd/%d", m);
        int ro = open(link, O_RDONLY | O_CLOEXEC);
        int e = errno;
        close(m);
        return ro >= 0 ? ro : -e;
    }
    if (errno != EINVAL)
        return -errno;
    /* Before 6.3 (no MFD_NOEXEC_SEAL, which the jail's filter requires): a pipe large enough
     * for the whole table, written before the server can read it. */
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return -errno;
    if (len > 65536 && fcntl(p[1], F_SETPIPE_SZ, (int)len) < 0) {
        int e = errno;
        close(p[0]);
        close(p[1]);
        return -e;
    }
    ssize_t w = len > 0 ? write(p[1], text, len) : 0;
    int e = errno;
    close(p[1]);
    if (w != (ssize_t)len) {
        close(p[0]);
        return w < 0 ? -e : -EIO;
    }
    return p[0];
}

int dep_mounts_copy(const char *real, int fd)
{
    int kind = table_kind(real);
    struct statfs sf;
    if (kind == 0)
        return fd;
    if (fstatfs(fd, &sf) < 0)
        return -errno;
    if (sf.f_type != PROC_SUPER_MAGIC)
        return fd;
    size_t len, outlen;
    char *text = read_all(fd, &len);
    if (text == NULL)
        return -errno;
    char *copy = dep_mounts_rewrite(kind, text, len, &outlen);
    free(text);
    if (copy == NULL)
        return -ENOMEM;
    int h = hold(copy, outlen);
    free(copy);
    return h;
}

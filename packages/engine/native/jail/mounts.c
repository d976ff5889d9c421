/*
 * The jail's filesystem. The shape follows bubblewrap: everything happens in a private mount
 * namespace, the new root is a tmpfs (nothing is created on the host's disk, so nothing is left
 * behind), the host's root stays reachable at /oldroot only while the plan's binds are made, then
 * it is detached and the tmpfs becomes "/".
 */
#include "mounts.h"
#include "idmap.h"
#include "report.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#define BASE "/tmp"        /* where the staging tmpfs is mounted, in our namespace only */
#define NEWROOT "/newroot" /* paths after the first pivot */
#define OLDROOT "/oldroot"
#define MASK_FILE "mask-empty" /* in the staging tmpfs, "/" after the first pivot */

static int pivot_root(const char *new_root, const char *put_old)
{
    return (int)syscall(SYS_pivot_root, new_root, put_old);
}

static void join(char *out, size_t outlen, const char *a, const char *b)
{
    /* "/" as the second part means the prefix itself. */
    int n = snprintf(out, outlen, "%s%s", a, strcmp(b, "/") == 0 ? "" : b);
    if (n < 0 || (size_t)n >= outlen)
        die_step("mount", ENAMETOOLONG, "path too long: %s%s", a, b);
}

/* mkdir -p inside the new root. Components that exist are fine; anything else is fatal. */
static void mkdir_p(const char *path, mode_t mode)
{
    char buf[PATH_MAX];
    if (strlen(path) >= sizeof buf)
        die_step("mount", ENAMETOOLONG, "%s", path);
    strcpy(buf, path);
    for (char *p = buf + 1; ; p++) {
        if (*p == '/' || *p == 0) {
            char saved = *p;
            *p = 0;
            if (mkdir(buf, mode) < 0 && errno != EEXIST)
                die_step("mount", errno, "cannot create mount point %s", buf);
            *p = saved;
            if (saved == 0)
                break;
        }
    }
}

/* Creates an empty regular file to bind a file over (bind targets must exist and match type). */
static void touch(const char *path)
{
    char parent[PATH_MAX];
    snprintf(parent, sizeof parent, "%s", path);
    char *slash = strrchr(parent, '/');
    if (slash != NULL && slash != parent) {
        *slash = 0;
        mkdir_p(parent, 0755);
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0444);
    if (fd < 0 && errno != EEXIST)
        die_step("mount", errno, "cannot create mount point %s", path);
    if (fd >= 0)
        close(fd);
}

/* Per-mount flags a remount must keep: in a user namespace the kernel refuses to clear flags that
 * were locked when the mount came from the host (ro, nosuid, nodev, noexec, atime). */
static unsigned long locked_flags(const char *path)
{
    struct statvfs sv;
    if (statvfs(path, &sv) < 0)
        die_step("mount", errno, "statvfs %s", path);
    unsigned long f = 0;
    if (sv.f_flag & ST_RDONLY) f |= MS_RDONLY;
    if (sv.f_flag & ST_NOSUID) f |= MS_NOSUID;
    if (sv.f_flag & ST_NODEV) f |= MS_NODEV;
    if (sv.f_flag & ST_NOEXEC) f |= MS_NOEXEC;
    if (sv.f_flag & ST_NOATIME) f |= MS_NOATIME;
    if (sv.f_flag & ST_NODIRATIME) f |= MS_NODIRATIME;
    if (sv.f_flag & ST_RELATIME) f |= MS_RELATIME;
    return f;
}

static unsigned long plan_flags(uint32_t f)
{
    return (f & MF_RDONLY ? MS_RDONLY : 0) | (f & MF_NOSUID ? MS_NOSUID : 0) | (f & MF_NODEV ? MS_NODEV : 0) |
           (f & MF_NOEXEC ? MS_NOEXEC : 0);
}

static void remount_one(const char *path, unsigned long flags)
{
    if (mount(NULL, path, NULL, MS_BIND | MS_REMOUNT | flags | locked_flags(path), NULL) < 0)
        die_step("mount", errno, "cannot remount %s with the requested flags", path);
}

/* Decodes mountinfo's octal escapes (\040 for space) in place. */
static void unescape(char *s)
{
    char *w = s;
    for (char *r = s; *r; r++) {
        if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' && r[3] >= '0' && r[3] <= '7') {
            *w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
            r += 3;
        } else {
            *w++ = *r;
        }
    }
    *w = 0;
}

/* A recursive bind brings the source's submounts along; each needs the flags too, or a read-only
 * grant would have writable holes (ESCAPES item 10). Walk mountinfo for every mount at or below
 * dest, deepest last (mountinfo lists parents before children). */
static void remount_tree(const char *dest, unsigned long flags)
{
    FILE *f = fopen(OLDROOT "/proc/self/mountinfo", "re");
    if (f == NULL)
        die_step("mount", errno, "cannot read mountinfo");
    size_t dl = strlen(dest);
    char *line = NULL;
    size_t cap = 0;
    int found = 0;
    while (getline(&line, &cap, f) > 0) {
        /* id parent major:minor root MOUNTPOINT ... */
        char *save = NULL, *tok = strtok_r(line, " ", &save);
        for (int i = 0; tok != NULL && i < 4; i++)
            tok = strtok_r(NULL, " ", &save);
        if (tok == NULL)
            continue;
        unescape(tok);
        if (strncmp(tok, dest, dl) == 0 && (tok[dl] == 0 || tok[dl] == '/')) {
            remount_one(tok, flags);
            found = 1;
        }
    }
    int failed = ferror(f);
    free(line);
    fclose(f);
    if (failed)
        die_step("mount", EIO, "cannot read mountinfo");
    if (!found)
        die_step("mount", ENOENT, "bind mount of %s not found in mountinfo", dest);
}

int *mounts_open_sources(const struct plan *p, const int *trees)
{
    int *fds = calloc(p->nmounts ? p->nmounts : 1, sizeof(int));
    if (fds == NULL)
        die_step("mount", ENOMEM, "out of memory");
    for (size_t i = 0; i < p->nmounts; i++) {
        fds[i] = -1;
        if (p->mounts[i].op != M_BIND)
            continue;
        if (p->mounts[i].flags & MF_IDMAP) {
            if (trees == NULL || trees[i] < 0)
                die_step("idmap", EINVAL, "no idmapped tree for %s", p->mounts[i].dest);
            fds[i] = trees[i];
            continue;
        }
        fds[i] = open(p->mounts[i].src, O_PATH | O_CLOEXEC);
        if (fds[i] < 0)
            die_step("grant", errno, "%s", p->mounts[i].src);
    }
    return fds;
}

/* What a bind lands on: a directory for a directory, an empty file for anything else. */
static void mount_point(const char *dest, mode_t source_mode)
{
    if (S_ISDIR(source_mode))
        mkdir_p(dest, 0755);
    else
        touch(dest);
}

static void do_bind(const struct plan_mount *m, const char *src, const char *dest)
{
    struct stat st;
    if (stat(src, &st) < 0)
        die_step("grant", errno, "%s", m->src);
    mount_point(dest, st.st_mode);
    /* MS_REC: a non-recursive bind of a tree with locked submounts is refused in a user namespace. */
    if (mount(src, dest, NULL, MS_BIND | MS_REC, NULL) < 0)
        die_step("grant", errno, "cannot bind %s to %s", m->src, m->dest);
    remount_tree(dest, plan_flags(m->flags));
}

/* An idmapped grant: the tree the supervisor made (idmap.c) carries its flags already, and is
 * attached as it is. */
static void do_idmapped(const struct plan_mount *m, int tree, const char *dest)
{
    struct stat st;
    if (fstat(tree, &st) < 0)
        die_step("grant", errno, "%s", m->src);
    mount_point(dest, st.st_mode);
    idmap_attach(m, tree, dest);
}

static void do_file(const struct plan_mount *m, const char *dest)
{
    char parent[PATH_MAX];
    snprintf(parent, sizeof parent, "%s", dest);
    char *slash = strrchr(parent, '/');
    if (slash != NULL && slash != parent) {
        *slash = 0;
        mkdir_p(parent, 0755);
    }
    int fd = open(dest, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, m->mode ? m->mode : 0444);
    if (fd < 0)
        die_step("mount", errno, "cannot create %s", m->dest);
    size_t off = 0;
    while (off < m->data_len) {
        ssize_t w = write(fd, m->data + off, m->data_len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            die_step("mount", errno, "cannot write %s", m->dest);
        off += (size_t)w;
    }
    if (close(fd) < 0)
        die_step("mount", errno, "cannot write %s", m->dest);
}

/* A deny rule's match hidden (docs/design.md, "Deny rules"): a directory under an empty read-only
 * tmpfs, anything else under an empty read-only file, both with mode 0 (the jail, owner or not,
 * holds no capability that bypasses it: EACCES for the name and for anything looked up beneath). What is there is looked at now, not trusted
 * from the plan: a name that vanished since mcp-j looked needs no mask, a symlink is left alone
 * (what it leads to is decided where it leads), and a mount point cannot be renamed, unlinked or
 * replaced from inside the jail. */
static void mask(const char *dest, const char *shown)
{
    struct stat st;
    if (lstat(dest, &st) < 0) {
        /* Gone, or behind a directory the jail's identity cannot search (init has no capability
         * over files of uids outside the jail's namespace): the jail cannot reach it either. */
        if (errno == ENOENT || errno == EACCES)
            return;
        die_step("mask", errno, "%s", shown);
    }
    if (S_ISLNK(st.st_mode))
        return;
    unsigned long ro = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC;
    if (S_ISDIR(st.st_mode)) {
        if (mount("tmpfs", dest, "tmpfs", ro, "mode=0000,size=4k") < 0)
            die_step("mask", errno, "%s", shown);
        return;
    }
    if (mount("/" MASK_FILE, dest, NULL, MS_BIND, NULL) < 0)
        die_step("mask", errno, "%s", shown);
    remount_one(dest, ro);
}

static void apply(const struct plan *p, const struct plan_mount *m, int src_fd, int *proc_subset)
{
    char dest[PATH_MAX], src[PATH_MAX];
    join(dest, sizeof dest, NEWROOT, m->dest);
    switch (m->op) {
    case M_TMPFS:
        mkdir_p(dest, 0755);
        if (mount("tmpfs", dest, "tmpfs", plan_flags(m->flags), m->data) < 0)
            die_step("mount", errno, "tmpfs on %s (%s)", m->dest, m->data);
        break;
    case M_BIND:
        if (m->flags & MF_IDMAP) {
            do_idmapped(m, src_fd, dest);
            break;
        }
        /* Through the descriptor opened before the identity change (see mounts_open_sources). */
        snprintf(src, sizeof src, OLDROOT "/proc/self/fd/%d", src_fd);
        do_bind(m, src, dest);
        if (close(src_fd) < 0)
            die_step("mount", errno, "close");
        break;
    case M_PROC: {
        mkdir_p(dest, 0555);
        /* subset=pid (5.8+) hides everything in /proc that is not a process: sysctls, kcore,
         * sysrq-trigger. Older kernels reject the option; a plain proc mount is still private to
         * the jail's PID namespace: the fall-back is a downgrade, taken only if the plan accepts
         * it. Read-only when the plan says so (no write or truncate of /proc files whatever
         * Landlock's ABI). */
        unsigned long f = MS_NOSUID | MS_NODEV | MS_NOEXEC | plan_flags(m->flags);
        *proc_subset = 1;
        if (m->data[0] == 0 || mount("proc", dest, "proc", f, m->data) < 0) {
            int e = errno;
            if (!(p->downgrades & PD_PROC_SUBSET))
                die_step("downgrade", e, "proc=subset");
            *proc_subset = 0;
            if (mount("proc", dest, "proc", f, NULL) < 0)
                die_step("proc", errno, "cannot mount /proc in the jail's PID namespace");
        }
        break;
    }
    case M_MASK:
        mask(dest, m->dest);
        break;
    case M_DIR:
        mkdir_p(dest, m->mode ? m->mode : 0755);
        break;
    case M_FILE:
        do_file(m, dest);
        break;
    case M_SYMLINK: {
        char parent[PATH_MAX];
        snprintf(parent, sizeof parent, "%s", dest);
        char *slash = strrchr(parent, '/');
        if (slash != NULL && slash != parent) {
            *slash = 0;
            mkdir_p(parent, 0755);
        }
        if (symlink(m->src, dest) < 0)
            die_step("mount", errno, "symlink %s -> %s", m->dest, m->src);
        break;
    }
    case M_REMOUNT_RO:
        break; /* after the final pivot, see below */
    }
}

void mounts_build(const struct plan *p, const int *src_fds, int *proc_subset)
{
    *proc_subset = 0;
    /* 1. Nothing we mount may propagate back to the host, and nothing the host does later may
     *    propagate in: make the whole copied tree private before touching anything. */
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        die_step("mount", errno, "cannot make / private (running in a container that forbids mount?)");

    /* 2. A staging tmpfs over /tmp (in our namespace only) holds the new root and the mount point
     *    for the old one. The new root is its own tmpfs so it can be pivoted into and later made
     *    read-only; it is noexec because executables only come from read-only binds. */
    if (mount("tmpfs", BASE, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=64k") < 0)
        die_step("mount", errno, "cannot mount the staging tmpfs");
    if (chdir(BASE) < 0 || mkdir("newroot", 0755) < 0 || mkdir("oldroot", 0755) < 0)
        die_step("mount", errno, "cannot prepare the staging directory");
    if (mount("tmpfs", "newroot", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0755,size=4m") < 0)
        die_step("mount", errno, "cannot mount the root tmpfs");
    /* The empty file masks are bound from (see mask()): it lives on the staging tmpfs, which is
     * detached later while the binds keep it. */
    int ef = open(MASK_FILE, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
    if (ef < 0 || close(ef) < 0)
        die_step("mount", errno, "cannot create the mask file");

    /* 3. First pivot: the staging tmpfs becomes "/", the host's root moves to /oldroot. Grant
     *    sources are then read from /oldroot, so a grant under the host's /tmp is not hidden by
     *    the staging tmpfs we just mounted there. */
    if (pivot_root(".", "oldroot") < 0)
        die_step("pivot_root", errno, "first pivot into the staging tmpfs");
    if (chdir("/") < 0)
        die_step("pivot_root", errno, "chdir /");

    /* 4. The plan, in order (TypeScript sorted it so parents come before children). */
    for (size_t i = 0; i < p->nmounts; i++)
        apply(p, &p->mounts[i], src_fds[i], proc_subset);

    /* 5. Detach the host's root: from here no path leads out of the jail's tree. */
    if (umount2(OLDROOT, MNT_DETACH) < 0)
        die_step("pivot_root", errno, "cannot detach the old root");

    /* 6. Second pivot, onto the new root itself (pivot_root(".", ".") stacks the old root on top
     *    of the new one; unmounting "." then drops the staging tmpfs). */
    if (chdir(NEWROOT) < 0 || pivot_root(".", ".") < 0)
        die_step("pivot_root", errno, "pivot into the jail's root");
    if (umount2(".", MNT_DETACH) < 0)
        die_step("pivot_root", errno, "cannot detach the staging root");
    if (chdir("/") < 0)
        die_step("pivot_root", errno, "chdir /");

    /* 7. Read-only remounts (the root tmpfs itself), now that nothing more is created in it. */
    for (size_t i = 0; i < p->nmounts; i++)
        if (p->mounts[i].op == M_REMOUNT_RO)
            remount_one(p->mounts[i].dest, MS_RDONLY);
}

/*
 * Idmapped binds of writable grants (issue 12 item 1). A root invoker's jail runs as the host's
 * nobody, never as root (docs/design.md, "Identity"), so a directory owned by root or by a user,
 * granted --rw, would refuse every write. An idmapped mount shows the files of one mount with other
 * owners: through it, and only through it, the directory's owner is the jail's uid. Files the jail
 * creates there belong to that owner on the disk, and the jail gains no identity anywhere else.
 *
 * The kernel's interface (mount_setattr(2)): a mount made detached with open_tree(OPEN_TREE_CLONE)
 * gets MOUNT_ATTR_IDMAP with a user namespace whose maps say how on-disk ids appear. Its uid_map
 * line "OWNER HOSTUID 1" makes a file stored with uid OWNER appear as host uid HOSTUID (the jail's
 * uid seen from the host), and a file the jail creates (fsuid HOSTUID) stored as OWNER. Ids the map
 * does not name (files of other owners in the directory) appear as the overflow id and are nobody's.
 */
#include "idmap.h"
#include "report.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* The new mount API's constants (linux/mount.h; glibc 2.36's sys/mount.h has them too). Raw
 * syscalls rather than glibc's wrappers, so that a helper built here runs on older C libraries. */
#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif
#ifndef OPEN_TREE_CLOEXEC
#define OPEN_TREE_CLOEXEC O_CLOEXEC
#endif
#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#endif
#ifndef MOUNT_ATTR_IDMAP
#define MOUNT_ATTR_RDONLY 0x00000001
#define MOUNT_ATTR_NOSUID 0x00000002
#define MOUNT_ATTR_NODEV 0x00000004
#define MOUNT_ATTR_NOEXEC 0x00000008
#define MOUNT_ATTR_IDMAP 0x00100000
struct mount_attr {
    unsigned long long attr_set, attr_clr, propagation, userns_fd;
};
#endif
#ifndef SYS_open_tree
#define SYS_open_tree 428
#define SYS_move_mount 429
#endif
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif

/* "UID:GID", decimal, nothing else: the owner TypeScript saw when it made the plan. */
static void parse_owner(const struct plan_mount *m, uid_t *uid, gid_t *gid)
{
    char *end;
    errno = 0;
    unsigned long u = strtoul(m->data, &end, 10);
    if (errno != 0 || end == m->data || *end != ':' || u > 0xfffffffeUL)
        die_step("plan", EINVAL, "idmapped grant %s: malformed owner \"%s\"", m->dest, m->data);
    const char *g0 = end + 1;
    unsigned long g = strtoul(g0, &end, 10);
    if (errno != 0 || end == g0 || *end != 0 || g > 0xfffffffeUL)
        die_step("plan", EINVAL, "idmapped grant %s: malformed owner \"%s\"", m->dest, m->data);
    *uid = (uid_t)u;
    *gid = (gid_t)g;
}

static void write_map(pid_t pid, const char *name, unsigned long from, unsigned long to)
{
    char path[64], line[64];
    snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, name);
    int n = snprintf(line, sizeof line, "%lu %lu 1\n", from, to);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        die_step("idmap", errno, "cannot open %s", path);
    if (write(fd, line, (size_t)n) != n)
        die_step("idmap", errno, "cannot write %s", path);
    if (close(fd) < 0)
        die_step("idmap", errno, "cannot write %s", path);
}

/* A user namespace mapping the owner to the jail's host ids, as a descriptor. A user namespace
 * lives while a process or a descriptor holds it, and its maps can only be written for a process
 * in it: a child made with CLONE_NEWUSER waits on a pipe while we write its maps (as root in the
 * parent namespace, with no setgroups restriction needed) and open its ns file, then exits. The
 * pipe also ends it if we die first. */
static int owner_userns(uid_t owner_uid, gid_t owner_gid, uid_t to_uid, gid_t to_gid)
{
    int pp[2];
    if (pipe2(pp, O_CLOEXEC) < 0)
        die_step("idmap", errno, "pipe");
    pid_t pid = (pid_t)syscall(SYS_clone, (unsigned long)(CLONE_NEWUSER | SIGCHLD), NULL, NULL, NULL, NULL);
    if (pid < 0)
        die_step("idmap", errno, "cannot create the user namespace of an idmapped grant");
    if (pid == 0) {
        char c;
        close(pp[1]);
        while (read(pp[0], &c, 1) < 0 && errno == EINTR)
            ;
        _exit(0);
    }
    if (close(pp[0]) < 0)
        die_step("idmap", errno, "close");
    write_map(pid, "uid_map", owner_uid, to_uid);
    write_map(pid, "gid_map", owner_gid, to_gid);
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/ns/user", (int)pid);
    int ns = open(path, O_RDONLY | O_CLOEXEC);
    if (ns < 0)
        die_step("idmap", errno, "cannot open %s", path);
    /* Released: the descriptor keeps the namespace. */
    if (close(pp[1]) < 0)
        die_step("idmap", errno, "close");
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            die_step("idmap", errno, "waitpid");
    return ns;
}

static int prepare_one(const struct plan *p, const struct plan_mount *m)
{
    uid_t uid;
    gid_t gid;
    parse_owner(m, &uid, &gid);

    /* 1. A detached copy of the grant and everything mounted below it (AT_RECURSIVE, like the
     *    recursive bind of a plain grant), taken as the invoker: root reaches /root/x. */
    int tree = (int)syscall(SYS_open_tree, AT_FDCWD, m->src, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
    if (tree < 0)
        die_step(errno == ENOSYS ? "idmap" : "grant", errno, "%s", m->src);

    /* 2. The owner is what mcp-j saw when it made the plan: a grant whose owner changed since
     *    then is refused rather than mapped to an owner nobody decided on. */
    struct stat st;
    if (fstat(tree, &st) < 0)
        die_step("grant", errno, "%s", m->src);
    if (st.st_uid != uid || st.st_gid != gid)
        die_step("idmap", EBUSY, "%s changed owner since mcp-j looked (%u:%u, planned %s)", m->src, (unsigned)st.st_uid,
                 (unsigned)st.st_gid, m->data);

    /* 3. Idmapped, with the plan's flags (nosuid, nodev, noexec: the tree is never attached
     *    without them), and private: a copy of a shared mount stays in its peer group, and the
     *    masks the jail mounts inside it later must not propagate to the host (nor the host's
     *    mounts into the jail). */
    int ns = owner_userns(uid, gid, p->host_uid, p->host_gid);
    struct mount_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.attr_set = MOUNT_ATTR_IDMAP | (m->flags & MF_RDONLY ? MOUNT_ATTR_RDONLY : 0) |
                    (m->flags & MF_NOSUID ? MOUNT_ATTR_NOSUID : 0) | (m->flags & MF_NODEV ? MOUNT_ATTR_NODEV : 0) |
                    (m->flags & MF_NOEXEC ? MOUNT_ATTR_NOEXEC : 0);
    attr.propagation = MS_PRIVATE;
    attr.userns_fd = (unsigned long long)ns;
    if (syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) < 0)
        die_step("idmap", errno, "%s: the kernel or its file system cannot idmap it", m->src);
    if (close(ns) < 0)
        die_step("idmap", errno, "close");
    return tree;
}

int *idmap_prepare(const struct plan *p)
{
    int *trees = NULL;
    for (size_t i = 0; i < p->nmounts; i++) {
        const struct plan_mount *m = &p->mounts[i];
        if (!(m->flags & MF_IDMAP))
            continue;
        if (m->op != M_BIND)
            die_step("plan", EINVAL, "idmap flag on a mount that is not a bind: %s", m->dest);
        if (trees == NULL) {
            trees = malloc(p->nmounts * sizeof *trees);
            if (trees == NULL)
                die_step("idmap", ENOMEM, "out of memory");
            for (size_t k = 0; k < p->nmounts; k++)
                trees[k] = -1;
        }
        trees[i] = prepare_one(p, m);
    }
    return trees;
}

void idmap_attach(const struct plan_mount *m, int tree, const char *dest)
{
    if (syscall(SYS_move_mount, tree, "", AT_FDCWD, dest, MOVE_MOUNT_F_EMPTY_PATH) < 0)
        die_step("grant", errno, "cannot attach the idmapped %s at %s", m->src, m->dest);
    if (close(tree) < 0)
        die_step("mount", errno, "close");
}

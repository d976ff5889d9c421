/*
 * Plan decoding. The plan comes from mcp-j (trusted), but it is still parsed defensively: every
 * length is bounded, every string checked for embedded NULs, and a malformed plan is an error
 * that names the record, never a crash.
 */
#include "plan.h"
#include "wire.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int read_full(int fd, void *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, (char *)buf + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        got += (size_t)r;
    }
    return 0;
}

/* Reads "u32 length + bytes" at *pos within [v, v+len). */
static int take_lv(const unsigned char *v, size_t len, size_t *pos, const unsigned char **out, size_t *outlen)
{
    if (len - *pos < 4)
        return -1;
    uint32_t n = wire_u32(v + *pos);
    *pos += 4;
    if (len - *pos < n)
        return -1;
    *out = v + *pos;
    *outlen = n;
    *pos += n;
    return 0;
}

static int decode_mount(const unsigned char *v, size_t len, struct plan_mount *m)
{
    memset(m, 0, sizeof *m);
    if (len < 12)
        return -1;
    m->op = wire_u32(v);
    m->flags = wire_u32(v + 4);
    m->mode = wire_u32(v + 8);
    size_t pos = 12;
    const unsigned char *s, *d, *data;
    size_t sl, dl, datal;
    if (take_lv(v, len, &pos, &s, &sl) < 0 || take_lv(v, len, &pos, &d, &dl) < 0 || take_lv(v, len, &pos, &data, &datal) < 0 || pos != len)
        return -1;
    m->src = wire_str(s, sl);
    m->dest = wire_str(d, dl);
    /* File contents may hold anything but NUL; they are written with their length. */
    m->data = wire_str(data, datal);
    m->data_len = datal;
    if (m->src == NULL || m->dest == NULL || m->data == NULL)
        return -1;
    if (m->op < M_TMPFS || m->op > M_MASK || m->dest[0] != '/')
        return -1;
    if (m->op == M_MASK && strcmp(m->data, "dir") != 0 && strcmp(m->data, "file") != 0)
        return -1;
    return 0;
}

static int decode_sysctl(const unsigned char *v, size_t len, struct plan_sysctl *s)
{
    if (len < 4)
        return -1;
    uint32_t flags = wire_u32(v);
    if (flags > 1)
        return -1;
    s->optional = (int)flags;
    size_t pos = 4;
    const unsigned char *n, *val;
    size_t nl, vl;
    if (take_lv(v, len, &pos, &n, &nl) < 0 || take_lv(v, len, &pos, &val, &vl) < 0 || pos != len)
        return -1;
    s->name = wire_str(n, nl);
    s->value = wire_str(val, vl);
    /* A name under /proc/sys/user/: no path of its own. */
    if (s->name == NULL || s->value == NULL || s->name[0] == 0 || strchr(s->name, '/') != NULL || strcmp(s->name, "..") == 0)
        return -1;
    return 0;
}

/* A u32 or u64 record into its field. */
static int take_u32(const unsigned char *v, size_t len, uint32_t *out)
{
    if (len != 4)
        return -1;
    *out = wire_u32(v);
    return 0;
}

static int take_u64(const unsigned char *v, size_t len, uint64_t *out)
{
    if (len != 8)
        return -1;
    *out = wire_u64(v);
    return 0;
}

/* A BPF program: struct sock_filter is 8 bytes; the kernel caps programs at 4096 instructions. */
static int filter_ok(size_t len) { return len != 0 && len % 8 == 0 && len / 8 <= 4096; }

int plan_read(int fd, struct plan *p, char *err, size_t errlen)
{
    memset(p, 0, sizeof *p);
    p->jail_uid = p->jail_gid = 65534;
    char magic[8];
    if (read_full(fd, magic, sizeof magic) < 0 || memcmp(magic, PLAN_MAGIC, 8) != 0) {
        snprintf(err, errlen, "the plan does not start with %s (mcp-j and mcpj-jail from different builds?)", PLAN_MAGIC);
        return -1;
    }
    size_t total = 8;
    for (;;) {
        unsigned char hdr[8];
        if (read_full(fd, hdr, sizeof hdr) < 0) {
            snprintf(err, errlen, "the plan ended before its END record");
            return -1;
        }
        uint32_t type = (uint32_t)hdr[0] | (uint32_t)hdr[1] << 8;
        uint32_t len = wire_u32(hdr + 4);
        total += 8 + (size_t)len;
        if (total > PLAN_MAX_BYTES) {
            snprintf(err, errlen, "the plan is larger than %u bytes", PLAN_MAX_BYTES);
            return -1;
        }
        if (type == P_END)
            break;
        unsigned char *v = malloc(len ? len : 1);
        if (v == NULL || read_full(fd, v, len) < 0) {
            free(v);
            snprintf(err, errlen, "cannot read plan record %u", type);
            return -1;
        }
        int bad = 0;
        char *s = NULL;
        switch (type) {
        case P_ARG:
            s = wire_str(v, len);
            bad = s == NULL || wire_push((void **)&p->argv, &p->argc, sizeof s, &s) < 0;
            break;
        case P_ENV:
            s = wire_str(v, len);
            bad = s == NULL || strchr(s, '=') == NULL || wire_push((void **)&p->envp, &p->envc, sizeof s, &s) < 0;
            break;
        case P_EXEC:
            p->exec_path = wire_str(v, len);
            bad = p->exec_path == NULL || p->exec_path[0] != '/';
            break;
        case P_CWD:
            p->cwd = wire_str(v, len);
            bad = p->cwd == NULL || p->cwd[0] != '/';
            break;
        case P_HOSTNAME:
            p->hostname = wire_str(v, len);
            bad = p->hostname == NULL;
            break;
        case P_CGROUP:
            p->cgroup = wire_str(v, len);
            bad = p->cgroup == NULL || p->cgroup[0] != '/';
            break;
        case P_HOST_UID: bad = take_u32(v, len, &p->host_uid); break;
        case P_HOST_GID: bad = take_u32(v, len, &p->host_gid); break;
        case P_JAIL_UID: bad = take_u32(v, len, &p->jail_uid); break;
        case P_JAIL_GID: bad = take_u32(v, len, &p->jail_gid); break;
        case P_LL_MIN_ABI: bad = take_u32(v, len, &p->ll_min_abi); break;
        case P_NET_LISTEN: bad = take_u32(v, len, &p->net_listen_port); break;
        case P_NET_DNS: bad = take_u32(v, len, &p->net_dns_port); break;
        case P_NET_REDIRECT: bad = take_u32(v, len, &p->net_redirect_port); break;
        case P_DOWNGRADES: bad = take_u32(v, len, &p->downgrades); break;
        case P_LL_HANDLED_FS: bad = take_u64(v, len, &p->ll_handled_fs); break;
        case P_LL_HANDLED_NET: bad = take_u64(v, len, &p->ll_handled_net); break;
        case P_LL_SCOPED: bad = take_u64(v, len, &p->ll_scoped); break;
        case P_LL_FS_RULE: {
            struct plan_ll_fs_rule r = { 0, NULL };
            bad = len < 9;
            if (!bad) {
                r.access = wire_u64(v);
                r.path = wire_str(v + 8, len - 8);
                bad = r.path == NULL || r.path[0] != '/' || wire_push((void **)&p->ll_fs_rules, &p->n_ll_fs_rules, sizeof r, &r) < 0;
            }
            break;
        }
        case P_LL_NET_RULE: {
            struct plan_ll_net_rule r;
            bad = len != 16;
            if (!bad) {
                r.access = wire_u64(v);
                r.port = wire_u64(v + 8);
                bad = wire_push((void **)&p->ll_net_rules, &p->n_ll_net_rules, sizeof r, &r) < 0;
            }
            break;
        }
        case P_MOUNT: {
            struct plan_mount m;
            bad = decode_mount(v, len, &m) < 0 || wire_push((void **)&p->mounts, &p->nmounts, sizeof m, &m) < 0;
            break;
        }
        case P_RLIMIT: {
            struct plan_rlimit r;
            bad = len != 20;
            if (!bad) {
                r.resource = wire_u32(v);
                r.soft = wire_u64(v + 4);
                r.hard = wire_u64(v + 12);
                bad = wire_push((void **)&p->rlimits, &p->nrlimits, sizeof r, &r) < 0;
            }
            break;
        }
        case P_SYSCTL: {
            struct plan_sysctl sc;
            bad = decode_sysctl(v, len, &sc) < 0 || wire_push((void **)&p->sysctls, &p->nsysctls, sizeof sc, &sc) < 0;
            break;
        }
        case P_SECCOMP:
            bad = !filter_ok(len);
            if (!bad) {
                p->seccomp = v;
                p->seccomp_len = len;
                v = NULL;
            }
            break;
        case P_DEPUTY_SECCOMP:
            bad = !filter_ok(len);
            if (!bad) {
                p->deputy_seccomp = v;
                p->deputy_seccomp_len = len;
                v = NULL;
            }
            break;
        case P_MEMORY_WATCH:
            bad = len != 12;
            if (!bad) {
                p->mem_limit = wire_u64(v);
                p->mem_interval_ms = wire_u32(v + 8);
                bad = p->mem_limit == 0 || p->mem_interval_ms == 0;
            }
            break;
        case P_SUP_TABLES:
            p->sup_tables = v;
            p->sup_tables_len = len;
            v = NULL;
            break;
        default:
            bad = 1;
        }
        free(v);
        if (bad) {
            snprintf(err, errlen, "plan record %u is malformed", type);
            return -1;
        }
    }
    /* argv and envp are handed to execve as they are: terminate them. */
    char *nul = NULL;
    if (p->argc == 0 || p->exec_path == NULL) {
        snprintf(err, errlen, "the plan names no command");
        return -1;
    }
    if (wire_push((void **)&p->argv, &p->argc, sizeof nul, &nul) < 0 || wire_push((void **)&p->envp, &p->envc, sizeof nul, &nul) < 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    p->argc--;
    p->envc--;
    return 0;
}

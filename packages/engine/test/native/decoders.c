/*
 * Test driver for the C core's decoders and matchers, fed by native-decoders.test.ts with bytes
 * from the TypeScript encoders (jail/codec.ts), the way bubblewrap tests its helpers: one small
 * program, compiled by the test with the helper's warnings, that calls the functions and prints
 * what they decoded or decided, one line per fact, for the test to compare.
 *
 * The sources are included, not linked: glob_match is static in sup_tables.c, and including the
 * file reaches it without changing it.
 *
 *   decoders plan FILE      plan_read: every field, "error MESSAGE" for a refused plan
 *   decoders tables FILE    sup_tables_decode: every record, "error MESSAGE" for refused tables
 *   decoders query FILE     tables from FILE, then one query per stdin line, one answer per line:
 *                             rights PATH | deny PATH | exec PATH | loader PATH | moves FROM TO
 *                             connect FAMILY ADDRESS PORT [tcp|udp] | bind FAMILY ADDRESS PORT [tcp|udp] |
 *                             redirect FAMILY ADDRESS PORT [tcp|udp] |
 *                             meta FAMILY ADDRESS
 *   decoders glob           stdin lines "PATTERN<TAB>PATH": glob_match on their '/' segments, 1 or 0
 *   decoders normalize      stdin lines: sup_normalize of each
 *   decoders mounts i|m     stdin: a mountinfo (i) or mounts (m) table; the deputy's copy of it
 *   decoders line           stdin lines "KEY<TAB>VALUE": one report line "ev" (report.c) with each
 *                             pair (line_str), as line_send writes it
 */
#include "plan.c"
#include "sup_tables.c"
#include "wire.c"
#include "deputy_mounts.c"
#include "report.c"

#include <arpa/inet.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static unsigned char *slurp(const char *file, size_t *len)
{
    FILE *f = fopen(file, "rb");
    if (f == NULL) {
        perror(file);
        exit(2);
    }
    unsigned char *buf = NULL;
    size_t cap = 0;
    *len = 0;
    for (;;) {
        if (*len == cap) {
            cap = cap ? cap * 2 : 4096;
            buf = realloc(buf, cap);
            if (buf == NULL)
                exit(2);
        }
        size_t n = fread(buf + *len, 1, cap - *len, f);
        if (n == 0)
            break;
        *len += n;
    }
    fclose(f);
    return buf;
}

/* Strings go out as hex: the test compares them with what it encoded, whatever they hold. */
static void hex(const char *label, const unsigned char *s, size_t n)
{
    printf("%s ", label);
    for (size_t i = 0; i < n; i++)
        printf("%02x", s[i]);
    printf("\n");
}

static void hexs(const char *label, const char *s)
{
    hex(label, (const unsigned char *)s, strlen(s));
}

static int dump_plan(const char *file)
{
    int fd = open(file, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        perror(file);
        return 2;
    }
    struct plan p;
    char err[256];
    int r = plan_read(fd, &p, err, sizeof err);
    close(fd);
    if (r < 0) {
        printf("error %s\n", err);
        return 0;
    }
    for (size_t i = 0; i < p.argc; i++)
        hexs("arg", p.argv[i]);
    printf("argv_terminated %d\n", p.argv[p.argc] == NULL);
    for (size_t i = 0; i < p.envc; i++)
        hexs("env", p.envp[i]);
    printf("envp_terminated %d\n", p.envp[p.envc] == NULL);
    hexs("exec", p.exec_path);
    hexs("cwd", p.cwd);
    hexs("hostname", p.hostname ? p.hostname : "");
    printf("ids %u %u %u %u\n", p.host_uid, p.host_gid, p.jail_uid, p.jail_gid);
    for (size_t i = 0; i < p.nmounts; i++) {
        const struct plan_mount *m = &p.mounts[i];
        printf("mount %u %u %o\n", m->op, m->flags, m->mode);
        hexs(" src", m->src);
        hexs(" dest", m->dest);
        hex(" data", (const unsigned char *)m->data, m->data_len);
    }
    printf("landlock %u %llu %llu %llu\n", p.ll_min_abi, (unsigned long long)p.ll_handled_fs, (unsigned long long)p.ll_handled_net,
           (unsigned long long)p.ll_scoped);
    for (size_t i = 0; i < p.n_ll_fs_rules; i++) {
        printf("fsrule %llu\n", (unsigned long long)p.ll_fs_rules[i].access);
        hexs(" path", p.ll_fs_rules[i].path);
    }
    for (size_t i = 0; i < p.n_ll_net_rules; i++)
        printf("netrule %llu %llu\n", (unsigned long long)p.ll_net_rules[i].access, (unsigned long long)p.ll_net_rules[i].port);
    if (p.seccomp != NULL)
        hex("seccomp", p.seccomp, p.seccomp_len);
    for (size_t i = 0; i < p.nrlimits; i++)
        printf("rlimit %u %llu %llu\n", p.rlimits[i].resource, (unsigned long long)p.rlimits[i].soft, (unsigned long long)p.rlimits[i].hard);
    hexs("cgroup", p.cgroup ? p.cgroup : "");
    printf("net_listen %u\n", p.net_listen_port);
    printf("net_dns %u net_redirect %u\n", p.net_dns_port, p.net_redirect_port);
    printf("sup_tables %zu\n", p.sup_tables_len);
    return 0;
}

static void print_net(const char *label, const struct sup_net_rule *r)
{
    char a[INET6_ADDRSTRLEN];
    inet_ntop(r->family == 4 ? AF_INET : AF_INET6, r->addr, a, sizeof a);
    printf("%s %d %s/%u %u-%u %u\n", label, r->family, a, r->plen, r->port_lo, r->port_hi, r->protocols);
}

static int load_tables(const char *file, struct sup_tables *t)
{
    size_t len;
    unsigned char *v = slurp(file, &len);
    char err[256];
    if (sup_tables_decode(v, len, t, err, sizeof err) < 0) {
        printf("error %s\n", err);
        return -1;
    }
    return 0;
}

static int dump_tables(const char *file)
{
    struct sup_tables t;
    if (load_tables(file, &t) < 0)
        return 0;
    printf("flags %u\n", t.flags);
    for (size_t i = 0; i < t.npaths; i++)
        printf("path %u %s\n", t.paths[i].rights, t.paths[i].path);
    for (size_t i = 0; i < t.ndenies; i++) {
        printf("deny %s", t.denies[i].text);
        for (size_t k = 0; k < t.denies[i].nsegs; k++)
            printf(" [%s]", t.denies[i].segs[k]);
        printf("\n");
    }
    for (size_t i = 0; i < t.nexec; i++)
        printf("exec %s\n", t.exec[i]);
    for (size_t i = 0; i < t.nloaders; i++)
        printf("loader %s\n", t.loaders[i]);
    for (size_t i = 0; i < t.nconnect; i++)
        print_net("connect", &t.connect[i]);
    for (size_t i = 0; i < t.nbind; i++)
        print_net("bind", &t.bind[i]);
    for (size_t i = 0; i < t.nredirect; i++)
        print_net("redirect", &t.redirect[i]);
    printf("redirect_port %u\n", t.redirect_port);
    for (size_t i = 0; i < t.nmeta; i++) {
        char a[INET6_ADDRSTRLEN];
        inet_ntop(t.meta[i].family == 4 ? AF_INET : AF_INET6, t.meta[i].addr, a, sizeof a);
        printf("meta %d %s %s\n", t.meta[i].family, a, t.meta[i].name);
    }
    for (size_t i = 0; i < t.naliases; i++)
        printf("alias %s %s\n", t.aliases[i].from, t.aliases[i].to);
    return 0;
}

/* Reads one line of stdin without its newline; NULL at the end. */
static char *next_line(char **buf, size_t *cap)
{
    ssize_t n = getline(buf, cap, stdin);
    if (n < 0)
        return NULL;
    if (n > 0 && (*buf)[n - 1] == '\n')
        (*buf)[n - 1] = 0;
    return *buf;
}

static int parse_address(const char *family, const char *text, int *fam, uint8_t addr[16])
{
    memset(addr, 0, 16);
    *fam = atoi(family);
    return inet_pton(*fam == 4 ? AF_INET : AF_INET6, text, addr) == 1 ? 0 : -1;
}

static int query(const char *file)
{
    struct sup_tables t;
    if (load_tables(file, &t) < 0)
        return 1;
    char *buf = NULL;
    size_t cap = 0;
    for (char *l; (l = next_line(&buf, &cap)) != NULL;) {
        char op[16], a[4096], b[64], c[16], proto[8] = "tcp";
        int n = sscanf(l, "%15s %4095s %63s %15s %7s", op, a, b, c, proto);
        uint16_t pr = strcmp(proto, "udp") == 0 ? SUP_P_UDP : SUP_P_TCP;
        int fam;
        uint8_t addr[16];
        if (n >= 2 && strcmp(op, "rights") == 0)
            printf("%u\n", sup_path_rights(&t, a));
        else if (n >= 2 && strcmp(op, "deny") == 0) {
            const struct sup_glob *g = sup_path_denied(&t, a);
            printf("%s\n", g ? g->text : "-");
        } else if (n >= 2 && strcmp(op, "exec") == 0)
            printf("%d\n", sup_exec_allowed(&t, a));
        else if (n >= 2 && strcmp(op, "loader") == 0)
            printf("%d\n", sup_is_loader(&t, a));
        else if (n >= 3 && strcmp(op, "moves") == 0)
            printf("%d\n", sup_glob_moves_out(&t, a, b));
        else if (n >= 4 && strcmp(op, "connect") == 0 && parse_address(a, b, &fam, addr) == 0)
            printf("%d\n", sup_net_allowed(t.connect, t.nconnect, fam, addr, (uint16_t)atoi(c), pr));
        else if (n >= 4 && strcmp(op, "bind") == 0 && parse_address(a, b, &fam, addr) == 0)
            printf("%d\n", sup_net_allowed(t.bind, t.nbind, fam, addr, (uint16_t)atoi(c), pr));
        else if (n >= 4 && strcmp(op, "redirect") == 0 && parse_address(a, b, &fam, addr) == 0)
            printf("%d\n", sup_net_allowed(t.redirect, t.nredirect, fam, addr, (uint16_t)atoi(c), pr));
        else if (n == 3 && strcmp(op, "meta") == 0 && parse_address(a, b, &fam, addr) == 0) {
            const char *name = sup_meta_name(&t, fam, addr);
            printf("%s\n", name ? name : "-");
        } else
            printf("bad query\n");
    }
    free(buf);
    return 0;
}

/* Splits a path on '/' into at most max segments (in place). */
static size_t segments(char *s, char **out, size_t max)
{
    size_t n = 0;
    char *save = NULL;
    for (char *tok = strtok_r(s, "/", &save); tok != NULL && n < max; tok = strtok_r(NULL, "/", &save))
        out[n++] = tok;
    return n;
}

static int globs(void)
{
    char *buf = NULL;
    size_t cap = 0;
    for (char *l; (l = next_line(&buf, &cap)) != NULL;) {
        char *tab = strchr(l, '\t');
        if (tab == NULL) {
            printf("bad line\n");
            continue;
        }
        *tab = 0;
        char *pat[256], *path[256];
        size_t np = segments(l, pat, 256), n = segments(tab + 1, path, 256);
        printf("%d\n", glob_match(pat, np, path, n));
    }
    free(buf);
    return 0;
}

static int normalize(void)
{
    char *buf = NULL;
    size_t cap = 0;
    for (char *l; (l = next_line(&buf, &cap)) != NULL;) {
        sup_normalize(l);
        printf("%s\n", l);
    }
    free(buf);
    return 0;
}

static int mounts(int kind)
{
    size_t len = 0, outlen = 0;
    char *in = read_all(0, &len);
    char *out = in != NULL ? dep_mounts_rewrite(kind, in, len, &outlen) : NULL;
    if (out == NULL) {
        perror("mounts");
        return 2;
    }
    fwrite(out, 1, outlen, stdout);
    free(in);
    free(out);
    return 0;
}

static int report_line(void)
{
    static struct line l;
    line_start(&l, "ev");
    char *in = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&in, &cap, stdin)) > 0) {
        if (in[n - 1] == '\n')
            in[n - 1] = 0;
        char *tab = strchr(in, '\t');
        if (tab == NULL)
            continue;
        *tab = 0;
        line_str(&l, in, tab + 1);
    }
    free(in);
    fflush(stdout);
    line_send(&l, 1);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "plan") == 0)
        return dump_plan(argv[2]);
    if (argc == 3 && strcmp(argv[1], "tables") == 0)
        return dump_tables(argv[2]);
    if (argc == 3 && strcmp(argv[1], "query") == 0)
        return query(argv[2]);
    if (argc == 2 && strcmp(argv[1], "glob") == 0)
        return globs();
    if (argc == 2 && strcmp(argv[1], "normalize") == 0)
        return normalize();
    if (argc == 3 && strcmp(argv[1], "mounts") == 0 && (argv[2][0] == 'i' || argv[2][0] == 'm'))
        return mounts(argv[2][0]);
    if (argc == 2 && strcmp(argv[1], "line") == 0)
        return report_line();
    fprintf(stderr, "usage: decoders plan|tables|query FILE, or decoders glob|normalize|mounts i|m|line < LINES\n");
    return 2;
}

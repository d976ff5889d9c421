/*
 * The supervisor's decision tables: plain data compiled by TypeScript (src/supervisor/tables.ts)
 * from the policy and the plan, carried in the plan record P_SUP_TABLES. The C side only decodes
 * and matches; it holds no policy of its own.
 *
 * Wire format (little-endian), encoded by src/jail/codec.ts (test/codec.test.ts checks the numbers):
 *   magic "MCPJSUP1", then records { u16 type, u16 zero, u32 length, value }, ending with T_END.
 *   T_FLAGS   u32 flags (SUP_F_*)
 *   T_PATH    u32 rights (SUP_R_*), then an absolute, normalized jail path: the longest rule that
 *             is the path or one of its ancestors gives the rights (mirror of the Landlock rules)
 *   T_DENY    an absolute glob over jail paths, '/'-separated segments; a segment is an fnmatch(3)
 *             pattern, "**" matches any number of segments; a glob that matches a path or any of
 *             its ancestors denies it (so a denied directory denies what lies beneath)
 *   T_EXEC    an absolute jail path (a real path: no symlink in it) that execve may start
 *   T_CONNECT u8 family (4|6), u8 prefix length, u16 first port, u16 last port, u16 protocols
 *             (SUP_P_*, 0 for any), 16 bytes address (IPv4 in the first 4): where connect() may go
 *   T_BIND    same layout: where bind() may bind
 *   T_META    u8 family, u8 zero x3, 16 bytes address, then a name: refused and logged by name
 *   T_LOADER  an absolute jail path of an ELF interpreter: a process whose executable it is was
 *             started by an exec race and is killed
 *   T_PROC    the name of a /proc/PID entry private to its process (mem, environ, fd, ...): opened
 *             for another process of the jail it is refused, as ptrace is
 *   T_REDIRECT same layout as T_CONNECT: a TCP connect() there is not performed as asked but
 *             redirected to the egress proxy (the addresses the jail's resolver hands out for
 *             allowed names, and the IP literals --allow-net names; docs/design.md, "Network")
 *   T_REDIRECT_PORT u16 port: where the proxy's redirect listener is on the jail's loopback
 *             (127.0.0.1 for IPv4 sockets, ::1 for IPv6 ones); 0 or absent: no redirection
 *   T_ALIAS   u32 length, an absolute jail path, then another: an open of the first (a name the
 *             jail's /proc cannot hold, such as /proc/cpuinfo) opens the second, a file of the plan
 */
#ifndef MCPJ_SUP_TABLES_H
#define MCPJ_SUP_TABLES_H

#include <stddef.h>
#include <stdint.h>

#define SUP_TABLES_MAGIC "MCPJSUP1"

enum sup_record {
    T_END = 0,
    T_FLAGS = 1,
    T_PATH = 2,
    T_DENY = 3,
    T_EXEC = 4,
    T_CONNECT = 5,
    T_BIND = 6,
    T_META = 7,
    T_LOADER = 8,
    T_PROC = 9,
    T_REDIRECT = 10,
    T_REDIRECT_PORT = 11,
    T_ALIAS = 12,
};

enum sup_protocols {
    SUP_P_TCP = 1,
    SUP_P_UDP = 2,
};

enum sup_flags {
    SUP_F_LOG_ALLOW = 1, /* audit allowed decisions too, not only denials */
};

enum sup_rights {
    SUP_R_READ = 1,  /* read regular files */
    SUP_R_WRITE = 2, /* write, create, truncate */
    SUP_R_DIR = 4,   /* list directories */
};

struct sup_path_rule {
    char *path;
    size_t len;
    uint32_t rights;
};

struct sup_glob {
    char *text;  /* as given, for the audit */
    char **segs; /* split on '/' */
    size_t nsegs;
};

struct sup_net_rule {
    int family; /* 4 or 6 */
    unsigned plen;
    uint16_t port_lo, port_hi;
    uint16_t protocols; /* SUP_P_*, 0: any */
    uint8_t addr[16];
};

struct sup_meta {
    int family;
    uint8_t addr[16];
    char *name;
};

struct sup_alias {
    char *from, *to;
};

struct sup_tables {
    uint32_t flags;
    struct sup_path_rule *paths;
    size_t npaths;
    struct sup_glob *denies;
    size_t ndenies;
    char **exec;
    size_t nexec;
    char **loaders;
    size_t nloaders;
    struct sup_net_rule *connect, *bind, *redirect;
    size_t nconnect, nbind, nredirect;
    uint16_t redirect_port;
    struct sup_meta *meta;
    size_t nmeta;
    char **proc_private;
    size_t nproc_private;
    struct sup_alias *aliases;
    size_t naliases;
};

/* Decodes the tables (NULL/0: empty tables, everything denied). Returns 0 or -1 with err set. */
int sup_tables_decode(const unsigned char *v, size_t len, struct sup_tables *t, char *err, size_t errlen);

/* Rights of the longest rule covering path (0: no rule). */
uint32_t sup_path_rights(const struct sup_tables *t, const char *path);
/* The deny glob matching path or one of its ancestors, or NULL. A path too long or too deep to
 * match is denied (a static entry whose text says so): never fail open. */
const struct sup_glob *sup_path_denied(const struct sup_tables *t, const char *path);
/* Would renaming from -> to carry something a deny glob could match below from to where the glob
 * no longer reaches? (Fails closed on paths too long to match.) */
int sup_glob_moves_out(const struct sup_tables *t, const char *from, const char *to);
/* Index of g in t->denies (for events), or -1 for the "too long" entry. */
int sup_glob_index(const struct sup_tables *t, const struct sup_glob *g);

enum sup_verdict { SUP_OK = 0, SUP_GLOB, SUP_READONLY, SUP_OUTSIDE };
/* The decision on a real jail path for the rights asked (SUP_R_*): a deny glob (*glob set), or
 * rights the grant does not give. The tables mirror the Landlock rules, so this refuses what
 * Landlock would, before anything is created or truncated. */
enum sup_verdict sup_decide(const struct sup_tables *t, const char *path, uint32_t need, const struct sup_glob **glob);
/* Is NAME (the first segment after /proc/PID/) private to its process? */
int sup_proc_private(const struct sup_tables *t, const char *name);
int sup_exec_allowed(const struct sup_tables *t, const char *path);
/* The file an open of path opens instead (T_ALIAS), or NULL. */
const char *sup_alias(const struct sup_tables *t, const char *path);
int sup_is_loader(const struct sup_tables *t, const char *path);
/* family 4|6; for 6, an IPv4-mapped address is matched as IPv4 too. */
int sup_net_allowed(const struct sup_net_rule *rules, size_t n, int family, const uint8_t addr[16], uint16_t port, uint16_t protocol);
const char *sup_meta_name(const struct sup_tables *t, int family, const uint8_t addr[16]);

/* Lexical normalization of an absolute path in place: "//", "." and ".." (never above "/"). */
void sup_normalize(char *path);

#endif

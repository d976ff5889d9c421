/*
 * Decoding and matching of the supervisor's decision tables (format in sup_tables.h). The tables
 * come from mcp-j (trusted) but are parsed defensively like the plan: bounded lengths, no NULs.
 */
#include "sup_tables.h"
#include "wire.h"

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


static int split_glob(struct sup_glob *g)
{
    g->segs = NULL;
    g->nsegs = 0;
    char *copy = strdup(g->text);
    if (copy == NULL)
        return -1;
    char *save = NULL;
    for (char *tok = strtok_r(copy, "/", &save); tok != NULL; tok = strtok_r(NULL, "/", &save)) {
        char *s = strdup(tok);
        if (s == NULL || wire_push((void **)&g->segs, &g->nsegs, sizeof s, &s) < 0) {
            free(copy);
            return -1;
        }
    }
    free(copy);
    return 0;
}

static int decode_net(const unsigned char *v, size_t len, struct sup_net_rule *r)
{
    if (len != 24)
        return -1;
    r->family = v[0];
    r->plen = v[1];
    r->port_lo = (uint16_t)wire_u16(v + 2);
    r->port_hi = (uint16_t)wire_u16(v + 4);
    r->protocols = (uint16_t)wire_u16(v + 6);
    memcpy(r->addr, v + 8, 16);
    if ((r->family != 4 && r->family != 6) || r->plen > (r->family == 4 ? 32u : 128u) || r->port_lo > r->port_hi)
        return -1;
    return 0;
}

int sup_tables_decode(const unsigned char *v, size_t len, struct sup_tables *t, char *err, size_t errlen)
{
    memset(t, 0, sizeof *t);
    if (v == NULL)
        return 0;
    if (len < 8 || memcmp(v, SUP_TABLES_MAGIC, 8) != 0) {
        snprintf(err, errlen, "the supervisor tables do not start with %s", SUP_TABLES_MAGIC);
        return -1;
    }
    size_t pos = 8;
    for (;;) {
        if (len - pos < 8) {
            snprintf(err, errlen, "the supervisor tables end before their END record");
            return -1;
        }
        uint32_t type = wire_u16(v + pos), n = wire_u32(v + pos + 4);
        pos += 8;
        if (len - pos < n) {
            snprintf(err, errlen, "supervisor table record %u is truncated", type);
            return -1;
        }
        const unsigned char *r = v + pos;
        pos += n;
        int bad = 0;
        switch (type) {
        case T_END:
            return 0;
        case T_FLAGS:
            bad = n != 4;
            if (!bad)
                t->flags = wire_u32(r);
            break;
        case T_PATH: {
            struct sup_path_rule pr;
            bad = n < 5;
            if (!bad) {
                pr.rights = wire_u32(r);
                pr.path = wire_str(r + 4, n - 4);
                bad = pr.path == NULL || pr.path[0] != '/';
            }
            if (!bad) {
                pr.len = strlen(pr.path);
                bad = wire_push((void **)&t->paths, &t->npaths, sizeof pr, &pr) < 0;
            }
            break;
        }
        case T_DENY: {
            struct sup_glob g;
            bad = (g.text = wire_str(r, n)) == NULL || g.text[0] != '/' || split_glob(&g) < 0 ||
                  wire_push((void **)&t->denies, &t->ndenies, sizeof g, &g) < 0;
            break;
        }
        case T_EXEC:
        case T_LOADER: {
            char *s = wire_str(r, n);
            bad = s == NULL || s[0] != '/';
            if (!bad && type == T_EXEC)
                bad = wire_push((void **)&t->exec, &t->nexec, sizeof s, &s) < 0;
            else if (!bad)
                bad = wire_push((void **)&t->loaders, &t->nloaders, sizeof s, &s) < 0;
            break;
        }
        case T_PROC: {
            char *s = wire_str(r, n);
            bad = s == NULL || s[0] == 0 || strchr(s, '/') != NULL ||
                  wire_push((void **)&t->proc_private, &t->nproc_private, sizeof s, &s) < 0;
            break;
        }
        case T_ALIAS: {
            struct sup_alias a;
            uint32_t fl = n >= 4 ? wire_u32(r) : 0;
            bad = n < 4 || fl > n - 4;
            if (!bad) {
                a.from = wire_str(r + 4, fl);
                a.to = wire_str(r + 4 + fl, n - 4 - fl);
                bad = a.from == NULL || a.to == NULL || a.from[0] != '/' || a.to[0] != '/' ||
                      wire_push((void **)&t->aliases, &t->naliases, sizeof a, &a) < 0;
            }
            break;
        }
        case T_CONNECT:
        case T_BIND:
        case T_REDIRECT: {
            struct sup_net_rule nr;
            bad = decode_net(r, n, &nr) < 0;
            if (!bad && type == T_CONNECT)
                bad = wire_push((void **)&t->connect, &t->nconnect, sizeof nr, &nr) < 0;
            else if (!bad && type == T_BIND)
                bad = wire_push((void **)&t->bind, &t->nbind, sizeof nr, &nr) < 0;
            else if (!bad)
                bad = wire_push((void **)&t->redirect, &t->nredirect, sizeof nr, &nr) < 0;
            break;
        }
        case T_REDIRECT_PORT:
            bad = n != 2;
            if (!bad)
                t->redirect_port = (uint16_t)wire_u16(r);
            break;
        case T_META: {
            struct sup_meta m;
            bad = n < 21 || (r[0] != 4 && r[0] != 6);
            if (!bad) {
                m.family = r[0];
                memcpy(m.addr, r + 4, 16);
                bad = (m.name = wire_str(r + 20, n - 20)) == NULL || wire_push((void **)&t->meta, &t->nmeta, sizeof m, &m) < 0;
            }
            break;
        }
        default:
            bad = 1;
        }
        if (bad) {
            snprintf(err, errlen, "supervisor table record %u is malformed", type);
            return -1;
        }
    }
}

uint32_t sup_path_rights(const struct sup_tables *t, const char *path)
{
    size_t best = 0;
    uint32_t rights = 0;
    int found = 0;
    for (size_t i = 0; i < t->npaths; i++) {
        const struct sup_path_rule *r = &t->paths[i];
        int covers = 1; /* the rule for "/" covers everything */
        if (r->len > 1)
            covers = strncmp(path, r->path, r->len) == 0 && (path[r->len] == 0 || path[r->len] == '/');
        if (covers && (!found || r->len > best)) {
            best = r->len;
            rights = r->rights;
            found = 1;
        }
    }
    return rights;
}

/* Does pattern segs[0..np) match a prefix of path segments p[0..n)? "**" eats zero or more. */
static int glob_match(char *const *segs, size_t np, char *const *p, size_t n)
{
    if (np == 0)
        return 1; /* the pattern matched this path or an ancestor of it */
    if (strcmp(segs[0], "**") == 0) {
        for (size_t skip = 0; skip <= n; skip++)
            if (glob_match(segs + 1, np - 1, p + skip, n - skip))
                return 1;
        return 0;
    }
    if (n == 0)
        return 0;
    return fnmatch(segs[0], p[0], 0) == 0 && glob_match(segs + 1, np - 1, p + 1, n - 1);
}

/* What a path that cannot be matched is refused by: longer than PATH_MAX or deeper than any path
 * the kernel resolves. Matching part of it could let a denied name through, so it is refused. */
static const struct sup_glob too_long = { .text = "(path too long to match the deny rules)" };

#define MAX_SEGS 2048 /* a 4096-byte path has at most 2048 segments ("/a" each) */

const struct sup_glob *sup_path_denied(const struct sup_tables *t, const char *path)
{
    if (t->ndenies == 0)
        return NULL;
    char buf[4096];
    char *segs[MAX_SEGS];
    size_t n = 0;
    if (strlen(path) >= sizeof buf)
        return &too_long;
    strcpy(buf, path);
    char *save = NULL;
    for (char *tok = strtok_r(buf, "/", &save); tok != NULL; tok = strtok_r(NULL, "/", &save)) {
        if (n == MAX_SEGS)
            return &too_long;
        segs[n++] = tok;
    }
    for (size_t i = 0; i < t->ndenies; i++)
        if (glob_match(t->denies[i].segs, t->denies[i].nsegs, segs, n))
            return &t->denies[i];
    return NULL;
}

/* The glob as an automaton over path segments: state i means segs[0..i) matched so far; np is the
 * accepting state (the path, or an ancestor, matched: everything below matches too, so it absorbs).
 * A "**" state may consume any segment and stay, or be skipped without consuming one. */
#define MAX_GLOB_STATES 256

static void glob_close(char *const *segs, size_t np, char *st)
{
    for (size_t i = 0; i < np; i++)
        if (st[i] && strcmp(segs[i], "**") == 0)
            st[i + 1] = 1;
}

/* The states after p[0..n), from the start state. */
static void glob_states(char *const *segs, size_t np, char *const *p, size_t n, char *st)
{
    memset(st, 0, np + 1);
    st[0] = 1;
    glob_close(segs, np, st);
    for (size_t k = 0; k < n && !st[np]; k++) {
        char next[MAX_GLOB_STATES + 1];
        memset(next, 0, np + 1);
        for (size_t i = 0; i < np; i++) {
            if (!st[i])
                continue;
            if (strcmp(segs[i], "**") == 0)
                next[i] = 1;
            else if (fnmatch(segs[i], p[k], 0) == 0)
                next[i + 1] = 1;
        }
        memcpy(st, next, np + 1);
        glob_close(segs, np, st);
    }
}

/* Would moving what is at `from` to `to` let something below it escape the glob? What lies below
 * a name is matched from the states the name's own segments lead to: if `to` leads to every state
 * `from` does (or is itself matched, so everything below it is), whatever matched below `from`
 * still matches below `to`. Otherwise it is refused (conservatively: another state could match
 * the same names). */
static int glob_escapes(char *const *segs, size_t np, char *const *fp, size_t nf, char *const *tp, size_t nt)
{
    if (np > MAX_GLOB_STATES)
        return 1;
    char fs[MAX_GLOB_STATES + 1], ts[MAX_GLOB_STATES + 1];
    glob_states(segs, np, fp, nf, fs);
    glob_states(segs, np, tp, nt, ts);
    if (ts[np])
        return 0;
    for (size_t i = 0; i < np; i++)
        if (fs[i] && !ts[i])
            return 1;
    return 0;
}

static int split_path(char *buf, char **segs, size_t *n)
{
    char *save = NULL;
    *n = 0;
    for (char *tok = strtok_r(buf, "/", &save); tok != NULL; tok = strtok_r(NULL, "/", &save)) {
        if (*n == MAX_SEGS)
            return -1;
        segs[(*n)++] = tok;
    }
    return 0;
}

int sup_glob_moves_out(const struct sup_tables *t, const char *from, const char *to)
{
    if (t->ndenies == 0)
        return 0;
    char fb[4096], tb[4096];
    char *fs[MAX_SEGS], *ts[MAX_SEGS];
    size_t nf, nt;
    if (strlen(from) >= sizeof fb || strlen(to) >= sizeof tb)
        return 1;
    strcpy(fb, from);
    strcpy(tb, to);
    if (split_path(fb, fs, &nf) < 0 || split_path(tb, ts, &nt) < 0)
        return 1;
    for (size_t i = 0; i < t->ndenies; i++) {
        const struct sup_glob *g = &t->denies[i];
        if (glob_escapes(g->segs, g->nsegs, fs, nf, ts, nt))
            return 1;
    }
    return 0;
}

int sup_glob_index(const struct sup_tables *t, const struct sup_glob *g)
{
    if (g < t->denies || g >= t->denies + t->ndenies)
        return -1;
    return (int)(g - t->denies);
}

enum sup_verdict sup_decide(const struct sup_tables *t, const char *path, uint32_t need, const struct sup_glob **glob)
{
    *glob = sup_path_denied(t, path);
    if (*glob != NULL)
        return SUP_GLOB;
    uint32_t rights = sup_path_rights(t, path);
    if ((rights & need) == need)
        return SUP_OK;
    return (rights & (SUP_R_READ | SUP_R_WRITE)) ? SUP_READONLY : SUP_OUTSIDE;
}

const char *sup_alias(const struct sup_tables *t, const char *path)
{
    for (size_t i = 0; i < t->naliases; i++)
        if (strcmp(t->aliases[i].from, path) == 0)
            return t->aliases[i].to;
    return NULL;
}

int sup_proc_private(const struct sup_tables *t, const char *name)
{
    for (size_t i = 0; i < t->nproc_private; i++)
        if (strcmp(t->proc_private[i], name) == 0)
            return 1;
    return 0;
}

int sup_exec_allowed(const struct sup_tables *t, const char *path)
{
    for (size_t i = 0; i < t->nexec; i++)
        if (strcmp(t->exec[i], path) == 0)
            return 1;
    return 0;
}

int sup_is_loader(const struct sup_tables *t, const char *path)
{
    for (size_t i = 0; i < t->nloaders; i++)
        if (strcmp(t->loaders[i], path) == 0)
            return 1;
    return 0;
}

static int prefix_match(const uint8_t *a, const uint8_t *b, unsigned plen)
{
    unsigned full = plen / 8, rest = plen % 8;
    if (memcmp(a, b, full) != 0)
        return 0;
    if (rest == 0)
        return 1;
    uint8_t mask = (uint8_t)(0xff << (8 - rest));
    return (a[full] & mask) == (b[full] & mask);
}

static int is_mapped(const uint8_t a[16])
{
    static const uint8_t pfx[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
    return memcmp(a, pfx, 12) == 0;
}

int sup_net_allowed(const struct sup_net_rule *rules, size_t n, int family, const uint8_t addr[16], uint16_t port, uint16_t protocol)
{
    uint8_t v4[16] = { 0 };
    int mapped = family == 6 && is_mapped(addr);
    if (mapped)
        memcpy(v4, addr + 12, 4);
    for (size_t i = 0; i < n; i++) {
        const struct sup_net_rule *r = &rules[i];
        if (port < r->port_lo || port > r->port_hi)
            continue;
        if (r->protocols != 0 && (r->protocols & protocol) == 0)
            continue;
        if (r->family == family && prefix_match(r->addr, addr, r->plen))
            return 1;
        if (mapped && r->family == 4 && prefix_match(r->addr, v4, r->plen))
            return 1;
    }
    return 0;
}

const char *sup_meta_name(const struct sup_tables *t, int family, const uint8_t addr[16])
{
    uint8_t v4[16] = { 0 };
    int mapped = family == 6 && is_mapped(addr);
    if (mapped)
        memcpy(v4, addr + 12, 4);
    for (size_t i = 0; i < t->nmeta; i++) {
        const struct sup_meta *m = &t->meta[i];
        size_t alen = m->family == 4 ? 4 : 16;
        if (m->family == family && memcmp(m->addr, addr, alen) == 0)
            return m->name;
        if (mapped && m->family == 4 && memcmp(m->addr, v4, 4) == 0)
            return m->name;
    }
    return NULL;
}

void sup_normalize(char *path)
{
    /* Segments are written back into the same buffer, each with its leading '/'. The output never
     * overtakes the input: every segment read was preceded by at least one '/'. */
    char *w = path;
    const char *r = path;
    for (;;) {
        while (*r == '/')
            r++;
        if (*r == 0)
            break;
        const char *s = r;
        while (*r && *r != '/')
            r++;
        size_t n = (size_t)(r - s);
        if (n == 1 && s[0] == '.')
            continue;
        if (n == 2 && s[0] == '.' && s[1] == '.') {
            while (w > path && *--w != '/')
                ;
            continue;
        }
        *w++ = '/';
        memmove(w, s, n);
        w += n;
    }
    if (w == path)
        *w++ = '/';
    *w = 0;
}

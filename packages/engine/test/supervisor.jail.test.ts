// Seccomp supervision (issue 7) on the real kernel, as root and unprivileged: ESCAPES.md 16–25,
// 29–33, 37–41, 46–48, each with its errno and, for the supervisor's denials, its audit event; the
// races at the stated counts; multithreaded targets, a signal storm, and real programs.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compileC, hostKernel, programsDir, runJailed, type JailedResult, type RunOptions } from "./helpers/jailed.js";
import type { PolicyInput } from "../src/policy/schema.js";
import { decodeEvent, formatDenial, type SupervisorEvent } from "../src/supervisor/events.js";

const isRoot = process.getuid?.() === 0;

export const ATTACKS_C = String.raw`/* Supervisor escape checks (ESCAPES.md 16-25, 29-31, 37, 39-41, 46-48). Each argument names one
 * check, "name" or "name:arg"; each prints "name=OUTCOME" (OK or the errno's name). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/filter.h>
#include <linux/perf_event.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *errname(int e) { const char *n = strerrorname_np(e); return n ? n : "E_UNKNOWN"; }
static void report(const char *k, const char *v) { printf("%s=%s\n", k, v); fflush(stdout); }
static void rc(const char *k, long r) { report(k, r < 0 ? errname(errno) : "OK"); }
static void rcfd(const char *k, long r) { report(k, r < 0 ? errname(errno) : "OK"); if (r >= 0) close((int)r); }

/* Runs f in a child; reports "signal:N" when it was killed, its own output otherwise. */
static void in_child(const char *k, void (*f)(void))
{
    fflush(stdout);
    pid_t p = fork();
    if (p == 0) { f(); _exit(0); }
    int st;
    waitpid(p, &st, 0);
    if (WIFSIGNALED(st)) { char b[32]; snprintf(b, sizeof b, "signal:%d", WTERMSIG(st)); report(k, b); }
}

static void int80(void)
{
    long r;
    __asm__ volatile("int $0x80" : "=a"(r) : "a"(20L) : "memory"); /* i386 getpid */
    printf("int80=returned:%ld\n", r);
}

static void x32(void)
{
    long r = syscall(0x40000000L | __NR_openat, AT_FDCWD, "/etc/passwd", O_RDONLY);
    printf("x32=returned:%ld\n", r);
}

static int connect_to(int family, const char *ip, int port)
{
    int s = socket(family, SOCK_STREAM, 0);
    if (s < 0) return -1;
    int r;
    if (family == AF_INET) {
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
        inet_pton(AF_INET, ip, &a.sin_addr);
        r = connect(s, (struct sockaddr *)&a, sizeof a);
    } else {
        struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port) };
        inet_pton(AF_INET6, ip, &a.sin6_addr);
        r = connect(s, (struct sockaddr *)&a, sizeof a);
    }
    int e = errno;
    close(s);
    errno = e;
    return r;
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        char *k = argv[i];
        char *arg = strchr(k, ':');
        char name[256];
        snprintf(name, sizeof name, "%s", k);
        if (arg) *arg++ = 0;
        errno = 0;
        if (!strcmp(k, "io_uring")) rc(name, syscall(__NR_io_uring_setup, 8, calloc(1, 120)));
        else if (!strcmp(k, "ptrace_sibling")) {
            pid_t c = fork();
            if (c == 0) { pause(); _exit(0); }
            rc(name, ptrace(PTRACE_ATTACH, c, 0, 0));
            kill(c, SIGKILL); waitpid(c, NULL, 0);
        } else if (!strcmp(k, "process_vm_writev")) {
            char b[8] = "x"; struct iovec l = { b, 1 }, r = { b, 1 };
            rc(name, process_vm_writev(getppid() ? getpid() : getpid(), &l, 1, &r, 1, 0));
        } else if (!strcmp(k, "kcmp")) rc(name, syscall(__NR_kcmp, getpid(), getpid(), 0, 0, 0));
        else if (!strcmp(k, "userfaultfd")) rc(name, syscall(__NR_userfaultfd, 0));
        else if (!strcmp(k, "open")) rcfd(name, open(arg, O_RDONLY | O_CLOEXEC));
        else if (!strcmp(k, "open_w")) rcfd(name, open(arg, O_WRONLY | O_CLOEXEC));
        else if (!strcmp(k, "openat_rel")) { /* openat_rel:DIR,REL */
            char *c = strchr(arg, ','); *c++ = 0;
            int d = open(arg, O_PATH | O_DIRECTORY | O_CLOEXEC);
            rcfd(name, openat(d, c, O_RDONLY | O_CLOEXEC));
            close(d);
        } else if (!strcmp(k, "read")) {
            int fd = open(arg, O_RDONLY | O_CLOEXEC); char b[256] = { 0 };
            if (fd < 0) { report(name, errname(errno)); continue; }
            ssize_t n = read(fd, b, sizeof b - 1); close(fd);
            if (n < 0) { report(name, errname(errno)); continue; }
            b[strcspn(b, "\n")] = 0;
            char out[300]; snprintf(out, sizeof out, "data:%s", b); report(name, out);
        } else if (!strcmp(k, "symlink_open")) { /* symlink_open:TARGET (a link in /tmp) */
            char l[64]; snprintf(l, sizeof l, "/tmp/lnk%d", i); unlink(l);
            if (symlink(arg, l) < 0) { report(name, errname(errno)); continue; }
            rcfd(name, open(l, O_RDONLY | O_CLOEXEC));
        } else if (!strcmp(k, "fd_magic")) { /* /proc/self/fd/N/../..: a granted dir fd as a way out */
            int d = open(arg, O_PATH | O_DIRECTORY | O_CLOEXEC); char p[128];
            snprintf(p, sizeof p, "/proc/self/fd/%d/../../../../etc/shadow", d);
            rcfd(name, open(p, O_RDONLY | O_CLOEXEC)); close(d);
        } else if (!strcmp(k, "bpf")) {
            struct bpf_insn insn[2] = { { .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 0, .imm = 0 }, { .code = BPF_JMP | BPF_EXIT } };
            union bpf_attr a; memset(&a, 0, sizeof a);
            a.prog_type = BPF_PROG_TYPE_SOCKET_FILTER; a.insns = (uintptr_t)insn; a.insn_cnt = 2; a.license = (uintptr_t)"GPL";
            rc(name, syscall(__NR_bpf, BPF_PROG_LOAD, &a, sizeof a));
        } else if (!strcmp(k, "perf_event_open")) {
            struct perf_event_attr a; memset(&a, 0, sizeof a); a.size = sizeof a; a.type = PERF_TYPE_SOFTWARE; a.config = PERF_COUNT_SW_CPU_CLOCK;
            rc(name, syscall(__NR_perf_event_open, &a, 0, -1, -1, 0));
        } else if (!strcmp(k, "keyctl_join")) rc(name, syscall(__NR_keyctl, 1 /* KEYCTL_JOIN_SESSION_KEYRING */, "x"));
        else if (!strcmp(k, "add_key")) rc(name, syscall(__NR_add_key, "user", "k", "v", 1, -3));
        else if (!strcmp(k, "request_key")) rc(name, syscall(__NR_request_key, "user", "k", NULL, -3));
        else if (!strcmp(k, "name_to_handle_at")) {
            struct { unsigned int bytes; int type; unsigned char h[128]; } fh = { 128, 0, { 0 } }; int mnt;
            rc(name, syscall(__NR_name_to_handle_at, AT_FDCWD, "/etc/passwd", &fh, &mnt, 0));
        } else if (!strcmp(k, "open_by_handle_at")) {
            struct { unsigned int bytes; int type; unsigned char h[8]; } fh = { 8, 1, { 2, 0, 0, 0, 0, 0, 0, 0 } };
            rc(name, syscall(__NR_open_by_handle_at, AT_FDCWD, &fh, O_RDONLY));
        } else if (!strcmp(k, "kexec_load")) rc(name, syscall(__NR_kexec_load, 0, 0, NULL, 0));
        else if (!strcmp(k, "finit_module")) rc(name, syscall(__NR_finit_module, 0, "", 0));
        else if (!strcmp(k, "init_module")) rc(name, syscall(__NR_init_module, NULL, 0, ""));
        else if (!strcmp(k, "reboot")) rc(name, syscall(__NR_reboot, 0xfee1dead, 672274793, 0x89abcdef /* CAD_OFF */, NULL));
        else if (!strcmp(k, "swapon")) rc(name, syscall(__NR_swapon, "/tmp/x", 0));
        else if (!strcmp(k, "syslog")) rc(name, syscall(__NR_syslog, 3, calloc(1, 64), 64));
        else if (!strcmp(k, "acct")) rc(name, syscall(__NR_acct, NULL));
        else if (!strcmp(k, "settimeofday")) { struct timeval tv; gettimeofday(&tv, NULL); rc(name, syscall(__NR_settimeofday, &tv, NULL)); }
        else if (!strcmp(k, "personality_rie")) rc(name, syscall(__NR_personality, READ_IMPLIES_EXEC));
        else if (!strcmp(k, "personality_norandom")) rc(name, syscall(__NR_personality, ADDR_NO_RANDOMIZE));
        else if (!strcmp(k, "int80")) in_child(name, int80);
        else if (!strcmp(k, "x32")) in_child(name, x32);
        else if (!strcmp(k, "seccomp_listener")) {
            struct sock_filter f[] = { BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW) };
            struct sock_fprog prog = { 1, f };
            rcfd(name, syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog));
        } else if (!strcmp(k, "memfd_exec")) {
            int fd = memfd_create("x", MFD_CLOEXEC | 0x0008 /* MFD_NOEXEC_SEAL */);
            if (fd < 0) { report(name, errname(errno)); continue; }
            char *av[] = { "x", NULL };
            rc(name, syscall(__NR_execveat, fd, "", av, av + 1, AT_EMPTY_PATH));
        } else if (!strcmp(k, "memfd_exec_noseal")) {
            rc(name, memfd_create("x", MFD_CLOEXEC));
        } else if (!strcmp(k, "exec_procfd")) {
            int fd = open(arg, O_RDONLY); char p[64]; snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
            char *av[] = { p, NULL };
            rc(name, execve(p, av, av + 1));
        } else if (!strcmp(k, "exec")) {
            fflush(stdout);
            pid_t c = fork();
            if (c == 0) { char *av[] = { arg, "--version", NULL }; execve(arg, av, av + 2); printf("%s=%s\n", name, errname(errno)); fflush(stdout); _exit(0); }
            int st; waitpid(c, &st, 0);
            if (WIFEXITED(st) && WEXITSTATUS(st) == 0) { /* the child printed on failure only */ }
        } else if (!strcmp(k, "connect4")) { char *c = strrchr(arg, ','); *c++ = 0; rc(name, connect_to(AF_INET, arg, atoi(c))); }
        else if (!strcmp(k, "connect6")) { char *c = strrchr(arg, ','); *c++ = 0; rc(name, connect_to(AF_INET6, arg, atoi(c))); }
        else if (!strcmp(k, "udp_bind_lo")) {
            int s = socket(AF_INET, SOCK_DGRAM, 0);
            struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
            rc(name, bind(s, (struct sockaddr *)&a, sizeof a)); close(s);
        } else if (!strcmp(k, "socket")) { /* socket:DOMAIN,TYPE[,PROTOCOL] */
            char *c = strchr(arg, ','); *c++ = 0;
            char *p = strchr(c, ',');
            if (p != NULL) *p++ = 0;
            rcfd(name, socket(atoi(arg), atoi(c), p != NULL ? atoi(p) : 0));
        } else if (!strcmp(k, "unix_connect")) { /* abstract when it starts with @ */
            int s = socket(AF_UNIX, SOCK_STREAM, 0);
            struct sockaddr_un a = { .sun_family = AF_UNIX };
            socklen_t len;
            if (arg[0] == '@') { memcpy(a.sun_path + 1, arg + 1, strlen(arg) - 1); len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(arg)); }
            else { snprintf(a.sun_path, sizeof a.sun_path, "%s", arg); len = sizeof a; }
            rc(name, connect(s, (struct sockaddr *)&a, len)); close(s);
        } else if (!strcmp(k, "unix_pair_local")) { /* a unix listener inside the jail works */
            int l = socket(AF_UNIX, SOCK_STREAM, 0);
            struct sockaddr_un a = { .sun_family = AF_UNIX }; snprintf(a.sun_path, sizeof a.sun_path, "/tmp/sock%d", getpid());
            if (bind(l, (struct sockaddr *)&a, sizeof a) < 0 || listen(l, 1) < 0) { report(name, errname(errno)); continue; }
            int s = socket(AF_UNIX, SOCK_STREAM, 0);
            rc(name, connect(s, (struct sockaddr *)&a, sizeof a)); close(s); close(l);
        } else report(name, "UNKNOWN_CHECK");
    }
    return 0;
}
`;

export const RACES_C = String.raw`/* Races against the supervisor (ESCAPES.md 32, 33, 38) and a signal storm. Prints name=value. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

static atomic_int stop;
static char flip_buf[4096];
static const char *flip_a, *flip_b;
static const char *dir_a, *dir_b;

static void *exchanger(void *x)
{
    (void)x;
    while (!atomic_load(&stop))
        syscall(SYS_renameat2, AT_FDCWD, dir_a, AT_FDCWD, dir_b, 2 /* RENAME_EXCHANGE */);
    return NULL;
}

static void *flipper(void *x)
{
    (void)x;
    size_t la = strlen(flip_a) + 1, lb = strlen(flip_b) + 1;
    while (!atomic_load(&stop)) {
        memcpy(flip_buf, flip_a, la);
        memcpy(flip_buf, flip_b, lb);
    }
    return NULL;
}

static char *watch_page, *flip_dst;
static long watch_len;
static size_t flip_len;
static atomic_int flipped, watching;

/* Waits for watch_page to be mapped in (read by the supervisor), then writes flip_b over flip_dst. */
static void *page_watcher(void *x)
{
    (void)x;
    atomic_store(&watching, 1);
    for (;;) {
        unsigned char in = 0;
        if (mincore(watch_page, (size_t)watch_len, &in) == 0 && (in & 1)) {
            memcpy(flip_dst, flip_b, flip_len);
            atomic_store(&flipped, 1);
            return NULL;
        }
    }
}

/* Reads what fd holds: 1 when it is the secret. */
static int is_secret(int fd)
{
    char b[64] = { 0 };
    ssize_t n = read(fd, b, sizeof b - 1);
    return n > 0 && strncmp(b, "SECRET", 6) == 0;
}

static volatile sig_atomic_t alarms;
static void on_alarm(int sig) { (void)sig; alarms++; }

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    if (!strcmp(argv[1], "rename") && argc == 5) {
        /* rename WORKDIR SECRETDIR N: WORKDIR/d (a directory holding f) and WORKDIR/l (a symlink
         * to SECRETDIR, which holds f too) swap places while WORKDIR/d/f is opened */
        static char a[4096], b[4096], f[4096];
        snprintf(a, sizeof a, "%s/d", argv[2]);
        snprintf(b, sizeof b, "%s/l", argv[2]);
        snprintf(f, sizeof f, "%s/d/f", argv[2]);
        mkdir(argv[2], 0700);
        mkdir(a, 0700);
        int w = open(f, O_CREAT | O_WRONLY | O_TRUNC, 0600);
        if (w < 0 || write(w, "inside\n", 7) != 7 || symlink(argv[3], b) < 0) { printf("setup=%s\n", strerror(errno)); return 1; }
        close(w);
        dir_a = a;
        dir_b = b;
        argv[4 + 0] = argv[4];
        long n = atol(argv[4]);
        argv[4] = f;
        pthread_t t;
        pthread_create(&t, NULL, exchanger, NULL);
        long ok = 0, leaks = 0, other = 0;
        for (long i = 0; i < n; i++) {
            int fd = open(argv[4], O_RDONLY | O_CLOEXEC);
            if (fd >= 0) {
                if (is_secret(fd)) leaks++; else ok++;
                close(fd);
            } else other++;
        }
        atomic_store(&stop, 1);
        pthread_join(t, NULL);
        printf("opened=%ld\nrefused=%ld\nleaks=%ld\n", ok, other, leaks);
    } else if (!strcmp(argv[1], "flip") && argc == 5) {
        /* flip GRANTED DENIED N */
        flip_a = argv[2];
        flip_b = argv[3];
        strcpy(flip_buf, flip_a);
        long n = atol(argv[4]);
        pthread_t t;
        pthread_create(&t, NULL, flipper, NULL);
        long ok = 0, leaks = 0, refused = 0;
        for (long i = 0; i < n; i++) {
            int fd = open(flip_buf, O_RDONLY | O_CLOEXEC);
            if (fd >= 0) {
                if (is_secret(fd)) leaks++; else ok++;
                close(fd);
            } else refused++;
        }
        atomic_store(&stop, 1);
        pthread_join(t, NULL);
        printf("opened=%ld\nrefused=%ld\nleaks=%ld\n", ok, refused, leaks);
    } else if (!strcmp(argv[1], "execflip") && argc == 5) {
        /* execflip ALLOWED DENIED N: each child execs ALLOWED and rewrites the path to DENIED
         * after the supervisor has read it, before the kernel does. The path ends where a page
         * ends; its NUL is the first byte of the next page, never touched, so the first read of
         * that page is the supervisor's (it reads a path page by page and the kernel reads it only
         * once the exec is allowed): mincore(2) sees the page come in, and a thread then writes
         * DENIED over the path. The two are made the same length with leading slashes. Prints
         * execs (children that ran a program), refused (EACCES after the rewrite), unseen (EACCES
         * with no rewrite: the supervisor refused) and other (another errno: the kernel read the
         * path while it was being rewritten). */
        char pa[256], pb[256];
        size_t la = strlen(argv[2]), lb = strlen(argv[3]), len = la > lb ? la : lb;
        if (len >= sizeof pa) return 2;
        memset(pa, '/', len - la); memcpy(pa + len - la, argv[2], la);
        memset(pb, '/', len - lb); memcpy(pb + len - lb, argv[3], lb);
        long pg = sysconf(_SC_PAGESIZE);
        long n = atol(argv[4]), refused = 0, ran = 0, unseen = 0, other = 0;
        for (long i = 0; i < n; i++) {
            fflush(stdout);
            pid_t c = fork();
            if (c == 0) {
                /* Two fresh pages of their own (no huge page can hold both: the second stays
                 * unmapped until read). */
                char *m = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
                if (m == MAP_FAILED || madvise(m, 2 * pg, MADV_NOHUGEPAGE) < 0) _exit(97);
                char *path = m + pg - len;
                memcpy(path, pa, len);
                unsigned char in = 0;
                if (mincore(m + pg, pg, &in) < 0 || (in & 1)) _exit(98);
                watch_page = m + pg;
                watch_len = pg;
                flip_dst = path;
                flip_b = pb;
                flip_len = len;
                pthread_t t;
                if (pthread_create(&t, NULL, page_watcher, NULL) != 0) _exit(97);
                /* The watcher runs before the exec starts: a thread not yet on a CPU sees nothing. */
                while (!atomic_load(&watching))
                    ;
                char *av[] = { "execflip", NULL };
                execve(path, av, av + 1);
                _exit(errno == EACCES ? (atomic_load(&flipped) ? 13 : 14) : 15);
            }
            int st;
            waitpid(c, &st, 0);
            if (WIFEXITED(st) && WEXITSTATUS(st) == 13) refused++;
            else if (WIFEXITED(st) && WEXITSTATUS(st) == 14) unseen++;
            else if (WIFEXITED(st) && WEXITSTATUS(st) == 15) other++;
            else if (WIFEXITED(st) && WEXITSTATUS(st) == 0) ran++;
            else { printf("child=%d\n", WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st)); return 1; }
        }
        printf("execs=%ld\nrefused=%ld\nunseen=%ld\nother=%ld\n", ran, refused, unseen, other);
    } else if (!strcmp(argv[1], "storm") && argc == 4) {
        /* storm DIR N: SIGALRM every 100 us during N exclusive creates and N appends */
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_alarm;
        sa.sa_flags = SA_RESTART;
        sigaction(SIGALRM, &sa, NULL);
        struct itimerval it = { { 0, 100 }, { 0, 100 } };
        setitimer(ITIMER_REAL, &it, NULL);
        long n = atol(argv[3]), eintr = 0, eexist = 0, other = 0;
        char p[4096], log[4096];
        snprintf(log, sizeof log, "%s/log", argv[2]);
        for (long i = 0; i < n; i++) {
            snprintf(p, sizeof p, "%s/f%ld", argv[2], i);
            int fd = open(p, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
            if (fd < 0) {
                if (errno == EINTR) eintr++; else if (errno == EEXIST) eexist++; else other++;
            } else {
                close(fd);
                unlink(p);
            }
            fd = open(log, O_CREAT | O_WRONLY | O_APPEND | O_CLOEXEC, 0600);
            if (fd < 0) {
                if (errno == EINTR) eintr++; else other++;
                continue;
            }
            while (write(fd, "x", 1) < 0 && errno == EINTR)
                ;
            close(fd);
        }
        struct itimerval off = { { 0, 0 }, { 0, 0 } };
        setitimer(ITIMER_REAL, &off, NULL);
        struct stat st;
        stat(log, &st);
        printf("eintr=%ld\neexist=%ld\nother=%ld\nlog=%lld\nalarms=%d\n", eintr, eexist, other, (long long)st.st_size, (int)alarms);
    } else if (!strcmp(argv[1], "loop") && argc == 4) {
        /* loop PATH N: the benchmark's open/close loop; prints ns per iteration */
        long n = atol(argv[3]);
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        for (long i = 0; i < n; i++) {
            int fd = open(argv[2], O_RDONLY | O_CLOEXEC);
            if (fd < 0) { printf("error=%s\n", strerror(errno)); return 1; }
            close(fd);
        }
        clock_gettime(CLOCK_MONOTONIC, &b);
        printf("ns_per_open=%.1f\n", ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / (double)n);
    } else {
        return 2;
    }
    return 0;
}
`;

let attacks: string;
let races: string;
let grant: string; // a --ro grant: ok (readable), secret/f (hidden by the deny glob **/secret)

function outcomes(stdout: string): Record<string, string> {
  const m: Record<string, string> = {};
  for (const line of stdout.split("\n")) {
    const i = line.indexOf("=");
    if (i > 0) m[line.slice(0, i)] = line.slice(i + 1);
  }
  return m;
}

function events(r: JailedResult): SupervisorEvent[] {
  return r.reports.flatMap((x) => (x.type === "event" ? [decodeEvent(x.fields)].filter((e): e is SupervisorEvent => e !== null) : []));
}

function denial(r: JailedResult, match: Partial<SupervisorEvent>): SupervisorEvent | undefined {
  return events(r).find((e) => e.action === "deny" && Object.entries(match).every(([k, v]) => (e as unknown as Record<string, unknown>)[k] === v));
}

function policy(extra: PolicyInput = {}): PolicyInput {
  const fs = extra.filesystem ?? {};
  return {
    ...extra,
    filesystem: { ...fs, ro: [programsDir, grant, ...(fs.ro ?? [])], deny: ["**/secret", ...(fs.deny ?? [])] },
    audit: { verbosity: "denials", ...(extra.audit ?? {}) },
  };
}

async function run(cmd: string[], o: RunOptions & { policy?: PolicyInput } = {}): Promise<JailedResult & { out: Record<string, string> }> {
  const r = await runJailed(cmd, { killAfterMs: 120_000, ...o, policy: policy(o.policy) });
  assert.equal(r.exit.error, null, `the jail did not run: ${r.exit.error?.message ?? ""}\n${r.stderr}`);
  assert.ok(r.ready?.seccomp, "the jail ran without its seccomp filter");
  return { ...r, out: outcomes(r.stdout) };
}

before(() => {
  attacks = compileC("sup-attacks", ATTACKS_C);
  races = compileC("sup-races", RACES_C, ["-pthread"]);
  grant = mkdtempSync(join(tmpdir(), "mcpj-sup-"));
  chmodSync(grant, 0o755);
  mkdirSync(join(grant, "secret"), { mode: 0o755 });
  writeFileSync(join(grant, "ok"), "inside\n", { mode: 0o644 });
  writeFileSync(join(grant, "secret", "f"), "SECRET\n", { mode: 0o644 });
  writeFileSync(join(grant, ".env"), "TOKEN=SECRET\n", { mode: 0o644 });
  chmodSync(join(grant, "secret"), 0o755);
});

after(() => rmSync(grant, { recursive: true, force: true }));

describe("supervisor: ESCAPES 16–25 (the filter's refusals, supervised jail)", () => {
  it("each refused syscall returns its errno; the i386 and x32 ABIs kill the process", async () => {
    const want: Record<string, string> = {
      io_uring: "ENOSYS",
      ptrace_sibling: "EPERM",
      process_vm_writev: "EPERM",
      kcmp: "EPERM",
      userfaultfd: "EPERM",
      "open:/dev/userfaultfd": "ENOENT",
      bpf: "EPERM",
      perf_event_open: "EPERM",
      keyctl_join: "EPERM",
      add_key: "EPERM",
      request_key: "EPERM",
      name_to_handle_at: "EPERM",
      open_by_handle_at: "EPERM",
      kexec_load: "EPERM",
      finit_module: "EPERM",
      init_module: "EPERM",
      reboot: "EPERM",
      swapon: "EPERM",
      syslog: "EPERM",
      acct: "EPERM",
      settimeofday: "EPERM",
      personality_rie: "EPERM",
      personality_norandom: "EPERM",
      // The filter kills the i386 ABI with SIGSYS; a kernel without IA32 emulation has no such
      // ABI, and the CPU's trap is a SIGSEGV before any filter runs.
      int80: hostKernel().ia32 ? "signal:31" : "signal:11",
      x32: "signal:31",
      seccomp_listener: "EBUSY",
    };
    const r = await run([attacks, ...Object.keys(want)]);
    assert.deepEqual(Object.fromEntries(Object.keys(want).map((k) => [k, r.out[k] ?? "<missing>"])), want);
    // 18: the supervisor refused and audited /dev/userfaultfd (outside every grant).
    assert.ok(denial(r, { syscall: "openat", path: "/dev/userfaultfd", reason: "outside", errno: 2 }), "no audit event for /dev/userfaultfd");
  });
});

describe("supervisor: ESCAPES 29–31 (paths)", () => {
  it("29. .. out of a grant, by path and by dirfd → ENOENT, audited", async () => {
    const r = await run([attacks, `open:${grant}/../../etc/shadow`, `openat_rel:${grant},../../etc/shadow`, `open:${grant}/ok`]);
    assert.deepEqual(r.out, { [`open:${grant}/../../etc/shadow`]: "ENOENT", [`openat_rel:${grant},../../etc/shadow`]: "ENOENT", [`open:${grant}/ok`]: "OK" });
  });

  it("30. a symlink in /tmp to /etc/shadow, /proc/1/root, a host path is not followed out", async () => {
    const r = await run([attacks, "symlink_open:/etc/shadow", "symlink_open:/proc/1/root/etc/passwd", "symlink_open:/root/.bashrc", `symlink_open:${grant}/secret/f`]);
    assert.deepEqual(r.out, {
      "symlink_open:/etc/shadow": "ENOENT",
      "symlink_open:/proc/1/root/etc/passwd": "EACCES",
      "symlink_open:/root/.bashrc": "ENOENT",
      [`symlink_open:${grant}/secret/f`]: "EACCES",
    });
    // The supervisor decides on the real path the link led to, and says which rule refused it.
    assert.ok(denial(r, { path: `${grant}/secret/f`, reason: "glob", rule: "/**/secret", errno: 13 }));
    assert.ok(denial(r, { reason: "kernel", errno: 13 }), "the /proc/1/root refusal is audited");
  });

  it("31. magic links: /proc/self/{root,cwd}, /proc/self/fd/N/.. cannot reach outside", async () => {
    const r = await run([attacks, "open:/proc/self/root/etc/passwd", "open:/proc/self/cwd/x", `fd_magic:${grant}`, "open:/proc/1/root/etc/passwd"]);
    assert.deepEqual(r.out, {
      // The target's own magic links lead where the kernel would: its root is the jail's, its cwd
      // holds no x, and ".." from a granted directory ends at the jail's root, which has no shadow.
      "open:/proc/self/root/etc/passwd": "OK",
      "open:/proc/self/cwd/x": "ENOENT",
      [`fd_magic:${grant}`]: "ENOENT",
      // Another process's magic links are its own business, as ptrace is.
      "open:/proc/1/root/etc/passwd": "EACCES",
    });
    assert.ok(denial(r, { path: "/proc/1/root/etc/passwd", reason: "proc", errno: 13 }));
  });

  it("deny globs: **/.env inside a grant is refused, audited, and printed once in one human line", async () => {
    const r = await run([attacks, `read:${grant}/.env`, `read:${grant}/ok`], { policy: { filesystem: { deny: ["**/.env"] } } });
    assert.deepEqual(r.out, { [`read:${grant}/.env`]: "EACCES", [`read:${grant}/ok`]: "data:inside" });
    const e = denial(r, { path: `${grant}/.env`, reason: "glob", rule: "/**/.env" });
    assert.ok(e);
    assert.match(formatDenial(e)!, /^mcp-j: denied: the server tried to open .*\.env: it matches the deny rule \/\*\*\/\.env \(EACCES\) \[pid \d+\]$/);
  });

  it("the emulated open has the jail's identity: a root-owned 0600 file in a --ro grant stays unreadable", { skip: !isRoot && "needs root to create a root-owned file (the unprivileged run has no other user to test with)" }, async () => {
    const d = mkdtempSync(join(tmpdir(), "mcpj-sup-root-"));
    try {
      chmodSync(d, 0o755);
      writeFileSync(join(d, "rootonly"), "ROOT\n", { mode: 0o600 });
      chownSync(join(d, "rootonly"), 0, 0);
      writeFileSync(join(d, "world"), "WORLD\n", { mode: 0o644 });
      const r = await run([attacks, `read:${d}/rootonly`, `read:${d}/world`], { policy: { filesystem: { ro: [d] } } });
      assert.deepEqual(r.out, { [`read:${d}/rootonly`]: "EACCES", [`read:${d}/world`]: "data:WORLD" });
      assert.ok(denial(r, { path: `${d}/rootonly`, reason: "kernel", errno: 13 }));
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });
});

describe("supervisor: ESCAPES 32–33 (races)", () => {
  it("32. renameat2(RENAME_EXCHANGE) of a directory and a symlink, 100,000 opens → 0 leaks", async () => {
    const r = await run([races, "rename", "/tmp/race", `${grant}/secret`, "100000"]);
    assert.equal(r.out.leaks, "0");
    assert.equal(Number(r.out.opened) + Number(r.out.refused), 100000);
    assert.ok(Number(r.out.opened) > 0, "the race never let the granted file open");
  });

  it("33. a thread flips the path between granted and denied, 20,000 opens → the denied file is never opened", async () => {
    const r = await run([races, "flip", `${grant}/ok`, `${grant}/secret/f`, "20000"]);
    assert.equal(r.out.leaks, "0");
    assert.equal(Number(r.out.opened) + Number(r.out.refused), 20000);
    assert.ok(denial(r, { path: `${grant}/secret/f`, reason: "glob" }));
  });
});

describe("supervisor: ESCAPES 37–39 (execution)", () => {
  it("37. memfd + execveat(AT_EMPTY_PATH) and execve(/proc/self/fd/N) → refused, audited", async () => {
    // execve("/proc/self/fd/N") is decided on the file the descriptor holds, like any other
    // spelling: a readable binary off the exec allowlist is refused by name.
    const r = await run([attacks, "memfd_exec_noseal", "memfd_exec", "exec_procfd:/usr/bin/touch"]);
    // Before 6.3 the kernel has no MFD_NOEXEC_SEAL: the only memfd the filter lets through cannot
    // be created at all (EINVAL), so there is nothing to execute.
    const sealed = hostKernel().memfdNoexecSeal;
    assert.deepEqual(r.out, { memfd_exec_noseal: "EPERM", memfd_exec: sealed ? "EACCES" : "EINVAL", "exec_procfd:/usr/bin/touch": "EACCES" });
    if (sealed) assert.ok(denial(r, { syscall: "execveat", reason: "fd" }));
    assert.ok(denial(r, { syscall: "execve", path: "/usr/bin/touch", reason: "exec", errno: 13 }));
  });

  it("38. the execve path rewritten after the supervisor approved it → the denied binary never runs", async () => {
    // The rewrite follows the supervisor's read of the path, seen as it happens (mincore on the
    // page holding the path's end), and lands before the kernel's own read unless the rewriting
    // thread is kept off the CPUs for the whole decision (a round trip to the deputy): on a quiet
    // machine nearly every attempt, on a loaded one a fifth or more. Nothing lets the jail hold the
    // kernel's read until then (userfaultfd is refused in the jail), so batches of n attempts run
    // until one is won, at most `batches`.
    const n = 100;
    const batches = 5;
    let won = 0;
    for (let b = 0; b < batches && won === 0; b++) {
      const r = await run([races, "execflip", "/usr/bin/true", "/usr/bin/id", String(n)], {
        // An audit file makes the supervisor report its allows (nothing writes it here).
        policy: { filesystem: { exec: ["/usr/bin/true"] }, audit: { verbosity: "decisions", file: join(tmpdir(), "mcpj-unused.jsonl") } },
      });
      assert.doesNotMatch(r.stdout, /uid=/);
      const [execs, refused, unseen, other] = ["execs", "refused", "unseen", "other"].map((k) => Number(r.out[k] ?? NaN)) as [number, number, number, number];
      assert.equal(execs + refused + unseen + other, n, r.stdout);
      assert.equal(unseen, 0, "the supervisor refused an exec of the allowed path");
      // Won: execs the supervisor approved (the path said /usr/bin/true) that Landlock refused
      // (EACCES), on the path rewritten after the approval.
      const approved = events(r).filter((e) => e.action === "allow" && e.syscall === "execve" && e.path === "/usr/bin/true").length;
      assert.equal(approved, n);
      assert.equal(refused, approved - execs - other);
      won = refused;
    }
    assert.ok(won > 0, `the rewrite never landed after the approval in ${batches} batches of ${n}`);
  });

  it("39. a binary inside a read-only grant but not on the exec allowlist → EACCES, audited by name", async () => {
    const r = await run([attacks, "exec:/usr/bin/id", "exec:/usr/bin/true"], { policy: { filesystem: { exec: ["/usr/bin/true"] } } });
    assert.equal(r.out["exec:/usr/bin/id"], "EACCES");
    assert.equal(r.out["exec:/usr/bin/true"], undefined, "true ran (it prints nothing)");
    assert.ok(denial(r, { syscall: "execve", path: "/usr/bin/id", reason: "exec", errno: 13 }));
  });
});

describe("supervisor: ESCAPES 40–41, 46–48 (network)", () => {
  let abstract: Server;
  let pathname: Server;
  let sockDir: string;
  let connections = 0;
  before(async () => {
    sockDir = mkdtempSync(join(tmpdir(), "mcpj-sup-sock-"));
    chmodSync(sockDir, 0o755);
    abstract = createServer(() => connections++);
    pathname = createServer(() => connections++);
    await new Promise<void>((res) => abstract.listen(`\0mcpj-test-${process.pid}`, res));
    await new Promise<void>((res) => pathname.listen(join(sockDir, "s"), res));
    chmodSync(join(sockDir, "s"), 0o777);
  });
  after(() => {
    abstract.close();
    pathname.close();
    rmSync(sockDir, { recursive: true, force: true });
  });

  it("40. connect to 1.1.1.1:443 and [2606:4700:4700::1111]:443 → EACCES before any packet, audited", async () => {
    const r = await run([attacks, "connect4:1.1.1.1,443", "connect6:2606:4700:4700::1111,443"]);
    assert.deepEqual(r.out, { "connect4:1.1.1.1,443": "EACCES", "connect6:2606:4700:4700::1111,443": "EACCES" });
    assert.ok(denial(r, { syscall: "connect", address: "1.1.1.1", port: 443, reason: "policy" }));
    assert.ok(denial(r, { syscall: "connect", address: "2606:4700:4700::1111", port: 443, reason: "policy" }));
  });

  it("41. cloud metadata endpoints → refused and logged as metadata", async () => {
    const targets = ["connect4:169.254.169.254,80", "connect6:::ffff:169.254.169.254,80", "connect6:fd00:ec2::254,80", "connect4:100.100.100.200,80", "connect6:64:ff9b::a9fe:a9fe,80"];
    const r = await run([attacks, ...targets]);
    assert.deepEqual(r.out, Object.fromEntries(targets.map((t) => [t, "EACCES"])));
    const meta = events(r).filter((e) => e.action === "deny" && e.reason === "metadata");
    assert.deepEqual(meta.map((e) => e.address), ["169.254.169.254", "::ffff:169.254.169.254", "fd00:ec2::254", "100.100.100.200", "64:ff9b::a9fe:a9fe"]);
    assert.ok(meta.every((e) => (e.rule ?? "").startsWith("cloud metadata")));
  });

  it("46. AF_PACKET, raw ICMP and ICMPv6, ICMP datagrams, AF_NETLINK, AF_VSOCK, AF_ALG → EAFNOSUPPORT/EPERM/EACCES", async () => {
    const r = await run([attacks, "socket:17,3", "socket:2,3,1", "socket:10,3,58", "socket:2,2,1", "socket:16,3", "socket:40,1", "socket:38,5"]);
    assert.deepEqual(r.out, {
      "socket:17,3": "EAFNOSUPPORT",
      // Raw ICMP and ICMPv6 need CAP_NET_RAW, which the jail's user namespace does not give.
      "socket:2,3,1": "EPERM",
      "socket:10,3,58": "EPERM",
      // An ICMP datagram ("ping") socket needs the caller's group in net.ipv4.ping_group_range,
      // which a new network namespace starts empty ("1 0").
      "socket:2,2,1": "EACCES",
      "socket:16,3": "EAFNOSUPPORT",
      "socket:40,1": "EAFNOSUPPORT",
      "socket:38,5": "EAFNOSUPPORT",
    });
  });

  it("47–48. the host's abstract and pathname unix sockets are unreachable; the jail's own work", async () => {
    const r = await run([attacks, `unix_connect:@mcpj-test-${process.pid}`, `unix_connect:${join(sockDir, "s")}`, "unix_pair_local", "udp_bind_lo"]);
    assert.deepEqual(r.out, {
      // Abstract names belong to a network namespace: the host's is not in the jail's, whatever the
      // Landlock ABI (its scope, ABI 6, applies only to a name that is found).
      [`unix_connect:@mcpj-test-${process.pid}`]: "ECONNREFUSED",
      [`unix_connect:${join(sockDir, "s")}`]: "ENOENT",
      unix_pair_local: "OK",
      udp_bind_lo: "OK",
    });
    assert.equal(connections, 0);
  });
});

describe("supervisor: real programs and multithreaded targets", () => {
  it("a signal storm (SIGALRM every 100 µs) during 20,000 opens: no EINTR, no double side effect", async () => {
    const r = await run([races, "storm", "/tmp", "20000"]);
    assert.deepEqual({ eintr: r.out.eintr, eexist: r.out.eexist, other: r.out.other, log: r.out.log }, { eintr: "0", eexist: "0", other: "0", log: "20000" });
    assert.ok(Number(r.out.alarms) > 100, `only ${r.out.alarms} alarms were delivered`);
  });

  it("Python imports and a threaded Python program", async () => {
    const code =
      "import json, email, http.client, asyncio, threading, os\n" +
      "res = []\n" +
      "def work(i):\n" +
      "    for _ in range(200):\n" +
      "        with open('/etc/passwd') as f: res.append(len(f.read()))\n" +
      "ts = [threading.Thread(target=work, args=(i,)) for i in range(8)]\n" +
      "[t.start() for t in ts]; [t.join() for t in ts]\n" +
      "print('py', len(res), len(set(res)))\n";
    const r = await run(["/usr/bin/python3", "-c", code]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), "py 1600 1");
  });

  it("node -e, with the thread pool and worker threads", async () => {
    const code =
      "const fs=require('fs'),{Worker}=require('worker_threads');" +
      "Promise.all(Array.from({length:64},()=>fs.promises.readFile('/etc/passwd','utf8'))).then(a=>{" +
      "const w=new Worker(\"require('worker_threads').parentPort.postMessage(require('fs').readFileSync('/etc/hosts','utf8').length)\",{eval:true});" +
      "w.on('message',m=>console.log('node',a.length,m>0))})";
    const r = await run(["node", "-e", code]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), "node 64 true");
  });

  it("git --version", async () => {
    const r = await run(["/usr/bin/git", "--version"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^git version /);
  });

  it("sh -c pipelines with --allow-exec", async () => {
    const r = await run(["/bin/sh", "-c", "cat /etc/passwd | wc -l; echo done | tr a-z A-Z"], {
      policy: { filesystem: { exec: ["/usr/bin/cat", "/usr/bin/wc", "/usr/bin/tr"] } },
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "1\nDONE\n");
  });

  it("a binary the pipeline was not allowed to run is refused with a clear event", async () => {
    const r = await run(["/bin/sh", "-c", "/usr/bin/id; echo rc=$?"]);
    assert.match(r.stdout, /rc=126/);
    const e = denial(r, { syscall: "execve", path: "/usr/bin/id", reason: "exec" });
    assert.ok(e);
    assert.match(formatDenial(e)!, /not on the exec allowlist/);
  });
});

describe("supervisor: events", () => {
  it("with an audit log at verbosity decisions, allowed opens and execs are reported too", async () => {
    // Allowed decisions are reported only when an audit log will record them.
    const r = await run([attacks, `read:${grant}/ok`], { policy: { audit: { file: "/dev/null", verbosity: "decisions" } } });
    const ev = events(r);
    assert.ok(ev.some((e) => e.action === "allow" && e.syscall === "execve" && e.path === attacks));
    assert.ok(ev.some((e) => e.action === "allow" && e.syscall === "openat" && e.path === `${grant}/ok`));
    assert.ok(ev.every((e) => e.time > 1_600_000_000_000 && e.pid !== null));
  });

  it("a jail started without supervision has no events and still runs", async () => {
    const r = await runJailed([attacks, `read:${grant}/ok`], { policy: policy(), supervise: false });
    assert.equal(r.code, 0);
    assert.equal(events(r).length, 0);
    assert.match(r.stdout, /data:inside/);
  });
});

/* min-relay splice|copy PORT UPSTREAM_PORT: the least a TCP relay can do, as a yardstick for
 * mcp-j's (bench/egress.bench.mjs). It listens on 127.0.0.1:PORT and relays each connection to
 * 127.0.0.1:UPSTREAM_PORT, one blocking thread per direction, either with splice(2) through a 1 MiB
 * pipe or with recv(2)/send(2) through a 4 MiB buffer: no policy, no epoll, no accounting. Prints
 * "PORT n" once listening. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct conn;

static int copying; /* recv/send rather than splice */

struct dir {
    int from, to;
    struct conn *conn;
};

struct conn {
    int left; /* directions still running: the last one closes both sockets */
    struct dir d[2];
};

static void copy(struct dir *d)
{
    char *b = malloc(4 << 20);
    if (b == NULL)
        exit(1);
    for (;;) {
        ssize_t n = recv(d->from, b, 4 << 20, 0);
        if (n <= 0)
            break;
        for (ssize_t off = 0; off < n;) {
            ssize_t m = send(d->to, b + off, (size_t)(n - off), MSG_NOSIGNAL);
            if (m <= 0)
                goto out;
            off += m;
        }
    }
out:
    free(b);
}

static void *pump(void *arg)
{
    struct dir *d = arg;
    if (copying) {
        copy(d);
        goto done;
    }
    int p[2];
    if (pipe(p) < 0)
        exit(1);
    (void)fcntl(p[1], F_SETPIPE_SZ, 1 << 20);
    for (;;) {
        ssize_t n = splice(d->from, NULL, p[1], NULL, 1 << 20, SPLICE_F_MOVE);
        if (n <= 0)
            break;
        while (n > 0) {
            ssize_t m = splice(p[0], NULL, d->to, NULL, (size_t)n, SPLICE_F_MOVE);
            if (m <= 0)
                goto out;
            n -= m;
        }
    }
out:
    close(p[0]);
    close(p[1]);
done:
    shutdown(d->to, SHUT_WR);
    if (__atomic_sub_fetch(&d->conn->left, 1, __ATOMIC_ACQ_REL) == 0) {
        close(d->from);
        close(d->to);
        free(d->conn);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 4)
        return 2;
    copying = strcmp(argv[1], "copy") == 0;
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[2])), .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    struct sockaddr_in up = a;
    up.sin_port = htons((uint16_t)atoi(argv[3]));
    int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    socklen_t len = sizeof a;
    if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof a) < 0 || listen(l, 64) < 0 || getsockname(l, (struct sockaddr *)&a, &len) < 0) {
        perror("min-relay: listen");
        return 1;
    }
    printf("PORT %d\n", ntohs(a.sin_port));
    fflush(stdout);
    for (;;) {
        int c = accept4(l, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0)
            continue;
        int u = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (u < 0 || connect(u, (struct sockaddr *)&up, sizeof up) < 0) {
            perror("min-relay: connect");
            close(c);
            if (u >= 0)
                close(u);
            continue;
        }
        struct conn *k = malloc(sizeof *k);
        if (k == NULL)
            return 1;
        k->left = 2;
        k->d[0] = (struct dir){ c, u, k };
        k->d[1] = (struct dir){ u, c, k };
        for (int i = 0; i < 2; i++) {
            pthread_t t;
            if (pthread_create(&t, NULL, pump, &k->d[i]) != 0 || pthread_detach(t) != 0)
                return 1;
        }
    }
}

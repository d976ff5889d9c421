/* Connects a unix stream socket to argv[1] and reads what the peer says; prints
 * "connect=OUTCOME" and, when connected, "got=TEXT". */
#include "common.h"
#include <sys/socket.h>
#include <sys/un.h>

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    snprintf(a.sun_path, sizeof a.sun_path, "%s", argv[1]);
    if (connect(s, (struct sockaddr *)&a, sizeof a) < 0) {
        printf("connect=%s\n", errname(errno));
        return 0;
    }
    char b[64] = { 0 };
    ssize_t n = read(s, b, sizeof b - 1);
    printf("connect=OK\ngot=%s\n", n > 0 ? b : "");
    return 0;
}

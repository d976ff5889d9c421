/*
 * A unix PATHNAME whose first character is '@' (a file named "@agent" is an ordinary name; only a
 * leading NUL makes an address abstract). argv[1] is the mode, argv[2] the sun_path:
 *   connect   a stream socket connects to it, then reads what the peer says:
 *             "connect=OUTCOME", and when connected "got=TEXT"
 *   sendto    a datagram socket sends "rt2" to it: "sendto=OUTCOME"
 *   bind      a stream socket binds it: "bind=OUTCOME"
 */
#include "common.h"
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>

int main(int argc, char **argv)
{
    if (argc < 3)
        return 2;
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    snprintf(a.sun_path, sizeof a.sun_path, "%s", argv[2]);
    socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(a.sun_path) + 1);
    if (strcmp(argv[1], "connect") == 0) {
        int s = socket(AF_UNIX, SOCK_STREAM, 0);
        if (connect(s, (struct sockaddr *)&a, len) < 0) {
            report("connect", errname(errno));
            return 0;
        }
        char b[64] = { 0 };
        ssize_t n = read(s, b, sizeof b - 1);
        report("connect", "OK");
        report("got", n > 0 ? b : "");
    } else if (strcmp(argv[1], "sendto") == 0) {
        int s = socket(AF_UNIX, SOCK_DGRAM, 0);
        CHECK("sendto", sendto(s, "rt2", 3, 0, (struct sockaddr *)&a, len));
    } else if (strcmp(argv[1], "bind") == 0) {
        int s = socket(AF_UNIX, SOCK_STREAM, 0);
        CHECK("bind", bind(s, (struct sockaddr *)&a, len));
    }
    return 0;
}

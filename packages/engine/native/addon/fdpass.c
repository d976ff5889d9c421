/*
 * mcpj_native: the N-API addon (this file, and relay.c: the egress proxy's splice relay). Node can
 * read and write unix sockets but cannot receive a file
 * descriptor sent with SCM_RIGHTS on an arbitrary socket (only on its own IPC channel). The jail
 * creates the egress proxy's listening socket inside its network namespace and sends it to mcp-j;
 * these two functions are all that is needed to receive it:
 *   socketpair() -> [parentFd, childFd]   a SOCK_SEQPACKET pair, close-on-exec on the parent end
 *   recvFd(fd)   -> { tag, fd }           one received descriptor (close-on-exec) and the one-byte
 *                                         tag sent with it (native/jail/netif.c), or throws
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <node_api.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static napi_value throw_errno(napi_env env, const char *what, int err)
{
    char msg[256];
    snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
    napi_throw_error(env, "ERR_MCPJ_NATIVE", msg);
    return NULL;
}

static napi_value js_socketpair(napi_env env, napi_callback_info info)
{
    (void)info;
    int sv[2];
    /* SEQPACKET keeps each sendmsg a record, so a descriptor is never split from its message. */
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
        return throw_errno(env, "socketpair", errno);
    /* The child's end must survive exec into mcpj-jail: clear its close-on-exec flag. */
    if (fcntl(sv[1], F_SETFD, 0) < 0) {
        int e = errno;
        close(sv[0]);
        close(sv[1]);
        return throw_errno(env, "fcntl", e);
    }
    napi_value arr, a, b;
    if (napi_create_array_with_length(env, 2, &arr) != napi_ok ||
        napi_create_int32(env, sv[0], &a) != napi_ok ||
        napi_create_int32(env, sv[1], &b) != napi_ok ||
        napi_set_element(env, arr, 0, a) != napi_ok ||
        napi_set_element(env, arr, 1, b) != napi_ok) {
        close(sv[0]);
        close(sv[1]);
        napi_throw_error(env, "ERR_MCPJ_NATIVE", "socketpair: cannot build result");
        return NULL;
    }
    return arr;
}

static napi_value js_recv_fd(napi_env env, napi_callback_info info)
{
    size_t argc = 1;
    napi_value argv[1];
    int32_t sock;
    if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
        napi_get_value_int32(env, argv[0], &sock) != napi_ok) {
        napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "recvFd(fd: number)");
        return NULL;
    }
    char byte;
    struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
    union {
        struct cmsghdr hdr;
        char buf[CMSG_SPACE(sizeof(int))];
    } cm;
    memset(&cm, 0, sizeof cm);
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.buf, .msg_controllen = sizeof cm.buf };
    ssize_t n;
    do {
        n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        return throw_errno(env, "recvmsg", errno);
    if (n == 0) {
        napi_throw_error(env, "ERR_MCPJ_NATIVE", "recvmsg: the jail closed the socket before sending a descriptor");
        return NULL;
    }
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    if (c == NULL || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS || c->cmsg_len != CMSG_LEN(sizeof(int))) {
        napi_throw_error(env, "ERR_MCPJ_NATIVE", "recvmsg: message carried no descriptor");
        return NULL;
    }
    int fd;
    memcpy(&fd, CMSG_DATA(c), sizeof fd);
    napi_value out, vfd, vtag;
    if (napi_create_object(env, &out) != napi_ok || napi_create_int32(env, fd, &vfd) != napi_ok ||
        napi_create_string_latin1(env, &byte, 1, &vtag) != napi_ok || napi_set_named_property(env, out, "fd", vfd) != napi_ok ||
        napi_set_named_property(env, out, "tag", vtag) != napi_ok) {
        close(fd);
        return NULL;
    }
    return out;
}

/* relay.c: the egress proxy's splice relay. */
napi_value relay_init(napi_env env, napi_callback_info info);
napi_value relay_start(napi_env env, napi_callback_info info);
napi_value relay_stop(napi_env env, napi_callback_info info);

static napi_value init(napi_env env, napi_value exports)
{
    napi_property_descriptor props[] = {
        { "socketpair", NULL, js_socketpair, NULL, NULL, NULL, napi_enumerable, NULL },
        { "recvFd", NULL, js_recv_fd, NULL, NULL, NULL, napi_enumerable, NULL },
        { "relayInit", NULL, relay_init, NULL, NULL, NULL, napi_enumerable, NULL },
        { "relayStart", NULL, relay_start, NULL, NULL, NULL, napi_enumerable, NULL },
        { "relayStop", NULL, relay_stop, NULL, NULL, NULL, napi_enumerable, NULL },
    };
    if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok)
        return NULL;
    return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)

#ifndef MCPJ_FDPASS_H
#define MCPJ_FDPASS_H
#include <stddef.h>

/* Sends buf as one record on the unix socket sock, with fd attached (SCM_RIGHTS) when fd >= 0.
 * flags are sendmsg's (MSG_NOSIGNAL is always added). Returns 0, or -errno. */
int fdpass_send_record(int sock, const void *buf, size_t len, int fd, int flags);
/* The same with n descriptors (0 to 254) attached in one SCM_RIGHTS message. */
int fdpass_send_record_fds(int sock, const void *buf, size_t len, const int *fds, int n, int flags);
/* A one-byte tag (what the descriptor is) with the descriptor attached. Returns 0, or -errno. */
int fdpass_send(int sock, char tag, int fd);
#endif

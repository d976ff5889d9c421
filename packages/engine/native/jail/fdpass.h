#ifndef MCPJ_FDPASS_H
#define MCPJ_FDPASS_H
#include <stddef.h>

/* Sends buf as one record on the unix socket sock, with fd attached (SCM_RIGHTS) when fd >= 0.
 * flags are sendmsg's (MSG_NOSIGNAL is always added). Returns 0, or -errno. */
int fdpass_send_record(int sock, const void *buf, size_t len, int fd, int flags);
/* A one-byte tag (what the descriptor is) with the descriptor attached. Returns 0, or -errno. */
int fdpass_send(int sock, char tag, int fd);
#endif

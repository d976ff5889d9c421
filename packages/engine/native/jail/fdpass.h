#ifndef MCPJ_FDPASS_H
#define MCPJ_FDPASS_H
/* Sends fd over the unix socket sock as one record: a one-byte tag (what the descriptor is) with
 * the descriptor attached (SCM_RIGHTS). Returns 0, or -errno. */
int fdpass_send(int sock, char tag, int fd);
#endif

#ifndef MCPJ_NETIF_H
#define MCPJ_NETIF_H
#include "plan.h"

/* Brings up the loopback interface of the jail's fresh network namespace (it starts down). */
void netif_loopback_up(void);

/* Creates the sockets the plan names inside the jail's namespace (the egress proxy's listener
 * 'L', its redirect listener 'R', the resolver's UDP socket 'N') and sends each over sock
 * (SCM_RIGHTS, tagged), then closes it here: mcp-j serves them from the host side. */
void netif_send_sockets(const struct plan *p, int sock);

#endif

#ifndef MCPJ_NETIF_H
#define MCPJ_NETIF_H
#include <stdint.h>

/* Brings up the loopback interface of the jail's fresh network namespace (it starts down). */
void netif_loopback_up(void);

/* Creates the egress proxy's listening socket on 127.0.0.1:port inside the jail's namespace and
 * sends it over sock (SCM_RIGHTS), then closes it here: mcp-j serves it from the host side. */
void netif_send_listener(uint32_t port, int sock);

#endif

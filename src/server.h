/* server: listeners, accept, the per-connection state machine (struct conn), timeouts,
 * and the connection cap. Speaks agent-check and HTTP from the snapshot only. */
#ifndef PRIMGR_SERVER_H
#define PRIMGR_SERVER_H

#include <ev.h>
#include <stdbool.h>

#include "config.h"

bool server_start(struct ev_loop *loop, const struct config *cfg, char *err, size_t errlen) WUR;
/* Applies reloadable keys (timeouts, cap); listeners need a restart. */
void server_reconfigure(const struct config *cfg);
/* SIGHUP: a new TLS context from cfg's certificate, key and client CA for the connections
 * accepted from now on. False (with err: the file and why) when they do not load: the
 * running context stays. True without TLS listeners. */
bool server_reload_tls(const struct config *cfg, char *err, size_t errlen) WUR;
/* Closes listeners and every connection. */
void server_stop(void);

/* The port the index-th [http] listen (agent false) or [agent] listen (agent true) entry
 * is bound to (its first socket), 0 if none: a configured port 0 lets the kernel pick
 * one, for tests. */
uint16_t server_local_port(bool agent, int index);
/* The same for the index-th [http] tls_listen entry. */
uint16_t server_local_tls_port(int index);

#endif

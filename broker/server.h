/* nhid's event loop: one thread, epoll over the listening socket, the
 * clients and a signalfd. Requests that arrive together are answered in
 * one store transaction (group commit), each under its own savepoint, and
 * no reply leaves before that commit. */
#ifndef NHI_SERVER_H
#define NHI_SERVER_H

#include "broker.h"

/* Per-client limits: a client that sends nothing, or half a frame, or
 * does not read its answer, is dropped after this long. */
#define NHI_CLIENT_TIMEOUT_MS 5000
#define NHI_CLIENTS_MAX 1024

/* Binds the broker socket (mode 0666: the broker authorises by peer
 * credentials), replacing a stale socket file. */
int nhi_server_listen(const char *path, int *ret_fd);
/* Serves until SIGTERM/SIGINT (then finishes the batch in hand and
 * returns 0). SIGHUP reloads the configuration. */
int nhi_server_run(struct nhi_broker *b, int listen_fd);

#endif

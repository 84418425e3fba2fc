/* One request and one answer over a Unix socket, as length-prefixed frames
 * (the broker protocol; ssh-agent frames the same way): connect, send, read,
 * all within one deadline. Callers in sshd, sudo and login must never hang
 * on a peer that is down or stuck. Libc only. */
#ifndef NHI_CLIENT_H
#define NHI_CLIENT_H

#include "buf.h"

#define NHI_SOCKET_PATH_DEFAULT "/run/nhi/broker.sock"

/* Sends request_body (a body, unframed) to the broker at socket_path and
 * returns the response body. Fails with NHI_ERR_BROKER_UNAVAILABLE when no
 * one listens, NHI_ERR_TIMEOUT when timeout_ms passes first, and
 * NHI_ERR_PROTOCOL / NHI_ERR_PEER_CLOSED on a bad or cut answer. One
 * attempt: no retries. */
int nhi_client_call(const char *socket_path, int timeout_ms, const struct nhi_buf *request_body,
		    struct nhi_buf **ret_response_body);

#endif

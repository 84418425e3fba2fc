/* Which handler answers which message, and who may send it. */
#ifndef NHI_DISPATCH_H
#define NHI_DISPATCH_H

#include <stdbool.h>
#include <stdint.h>

#include "call.h"
#include "peer.h"

enum nhi_access {
	NHI_ACCESS_ANY = 0, /* any local uid; the handler decides what it may have */
	NHI_ACCESS_HELPER,  /* the sshd helper user, or an admin */
	NHI_ACCESS_ADMIN,   /* root or the admin group */
	NHI_ACCESS_LOGIN,   /* the login user (nhi-issue), or an admin */
};

/* A handler runs inside a store transaction that the server opens around
 * a batch of requests, with a savepoint per request: it writes what it
 * decides together with its audit records, and the server sends the reply
 * only after the commit. A handler that fails has its writes rolled back;
 * a denial (nhi_call_deny) is then audited by the server. The return value
 * is the reply's status (0 or a negative NHI_ERR_*). */
typedef int nhi_handler_fn(struct nhi_call *c);

struct nhi_handler {
	uint8_t type;
	enum nhi_access access;
	nhi_handler_fn *fn;
};

/* NULL for an unknown type. */
const struct nhi_handler *nhi_dispatch_find(uint8_t type);
bool nhi_dispatch_allowed(const struct nhi_handler *h, const struct nhi_peer *peer);

#endif

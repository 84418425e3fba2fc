/* One request as a handler sees it, and the answer it builds. */
#ifndef NHI_CALL_H
#define NHI_CALL_H

#include "broker.h"
#include "kv.h"
#include "msg.h"
#include "peer.h"

struct nhi_call {
	struct nhi_broker *b;
	const struct nhi_peer *peer;
	uint8_t type;
	const struct nhi_kv *args;
	struct nhi_msg_reply reply;
	/* Set by nhi_call_deny: after rolling back the handler's writes the
	 * server appends a "deny" audit record about this subject. */
	char *deny_subject;
};

/* Sets status and a printf-formatted message; returns status, so handlers
 * can `return nhi_call_error(c, NHI_ERR_..., "...")`. For bad input. */
int nhi_call_error(struct nhi_call *c, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The same for a policy decision: audited as a denial. */
int nhi_call_deny(struct nhi_call *c, const char *subject, int status, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
int nhi_call_message(struct nhi_call *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends an empty record to the reply and returns it for the handler to fill. */
int nhi_call_add_record(struct nhi_call *c, struct nhi_kv **ret_record);
/* Takes the reply's records after the first keep back out. */
void nhi_call_drop_records(struct nhi_call *c, size_t keep);
void nhi_call_clear(struct nhi_call *c);

#endif

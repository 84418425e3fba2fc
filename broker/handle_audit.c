#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "handlers.h"

#define EXPORT_LIMIT_MAX     1000u
#define EXPORT_LIMIT_DEFAULT 100u
#define REPLY_BUDGET         (192u * 1024u) /* details may be large; stay inside one frame */

/* A broken chain is an answer, not a failed request: status 0 and
 * ok=no with where and why, so the client tells the two apart. */
int nhi_handle_audit_verify(struct nhi_call *c)
{
	struct nhi_kv *rec;
	char msg[512];
	int r;

	if ((r = nhi_call_add_record(c, &rec)) < 0)
		return r;
	msg[0] = '\0';
	if ((r = nhi_audit_verdict(c->b->store, rec, msg, sizeof(msg))) < 0)
		return msg[0] != '\0' ? nhi_call_error(c, r, "%s", msg) : r;
	return nhi_call_message(c, "%s", msg);
}

static int put_record(struct nhi_kv *rec, const struct nhi_audit_record *ar)
{
	int r;

	if ((r = nhi_kv_add_u64(rec, "seq", ar->seq)) < 0 ||
	    (r = nhi_kv_add_i64(rec, "time", ar->time)) < 0 ||
	    (r = nhi_kv_add_u64(rec, "usec", ar->usec)) < 0 ||
	    (r = nhi_kv_add_str(rec, "type", ar->type != NULL ? ar->type : "")) < 0 ||
	    (r = nhi_kv_add_str(rec, "actor", ar->actor != NULL ? ar->actor : "")) < 0 ||
	    (r = nhi_kv_add_str(rec, "subject", ar->subject != NULL ? ar->subject : "")) < 0 ||
	    (r = nhi_kv_add_str(rec, "detail", ar->detail != NULL ? ar->detail : "{}")) < 0 ||
	    (r = nhi_audit_add_hex(rec, "prev_hash", ar->prev_hash, sizeof(ar->prev_hash))) < 0 ||
	    (r = nhi_audit_add_hex(rec, "hash", ar->hash, sizeof(ar->hash))) < 0 ||
	    (ar->malformed && (r = nhi_kv_add_str(rec, "malformed", "yes")) < 0))
		return r;
	return 0;
}

/* after_seq (0: from the start) or tail (the last n), and limit: at most
 * EXPORT_LIMIT_MAX records, fewer when they would outgrow one frame. The
 * client pages on from the last seq it got until a page comes back empty. */
int nhi_handle_audit_export(struct nhi_call *c)
{
	struct nhi_audit_iter *it = NULL;
	const struct nhi_audit_record *ar;
	uint64_t after = 0, limit = EXPORT_LIMIT_DEFAULT, tail = 0;
	size_t budget = 0;
	struct nhi_kv *rec;
	int r;

	if (((r = nhi_kv_u64(c->args, "after_seq", &after)) < 0 && r != NHI_ERR_NOT_FOUND) ||
	    ((r = nhi_kv_u64(c->args, "limit", &limit)) < 0 && r != NHI_ERR_NOT_FOUND) ||
	    ((r = nhi_kv_u64(c->args, "tail", &tail)) < 0 && r != NHI_ERR_NOT_FOUND))
		return nhi_call_error(c, NHI_ERR_INVALID_ARGUMENT,
		                      "after_seq, limit and tail are decimal numbers");
	if (limit == 0 || limit > EXPORT_LIMIT_MAX)
		return nhi_call_error(c, NHI_ERR_INVALID_ARGUMENT, "limit must be 1 to %u",
		                      EXPORT_LIMIT_MAX);
	if (tail > EXPORT_LIMIT_MAX)
		return nhi_call_error(c, NHI_ERR_INVALID_ARGUMENT, "tail must be at most %u",
		                      EXPORT_LIMIT_MAX);
	if (after == UINT64_MAX)
		return 0;
	r = tail > 0 ? nhi_audit_iter_open_tail(c->b->store, tail, &it)
	             : nhi_audit_iter_open(c->b->store, after + 1, &it);
	if (r < 0)
		return nhi_call_error(c, r, "cannot read the audit trail: %s", nhi_strerror(r));
	for (uint64_t n = 0; n < limit && budget < REPLY_BUDGET; n++) {
		if ((r = nhi_audit_iter_next(it, &ar)) < 0) {
			r = nhi_call_error(c, r, "cannot read the audit trail: %s",
			                   nhi_strerror(r));
			goto out;
		}
		if (ar == NULL)
			break;
		if ((r = nhi_call_add_record(c, &rec)) < 0 || (r = put_record(rec, ar)) < 0)
			goto out;
		for (size_t k = 0; k < rec->n; k++)
			budget += rec->items[k].len + 16;
	}
	r = 0;
out:
	nhi_audit_iter_free(it);
	return r;
}

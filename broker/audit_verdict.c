/* The verdict of `nhictl audit verify` as one record, the same whether the
 * broker computes it or nhictl reads the database itself (broker down). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "err.h"
#include "kv.h"
#include "store.h"

static const char *fault_name(enum nhi_audit_fault f)
{
	switch (f) {
	case NHI_AUDIT_FAULT_NONE:
		return "none";
	case NHI_AUDIT_FAULT_MALFORMED:
		return "malformed";
	case NHI_AUDIT_FAULT_MISSING:
		return "missing";
	case NHI_AUDIT_FAULT_LINK:
		return "link";
	case NHI_AUDIT_FAULT_HASH:
		return "hash";
	case NHI_AUDIT_FAULT_TRUNCATED:
		return "truncated";
	case NHI_AUDIT_FAULT_ANCHOR:
		return "anchor";
	}
	return "unknown";
}

int nhi_audit_add_hex(struct nhi_kv *rec, const char *key, const uint8_t *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	char hex[2 * NHI_AUDIT_HASH_LEN + 1];

	if (n > NHI_AUDIT_HASH_LEN)
		return NHI_ERR_INVALID_ARGUMENT;
	for (size_t i = 0; i < n; i++) {
		hex[2 * i] = digits[p[i] >> 4];
		hex[2 * i + 1] = digits[p[i] & 15];
	}
	hex[2 * n] = '\0';
	return nhi_kv_add_str(rec, key, hex);
}

/* A broken chain is a verdict, not a failure: ok=no with where and why. */
int nhi_audit_verdict(struct nhi_store *s, struct nhi_kv *rec, char *msg, size_t msglen)
{
	struct nhi_audit_report rep;
	struct nhi_audit_anchor anchor;
	const char *anchor_state = "ok";
	char *anchor_path;
	bool have_anchor = false;
	int r, v;

	memset(&rep, 0, sizeof(rep));
	if ((anchor_path = nhi_audit_anchor_path(nhi_store_path(s))) == NULL)
		return NHI_ERR_ALLOC;
	r = nhi_audit_anchor_read(anchor_path, &anchor);
	if (r == 0)
		have_anchor = true;
	else if (r == NHI_ERR_NOT_FOUND)
		anchor_state = "missing";
	else
		anchor_state = "unreadable";
	v = nhi_audit_verify(s, have_anchor ? &anchor : NULL, &rep);
	if (v < 0 && v != NHI_ERR_AUDIT_BROKEN) {
		snprintf(msg, msglen, "cannot read the audit trail: %s", nhi_strerror(v));
		r = v;
		goto out;
	}
	/* Without its anchor a cut tail cannot be seen: never report "ok". */
	if ((r = nhi_kv_add_str(rec, "ok", v == 0 && have_anchor ? "yes" : "no")) < 0 ||
	    (r = nhi_kv_add_str(rec, "fault", v == 0 ? "none" : fault_name(rep.fault))) < 0 ||
	    (v != 0 && (r = nhi_kv_add_u64(rec, "bad_seq", rep.bad_seq)) < 0) ||
	    (v != 0 && (r = nhi_kv_add_str(rec, "reason", rep.reason)) < 0) ||
	    (r = nhi_kv_add_u64(rec, "checked", rep.checked)) < 0 ||
	    (r = nhi_kv_add_u64(rec, "head_seq", rep.last_seq)) < 0 ||
	    (r = nhi_audit_add_hex(rec, "head_hash", rep.last_hash, sizeof(rep.last_hash))) < 0 ||
	    (r = nhi_kv_add_u64(rec, "unanchored", rep.unanchored)) < 0 ||
	    (r = nhi_kv_add_str(rec, "anchor", anchor_state)) < 0 ||
	    (have_anchor && (r = nhi_kv_add_u64(rec, "anchor_seq", anchor.seq)) < 0))
		goto out;
	if (v != 0)
		snprintf(msg, msglen, "audit trail broken at record %llu: %s",
		         (unsigned long long)rep.bad_seq, rep.reason);
	else if (!have_anchor)
		snprintf(msg, msglen, "audit chain verifies, but its head anchor %s is %s",
		         anchor_path, anchor_state);
	else
		snprintf(msg, msglen, "audit trail verified: %llu records",
		         (unsigned long long)rep.checked);
out:
	free(anchor_path);
	return r;
}

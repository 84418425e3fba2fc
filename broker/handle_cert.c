#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "handlers.h"
#include "log.h"
#include "names.h"
#include "sshkey.h"
#include "store_revoked_key.h"

#define CERT_PAGE_MAX    1000u
#define REPLY_BUDGET     (192u * 1024u) /* stay well inside one frame */
#define REASON_MAX       256u
#define SERIALS_IN_AUDIT 200u /* listed one by one; beyond, the count says it */

static const char *cert_state(const struct nhi_cert_record *cr, uint64_t now)
{
	if (cr->revoked_at != 0)
		return "revoked";
	if (cr->valid_before <= now)
		return "expired";
	return "active";
}

static int put_cert(struct nhi_kv *rec, const struct nhi_cert_record *cr, uint64_t now)
{
	int r;

	if ((r = nhi_kv_add_u64(rec, "serial", cr->serial)) < 0 ||
	    (r = nhi_kv_add_str(rec, "identity", cr->identity)) < 0 ||
	    (r = nhi_kv_add_str(rec, "state", cert_state(cr, now))) < 0 ||
	    (r = nhi_kv_add_str(rec, "key_id", cr->key_id)) < 0 ||
	    (r = nhi_kv_add_str(rec, "key_fingerprint", cr->key_fp)) < 0 ||
	    (r = nhi_kv_add_u64(rec, "valid_after", cr->valid_after)) < 0 ||
	    (r = nhi_kv_add_u64(rec, "valid_before", cr->valid_before)) < 0 ||
	    (r = nhi_kv_add_i64(rec, "issued_at", cr->issued_at)) < 0)
		return r;
	for (size_t i = 0; i < cr->n_principals; i++)
		if ((r = nhi_kv_add_str(rec, "principal", cr->principals[i])) < 0)
			return r;
	if ((cr->requester_uid != NHI_ID_NONE &&
	     (r = nhi_kv_add_i64(rec, "requester_uid", cr->requester_uid)) < 0) ||
	    (cr->requester_pid != 0 &&
	     (r = nhi_kv_add_i64(rec, "requester_pid", cr->requester_pid)) < 0) ||
	    (cr->requester_exe != NULL &&
	     (r = nhi_kv_add_str(rec, "requester_exe", cr->requester_exe)) < 0) ||
	    (cr->revoked_at != 0 && (r = nhi_kv_add_i64(rec, "revoked_at", cr->revoked_at)) < 0) ||
	    (cr->revoke_reason != NULL &&
	     (r = nhi_kv_add_str(rec, "revoke_reason", cr->revoke_reason)) < 0) ||
	    (cr->ca_fp != NULL && (r = nhi_kv_add_str(rec, "ca_fingerprint", cr->ca_fp)) < 0))
		return r;
	return 0;
}

static int arg_str(struct nhi_call *c, const char *key, const char **ret)
{
	*ret = NULL;
	if (nhi_kv_find(c->args, key) == NULL)
		return 0;
	if ((*ret = nhi_kv_str(c->args, key)) == NULL)
		return nhi_call_error(c, NHI_ERR_INVALID_ARGUMENT, "%s: not text", key);
	return 0;
}

static int arg_u64(struct nhi_call *c, const char *key, uint64_t dflt, uint64_t *ret)
{
	char buf[64];
	const char *v;
	int r = nhi_kv_u64(c->args, key, ret);

	if (r == NHI_ERR_NOT_FOUND) {
		*ret = dflt;
		return 0;
	}
	if (r < 0) {
		v = nhi_kv_str(c->args, key);
		return nhi_call_error(c, NHI_ERR_INVALID_ARGUMENT, "invalid %s '%s': not a number",
		                      key, nhi_log_sanitize(v != NULL ? v : "", buf, sizeof(buf)));
	}
	return 0;
}

static int check_identity_name(struct nhi_call *c, const char *name)
{
	char buf[80];

	if (!nhi_name_is_valid(name))
		return nhi_call_error(c, NHI_ERR_NAME_INVALID, "invalid identity name '%s'",
		                      nhi_log_sanitize(name, buf, sizeof(buf)));
	return 0;
}

/* Paged by serial (after_serial, limit), and cut short before the reply
 * could outgrow one frame; the client asks again after the last serial. */
int nhi_handle_cert_list(struct nhi_call *c)
{
	struct nhi_cert_record *list = NULL;
	const char *identity = NULL, *active = NULL;
	uint64_t after, limit, now = nhi_broker_now();
	size_t n = 0, sent = 0, budget = 0;
	struct nhi_kv *rec;
	int r;

	if ((r = arg_str(c, "identity", &identity)) < 0 ||
	    (r = arg_str(c, "active", &active)) < 0 ||
	    (r = arg_u64(c, "after_serial", 0, &after)) < 0 ||
	    (r = arg_u64(c, "limit", CERT_PAGE_MAX, &limit)) < 0)
		return r;
	if (identity != NULL && (r = check_identity_name(c, identity)) < 0)
		return r;
	if (limit == 0 || limit > CERT_PAGE_MAX)
		limit = CERT_PAGE_MAX;
	r = nhi_store_cert_list(
	        c->b->store, identity,
	        active != NULL && strcmp(active, "yes") == 0 ? NHI_CERT_LIST_UNREVOKED : 0, &list,
	        &n);
	if (r < 0) {
		r = nhi_call_error(c, r, "cannot read the store: %s", nhi_strerror(r));
		goto out;
	}
	for (size_t i = 0; i < n && sent < limit && budget < REPLY_BUDGET; i++) {
		if (list[i].serial <= after)
			continue;
		if (active != NULL && strcmp(active, "yes") == 0 && list[i].valid_before <= now)
			continue;
		if ((r = nhi_call_add_record(c, &rec)) < 0 ||
		    (r = put_cert(rec, &list[i], now)) < 0)
			goto out;
		sent++;
		for (size_t k = 0; k < rec->n; k++)
			budget += rec->items[k].len + 16;
	}
	r = 0;
out:
	nhi_cert_record_list_free(list, n);
	return r;
}

int nhi_handle_cert_show(struct nhi_call *c)
{
	struct nhi_cert_record cr = {0};
	uint64_t serial;
	struct nhi_kv *rec;
	int r;

	if (nhi_kv_find(c->args, "serial") == NULL)
		return nhi_call_error(c, NHI_ERR_INVALID_ARGUMENT, "missing serial");
	if ((r = arg_u64(c, "serial", 0, &serial)) < 0)
		return r;
	r = nhi_store_cert_get(c->b->store, serial, &cr);
	if (r == NHI_ERR_NOT_FOUND)
		return nhi_call_error(c, r, "no certificate with serial %" PRIu64, serial);
	if (r < 0)
		return nhi_call_error(c, r, "cannot read the store: %s", nhi_strerror(r));
	if ((r = nhi_call_add_record(c, &rec)) == 0)
		r = put_cert(rec, &cr, nhi_broker_now());
	nhi_cert_record_clear(&cr);
	return r;
}

/* "SHA256:" and 43 characters of unpadded base64, as ssh-keygen -lf prints. */
static bool is_fingerprint(const char *s)
{
	static const char b64[] =
	        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

	if (strncmp(s, "SHA256:", 7) != 0 || strlen(s) != 7 + 43)
		return false;
	return strspn(s + 7, b64) == 43;
}

struct serials {
	uint64_t *v;
	size_t n;
};

static int serials_add(struct serials *s, uint64_t serial)
{
	uint64_t *v = realloc(s->v, (s->n + 1) * sizeof(*v));

	if (v == NULL)
		return NHI_ERR_ALLOC;
	v[s->n++] = serial;
	s->v = v;
	return 0;
}

/* The unrevoked certificates of an identity, or of a subject key. */
static int collect(struct nhi_call *c, const char *identity, const char *fingerprint,
                   struct serials *ret)
{
	struct nhi_cert_record *list = NULL;
	size_t n = 0;
	int r;

	if ((r = nhi_store_cert_list(c->b->store, identity, NHI_CERT_LIST_UNREVOKED, &list, &n)) <
	    0)
		return nhi_call_error(c, r, "cannot read the store: %s", nhi_strerror(r));
	for (size_t i = 0; i < n && r == 0; i++)
		if (fingerprint == NULL || strcmp(list[i].key_fp, fingerprint) == 0)
			r = serials_add(ret, list[i].serial);
	nhi_cert_record_list_free(list, n);
	return r;
}

static int audit_revoke(struct nhi_call *c, const char *by, const char *subject,
                        const struct serials *s, const char *reason, bool key_added)
{
	struct nhi_audit_detail *d = NULL;
	struct nhi_audit_event ev = {.type = NHI_AUDIT_REVOKE};
	char *list = NULL;
	size_t len = 0, shown = s->n < SERIALS_IN_AUDIT ? s->n : SERIALS_IN_AUDIT;
	int r;

	if ((list = calloc(shown + 1, 22)) == NULL)
		return NHI_ERR_ALLOC;
	for (size_t i = 0; i < shown; i++)
		len += (size_t)sprintf(list + len, "%s%" PRIu64, i > 0 ? "," : "", s->v[i]);
	if ((r = nhi_audit_detail_new(&d)) < 0 || (r = nhi_audit_detail_str(d, "by", by)) < 0 ||
	    (r = nhi_audit_detail_int(d, "count", (int64_t)s->n)) < 0 ||
	    (r = nhi_audit_detail_str(d, "serials", list)) < 0 ||
	    (r = nhi_audit_detail_str(d, "reason", reason)) < 0 ||
	    (key_added && (r = nhi_audit_detail_bool(d, "key_revoked", true)) < 0))
		goto out;
	ev.actor = c->peer->name;
	ev.subject = subject;
	ev.detail = nhi_audit_detail_text(d);
	r = nhi_audit_append(c->b->audit, &ev, NULL);
out:
	free(list);
	nhi_audit_detail_free(d);
	if (r < 0)
		return nhi_call_error(c, r, "cannot write the audit record: %s", nhi_strerror(r));
	return 0;
}

int nhi_handle_revoke(struct nhi_call *c)
{
	struct serials s = {0};
	struct nhi_identity id;
	const char *serial_text = NULL, *identity = NULL, *fp = NULL, *reason = NULL, *by;
	char subject[64], buf[80];
	int64_t now = (int64_t)nhi_broker_now();
	struct nhi_kv *rec;
	bool key_added = false;
	int r, given;

	nhi_identity_init(&id);
	if ((r = arg_str(c, "serial", &serial_text)) < 0 ||
	    (r = arg_str(c, "identity", &identity)) < 0 ||
	    (r = arg_str(c, "fingerprint", &fp)) < 0 || (r = arg_str(c, "reason", &reason)) < 0)
		goto out;
	given = (serial_text != NULL) + (identity != NULL) + (fp != NULL);
	if (given != 1) {
		r = nhi_call_error(c, NHI_ERR_INVALID_ARGUMENT,
		                   "name exactly one of serial, identity or fingerprint");
		goto out;
	}
	if (reason == NULL || reason[0] == '\0')
		reason = "unspecified";
	for (const char *p = reason; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f || p - reason >= (long)REASON_MAX) {
			r = nhi_call_error(c, NHI_ERR_INVALID_ARGUMENT,
			                   "invalid reason: one line of at most %u bytes",
			                   REASON_MAX);
			goto out;
		}
	}
	if (serial_text != NULL) {
		struct nhi_cert_record cr = {0};
		uint64_t serial;
		by = "serial";
		if ((r = arg_u64(c, "serial", 0, &serial)) < 0)
			goto out;
		r = nhi_store_cert_get(c->b->store, serial, &cr);
		if (r == NHI_ERR_NOT_FOUND) {
			r = nhi_call_error(c, r, "no certificate with serial %" PRIu64, serial);
			goto out;
		}
		if (r < 0) {
			r = nhi_call_error(c, r, "cannot read the store: %s", nhi_strerror(r));
			goto out;
		}
		if (cr.revoked_at == 0)
			r = serials_add(&s, serial);
		nhi_cert_record_clear(&cr);
		if (r < 0)
			goto out;
		snprintf(subject, sizeof(subject), "%" PRIu64, serial);
	} else if (identity != NULL) {
		by = "identity";
		if ((r = check_identity_name(c, identity)) < 0)
			goto out;
		r = nhi_store_identity_get(c->b->store, identity, &id);
		if (r == NHI_ERR_NOT_FOUND) {
			r = nhi_call_error(c, r, "no such identity '%s'", identity);
			goto out;
		}
		if (r < 0 || (r = collect(c, identity, NULL, &s)) < 0)
			goto out;
		snprintf(subject, sizeof(subject), "%s", identity);
	} else {
		by = "fingerprint";
		if (!is_fingerprint(fp)) {
			r = nhi_call_error(c, NHI_ERR_INVALID_ARGUMENT,
			                   "invalid key fingerprint '%s': SHA256:<43 base64 "
			                   "characters>, as ssh-keygen -lf prints",
			                   nhi_log_sanitize(fp, buf, sizeof(buf)));
			goto out;
		}
		if ((r = collect(c, NULL, fp, &s)) < 0)
			goto out;
		/* The key itself goes into the KRL: a certificate issued
		 * elsewhere, or the bare key in an authorized_keys file, is
		 * refused too. */
		if ((r = nhi_store_revoked_key_add(c->b->store, fp, now, reason, c->peer->name,
		                                   &key_added)) < 0) {
			r = nhi_call_error(c, r, "cannot revoke key %s: %s", fp, nhi_strerror(r));
			goto out;
		}
		snprintf(subject, sizeof(subject), "%s", fp);
	}
	for (size_t i = 0; i < s.n; i++) {
		if ((r = nhi_store_cert_revoke(c->b->store, s.v[i], now, reason)) < 0) {
			r = nhi_call_error(c, r, "cannot revoke serial %" PRIu64 ": %s", s.v[i],
			                   nhi_strerror(r));
			goto out;
		}
	}
	if (s.n > 0 || key_added) {
		if ((r = audit_revoke(c, by, subject, &s, reason, key_added)) < 0)
			goto out;
		/* The KRL is rewritten after the batch commits, never from
		 * uncommitted state: the server checks krl_dirty then. */
		c->b->krl_dirty = true;
	}
	if ((r = nhi_call_add_record(c, &rec)) < 0 || (r = nhi_kv_add_u64(rec, "revoked", s.n)) < 0 ||
	    (fp != NULL &&
	     (r = nhi_kv_add_str(rec, "key_revoked", key_added ? "yes" : "already")) < 0))
		goto out;
	for (size_t i = 0; i < s.n; i++)
		if ((r = nhi_kv_add_u64(rec, "serial", s.v[i])) < 0)
			goto out;
	if (fp != NULL)
		r = nhi_call_message(c, "%zu certificate(s) revoked; key %s %s", s.n, fp,
		                     key_added ? "revoked" : "was already revoked");
	else
		r = nhi_call_message(c, "%zu certificate(s) revoked", s.n);
out:
	free(s.v);
	nhi_identity_clear(&id);
	return r;
}

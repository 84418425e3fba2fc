/* The online check behind nhi-authorized-principals: sshd presents a
 * certificate's serial, key id and subject key fingerprint for a local
 * account, and the broker says whether that certificate, as it recorded it,
 * may log in as that account right now. The KRL catches revocations only
 * after sshd re-reads it; this answers from the store at once. */
#include "config.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ca.h"
#include "err.h"
#include "handlers.h"
#include "log.h"
#include "names.h"

#define FINGERPRINT_TEXT_MAX 64u /* "SHA256:" and 43 characters of base64 */
#define KEY_ID_MAX           128u

/* Every refusal is audited (by the server, after rolling back) and logged. */
static int refuse(struct nhi_call *c, const char *subject, int status, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

static int refuse(struct nhi_call *c, const char *subject, int status, const char *fmt, ...)
{
	char reason[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	nhi_log_notice("principals: refused: %s", reason);
	return nhi_call_deny(c, subject, status, "%s", reason);
}

static int arg_text(struct nhi_call *c, const char *key, size_t max, const char **ret)
{
	const char *v = nhi_kv_str(c->args, key);

	if (v == NULL || v[0] == '\0' || strlen(v) > max)
		return nhi_call_error(c, NHI_ERR_INVALID_ARGUMENT, "missing or invalid %s", key);
	*ret = v;
	return 0;
}

static bool has_principal(const struct nhi_cert_record *cr, const char *account)
{
	for (size_t i = 0; i < cr->n_principals; i++)
		if (strcmp(cr->principals[i], account) == 0)
			return true;
	return false;
}

int nhi_handle_principals_query(struct nhi_call *c)
{
	struct nhi_cert_record cr = {0};
	struct nhi_identity id;
	const char *account, *key_id, *key_fp;
	char abuf[80], kbuf[160];
	uint64_t serial, uid, now = nhi_broker_now();
	struct nhi_kv *rec;
	int r;

	nhi_identity_init(&id);
	if ((r = arg_text(c, "account", NHI_NAME_MAX, &account)) < 0 ||
	    (r = arg_text(c, "key_id", KEY_ID_MAX, &key_id)) < 0 ||
	    (r = arg_text(c, "key_fingerprint", FINGERPRINT_TEXT_MAX, &key_fp)) < 0)
		goto out;
	if (nhi_kv_u64(c->args, "serial", &serial) < 0 || nhi_kv_u64(c->args, "uid", &uid) < 0) {
		r = nhi_call_error(c, NHI_ERR_INVALID_ARGUMENT, "missing or invalid serial or uid");
		goto out;
	}
	if (!nhi_name_is_valid(account)) {
		r = nhi_call_error(c, NHI_ERR_NAME_INVALID, "invalid account name '%s'",
		                   nhi_log_sanitize(account, abuf, sizeof(abuf)));
		goto out;
	}
	nhi_log_sanitize(key_id, kbuf, sizeof(kbuf));

	r = nhi_store_cert_get(c->b->store, serial, &cr);
	if (r == NHI_ERR_NOT_FOUND) {
		r = refuse(c, account, r, "%s: no certificate with serial %" PRIu64, account,
		           serial);
		goto out;
	}
	if (r < 0) {
		r = nhi_call_error(c, r, "cannot read the store: %s", nhi_strerror(r));
		goto out;
	}
	if (strcmp(cr.key_id, key_id) != 0) {
		r = refuse(c, cr.identity, NHI_ERR_CERT_MISMATCH,
		           "%s: certificate %" PRIu64 " presented with key id '%s'", account,
		           serial, kbuf);
		goto out;
	}
	if (cr.key_fp == NULL || strcmp(cr.key_fp, key_fp) != 0) {
		r = refuse(c, cr.identity, NHI_ERR_CERT_MISMATCH,
		           "%s: certificate %" PRIu64 " presented with another subject key",
		           account, serial);
		goto out;
	}
	if (cr.revoked_at != 0) {
		r = refuse(c, cr.identity, NHI_ERR_KEY_REVOKED,
		           "%s: certificate %" PRIu64 " of %s is revoked", account, serial,
		           cr.identity);
		goto out;
	}
	if (now < cr.valid_after || now >= cr.valid_before) {
		r = refuse(c, cr.identity,
		           now < cr.valid_after ? NHI_ERR_CERT_NOT_YET_VALID : NHI_ERR_CERT_EXPIRED,
		           "%s: certificate %" PRIu64 " of %s is outside its validity", account,
		           serial, cr.identity);
		goto out;
	}
	if (nhi_ca_set_find(c->b->ca, cr.ca_fp) == NULL) {
		r = refuse(c, cr.identity, NHI_ERR_CERT_WRONG_CA,
		           "%s: certificate %" PRIu64 " of %s was signed by a CA no longer trusted",
		           account, serial, cr.identity);
		goto out;
	}
	r = nhi_store_identity_get(c->b->store, cr.identity, &id);
	if (r == NHI_ERR_NOT_FOUND) {
		r = refuse(c, cr.identity, r,
		           "%s: certificate %" PRIu64 " names unknown identity %s", account, serial,
		           cr.identity);
		goto out;
	}
	if (r < 0) {
		r = nhi_call_error(c, r, "cannot read the store: %s", nhi_strerror(r));
		goto out;
	}
	if (id.status != NHI_STATUS_ACTIVE) {
		r = refuse(c, id.name, NHI_ERR_IDENTITY_INACTIVE, "%s: identity %s is %s", account,
		           id.name, nhi_identity_status_name(id.status));
		goto out;
	}
	if (!has_principal(&cr, account)) {
		r = refuse(c, id.name, NHI_ERR_CERT_PRINCIPAL,
		           "%s: not a principal of certificate %" PRIu64 " of %s", account, serial,
		           id.name);
		goto out;
	}
	if ((r = nhi_call_add_record(c, &rec)) < 0 ||
	    (r = nhi_kv_add_str(rec, "principal", account)) < 0)
		goto out;
	nhi_log_info("principals: %s (uid %" PRIu64 ") may log in with certificate %" PRIu64
	             " of %s",
	             account, uid, serial, id.name);
	r = 0;
out:
	nhi_identity_clear(&id);
	nhi_cert_record_clear(&cr);
	return r;
}

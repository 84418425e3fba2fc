/* Engineers' device keys: enrollment with a one-use code, and certificates
 * for the identity that owns an enrolled key. Both are asked by nhi-issue,
 * which sshd runs as the login user (nhi-login) once it has authenticated
 * the device key itself; the key sshd saw comes from SSH_USER_AUTH.
 *
 * The login user's authorized keys are answered here too: an enrolled,
 * active device key may run nhi-issue; any other key may only present an
 * enrollment code. The code is the secret (128 bits, one use, short-lived,
 * only its hash stored); every attempt, good or bad, is audited, and
 * failed ones are limited (broker/enroll_limit.h). */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "ca.h"
#include "cert.h"
#include "enroll_limit.h"
#include "err.h"
#include "handlers.h"
#include "log.h"
#include "policy.h"
#include "sshkey.h"
#include "store_static_key.h"

#ifndef NHI_LIBEXECDIR
#define NHI_LIBEXECDIR "/usr/libexec"
#endif
#define NHI_ISSUE_PATH    NHI_LIBEXECDIR "/nhi/nhi-issue"
#define ENROLL_CODE_CHARS 26u /* 128 bits in base32, without the dashes */

/* The broker's failed enrollment attempts: one process, one limit. */
static struct nhi_enroll_limit enroll_limit;

/* Refuses the caller while its failures (or everyone's) fill a window; the
 * first refusal of a window is a denial (audited), later ones only errors. */
static int check_enroll_limit(struct nhi_call *c, int64_t now)
{
	int64_t wait = 0;
	bool first = false;

	if (nhi_enroll_limit_check(&enroll_limit, c->peer->uid, now, &wait, &first) == 0)
		return 0;
	if (first)
		return nhi_call_deny(c, c->peer->name, NHI_ERR_RATE_LIMITED,
		                     "too many failed enrollment attempts: refused for %lld s",
		                     (long long)wait);
	nhi_log_notice("enrollment by %s refused: too many failed attempts", c->peer->name);
	return nhi_call_error(c, NHI_ERR_RATE_LIMITED,
	                      "too many failed enrollment attempts: refused for %lld s",
	                      (long long)wait);
}

/* The code as the engineer typed it (dashes, any case) to its canonical
 * form, whose SHA-256 is what the store holds. */
static int code_hash(const char *text, uint8_t hash[NHI_ENROLL_HASH_LEN])
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
	char canon[ENROLL_CODE_CHARS + 1];
	size_t n = 0;

	for (const char *p = text; *p != '\0'; p++) {
		char ch = (char)toupper((unsigned char)*p);

		if (ch == '-')
			continue;
		if (n == ENROLL_CODE_CHARS || strchr(alphabet, ch) == NULL || ch == '\0') {
			sodium_memzero(canon, sizeof(canon));
			return NHI_ERR_INVALID_FORMAT;
		}
		canon[n++] = ch;
	}
	canon[n] = '\0';
	if (n != ENROLL_CODE_CHARS) {
		sodium_memzero(canon, sizeof(canon));
		return NHI_ERR_INVALID_FORMAT;
	}
	crypto_hash_sha256(hash, (const unsigned char *)canon, n);
	sodium_memzero(canon, sizeof(canon));
	return 0;
}

static int arg_key(struct nhi_call *c, const char *name, struct nhi_key **ret_key,
                   char fp[NHI_FINGERPRINT_MAX])
{
	const struct nhi_kv_item *it = nhi_kv_find(c->args, name);
	int r;

	if (it == NULL)
		return nhi_call_error(c, NHI_ERR_INVALID_ARGUMENT, "missing %s", name);
	if ((r = nhi_key_from_blob(it->value, it->len, ret_key)) < 0 ||
	    (r = nhi_key_fingerprint(*ret_key, fp)) < 0)
		return nhi_call_error(c, r, "invalid %s: %s", name, nhi_strerror(r));
	return 0;
}

/* A key retired as a static credential is in the host-wide KRL: enrolled,
 * it could never log in, and it was retired for a reason. */
static int check_not_retired(struct nhi_call *c, const char *fp)
{
	struct nhi_static_key *list = NULL;
	size_t n = 0;
	bool retired = false;
	int r;

	if ((r = nhi_store_static_key_list(c->b->store, NULL, fp, &list, &n)) < 0)
		return nhi_call_error(c, r, "cannot read the store: %s", nhi_strerror(r));
	for (size_t i = 0; i < n; i++)
		retired =
		        retired || (list[i].state != NULL && strcmp(list[i].state, "retired") == 0);
	nhi_static_key_list_free(list, n);
	if (retired)
		return nhi_call_deny(c, fp, NHI_ERR_KEY_REFUSED,
		                     "device key %s was retired as a static key: enroll a fresh, "
		                     "preferably FIDO, key",
		                     fp);
	return 0;
}

static int audit_device(struct nhi_call *c, const char *identity, const char *action,
                        const char *fp, bool is_fido)
{
	struct nhi_audit_detail *d = NULL;
	struct nhi_audit_event ev = {.type = NHI_AUDIT_ENROLL};
	int r;

	if ((r = nhi_audit_detail_new(&d)) < 0 ||
	    (r = nhi_audit_detail_str(d, "action", action)) < 0 ||
	    (r = nhi_audit_detail_str(d, "device_key", fp)) < 0 ||
	    (r = nhi_audit_detail_bool(d, "fido", is_fido)) < 0 ||
	    (r = nhi_audit_detail_int(d, "uid", c->peer->uid)) < 0)
		goto out;
	ev.actor = c->peer->name;
	ev.subject = identity;
	ev.detail = nhi_audit_detail_text(d);
	r = nhi_audit_append(c->b->audit, &ev, NULL);
out:
	nhi_audit_detail_free(d);
	return r;
}

int nhi_handle_device_enroll(struct nhi_call *c)
{
	const char *code = nhi_kv_str(c->args, "code");
	struct nhi_device_key dk = {0}, existing = {0};
	struct nhi_identity id;
	struct nhi_key *key = NULL;
	struct nhi_buf *blob = NULL;
	struct nhi_kv *rec;
	uint8_t hash[NHI_ENROLL_HASH_LEN];
	char fp[NHI_FINGERPRINT_MAX], *identity = NULL, *text = NULL;
	const char *why = NULL;
	int64_t now = (int64_t)nhi_broker_now();
	int r;

	nhi_identity_init(&id);
	if ((r = check_enroll_limit(c, now)) < 0 || (r = arg_key(c, "device_key", &key, fp)) < 0)
		goto out;
	if (code == NULL || code_hash(code, hash) < 0) {
		nhi_enroll_limit_failed(&enroll_limit, c->peer->uid, now);
		r = nhi_call_deny(c, fp, NHI_ERR_ENROLL_CODE,
		                  "malformed enrollment code for device key %s", fp);
		goto out;
	}
	if (nhi_key_policy(key, &why) == NHI_KEY_REFUSED) {
		r = nhi_call_deny(c, fp, NHI_ERR_KEY_REFUSED, "device key %s refused: %s", fp,
		                  why != NULL ? why : "weak key");
		goto out;
	}
	if ((r = check_not_retired(c, fp)) < 0)
		goto out;
	r = nhi_store_device_key_get(c->b->store, fp, &existing);
	if (r == 0) {
		r = nhi_call_deny(c, fp, NHI_ERR_EXISTS, "device key %s is already enrolled%s", fp,
		                  existing.revoked ? " (and revoked): use a fresh key" : "");
		goto out;
	}
	if (r != NHI_ERR_NOT_FOUND) {
		r = nhi_call_error(c, r, "cannot read the store: %s", nhi_strerror(r));
		goto out;
	}
	/* Consumed here, inside the request's savepoint: a later failure rolls
	 * the use back together with everything else. */
	r = nhi_store_enroll_code_use(c->b->store, hash, (int64_t)nhi_broker_now(), &identity);
	if (r == NHI_ERR_NOT_FOUND) {
		nhi_enroll_limit_failed(&enroll_limit, c->peer->uid, now);
		r = nhi_call_deny(c, fp, NHI_ERR_ENROLL_CODE,
		                  "enrollment code unknown, used or expired (device key %s)", fp);
		goto out;
	}
	if (r < 0) {
		r = nhi_call_error(c, r, "cannot read the store: %s", nhi_strerror(r));
		goto out;
	}
	if ((r = nhi_store_identity_get(c->b->store, identity, &id)) < 0) {
		r = nhi_call_error(c, r, "cannot read identity: %s", nhi_strerror(r));
		goto out;
	}
	if (id.kind != NHI_KIND_HUMAN || id.status != NHI_STATUS_ACTIVE) {
		r = nhi_call_deny(c, id.name, NHI_ERR_IDENTITY_INACTIVE,
		                  "identity %s is %s: no device keys enrolled", id.name,
		                  nhi_identity_status_name(id.status));
		goto out;
	}
	if ((blob = nhi_buf_new()) == NULL) {
		r = NHI_ERR_ALLOC;
		goto out;
	}
	if ((r = nhi_key_to_blob(key, blob)) < 0 || (r = nhi_key_to_text(key, NULL, &text)) < 0)
		goto out;
	dk.identity = identity;
	dk.fingerprint = fp;
	dk.blob = (uint8_t *)nhi_buf_ptr(blob);
	dk.blob_len = nhi_buf_len(blob);
	dk.text = text;
	dk.is_fido = key->type == NHI_KEY_SK_ED25519 || key->type == NHI_KEY_SK_ECDSA_P256;
	dk.enrolled_at = (int64_t)nhi_broker_now();
	if ((r = nhi_store_device_key_add(c->b->store, &dk)) < 0 ||
	    (r = audit_device(c, identity, "device-enrolled", fp, dk.is_fido)) < 0) {
		r = nhi_call_error(c, r, "cannot enroll: %s", nhi_strerror(r));
		goto out;
	}
	if ((r = nhi_call_add_record(c, &rec)) < 0 ||
	    (r = nhi_kv_add_str(rec, "identity", identity)) < 0 ||
	    (r = nhi_kv_add_str(rec, "fingerprint", fp)) < 0 ||
	    (r = nhi_kv_add_str(rec, "is_fido", dk.is_fido ? "yes" : "no")) < 0)
		goto out;
	r = nhi_call_message(c, "device key %s enrolled for %s", fp, identity);
out:
	sodium_memzero(hash, sizeof(hash));
	nhi_device_key_clear(&existing);
	nhi_identity_clear(&id);
	nhi_buf_free(blob);
	nhi_key_free(key);
	free(identity);
	free(text);
	return r;
}

static int issue_cert(struct nhi_call *c, const struct nhi_identity *id, const struct nhi_key *key,
                      const char *key_fp, const char *device_fp, uint32_t ttl_requested)
{
	struct nhi_policy_decision d = {0};
	struct nhi_cert *cert = NULL;
	struct nhi_audit_detail *ad = NULL;
	struct nhi_audit_event ev = {.type = NHI_AUDIT_ISSUE};
	struct nhi_kv *rec;
	char reason[NHI_POLICY_REASON_MAX], *text = NULL;
	char **roles = NULL;
	size_t n_roles = 0;
	uint64_t serial = 0;
	int r;

	if ((r = nhi_store_role_list(c->b->store, id->name, &roles, &n_roles)) < 0) {
		r = nhi_call_error(c, r, "cannot read roles: %s", nhi_strerror(r));
		goto out;
	}
	if ((r = nhi_policy_decide(c->b->cfg, id, roles, n_roles, key, ttl_requested,
	                           nhi_broker_now(), &d, reason)) < 0) {
		r = nhi_call_deny(c, id->name, r, "%s", reason);
		goto out;
	}
	if ((cert = nhi_cert_new()) == NULL) {
		r = NHI_ERR_ALLOC;
		goto out;
	}
	if ((r = nhi_store_next_serial(c->b->store, &serial)) < 0 ||
	    (r = nhi_cert_set_key(cert, key)) < 0 ||
	    (r = nhi_policy_apply(&d, id->name, serial, cert)) < 0 ||
	    (r = nhi_cert_sign(cert, nhi_ca_set_signer(c->b->ca))) < 0)
		goto fail;
	{
		struct nhi_cert_record cr = {
		        .serial = cert->serial,
		        .identity = id->name,
		        .key_id = cert->key_id,
		        .key_fp = (char *)key_fp,
		        .principals = cert->principals,
		        .n_principals = cert->n_principals,
		        .valid_after = cert->valid_after,
		        .valid_before = cert->valid_before,
		        .requester_uid = c->peer->uid,
		        .requester_pid = c->peer->pid,
		        .issued_at = (int64_t)nhi_broker_now(),
		        .ca_fp = (char *)nhi_ca_set_fingerprint(c->b->ca),
		};
		if ((r = nhi_store_cert_insert(c->b->store, &cr)) < 0)
			goto fail;
	}
	/* The certificate leaves only once this record commits. */
	if ((r = nhi_audit_detail_new(&ad)) < 0 ||
	    (r = nhi_audit_detail_int(ad, "serial", (int64_t)cert->serial)) < 0 ||
	    (r = nhi_audit_detail_str(ad, "key_id", cert->key_id)) < 0 ||
	    (r = nhi_audit_detail_str(ad, "key_fingerprint", key_fp)) < 0 ||
	    (r = nhi_audit_detail_str(ad, "device_key", device_fp)) < 0 ||
	    (r = nhi_audit_detail_int(ad, "valid_after", (int64_t)cert->valid_after)) < 0 ||
	    (r = nhi_audit_detail_int(ad, "valid_before", (int64_t)cert->valid_before)) < 0 ||
	    (r = nhi_audit_detail_int(ad, "ttl", d.ttl)) < 0 ||
	    (r = nhi_audit_detail_str(ad, "ca_fingerprint", nhi_ca_set_fingerprint(c->b->ca))) < 0)
		goto fail;
	ev.actor = c->peer->name;
	ev.subject = id->name;
	ev.detail = nhi_audit_detail_text(ad);
	if ((r = nhi_audit_append(c->b->audit, &ev, NULL)) < 0 ||
	    (r = nhi_store_identity_touch(c->b->store, id->name, (int64_t)nhi_broker_now())) < 0)
		goto fail;
	if ((r = nhi_cert_to_text(cert, NULL, &text)) < 0 ||
	    (r = nhi_call_add_record(c, &rec)) < 0 ||
	    (r = nhi_kv_add_str(rec, "identity", id->name)) < 0 ||
	    (r = nhi_kv_add_str(rec, "certificate_text", text)) < 0 ||
	    (r = nhi_kv_add_u64(rec, "serial", cert->serial)) < 0 ||
	    (r = nhi_kv_add_u64(rec, "valid_before", cert->valid_before)) < 0 ||
	    (r = nhi_kv_add_u64(rec, "ttl", d.ttl)) < 0)
		goto out;
	r = nhi_call_message(c, "certificate %llu for %s by device key %s, valid for %u seconds",
	                     (unsigned long long)serial, id->name, device_fp, d.ttl);
	goto out;
fail:
	r = nhi_call_error(c, r, "cannot issue: %s", nhi_strerror(r));
out:
	free(text);
	nhi_audit_detail_free(ad);
	nhi_cert_free(cert);
	nhi_policy_decision_clear(&d);
	nhi_strv_free(roles, n_roles);
	return r;
}

int nhi_handle_device_issue(struct nhi_call *c)
{
	struct nhi_device_key dk = {0};
	struct nhi_identity id;
	struct nhi_key *device = NULL, *key = NULL;
	char device_fp[NHI_FINGERPRINT_MAX], key_fp[NHI_FINGERPRINT_MAX];
	uint64_t ttl = 0;
	int r;

	nhi_identity_init(&id);
	if ((r = arg_key(c, "device_key", &device, device_fp)) < 0 ||
	    (r = arg_key(c, "public_key", &key, key_fp)) < 0)
		goto out;
	r = nhi_kv_u64(c->args, "ttl", &ttl);
	if (r < 0 && r != NHI_ERR_NOT_FOUND) {
		r = nhi_call_error(c, NHI_ERR_INVALID_ARGUMENT, "invalid ttl");
		goto out;
	}
	r = nhi_store_device_key_get(c->b->store, device_fp, &dk);
	if (r == NHI_ERR_NOT_FOUND || (r == 0 && dk.revoked)) {
		r = nhi_call_deny(c, device_fp, NHI_ERR_DEVICE_KEY, "device key %s is %s",
		                  device_fp, r == 0 ? "revoked" : "not enrolled");
		goto out;
	}
	if (r < 0) {
		r = nhi_call_error(c, r, "cannot read the store: %s", nhi_strerror(r));
		goto out;
	}
	if ((r = nhi_store_identity_get(c->b->store, dk.identity, &id)) < 0) {
		r = nhi_call_error(c, r, "cannot read identity: %s", nhi_strerror(r));
		goto out;
	}
	if (id.kind != NHI_KIND_HUMAN || id.status != NHI_STATUS_ACTIVE) {
		r = nhi_call_deny(c, id.name, NHI_ERR_IDENTITY_INACTIVE, "identity %s is %s",
		                  id.name, nhi_identity_status_name(id.status));
		goto out;
	}
	/* Certifying the device key itself would turn a login credential into
	 * a long-lived one; the client must send a fresh key. */
	if (nhi_key_equal(device, key)) {
		r = nhi_call_error(c, NHI_ERR_INVALID_ARGUMENT,
		                   "the key to certify must not be the device key");
		goto out;
	}
	r = issue_cert(c, &id, key, key_fp, device_fp,
	               ttl > UINT32_MAX ? UINT32_MAX : (uint32_t)ttl);
out:
	nhi_device_key_clear(&dk);
	nhi_identity_clear(&id);
	nhi_key_free(device);
	nhi_key_free(key);
	return r;
}

int nhi_device_keys_answer(struct nhi_call *c, const char *account, const struct nhi_key *key,
                           const char *fingerprint)
{
	struct nhi_device_key dk = {0};
	struct nhi_kv *rec;
	char *text = NULL, *line = NULL;
	bool enrolled;
	int r;

	if (strcmp(account, c->b->cfg->login_user) != 0)
		return 0;
	r = nhi_store_device_key_get(c->b->store, fingerprint, &dk);
	if (r < 0 && r != NHI_ERR_NOT_FOUND)
		return nhi_call_error(c, r, "cannot read the store: %s", nhi_strerror(r));
	enrolled = r == 0;
	/* A revoked key gets nothing: a fresh key is the way back. The
	 * identity's status is the broker's to judge at issuance, where the
	 * refusal is audited and the engineer hears why. */
	if (enrolled && dk.revoked) {
		r = 1;
		goto out;
	}
	if ((r = nhi_key_to_text(key, NULL, &text)) < 0)
		goto out;
	if (asprintf(&line, "restrict,command=\"%s%s\" %s", NHI_ISSUE_PATH,
	             enrolled ? "" : " --enroll", text) < 0) {
		line = NULL;
		r = NHI_ERR_ALLOC;
		goto out;
	}
	if ((r = nhi_call_add_record(c, &rec)) < 0 || (r = nhi_kv_add_str(rec, "line", line)) < 0)
		goto out;
	r = 1;
out:
	nhi_device_key_clear(&dk);
	free(text);
	free(line);
	return r;
}

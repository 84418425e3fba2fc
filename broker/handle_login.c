/* Login checks and session events from pam_nhi. The module runs inside
 * sshd, sudo and login as root; it reports what PAM knows (user, service,
 * rhost, tty) and the credential sshd saw (SSH_AUTH_INFO_0), and the broker
 * decides here, so that one policy covers every PAM service. */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "audit.h"
#include "cert.h"
#include "err.h"
#include "handlers.h"
#include "log.h"
#include "names.h"
#include "store_static_key.h"
#include "sshkey.h"

#define KEY_ID_MAX 256u

/* The credential of one login, as the broker reads it from the request. */
struct login_credential {
	const char *method; /* NULL: none reported (console, su, sudo) */
	const char *key_type;
	bool is_cert;
	bool readable;    /* the key or certificate blob parsed */
	bool permits_pty; /* a certificate with the permit-pty extension */
	uint64_t serial;
	char key_id[KEY_ID_MAX + 1];
	char key_fp[NHI_FINGERPRINT_MAX];
};

/* Reads the key or certificate blob the module forwarded. The blob is
 * parsed here again rather than trusting the module's reading of it: the
 * serial, key id and subject fingerprint all come from the blob. */
static void read_credential(const struct nhi_kv *args, struct login_credential *cred)
{
	const struct nhi_kv_item *blob = nhi_kv_find(args, "key");
	struct nhi_cert *cert = NULL;
	struct nhi_key *key = NULL;

	memset(cred, 0, sizeof(*cred));
	cred->method = nhi_kv_str(args, "method");
	cred->key_type = nhi_kv_str(args, "key_type");
	if (blob == NULL || cred->key_type == NULL)
		return;
	cred->is_cert = strstr(cred->key_type, "-cert-v01@openssh.com") != NULL;
	if (cred->is_cert) {
		if (nhi_cert_from_blob(blob->value, blob->len, &cert) == 0 &&
		    cert->type == NHI_CERT_TYPE_USER && cert->key_id != NULL &&
		    strlen(cert->key_id) < sizeof(cred->key_id) &&
		    nhi_key_fingerprint(cert->key, cred->key_fp) == 0) {
			cred->serial = cert->serial;
			cred->permits_pty = nhi_cert_find_extension(cert, "permit-pty") != NULL;
			memcpy(cred->key_id, cert->key_id, strlen(cert->key_id) + 1);
			cred->readable = true;
		}
	} else if (nhi_key_from_blob(blob->value, blob->len, &key) == 0 &&
	           nhi_key_fingerprint(key, cred->key_fp) == 0) {
		cred->readable = true;
	}
	nhi_cert_free(cert);
	nhi_key_free(key);
}

/* 0 when the certificate was issued by this broker to identity and is
 * still good; else a negative code and why in ret_why. *ret_ours tells
 * whether this broker issued it (its serial and subject key are on record
 * for this identity), whatever its state. */
static int check_broker_cert(struct nhi_call *c, const struct nhi_identity *id,
                             const struct login_credential *cred, const char **ret_why,
                             bool *ret_ours)
{
	struct nhi_cert_record rec = {0};
	uint64_t now = nhi_broker_now();
	int r;

	*ret_ours = false;
	if (!cred->is_cert) {
		*ret_why = cred->key_type == NULL ? "no certificate"
		                                  : "a static key, not a certificate";
		return NHI_ERR_LOGIN_CREDENTIAL;
	}
	if (!cred->readable) {
		*ret_why = "a certificate that cannot be read";
		return NHI_ERR_LOGIN_CREDENTIAL;
	}
	r = nhi_store_cert_get(c->b->store, cred->serial, &rec);
	if (r == NHI_ERR_NOT_FOUND) {
		*ret_why = "a certificate this broker did not issue";
		r = NHI_ERR_LOGIN_CREDENTIAL;
		goto out;
	} else if (r < 0) {
		*ret_why = "the store failed";
		goto out;
	}
	if (rec.identity == NULL || rec.key_id == NULL || rec.key_fp == NULL ||
	    strcmp(rec.identity, id->name) != 0 || strcmp(rec.key_id, cred->key_id) != 0 ||
	    strcmp(rec.key_fp, cred->key_fp) != 0) {
		*ret_why = "a certificate of another identity or key";
		r = NHI_ERR_LOGIN_CREDENTIAL;
		goto out;
	}
	*ret_ours = true;
	if (rec.revoked_at != 0) {
		*ret_why = "a revoked certificate";
		r = NHI_ERR_LOGIN_CREDENTIAL;
	} else if (now < rec.valid_after || now >= rec.valid_before) {
		*ret_why = "a certificate outside its validity";
		r = NHI_ERR_LOGIN_CREDENTIAL;
	}
out:
	nhi_cert_record_clear(&rec);
	return r;
}

static bool is_machine(enum nhi_identity_kind kind)
{
	return kind == NHI_KIND_AUTOMATION || kind == NHI_KIND_SERVICE;
}

/* Whether the identity's rule depends on the credential sshd reports:
 * machine identities need a broker certificate, and in enforce mode a
 * managed human must not use a static key. */
static bool needs_credential(const struct nhi_call *c, const struct nhi_identity *id)
{
	return is_machine(id->kind) ||
	       (id->kind == NHI_KIND_HUMAN && c->b->cfg->keys_mode == NHI_KEYS_ENFORCE);
}

/* sshd runs the PAM account stage before it records the method that just
 * succeeded, so SSH_AUTH_INFO_0 is empty there and filled in for the
 * session. sshd names the PAM tty "ssh" for the whole connection; no other
 * service does, and only root sets PAM items. */
static bool is_sshd_account_stage(const struct login_credential *cred, const char *tty)
{
	return cred->method == NULL && tty != NULL && strcmp(tty, "ssh") == 0;
}

/* The policy for a managed identity: its status, its kind and how it
 * authenticated. 0 to allow (why in *ret_why), or the refusal already set
 * on c (audited as a denial) or an error. With may_defer, a login whose
 * credential sshd has not reported yet is let through the account stage
 * with *ret_deferred set: the session stage judges it again, with the
 * credential. */
static int judge_login(struct nhi_call *c, const struct nhi_identity *id,
                       const struct login_credential *cred, bool may_defer, bool *ret_deferred,
                       const char **ret_why)
{
	const char *user = id->name, *why = NULL;
	bool ours = false;
	int r;

	*ret_deferred = false;
	if (id->status == NHI_STATUS_RETIRED)
		return nhi_call_deny(c, user, NHI_ERR_IDENTITY_RETIRED,
		                     "nhi: account %s is retired", user);
	if (id->status != NHI_STATUS_ACTIVE)
		return nhi_call_deny(c, user, NHI_ERR_IDENTITY_INACTIVE, "nhi: account %s is %s",
		                     user, nhi_identity_status_name(id->status));
	if (may_defer && needs_credential(c, id)) {
		*ret_deferred = true;
		*ret_why = "credential deferred to the session stage";
		return 0;
	}
	if (is_machine(id->kind)) {
		if ((r = check_broker_cert(c, id, cred, &why, &ours)) == NHI_ERR_LOGIN_CREDENTIAL)
			return nhi_call_deny(c, user, r,
			                     "nhi: %s identity %s must log in with a broker "
			                     "certificate (got %s)",
			                     nhi_identity_kind_name(id->kind), user, why);
		else if (r < 0)
			return nhi_call_error(c, r, "cannot check the certificate: %s", why);
		why = "broker certificate";
	} else if (id->kind == NHI_KIND_HUMAN && cred->is_cert) {
		/* A human's certificate may come from another CA sshd trusts
		 * (sshd checked it); one of ours must still be good here, so a
		 * revocation holds even where sshd has no RevokedKeys. */
		if ((r = check_broker_cert(c, id, cred, &why, &ours)) < 0 && ours)
			return nhi_call_deny(c, user, NHI_ERR_LOGIN_CREDENTIAL,
			                     "nhi: %s logged in with %s", user, why);
		else if (r < 0 && r != NHI_ERR_LOGIN_CREDENTIAL)
			return nhi_call_error(c, r, "cannot check the certificate: %s", why);
		why = ours ? "broker certificate" : "certificate of another CA";
	} else if (id->kind == NHI_KIND_HUMAN && cred->key_type != NULL) {
		if (c->b->cfg->keys_mode == NHI_KEYS_ENFORCE)
			return nhi_call_deny(c, user, NHI_ERR_LOGIN_CREDENTIAL,
			                     "nhi: static keys are not accepted for %s; "
			                     "use `nhi ssh` for a certificate",
			                     user);
		why = "static key (keys mode observe)";
	} else {
		why = cred->method != NULL ? cred->method : "no ssh credential";
	}
	*ret_why = why;
	return 0;
}

/* The account stage let a login through without its credential: on
 * record, so that a deferral the session stage never resolves shows. */
static int audit_deferral(struct nhi_call *c, const struct nhi_identity *id, const char *service,
                          const char *rhost)
{
	struct nhi_audit_event ev = {.type = NHI_AUDIT_LOGIN};
	struct nhi_audit_detail *d = NULL;
	int r;

	if ((r = nhi_audit_detail_new(&d)) < 0 ||
	    (r = nhi_audit_detail_str(d, "decision", "deferred")) < 0 ||
	    (r = nhi_audit_detail_str(d, "reason", "no credential at the account stage")) < 0 ||
	    (r = nhi_audit_detail_str(d, "service", service)) < 0 ||
	    (rhost != NULL && (r = nhi_audit_detail_str(d, "rhost", rhost)) < 0) ||
	    (r = nhi_audit_detail_str(d, "kind", nhi_identity_kind_name(id->kind))) < 0)
		goto out;
	ev.actor = c->peer->name;
	ev.subject = id->name;
	ev.detail = nhi_audit_detail_text(d);
	if ((r = nhi_audit_append(c->b->audit, &ev, NULL)) < 0)
		r = nhi_call_error(c, r, "cannot write the audit record: %s", nhi_strerror(r));
out:
	nhi_audit_detail_free(d);
	return r;
}

int nhi_handle_login_check(struct nhi_call *c)
{
	const char *user = nhi_kv_str(c->args, "user");
	const char *service = nhi_kv_str(c->args, "service");
	const char *rhost = nhi_kv_str(c->args, "rhost");
	const char *tty = nhi_kv_str(c->args, "tty");
	struct login_credential cred;
	struct nhi_identity id;
	const char *why = NULL, *decision = "allow";
	bool deferred = false;
	struct nhi_kv *rec;
	int r;

	nhi_identity_init(&id);
	if (user == NULL || !nhi_name_is_valid(user) || service == NULL)
		return nhi_call_error(c, NHI_ERR_INVALID_ARGUMENT, "user and service required");
	read_credential(c->args, &cred);
	if ((r = nhi_store_identity_get(c->b->store, user, &id)) == NHI_ERR_NOT_FOUND) {
		decision = "unknown";
		nhi_log_info("login %s via %s from %s: not managed", user, service,
		             rhost != NULL ? rhost : "-");
		goto answer;
	} else if (r < 0) {
		r = nhi_call_error(c, r, "cannot read the store: %s", nhi_strerror(r));
		goto out;
	}
	if ((r = judge_login(c, &id, &cred, is_sshd_account_stage(&cred, tty), &deferred, &why)) <
	    0) {
		if (c->deny_subject != NULL)
			nhi_log_notice("login %s via %s from %s: refused: %s", user, service,
			               rhost != NULL ? rhost : "-", c->reply.message);
		goto out;
	}
	if (deferred) {
		if ((r = audit_deferral(c, &id, service, rhost)) < 0)
			goto out;
		decision = "deferred";
	}
	/* The inventory's last use; a failure here must not refuse a login. */
	if ((r = nhi_store_identity_touch(c->b->store, user, (int64_t)nhi_broker_now())) < 0)
		nhi_log_warning("cannot record the last use of %s: %s", user, nhi_strerror(r));
	nhi_log_info("login %s (%s) via %s from %s: %s, %s", user, nhi_identity_kind_name(id.kind),
	             service, rhost != NULL ? rhost : "-", decision, why);
answer:
	if ((r = nhi_call_add_record(c, &rec)) < 0 ||
	    (r = nhi_kv_add_str(rec, "decision", decision)) < 0)
		goto out;
	if (id.name != NULL &&
	    ((r = nhi_kv_add_str(rec, "identity", id.name)) < 0 ||
	     (r = nhi_kv_add_str(rec, "kind", nhi_identity_kind_name(id.kind))) < 0))
		goto out;
	r = 0;
out:
	nhi_identity_clear(&id);
	return r;
}

/* A session opened with a static key is that key's use: its inventory
 * rows (one per file holding it) get last_used, and the audit record says
 * whether the key was in the inventory at all (sshd may have found it in a
 * file the broker never read). */
static int touch_static_key(struct nhi_call *c, const char *account, const char *fingerprint,
                            struct nhi_audit_detail *d)
{
	size_t n = 0;
	int r;

	if ((r = nhi_store_static_key_touch(c->b->store, account, fingerprint,
	                                    (int64_t)nhi_broker_now(), &n)) < 0)
		return nhi_call_error(c, r, "cannot record the key's use: %s", nhi_strerror(r));
	return nhi_audit_detail_bool(d, "key_inventoried", n > 0);
}

int nhi_handle_session_event(struct nhi_call *c)
{
	const char *user = nhi_kv_str(c->args, "user");
	const char *event = nhi_kv_str(c->args, "event");
	const char *session = nhi_kv_str(c->args, "session");
	const char *service = nhi_kv_str(c->args, "service");
	const char *rhost = nhi_kv_str(c->args, "rhost");
	const char *tty = nhi_kv_str(c->args, "tty");
	struct nhi_audit_event ev = {.type = NHI_AUDIT_SESSION};
	struct nhi_audit_detail *d = NULL;
	struct login_credential cred;
	struct nhi_identity id;
	const char *why = NULL;
	bool managed = false, deferred = false;
	uint64_t seq = 0;
	struct nhi_kv *rec;
	int r;

	nhi_identity_init(&id);
	if (user == NULL || !nhi_name_is_valid(user) || service == NULL || session == NULL ||
	    event == NULL || (strcmp(event, "open") != 0 && strcmp(event, "close") != 0))
		return nhi_call_error(c, NHI_ERR_INVALID_ARGUMENT,
		                      "event (open|close), user, service and session required");
	read_credential(c->args, &cred);
	if ((r = nhi_store_identity_get(c->b->store, user, &id)) == 0)
		managed = true;
	else if (r != NHI_ERR_NOT_FOUND)
		return nhi_call_error(c, r, "cannot read the store: %s", nhi_strerror(r));
	/* Open is where a login deferred by the account stage is decided,
	 * with the credential sshd has now reported; any other login is
	 * judged again by the same rule, so no session opens that the
	 * account stage would have refused. */
	if (managed && strcmp(event, "open") == 0 &&
	    (r = judge_login(c, &id, &cred, false, &deferred, &why)) < 0) {
		if (c->deny_subject != NULL)
			nhi_log_notice("session %s open: %s via %s from %s: refused: %s", session,
			               user, service, rhost != NULL ? rhost : "-",
			               c->reply.message);
		goto out;
	}
	if ((r = nhi_audit_detail_new(&d)) < 0 ||
	    (r = nhi_audit_detail_str(d, "event", event)) < 0 ||
	    (r = nhi_audit_detail_str(d, "session", session)) < 0 ||
	    (r = nhi_audit_detail_str(d, "service", service)) < 0 ||
	    (rhost != NULL && (r = nhi_audit_detail_str(d, "rhost", rhost)) < 0) ||
	    (tty != NULL && (r = nhi_audit_detail_str(d, "tty", tty)) < 0) ||
	    (cred.method != NULL && (r = nhi_audit_detail_str(d, "method", cred.method)) < 0) ||
	    (cred.key_type != NULL &&
	     (r = nhi_audit_detail_str(d, "key_type", cred.key_type)) < 0) ||
	    (cred.readable && (r = nhi_audit_detail_str(d, "key_fp", cred.key_fp)) < 0) ||
	    (cred.readable && cred.is_cert &&
	     ((r = nhi_audit_detail_int(d, "cert_serial", (int64_t)cred.serial)) < 0 ||
	      (r = nhi_audit_detail_str(d, "cert_key_id", cred.key_id)) < 0)) ||
	    (why != NULL && (r = nhi_audit_detail_str(d, "credential", why)) < 0) ||
	    (r = nhi_audit_detail_bool(d, "managed", managed)) < 0 ||
	    (managed && (r = nhi_audit_detail_str(d, "kind", nhi_identity_kind_name(id.kind))) < 0))
		goto out;
	/* A terminal on a machine identity means a person is typing as it.
	 * sshd opens the PAM session before the client asks for a pty and
	 * names the tty "ssh" throughout, so under sshd what shows is a
	 * certificate that lets the session have one. */
	if (managed && is_machine(id.kind) && tty != NULL && strcmp(tty, "ssh") != 0 &&
	    (r = nhi_audit_detail_bool(d, "interactive_machine", true)) < 0)
		goto out;
	if (managed && is_machine(id.kind) && cred.readable && cred.permits_pty &&
	    (r = nhi_audit_detail_bool(d, "pty_permitted", true)) < 0)
		goto out;
	if (strcmp(event, "open") == 0 && cred.readable && !cred.is_cert &&
	    (r = touch_static_key(c, user, cred.key_fp, d)) < 0)
		goto out;
	ev.actor = c->peer->name;
	ev.subject = user;
	ev.detail = nhi_audit_detail_text(d);
	if ((r = nhi_audit_append(c->b->audit, &ev, &seq)) < 0) {
		r = nhi_call_error(c, r, "cannot write the audit record: %s", nhi_strerror(r));
		goto out;
	}
	nhi_log_info("session %s %s: %s via %s from %s", session, event, user, service,
	             rhost != NULL ? rhost : "-");
	if ((r = nhi_call_add_record(c, &rec)) < 0 || (r = nhi_kv_add_u64(rec, "seq", seq)) < 0)
		goto out;
	r = 0;
out:
	nhi_audit_detail_free(d);
	nhi_identity_clear(&id);
	return r;
}

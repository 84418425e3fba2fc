#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attest.h"
#include "ca.h"
#include "cert.h"
#include "err.h"
#include "handlers.h"
#include "names.h"
#include "policy.h"

/* What a certificate request carries, once read and checked. */
struct request {
	const char *name;
	struct nhi_key *key;
	char key_fp[NHI_FINGERPRINT_MAX];
	uint32_t ttl; /* 0: the default */
};

static void request_clear(struct request *q)
{
	nhi_key_free(q->key);
}

/* Bad input is an error, not a policy decision: it is not audited. */
static int read_request(struct nhi_call *c, struct request *q)
{
	const struct nhi_kv_item *pk = nhi_kv_find(c->args, "public_key");
	uint64_t ttl = 0;
	int r;

	q->name = nhi_kv_str(c->args, "identity");
	if (q->name == NULL)
		return nhi_call_error(c, NHI_ERR_INVALID_ARGUMENT, "missing identity name");
	if (!nhi_name_is_valid(q->name))
		return nhi_call_error(c, NHI_ERR_NAME_INVALID, "invalid identity name");
	if (pk == NULL)
		return nhi_call_error(c, NHI_ERR_INVALID_ARGUMENT, "missing public_key");
	if ((r = nhi_key_from_blob(pk->value, pk->len, &q->key)) < 0)
		return nhi_call_error(c, r, "invalid public_key: %s", nhi_strerror(r));
	if ((r = nhi_key_fingerprint(q->key, q->key_fp)) < 0)
		return nhi_call_error(c, r, "invalid public_key: %s", nhi_strerror(r));
	r = nhi_kv_u64(c->args, "ttl", &ttl);
	if (r < 0 && r != NHI_ERR_NOT_FOUND)
		return nhi_call_error(c, NHI_ERR_INVALID_ARGUMENT, "invalid ttl");
	/* Anything beyond 32 bits is above every cap: keep it visible as such. */
	q->ttl = ttl > UINT32_MAX ? UINT32_MAX : (uint32_t)ttl;
	return 0;
}

static const char *selector_kind_text(enum nhi_selector_kind kind)
{
	const char *s = nhi_selector_kind_name(kind);

	return s != NULL ? s : "unknown";
}

/* Automation and service identities: the caller must match every selector.
 * The reason names the kind of selector that failed, never its value. */
static int check_attestation(struct nhi_call *c, const struct nhi_identity *id,
                             struct nhi_attestation *a)
{
	struct nhi_selector *sels = NULL;
	size_t n = 0, failed = 0;
	int r;

	if ((r = nhi_attest_caller(c->peer->pid, c->peer->uid, c->peer->gid, c->b->self_exe, a)) <
	    0) {
		r = nhi_call_deny(c, id->name, NHI_ERR_ATTESTATION, "cannot attest the caller: %s",
		                  nhi_strerror(r));
		goto out;
	}
	if ((r = nhi_store_selector_list(c->b->store, id->name, &sels, &n)) < 0) {
		r = nhi_call_error(c, r, "cannot read selectors: %s", nhi_strerror(r));
		goto out;
	}
	if (n == 0) {
		r = nhi_call_deny(c, id->name, NHI_ERR_ATTESTATION,
		                  "identity %s has no attestation selectors", id->name);
		goto out;
	}
	if (!nhi_attest_match(a, sels, n, &failed)) {
		r = nhi_call_deny(c, id->name, NHI_ERR_ATTESTATION,
		                  "the caller does not match the %s selector of %s",
		                  selector_kind_text(sels[failed].kind), id->name);
		goto out;
	}
	r = 0;
out:
	nhi_selector_list_free(sels, n);
	return r;
}

/* Who may ask for this identity's certificate by this path. */
static int check_caller(struct nhi_call *c, const struct nhi_identity *id,
                        struct nhi_attestation *a, bool *ret_attested)
{
	*ret_attested = false;
	switch (id->kind) {
	case NHI_KIND_HUMAN:
		if (id->uid == NHI_ID_NONE || id->uid != (int64_t)c->peer->uid)
			return nhi_call_deny(c, id->name, NHI_ERR_REFUSED,
			                     "uid %u is not bound to identity %s",
			                     (unsigned)c->peer->uid, id->name);
		return 0;
	case NHI_KIND_AUTOMATION:
	case NHI_KIND_SERVICE:
		*ret_attested = true;
		return check_attestation(c, id, a);
	case NHI_KIND_BREAKGLASS:
		break;
	}
	return nhi_call_deny(c, id->name, NHI_ERR_REFUSED,
	                     "identity %s is %s: not issued through a certificate request",
	                     id->name, nhi_identity_kind_name(id->kind));
}

static int build_cert(struct nhi_call *c, const struct request *q, const char *identity,
                      const struct nhi_policy_decision *d, uint64_t serial, struct nhi_cert **ret)
{
	struct nhi_cert *cert = nhi_cert_new();
	int r;

	if (cert == NULL)
		return NHI_ERR_ALLOC;
	if ((r = nhi_cert_set_key(cert, q->key)) < 0 ||
	    (r = nhi_policy_apply(d, identity, serial, cert)) < 0 ||
	    (r = nhi_cert_sign(cert, nhi_ca_set_signer(c->b->ca))) < 0) {
		nhi_cert_free(cert);
		return r;
	}
	*ret = cert;
	return 0;
}

static int record_cert(struct nhi_call *c, const struct nhi_cert *cert, const char *identity,
                       const struct request *q, const struct nhi_attestation *a, bool attested)
{
	struct nhi_cert_record rec = {
	        .serial = cert->serial,
	        .identity = (char *)identity,
	        .key_id = cert->key_id,
	        .key_fp = (char *)q->key_fp,
	        .principals = cert->principals,
	        .n_principals = cert->n_principals,
	        .valid_after = cert->valid_after,
	        .valid_before = cert->valid_before,
	        .requester_uid = c->peer->uid,
	        .requester_pid = c->peer->pid,
	        .requester_exe = attested ? (char *)a->exe : NULL,
	        .issued_at = (int64_t)nhi_broker_now(),
	        .ca_fp = (char *)nhi_ca_set_fingerprint(c->b->ca),
	};

	return nhi_store_cert_insert(c->b->store, &rec);
}

static int audit_issue(struct nhi_call *c, const struct nhi_cert *cert, const char *identity,
                       const struct request *q, uint32_t ttl, const struct nhi_attestation *a,
                       bool attested)
{
	struct nhi_audit_detail *d = NULL;
	struct nhi_audit_event ev = {.type = NHI_AUDIT_ISSUE};
	char *principals = NULL;
	size_t len = 0;
	FILE *f = NULL;
	int r;

	/* Principals as one comma-separated field: the detail is a flat object,
	 * and a principal can never hold a comma. */
	if ((f = open_memstream(&principals, &len)) == NULL)
		return NHI_ERR_ALLOC;
	for (size_t i = 0; i < cert->n_principals; i++)
		fprintf(f, "%s%s", i > 0 ? "," : "", cert->principals[i]);
	if (fclose(f) != 0) {
		r = NHI_ERR_ALLOC;
		goto out;
	}
	if ((r = nhi_audit_detail_new(&d)) < 0 ||
	    (r = nhi_audit_detail_int(d, "serial", (int64_t)cert->serial)) < 0 ||
	    (r = nhi_audit_detail_str(d, "key_id", cert->key_id)) < 0 ||
	    (r = nhi_audit_detail_str(d, "key_fingerprint", q->key_fp)) < 0 ||
	    (r = nhi_audit_detail_str(d, "principals", principals)) < 0 ||
	    (r = nhi_audit_detail_int(d, "valid_after", (int64_t)cert->valid_after)) < 0 ||
	    (r = nhi_audit_detail_int(d, "valid_before", (int64_t)cert->valid_before)) < 0 ||
	    (r = nhi_audit_detail_int(d, "ttl", ttl)) < 0 ||
	    (r = nhi_audit_detail_str(d, "ca_fingerprint", nhi_ca_set_fingerprint(c->b->ca))) < 0 ||
	    (r = nhi_audit_detail_int(d, "uid", c->peer->uid)) < 0 ||
	    (r = nhi_audit_detail_int(d, "pid", c->peer->pid)) < 0)
		goto out;
	if (attested && ((r = nhi_audit_detail_str(d, "exe", a->exe)) < 0 ||
	                 (r = nhi_audit_detail_str(d, "exe_sha256", a->exe_sha256)) < 0 ||
	                 (r = nhi_audit_detail_str(d, "unit", a->unit)) < 0 ||
	                 (r = nhi_audit_detail_bool(d, "via_nhi", a->via_nhi)) < 0))
		goto out;
	ev.actor = c->peer->name;
	ev.subject = identity;
	ev.detail = nhi_audit_detail_text(d);
	r = nhi_audit_append(c->b->audit, &ev, NULL);
out:
	nhi_audit_detail_free(d);
	free(principals);
	return r;
}

static int reply_cert(struct nhi_call *c, const struct nhi_cert *cert, uint32_t ttl)
{
	char *text = NULL;
	struct nhi_kv *rec;
	int r;

	if ((r = nhi_cert_to_text(cert, NULL, &text)) < 0 ||
	    (r = nhi_call_add_record(c, &rec)) < 0 ||
	    (r = nhi_kv_add(rec, "certificate", nhi_buf_ptr(cert->blob), nhi_buf_len(cert->blob))) <
	            0 ||
	    (r = nhi_kv_add_str(rec, "certificate_text", text)) < 0 ||
	    (r = nhi_kv_add_u64(rec, "serial", cert->serial)) < 0 ||
	    (r = nhi_kv_add_str(rec, "key_id", cert->key_id)) < 0 ||
	    (r = nhi_kv_add_u64(rec, "valid_after", cert->valid_after)) < 0 ||
	    (r = nhi_kv_add_u64(rec, "valid_before", cert->valid_before)) < 0 ||
	    (r = nhi_kv_add_u64(rec, "ttl", ttl)) < 0)
		goto out;
	for (size_t i = 0; i < cert->n_principals; i++) {
		if ((r = nhi_kv_add_str(rec, "principal", cert->principals[i])) < 0)
			goto out;
	}
	r = 0;
out:
	free(text);
	return r;
}

int nhi_handle_cert_request(struct nhi_call *c)
{
	struct request q = {0};
	struct nhi_identity id;
	struct nhi_attestation *a = calloc(1, sizeof(*a));
	struct nhi_policy_decision d = {0};
	struct nhi_cert *cert = NULL;
	char reason[NHI_POLICY_REASON_MAX];
	char **roles = NULL;
	size_t n_roles = 0;
	bool attested = false;
	uint64_t serial = 0;
	int r;

	nhi_identity_init(&id);
	if (a == NULL) {
		r = NHI_ERR_ALLOC;
		goto out;
	}
	if ((r = read_request(c, &q)) < 0)
		goto out;
	r = nhi_store_identity_get(c->b->store, q.name, &id);
	if (r == NHI_ERR_NOT_FOUND) {
		r = nhi_call_deny(c, q.name, r, "no identity %s", q.name);
		goto out;
	}
	if (r < 0) {
		r = nhi_call_error(c, r, "cannot read the store: %s", nhi_strerror(r));
		goto out;
	}
	if (id.status != NHI_STATUS_ACTIVE) {
		r = nhi_call_deny(c, id.name, NHI_ERR_IDENTITY_INACTIVE, "identity %s is %s",
		                  id.name, nhi_identity_status_name(id.status));
		goto out;
	}
	if ((r = check_caller(c, &id, a, &attested)) < 0)
		goto out;
	if ((r = nhi_store_role_list(c->b->store, id.name, &roles, &n_roles)) < 0) {
		r = nhi_call_error(c, r, "cannot read roles: %s", nhi_strerror(r));
		goto out;
	}
	if ((r = nhi_policy_decide(c->b->cfg, &id, roles, n_roles, q.key, q.ttl, nhi_broker_now(),
	                           &d, reason)) < 0) {
		r = nhi_call_deny(c, id.name, r, "%s", reason);
		goto out;
	}
	if ((r = nhi_store_next_serial(c->b->store, &serial)) < 0 ||
	    (r = build_cert(c, &q, id.name, &d, serial, &cert)) < 0 ||
	    (r = record_cert(c, cert, id.name, &q, a, attested)) < 0 ||
	    (r = audit_issue(c, cert, id.name, &q, d.ttl, a, attested)) < 0 ||
	    (r = nhi_store_identity_touch(c->b->store, id.name, (int64_t)nhi_broker_now())) < 0) {
		/* Nothing leaves unless its record and audit event commit. */
		r = nhi_call_error(c, r, "cannot issue: %s", nhi_strerror(r));
		goto out;
	}
	if ((r = reply_cert(c, cert, d.ttl)) < 0)
		goto out;
	r = nhi_call_message(c, "certificate %llu for %s, valid for %u seconds",
	                     (unsigned long long)serial, id.name, d.ttl);
out:
	nhi_cert_free(cert);
	nhi_policy_decision_clear(&d);
	nhi_strv_free(roles, n_roles);
	nhi_identity_clear(&id);
	request_clear(&q);
	free(a);
	return r;
}

static int add_attestation(struct nhi_kv *rec, const struct nhi_attestation *a)
{
	int r;

	if ((r = nhi_kv_add_str(rec, "exe", a->exe)) < 0 ||
	    (r = nhi_kv_add_str(rec, "exe_deleted", a->exe_deleted ? "yes" : "no")) < 0 ||
	    (r = nhi_kv_add_str(rec, "exe_sha256", a->exe_sha256)) < 0 ||
	    (r = nhi_kv_add_str(rec, "unit", a->unit)) < 0 ||
	    (r = nhi_kv_add_i64(rec, "attested_pid", a->pid)) < 0 ||
	    (r = nhi_kv_add_str(rec, "via_nhi", a->via_nhi ? "yes" : "no")) < 0)
		return r;
	return 0;
}

struct match_ctx {
	struct nhi_kv *rec;
	const struct nhi_attestation *a;
};

static int add_if_matching(const char *identity, const struct nhi_selector *sels, size_t n,
                           void *userdata)
{
	struct match_ctx *m = userdata;

	if (!nhi_attest_match(m->a, sels, n, NULL))
		return 0;
	return nhi_kv_add_str(m->rec, "identity", identity);
}

/* Automation and service identities whose selectors all match a. */
static int add_matching_identities(struct nhi_call *c, struct nhi_kv *rec,
                                   const struct nhi_attestation *a)
{
	struct match_ctx m = {.rec = rec, .a = a};

	return nhi_store_selector_candidates(c->b->store, add_if_matching, &m);
}

int nhi_handle_whoami(struct nhi_call *c)
{
	struct nhi_attestation *a = calloc(1, sizeof(*a));
	struct nhi_identity human;
	struct nhi_kv *rec;
	int r, ra;

	nhi_identity_init(&human);
	if (a == NULL) {
		r = NHI_ERR_ALLOC;
		goto out;
	}
	if ((r = nhi_call_add_record(c, &rec)) < 0 ||
	    (r = nhi_kv_add_u64(rec, "uid", c->peer->uid)) < 0 ||
	    (r = nhi_kv_add_u64(rec, "gid", c->peer->gid)) < 0 ||
	    (r = nhi_kv_add_i64(rec, "pid", c->peer->pid)) < 0)
		goto out;
	r = nhi_store_identity_get_by_uid(c->b->store, c->peer->uid, &human);
	if (r == 0 && human.kind == NHI_KIND_HUMAN && human.status == NHI_STATUS_ACTIVE &&
	    (r = nhi_kv_add_str(rec, "identity", human.name)) < 0)
		goto out;
	if (r < 0 && r != NHI_ERR_NOT_FOUND) {
		r = nhi_call_error(c, r, "cannot read the store: %s", nhi_strerror(r));
		goto out;
	}
	ra = nhi_attest_caller(c->peer->pid, c->peer->uid, c->peer->gid, c->b->self_exe, a);
	if (ra < 0) {
		r = nhi_kv_add_str(rec, "attestation_error", nhi_strerror(ra));
		goto out;
	}
	if ((r = add_attestation(rec, a)) < 0)
		goto out;
	if ((r = add_matching_identities(c, rec, a)) < 0) {
		r = nhi_call_error(c, r, "cannot read the store: %s", nhi_strerror(r));
		goto out;
	}
	r = 0;
out:
	nhi_identity_clear(&human);
	free(a);
	return r;
}

#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "ca.h"
#include "err.h"
#include "krl.h"
#include "krl_export.h"
#include "log.h"
#include "b64.h"
#include "buf.h"
#include "store_revoked_key.h"
#include "store_static_key.h"

/* A revoked certificate is listed by serial under the CA that signed it.
 * One whose CA is no longer trusted needs no entry: sshd refuses it anyway. */
static int add_revoked_certs(struct nhi_broker *b, struct nhi_krl *krl)
{
	struct nhi_cert_record *certs = NULL;
	size_t n = 0, skipped = 0;
	int r;

	if ((r = nhi_store_cert_list(b->store, NULL, NHI_CERT_LIST_REVOKED, &certs, &n)) < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		const struct nhi_key *ca = nhi_ca_set_find(b->ca, certs[i].ca_fp);

		if (ca == NULL || certs[i].serial == 0) {
			skipped++;
			continue;
		}
		if ((r = nhi_krl_revoke_serial(krl, ca, certs[i].serial)) < 0)
			goto out;
	}
	if (skipped > 0)
		nhi_log_debug("KRL: %zu revoked certificates of CAs no longer trusted", skipped);
	r = 0;
out:
	nhi_cert_record_list_free(certs, n);
	return r;
}

/* Lists a key by the SHA-256 hash of its blob, which its fingerprint
 * carries: the store keeps fingerprints, not keys. A malformed fingerprint
 * is logged and skipped, so one bad row cannot keep the rest out. */
static int revoke_fingerprint(struct nhi_krl *krl, const char *what, const char *fingerprint)
{
	struct nhi_buf *hash = NULL;
	char padded[64];
	int r;

	if (strncmp(fingerprint, "SHA256:", 7) != 0 || strlen(fingerprint) != 7 + 43) {
		nhi_log_warning("KRL: %s %s: not a SHA256 fingerprint", what, fingerprint);
		return 0;
	}
	snprintf(padded, sizeof(padded), "%s=", fingerprint + 7);
	if ((hash = nhi_buf_new()) == NULL)
		return NHI_ERR_ALLOC;
	if (nhi_b64_decode(padded, strlen(padded), hash) < 0 ||
	    nhi_buf_len(hash) != NHI_SHA256_BYTES) {
		nhi_log_warning("KRL: %s %s: bad fingerprint", what, fingerprint);
		r = 0;
	} else {
		r = nhi_krl_revoke_sha256(krl, nhi_buf_ptr(hash));
	}
	nhi_buf_free(hash);
	return r;
}

/* A retired static key is listed unless it is enrolled as a device key. */
static int add_retired_static_keys(struct nhi_broker *b, struct nhi_krl *krl)
{
	struct nhi_static_key *keys = NULL;
	size_t n = 0;
	int r;

	if ((r = nhi_store_static_key_list(b->store, NULL, NULL, &keys, &n)) < 0)
		return r;
	for (size_t i = 0; i < n && r == 0; i++) {
		struct nhi_device_key dk = {0};
		bool device_key;

		if (keys[i].state == NULL || strcmp(keys[i].state, "retired") != 0)
			continue;
		/* RevokedKeys is host-wide: a key enrolled as a device key must
		 * keep working for its engineer, whatever file it was also in. */
		device_key = nhi_store_device_key_get(b->store, keys[i].fingerprint, &dk) == 0 &&
		             !dk.revoked;
		nhi_device_key_clear(&dk);
		if (!device_key)
			r = revoke_fingerprint(krl, "static key", keys[i].fingerprint);
	}
	nhi_static_key_list_free(keys, n);
	return r;
}

/* A key an administrator revoked is listed whatever else it is: the
 * revocation was about this key. */
static int add_revoked_keys(struct nhi_broker *b, struct nhi_krl *krl)
{
	char **fps = NULL;
	size_t n = 0;
	int r;

	if ((r = nhi_store_revoked_key_list(b->store, &fps, &n)) < 0)
		return r;
	for (size_t i = 0; i < n && r == 0; i++)
		r = revoke_fingerprint(krl, "revoked key", fps[i]);
	nhi_strv_free(fps, n);
	return r;
}

int nhi_krl_export(struct nhi_broker *b)
{
	struct nhi_krl *krl = nhi_krl_new();
	char *path = nhi_broker_path(b, NHI_KRL_NAME);
	uint64_t now = nhi_broker_now();
	int r;

	if (krl == NULL || path == NULL) {
		r = NHI_ERR_ALLOC;
		goto out;
	}
	/* The version only grows, so a reader can tell the newer of two KRLs. */
	nhi_krl_set_version(krl, now);
	nhi_krl_set_generated(krl, now);
	if ((r = nhi_krl_set_comment(krl, "nhi revoked certificates")) < 0 ||
	    (r = add_revoked_certs(b, krl)) < 0 || (r = add_retired_static_keys(b, krl)) < 0 ||
	    (r = add_revoked_keys(b, krl)) < 0 || (r = nhi_krl_write_file(krl, path)) < 0)
		goto out;
	r = 0;
out:
	nhi_krl_free(krl);
	free(path);
	return r;
}

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

/* A retired static key (unless enrolled as a device key) is listed by the SHA-256 hash of its blob,
 * which its fingerprint carries: the store keeps the fingerprint, not the key. */
static int add_retired_static_keys(struct nhi_broker *b, struct nhi_krl *krl)
{
	struct nhi_static_key *keys = NULL;
	struct nhi_buf *hash = NULL;
	char padded[64];
	size_t n = 0;
	int r;

	if ((r = nhi_store_static_key_list(b->store, NULL, NULL, &keys, &n)) < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		struct nhi_device_key dk = {0};
		bool device_key;

		if (keys[i].state == NULL || strcmp(keys[i].state, "retired") != 0)
			continue;
		/* RevokedKeys is host-wide: a key enrolled as a device key must
		 * keep working for its engineer, whatever file it was also in. */
		device_key = nhi_store_device_key_get(b->store, keys[i].fingerprint, &dk) == 0 &&
		             !dk.revoked;
		nhi_device_key_clear(&dk);
		if (device_key)
			continue;
		if (strncmp(keys[i].fingerprint, "SHA256:", 7) != 0 ||
		    strlen(keys[i].fingerprint) != 7 + 43) {
			nhi_log_warning("KRL: static key %s: not a SHA256 fingerprint",
			                keys[i].fingerprint);
			continue;
		}
		snprintf(padded, sizeof(padded), "%s=", keys[i].fingerprint + 7);
		nhi_buf_free(hash);
		if ((hash = nhi_buf_new()) == NULL) {
			r = NHI_ERR_ALLOC;
			goto out;
		}
		if ((r = nhi_b64_decode(padded, strlen(padded), hash)) < 0 ||
		    nhi_buf_len(hash) != NHI_SHA256_BYTES) {
			nhi_log_warning("KRL: static key %s: bad fingerprint", keys[i].fingerprint);
			continue;
		}
		if ((r = nhi_krl_revoke_sha256(krl, nhi_buf_ptr(hash))) < 0)
			goto out;
	}
	r = 0;
out:
	nhi_buf_free(hash);
	nhi_static_key_list_free(keys, n);
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
	    (r = nhi_krl_write_file(krl, path)) < 0)
		goto out;
	r = 0;
out:
	nhi_krl_free(krl);
	free(path);
	return r;
}

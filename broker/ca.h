/* The user CA: the key that signs, and the older public keys sshd must keep
 * trusting until the last certificate they signed has expired.
 *
 * The private key is <state_dir>/user_ca (0600), or user_ca from
 * $CREDENTIALS_DIRECTORY when systemd provides it; it is generated on first
 * start. Every trusted public key is written to <state_dir>/user_ca.pub,
 * which sshd's TrustedUserCAKeys reads. */
#ifndef NHI_CA_H
#define NHI_CA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cakey.h"
#include "sshkey.h"

struct nhi_broker;
struct nhi_ca_set;

/* Loads (or creates, audited) the CA and rewrites user_ca.pub. */
int nhi_ca_set_open(struct nhi_broker *b, struct nhi_ca_set **ret_ca);
void nhi_ca_set_free(struct nhi_ca_set *ca);
const struct nhi_ca_key *nhi_ca_set_signer(const struct nhi_ca_set *ca);
/* "SHA256:..." of the signing key. */
const char *nhi_ca_set_fingerprint(const struct nhi_ca_set *ca);

/* One public key sshd must trust: the current one (trusted_until 0) or a
 * retired one, until the last certificate it signed expires. */
struct nhi_ca_trusted {
	struct nhi_key *key;
	char fingerprint[NHI_FINGERPRINT_MAX];
	char *text; /* the authorized_keys form, as in user_ca.pub */
	uint64_t trusted_until;
	bool current;
};
/* Every trusted key, the current one first. */
size_t nhi_ca_set_count(const struct nhi_ca_set *ca);
const struct nhi_ca_trusted *nhi_ca_set_get(const struct nhi_ca_set *ca, size_t i);
/* The trusted public key with this fingerprint; NULL when none. */
const struct nhi_key *nhi_ca_set_find(const struct nhi_ca_set *ca, const char *fingerprint);

/* Retired keys live in the store meta under this key, one per line:
 * "<trusted_until>\t<public key text>". */
#define NHI_CA_META_RETIRED "ca.retired"

/* Replaces the signing key with a new one and keeps the old public key
 * trusted until the last unexpired certificate it signed expires (at least
 * until now). Joins the caller's open transaction for the store meta and
 * the "ca-change" audit record, then writes the private key and
 * user_ca.pub. NHI_ERR_FILE_UNSAFE when the key comes from systemd
 * credentials, which the broker cannot rewrite. */
int nhi_ca_set_rotate(struct nhi_broker *b, const char *actor, uint64_t now);
/* Stops trusting retired keys whose last certificate has expired: store,
 * audit and user_ca.pub. Outside any transaction; 0 when nothing expired. */
int nhi_ca_set_prune(struct nhi_broker *b, uint64_t now);
/* Rewrites <state_dir>/user_ca.pub (0644) from the trusted keys. */
int nhi_ca_set_write_pub(struct nhi_broker *b);

#endif

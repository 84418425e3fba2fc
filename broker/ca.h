/* The user CA: the key that signs, and the older public keys sshd must keep
 * trusting until the last certificate they signed has expired.
 *
 * The private key is <state_dir>/user_ca (0600), or user_ca from
 * $CREDENTIALS_DIRECTORY when systemd provides it; it is generated on first
 * start. Every trusted public key is written to <state_dir>/user_ca.pub,
 * which sshd's TrustedUserCAKeys reads. */
#ifndef NHI_CA_H
#define NHI_CA_H

#include <stdint.h>

#include "cakey.h"

struct nhi_broker;
struct nhi_ca_set;

/* Loads (or creates, audited) the CA and rewrites user_ca.pub. */
int nhi_ca_set_open(struct nhi_broker *b, struct nhi_ca_set **ret_ca);
void nhi_ca_set_free(struct nhi_ca_set *ca);
const struct nhi_ca_key *nhi_ca_set_signer(const struct nhi_ca_set *ca);
/* "SHA256:..." of the signing key. */
const char *nhi_ca_set_fingerprint(const struct nhi_ca_set *ca);

#endif

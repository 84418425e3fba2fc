/* The Ed25519 certificate authority key: generated with libsodium, stored
 * in OpenSSH's unencrypted "openssh-key-v1" format (so ssh-keygen -y reads
 * it), kept in locked memory and zeroed on free. */
#ifndef NHI_CAKEY_H
#define NHI_CAKEY_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "sshkey.h"

struct nhi_ca_key;

int nhi_ca_generate(struct nhi_ca_key **ret);
/* Reads a private key file: owned by the current euid (or root), not
 * readable by group or other, not a symlink. */
int nhi_ca_load(const char *path, struct nhi_ca_key **ret);
/* The same from memory (e.g. a systemd credential already read). Only
 * unencrypted Ed25519 keys: a passphrase-protected file gives
 * NHI_ERR_KEY_ENCRYPTED, another key type NHI_ERR_KEY_TYPE_MISMATCH. */
int nhi_ca_from_private_text(const char *text, size_t len, struct nhi_ca_key **ret);
/* Writes the private key atomically with mode 0600. */
int nhi_ca_save(const struct nhi_ca_key *ca, const char *path, const char *comment);
/* *ret holds the secret key: the caller zeroes it before freeing it. */
int nhi_ca_to_private_text(const struct nhi_ca_key *ca, const char *comment, char **ret, size_t *ret_len);
void nhi_ca_free(struct nhi_ca_key *ca);

/* The CA's public key (a new nhi_key the caller frees). */
int nhi_ca_public(const struct nhi_ca_key *ca, struct nhi_key **ret);
/* Appends an SSH signature blob: string "ssh-ed25519", string sig[64]. */
int nhi_ca_sign(const struct nhi_ca_key *ca, const uint8_t *data, size_t len, struct nhi_buf *sig_out);

#endif

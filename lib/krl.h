/* OpenSSH key revocation lists (PROTOCOL.krl): write and read back.
 * Unsigned (OpenSSH >= 9.4 refuses signed KRLs). */
#ifndef NHI_KRL_H
#define NHI_KRL_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "cert.h"
#include "sshkey.h"

#define NHI_KRL_MAGIC 0x5353484b524c0a00ULL
#define NHI_KRL_FORMAT_VERSION 1u
/* Caps on what one KRL may hold (serial ranges, key ids, keys and hashes
 * together; distinct CAs): more gives NHI_ERR_TOO_MANY. */
#define NHI_KRL_ENTRIES_MAX (1u << 21)
#define NHI_KRL_CAS_MAX 256u

struct nhi_krl;

struct nhi_krl *nhi_krl_new(void);
void nhi_krl_free(struct nhi_krl *krl);
void nhi_krl_set_version(struct nhi_krl *krl, uint64_t version);
void nhi_krl_set_generated(struct nhi_krl *krl, uint64_t unix_time);
int nhi_krl_set_comment(struct nhi_krl *krl, const char *comment);
uint64_t nhi_krl_version(const struct nhi_krl *krl);
uint64_t nhi_krl_generated(const struct nhi_krl *krl);
const char *nhi_krl_comment(const struct nhi_krl *krl);

/* Certificates by CA (NULL: any CA). Serial 0 is not revocable by serial. */
int nhi_krl_revoke_serial(struct nhi_krl *krl, const struct nhi_key *ca, uint64_t serial);
int nhi_krl_revoke_serial_range(struct nhi_krl *krl, const struct nhi_key *ca, uint64_t lo, uint64_t hi);
int nhi_krl_revoke_key_id(struct nhi_krl *krl, const struct nhi_key *ca, const char *key_id);
/* Plain keys, explicitly (whole blob) or by SHA-256 of the blob. */
int nhi_krl_revoke_key(struct nhi_krl *krl, const struct nhi_key *key);
int nhi_krl_revoke_sha256(struct nhi_krl *krl, const uint8_t hash[NHI_SHA256_BYTES]);

/* Serializes: serials merged into the most compact form of lists and
 * ranges, sections and their contents in the order ssh-keygen expects. */
int nhi_krl_to_blob(const struct nhi_krl *krl, struct nhi_buf *out);
/* Reading refuses a signature section (sshd >= 9.4 will not load a signed
 * KRL), unknown sections, critical extensions, serial 0 and trailing bytes;
 * it tolerates duplicates, overlaps and unsorted entries. SHA-1 entries are
 * kept and written back, never created. */
int nhi_krl_from_blob(const uint8_t *blob, size_t len, struct nhi_krl **ret);
/* Writes atomically, world-readable (sshd reads it as root, helpers too). */
int nhi_krl_write_file(const struct nhi_krl *krl, const char *path);

/* 0 when not revoked, NHI_ERR_KEY_REVOKED when it is. A certificate is
 * revoked by its serial, its key id or its subject key. */
int nhi_krl_check_key(const struct nhi_krl *krl, const struct nhi_key *key);
int nhi_krl_check_cert(const struct nhi_krl *krl, const struct nhi_cert *cert);

#endif

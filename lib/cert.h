/* OpenSSH certificates (PROTOCOL.certkeys): build and sign with an Ed25519
 * CA, parse any -cert-v01 blob, verify its signature and check it. */
#ifndef NHI_CERT_H
#define NHI_CERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "cakey.h"
#include "sshkey.h"

#define NHI_CERT_TYPE_USER 1u
#define NHI_CERT_TYPE_HOST 2u
#define NHI_CERT_PRINCIPALS_MAX 256u
#define NHI_CERT_OPTIONS_MAX 64u
/* CA signatures are checked by nhi_key_verify, so the CA may be any key
 * type it accepts (ed25519, ecdsa, rsa-sha2-*); a certificate cannot be a CA. */

struct nhi_cert_option {
	char *name;
	uint8_t *value; /* the inner string's contents; NULL/0 for a flag */
	size_t value_len;
};

struct nhi_cert {
	struct nhi_key *key;            /* the certified (subject) key */
	uint8_t *nonce;
	size_t nonce_len;
	uint64_t serial;
	uint32_t type;                  /* NHI_CERT_TYPE_USER or _HOST */
	char *key_id;
	char **principals;
	size_t n_principals;
	uint64_t valid_after, valid_before; /* valid when after <= now < before */
	struct nhi_cert_option *critical;   /* kept sorted by name */
	size_t n_critical;
	struct nhi_cert_option *extensions; /* kept sorted by name */
	size_t n_extensions;
	struct nhi_key *signature_key;  /* the CA; set by sign or parse */
	struct nhi_buf *blob;           /* the whole signed blob; set by sign or parse */
	size_t signed_len;              /* bytes of blob covered by the signature */
};

/* An empty certificate (type user, no principals, no options). */
struct nhi_cert *nhi_cert_new(void);
void nhi_cert_free(struct nhi_cert *cert);

int nhi_cert_set_key(struct nhi_cert *cert, const struct nhi_key *subject);
int nhi_cert_set_key_id(struct nhi_cert *cert, const char *key_id);
int nhi_cert_add_principal(struct nhi_cert *cert, const char *principal);
/* Adds or replaces; value NULL is a flag (empty data). Kept in canonical order. */
int nhi_cert_set_critical(struct nhi_cert *cert, const char *name, const char *value);
int nhi_cert_set_extension(struct nhi_cert *cert, const char *name, const char *value);
/* The five permit-* extensions ssh-keygen adds by default. */
int nhi_cert_set_default_extensions(struct nhi_cert *cert);
const struct nhi_cert_option *nhi_cert_find_critical(const struct nhi_cert *cert, const char *name);
const struct nhi_cert_option *nhi_cert_find_extension(const struct nhi_cert *cert, const char *name);

/* Fills a random 32-byte nonce and the CA key, serializes, signs with
 * the CA and stores the blob. Needs a subject key (never DSA) and
 * valid_after < valid_before (UINT64_MAX is "forever"). Any setter called
 * afterwards drops the blob until the next sign. */
int nhi_cert_sign(struct nhi_cert *cert, const struct nhi_ca_key *ca);

/* Appends the signed blob. */
int nhi_cert_to_blob(const struct nhi_cert *cert, struct nhi_buf *out);
/* "TYPE-cert-v01@openssh.com BASE64[ COMMENT]", heap-allocated, no newline. */
int nhi_cert_to_text(const struct nhi_cert *cert, const char *comment, char **ret);

/* Parses a blob; the signature is not checked here, but its structure is:
 * the whole blob consumed, at most NHI_CERT_PRINCIPALS_MAX principals and
 * NHI_CERT_OPTIONS_MAX options per list (NHI_ERR_TOO_MANY), option names
 * unique and sorted (NHI_ERR_CERT_OPTIONS), a plain signature key
 * (NHI_ERR_KEY_IS_CERT otherwise). */
int nhi_cert_from_blob(const uint8_t *blob, size_t len, struct nhi_cert **ret);
int nhi_cert_from_text(const char *text, struct nhi_cert **ret, char **ret_comment);

/* Verifies the CA signature over the signed part. */
int nhi_cert_verify_signature(const struct nhi_cert *cert);
/* What sshd checks for a user certificate: signature valid, signed by
 * trusted_ca (NULL: any), type user, principal listed (NULL: skip), now
 * within validity, no unknown or malformed critical options.
 * Errors: NHI_ERR_CERT_WRONG_CA, NHI_ERR_KEY_REFUSED (policy refuses the CA
 * or subject key), NHI_ERR_SIGNATURE_INVALID, NHI_ERR_KEY_TYPE_MISMATCH (a
 * host certificate), NHI_ERR_CERT_NOT_YET_VALID, NHI_ERR_CERT_EXPIRED,
 * NHI_ERR_CERT_PRINCIPAL (also for an empty list when principal is given,
 * as sshd does), NHI_ERR_CERT_OPTIONS. source-address is checked for form
 * only: matching it against the client address is the caller's job. */
int nhi_cert_check_user(const struct nhi_cert *cert, const struct nhi_key *trusted_ca,
			const char *principal, uint64_t now);

#endif

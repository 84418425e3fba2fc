/* OpenSSH public keys: wire blobs, authorized_keys text, fingerprints,
 * sizes and the algorithm policy. Crypto layer: sshkey.c needs libsodium,
 * sshkey_curve.c (the EC curve check and the parsers that run it) and
 * sshkey_verify.c (signatures) need libcrypto too. */
#ifndef NHI_SSHKEY_H
#define NHI_SSHKEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

enum nhi_key_type {
	NHI_KEY_UNKNOWN = 0,
	NHI_KEY_ED25519,
	NHI_KEY_ECDSA_P256,
	NHI_KEY_ECDSA_P384,
	NHI_KEY_ECDSA_P521,
	NHI_KEY_RSA,
	NHI_KEY_SK_ED25519,
	NHI_KEY_SK_ECDSA_P256,
	NHI_KEY_DSA, /* parsed so that discovery can report it; always refused */
};

#define NHI_ED25519_PK_BYTES 32u
/* "SHA256:" + 43 base64 characters (no padding) + NUL */
#define NHI_FINGERPRINT_MAX 51u
#define NHI_SHA256_BYTES 32u
/* The longest key text line accepted (sshd's SSH_MAX_PUBKEY_BYTES is 16 KiB). */
#define NHI_KEY_TEXT_MAX 16384u

/* A plain public key. Numbers are unsigned big-endian without leading
 * zeros; an EC point is the uncompressed SEC1 encoding. */
struct nhi_key {
	enum nhi_key_type type;
	uint8_t ed25519_pk[NHI_ED25519_PK_BYTES]; /* ED25519, SK_ED25519 */
	uint8_t *ec_point;                        /* ECDSA_*, SK_ECDSA_P256 */
	size_t ec_point_len;
	uint8_t *rsa_e, *rsa_n;                   /* RSA */
	size_t rsa_e_len, rsa_n_len;
	uint8_t *dsa_p, *dsa_q, *dsa_g, *dsa_y;   /* DSA */
	size_t dsa_p_len, dsa_q_len, dsa_g_len, dsa_y_len;
	char *sk_application;                     /* SK_*: e.g. "ssh:" */
};

/* The wire name of a plain key type ("ssh-ed25519"), or of its certificate
 * form ("ssh-ed25519-cert-v01@openssh.com"); NULL for NHI_KEY_UNKNOWN. */
const char *nhi_key_type_name(enum nhi_key_type type);
const char *nhi_key_cert_type_name(enum nhi_key_type type);
/* Maps a wire name to its type; *ret_is_cert tells the -cert-v01 forms. */
enum nhi_key_type nhi_key_type_from_name(const char *name, bool *ret_is_cert);
/* The ECDSA curve name for the blob ("nistp256"), NULL for other types. */
const char *nhi_key_curve_name(enum nhi_key_type type);

void nhi_key_free(struct nhi_key *key);
int nhi_key_dup(const struct nhi_key *key, struct nhi_key **ret);
bool nhi_key_equal(const struct nhi_key *a, const struct nhi_key *b);

/* A plain key from its blob; the whole blob must be consumed. A certificate
 * blob gives NHI_ERR_KEY_IS_CERT. Every field is checked, an ECDSA point
 * on its curve included. */
int nhi_key_from_blob(const uint8_t *blob, size_t len, struct nhi_key **ret);
/* The type-specific public fields that follow the type name (in a plain
 * blob, or inside a certificate after the nonce). */
int nhi_key_get_pubfields(struct nhi_buf *b, enum nhi_key_type type, struct nhi_key **ret);
int nhi_key_put_pubfields(struct nhi_buf *b, const struct nhi_key *key);
/* Appends the plain blob (type name, then public fields). */
int nhi_key_to_blob(const struct nhi_key *key, struct nhi_buf *out);

/* "TYPE BASE64 [COMMENT]" as in a .pub file (leading/trailing blanks
 * ignored); the type name must match the blob. ret_comment may be NULL;
 * it is set to NULL when there is no comment. */
int nhi_key_from_text(const char *text, struct nhi_key **ret, char **ret_comment);
/* 0 when key is not ECDSA or its point lies on its curve (and is not the
 * point at infinity); NHI_ERR_KEY_INVALID when not; NHI_ERR_CRYPTO when
 * libcrypto fails. */
int nhi_key_check_curve(const struct nhi_key *key);

/* The same three parsers without the curve check, the only one that needs
 * libcrypto. For a key that is only ever compared, with nhi_key_equal, with
 * a key someone already checked in full, so that the comparison decides
 * alone: a point off its curve equals no checked key. nhi-authorized-keys
 * uses them (sshd checked the key it offers; a line is printed only when
 * it holds exactly that key) to start without libcrypto. Never enrol,
 * record, sign for or verify with a key parsed here. */
int nhi_key_from_blob_for_match(const uint8_t *blob, size_t len, struct nhi_key **ret);
int nhi_key_get_pubfields_for_match(struct nhi_buf *b, enum nhi_key_type type,
                                    struct nhi_key **ret);
int nhi_key_from_text_for_match(const char *text, struct nhi_key **ret, char **ret_comment);

/* "TYPE BASE64[ COMMENT]" without a newline, heap-allocated. */
int nhi_key_to_text(const struct nhi_key *key, const char *comment, char **ret);

/* SHA-256 over the plain blob, raw and as ssh-keygen -lf prints it. */
int nhi_key_fingerprint_raw(const struct nhi_key *key, uint8_t out[NHI_SHA256_BYTES]);
int nhi_key_fingerprint(const struct nhi_key *key, char out[NHI_FINGERPRINT_MAX]);

/* Size in bits as ssh-keygen reports it (256 for ed25519, the modulus for RSA). */
unsigned nhi_key_bits(const struct nhi_key *key);

enum nhi_key_verdict {
	NHI_KEY_ACCEPTABLE = 0,
	NHI_KEY_WEAK,    /* allowed where policy tolerates it, always flagged */
	NHI_KEY_REFUSED, /* never issued to, never enrolled */
};
/* The algorithm policy: DSA refused, RSA < 2048 refused, RSA < 3072 weak,
 * everything else acceptable. *ret_reason (may be NULL) is a static text. */
enum nhi_key_verdict nhi_key_policy(const struct nhi_key *key, const char **ret_reason);

/* Verifies an SSH signature blob (string alg, string sig) over data with
 * key: ssh-ed25519, ecdsa-sha2-*, rsa-sha2-256/512 (ssh-rsa SHA-1 refused),
 * and the sk- forms (flags and counter per PROTOCOL.u2f, user presence
 * required). 0 when valid; NHI_ERR_SIGNATURE_INVALID for a wrong signature
 * or algorithm, NHI_ERR_INVALID_FORMAT for a malformed blob, and
 * NHI_ERR_KEY_REFUSED for DSA, RSA under 2048 bits and ssh-rsa (SHA-1). */
int nhi_key_verify(const struct nhi_key *key, const uint8_t *sig, size_t siglen,
		   const uint8_t *data, size_t datalen);

#endif

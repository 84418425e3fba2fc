/* SSH_AUTH_INFO_0, as sshd's ExposeAuthInfo puts it into the PAM
 * environment: one line per successful authentication method, for public
 * keys `publickey <type> <base64 key or certificate>`. Libc only: parsed in
 * the module without the crypto layer, every length checked. The broker,
 * not this parser, decides what a credential is worth. */
#ifndef NHI_PAM_AUTHINFO_H
#define NHI_PAM_AUTHINFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NHI_AUTHINFO_TEXT_MAX   (64u * 1024u) /* the whole variable */
#define NHI_AUTHINFO_BLOB_MAX   (16u * 1024u) /* one decoded key or certificate */
#define NHI_AUTHINFO_TYPE_MAX   64u
#define NHI_AUTHINFO_METHOD_MAX 32u
#define NHI_AUTHINFO_KEY_ID_MAX 256u

struct nhi_authinfo {
	char method[NHI_AUTHINFO_METHOD_MAX + 1]; /* "publickey", "password", ...; "" if none */
	char key_type[NHI_AUTHINFO_TYPE_MAX + 1]; /* the line's key type; "" if not publickey */
	bool is_cert;
	uint64_t cert_serial;
	char cert_key_id[NHI_AUTHINFO_KEY_ID_MAX + 1];
	uint8_t *key_blob; /* the decoded key or certificate blob */
	size_t key_blob_len;
};

void nhi_authinfo_init(struct nhi_authinfo *ai);
void nhi_authinfo_clear(struct nhi_authinfo *ai);

/* Parses text (NULL or "": no method). The first publickey line is the
 * credential; without one, method is the first line's method. Fails with
 * NHI_ERR_INVALID_FORMAT, NHI_ERR_BASE64, NHI_ERR_LINE_TOO_LONG or
 * NHI_ERR_KEY_TYPE_MISMATCH (a line type that disagrees with its blob);
 * ret is untouched on failure. */
int nhi_authinfo_parse(const char *text, struct nhi_authinfo *ret);

/* Strict base64 (RFC 4648, padding required) into out (outlen bytes). */
int nhi_authinfo_b64_decode(const char *text, size_t len, uint8_t *out, size_t outlen,
                            size_t *ret_len);

#endif

#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "authinfo.h"
#include "buf.h"
#include "err.h"

#define CERT_SUFFIX "-cert-v01@openssh.com"

void nhi_authinfo_init(struct nhi_authinfo *ai)
{
	memset(ai, 0, sizeof(*ai));
}

void nhi_authinfo_clear(struct nhi_authinfo *ai)
{
	if (ai == NULL)
		return;
	free(ai->key_blob);
	nhi_authinfo_init(ai);
}

static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int nhi_authinfo_b64_decode(const char *text, size_t len, uint8_t *out, size_t outlen,
                            size_t *ret_len)
{
	size_t n = 0;

	if (len == 0 || len % 4 != 0)
		return NHI_ERR_BASE64;
	for (size_t i = 0; i < len; i += 4) {
		int v[4];
		size_t pad = 0;

		for (size_t j = 0; j < 4; j++) {
			unsigned char c = (unsigned char)text[i + j];

			/* '=' only in the last two places of the last quantum. */
			if (c == '=' && i + 4 == len && j >= 2 && (j == 3 || text[i + 3] == '=')) {
				v[j] = 0;
				pad++;
			} else if ((v[j] = b64_value(c)) < 0) {
				return NHI_ERR_BASE64;
			}
		}
		if (n + 3 - pad > outlen)
			return NHI_ERR_TOO_MANY;
		out[n++] = (uint8_t)(v[0] << 2 | v[1] >> 4);
		if (pad < 2)
			out[n++] = (uint8_t)((v[1] & 0xf) << 4 | v[2] >> 2);
		if (pad < 1)
			out[n++] = (uint8_t)((v[2] & 0x3) << 6 | v[3]);
	}
	*ret_len = n;
	return 0;
}

/* How many wire strings (mpints included) hold the public key of a
 * certificate of this type; 0 when the type is not known. */
static size_t cert_key_fields(const char *type)
{
	static const struct {
		const char *type;
		size_t fields;
	} types[] = {
	        {"ssh-ed25519-cert-v01@openssh.com", 1},
	        {"sk-ssh-ed25519-cert-v01@openssh.com", 2},
	        {"ecdsa-sha2-nistp256-cert-v01@openssh.com", 2},
	        {"ecdsa-sha2-nistp384-cert-v01@openssh.com", 2},
	        {"ecdsa-sha2-nistp521-cert-v01@openssh.com", 2},
	        {"sk-ecdsa-sha2-nistp256-cert-v01@openssh.com", 3},
	        {"ssh-rsa-cert-v01@openssh.com", 2},
	        {"rsa-sha2-256-cert-v01@openssh.com", 2},
	        {"rsa-sha2-512-cert-v01@openssh.com", 2},
	        {"ssh-dss-cert-v01@openssh.com", 4},
	};

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		if (strcmp(types[i].type, type) == 0)
			return types[i].fields;
	}
	return 0;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

/* Reads the serial and key id of a certificate blob whose line said
 * line_type. Only the fields before the key id are read; the signature is
 * sshd's business, and it has checked it before this runs. */
static int parse_cert(const uint8_t *blob, size_t len, const char *line_type, uint64_t *ret_serial,
                      char *ret_key_id)
{
	struct nhi_buf *b = nhi_buf_from(blob, len);
	const uint8_t *type, *key_id;
	size_t type_len, key_id_len, fields;
	uint32_t cert_type;
	uint64_t serial;
	int r;

	if (b == NULL)
		return NHI_ERR_ALLOC;
	if ((r = nhi_buf_get_string_direct(b, &type, &type_len)) < 0)
		goto out;
	/* rsa-sha2-* lines carry an ssh-rsa-cert blob: the name is the
	 * signature algorithm, the blob's type is the key's. */
	if (type_len != strlen(line_type) || memcmp(type, line_type, type_len) != 0) {
		bool rsa = type_len == strlen("ssh-rsa-cert-v01@openssh.com") &&
		           memcmp(type, "ssh-rsa-cert-v01@openssh.com", type_len) == 0 &&
		           strncmp(line_type, "rsa-sha2-", 9) == 0;

		if (!rsa) {
			r = NHI_ERR_KEY_TYPE_MISMATCH;
			goto out;
		}
	}
	if ((fields = cert_key_fields(line_type)) == 0) {
		r = NHI_ERR_KEY_TYPE_UNKNOWN;
		goto out;
	}
	/* nonce, then the public key's fields */
	for (size_t i = 0; i < fields + 1; i++) {
		if ((r = nhi_buf_get_string_direct(b, NULL, NULL)) < 0)
			goto out;
	}
	if ((r = nhi_buf_get_u64(b, &serial)) < 0 || (r = nhi_buf_get_u32(b, &cert_type)) < 0 ||
	    (r = nhi_buf_get_string_direct(b, &key_id, &key_id_len)) < 0)
		goto out;
	if (cert_type != 1 || key_id_len > NHI_AUTHINFO_KEY_ID_MAX ||
	    memchr(key_id, '\0', key_id_len) != NULL) {
		r = NHI_ERR_INVALID_FORMAT;
		goto out;
	}
	*ret_serial = serial;
	memcpy(ret_key_id, key_id, key_id_len);
	ret_key_id[key_id_len] = '\0';
	r = 0;
out:
	nhi_buf_free(b);
	return r;
}

/* One `publickey TYPE BASE64` line (without its newline) into ai. */
static int parse_publickey(const char *line, size_t len, struct nhi_authinfo *ai)
{
	const char *type = line, *sp, *b64;
	size_t type_len, b64_len;
	int r;

	if ((sp = memchr(line, ' ', len)) == NULL)
		return NHI_ERR_INVALID_FORMAT;
	type_len = (size_t)(sp - line);
	b64 = sp + 1;
	b64_len = len - type_len - 1;
	/* The key is one word; anything after it is not ours to read. */
	if ((sp = memchr(b64, ' ', b64_len)) != NULL)
		b64_len = (size_t)(sp - b64);
	if (type_len == 0 || type_len > NHI_AUTHINFO_TYPE_MAX)
		return NHI_ERR_INVALID_FORMAT;
	for (size_t i = 0; i < type_len; i++) {
		unsigned char c = (unsigned char)type[i];

		if (c <= ' ' || c >= 0x7f)
			return NHI_ERR_INVALID_FORMAT;
	}
	if (b64_len > NHI_AUTHINFO_BLOB_MAX / 3 * 4 + 4)
		return NHI_ERR_LINE_TOO_LONG;
	if ((ai->key_blob = malloc(b64_len / 4 * 3 + 1)) == NULL)
		return NHI_ERR_ALLOC;
	if ((r = nhi_authinfo_b64_decode(b64, b64_len, ai->key_blob, b64_len / 4 * 3,
	                                 &ai->key_blob_len)) < 0)
		return r;
	memcpy(ai->key_type, type, type_len);
	ai->key_type[type_len] = '\0';
	if (ends_with(ai->key_type, CERT_SUFFIX)) {
		ai->is_cert = true;
		return parse_cert(ai->key_blob, ai->key_blob_len, ai->key_type, &ai->cert_serial,
		                  ai->cert_key_id);
	}
	return 0;
}

int nhi_authinfo_parse(const char *text, struct nhi_authinfo *ret)
{
	struct nhi_authinfo ai;
	const char *p, *end;
	size_t text_len;
	int r = 0;

	nhi_authinfo_init(&ai);
	if (text == NULL)
		goto done;
	if ((text_len = strnlen(text, NHI_AUTHINFO_TEXT_MAX + 1)) > NHI_AUTHINFO_TEXT_MAX)
		return NHI_ERR_LINE_TOO_LONG;
	for (p = text, end = text + text_len; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		const char *sp = memchr(p, ' ', len);
		size_t mlen = sp != NULL ? (size_t)(sp - p) : len;

		if (len == 0) {
			p += 1;
			continue;
		}
		if (mlen == 0 || mlen > NHI_AUTHINFO_METHOD_MAX) {
			r = NHI_ERR_INVALID_FORMAT;
			goto out;
		}
		for (size_t i = 0; i < mlen; i++) {
			unsigned char c = (unsigned char)p[i];

			if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) {
				r = NHI_ERR_INVALID_FORMAT;
				goto out;
			}
		}
		if (mlen == 9 && memcmp(p, "publickey", 9) == 0) {
			if (sp == NULL) {
				r = NHI_ERR_INVALID_FORMAT;
				goto out;
			}
			memcpy(ai.method, p, mlen);
			ai.method[mlen] = '\0';
			if ((r = parse_publickey(sp + 1, len - mlen - 1, &ai)) < 0)
				goto out;
			break;
		}
		if (ai.method[0] == '\0') {
			memcpy(ai.method, p, mlen);
			ai.method[mlen] = '\0';
		}
		p += len + (nl != NULL ? 1 : 0);
	}
done:
	*ret = ai;
	return 0;
out:
	nhi_authinfo_clear(&ai);
	return r;
}

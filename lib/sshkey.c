/* OpenSSH public keys: names, wire blobs, text, fingerprints, sizes and the
 * algorithm policy, with libc and libsodium only. The two jobs that need
 * libcrypto live apart, so that a program that only compares keys does not
 * load it: whether an EC point lies on its curve (sshkey_curve.c, which
 * also holds the parsers that insist on it) and signature verification
 * (sshkey_verify.c). */
#include "config.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "err.h"
#include "sshkey.h"

/* Bounds on what a public key may hold; anything outside is not a key
 * anyone generates, and big numbers cost us time to look at. */
#define RSA_MIN_BITS       1024u
#define RSA_MAX_BITS       16384u
#define RSA_E_MAX_BYTES    8u /* OpenSSL refuses e > 64 bits for big moduli */
#define DSA_P_MAX_BYTES    (16384u / 8u)
#define DSA_Q_MAX_BYTES    32u
#define SK_APPLICATION_MAX 1024u
#define TYPE_NAME_MAX      64u
/* SEC1's first byte of an uncompressed point. */
#define EC_POINT_UNCOMPRESSED 0x04u

struct key_info {
	enum nhi_key_type type;
	const char *name;
	const char *cert_name;
	const char *curve;  /* ECDSA curve name on the wire */
	size_t field_bytes; /* coordinate size of an EC point */
	unsigned bits;      /* fixed size; 0 when it depends on the key */
};

static const struct key_info key_infos[] = {
        {NHI_KEY_ED25519, "ssh-ed25519", "ssh-ed25519-cert-v01@openssh.com", NULL, 0, 256},
        {NHI_KEY_ECDSA_P256, "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp256-cert-v01@openssh.com",
         "nistp256", 32, 256},
        {NHI_KEY_ECDSA_P384, "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp384-cert-v01@openssh.com",
         "nistp384", 48, 384},
        {NHI_KEY_ECDSA_P521, "ecdsa-sha2-nistp521", "ecdsa-sha2-nistp521-cert-v01@openssh.com",
         "nistp521", 66, 521},
        {NHI_KEY_RSA, "ssh-rsa", "ssh-rsa-cert-v01@openssh.com", NULL, 0, 0},
        {NHI_KEY_SK_ED25519, "sk-ssh-ed25519@openssh.com", "sk-ssh-ed25519-cert-v01@openssh.com",
         NULL, 0, 256},
        {NHI_KEY_SK_ECDSA_P256, "sk-ecdsa-sha2-nistp256@openssh.com",
         "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com", "nistp256", 32, 256},
        {NHI_KEY_DSA, "ssh-dss", "ssh-dss-cert-v01@openssh.com", NULL, 0, 0},
};

static const struct key_info *key_info_of(enum nhi_key_type type)
{
	size_t i;

	for (i = 0; i < sizeof(key_infos) / sizeof(key_infos[0]); i++)
		if (key_infos[i].type == type)
			return &key_infos[i];
	return NULL;
}

static bool is_ecdsa(enum nhi_key_type type)
{
	return type == NHI_KEY_ECDSA_P256 || type == NHI_KEY_ECDSA_P384 ||
	       type == NHI_KEY_ECDSA_P521 || type == NHI_KEY_SK_ECDSA_P256;
}

static bool is_sk(enum nhi_key_type type)
{
	return type == NHI_KEY_SK_ED25519 || type == NHI_KEY_SK_ECDSA_P256;
}

const char *nhi_key_type_name(enum nhi_key_type type)
{
	const struct key_info *ki = key_info_of(type);

	return ki == NULL ? NULL : ki->name;
}

const char *nhi_key_cert_type_name(enum nhi_key_type type)
{
	const struct key_info *ki = key_info_of(type);

	return ki == NULL ? NULL : ki->cert_name;
}

/* Names come off the wire as counted bytes; a NUL inside never matches. */
static enum nhi_key_type type_from_bytes(const uint8_t *name, size_t len, bool *ret_is_cert)
{
	size_t i;

	for (i = 0; i < sizeof(key_infos) / sizeof(key_infos[0]); i++) {
		const struct key_info *ki = &key_infos[i];

		if (strlen(ki->name) == len && memcmp(ki->name, name, len) == 0) {
			if (ret_is_cert != NULL)
				*ret_is_cert = false;
			return ki->type;
		}
		if (strlen(ki->cert_name) == len && memcmp(ki->cert_name, name, len) == 0) {
			if (ret_is_cert != NULL)
				*ret_is_cert = true;
			return ki->type;
		}
	}
	return NHI_KEY_UNKNOWN;
}

enum nhi_key_type nhi_key_type_from_name(const char *name, bool *ret_is_cert)
{
	if (name == NULL)
		return NHI_KEY_UNKNOWN;
	return type_from_bytes((const uint8_t *)name, strlen(name), ret_is_cert);
}

const char *nhi_key_curve_name(enum nhi_key_type type)
{
	const struct key_info *ki = key_info_of(type);

	return ki == NULL ? NULL : ki->curve;
}

void nhi_key_free(struct nhi_key *key)
{
	if (key == NULL)
		return;
	free(key->ec_point);
	free(key->rsa_e);
	free(key->rsa_n);
	free(key->dsa_p);
	free(key->dsa_q);
	free(key->dsa_g);
	free(key->dsa_y);
	free(key->sk_application);
	explicit_bzero(key, sizeof(*key));
	free(key);
}

/* A heap copy of len bytes (at least one byte allocated, so that an empty
 * number still has a pointer). */
static int dup_bytes(const uint8_t *src, size_t len, uint8_t **ret)
{
	uint8_t *p;

	if ((p = malloc(len == 0 ? 1 : len)) == NULL)
		return NHI_ERR_ALLOC;
	if (len > 0)
		memcpy(p, src, len);
	*ret = p;
	return 0;
}

int nhi_key_dup(const struct nhi_key *key, struct nhi_key **ret)
{
	struct nhi_key *k = NULL;
	int r = NHI_ERR_ALLOC;

	if (key == NULL || ret == NULL || key_info_of(key->type) == NULL)
		return NHI_ERR_INVALID_ARGUMENT;
	if ((k = calloc(1, sizeof(*k))) == NULL)
		return NHI_ERR_ALLOC;
	k->type = key->type;
	memcpy(k->ed25519_pk, key->ed25519_pk, sizeof(k->ed25519_pk));
	if ((key->ec_point != NULL &&
	     dup_bytes(key->ec_point, key->ec_point_len, &k->ec_point) < 0) ||
	    (key->rsa_e != NULL && dup_bytes(key->rsa_e, key->rsa_e_len, &k->rsa_e) < 0) ||
	    (key->rsa_n != NULL && dup_bytes(key->rsa_n, key->rsa_n_len, &k->rsa_n) < 0) ||
	    (key->dsa_p != NULL && dup_bytes(key->dsa_p, key->dsa_p_len, &k->dsa_p) < 0) ||
	    (key->dsa_q != NULL && dup_bytes(key->dsa_q, key->dsa_q_len, &k->dsa_q) < 0) ||
	    (key->dsa_g != NULL && dup_bytes(key->dsa_g, key->dsa_g_len, &k->dsa_g) < 0) ||
	    (key->dsa_y != NULL && dup_bytes(key->dsa_y, key->dsa_y_len, &k->dsa_y) < 0) ||
	    (key->sk_application != NULL &&
	     (k->sk_application = strdup(key->sk_application)) == NULL))
		goto out;
	k->ec_point_len = key->ec_point_len;
	k->rsa_e_len = key->rsa_e_len;
	k->rsa_n_len = key->rsa_n_len;
	k->dsa_p_len = key->dsa_p_len;
	k->dsa_q_len = key->dsa_q_len;
	k->dsa_g_len = key->dsa_g_len;
	k->dsa_y_len = key->dsa_y_len;
	*ret = k;
	k = NULL;
	r = 0;
out:
	nhi_key_free(k);
	return r;
}

static bool bytes_equal(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	if (alen != blen || (a == NULL) != (b == NULL))
		return false;
	return alen == 0 || memcmp(a, b, alen) == 0;
}

bool nhi_key_equal(const struct nhi_key *a, const struct nhi_key *b)
{
	if (a == NULL || b == NULL || a->type != b->type)
		return false;
	switch (a->type) {
	case NHI_KEY_ED25519:
		return memcmp(a->ed25519_pk, b->ed25519_pk, NHI_ED25519_PK_BYTES) == 0;
	case NHI_KEY_SK_ED25519:
		return memcmp(a->ed25519_pk, b->ed25519_pk, NHI_ED25519_PK_BYTES) == 0 &&
		       a->sk_application != NULL && b->sk_application != NULL &&
		       strcmp(a->sk_application, b->sk_application) == 0;
	case NHI_KEY_ECDSA_P256:
	case NHI_KEY_ECDSA_P384:
	case NHI_KEY_ECDSA_P521:
		return bytes_equal(a->ec_point, a->ec_point_len, b->ec_point, b->ec_point_len);
	case NHI_KEY_SK_ECDSA_P256:
		return bytes_equal(a->ec_point, a->ec_point_len, b->ec_point, b->ec_point_len) &&
		       a->sk_application != NULL && b->sk_application != NULL &&
		       strcmp(a->sk_application, b->sk_application) == 0;
	case NHI_KEY_RSA:
		return bytes_equal(a->rsa_e, a->rsa_e_len, b->rsa_e, b->rsa_e_len) &&
		       bytes_equal(a->rsa_n, a->rsa_n_len, b->rsa_n, b->rsa_n_len);
	case NHI_KEY_DSA:
		return bytes_equal(a->dsa_p, a->dsa_p_len, b->dsa_p, b->dsa_p_len) &&
		       bytes_equal(a->dsa_q, a->dsa_q_len, b->dsa_q, b->dsa_q_len) &&
		       bytes_equal(a->dsa_g, a->dsa_g_len, b->dsa_g, b->dsa_g_len) &&
		       bytes_equal(a->dsa_y, a->dsa_y_len, b->dsa_y, b->dsa_y_len);
	case NHI_KEY_UNKNOWN:
		break;
	}
	return false;
}

/* Bits in an unsigned big-endian number without leading zeros. */
static unsigned bignum_bits(const uint8_t *p, size_t len)
{
	unsigned bits;
	uint8_t top;

	if (p == NULL || len == 0)
		return 0;
	top = p[0];
	bits = (unsigned)(len - 1) * 8u;
	while (top != 0) {
		bits++;
		top >>= 1;
	}
	return bits;
}

/* An uncompressed SEC1 point of the curve's size. Whether it lies on the
 * curve is nhi_key_check_curve's question (sshkey_curve.c). */
static int ec_point_shape_check(const struct key_info *ki, const uint8_t *p, size_t len)
{
	if (len != 1 + 2 * ki->field_bytes || p[0] != EC_POINT_UNCOMPRESSED)
		return NHI_ERR_KEY_INVALID;
	return 0;
}

static int get_bignum(struct nhi_buf *b, size_t max_bytes, uint8_t **ret, size_t *ret_len)
{
	const uint8_t *p;
	size_t len;
	int r;

	if ((r = nhi_buf_get_bignum2_bytes_direct(b, &p, &len)) < 0)
		return r;
	if (len > max_bytes)
		return NHI_ERR_BIGNUM_TOO_LARGE;
	if (len == 0)
		return NHI_ERR_KEY_INVALID; /* no key component may be zero */
	if ((r = dup_bytes(p, len, ret)) < 0)
		return r;
	*ret_len = len;
	return 0;
}

static int get_ed25519_pk(struct nhi_buf *b, struct nhi_key *k)
{
	const uint8_t *p;
	size_t len;
	int r;

	if ((r = nhi_buf_get_string_direct(b, &p, &len)) < 0)
		return r;
	if (len != NHI_ED25519_PK_BYTES)
		return NHI_ERR_KEY_INVALID;
	memcpy(k->ed25519_pk, p, len);
	return 0;
}

static int get_ecdsa(struct nhi_buf *b, const struct key_info *ki, struct nhi_key *k)
{
	const uint8_t *p;
	size_t len;
	int r;

	if ((r = nhi_buf_get_string_direct(b, &p, &len)) < 0)
		return r;
	if (len != strlen(ki->curve) || memcmp(p, ki->curve, len) != 0)
		return NHI_ERR_KEY_TYPE_MISMATCH;
	if ((r = nhi_buf_get_string_direct(b, &p, &len)) < 0 ||
	    (r = ec_point_shape_check(ki, p, len)) < 0 || (r = dup_bytes(p, len, &k->ec_point)) < 0)
		return r;
	k->ec_point_len = len;
	return 0;
}

static int get_sk_application(struct nhi_buf *b, struct nhi_key *k)
{
	size_t len;
	int r;

	if ((r = nhi_buf_get_cstring(b, &k->sk_application, &len)) < 0)
		return r;
	if (len > SK_APPLICATION_MAX)
		return NHI_ERR_STRING_TOO_LARGE;
	return 0;
}

static int get_rsa(struct nhi_buf *b, struct nhi_key *k)
{
	unsigned bits;
	int r;

	if ((r = get_bignum(b, RSA_E_MAX_BYTES, &k->rsa_e, &k->rsa_e_len)) < 0 ||
	    (r = get_bignum(b, RSA_MAX_BITS / 8, &k->rsa_n, &k->rsa_n_len)) < 0)
		return r;
	/* An even or tiny exponent, or an even modulus, is no RSA key. */
	if ((k->rsa_e[k->rsa_e_len - 1] & 1) == 0 || (k->rsa_e_len == 1 && k->rsa_e[0] < 3) ||
	    (k->rsa_n[k->rsa_n_len - 1] & 1) == 0)
		return NHI_ERR_KEY_INVALID;
	bits = bignum_bits(k->rsa_n, k->rsa_n_len);
	if (bits < RSA_MIN_BITS || bits > RSA_MAX_BITS)
		return NHI_ERR_KEY_INVALID;
	return 0;
}

static int get_dsa(struct nhi_buf *b, struct nhi_key *k)
{
	int r;

	if ((r = get_bignum(b, DSA_P_MAX_BYTES, &k->dsa_p, &k->dsa_p_len)) < 0 ||
	    (r = get_bignum(b, DSA_Q_MAX_BYTES, &k->dsa_q, &k->dsa_q_len)) < 0 ||
	    (r = get_bignum(b, DSA_P_MAX_BYTES, &k->dsa_g, &k->dsa_g_len)) < 0 ||
	    (r = get_bignum(b, DSA_P_MAX_BYTES, &k->dsa_y, &k->dsa_y_len)) < 0)
		return r;
	return 0;
}

int nhi_key_get_pubfields_for_match(struct nhi_buf *b, enum nhi_key_type type, struct nhi_key **ret)
{
	const struct key_info *ki = key_info_of(type);
	struct nhi_buf *view = NULL;
	struct nhi_key *k = NULL;
	int r;

	if (b == NULL || ret == NULL)
		return NHI_ERR_INVALID_ARGUMENT;
	if (ki == NULL)
		return NHI_ERR_KEY_TYPE_UNKNOWN;
	/* Parse from a view so that b is only consumed when all went well. */
	if ((view = nhi_buf_from(nhi_buf_ptr(b), nhi_buf_len(b))) == NULL ||
	    (k = calloc(1, sizeof(*k))) == NULL) {
		r = NHI_ERR_ALLOC;
		goto out;
	}
	k->type = type;
	switch (type) {
	case NHI_KEY_ED25519:
		r = get_ed25519_pk(view, k);
		break;
	case NHI_KEY_SK_ED25519:
		if ((r = get_ed25519_pk(view, k)) == 0)
			r = get_sk_application(view, k);
		break;
	case NHI_KEY_ECDSA_P256:
	case NHI_KEY_ECDSA_P384:
	case NHI_KEY_ECDSA_P521:
		r = get_ecdsa(view, ki, k);
		break;
	case NHI_KEY_SK_ECDSA_P256:
		if ((r = get_ecdsa(view, ki, k)) == 0)
			r = get_sk_application(view, k);
		break;
	case NHI_KEY_RSA:
		r = get_rsa(view, k);
		break;
	case NHI_KEY_DSA:
		r = get_dsa(view, k);
		break;
	default:
		r = NHI_ERR_KEY_TYPE_UNKNOWN;
		break;
	}
	if (r < 0)
		goto out;
	if ((r = nhi_buf_consume(b, nhi_buf_len(b) - nhi_buf_len(view))) < 0)
		goto out;
	*ret = k;
	k = NULL;
out:
	nhi_key_free(k);
	nhi_buf_free(view);
	return r;
}

static int put_pubfields(struct nhi_buf *b, const struct nhi_key *key)
{
	const struct key_info *ki = key_info_of(key->type);
	int r;

	if (ki == NULL)
		return NHI_ERR_KEY_TYPE_UNKNOWN;
	if (is_ecdsa(key->type) && key->ec_point == NULL)
		return NHI_ERR_INVALID_ARGUMENT;
	if (is_sk(key->type) && key->sk_application == NULL)
		return NHI_ERR_INVALID_ARGUMENT;
	switch (key->type) {
	case NHI_KEY_ED25519:
	case NHI_KEY_SK_ED25519:
		r = nhi_buf_put_string(b, key->ed25519_pk, NHI_ED25519_PK_BYTES);
		break;
	case NHI_KEY_ECDSA_P256:
	case NHI_KEY_ECDSA_P384:
	case NHI_KEY_ECDSA_P521:
	case NHI_KEY_SK_ECDSA_P256:
		if ((r = nhi_buf_put_cstring(b, ki->curve)) == 0)
			r = nhi_buf_put_string(b, key->ec_point, key->ec_point_len);
		break;
	case NHI_KEY_RSA:
		if (key->rsa_e == NULL || key->rsa_n == NULL)
			return NHI_ERR_INVALID_ARGUMENT;
		if ((r = nhi_buf_put_bignum2_bytes(b, key->rsa_e, key->rsa_e_len)) == 0)
			r = nhi_buf_put_bignum2_bytes(b, key->rsa_n, key->rsa_n_len);
		break;
	case NHI_KEY_DSA:
		if (key->dsa_p == NULL || key->dsa_q == NULL || key->dsa_g == NULL ||
		    key->dsa_y == NULL)
			return NHI_ERR_INVALID_ARGUMENT;
		if ((r = nhi_buf_put_bignum2_bytes(b, key->dsa_p, key->dsa_p_len)) == 0 &&
		    (r = nhi_buf_put_bignum2_bytes(b, key->dsa_q, key->dsa_q_len)) == 0 &&
		    (r = nhi_buf_put_bignum2_bytes(b, key->dsa_g, key->dsa_g_len)) == 0)
			r = nhi_buf_put_bignum2_bytes(b, key->dsa_y, key->dsa_y_len);
		break;
	default:
		r = NHI_ERR_KEY_TYPE_UNKNOWN;
		break;
	}
	if (r == 0 && is_sk(key->type))
		r = nhi_buf_put_cstring(b, key->sk_application);
	return r;
}

/* Runs a writer and takes back what it appended if it failed, so that out
 * is left as it was. */
static int put_all_or_nothing(struct nhi_buf *out, const struct nhi_key *key, bool with_name)
{
	size_t before;
	int r;

	if (out == NULL || key == NULL)
		return NHI_ERR_INVALID_ARGUMENT;
	before = nhi_buf_len(out);
	r = 0;
	if (with_name) {
		const char *name = nhi_key_type_name(key->type);

		r = name == NULL ? NHI_ERR_KEY_TYPE_UNKNOWN : nhi_buf_put_cstring(out, name);
	}
	if (r == 0)
		r = put_pubfields(out, key);
	if (r < 0 && nhi_buf_len(out) > before)
		nhi_buf_shrink(out, nhi_buf_len(out) - before);
	return r;
}

int nhi_key_put_pubfields(struct nhi_buf *b, const struct nhi_key *key)
{
	return put_all_or_nothing(b, key, false);
}

int nhi_key_to_blob(const struct nhi_key *key, struct nhi_buf *out)
{
	return put_all_or_nothing(out, key, true);
}

int nhi_key_from_blob_for_match(const uint8_t *blob, size_t len, struct nhi_key **ret)
{
	struct nhi_buf *b = NULL;
	struct nhi_key *k = NULL;
	enum nhi_key_type type;
	const uint8_t *name;
	size_t name_len;
	bool is_cert = false;
	int r;

	if ((blob == NULL && len != 0) || ret == NULL)
		return NHI_ERR_INVALID_ARGUMENT;
	if ((b = nhi_buf_from(blob, len)) == NULL)
		return len > NHI_BUF_SIZE_MAX ? NHI_ERR_STRING_TOO_LARGE : NHI_ERR_ALLOC;
	if ((r = nhi_buf_get_string_direct(b, &name, &name_len)) < 0)
		goto out;
	type = type_from_bytes(name, name_len, &is_cert);
	if (type == NHI_KEY_UNKNOWN) {
		r = NHI_ERR_KEY_TYPE_UNKNOWN;
		goto out;
	}
	if (is_cert) {
		r = NHI_ERR_KEY_IS_CERT;
		goto out;
	}
	if ((r = nhi_key_get_pubfields_for_match(b, type, &k)) < 0)
		goto out;
	if (nhi_buf_len(b) != 0) {
		r = NHI_ERR_INVALID_FORMAT;
		goto out;
	}
	*ret = k;
	k = NULL;
out:
	nhi_key_free(k);
	nhi_buf_free(b);
	return r;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

int nhi_key_from_text_for_match(const char *text, struct nhi_key **ret, char **ret_comment)
{
	const char *p, *end, *type_s, *b64_s, *b64_e;
	char type_name[TYPE_NAME_MAX + 1];
	struct nhi_buf *blob = NULL;
	struct nhi_key *k = NULL;
	char *comment = NULL;
	enum nhi_key_type type;
	bool is_cert = false;
	size_t len;
	int r;

	if (text == NULL || ret == NULL)
		return NHI_ERR_INVALID_ARGUMENT;
	len = strnlen(text, NHI_KEY_TEXT_MAX + 1);
	if (len > NHI_KEY_TEXT_MAX)
		return NHI_ERR_LINE_TOO_LONG;
	p = text;
	end = text + len;
	while (p < end && is_blank(*p))
		p++;
	while (end > p && (is_blank(end[-1]) || end[-1] == '\n' || end[-1] == '\r'))
		end--;
	/* One line only: an embedded line break would smuggle a second key. */
	if (memchr(p, '\n', (size_t)(end - p)) != NULL ||
	    memchr(p, '\r', (size_t)(end - p)) != NULL)
		return NHI_ERR_INVALID_FORMAT;

	type_s = p;
	while (p < end && !is_blank(*p))
		p++;
	if (p == type_s)
		return NHI_ERR_INVALID_FORMAT;
	if ((size_t)(p - type_s) > TYPE_NAME_MAX)
		return NHI_ERR_KEY_TYPE_UNKNOWN;
	memcpy(type_name, type_s, (size_t)(p - type_s));
	type_name[p - type_s] = '\0';
	type = nhi_key_type_from_name(type_name, &is_cert);
	if (type == NHI_KEY_UNKNOWN)
		return NHI_ERR_KEY_TYPE_UNKNOWN;
	if (is_cert)
		return NHI_ERR_KEY_IS_CERT;

	while (p < end && is_blank(*p))
		p++;
	b64_s = p;
	while (p < end && !is_blank(*p))
		p++;
	b64_e = p;
	if (b64_e == b64_s)
		return NHI_ERR_INVALID_FORMAT;
	while (p < end && is_blank(*p))
		p++;

	if ((blob = nhi_buf_new()) == NULL)
		return NHI_ERR_ALLOC;
	if ((r = nhi_b64_decode(b64_s, (size_t)(b64_e - b64_s), blob)) < 0 ||
	    (r = nhi_key_from_blob_for_match(nhi_buf_ptr(blob), nhi_buf_len(blob), &k)) < 0)
		goto out;
	if (k->type != type) {
		r = NHI_ERR_KEY_TYPE_MISMATCH;
		goto out;
	}
	if (ret_comment != NULL && p < end && (comment = strndup(p, (size_t)(end - p))) == NULL) {
		r = NHI_ERR_ALLOC;
		goto out;
	}
	*ret = k;
	k = NULL;
	if (ret_comment != NULL)
		*ret_comment = comment;
	r = 0;
out:
	nhi_key_free(k);
	nhi_buf_free(blob);
	return r;
}

int nhi_key_to_text(const struct nhi_key *key, const char *comment, char **ret)
{
	struct nhi_buf *blob = NULL;
	const char *name;
	char *b64 = NULL, *s = NULL;
	size_t name_len, b64_len, comment_len, total;
	int r;

	if (key == NULL || ret == NULL)
		return NHI_ERR_INVALID_ARGUMENT;
	if ((name = nhi_key_type_name(key->type)) == NULL)
		return NHI_ERR_KEY_TYPE_UNKNOWN;
	comment_len = comment == NULL ? 0 : strlen(comment);
	/* The text is one line; a comment may not break it. */
	if (comment_len > 0 && strpbrk(comment, "\r\n") != NULL)
		return NHI_ERR_INVALID_ARGUMENT;
	if ((blob = nhi_buf_new()) == NULL)
		return NHI_ERR_ALLOC;
	if ((r = nhi_key_to_blob(key, blob)) < 0 ||
	    (r = nhi_b64_encode(nhi_buf_ptr(blob), nhi_buf_len(blob), &b64)) < 0)
		goto out;
	name_len = strlen(name);
	b64_len = strlen(b64);
	total = name_len + 1 + b64_len + (comment_len > 0 ? 1 + comment_len : 0) + 1;
	if ((s = malloc(total)) == NULL) {
		r = NHI_ERR_ALLOC;
		goto out;
	}
	memcpy(s, name, name_len);
	s[name_len] = ' ';
	memcpy(s + name_len + 1, b64, b64_len);
	if (comment_len > 0) {
		s[name_len + 1 + b64_len] = ' ';
		memcpy(s + name_len + 2 + b64_len, comment, comment_len);
	}
	s[total - 1] = '\0';
	*ret = s;
	r = 0;
out:
	free(b64);
	nhi_buf_free(blob);
	return r;
}

int nhi_key_fingerprint_raw(const struct nhi_key *key, uint8_t out[NHI_SHA256_BYTES])
{
	struct nhi_buf *blob;
	int r;

	if (key == NULL || out == NULL)
		return NHI_ERR_INVALID_ARGUMENT;
	if ((blob = nhi_buf_new()) == NULL)
		return NHI_ERR_ALLOC;
	if ((r = nhi_key_to_blob(key, blob)) == 0)
		crypto_hash_sha256(out, nhi_buf_ptr(blob), nhi_buf_len(blob));
	nhi_buf_free(blob);
	return r;
}

int nhi_key_fingerprint(const struct nhi_key *key, char out[NHI_FINGERPRINT_MAX])
{
	uint8_t hash[NHI_SHA256_BYTES];
	char *b64 = NULL;
	size_t len;
	int r;

	if (key == NULL || out == NULL)
		return NHI_ERR_INVALID_ARGUMENT;
	if ((r = nhi_key_fingerprint_raw(key, hash)) < 0 ||
	    (r = nhi_b64_encode(hash, sizeof(hash), &b64)) < 0)
		return r;
	/* ssh-keygen prints the base64 without its '=' padding. */
	len = strlen(b64);
	while (len > 0 && b64[len - 1] == '=')
		len--;
	if (len + sizeof("SHA256:") > NHI_FINGERPRINT_MAX) {
		free(b64);
		return NHI_ERR_INTERNAL;
	}
	memcpy(out, "SHA256:", 7);
	memcpy(out + 7, b64, len);
	out[7 + len] = '\0';
	free(b64);
	return 0;
}

unsigned nhi_key_bits(const struct nhi_key *key)
{
	const struct key_info *ki;

	if (key == NULL || (ki = key_info_of(key->type)) == NULL)
		return 0;
	if (key->type == NHI_KEY_RSA)
		return bignum_bits(key->rsa_n, key->rsa_n_len);
	if (key->type == NHI_KEY_DSA)
		return bignum_bits(key->dsa_p, key->dsa_p_len);
	return ki->bits;
}

enum nhi_key_verdict nhi_key_policy(const struct nhi_key *key, const char **ret_reason)
{
	enum nhi_key_verdict v = NHI_KEY_ACCEPTABLE;
	const char *reason = "acceptable";
	unsigned bits;

	if (key == NULL || key_info_of(key->type) == NULL) {
		v = NHI_KEY_REFUSED;
		reason = "unknown key type";
	} else if (key->type == NHI_KEY_DSA) {
		v = NHI_KEY_REFUSED;
		reason = "DSA keys are obsolete and refused";
	} else if (key->type == NHI_KEY_RSA) {
		bits = nhi_key_bits(key);
		if (bits < 2048) {
			v = NHI_KEY_REFUSED;
			reason = "RSA keys shorter than 2048 bits are refused";
		} else if (bits < 3072) {
			v = NHI_KEY_WEAK;
			reason = "RSA keys shorter than 3072 bits are weak";
		}
	}
	if (ret_reason != NULL)
		*ret_reason = reason;
	return v;
}

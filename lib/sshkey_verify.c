/* Signature verification with a public key: Ed25519 through libsodium,
 * ECDSA and RSA through libcrypto. Kept apart from the key parser
 * (sshkey.c) so that a program that only reads keys does not load
 * libcrypto. */
#include "config.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "sshkey.h"

#define ED25519_SIG_BYTES 64u
/* The user-presence flag a security key sets when it was touched. */
#define SK_FLAG_USER_PRESENCE 0x01u

struct ec_curve {
	const char *ossl_group; /* OpenSSL's name for the curve */
	size_t field_bytes;     /* the most an r or s may take */
};

static const struct ec_curve *ec_curve_of(enum nhi_key_type type)
{
	static const struct ec_curve p256 = {"prime256v1", 32}, p384 = {"secp384r1", 48},
	                             p521 = {"secp521r1", 66};

	switch (type) {
	case NHI_KEY_ECDSA_P256:
	case NHI_KEY_SK_ECDSA_P256:
		return &p256;
	case NHI_KEY_ECDSA_P384:
		return &p384;
	case NHI_KEY_ECDSA_P521:
		return &p521;
	default:
		return NULL;
	}
}

static bool is_sk(enum nhi_key_type type)
{
	return type == NHI_KEY_SK_ED25519 || type == NHI_KEY_SK_ECDSA_P256;
}

static int ec_pkey(const struct nhi_key *key, EVP_PKEY **ret)
{
	const struct ec_curve *c = ec_curve_of(key->type);
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;
	OSSL_PARAM params[3];
	int r = NHI_ERR_CRYPTO;

	if (c == NULL || key->ec_point == NULL)
		return NHI_ERR_INVALID_ARGUMENT;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
	                                             (char *)(uintptr_t)c->ossl_group, 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, key->ec_point,
	                                              key->ec_point_len);
	params[2] = OSSL_PARAM_construct_end();
	if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
		goto out;
	*ret = pkey;
	r = 0;
out:
	EVP_PKEY_CTX_free(ctx);
	return r;
}

static int rsa_pkey(const struct nhi_key *key, EVP_PKEY **ret)
{
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;
	BIGNUM *n = NULL, *e = NULL;
	int r = NHI_ERR_CRYPTO;

	if (key->rsa_n == NULL || key->rsa_e == NULL)
		return NHI_ERR_INVALID_ARGUMENT;
	if ((n = BN_bin2bn(key->rsa_n, (int)key->rsa_n_len, NULL)) == NULL ||
	    (e = BN_bin2bn(key->rsa_e, (int)key->rsa_e_len, NULL)) == NULL ||
	    (bld = OSSL_PARAM_BLD_new()) == NULL ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) ||
	    (params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
		goto out;
	*ret = pkey;
	r = 0;
out:
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(n);
	BN_free(e);
	return r;
}

static int evp_verify(EVP_PKEY *pkey, const EVP_MD *md, const uint8_t *sig, size_t siglen,
                      const uint8_t *data, size_t datalen)
{
	EVP_MD_CTX *ctx;
	int r;

	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return NHI_ERR_ALLOC;
	if (EVP_DigestVerifyInit(ctx, NULL, md, NULL, pkey) != 1)
		r = NHI_ERR_CRYPTO;
	else if (EVP_DigestVerify(ctx, sig, siglen, data == NULL ? (const uint8_t *)"" : data,
	                          datalen) != 1)
		r = NHI_ERR_SIGNATURE_INVALID;
	else
		r = 0;
	EVP_MD_CTX_free(ctx);
	ERR_clear_error();
	return r;
}

/* RFC 5656: the hash follows the curve size. */
static const EVP_MD *ecdsa_md(enum nhi_key_type type)
{
	if (type == NHI_KEY_ECDSA_P384)
		return EVP_sha384();
	if (type == NHI_KEY_ECDSA_P521)
		return EVP_sha512();
	return EVP_sha256();
}

/* The SSH form of an ECDSA signature is (mpint r, mpint s); OpenSSL wants DER. */
static int ecdsa_verify(const struct nhi_key *key, const EVP_MD *md, const uint8_t *sig,
                        size_t siglen, const uint8_t *data, size_t datalen)
{
	const struct ec_curve *c = ec_curve_of(key->type);
	struct nhi_buf *b = NULL;
	const uint8_t *rp, *sp;
	size_t rlen, slen;
	ECDSA_SIG *esig = NULL;
	BIGNUM *br = NULL, *bs = NULL;
	EVP_PKEY *pkey = NULL;
	uint8_t *der = NULL;
	int der_len, r;

	if ((b = nhi_buf_from(sig, siglen)) == NULL)
		return NHI_ERR_ALLOC;
	if ((r = nhi_buf_get_bignum2_bytes_direct(b, &rp, &rlen)) < 0 ||
	    (r = nhi_buf_get_bignum2_bytes_direct(b, &sp, &slen)) < 0)
		goto out;
	if (nhi_buf_len(b) != 0) {
		r = NHI_ERR_INVALID_FORMAT;
		goto out;
	}
	if (c == NULL || rlen > c->field_bytes || slen > c->field_bytes) {
		r = NHI_ERR_SIGNATURE_INVALID;
		goto out;
	}
	r = NHI_ERR_CRYPTO;
	if ((esig = ECDSA_SIG_new()) == NULL || (br = BN_bin2bn(rp, (int)rlen, NULL)) == NULL ||
	    (bs = BN_bin2bn(sp, (int)slen, NULL)) == NULL)
		goto out;
	if (ECDSA_SIG_set0(esig, br, bs) != 1)
		goto out;
	br = bs = NULL;
	if ((der_len = i2d_ECDSA_SIG(esig, &der)) <= 0)
		goto out;
	if ((r = ec_pkey(key, &pkey)) < 0)
		goto out;
	r = evp_verify(pkey, md, der, (size_t)der_len, data, datalen);
out:
	OPENSSL_free(der);
	EVP_PKEY_free(pkey);
	ECDSA_SIG_free(esig);
	BN_free(br);
	BN_free(bs);
	nhi_buf_free(b);
	ERR_clear_error();
	return r;
}

static int rsa_verify(const struct nhi_key *key, const EVP_MD *md, const uint8_t *sig,
                      size_t siglen, const uint8_t *data, size_t datalen)
{
	EVP_PKEY *pkey = NULL;
	uint8_t *padded = NULL;
	size_t modlen = key->rsa_n_len;
	int r;

	if (nhi_key_bits(key) < 2048)
		return NHI_ERR_KEY_REFUSED;
	if (siglen > modlen || siglen == 0)
		return NHI_ERR_SIGNATURE_INVALID;
	/* Like OpenSSH, accept a signature whose leading zero bytes were
	 * dropped and put them back. */
	if ((padded = calloc(1, modlen)) == NULL)
		return NHI_ERR_ALLOC;
	memcpy(padded + (modlen - siglen), sig, siglen);
	if ((r = rsa_pkey(key, &pkey)) == 0)
		r = evp_verify(pkey, md, padded, modlen, data, datalen);
	EVP_PKEY_free(pkey);
	free(padded);
	return r;
}

static bool bytes_are(const uint8_t *p, size_t len, const char *s)
{
	return len == strlen(s) && memcmp(p, s, len) == 0;
}

/* What a security key signs: SHA256(application) || flags || counter ||
 * SHA256(data) (PROTOCOL.u2f). */
static void sk_signed_data(const struct nhi_key *key, uint8_t flags, uint32_t counter,
                           const uint8_t *data, size_t datalen, uint8_t out[69])
{
	crypto_hash_sha256(out, (const uint8_t *)key->sk_application, strlen(key->sk_application));
	out[32] = flags;
	out[33] = (uint8_t)(counter >> 24);
	out[34] = (uint8_t)(counter >> 16);
	out[35] = (uint8_t)(counter >> 8);
	out[36] = (uint8_t)counter;
	crypto_hash_sha256(out + 37, data == NULL ? (const uint8_t *)"" : data, datalen);
}

int nhi_key_verify(const struct nhi_key *key, const uint8_t *sig, size_t siglen,
                   const uint8_t *data, size_t datalen)
{
	const char *name;
	struct nhi_buf *b = NULL;
	const uint8_t *alg, *raw;
	size_t alg_len, raw_len;
	uint8_t flags = 0, sk_msg[69];
	uint32_t counter = 0;
	const EVP_MD *md = NULL;
	int r;

	if (key == NULL || (sig == NULL && siglen != 0) || (data == NULL && datalen != 0))
		return NHI_ERR_INVALID_ARGUMENT;
	if ((name = nhi_key_type_name(key->type)) == NULL)
		return NHI_ERR_KEY_TYPE_UNKNOWN;
	if (is_sk(key->type) && key->sk_application == NULL)
		return NHI_ERR_INVALID_ARGUMENT;
	if (key->type == NHI_KEY_DSA)
		return NHI_ERR_KEY_REFUSED;
	if (sodium_init() < 0)
		return NHI_ERR_CRYPTO;
	if ((b = nhi_buf_from(sig, siglen)) == NULL)
		return NHI_ERR_ALLOC;
	if ((r = nhi_buf_get_string_direct(b, &alg, &alg_len)) < 0 ||
	    (r = nhi_buf_get_string_direct(b, &raw, &raw_len)) < 0)
		goto out;
	if (is_sk(key->type) &&
	    ((r = nhi_buf_get_u8(b, &flags)) < 0 || (r = nhi_buf_get_u32(b, &counter)) < 0))
		goto out;
	if (nhi_buf_len(b) != 0) {
		r = NHI_ERR_INVALID_FORMAT;
		goto out;
	}

	r = NHI_ERR_SIGNATURE_INVALID;
	switch (key->type) {
	case NHI_KEY_ED25519:
		if (!bytes_are(alg, alg_len, name) || raw_len != ED25519_SIG_BYTES)
			goto out;
		if (crypto_sign_verify_detached(raw, data == NULL ? (const uint8_t *)"" : data,
		                                datalen, key->ed25519_pk) != 0)
			goto out;
		r = 0;
		break;
	case NHI_KEY_ECDSA_P256:
	case NHI_KEY_ECDSA_P384:
	case NHI_KEY_ECDSA_P521:
		if (!bytes_are(alg, alg_len, name))
			goto out;
		md = ecdsa_md(key->type);
		r = ecdsa_verify(key, md, raw, raw_len, data, datalen);
		break;
	case NHI_KEY_RSA:
		if (bytes_are(alg, alg_len, "rsa-sha2-256"))
			md = EVP_sha256();
		else if (bytes_are(alg, alg_len, "rsa-sha2-512"))
			md = EVP_sha512();
		else if (bytes_are(alg, alg_len, "ssh-rsa")) {
			r = NHI_ERR_KEY_REFUSED; /* SHA-1 */
			goto out;
		} else
			goto out;
		r = rsa_verify(key, md, raw, raw_len, data, datalen);
		break;
	case NHI_KEY_SK_ED25519:
		if (!bytes_are(alg, alg_len, name) || raw_len != ED25519_SIG_BYTES ||
		    (flags & SK_FLAG_USER_PRESENCE) == 0)
			goto out;
		sk_signed_data(key, flags, counter, data, datalen, sk_msg);
		if (crypto_sign_verify_detached(raw, sk_msg, sizeof(sk_msg), key->ed25519_pk) != 0)
			goto out;
		r = 0;
		break;
	case NHI_KEY_SK_ECDSA_P256:
		if (!bytes_are(alg, alg_len, name) || (flags & SK_FLAG_USER_PRESENCE) == 0)
			goto out;
		sk_signed_data(key, flags, counter, data, datalen, sk_msg);
		r = ecdsa_verify(key, EVP_sha256(), raw, raw_len, sk_msg, sizeof(sk_msg));
		break;
	default:
		r = NHI_ERR_KEY_TYPE_UNKNOWN;
		break;
	}
out:
	nhi_buf_free(b);
	return r;
}

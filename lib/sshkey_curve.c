/* Whether an ECDSA public key's point lies on its curve, which needs
 * libcrypto, and the key parsers that insist on it: the wire format from
 * sshkey.c, then the curve. Every program parses keys through these,
 * except where a key is only compared with one that was already checked
 * (the *_for_match parsers in sshkey.h). */
#include "config.h"

#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/obj_mac.h>
#include <stdlib.h>

#include "err.h"
#include "sshkey.h"

static int curve_nid(enum nhi_key_type type)
{
	switch (type) {
	case NHI_KEY_ECDSA_P256:
	case NHI_KEY_SK_ECDSA_P256:
		return NID_X9_62_prime256v1;
	case NHI_KEY_ECDSA_P384:
		return NID_secp384r1;
	case NHI_KEY_ECDSA_P521:
		return NID_secp521r1;
	default:
		return NID_undef;
	}
}

/* The parser already checked that the point is uncompressed SEC1 of the
 * curve's size. Here: it lies on the curve and is not the point at
 * infinity (the NIST curves have cofactor 1, so that is all a public key
 * needs). */
int nhi_key_check_curve(const struct nhi_key *key)
{
	EC_GROUP *group = NULL;
	EC_POINT *point = NULL;
	int nid, r = NHI_ERR_KEY_INVALID;

	if (key == NULL)
		return NHI_ERR_INVALID_ARGUMENT;
	if ((nid = curve_nid(key->type)) == NID_undef)
		return 0;
	if (key->ec_point == NULL)
		return NHI_ERR_KEY_INVALID;
	if ((group = EC_GROUP_new_by_curve_name(nid)) == NULL ||
	    (point = EC_POINT_new(group)) == NULL) {
		r = NHI_ERR_CRYPTO;
		goto out;
	}
	if (EC_POINT_oct2point(group, point, key->ec_point, key->ec_point_len, NULL) != 1 ||
	    EC_POINT_is_at_infinity(group, point) || EC_POINT_is_on_curve(group, point, NULL) != 1)
		goto out;
	r = 0;
out:
	EC_POINT_free(point);
	EC_GROUP_free(group);
	ERR_clear_error();
	return r;
}

int nhi_key_get_pubfields(struct nhi_buf *b, enum nhi_key_type type, struct nhi_key **ret)
{
	struct nhi_buf *view = NULL;
	struct nhi_key *k = NULL;
	int r;

	if (b == NULL || ret == NULL)
		return NHI_ERR_INVALID_ARGUMENT;
	/* b is consumed only when the key is good, curve included. */
	if ((view = nhi_buf_from(nhi_buf_ptr(b), nhi_buf_len(b))) == NULL)
		return NHI_ERR_ALLOC;
	if ((r = nhi_key_get_pubfields_for_match(view, type, &k)) < 0 ||
	    (r = nhi_key_check_curve(k)) < 0 ||
	    (r = nhi_buf_consume(b, nhi_buf_len(b) - nhi_buf_len(view))) < 0)
		goto out;
	*ret = k;
	k = NULL;
out:
	nhi_key_free(k);
	nhi_buf_free(view);
	return r;
}

int nhi_key_from_blob(const uint8_t *blob, size_t len, struct nhi_key **ret)
{
	struct nhi_key *k = NULL;
	int r;

	if (ret == NULL)
		return NHI_ERR_INVALID_ARGUMENT;
	if ((r = nhi_key_from_blob_for_match(blob, len, &k)) < 0 ||
	    (r = nhi_key_check_curve(k)) < 0) {
		nhi_key_free(k);
		return r;
	}
	*ret = k;
	return 0;
}

int nhi_key_from_text(const char *text, struct nhi_key **ret, char **ret_comment)
{
	struct nhi_key *k = NULL;
	char *comment = NULL;
	int r;

	if (ret == NULL)
		return NHI_ERR_INVALID_ARGUMENT;
	if ((r = nhi_key_from_text_for_match(text, &k, ret_comment != NULL ? &comment : NULL)) <
	            0 ||
	    (r = nhi_key_check_curve(k)) < 0) {
		nhi_key_free(k);
		free(comment);
		return r;
	}
	*ret = k;
	if (ret_comment != NULL)
		*ret_comment = comment;
	return 0;
}

/* Fuzzes certificate parsing and checking.
 *
 * A blob that parses must give back the same bytes from to_blob and parse
 * again to the same fields; its signature is checked (whatever the CA key
 * type) and so is sshd's acceptance logic. Then the parsed fields are
 * re-signed with our own CA and parsed once more: what the serializer
 * writes, the parser must read back unchanged. */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cakey.h"
#include "cert.h"
#include "err.h"
#include "sshkey.h"
#include "fuzz.h"

static bool same_options(const struct nhi_cert_option *a, size_t na,
                         const struct nhi_cert_option *b, size_t nb)
{
	size_t i;

	if (na != nb)
		return false;
	for (i = 0; i < na; i++) {
		if (strcmp(a[i].name, b[i].name) != 0 || a[i].value_len != b[i].value_len)
			return false;
		if (a[i].value_len > 0 && memcmp(a[i].value, b[i].value, a[i].value_len) != 0)
			return false;
	}
	return true;
}

/* Everything a certificate says, apart from nonce, CA and signature. */
static bool same_content(const struct nhi_cert *a, const struct nhi_cert *b)
{
	size_t i;

	if (!nhi_key_equal(a->key, b->key) || a->serial != b->serial || a->type != b->type ||
	    strcmp(a->key_id, b->key_id) != 0 || a->n_principals != b->n_principals ||
	    a->valid_after != b->valid_after || a->valid_before != b->valid_before)
		return false;
	for (i = 0; i < a->n_principals; i++)
		if (strcmp(a->principals[i], b->principals[i]) != 0)
			return false;
	return same_options(a->critical, a->n_critical, b->critical, b->n_critical) &&
	       same_options(a->extensions, a->n_extensions, b->extensions, b->n_extensions);
}

static void check_sorted(const struct nhi_cert_option *o, size_t n)
{
	size_t i;

	for (i = 1; i < n; i++)
		CHECK(strcmp(o[i - 1].name, o[i].name) < 0);
}

static const struct nhi_ca_key *fuzz_ca(void)
{
	static struct nhi_ca_key *ca;

	if (ca == NULL && nhi_ca_generate(&ca) != 0)
		abort();
	return ca;
}

/* Re-signs the parsed content with our CA and reads it back. */
static void resign(struct nhi_cert *cert)
{
	struct nhi_cert *again = NULL;
	struct nhi_key *ca_pub = NULL;
	const struct nhi_buf *blob;
	struct nhi_cert *orig = NULL;

	/* Keep the parsed fields to compare with: parse the original again. */
	blob = cert->blob;
	CHECK(nhi_cert_from_blob(nhi_buf_ptr(blob), nhi_buf_len(blob), &orig) == 0);
	/* Signing may refuse some content (e.g. a subject key type it will not
	 * certify); what it signs must read back the same. */
	if (nhi_cert_sign(cert, fuzz_ca()) != 0)
		goto out;
	CHECK(nhi_cert_from_blob(nhi_buf_ptr(cert->blob), nhi_buf_len(cert->blob), &again) == 0);
	CHECK(same_content(orig, again));
	CHECK(nhi_cert_verify_signature(again) == 0);
	CHECK(nhi_ca_public(fuzz_ca(), &ca_pub) == 0);
	CHECK(nhi_key_equal(again->signature_key, ca_pub));
out:
	nhi_key_free(ca_pub);
	nhi_cert_free(again);
	nhi_cert_free(orig);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nhi_cert *cert = NULL, *again = NULL, *from_text = NULL;
	struct nhi_buf *out = NULL;
	char *text = NULL, *comment = NULL;
	size_t i;
	int r;

	if (nhi_cert_from_blob(data, size, &cert) != 0)
		return 0;
	CHECK(cert != NULL && cert->key != NULL && cert->signature_key != NULL);
	CHECK(cert->key_id != NULL);
	CHECK(cert->n_principals <= NHI_CERT_PRINCIPALS_MAX);
	for (i = 0; i < cert->n_principals; i++)
		CHECK(cert->principals[i] != NULL);
	check_sorted(cert->critical, cert->n_critical);
	check_sorted(cert->extensions, cert->n_extensions);
	CHECK(cert->signed_len < size);

	/* The signature over the signed part, whatever the CA's key type. */
	r = nhi_cert_verify_signature(cert);
	CHECK(r <= 0);
	/* sshd's checks at the edges of the validity window. */
	(void)nhi_cert_check_user(cert, NULL, NULL, cert->valid_after);
	(void)nhi_cert_check_user(cert, cert->signature_key, "root", cert->valid_before);
	if (cert->n_principals > 0)
		(void)nhi_cert_check_user(cert, cert->key, cert->principals[0], 0);
	if (r != 0)
		CHECK(nhi_cert_check_user(cert, NULL, NULL, cert->valid_after) != 0);

	if ((out = nhi_buf_new()) == NULL)
		abort();
	CHECK(nhi_cert_to_blob(cert, out) == 0);
	CHECK(nhi_buf_len(out) == size && memcmp(nhi_buf_ptr(out), data, size) == 0);
	CHECK(nhi_cert_from_blob(nhi_buf_ptr(out), nhi_buf_len(out), &again) == 0);
	CHECK(same_content(cert, again));
	CHECK(nhi_key_equal(cert->signature_key, again->signature_key));

	CHECK(nhi_cert_to_text(cert, "fuzz", &text) == 0);
	CHECK(nhi_cert_from_text(text, &from_text, &comment) == 0);
	CHECK(same_content(cert, from_text));
	CHECK(comment != NULL && strcmp(comment, "fuzz") == 0);

	resign(cert);

	free(text);
	free(comment);
	nhi_buf_free(out);
	nhi_cert_free(from_text);
	nhi_cert_free(again);
	nhi_cert_free(cert);
	return 0;
}

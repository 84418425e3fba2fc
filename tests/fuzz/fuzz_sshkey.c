/* Fuzzes public key parsing: the input as a wire blob, and as a line of
 * .pub text. A blob that parses must serialize back to the same bytes (one
 * key, one encoding: fingerprints and KRL hashes depend on it), and a key
 * read from text must survive to_text/from_text unchanged. The parser
 * without the curve check must agree with the full one but for the curve. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "sshkey.h"
#include "fuzz.h"

/* What every parsed key must answer without crashing, and consistently. */
static void exercise_key(const struct nhi_key *key)
{
	char fp[NHI_FINGERPRINT_MAX], fp2[NHI_FINGERPRINT_MAX];
	uint8_t raw[NHI_SHA256_BYTES];
	const char *reason = NULL;
	struct nhi_key *dup = NULL;
	enum nhi_key_verdict v;
	bool is_cert = true;

	CHECK(nhi_key_type_name(key->type) != NULL);
	CHECK(nhi_key_type_from_name(nhi_key_type_name(key->type), &is_cert) == key->type);
	CHECK(!is_cert);
	CHECK(nhi_key_equal(key, key));
	CHECK(nhi_key_fingerprint_raw(key, raw) == 0);
	CHECK(nhi_key_fingerprint(key, fp) == 0);
	CHECK(strncmp(fp, "SHA256:", 7) == 0 && strlen(fp) < sizeof(fp));
	(void)nhi_key_bits(key);
	v = nhi_key_policy(key, &reason);
	CHECK(v == NHI_KEY_ACCEPTABLE || v == NHI_KEY_WEAK || v == NHI_KEY_REFUSED);
	if (key->type == NHI_KEY_DSA)
		CHECK(v == NHI_KEY_REFUSED);
	CHECK(nhi_key_dup(key, &dup) == 0);
	CHECK(nhi_key_equal(key, dup));
	CHECK(nhi_key_fingerprint(dup, fp2) == 0);
	CHECK(strcmp(fp, fp2) == 0);
	nhi_key_free(dup);
}

static void fuzz_blob(const uint8_t *data, size_t size)
{
	struct nhi_key *key = NULL, *again = NULL;
	struct nhi_buf *out = NULL;
	struct nhi_buf *view = NULL;
	char *text = NULL;

	if (nhi_key_from_blob(data, size, &key) != 0)
		return;
	CHECK(key != NULL);
	exercise_key(key);

	if ((out = nhi_buf_new()) == NULL)
		abort();
	CHECK(nhi_key_to_blob(key, out) == 0);
	CHECK(nhi_buf_len(out) == size);
	CHECK(memcmp(nhi_buf_ptr(out), data, size) == 0);

	/* The public fields alone, after the type name, read the same way. */
	if ((view = nhi_buf_from(data, size)) == NULL)
		abort();
	CHECK(nhi_buf_get_string_direct(view, NULL, NULL) == 0);
	CHECK(nhi_key_get_pubfields(view, key->type, &again) == 0);
	CHECK(nhi_buf_len(view) == 0);
	CHECK(nhi_key_equal(key, again));
	nhi_key_free(again);
	again = NULL;

	CHECK(nhi_key_to_text(key, "fuzz comment", &text) == 0);
	CHECK(nhi_key_from_text(text, &again, NULL) == 0);
	CHECK(nhi_key_equal(key, again));

	free(text);
	nhi_key_free(again);
	nhi_buf_free(view);
	nhi_buf_free(out);
	nhi_key_free(key);
}

static void fuzz_text(const uint8_t *data, size_t size)
{
	struct nhi_key *key = NULL, *again = NULL;
	char *line, *comment = NULL, *comment2 = NULL, *text = NULL;

	/* The parser takes a C string: stop at the first NUL, as a reader of
	 * a file line would. */
	if ((line = malloc(size + 1)) == NULL)
		abort();
	memcpy(line, data, size);
	line[size] = '\0';
	if (nhi_key_from_text(line, &key, &comment) != 0)
		goto out;
	CHECK(key != NULL);
	exercise_key(key);
	CHECK(nhi_key_to_text(key, comment, &text) == 0);
	CHECK(nhi_key_from_text(text, &again, &comment2) == 0);
	CHECK(nhi_key_equal(key, again));
	CHECK((comment == NULL) == (comment2 == NULL));
	if (comment != NULL)
		CHECK(strcmp(comment, comment2) == 0);
out:
	free(text);
	free(comment);
	free(comment2);
	nhi_key_free(again);
	nhi_key_free(key);
	free(line);
}

static bool is_ecdsa(enum nhi_key_type type)
{
	return type == NHI_KEY_ECDSA_P256 || type == NHI_KEY_ECDSA_P384 ||
	       type == NHI_KEY_ECDSA_P521 || type == NHI_KEY_SK_ECDSA_P256;
}

/* The parser without the curve check (nhi-authorized-keys') gives the
 * full parser's answer, error included, except for an ECDSA point off its
 * curve, which only the full parser refuses. */
static void fuzz_match_agrees(const uint8_t *data, size_t size)
{
	struct nhi_key *full = NULL, *match = NULL;
	int rf = nhi_key_from_blob(data, size, &full);
	int rm = nhi_key_from_blob_for_match(data, size, &match);

	if (rm < 0) {
		CHECK(rf == rm);
	} else if (rf == 0) {
		CHECK(nhi_key_equal(full, match));
	} else {
		CHECK(rf == NHI_ERR_KEY_INVALID && is_ecdsa(match->type));
		CHECK(nhi_key_check_curve(match) < 0);
	}
	nhi_key_free(full);
	nhi_key_free(match);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_blob(data, size);
	fuzz_text(data, size);
	fuzz_match_agrees(data, size);
	return 0;
}

/* The *_for_match parsers (sshkey.h, authkeys.h) against the full ones:
 * they agree on every input, error codes included, but for an ECDSA point
 * off its curve, which only the full ones refuse and which then equals no
 * fully checked key. */
#include "config.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authkeys.h"
#include "b64.h"
#include "buf.h"
#include "err.h"
#include "sshkey.h"
#include "support.h"

/* A P-256 key (scalar 0x0123456789abcdef), as in test_sshkey.c. */
static const char p256_line[] =
        "sk-ecdsa-sha2-nistp256@openssh.com "
        "AAAAInNrLWVjZHNhLXNoYTItbmlzdHAyNTZAb3BlbnNzaC5jb20AAAAIbmlzdHAyNTYAAABBBDmIMiq59Sx/EdXR"
        "qpKirAsAJ1vK2Ok0aCJXMj/aZySChVtzifEWwZwAFDEcPVfcAgAeOg7IvZDHl3MgNKrNmRgAAAAEc3NoOg== "
        "fixed sk ecdsa";

static bool is_ecdsa(enum nhi_key_type type)
{
	return type == NHI_KEY_ECDSA_P256 || type == NHI_KEY_ECDSA_P384 ||
	       type == NHI_KEY_ECDSA_P521 || type == NHI_KEY_SK_ECDSA_P256;
}

static struct nhi_buf *blob_of(const struct nhi_key *key)
{
	struct nhi_buf *b = nhi_buf_new();

	cr_assert_not_null(b);
	cr_assert_eq(nhi_key_to_blob(key, b), 0);
	return b;
}

/* "ecdsa-sha2-nistp256 BASE64" of a plain P-256 key with the given point. */
static char *p256_text(const uint8_t point[65])
{
	struct nhi_buf *b = nhi_buf_new();
	char *b64 = NULL, *text = NULL;

	cr_assert_eq(nhi_buf_put_cstring(b, "ecdsa-sha2-nistp256"), 0);
	cr_assert_eq(nhi_buf_put_cstring(b, "nistp256"), 0);
	cr_assert_eq(nhi_buf_put_string(b, point, 65), 0);
	cr_assert_eq(nhi_b64_encode(nhi_buf_ptr(b), nhi_buf_len(b), &b64), 0);
	cr_assert(asprintf(&text, "ecdsa-sha2-nistp256 %s", b64) > 0);
	free(b64);
	nhi_buf_free(b);
	return text;
}

static void p256_point(uint8_t point[65])
{
	struct nhi_key *key = NULL;

	cr_assert_eq(nhi_key_from_text(p256_line, &key, NULL), 0);
	cr_assert_eq(key->ec_point_len, 65);
	memcpy(point, key->ec_point, 65);
	nhi_key_free(key);
}

Test(sshkey_match, off_curve_point_is_refused_only_by_the_full_parsers)
{
	uint8_t point[65], off[65];
	struct nhi_key *good = NULL, *k = NULL;
	struct nhi_authkey *ak = NULL;
	const char *reason = NULL;
	char *text, *line = NULL;

	p256_point(point);
	memcpy(off, point, sizeof(off));
	off[64] ^= 1;
	text = p256_text(point);
	cr_assert_eq(nhi_key_from_text(text, &good, NULL), 0);
	free(text);
	text = p256_text(off);

	cr_assert_eq(nhi_key_from_text(text, &k, NULL), NHI_ERR_KEY_INVALID);
	cr_assert_null(k);
	cr_assert_eq(nhi_key_from_text_for_match(text, &k, NULL), 0);
	cr_assert_eq(nhi_key_check_curve(k), NHI_ERR_KEY_INVALID);
	cr_assert(!nhi_key_equal(k, good), "an off-curve key equals a checked one");
	nhi_key_free(k);

	cr_assert(asprintf(&line, "restrict,command=\"true\" %s a comment", text) > 0);
	cr_assert_eq(nhi_authkeys_parse_line(line, strlen(line), &ak, &reason),
	             NHI_ERR_KEY_INVALID);
	cr_assert_null(ak);
	cr_assert_str_eq(reason, "invalid key blob");
	cr_assert_eq(nhi_authkeys_parse_line_for_match(line, strlen(line), &ak, &reason), 0);
	cr_assert_not_null(ak);
	cr_assert(ak->opts.restrict_all);
	cr_assert(!nhi_key_equal(ak->key, good));
	nhi_authkey_free(ak);

	/* The point at infinity's shape (all zeros after 0x04) is no key either. */
	memset(off + 1, 0, 64);
	free(text);
	text = p256_text(off);
	cr_assert_eq(nhi_key_from_text(text, &k, NULL), NHI_ERR_KEY_INVALID);
	cr_assert_eq(nhi_key_from_text_for_match(text, &k, NULL), 0);
	cr_assert_eq(nhi_key_check_curve(k), NHI_ERR_KEY_INVALID);
	nhi_key_free(k);

	free(line);
	free(text);
	nhi_key_free(good);
}

Test(sshkey_match, full_pubfields_consume_nothing_on_an_off_curve_point)
{
	uint8_t point[65];
	struct nhi_buf *b = nhi_buf_new();
	struct nhi_key *k = NULL;
	size_t len;

	p256_point(point);
	point[10] ^= 0x40;
	cr_assert_eq(nhi_buf_put_cstring(b, "nistp256"), 0);
	cr_assert_eq(nhi_buf_put_string(b, point, 65), 0);
	len = nhi_buf_len(b);
	cr_assert_eq(nhi_key_get_pubfields(b, NHI_KEY_ECDSA_P256, &k), NHI_ERR_KEY_INVALID);
	cr_assert_null(k);
	cr_assert_eq(nhi_buf_len(b), len);
	cr_assert_eq(nhi_key_get_pubfields_for_match(b, NHI_KEY_ECDSA_P256, &k), 0);
	cr_assert_eq(nhi_buf_len(b), 0);
	nhi_key_free(k);
	nhi_buf_free(b);
}

Test(sshkey_match, check_curve_passes_every_other_type)
{
	static const char ed25519[] =
	        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAOhB7/zzhC+HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4";
	struct nhi_key *k = NULL;

	cr_assert_eq(nhi_key_check_curve(NULL), NHI_ERR_INVALID_ARGUMENT);
	cr_assert_eq(nhi_key_from_text(ed25519, &k, NULL), 0);
	cr_assert_eq(nhi_key_check_curve(k), 0);
	nhi_key_free(k);
	cr_assert_eq(nhi_key_from_text(p256_line, &k, NULL), 0);
	cr_assert_eq(nhi_key_check_curve(k), 0);
	nhi_key_free(k);
}

/* Both parsers on one blob: the same answer, or the full one alone refuses
 * an ECDSA point off its curve. */
static void agree_on_blob(const uint8_t *blob, size_t len)
{
	struct nhi_key *full = NULL, *match = NULL;
	int rf = nhi_key_from_blob(blob, len, &full);
	int rm = nhi_key_from_blob_for_match(blob, len, &match);

	if (rm < 0) {
		cr_assert_eq(rf, rm, "full %d, for_match %d", rf, rm);
	} else if (rf == 0) {
		cr_assert(nhi_key_equal(full, match));
	} else {
		cr_assert_eq(rf, NHI_ERR_KEY_INVALID);
		cr_assert(is_ecdsa(match->type), "type %d refused only by the full parser",
		          (int)match->type);
		cr_assert_lt(nhi_key_check_curve(match), 0);
	}
	nhi_key_free(full);
	nhi_key_free(match);
}

/* The same for an authorized_keys line, reasons included. */
static void agree_on_line(const char *line)
{
	struct nhi_authkey *full = NULL, *match = NULL;
	const char *rfull = NULL, *rmatch = NULL;
	size_t len = strlen(line);
	int rf = nhi_authkeys_parse_line(line, len, &full, &rfull);
	int rm = nhi_authkeys_parse_line_for_match(line, len, &match, &rmatch);

	if (rm < 0) {
		cr_assert_eq(rf, rm);
		cr_assert_str_eq(rfull, rmatch);
	} else if (rf == 0) {
		cr_assert_eq(full == NULL, match == NULL);
		if (full != NULL)
			cr_assert(nhi_key_equal(full->key, match->key));
	} else {
		cr_assert_eq(rf, NHI_ERR_KEY_INVALID);
		cr_assert_str_eq(rfull, "invalid key blob");
		cr_assert(match != NULL && is_ecdsa(match->key->type));
		cr_assert_lt(nhi_key_check_curve(match->key), 0);
	}
	nhi_authkey_free(full);
	nhi_authkey_free(match);
}

/* Every single-bit flip and every truncation of the key's blob, as a blob
 * and inside an authorized_keys line. */
static void agree_on_mutations(const struct nhi_key *key)
{
	struct nhi_buf *blob = blob_of(key);
	const char *name = nhi_key_type_name(key->type);
	size_t len = nhi_buf_len(blob);
	uint8_t *m = malloc(len);
	char *b64, *line;

	cr_assert_not_null(m);
	for (size_t i = 0; i <= len * 8; i++) {
		memcpy(m, nhi_buf_ptr(blob), len);
		if (i < len * 8)
			m[i / 8] ^= (uint8_t)(1u << (i % 8));
		agree_on_blob(m, len);
		agree_on_blob(m, i / 8);

		cr_assert_eq(nhi_b64_encode(m, len, &b64), 0);
		cr_assert(asprintf(&line, "from=\"10.0.0.0/8\" %s %s c", name, b64) > 0);
		agree_on_line(line);
		free(line);
		free(b64);
	}
	free(m);
	nhi_buf_free(blob);
}

Test(sshkey_match, the_parsers_agree_but_for_the_curve)
{
	static const char *const kinds[][2] = {
	        {"ed25519", NULL}, {"ecdsa", "256"}, {"ecdsa", "384"},
	        {"ecdsa", "521"},  {"rsa", "2048"},
	};
	char *dir = test_mkdtemp();
	struct nhi_key *key = NULL;

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		char *path = NULL, *pub = NULL, *text;

		cr_assert(asprintf(&path, "%s/key%zu", dir, i) > 0);
		char *argv[] = {(char *)test_ssh_keygen(),
		                "-q",
		                "-N",
		                "",
		                "-t",
		                (char *)kinds[i][0],
		                "-f",
		                path,
		                kinds[i][1] != NULL ? "-b" : NULL,
		                (char *)kinds[i][1],
		                NULL};

		cr_assert(asprintf(&pub, "%s.pub", path) > 0);
		cr_assert_eq(test_run(argv, NULL), 0, "ssh-keygen -t %s", kinds[i][0]);
		text = test_read_file(pub, NULL);
		cr_assert_eq(nhi_key_from_text(text, &key, NULL), 0);
		agree_on_mutations(key);
		nhi_key_free(key);
		free(text);
		free(pub);
		free(path);
	}
	cr_assert_eq(nhi_key_from_text(p256_line, &key, NULL), 0);
	agree_on_mutations(key);
	nhi_key_free(key);
	test_rmtree(dir);
	free(dir);
}

#include "config.h"

#include <criterion/criterion.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "buf.h"
#include "err.h"
#include "sshkey.h"
#include "support.h"

/* Fixed vectors: built from known bytes (Ed25519 seed 00..1f, P-256 scalar
 * 0x0123456789abcdef) and fingerprinted by ssh-keygen 9.2. */
static const char sk_ed25519_line[] =
        "sk-ssh-ed25519@openssh.com "
        "AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29tAAAAIAOhB7/zzhC+HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4"
        "AAAABHNzaDo= fixed sk ed25519";
static const char sk_ed25519_fp[] = "SHA256:zZRfREUNsMUzSOFB5SbeIp9ej3rAmmnO94dMSqCRPD8";
static const char sk_ecdsa_line[] =
        "sk-ecdsa-sha2-nistp256@openssh.com "
        "AAAAInNrLWVjZHNhLXNoYTItbmlzdHAyNTZAb3BlbnNzaC5jb20AAAAIbmlzdHAyNTYAAABBBDmIMiq59Sx/EdXR"
        "qpKirAsAJ1vK2Ok0aCJXMj/aZySChVtzifEWwZwAFDEcPVfcAgAeOg7IvZDHl3MgNKrNmRgAAAAEc3NoOg== "
        "fixed sk ecdsa";
static const char sk_ecdsa_fp[] = "SHA256:eZHIBdF9L+NFQK7ftO7ExKhFB0wFU+bKo7YNzOrOAvU";
static const char dsa_line[] =
        "ssh-dss "
        "AAAAB3NzaC1kc3MAAACBAP6rIaa0nGI3mmv0ea+W6m+vCzYTH4iaboXcwKtyCPxwAC49PhzpPudMiVH4facoaJev"
        "Bdck+C11kEqPDY4SUUlsdYYEkV4qwJURqskpcCFlLCeamqnA/TlC11ek/eiRzOWiJNSRTuftq010JZyrKAlC1dEV"
        "283fkBy+cg85ezCNAAAAFQCPC/8GA39XAvRNZ7RO09DkvZp/ZQAAAIA+Gq+s07ARm6iVkAyz6Kc8eD74QJfbKsT6"
        "xwZHBWpRQeLuKD8CVlWVlcvERTI43sUVE1izSb+tpZo5iGPFSIEcJOzZ8mRHjbwgkJL82goF1qd/JM3OmYGwersR"
        "zuFnQatZtkxZgjE7LYU4tHgbt0LbbhulvL3i5Oly0X/9YT8apgAAAIEA6Zzt4BYjTI0XIgutiEX/OX+D7kO+21zz"
        "aQvZNrz5xWbAZE2x/Jsufxi10jDcJM2heW77TIBicMRZ/MnKFCZR8MWaBy2U/g0lklqZMSWPt7xGnAm8yYBnjl/B"
        "BSrugAxkLb0EeLwfPEnrbhTmz7zigecRyVqkWRyFLiGy29CJALc= old dsa";
static const char dsa_fp[] = "SHA256:3B/QAsynNcLiwIuUrloSuqS5HrBRcZlNakxW1ZftHEk";

struct gen_key {
	const char *file, *type, *bits;
	enum nhi_key_type expect_type;
	unsigned expect_bits;
	enum nhi_key_verdict expect_verdict;
};

static const struct gen_key corpus[] = {
        {"ed25519", "ed25519", NULL, NHI_KEY_ED25519, 256, NHI_KEY_ACCEPTABLE},
        {"ecdsa256", "ecdsa", "256", NHI_KEY_ECDSA_P256, 256, NHI_KEY_ACCEPTABLE},
        {"ecdsa384", "ecdsa", "384", NHI_KEY_ECDSA_P384, 384, NHI_KEY_ACCEPTABLE},
        {"ecdsa521", "ecdsa", "521", NHI_KEY_ECDSA_P521, 521, NHI_KEY_ACCEPTABLE},
        {"rsa1024", "rsa", "1024", NHI_KEY_RSA, 1024, NHI_KEY_REFUSED},
        {"rsa2048", "rsa", "2048", NHI_KEY_RSA, 2048, NHI_KEY_WEAK},
        {"rsa3072", "rsa", "3072", NHI_KEY_RSA, 3072, NHI_KEY_ACCEPTABLE},
        {"rsa4096", "rsa", "4096", NHI_KEY_RSA, 4096, NHI_KEY_ACCEPTABLE},
};
#define CORPUS_N (sizeof(corpus) / sizeof(corpus[0]))

static void chomp(char *s)
{
	size_t n = strlen(s);

	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r'))
		s[--n] = '\0';
}

/* Generates dir/file with ssh-keygen and returns the .pub line. */
static char *keygen(const char *dir, const struct gen_key *g)
{
	char *path = test_path(dir, g->file), *pub_path, *out = NULL, *line, comment[64];
	char *argv[16];
	int i = 0;

	snprintf(comment, sizeof(comment), "nhi test %s", g->file);
	argv[i++] = (char *)test_ssh_keygen();
	argv[i++] = "-q";
	argv[i++] = "-t";
	argv[i++] = (char *)g->type;
	if (g->bits != NULL) {
		argv[i++] = "-b";
		argv[i++] = (char *)g->bits;
	}
	argv[i++] = "-N";
	argv[i++] = "";
	argv[i++] = "-C";
	argv[i++] = comment;
	argv[i++] = "-f";
	argv[i++] = path;
	argv[i] = NULL;
	cr_assert_eq(test_run(argv, &out), 0, "ssh-keygen: %s", out);
	free(out);
	cr_assert(asprintf(&pub_path, "%s.pub", path) > 0);
	line = test_read_file(pub_path, NULL);
	chomp(line);
	free(pub_path);
	free(path);
	return line;
}

/* Runs ssh-keygen -lf on a public key file: bits and fingerprint. */
static void keygen_lf(const char *path, unsigned *ret_bits, char fp[128])
{
	char *argv[] = {(char *)test_ssh_keygen(), "-lf", (char *)path, NULL};
	char *out = NULL;

	cr_assert_eq(test_run(argv, &out), 0, "ssh-keygen -lf %s: %s", path, out);
	cr_assert_eq(sscanf(out, "%u %127s", ret_bits, fp), 2, "unexpected: %s", out);
	free(out);
}

static struct nhi_buf *text_to_blob(const char *line)
{
	const char *b = strchr(line, ' ') + 1;
	const char *e = strchr(b, ' ');
	struct nhi_buf *blob = nhi_buf_new();

	cr_assert_not_null(blob);
	cr_assert_eq(nhi_b64_decode(b, e == NULL ? strlen(b) : (size_t)(e - b), blob), 0);
	return blob;
}

Test(sshkey, type_names)
{
	enum nhi_key_type t;
	bool cert;

	for (t = NHI_KEY_ED25519; t <= NHI_KEY_DSA; t++) {
		cr_assert_eq(nhi_key_type_from_name(nhi_key_type_name(t), &cert), t);
		cr_assert(!cert);
		cr_assert_eq(nhi_key_type_from_name(nhi_key_cert_type_name(t), &cert), t);
		cr_assert(cert);
	}
	cr_assert_null(nhi_key_type_name(NHI_KEY_UNKNOWN));
	cr_assert_eq(nhi_key_type_from_name("rsa-sha2-256", &cert), NHI_KEY_UNKNOWN);
	cr_assert_eq(nhi_key_type_from_name("ssh-ed25519 ", &cert), NHI_KEY_UNKNOWN);
	cr_assert_str_eq(nhi_key_curve_name(NHI_KEY_ECDSA_P521), "nistp521");
	cr_assert_str_eq(nhi_key_curve_name(NHI_KEY_SK_ECDSA_P256), "nistp256");
	cr_assert_null(nhi_key_curve_name(NHI_KEY_RSA));
}

/* Every kind of key ssh-keygen makes: our text and blob round-trip byte
 * for byte, and fingerprint and size match what ssh-keygen -lf says. */
Test(sshkey, corpus_matches_ssh_keygen, .timeout = 120)
{
	char *dir = test_mkdtemp();
	size_t i;

	for (i = 0; i < CORPUS_N; i++) {
		char *line = keygen(dir, &corpus[i]), *again = NULL, *comment = NULL, *pub_path;
		char fp[NHI_FINGERPRINT_MAX], kfp[128];
		struct nhi_key *key = NULL, *copy = NULL, *from_blob = NULL;
		struct nhi_buf *blob = text_to_blob(line), *ours = nhi_buf_new();
		const char *reason = NULL;
		unsigned kbits = 0;

		cr_assert_eq(nhi_key_from_text(line, &key, &comment), 0, "%s", line);
		cr_assert_eq(key->type, corpus[i].expect_type);
		cr_assert_not_null(comment);
		cr_assert(strncmp(comment, "nhi test ", 9) == 0);
		cr_assert_eq(nhi_key_to_text(key, comment, &again), 0);
		cr_assert_str_eq(again, line);

		cr_assert_eq(nhi_key_to_blob(key, ours), 0);
		cr_assert_eq(nhi_buf_len(ours), nhi_buf_len(blob));
		cr_assert(memcmp(nhi_buf_ptr(ours), nhi_buf_ptr(blob), nhi_buf_len(blob)) == 0);
		cr_assert_eq(nhi_key_from_blob(nhi_buf_ptr(blob), nhi_buf_len(blob), &from_blob),
		             0);
		cr_assert(nhi_key_equal(key, from_blob));
		cr_assert_eq(nhi_key_dup(key, &copy), 0);
		cr_assert(nhi_key_equal(key, copy));

		cr_assert(asprintf(&pub_path, "%s/%s.pub", dir, corpus[i].file) > 0);
		keygen_lf(pub_path, &kbits, kfp);
		cr_assert_eq(nhi_key_fingerprint(key, fp), 0);
		cr_assert_str_eq(fp, kfp, "%s", corpus[i].file);
		cr_assert_eq(nhi_key_bits(key), kbits, "%s", corpus[i].file);
		cr_assert_eq(nhi_key_bits(key), corpus[i].expect_bits);
		cr_assert_eq(nhi_key_policy(key, &reason), corpus[i].expect_verdict, "%s: %s",
		             corpus[i].file, reason);
		cr_assert_not_null(reason);

		free(pub_path);
		nhi_buf_free(ours);
		nhi_buf_free(blob);
		nhi_key_free(copy);
		nhi_key_free(from_blob);
		nhi_key_free(key);
		free(comment);
		free(again);
		free(line);
	}
	test_rmtree(dir);
	free(dir);
}

static void check_fixed(const char *line, enum nhi_key_type type, const char *want_fp,
                        unsigned want_bits)
{
	struct nhi_key *key = NULL;
	char *comment = NULL, *again = NULL, fp[NHI_FINGERPRINT_MAX];

	cr_assert_eq(nhi_key_from_text(line, &key, &comment), 0, "%s", line);
	cr_assert_eq(key->type, type);
	cr_assert_eq(nhi_key_fingerprint(key, fp), 0);
	cr_assert_str_eq(fp, want_fp);
	cr_assert_eq(nhi_key_bits(key), want_bits);
	cr_assert_eq(nhi_key_to_text(key, comment, &again), 0);
	cr_assert_str_eq(again, line);
	nhi_key_free(key);
	free(comment);
	free(again);
}

Test(sshkey, sk_fixed_vectors)
{
	struct nhi_key *key = NULL;
	static const uint8_t ed_pk_prefix[] = {0x03, 0xa1, 0x07, 0xbf};

	check_fixed(sk_ed25519_line, NHI_KEY_SK_ED25519, sk_ed25519_fp, 256);
	check_fixed(sk_ecdsa_line, NHI_KEY_SK_ECDSA_P256, sk_ecdsa_fp, 256);
	cr_assert_eq(nhi_key_from_text(sk_ed25519_line, &key, NULL), 0);
	cr_assert_str_eq(key->sk_application, "ssh:");
	cr_assert(memcmp(key->ed25519_pk, ed_pk_prefix, sizeof(ed_pk_prefix)) == 0);
	cr_assert_eq(nhi_key_policy(key, NULL), NHI_KEY_ACCEPTABLE);
	nhi_key_free(key);
}

/* ssh-keygen fingerprints sk public keys without a token: check it agrees. */
Test(sshkey, sk_fingerprints_match_ssh_keygen)
{
	char *dir = test_mkdtemp(), *path = test_path(dir, "sk.pub"), kfp[128];
	const char *lines[] = {sk_ed25519_line, sk_ecdsa_line, dsa_line};
	const char *fps[] = {sk_ed25519_fp, sk_ecdsa_fp, dsa_fp};
	unsigned bits;
	size_t i;

	for (i = 0; i < 3; i++) {
		test_write_file(path, lines[i], strlen(lines[i]), 0644);
		keygen_lf(path, &bits, kfp);
		cr_assert_str_eq(kfp, fps[i]);
	}
	test_rmtree(dir);
	free(dir);
	free(path);
}

Test(sshkey, dsa_parses_and_is_refused)
{
	struct nhi_key *key = NULL;
	const char *reason = NULL;
	static const uint8_t sig[] = {0, 0, 0, 7, 's', 's', 'h', '-', 'd', 's', 's', 0, 0, 0, 0};

	check_fixed(dsa_line, NHI_KEY_DSA, dsa_fp, 1024);
	cr_assert_eq(nhi_key_from_text(dsa_line, &key, NULL), 0);
	cr_assert_eq(nhi_key_policy(key, &reason), NHI_KEY_REFUSED);
	cr_assert(strstr(reason, "DSA") != NULL);
	cr_assert_eq(nhi_key_verify(key, sig, sizeof(sig), (const uint8_t *)"x", 1),
	             NHI_ERR_KEY_REFUSED);
	nhi_key_free(key);
}

Test(sshkey, text_forms)
{
	struct nhi_key *key = NULL;
	char *comment = (char *)1, *line, *text = NULL;

	/* Blanks around the line and between fields; no comment. */
	cr_assert(asprintf(&line, " \t%.*s\t  \r\n",
	                   (int)(strchr(sk_ed25519_line + 27, ' ') - sk_ed25519_line),
	                   sk_ed25519_line) > 0);
	cr_assert_eq(nhi_key_from_text(line, &key, &comment), 0, "%s", line);
	cr_assert_null(comment);
	cr_assert_eq(key->type, NHI_KEY_SK_ED25519);
	cr_assert_eq(nhi_key_to_text(key, NULL, &text), 0);
	cr_assert(strncmp(text, sk_ed25519_line, strlen(text)) == 0);
	cr_assert_eq(text[strlen(text) - 1], '=');
	free(text);
	/* A comment with inner blanks is kept as is; a newline in it is refused. */
	cr_assert_eq(nhi_key_to_text(key, "a  b\tc", &text), 0);
	cr_assert(strstr(text, "= a  b\tc") != NULL);
	nhi_key_free(key);
	key = NULL;
	cr_assert_eq(nhi_key_from_text(text, &key, &comment), 0);
	cr_assert_str_eq(comment, "a  b\tc");
	cr_assert_eq(nhi_key_to_text(key, "bad\ncomment", &line), NHI_ERR_INVALID_ARGUMENT);
	free(comment);
	free(text);
	nhi_key_free(key);
}

static void expect_text_error(const char *line, int want)
{
	struct nhi_key *key = (struct nhi_key *)1;
	char *comment = (char *)1;

	cr_assert_eq(nhi_key_from_text(line, &key, &comment), want, "%s", line);
	/* Outputs untouched on failure. */
	cr_assert_eq(key, (struct nhi_key *)1);
	cr_assert_eq(comment, (char *)1);
}

Test(sshkey, hostile_text)
{
	const char *b64 = strchr(sk_ed25519_line, ' ') + 1;
	char *line, *huge;
	size_t b64_len = (size_t)(strchr(b64, ' ') - b64);

	expect_text_error("", NHI_ERR_INVALID_FORMAT);
	expect_text_error("   ", NHI_ERR_INVALID_FORMAT);
	expect_text_error("ssh-ed25519", NHI_ERR_INVALID_FORMAT);
	expect_text_error("ssh-ed25519   ", NHI_ERR_INVALID_FORMAT);
	expect_text_error("ssh-foo AAAA", NHI_ERR_KEY_TYPE_UNKNOWN);
	expect_text_error("ssh-ed25519 AAAA*AAA", NHI_ERR_BASE64);
	expect_text_error("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5", NHI_ERR_MESSAGE_INCOMPLETE);
	expect_text_error("ssh-ed25519 AAAAC3NzaC1lZDI1NTE", NHI_ERR_BASE64);
	/* The text says one type, the blob another. */
	cr_assert(asprintf(&line, "ssh-ed25519 %.*s", (int)b64_len, b64) > 0);
	expect_text_error(line, NHI_ERR_KEY_TYPE_MISMATCH);
	free(line);
	cr_assert(asprintf(&line, "ssh-ed25519-cert-v01@openssh.com %.*s", (int)b64_len, b64) > 0);
	expect_text_error(line, NHI_ERR_KEY_IS_CERT);
	free(line);
	/* Base64 without its padding, and base64 with a stray character. */
	cr_assert(asprintf(&line, "sk-ssh-ed25519@openssh.com %.*s", (int)b64_len - 1, b64) > 0);
	expect_text_error(line, NHI_ERR_BASE64);
	free(line);
	cr_assert(asprintf(&line, "sk-ssh-ed25519@openssh.com %.*s=", (int)b64_len, b64) > 0);
	expect_text_error(line, NHI_ERR_BASE64);
	free(line);
	/* Two lines in one. */
	cr_assert(asprintf(&line, "%s\n%s", sk_ed25519_line, sk_ecdsa_line) > 0);
	expect_text_error(line, NHI_ERR_INVALID_FORMAT);
	free(line);
	/* Longer than any key line sshd reads. */
	huge = malloc(NHI_KEY_TEXT_MAX + 2);
	cr_assert_not_null(huge);
	memset(huge, 'A', NHI_KEY_TEXT_MAX + 1);
	memcpy(huge, "ssh-rsa ", 8);
	huge[NHI_KEY_TEXT_MAX + 1] = '\0';
	expect_text_error(huge, NHI_ERR_LINE_TOO_LONG);
	free(huge);
	expect_text_error(NULL, NHI_ERR_INVALID_ARGUMENT);
}

/* Every truncation of a valid blob fails cleanly, and so does a blob with
 * bytes appended; a random bit flip never crashes. */
static void hostile_blob(const uint8_t *blob, size_t len)
{
	struct nhi_key *key = NULL;
	uint8_t *copy = malloc(len + 1);
	size_t i;

	cr_assert_not_null(copy);
	for (i = 0; i < len; i++) {
		memcpy(copy, blob, i); /* heap copy so ASan sees reads past i */
		key = (struct nhi_key *)1;
		cr_assert_lt(nhi_key_from_blob(copy, i, &key), 0, "truncated at %zu of %zu", i,
		             len);
		cr_assert_eq(key, (struct nhi_key *)1);
	}
	memcpy(copy, blob, len);
	copy[len] = 0;
	cr_assert_eq(nhi_key_from_blob(copy, len + 1, &key), NHI_ERR_INVALID_FORMAT);
	for (i = 0; i < len * 8; i += 3) {
		key = NULL;
		memcpy(copy, blob, len);
		copy[i / 8] ^= (uint8_t)(1u << (i % 8));
		if (nhi_key_from_blob(copy, len, &key) == 0) {
			/* What parses must serialize back to the same bytes. */
			struct nhi_buf *out = nhi_buf_new();

			cr_assert_eq(nhi_key_to_blob(key, out), 0);
			cr_assert_eq(nhi_buf_len(out), len);
			cr_assert(memcmp(nhi_buf_ptr(out), copy, len) == 0);
			nhi_buf_free(out);
			nhi_key_free(key);
		}
	}
	free(copy);
}

Test(sshkey, hostile_blobs, .timeout = 120)
{
	char *dir = test_mkdtemp();
	const char *fixed[] = {sk_ed25519_line, sk_ecdsa_line, dsa_line};
	static const size_t pick[] = {0, 1, 2, 3, 6};
	size_t i;

	for (i = 0; i < sizeof(pick) / sizeof(pick[0]); i++) {
		char *line = keygen(dir, &corpus[pick[i]]);
		struct nhi_buf *blob = text_to_blob(line);

		hostile_blob(nhi_buf_ptr(blob), nhi_buf_len(blob));
		nhi_buf_free(blob);
		free(line);
	}
	for (i = 0; i < 3; i++) {
		struct nhi_buf *blob = text_to_blob(fixed[i]);

		hostile_blob(nhi_buf_ptr(blob), nhi_buf_len(blob));
		nhi_buf_free(blob);
	}
	test_rmtree(dir);
	free(dir);
}

/* A P-256 point from the fixed sk vector, used to build ECDSA blobs. */
static void fixed_p256_point(uint8_t point[65])
{
	struct nhi_key *key = NULL;

	cr_assert_eq(nhi_key_from_text(sk_ecdsa_line, &key, NULL), 0);
	cr_assert_eq(key->ec_point_len, 65);
	memcpy(point, key->ec_point, 65);
	nhi_key_free(key);
}

static int parse_ecdsa(const char *type, const char *curve, const uint8_t *point, size_t len)
{
	struct nhi_buf *b = nhi_buf_new();
	struct nhi_key *key = NULL;
	int r;

	cr_assert_eq(nhi_buf_put_cstring(b, type), 0);
	cr_assert_eq(nhi_buf_put_cstring(b, curve), 0);
	cr_assert_eq(nhi_buf_put_string(b, point, len), 0);
	r = nhi_key_from_blob(nhi_buf_ptr(b), nhi_buf_len(b), &key);
	nhi_key_free(key);
	nhi_buf_free(b);
	return r;
}

Test(sshkey, hostile_ecdsa)
{
	uint8_t point[65], bad[65];

	fixed_p256_point(point);
	cr_assert_eq(parse_ecdsa("ecdsa-sha2-nistp256", "nistp256", point, 65), 0);
	/* The curve inside must be the curve of the type. */
	cr_assert_eq(parse_ecdsa("ecdsa-sha2-nistp256", "nistp384", point, 65),
	             NHI_ERR_KEY_TYPE_MISMATCH);
	cr_assert_eq(parse_ecdsa("ecdsa-sha2-nistp384", "nistp384", point, 65),
	             NHI_ERR_KEY_INVALID);
	cr_assert_eq(parse_ecdsa("ecdsa-sha2-nistp256", "nistp256\0", point, 65), 0);
	/* A point off the curve. */
	memcpy(bad, point, 65);
	bad[64] ^= 1;
	cr_assert_eq(parse_ecdsa("ecdsa-sha2-nistp256", "nistp256", bad, 65), NHI_ERR_KEY_INVALID);
	/* Compressed, hybrid and infinity encodings are refused. */
	bad[0] = 0x02;
	cr_assert_eq(parse_ecdsa("ecdsa-sha2-nistp256", "nistp256", point, 33),
	             NHI_ERR_KEY_INVALID);
	memcpy(bad, point, 65);
	bad[0] = 0x06;
	cr_assert_eq(parse_ecdsa("ecdsa-sha2-nistp256", "nistp256", bad, 65), NHI_ERR_KEY_INVALID);
	bad[0] = 0x00;
	cr_assert_eq(parse_ecdsa("ecdsa-sha2-nistp256", "nistp256", bad, 1), NHI_ERR_KEY_INVALID);
	memset(bad, 0, sizeof(bad));
	bad[0] = 0x04;
	cr_assert_eq(parse_ecdsa("ecdsa-sha2-nistp256", "nistp256", bad, 65), NHI_ERR_KEY_INVALID);
}

static int parse_rsa(const uint8_t *e, size_t elen, const uint8_t *n, size_t nlen)
{
	struct nhi_buf *b = nhi_buf_new();
	struct nhi_key *key = NULL;
	int r;

	cr_assert_eq(nhi_buf_put_cstring(b, "ssh-rsa"), 0);
	cr_assert_eq(nhi_buf_put_bignum2_bytes(b, e, elen), 0);
	cr_assert_eq(nhi_buf_put_bignum2_bytes(b, n, nlen), 0);
	r = nhi_key_from_blob(nhi_buf_ptr(b), nhi_buf_len(b), &key);
	nhi_key_free(key);
	nhi_buf_free(b);
	return r;
}

Test(sshkey, hostile_rsa_and_lengths)
{
	static const uint8_t e65537[] = {1, 0, 1}, e_even[] = {1, 0, 0}, e1[] = {1};
	static uint8_t n[2049], e_big[9];
	static const uint8_t huge_len[] = {0,   0,   0,   7,    's',  's',  'h',  '-',
	                                   'r', 's', 'a', 0xff, 0xff, 0xff, 0xff, 1};
	static const uint8_t cert_blob[] = {0,   0,   0,   32,  's', 's', 'h', '-', 'e',
	                                    'd', '2', '5', '5', '1', '9', '-', 'c', 'e',
	                                    'r', 't', '-', 'v', '0', '1', '@', 'o', 'p',
	                                    'e', 'n', 's', 's', 'h', '.', 'c', 'o', 'm'};
	static const uint8_t nul_name[] = {0,   0,   0,   12,  's', 's', 'h', '-',
	                                   'e', 'd', '2', '5', '5', '1', '9', 0};
	struct nhi_key *key = NULL;

	memset(n, 0xc5, sizeof(n));
	cr_assert_eq(parse_rsa(e65537, 3, n, 256), 0);
	cr_assert_eq(parse_rsa(e_even, 3, n, 256), NHI_ERR_KEY_INVALID);
	cr_assert_eq(parse_rsa(e1, 1, n, 256), NHI_ERR_KEY_INVALID);
	cr_assert_eq(parse_rsa(e65537, 3, n, 0), NHI_ERR_KEY_INVALID);
	cr_assert_eq(parse_rsa(e65537, 0, n, 256), NHI_ERR_KEY_INVALID);
	/* Too small to be an OpenSSH key, and too large for anyone. */
	cr_assert_eq(parse_rsa(e65537, 3, n, 64), NHI_ERR_KEY_INVALID);
	cr_assert_eq(parse_rsa(e65537, 3, n, 2048), 0);
	cr_assert_lt(parse_rsa(e65537, 3, n, 2049), 0);
	memset(e_big, 0x01, sizeof(e_big));
	cr_assert_eq(parse_rsa(e_big, sizeof(e_big), n, 256), NHI_ERR_BIGNUM_TOO_LARGE);
	n[255] = 0xc4;
	cr_assert_eq(parse_rsa(e65537, 3, n, 256), NHI_ERR_KEY_INVALID);

	cr_assert_lt(nhi_key_from_blob(huge_len, sizeof(huge_len), &key), 0);
	cr_assert_eq(nhi_key_from_blob(cert_blob, sizeof(cert_blob), &key), NHI_ERR_KEY_IS_CERT);
	cr_assert_eq(nhi_key_from_blob(nul_name, sizeof(nul_name), &key), NHI_ERR_KEY_TYPE_UNKNOWN);
	cr_assert_eq(nhi_key_from_blob(NULL, 0, &key), NHI_ERR_MESSAGE_INCOMPLETE);
	cr_assert_null(key);
}

Test(sshkey, pubfields_consume_only_on_success)
{
	struct nhi_buf *blob = text_to_blob(sk_ecdsa_line), *view;
	struct nhi_key *key = NULL, *again = NULL;
	struct nhi_buf *out = nhi_buf_new();
	size_t before;

	cr_assert_eq(nhi_buf_get_string_direct(blob, NULL, NULL), 0);
	before = nhi_buf_len(blob);
	/* Wrong type for these fields: nothing consumed. */
	cr_assert_lt(nhi_key_get_pubfields(blob, NHI_KEY_ED25519, &key), 0);
	cr_assert_eq(nhi_buf_len(blob), before);
	cr_assert_eq(nhi_key_get_pubfields(blob, NHI_KEY_SK_ECDSA_P256, &key), 0);
	cr_assert_eq(nhi_buf_len(blob), 0);
	cr_assert_eq(nhi_key_put_pubfields(out, key), 0);
	cr_assert_eq(nhi_buf_len(out), before);
	view = nhi_buf_from(nhi_buf_ptr(out), nhi_buf_len(out));
	cr_assert_eq(nhi_key_get_pubfields(view, NHI_KEY_SK_ECDSA_P256, &again), 0);
	cr_assert(nhi_key_equal(key, again));
	/* A writer that fails leaves the output as it was. */
	free(again->ec_point);
	again->ec_point = NULL;
	nhi_buf_reset(out);
	cr_assert_eq(nhi_buf_put_u32(out, 7), 0);
	cr_assert_eq(nhi_key_to_blob(again, out), NHI_ERR_INVALID_ARGUMENT);
	cr_assert_eq(nhi_buf_len(out), 4);
	nhi_key_free(again);
	nhi_key_free(key);
	nhi_buf_free(view);
	nhi_buf_free(out);
	nhi_buf_free(blob);
}

/* Signature verification, against signatures made here with libsodium
 * and OpenSSL directly. */

static const uint8_t msg[] = "the data a certificate signature covers";

static struct nhi_buf *ssh_sig(const char *alg, const uint8_t *raw, size_t len)
{
	struct nhi_buf *b = nhi_buf_new();

	cr_assert_eq(nhi_buf_put_cstring(b, alg), 0);
	cr_assert_eq(nhi_buf_put_string(b, raw, len), 0);
	return b;
}

static int verify_buf(const struct nhi_key *key, const struct nhi_buf *sig, const uint8_t *data,
                      size_t len)
{
	return nhi_key_verify(key, nhi_buf_ptr(sig), nhi_buf_len(sig), data, len);
}

/* Flips each bit of the message and a sample of the signature's bits:
 * every one must fail. */
static void expect_tamper_fails(const struct nhi_key *key, const struct nhi_buf *sig)
{
	uint8_t data[sizeof(msg)], *s;
	size_t i, n = nhi_buf_len(sig);

	cr_assert_eq(verify_buf(key, sig, msg, sizeof(msg)), 0);
	for (i = 0; i < sizeof(msg) * 8; i += 7) {
		memcpy(data, msg, sizeof(msg));
		data[i / 8] ^= (uint8_t)(1u << (i % 8));
		cr_assert_lt(verify_buf(key, sig, data, sizeof(msg)), 0, "data bit %zu", i);
	}
	cr_assert_lt(verify_buf(key, sig, msg, sizeof(msg) - 1), 0);
	s = malloc(n + 1);
	cr_assert_not_null(s);
	for (i = 0; i < n * 8; i += 5) {
		memcpy(s, nhi_buf_ptr(sig), n);
		s[i / 8] ^= (uint8_t)(1u << (i % 8));
		cr_assert_lt(nhi_key_verify(key, s, n, msg, sizeof(msg)), 0, "sig bit %zu", i);
	}
	for (i = 0; i < n; i++) {
		memcpy(s, nhi_buf_ptr(sig), i);
		cr_assert_lt(nhi_key_verify(key, s, i, msg, sizeof(msg)), 0, "sig cut at %zu", i);
	}
	memcpy(s, nhi_buf_ptr(sig), n);
	s[n] = 0;
	cr_assert_eq(nhi_key_verify(key, s, n + 1, msg, sizeof(msg)), NHI_ERR_INVALID_FORMAT);
	free(s);
}

static struct nhi_key *ed25519_key(enum nhi_key_type type, const uint8_t pk[32])
{
	struct nhi_buf *b = nhi_buf_new();
	struct nhi_key *key = NULL;

	cr_assert_eq(nhi_buf_put_cstring(b, nhi_key_type_name(type)), 0);
	cr_assert_eq(nhi_buf_put_string(b, pk, 32), 0);
	if (type == NHI_KEY_SK_ED25519)
		cr_assert_eq(nhi_buf_put_cstring(b, "ssh:"), 0);
	cr_assert_eq(nhi_key_from_blob(nhi_buf_ptr(b), nhi_buf_len(b), &key), 0);
	nhi_buf_free(b);
	return key;
}

Test(sshkey, verify_ed25519)
{
	uint8_t pk[32], sk[64], raw[64], other_pk[32];
	struct nhi_key *key, *other;
	struct nhi_buf *sig;

	cr_assert_geq(sodium_init(), 0);
	crypto_sign_keypair(pk, sk);
	crypto_sign_detached(raw, NULL, msg, sizeof(msg), sk);
	key = ed25519_key(NHI_KEY_ED25519, pk);
	sig = ssh_sig("ssh-ed25519", raw, sizeof(raw));
	expect_tamper_fails(key, sig);
	/* Right signature, wrong key; and a signature under a foreign name. */
	crypto_sign_keypair(other_pk, sk);
	other = ed25519_key(NHI_KEY_ED25519, other_pk);
	cr_assert_eq(verify_buf(other, sig, msg, sizeof(msg)), NHI_ERR_SIGNATURE_INVALID);
	nhi_buf_free(sig);
	sig = ssh_sig("sk-ssh-ed25519@openssh.com", raw, sizeof(raw));
	cr_assert_eq(verify_buf(key, sig, msg, sizeof(msg)), NHI_ERR_SIGNATURE_INVALID);
	nhi_buf_free(sig);
	sig = ssh_sig("ssh-ed25519", raw, 63);
	cr_assert_eq(verify_buf(key, sig, msg, sizeof(msg)), NHI_ERR_SIGNATURE_INVALID);
	nhi_buf_free(sig);
	nhi_key_free(other);
	nhi_key_free(key);
}

/* The sk signature blob: string alg, string sig, byte flags, uint32 counter,
 * where the key signed SHA256(app) || flags || counter || SHA256(data). */
static void sk_message(const char *app, uint8_t flags, uint32_t counter, const uint8_t *data,
                       size_t len, uint8_t out[69])
{
	crypto_hash_sha256(out, (const uint8_t *)app, strlen(app));
	out[32] = flags;
	out[33] = (uint8_t)(counter >> 24);
	out[34] = (uint8_t)(counter >> 16);
	out[35] = (uint8_t)(counter >> 8);
	out[36] = (uint8_t)counter;
	crypto_hash_sha256(out + 37, data, len);
}

static struct nhi_buf *sk_ed25519_sig(const uint8_t sk[64], uint8_t flags, uint32_t counter)
{
	uint8_t m[69], raw[64];
	struct nhi_buf *sig;

	sk_message("ssh:", flags, counter, msg, sizeof(msg), m);
	crypto_sign_detached(raw, NULL, m, sizeof(m), sk);
	sig = ssh_sig("sk-ssh-ed25519@openssh.com", raw, sizeof(raw));
	cr_assert_eq(nhi_buf_put_u8(sig, flags), 0);
	cr_assert_eq(nhi_buf_put_u32(sig, counter), 0);
	return sig;
}

Test(sshkey, verify_sk_ed25519)
{
	uint8_t pk[32], sk[64];
	struct nhi_key *key;
	struct nhi_buf *sig;

	cr_assert_geq(sodium_init(), 0);
	crypto_sign_keypair(pk, sk);
	key = ed25519_key(NHI_KEY_SK_ED25519, pk);
	sig = sk_ed25519_sig(sk, 0x05, 42);
	expect_tamper_fails(key, sig);
	nhi_buf_free(sig);
	/* Without user presence the signature is refused even though it is valid. */
	sig = sk_ed25519_sig(sk, 0x04, 42);
	cr_assert_eq(verify_buf(key, sig, msg, sizeof(msg)), NHI_ERR_SIGNATURE_INVALID);
	nhi_buf_free(sig);
	/* The application is part of what was signed. */
	free(key->sk_application);
	key->sk_application = strdup("ssh:other");
	sig = sk_ed25519_sig(sk, 0x01, 1);
	cr_assert_eq(verify_buf(key, sig, msg, sizeof(msg)), NHI_ERR_SIGNATURE_INVALID);
	nhi_buf_free(sig);
	nhi_key_free(key);
}

/* ECDSA signing with OpenSSL; the DER signature becomes (mpint r, mpint s). */
static struct nhi_buf *ecdsa_raw_sig(EVP_PKEY *pkey, const EVP_MD *md, const uint8_t *data,
                                     size_t len)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint8_t der[256], num[80];
	const uint8_t *p = der;
	size_t der_len = sizeof(der);
	ECDSA_SIG *es;
	const BIGNUM *r, *s;
	struct nhi_buf *raw = nhi_buf_new();

	cr_assert_eq(EVP_DigestSignInit(ctx, NULL, md, NULL, pkey), 1);
	cr_assert_eq(EVP_DigestSign(ctx, der, &der_len, data, len), 1);
	cr_assert_not_null(es = d2i_ECDSA_SIG(NULL, &p, (long)der_len));
	ECDSA_SIG_get0(es, &r, &s);
	cr_assert_eq(nhi_buf_put_bignum2_bytes(raw, num, (size_t)BN_bn2bin(r, num)), 0);
	cr_assert_eq(nhi_buf_put_bignum2_bytes(raw, num, (size_t)BN_bn2bin(s, num)), 0);
	ECDSA_SIG_free(es);
	EVP_MD_CTX_free(ctx);
	return raw;
}

static struct nhi_key *ecdsa_key(EVP_PKEY *pkey, enum nhi_key_type type)
{
	uint8_t point[160];
	size_t len = 0;
	struct nhi_buf *b = nhi_buf_new();
	struct nhi_key *key = NULL;

	cr_assert_eq(EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_PUB_KEY, point,
	                                             sizeof(point), &len),
	             1);
	cr_assert_eq(nhi_buf_put_cstring(b, nhi_key_type_name(type)), 0);
	cr_assert_eq(nhi_buf_put_cstring(b, nhi_key_curve_name(type)), 0);
	cr_assert_eq(nhi_buf_put_string(b, point, len), 0);
	if (type == NHI_KEY_SK_ECDSA_P256)
		cr_assert_eq(nhi_buf_put_cstring(b, "ssh:"), 0);
	cr_assert_eq(nhi_key_from_blob(nhi_buf_ptr(b), nhi_buf_len(b), &key), 0);
	nhi_buf_free(b);
	return key;
}

Test(sshkey, verify_ecdsa)
{
	static const struct {
		enum nhi_key_type type;
		const char *curve;
		const EVP_MD *(*md)(void);
	} cases[] = {
	        {NHI_KEY_ECDSA_P256, "P-256", EVP_sha256},
	        {NHI_KEY_ECDSA_P384, "P-384", EVP_sha384},
	        {NHI_KEY_ECDSA_P521, "P-521", EVP_sha512},
	};
	size_t i;

	for (i = 0; i < 3; i++) {
		EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", cases[i].curve);
		struct nhi_key *key;
		struct nhi_buf *raw, *sig;

		cr_assert_not_null(pkey);
		key = ecdsa_key(pkey, cases[i].type);
		raw = ecdsa_raw_sig(pkey, cases[i].md(), msg, sizeof(msg));
		sig = ssh_sig(nhi_key_type_name(cases[i].type), nhi_buf_ptr(raw), nhi_buf_len(raw));
		expect_tamper_fails(key, sig);
		nhi_buf_free(sig);
		/* The hash is fixed by the curve: SHA-256 on P-384 must fail. */
		nhi_buf_free(raw);
		raw = ecdsa_raw_sig(pkey, i == 0 ? EVP_sha384() : EVP_sha256(), msg, sizeof(msg));
		sig = ssh_sig(nhi_key_type_name(cases[i].type), nhi_buf_ptr(raw), nhi_buf_len(raw));
		cr_assert_eq(verify_buf(key, sig, msg, sizeof(msg)), NHI_ERR_SIGNATURE_INVALID);
		nhi_buf_free(sig);
		nhi_buf_free(raw);
		nhi_key_free(key);
		EVP_PKEY_free(pkey);
	}
}

Test(sshkey, verify_sk_ecdsa)
{
	EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	struct nhi_key *key;
	struct nhi_buf *raw, *sig;
	uint8_t m[69];
	uint8_t flags;

	cr_assert_not_null(pkey);
	key = ecdsa_key(pkey, NHI_KEY_SK_ECDSA_P256);
	for (flags = 0; flags < 2; flags++) {
		sk_message("ssh:", flags, 7, msg, sizeof(msg), m);
		raw = ecdsa_raw_sig(pkey, EVP_sha256(), m, sizeof(m));
		sig = ssh_sig("sk-ecdsa-sha2-nistp256@openssh.com", nhi_buf_ptr(raw),
		              nhi_buf_len(raw));
		cr_assert_eq(nhi_buf_put_u8(sig, flags), 0);
		cr_assert_eq(nhi_buf_put_u32(sig, 7), 0);
		if (flags == 0)
			cr_assert_eq(verify_buf(key, sig, msg, sizeof(msg)),
			             NHI_ERR_SIGNATURE_INVALID);
		else
			expect_tamper_fails(key, sig);
		nhi_buf_free(sig);
		nhi_buf_free(raw);
	}
	nhi_key_free(key);
	EVP_PKEY_free(pkey);
}

static struct nhi_key *rsa_key(EVP_PKEY *pkey)
{
	BIGNUM *n = NULL, *e = NULL;
	uint8_t nb[1024], eb[16];
	struct nhi_buf *b = nhi_buf_new();
	struct nhi_key *key = NULL;

	cr_assert_eq(EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &n), 1);
	cr_assert_eq(EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &e), 1);
	cr_assert_eq(nhi_buf_put_cstring(b, "ssh-rsa"), 0);
	cr_assert_eq(nhi_buf_put_bignum2_bytes(b, eb, (size_t)BN_bn2bin(e, eb)), 0);
	cr_assert_eq(nhi_buf_put_bignum2_bytes(b, nb, (size_t)BN_bn2bin(n, nb)), 0);
	cr_assert_eq(nhi_key_from_blob(nhi_buf_ptr(b), nhi_buf_len(b), &key), 0);
	BN_free(n);
	BN_free(e);
	nhi_buf_free(b);
	return key;
}

static struct nhi_buf *rsa_sig(EVP_PKEY *pkey, const char *alg, const EVP_MD *md)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint8_t raw[1024];
	size_t len = sizeof(raw);

	cr_assert_eq(EVP_DigestSignInit(ctx, NULL, md, NULL, pkey), 1);
	cr_assert_eq(EVP_DigestSign(ctx, raw, &len, msg, sizeof(msg)), 1);
	EVP_MD_CTX_free(ctx);
	return ssh_sig(alg, raw, len);
}

Test(sshkey, verify_rsa, .timeout = 60)
{
	EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	EVP_PKEY *small = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	struct nhi_key *key, *small_key;
	struct nhi_buf *sig;

	cr_assert_not_null(pkey);
	cr_assert_not_null(small);
	key = rsa_key(pkey);
	sig = rsa_sig(pkey, "rsa-sha2-256", EVP_sha256());
	expect_tamper_fails(key, sig);
	nhi_buf_free(sig);
	sig = rsa_sig(pkey, "rsa-sha2-512", EVP_sha512());
	cr_assert_eq(verify_buf(key, sig, msg, sizeof(msg)), 0);
	nhi_buf_free(sig);
	/* The name says SHA-512, the signature is SHA-256. */
	sig = rsa_sig(pkey, "rsa-sha2-512", EVP_sha256());
	cr_assert_eq(verify_buf(key, sig, msg, sizeof(msg)), NHI_ERR_SIGNATURE_INVALID);
	nhi_buf_free(sig);
	/* SHA-1 signatures are refused even when they are valid. */
	sig = rsa_sig(pkey, "ssh-rsa", EVP_sha1());
	cr_assert_eq(verify_buf(key, sig, msg, sizeof(msg)), NHI_ERR_KEY_REFUSED);
	nhi_buf_free(sig);
	/* So are keys under 2048 bits. */
	small_key = rsa_key(small);
	sig = rsa_sig(small, "rsa-sha2-256", EVP_sha256());
	cr_assert_eq(verify_buf(small_key, sig, msg, sizeof(msg)), NHI_ERR_KEY_REFUSED);
	nhi_buf_free(sig);
	nhi_key_free(small_key);
	nhi_key_free(key);
	EVP_PKEY_free(small);
	EVP_PKEY_free(pkey);
}

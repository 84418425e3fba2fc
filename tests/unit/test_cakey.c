#include "config.h"

#include <criterion/criterion.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "b64.h"
#include "buf.h"
#include "cakey.h"
#include "err.h"
#include "sshkey.h"
#include "support.h"

static const uint8_t msg[] = "certificate bytes to be signed";

static void chomp(char *s)
{
	size_t n = strlen(s);

	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r'))
		s[--n] = '\0';
}

static int run_keygen(char **ret_out, const char *a1, const char *a2, const char *a3,
                      const char *a4, const char *a5, const char *a6, const char *a7,
                      const char *a8, const char *a9, const char *a10, const char *a11)
{
	char *argv[] = {(char *)test_ssh_keygen(),
	                (char *)a1,
	                (char *)a2,
	                (char *)a3,
	                (char *)a4,
	                (char *)a5,
	                (char *)a6,
	                (char *)a7,
	                (char *)a8,
	                (char *)a9,
	                (char *)a10,
	                (char *)a11,
	                NULL};

	return test_run(argv, ret_out);
}

static char *public_text(const struct nhi_ca_key *ca, const char *comment)
{
	struct nhi_key *key = NULL;
	char *text = NULL;

	cr_assert_eq(nhi_ca_public(ca, &key), 0);
	cr_assert_eq(nhi_key_to_text(key, comment, &text), 0);
	nhi_key_free(key);
	return text;
}

/* Signs msg with ca and checks the signature with the public key, then
 * that changed data and a changed signature fail. */
static void check_sign_verify(const struct nhi_ca_key *ca)
{
	struct nhi_buf *sig = nhi_buf_new();
	struct nhi_key *key = NULL;
	const uint8_t *alg;
	size_t alg_len;
	uint8_t *copy;
	struct nhi_buf *view;
	uint8_t data[sizeof(msg)];

	cr_assert_eq(nhi_ca_public(ca, &key), 0);
	cr_assert_eq(nhi_ca_sign(ca, msg, sizeof(msg), sig), 0);
	/* string "ssh-ed25519", string sig[64] */
	cr_assert_eq(nhi_buf_len(sig), 4 + 11 + 4 + 64);
	view = nhi_buf_from(nhi_buf_ptr(sig), nhi_buf_len(sig));
	cr_assert_eq(nhi_buf_get_string_direct(view, &alg, &alg_len), 0);
	cr_assert(alg_len == 11 && memcmp(alg, "ssh-ed25519", 11) == 0);
	nhi_buf_free(view);

	cr_assert_eq(nhi_key_verify(key, nhi_buf_ptr(sig), nhi_buf_len(sig), msg, sizeof(msg)), 0);
	memcpy(data, msg, sizeof(msg));
	data[3] ^= 0x20;
	cr_assert_eq(nhi_key_verify(key, nhi_buf_ptr(sig), nhi_buf_len(sig), data, sizeof(data)),
	             NHI_ERR_SIGNATURE_INVALID);
	copy = malloc(nhi_buf_len(sig));
	memcpy(copy, nhi_buf_ptr(sig), nhi_buf_len(sig));
	copy[nhi_buf_len(sig) - 5] ^= 1;
	cr_assert_eq(nhi_key_verify(key, copy, nhi_buf_len(sig), msg, sizeof(msg)),
	             NHI_ERR_SIGNATURE_INVALID);
	free(copy);
	nhi_key_free(key);
	nhi_buf_free(sig);
}

Test(cakey, generate_sign_verify)
{
	struct nhi_ca_key *ca = NULL, *other = NULL;
	struct nhi_key *a = NULL, *b = NULL;
	struct nhi_buf *sig = nhi_buf_new();

	cr_assert_eq(nhi_ca_generate(&ca), 0);
	cr_assert_eq(nhi_ca_generate(&other), 0);
	check_sign_verify(ca);
	/* Two generated keys differ, and one's signature fails under the other. */
	cr_assert_eq(nhi_ca_public(ca, &a), 0);
	cr_assert_eq(nhi_ca_public(other, &b), 0);
	cr_assert_eq(a->type, NHI_KEY_ED25519);
	cr_assert(!nhi_key_equal(a, b));
	cr_assert_eq(nhi_ca_sign(other, msg, sizeof(msg), sig), 0);
	cr_assert_eq(nhi_key_verify(a, nhi_buf_ptr(sig), nhi_buf_len(sig), msg, sizeof(msg)),
	             NHI_ERR_SIGNATURE_INVALID);
	/* Empty data can be signed too. */
	nhi_buf_reset(sig);
	cr_assert_eq(nhi_ca_sign(ca, NULL, 0, sig), 0);
	cr_assert_eq(nhi_key_verify(a, nhi_buf_ptr(sig), nhi_buf_len(sig), NULL, 0), 0);
	nhi_buf_free(sig);
	nhi_key_free(a);
	nhi_key_free(b);
	nhi_ca_free(other);
	nhi_ca_free(ca);
	nhi_ca_free(NULL);
}

/* What we save, ssh-keygen reads: -y prints our public key, -s signs a
 * certificate whose CA fingerprint is ours. */
Test(cakey, saved_key_works_with_ssh_keygen, .timeout = 60)
{
	char *dir = test_mkdtemp(), *path = test_path(dir, "user_ca");
	char *user = test_path(dir, "user"), *user_pub, *cert, *out = NULL, *ours, *needle;
	char fp[NHI_FINGERPRINT_MAX];
	struct nhi_ca_key *ca = NULL, *loaded = NULL;
	struct nhi_key *pub = NULL;
	struct stat st;

	cr_assert_eq(nhi_ca_generate(&ca), 0);
	cr_assert_eq(nhi_ca_save(ca, path, "nhi user CA"), 0);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 07777, 0600);

	cr_assert_eq(
	        run_keygen(&out, "-y", "-f", path, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
	        0, "%s", out);
	chomp(out);
	ours = public_text(ca, "nhi user CA");
	cr_assert_str_eq(out, ours);
	free(out);

	/* ssh-keygen signs a user certificate with our key. */
	cr_assert_eq(run_keygen(&out, "-q", "-t", "ed25519", "-N", "", "-f", user, NULL, NULL, NULL,
	                        NULL),
	             0, "%s", out);
	free(out);
	cr_assert(asprintf(&user_pub, "%s.pub", user) > 0);
	cr_assert_eq(run_keygen(&out, "-q", "-s", path, "-I", "alice", "-n", "alice", user_pub,
	                        NULL, NULL, NULL),
	             0, "%s", out);
	free(out);
	cr_assert(asprintf(&cert, "%s-cert.pub", user) > 0);
	cr_assert_eq(
	        run_keygen(&out, "-L", "-f", cert, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
	        0, "%s", out);
	cr_assert_eq(nhi_ca_public(ca, &pub), 0);
	cr_assert_eq(nhi_key_fingerprint(pub, fp), 0);
	cr_assert(asprintf(&needle, "Signing CA: ED25519 %s", fp) > 0);
	cr_assert_not_null(strstr(out, needle), "%s", out);
	free(out);

	/* And we read back what we wrote. */
	cr_assert_eq(nhi_ca_load(path, &loaded), 0);
	free(ours);
	ours = public_text(loaded, NULL);
	out = public_text(ca, NULL);
	cr_assert_str_eq(ours, out);
	check_sign_verify(loaded);

	free(out);
	free(ours);
	free(needle);
	free(cert);
	free(user_pub);
	nhi_key_free(pub);
	nhi_ca_free(loaded);
	nhi_ca_free(ca);
	test_rmtree(dir);
	free(dir);
	free(path);
	free(user);
}

/* The base64 body of a key file, decoded. */
static struct nhi_buf *decode_armour(const char *text)
{
	const char *p = strchr(text, '\n') + 1, *end = strstr(text, "-----END");
	struct nhi_buf *b64 = nhi_buf_new(), *bin = nhi_buf_new();

	for (; p < end; p++)
		if (*p != '\n')
			cr_assert_eq(nhi_buf_put_u8(b64, (uint8_t)*p), 0);
	cr_assert_eq(nhi_b64_decode((const char *)nhi_buf_ptr(b64), nhi_buf_len(b64), bin), 0);
	nhi_buf_free(b64);
	return bin;
}

static char *armour(const uint8_t *bin, size_t len)
{
	char *b64 = NULL, *text = NULL;

	cr_assert_eq(nhi_b64_encode(bin, len, &b64), 0);
	cr_assert(asprintf(&text,
	                   "-----BEGIN OPENSSH PRIVATE KEY-----\n%s\n"
	                   "-----END OPENSSH PRIVATE KEY-----\n",
	                   b64) > 0);
	free(b64);
	return text;
}

/* Offset of the check ints: after magic, cipher, kdf, kdf options, the
 * key count, the public key and the private section's length. */
static size_t check_offset(const struct nhi_buf *bin)
{
	struct nhi_buf *v = nhi_buf_from(nhi_buf_ptr(bin), nhi_buf_len(bin));
	size_t off;

	cr_assert_eq(nhi_buf_get(v, NULL, 15), 0);
	cr_assert_eq(nhi_buf_get_string_direct(v, NULL, NULL), 0);
	cr_assert_eq(nhi_buf_get_string_direct(v, NULL, NULL), 0);
	cr_assert_eq(nhi_buf_get_string_direct(v, NULL, NULL), 0);
	cr_assert_eq(nhi_buf_get_u32(v, NULL), 0);
	cr_assert_eq(nhi_buf_get_string_direct(v, NULL, NULL), 0);
	cr_assert_eq(nhi_buf_get_u32(v, NULL), 0);
	off = nhi_buf_len(bin) - nhi_buf_len(v);
	nhi_buf_free(v);
	return off;
}

/* A key ssh-keygen made: we load it, our public key equals its .pub, our
 * signatures verify, and re-encoded it is ssh-keygen's file but for the
 * random check ints. */
Test(cakey, loads_ssh_keygen_key, .timeout = 60)
{
	char *dir = test_mkdtemp(), *path = test_path(dir, "ca"), *pub_path, *pub_text, *ours;
	char *file_text, *our_text = NULL, *out = NULL;
	struct nhi_buf *theirs_bin, *ours_bin;
	struct nhi_ca_key *ca = NULL;
	size_t off, our_len = 0;

	cr_assert_eq(run_keygen(&out, "-q", "-t", "ed25519", "-N", "", "-C", "made by ssh-keygen",
	                        "-f", path, NULL, NULL),
	             0, "%s", out);
	free(out);
	cr_assert(asprintf(&pub_path, "%s.pub", path) > 0);
	pub_text = test_read_file(pub_path, NULL);
	chomp(pub_text);
	cr_assert_eq(nhi_ca_load(path, &ca), 0);
	ours = public_text(ca, "made by ssh-keygen");
	cr_assert_str_eq(ours, pub_text);
	check_sign_verify(ca);

	file_text = test_read_file(path, NULL);
	cr_assert_eq(nhi_ca_to_private_text(ca, "made by ssh-keygen", &our_text, &our_len), 0);
	cr_assert_eq(our_len, strlen(our_text));
	cr_assert_eq(our_len, strlen(file_text));
	theirs_bin = decode_armour(file_text);
	ours_bin = decode_armour(our_text);
	cr_assert_eq(nhi_buf_len(ours_bin), nhi_buf_len(theirs_bin));
	off = check_offset(theirs_bin);
	cr_assert(memcmp(nhi_buf_ptr(ours_bin), nhi_buf_ptr(theirs_bin), off) == 0);
	cr_assert(memcmp(nhi_buf_ptr(ours_bin) + off + 8, nhi_buf_ptr(theirs_bin) + off + 8,
	                 nhi_buf_len(ours_bin) - off - 8) == 0);
	/* Our two check ints are equal to each other. */
	cr_assert(memcmp(nhi_buf_ptr(ours_bin) + off, nhi_buf_ptr(ours_bin) + off + 4, 4) == 0);

	nhi_buf_free(theirs_bin);
	nhi_buf_free(ours_bin);
	free(our_text);
	free(file_text);
	free(ours);
	free(pub_text);
	free(pub_path);
	nhi_ca_free(ca);
	test_rmtree(dir);
	free(dir);
	free(path);
}

Test(cakey, refuses_unsafe_files)
{
	char *dir = test_mkdtemp(), *path = test_path(dir, "ca"), *link = test_path(dir, "link");
	char *lax = test_path(dir, "lax"), *text = NULL;
	struct nhi_ca_key *ca = NULL, *loaded = (struct nhi_ca_key *)1;
	size_t len = 0;

	cr_assert_eq(nhi_ca_generate(&ca), 0);
	cr_assert_eq(nhi_ca_save(ca, path, NULL), 0);
	cr_assert_eq(nhi_ca_to_private_text(ca, NULL, &text, &len), 0);
	/* The same valid key, readable by others. */
	test_write_file(lax, text, len, 0644);
	cr_assert_eq(chmod(lax, 0644), 0);
	cr_assert_eq(nhi_ca_load(lax, &loaded), NHI_ERR_FILE_UNSAFE);
	cr_assert_eq(chmod(lax, 0640), 0);
	cr_assert_eq(nhi_ca_load(lax, &loaded), NHI_ERR_FILE_UNSAFE);
	cr_assert_eq(chmod(lax, 0600), 0);
	cr_assert_eq(nhi_ca_load(lax, &loaded), 0);
	nhi_ca_free(loaded);
	loaded = (struct nhi_ca_key *)1;
	/* A symlink to a good key is still refused. */
	cr_assert_eq(symlink(path, link), 0);
	cr_assert_eq(nhi_ca_load(link, &loaded), NHI_ERR_FILE_UNSAFE);
	cr_assert_eq(nhi_ca_load(dir, &loaded), NHI_ERR_FILE_UNSAFE);
	cr_assert_lt(nhi_ca_load("/nonexistent/nhi/ca", &loaded), 0);
	cr_assert_eq(loaded, (struct nhi_ca_key *)1);

	sodium_memzero(text, len);
	free(text);
	nhi_ca_free(ca);
	test_rmtree(dir);
	free(dir);
	free(path);
	free(link);
	free(lax);
}

Test(cakey, refuses_encrypted_and_other_types, .timeout = 60)
{
	char *dir = test_mkdtemp(), *enc = test_path(dir, "enc"), *ec = test_path(dir, "ec");
	char *out = NULL, *text;
	struct nhi_ca_key *ca = (struct nhi_ca_key *)1;
	size_t len;

	cr_assert_eq(run_keygen(&out, "-q", "-t", "ed25519", "-N", "a passphrase", "-f", enc, NULL,
	                        NULL, NULL, NULL),
	             0, "%s", out);
	free(out);
	cr_assert_eq(nhi_ca_load(enc, &ca), NHI_ERR_KEY_ENCRYPTED);
	text = test_read_file(enc, &len);
	cr_assert_eq(nhi_ca_from_private_text(text, len, &ca), NHI_ERR_KEY_ENCRYPTED);
	cr_assert_not_null(strstr(nhi_strerror(NHI_ERR_KEY_ENCRYPTED), "encrypted"));
	free(text);

	cr_assert_eq(
	        run_keygen(&out, "-q", "-t", "ecdsa", "-N", "", "-f", ec, NULL, NULL, NULL, NULL),
	        0, "%s", out);
	free(out);
	cr_assert_eq(nhi_ca_load(ec, &ca), NHI_ERR_KEY_TYPE_MISMATCH);
	cr_assert_eq(ca, (struct nhi_ca_key *)1);

	test_rmtree(dir);
	free(dir);
	free(enc);
	free(ec);
}

static void expect_bad(const char *text, size_t len)
{
	struct nhi_ca_key *ca = (struct nhi_ca_key *)1;

	cr_assert_lt(nhi_ca_from_private_text(text, len, &ca), 0, "%.*s", (int)len, text);
	cr_assert_eq(ca, (struct nhi_ca_key *)1);
}

/* Changes one byte of the decoded key at off, re-armours it and expects
 * a refusal. */
static void expect_bad_byte(const struct nhi_buf *bin, size_t off, uint8_t x)
{
	uint8_t *copy = malloc(nhi_buf_len(bin));
	char *text;

	memcpy(copy, nhi_buf_ptr(bin), nhi_buf_len(bin));
	copy[off] ^= x;
	text = armour(copy, nhi_buf_len(bin));
	expect_bad(text, strlen(text));
	free(text);
	free(copy);
}

Test(cakey, hostile_private_text)
{
	struct nhi_ca_key *ca = NULL, *back = NULL;
	struct nhi_buf *bin;
	char *text = NULL, *t;
	size_t len = 0, i, off;

	cr_assert_eq(nhi_ca_generate(&ca), 0);
	cr_assert_eq(nhi_ca_to_private_text(ca, "c", &text, &len), 0);
	cr_assert_eq(nhi_ca_from_private_text(text, len, &back), 0);
	nhi_ca_free(back);
	bin = decode_armour(text);

	/* Every truncation of the text, and of the decoded structure. */
	for (i = 0; i < len - 1; i++)
		expect_bad(text, i);
	for (i = 0; i < nhi_buf_len(bin); i++) {
		t = armour(nhi_buf_ptr(bin), i);
		expect_bad(t, strlen(t));
		free(t);
	}
	/* Bytes after the structure, or after the end marker. */
	{
		uint8_t *longer = malloc(nhi_buf_len(bin) + 1);

		memcpy(longer, nhi_buf_ptr(bin), nhi_buf_len(bin));
		longer[nhi_buf_len(bin)] = 0;
		t = armour(longer, nhi_buf_len(bin) + 1);
		expect_bad(t, strlen(t));
		free(t);
		free(longer);
	}
	cr_assert(asprintf(&t, "%sjunk\n", text) > 0);
	expect_bad(t, strlen(t));
	free(t);
	/* Leading blanks and CRLF line ends are fine. */
	cr_assert(asprintf(&t, "\n  %s", text) > 0);
	cr_assert_eq(nhi_ca_from_private_text(t, strlen(t), &back), 0);
	nhi_ca_free(back);
	free(t);

	off = check_offset(bin);
	expect_bad_byte(bin, 0, 0x01);                    /* magic */
	expect_bad_byte(bin, 16, 0x01);                   /* cipher name */
	expect_bad_byte(bin, off, 0x80);                  /* check ints differ */
	expect_bad_byte(bin, off + 8 + 14, 1);            /* key type name */
	expect_bad_byte(bin, off + 8 + 19, 1);            /* pk in the private part */
	expect_bad_byte(bin, off + 8 + 55, 1);            /* seed */
	expect_bad_byte(bin, off + 8 + 110, 1);           /* pk half of sk */
	expect_bad_byte(bin, nhi_buf_len(bin) - 1, 0x10); /* padding */
	expect_bad("", 0);
	expect_bad("-----BEGIN OPENSSH PRIVATE KEY-----\n-----END OPENSSH PRIVATE KEY-----\n", 72);

	sodium_memzero(text, len);
	free(text);
	nhi_buf_free(bin);
	nhi_ca_free(ca);
}

#include "config.h"

#include <sodium.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "b64.h"
#include "cakey.h"
#include "err.h"
#include "fileio.h"

#define PEM_BEGIN     "-----BEGIN OPENSSH PRIVATE KEY-----"
#define PEM_END       "-----END OPENSSH PRIVATE KEY-----"
#define KEY_MAGIC     "openssh-key-v1" /* followed by a NUL on the wire */
#define KEY_MAGIC_LEN (sizeof(KEY_MAGIC))
#define B64_LINE      70
/* "none" encrypts in blocks of 8; the private section is padded to it. */
#define PRIVATE_BLOCK 8u
/* An Ed25519 key file is ~400 bytes; anything much larger is not ours. */
#define PRIVATE_TEXT_MAX (64u * 1024u)
#define ED25519_NAME     "ssh-ed25519"

struct nhi_ca_key {
	uint8_t pk[crypto_sign_PUBLICKEYBYTES];
	uint8_t *sk; /* seed || pk, in guarded memory, read-only once set */
};

static int ca_alloc(struct nhi_ca_key **ret)
{
	struct nhi_ca_key *ca;

	if (sodium_init() < 0)
		return NHI_ERR_CRYPTO;
	if ((ca = calloc(1, sizeof(*ca))) == NULL)
		return NHI_ERR_ALLOC;
	if ((ca->sk = sodium_malloc(crypto_sign_SECRETKEYBYTES)) == NULL) {
		free(ca);
		return NHI_ERR_ALLOC;
	}
	*ret = ca;
	return 0;
}

void nhi_ca_free(struct nhi_ca_key *ca)
{
	if (ca == NULL)
		return;
	sodium_free(ca->sk); /* zeroes, unlocks and unmaps */
	sodium_memzero(ca, sizeof(*ca));
	free(ca);
}

int nhi_ca_generate(struct nhi_ca_key **ret)
{
	struct nhi_ca_key *ca = NULL;
	int r;

	if (ret == NULL)
		return NHI_ERR_INVALID_ARGUMENT;
	if ((r = ca_alloc(&ca)) < 0)
		return r;
	if (crypto_sign_keypair(ca->pk, ca->sk) != 0) {
		nhi_ca_free(ca);
		return NHI_ERR_CRYPTO;
	}
	sodium_mprotect_readonly(ca->sk);
	*ret = ca;
	return 0;
}

int nhi_ca_public(const struct nhi_ca_key *ca, struct nhi_key **ret)
{
	struct nhi_key *k;

	if (ca == NULL || ret == NULL)
		return NHI_ERR_INVALID_ARGUMENT;
	if ((k = calloc(1, sizeof(*k))) == NULL)
		return NHI_ERR_ALLOC;
	k->type = NHI_KEY_ED25519;
	memcpy(k->ed25519_pk, ca->pk, sizeof(k->ed25519_pk));
	*ret = k;
	return 0;
}

int nhi_ca_sign(const struct nhi_ca_key *ca, const uint8_t *data, size_t len,
                struct nhi_buf *sig_out)
{
	uint8_t sig[crypto_sign_BYTES];
	size_t before;
	int r;

	if (ca == NULL || sig_out == NULL || (data == NULL && len != 0))
		return NHI_ERR_INVALID_ARGUMENT;
	if (crypto_sign_detached(sig, NULL, data == NULL ? (const uint8_t *)"" : data, len,
	                         ca->sk) != 0)
		return NHI_ERR_CRYPTO;
	before = nhi_buf_len(sig_out);
	if ((r = nhi_buf_put_cstring(sig_out, ED25519_NAME)) < 0 ||
	    (r = nhi_buf_put_string(sig_out, sig, sizeof(sig))) < 0) {
		if (nhi_buf_len(sig_out) > before)
			nhi_buf_shrink(sig_out, nhi_buf_len(sig_out) - before);
		return r;
	}
	return 0;
}

/* The binary openssh-key-v1 structure (PROTOCOL.key), unencrypted. */
static int private_blob(const struct nhi_ca_key *ca, const char *comment, struct nhi_buf *out)
{
	struct nhi_buf *pub = NULL, *priv = NULL;
	struct nhi_key *key = NULL;
	uint32_t check;
	uint8_t pad;
	int r;

	if ((pub = nhi_buf_new()) == NULL || (priv = nhi_buf_new()) == NULL) {
		r = NHI_ERR_ALLOC;
		goto out;
	}
	/* Equal random check ints: a reader decrypting with the wrong
	 * passphrase would see them differ. */
	check = randombytes_random();
	if ((r = nhi_ca_public(ca, &key)) < 0 || (r = nhi_key_to_blob(key, pub)) < 0 ||
	    (r = nhi_buf_put_u32(priv, check)) < 0 || (r = nhi_buf_put_u32(priv, check)) < 0 ||
	    (r = nhi_buf_put_cstring(priv, ED25519_NAME)) < 0 ||
	    (r = nhi_buf_put_string(priv, ca->pk, sizeof(ca->pk))) < 0 ||
	    (r = nhi_buf_put_string(priv, ca->sk, crypto_sign_SECRETKEYBYTES)) < 0 ||
	    (r = nhi_buf_put_cstring(priv, comment == NULL ? "" : comment)) < 0)
		goto out;
	for (pad = 1; nhi_buf_len(priv) % PRIVATE_BLOCK != 0; pad++)
		if ((r = nhi_buf_put_u8(priv, pad)) < 0)
			goto out;
	if ((r = nhi_buf_put(out, KEY_MAGIC, KEY_MAGIC_LEN)) < 0 ||
	    (r = nhi_buf_put_cstring(out, "none")) < 0 ||
	    (r = nhi_buf_put_cstring(out, "none")) < 0 ||
	    (r = nhi_buf_put_string(out, NULL, 0)) < 0 || (r = nhi_buf_put_u32(out, 1)) < 0 ||
	    (r = nhi_buf_put_stringb(out, pub)) < 0 || (r = nhi_buf_put_stringb(out, priv)) < 0)
		goto out;
	r = 0;
out:
	nhi_key_free(key);
	nhi_buf_free(priv); /* zeroed by nhi_buf_free */
	nhi_buf_free(pub);
	return r;
}

int nhi_ca_to_private_text(const struct nhi_ca_key *ca, const char *comment, char **ret,
                           size_t *ret_len)
{
	struct nhi_buf *blob = NULL;
	char *b64 = NULL, *text = NULL, *p;
	size_t b64_len = 0, lines, total, i, n;
	int r;

	if (ca == NULL || ret == NULL)
		return NHI_ERR_INVALID_ARGUMENT;
	if (comment != NULL && strlen(comment) > 1024)
		return NHI_ERR_STRING_TOO_LARGE;
	if ((blob = nhi_buf_new()) == NULL)
		return NHI_ERR_ALLOC;
	if ((r = private_blob(ca, comment, blob)) < 0 ||
	    (r = nhi_b64_encode(nhi_buf_ptr(blob), nhi_buf_len(blob), &b64)) < 0)
		goto out;
	b64_len = strlen(b64);
	lines = (b64_len + B64_LINE - 1) / B64_LINE;
	total = sizeof(PEM_BEGIN) + b64_len + lines + sizeof(PEM_END) + 1;
	if ((text = malloc(total)) == NULL) {
		r = NHI_ERR_ALLOC;
		goto out;
	}
	p = text;
	memcpy(p, PEM_BEGIN "\n", sizeof(PEM_BEGIN));
	p += sizeof(PEM_BEGIN);
	for (i = 0; i < b64_len; i += n) {
		n = b64_len - i < B64_LINE ? b64_len - i : B64_LINE;
		memcpy(p, b64 + i, n);
		p += n;
		*p++ = '\n';
	}
	memcpy(p, PEM_END "\n", sizeof(PEM_END));
	p += sizeof(PEM_END);
	*p = '\0';
	*ret = text;
	if (ret_len != NULL)
		*ret_len = (size_t)(p - text);
	r = 0;
out:
	if (b64 != NULL) {
		sodium_memzero(b64, b64_len);
		free(b64);
	}
	nhi_buf_free(blob);
	return r;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* The base64 between the armour lines, line breaks removed, into out. */
static int unarmour(const char *text, size_t len, struct nhi_buf *out)
{
	const char *p = text, *end = text + len, *b64_start, *b64_end;
	size_t begin_len = strlen(PEM_BEGIN), end_len = strlen(PEM_END);
	struct nhi_buf *b64 = NULL;
	int r = 0;

	while (p < end && is_space(*p))
		p++;
	if ((size_t)(end - p) < begin_len || memcmp(p, PEM_BEGIN, begin_len) != 0)
		return NHI_ERR_INVALID_FORMAT;
	p += begin_len;
	if (p < end && *p == '\r')
		p++;
	if (p >= end || *p != '\n')
		return NHI_ERR_INVALID_FORMAT;
	b64_start = ++p;
	/* The end marker starts a line; only blanks may follow it. */
	for (b64_end = b64_start;; b64_end++) {
		if ((size_t)(end - b64_end) < end_len)
			return NHI_ERR_INVALID_FORMAT;
		if ((b64_end == b64_start || b64_end[-1] == '\n') &&
		    memcmp(b64_end, PEM_END, end_len) == 0)
			break;
	}
	for (p = b64_end + end_len; p < end; p++)
		if (!is_space(*p))
			return NHI_ERR_INVALID_FORMAT;
	if ((b64 = nhi_buf_new()) == NULL)
		return NHI_ERR_ALLOC;
	for (p = b64_start; p < b64_end && r == 0; p++)
		if (*p != '\n' && *p != '\r')
			r = nhi_buf_put_u8(b64, (uint8_t)*p);
	if (r == 0)
		r = nhi_b64_decode((const char *)nhi_buf_ptr(b64), nhi_buf_len(b64), out);
	nhi_buf_free(b64); /* zeroes the base64 of the secret */
	return r;
}

static bool bytes_are(const uint8_t *p, size_t len, const char *s)
{
	return len == strlen(s) && memcmp(p, s, len) == 0;
}

/* The private section: check ints, one Ed25519 key that matches the
 * public key, a comment, and the 1, 2, 3... padding. */
static int parse_private(struct nhi_buf *priv, const uint8_t pk[crypto_sign_PUBLICKEYBYTES],
                         struct nhi_ca_key *ca)
{
	uint8_t derived_pk[crypto_sign_PUBLICKEYBYTES], derived_sk[crypto_sign_SECRETKEYBYTES];
	const uint8_t *name, *kpk, *ksk, *pad;
	size_t name_len, kpk_len, ksk_len, pad_len, i;
	uint32_t check1, check2;
	int r;

	if (nhi_buf_len(priv) % PRIVATE_BLOCK != 0)
		return NHI_ERR_INVALID_FORMAT;
	if ((r = nhi_buf_get_u32(priv, &check1)) < 0 || (r = nhi_buf_get_u32(priv, &check2)) < 0)
		return r;
	if (check1 != check2)
		return NHI_ERR_KEY_INVALID;
	if ((r = nhi_buf_get_string_direct(priv, &name, &name_len)) < 0)
		return r;
	if (!bytes_are(name, name_len, ED25519_NAME))
		return NHI_ERR_KEY_TYPE_MISMATCH;
	if ((r = nhi_buf_get_string_direct(priv, &kpk, &kpk_len)) < 0 ||
	    (r = nhi_buf_get_string_direct(priv, &ksk, &ksk_len)) < 0 ||
	    (r = nhi_buf_get_cstring(priv, NULL, NULL)) < 0)
		return r;
	if (kpk_len != crypto_sign_PUBLICKEYBYTES || ksk_len != crypto_sign_SECRETKEYBYTES)
		return NHI_ERR_KEY_INVALID;
	pad = nhi_buf_ptr(priv);
	pad_len = nhi_buf_len(priv);
	if (pad_len >= PRIVATE_BLOCK)
		return NHI_ERR_INVALID_FORMAT;
	for (i = 0; i < pad_len; i++)
		if (pad[i] != i + 1)
			return NHI_ERR_INVALID_FORMAT;
	/* The secret must be the seed of the public key we were given. */
	if (crypto_sign_seed_keypair(derived_pk, derived_sk, ksk) != 0) {
		r = NHI_ERR_CRYPTO;
		goto out;
	}
	if (memcmp(kpk, pk, crypto_sign_PUBLICKEYBYTES) != 0 ||
	    memcmp(derived_pk, pk, crypto_sign_PUBLICKEYBYTES) != 0 ||
	    sodium_memcmp(derived_sk, ksk, crypto_sign_SECRETKEYBYTES) != 0) {
		r = NHI_ERR_KEY_INVALID;
		goto out;
	}
	memcpy(ca->pk, pk, crypto_sign_PUBLICKEYBYTES);
	memcpy(ca->sk, ksk, crypto_sign_SECRETKEYBYTES);
	r = 0;
out:
	sodium_memzero(derived_sk, sizeof(derived_sk));
	return r;
}

int nhi_ca_from_private_text(const char *text, size_t len, struct nhi_ca_key **ret)
{
	struct nhi_buf *blob = NULL, *priv = NULL;
	struct nhi_ca_key *ca = NULL;
	struct nhi_key *pub = NULL;
	const uint8_t *cipher, *kdf, *kdfopts, *pubblob;
	size_t cipher_len, kdf_len, kdfopts_len, pubblob_len;
	uint8_t magic[KEY_MAGIC_LEN];
	uint32_t nkeys;
	int r;

	if ((text == NULL && len != 0) || ret == NULL)
		return NHI_ERR_INVALID_ARGUMENT;
	if (len > PRIVATE_TEXT_MAX)
		return NHI_ERR_FILE_TOO_LARGE;
	if ((blob = nhi_buf_new()) == NULL)
		return NHI_ERR_ALLOC;
	if ((r = unarmour(text, len, blob)) < 0)
		goto out;
	if ((r = nhi_buf_get(blob, magic, sizeof(magic))) < 0)
		goto out;
	if (memcmp(magic, KEY_MAGIC, KEY_MAGIC_LEN) != 0) {
		r = NHI_ERR_INVALID_FORMAT;
		goto out;
	}
	if ((r = nhi_buf_get_string_direct(blob, &cipher, &cipher_len)) < 0 ||
	    (r = nhi_buf_get_string_direct(blob, &kdf, &kdf_len)) < 0 ||
	    (r = nhi_buf_get_string_direct(blob, &kdfopts, &kdfopts_len)) < 0)
		goto out;
	if (!bytes_are(cipher, cipher_len, "none") || !bytes_are(kdf, kdf_len, "none")) {
		r = NHI_ERR_KEY_ENCRYPTED;
		goto out;
	}
	if (kdfopts_len != 0) {
		r = NHI_ERR_INVALID_FORMAT;
		goto out;
	}
	if ((r = nhi_buf_get_u32(blob, &nkeys)) < 0)
		goto out;
	if (nkeys != 1) {
		r = NHI_ERR_INVALID_FORMAT;
		goto out;
	}
	if ((r = nhi_buf_get_string_direct(blob, &pubblob, &pubblob_len)) < 0 ||
	    (r = nhi_key_from_blob(pubblob, pubblob_len, &pub)) < 0)
		goto out;
	if (pub->type != NHI_KEY_ED25519) {
		r = NHI_ERR_KEY_TYPE_MISMATCH;
		goto out;
	}
	if ((r = nhi_buf_get_stringb(blob, &priv)) < 0)
		goto out;
	if (nhi_buf_len(blob) != 0) {
		r = NHI_ERR_INVALID_FORMAT;
		goto out;
	}
	if ((r = ca_alloc(&ca)) < 0 || (r = parse_private(priv, pub->ed25519_pk, ca)) < 0)
		goto out;
	sodium_mprotect_readonly(ca->sk);
	*ret = ca;
	ca = NULL;
out:
	nhi_ca_free(ca);
	nhi_key_free(pub);
	nhi_buf_free(priv); /* a view into blob */
	nhi_buf_free(blob); /* zeroes the decoded key */
	sodium_memzero(magic, sizeof(magic));
	return r;
}

int nhi_ca_load(const char *path, struct nhi_ca_key **ret)
{
	struct nhi_file_rules rules = {
	        .owner = geteuid(),
	        .allow_root_owner = true,
	        .forbidden = 077,
	        .max_size = PRIVATE_TEXT_MAX,
	};
	char *text = NULL;
	size_t len = 0;
	int r;

	if (path == NULL || ret == NULL)
		return NHI_ERR_INVALID_ARGUMENT;
	if ((r = nhi_read_file_checked(path, &rules, PRIVATE_TEXT_MAX, &text, &len)) < 0)
		return r;
	r = nhi_ca_from_private_text(text, len, ret);
	sodium_memzero(text, len);
	free(text);
	return r;
}

int nhi_ca_save(const struct nhi_ca_key *ca, const char *path, const char *comment)
{
	char *text = NULL;
	size_t len = 0;
	int r;

	if (ca == NULL || path == NULL)
		return NHI_ERR_INVALID_ARGUMENT;
	if ((r = nhi_ca_to_private_text(ca, comment, &text, &len)) < 0)
		return r;
	r = nhi_atomic_write(path, text, len, 0600);
	sodium_memzero(text, len);
	free(text);
	return r;
}

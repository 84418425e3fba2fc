#include "config.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "err.h"
#include "krl.h"
#include "support.h"

/* --- helpers --- */

/* An Ed25519 key made of one repeated byte: enough for blobs and hashes. */
static struct nhi_key *synth_key(uint8_t seed)
{
	struct nhi_key *k = calloc(1, sizeof(*k));

	cr_assert_not_null(k);
	k->type = NHI_KEY_ED25519;
	memset(k->ed25519_pk, seed, sizeof(k->ed25519_pk));
	return k;
}

/* What nhi_krl_check_cert looks at, without a signature. */
static int check_serial_id(const struct nhi_krl *krl, struct nhi_key *ca, uint64_t serial,
			   const char *id)
{
	struct nhi_key *subject = synth_key(0xee);
	struct nhi_cert cert;
	int r;

	memset(&cert, 0, sizeof(cert));
	cert.key = subject;
	cert.signature_key = ca;
	cert.serial = serial;
	cert.key_id = (char *)(uintptr_t)(id != NULL ? id : "nobody");
	r = nhi_krl_check_cert(krl, &cert);
	nhi_key_free(subject);
	cr_assert(r == 0 || r == NHI_ERR_KEY_REVOKED, "check: %d", r);
	return r;
}

static struct nhi_buf *to_blob(const struct nhi_krl *krl)
{
	struct nhi_buf *b = nhi_buf_new();

	cr_assert_not_null(b);
	cr_assert_eq(nhi_krl_to_blob(krl, b), 0);
	return b;
}

static struct nhi_krl *reparse(const struct nhi_krl *krl)
{
	struct nhi_buf *b = to_blob(krl);
	struct nhi_krl *out = NULL;

	cr_assert_eq(nhi_krl_from_blob(nhi_buf_ptr(b), nhi_buf_len(b), &out), 0);
	nhi_buf_free(b);
	return out;
}

static void put_key_blob(struct nhi_buf *b, const struct nhi_key *k)
{
	struct nhi_buf *kb = nhi_buf_new();

	cr_assert_eq(nhi_key_to_blob(k, kb), 0);
	cr_assert_eq(nhi_buf_put_stringb(b, kb), 0);
	nhi_buf_free(kb);
}

static struct nhi_buf *header(uint32_t format)
{
	struct nhi_buf *b = nhi_buf_new();

	cr_assert_eq(nhi_buf_put_u64(b, NHI_KRL_MAGIC), 0);
	cr_assert_eq(nhi_buf_put_u32(b, format), 0);
	cr_assert_eq(nhi_buf_put_u64(b, 7), 0);
	cr_assert_eq(nhi_buf_put_u64(b, 1700000000), 0);
	cr_assert_eq(nhi_buf_put_u64(b, 0), 0);
	cr_assert_eq(nhi_buf_put_string(b, NULL, 0), 0);
	cr_assert_eq(nhi_buf_put_cstring(b, "hand made"), 0);
	return b;
}

static void put_section(struct nhi_buf *b, uint8_t type, struct nhi_buf *data)
{
	cr_assert_eq(nhi_buf_put_u8(b, type), 0);
	cr_assert_eq(nhi_buf_put_stringb(b, data), 0);
}

/* A certificates section for any CA holding one subsection. */
static void put_any_ca_sub(struct nhi_buf *b, uint8_t subtype, struct nhi_buf *sub)
{
	struct nhi_buf *s = nhi_buf_new();

	cr_assert_eq(nhi_buf_put_string(s, NULL, 0), 0);
	cr_assert_eq(nhi_buf_put_string(s, NULL, 0), 0);
	put_section(s, subtype, sub);
	put_section(b, 1, s);
	nhi_buf_free(s);
}

static int parse(struct nhi_buf *b, struct nhi_krl **ret)
{
	struct nhi_krl *krl = NULL;
	int r = nhi_krl_from_blob(nhi_buf_ptr(b), nhi_buf_len(b), &krl);

	if (ret != NULL)
		*ret = krl;
	else
		nhi_krl_free(krl);
	if (r != 0)
		cr_assert_null(krl);
	return r;
}

/* --- building and the layout of what we write --- */

Test(krl, serials_merge_into_lists_and_ranges)
{
	struct nhi_krl *krl = nhi_krl_new(), *back;
	struct nhi_buf *got, *want = header(1), *sect = nhi_buf_new(), *sub = nhi_buf_new();
	uint64_t s;

	cr_assert_not_null(krl);
	nhi_krl_set_version(krl, 7);
	nhi_krl_set_generated(krl, 1700000000);
	cr_assert_eq(nhi_krl_set_comment(krl, "hand made"), 0);
	/* 5 and 6 as a list, then a range touching them: one range 5-10. */
	cr_assert_eq(nhi_krl_revoke_serial(krl, NULL, 6), 0);
	cr_assert_eq(nhi_krl_revoke_serial(krl, NULL, 5), 0);
	cr_assert_eq(nhi_krl_revoke_serial_range(krl, NULL, 7, 10), 0);
	cr_assert_eq(nhi_krl_revoke_serial(krl, NULL, 101), 0);
	cr_assert_eq(nhi_krl_revoke_serial(krl, NULL, 22), 0);
	cr_assert_eq(nhi_krl_revoke_serial(krl, NULL, 20), 0);
	cr_assert_eq(nhi_krl_revoke_serial_range(krl, NULL, 35, 50), 0);
	cr_assert_eq(nhi_krl_revoke_serial_range(krl, NULL, 30, 40), 0); /* overlaps */
	cr_assert_eq(nhi_krl_revoke_serial(krl, NULL, 41), 0);           /* inside */
	cr_assert_eq(nhi_krl_revoke_serial(krl, NULL, 100), 0);
	cr_assert_eq(nhi_krl_revoke_serial(krl, NULL, 100), 0); /* duplicate */
	cr_assert_eq(nhi_krl_revoke_key_id(krl, NULL, "bob"), 0);
	cr_assert_eq(nhi_krl_revoke_key_id(krl, NULL, "alice"), 0);
	cr_assert_eq(nhi_krl_revoke_key_id(krl, NULL, "bob"), 0);

	/* The exact bytes: ranges 5-10 and 30-50, lists {20,22} and {100,101},
	 * ascending, then the sorted key ids. */
	cr_assert_eq(nhi_buf_put_string(sect, NULL, 0), 0);
	cr_assert_eq(nhi_buf_put_string(sect, NULL, 0), 0);
	nhi_buf_put_u64(sub, 5), nhi_buf_put_u64(sub, 10), put_section(sect, 0x21, sub);
	nhi_buf_reset(sub);
	nhi_buf_put_u64(sub, 20), nhi_buf_put_u64(sub, 22), put_section(sect, 0x20, sub);
	nhi_buf_reset(sub);
	nhi_buf_put_u64(sub, 30), nhi_buf_put_u64(sub, 50), put_section(sect, 0x21, sub);
	nhi_buf_reset(sub);
	nhi_buf_put_u64(sub, 100), nhi_buf_put_u64(sub, 101), put_section(sect, 0x20, sub);
	nhi_buf_reset(sub);
	nhi_buf_put_cstring(sub, "alice"), nhi_buf_put_cstring(sub, "bob");
	put_section(sect, 0x23, sub);
	put_section(want, 1, sect);

	got = to_blob(krl);
	cr_assert_eq(nhi_buf_len(got), nhi_buf_len(want));
	cr_assert_arr_eq(nhi_buf_ptr(got), nhi_buf_ptr(want), nhi_buf_len(want));

	back = reparse(krl);
	cr_assert_eq(nhi_krl_version(back), 7);
	cr_assert_eq(nhi_krl_generated(back), 1700000000);
	cr_assert_str_eq(nhi_krl_comment(back), "hand made");
	for (s = 1; s < 120; s++) {
		bool want_revoked = (s >= 5 && s <= 10) || s == 20 || s == 22 ||
				    (s >= 30 && s <= 50) || s == 100 || s == 101;

		cr_assert_eq(check_serial_id(back, NULL, s, NULL) != 0, want_revoked, "serial %lu",
			     (unsigned long)s);
		cr_assert_eq(check_serial_id(krl, NULL, s, NULL) != 0, want_revoked);
	}
	cr_assert_eq(check_serial_id(back, NULL, 3, "alice"), NHI_ERR_KEY_REVOKED);
	cr_assert_eq(check_serial_id(back, NULL, 3, "bob"), NHI_ERR_KEY_REVOKED);
	cr_assert_eq(check_serial_id(back, NULL, 3, "alic"), 0);
	cr_assert_eq(check_serial_id(back, NULL, 3, "alicee"), 0);
	/* Serial 0 is never matched by serial, only by key id. */
	cr_assert_eq(check_serial_id(back, NULL, 0, NULL), 0);
	cr_assert_eq(check_serial_id(back, NULL, 0, "bob"), NHI_ERR_KEY_REVOKED);

	nhi_buf_free(got);
	nhi_buf_free(want);
	nhi_buf_free(sect);
	nhi_buf_free(sub);
	nhi_krl_free(back);
	nhi_krl_free(krl);
}

Test(krl, serial_zero_and_bad_ranges_refused)
{
	struct nhi_krl *krl = nhi_krl_new();
	struct nhi_buf *b;

	cr_assert_eq(nhi_krl_revoke_serial(krl, NULL, 0), NHI_ERR_INVALID_ARGUMENT);
	cr_assert_eq(nhi_krl_revoke_serial_range(krl, NULL, 0, 5), NHI_ERR_INVALID_ARGUMENT);
	cr_assert_eq(nhi_krl_revoke_serial_range(krl, NULL, 9, 8), NHI_ERR_INVALID_ARGUMENT);
	cr_assert_eq(nhi_krl_revoke_serial(NULL, NULL, 1), NHI_ERR_INVALID_ARGUMENT);
	cr_assert_eq(nhi_krl_revoke_key_id(krl, NULL, NULL), NHI_ERR_INVALID_ARGUMENT);
	/* The top of the range merges without wrapping. */
	cr_assert_eq(nhi_krl_revoke_serial_range(krl, NULL, UINT64_MAX - 1, UINT64_MAX), 0);
	cr_assert_eq(nhi_krl_revoke_serial(krl, NULL, UINT64_MAX), 0);
	cr_assert_eq(nhi_krl_revoke_serial(krl, NULL, 1), 0);
	cr_assert_eq(check_serial_id(krl, NULL, UINT64_MAX, NULL), NHI_ERR_KEY_REVOKED);
	cr_assert_eq(check_serial_id(krl, NULL, UINT64_MAX - 2, NULL), 0);
	b = to_blob(krl);
	nhi_buf_free(b);
	nhi_krl_free(krl);
	nhi_krl_free(NULL);
}

Test(krl, sections_in_ssh_keygen_order_hashes_sorted)
{
	struct nhi_key *ca1 = synth_key(1), *ca2 = synth_key(2), *k3 = synth_key(3),
		       *k4 = synth_key(4), *k5 = synth_key(5);
	struct nhi_krl *krl = nhi_krl_new(), *back;
	struct nhi_buf *b, *sect = NULL;
	uint8_t h[3][NHI_SHA256_BYTES], type;
	const uint8_t *p;
	size_t len;
	int i;

	memset(h[0], 0xff, sizeof(h[0]));
	memset(h[1], 0x00, sizeof(h[1]));
	memset(h[2], 0x80, sizeof(h[2]));
	for (i = 0; i < 3; i++)
		cr_assert_eq(nhi_krl_revoke_sha256(krl, h[i]), 0);
	cr_assert_eq(nhi_krl_revoke_key(krl, k4), 0);
	cr_assert_eq(nhi_krl_revoke_key(krl, k3), 0);
	cr_assert_eq(nhi_krl_revoke_serial(krl, ca2, 9), 0);
	cr_assert_eq(nhi_krl_revoke_key_id(krl, NULL, "any"), 0);
	cr_assert_eq(nhi_krl_revoke_serial(krl, ca1, 9), 0);
	nhi_krl_set_generated(krl, 1);

	b = to_blob(krl);
	cr_assert_eq(nhi_buf_consume(b, 8 + 4 + 8 + 8 + 8), 0);
	cr_assert_eq(nhi_buf_get_string_direct(b, NULL, NULL), 0);
	cr_assert_eq(nhi_buf_get_string_direct(b, NULL, NULL), 0);
	/* Certificates by CA in first-use order: ca2, any, ca1. */
	for (i = 0; i < 3; i++) {
		struct nhi_buf *ca_blob = nhi_buf_new();

		if (i != 1)
			cr_assert_eq(nhi_key_to_blob(i == 0 ? ca2 : ca1, ca_blob), 0);
		cr_assert_eq(nhi_buf_get_u8(b, &type), 0);
		cr_assert_eq(type, 1);
		cr_assert_eq(nhi_buf_get_stringb(b, &sect), 0);
		cr_assert_eq(nhi_buf_get_string_direct(sect, &p, &len), 0);
		cr_assert_eq(len, nhi_buf_len(ca_blob));
		if (len > 0)
			cr_assert_arr_eq(p, nhi_buf_ptr(ca_blob), len);
		nhi_buf_free(sect);
		nhi_buf_free(ca_blob);
	}
	/* Explicit keys (sorted blobs: k3 before k4), then SHA-256 ascending. */
	cr_assert_eq(nhi_buf_get_u8(b, &type), 0);
	cr_assert_eq(type, 2);
	cr_assert_eq(nhi_buf_get_stringb(b, &sect), 0);
	cr_assert_eq(nhi_buf_get_string_direct(sect, &p, &len), 0);
	cr_assert_eq(p[len - 1], 3);
	cr_assert_eq(nhi_buf_get_string_direct(sect, &p, &len), 0);
	cr_assert_eq(p[len - 1], 4);
	cr_assert_eq(nhi_buf_len(sect), 0);
	nhi_buf_free(sect);
	cr_assert_eq(nhi_buf_get_u8(b, &type), 0);
	cr_assert_eq(type, 5);
	cr_assert_eq(nhi_buf_get_stringb(b, &sect), 0);
	for (i = 0; i < 3; i++) {
		cr_assert_eq(nhi_buf_get_string_direct(sect, &p, &len), 0);
		cr_assert_eq(len, NHI_SHA256_BYTES);
		cr_assert_arr_eq(p, h[(i + 1) % 3], len);
	}
	nhi_buf_free(sect);
	cr_assert_eq(nhi_buf_len(b), 0);
	nhi_buf_free(b);

	/* Serial 9 is revoked for ca1 and ca2 but not for another CA. */
	back = reparse(krl);
	cr_assert_eq(check_serial_id(back, ca1, 9, NULL), NHI_ERR_KEY_REVOKED);
	cr_assert_eq(check_serial_id(back, ca2, 9, NULL), NHI_ERR_KEY_REVOKED);
	cr_assert_eq(check_serial_id(back, k4, 9, NULL), NHI_ERR_KEY_REVOKED); /* k4 is revoked */
	cr_assert_eq(check_serial_id(back, k5, 9, NULL), 0);
	cr_assert_eq(check_serial_id(back, k5, 9, "any"), NHI_ERR_KEY_REVOKED);
	cr_assert_eq(nhi_krl_check_key(back, k3), NHI_ERR_KEY_REVOKED);
	cr_assert_eq(nhi_krl_check_key(back, ca1), 0);
	nhi_krl_free(back);
	nhi_krl_free(krl);
	nhi_key_free(ca1);
	nhi_key_free(ca2);
	nhi_key_free(k3);
	nhi_key_free(k4);
	nhi_key_free(k5);
}

Test(krl, sha256_revokes_plain_key_and_cert_subject)
{
	struct nhi_key *k = synth_key(9), *other = synth_key(10);
	struct nhi_krl *krl = nhi_krl_new(), *back;
	struct nhi_cert cert;
	uint8_t h[NHI_SHA256_BYTES];

	cr_assert_eq(nhi_key_fingerprint_raw(k, h), 0);
	cr_assert_eq(nhi_krl_revoke_sha256(krl, h), 0);
	back = reparse(krl);
	cr_assert_eq(nhi_krl_check_key(back, k), NHI_ERR_KEY_REVOKED);
	cr_assert_eq(nhi_krl_check_key(back, other), 0);
	memset(&cert, 0, sizeof(cert));
	cert.key = k;
	cert.serial = 77;
	cert.key_id = (char *)"x";
	cr_assert_eq(nhi_krl_check_cert(back, &cert), NHI_ERR_KEY_REVOKED);
	cert.key = other;
	cert.signature_key = k; /* a revoked CA revokes what it signed */
	cr_assert_eq(nhi_krl_check_cert(back, &cert), NHI_ERR_KEY_REVOKED);
	cert.signature_key = NULL;
	cr_assert_eq(nhi_krl_check_cert(back, &cert), 0);
	nhi_krl_free(back);
	nhi_krl_free(krl);
	nhi_key_free(k);
	nhi_key_free(other);
}

/* 100 000 serials and 100 000 hashes in scrambled order: written, read
 * back, identical to the same set added in order. */
Test(krl, large_sets_round_trip)
{
	const uint32_t n = 100000;
	struct nhi_krl *a = nhi_krl_new(), *b = nhi_krl_new(), *back;
	struct nhi_buf *ba, *bb, *again;
	uint8_t (*hashes)[NHI_SHA256_BYTES] = calloc(n, NHI_SHA256_BYTES);
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	uint32_t i, j;

	cr_assert_not_null(hashes);
	for (i = 0; i < n; i++) {
		for (j = 0; j < NHI_SHA256_BYTES; j++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			hashes[i][j] = (uint8_t)x;
		}
	}
	for (i = 0; i < n; i++) {
		uint32_t k = (uint32_t)(((uint64_t)i * 7919u) % n); /* a permutation */

		/* Odd serials: none adjacent, so every one is a list entry. */
		cr_assert_eq(nhi_krl_revoke_serial(a, NULL, 1 + 2 * (uint64_t)k), 0);
		cr_assert_eq(nhi_krl_revoke_sha256(a, hashes[k]), 0);
		cr_assert_eq(nhi_krl_revoke_serial(b, NULL, 1 + 2 * (uint64_t)i), 0);
	}
	for (i = 0; i < n; i++)
		cr_assert_eq(nhi_krl_revoke_sha256(b, hashes[i]), 0);
	nhi_krl_set_generated(a, 5);
	nhi_krl_set_generated(b, 5);
	ba = to_blob(a);
	bb = to_blob(b);
	cr_assert_eq(nhi_buf_len(ba), nhi_buf_len(bb));
	cr_assert_arr_eq(nhi_buf_ptr(ba), nhi_buf_ptr(bb), nhi_buf_len(ba));

	cr_assert_eq(nhi_krl_from_blob(nhi_buf_ptr(ba), nhi_buf_len(ba), &back), 0);
	again = to_blob(back);
	cr_assert_arr_eq(nhi_buf_ptr(again), nhi_buf_ptr(ba), nhi_buf_len(ba));
	for (i = 0; i < 2 * n + 2; i += 997) {
		cr_assert_eq(check_serial_id(back, NULL, i, NULL) != 0, i % 2 == 1 && i < 2 * n);
		cr_assert_eq(check_serial_id(a, NULL, i, NULL) != 0, i % 2 == 1 && i < 2 * n);
	}
	nhi_buf_free(ba);
	nhi_buf_free(bb);
	nhi_buf_free(again);
	nhi_krl_free(a);
	nhi_krl_free(b);
	nhi_krl_free(back);
	free(hashes);
}

Test(krl, write_file_is_atomic_and_world_readable)
{
	char *dir = test_mkdtemp(), *path = test_path(dir, "revoked.krl"), *data;
	struct nhi_krl *krl = nhi_krl_new();
	struct nhi_buf *b;
	struct stat st;
	size_t len;

	cr_assert_eq(nhi_krl_revoke_serial(krl, NULL, 3), 0);
	nhi_krl_set_generated(krl, 99);
	cr_assert_eq(nhi_krl_write_file(krl, path), 0);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 07777, 0644);
	data = test_read_file(path, &len);
	b = to_blob(krl);
	cr_assert_eq(len, nhi_buf_len(b));
	cr_assert_arr_eq(data, nhi_buf_ptr(b), len);
	free(data);
	nhi_buf_free(b);
	nhi_krl_free(krl);
	test_rmtree(dir);
	free(path);
	free(dir);
}

/* --- reading what others wrote, and what an attacker wrote --- */

Test(krl, bitmap_sections_read)
{
	struct nhi_buf *b = header(1), *sub = nhi_buf_new();
	struct nhi_krl *krl;
	uint8_t bits[] = { 0x81, 0xb1 }; /* bits 0,4,5,7,8,15 */
	uint64_t s;

	cr_assert_eq(nhi_buf_put_u64(sub, 100), 0);
	cr_assert_eq(nhi_buf_put_bignum2_bytes(sub, bits, sizeof(bits)), 0);
	put_any_ca_sub(b, 0x22, sub);
	cr_assert_eq(parse(b, &krl), 0);
	for (s = 95; s < 120; s++) {
		bool want = s == 100 || s == 104 || s == 105 || s == 107 || s == 108 || s == 115;

		cr_assert_eq(check_serial_id(krl, NULL, s, NULL) != 0, want, "serial %lu",
			     (unsigned long)s);
	}
	nhi_krl_free(krl);
	nhi_buf_free(b);

	/* Bit 0 at offset 0 would revoke serial 0; a bitmap past 2^64 wraps. */
	b = header(1);
	nhi_buf_reset(sub);
	nhi_buf_put_u64(sub, 0), nhi_buf_put_bignum2_bytes(sub, "\x01", 1);
	put_any_ca_sub(b, 0x22, sub);
	cr_assert_eq(parse(b, NULL), NHI_ERR_INVALID_FORMAT);
	nhi_buf_free(b);
	b = header(1);
	nhi_buf_reset(sub);
	nhi_buf_put_u64(sub, UINT64_MAX - 2), nhi_buf_put_bignum2_bytes(sub, "\x10", 1);
	put_any_ca_sub(b, 0x22, sub);
	cr_assert_eq(parse(b, NULL), NHI_ERR_INVALID_FORMAT);
	nhi_buf_free(b);
	/* An empty bitmap revokes nothing and is fine. */
	b = header(1);
	nhi_buf_reset(sub);
	nhi_buf_put_u64(sub, 5), nhi_buf_put_bignum2_bytes(sub, NULL, 0);
	put_any_ca_sub(b, 0x22, sub);
	cr_assert_eq(parse(b, NULL), 0);
	nhi_buf_free(b);
	nhi_buf_free(sub);
}

Test(krl, extensions_skipped_unless_critical)
{
	struct nhi_buf *b, *ext = nhi_buf_new();
	int critical, cert_level;

	for (cert_level = 0; cert_level < 2; cert_level++) {
		for (critical = 0; critical < 2; critical++) {
			nhi_buf_reset(ext);
			nhi_buf_put_cstring(ext, "future@example.org");
			nhi_buf_put_u8(ext, (uint8_t)critical);
			nhi_buf_put_cstring(ext, "payload");
			b = header(1);
			if (cert_level)
				put_any_ca_sub(b, 0x39, ext);
			else
				put_section(b, 255, ext);
			cr_assert_eq(parse(b, NULL), critical ? NHI_ERR_INVALID_FORMAT : 0);
			nhi_buf_free(b);
		}
	}
	nhi_buf_free(ext);
}

Test(krl, header_refusals)
{
	struct nhi_buf *b;
	struct nhi_krl *krl = NULL;
	uint8_t *p;

	b = header(2);
	cr_assert_eq(parse(b, NULL), NHI_ERR_INVALID_FORMAT);
	nhi_buf_free(b);
	b = header(0);
	cr_assert_eq(parse(b, NULL), NHI_ERR_INVALID_FORMAT);
	nhi_buf_free(b);
	b = header(1);
	p = (uint8_t *)(uintptr_t)nhi_buf_ptr(b);
	p[0] ^= 1;
	cr_assert_eq(parse(b, NULL), NHI_ERR_INVALID_FORMAT);
	nhi_buf_free(b);
	cr_assert_eq(nhi_krl_from_blob(NULL, 0, &krl), NHI_ERR_MESSAGE_INCOMPLETE);
	cr_assert_eq(nhi_krl_from_blob((const uint8_t *)"x", 1, NULL), NHI_ERR_INVALID_ARGUMENT);
	cr_assert_null(krl);
	/* A comment holding a NUL byte. */
	b = nhi_buf_new();
	nhi_buf_put_u64(b, NHI_KRL_MAGIC), nhi_buf_put_u32(b, 1), nhi_buf_put_u64(b, 1);
	nhi_buf_put_u64(b, 1), nhi_buf_put_u64(b, 0), nhi_buf_put_string(b, NULL, 0);
	nhi_buf_put_string(b, "a\0b", 3);
	cr_assert_eq(parse(b, NULL), NHI_ERR_INVALID_FORMAT);
	nhi_buf_free(b);
}

Test(krl, section_refusals)
{
	struct nhi_buf *b, *s = nhi_buf_new();
	uint8_t types[] = { 0, 4, 6, 0x20, 254 };
	uint8_t subtypes[] = { 0, 0x01, 0x24, 0x38, 0xff };
	size_t i;

	/* Unknown sections, and signature sections (sshd >= 9.4 refuses them). */
	for (i = 0; i < sizeof(types); i++) {
		b = header(1);
		nhi_buf_reset(s);
		nhi_buf_put_string(s, "x", 1);
		put_section(b, types[i], s);
		cr_assert_eq(parse(b, NULL), NHI_ERR_INVALID_FORMAT, "type %u", types[i]);
		nhi_buf_free(b);
	}
	for (i = 0; i < sizeof(subtypes); i++) {
		b = header(1);
		nhi_buf_reset(s);
		nhi_buf_put_u64(s, 5);
		put_any_ca_sub(b, subtypes[i], s);
		cr_assert_eq(parse(b, NULL), NHI_ERR_INVALID_FORMAT, "subtype %u", subtypes[i]);
		nhi_buf_free(b);
	}
	/* Serial 0 in a list, a range from 0, a reversed range, a range with
	 * trailing bytes, a list with a partial entry. */
	{
		uint64_t cases[][3] = { { 0x20, 0, 0 }, { 0x21, 0, 5 }, { 0x21, 9, 8 } };

		for (i = 0; i < 3; i++) {
			b = header(1);
			nhi_buf_reset(s);
			nhi_buf_put_u64(s, cases[i][1]);
			if (cases[i][0] == 0x21)
				nhi_buf_put_u64(s, cases[i][2]);
			put_any_ca_sub(b, (uint8_t)cases[i][0], s);
			cr_assert_eq(parse(b, NULL), NHI_ERR_INVALID_FORMAT, "case %zu", i);
			nhi_buf_free(b);
		}
	}
	b = header(1);
	nhi_buf_reset(s);
	nhi_buf_put_u64(s, 1), nhi_buf_put_u64(s, 2), nhi_buf_put_u8(s, 0);
	put_any_ca_sub(b, 0x21, s);
	cr_assert_eq(parse(b, NULL), NHI_ERR_INVALID_FORMAT);
	nhi_buf_free(b);
	b = header(1);
	nhi_buf_reset(s);
	nhi_buf_put_u64(s, 1), nhi_buf_put_u32(s, 2);
	put_any_ca_sub(b, 0x20, s);
	cr_assert(parse(b, NULL) < 0);
	nhi_buf_free(b);
	/* Hashes of the wrong length; a key id holding NUL; a CA that is not a key. */
	b = header(1);
	nhi_buf_reset(s);
	nhi_buf_put_string(s, "0123456789012345678901234567890", 31);
	put_section(b, 5, s);
	cr_assert_eq(parse(b, NULL), NHI_ERR_INVALID_FORMAT);
	nhi_buf_free(b);
	b = header(1);
	nhi_buf_reset(s);
	nhi_buf_put_string(s, "0123456789012345678901234567890", 21);
	put_section(b, 3, s);
	cr_assert_eq(parse(b, NULL), NHI_ERR_INVALID_FORMAT);
	nhi_buf_free(b);
	b = header(1);
	nhi_buf_reset(s);
	nhi_buf_put_string(s, "ab\0c", 4);
	put_any_ca_sub(b, 0x23, s);
	cr_assert_eq(parse(b, NULL), NHI_ERR_INVALID_FORMAT);
	nhi_buf_free(b);
	b = header(1);
	nhi_buf_reset(s);
	nhi_buf_put_cstring(s, "not a key"), nhi_buf_put_string(s, NULL, 0);
	put_section(b, 1, s);
	cr_assert(parse(b, NULL) < 0);
	nhi_buf_free(b);
	/* A section length past the end of the data. */
	b = header(1);
	nhi_buf_put_u8(b, 5), nhi_buf_put_u32(b, 0xffffffffu), nhi_buf_put_u64(b, 1);
	cr_assert_eq(parse(b, NULL), NHI_ERR_STRING_TOO_LARGE);
	nhi_buf_free(b);
	b = header(1);
	nhi_buf_put_u8(b, 5), nhi_buf_put_u32(b, 100), nhi_buf_put_u64(b, 1);
	cr_assert_eq(parse(b, NULL), NHI_ERR_MESSAGE_INCOMPLETE);
	nhi_buf_free(b);
	/* ... and a subsection length past the end of its section. */
	b = header(1);
	nhi_buf_reset(s);
	nhi_buf_put_string(s, NULL, 0), nhi_buf_put_string(s, NULL, 0);
	nhi_buf_put_u8(s, 0x20), nhi_buf_put_u32(s, 16), nhi_buf_put_u64(s, 1);
	put_section(b, 1, s);
	cr_assert_eq(parse(b, NULL), NHI_ERR_MESSAGE_INCOMPLETE);
	nhi_buf_free(b);
	/* Trailing bytes after the last string of a hash section. */
	b = header(1);
	nhi_buf_reset(s);
	nhi_buf_put_string(s, "01234567890123456789012345678901", 32), nhi_buf_put_u8(s, 1);
	put_section(b, 5, s);
	cr_assert(parse(b, NULL) < 0);
	nhi_buf_free(b);
	nhi_buf_free(s);
}

Test(krl, duplicates_and_unsorted_tolerated)
{
	struct nhi_buf *b = header(1), *s = nhi_buf_new();
	struct nhi_key *k = synth_key(7);
	struct nhi_krl *krl;
	uint8_t h[NHI_SHA256_BYTES];

	cr_assert_eq(nhi_key_fingerprint_raw(k, h), 0);
	nhi_buf_put_u64(s, 9), nhi_buf_put_u64(s, 3), nhi_buf_put_u64(s, 9);
	put_any_ca_sub(b, 0x20, s);
	put_any_ca_sub(b, 0x20, s); /* a second section for the same CA */
	nhi_buf_reset(s);
	nhi_buf_put_string(s, "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"
			      "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff",
			   32);
	nhi_buf_put_string(s, h, sizeof(h));
	nhi_buf_put_string(s, h, sizeof(h));
	put_section(b, 5, s);
	cr_assert_eq(parse(b, &krl), 0);
	cr_assert_eq(check_serial_id(krl, NULL, 3, NULL), NHI_ERR_KEY_REVOKED);
	cr_assert_eq(check_serial_id(krl, NULL, 9, NULL), NHI_ERR_KEY_REVOKED);
	cr_assert_eq(check_serial_id(krl, NULL, 4, NULL), 0);
	cr_assert_eq(nhi_krl_check_key(krl, k), NHI_ERR_KEY_REVOKED);
	nhi_krl_free(krl);
	nhi_key_free(k);
	nhi_buf_free(b);
	nhi_buf_free(s);
}

Test(krl, huge_counts_capped)
{
	struct nhi_buf *b = header(1), *s = nhi_buf_new();
	struct nhi_krl *krl = NULL;
	uint64_t i;

	/* One more isolated serial than a KRL may hold. */
	for (i = 0; i <= NHI_KRL_ENTRIES_MAX; i++)
		cr_assert_eq(nhi_buf_put_u64(s, 2 * i + 1), 0);
	put_any_ca_sub(b, 0x20, s);
	cr_assert_eq(parse(b, &krl), NHI_ERR_TOO_MANY);
	nhi_buf_free(b);

	/* More distinct CAs than allowed. */
	b = header(1);
	for (i = 0; i <= NHI_KRL_CAS_MAX; i++) {
		struct nhi_key *ca = synth_key(0);

		ca->ed25519_pk[0] = (uint8_t)i;
		ca->ed25519_pk[1] = (uint8_t)(i >> 8);
		nhi_buf_reset(s);
		put_key_blob(s, ca);
		nhi_buf_put_string(s, NULL, 0);
		put_section(b, 1, s);
		nhi_key_free(ca);
	}
	cr_assert_eq(parse(b, &krl), NHI_ERR_TOO_MANY);
	nhi_buf_free(b);
	nhi_buf_free(s);
}

/* Every prefix of a rich KRL either fails cleanly or ends exactly on a
 * section boundary (a shorter KRL is still a KRL). */
Test(krl, every_truncation)
{
	struct nhi_key *ca = synth_key(1), *k = synth_key(2);
	struct nhi_krl *krl = nhi_krl_new(), *out;
	struct nhi_buf *b, *walk;
	uint8_t h[NHI_SHA256_BYTES] = { 1 }, type;
	size_t full, len, bounds[16], nb = 0, i, j;
	int r;

	nhi_krl_set_comment(krl, "truncate me");
	nhi_krl_revoke_serial(krl, ca, 5);
	nhi_krl_revoke_serial_range(krl, ca, 10, 20);
	nhi_krl_revoke_key_id(krl, ca, "id");
	nhi_krl_revoke_serial(krl, NULL, 7);
	nhi_krl_revoke_key(krl, k);
	nhi_krl_revoke_sha256(krl, h);
	b = to_blob(krl);
	full = nhi_buf_len(b);

	walk = nhi_buf_from(nhi_buf_ptr(b), full);
	nhi_buf_consume(walk, 8 + 4 + 8 + 8 + 8);
	nhi_buf_get_string_direct(walk, NULL, NULL);
	nhi_buf_get_string_direct(walk, NULL, NULL);
	bounds[nb++] = full - nhi_buf_len(walk);
	while (nhi_buf_len(walk) > 0) {
		cr_assert_eq(nhi_buf_get_u8(walk, &type), 0);
		cr_assert_eq(nhi_buf_get_string_direct(walk, NULL, NULL), 0);
		bounds[nb++] = full - nhi_buf_len(walk);
	}
	cr_assert_eq(nb, 5); /* header, ca, any CA, keys, hashes */
	nhi_buf_free(walk);

	for (len = 0; len <= full; len++) {
		bool boundary = false;
		uint8_t *copy = malloc(len + 1); /* exact size, so ASan sees overreads */

		cr_assert_not_null(copy);
		memcpy(copy, nhi_buf_ptr(b), len);
		for (j = 0; j < nb; j++)
			boundary |= bounds[j] == len;
		out = NULL;
		r = nhi_krl_from_blob(copy, len, &out);
		if (boundary) {
			cr_assert_eq(r, 0, "length %zu", len);
			nhi_krl_free(out);
		} else {
			cr_assert(r < 0, "length %zu parsed", len);
			cr_assert_null(out);
		}
		free(copy);
	}
	/* Flipping every byte must never crash either. */
	for (i = 0; i < full; i++) {
		uint8_t *copy = malloc(full);

		memcpy(copy, nhi_buf_ptr(b), full);
		copy[i] ^= 0xff;
		out = NULL;
		r = nhi_krl_from_blob(copy, full, &out);
		cr_assert(r <= 0);
		nhi_krl_free(out);
		free(copy);
	}
	nhi_buf_free(b);
	nhi_krl_free(krl);
	nhi_key_free(ca);
	nhi_key_free(k);
}

/* --- cross-checks against ssh-keygen --- */

struct item {
	const char *file; /* a public key or certificate in the test dir */
	bool revoked;     /* in both KRLs below */
};

static char *xdir;

static char *xpath(const char *name)
{
	return test_path(xdir, name);
}

static void run_ok(char *const argv[])
{
	char *out = NULL;
	int st = test_run(argv, &out);

	cr_assert_eq(st, 0, "%s failed (%d): %s", argv[0], st, out);
	free(out);
}

static void keygen(const char *name, const char *type)
{
	char *p = xpath(name);
	char *argv[] = { (char *)test_ssh_keygen(), "-q", "-t", (char *)type, "-N", "",
			 "-C", (char *)name, "-f", p, NULL };

	run_ok(argv);
	free(p);
}

/* Copies SUBJECT.pub to NAME.pub and certifies it as NAME-cert.pub. */
static void certify(const char *name, const char *subject, const char *ca, const char *id,
		    const char *serial)
{
	char from[64], to[64], *pf, *pt, *pc, *data;
	size_t len;

	snprintf(from, sizeof(from), "%s.pub", subject);
	snprintf(to, sizeof(to), "%s.pub", name);
	pf = xpath(from);
	pt = xpath(to);
	pc = xpath(ca);
	data = test_read_file(pf, &len);
	test_write_file(pt, data, len, 0644);
	{
		char *argv[] = { (char *)test_ssh_keygen(), "-q", "-s", pc, "-I", (char *)id, "-z",
				 (char *)serial, "-n", "user", pt, NULL };

		run_ok(argv);
	}
	free(data);
	free(pf);
	free(pt);
	free(pc);
}

static char *read_line(const char *name)
{
	char *p = xpath(name), *data = test_read_file(p, NULL);
	size_t n = strlen(data);

	while (n > 0 && (data[n - 1] == '\n' || data[n - 1] == '\r' || data[n - 1] == ' '))
		data[--n] = '\0';
	free(p);
	return data;
}

static struct nhi_key *load_key(const char *name)
{
	struct nhi_key *k = NULL;
	char *line = read_line(name);

	cr_assert_eq(nhi_key_from_text(line, &k, NULL), 0, "%s", name);
	free(line);
	return k;
}

/* ssh-keygen -Q: true when it says REVOKED (and exits 1), false for "ok". */
static bool keygen_says_revoked(const char *krl, const char *file)
{
	char *pk = xpath(krl), *pf = xpath(file), *out = NULL;
	char *argv[] = { (char *)test_ssh_keygen(), "-Q", "-f", pk, pf, NULL };
	int st = test_run(argv, &out);
	bool revoked = strstr(out, ": REVOKED\n") != NULL, ok = strstr(out, ": ok\n") != NULL;

	cr_assert(revoked != ok, "ssh-keygen -Q %s %s: %s", krl, file, out);
	cr_assert_eq(st, revoked ? 1 : 0, "%s", out);
	free(out);
	free(pk);
	free(pf);
	return revoked;
}

/* Our verdict for a key or certificate file. */
static bool we_say_revoked(const struct nhi_krl *krl, const char *file)
{
	char *line = read_line(file);
	int r;

	if (strstr(line, "-cert-v01@openssh.com ") != NULL) {
		struct nhi_cert *cert = NULL;

		cr_assert_eq(nhi_cert_from_text(line, &cert, NULL), 0, "%s", file);
		r = nhi_krl_check_cert(krl, cert);
		nhi_cert_free(cert);
	} else {
		struct nhi_key *k = NULL;

		cr_assert_eq(nhi_key_from_text(line, &k, NULL), 0, "%s", file);
		r = nhi_krl_check_key(krl, k);
		nhi_key_free(k);
	}
	free(line);
	cr_assert(r == 0 || r == NHI_ERR_KEY_REVOKED, "%s: %d", file, r);
	return r == NHI_ERR_KEY_REVOKED;
}

static void write_spec(const char *name, const char *text)
{
	char *p = xpath(name);

	test_write_file(p, text, strlen(text), 0644);
	free(p);
}

static struct nhi_krl *load_krl(const char *name)
{
	char *p = xpath(name), *data;
	struct nhi_krl *krl = NULL;
	size_t len;

	data = test_read_file(p, &len);
	cr_assert_eq(nhi_krl_from_blob((const uint8_t *)data, len, &krl), 0, "%s", name);
	free(data);
	free(p);
	return krl;
}

static void save_krl(const struct nhi_krl *krl, const char *name)
{
	char *p = xpath(name);

	cr_assert_eq(nhi_krl_write_file(krl, p), 0);
	free(p);
}

Test(krl, agrees_with_ssh_keygen)
{
	/* Certificates: CA, serial, key id, subject. */
	static const struct {
		const char *name, *ca, *id, *serial, *subject;
		bool revoked;
	} certs[] = {
		{ "c_serial5", "ca", "alice", "5", "user", true },       /* listed serial */
		{ "c_serial6", "ca", "alice", "6", "user_ec", true },    /* list touching range */
		{ "c_serial9", "ca", "alice", "9", "user", true },       /* in range 7-10 */
		{ "c_serial11", "ca", "alice", "11", "user_rsa", false }, /* just past it */
		{ "c_serial4", "ca", "alice", "4", "user", false },      /* just before */
		{ "c_serial20", "ca", "alice", "20", "user", true },
		{ "c_bitmap", "ca", "alice", "204", "user", true },
		{ "c_bitmap_gap", "ca", "alice", "203", "user", false },
		{ "c_id_bob", "ca", "bob", "30", "user", true },         /* key id, this CA */
		{ "c_ca2_serial5", "ca2", "alice", "5", "user", false }, /* other CA's serial */
		{ "c_ca2_bob", "ca2", "bob", "31", "user", false },      /* other CA's key id */
		{ "c_any_serial", "ca2", "alice", "100", "user", true }, /* any-CA serial */
		{ "c_any_id", "ca2", "mallory", "32", "user", true },    /* any-CA key id */
		{ "c_serial0", "ca", "carol", "0", "user", false },      /* serial 0 */
		{ "c_subject", "ca", "carol", "40", "revoked_key", true }, /* subject key */
		{ "c_subject_hash", "ca2", "carol", "41", "hashed_key", true },
		{ "c_ca3", "ca3", "alice", "5", "user", true },          /* CA itself revoked */
	};
	static const struct item keys[] = {
		{ "revoked_key.pub", true }, { "hashed_key.pub", true }, { "sha1_key.pub", false },
		{ "user.pub", false },       { "user_rsa.pub", false },  { "ca.pub", false },
		{ "ca3.pub", true },
	};
	struct nhi_key *ca, *ca2, *revoked_key, *hashed_key, *ca3;
	struct nhi_krl *ours = nhi_krl_new(), *theirs, *ours_back;
	uint8_t h[NHI_SHA256_BYTES];
	char fp[NHI_FINGERPRINT_MAX], spec[8192], certfile[64];
	char *line_revoked, *line_ca3, *line_sha1, *p_ca, *p_theirs, *p_spec;
	size_t i;

	xdir = test_mkdtemp();
	keygen("ca", "ed25519");
	keygen("ca2", "ecdsa");
	keygen("ca3", "ed25519");
	keygen("user", "ed25519");
	keygen("user_ec", "ecdsa");
	keygen("user_rsa", "rsa");
	keygen("revoked_key", "ecdsa");
	keygen("hashed_key", "ed25519");
	keygen("sha1_key", "ed25519");
	for (i = 0; i < sizeof(certs) / sizeof(certs[0]); i++)
		certify(certs[i].name, certs[i].subject, certs[i].ca, certs[i].id, certs[i].serial);
	ca = load_key("ca.pub");
	ca2 = load_key("ca2.pub");
	ca3 = load_key("ca3.pub");
	revoked_key = load_key("revoked_key.pub");
	hashed_key = load_key("hashed_key.pub");

	/* Ours. */
	nhi_krl_set_version(ours, 42);
	cr_assert_eq(nhi_krl_revoke_serial(ours, ca, 5), 0);
	cr_assert_eq(nhi_krl_revoke_serial(ours, ca, 6), 0);
	cr_assert_eq(nhi_krl_revoke_serial_range(ours, ca, 7, 10), 0);
	cr_assert_eq(nhi_krl_revoke_serial(ours, ca, 20), 0);
	cr_assert_eq(nhi_krl_revoke_serial(ours, ca, 202), 0);
	cr_assert_eq(nhi_krl_revoke_serial(ours, ca, 204), 0);
	cr_assert_eq(nhi_krl_revoke_serial(ours, ca, 205), 0);
	cr_assert_eq(nhi_krl_revoke_key_id(ours, ca, "bob"), 0);
	cr_assert_eq(nhi_krl_revoke_serial(ours, NULL, 100), 0);
	cr_assert_eq(nhi_krl_revoke_key_id(ours, NULL, "mallory"), 0);
	cr_assert_eq(nhi_krl_revoke_key(ours, revoked_key), 0);
	cr_assert_eq(nhi_krl_revoke_key(ours, ca3), 0);
	cr_assert_eq(nhi_key_fingerprint_raw(hashed_key, h), 0);
	cr_assert_eq(nhi_krl_revoke_sha256(ours, h), 0);
	save_krl(ours, "ours.krl");

	/* Theirs: the same revocations through ssh-keygen -k spec files. */
	cr_assert_eq(nhi_key_fingerprint(hashed_key, fp), 0);
	line_revoked = read_line("revoked_key.pub");
	line_ca3 = read_line("ca3.pub");
	line_sha1 = read_line("sha1_key.pub");
	write_spec("spec_ca", "serial: 5\nserial: 6\nserial: 7-10\nserial: 20\nserial: 202\n"
			      "serial: 204\nserial: 205\nid: bob\n");
	write_spec("spec_any", "serial: 100\nid: mallory\n");
	snprintf(spec, sizeof(spec), "key: %s\nkey: %s\nhash: %s\n", line_revoked, line_ca3, fp);
	write_spec("spec_keys", spec);
	p_ca = xpath("ca.pub");
	p_theirs = xpath("theirs.krl");
	{
		char *s1 = xpath("spec_ca"), *s2 = xpath("spec_any"), *s3 = xpath("spec_keys");
		char *kg = (char *)test_ssh_keygen();
		char *a1[] = { kg, "-k", "-f", p_theirs, "-z", "42", "-s", p_ca, s1, NULL };
		char *a2[] = { kg, "-k", "-u", "-f", p_theirs, "-s", "none", s2, NULL };
		char *a3[] = { kg, "-k", "-u", "-f", p_theirs, s3, NULL };

		run_ok(a1);
		run_ok(a2);
		run_ok(a3);
		free(s1);
		free(s2);
		free(s3);
	}

	theirs = load_krl("theirs.krl");
	cr_assert_eq(nhi_krl_version(theirs), 42);
	ours_back = load_krl("ours.krl");
	cr_assert_eq(nhi_krl_version(ours_back), 42);
	/* Our rewrite of their KRL (bitmaps become lists and ranges). */
	save_krl(theirs, "rewritten.krl");

	for (i = 0; i < sizeof(certs) / sizeof(certs[0]) + sizeof(keys) / sizeof(keys[0]); i++) {
		size_t nc = sizeof(certs) / sizeof(certs[0]);
		const char *file;
		bool want;

		if (i < nc) {
			snprintf(certfile, sizeof(certfile), "%s-cert.pub", certs[i].name);
			file = certfile;
			want = certs[i].revoked;
		} else {
			file = keys[i - nc].file;
			want = keys[i - nc].revoked;
		}
		cr_assert_eq(keygen_says_revoked("ours.krl", file), want, "ours: %s", file);
		cr_assert_eq(keygen_says_revoked("theirs.krl", file), want, "theirs: %s", file);
		cr_assert_eq(keygen_says_revoked("rewritten.krl", file), want, "rewritten: %s",
			     file);
		cr_assert_eq(we_say_revoked(ours, file), want, "we (built): %s", file);
		cr_assert_eq(we_say_revoked(ours_back, file), want, "we (ours): %s", file);
		cr_assert_eq(we_say_revoked(theirs, file), want, "we (theirs): %s", file);
	}

	/* SHA-1 entries only come from others' KRLs; we honour and keep them. */
	nhi_krl_free(theirs);
	snprintf(spec, sizeof(spec), "sha1: %s\n", line_sha1);
	write_spec("spec_sha1", spec);
	p_spec = xpath("spec_sha1");
	{
		char *a[] = { (char *)test_ssh_keygen(), "-k", "-u", "-f", p_theirs, p_spec, NULL };

		run_ok(a);
	}
	theirs = load_krl("theirs.krl");
	cr_assert(keygen_says_revoked("theirs.krl", "sha1_key.pub"));
	cr_assert(we_say_revoked(theirs, "sha1_key.pub"));
	save_krl(theirs, "rewritten.krl");
	cr_assert(keygen_says_revoked("rewritten.krl", "sha1_key.pub"));
	cr_assert(keygen_says_revoked("rewritten.krl", "c_bitmap-cert.pub"));
	cr_assert(!keygen_says_revoked("rewritten.krl", "user.pub"));

	nhi_krl_free(theirs);
	nhi_krl_free(ours);
	nhi_krl_free(ours_back);
	nhi_key_free(ca);
	nhi_key_free(ca2);
	nhi_key_free(ca3);
	nhi_key_free(revoked_key);
	nhi_key_free(hashed_key);
	free(line_revoked);
	free(line_ca3);
	free(line_sha1);
	free(p_ca);
	free(p_theirs);
	free(p_spec);
	test_rmtree(xdir);
	free(xdir);
}

#include "config.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"

Test(buf, round_trip_all_encodings)
{
	struct nhi_buf *b = nhi_buf_new();
	const uint8_t *p;
	uint8_t u8;
	uint32_t u32;
	uint64_t u64;
	char *s;
	size_t len;

	cr_assert_not_null(b);
	cr_assert_eq(nhi_buf_put_u8(b, 0xab), 0);
	cr_assert_eq(nhi_buf_put_u32(b, 0xdeadbeef), 0);
	cr_assert_eq(nhi_buf_put_u64(b, 0x0102030405060708ULL), 0);
	cr_assert_eq(nhi_buf_put_cstring(b, "ssh-ed25519"), 0);
	cr_assert_eq(nhi_buf_put_string(b, NULL, 0), 0);
	cr_assert_eq(nhi_buf_len(b), 1 + 4 + 8 + 4 + 11 + 4);
	/* Big-endian on the wire. */
	cr_assert_eq(memcmp(nhi_buf_ptr(b), "\xab\xde\xad\xbe\xef\x01\x02", 7), 0);

	cr_assert_eq(nhi_buf_get_u8(b, &u8), 0);
	cr_assert_eq(u8, 0xab);
	cr_assert_eq(nhi_buf_get_u32(b, &u32), 0);
	cr_assert_eq(u32, 0xdeadbeef);
	cr_assert_eq(nhi_buf_get_u64(b, &u64), 0);
	cr_assert_eq(u64, 0x0102030405060708ULL);
	cr_assert_eq(nhi_buf_get_cstring(b, &s, &len), 0);
	cr_assert_str_eq(s, "ssh-ed25519");
	cr_assert_eq(len, 11);
	free(s);
	cr_assert_eq(nhi_buf_get_string_direct(b, &p, &len), 0);
	cr_assert_eq(len, 0);
	cr_assert_eq(nhi_buf_len(b), 0);
	cr_assert_eq(nhi_buf_get_u8(b, &u8), NHI_ERR_MESSAGE_INCOMPLETE);
	nhi_buf_free(b);
}

Test(buf, getters_leave_buffer_untouched_on_failure)
{
	/* A string claiming 16 bytes with only 3 present. */
	static const uint8_t wire[] = { 0, 0, 0, 16, 'a', 'b', 'c' };
	struct nhi_buf *b = nhi_buf_from(wire, sizeof(wire));
	const uint8_t *p = NULL;
	uint64_t u64 = 77;
	char *s = NULL;

	cr_assert_eq(nhi_buf_get_string_direct(b, &p, NULL), NHI_ERR_MESSAGE_INCOMPLETE);
	cr_assert_eq(nhi_buf_get_cstring(b, &s, NULL), NHI_ERR_MESSAGE_INCOMPLETE);
	cr_assert_eq(nhi_buf_get_u64(b, &u64), NHI_ERR_MESSAGE_INCOMPLETE);
	cr_assert_null(p);
	cr_assert_null(s);
	cr_assert_eq(u64, 77);
	cr_assert_eq(nhi_buf_len(b), sizeof(wire));
	nhi_buf_free(b);
}

Test(buf, every_truncation_fails_cleanly)
{
	struct nhi_buf *w = nhi_buf_new();

	cr_assert_eq(nhi_buf_put_cstring(w, "principal"), 0);
	cr_assert_eq(nhi_buf_put_u64(w, 42), 0);
	for (size_t cut = 0; cut < nhi_buf_len(w); cut++) {
		struct nhi_buf *r = nhi_buf_from(nhi_buf_ptr(w), cut);
		char *s = NULL;
		uint64_t v;
		int rc = nhi_buf_get_cstring(r, &s, NULL);

		if (rc == 0)
			rc = nhi_buf_get_u64(r, &v);
		cr_assert_eq(rc, NHI_ERR_MESSAGE_INCOMPLETE, "cut at %zu", cut);
		free(s);
		nhi_buf_free(r);
	}
	nhi_buf_free(w);
}

Test(buf, huge_length_is_refused)
{
	static const uint8_t wire[] = { 0xff, 0xff, 0xff, 0xff, 'x' };
	struct nhi_buf *b = nhi_buf_from(wire, sizeof(wire));

	cr_assert_eq(nhi_buf_get_string_direct(b, NULL, NULL), NHI_ERR_STRING_TOO_LARGE);
	cr_assert_eq(nhi_buf_len(b), sizeof(wire));
	nhi_buf_free(b);
}

Test(buf, cstring_with_nul_is_refused)
{
	static const uint8_t wire[] = { 0, 0, 0, 3, 'a', 0, 'b' };
	struct nhi_buf *b = nhi_buf_from(wire, sizeof(wire));
	uint8_t *raw;
	size_t len;

	cr_assert_eq(nhi_buf_get_cstring(b, NULL, NULL), NHI_ERR_INVALID_FORMAT);
	/* The binary getter takes it and still NUL-terminates. */
	cr_assert_eq(nhi_buf_get_string(b, &raw, &len), 0);
	cr_assert_eq(len, 3);
	cr_assert_eq(raw[3], 0);
	free(raw);
	nhi_buf_free(b);
}

Test(buf, cap_is_enforced)
{
	struct nhi_buf *b = nhi_buf_new();
	uint8_t chunk[64] = { 0 };

	cr_assert_eq(nhi_buf_set_max(b, 100), 0);
	cr_assert_eq(nhi_buf_put(b, chunk, 64), 0);
	cr_assert_eq(nhi_buf_put_string(b, chunk, 40), NHI_ERR_NO_BUFFER_SPACE);
	cr_assert_eq(nhi_buf_len(b), 64, "a refused put must not leave a partial length");
	cr_assert_eq(nhi_buf_put(b, chunk, 36), 0);
	cr_assert_eq(nhi_buf_put_u8(b, 1), NHI_ERR_NO_BUFFER_SPACE);
	cr_assert_eq(nhi_buf_set_max(b, 10), NHI_ERR_INVALID_ARGUMENT);
	cr_assert_eq(nhi_buf_set_max(b, NHI_BUF_SIZE_MAX + 1), NHI_ERR_INVALID_ARGUMENT);
	nhi_buf_free(b);
}

Test(buf, read_only_view_refuses_writes)
{
	struct nhi_buf *b = nhi_buf_from("abc", 3);

	cr_assert_eq(nhi_buf_put_u8(b, 1), NHI_ERR_INVALID_ARGUMENT);
	cr_assert_eq(nhi_buf_reserve(b, 1, NULL), NHI_ERR_INVALID_ARGUMENT);
	cr_assert_eq(nhi_buf_len(b), 3);
	nhi_buf_free(b);
}

Test(buf, shrink_and_consume)
{
	struct nhi_buf *b = nhi_buf_new();

	cr_assert_eq(nhi_buf_put(b, "abcdef", 6), 0);
	cr_assert_eq(nhi_buf_consume(b, 2), 0);
	cr_assert_eq(nhi_buf_shrink(b, 5), NHI_ERR_INVALID_ARGUMENT);
	cr_assert_eq(nhi_buf_shrink(b, 1), 0);
	cr_assert_eq(nhi_buf_len(b), 3);
	cr_assert_eq(memcmp(nhi_buf_ptr(b), "cde", 3), 0);
	cr_assert_eq(nhi_buf_consume(b, 4), NHI_ERR_MESSAGE_INCOMPLETE);
	nhi_buf_reset(b);
	cr_assert_eq(nhi_buf_len(b), 0);
	nhi_buf_free(b);
}

Test(buf, nested_string_view)
{
	struct nhi_buf *outer = nhi_buf_new(), *inner = nhi_buf_new(), *view = NULL;
	uint32_t v;

	cr_assert_eq(nhi_buf_put_u32(inner, 7), 0);
	cr_assert_eq(nhi_buf_put_stringb(outer, inner), 0);
	cr_assert_eq(nhi_buf_put_u8(outer, 9), 0);
	cr_assert_eq(nhi_buf_get_stringb(outer, &view), 0);
	cr_assert_eq(nhi_buf_len(view), 4);
	cr_assert_eq(nhi_buf_get_u32(view, &v), 0);
	cr_assert_eq(v, 7);
	cr_assert_eq(nhi_buf_len(outer), 1);
	nhi_buf_free(view);
	nhi_buf_free(inner);
	nhi_buf_free(outer);
}

Test(buf, mpint_encoding_matches_rfc4251)
{
	/* RFC 4251 §5 examples: 0x80 needs a leading zero; zero is empty. */
	struct nhi_buf *b = nhi_buf_new();
	const uint8_t *p;
	size_t len;

	cr_assert_eq(nhi_buf_put_bignum2_bytes(b, "\x00\x00\x80", 3), 0);
	cr_assert_eq(nhi_buf_len(b), 6);
	cr_assert_eq(memcmp(nhi_buf_ptr(b), "\0\0\0\x02\x00\x80", 6), 0);
	cr_assert_eq(nhi_buf_put_bignum2_bytes(b, "\x00", 1), 0);
	cr_assert_eq(nhi_buf_put_bignum2_bytes(b, "\x12\x34", 2), 0);

	cr_assert_eq(nhi_buf_get_bignum2_bytes_direct(b, &p, &len), 0);
	cr_assert_eq(len, 1);
	cr_assert_eq(p[0], 0x80);
	cr_assert_eq(nhi_buf_get_bignum2_bytes_direct(b, &p, &len), 0);
	cr_assert_eq(len, 0);
	cr_assert_eq(nhi_buf_get_bignum2_bytes_direct(b, &p, &len), 0);
	cr_assert_eq(len, 2);
	cr_assert_eq(memcmp(p, "\x12\x34", 2), 0);
	nhi_buf_free(b);
}

Test(buf, mpint_hostile_forms_are_refused)
{
	static const uint8_t negative[] = { 0, 0, 0, 1, 0x80 };
	static const uint8_t padded[] = { 0, 0, 0, 2, 0x00, 0x12 };
	static const uint8_t lone_zero[] = { 0, 0, 0, 1, 0x00 };
	struct nhi_buf *b;

	b = nhi_buf_from(negative, sizeof(negative));
	cr_assert_eq(nhi_buf_get_bignum2_bytes_direct(b, NULL, NULL), NHI_ERR_BIGNUM_IS_NEGATIVE);
	nhi_buf_free(b);
	b = nhi_buf_from(padded, sizeof(padded));
	cr_assert_eq(nhi_buf_get_bignum2_bytes_direct(b, NULL, NULL), NHI_ERR_INVALID_FORMAT);
	nhi_buf_free(b);
	b = nhi_buf_from(lone_zero, sizeof(lone_zero));
	cr_assert_eq(nhi_buf_get_bignum2_bytes_direct(b, NULL, NULL), NHI_ERR_INVALID_FORMAT);
	nhi_buf_free(b);

	{
		struct nhi_buf *w = nhi_buf_new();
		uint8_t big[NHI_BIGNUM_BYTES_MAX + 1];

		memset(big, 0x11, sizeof(big));
		cr_assert_eq(nhi_buf_put_bignum2_bytes(w, big, sizeof(big)),
			     NHI_ERR_BIGNUM_TOO_LARGE);
		cr_assert_eq(nhi_buf_put_string(w, big, sizeof(big)), 0);
		cr_assert_eq(nhi_buf_get_bignum2_bytes_direct(w, NULL, NULL),
			     NHI_ERR_BIGNUM_TOO_LARGE);
		nhi_buf_free(w);
	}
}

Test(buf, free_accepts_null)
{
	nhi_buf_free(NULL);
	nhi_buf_reset(NULL);
	cr_assert_eq(nhi_buf_len(NULL), 0);
}

Test(buf, puts_near_the_cap_are_all_or_nothing)
{
	struct nhi_buf *b = nhi_buf_new();
	uint8_t *p;

	cr_assert_eq(nhi_buf_set_max(b, 6), 0);
	cr_assert_eq(nhi_buf_put_u64(b, 1), NHI_ERR_NO_BUFFER_SPACE);
	cr_assert_eq(nhi_buf_len(b), 0, "a refused u64 must write nothing");
	cr_assert_eq(nhi_buf_put_bignum2_bytes(b, "\x01\x02\x03", 3), NHI_ERR_NO_BUFFER_SPACE);
	cr_assert_eq(nhi_buf_len(b), 0, "a refused mpint must write nothing");
	nhi_buf_free(b);

	/* Reserving or dropping nothing on an empty buffer is harmless. */
	b = nhi_buf_new();
	cr_assert_eq(nhi_buf_reserve(b, 0, &p), 0);
	cr_assert_eq(nhi_buf_shrink(b, 0), 0);
	cr_assert_eq(nhi_buf_len(b), 0);
	nhi_buf_free(b);
}

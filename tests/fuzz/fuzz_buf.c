/* Fuzzes the wire buffer with a byte-driven sequence of get/put operations.
 *
 * A plain array shadows the buffer: every put must append exactly the
 * encoding the model predicts (or fail and change nothing), every get must
 * return what the model holds (or fail and consume nothing). Any mismatch
 * aborts, so libFuzzer reports it like a crash. */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "fuzz.h"

/* Keeps memory bounded: the model is reset before it would grow past this. */
#define MODEL_SIZE_LIMIT (64u * 1024u)

/* The fuzz input, consumed as opcodes and operands. */
struct input {
	const uint8_t *p;
	size_t left;
};

struct model {
	uint8_t *d;
	size_t off, size, max;
};

static uint8_t take_u8(struct input *in)
{
	uint8_t v = 0;

	if (in->left > 0) {
		v = *in->p++;
		in->left--;
	}
	return v;
}

static uint16_t take_u16(struct input *in)
{
	return (uint16_t)(take_u8(in) << 8 | take_u8(in));
}

static uint32_t take_u32(struct input *in)
{
	return (uint32_t)take_u16(in) << 16 | take_u16(in);
}

static uint64_t take_u64(struct input *in)
{
	return (uint64_t)take_u32(in) << 32 | take_u32(in);
}

/* Up to n bytes of the input (fewer when it runs out). */
static const uint8_t *take_bytes(struct input *in, size_t n, size_t *ret_n)
{
	const uint8_t *p = in->p;

	if (n > in->left)
		n = in->left;
	in->p += n;
	in->left -= n;
	*ret_n = n;
	return p;
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t be64(const uint8_t *p)
{
	return (uint64_t)be32(p) << 32 | be32(p + 4);
}

static size_t model_len(const struct model *m)
{
	return m->size - m->off;
}

/* Whether n more bytes fit under the cap. */
static bool model_fits(const struct model *m, size_t n)
{
	return n <= m->max && m->size <= m->max - n;
}

static void model_append(struct model *m, const void *p, size_t n)
{
	uint8_t *nd;

	if (n == 0)
		return;
	nd = realloc(m->d, m->size + n);
	if (nd == NULL)
		abort();
	m->d = nd;
	memcpy(m->d + m->size, p, n);
	m->size += n;
}

static void check_same(const struct nhi_buf *b, const struct model *m)
{
	CHECK(nhi_buf_len(b) == model_len(m));
	CHECK(nhi_buf_ptr(b) != NULL);
	if (model_len(m) > 0)
		CHECK(memcmp(nhi_buf_ptr(b), m->d + m->off, model_len(m)) == 0);
}

/* The model's prediction for a put of `enc` (already encoded): append on
 * success, unchanged on failure. */
static void expect_put(struct model *m, int r, const void *enc, size_t n)
{
	if (model_fits(m, n)) {
		CHECK(r == 0);
		model_append(m, enc, n);
	} else {
		CHECK(r == NHI_ERR_NO_BUFFER_SPACE);
	}
}

static void encode_u32(uint8_t out[4], uint32_t v)
{
	out[0] = (uint8_t)(v >> 24);
	out[1] = (uint8_t)(v >> 16);
	out[2] = (uint8_t)(v >> 8);
	out[3] = (uint8_t)v;
}

/* Puts s as a string, directly or through a view (put_stringb appends only
 * the view's unread part, so the view starts `skip` bytes before s). */
static void op_put_string(struct nhi_buf *b, struct model *m, const uint8_t *s, size_t n,
                          size_t skip, bool as_view)
{
	struct nhi_buf *v = NULL;
	uint8_t *enc;
	int r;

	if ((enc = malloc(n + 4)) == NULL)
		abort();
	encode_u32(enc, (uint32_t)n);
	if (n > 0)
		memcpy(enc + 4, s, n);
	if (as_view) {
		if ((v = nhi_buf_from(s - skip, n + skip)) == NULL)
			abort();
		CHECK(nhi_buf_consume(v, skip) == 0);
		r = nhi_buf_put_stringb(b, v);
	} else {
		r = nhi_buf_put_string(b, s, n);
	}
	expect_put(m, r, enc, n + 4);
	nhi_buf_free(v);
	free(enc);
}

static void op_put_bignum(struct nhi_buf *b, struct model *m, const uint8_t *s, size_t n)
{
	size_t skip = 0, len, prepend;
	uint8_t *enc;
	int r;

	r = nhi_buf_put_bignum2_bytes(b, s, n);
	while (skip < n && s[skip] == 0)
		skip++;
	len = n - skip;
	if (len > NHI_BIGNUM_BYTES_MAX) {
		CHECK(r == NHI_ERR_BIGNUM_TOO_LARGE);
		return;
	}
	prepend = len > 0 && (s[skip] & 0x80) != 0;
	if ((enc = malloc(4 + prepend + len)) == NULL)
		abort();
	encode_u32(enc, (uint32_t)(len + prepend));
	if (prepend)
		enc[4] = 0;
	if (len > 0)
		memcpy(enc + 4 + prepend, s + skip, len);
	expect_put(m, r, enc, 4 + prepend + len);
	free(enc);
}

/* Checks a string read: the model decides whether it is there. Returns the
 * string's length, or -1 when the model says the read must fail. */
static long model_string(const struct model *m)
{
	uint32_t n;

	if (model_len(m) < 4)
		return -1;
	n = be32(m->d + m->off);
	if (n > NHI_BUF_SIZE_MAX || n > model_len(m) - 4)
		return -1;
	return (long)n;
}

static void op_get_string(struct nhi_buf *b, struct model *m, int how)
{
	const uint8_t *direct = NULL, *want;
	struct nhi_buf *view = NULL;
	uint8_t *copy = NULL;
	char *cstr = NULL;
	size_t got_len = 0;
	long n = model_string(m);
	bool ok;
	int r;

	want = n >= 0 ? m->d + m->off + 4 : NULL;
	ok = n >= 0 && (how != 2 || n == 0 || memchr(want, 0, (size_t)n) == NULL);
	switch (how) {
	case 0:
		r = nhi_buf_get_string_direct(b, &direct, &got_len);
		break;
	case 1:
		r = nhi_buf_get_string(b, &copy, &got_len);
		break;
	case 2:
		r = nhi_buf_get_cstring(b, &cstr, &got_len);
		break;
	default:
		r = nhi_buf_get_stringb(b, &view);
		if (r == 0) {
			got_len = nhi_buf_len(view);
			direct = nhi_buf_ptr(view);
			/* A view is read-only. */
			CHECK(nhi_buf_put_u8(view, 0) < 0);
		}
		break;
	}
	if (!ok) {
		CHECK(r < 0);
		CHECK(copy == NULL && cstr == NULL && view == NULL);
		return;
	}
	CHECK(r == 0);
	CHECK(got_len == (size_t)n);
	if (copy != NULL || cstr != NULL) {
		const uint8_t *p = copy != NULL ? copy : (const uint8_t *)cstr;

		CHECK(p[got_len] == 0);
		direct = p;
	}
	CHECK(direct != NULL);
	if (n > 0)
		CHECK(memcmp(direct, want, (size_t)n) == 0);
	m->off += 4 + (size_t)n;
	free(copy);
	free(cstr);
	nhi_buf_free(view);
}

static void op_get_bignum(struct nhi_buf *b, struct model *m)
{
	const uint8_t *got = NULL, *p;
	size_t got_len = 0, n;
	long sn = model_string(m);
	bool ok;
	int r;

	r = nhi_buf_get_bignum2_bytes_direct(b, &got, &got_len);
	if (sn < 0) {
		CHECK(r < 0);
		return;
	}
	n = (size_t)sn;
	p = m->d + m->off + 4;
	ok = n <= NHI_BIGNUM_BYTES_MAX && (n == 0 || (p[0] & 0x80) == 0) &&
	     !(n > 0 && p[0] == 0 && (n == 1 || (p[1] & 0x80) == 0));
	if (!ok) {
		CHECK(r < 0);
		return;
	}
	CHECK(r == 0);
	if (n > 0 && p[0] == 0) {
		p++;
		n--;
	}
	CHECK(got_len == n);
	CHECK(n == 0 || got[0] != 0);
	if (n > 0)
		CHECK(memcmp(got, p, n) == 0);
	m->off += 4 + (size_t)sn;
}

/* Reads from a read-only view of part of the input: gets work, puts fail. */
static void op_view(struct input *in)
{
	const uint8_t *p, *s;
	struct nhi_buf *v;
	size_t n, slen;
	uint32_t u32;

	p = take_bytes(in, take_u16(in) % 1024, &n);
	if ((v = nhi_buf_from(p, n)) == NULL)
		abort();
	CHECK(nhi_buf_len(v) == n);
	CHECK(nhi_buf_put(v, "x", 1) < 0);
	CHECK(nhi_buf_reserve(v, 1, NULL) < 0);
	CHECK(nhi_buf_set_max(v, 0) < 0);
	nhi_buf_reset(v); /* no effect on a view */
	CHECK(nhi_buf_len(v) == n);
	while (nhi_buf_len(v) >= 4) {
		CHECK(nhi_buf_peek_u32(v, &u32) == 0);
		if (nhi_buf_get_string_direct(v, &s, &slen) < 0) {
			CHECK(nhi_buf_len(v) >= 4); /* a failed get consumes nothing */
			CHECK(nhi_buf_consume(v, 1) == 0);
			continue;
		}
		CHECK(slen == u32);
		CHECK(s >= p && s + slen <= p + n);
	}
	CHECK(nhi_buf_consume(v, nhi_buf_len(v) + 1) < 0);
	nhi_buf_free(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = {data, size};
	struct model m = {NULL, 0, 0, NHI_BUF_SIZE_MAX};
	struct nhi_buf *b;
	const uint8_t *s;
	uint8_t tmp[8], *rp;
	size_t n;
	uint64_t v64, g64;
	uint32_t g32;
	uint8_t g8;
	int r;

	if ((b = nhi_buf_new()) == NULL)
		return 0;
	while (in.left > 0) {
		if (m.size > MODEL_SIZE_LIMIT) {
			nhi_buf_reset(b);
			m.off = m.size = 0;
		}
		switch (take_u8(&in) % 24) {
		case 0:
			g8 = take_u8(&in);
			expect_put(&m, nhi_buf_put_u8(b, g8), &g8, 1);
			break;
		case 1:
			g32 = take_u32(&in);
			encode_u32(tmp, g32);
			expect_put(&m, nhi_buf_put_u32(b, g32), tmp, 4);
			break;
		case 2:
			v64 = take_u64(&in);
			encode_u32(tmp, (uint32_t)(v64 >> 32));
			encode_u32(tmp + 4, (uint32_t)v64);
			expect_put(&m, nhi_buf_put_u64(b, v64), tmp, 8);
			break;
		case 3:
			s = take_bytes(&in, take_u16(&in) % 4096, &n);
			expect_put(&m, nhi_buf_put(b, s, n), s, n);
			break;
		case 4:
			s = take_bytes(&in, take_u16(&in) % 4096, &n);
			op_put_string(b, &m, s, n, 0, false);
			break;
		case 5: {
			char *cs;

			s = take_bytes(&in, take_u8(&in), &n);
			if ((cs = malloc(n + 1)) == NULL)
				abort();
			memcpy(cs, s, n);
			cs[n] = '\0';
			r = nhi_buf_put_cstring(b, cs);
			n = strlen(cs);
			if (model_fits(&m, n + 4)) {
				CHECK(r == 0);
				encode_u32(tmp, (uint32_t)n);
				model_append(&m, tmp, 4);
				model_append(&m, cs, n);
			} else {
				CHECK(r < 0);
			}
			free(cs);
			break;
		}
		case 6:
			s = take_bytes(&in, take_u16(&in) % (NHI_BIGNUM_BYTES_MAX + 64), &n);
			op_put_bignum(b, &m, s, n);
			break;
		case 7:
			s = take_bytes(&in, take_u8(&in), &n);
			op_put_string(b, &m, s + n / 2, n - n / 2, n / 2, true);
			break;
		case 8:
			n = take_u16(&in) % 4096;
			rp = NULL;
			r = nhi_buf_reserve(b, n, &rp);
			if (model_fits(&m, n)) {
				uint8_t *fill;

				CHECK(r == 0 && (rp != NULL || n == 0));
				/* The reserved space is ours to write. */
				if (n > 0)
					memset(rp, 0xa5, n);
				if ((fill = malloc(n + 1)) == NULL)
					abort();
				memset(fill, 0xa5, n);
				model_append(&m, fill, n);
				free(fill);
			} else {
				CHECK(r < 0);
			}
			break;
		case 9:
			n = take_u16(&in);
			r = nhi_buf_shrink(b, n);
			if (n <= model_len(&m)) {
				CHECK(r == 0);
				m.size -= n;
			} else {
				CHECK(r < 0);
			}
			break;
		case 10:
			n = take_u16(&in);
			r = nhi_buf_consume(b, n);
			if (n <= model_len(&m)) {
				CHECK(r == 0);
				m.off += n;
			} else {
				CHECK(r == NHI_ERR_MESSAGE_INCOMPLETE);
			}
			break;
		case 11: {
			uint8_t *out;

			n = take_u16(&in) % 4096;
			if ((out = malloc(n + 1)) == NULL)
				abort();
			r = nhi_buf_get(b, out, n);
			if (n <= model_len(&m)) {
				CHECK(r == 0);
				CHECK(n == 0 || memcmp(out, m.d + m.off, n) == 0);
				m.off += n;
			} else {
				CHECK(r == NHI_ERR_MESSAGE_INCOMPLETE);
			}
			free(out);
			break;
		}
		case 12:
			r = nhi_buf_get_u8(b, &g8);
			if (model_len(&m) >= 1) {
				CHECK(r == 0 && g8 == m.d[m.off]);
				m.off++;
			} else {
				CHECK(r < 0);
			}
			break;
		case 13:
		case 14: {
			bool get = take_u8(&in) & 1;

			r = get ? nhi_buf_get_u32(b, &g32) : nhi_buf_peek_u32(b, &g32);
			if (model_len(&m) >= 4) {
				CHECK(r == 0 && g32 == be32(m.d + m.off));
				if (get)
					m.off += 4;
			} else {
				CHECK(r < 0);
			}
			break;
		}
		case 15:
			r = nhi_buf_get_u64(b, &g64);
			if (model_len(&m) >= 8) {
				CHECK(r == 0 && g64 == be64(m.d + m.off));
				m.off += 8;
			} else {
				CHECK(r < 0);
			}
			break;
		case 16:
		case 17:
		case 18:
		case 19:
			op_get_string(b, &m, take_u8(&in) % 4);
			break;
		case 20:
			op_get_bignum(b, &m);
			break;
		case 21: {
			/* Caps below, at and above what is held, and past the hard cap. */
			uint16_t k = take_u16(&in);
			size_t max;

			if (k == 0xffff)
				max = (size_t)NHI_BUF_SIZE_MAX + 1;
			else if (k & 0x8000)
				max = m.size - ((size_t)(k & 0x7fff) % (m.size + 1));
			else
				max = m.size + k;
			r = nhi_buf_set_max(b, max);
			if (max <= NHI_BUF_SIZE_MAX && max >= m.size) {
				CHECK(r == 0);
				m.max = max;
			} else {
				CHECK(r < 0);
			}
			break;
		}
		case 22:
			nhi_buf_reset(b);
			m.off = m.size = 0;
			break;
		default:
			op_view(&in);
			break;
		}
		check_same(b, &m);
	}
	nhi_buf_free(b);
	free(m.d);
	return 0;
}

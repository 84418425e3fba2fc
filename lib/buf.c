#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"

struct nhi_buf {
	uint8_t *d;      /* storage */
	size_t off;      /* first unread byte */
	size_t size;     /* end of data */
	size_t alloc;    /* bytes allocated (0 for a read-only view) */
	size_t max;      /* cap on size */
	int readonly;
};

static uint32_t load_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t load_be64(const uint8_t *p)
{
	return (uint64_t)load_be32(p) << 32 | load_be32(p + 4);
}

struct nhi_buf *nhi_buf_new(void)
{
	struct nhi_buf *b = calloc(1, sizeof(*b));

	if (b != NULL)
		b->max = NHI_BUF_SIZE_MAX;
	return b;
}

struct nhi_buf *nhi_buf_from(const void *data, size_t len)
{
	struct nhi_buf *b;

	if ((data == NULL && len != 0) || len > NHI_BUF_SIZE_MAX)
		return NULL;
	if ((b = calloc(1, sizeof(*b))) == NULL)
		return NULL;
	b->d = (uint8_t *)(uintptr_t)data;
	b->size = len;
	b->max = len;
	b->readonly = 1;
	return b;
}

void nhi_buf_free(struct nhi_buf *b)
{
	if (b == NULL)
		return;
	if (!b->readonly && b->d != NULL) {
		explicit_bzero(b->d, b->alloc);
		free(b->d);
	}
	explicit_bzero(b, sizeof(*b));
	free(b);
}

void nhi_buf_reset(struct nhi_buf *b)
{
	if (b == NULL || b->readonly)
		return;
	if (b->d != NULL)
		explicit_bzero(b->d, b->alloc);
	b->off = 0;
	b->size = 0;
}

int nhi_buf_set_max(struct nhi_buf *b, size_t max)
{
	if (b == NULL || b->readonly || max > NHI_BUF_SIZE_MAX || max < b->size)
		return NHI_ERR_INVALID_ARGUMENT;
	b->max = max;
	return 0;
}

size_t nhi_buf_len(const struct nhi_buf *b)
{
	return b == NULL ? 0 : b->size - b->off;
}

const uint8_t *nhi_buf_ptr(const struct nhi_buf *b)
{
	return b == NULL || b->d == NULL ? (const uint8_t *)"" : b->d + b->off;
}

int nhi_buf_consume(struct nhi_buf *b, size_t n)
{
	if (b == NULL)
		return NHI_ERR_INVALID_ARGUMENT;
	if (n > b->size - b->off)
		return NHI_ERR_MESSAGE_INCOMPLETE;
	b->off += n;
	return 0;
}

int nhi_buf_reserve(struct nhi_buf *b, size_t n, uint8_t **ret_ptr)
{
	size_t need, nalloc;
	uint8_t *nd;

	if (b == NULL || b->readonly)
		return NHI_ERR_INVALID_ARGUMENT;
	if (n > b->max || b->size > b->max - n)
		return NHI_ERR_NO_BUFFER_SPACE;
	need = b->size + n;
	if (need > b->alloc) {
		nalloc = b->alloc < 256 ? 256 : b->alloc;
		while (nalloc < need)
			nalloc = nalloc > b->max / 2 ? b->max : nalloc * 2;
		/* Grow by copy so that nothing secret is left behind by realloc. */
		if ((nd = malloc(nalloc)) == NULL)
			return NHI_ERR_ALLOC;
		if (b->d != NULL) {
			memcpy(nd, b->d, b->size);
			explicit_bzero(b->d, b->alloc);
			free(b->d);
		}
		b->d = nd;
		b->alloc = nalloc;
	}
	/* No pointer arithmetic on NULL: reserving 0 bytes of an empty buffer. */
	if (ret_ptr != NULL)
		*ret_ptr = b->d == NULL ? NULL : b->d + b->size;
	b->size = need;
	return 0;
}

int nhi_buf_shrink(struct nhi_buf *b, size_t n)
{
	if (b == NULL || b->readonly || n > b->size - b->off)
		return NHI_ERR_INVALID_ARGUMENT;
	b->size -= n;
	if (n > 0)
		explicit_bzero(b->d + b->size, n);
	return 0;
}

int nhi_buf_put(struct nhi_buf *b, const void *data, size_t len)
{
	uint8_t *p;
	int r;

	if (len == 0)
		return b == NULL || b->readonly ? NHI_ERR_INVALID_ARGUMENT : 0;
	if (data == NULL)
		return NHI_ERR_INVALID_ARGUMENT;
	if ((r = nhi_buf_reserve(b, len, &p)) < 0)
		return r;
	memcpy(p, data, len);
	return 0;
}

int nhi_buf_put_u8(struct nhi_buf *b, uint8_t v)
{
	return nhi_buf_put(b, &v, 1);
}

int nhi_buf_put_u32(struct nhi_buf *b, uint32_t v)
{
	uint8_t p[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };

	return nhi_buf_put(b, p, sizeof(p));
}

int nhi_buf_put_u64(struct nhi_buf *b, uint64_t v)
{
	uint8_t p[8];
	int i;

	/* One put, so that a full buffer is left as it was. */
	for (i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (56 - 8 * i));
	return nhi_buf_put(b, p, sizeof(p));
}

int nhi_buf_put_string(struct nhi_buf *b, const void *data, size_t len)
{
	int r;

	if (len > UINT32_MAX || (len != 0 && data == NULL))
		return NHI_ERR_STRING_TOO_LARGE;
	if (b == NULL || b->readonly)
		return NHI_ERR_INVALID_ARGUMENT;
	if (len > b->max || b->size + 4 > b->max - len)
		return NHI_ERR_NO_BUFFER_SPACE;
	if ((r = nhi_buf_put_u32(b, (uint32_t)len)) < 0)
		return r;
	return nhi_buf_put(b, data, len);
}

int nhi_buf_put_cstring(struct nhi_buf *b, const char *s)
{
	return nhi_buf_put_string(b, s, s == NULL ? 0 : strlen(s));
}

int nhi_buf_put_stringb(struct nhi_buf *b, const struct nhi_buf *v)
{
	if (v == NULL)
		return NHI_ERR_INVALID_ARGUMENT;
	return nhi_buf_put_string(b, nhi_buf_ptr(v), nhi_buf_len(v));
}

int nhi_buf_put_bignum2_bytes(struct nhi_buf *b, const void *data, size_t len)
{
	const uint8_t *s = data;
	uint8_t *p;
	size_t prepend;
	int r;

	if (len != 0 && s == NULL)
		return NHI_ERR_INVALID_ARGUMENT;
	while (len > 0 && *s == 0) {
		s++;
		len--;
	}
	if (len > NHI_BIGNUM_BYTES_MAX)
		return NHI_ERR_BIGNUM_TOO_LARGE;
	prepend = len > 0 && (s[0] & 0x80) != 0;
	/* Length and digits reserved together: all or nothing. */
	if ((r = nhi_buf_reserve(b, 4 + len + prepend, &p)) < 0)
		return r;
	p[0] = (uint8_t)((len + prepend) >> 24);
	p[1] = (uint8_t)((len + prepend) >> 16);
	p[2] = (uint8_t)((len + prepend) >> 8);
	p[3] = (uint8_t)(len + prepend);
	p += 4;
	if (prepend)
		*p++ = 0;
	if (len > 0)
		memcpy(p, s, len);
	return 0;
}

int nhi_buf_get(struct nhi_buf *b, void *out, size_t len)
{
	if (b == NULL)
		return NHI_ERR_INVALID_ARGUMENT;
	if (len > b->size - b->off)
		return NHI_ERR_MESSAGE_INCOMPLETE;
	if (out != NULL && len > 0)
		memcpy(out, b->d + b->off, len);
	b->off += len;
	return 0;
}

int nhi_buf_get_u8(struct nhi_buf *b, uint8_t *ret)
{
	return nhi_buf_get(b, ret, 1);
}

int nhi_buf_peek_u32(const struct nhi_buf *b, uint32_t *ret)
{
	if (b == NULL)
		return NHI_ERR_INVALID_ARGUMENT;
	if (b->size - b->off < 4)
		return NHI_ERR_MESSAGE_INCOMPLETE;
	if (ret != NULL)
		*ret = load_be32(b->d + b->off);
	return 0;
}

int nhi_buf_get_u32(struct nhi_buf *b, uint32_t *ret)
{
	int r;

	if ((r = nhi_buf_peek_u32(b, ret)) < 0)
		return r;
	b->off += 4;
	return 0;
}

int nhi_buf_get_u64(struct nhi_buf *b, uint64_t *ret)
{
	if (b == NULL)
		return NHI_ERR_INVALID_ARGUMENT;
	if (b->size - b->off < 8)
		return NHI_ERR_MESSAGE_INCOMPLETE;
	if (ret != NULL)
		*ret = load_be64(b->d + b->off);
	b->off += 8;
	return 0;
}

int nhi_buf_get_string_direct(struct nhi_buf *b, const uint8_t **ret, size_t *ret_len)
{
	uint32_t len;
	int r;

	if ((r = nhi_buf_peek_u32(b, &len)) < 0)
		return r;
	if (len > NHI_BUF_SIZE_MAX)
		return NHI_ERR_STRING_TOO_LARGE;
	if ((size_t)len > b->size - b->off - 4)
		return NHI_ERR_MESSAGE_INCOMPLETE;
	if (ret != NULL)
		*ret = b->d + b->off + 4;
	if (ret_len != NULL)
		*ret_len = len;
	b->off += 4 + (size_t)len;
	return 0;
}

int nhi_buf_get_string(struct nhi_buf *b, uint8_t **ret, size_t *ret_len)
{
	const uint8_t *p;
	uint8_t *copy = NULL;
	size_t len, saved;
	int r;

	if (b == NULL)
		return NHI_ERR_INVALID_ARGUMENT;
	saved = b->off;
	if ((r = nhi_buf_get_string_direct(b, &p, &len)) < 0)
		return r;
	if (ret != NULL) {
		if ((copy = malloc(len + 1)) == NULL) {
			b->off = saved;
			return NHI_ERR_ALLOC;
		}
		if (len > 0)
			memcpy(copy, p, len);
		copy[len] = '\0';
		*ret = copy;
	}
	if (ret_len != NULL)
		*ret_len = len;
	return 0;
}

int nhi_buf_get_cstring(struct nhi_buf *b, char **ret, size_t *ret_len)
{
	const uint8_t *p;
	size_t len, saved;
	char *copy;
	int r;

	if (b == NULL)
		return NHI_ERR_INVALID_ARGUMENT;
	saved = b->off;
	if ((r = nhi_buf_get_string_direct(b, &p, &len)) < 0)
		return r;
	if (len > 0 && memchr(p, '\0', len) != NULL) {
		b->off = saved;
		return NHI_ERR_INVALID_FORMAT;
	}
	if (ret != NULL) {
		if ((copy = malloc(len + 1)) == NULL) {
			b->off = saved;
			return NHI_ERR_ALLOC;
		}
		if (len > 0)
			memcpy(copy, p, len);
		copy[len] = '\0';
		*ret = copy;
	}
	if (ret_len != NULL)
		*ret_len = len;
	return 0;
}

int nhi_buf_get_stringb(struct nhi_buf *b, struct nhi_buf **ret)
{
	const uint8_t *p;
	size_t len, saved;
	struct nhi_buf *v;
	int r;

	if (b == NULL || ret == NULL)
		return NHI_ERR_INVALID_ARGUMENT;
	saved = b->off;
	if ((r = nhi_buf_get_string_direct(b, &p, &len)) < 0)
		return r;
	if ((v = nhi_buf_from(p, len)) == NULL) {
		b->off = saved;
		return NHI_ERR_ALLOC;
	}
	*ret = v;
	return 0;
}

int nhi_buf_get_bignum2_bytes_direct(struct nhi_buf *b, const uint8_t **ret, size_t *ret_len)
{
	const uint8_t *p;
	size_t len, saved;
	int r;

	if (b == NULL)
		return NHI_ERR_INVALID_ARGUMENT;
	saved = b->off;
	if ((r = nhi_buf_get_string_direct(b, &p, &len)) < 0)
		return r;
	r = 0;
	if (len > NHI_BIGNUM_BYTES_MAX)
		r = NHI_ERR_BIGNUM_TOO_LARGE;
	else if (len > 0 && (p[0] & 0x80) != 0)
		r = NHI_ERR_BIGNUM_IS_NEGATIVE;
	/* Minimal form: a leading zero only where the next byte needs it. */
	else if (len > 0 && p[0] == 0 && (len == 1 || (p[1] & 0x80) == 0))
		r = NHI_ERR_INVALID_FORMAT;
	if (r < 0) {
		b->off = saved;
		return r;
	}
	if (len > 0 && p[0] == 0) {
		p++;
		len--;
	}
	if (ret != NULL)
		*ret = p;
	if (ret_len != NULL)
		*ret_len = len;
	return 0;
}

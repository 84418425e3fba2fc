#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "kv.h"

static bool key_is_valid(const char *key, size_t len)
{
	if (len == 0 || len > NHI_KV_KEY_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = key[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
		      c == '.'))
			return false;
	}
	return true;
}

void nhi_kv_init(struct nhi_kv *kv)
{
	kv->items = NULL;
	kv->n = 0;
}

void nhi_kv_clear(struct nhi_kv *kv)
{
	if (kv == NULL)
		return;
	for (size_t i = 0; i < kv->n; i++) {
		free(kv->items[i].key);
		if (kv->items[i].value != NULL) {
			explicit_bzero(kv->items[i].value, kv->items[i].len);
			free(kv->items[i].value);
		}
	}
	free(kv->items);
	nhi_kv_init(kv);
}

int nhi_kv_add(struct nhi_kv *kv, const char *key, const void *value, size_t len)
{
	struct nhi_kv_item *items, *it;

	if (kv == NULL || key == NULL || (value == NULL && len > 0) ||
	    !key_is_valid(key, strlen(key)) || len > NHI_BUF_SIZE_MAX)
		return NHI_ERR_INVALID_ARGUMENT;
	if (kv->n >= NHI_KV_MAX)
		return NHI_ERR_TOO_MANY;
	items = realloc(kv->items, (kv->n + 1) * sizeof(*items));
	if (items == NULL)
		return NHI_ERR_ALLOC;
	kv->items = items;
	it = &items[kv->n];
	it->key = strdup(key);
	it->value = malloc(len + 1);
	if (it->key == NULL || it->value == NULL) {
		free(it->key);
		free(it->value);
		return NHI_ERR_ALLOC;
	}
	if (len > 0)
		memcpy(it->value, value, len);
	it->value[len] = '\0';
	it->len = len;
	kv->n++;
	return 0;
}

int nhi_kv_add_str(struct nhi_kv *kv, const char *key, const char *value)
{
	if (value == NULL)
		return NHI_ERR_INVALID_ARGUMENT;
	return nhi_kv_add(kv, key, value, strlen(value));
}

int nhi_kv_add_u64(struct nhi_kv *kv, const char *key, uint64_t value)
{
	char num[24];

	snprintf(num, sizeof(num), "%" PRIu64, value);
	return nhi_kv_add_str(kv, key, num);
}

int nhi_kv_add_i64(struct nhi_kv *kv, const char *key, int64_t value)
{
	char num[24];

	snprintf(num, sizeof(num), "%" PRId64, value);
	return nhi_kv_add_str(kv, key, num);
}

const struct nhi_kv_item *nhi_kv_nth(const struct nhi_kv *kv, const char *key, size_t i)
{
	if (kv == NULL || key == NULL)
		return NULL;
	for (size_t j = 0; j < kv->n; j++) {
		if (strcmp(kv->items[j].key, key) == 0 && i-- == 0)
			return &kv->items[j];
	}
	return NULL;
}

const struct nhi_kv_item *nhi_kv_find(const struct nhi_kv *kv, const char *key)
{
	return nhi_kv_nth(kv, key, 0);
}

size_t nhi_kv_count(const struct nhi_kv *kv, const char *key)
{
	size_t n = 0;

	if (kv == NULL || key == NULL)
		return 0;
	for (size_t j = 0; j < kv->n; j++)
		n += strcmp(kv->items[j].key, key) == 0;
	return n;
}

const char *nhi_kv_str(const struct nhi_kv *kv, const char *key)
{
	const struct nhi_kv_item *it = nhi_kv_find(kv, key);

	if (it == NULL || memchr(it->value, '\0', it->len) != NULL)
		return NULL;
	return (const char *)it->value;
}

/* Canonical decimal: no sign, no leading zero, no overflow. */
static int parse_decimal(const uint8_t *p, size_t len, uint64_t *ret)
{
	uint64_t v = 0;

	if (len == 0 || len > 20 || (len > 1 && p[0] == '0'))
		return NHI_ERR_INVALID_FORMAT;
	for (size_t i = 0; i < len; i++) {
		unsigned d = (unsigned)p[i] - '0';

		if (d > 9 || v > (UINT64_MAX - d) / 10)
			return NHI_ERR_INVALID_FORMAT;
		v = v * 10 + d;
	}
	*ret = v;
	return 0;
}

int nhi_kv_u64(const struct nhi_kv *kv, const char *key, uint64_t *ret)
{
	const struct nhi_kv_item *it = nhi_kv_find(kv, key);

	if (it == NULL)
		return NHI_ERR_NOT_FOUND;
	return parse_decimal(it->value, it->len, ret);
}

int nhi_kv_i64(const struct nhi_kv *kv, const char *key, int64_t *ret)
{
	const struct nhi_kv_item *it = nhi_kv_find(kv, key);
	bool negative;
	uint64_t v;
	int r;

	if (it == NULL)
		return NHI_ERR_NOT_FOUND;
	negative = it->len > 0 && it->value[0] == '-';
	if ((r = parse_decimal(it->value + negative, it->len - negative, &v)) < 0)
		return r;
	if (negative ? v > (uint64_t)INT64_MAX + 1 || v == 0 : v > INT64_MAX)
		return NHI_ERR_INVALID_FORMAT;
	*ret = negative ? (int64_t)(0 - v) : (int64_t)v;
	return 0;
}

int nhi_kv_put(struct nhi_buf *b, const struct nhi_kv *kv)
{
	int r;

	if (kv == NULL || kv->n > NHI_KV_MAX)
		return NHI_ERR_INVALID_ARGUMENT;
	if ((r = nhi_buf_put_u32(b, (uint32_t)kv->n)) < 0)
		return r;
	for (size_t i = 0; i < kv->n; i++) {
		if ((r = nhi_buf_put_cstring(b, kv->items[i].key)) < 0 ||
		    (r = nhi_buf_put_string(b, kv->items[i].value, kv->items[i].len)) < 0)
			return r;
	}
	return 0;
}

int nhi_kv_get(struct nhi_buf *b, struct nhi_kv *kv)
{
	const uint8_t *key, *value;
	size_t key_len, value_len;
	char keybuf[NHI_KV_KEY_MAX + 1];
	uint32_t n;
	int r;

	if (b == NULL || kv == NULL || kv->n != 0)
		return NHI_ERR_INVALID_ARGUMENT;
	if ((r = nhi_buf_get_u32(b, &n)) < 0)
		return r;
	if (n > NHI_KV_MAX)
		return NHI_ERR_TOO_MANY;
	for (uint32_t i = 0; i < n; i++) {
		if ((r = nhi_buf_get_string_direct(b, &key, &key_len)) < 0 ||
		    (r = nhi_buf_get_string_direct(b, &value, &value_len)) < 0)
			goto out;
		if (!key_is_valid((const char *)key, key_len)) {
			r = NHI_ERR_INVALID_FORMAT;
			goto out;
		}
		memcpy(keybuf, key, key_len);
		keybuf[key_len] = '\0';
		if ((r = nhi_kv_add(kv, keybuf, value, value_len)) < 0)
			goto out;
	}
	return 0;
out:
	nhi_kv_clear(kv);
	return r;
}

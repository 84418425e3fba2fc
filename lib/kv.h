/* Records of named fields: how broker messages carry their arguments and
 * answers. Encoded with the wire buffer as uint32 count, then (string key,
 * string value) pairs; values may be binary (key blobs). Keys are short
 * lowercase names. A reader skips keys it does not know, so a field can be
 * added without a protocol version bump. Libc only. */
#ifndef NHI_KV_H
#define NHI_KV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define NHI_KV_MAX 256u     /* fields in one record */
#define NHI_KV_KEY_MAX 32u  /* bytes in a key: [a-z0-9_.-] */
#define NHI_KV_LIST_MAX 100000u /* records in one list */

struct nhi_kv_item {
	char *key;
	uint8_t *value; /* NUL-terminated (not counted in len) */
	size_t len;
};

struct nhi_kv {
	struct nhi_kv_item *items;
	size_t n;
};

void nhi_kv_init(struct nhi_kv *kv);
void nhi_kv_clear(struct nhi_kv *kv); /* frees and zeroes the values */

/* Adds a field; a key may repeat (lists such as principals). */
int nhi_kv_add(struct nhi_kv *kv, const char *key, const void *value, size_t len);
int nhi_kv_add_str(struct nhi_kv *kv, const char *key, const char *value);
int nhi_kv_add_u64(struct nhi_kv *kv, const char *key, uint64_t value);
int nhi_kv_add_i64(struct nhi_kv *kv, const char *key, int64_t value);

/* The first value for key, or NULL. */
const struct nhi_kv_item *nhi_kv_find(const struct nhi_kv *kv, const char *key);
/* A text value: present and without NUL bytes, else NULL. */
const char *nhi_kv_str(const struct nhi_kv *kv, const char *key);
/* Decimal values. NHI_ERR_NOT_FOUND when absent, NHI_ERR_INVALID_FORMAT when
 * not a number in range. */
int nhi_kv_u64(const struct nhi_kv *kv, const char *key, uint64_t *ret);
int nhi_kv_i64(const struct nhi_kv *kv, const char *key, int64_t *ret);
/* How many times key appears, and the i-th value. */
size_t nhi_kv_count(const struct nhi_kv *kv, const char *key);
const struct nhi_kv_item *nhi_kv_nth(const struct nhi_kv *kv, const char *key, size_t i);

int nhi_kv_put(struct nhi_buf *b, const struct nhi_kv *kv);
/* Reads one record into an empty kv; caps on counts and key syntax checked. */
int nhi_kv_get(struct nhi_buf *b, struct nhi_kv *kv);

#endif

/* Hashing audit records and verifying the whole chain. */
#include <config.h>

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "audit.h"
#include "buf.h"
#include "err.h"

#define AUDIT_HASH_TAG "nhi-audit-v1"

/* A reusable SHA-256 context and encoding buffer: verify hashes a million
 * records, so nothing is allocated per record. */
struct audit_hasher {
	EVP_MD *md;
	EVP_MD_CTX *ctx;
	struct nhi_buf *buf;
};

static void hasher_free(struct audit_hasher *h)
{
	EVP_MD_CTX_free(h->ctx);
	EVP_MD_free(h->md);
	nhi_buf_free(h->buf);
	memset(h, 0, sizeof(*h));
}

static int hasher_init(struct audit_hasher *h)
{
	memset(h, 0, sizeof(*h));
	h->md = EVP_MD_fetch(NULL, "SHA256", NULL);
	h->ctx = EVP_MD_CTX_new();
	h->buf = nhi_buf_new();
	if (!h->md || !h->ctx || !h->buf) {
		hasher_free(h);
		return NHI_ERR_ALLOC;
	}
	return 0;
}

/* The canonical encoding: every variable field length-prefixed. */
static int record_encode(struct nhi_buf *b, const struct nhi_audit_record *r)
{
	int ret;

	ret = nhi_buf_put_cstring(b, AUDIT_HASH_TAG);
	if (ret == 0)
		ret = nhi_buf_put_u64(b, r->seq);
	if (ret == 0)
		ret = nhi_buf_put_u64(b, (uint64_t)r->time);
	if (ret == 0)
		ret = nhi_buf_put_u32(b, r->usec);
	if (ret == 0)
		ret = nhi_buf_put_cstring(b, r->type);
	if (ret == 0)
		ret = nhi_buf_put_cstring(b, r->actor);
	if (ret == 0)
		ret = nhi_buf_put_cstring(b, r->subject);
	if (ret == 0)
		ret = nhi_buf_put_cstring(b, r->detail);
	if (ret == 0)
		ret = nhi_buf_put_string(b, r->prev_hash, NHI_AUDIT_HASH_LEN);
	return ret;
}

static int hasher_run(struct audit_hasher *h, const struct nhi_audit_record *r,
                      uint8_t out[NHI_AUDIT_HASH_LEN])
{
	unsigned int n = 0;
	int ret;

	nhi_buf_reset(h->buf);
	ret = record_encode(h->buf, r);
	if (ret < 0)
		return ret;
	if (EVP_DigestInit_ex(h->ctx, h->md, NULL) != 1 ||
	    EVP_DigestUpdate(h->ctx, nhi_buf_ptr(h->buf), nhi_buf_len(h->buf)) != 1 ||
	    EVP_DigestFinal_ex(h->ctx, out, &n) != 1 || n != NHI_AUDIT_HASH_LEN)
		return NHI_ERR_CRYPTO;
	return 0;
}

int nhi_audit_record_hash(const struct nhi_audit_record *r, uint8_t ret_hash[NHI_AUDIT_HASH_LEN])
{
	uint8_t hash[NHI_AUDIT_HASH_LEN];
	struct audit_hasher h;
	int ret;

	if (!r || !r->type || !r->actor || !r->subject || !r->detail)
		return NHI_ERR_INVALID_ARGUMENT;
	ret = hasher_init(&h);
	if (ret < 0)
		return ret;
	ret = hasher_run(&h, r, hash);
	hasher_free(&h);
	if (ret == 0)
		memcpy(ret_hash, hash, NHI_AUDIT_HASH_LEN);
	return ret;
}

static int fault(struct nhi_audit_report *rep, enum nhi_audit_fault f, uint64_t seq,
                 const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int fault(struct nhi_audit_report *rep, enum nhi_audit_fault f, uint64_t seq,
                 const char *fmt, ...)
{
	va_list ap;

	rep->fault = f;
	rep->bad_seq = seq;
	va_start(ap, fmt);
	vsnprintf(rep->reason, sizeof(rep->reason), fmt, ap);
	va_end(ap);
	return NHI_ERR_AUDIT_BROKEN;
}

/* Checks one record against its expected place in the chain. */
static int verify_one(struct audit_hasher *h, const struct nhi_audit_record *r,
                      struct nhi_audit_report *rep)
{
	uint64_t expected = rep->last_seq + 1;
	uint8_t hash[NHI_AUDIT_HASH_LEN];
	int ret;

	if (r->seq > INT64_MAX || r->seq == 0)
		return fault(rep, NHI_AUDIT_FAULT_MALFORMED, expected,
		             "a row with the impossible seq %" PRId64 " precedes record %" PRIu64,
		             (int64_t)r->seq, expected);
	if (r->seq != expected)
		return fault(rep, NHI_AUDIT_FAULT_MISSING, expected,
		             "record %" PRIu64 " is missing (the next one is %" PRIu64 ")",
		             expected, r->seq);
	if (r->malformed)
		return fault(rep, NHI_AUDIT_FAULT_MALFORMED, r->seq,
		             "record %" PRIu64 " has a malformed field", r->seq);
	if (memcmp(r->prev_hash, rep->last_hash, NHI_AUDIT_HASH_LEN) != 0)
		return fault(rep, NHI_AUDIT_FAULT_LINK, r->seq,
		             "record %" PRIu64 " does not chain to the record before it", r->seq);
	ret = hasher_run(h, r, hash);
	if (ret < 0)
		return ret;
	if (memcmp(hash, r->hash, NHI_AUDIT_HASH_LEN) != 0)
		return fault(rep, NHI_AUDIT_FAULT_HASH, r->seq,
		             "record %" PRIu64 " does not match its hash (modified)", r->seq);
	return 0;
}

/* Walks every row in seq order; stops at the first fault. */
static int verify_walk(struct nhi_store *s, const struct nhi_audit_anchor *anchor,
                       struct nhi_audit_report *rep, uint8_t anchored_hash[NHI_AUDIT_HASH_LEN])
{
	struct nhi_store_audit_iter *it = NULL;
	const struct nhi_audit_record *r;
	struct audit_hasher h;
	int ret;

	ret = hasher_init(&h);
	if (ret < 0)
		return ret;
	ret = nhi_store_audit_iter_new(s, 0, &it);
	while (ret == 0 && (ret = nhi_store_audit_iter_next(it, &r)) == 0 && r) {
		ret = verify_one(&h, r, rep);
		if (ret < 0)
			break;
		rep->checked++;
		rep->last_seq = r->seq;
		memcpy(rep->last_hash, r->hash, NHI_AUDIT_HASH_LEN);
		if (anchor && r->seq == anchor->seq)
			memcpy(anchored_hash, r->hash, NHI_AUDIT_HASH_LEN);
	}
	nhi_store_audit_iter_free(it);
	hasher_free(&h);
	return ret;
}

static int verify_anchor(const struct nhi_audit_anchor *anchor,
                         const uint8_t anchored_hash[NHI_AUDIT_HASH_LEN],
                         struct nhi_audit_report *rep)
{
	if (anchor->seq > rep->last_seq)
		return fault(rep, NHI_AUDIT_FAULT_TRUNCATED, rep->last_seq + 1,
		             "the chain ends at %" PRIu64 " but the head anchor is at %" PRIu64
		             " (tail removed)",
		             rep->last_seq, anchor->seq);
	if (anchor->seq > 0 && memcmp(anchored_hash, anchor->hash, NHI_AUDIT_HASH_LEN) != 0)
		return fault(rep, NHI_AUDIT_FAULT_ANCHOR, anchor->seq,
		             "record %" PRIu64 " differs from the head anchor", anchor->seq);
	rep->unanchored = rep->last_seq - anchor->seq;
	return 0;
}

int nhi_audit_verify(struct nhi_store *s, const struct nhi_audit_anchor *anchor,
                     struct nhi_audit_report *ret_report)
{
	uint8_t anchored_hash[NHI_AUDIT_HASH_LEN] = {0};
	struct nhi_audit_report rep;
	int ret;

	if (!s || !ret_report)
		return NHI_ERR_INVALID_ARGUMENT;
	memset(&rep, 0, sizeof(rep));
	ret = verify_walk(s, anchor, &rep, anchored_hash);
	if (ret == 0 && anchor)
		ret = verify_anchor(anchor, anchored_hash, &rep);
	if (ret == 0 || ret == NHI_ERR_AUDIT_BROKEN)
		*ret_report = rep;
	return ret;
}

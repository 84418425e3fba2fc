/* Reading the trail back: iterators, JSON lines, and the detail builder. */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "audit_json.h"
#include "err.h"

struct nhi_audit_iter {
	struct nhi_store_audit_iter *rows;
};

int nhi_audit_iter_open(struct nhi_store *s, uint64_t from_seq, struct nhi_audit_iter **ret_iter)
{
	struct nhi_audit_iter *it;
	int r;

	if (!s || !ret_iter)
		return NHI_ERR_INVALID_ARGUMENT;
	it = calloc(1, sizeof(*it));
	if (!it)
		return NHI_ERR_ALLOC;
	/* 0 would also show rows with impossible seqs; that is verify's job. */
	r = nhi_store_audit_iter_new(s, from_seq ? from_seq : 1, &it->rows);
	if (r < 0) {
		free(it);
		return r;
	}
	*ret_iter = it;
	return 0;
}

int nhi_audit_iter_open_tail(struct nhi_store *s, uint64_t last_n, struct nhi_audit_iter **ret_iter)
{
	uint8_t hash[NHI_AUDIT_HASH_LEN];
	uint64_t head;
	int r;

	if (!s)
		return NHI_ERR_INVALID_ARGUMENT;
	r = nhi_store_audit_head(s, &head, hash);
	if (r < 0)
		return r;
	return nhi_audit_iter_open(s, head >= last_n ? head - last_n + 1 : 1, ret_iter);
}

int nhi_audit_iter_next(struct nhi_audit_iter *it, const struct nhi_audit_record **ret)
{
	if (!it || !ret)
		return NHI_ERR_INVALID_ARGUMENT;
	return nhi_store_audit_iter_next(it->rows, ret);
}

void nhi_audit_iter_free(struct nhi_audit_iter *it)
{
	if (!it)
		return;
	nhi_store_audit_iter_free(it->rows);
	free(it);
}

static int record_json(struct nhi_json *j, const struct nhi_audit_record *r)
{
	const char *d = r->detail;
	size_t dlen = strlen(d);

	nhi_json_raw(j, "{\"seq\":", 7);
	nhi_json_int(j, (int64_t)r->seq);
	nhi_json_raw(j, ",\"time\":", 8);
	nhi_json_int(j, r->time);
	nhi_json_raw(j, ",\"usec\":", 8);
	nhi_json_int(j, r->usec);
	nhi_json_raw(j, ",\"type\":", 8);
	nhi_json_string(j, r->type, strlen(r->type));
	nhi_json_raw(j, ",\"actor\":", 9);
	nhi_json_string(j, r->actor, strlen(r->actor));
	nhi_json_raw(j, ",\"subject\":", 11);
	nhi_json_string(j, r->subject, strlen(r->subject));
	nhi_json_raw(j, ",\"detail\":", 10);
	/* A stored detail that is not a flat object (a tampered row) still
	 * exports as valid JSON, as a string. */
	if (nhi_json_is_flat_object(d, dlen))
		nhi_json_raw(j, d, dlen);
	else
		nhi_json_string(j, d, dlen);
	nhi_json_raw(j, ",\"prev_hash\":", 13);
	nhi_json_hex(j, r->prev_hash, NHI_AUDIT_HASH_LEN);
	nhi_json_raw(j, ",\"hash\":", 8);
	nhi_json_hex(j, r->hash, NHI_AUDIT_HASH_LEN);
	return nhi_json_raw(j, "}\n", 2);
}

static int write_json(struct nhi_json *j, const struct nhi_audit_record *r, FILE *out)
{
	int ret;

	nhi_json_reset(j);
	ret = record_json(j, r);
	if (ret < 0)
		return ret;
	if (fwrite(j->data, 1, j->len, out) != j->len)
		return NHI_ERR_SYSTEM;
	return 0;
}

int nhi_audit_record_write_json(const struct nhi_audit_record *r, FILE *out)
{
	struct nhi_json j = NHI_JSON_INIT;
	int ret;

	if (!r || !out)
		return NHI_ERR_INVALID_ARGUMENT;
	ret = write_json(&j, r, out);
	nhi_json_free(&j);
	return ret;
}

int nhi_audit_export_json(struct nhi_store *s, uint64_t from_seq, FILE *out)
{
	struct nhi_json j = NHI_JSON_INIT;
	struct nhi_audit_iter *it = NULL;
	const struct nhi_audit_record *r;
	int ret;

	if (!out)
		return NHI_ERR_INVALID_ARGUMENT;
	ret = nhi_audit_iter_open(s, from_seq, &it);
	while (ret == 0 && (ret = nhi_audit_iter_next(it, &r)) == 0 && r)
		ret = write_json(&j, r, out);
	if (ret == 0 && fflush(out) != 0)
		ret = NHI_ERR_SYSTEM;
	nhi_audit_iter_free(it);
	nhi_json_free(&j);
	return ret;
}

/* The detail builder keeps its text a closed object at every step. */
struct nhi_audit_detail {
	struct nhi_json j;
	bool empty;
};

int nhi_audit_detail_new(struct nhi_audit_detail **ret_detail)
{
	struct nhi_audit_detail *d = calloc(1, sizeof(*d));

	if (!d)
		return NHI_ERR_ALLOC;
	d->empty = true;
	if (nhi_json_raw(&d->j, "{}", 2) < 0) {
		free(d);
		return NHI_ERR_ALLOC;
	}
	*ret_detail = d;
	return 0;
}

void nhi_audit_detail_free(struct nhi_audit_detail *d)
{
	if (!d)
		return;
	nhi_json_free(&d->j);
	free(d);
}

/* Reopens the object and writes "key": ready for the value. */
static int detail_key(struct nhi_audit_detail *d, const char *key)
{
	if (!key)
		return d->j.err = NHI_ERR_INVALID_ARGUMENT;
	if (d->j.err)
		return d->j.err;
	d->j.len--; /* drop the closing brace */
	if (!d->empty)
		nhi_json_raw(&d->j, ",", 1);
	d->empty = false;
	nhi_json_string(&d->j, key, strlen(key));
	return nhi_json_raw(&d->j, ":", 1);
}

int nhi_audit_detail_str(struct nhi_audit_detail *d, const char *key, const char *value)
{
	if (detail_key(d, key) == 0) {
		if (value)
			nhi_json_string(&d->j, value, strlen(value));
		else
			nhi_json_raw(&d->j, "null", 4);
	}
	return nhi_json_raw(&d->j, "}", 1);
}

int nhi_audit_detail_int(struct nhi_audit_detail *d, const char *key, int64_t value)
{
	if (detail_key(d, key) == 0)
		nhi_json_int(&d->j, value);
	return nhi_json_raw(&d->j, "}", 1);
}

int nhi_audit_detail_bool(struct nhi_audit_detail *d, const char *key, bool value)
{
	if (detail_key(d, key) == 0)
		nhi_json_raw(&d->j, value ? "true" : "false", value ? 4 : 5);
	return nhi_json_raw(&d->j, "}", 1);
}

const char *nhi_audit_detail_text(const struct nhi_audit_detail *d)
{
	return d && !d->j.err ? d->j.data : NULL;
}

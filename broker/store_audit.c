/* Audit rows: the storage side of the hash chain in broker/audit.c. The
 * store only keeps and returns rows; hashing and verification are audit.c's. */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "store_internal.h"

static const char sql_audit_insert[] =
        "INSERT INTO audit (seq, time, usec, type, actor, subject, detail, prev_hash, hash)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";
static const char sql_audit_head[] = "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1";
static const char sql_audit_hash_at[] = "SELECT hash FROM audit WHERE seq = ?1";
/* Not cached: several iterators may be open at once. */
static const char sql_audit_iter[] =
        "SELECT seq, time, usec, type, actor, subject, detail, prev_hash, hash"
        " FROM audit WHERE seq >= ?1 ORDER BY seq";

struct nhi_store_audit_iter {
	struct nhi_store *store;
	sqlite3_stmt *stmt;
	struct nhi_audit_record rec;
};

int nhi_store_audit_insert(struct nhi_store *s, const struct nhi_audit_record *r)
{
	sqlite3_stmt *st = NULL;
	int ret;

	if (!r || r->seq == 0 || r->seq > INT64_MAX || !r->type || !r->actor || !r->subject ||
	    !r->detail)
		return NHI_ERR_INVALID_ARGUMENT;
	ret = store_require_txn(s);
	if (ret == 0)
		ret = store_prepare(s, sql_audit_insert, &st);
	if (ret == 0 &&
	    (store_bind_int(s, st, 1, (int64_t)r->seq) || store_bind_int(s, st, 2, r->time) ||
	     store_bind_int(s, st, 3, r->usec) || store_bind_text(s, st, 4, r->type) ||
	     store_bind_text(s, st, 5, r->actor) || store_bind_text(s, st, 6, r->subject) ||
	     store_bind_text(s, st, 7, r->detail) ||
	     store_bind_blob(s, st, 8, r->prev_hash, NHI_AUDIT_HASH_LEN) ||
	     store_bind_blob(s, st, 9, r->hash, NHI_AUDIT_HASH_LEN)))
		ret = NHI_ERR_STORE;
	if (ret == 0)
		ret = store_step_done(s, st);
	store_release(st);
	return ret;
}

/* Copies a hash column; false when it is not exactly a hash. */
static bool col_hash(sqlite3_stmt *st, int col, uint8_t out[NHI_AUDIT_HASH_LEN])
{
	const void *p = sqlite3_column_blob(st, col);

	if (!p || sqlite3_column_bytes(st, col) != NHI_AUDIT_HASH_LEN) {
		memset(out, 0, NHI_AUDIT_HASH_LEN);
		return false;
	}
	memcpy(out, p, NHI_AUDIT_HASH_LEN);
	return true;
}

int nhi_store_audit_head(struct nhi_store *s, uint64_t *ret_seq,
                         uint8_t ret_hash[NHI_AUDIT_HASH_LEN])
{
	uint8_t hash[NHI_AUDIT_HASH_LEN] = {0};
	sqlite3_stmt *st = NULL;
	int64_t seq = 0;
	int r;

	r = store_prepare(s, sql_audit_head, &st);
	if (r == 0)
		r = store_step(s, st);
	if (r == 1) {
		seq = sqlite3_column_int64(st, 0);
		r = col_hash(st, 1, hash) && seq > 0 ? 0 : NHI_ERR_STORE_CORRUPT;
	}
	store_release(st);
	if (r < 0)
		return r;
	*ret_seq = (uint64_t)seq;
	memcpy(ret_hash, hash, NHI_AUDIT_HASH_LEN);
	return 0;
}

int nhi_store_audit_hash_at(struct nhi_store *s, uint64_t seq, uint8_t ret_hash[NHI_AUDIT_HASH_LEN])
{
	uint8_t hash[NHI_AUDIT_HASH_LEN];
	sqlite3_stmt *st = NULL;
	int r;

	if (seq == 0 || seq > INT64_MAX)
		return NHI_ERR_NOT_FOUND;
	r = store_prepare(s, sql_audit_hash_at, &st);
	if (r == 0)
		r = store_bind_int(s, st, 1, (int64_t)seq);
	if (r == 0)
		r = store_step(s, st);
	if (r == 0)
		r = NHI_ERR_NOT_FOUND;
	else if (r == 1)
		r = col_hash(st, 0, hash) ? 0 : NHI_ERR_STORE_CORRUPT;
	store_release(st);
	if (r == 0)
		memcpy(ret_hash, hash, NHI_AUDIT_HASH_LEN);
	return r;
}

int nhi_store_audit_iter_new(struct nhi_store *s, uint64_t from_seq,
                             struct nhi_store_audit_iter **ret_iter)
{
	struct nhi_store_audit_iter *it;
	int rc;

	it = calloc(1, sizeof(*it));
	if (!it)
		return NHI_ERR_ALLOC;
	it->store = s;
	rc = sqlite3_prepare_v2(s->db, sql_audit_iter, -1, &it->stmt, NULL);
	/* From 0: every row, even one with an impossible seq, so verify sees it. */
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(
		        it->stmt, 1,
		        from_seq == 0 ? INT64_MIN
		                      : (int64_t)(from_seq > INT64_MAX ? INT64_MAX : from_seq));
	if (rc != SQLITE_OK) {
		rc = store_fail(s, rc);
		nhi_store_audit_iter_free(it);
		return rc;
	}
	*ret_iter = it;
	return 0;
}

/* A text column as stored; flags NULL or an embedded NUL, which would make
 * the C string differ from the stored bytes. */
static const char *col_text(sqlite3_stmt *st, int col, bool *malformed)
{
	const char *t = (const char *)sqlite3_column_text(st, col);

	if (!t) {
		*malformed = true;
		return "";
	}
	if (strlen(t) != (size_t)sqlite3_column_bytes(st, col))
		*malformed = true;
	return t;
}

int nhi_store_audit_iter_next(struct nhi_store_audit_iter *it, const struct nhi_audit_record **ret)
{
	struct nhi_audit_record *rec = &it->rec;
	sqlite3_stmt *st = it->stmt;
	int64_t seq;
	int r;

	r = store_step(it->store, st);
	if (r < 0)
		return r;
	if (r == 0) {
		*ret = NULL;
		return 0;
	}
	memset(rec, 0, sizeof(*rec));
	seq = sqlite3_column_int64(st, 0);
	rec->seq = (uint64_t)seq;
	rec->malformed = seq <= 0;
	rec->time = sqlite3_column_int64(st, 1);
	rec->usec = (uint32_t)sqlite3_column_int64(st, 2);
	rec->type = col_text(st, 3, &rec->malformed);
	rec->actor = col_text(st, 4, &rec->malformed);
	rec->subject = col_text(st, 5, &rec->malformed);
	rec->detail = col_text(st, 6, &rec->malformed);
	if (!col_hash(st, 7, rec->prev_hash))
		rec->malformed = true;
	if (!col_hash(st, 8, rec->hash))
		rec->malformed = true;
	*ret = rec;
	return 0;
}

void nhi_store_audit_iter_free(struct nhi_store_audit_iter *it)
{
	if (!it)
		return;
	sqlite3_finalize(it->stmt);
	free(it);
}

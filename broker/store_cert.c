/* Certificate serials and the record of every issued certificate. */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "store_internal.h"

/* Highest serial ever committed, kept in meta and never below the table's. */
static const char sql_serial_next[] =
        "SELECT max(coalesce((SELECT CAST(value AS INTEGER) FROM meta"
        "                     WHERE key = 'cert_serial_last'), 0),"
        "           coalesce((SELECT max(serial) FROM certs), 0)) + 1";
static const char sql_serial_save[] =
        "INSERT INTO meta (key, value) VALUES ('cert_serial_last', ?1)"
        " ON CONFLICT (key) DO UPDATE SET value = excluded.value";
static const char sql_cert_insert[] =
        "INSERT INTO certs (serial, identity_id, key_id, key_fp, principals, valid_after,"
        " valid_before, requester_uid, requester_pid, requester_exe, issued_at, revoked_at,"
        " revoke_reason, ca_fp)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)";
#define CERT_SELECT                                                                                \
	"SELECT c.serial, i.name, c.key_id, c.key_fp, c.principals, c.valid_after,"                \
	" c.valid_before, c.requester_uid, c.requester_pid, c.requester_exe, c.issued_at,"         \
	" c.revoked_at, c.revoke_reason, c.ca_fp FROM certs c JOIN identities i"                   \
	" ON i.id = c.identity_id"
static const char sql_cert_get[] = CERT_SELECT " WHERE c.serial = ?1";
static const char sql_cert_list[] =
        CERT_SELECT " WHERE (?1 IS NULL OR c.identity_id = ?1)"
                    " AND (?2 = 0 OR (?2 = 1 AND c.revoked_at IS NOT NULL)"
                    "             OR (?2 = 2 AND c.revoked_at IS NULL))"
                    " ORDER BY c.serial";
static const char sql_cert_revoke[] = "UPDATE certs SET revoked_at = ?2, revoke_reason = ?3"
                                      " WHERE serial = ?1 AND revoked_at IS NULL";
static const char sql_cert_exists[] = "SELECT 1 FROM certs WHERE serial = ?1";
static const char sql_cert_count_unrevoked[] =
        "SELECT count(*) FROM certs WHERE revoked_at IS NULL";
static const char sql_cert_revoke_identity[] =
        "UPDATE certs SET revoked_at = ?2, revoke_reason = ?3"
        " WHERE identity_id = ?1 AND revoked_at IS NULL";

int nhi_store_next_serial(struct nhi_store *s, uint64_t *ret_serial)
{
	sqlite3_stmt *st = NULL;
	int64_t next = 0;
	int r;

	if (!ret_serial)
		return NHI_ERR_INVALID_ARGUMENT;
	r = store_require_txn(s);
	if (r == 0)
		r = store_prepare(s, sql_serial_next, &st);
	if (r == 0)
		r = store_step(s, st);
	if (r == 1) {
		next = sqlite3_column_int64(st, 0);
		r = next > 0 ? 0 : NHI_ERR_STORE_CORRUPT;
	} else if (r == 0) {
		r = NHI_ERR_STORE;
	}
	store_release(st);
	if (r == 0)
		r = store_prepare(s, sql_serial_save, &st);
	if (r == 0)
		r = store_bind_int(s, st, 1, next);
	if (r == 0)
		r = store_step_done(s, st);
	store_release(st);
	if (r == 0)
		*ret_serial = (uint64_t)next;
	return r;
}

void nhi_cert_record_clear(struct nhi_cert_record *c)
{
	if (!c)
		return;
	free(c->identity);
	free(c->key_id);
	free(c->key_fp);
	nhi_strv_free(c->principals, c->n_principals);
	free(c->requester_exe);
	free(c->revoke_reason);
	free(c->ca_fp);
	memset(c, 0, sizeof(*c));
}

void nhi_cert_record_list_free(struct nhi_cert_record *list, size_t n)
{
	size_t i;

	if (!list)
		return;
	for (i = 0; i < n; i++)
		nhi_cert_record_clear(&list[i]);
	free(list);
}

/* Principals as one blob of wire strings: unambiguous whatever they hold. */
static int principals_pack(const struct nhi_cert_record *c, struct nhi_buf **ret)
{
	struct nhi_buf *b = nhi_buf_new();
	size_t i;
	int r = 0;

	if (!b)
		return NHI_ERR_ALLOC;
	for (i = 0; r == 0 && i < c->n_principals; i++)
		r = c->principals[i] ? nhi_buf_put_cstring(b, c->principals[i])
		                     : NHI_ERR_INVALID_ARGUMENT;
	if (r < 0) {
		nhi_buf_free(b);
		return r;
	}
	*ret = b;
	return 0;
}

static int principals_unpack(const void *blob, size_t len, char ***ret_v, size_t *ret_n)
{
	struct nhi_buf *b = nhi_buf_from(blob, len);
	char **v = NULL, **grown;
	size_t n = 0;
	int r = 0;

	if (!b)
		return NHI_ERR_ALLOC;
	while (r == 0 && nhi_buf_len(b) > 0) {
		grown = reallocarray(v, n + 1, sizeof(*v));
		if (!grown) {
			r = NHI_ERR_ALLOC;
			break;
		}
		v = grown;
		r = nhi_buf_get_cstring(b, &v[n], NULL);
		if (r == 0)
			n++;
	}
	nhi_buf_free(b);
	if (r < 0) {
		nhi_strv_free(v, n);
		return NHI_ERR_STORE_CORRUPT;
	}
	*ret_v = v;
	*ret_n = n;
	return 0;
}

static int cert_check(const struct nhi_cert_record *c)
{
	if (!c || !c->identity || !c->key_id || !c->key_fp || !c->ca_fp)
		return NHI_ERR_INVALID_ARGUMENT;
	if (c->serial == 0 || c->serial > INT64_MAX || c->valid_after > INT64_MAX ||
	    c->valid_before > INT64_MAX || (c->n_principals && !c->principals))
		return NHI_ERR_INVALID_ARGUMENT;
	return 0;
}

static int cert_bind(struct nhi_store *s, sqlite3_stmt *st, const struct nhi_cert_record *c,
                     int64_t identity_id, const struct nhi_buf *principals)
{
	if (store_bind_int(s, st, 1, (int64_t)c->serial) || store_bind_int(s, st, 2, identity_id) ||
	    store_bind_text(s, st, 3, c->key_id) || store_bind_text(s, st, 4, c->key_fp) ||
	    store_bind_blob(s, st, 5, nhi_buf_ptr(principals), nhi_buf_len(principals)) ||
	    store_bind_int(s, st, 6, (int64_t)c->valid_after) ||
	    store_bind_int(s, st, 7, (int64_t)c->valid_before) ||
	    store_bind_opt_int(s, st, 8, c->requester_uid, NHI_ID_NONE) ||
	    store_bind_opt_int(s, st, 9, c->requester_pid, 0) ||
	    store_bind_text(s, st, 10, c->requester_exe) ||
	    store_bind_int(s, st, 11, c->issued_at) ||
	    store_bind_opt_int(s, st, 12, c->revoked_at, 0) ||
	    store_bind_text(s, st, 13, c->revoke_reason) || store_bind_text(s, st, 14, c->ca_fp))
		return NHI_ERR_STORE;
	return 0;
}

int nhi_store_cert_insert(struct nhi_store *s, const struct nhi_cert_record *c)
{
	struct nhi_buf *principals = NULL;
	sqlite3_stmt *st = NULL;
	int64_t identity_id;
	int r;

	r = cert_check(c);
	if (r == 0)
		r = store_identity_id(s, c->identity, &identity_id);
	if (r == 0)
		r = principals_pack(c, &principals);
	if (r == 0)
		r = store_prepare(s, sql_cert_insert, &st);
	if (r == 0)
		r = cert_bind(s, st, c, identity_id, principals);
	if (r == 0)
		r = store_step_done(s, st);
	store_release(st);
	nhi_buf_free(principals);
	return r;
}

static int cert_read(sqlite3_stmt *st, void *ret_elem)
{
	struct nhi_cert_record *ret = ret_elem;
	struct nhi_cert_record c;
	int r;

	memset(&c, 0, sizeof(c));
	c.serial = (uint64_t)sqlite3_column_int64(st, 0);
	c.valid_after = (uint64_t)sqlite3_column_int64(st, 5);
	c.valid_before = (uint64_t)sqlite3_column_int64(st, 6);
	c.requester_uid = store_col_opt_int(st, 7, NHI_ID_NONE);
	c.requester_pid = store_col_opt_int(st, 8, 0);
	c.issued_at = sqlite3_column_int64(st, 10);
	c.revoked_at = store_col_opt_int(st, 11, 0);
	r = principals_unpack(sqlite3_column_blob(st, 4), (size_t)sqlite3_column_bytes(st, 4),
	                      &c.principals, &c.n_principals);
	if (r == 0)
		r = store_col_str(st, 1, &c.identity);
	if (r == 0)
		r = store_col_str(st, 2, &c.key_id);
	if (r == 0)
		r = store_col_str(st, 3, &c.key_fp);
	if (r == 0)
		r = store_col_str(st, 9, &c.requester_exe);
	if (r == 0)
		r = store_col_str(st, 12, &c.revoke_reason);
	if (r == 0)
		r = store_col_str(st, 13, &c.ca_fp);
	if (r < 0) {
		nhi_cert_record_clear(&c);
		return r;
	}
	*ret = c;
	return 0;
}

int nhi_store_cert_get(struct nhi_store *s, uint64_t serial, struct nhi_cert_record *ret)
{
	sqlite3_stmt *st = NULL;
	int r;

	if (!ret)
		return NHI_ERR_INVALID_ARGUMENT;
	if (serial == 0 || serial > INT64_MAX)
		return NHI_ERR_NOT_FOUND;
	r = store_prepare(s, sql_cert_get, &st);
	if (r == 0)
		r = store_bind_int(s, st, 1, (int64_t)serial);
	if (r == 0)
		r = store_step(s, st);
	if (r == 0)
		r = NHI_ERR_NOT_FOUND;
	else if (r == 1)
		r = cert_read(st, ret);
	store_release(st);
	return r;
}

static int cert_list_bind(struct nhi_store *s, sqlite3_stmt *st, const char *identity,
                          unsigned flags)
{
	int64_t id;
	int which = 0, r;

	if ((flags & NHI_CERT_LIST_REVOKED) && (flags & NHI_CERT_LIST_UNREVOKED))
		return NHI_ERR_INVALID_ARGUMENT;
	if (flags & NHI_CERT_LIST_REVOKED)
		which = 1;
	else if (flags & NHI_CERT_LIST_UNREVOKED)
		which = 2;
	if (identity) {
		r = store_identity_id(s, identity, &id);
		if (r == 0)
			r = store_bind_int(s, st, 1, id);
		if (r < 0)
			return r;
	}
	return store_bind_int(s, st, 2, which);
}

int nhi_store_cert_list(struct nhi_store *s, const char *identity, unsigned flags,
                        struct nhi_cert_record **ret_list, size_t *ret_n)
{
	struct nhi_cert_record *list;
	void *rows = NULL;
	sqlite3_stmt *st = NULL;
	size_t n = 0;
	int r;

	r = store_prepare(s, sql_cert_list, &st);
	if (r == 0)
		r = cert_list_bind(s, st, identity, flags);
	if (r == 0)
		r = store_read_rows(s, st, sizeof(*list), cert_read, &rows, &n);
	list = rows;
	store_release(st);
	if (r < 0) {
		nhi_cert_record_list_free(list, n);
		return r;
	}
	*ret_list = list;
	*ret_n = n;
	return 0;
}

static int cert_exists(struct nhi_store *s, uint64_t serial)
{
	sqlite3_stmt *st = NULL;
	int r;

	r = store_prepare(s, sql_cert_exists, &st);
	if (r == 0)
		r = store_bind_int(s, st, 1, (int64_t)serial);
	if (r == 0)
		r = store_step(s, st);
	if (r == 0)
		r = NHI_ERR_NOT_FOUND;
	else if (r == 1)
		r = 0;
	store_release(st);
	return r;
}

int nhi_store_cert_revoke(struct nhi_store *s, uint64_t serial, int64_t when, const char *reason)
{
	sqlite3_stmt *st = NULL;
	int r;

	if (serial == 0 || serial > INT64_MAX)
		return NHI_ERR_NOT_FOUND;
	if (when <= 0)
		return NHI_ERR_INVALID_ARGUMENT;
	r = store_prepare(s, sql_cert_revoke, &st);
	if (r == 0)
		r = store_bind_int(s, st, 1, (int64_t)serial);
	if (r == 0)
		r = store_bind_int(s, st, 2, when);
	if (r == 0)
		r = store_bind_text(s, st, 3, reason);
	if (r == 0)
		r = store_step_done(s, st);
	store_release(st);
	/* Nothing changed: unknown, or already revoked (which is fine). */
	if (r == 0 && sqlite3_changes(s->db) == 0)
		r = cert_exists(s, serial);
	return r;
}

int nhi_store_cert_revoke_identity(struct nhi_store *s, const char *identity, int64_t when,
                                   const char *reason, size_t *ret_count)
{
	sqlite3_stmt *st = NULL;
	int64_t id;
	int r;

	if (when <= 0)
		return NHI_ERR_INVALID_ARGUMENT;
	r = store_identity_id(s, identity, &id);
	if (r == 0)
		r = store_prepare(s, sql_cert_revoke_identity, &st);
	if (r == 0)
		r = store_bind_int(s, st, 1, id);
	if (r == 0)
		r = store_bind_int(s, st, 2, when);
	if (r == 0)
		r = store_bind_text(s, st, 3, reason);
	if (r == 0)
		r = store_step_done(s, st);
	if (r == 0 && ret_count)
		*ret_count = (size_t)sqlite3_changes(s->db);
	store_release(st);
	return r;
}

int nhi_store_cert_count_unrevoked(struct nhi_store *s, size_t *ret_n)
{
	return store_count(s, sql_cert_count_unrevoked, ret_n);
}

/* Enrollment codes and the device keys engineers enroll with them. */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "store_internal.h"

static const char sql_code_add[] =
        "INSERT INTO enrollment_codes (identity_id, code_hash, created, expires)"
        " SELECT id, ?2, ?3, ?4 FROM identities WHERE name = ?1";
static const char sql_code_find[] =
        "SELECT c.id, i.name FROM enrollment_codes c JOIN identities i ON i.id = c.identity_id"
        " WHERE c.code_hash = ?1 AND c.used_at IS NULL AND c.expires > ?2";
/* Consumes only if still unused, so two brokers sharing the database
 * cannot both accept one code. */
static const char sql_code_consume[] =
        "UPDATE enrollment_codes SET used_at = ?2 WHERE id = ?1 AND used_at IS NULL";
static const char sql_key_add[] =
        "INSERT INTO device_keys (identity_id, fingerprint, key_blob, key_text, is_fido,"
        " enrolled_at) SELECT id, ?2, ?3, ?4, ?5, ?6 FROM identities WHERE name = ?1";
#define KEY_SELECT                                                                                 \
	"SELECT i.name, k.fingerprint, k.key_blob, k.key_text, k.is_fido, k.enrolled_at,"          \
	" k.state FROM device_keys k JOIN identities i ON i.id = k.identity_id"
static const char sql_key_get[] = KEY_SELECT " WHERE k.fingerprint = ?1";
static const char sql_key_list[] = KEY_SELECT " WHERE k.identity_id = ?1 ORDER BY k.id";
static const char sql_key_revoke[] =
        "UPDATE device_keys SET state = 'revoked' WHERE fingerprint = ?1";

int nhi_store_enroll_code_add(struct nhi_store *s, const char *identity,
                              const uint8_t code_hash[NHI_ENROLL_HASH_LEN], int64_t now,
                              int64_t expires)
{
	sqlite3_stmt *st = NULL;
	int r;

	if (!identity || !code_hash || expires <= now)
		return NHI_ERR_INVALID_ARGUMENT;
	r = store_prepare(s, sql_code_add, &st);
	if (r == 0 && (store_bind_text(s, st, 1, identity) ||
	               store_bind_blob(s, st, 2, code_hash, NHI_ENROLL_HASH_LEN) ||
	               store_bind_int(s, st, 3, now) || store_bind_int(s, st, 4, expires)))
		r = NHI_ERR_STORE;
	if (r == 0)
		r = store_step_done(s, st);
	if (r == 0 && sqlite3_changes(s->db) == 0)
		r = NHI_ERR_NOT_FOUND;
	store_release(st);
	return r;
}

static int code_consume(struct nhi_store *s, int64_t code_id, int64_t now)
{
	sqlite3_stmt *st = NULL;
	int r;

	r = store_prepare(s, sql_code_consume, &st);
	if (r == 0 && (store_bind_int(s, st, 1, code_id) || store_bind_int(s, st, 2, now)))
		r = NHI_ERR_STORE;
	if (r == 0)
		r = store_step_done(s, st);
	if (r == 0 && sqlite3_changes(s->db) != 1)
		r = NHI_ERR_NOT_FOUND;
	store_release(st);
	return r;
}

int nhi_store_enroll_code_use(struct nhi_store *s, const uint8_t code_hash[NHI_ENROLL_HASH_LEN],
                              int64_t now, char **ret_identity)
{
	sqlite3_stmt *st = NULL;
	char *name = NULL;
	int64_t code_id = 0;
	int r;

	if (!code_hash || !ret_identity)
		return NHI_ERR_INVALID_ARGUMENT;
	r = store_prepare(s, sql_code_find, &st);
	if (r == 0 && (store_bind_blob(s, st, 1, code_hash, NHI_ENROLL_HASH_LEN) ||
	               store_bind_int(s, st, 2, now)))
		r = NHI_ERR_STORE;
	if (r == 0)
		r = store_step(s, st);
	if (r == 0)
		r = NHI_ERR_NOT_FOUND;
	else if (r == 1) {
		code_id = sqlite3_column_int64(st, 0);
		r = store_col_str(st, 1, &name);
	}
	store_release(st);
	if (r == 0)
		r = code_consume(s, code_id, now);
	if (r < 0) {
		free(name);
		return r;
	}
	*ret_identity = name;
	return 0;
}

void nhi_device_key_clear(struct nhi_device_key *k)
{
	if (!k)
		return;
	free(k->identity);
	free(k->fingerprint);
	free(k->blob);
	free(k->text);
	memset(k, 0, sizeof(*k));
}

void nhi_device_key_list_free(struct nhi_device_key *list, size_t n)
{
	size_t i;

	if (!list)
		return;
	for (i = 0; i < n; i++)
		nhi_device_key_clear(&list[i]);
	free(list);
}

int nhi_store_device_key_add(struct nhi_store *s, const struct nhi_device_key *k)
{
	sqlite3_stmt *st = NULL;
	int r;

	if (!k || !k->identity || !k->fingerprint || !k->blob || !k->blob_len || !k->text)
		return NHI_ERR_INVALID_ARGUMENT;
	r = store_prepare(s, sql_key_add, &st);
	if (r == 0 &&
	    (store_bind_text(s, st, 1, k->identity) || store_bind_text(s, st, 2, k->fingerprint) ||
	     store_bind_blob(s, st, 3, k->blob, k->blob_len) ||
	     store_bind_text(s, st, 4, k->text) || store_bind_int(s, st, 5, k->is_fido) ||
	     store_bind_int(s, st, 6, k->enrolled_at)))
		r = NHI_ERR_STORE;
	if (r == 0)
		r = store_step_done(s, st);
	if (r == 0 && sqlite3_changes(s->db) == 0)
		r = NHI_ERR_NOT_FOUND;
	store_release(st);
	return r;
}

static int key_read(sqlite3_stmt *st, void *ret_elem)
{
	struct nhi_device_key *ret = ret_elem;
	const void *blob = sqlite3_column_blob(st, 2);
	size_t len = (size_t)sqlite3_column_bytes(st, 2);
	const char *state = (const char *)sqlite3_column_text(st, 6);
	struct nhi_device_key k;
	int r;

	memset(&k, 0, sizeof(k));
	if (!blob || !len || !state)
		return NHI_ERR_STORE_CORRUPT;
	k.is_fido = sqlite3_column_int(st, 4) != 0;
	k.enrolled_at = sqlite3_column_int64(st, 5);
	k.revoked = strcmp(state, "revoked") == 0;
	k.blob_len = len;
	k.blob = malloc(len);
	r = k.blob ? 0 : NHI_ERR_ALLOC;
	if (r == 0) {
		memcpy(k.blob, blob, len);
		r = store_col_str(st, 0, &k.identity);
	}
	if (r == 0)
		r = store_col_str(st, 1, &k.fingerprint);
	if (r == 0)
		r = store_col_str(st, 3, &k.text);
	if (r < 0) {
		nhi_device_key_clear(&k);
		return r;
	}
	*ret = k;
	return 0;
}

int nhi_store_device_key_get(struct nhi_store *s, const char *fingerprint,
                             struct nhi_device_key *ret)
{
	sqlite3_stmt *st = NULL;
	int r;

	if (!fingerprint || !ret)
		return NHI_ERR_INVALID_ARGUMENT;
	r = store_prepare(s, sql_key_get, &st);
	if (r == 0)
		r = store_bind_text(s, st, 1, fingerprint);
	if (r == 0)
		r = store_step(s, st);
	if (r == 0)
		r = NHI_ERR_NOT_FOUND;
	else if (r == 1)
		r = key_read(st, ret);
	store_release(st);
	return r;
}

int nhi_store_device_key_list(struct nhi_store *s, const char *identity,
                              struct nhi_device_key **ret_list, size_t *ret_n)
{
	struct nhi_device_key *list;
	void *rows = NULL;
	sqlite3_stmt *st = NULL;
	size_t n = 0;
	int64_t id;
	int r;

	r = store_identity_id(s, identity, &id);
	if (r == 0)
		r = store_prepare(s, sql_key_list, &st);
	if (r == 0)
		r = store_bind_int(s, st, 1, id);
	if (r == 0)
		r = store_read_rows(s, st, sizeof(*list), key_read, &rows, &n);
	list = rows;
	store_release(st);
	if (r < 0) {
		nhi_device_key_list_free(list, n);
		return r;
	}
	*ret_list = list;
	*ret_n = n;
	return 0;
}

int nhi_store_device_key_revoke(struct nhi_store *s, const char *fingerprint)
{
	sqlite3_stmt *st = NULL;
	int r;

	if (!fingerprint)
		return NHI_ERR_INVALID_ARGUMENT;
	r = store_prepare(s, sql_key_revoke, &st);
	if (r == 0)
		r = store_bind_text(s, st, 1, fingerprint);
	if (r == 0)
		r = store_step_done(s, st);
	if (r == 0 && sqlite3_changes(s->db) == 0)
		r = NHI_ERR_NOT_FOUND;
	store_release(st);
	return r;
}

/* Keys revoked by an administrator (table revoked_keys). */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "store_internal.h"
#include "store_revoked_key.h"

static const char sql_add[] =
        "INSERT INTO revoked_keys (fingerprint, revoked_at, reason, revoked_by)"
        " VALUES (?1, ?2, ?3, ?4) ON CONFLICT (fingerprint) DO NOTHING";
static const char sql_list[] = "SELECT fingerprint FROM revoked_keys ORDER BY fingerprint";

int nhi_store_revoked_key_add(struct nhi_store *s, const char *fingerprint, int64_t revoked_at,
                              const char *reason, const char *revoked_by, bool *ret_added)
{
	sqlite3_stmt *st = NULL;
	int r;

	if (fingerprint == NULL || reason == NULL || revoked_by == NULL || ret_added == NULL)
		return NHI_ERR_INVALID_ARGUMENT;
	if ((r = store_require_txn(s)) < 0)
		return r;
	r = store_prepare(s, sql_add, &st);
	if (r == 0 &&
	    (store_bind_text(s, st, 1, fingerprint) || store_bind_int(s, st, 2, revoked_at) ||
	     store_bind_text(s, st, 3, reason) || store_bind_text(s, st, 4, revoked_by)))
		r = NHI_ERR_STORE;
	if (r == 0 && (r = store_step_done(s, st)) == 0)
		*ret_added = sqlite3_changes(s->db) > 0;
	store_release(st);
	return r;
}

static int read_fingerprint(sqlite3_stmt *st, void *ret_elem)
{
	return store_col_str(st, 0, ret_elem);
}

int nhi_store_revoked_key_list(struct nhi_store *s, char ***ret_fingerprints, size_t *ret_n)
{
	sqlite3_stmt *st = NULL;
	void *rows = NULL;
	size_t n = 0;
	int r;

	if (ret_fingerprints == NULL || ret_n == NULL)
		return NHI_ERR_INVALID_ARGUMENT;
	if ((r = store_prepare(s, sql_list, &st)) == 0)
		r = store_read_rows(s, st, sizeof(char *), read_fingerprint, &rows, &n);
	store_release(st);
	if (r < 0) {
		nhi_strv_free(rows, n);
		return r;
	}
	*ret_fingerprints = rows;
	*ret_n = n;
	return 0;
}

/* Static keys found in authorized_keys files (table static_keys). */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "store_internal.h"
#include "store_static_key.h"

static const char sql_insert[] =
        "INSERT INTO static_keys (fingerprint, type, bits, account, path, line, options, comment,"
        " first_seen, last_seen, weak) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9, ?10)";
static const char sql_find[] =
        "SELECT id, first_seen, state, exception_until, type, bits, line, options, comment, weak"
        " FROM static_keys WHERE fingerprint = ?1 AND account = ?2 AND path = ?3";
static const char sql_refresh[] =
        "UPDATE static_keys SET type = ?2, bits = ?3, line = ?4, options = ?5, comment = ?6,"
        " last_seen = ?7, weak = ?8 WHERE id = ?1";
static const char sql_seen[] = "UPDATE static_keys SET last_seen = ?2 WHERE id = ?1";
#define KEY_COLUMNS                                                                           \
	"SELECT fingerprint, type, bits, account, path, line, options, comment, first_seen,"  \
	" last_seen, state, weak, exception_owner, exception_reason, exception_until,"        \
	" last_used, id FROM static_keys"
static const char sql_list[] =
        KEY_COLUMNS " WHERE (?1 IS NULL OR account = ?1) AND (?2 IS NULL OR fingerprint = ?2)"
                    " ORDER BY account, path, line, id";
/* By id, the table's own order: a page costs its rows, not a sort of all. */
static const char sql_page[] =
        KEY_COLUMNS " WHERE id > ?3 AND (?1 IS NULL OR account = ?1)"
                    " AND (?2 IS NULL OR fingerprint = ?2) ORDER BY id LIMIT ?4";

/* Whether a text column holds v (both NULL counts). */
static bool col_is(sqlite3_stmt *st, int col, const char *v)
{
	const unsigned char *t = sqlite3_column_text(st, col);

	if (t == NULL || v == NULL)
		return t == NULL && v == NULL;
	return strcmp((const char *)t, v) == 0;
}

/* The existing row of k: its id, first_seen, state (heap) and exception
 * end, and whether the rest of it already says what k says. */
struct found_row {
	int64_t id, first_seen, until;
	char *state;
	bool same;
};

static int find_row(struct nhi_store *s, const struct nhi_static_key *k, struct found_row *f)
{
	sqlite3_stmt *st = NULL;
	int r;

	r = store_prepare(s, sql_find, &st);
	if (r == 0 && (store_bind_text(s, st, 1, k->fingerprint) ||
	               store_bind_text(s, st, 2, k->account) || store_bind_text(s, st, 3, k->path)))
		r = NHI_ERR_STORE;
	if (r == 0) {
		r = store_step(s, st);
		if (r == 0)
			r = NHI_ERR_NOT_FOUND;
	}
	if (r == 1) {
		f->id = sqlite3_column_int64(st, 0);
		f->first_seen = sqlite3_column_int64(st, 1);
		f->until = store_col_opt_int(st, 3, 0);
		f->same = col_is(st, 4, k->type) && sqlite3_column_int64(st, 5) == k->bits &&
		          sqlite3_column_int64(st, 6) == k->line && col_is(st, 7, k->options) &&
		          col_is(st, 8, k->comment) &&
		          (sqlite3_column_int64(st, 9) != 0) == k->weak;
		r = store_col_str(st, 2, &f->state);
	}
	store_release(st);
	return r;
}

int nhi_store_static_key_record(struct nhi_store *s, const struct nhi_static_key *k,
                                int64_t *ret_first_seen, bool *ret_created, char **ret_state,
                                int64_t *ret_until)
{
	struct found_row f = {0};
	sqlite3_stmt *st = NULL;
	int r;

	if (k == NULL || k->fingerprint == NULL || k->type == NULL || k->account == NULL ||
	    k->path == NULL || ret_first_seen == NULL || ret_created == NULL)
		return NHI_ERR_INVALID_ARGUMENT;
	r = find_row(s, k, &f);
	if (r < 0 && r != NHI_ERR_NOT_FOUND)
		return r;
	*ret_created = r == NHI_ERR_NOT_FOUND;
	if (*ret_created) {
		r = store_prepare(s, sql_insert, &st);
		if (r == 0 && (store_bind_text(s, st, 1, k->fingerprint) ||
		               store_bind_text(s, st, 2, k->type) || store_bind_int(s, st, 3, k->bits) ||
		               store_bind_text(s, st, 4, k->account) ||
		               store_bind_text(s, st, 5, k->path) || store_bind_int(s, st, 6, k->line) ||
		               store_bind_text(s, st, 7, k->options) ||
		               store_bind_text(s, st, 8, k->comment) ||
		               store_bind_int(s, st, 9, k->last_seen) ||
		               store_bind_int(s, st, 10, k->weak ? 1 : 0)))
			r = NHI_ERR_STORE;
		f.first_seen = k->last_seen;
	} else if (f.same) {
		/* Seen again, unchanged: only when. */
		r = store_prepare(s, sql_seen, &st);
		if (r == 0 && (store_bind_int(s, st, 1, f.id) ||
		               store_bind_int(s, st, 2, k->last_seen)))
			r = NHI_ERR_STORE;
	} else {
		r = store_prepare(s, sql_refresh, &st);
		if (r == 0 &&
		    (store_bind_int(s, st, 1, f.id) || store_bind_text(s, st, 2, k->type) ||
		     store_bind_int(s, st, 3, k->bits) || store_bind_int(s, st, 4, k->line) ||
		     store_bind_text(s, st, 5, k->options) || store_bind_text(s, st, 6, k->comment) ||
		     store_bind_int(s, st, 7, k->last_seen) ||
		     store_bind_int(s, st, 8, k->weak ? 1 : 0)))
			r = NHI_ERR_STORE;
	}
	if (r == 0)
		r = store_step_done(s, st);
	store_release(st);
	if (r < 0) {
		free(f.state);
		return r;
	}
	*ret_first_seen = f.first_seen;
	if (ret_until != NULL)
		*ret_until = f.until;
	if (ret_state != NULL)
		*ret_state = f.state;
	else
		free(f.state);
	return 0;
}

int nhi_store_static_key_upsert(struct nhi_store *s, const struct nhi_static_key *k,
                                int64_t *ret_first_seen, bool *ret_created)
{
	return nhi_store_static_key_record(s, k, ret_first_seen, ret_created, NULL, NULL);
}

void nhi_static_key_clear(struct nhi_static_key *k)
{
	if (k == NULL)
		return;
	free(k->fingerprint);
	free(k->type);
	free(k->account);
	free(k->path);
	free(k->options);
	free(k->comment);
	free(k->state);
	free(k->exception_owner);
	free(k->exception_reason);
	memset(k, 0, sizeof(*k));
}

void nhi_static_key_list_free(struct nhi_static_key *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		nhi_static_key_clear(&list[i]);
	free(list);
}

static int row(sqlite3_stmt *st, struct nhi_static_key *k)
{
	int r;

	memset(k, 0, sizeof(*k));
	if ((r = store_col_str(st, 0, &k->fingerprint)) < 0 ||
	    (r = store_col_str(st, 1, &k->type)) < 0 ||
	    (r = store_col_str(st, 3, &k->account)) < 0 ||
	    (r = store_col_str(st, 4, &k->path)) < 0 ||
	    (r = store_col_str(st, 6, &k->options)) < 0 ||
	    (r = store_col_str(st, 7, &k->comment)) < 0 ||
	    (r = store_col_str(st, 10, &k->state)) < 0 ||
	    (r = store_col_str(st, 12, &k->exception_owner)) < 0 ||
	    (r = store_col_str(st, 13, &k->exception_reason)) < 0)
		return r;
	k->exception_until = store_col_opt_int(st, 14, 0);
	k->bits = store_col_opt_int(st, 2, 0);
	k->line = store_col_opt_int(st, 5, 0);
	k->first_seen = sqlite3_column_int64(st, 8);
	k->last_seen = sqlite3_column_int64(st, 9);
	k->weak = sqlite3_column_int64(st, 11) != 0;
	k->last_used = store_col_opt_int(st, 15, 0);
	k->id = sqlite3_column_int64(st, 16);
	return 0;
}

/* Every row st yields, into a list. */
static int collect(struct nhi_store *s, sqlite3_stmt *st, int r, struct nhi_static_key **ret_list,
                   size_t *ret_n)
{
	struct nhi_static_key *list = NULL, *grown;
	size_t n = 0, cap = 0;

	*ret_list = NULL;
	*ret_n = 0;
	while (r == 0 && (r = store_step(s, st)) == 1) {
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			if ((grown = realloc(list, cap * sizeof(*list))) == NULL) {
				r = NHI_ERR_ALLOC;
				break;
			}
			list = grown;
		}
		r = row(st, &list[n]);
		n++;
	}
	store_release(st);
	if (r < 0) {
		nhi_static_key_list_free(list, n);
		return r;
	}
	*ret_list = list;
	*ret_n = n;
	return 0;
}

int nhi_store_static_key_list(struct nhi_store *s, const char *account, const char *fingerprint,
                              struct nhi_static_key **ret_list, size_t *ret_n)
{
	sqlite3_stmt *st = NULL;
	int r;

	r = store_prepare(s, sql_list, &st);
	if (r == 0 &&
	    (store_bind_text(s, st, 1, account) || store_bind_text(s, st, 2, fingerprint)))
		r = NHI_ERR_STORE;
	return collect(s, st, r, ret_list, ret_n);
}

int nhi_store_static_key_page(struct nhi_store *s, const char *account, const char *fingerprint,
                              int64_t after_id, size_t limit, struct nhi_static_key **ret_list,
                              size_t *ret_n)
{
	sqlite3_stmt *st = NULL;
	int r;

	r = store_prepare(s, sql_page, &st);
	if (r == 0 &&
	    (store_bind_text(s, st, 1, account) || store_bind_text(s, st, 2, fingerprint) ||
	     sqlite3_bind_int64(st, 3, after_id) != SQLITE_OK ||
	     sqlite3_bind_int64(st, 4, (sqlite3_int64)limit) != SQLITE_OK))
		r = NHI_ERR_STORE;
	return collect(s, st, r, ret_list, ret_n);
}

static const char sql_set_state[] =
        "UPDATE static_keys SET state = ?1, exception_owner = ?2, exception_reason = ?3,"
        " exception_until = ?4 WHERE fingerprint = ?5 AND (?6 IS NULL OR account = ?6)"
        " AND (?7 IS NULL OR path = ?7)";
/* The common case, one row by its unique key: an index search, where the
 * optional terms above make sqlite read the whole table. */
static const char sql_set_state_one[] =
        "UPDATE static_keys SET state = ?1, exception_owner = ?2, exception_reason = ?3,"
        " exception_until = ?4 WHERE account = ?6 AND path = ?7 AND fingerprint = ?5";

int nhi_store_static_key_set_state(struct nhi_store *s, const char *fingerprint,
                                   const char *account, const char *path, const char *state,
                                   const char *owner, const char *reason, int64_t until,
                                   size_t *ret_count)
{
	sqlite3_stmt *st = NULL;
	int r;

	if (fingerprint == NULL || state == NULL)
		return NHI_ERR_INVALID_ARGUMENT;
	/* Only an exception carries an owner, a reason and an end. */
	if (strcmp(state, "excepted") != 0) {
		owner = reason = NULL;
		until = 0;
	}
	r = store_prepare(s, account != NULL && path != NULL ? sql_set_state_one : sql_set_state,
	                  &st);
	if (r == 0 && (store_bind_text(s, st, 1, state) || store_bind_text(s, st, 2, owner) ||
	               store_bind_text(s, st, 3, reason) || store_bind_opt_int(s, st, 4, until, 0) ||
	               store_bind_text(s, st, 5, fingerprint) ||
	               store_bind_text(s, st, 6, account) || store_bind_text(s, st, 7, path)))
		r = NHI_ERR_STORE;
	if (r == 0)
		r = store_step_done(s, st);
	if (r == 0 && sqlite3_changes(s->db) == 0)
		r = NHI_ERR_NOT_FOUND;
	if (r == 0 && ret_count != NULL)
		*ret_count = (size_t)sqlite3_changes(s->db);
	store_release(st);
	return r;
}

static const char sql_get[] =
        "SELECT fingerprint, type, bits, account, path, line, options, comment, first_seen,"
        " last_seen, state, weak, exception_owner, exception_reason, exception_until, last_used"
        " FROM static_keys WHERE fingerprint = ?1 AND account = ?2 AND path = ?3";

int nhi_store_static_key_get(struct nhi_store *s, const char *fingerprint, const char *account,
                             const char *path, struct nhi_static_key *ret)
{
	sqlite3_stmt *st = NULL;
	int r;

	if (fingerprint == NULL || account == NULL || path == NULL || ret == NULL)
		return NHI_ERR_INVALID_ARGUMENT;
	r = store_prepare(s, sql_get, &st);
	if (r == 0 && (store_bind_text(s, st, 1, fingerprint) ||
	               store_bind_text(s, st, 2, account) || store_bind_text(s, st, 3, path)))
		r = NHI_ERR_STORE;
	if (r == 0) {
		r = store_step(s, st);
		if (r == 1)
			r = row(st, ret);
		else if (r == 0)
			r = NHI_ERR_NOT_FOUND;
	}
	store_release(st);
	if (r < 0)
		nhi_static_key_clear(ret);
	return r;
}

/* account's rows of the key (one per file that holds it): an index search,
 * the account leading the unique key. */
static const char sql_touch[] =
        "UPDATE static_keys SET last_used = ?3 WHERE account = ?1 AND fingerprint = ?2";

int nhi_store_static_key_touch(struct nhi_store *s, const char *account, const char *fingerprint,
                               int64_t when, size_t *ret_count)
{
	sqlite3_stmt *st = NULL;
	int r;

	*ret_count = 0;
	if ((r = store_prepare(s, sql_touch, &st)) < 0)
		return r;
	if (store_bind_text(s, st, 1, account) || store_bind_text(s, st, 2, fingerprint) ||
	    sqlite3_bind_int64(st, 3, when) != SQLITE_OK)
		r = NHI_ERR_STORE;
	else
		r = store_step_done(s, st);
	if (r == 0)
		*ret_count = (size_t)sqlite3_changes(s->db);
	store_release(st);
	return r;
}

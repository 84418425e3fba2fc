/* Grants (JIT elevation) in the sqlite3 store. */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "store_grant.h"
#include "store_internal.h"

static const char *const state_names[] = {"pending", "active", "denied", "revoked"};

const char *nhi_grant_state_name(enum nhi_grant_state state)
{
	if ((size_t)state >= sizeof(state_names) / sizeof(state_names[0]))
		return "unknown";
	return state_names[state];
}

static int state_from_name(const char *name, enum nhi_grant_state *ret)
{
	for (size_t i = 0; name != NULL && i < sizeof(state_names) / sizeof(state_names[0]); i++) {
		if (strcmp(name, state_names[i]) == 0) {
			*ret = (enum nhi_grant_state)i;
			return 0;
		}
	}
	return NHI_ERR_STORE_CORRUPT;
}

#define GRANT_COLUMNS                                                                              \
	"g.id, i.name, g.role, g.reason, g.approved_by, g.state, g.ttl, g.created, g.expires,"     \
	" g.revoked_at FROM grants g JOIN identities i ON i.id = g.identity_id"

static const char sql_grant_add[] =
        "INSERT INTO grants (identity_id, role, reason, state, ttl, created, expires)"
        " SELECT id, ?2, ?3, ?4, ?5, ?6, ?7 FROM identities WHERE name = ?1";
static const char sql_grant_get[] = "SELECT " GRANT_COLUMNS " WHERE g.id = ?1";
/* Pages newest first, by id below the last one shown: a range of the
 * rowid (or of grants_identity, the identity found by its unique name),
 * never an optional term that would make sqlite read every grant. */
#define GRANT_PAGE_TERMS                                                                           \
	" AND g.id < ?2"                                                                           \
	" AND (?3 <= 0 OR (g.state = 'active' AND g.expires > ?3)) ORDER BY g.id DESC LIMIT ?4"
static const char sql_grant_page[] = "SELECT " GRANT_COLUMNS " WHERE 1" GRANT_PAGE_TERMS;
static const char sql_grant_page_identity[] =
        "SELECT " GRANT_COLUMNS " WHERE i.name = ?1" GRANT_PAGE_TERMS;
static const char sql_grant_decide[] =
        "UPDATE grants SET state = ?3, approved_by = ?4,"
        " revoked_at = CASE WHEN ?3 = 'revoked' THEN ?5 ELSE revoked_at END,"
        " expires = CASE WHEN ?3 = 'active' THEN ?6 ELSE expires END"
        " WHERE id = ?1 AND state = ?2";
static const char sql_grant_active[] =
        "SELECT " GRANT_COLUMNS " WHERE i.name = ?1 AND (?2 IS NULL OR g.role = ?2)"
        " AND g.state = 'active' AND g.expires > ?3 ORDER BY g.expires DESC LIMIT 1";

void nhi_grant_clear(struct nhi_grant *g)
{
	if (g == NULL)
		return;
	free(g->identity);
	free(g->role);
	free(g->reason);
	free(g->decided_by);
	memset(g, 0, sizeof(*g));
}

void nhi_grant_list_free(struct nhi_grant *list, size_t n)
{
	for (size_t i = 0; list != NULL && i < n; i++)
		nhi_grant_clear(&list[i]);
	free(list);
}

static int grant_read(sqlite3_stmt *st, void *ret_elem)
{
	struct nhi_grant g = {0};
	int64_t ttl;
	int r;

	g.id = sqlite3_column_int64(st, 0);
	if ((r = store_col_str(st, 1, &g.identity)) < 0 ||
	    (r = store_col_str(st, 2, &g.role)) < 0 || (r = store_col_str(st, 3, &g.reason)) < 0 ||
	    (r = store_col_str(st, 4, &g.decided_by)) < 0 ||
	    (r = state_from_name((const char *)sqlite3_column_text(st, 5), &g.state)) < 0)
		goto fail;
	ttl = sqlite3_column_int64(st, 6);
	g.ttl = ttl > 0 && ttl <= UINT32_MAX ? (uint32_t)ttl : 0;
	g.created = sqlite3_column_int64(st, 7);
	g.expires = sqlite3_column_int64(st, 8);
	g.revoked_at = store_col_opt_int(st, 9, 0);
	if (g.identity == NULL || g.role == NULL || g.reason == NULL) {
		r = NHI_ERR_STORE_CORRUPT;
		goto fail;
	}
	*(struct nhi_grant *)ret_elem = g;
	return 0;
fail:
	nhi_grant_clear(&g);
	return r;
}

int nhi_store_grant_add(struct nhi_store *s, const struct nhi_grant *in, int64_t *ret_id)
{
	sqlite3_stmt *st = NULL;
	int r;

	if (in->identity == NULL || in->role == NULL || in->reason == NULL ||
	    (in->state != NHI_GRANT_PENDING && in->state != NHI_GRANT_ACTIVE))
		return NHI_ERR_INVALID_ARGUMENT;
	r = store_prepare(s, sql_grant_add, &st);
	if (r == 0)
		r = store_bind_text(s, st, 1, in->identity);
	if (r == 0)
		r = store_bind_text(s, st, 2, in->role);
	if (r == 0)
		r = store_bind_text(s, st, 3, in->reason);
	if (r == 0)
		r = store_bind_text(s, st, 4, nhi_grant_state_name(in->state));
	if (r == 0)
		r = store_bind_int(s, st, 5, in->ttl);
	if (r == 0)
		r = store_bind_int(s, st, 6, in->created);
	if (r == 0)
		r = store_bind_int(s, st, 7, in->expires);
	if (r == 0)
		r = store_step_done(s, st);
	if (r == 0 && sqlite3_changes(s->db) == 0)
		r = NHI_ERR_NOT_FOUND;
	if (r == 0 && ret_id != NULL)
		*ret_id = sqlite3_last_insert_rowid(s->db);
	store_release(st);
	return r;
}

/* One row of st (bound by the caller) into ret, or NHI_ERR_NOT_FOUND. */
static int grant_one(struct nhi_store *s, sqlite3_stmt *st, struct nhi_grant *ret)
{
	void *rows = NULL;
	size_t n = 0;
	int r;

	r = store_read_rows(s, st, sizeof(struct nhi_grant), grant_read, &rows, &n);
	if (r == 0 && n == 0)
		r = NHI_ERR_NOT_FOUND;
	if (r == 0) {
		*ret = ((struct nhi_grant *)rows)[0];
		memset(rows, 0, sizeof(struct nhi_grant));
	}
	nhi_grant_list_free(rows, n);
	return r;
}

int nhi_store_grant_get(struct nhi_store *s, int64_t id, struct nhi_grant *ret)
{
	sqlite3_stmt *st = NULL;
	int r;

	r = store_prepare(s, sql_grant_get, &st);
	if (r == 0)
		r = store_bind_int(s, st, 1, id);
	if (r == 0)
		r = grant_one(s, st, ret);
	store_release(st);
	return r;
}

int nhi_store_grant_decide(struct nhi_store *s, int64_t id, enum nhi_grant_state from,
                           enum nhi_grant_state to, const char *by, int64_t when, int64_t expires)
{
	sqlite3_stmt *st = NULL;
	int r;

	if (by == NULL)
		return NHI_ERR_INVALID_ARGUMENT;
	r = store_prepare(s, sql_grant_decide, &st);
	if (r == 0)
		r = store_bind_int(s, st, 1, id);
	if (r == 0)
		r = store_bind_text(s, st, 2, nhi_grant_state_name(from));
	if (r == 0)
		r = store_bind_text(s, st, 3, nhi_grant_state_name(to));
	if (r == 0)
		r = store_bind_text(s, st, 4, by);
	if (r == 0)
		r = store_bind_int(s, st, 5, when);
	if (r == 0)
		r = store_bind_int(s, st, 6, expires);
	if (r == 0)
		r = store_step_done(s, st);
	if (r == 0 && sqlite3_changes(s->db) == 0)
		r = NHI_ERR_NOT_FOUND;
	store_release(st);
	return r;
}

int nhi_store_grant_find_active(struct nhi_store *s, const char *identity, const char *role,
                                int64_t now, struct nhi_grant *ret)
{
	sqlite3_stmt *st = NULL;
	int r;

	if (identity == NULL)
		return NHI_ERR_INVALID_ARGUMENT;
	r = store_prepare(s, sql_grant_active, &st);
	if (r == 0)
		r = store_bind_text(s, st, 1, identity);
	if (r == 0)
		r = store_bind_text(s, st, 2, role);
	if (r == 0)
		r = store_bind_int(s, st, 3, now);
	if (r == 0)
		r = grant_one(s, st, ret);
	store_release(st);
	return r;
}

int nhi_store_grant_page(struct nhi_store *s, const char *identity, int64_t active_at,
                         int64_t before_id, size_t limit, struct nhi_grant **ret_list,
                         size_t *ret_n)
{
	sqlite3_stmt *st = NULL;
	void *rows = NULL;
	size_t n = 0;
	int r;

	if (limit == 0 || limit > INT64_MAX)
		return NHI_ERR_INVALID_ARGUMENT;
	r = store_prepare(s, identity != NULL ? sql_grant_page_identity : sql_grant_page, &st);
	if (r == 0 &&
	    ((identity != NULL && store_bind_text(s, st, 1, identity)) ||
	     store_bind_int(s, st, 2, before_id > 0 ? before_id : INT64_MAX) ||
	     store_bind_int(s, st, 3, active_at) || store_bind_int(s, st, 4, (int64_t)limit)))
		r = NHI_ERR_STORE;
	if (r == 0)
		r = store_read_rows(s, st, sizeof(struct nhi_grant), grant_read, &rows, &n);
	store_release(st);
	if (r < 0) {
		nhi_grant_list_free(rows, n);
		return r;
	}
	*ret_list = rows;
	*ret_n = n;
	return 0;
}

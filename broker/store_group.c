/* Groups and memberships in the store: see store_group.h. */
#include <config.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "store_group.h"
#include "store_internal.h"

static const char sql_group_add[] = "INSERT INTO groups (name, gid, created) VALUES (?1, ?2, ?3)";
static const char sql_group_get[] = "SELECT id, gid FROM groups WHERE name = ?1";
static const char sql_member_add[] =
        "INSERT INTO memberships (group_id, identity_id) VALUES (?1, ?2)";
static const char sql_member_remove[] =
        "DELETE FROM memberships WHERE group_id = ?1 AND identity_id = ?2";

int nhi_store_group_add(struct nhi_store *s, const char *name, int64_t gid, int64_t created)
{
	sqlite3_stmt *st = NULL;
	int r;

	if (name == NULL || gid < 0)
		return NHI_ERR_INVALID_ARGUMENT;
	if ((r = store_require_txn(s)) < 0)
		return r;
	r = store_prepare(s, sql_group_add, &st);
	if (r == 0)
		r = store_bind_text(s, st, 1, name) || store_bind_int(s, st, 2, gid) ||
		                    store_bind_int(s, st, 3, created)
		            ? NHI_ERR_STORE
		            : 0;
	if (r == 0)
		r = store_step_done(s, st);
	store_release(st);
	return r;
}

/* The row id and gid of group name. */
static int group_row(struct nhi_store *s, const char *name, int64_t *ret_id, int64_t *ret_gid)
{
	sqlite3_stmt *st = NULL;
	int r;

	if (name == NULL)
		return NHI_ERR_INVALID_ARGUMENT;
	r = store_prepare(s, sql_group_get, &st);
	if (r == 0)
		r = store_bind_text(s, st, 1, name);
	if (r == 0 && (r = store_step(s, st)) == 1) {
		*ret_id = sqlite3_column_int64(st, 0);
		*ret_gid = store_col_opt_int(st, 1, NHI_ID_NONE);
		r = 0;
	} else if (r == 0) {
		r = NHI_ERR_NOT_FOUND;
	}
	store_release(st);
	return r;
}

int nhi_store_group_get(struct nhi_store *s, const char *name, struct nhi_store_group *ret)
{
	struct nhi_store_group g = {0};
	int64_t id;
	int r;

	if ((r = group_row(s, name, &id, &g.gid)) < 0)
		return r;
	if ((g.name = strdup(name)) == NULL)
		return NHI_ERR_ALLOC;
	if ((r = nhi_store_group_members(s, id, &g)) < 0) {
		nhi_store_group_clear(&g);
		return r;
	}
	*ret = g;
	return 0;
}

void nhi_store_group_clear(struct nhi_store_group *g)
{
	if (g == NULL)
		return;
	free(g->name);
	nhi_strv_free(g->members, g->n_members);
	memset(g, 0, sizeof(*g));
}

/* The ids of group and identity for a membership change. */
static int membership_ids(struct nhi_store *s, const char *group, const char *identity,
                          int64_t *ret_group, int64_t *ret_identity)
{
	int64_t gid;
	int r;

	if ((r = store_require_txn(s)) < 0 || (r = group_row(s, group, ret_group, &gid)) < 0)
		return r;
	if (identity == NULL)
		return NHI_ERR_INVALID_ARGUMENT;
	return store_identity_id(s, identity, ret_identity);
}

/* Runs a membership statement binding (group id, identity id). With
 * must_change, a statement that touched no row is NHI_ERR_NOT_FOUND. */
static int membership_change(struct nhi_store *s, const char *sql, const char *group,
                             const char *identity, bool must_change)
{
	sqlite3_stmt *st = NULL;
	int64_t group_id, identity_id;
	int r;

	if ((r = membership_ids(s, group, identity, &group_id, &identity_id)) < 0)
		return r;
	r = store_prepare(s, sql, &st);
	if (r == 0)
		r = store_bind_int(s, st, 1, group_id) || store_bind_int(s, st, 2, identity_id)
		            ? NHI_ERR_STORE
		            : 0;
	if (r == 0)
		r = store_step_done(s, st);
	if (r == 0 && must_change && sqlite3_changes(s->db) == 0)
		r = NHI_ERR_NOT_FOUND;
	store_release(st);
	return r;
}

int nhi_store_group_member_add(struct nhi_store *s, const char *group, const char *identity)
{
	return membership_change(s, sql_member_add, group, identity, false);
}

int nhi_store_group_member_remove(struct nhi_store *s, const char *group, const char *identity)
{
	return membership_change(s, sql_member_remove, group, identity, true);
}

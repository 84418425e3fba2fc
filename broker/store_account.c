/* Unix account data in the store: see store_account.h. */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "store_account.h"
#include "store_internal.h"

static const char sql_set_ids[] = "UPDATE identities SET uid = ?2, gid = ?3 WHERE name = ?1";
static const char sql_release_retired[] =
        "UPDATE identities SET uid = NULL, gid = NULL"
        " WHERE status = 'retired' AND updated <= ?1 AND (uid IS NOT NULL OR gid IS NOT NULL)";
static const char sql_group_list[] = "SELECT id, name, gid FROM groups ORDER BY name";
/* Members by membership or by a role named like the group. */
static const char sql_group_members[] =
        "SELECT i.name FROM identities i JOIN memberships m ON m.identity_id = i.id"
        " WHERE m.group_id = ?1"
        " UNION"
        " SELECT i.name FROM identities i JOIN roles r ON r.identity_id = i.id"
        " WHERE r.role = ?2"
        " ORDER BY 1";

int nhi_store_account_set_ids(struct nhi_store *s, const char *name, int64_t uid, int64_t gid)
{
	sqlite3_stmt *st = NULL;
	int r;

	if (name == NULL || (uid < 0 && uid != NHI_ID_NONE) || (gid < 0 && gid != NHI_ID_NONE))
		return NHI_ERR_INVALID_ARGUMENT;
	r = store_prepare(s, sql_set_ids, &st);
	if (r == 0)
		r = store_bind_text(s, st, 1, name) ||
		    store_bind_opt_int(s, st, 2, uid, NHI_ID_NONE) ||
		    store_bind_opt_int(s, st, 3, gid, NHI_ID_NONE);
	if (r == 0)
		r = store_step_done(s, st);
	if (r == 0 && sqlite3_changes(s->db) == 0)
		r = NHI_ERR_NOT_FOUND;
	store_release(st);
	return r;
}

int nhi_store_account_release_retired(struct nhi_store *s, int64_t cutoff, size_t *ret_n)
{
	sqlite3_stmt *st = NULL;
	int r;

	r = store_prepare(s, sql_release_retired, &st);
	if (r == 0)
		r = store_bind_int(s, st, 1, cutoff);
	if (r == 0)
		r = store_step_done(s, st);
	if (r == 0 && ret_n != NULL)
		*ret_n = (size_t)sqlite3_changes(s->db);
	store_release(st);
	return r;
}

void nhi_store_group_list_free(struct nhi_store_group *list, size_t n)
{
	if (list == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		free(list[i].name);
		nhi_strv_free(list[i].members, list[i].n_members);
	}
	free(list);
}

static int read_name(sqlite3_stmt *st, void *ret_elem)
{
	return store_col_str(st, 0, ret_elem);
}

int nhi_store_group_members(struct nhi_store *s, int64_t group_id, struct nhi_store_group *g)
{
	sqlite3_stmt *st = NULL;
	void *rows = NULL;
	size_t n = 0;
	int r;

	r = store_prepare(s, sql_group_members, &st);
	if (r == 0)
		r = store_bind_int(s, st, 1, group_id) || store_bind_text(s, st, 2, g->name);
	if (r == 0)
		r = store_read_rows(s, st, sizeof(char *), read_name, &rows, &n);
	store_release(st);
	g->members = rows;
	g->n_members = n;
	return r;
}

struct group_row {
	int64_t id;
	struct nhi_store_group g;
};

static int group_read(sqlite3_stmt *st, void *ret_elem)
{
	struct group_row *row = ret_elem;

	row->id = sqlite3_column_int64(st, 0);
	row->g.gid = store_col_opt_int(st, 2, NHI_ID_NONE);
	return store_col_str(st, 1, &row->g.name);
}

int nhi_store_group_list_all(struct nhi_store *s, struct nhi_store_group **ret_list, size_t *ret_n)
{
	struct nhi_store_group *list = NULL;
	struct group_row *rows = NULL;
	sqlite3_stmt *st = NULL;
	void *p = NULL;
	size_t n = 0;
	int r;

	r = store_prepare(s, sql_group_list, &st);
	if (r == 0)
		r = store_read_rows(s, st, sizeof(*rows), group_read, &p, &n);
	store_release(st);
	rows = p;
	if (n > 0 && (list = calloc(n, sizeof(*list))) == NULL && r == 0)
		r = NHI_ERR_ALLOC;
	for (size_t i = 0; i < n; i++) {
		if (list != NULL) {
			list[i] = rows[i].g;
			if (r == 0)
				r = nhi_store_group_members(s, rows[i].id, &list[i]);
		} else {
			free(rows[i].g.name);
		}
	}
	free(rows);
	if (r < 0) {
		nhi_store_group_list_free(list, list != NULL ? n : 0);
		return r;
	}
	*ret_list = list;
	*ret_n = n;
	return 0;
}

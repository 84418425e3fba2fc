/* Roles: extra principals that an identity's certificates carry. */
#include <config.h>

#include <stdlib.h>

#include "err.h"
#include "store_internal.h"

static const char sql_role_add[] = "INSERT INTO roles (identity_id, role)"
                                   " SELECT id, ?2 FROM identities WHERE name = ?1";
static const char sql_role_remove[] =
        "DELETE FROM roles WHERE role = ?2"
        " AND identity_id = (SELECT id FROM identities WHERE name = ?1)";
static const char sql_role_list[] = "SELECT role FROM roles WHERE identity_id = ?1 ORDER BY role";

/* Runs add or remove; no row changed means the identity (or role) is unknown. */
static int role_change(struct nhi_store *s, const char *sql, const char *identity, const char *role)
{
	sqlite3_stmt *st = NULL;
	int r;

	if (!identity || !role || !*role)
		return NHI_ERR_INVALID_ARGUMENT;
	r = store_prepare(s, sql, &st);
	if (r == 0)
		r = store_bind_text(s, st, 1, identity);
	if (r == 0)
		r = store_bind_text(s, st, 2, role);
	if (r == 0)
		r = store_step_done(s, st);
	if (r == 0 && sqlite3_changes(s->db) == 0)
		r = NHI_ERR_NOT_FOUND;
	store_release(st);
	return r;
}

int nhi_store_role_add(struct nhi_store *s, const char *identity, const char *role)
{
	return role_change(s, sql_role_add, identity, role);
}

int nhi_store_role_remove(struct nhi_store *s, const char *identity, const char *role)
{
	return role_change(s, sql_role_remove, identity, role);
}

static int role_read(sqlite3_stmt *st, void *ret_elem)
{
	return store_col_str(st, 0, ret_elem);
}

int nhi_store_role_list(struct nhi_store *s, const char *identity, char ***ret_roles, size_t *ret_n)
{
	sqlite3_stmt *st = NULL;
	void *rows = NULL;
	size_t n = 0;
	int64_t id;
	int r;

	r = store_identity_id(s, identity, &id);
	if (r == 0)
		r = store_prepare(s, sql_role_list, &st);
	if (r == 0)
		r = store_bind_int(s, st, 1, id);
	if (r == 0)
		r = store_read_rows(s, st, sizeof(char *), role_read, &rows, &n);
	store_release(st);
	if (r < 0) {
		nhi_strv_free(rows, n);
		return r;
	}
	*ret_roles = rows;
	*ret_n = n;
	return 0;
}

/* Attestation selectors: what a calling process must be to get an
 * identity's certificate. */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "store_internal.h"

static const char sql_selector_add[] = "INSERT INTO selectors (identity_id, kind, value)"
                                       " SELECT id, ?2, ?3 FROM identities WHERE name = ?1";
static const char sql_selector_remove[] =
        "DELETE FROM selectors WHERE kind = ?2 AND value = ?3"
        " AND identity_id = (SELECT id FROM identities WHERE name = ?1)";
static const char sql_selector_list[] =
        "SELECT kind, value FROM selectors WHERE identity_id = ?1 ORDER BY id";
/* Driven by the selectors, which only automation and service identities
 * carry, so the humans of a large inventory are never read: CROSS JOIN
 * keeps sqlite from walking every identity by name to spare the sort. */
static const char sql_selector_candidates[] =
        "SELECT i.name, s.kind, s.value FROM selectors s"
        " CROSS JOIN identities i ON i.id = s.identity_id"
        " WHERE i.status = 'active' AND i.kind IN ('automation', 'service')"
        " ORDER BY i.name, s.id";

void nhi_selector_list_free(struct nhi_selector *list, size_t n)
{
	size_t i;

	if (!list)
		return;
	for (i = 0; i < n; i++)
		free(list[i].value);
	free(list);
}

static int selector_change(struct nhi_store *s, const char *sql, const char *identity,
                           enum nhi_selector_kind kind, const char *value)
{
	const char *kind_name = nhi_selector_kind_name(kind);
	sqlite3_stmt *st = NULL;
	int r;

	if (!identity || !kind_name || !value || !*value)
		return NHI_ERR_INVALID_ARGUMENT;
	r = store_prepare(s, sql, &st);
	if (r == 0)
		r = store_bind_text(s, st, 1, identity);
	if (r == 0)
		r = store_bind_text(s, st, 2, kind_name);
	if (r == 0)
		r = store_bind_text(s, st, 3, value);
	if (r == 0)
		r = store_step_done(s, st);
	if (r == 0 && sqlite3_changes(s->db) == 0)
		r = NHI_ERR_NOT_FOUND;
	store_release(st);
	return r;
}

int nhi_store_selector_add(struct nhi_store *s, const char *identity, enum nhi_selector_kind kind,
                           const char *value)
{
	return selector_change(s, sql_selector_add, identity, kind, value);
}

int nhi_store_selector_remove(struct nhi_store *s, const char *identity,
                              enum nhi_selector_kind kind, const char *value)
{
	return selector_change(s, sql_selector_remove, identity, kind, value);
}

static int selector_read(sqlite3_stmt *st, void *ret_elem)
{
	struct nhi_selector *ret = ret_elem;
	const char *kind = (const char *)sqlite3_column_text(st, 0);
	struct nhi_selector sel;
	int r;

	if (nhi_selector_kind_from_name(kind, &sel.kind) < 0)
		return NHI_ERR_STORE_CORRUPT;
	r = store_col_str(st, 1, &sel.value);
	if (r == 0 && !sel.value)
		r = NHI_ERR_STORE_CORRUPT;
	if (r == 0)
		*ret = sel;
	return r;
}

int nhi_store_selector_list(struct nhi_store *s, const char *identity,
                            struct nhi_selector **ret_list, size_t *ret_n)
{
	struct nhi_selector *list;
	void *rows = NULL;
	sqlite3_stmt *st = NULL;
	size_t n = 0;
	int64_t id;
	int r;

	r = store_identity_id(s, identity, &id);
	if (r == 0)
		r = store_prepare(s, sql_selector_list, &st);
	if (r == 0)
		r = store_bind_int(s, st, 1, id);
	if (r == 0)
		r = store_read_rows(s, st, sizeof(*list), selector_read, &rows, &n);
	list = rows;
	store_release(st);
	if (r < 0) {
		nhi_selector_list_free(list, n);
		return r;
	}
	*ret_list = list;
	*ret_n = n;
	return 0;
}

int nhi_store_selector_candidates(struct nhi_store *s, nhi_selector_candidate_fn *fn,
                                  void *userdata)
{
	struct nhi_selector *sels = NULL, *grown;
	size_t n = 0, cap = 0;
	char *name = NULL;
	sqlite3_stmt *st = NULL;
	int r;

	r = store_prepare(s, sql_selector_candidates, &st);
	while (r == 0 && (r = store_step(s, st)) == 1) {
		const char *row_name = (const char *)sqlite3_column_text(st, 0);

		if (row_name == NULL) {
			r = NHI_ERR_STORE_CORRUPT;
			break;
		}
		/* The rows come grouped by name: a new name ends the last one. */
		if (name != NULL && strcmp(name, row_name) != 0) {
			r = fn(name, sels, n, userdata);
			nhi_selector_list_free(sels, n);
			sels = NULL;
			n = cap = 0;
			free(name);
			name = NULL;
			if (r < 0)
				break;
		}
		if (name == NULL && (name = strdup(row_name)) == NULL) {
			r = NHI_ERR_ALLOC;
			break;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 4;
			if ((grown = realloc(sels, cap * sizeof(*sels))) == NULL) {
				r = NHI_ERR_ALLOC;
				break;
			}
			sels = grown;
		}
		/* selector_read reads columns 0 and 1; this row has them at 1 and 2. */
		if (nhi_selector_kind_from_name((const char *)sqlite3_column_text(st, 1),
		                                &sels[n].kind) < 0 ||
		    (r = store_col_str(st, 2, &sels[n].value)) < 0 || sels[n].value == NULL) {
			r = r < 0 ? r : NHI_ERR_STORE_CORRUPT;
			break;
		}
		n++;
		r = 0;
	}
	if (r == 0 && name != NULL)
		r = fn(name, sels, n, userdata);
	store_release(st);
	nhi_selector_list_free(sels, n);
	free(name);
	return r;
}

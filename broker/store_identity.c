/* Identities, their roles and their attestation selectors. */
#include <config.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "store_internal.h"

static const char *const kind_names[] = {
        [NHI_KIND_HUMAN] = "human",
        [NHI_KIND_AUTOMATION] = "automation",
        [NHI_KIND_SERVICE] = "service",
        [NHI_KIND_BREAKGLASS] = "breakglass",
};
static const char *const status_names[] = {
        [NHI_STATUS_ACTIVE] = "active",
        [NHI_STATUS_SUSPENDED] = "suspended",
        [NHI_STATUS_RETIRED] = "retired",
};
static const char *const selector_names[] = {
        [NHI_SELECTOR_UID] = "uid",
        [NHI_SELECTOR_GID] = "gid",
        [NHI_SELECTOR_EXE_PATH] = "exe_path",
        [NHI_SELECTOR_EXE_SHA256] = "exe_sha256",
        [NHI_SELECTOR_SYSTEMD_UNIT] = "systemd_unit",
};
#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

static const char *name_of(const char *const *names, size_t n, unsigned v)
{
	return v < n ? names[v] : NULL;
}

static int value_of(const char *const *names, size_t n, const char *name, unsigned *ret)
{
	unsigned i;

	for (i = 0; name && i < n; i++) {
		if (strcmp(names[i], name) == 0) {
			*ret = i;
			return 0;
		}
	}
	return NHI_ERR_INVALID_ARGUMENT;
}

const char *nhi_identity_kind_name(enum nhi_identity_kind kind)
{
	return name_of(kind_names, N_ELEMS(kind_names), kind);
}

int nhi_identity_kind_from_name(const char *name, enum nhi_identity_kind *ret_kind)
{
	unsigned v;
	int r = value_of(kind_names, N_ELEMS(kind_names), name, &v);

	if (r == 0)
		*ret_kind = (enum nhi_identity_kind)v;
	return r;
}

const char *nhi_identity_status_name(enum nhi_identity_status status)
{
	return name_of(status_names, N_ELEMS(status_names), status);
}

int nhi_identity_status_from_name(const char *name, enum nhi_identity_status *ret_status)
{
	unsigned v;
	int r = value_of(status_names, N_ELEMS(status_names), name, &v);

	if (r == 0)
		*ret_status = (enum nhi_identity_status)v;
	return r;
}

const char *nhi_selector_kind_name(enum nhi_selector_kind kind)
{
	return name_of(selector_names, N_ELEMS(selector_names), kind);
}

int nhi_selector_kind_from_name(const char *name, enum nhi_selector_kind *ret_kind)
{
	unsigned v;
	int r = value_of(selector_names, N_ELEMS(selector_names), name, &v);

	if (r == 0)
		*ret_kind = (enum nhi_selector_kind)v;
	return r;
}

void nhi_identity_init(struct nhi_identity *id)
{
	memset(id, 0, sizeof(*id));
	id->uid = NHI_ID_NONE;
	id->gid = NHI_ID_NONE;
	id->status = NHI_STATUS_ACTIVE;
}

void nhi_identity_clear(struct nhi_identity *id)
{
	if (!id)
		return;
	free(id->name);
	free(id->owner);
	free(id->shell);
	free(id->home);
	free(id->gecos);
	free(id->source_addresses);
	free(id->force_command);
	nhi_identity_init(id);
}

void nhi_identity_list_free(struct nhi_identity *list, size_t n)
{
	size_t i;

	if (!list)
		return;
	for (i = 0; i < n; i++)
		nhi_identity_clear(&list[i]);
	free(list);
}

#define IDENTITY_COLUMNS                                                                           \
	"id, name, kind, owner, status, uid, gid, shell, home, gecos, review_due, last_used,"      \
	" ttl_default, ttl_max, allow_pty, source_addresses, force_command, created, updated"

static const char sql_identity_add[] =
        "INSERT INTO identities (name, kind, owner, status, uid, gid, shell, home, gecos,"
        " review_due, last_used, ttl_default, ttl_max, allow_pty, source_addresses,"
        " force_command, created, updated)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?17)";
static const char sql_identity_update[] =
        "UPDATE identities SET kind = ?2, owner = ?3, status = ?4, uid = ?5, gid = ?6,"
        " shell = ?7, home = ?8, gecos = ?9, review_due = ?10, last_used = ?11,"
        " ttl_default = ?12, ttl_max = ?13, allow_pty = ?14, source_addresses = ?15,"
        " force_command = ?16, updated = ?17 WHERE name = ?1";
static const char sql_identity_get[] =
        "SELECT " IDENTITY_COLUMNS " FROM identities WHERE name = ?1";
static const char sql_identity_get_uid[] =
        "SELECT " IDENTITY_COLUMNS " FROM identities WHERE uid = ?1";
static const char sql_identity_list[] = "SELECT " IDENTITY_COLUMNS " FROM identities ORDER BY name";
/* A range of the unique index on name, so a page costs its own rows and
 * not the table's: no "?1 IS NULL OR" term, which would make sqlite walk
 * the index from its start. Every name sorts after "". */
static const char sql_identity_page[] =
        "SELECT " IDENTITY_COLUMNS " FROM identities WHERE name > ?1 ORDER BY name LIMIT ?2";
static const char sql_identity_count[] = "SELECT count(*) FROM identities";
static const char sql_identity_status[] =
        "UPDATE identities SET status = ?2, updated = ?3 WHERE name = ?1";
static const char sql_identity_touch[] = "UPDATE identities SET last_used = ?2 WHERE name = ?1";
static const char sql_identity_id[] = "SELECT id FROM identities WHERE name = ?1";

/* Binds ?1..?17 as sql_identity_add and sql_identity_update expect. */
static int identity_bind(struct nhi_store *s, sqlite3_stmt *st, const struct nhi_identity *in)
{
	const char *kind = nhi_identity_kind_name(in->kind);
	const char *status = nhi_identity_status_name(in->status);

	if (!in->name || !*in->name || !kind || !status)
		return NHI_ERR_INVALID_ARGUMENT;
	if ((in->uid < 0 && in->uid != NHI_ID_NONE) || (in->gid < 0 && in->gid != NHI_ID_NONE))
		return NHI_ERR_INVALID_ARGUMENT;
	if (store_bind_text(s, st, 1, in->name) || store_bind_text(s, st, 2, kind) ||
	    store_bind_text(s, st, 3, in->owner) || store_bind_text(s, st, 4, status) ||
	    store_bind_opt_int(s, st, 5, in->uid, NHI_ID_NONE) ||
	    store_bind_opt_int(s, st, 6, in->gid, NHI_ID_NONE) ||
	    store_bind_text(s, st, 7, in->shell) || store_bind_text(s, st, 8, in->home) ||
	    store_bind_text(s, st, 9, in->gecos) ||
	    store_bind_opt_int(s, st, 10, in->review_due, 0) ||
	    store_bind_opt_int(s, st, 11, in->last_used, 0) ||
	    store_bind_int(s, st, 12, in->ttl_default) || store_bind_int(s, st, 13, in->ttl_max) ||
	    store_bind_int(s, st, 14, in->allow_pty) ||
	    store_bind_text(s, st, 15, in->source_addresses) ||
	    store_bind_text(s, st, 16, in->force_command) ||
	    store_bind_int(s, st, 17, (int64_t)time(NULL)))
		return NHI_ERR_STORE;
	return 0;
}

/* Reads one row of IDENTITY_COLUMNS; on failure ret is left cleared. */
static int identity_read(sqlite3_stmt *st, void *ret_elem)
{
	struct nhi_identity *ret = ret_elem;
	struct nhi_identity id;
	const char *kind = (const char *)sqlite3_column_text(st, 2);
	const char *status = (const char *)sqlite3_column_text(st, 4);
	int r;

	nhi_identity_init(&id);
	if (nhi_identity_kind_from_name(kind, &id.kind) < 0 ||
	    nhi_identity_status_from_name(status, &id.status) < 0)
		return NHI_ERR_STORE_CORRUPT;
	id.id = sqlite3_column_int64(st, 0);
	id.uid = store_col_opt_int(st, 5, NHI_ID_NONE);
	id.gid = store_col_opt_int(st, 6, NHI_ID_NONE);
	id.review_due = store_col_opt_int(st, 10, 0);
	id.last_used = store_col_opt_int(st, 11, 0);
	id.ttl_default = (uint32_t)sqlite3_column_int64(st, 12);
	id.ttl_max = (uint32_t)sqlite3_column_int64(st, 13);
	id.allow_pty = sqlite3_column_int(st, 14) != 0;
	id.created = sqlite3_column_int64(st, 17);
	id.updated = sqlite3_column_int64(st, 18);
	r = store_col_str(st, 1, &id.name);
	if (r == 0)
		r = store_col_str(st, 3, &id.owner);
	if (r == 0)
		r = store_col_str(st, 7, &id.shell);
	if (r == 0)
		r = store_col_str(st, 8, &id.home);
	if (r == 0)
		r = store_col_str(st, 9, &id.gecos);
	if (r == 0)
		r = store_col_str(st, 15, &id.source_addresses);
	if (r == 0)
		r = store_col_str(st, 16, &id.force_command);
	if (r < 0) {
		nhi_identity_clear(&id);
		return r;
	}
	*ret = id;
	return 0;
}

int nhi_store_identity_add(struct nhi_store *s, const struct nhi_identity *in, int64_t *ret_id)
{
	sqlite3_stmt *st = NULL;
	int r;

	if (!in)
		return NHI_ERR_INVALID_ARGUMENT;
	r = store_prepare(s, sql_identity_add, &st);
	if (r == 0)
		r = identity_bind(s, st, in);
	if (r == 0)
		r = store_step_done(s, st);
	if (r == 0 && ret_id)
		*ret_id = sqlite3_last_insert_rowid(s->db);
	store_release(st);
	return r;
}

int nhi_store_identity_update(struct nhi_store *s, const struct nhi_identity *in)
{
	sqlite3_stmt *st = NULL;
	int r;

	if (!in)
		return NHI_ERR_INVALID_ARGUMENT;
	r = store_prepare(s, sql_identity_update, &st);
	if (r == 0)
		r = identity_bind(s, st, in);
	if (r == 0)
		r = store_step_done(s, st);
	if (r == 0 && sqlite3_changes(s->db) == 0)
		r = NHI_ERR_NOT_FOUND;
	store_release(st);
	return r;
}

static int identity_get_one(struct nhi_store *s, const char *sql, const char *name, int64_t uid,
                            struct nhi_identity *ret)
{
	sqlite3_stmt *st = NULL;
	int r;

	r = store_prepare(s, sql, &st);
	if (r == 0)
		r = name ? store_bind_text(s, st, 1, name) : store_bind_int(s, st, 1, uid);
	if (r == 0)
		r = store_step(s, st);
	if (r == 0)
		r = NHI_ERR_NOT_FOUND;
	else if (r == 1)
		r = identity_read(st, ret);
	store_release(st);
	return r;
}

int nhi_store_identity_get(struct nhi_store *s, const char *name, struct nhi_identity *ret)
{
	if (!name || !ret)
		return NHI_ERR_INVALID_ARGUMENT;
	return identity_get_one(s, sql_identity_get, name, 0, ret);
}

int nhi_store_identity_get_by_uid(struct nhi_store *s, int64_t uid, struct nhi_identity *ret)
{
	if (uid < 0 || !ret)
		return NHI_ERR_INVALID_ARGUMENT;
	return identity_get_one(s, sql_identity_get_uid, NULL, uid, ret);
}

/* Every row st (prepared and bound, or r < 0) yields, into a list. */
static int identity_rows(struct nhi_store *s, sqlite3_stmt *st, int r,
                         struct nhi_identity **ret_list, size_t *ret_n)
{
	struct nhi_identity *list;
	void *rows = NULL;
	size_t n = 0;

	if (r == 0)
		r = store_read_rows(s, st, sizeof(*list), identity_read, &rows, &n);
	list = rows;
	store_release(st);
	if (r < 0) {
		nhi_identity_list_free(list, n);
		return r;
	}
	*ret_list = list;
	*ret_n = n;
	return 0;
}

int nhi_store_identity_list(struct nhi_store *s, struct nhi_identity **ret_list, size_t *ret_n)
{
	sqlite3_stmt *st = NULL;
	int r;

	r = store_prepare(s, sql_identity_list, &st);
	return identity_rows(s, st, r, ret_list, ret_n);
}

int nhi_store_identity_page(struct nhi_store *s, const char *after, size_t limit,
                            struct nhi_identity **ret_list, size_t *ret_n)
{
	sqlite3_stmt *st = NULL;
	int r;

	if (limit == 0 || limit > INT64_MAX)
		return NHI_ERR_INVALID_ARGUMENT;
	r = store_prepare(s, sql_identity_page, &st);
	if (r == 0 && (store_bind_text(s, st, 1, after != NULL ? after : "") ||
	               store_bind_int(s, st, 2, (int64_t)limit)))
		r = NHI_ERR_STORE;
	return identity_rows(s, st, r, ret_list, ret_n);
}

int nhi_store_identity_count(struct nhi_store *s, size_t *ret_n)
{
	return store_count(s, sql_identity_count, ret_n);
}

/* Runs an UPDATE keyed by name (?1) with one more integer or text value. */
static int identity_set(struct nhi_store *s, const char *sql, const char *name, const char *text,
                        int64_t v)
{
	sqlite3_stmt *st = NULL;
	int r;

	if (!name)
		return NHI_ERR_INVALID_ARGUMENT;
	r = store_prepare(s, sql, &st);
	if (r == 0)
		r = store_bind_text(s, st, 1, name);
	if (r == 0)
		r = text ? store_bind_text(s, st, 2, text) : store_bind_int(s, st, 2, v);
	if (r == 0 && text)
		r = store_bind_int(s, st, 3, (int64_t)time(NULL));
	if (r == 0)
		r = store_step_done(s, st);
	if (r == 0 && sqlite3_changes(s->db) == 0)
		r = NHI_ERR_NOT_FOUND;
	store_release(st);
	return r;
}

int nhi_store_identity_set_status(struct nhi_store *s, const char *name,
                                  enum nhi_identity_status status)
{
	const char *text = nhi_identity_status_name(status);

	if (!text)
		return NHI_ERR_INVALID_ARGUMENT;
	return identity_set(s, sql_identity_status, name, text, 0);
}

int nhi_store_identity_touch(struct nhi_store *s, const char *name, int64_t when)
{
	return identity_set(s, sql_identity_touch, name, NULL, when);
}

int store_identity_id(struct nhi_store *s, const char *name, int64_t *ret_id)
{
	sqlite3_stmt *st = NULL;
	int r;

	if (!name)
		return NHI_ERR_INVALID_ARGUMENT;
	r = store_prepare(s, sql_identity_id, &st);
	if (r == 0)
		r = store_bind_text(s, st, 1, name);
	if (r == 0)
		r = store_step(s, st);
	if (r == 0)
		r = NHI_ERR_NOT_FOUND;
	else if (r == 1) {
		*ret_id = sqlite3_column_int64(st, 0);
		r = 0;
	}
	store_release(st);
	return r;
}

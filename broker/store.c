/* The sqlite3 store: opening, migrations, transactions, statement cache,
 * meta values. Domain tables live in store_identity.c, store_cert.c and
 * store_audit.c. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "log.h"
#include "store_internal.h"

int store_fail(struct nhi_store *s, int rc)
{
	if (s && s->db)
		snprintf(s->errmsg, sizeof(s->errmsg), "%s", sqlite3_errmsg(s->db));
	switch (rc & 0xff) {
	case SQLITE_NOMEM:
		return NHI_ERR_ALLOC;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return NHI_ERR_STORE_BUSY;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return NHI_ERR_STORE_CORRUPT;
	case SQLITE_CONSTRAINT:
		if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY)
			return NHI_ERR_EXISTS;
		if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
			return NHI_ERR_NOT_FOUND;
		return NHI_ERR_INVALID_ARGUMENT;
	case SQLITE_TOOBIG:
	case SQLITE_RANGE:
	case SQLITE_MISMATCH:
		return NHI_ERR_INVALID_ARGUMENT;
	}
	return NHI_ERR_STORE;
}

const char *nhi_store_last_error(const struct nhi_store *s)
{
	if (!s || !s->errmsg[0])
		return "no error";
	return s->errmsg;
}

const char *nhi_store_path(const struct nhi_store *s)
{
	return s->path;
}

int store_prepare(struct nhi_store *s, const char *sql, sqlite3_stmt **ret_stmt)
{
	sqlite3_stmt *st = NULL;
	size_t i;
	int rc;

	for (i = 0; i < s->n_cached; i++) {
		if (s->cache[i].sql == sql) {
			sqlite3_reset(s->cache[i].stmt);
			sqlite3_clear_bindings(s->cache[i].stmt);
			*ret_stmt = s->cache[i].stmt;
			return 0;
		}
	}
	rc = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
	if (rc != SQLITE_OK)
		return store_fail(s, rc);
	if (s->n_cached < STORE_STMT_CACHE_MAX) {
		s->cache[s->n_cached].sql = sql;
		s->cache[s->n_cached].stmt = st;
		s->n_cached++;
	} else {
		/* Every statement is meant to be cached; a full cache is a bug. */
		sqlite3_finalize(st);
		snprintf(s->errmsg, sizeof(s->errmsg), "statement cache full");
		return NHI_ERR_INTERNAL;
	}
	*ret_stmt = st;
	return 0;
}

void store_release(sqlite3_stmt *stmt)
{
	if (stmt)
		sqlite3_reset(stmt);
}

int store_require_txn(struct nhi_store *s)
{
	if (!s->in_txn) {
		snprintf(s->errmsg, sizeof(s->errmsg), "no transaction open");
		return NHI_ERR_STORE_TRANSACTION;
	}
	return 0;
}

int store_bind_text(struct nhi_store *s, sqlite3_stmt *st, int idx, const char *v)
{
	int rc = v ? sqlite3_bind_text(st, idx, v, -1, SQLITE_STATIC) : sqlite3_bind_null(st, idx);

	return rc == SQLITE_OK ? 0 : store_fail(s, rc);
}

int store_bind_int(struct nhi_store *s, sqlite3_stmt *st, int idx, int64_t v)
{
	int rc = sqlite3_bind_int64(st, idx, v);

	return rc == SQLITE_OK ? 0 : store_fail(s, rc);
}

int store_bind_opt_int(struct nhi_store *s, sqlite3_stmt *st, int idx, int64_t v, int64_t none)
{
	int rc = v == none ? sqlite3_bind_null(st, idx) : sqlite3_bind_int64(st, idx, v);

	return rc == SQLITE_OK ? 0 : store_fail(s, rc);
}

int store_bind_blob(struct nhi_store *s, sqlite3_stmt *st, int idx, const void *v, size_t len)
{
	/* A zero-length blob must still be a blob, not NULL. */
	int rc = sqlite3_bind_blob64(st, idx, len ? v : "", len, SQLITE_STATIC);

	return rc == SQLITE_OK ? 0 : store_fail(s, rc);
}

int store_step(struct nhi_store *s, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return store_fail(s, rc);
}

int store_step_done(struct nhi_store *s, sqlite3_stmt *st)
{
	int r = store_step(s, st);

	if (r == 1) {
		snprintf(s->errmsg, sizeof(s->errmsg), "statement returned a row");
		return NHI_ERR_INTERNAL;
	}
	return r;
}

int store_count(struct nhi_store *s, const char *sql, size_t *ret_n)
{
	sqlite3_stmt *st = NULL;
	int r;

	r = store_prepare(s, sql, &st);
	if (r == 0 && (r = store_step(s, st)) == 1) {
		*ret_n = (size_t)sqlite3_column_int64(st, 0);
		r = 0;
	} else if (r == 0) {
		r = NHI_ERR_STORE;
	}
	store_release(st);
	return r;
}

int store_read_rows(struct nhi_store *s, sqlite3_stmt *st, size_t elem_size,
		    store_row_reader *read_row, void **ret_rows, size_t *ret_n)
{
	size_t cap = 0;
	char *grown;
	int r;

	*ret_rows = NULL;
	*ret_n = 0;
	while ((r = store_step(s, st)) == 1) {
		if (*ret_n == cap) {
			cap = cap ? cap * 2 : 8;
			grown = reallocarray(*ret_rows, cap, elem_size);
			if (!grown)
				return NHI_ERR_ALLOC;
			*ret_rows = grown;
		}
		r = read_row(st, (char *)*ret_rows + *ret_n * elem_size);
		if (r < 0)
			return r;
		(*ret_n)++;
	}
	return r;
}

int store_col_str(sqlite3_stmt *st, int col, char **ret)
{
	const unsigned char *v = sqlite3_column_text(st, col);
	char *copy;

	if (!v) {
		if (sqlite3_column_type(st, col) != SQLITE_NULL)
			return NHI_ERR_ALLOC;
		*ret = NULL;
		return 0;
	}
	copy = strdup((const char *)v);
	if (!copy)
		return NHI_ERR_ALLOC;
	*ret = copy;
	return 0;
}

int64_t store_col_opt_int(sqlite3_stmt *st, int col, int64_t none)
{
	if (sqlite3_column_type(st, col) == SQLITE_NULL)
		return none;
	return sqlite3_column_int64(st, col);
}

/* Runs fixed SQL that carries no data from outside. */
static int store_exec(struct nhi_store *s, const char *sql)
{
	int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? 0 : store_fail(s, rc);
}

/* Creates the file 0600 before sqlite does (sqlite would honour the umask
 * only) and refuses anything but a regular file. The -wal and -shm files
 * sqlite makes later copy this mode. */
static int store_prepare_file(struct nhi_store *s, const char *path)
{
	struct stat st;
	int fd, r = 0;

	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
	if (fd < 0) {
		snprintf(s->errmsg, sizeof(s->errmsg), "%s: %s", path, strerror(errno));
		return errno == ELOOP ? NHI_ERR_FILE_UNSAFE : NHI_ERR_SYSTEM;
	}
	if (fstat(fd, &st) < 0) {
		r = NHI_ERR_SYSTEM;
	} else if (!S_ISREG(st.st_mode)) {
		snprintf(s->errmsg, sizeof(s->errmsg), "%s: not a regular file", path);
		r = NHI_ERR_FILE_UNSAFE;
	} else if ((st.st_mode & 077) && fchmod(fd, st.st_mode & 0700) < 0) {
		r = NHI_ERR_SYSTEM;
	}
	close(fd);
	return r;
}

static int store_user_version(struct nhi_store *s, int *ret_version)
{
	sqlite3_stmt *st = NULL;
	int r;

	r = sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL);
	if (r != SQLITE_OK)
		return store_fail(s, r);
	r = store_step(s, st);
	if (r == 1) {
		*ret_version = sqlite3_column_int(st, 0);
		r = 0;
	} else if (r == 0) {
		r = NHI_ERR_STORE;
	}
	sqlite3_finalize(st);
	return r;
}

int nhi_store_schema_version(struct nhi_store *s, int *ret_version)
{
	return store_user_version(s, ret_version);
}

int nhi_store_journal_mode(struct nhi_store *s, char **ret_mode)
{
	sqlite3_stmt *st = NULL;
	int r;

	r = sqlite3_prepare_v2(s->db, "PRAGMA journal_mode", -1, &st, NULL);
	if (r != SQLITE_OK)
		return store_fail(s, r);
	r = store_step(s, st);
	if (r == 1)
		r = store_col_str(st, 0, ret_mode);
	else if (r == 0)
		r = NHI_ERR_STORE;
	sqlite3_finalize(st);
	return r;
}

/* One migration step and its version bump in one transaction; re-checks the
 * version under the write lock in case another process migrated first. */
static int store_migrate_step(struct nhi_store *s, int from)
{
	char bump[64];
	int v = -1, r;

	r = store_exec(s, "BEGIN IMMEDIATE");
	if (r < 0)
		return r;
	r = store_user_version(s, &v);
	if (r < 0 || v != from)
		goto out;
	/* The version is our own integer: no outside data reaches this SQL. */
	snprintf(bump, sizeof(bump), "PRAGMA user_version = %d", from + 1);
	r = store_exec(s, store_migrations[from]);
	if (r == 0)
		r = store_exec(s, bump);
	if (r == 0)
		r = store_exec(s, "COMMIT");
out:
	if (r < 0 || v != from)
		store_exec(s, "ROLLBACK");
	return r;
}

static int store_migrate(struct nhi_store *s)
{
	int v, r;

	r = store_user_version(s, &v);
	if (r < 0)
		return r;
	if (v < 0 || v > NHI_STORE_SCHEMA_VERSION) {
		snprintf(s->errmsg, sizeof(s->errmsg),
		         "%s: schema version %d is newer than this nhi (%d); upgrade nhi", s->path,
		         v, NHI_STORE_SCHEMA_VERSION);
		return NHI_ERR_STORE_VERSION;
	}
	for (; v < NHI_STORE_SCHEMA_VERSION; v++) {
		r = store_migrate_step(s, v);
		if (r < 0)
			return r;
	}
	return 0;
}

static int store_configure(struct nhi_store *s)
{
	char *mode = NULL;
	int r;

	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_busy_timeout(s->db, STORE_BUSY_TIMEOUT_MS);
	/* No writable_schema tricks, no functions run from schema text. */
	sqlite3_db_config(s->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	sqlite3_db_config(s->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
	r = store_exec(s, "PRAGMA journal_mode = WAL");
	if (r == 0)
		r = nhi_store_journal_mode(s, &mode);
	if (r == 0 && strcmp(mode, "wal") != 0) {
		snprintf(s->errmsg, sizeof(s->errmsg), "%s: cannot enable WAL mode", s->path);
		r = NHI_ERR_STORE;
	}
	free(mode);
	if (r == 0)
		r = store_exec(s, "PRAGMA synchronous = FULL");
	if (r == 0)
		r = store_exec(s, "PRAGMA foreign_keys = ON");
	/* Reads by mmap: a full audit verify walks every page. */
	if (r == 0)
		r = store_exec(s, "PRAGMA mmap_size = 268435456");
	return r;
}

int nhi_store_open(const char *path, struct nhi_store **ret_store)
{
	struct nhi_store *s;
	int rc, r;

	if (!path || !*path || !ret_store)
		return NHI_ERR_INVALID_ARGUMENT;
	s = calloc(1, sizeof(*s));
	if (!s)
		return NHI_ERR_ALLOC;
	s->path = strdup(path);
	if (!s->path) {
		r = NHI_ERR_ALLOC;
		goto out;
	}
	r = store_prepare_file(s, path);
	if (r < 0)
		goto out;
	rc = sqlite3_open_v2(path, &s->db,
	                     SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW | SQLITE_OPEN_NOMUTEX,
	                     NULL);
	if (rc != SQLITE_OK) {
		r = store_fail(s, rc);
		goto out;
	}
	r = store_configure(s);
	if (r == 0)
		r = store_migrate(s);
out:
	if (r < 0) {
		if (s->errmsg[0])
			nhi_log_error("store: %s", s->errmsg);
		nhi_store_close(s);
		return r;
	}
	*ret_store = s;
	return 0;
}

int nhi_store_open_readonly(const char *path, struct nhi_store **ret_store)
{
	struct nhi_store *s;
	int rc, r, v;

	if (!path || !*path || !ret_store)
		return NHI_ERR_INVALID_ARGUMENT;
	s = calloc(1, sizeof(*s));
	if (!s)
		return NHI_ERR_ALLOC;
	s->path = strdup(path);
	if (!s->path) {
		r = NHI_ERR_ALLOC;
		goto out;
	}
	rc = sqlite3_open_v2(path, &s->db,
	                     SQLITE_OPEN_READONLY | SQLITE_OPEN_NOFOLLOW | SQLITE_OPEN_NOMUTEX,
	                     NULL);
	if (rc != SQLITE_OK) {
		r = store_fail(s, rc);
		goto out;
	}
	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_busy_timeout(s->db, STORE_BUSY_TIMEOUT_MS);
	sqlite3_db_config(s->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	sqlite3_db_config(s->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
	r = store_user_version(s, &v);
	if (r == 0 && (v < 1 || v > NHI_STORE_SCHEMA_VERSION)) {
		snprintf(s->errmsg, sizeof(s->errmsg),
		         "%s: schema version %d is not one this nhi reads", s->path, v);
		r = NHI_ERR_STORE_VERSION;
	}
out:
	if (r < 0) {
		if (s->errmsg[0])
			nhi_log_error("store: %s", s->errmsg);
		nhi_store_close(s);
		return r;
	}
	*ret_store = s;
	return 0;
}

void nhi_store_close(struct nhi_store *s)
{
	size_t i;

	if (!s)
		return;
	if (s->db && s->in_txn)
		nhi_store_rollback(s);
	for (i = 0; i < s->n_cached; i++)
		sqlite3_finalize(s->cache[i].stmt);
	sqlite3_close(s->db);
	free(s->path);
	free(s);
}

static void store_txn_end(struct nhi_store *s, bool committed)
{
	s->in_txn = false;
	if (s->hook)
		s->hook(s->hook_arg, committed);
}

int nhi_store_begin(struct nhi_store *s)
{
	int r;

	if (s->in_txn) {
		snprintf(s->errmsg, sizeof(s->errmsg), "transaction already open");
		return NHI_ERR_STORE_TRANSACTION;
	}
	/* IMMEDIATE: take the write lock now rather than fail at the first write. */
	r = store_exec(s, "BEGIN IMMEDIATE");
	if (r == 0)
		s->in_txn = true;
	return r;
}

int nhi_store_commit(struct nhi_store *s)
{
	int r;

	r = store_require_txn(s);
	if (r < 0)
		return r;
	r = store_exec(s, "COMMIT");
	if (r < 0) {
		/* Leave no half state behind: the caller sees one outcome. */
		if (!sqlite3_get_autocommit(s->db))
			sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
		store_txn_end(s, false);
		return r;
	}
	store_txn_end(s, true);
	return 0;
}

int nhi_store_rollback(struct nhi_store *s)
{
	int r = 0;

	if (!s->in_txn)
		return 0;
	/* sqlite may already have rolled back on its own (e.g. disk full). */
	if (!sqlite3_get_autocommit(s->db))
		r = store_exec(s, "ROLLBACK");
	store_txn_end(s, false);
	return r;
}

bool nhi_store_in_transaction(const struct nhi_store *s)
{
	return s->in_txn;
}

/* The per-request savepoint statements are prepared once: the server runs
 * them around every request. */
static const char sql_savepoint[] = "SAVEPOINT request";
static const char sql_release[] = "RELEASE request";

static int store_exec_cached(struct nhi_store *s, const char *sql)
{
	sqlite3_stmt *st = NULL;
	int r = store_prepare(s, sql, &st);

	if (r == 0)
		r = store_step_done(s, st);
	store_release(st);
	return r;
}

int nhi_store_savepoint(struct nhi_store *s)
{
	int r = store_require_txn(s);

	return r < 0 ? r : store_exec_cached(s, sql_savepoint);
}

int nhi_store_savepoint_release(struct nhi_store *s)
{
	int r = store_require_txn(s);

	return r < 0 ? r : store_exec_cached(s, sql_release);
}

int nhi_store_savepoint_rollback(struct nhi_store *s)
{
	int r = store_require_txn(s);

	if (r == 0)
		r = store_exec(s, "ROLLBACK TO request");
	if (r == 0)
		r = store_exec(s, "RELEASE request");
	return r;
}

void nhi_store_set_txn_hook(struct nhi_store *s, nhi_store_txn_hook *fn, void *arg)
{
	s->hook = fn;
	s->hook_arg = arg;
}

static const char sql_meta_get[] = "SELECT value FROM meta WHERE key = ?1";
static const char sql_meta_set[] = "INSERT INTO meta (key, value) VALUES (?1, ?2)"
                                   " ON CONFLICT (key) DO UPDATE SET value = excluded.value";

int nhi_store_meta_get(struct nhi_store *s, const char *key, char **ret_value)
{
	sqlite3_stmt *st = NULL;
	int r;

	if (!key || !ret_value)
		return NHI_ERR_INVALID_ARGUMENT;
	r = store_prepare(s, sql_meta_get, &st);
	if (r == 0)
		r = store_bind_text(s, st, 1, key);
	if (r == 0)
		r = store_step(s, st);
	if (r == 0)
		r = NHI_ERR_NOT_FOUND;
	else if (r == 1)
		r = store_col_str(st, 0, ret_value);
	store_release(st);
	return r;
}

int nhi_store_meta_set(struct nhi_store *s, const char *key, const char *value)
{
	sqlite3_stmt *st = NULL;
	int r;

	if (!key || !value)
		return NHI_ERR_INVALID_ARGUMENT;
	r = store_prepare(s, sql_meta_set, &st);
	if (r == 0)
		r = store_bind_text(s, st, 1, key);
	if (r == 0)
		r = store_bind_text(s, st, 2, value);
	if (r == 0)
		r = store_step_done(s, st);
	store_release(st);
	return r;
}

void nhi_strv_free(char **v, size_t n)
{
	size_t i;

	if (!v)
		return;
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

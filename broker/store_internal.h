/* Shared by the sqlite3 backend's files (broker/store*.c) and nothing else. */
#ifndef NHI_STORE_INTERNAL_H
#define NHI_STORE_INTERNAL_H

#include <sqlite3.h>

#include "store.h"

#define STORE_STMT_CACHE_MAX  64
#define STORE_BUSY_TIMEOUT_MS 5000

struct store_stmt {
	const char *sql; /* cache key: the address of a static SQL string */
	sqlite3_stmt *stmt;
};

struct nhi_store {
	sqlite3 *db;
	char *path;
	bool in_txn;
	nhi_store_txn_hook *hook;
	void *hook_arg;
	struct store_stmt cache[STORE_STMT_CACHE_MAX];
	size_t n_cached;
	char errmsg[256];
};

/* Forward migrations: store_migrations[i] takes schema version i to i + 1. */
extern const char *const store_migrations[];
extern const size_t store_n_migrations;

/* Records the backend's message for rc and maps rc to an NHI_ERR_* code. */
int store_fail(struct nhi_store *s, int rc);
/* A cached prepared statement for a static SQL string, reset and unbound.
 * Release it with store_release when done, so no read stays open. */
int store_prepare(struct nhi_store *s, const char *sql, sqlite3_stmt **ret_stmt);
void store_release(sqlite3_stmt *stmt);
/* NHI_ERR_STORE_TRANSACTION unless a transaction is open. */
int store_require_txn(struct nhi_store *s);

/* Binding: text NULL binds SQL NULL; strings must outlive the step. */
int store_bind_text(struct nhi_store *s, sqlite3_stmt *st, int idx, const char *v);
int store_bind_int(struct nhi_store *s, sqlite3_stmt *st, int idx, int64_t v);
/* Binds NULL when v == none. */
int store_bind_opt_int(struct nhi_store *s, sqlite3_stmt *st, int idx, int64_t v, int64_t none);
int store_bind_blob(struct nhi_store *s, sqlite3_stmt *st, int idx, const void *v, size_t len);

/* 1 for a row, 0 when done, else an error. */
int store_step(struct nhi_store *s, sqlite3_stmt *st);
/* Steps a statement that returns no rows. */
int store_step_done(struct nhi_store *s, sqlite3_stmt *st);
/* Steps st to its end, reading each row with read_row into the next
 * element (elem_size bytes) of an array grown as needed. Also on failure
 * *ret_rows and *ret_n describe the rows read so far: the caller frees them
 * with its list's free function either way. */
typedef int store_row_reader(sqlite3_stmt *st, void *ret_elem);
int store_read_rows(struct nhi_store *s, sqlite3_stmt *st, size_t elem_size,
		    store_row_reader *read_row, void **ret_rows, size_t *ret_n);
/* Runs a query whose one row holds one count, such as SELECT count(*). */
int store_count(struct nhi_store *s, const char *sql, size_t *ret_n);
/* A heap copy of a text column; NULL for SQL NULL. */
int store_col_str(sqlite3_stmt *st, int col, char **ret);
/* An integer column, or none for SQL NULL. */
int64_t store_col_opt_int(sqlite3_stmt *st, int col, int64_t none);
/* The id of a named identity, or NHI_ERR_NOT_FOUND. */
int store_identity_id(struct nhi_store *s, const char *name, int64_t *ret_id);

#endif

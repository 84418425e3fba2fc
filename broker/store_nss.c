/* The NSS cache writer's read of the identities: see store_nss.h. */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "store_internal.h"
#include "store_nss.h"

/* The same order as nhi_store_identity_list, so that the cache is too. */
static const char sql_nss_accounts[] = "SELECT name, kind, status, uid, gid, gecos, home, shell,"
                                       " updated FROM identities ORDER BY name";

#define BLOCK_SIZE ((size_t)64 * 1024)

/* Strings are appended to the newest block and never move, so pointers
 * into them stay valid while more are added. */
struct nhi_store_nss_blocks {
	struct nhi_store_nss_blocks *next;
	size_t used, cap;
	char data[];
};

static void blocks_free(struct nhi_store_nss_blocks *b)
{
	while (b != NULL) {
		struct nhi_store_nss_blocks *next = b->next;

		free(b);
		b = next;
	}
}

/* A copy of column col in *blocks; NULL for SQL NULL. */
static int col_copy(sqlite3_stmt *st, int col, struct nhi_store_nss_blocks **blocks,
                    const char **ret)
{
	const unsigned char *text = sqlite3_column_text(st, col);
	struct nhi_store_nss_blocks *b = *blocks;
	size_t len;

	if (text == NULL) {
		*ret = NULL;
		return sqlite3_column_type(st, col) == SQLITE_NULL ? 0 : NHI_ERR_ALLOC;
	}
	len = (size_t)sqlite3_column_bytes(st, col) + 1;
	if (b == NULL || b->cap - b->used < len) {
		size_t cap = len > BLOCK_SIZE ? len : BLOCK_SIZE;

		if ((b = malloc(sizeof(*b) + cap)) == NULL)
			return NHI_ERR_ALLOC;
		b->next = *blocks;
		b->used = 0;
		b->cap = cap;
		*blocks = b;
	}
	memcpy(b->data + b->used, text, len);
	*ret = b->data + b->used;
	b->used += len;
	return 0;
}

static int account_read(sqlite3_stmt *st, struct nhi_store_nss_blocks **blocks,
                        struct nhi_store_nss_account *ret)
{
	const char *kind = (const char *)sqlite3_column_text(st, 1);
	const char *status = (const char *)sqlite3_column_text(st, 2);

	if (nhi_identity_kind_from_name(kind, &ret->kind) < 0 ||
	    nhi_identity_status_from_name(status, &ret->status) < 0)
		return NHI_ERR_STORE_CORRUPT;
	ret->uid = store_col_opt_int(st, 3, NHI_ID_NONE);
	ret->gid = store_col_opt_int(st, 4, NHI_ID_NONE);
	ret->updated = sqlite3_column_int64(st, 8);
	if (col_copy(st, 0, blocks, &ret->name) < 0 || col_copy(st, 5, blocks, &ret->gecos) < 0 ||
	    col_copy(st, 6, blocks, &ret->home) < 0 || col_copy(st, 7, blocks, &ret->shell) < 0)
		return NHI_ERR_ALLOC;
	return 0;
}

int nhi_store_nss_accounts(struct nhi_store *s, struct nhi_store_nss_accounts *ret)
{
	struct nhi_store_nss_accounts l = {0};
	sqlite3_stmt *st = NULL;
	size_t cap = 0;
	int r;

	if (s == NULL || ret == NULL)
		return NHI_ERR_INVALID_ARGUMENT;
	if ((r = store_prepare(s, sql_nss_accounts, &st)) < 0)
		return r;
	while ((r = store_step(s, st)) == 1) {
		if (l.n == cap) {
			size_t c = cap ? cap * 2 : 1024;
			struct nhi_store_nss_account *v = reallocarray(l.v, c, sizeof(*v));

			if (v == NULL) {
				r = NHI_ERR_ALLOC;
				break;
			}
			l.v = v;
			cap = c;
		}
		if ((r = account_read(st, &l.blocks, &l.v[l.n])) < 0)
			break;
		l.n++;
	}
	store_release(st);
	if (r < 0) {
		nhi_store_nss_accounts_clear(&l);
		return r;
	}
	*ret = l;
	return 0;
}

void nhi_store_nss_accounts_clear(struct nhi_store_nss_accounts *l)
{
	if (l == NULL)
		return;
	free(l->v);
	blocks_free(l->blocks);
	memset(l, 0, sizeof(*l));
}

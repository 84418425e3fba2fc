/* The NSS cache writer's read of identities and groups: see store_nss.h. */
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

static const char sql_nss_groups[] = "SELECT id, name, gid FROM groups ORDER BY name";
/* All members of all groups at once; duplicates (a membership and a role
 * both) and the order are settled after reading. */
static const char sql_nss_members[] =
        "SELECT m.group_id, i.name FROM memberships m JOIN identities i ON i.id = m.identity_id"
        " UNION ALL"
        " SELECT g.id, i.name FROM groups g JOIN roles r ON r.role = g.name"
        " JOIN identities i ON i.id = r.identity_id";

struct group_key {
	int64_t id;
	size_t pos; /* in the name-ordered list */
};

struct member_row {
	size_t pos;      /* the group's, in the name-ordered list */
	uint64_t prefix; /* nhi_store_nss_name_prefix(name) */
	const char *name;
};

uint64_t nhi_store_nss_name_prefix(const char *name)
{
	uint64_t v = 0;

	for (size_t i = 0; i < 8 && name[i] != '\0'; i++)
		v |= (uint64_t)(unsigned char)name[i] << (56 - 8 * i);
	return v;
}

static int cmp_group_key(const void *a, const void *b)
{
	int64_t x = ((const struct group_key *)a)->id, y = ((const struct group_key *)b)->id;

	return (x > y) - (x < y);
}

static int cmp_member_row(const void *a, const void *b)
{
	const struct member_row *x = a, *y = b;

	if (x->pos != y->pos)
		return (x->pos > y->pos) - (x->pos < y->pos);
	if (x->prefix != y->prefix)
		return (x->prefix > y->prefix) - (x->prefix < y->prefix);
	return strcmp(x->name, y->name);
}

/* Appends one element to *v (*n used of *cap), growing it as needed. */
static void *grow(void *v, size_t n, size_t *cap, size_t size)
{
	size_t c;

	if (n < *cap)
		return v;
	c = *cap ? *cap * 2 : 64;
	if ((v = reallocarray(v, c, size)) != NULL)
		*cap = c;
	return v;
}

static int groups_read(struct nhi_store *s, struct nhi_store_nss_groups *l,
                       struct group_key **ret_keys)
{
	struct group_key *keys = NULL;
	sqlite3_stmt *st = NULL;
	size_t cap = 0, kcap = 0;
	int r;

	if ((r = store_prepare(s, sql_nss_groups, &st)) < 0)
		return r;
	while ((r = store_step(s, st)) == 1) {
		struct nhi_store_group *g;
		const char *name;
		void *p;

		if ((p = grow(l->v, l->n, &cap, sizeof(*l->v))) == NULL) {
			r = NHI_ERR_ALLOC;
			break;
		}
		l->v = p;
		if ((p = grow(keys, l->n, &kcap, sizeof(*keys))) == NULL) {
			r = NHI_ERR_ALLOC;
			break;
		}
		keys = p;
		if ((r = col_copy(st, 1, &l->blocks, &name)) < 0)
			break;
		if (name == NULL) {
			r = NHI_ERR_STORE_CORRUPT;
			break;
		}
		g = &l->v[l->n];
		memset(g, 0, sizeof(*g));
		g->name = (char *)name;
		g->gid = store_col_opt_int(st, 2, NHI_ID_NONE);
		keys[l->n].id = sqlite3_column_int64(st, 0);
		keys[l->n].pos = l->n;
		l->n++;
	}
	store_release(st);
	if (r < 0) {
		free(keys);
		return r;
	}
	if (l->n > 1)
		qsort(keys, l->n, sizeof(*keys), cmp_group_key);
	*ret_keys = keys;
	return 0;
}

static int members_read(struct nhi_store *s, struct nhi_store_nss_groups *l,
                        const struct group_key *keys, struct member_row **ret_rows, size_t *ret_n)
{
	struct member_row *rows = NULL;
	sqlite3_stmt *st = NULL;
	size_t n = 0, cap = 0;
	int r;

	if ((r = store_prepare(s, sql_nss_members, &st)) < 0)
		return r;
	while ((r = store_step(s, st)) == 1) {
		struct group_key key = {.id = sqlite3_column_int64(st, 0)};
		const struct group_key *k =
		        l->n > 0 ? bsearch(&key, keys, l->n, sizeof(*keys), cmp_group_key) : NULL;
		void *p;

		if (k == NULL)
			continue; /* a group added between the two reads */
		if ((p = grow(rows, n, &cap, sizeof(*rows))) == NULL) {
			r = NHI_ERR_ALLOC;
			break;
		}
		rows = p;
		rows[n].pos = k->pos;
		if ((r = col_copy(st, 1, &l->blocks, &rows[n].name)) < 0)
			break;
		if (rows[n].name == NULL) {
			r = NHI_ERR_STORE_CORRUPT;
			break;
		}
		rows[n].prefix = nhi_store_nss_name_prefix(rows[n].name);
		n++;
	}
	store_release(st);
	if (r < 0) {
		free(rows);
		return r;
	}
	*ret_rows = rows;
	*ret_n = n;
	return 0;
}

int nhi_store_nss_groups(struct nhi_store *s, struct nhi_store_nss_groups *ret)
{
	struct nhi_store_nss_groups l = {0};
	struct group_key *keys = NULL;
	struct member_row *rows = NULL;
	size_t n_rows = 0, k = 0;
	int r;

	if (s == NULL || ret == NULL)
		return NHI_ERR_INVALID_ARGUMENT;
	if ((r = groups_read(s, &l, &keys)) < 0 ||
	    (r = members_read(s, &l, keys, &rows, &n_rows)) < 0)
		goto out;
	if (n_rows > 1)
		qsort(rows, n_rows, sizeof(*rows), cmp_member_row);
	if ((l.members = calloc(n_rows + 1, sizeof(*l.members))) == NULL) {
		r = NHI_ERR_ALLOC;
		goto out;
	}
	for (size_t i = 0; i < n_rows; i++) {
		struct nhi_store_group *g = &l.v[rows[i].pos];

		if (i > 0 && cmp_member_row(&rows[i - 1], &rows[i]) == 0)
			continue;
		if (g->n_members == 0)
			g->members = &l.members[k];
		l.members[k++] = (char *)rows[i].name;
		g->n_members++;
	}
	*ret = l;
	memset(&l, 0, sizeof(l));
out:
	free(keys);
	free(rows);
	nhi_store_nss_groups_clear(&l);
	return r;
}

void nhi_store_nss_groups_clear(struct nhi_store_nss_groups *l)
{
	if (l == NULL)
		return;
	free(l->v);
	free(l->members);
	blocks_free(l->blocks);
	memset(l, 0, sizeof(*l));
}

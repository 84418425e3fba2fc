/* The store as the NSS cache writer (nss_export.c) reads it: the
 * identities' unix account columns and every group's members, each in one
 * pass, only the columns it needs, every string in a few large blocks
 * instead of one allocation each, since a rewrite reads all of them and
 * runs on the broker's event loop. */
#ifndef NHI_STORE_NSS_H
#define NHI_STORE_NSS_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"
#include "store_account.h"

struct nhi_store_nss_account {
	const char *name;
	const char *gecos, *home, *shell; /* NULL when unset */
	enum nhi_identity_kind kind;
	enum nhi_identity_status status;
	int64_t uid, gid; /* NHI_ID_NONE: not set */
	int64_t updated;
};

struct nhi_store_nss_blocks;

struct nhi_store_nss_accounts {
	struct nhi_store_nss_account *v; /* ordered by name */
	size_t n;
	struct nhi_store_nss_blocks *blocks; /* the strings v points into */
};

/* Every identity, ordered by name. On failure *ret is left empty. */
int nhi_store_nss_accounts(struct nhi_store *s, struct nhi_store_nss_accounts *ret);
void nhi_store_nss_accounts_clear(struct nhi_store_nss_accounts *l);

struct nhi_store_nss_groups {
	struct nhi_store_group *v; /* ordered by name; members sorted, unique */
	size_t n;
	char **members;                      /* every group's members, one after another */
	struct nhi_store_nss_blocks *blocks; /* the strings v and members point into */
};

/* Every group with its members (the identities in memberships plus those
 * holding a role of the group's name), as nhi_store_group_list_all gives
 * them, but from two queries in all instead of one per group: without an
 * index by role name, each of those scanned every role. On failure *ret is
 * left empty. Free with nhi_store_nss_groups_clear, not the list's own. */
int nhi_store_nss_groups(struct nhi_store *s, struct nhi_store_nss_groups *ret);
void nhi_store_nss_groups_clear(struct nhi_store_nss_groups *l);

/* The first 8 bytes of name (zero past its end) as a number that orders
 * as strcmp orders the names: a sort or search of 100 000 names compares
 * these first and reads the strings only on a tie. */
uint64_t nhi_store_nss_name_prefix(const char *name);

#endif

/* The store's side of unix accounts: the uid/gid columns of identities,
 * groups and their members, for the allocator (accounts.c) and the NSS
 * cache writer (nss_export.c). */
#ifndef NHI_STORE_ACCOUNT_H
#define NHI_STORE_ACCOUNT_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

/* Sets the uid and gid of identity name without touching its updated time,
 * which dates a retirement. */
int nhi_store_account_set_ids(struct nhi_store *s, const char *name, int64_t uid, int64_t gid);

/* Frees the uid and gid of every identity retired at or before cutoff, so
 * that they can be handed out again. *ret_n (may be NULL) counts them. */
int nhi_store_account_release_retired(struct nhi_store *s, int64_t cutoff, size_t *ret_n);

struct nhi_store_group {
	char *name;
	int64_t gid;    /* NHI_ID_NONE: not a unix group */
	char **members; /* identity names, sorted, unique */
	size_t n_members;
};
void nhi_store_group_list_free(struct nhi_store_group *list, size_t n);

/* Sets g->members and g->n_members for the group with row id group_id
 * (g->name must be set: roles of that name count as membership). */
int nhi_store_group_members(struct nhi_store *s, int64_t group_id, struct nhi_store_group *g);

/* Every group ordered by name, with its members: the identities in
 * memberships plus those holding a role of the group's name. */
int nhi_store_group_list_all(struct nhi_store *s, struct nhi_store_group **ret_list, size_t *ret_n);

#endif

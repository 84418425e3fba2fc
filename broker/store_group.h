/* Groups of the store, as `nhictl group` manages them: a name, a gid and
 * members by membership. (A role named like a group also makes its
 * holders members: see store_account.h; those are not memberships.) */
#ifndef NHI_STORE_GROUP_H
#define NHI_STORE_GROUP_H

#include <stdint.h>

#include "store.h"
#include "store_account.h"

/* Adds group name with gid (>= 0) at created. A taken name or gid is
 * NHI_ERR_EXISTS. Inside a transaction. */
int nhi_store_group_add(struct nhi_store *s, const char *name, int64_t gid, int64_t created);

/* Group name with its members (memberships and roles), into *ret, which
 * the caller clears with nhi_store_group_clear. NHI_ERR_NOT_FOUND if none. */
int nhi_store_group_get(struct nhi_store *s, const char *name, struct nhi_store_group *ret);
void nhi_store_group_clear(struct nhi_store_group *g);

/* Makes identity a member of group. NHI_ERR_NOT_FOUND when either does not
 * exist, NHI_ERR_EXISTS when it already is a member. Inside a transaction. */
int nhi_store_group_member_add(struct nhi_store *s, const char *group, const char *identity);
/* Ends the membership. NHI_ERR_NOT_FOUND when group or identity does not
 * exist or identity is not a member by membership. Inside a transaction. */
int nhi_store_group_member_remove(struct nhi_store *s, const char *group, const char *identity);

#endif

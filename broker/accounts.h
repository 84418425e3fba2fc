/* Unix accounts for identities: which identities get one, and the uid and
 * primary gid each gets from [nss] uid_min..uid_max.
 *
 * Humans, automation and service identities get an account; break-glass
 * identities do not (break-glass accounts are local /etc/passwd accounts
 * that must work without anything of nhi). An allocated id never equals an
 * id of /etc/passwd or /etc/group, read directly with fgetpwent/fgetgrent:
 * looking them up through NSS could recurse into nss_nhi. A retired
 * identity keeps its ids (and resolves) for uid_quarantine seconds after
 * retirement, so files it owned are not handed to a newcomer; then its ids
 * are released. The primary gid is the uid when that gid is free (a
 * private group of the identity's name), else the lowest free gid. */
#ifndef NHI_ACCOUNTS_H
#define NHI_ACCOUNTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

#define NHI_PASSWD_PATH "/etc/passwd"
#define NHI_GROUP_PATH  "/etc/group"

/* A set of ids; add, then sort once before lookups. */
struct nhi_id_set {
	uint32_t *ids;
	size_t n, cap;
};
int nhi_id_set_add(struct nhi_id_set *set, uint32_t id);
void nhi_id_set_sort(struct nhi_id_set *set);
bool nhi_id_set_has(const struct nhi_id_set *set, uint32_t id);
void nhi_id_set_clear(struct nhi_id_set *set);

/* The accounts of the local passwd and group files. */
struct nhi_local_accounts {
	struct nhi_id_set uids, gids;
	char **users, **groups; /* names, sorted */
	size_t n_users, n_groups;
};
/* Reads both files (no symlink followed). A missing or unreadable file is
 * NHI_ERR_SYSTEM with errno set: allocating blind could collide. */
int nhi_local_accounts_read(const char *passwd_path, const char *group_path,
                            struct nhi_local_accounts *ret);
bool nhi_local_has_user(const struct nhi_local_accounts *l, const char *name);
bool nhi_local_has_group(const struct nhi_local_accounts *l, const char *name);
void nhi_local_accounts_clear(struct nhi_local_accounts *l);

struct nhi_account_params {
	const char *passwd_path, *group_path;
	uint32_t uid_min, uid_max;
	uint32_t quarantine; /* seconds */
	int64_t now;
};

/* True for the kinds that get a unix account. */
bool nhi_account_kind_is_unix(enum nhi_identity_kind kind);
/* True when id has a uid and appears in NSS now: active and suspended
 * identities always, retired ones until their quarantine ends. */
bool nhi_account_resolves(const struct nhi_identity *id, uint32_t quarantine, int64_t now);

/* Gives id (not yet in the store) a uid and gid when its kind needs them
 * and it has none; ids already set are kept. Inside a transaction. */
int nhi_accounts_assign(struct nhi_store *s, const struct nhi_account_params *p,
                        struct nhi_identity *id);
/* Releases the ids of identities retired longer than the quarantine, then
 * gives every identity that needs one a uid and gid, in the store. Inside
 * a transaction. *ret_n (may be NULL) counts the identities given ids. */
int nhi_accounts_assign_all(struct nhi_store *s, const struct nhi_account_params *p, size_t *ret_n);

/* The gid of a new store group: want when it is not NHI_ID_NONE and no
 * local group, identity or store group has it (else NHI_ERR_EXISTS), or
 * the highest free gid of the range. Inside a transaction. */
int nhi_accounts_group_gid(struct nhi_store *s, const struct nhi_account_params *p,
                           int64_t want, uint32_t *ret_gid);

#endif

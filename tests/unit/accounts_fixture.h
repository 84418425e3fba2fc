/* The setting the account, group and NSS writer tests share: local passwd
 * and group files in a fresh directory, a store beside them with a
 * transaction open, and account parameters over both. */
#ifndef NHI_TEST_ACCOUNTS_FIXTURE_H
#define NHI_TEST_ACCOUNTS_FIXTURE_H

#include <stdint.h>

#include "accounts.h"
#include "store.h"

struct accounts_fixture {
	char *dir, *passwd_path, *group_path, *cache_path;
	struct nhi_store *store;
	struct nhi_account_params params;
};

/* Unix ids are given from uid_min to uid_max. */
void accounts_fixture_open(struct accounts_fixture *f, const char *passwd_text,
                           const char *group_text, uint32_t uid_min, uint32_t uid_max);
/* Adds an identity to the store; gecos, home and shell may be NULL. */
void accounts_fixture_add(struct accounts_fixture *f, const char *name, enum nhi_identity_kind kind,
                          int64_t uid, int64_t gid, const char *gecos, const char *home,
                          const char *shell);
/* Rolls the transaction back and removes the directory. */
void accounts_fixture_close(struct accounts_fixture *f);

#endif

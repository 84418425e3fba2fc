/* The NSS cache nss_nhi reads: passwd and group records of the identities
 * that have unix accounts, rebuilt from the store and replaced atomically
 * on start and after every committed change that affects them. */
#ifndef NHI_NSS_EXPORT_H
#define NHI_NSS_EXPORT_H

#include <stdint.h>

#include "accounts.h"
#include "conf.h"
#include "store.h"

struct nhi_broker;

#define NHI_NSS_CACHE_NAME "nss.cache"

/* Writes path from the store. Names or ids that the local files already
 * hold are left out (the local account wins, and NSS must not answer one
 * name two ways); so are private groups whose name or gid a store group
 * has. p->now decides which retired identities still resolve. */
int nhi_nss_export_to(struct nhi_store *s, const struct nhi_config *cfg,
                      const struct nhi_account_params *p, const char *path);

/* The account parameters of the broker's configuration, at now. */
void nhi_nss_account_params(const struct nhi_broker *b, struct nhi_account_params *ret);

/* Gives every identity that needs one its ids (in a transaction of its
 * own), then writes <state_dir>/nss.cache. */
int nhi_nss_start(struct nhi_broker *b);
/* Writes <state_dir>/nss.cache from committed state, and notes when the
 * next retired account in it reaches the end of its quarantine. */
int nhi_nss_export(struct nhi_broker *b);
/* Rewrites the cache when a retired account it holds has reached the end
 * of its quarantine by now (unix seconds), so that the account stops
 * resolving without waiting for another change. Called when the broker
 * wakes; does nothing otherwise. A failed rewrite is retried a minute later. */
int nhi_nss_expire(struct nhi_broker *b, uint64_t now);

#endif

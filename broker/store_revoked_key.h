/* Keys revoked by an administrator, by fingerprint (table revoked_keys):
 * the KRL lists each by the SHA-256 hash of its blob. */
#ifndef NHI_STORE_REVOKED_KEY_H
#define NHI_STORE_REVOKED_KEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

/* Records fingerprint (SHA256:..., 43 base64 characters) as revoked.
 * *ret_added is false when it already was: the first revocation's time,
 * reason and actor are kept. */
int nhi_store_revoked_key_add(struct nhi_store *s, const char *fingerprint, int64_t revoked_at,
                              const char *reason, const char *revoked_by, bool *ret_added);
/* The fingerprints of every revoked key, in fingerprint order. */
int nhi_store_revoked_key_list(struct nhi_store *s, char ***ret_fingerprints, size_t *ret_n);

#endif

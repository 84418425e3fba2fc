/* What the keys helper's query and bulk discovery share: a discovered key
 * recorded in the store, and the audit record of a finding. */
#ifndef NHI_KEYS_RECORD_H
#define NHI_KEYS_RECORD_H

#include <stdint.h>

#include "call.h"
#include "discover.h"

/* Records one discovered key of account (a new row is audited), whose
 * fingerprint the caller may already have (NULL: computed here);
 * *ret_first_seen for the expiry, *ret_state (heap, NULL for a new row:
 * observed) and *ret_until for the row's state and exception end. */
int nhi_keys_record(struct nhi_call *c, const char *account, const struct nhi_found_key *fk,
                    const char *fingerprint, int64_t now, int64_t *ret_first_seen,
                    char **ret_state, int64_t *ret_until);

/* A discovery audit record: what ("key", "skipped"), the account, the
 * file and line, and one extra detail (extra NULL: none). */
int nhi_keys_audit_discover(struct nhi_call *c, const char *account, const char *subject,
                            const char *what, const char *path, unsigned line,
                            const char *extra_key, const char *extra);

#endif

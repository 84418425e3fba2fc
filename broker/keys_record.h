/* What the keys helper's query and bulk discovery share: a discovered key
 * recorded in the store, and the audit record of a finding. */
#ifndef NHI_KEYS_RECORD_H
#define NHI_KEYS_RECORD_H

#include <stdbool.h>
#include <stdint.h>

#include "call.h"
#include "discover.h"

/* Records one discovered key of account, whose fingerprint the caller may
 * already have (NULL: computed here); *ret_first_seen for the expiry,
 * *ret_state (heap, NULL for a new row: observed) and *ret_until for the
 * row's state and exception end. A new row is audited here when
 * ret_created is NULL; otherwise *ret_created says whether the row is new
 * and its audit record is the caller's (bulk discovery writes one per
 * file, nhi_keys_audit_new). */
int nhi_keys_record(struct nhi_call *c, const char *account, const struct nhi_found_key *fk,
                    const char *fingerprint, int64_t now, int64_t *ret_first_seen, char **ret_state,
                    int64_t *ret_until, bool *ret_created);

/* A discovery audit record: what ("key", "skipped"), the account, the
 * file and line, and one extra detail (extra NULL: none). */
int nhi_keys_audit_discover(struct nhi_call *c, const char *account, const char *subject,
                            const char *what, const char *path, unsigned line,
                            const char *extra_key, const char *extra);

#endif

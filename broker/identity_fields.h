/* The field checks of identity add and set (handle_identity.c), shared with
 * the identity import (handle_import.c) so both accept exactly the same. */
#ifndef NHI_IDENTITY_FIELDS_H
#define NHI_IDENTITY_FIELDS_H

#include "call.h"
#include "store.h"

/* Applies the optional fields of c->args (kind, owner, uid, ...) to id,
 * checking each; on bad input sets c's error, naming the field. */
int nhi_identity_apply_fields(struct nhi_call *c, struct nhi_identity *id);
/* "kind=value" as an attestation selector; *ret_value is the caller's. */
int nhi_identity_parse_selector(struct nhi_call *c, const char *text,
                                enum nhi_selector_kind *ret_kind, char **ret_value);
/* A new identity's unix account (uid/gid from [nss]), as identity add
 * gives it; marks the NSS cache for rewriting after the commit. */
int nhi_identity_assign_account(struct nhi_call *c, struct nhi_identity *id);

#endif

/* Every request handler, one file per area (broker/handle_*.c). */
#ifndef NHI_HANDLERS_H
#define NHI_HANDLERS_H

#include "call.h"

/* handle_status.c */
int nhi_handle_status(struct nhi_call *c);
int nhi_handle_reload(struct nhi_call *c);
/* handle_issue.c: attestation and issuance */
int nhi_handle_whoami(struct nhi_call *c);
int nhi_handle_cert_request(struct nhi_call *c);
/* handle_ca.c */
int nhi_handle_ca_show(struct nhi_call *c);
int nhi_handle_ca_rotate(struct nhi_call *c);
/* handle_identity.c */
int nhi_handle_identity_add(struct nhi_call *c);
int nhi_handle_identity_list(struct nhi_call *c);
int nhi_handle_identity_show(struct nhi_call *c);
int nhi_handle_identity_set(struct nhi_call *c);
int nhi_handle_identity_status(struct nhi_call *c);
int nhi_handle_enroll_code(struct nhi_call *c);
/* handle_cert.c */
int nhi_handle_cert_list(struct nhi_call *c);
int nhi_handle_cert_show(struct nhi_call *c);
int nhi_handle_revoke(struct nhi_call *c);
/* handle_audit.c */
int nhi_handle_audit_verify(struct nhi_call *c);
int nhi_handle_audit_export(struct nhi_call *c);
/* handle_keys.c: static keys */
int nhi_handle_keys_query(struct nhi_call *c);
int nhi_handle_keys_list(struct nhi_call *c);
int nhi_handle_keys_show(struct nhi_call *c);
/* handle_keys_retire.c: retirement of static keys */
int nhi_handle_keys_retire(struct nhi_call *c);
int nhi_handle_keys_restore(struct nhi_call *c);
int nhi_handle_keys_except(struct nhi_call *c);
struct nhi_key;
/* Takes key out of path (a key file of account), marks its row retired and
 * audits it; the caller rewrites the KRL. actor names who asked. */
int nhi_keys_retire_in(struct nhi_call *c, const char *actor, const char *account,
                       const char *path, const struct nhi_key *key, const char *fingerprint);
/* handle_principals.c: the online check behind nhi-authorized-principals */
int nhi_handle_principals_query(struct nhi_call *c);
/* handle_login.c: pam_nhi */
int nhi_handle_login_check(struct nhi_call *c);
int nhi_handle_session_event(struct nhi_call *c);
/* handle_import.c: nhictl identity import, staged */
int nhi_handle_import_begin(struct nhi_call *c);
int nhi_handle_import_chunk(struct nhi_call *c);
int nhi_handle_import_commit(struct nhi_call *c);
int nhi_handle_import_abort(struct nhi_call *c);
/* handle_grant.c: JIT elevation */
int nhi_handle_grant_request(struct nhi_call *c);
int nhi_handle_grant_check(struct nhi_call *c);
int nhi_handle_grant_list(struct nhi_call *c);
int nhi_handle_grant_decide(struct nhi_call *c);
/* handle_device.c: device keys, enrollment and nhi-issue */
struct nhi_key;
int nhi_handle_device_enroll(struct nhi_call *c);
int nhi_handle_device_issue(struct nhi_call *c);
/* The login user's keys query: 1 when account is the login user and the
 * answer is made, 0 for any other account. */
int nhi_device_keys_answer(struct nhi_call *c, const char *account, const struct nhi_key *key,
                           const char *fingerprint);
/* handle_discover.c: nhictl discover, one account per request */
int nhi_handle_discover(struct nhi_call *c);
/* handle_group.c: unix groups of broker-managed accounts */
int nhi_handle_group_add(struct nhi_call *c);
int nhi_handle_group_list(struct nhi_call *c);
int nhi_handle_group_show(struct nhi_call *c);
int nhi_handle_group_member_add(struct nhi_call *c);
int nhi_handle_group_member_remove(struct nhi_call *c);

#endif

/* The KRL sshd reads (RevokedKeys): rebuilt from the store and replaced
 * atomically whenever a revocation commits. */
#ifndef NHI_KRL_EXPORT_H
#define NHI_KRL_EXPORT_H

struct nhi_broker;

/* Writes <state_dir>/revoked.krl from every revoked certificate serial (per
 * CA) and every retired static key in the store. */
int nhi_krl_export(struct nhi_broker *b);

#endif

/* Issuance policy: pure decisions about what certificate an identity may
 * get. No I/O, no store: the caller loads the identity and its roles, this
 * decides, and the caller signs.
 *
 * - Kinds: human (config human_ttl_*), automation and service (config
 *   automation_ttl_*). Break-glass is never issued through this path.
 * - TTL: the identity's default, else its kind's; the cap is the smaller of
 *   the identity's cap and its kind's, so a per-identity cap can tighten
 *   the policy but never loosen it. A default above the cap is clamped; a
 *   requested TTL above the cap is refused, never silently shortened.
 * - Principals: the identity's name, then its roles (deduplicated).
 * - Extensions: humans get ssh-keygen's default set; automation and service
 *   the same set without permit-pty, unless the identity has allow_pty.
 * - Critical options: source-address and force-command from the identity.
 * - Subject key: nhi_key_policy's REFUSED and WEAK keys are both refused.
 * - Suspended and retired identities are refused.
 * - Validity: [now - backdate, now + ttl). Key id "nhi:<identity>:<serial>". */
#ifndef NHI_POLICY_H
#define NHI_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cert.h"
#include "conf.h"
#include "sshkey.h"
#include "store.h"

#define NHI_POLICY_REASON_MAX 256u
#define NHI_POLICY_KEY_ID_MAX 96u

struct nhi_policy_decision {
	uint32_t ttl;
	uint64_t valid_after, valid_before;
	char **principals; /* owned */
	size_t n_principals;
	bool permit_pty;
	const char *source_address; /* borrowed from the identity; NULL: none */
	const char *force_command;  /* borrowed from the identity; NULL: none */
};

/* The TTL default and cap that apply to id. NHI_ERR_REFUSED for a kind
 * never issued here (break-glass). */
int nhi_policy_ttl_bounds(const struct nhi_config *cfg, const struct nhi_identity *id,
                          uint32_t *ret_default, uint32_t *ret_cap);

/* Decides a certificate for id (with its roles) and subject key at now;
 * ttl_requested 0 means the default. On a refusal returns NHI_ERR_REFUSED,
 * NHI_ERR_IDENTITY_INACTIVE, NHI_ERR_TTL_EXCEEDED, NHI_ERR_KEY_REFUSED or
 * NHI_ERR_NAME_INVALID (a role that cannot be a principal) with reason
 * (size NHI_POLICY_REASON_MAX) saying why for the caller and the audit
 * trail. Free the decision with nhi_policy_decision_clear. */
int nhi_policy_decide(const struct nhi_config *cfg, const struct nhi_identity *id,
                      char *const *roles, size_t n_roles, const struct nhi_key *key,
                      uint32_t ttl_requested, uint64_t now, struct nhi_policy_decision *ret,
                      char reason[NHI_POLICY_REASON_MAX]);
void nhi_policy_decision_clear(struct nhi_policy_decision *d);

/* "nhi:<identity>:<serial>" into out (size NHI_POLICY_KEY_ID_MAX). */
int nhi_policy_key_id(const char *identity, uint64_t serial, char out[NHI_POLICY_KEY_ID_MAX]);

/* Writes the decision into cert: key id, serial, principals, validity,
 * extensions and critical options. The subject key is set by the caller. */
int nhi_policy_apply(const struct nhi_policy_decision *d, const char *identity, uint64_t serial,
                     struct nhi_cert *cert);

#endif

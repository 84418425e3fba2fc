/* Loading keys into ssh-agent (draft-miller-ssh-agent), so that a private
 * key made in memory never touches disk and leaves the agent when its
 * certificate expires. */
#ifndef NHI_AGENT_H
#define NHI_AGENT_H

#include <stdint.h>

#include "cert.h"

#define NHI_ED25519_SK_BYTES 64u /* seed || public key, as libsodium keeps it */

/* Adds the Ed25519 key sk with its certificate cert (whose subject must be
 * that key) to the agent at socket_path, constrained to lifetime seconds
 * (> 0). NHI_ERR_REFUSED when the agent declines. */
int nhi_agent_add_ed25519_cert(const char *socket_path, const uint8_t sk[NHI_ED25519_SK_BYTES],
			       const struct nhi_cert *cert, const char *comment, uint32_t lifetime,
			       int timeout_ms);

#endif

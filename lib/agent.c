#include "config.h"

#include "agent.h"
#include "client.h"
#include "err.h"

#define SSH_AGENT_FAILURE 5
#define SSH_AGENT_SUCCESS 6
#define SSH2_AGENTC_ADD_ID_CONSTRAINED 25
#define SSH_AGENT_CONSTRAIN_LIFETIME 1

int nhi_agent_add_ed25519_cert(const char *socket_path, const uint8_t sk[NHI_ED25519_SK_BYTES],
			       const struct nhi_cert *cert, const char *comment, uint32_t lifetime,
			       int timeout_ms)
{
	struct nhi_buf *req = NULL, *cert_blob = NULL, *resp = NULL;
	uint8_t answer;
	int r;

	if (socket_path == NULL || sk == NULL || cert == NULL || cert->key == NULL ||
	    cert->key->type != NHI_KEY_ED25519 || lifetime == 0)
		return NHI_ERR_INVALID_ARGUMENT;
	if ((req = nhi_buf_new()) == NULL || (cert_blob = nhi_buf_new()) == NULL) {
		r = NHI_ERR_ALLOC;
		goto out;
	}
	/* The certificate identity: type, cert blob, public key, seed||public. */
	if ((r = nhi_cert_to_blob(cert, cert_blob)) < 0 ||
	    (r = nhi_buf_put_u8(req, SSH2_AGENTC_ADD_ID_CONSTRAINED)) < 0 ||
	    (r = nhi_buf_put_cstring(req, nhi_key_cert_type_name(NHI_KEY_ED25519))) < 0 ||
	    (r = nhi_buf_put_stringb(req, cert_blob)) < 0 ||
	    (r = nhi_buf_put_string(req, cert->key->ed25519_pk, NHI_ED25519_PK_BYTES)) < 0 ||
	    (r = nhi_buf_put_string(req, sk, NHI_ED25519_SK_BYTES)) < 0 ||
	    (r = nhi_buf_put_cstring(req, comment != NULL ? comment : "")) < 0 ||
	    (r = nhi_buf_put_u8(req, SSH_AGENT_CONSTRAIN_LIFETIME)) < 0 ||
	    (r = nhi_buf_put_u32(req, lifetime)) < 0)
		goto out;
	if ((r = nhi_client_call(socket_path, timeout_ms, req, &resp)) < 0)
		goto out;
	if ((r = nhi_buf_get_u8(resp, &answer)) < 0) {
		r = NHI_ERR_PROTOCOL;
		goto out;
	}
	if (answer == SSH_AGENT_SUCCESS)
		r = 0;
	else if (answer == SSH_AGENT_FAILURE)
		r = NHI_ERR_REFUSED;
	else
		r = NHI_ERR_PROTOCOL;
out:
	/* req holds the private key; nhi_buf_free zeroes it. */
	nhi_buf_free(req);
	nhi_buf_free(cert_blob);
	nhi_buf_free(resp);
	return r;
}

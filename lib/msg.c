#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "err.h"
#include "msg.h"
#include "proto.h"

const char *nhi_msg_name(uint8_t type)
{
	switch ((enum nhi_msg_type)type) {
	case NHI_MSG_STATUS: return "status";
	case NHI_MSG_WHOAMI: return "whoami";
	case NHI_MSG_CERT_REQUEST: return "cert-request";
	case NHI_MSG_IDENTITY_ADD: return "identity-add";
	case NHI_MSG_IDENTITY_LIST: return "identity-list";
	case NHI_MSG_IDENTITY_SHOW: return "identity-show";
	case NHI_MSG_IDENTITY_SET: return "identity-set";
	case NHI_MSG_IDENTITY_STATUS: return "identity-status";
	case NHI_MSG_ENROLL_CODE: return "enroll-code";
	case NHI_MSG_CERT_LIST: return "cert-list";
	case NHI_MSG_CERT_SHOW: return "cert-show";
	case NHI_MSG_REVOKE: return "revoke";
	case NHI_MSG_AUDIT_VERIFY: return "audit-verify";
	case NHI_MSG_AUDIT_EXPORT: return "audit-export";
	case NHI_MSG_CA_SHOW: return "ca-show";
	case NHI_MSG_CA_ROTATE: return "ca-rotate";
	case NHI_MSG_RELOAD: return "reload";
	case NHI_MSG_KEYS_QUERY: return "keys-query";
	case NHI_MSG_KEYS_LIST: return "keys-list";
	case NHI_MSG_KEYS_SHOW: return "keys-show";
	case NHI_MSG_KEYS_RETIRE: return "keys-retire";
	case NHI_MSG_KEYS_RESTORE: return "keys-restore";
	case NHI_MSG_KEYS_EXCEPT: return "keys-except";
	case NHI_MSG_DISCOVER: return "discover";
	case NHI_MSG_PRINCIPALS_QUERY: return "principals-query";
	case NHI_MSG_DEVICE_ENROLL: return "device-enroll";
	case NHI_MSG_DEVICE_ISSUE: return "device-issue";
	case NHI_MSG_LOGIN_CHECK: return "login-check";
	case NHI_MSG_SESSION_EVENT: return "session-event";
	case NHI_MSG_IMPORT_BEGIN: return "import-begin";
	case NHI_MSG_IMPORT_CHUNK: return "import-chunk";
	case NHI_MSG_IMPORT_COMMIT: return "import-commit";
	case NHI_MSG_IMPORT_ABORT: return "import-abort";
	case NHI_MSG_GRANT_REQUEST: return "grant-request";
	case NHI_MSG_GRANT_CHECK: return "grant-check";
	case NHI_MSG_GRANT_LIST: return "grant-list";
	case NHI_MSG_GRANT_DECIDE: return "grant-decide";
	case NHI_MSG_GROUP_ADD: return "group-add";
	case NHI_MSG_GROUP_LIST: return "group-list";
	case NHI_MSG_GROUP_SHOW: return "group-show";
	case NHI_MSG_GROUP_MEMBER_ADD: return "group-member-add";
	case NHI_MSG_GROUP_MEMBER_REMOVE: return "group-member-remove";
	}
	return NULL;
}

void nhi_msg_reply_clear(struct nhi_msg_reply *reply)
{
	if (reply == NULL)
		return;
	free(reply->message);
	for (size_t i = 0; i < reply->n_records; i++)
		nhi_kv_clear(&reply->records[i]);
	free(reply->records);
	memset(reply, 0, sizeof(*reply));
}

static int get_records(struct nhi_buf *body, struct nhi_msg_reply *reply)
{
	uint32_t n;
	int r;

	if ((r = nhi_buf_get_u32(body, &n)) < 0)
		return r;
	if (n > NHI_KV_LIST_MAX || n > nhi_buf_len(body) / 4)
		return NHI_ERR_TOO_MANY;
	if (n > 0 && (reply->records = calloc(n, sizeof(*reply->records))) == NULL)
		return NHI_ERR_ALLOC;
	for (uint32_t i = 0; i < n; i++) {
		if ((r = nhi_kv_get(body, &reply->records[i])) < 0)
			return r;
		reply->n_records++;
	}
	return nhi_buf_len(body) == 0 ? 0 : NHI_ERR_PROTOCOL;
}

int nhi_msg_call(const char *socket_path, int timeout_ms, uint8_t type, const struct nhi_kv *args,
		 struct nhi_msg_reply *ret_reply)
{
	struct nhi_msg_reply reply = { 0 };
	struct nhi_buf *req = NULL, *resp = NULL;
	struct nhi_kv none = { 0 };
	int r;

	if (ret_reply == NULL)
		return NHI_ERR_INVALID_ARGUMENT;
	if ((req = nhi_buf_new()) == NULL)
		return NHI_ERR_ALLOC;
	if ((r = nhi_proto_put_request(req, type)) < 0 ||
	    (r = nhi_kv_put(req, args != NULL ? args : &none)) < 0 ||
	    (r = nhi_client_call(socket_path, timeout_ms, req, &resp)) < 0 ||
	    (r = nhi_proto_get_response(resp, type, &reply.status, &reply.message)) < 0)
		goto out;
	if ((r = get_records(resp, &reply)) < 0) {
		r = r == NHI_ERR_ALLOC ? r : NHI_ERR_PROTOCOL;
		goto out;
	}
	*ret_reply = reply;
	memset(&reply, 0, sizeof(reply));
out:
	nhi_msg_reply_clear(&reply);
	nhi_buf_free(req);
	nhi_buf_free(resp);
	return r;
}

int nhi_msg_get_request(struct nhi_buf *body, uint8_t *ret_type, struct nhi_kv *ret_args)
{
	int r;

	if ((r = nhi_proto_get_request(body, ret_type)) < 0)
		return r;
	if ((r = nhi_kv_get(body, ret_args)) < 0)
		return r == NHI_ERR_ALLOC ? r : NHI_ERR_PROTOCOL;
	if (nhi_buf_len(body) != 0) {
		nhi_kv_clear(ret_args);
		return NHI_ERR_PROTOCOL;
	}
	return 0;
}

int nhi_msg_put_reply(struct nhi_buf *body, uint8_t type, int status, const char *message,
		      const struct nhi_kv *records, size_t n_records)
{
	int r;

	if (n_records > NHI_KV_LIST_MAX || (records == NULL && n_records > 0))
		return NHI_ERR_INVALID_ARGUMENT;
	if ((r = nhi_proto_put_response(body, type, status, message)) < 0 ||
	    (r = nhi_buf_put_u32(body, (uint32_t)n_records)) < 0)
		return r;
	for (size_t i = 0; i < n_records; i++) {
		if ((r = nhi_kv_put(body, &records[i])) < 0)
			return r;
	}
	return 0;
}

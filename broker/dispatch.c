#include "config.h"

#include <stddef.h>

#include "dispatch.h"
#include "handlers.h"

/* The allow-listed table of requests: anything else is refused unread. */
static const struct nhi_handler handlers[] = {
	{ NHI_MSG_STATUS, NHI_ACCESS_ANY, nhi_handle_status },
	{ NHI_MSG_WHOAMI, NHI_ACCESS_ANY, nhi_handle_whoami },
	{ NHI_MSG_CERT_REQUEST, NHI_ACCESS_ANY, nhi_handle_cert_request },
	{ NHI_MSG_IDENTITY_ADD, NHI_ACCESS_ADMIN, nhi_handle_identity_add },
	{ NHI_MSG_IDENTITY_LIST, NHI_ACCESS_ADMIN, nhi_handle_identity_list },
	{ NHI_MSG_IDENTITY_SHOW, NHI_ACCESS_ADMIN, nhi_handle_identity_show },
	{ NHI_MSG_IDENTITY_SET, NHI_ACCESS_ADMIN, nhi_handle_identity_set },
	{ NHI_MSG_IDENTITY_STATUS, NHI_ACCESS_ADMIN, nhi_handle_identity_status },
	{ NHI_MSG_ENROLL_CODE, NHI_ACCESS_ADMIN, nhi_handle_enroll_code },
	{ NHI_MSG_CERT_LIST, NHI_ACCESS_ADMIN, nhi_handle_cert_list },
	{ NHI_MSG_CERT_SHOW, NHI_ACCESS_ADMIN, nhi_handle_cert_show },
	{ NHI_MSG_REVOKE, NHI_ACCESS_ADMIN, nhi_handle_revoke },
	{ NHI_MSG_AUDIT_VERIFY, NHI_ACCESS_ADMIN, nhi_handle_audit_verify },
	{ NHI_MSG_AUDIT_EXPORT, NHI_ACCESS_ADMIN, nhi_handle_audit_export },
	{ NHI_MSG_CA_SHOW, NHI_ACCESS_ANY, nhi_handle_ca_show },
	{ NHI_MSG_CA_ROTATE, NHI_ACCESS_ADMIN, nhi_handle_ca_rotate },
	{ NHI_MSG_RELOAD, NHI_ACCESS_ADMIN, nhi_handle_reload },
	{ NHI_MSG_KEYS_QUERY, NHI_ACCESS_HELPER, nhi_handle_keys_query },
	{ NHI_MSG_KEYS_LIST, NHI_ACCESS_ADMIN, nhi_handle_keys_list },
	{ NHI_MSG_KEYS_SHOW, NHI_ACCESS_ADMIN, nhi_handle_keys_show },
	{ NHI_MSG_KEYS_RETIRE, NHI_ACCESS_ADMIN, nhi_handle_keys_retire },
	{ NHI_MSG_KEYS_RESTORE, NHI_ACCESS_ADMIN, nhi_handle_keys_restore },
	{ NHI_MSG_KEYS_EXCEPT, NHI_ACCESS_ADMIN, nhi_handle_keys_except },
	{ NHI_MSG_PRINCIPALS_QUERY, NHI_ACCESS_HELPER, nhi_handle_principals_query },
	/* nhi-issue runs as the login user, behind sshd's ForceCommand. */
	{ NHI_MSG_DEVICE_ENROLL, NHI_ACCESS_LOGIN, nhi_handle_device_enroll },
	{ NHI_MSG_DEVICE_ISSUE, NHI_ACCESS_LOGIN, nhi_handle_device_issue },
	/* pam_nhi runs as root inside sshd, sudo and login. */
	{ NHI_MSG_LOGIN_CHECK, NHI_ACCESS_HELPER, nhi_handle_login_check },
	{ NHI_MSG_SESSION_EVENT, NHI_ACCESS_HELPER, nhi_handle_session_event },
	{ NHI_MSG_IMPORT_BEGIN, NHI_ACCESS_ADMIN, nhi_handle_import_begin },
	{ NHI_MSG_IMPORT_CHUNK, NHI_ACCESS_ADMIN, nhi_handle_import_chunk },
	{ NHI_MSG_IMPORT_COMMIT, NHI_ACCESS_ADMIN, nhi_handle_import_commit },
	{ NHI_MSG_IMPORT_ABORT, NHI_ACCESS_ADMIN, nhi_handle_import_abort },
	/* Grants: a user asks for one; pam_nhi (inside sudo, as root) checks. */
	{ NHI_MSG_GRANT_REQUEST, NHI_ACCESS_ANY, nhi_handle_grant_request },
	{ NHI_MSG_GRANT_CHECK, NHI_ACCESS_HELPER, nhi_handle_grant_check },
	{ NHI_MSG_GRANT_LIST, NHI_ACCESS_ADMIN, nhi_handle_grant_list },
	{ NHI_MSG_GRANT_DECIDE, NHI_ACCESS_ADMIN, nhi_handle_grant_decide },
	/* nhictl discover: one account per request. */
	{ NHI_MSG_DISCOVER, NHI_ACCESS_ADMIN, nhi_handle_discover },
	{ NHI_MSG_GROUP_ADD, NHI_ACCESS_ADMIN, nhi_handle_group_add },
	{ NHI_MSG_GROUP_LIST, NHI_ACCESS_ADMIN, nhi_handle_group_list },
	{ NHI_MSG_GROUP_SHOW, NHI_ACCESS_ADMIN, nhi_handle_group_show },
	{ NHI_MSG_GROUP_MEMBER_ADD, NHI_ACCESS_ADMIN, nhi_handle_group_member_add },
	{ NHI_MSG_GROUP_MEMBER_REMOVE, NHI_ACCESS_ADMIN, nhi_handle_group_member_remove },
};

const struct nhi_handler *nhi_dispatch_find(uint8_t type)
{
	for (size_t i = 0; i < sizeof(handlers) / sizeof(handlers[0]); i++) {
		if (handlers[i].type == type)
			return &handlers[i];
	}
	return NULL;
}

bool nhi_dispatch_allowed(const struct nhi_handler *h, const struct nhi_peer *peer)
{
	switch (h->access) {
	case NHI_ACCESS_ANY:
		return true;
	case NHI_ACCESS_HELPER:
		return peer->is_helper || peer->is_admin;
	case NHI_ACCESS_ADMIN:
		return peer->is_admin;
	case NHI_ACCESS_LOGIN:
		return peer->is_login || peer->is_admin;
	}
	return false;
}

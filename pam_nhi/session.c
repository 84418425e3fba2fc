/* The session stage: open and close are reported to the broker, which
 * appends them to the audit trail. Open is also where the broker judges a
 * login whose credential the account stage could not see (sshd fills
 * SSH_AUTH_INFO_0 only after the account stage): its refusal fails the
 * open, and sshd then runs no command. Close never fails a logout: the
 * session has ended whatever the broker says. Open follows broker_down
 * when the broker cannot answer. */
#include "config.h"

#include <security/pam_ext.h>
#include <security/pam_modules.h>
#include <syslog.h>

#include "err.h"
#include "login.h"
#include "msg.h"

static bool is_refusal(int status)
{
	return status == NHI_ERR_IDENTITY_INACTIVE || status == NHI_ERR_IDENTITY_RETIRED ||
	       status == NHI_ERR_LOGIN_CREDENTIAL;
}

static int session_event(pam_handle_t *pamh, int flags, int argc, const char **argv, bool closing)
{
	const char *event = closing ? "close" : "open";
	struct nhi_pam_options opts;
	struct nhi_pam_login login = {0};
	struct nhi_msg_reply reply = {0};
	struct nhi_kv args;
	int r, ret;

	nhi_kv_init(&args);
	nhi_pam_options_parse(pamh, argc, argv, &opts);
	if ((r = nhi_pam_login_get(pamh, &login)) < 0) {
		pam_syslog(pamh, LOG_NOTICE, "session %s: no valid user name", event);
		ret = closing ? PAM_SUCCESS : PAM_SESSION_ERR;
		goto out;
	}
	if ((r = nhi_kv_add_str(&args, "event", event)) < 0 ||
	    (r = nhi_kv_add_str(&args, "session", login.session_id)) < 0 ||
	    (r = nhi_pam_login_put(&login, &args)) < 0) {
		pam_syslog(pamh, LOG_ERR, "cannot build the request: %s", nhi_strerror(r));
		ret = closing ? PAM_SUCCESS : PAM_BUF_ERR;
		goto out;
	}
	r = nhi_msg_call(opts.socket_path, (int)opts.timeout_ms, NHI_MSG_SESSION_EVENT, &args,
	                 &reply);
	if (r == 0 && reply.status < 0)
		r = reply.status;
	if (r != 0 && !closing && is_refusal(r)) {
		/* A decision, not an outage: broker_down does not apply. */
		pam_syslog(pamh, LOG_NOTICE, "session %s open of %s via %s refused: %s",
		           login.session_id, login.user, login.service,
		           reply.message != NULL ? reply.message : nhi_strerror(r));
		nhi_pam_tell(pamh, flags, PAM_ERROR_MSG, reply.message);
		ret = PAM_PERM_DENIED;
	} else if (r == 0) {
		if (opts.debug)
			pam_syslog(pamh, LOG_DEBUG, "session %s %s of %s audited", login.session_id,
			           event, login.user);
		ret = PAM_SUCCESS;
	} else if (closing || opts.broker_down_allow) {
		pam_syslog(pamh, LOG_WARNING, "session %s %s of %s not audited: %s",
		           login.session_id, event, login.user,
		           reply.message != NULL ? reply.message : nhi_strerror(r));
		ret = PAM_SUCCESS;
	} else {
		pam_syslog(pamh, LOG_ERR, "session %s open of %s refused, not audited: %s",
		           login.session_id, login.user,
		           reply.message != NULL ? reply.message : nhi_strerror(r));
		ret = PAM_SESSION_ERR;
	}
out:
	nhi_msg_reply_clear(&reply);
	nhi_kv_clear(&args);
	nhi_pam_login_clear(&login);
	return ret;
}

NHI_PAM_EXPORT int pam_sm_open_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	return session_event(pamh, flags, argc, argv, false);
}

NHI_PAM_EXPORT int pam_sm_close_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	return session_event(pamh, flags, argc, argv, true);
}

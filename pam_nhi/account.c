/* The account stage: every login through a PAM service is checked against
 * the broker (identity status, kind, and the credential sshd reported).
 * This file is the only place the account decision becomes a PAM code. */
#include "config.h"

#include <security/pam_ext.h>
#include <security/pam_modules.h>
#include <string.h>
#include <syslog.h>

#include "err.h"
#include "login.h"
#include "msg.h"

/* The broker could not answer: broker_down decides. */
static int broker_down(pam_handle_t *pamh, const struct nhi_pam_options *opts, const char *user,
                       int err)
{
	if (opts->broker_down_allow) {
		pam_syslog(pamh, LOG_WARNING,
		           "broker unavailable (%s): %s allowed by broker_down=allow",
		           nhi_strerror(err), user);
		return PAM_SUCCESS;
	}
	pam_syslog(pamh, LOG_ERR, "broker unavailable (%s): %s refused by broker_down=deny",
	           nhi_strerror(err), user);
	return PAM_AUTHINFO_UNAVAIL;
}

/* A refusal: the broker's reason goes to the user and to syslog. */
static int refused(pam_handle_t *pamh, int flags, const struct nhi_pam_login *login,
                   const struct nhi_msg_reply *reply)
{
	pam_syslog(pamh, LOG_NOTICE, "login of %s via %s refused: %s", login->user, login->service,
	           reply->message != NULL ? reply->message : nhi_strerror(reply->status));
	nhi_pam_tell(pamh, flags, PAM_ERROR_MSG, reply->message);
	return reply->status == NHI_ERR_IDENTITY_RETIRED ? PAM_ACCT_EXPIRED : PAM_PERM_DENIED;
}

NHI_PAM_EXPORT int pam_sm_acct_mgmt(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct nhi_pam_options opts;
	struct nhi_pam_login login = {0};
	struct nhi_msg_reply reply = {0};
	struct nhi_kv args;
	const char *decision;
	int r, ret;

	nhi_kv_init(&args);
	nhi_pam_options_parse(pamh, argc, argv, &opts);
	if ((r = nhi_pam_login_get(pamh, &login)) < 0) {
		pam_syslog(pamh, LOG_NOTICE, "no valid user name: %s", nhi_strerror(r));
		ret = PAM_USER_UNKNOWN;
		goto out;
	}
	if (login.authinfo_error < 0)
		pam_syslog(pamh, LOG_WARNING, "SSH_AUTH_INFO_0 of %s not understood: %s",
		           login.user, nhi_strerror(login.authinfo_error));
	if ((r = nhi_pam_login_put(&login, &args)) < 0) {
		pam_syslog(pamh, LOG_ERR, "cannot build the request: %s", nhi_strerror(r));
		ret = PAM_BUF_ERR;
		goto out;
	}
	if ((r = nhi_msg_call(opts.socket_path, (int)opts.timeout_ms, NHI_MSG_LOGIN_CHECK, &args,
	                      &reply)) < 0) {
		ret = broker_down(pamh, &opts, login.user, r);
		goto out;
	}
	switch (reply.status) {
	case 0:
		break;
	case NHI_ERR_IDENTITY_INACTIVE:
	case NHI_ERR_IDENTITY_RETIRED:
	case NHI_ERR_LOGIN_CREDENTIAL:
		ret = refused(pamh, flags, &login, &reply);
		goto out;
	default:
		/* Not a decision (the broker refused us, or failed): no answer. */
		pam_syslog(pamh, LOG_ERR, "broker error: %s",
		           reply.message != NULL ? reply.message : nhi_strerror(reply.status));
		ret = broker_down(pamh, &opts, login.user, reply.status);
		goto out;
	}
	decision = reply.n_records == 1 ? nhi_kv_str(&reply.records[0], "decision") : NULL;
	if (decision != NULL && strcmp(decision, "allow") == 0) {
		if (opts.debug)
			pam_syslog(pamh, LOG_DEBUG, "login of %s via %s allowed", login.user,
			           login.service);
		ret = PAM_SUCCESS;
	} else if (decision != NULL && strcmp(decision, "deferred") == 0) {
		/* sshd has not reported the credential yet: the session stage
		 * (pam_nhi in the session stack) decides with it. */
		pam_syslog(pamh, LOG_INFO,
		           "login of %s via %s: credential check deferred to the session stage",
		           login.user, login.service);
		ret = PAM_SUCCESS;
	} else if (decision != NULL && strcmp(decision, "unknown") == 0) {
		if (!opts.unknown_user_allow) {
			pam_syslog(pamh, LOG_NOTICE,
			           "%s is not managed: refused by unknown_user=deny", login.user);
			ret = PAM_USER_UNKNOWN;
		} else {
			ret = opts.ignore_unknown ? PAM_IGNORE : PAM_SUCCESS;
		}
	} else {
		pam_syslog(pamh, LOG_ERR, "broker answer without a decision");
		ret = broker_down(pamh, &opts, login.user, NHI_ERR_PROTOCOL);
	}
out:
	nhi_msg_reply_clear(&reply);
	nhi_kv_clear(&args);
	nhi_pam_login_clear(&login);
	return ret;
}

/* Just-in-time sudo: the auth stage succeeds while the invoking user holds
 * an active grant from `nhi elevate`. Decided by the broker at sudo time;
 * nothing is written to sudoers, so an expired or revoked grant stops
 * working at once. */
#include "config.h"

#include <pwd.h>
#include <security/pam_ext.h>
#include <stdint.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "elevate.h"
#include "err.h"
#include "login.h"
#include "msg.h"
#include "names.h"

static const char *get_item(pam_handle_t *pamh, int item)
{
	const void *v = NULL;

	if (pam_get_item(pamh, item, &v) != PAM_SUCCESS || v == NULL || *(const char *)v == '\0')
		return NULL;
	return v;
}

const char *nhi_pam_elevate_user(pam_handle_t *pamh)
{
	/* sudo sets PAM_USER to the account whose password it would ask
	 * for (the target with targetpw or rootpw) and PAM_RUSER to the
	 * person who ran it: the grant is that person's. */
	const char *user = get_item(pamh, PAM_RUSER);

	if (user == NULL)
		user = get_item(pamh, PAM_USER);
	return user != NULL && nhi_name_is_valid(user) ? user : NULL;
}

/* A setuid program such as sudo keeps the caller's real uid: when it is not
 * root, it must name the account whose grant is checked, so a program that
 * sets PAM_RUSER to someone else's name gains nothing. */
static bool real_uid_matches(const char *user)
{
	struct passwd pw, *res = NULL;
	char buf[4096];
	uid_t uid = getuid();

	if (uid == 0)
		return true;
	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) != 0 || res == NULL)
		return false;
	return strcmp(res->pw_name, user) == 0;
}

int nhi_pam_elevate(pam_handle_t *pamh, int flags, const struct nhi_pam_options *opts)
{
	struct nhi_msg_reply reply = {0};
	const char *user, *service, *decision, *grant, *role;
	struct nhi_kv args;
	uint64_t expires = 0;
	int r, ret = PAM_AUTH_ERR;

	nhi_kv_init(&args);
	if ((user = nhi_pam_elevate_user(pamh)) == NULL) {
		pam_syslog(pamh, LOG_NOTICE, "elevate: no valid user name");
		return PAM_USER_UNKNOWN;
	}
	if (!real_uid_matches(user)) {
		pam_syslog(pamh, LOG_WARNING, "elevate: uid %u does not belong to %s: no grant",
		           (unsigned)getuid(), user);
		return PAM_AUTH_ERR;
	}
	if ((service = get_item(pamh, PAM_SERVICE)) == NULL)
		service = "unknown";
	if ((r = nhi_kv_add_str(&args, "user", user)) < 0 ||
	    (r = nhi_kv_add_str(&args, "service", service)) < 0 ||
	    (opts->elevate_role != NULL &&
	     (r = nhi_kv_add_str(&args, "role", opts->elevate_role)) < 0)) {
		pam_syslog(pamh, LOG_ERR, "elevate: cannot build the request: %s", nhi_strerror(r));
		ret = PAM_BUF_ERR;
		goto out;
	}
	if ((r = nhi_msg_call(opts->socket_path, (int)opts->timeout_ms, NHI_MSG_GRANT_CHECK, &args,
	                      &reply)) < 0) {
		pam_syslog(pamh, LOG_ERR, "elevate: broker unavailable (%s): no grant for %s",
		           nhi_strerror(r), user);
		ret = PAM_AUTHINFO_UNAVAIL;
		goto out;
	}
	if (reply.status < 0) {
		pam_syslog(pamh, LOG_ERR, "elevate: broker error: %s",
		           reply.message != NULL ? reply.message : nhi_strerror(reply.status));
		ret = PAM_AUTHINFO_UNAVAIL;
		goto out;
	}
	decision = reply.n_records == 1 ? nhi_kv_str(&reply.records[0], "decision") : NULL;
	if (decision == NULL || strcmp(decision, "allow") != 0) {
		if (opts->debug)
			pam_syslog(pamh, LOG_DEBUG, "elevate: %s holds no active grant", user);
		ret = PAM_AUTH_ERR;
		goto out;
	}
	grant = nhi_kv_str(&reply.records[0], "id");
	role = nhi_kv_str(&reply.records[0], "role");
	if (nhi_kv_u64(&reply.records[0], "expires", &expires) < 0)
		expires = 0;
	pam_syslog(pamh, LOG_NOTICE,
	           "elevate: %s authenticated by grant %s (role %s, until %llu) via %s", user,
	           grant != NULL ? grant : "?", role != NULL ? role : "?",
	           (unsigned long long)expires, service);
	(void)flags;
	ret = PAM_SUCCESS;
out:
	nhi_msg_reply_clear(&reply);
	nhi_kv_clear(&args);
	return ret;
}

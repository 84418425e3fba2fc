/* The auth stage: a dispatcher over the auth modes named in the module's
 * arguments. Each mode lives in its own file. */
#include "config.h"

#include <security/pam_ext.h>
#include <security/pam_modules.h>
#include <syslog.h>

#include "elevate.h"
#include "login.h"
#include "options.h"

NHI_PAM_EXPORT int pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct nhi_pam_options opts;

	nhi_pam_options_parse(pamh, argc, argv, &opts);
	if (opts.auth_mode == NHI_PAM_AUTH_ELEVATE)
		return nhi_pam_elevate(pamh, flags, &opts);
	pam_syslog(pamh, LOG_ERR, "auth: no auth mode available; add `elevate`");
	return PAM_IGNORE;
}

NHI_PAM_EXPORT int pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct nhi_pam_options opts;

	(void)flags;
	nhi_pam_options_parse(pamh, argc, argv, &opts);
	/* A grant carries no credentials to establish. */
	if (opts.auth_mode == NHI_PAM_AUTH_ELEVATE)
		return PAM_SUCCESS;
	return PAM_IGNORE;
}

/* The auth stage: a dispatcher on the auth mode chosen in the options.
 * Each mode lives in its own file. */
#include "config.h"

#include <security/pam_modules.h>

#include "breakglass.h"
#include "login.h"
#include "options.h"

NHI_PAM_EXPORT int pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct nhi_pam_options opts;

	nhi_pam_options_parse(pamh, argc, argv, &opts);
	switch (opts.auth_mode) {
	case NHI_PAM_AUTH_BREAKGLASS:
		return nhi_pam_breakglass(pamh, flags, &opts);
	default:
		return PAM_IGNORE;
	}
}

/* No credentials to establish: the code was consumed at authentication. */
NHI_PAM_EXPORT int pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	(void)pamh;
	(void)flags;
	(void)argc;
	(void)argv;
	return PAM_SUCCESS;
}

/* pam_nhi's `elevate` auth mode: just-in-time sudo. */
#ifndef NHI_PAM_ELEVATE_H
#define NHI_PAM_ELEVATE_H

#include <security/pam_modules.h>

#include "options.h"

/* The account whose grant counts: PAM_RUSER when the application set it
 * (sudo and su put the invoking user there), else PAM_USER. NULL when
 * neither is a valid account name. */
const char *nhi_pam_elevate_user(pam_handle_t *pamh);

/* PAM_SUCCESS, without a prompt, while that account holds an active grant
 * (of opts->elevate_role when set); PAM_AUTH_ERR without one, and
 * PAM_AUTHINFO_UNAVAIL when the broker does not answer within timeout_ms,
 * so that a `sufficient` line falls through to the password. Never
 * PAM_SUCCESS without the broker's word. */
int nhi_pam_elevate(pam_handle_t *pamh, int flags, const struct nhi_pam_options *opts);

#endif

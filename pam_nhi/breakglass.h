/* pam_nhi's break-glass authentication: a sealed one-time code and a
 * reason, verified offline against the argon2id hashes in the code file,
 * the code consumed under an exclusive lock, an alert to syslog and an
 * audit record spooled for the broker. Never asks the broker. */
#ifndef NHI_PAM_BREAKGLASS_H
#define NHI_PAM_BREAKGLASS_H

#include <security/pam_modules.h>

#include "options.h"

#define NHI_BG_REASON_MAX      256u
#define NHI_BG_FAIL_DELAY_USEC 2000000u

/* A PAM code: PAM_SUCCESS once a code was consumed. */
int nhi_pam_breakglass(pam_handle_t *pamh, int flags, const struct nhi_pam_options *opts);

/* 0 when reason is acceptable: not empty or blank, at most
 * NHI_BG_REASON_MAX bytes, no control characters. Exposed for the tests. */
int nhi_bg_reason_check(const char *reason);

#endif

/* What pam_nhi knows about the login in progress, gathered once per call:
 * the PAM items, the session id and the credential sshd reported. Shared by
 * the account and session stages; libc and libpam only. */
#ifndef NHI_PAM_LOGIN_H
#define NHI_PAM_LOGIN_H

#include <security/pam_modules.h>

#include "authinfo.h"
#include "kv.h"
#include "options.h"

/* The code is built with -fvisibility=hidden; the entry points are exported
 * on purpose (and the version script keeps everything else local). */
#define NHI_PAM_EXPORT __attribute__((visibility("default")))

struct nhi_pam_login {
	const char *user, *service, *rhost, *tty; /* owned by libpam; rhost, tty may be NULL */
	struct nhi_authinfo authinfo;
	int authinfo_error; /* 0, or why SSH_AUTH_INFO_0 was not understood */
	char session_id[64];
};

/* Fills login from pamh. NHI_ERR_NAME_INVALID when PAM_USER is missing or
 * not a valid account name; other errors when libpam fails. */
int nhi_pam_login_get(pam_handle_t *pamh, struct nhi_pam_login *ret_login);
void nhi_pam_login_clear(struct nhi_pam_login *login);

/* Adds user, service, rhost, tty and the credential fields to args. */
int nhi_pam_login_put(const struct nhi_pam_login *login, struct nhi_kv *args);

/* Shows the broker's words to the user (not under PAM_SILENT). */
void nhi_pam_tell(pam_handle_t *pamh, int flags, int style, const char *message);

#endif

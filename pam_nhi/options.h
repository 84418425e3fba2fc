/* pam_nhi's module arguments, parsed once per call from argv. Unknown
 * arguments are logged and ignored (a typo must not lock out a host), and
 * values out of range fall back to the default with a log line.
 *
 *   socket=PATH          broker socket          (/run/nhi/broker.sock)
 *   timeout_ms=N         one broker round trip  (2000; 50..30000)
 *   unknown_user=allow|deny  accounts the broker does not manage (allow)
 *   broker_down=allow|deny   managed accounts when the broker cannot answer
 *                        (deny: closed for certificates and managed accounts)
 *   ignore_unknown       PAM_IGNORE instead of PAM_SUCCESS for unknown users
 *   codes=PATH           break-glass code file  (/etc/nhi/breakglass.codes)
 *   spool=DIR            break-glass audit spool (/var/lib/nhi/breakglass-spool,
 *                        which nhid reads from its state directory)
 *   missing=unavail|ignore  break-glass without a code file or without codes
 *                        for the user: PAM_AUTHINFO_UNAVAIL (default) or PAM_IGNORE
 *   elevate              auth: JIT elevation (sudo) instead of break-glass
 *   breakglass           auth: break-glass codes (the default auth mode)
 *   debug                more log lines */
#ifndef NHI_PAM_OPTIONS_H
#define NHI_PAM_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>

#define NHI_PAM_CODES_PATH_DEFAULT "/etc/nhi/breakglass.codes"
#define NHI_PAM_SPOOL_DIR_DEFAULT "/var/lib/nhi/breakglass-spool"

enum nhi_pam_auth_mode { NHI_PAM_AUTH_BREAKGLASS = 0, NHI_PAM_AUTH_ELEVATE };

struct nhi_pam_options {
	const char *socket_path; /* points into argv or a static default */
	uint32_t timeout_ms;
	bool unknown_user_allow;
	bool broker_down_allow;
	bool ignore_unknown;
	const char *codes_path;
	const char *spool_dir;
	enum nhi_pam_auth_mode auth_mode;
	bool bg_missing_ignore; /* missing=ignore */
	bool debug;
};

struct pam_handle;
/* Fills opts from the defaults and argv; never fails. pamh is for logging. */
void nhi_pam_options_parse(struct pam_handle *pamh, int argc, const char **argv,
			   struct nhi_pam_options *opts);

#endif

#include "config.h"

#include <security/pam_ext.h>
#include <security/pam_modules.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "client.h"
#include "options.h"

#define TIMEOUT_MS_DEFAULT 2000u
#define TIMEOUT_MS_MIN     50u
#define TIMEOUT_MS_MAX     30000u

/* "allow" or "deny" into *ret; false when it is neither. */
static bool parse_allow_deny(const char *value, bool *ret)
{
	if (strcmp(value, "allow") == 0)
		*ret = true;
	else if (strcmp(value, "deny") == 0)
		*ret = false;
	else
		return false;
	return true;
}

static bool parse_timeout(const char *value, uint32_t *ret)
{
	unsigned long v;
	char *end;

	if (*value < '0' || *value > '9')
		return false;
	v = strtoul(value, &end, 10);
	if (*end != '\0' || v < TIMEOUT_MS_MIN || v > TIMEOUT_MS_MAX)
		return false;
	*ret = (uint32_t)v;
	return true;
}

/* An absolute path, as every file argument must be: a relative one would
 * depend on the calling program's working directory. */
static bool is_absolute(const char *value)
{
	return value[0] == '/';
}

void nhi_pam_options_parse(struct pam_handle *pamh, int argc, const char **argv,
                           struct nhi_pam_options *opts)
{
	*opts = (struct nhi_pam_options){
	        .socket_path = NHI_SOCKET_PATH_DEFAULT,
	        .timeout_ms = TIMEOUT_MS_DEFAULT,
	        .unknown_user_allow = true,
	        .broker_down_allow = false,
	        .ignore_unknown = false,
	        .codes_path = NHI_PAM_CODES_PATH_DEFAULT,
	        .spool_dir = NHI_PAM_SPOOL_DIR_DEFAULT,
	        .auth_mode = NHI_PAM_AUTH_BREAKGLASS,
	        .debug = false,
	};
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i], *v;
		bool ok = true;

		if (a == NULL)
			continue;
		if (strncmp(a, "socket=", 7) == 0) {
			v = a + 7;
			if ((ok = is_absolute(v)))
				opts->socket_path = v;
		} else if (strncmp(a, "timeout_ms=", 11) == 0) {
			ok = parse_timeout(a + 11, &opts->timeout_ms);
		} else if (strncmp(a, "unknown_user=", 13) == 0) {
			ok = parse_allow_deny(a + 13, &opts->unknown_user_allow);
		} else if (strncmp(a, "broker_down=", 12) == 0) {
			ok = parse_allow_deny(a + 12, &opts->broker_down_allow);
		} else if (strcmp(a, "ignore_unknown") == 0) {
			opts->ignore_unknown = true;
		} else if (strncmp(a, "codes=", 6) == 0) {
			v = a + 6;
			if ((ok = is_absolute(v)))
				opts->codes_path = v;
		} else if (strncmp(a, "spool=", 6) == 0) {
			v = a + 6;
			if ((ok = is_absolute(v)))
				opts->spool_dir = v;
		} else if (strcmp(a, "elevate") == 0) {
			opts->auth_mode = NHI_PAM_AUTH_ELEVATE;
		} else if (strcmp(a, "breakglass") == 0) {
			opts->auth_mode = NHI_PAM_AUTH_BREAKGLASS;
		} else if (strcmp(a, "missing=ignore") == 0) {
			opts->bg_missing_ignore = true;
		} else if (strcmp(a, "missing=unavail") == 0) {
			opts->bg_missing_ignore = false;
		} else if (strcmp(a, "debug") == 0) {
			opts->debug = true;
		} else {
			pam_syslog(pamh, LOG_WARNING, "unknown argument ignored: %s", a);
			continue;
		}
		if (!ok)
			pam_syslog(pamh, LOG_WARNING, "bad value, default kept: %s", a);
	}
}

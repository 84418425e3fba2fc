#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#include "err.h"
#include "log.h"
#include "names.h"
#include "principals_args.h"

#define DECIMAL_MAX 20u  /* digits of UINT64_MAX */
#define KEY_ID_MAX  128u /* "nhi:" name ":" serial, with room */
#define FP_B64_LEN  43u  /* unpadded base64 of a SHA-256 digest */

/* Canonical decimal: digits only, no sign, no leading zero, no overflow. */
static int parse_decimal(const char *s, uint64_t max, uint64_t *ret)
{
	uint64_t v = 0;
	size_t n = strlen(s);

	if (n == 0 || n > DECIMAL_MAX || strspn(s, "0123456789") != n || (s[0] == '0' && n > 1))
		return NHI_ERR_INVALID_FORMAT;
	for (size_t i = 0; i < n; i++) {
		unsigned d = (unsigned)(s[i] - '0');

		if (v > (max - d) / 10)
			return NHI_ERR_INVALID_FORMAT;
		v = v * 10 + d;
	}
	*ret = v;
	return 0;
}

/* "nhi:<identity>:<serial>", the serial being exactly the one sshd gave. */
static bool key_id_is_valid(const char *key_id, const char *serial_text)
{
	char identity[NHI_NAME_MAX + 1];
	const char *p, *colon;
	size_t len;

	if (strlen(key_id) > KEY_ID_MAX || strncmp(key_id, "nhi:", 4) != 0)
		return false;
	p = key_id + 4;
	if ((colon = strchr(p, ':')) == NULL || (len = (size_t)(colon - p)) > NHI_NAME_MAX)
		return false;
	memcpy(identity, p, len);
	identity[len] = '\0';
	return nhi_name_is_valid(identity) && strcmp(colon + 1, serial_text) == 0;
}

/* "SHA256:" and 43 characters of unpadded base64, as sshd prints it. */
static bool fingerprint_is_valid(const char *fp)
{
	static const char b64[] =
	        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

	return strncmp(fp, "SHA256:", 7) == 0 && strlen(fp) == 7 + FP_B64_LEN &&
	       strspn(fp + 7, b64) == FP_B64_LEN;
}

int nhi_principals_args_parse(char *const *argv, struct nhi_principals_args *ret)
{
	struct nhi_principals_args q = {0};
	char buf[80];

	if (!nhi_name_is_valid(argv[0])) {
		nhi_log_warning("invalid account name '%s'",
		                nhi_log_sanitize(argv[0], buf, sizeof(buf)));
		return NHI_ERR_NAME_INVALID;
	}
	q.account = argv[0];
	if (parse_decimal(argv[1], (uid_t)-1 - 1, &q.uid) < 0) {
		nhi_log_warning("%s: invalid uid '%s'", q.account,
		                nhi_log_sanitize(argv[1], buf, sizeof(buf)));
		return NHI_ERR_INVALID_ARGUMENT;
	}
	/* The broker stores serials as int64. */
	if (parse_decimal(argv[2], INT64_MAX, &q.serial) < 0) {
		nhi_log_warning("%s: invalid certificate serial '%s'", q.account,
		                nhi_log_sanitize(argv[2], buf, sizeof(buf)));
		return NHI_ERR_INVALID_ARGUMENT;
	}
	if (!key_id_is_valid(argv[3], argv[2])) {
		nhi_log_warning("%s: key id '%s' is not nhi:<identity>:%s", q.account,
		                nhi_log_sanitize(argv[3], buf, sizeof(buf)), argv[2]);
		return NHI_ERR_INVALID_ARGUMENT;
	}
	q.key_id = argv[3];
	if (!fingerprint_is_valid(argv[4])) {
		nhi_log_warning("%s: invalid key fingerprint '%s'", q.account,
		                nhi_log_sanitize(argv[4], buf, sizeof(buf)));
		return NHI_ERR_INVALID_ARGUMENT;
	}
	q.key_fp = argv[4];
	*ret = q;
	return 0;
}

/* nhi_authkeys_parse_line: an authorized_keys line parsed by authkeys.c,
 * then its key's EC point checked against its curve. Apart from
 * authkeys.c because the curve check needs libcrypto, which
 * nhi-authorized-keys does without. */
#include "config.h"

#include <stddef.h>

#include "authkeys.h"
#include "err.h"

int nhi_authkeys_parse_line(const char *line, size_t len, struct nhi_authkey **ret,
                            const char **ret_reason)
{
	struct nhi_authkey *ak = NULL;
	int r;

	if (ret == NULL)
		return NHI_ERR_INVALID_ARGUMENT;
	if ((r = nhi_authkeys_parse_line_for_match(line, len, &ak, ret_reason)) < 0)
		return r;
	if (ak != NULL && nhi_key_check_curve(ak->key) < 0) {
		/* The answer authkeys.c gives for any other bad blob. */
		if (ret_reason != NULL)
			*ret_reason = "invalid key blob";
		nhi_authkey_free(ak);
		return NHI_ERR_KEY_INVALID;
	}
	*ret = ak;
	return 0;
}

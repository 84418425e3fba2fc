#include "config.h"

#include <sodium.h>
#include <stdlib.h>

#include "b64.h"
#include "err.h"

int nhi_b64_encode(const uint8_t *data, size_t len, char **ret)
{
	size_t enc_len;
	char *s;

	if ((data == NULL && len != 0) || ret == NULL || len > NHI_BUF_SIZE_MAX)
		return NHI_ERR_INVALID_ARGUMENT;
	enc_len = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
	if ((s = malloc(enc_len)) == NULL)
		return NHI_ERR_ALLOC;
	sodium_bin2base64(s, enc_len, data == NULL ? (const uint8_t *)"" : data, len,
			  sodium_base64_VARIANT_ORIGINAL);
	*ret = s;
	return 0;
}

int nhi_b64_decode(const char *text, size_t len, struct nhi_buf *out)
{
	size_t max = len / 4 * 3 + 3, bin_len = 0;
	const char *end = NULL;
	uint8_t *p;
	int r;

	if ((text == NULL && len != 0) || out == NULL)
		return NHI_ERR_INVALID_ARGUMENT;
	if (len % 4 != 0)
		return NHI_ERR_BASE64;
	if (len == 0)
		return 0;
	if ((r = nhi_buf_reserve(out, max, &p)) < 0)
		return r;
	if (sodium_base642bin(p, max, text, len, NULL, &bin_len, &end,
			      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    end != text + len) {
		/* Give back the reserved space: decoding failed. */
		sodium_memzero(p, max);
		nhi_buf_shrink(out, max);
		return NHI_ERR_BASE64;
	}
	nhi_buf_shrink(out, max - bin_len);
	return 0;
}

/* Fuzzes pam_nhi's SSH_AUTH_INFO_0 parser, which runs as root inside sshd
 * on text derived from what the client sent.
 *
 * The input is the variable's text (NUL-terminated copy; the parser takes
 * a C string as pam_getenv returns one). What parses must be bounded: the
 * blob no larger than the text could encode, the key id within its cap. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../pam_nhi/authinfo.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nhi_authinfo ai;
	uint8_t out[64];
	size_t len;
	char *text;

	/* The base64 decoder on its own, with the exact length and no NUL. */
	if (nhi_authinfo_b64_decode((const char *)data, size, out, sizeof(out), &len) == 0)
		CHECK(len <= sizeof(out) && len <= size / 4 * 3);
	if ((text = malloc(size + 1)) == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (nhi_authinfo_parse(text, &ai) == 0) {
		CHECK(strlen(ai.method) <= NHI_AUTHINFO_METHOD_MAX);
		CHECK(strlen(ai.key_type) <= NHI_AUTHINFO_TYPE_MAX);
		CHECK(strlen(ai.cert_key_id) <= NHI_AUTHINFO_KEY_ID_MAX);
		CHECK(ai.key_blob_len <= size / 4 * 3);
		CHECK(ai.key_blob != NULL || !ai.is_cert);
		nhi_authinfo_clear(&ai);
	}
	free(text);
	return 0;
}

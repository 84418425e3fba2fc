/* Fuzzes nhi-issue's reading of the SSH_USER_AUTH file, the record sshd
 * writes of the key the client authenticated with. The input is the file's
 * text (NUL-terminated copy, as nhi-issue reads it). What parses must be a
 * plain key whose blob and fingerprint can be produced again. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../sshd_plugin/issue_authinfo.h"
#include "sshkey.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char fp[NHI_FINGERPRINT_MAX];
	struct nhi_key *key = NULL;
	char *text;

	if (size > NHI_ISSUE_AUTHINFO_MAX || (text = malloc(size + 1)) == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (nhi_issue_authinfo_parse(text, &key) == 0) {
		CHECK(key != NULL);
		CHECK(strncmp(text, "publickey ", 10) == 0);
		CHECK(nhi_key_fingerprint(key, fp) == 0);
		CHECK(strncmp(fp, "SHA256:", 7) == 0);
		nhi_key_free(key);
	} else {
		CHECK(key == NULL);
	}
	free(text);
	return 0;
}

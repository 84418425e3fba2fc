/* Fuzzes the reading of a chained AuthorizedKeysCommand's output
 * (sshd_plugin/chain.c): whatever another tool prints, every line kept
 * must be one authorized_keys line that parses (the helper's way, without
 * the EC curve check), holds a plain key and carries no byte that could
 * split or forge a line on the way to sshd. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authkeys.h"
#include "chain.h"
#include "log.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char **lines = NULL, *out;
	size_t n = 0;

	nhi_log_init("fuzz", 0, LOG_DEBUG);
	if (size > NHI_CHAIN_OUTPUT_MAX)
		return 0;
	/* Exactly size bytes: the reader must not need a terminator. */
	if ((out = malloc(size > 0 ? size : 1)) == NULL)
		abort();
	if (size > 0)
		memcpy(out, data, size);
	CHECK(nhi_chain_lines(out, size, &lines, &n) == 0);
	CHECK(n <= NHI_CHAIN_LINES_MAX);
	for (size_t i = 0; i < n; i++) {
		struct nhi_authkey *ak = NULL;
		size_t len = strlen(lines[i]);

		CHECK(len > 0 && len < NHI_AUTHKEYS_LINE_MAX);
		CHECK(strpbrk(lines[i], "\r\n") == NULL);
		for (size_t j = 0; j < len; j++)
			CHECK((unsigned char)lines[i][j] >= 0x20 || lines[i][j] == '\t');
		CHECK(nhi_authkeys_parse_line_for_match(lines[i], len, &ak, NULL) == 0);
		CHECK(ak != NULL && ak->key != NULL && !ak->opts.cert_authority);
		nhi_authkey_free(ak);
	}
	nhi_chain_lines_free(lines, n);
	free(out);
	return 0;
}

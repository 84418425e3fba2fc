/* Fuzzes the break-glass code file parser (pam_nhi's auth stage reads the
 * file as root, then rewrites it) and the normalizer of typed codes.
 *
 * The input is the file's bytes. A file that parses must format back to
 * text that parses to the same codes: the module rewrites the file after
 * every use, and a rewrite must neither lose nor revive a code. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../pam_nhi/breakglass_codes.h"
#include "fuzz.h"

static void check_same(const struct nhi_bg_codes *a, const struct nhi_bg_codes *b)
{
	CHECK(a->n == b->n);
	for (size_t i = 0; i < a->n; i++) {
		CHECK(strcmp(a->v[i].account, b->v[i].account) == 0);
		CHECK(strcmp(a->v[i].hash, b->v[i].hash) == 0);
		CHECK(a->v[i].used_at == b->v[i].used_at);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nhi_bg_codes codes = {0}, again = {0};
	char canon[NHI_BG_CODE_SYMBOLS + 1], *text = NULL, *typed;
	size_t line = 0, len = 0;

	if (nhi_bg_codes_parse((const char *)data, size, &codes, &line) == 0) {
		CHECK(codes.n <= NHI_BG_LINES_MAX);
		CHECK(nhi_bg_codes_format(&codes, &text, &len) == 0);
		CHECK(strlen(text) == len);
		CHECK(nhi_bg_codes_parse(text, len, &again, &line) == 0);
		check_same(&codes, &again);
		free(text);
		nhi_bg_codes_clear(&again);
		nhi_bg_codes_clear(&codes);
	} else {
		CHECK(codes.v == NULL && codes.n == 0);
	}
	/* The same bytes as a typed code. */
	if (size <= 4 * NHI_BG_CODE_TEXT_MAX && (typed = malloc(size + 1)) != NULL) {
		memcpy(typed, data, size);
		typed[size] = '\0';
		if (nhi_bg_code_normalize(typed, canon) == 0)
			CHECK(strlen(canon) == NHI_BG_CODE_SYMBOLS);
		free(typed);
	}
	return 0;
}

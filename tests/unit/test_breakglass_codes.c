/* pam_nhi/breakglass_codes.c: the code file format (parse, rewrite,
 * replace), hostile lines, and the code alphabet. */
#include "config.h"

#include <criterion/criterion.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../pam_nhi/breakglass_codes.h"
#include "err.h"

#define H1 "$argon2id$v=19$m=16384,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA"
#define H2 "$argon2id$v=19$m=16384,t=2,p=1$b3RoZXJzYWx0$b3RoZXJoYXNoaGFzaA"

static int parse(const char *text, struct nhi_bg_codes *c, size_t *line)
{
	return nhi_bg_codes_parse(text, strlen(text), c, line);
}

/* Found by fuzz_bg_codes: the text of a file without codes was not
 * NUL-terminated. */
Test(breakglass_codes, format_without_codes_is_a_string)
{
	struct nhi_bg_codes c = {0};
	size_t len = 0;
	char *out = NULL;

	cr_assert_eq(nhi_bg_codes_format(&c, &out, &len), 0);
	cr_assert_eq(strlen(out), len);
	cr_assert_eq(out[0], '#');
	free(out);
}

Test(breakglass_codes, parse_format_round_trip)
{
	const char *text = "# comment\n\nroot " H1 " unused\nops " H2 " used:1700000000\n";
	struct nhi_bg_codes c = {0}, c2 = {0};
	char *out = NULL;
	size_t len = 0, line = 0;

	cr_assert_eq(parse(text, &c, &line), 0);
	cr_assert_eq(c.n, 2);
	cr_assert_str_eq(c.v[0].account, "root");
	cr_assert_str_eq(c.v[0].hash, H1);
	cr_assert_eq(c.v[0].used_at, 0);
	cr_assert_eq(c.v[1].used_at, 1700000000u);
	cr_assert_eq(nhi_bg_codes_format(&c, &out, &len), 0);
	cr_assert_eq(strlen(out), len);
	cr_assert_eq(nhi_bg_codes_parse(out, len, &c2, &line), 0);
	cr_assert_eq(c2.n, 2);
	cr_assert_str_eq(c2.v[1].account, "ops");
	cr_assert_eq(c2.v[1].used_at, 1700000000u);
	free(out);
	nhi_bg_codes_clear(&c);
	nhi_bg_codes_clear(&c2);
	nhi_bg_codes_clear(NULL);
}

Test(breakglass_codes, hostile_lines_reject_the_file)
{
	static const struct {
		const char *text;
		size_t line;
	} bad[] = {
	        {"root " H1 " unused\nroot " H1 "\n", 2},          /* two fields */
	        {"root " H1 " unused extra\n", 1},                 /* four */
	        {"root  " H1 " unused\n", 1},                      /* empty field */
	        {"root $2y$10$abcdefgh unused\n", 1},              /* not argon2id */
	        {"root " H1 " used:\n", 1},                        /* no time */
	        {"root " H1 " used:0\n", 1},                       /* zero time */
	        {"root " H1 " used:-5\n", 1},                      /* sign */
	        {"root " H1 " used:99999999999999999999999\n", 1}, /* overflow */
	        {"root " H1 " Unused\n", 1},
	        {"../x " H1 " unused\n", 1},                       /* not a user name */
	        {"ro\tot " H1 " unused\n", 1},
	        {"root " H1 " unused\r\n", 1},                     /* CR */
	        {"root $argon2id$v=19$m=1\x01 unused\n", 1},       /* control byte */
	        {"# ok\nroot " H1 " unused\nbogus\n", 3},
	};
	struct nhi_bg_codes c = {0};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t line = 0;

		cr_assert_lt(parse(bad[i].text, &c, &line), 0, "case %zu accepted", i);
		cr_assert_eq(line, bad[i].line, "case %zu: line %zu", i, line);
		cr_assert_null(c.v);
	}
}

Test(breakglass_codes, nul_byte_and_long_line_rejected)
{
	char text[] = "root " H1 " unused\n";
	char *big = malloc(2000);
	struct nhi_bg_codes c = {0};
	size_t line = 0;

	text[2] = '\0';
	cr_assert_lt(nhi_bg_codes_parse(text, sizeof(text) - 1, &c, &line), 0);
	memset(big, 'a', 1999);
	big[1999] = '\0';
	cr_assert_eq(parse(big, &c, &line), NHI_ERR_LINE_TOO_LONG);
	free(big);
}

Test(breakglass_codes, too_many_lines_rejected)
{
	size_t one = strlen("root " H1 " unused\n"), n = NHI_BG_LINES_MAX + 1;
	char *text = malloc(one * n + 1);
	struct nhi_bg_codes c = {0};
	size_t line = 0;

	for (size_t i = 0; i < n; i++)
		memcpy(text + i * one, "root " H1 " unused\n", one);
	text[one * n] = '\0';
	cr_assert_eq(parse(text, &c, &line), NHI_ERR_TOO_MANY);
	free(text);
}

Test(breakglass_codes, replace_keeps_other_accounts)
{
	const char *text = "root " H1 " unused\nops " H2 " used:5\nroot " H2 " used:7\n";
	const char *hashes[] = {H2, H1, H2};
	struct nhi_bg_codes c = {0};
	size_t line = 0;

	cr_assert_eq(parse(text, &c, &line), 0);
	cr_assert_eq(nhi_bg_codes_replace(&c, "root", hashes, 3), 0);
	cr_assert_eq(c.n, 4);
	cr_assert_str_eq(c.v[0].account, "ops");
	cr_assert_eq(c.v[0].used_at, 5);
	for (size_t i = 1; i < 4; i++) {
		cr_assert_str_eq(c.v[i].account, "root");
		cr_assert_eq(c.v[i].used_at, 0);
	}
	cr_assert_eq(nhi_bg_codes_replace(&c, "bad/name", hashes, 1), NHI_ERR_INVALID_ARGUMENT);
	cr_assert_eq(nhi_bg_codes_replace(&c, "root", (const char *[]){"plain"}, 1),
	             NHI_ERR_INVALID_ARGUMENT);
	cr_assert_eq(c.n, 4);
	nhi_bg_codes_clear(&c);
}

Test(breakglass_codes, encode_normalize_and_hash)
{
	unsigned char rnd[16];
	char canon[NHI_BG_CODE_SYMBOLS + 1], shown[NHI_BG_CODE_TEXT_MAX + 1];
	char back[NHI_BG_CODE_SYMBOLS + 1], lower[64], hash[crypto_pwhash_STRBYTES];

	cr_assert_geq(sodium_init(), 0);
	randombytes_buf(rnd, sizeof(rnd));
	nhi_bg_code_encode(rnd, sizeof(rnd), canon, shown);
	cr_assert_eq(strlen(canon), NHI_BG_CODE_SYMBOLS);
	cr_assert_eq(strlen(shown), NHI_BG_CODE_TEXT_MAX - 1);
	cr_assert_eq(shown[4], '-');
	cr_assert_eq(nhi_bg_code_normalize(shown, back), 0);
	cr_assert_str_eq(back, canon);
	for (size_t i = 0; i <= strlen(shown); i++)
		lower[i] = (char)(shown[i] >= 'A' && shown[i] <= 'Z' ? shown[i] + 32 : shown[i]);
	cr_assert_eq(nhi_bg_code_normalize(lower, back), 0);
	cr_assert_str_eq(back, canon);
	cr_assert_eq(nhi_bg_code_normalize("0O1I-L", back), NHI_ERR_INVALID_FORMAT);
	cr_assert_eq(nhi_bg_code_normalize("OOOO-IIII-LLLL-0000-1111", back), 0);
	cr_assert_str_eq(back, "00001111111100001111");
	cr_assert_eq(nhi_bg_code_normalize("UUUU-0000-0000-0000-0000", back),
	             NHI_ERR_INVALID_FORMAT); /* U is not in the alphabet */
	cr_assert_eq(nhi_bg_code_normalize("0000-0000-0000-0000-00000", back),
	             NHI_ERR_INVALID_FORMAT);
	cr_assert_eq(nhi_bg_code_normalize("", back), NHI_ERR_INVALID_FORMAT);
	/* What nhictl stores verifies what a user types, and nothing else. */
	cr_assert_eq(crypto_pwhash_str(hash, canon, strlen(canon), NHI_BG_PWHASH_OPSLIMIT,
	                               NHI_BG_PWHASH_MEMLIMIT),
	             0);
	cr_assert_eq(crypto_pwhash_str_verify(hash, back, strlen(back)), -1);
	cr_assert_eq(nhi_bg_code_normalize(lower, back), 0);
	cr_assert_eq(crypto_pwhash_str_verify(hash, back, strlen(back)), 0);
}

#include "config.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chain.h"
#include "err.h"
#include "log.h"

#define FP    "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU"
#define KEY_A "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAKwSqC+2NTywnDGqoy7jn291e8wi2d0bXuxjgqxSqW6"

static const struct nhi_chain_tokens tokens = {"alice", "1001", FP, "ssh-ed25519", "AAAAkey"};

static void quiet(void)
{
	nhi_log_init("test", 0, LOG_DEBUG);
}

TestSuite(chain, .init = quiet);

Test(chain, splits_on_blanks_and_expands_the_helpers_tokens)
{
	char **argv = NULL;

	cr_assert_eq(nhi_chain_argv("/usr/bin/eic  %u\t%f %U:%t %k 100%% x%%u", &tokens, &argv), 0);
	cr_assert_str_eq(argv[0], "/usr/bin/eic");
	cr_assert_str_eq(argv[1], "alice");
	cr_assert_str_eq(argv[2], FP);
	cr_assert_str_eq(argv[3], "1001:ssh-ed25519");
	cr_assert_str_eq(argv[4], "AAAAkey");
	cr_assert_str_eq(argv[5], "100%");
	cr_assert_str_eq(argv[6], "x%u");
	cr_assert_null(argv[7]);
	nhi_chain_argv_free(argv);
}

Test(chain, refuses_tokens_it_was_not_given_and_relative_programs)
{
	static const char *const bad[] = {
	        "/bin/x %h", "/bin/x %C", "/bin/x %", "/bin/x %D",
	        "bin/x %u",  "",          "   ",      "%u /bin/x",
	};
	char **argv = (char **)1;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(nhi_chain_argv(bad[i], &tokens, &argv), NHI_ERR_INVALID_FORMAT, "%s",
		             bad[i]);
		cr_assert_null(argv);
	}
}

Test(chain, caps_the_number_of_arguments)
{
	char cmd[512] = "/bin/x", **argv = NULL;

	for (unsigned i = 0; i < NHI_CHAIN_ARGS_MAX; i++)
		strcat(cmd, " a");
	cr_assert_eq(nhi_chain_argv(cmd, &tokens, &argv), NHI_ERR_STRING_TOO_LARGE);
	cr_assert_null(argv);
}

Test(chain, keeps_only_well_formed_key_lines)
{
	char *out = NULL, *longline = malloc(20000), **lines = NULL;
	size_t n = 0;

	memset(longline, 'c', 19999);
	longline[19999] = '\0';
	cr_assert(asprintf(&out,
	                   "# comment\n\n%s one\r\n"
	                   "bogus-option %s\n"
	                   "cert-authority %s\n"
	                   "%s %s\n"
	                   "%s \x1b[2J\n"
	                   "not a key at all\n"
	                   "no-pty %s two",
	                   KEY_A, KEY_A, KEY_A, KEY_A, longline, KEY_A, KEY_A) > 0);
	cr_assert_eq(nhi_chain_lines(out, strlen(out), &lines, &n), 0);
	cr_assert_eq(n, 2);
	cr_assert_str_eq(lines[0], KEY_A " one");
	cr_assert_str_eq(lines[1], "no-pty " KEY_A " two");
	nhi_chain_lines_free(lines, n);
	free(out);
	free(longline);
}

Test(chain, keeps_at_most_the_cap)
{
	size_t len = (NHI_CHAIN_LINES_MAX + 5) * (sizeof(KEY_A) + 1), pos = 0, n = 0;
	char *out = malloc(len + 1), **lines = NULL;

	for (unsigned i = 0; i < NHI_CHAIN_LINES_MAX + 5; i++)
		pos += (size_t)sprintf(out + pos, "%s\n", KEY_A);
	cr_assert_eq(nhi_chain_lines(out, pos, &lines, &n), 0);
	cr_assert_eq(n, NHI_CHAIN_LINES_MAX);
	nhi_chain_lines_free(lines, n);
	free(out);
}

Test(chain, binary_garbage_gives_no_line)
{
	char out[4096], **lines = NULL;
	size_t n = 0;

	for (size_t i = 0; i < sizeof(out); i++)
		out[i] = (char)(i * 131 + 7);
	cr_assert_eq(nhi_chain_lines(out, sizeof(out), &lines, &n), 0);
	cr_assert_eq(n, 0);
	nhi_chain_lines_free(lines, n);
}

/* Taking one key's lines out of an authorized_keys file (broker/retire.c):
 * everything else stays byte for byte. */
#include <config.h>

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "retire.h"
#include "sshkey.h"

#define KEY1 "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGTpaihF+9CfEkqRbzUMjx9Xc3HV8CA8SVR0fiY0e83V"
#define KEY2 "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICUBxnuNGUcZEBY9Ex82m/T/wzuoafRYthIqxin++9zf"

static struct nhi_key *key1;

static void setup(void)
{
	cr_assert_eq(nhi_key_from_text(KEY1, &key1, NULL), 0);
}

static void teardown(void)
{
	nhi_key_free(key1);
}

TestSuite(retire, .init = setup, .fini = teardown);

static void check_remove(const char *in, const char *want, size_t want_removed)
{
	char *out = NULL;
	size_t len = 0, removed = 99;

	cr_assert_eq(nhi_authkeys_remove_key(in, strlen(in), key1, &out, &len, &removed), 0);
	cr_expect_eq(removed, want_removed, "removed %zu lines of: %s", removed, in);
	cr_expect_eq(len, strlen(want));
	cr_expect_str_eq(out, want);
	free(out);
}

Test(retire, removes_only_the_key_and_keeps_the_rest_byte_for_byte)
{
	check_remove("# keys\n" KEY1 " alice@laptop\n" KEY2 " bob\n", "# keys\n" KEY2 " bob\n", 1);
	/* Options, CRLF endings, blank lines, odd spacing and junk stay. */
	check_remove("\n  \t\n" KEY2 " x\r\n"
	             "no-pty,from=\"10.0.0.1\" " KEY1 " c\r\n"
	             "not a key line\n" KEY2 "   two  spaces\n",
	             "\n  \t\n" KEY2 " x\r\n"
	             "not a key line\n" KEY2 "   two  spaces\n",
	             1);
}

Test(retire, every_line_of_the_key_goes)
{
	check_remove(KEY1 "\n" KEY2 "\n" KEY1 " again\n", KEY2 "\n", 2);
}

Test(retire, last_line_without_newline)
{
	check_remove(KEY2 "\n" KEY1, KEY2 "\n", 1);
	check_remove(KEY1 "\n" KEY2, KEY2, 1);
}

Test(retire, cert_authority_lines_are_kept)
{
	check_remove("cert-authority " KEY1 "\n", "cert-authority " KEY1 "\n", 0);
}

Test(retire, nothing_to_remove)
{
	check_remove("", "", 0);
	check_remove("# only a comment", "# only a comment", 0);
	check_remove(KEY2 "\n", KEY2 "\n", 0);
}

Test(retire, embedded_nul_is_kept)
{
	static const char in[] = "a\0b\n" KEY1 "\nz\n";
	static const char want[] = "a\0b\nz\n";
	char *out = NULL;
	size_t len = 0, removed = 0;

	cr_assert_eq(nhi_authkeys_remove_key(in, sizeof(in) - 1, key1, &out, &len, &removed), 0);
	cr_expect_eq(removed, 1);
	cr_assert_eq(len, sizeof(want) - 1);
	cr_expect(memcmp(out, want, len) == 0);
	free(out);
}

Test(retire, bad_arguments)
{
	char *out = NULL;
	size_t len;

	cr_expect_eq(nhi_authkeys_remove_key(NULL, 3, key1, &out, &len, NULL),
	             NHI_ERR_INVALID_ARGUMENT);
	cr_expect_eq(nhi_authkeys_remove_key("x", 1, NULL, &out, &len, NULL),
	             NHI_ERR_INVALID_ARGUMENT);
}

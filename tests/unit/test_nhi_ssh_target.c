#include "config.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "nhi_ssh_target.h"

Test(nhi_ssh_target, accepts_names_and_addresses)
{
	cr_assert(nhi_ssh_host_is_valid("127.0.0.1"));
	cr_assert(nhi_ssh_host_is_valid("::1"));
	cr_assert(nhi_ssh_host_is_valid("storage.example.org"));
	cr_assert(nhi_ssh_host_is_valid("fe80::1%eth0"));
}

Test(nhi_ssh_target, refuses_hosts_that_are_options_paths_or_control_bytes)
{
	char big[NHI_SSH_HOST_MAX + 2];

	cr_assert_not(nhi_ssh_host_is_valid(""));
	cr_assert_not(nhi_ssh_host_is_valid("-oProxyCommand=sh"));
	cr_assert_not(nhi_ssh_host_is_valid("a b"));
	cr_assert_not(nhi_ssh_host_is_valid("host\n"));
	cr_assert_not(nhi_ssh_host_is_valid("host\tx"));
	cr_assert_not(nhi_ssh_host_is_valid("a@b"));
	cr_assert_not(nhi_ssh_host_is_valid("../etc/passwd"));
	cr_assert_not(nhi_ssh_host_is_valid("a\\b"));
	cr_assert_not(nhi_ssh_host_is_valid("h\x7f"));
	cr_assert_not(nhi_ssh_host_is_valid("h\xc3\xa9"));
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	cr_assert_not(nhi_ssh_host_is_valid(big));
	big[NHI_SSH_HOST_MAX] = '\0';
	cr_assert(nhi_ssh_host_is_valid(big));
}

Test(nhi_ssh_target, splits_user_at_host)
{
	char a[] = "backup@storage.example.org", b[] = "127.0.0.1";
	const char *user, *host;

	cr_assert_eq(nhi_ssh_split_target(a, &user, &host), 0);
	cr_assert_str_eq(user, "backup");
	cr_assert_str_eq(host, "storage.example.org");
	cr_assert_eq(nhi_ssh_split_target(b, &user, &host), 0);
	cr_assert_null(user);
	cr_assert_str_eq(host, "127.0.0.1");
}

Test(nhi_ssh_target, refuses_bad_users_and_hosts_leaving_the_argument_whole)
{
	char a[] = "../x@host", b[] = "@host", c[] = "user@", d[] = "a@b@host", e[] = "-l@host";
	const char *user = "unset", *host = "unset";

	cr_assert_eq(nhi_ssh_split_target(a, &user, &host), NHI_ERR_NAME_INVALID);
	cr_assert_str_eq(a, "../x@host");
	cr_assert_eq(nhi_ssh_split_target(b, &user, &host), NHI_ERR_NAME_INVALID);
	cr_assert_eq(nhi_ssh_split_target(c, &user, &host), NHI_ERR_INVALID_ARGUMENT);
	cr_assert_str_eq(c, "user@");
	/* The last '@' splits: "a@b" is not an account name. */
	cr_assert_eq(nhi_ssh_split_target(d, &user, &host), NHI_ERR_NAME_INVALID);
	cr_assert_eq(nhi_ssh_split_target(e, &user, &host), NHI_ERR_NAME_INVALID);
	cr_assert_str_eq(user, "unset");
	cr_assert_str_eq(host, "unset");
}

Test(nhi_ssh_target, joins_words_with_single_spaces)
{
	char *words[] = {"echo", "a b", "", "'c'"};
	char *one[] = {"id"};
	char *cmd = NULL;

	cr_assert_eq(nhi_ssh_join_command(4, words, &cmd), 0);
	cr_assert_str_eq(cmd, "echo a b  'c'");
	free(cmd);
	cr_assert_eq(nhi_ssh_join_command(1, one, &cmd), 0);
	cr_assert_str_eq(cmd, "id");
	free(cmd);
	cr_assert_eq(nhi_ssh_join_command(0, one, &cmd), NHI_ERR_INVALID_ARGUMENT);
}

Test(nhi_ssh_target, refuses_a_command_past_the_cap)
{
	char *big = malloc(NHI_SSH_COMMAND_MAX);
	char *words[] = {big};
	char *half = malloc(NHI_SSH_COMMAND_MAX / 2);
	char *two[] = {half, half};
	char *cmd = NULL;

	cr_assert_not_null(big);
	cr_assert_not_null(half);
	memset(big, 'x', NHI_SSH_COMMAND_MAX - 1);
	big[NHI_SSH_COMMAND_MAX - 1] = '\0';
	cr_assert_eq(nhi_ssh_join_command(1, words, &cmd), 0);
	cr_assert_eq(strlen(cmd), NHI_SSH_COMMAND_MAX - 1);
	free(cmd);
	cmd = NULL;
	memset(half, 'y', NHI_SSH_COMMAND_MAX / 2 - 1);
	half[NHI_SSH_COMMAND_MAX / 2 - 1] = '\0';
	cr_assert_eq(nhi_ssh_join_command(2, two, &cmd), 0); /* exactly the cap */
	free(cmd);
	cmd = NULL;
	{
		char *three[] = {half, half, "z"};

		cr_assert_eq(nhi_ssh_join_command(3, three, &cmd), NHI_ERR_STRING_TOO_LARGE);
		cr_assert_null(cmd);
	}
	free(big);
	free(half);
}

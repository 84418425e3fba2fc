#include "config.h"

#include <criterion/criterion.h>
#include <string.h>

#include "names.h"

static const char *const valid_names[] = {
	"a", "root", "alice", "_apt", "www-data", "user_1", "a0", "backup-bot",
	"host01$", "abcdefghijklmnopqrstuvwxyz012345", /* 32 bytes */
};

static const char *const invalid_names[] = {
	"", "../x", "..", ".", "a/b", "/etc", "alice\n", "al\nice", "%u", "a%h", "a b",
	" alice", "alice ", "\talice", "Alice", "ALICE", "-rf", "1abc", "0", "al.ice",
	"a$b", "$", "a$$", "alice\x7f", "al\x01ice", "caf\xc3\xa9", "\xd0\xb0\xd0\xb1",
	"abcdefghijklmnopqrstuvwxyz0123456", /* 33 bytes */
	"a:b", "a,b", "a@b", "a\\b", "a\"b", "a'b", "a*",
};

Test(names, valid_names_pass)
{
	for (size_t i = 0; i < sizeof(valid_names) / sizeof(valid_names[0]); i++)
		cr_expect(nhi_name_is_valid(valid_names[i]), "refused \"%s\"", valid_names[i]);
}

Test(names, invalid_names_fail)
{
	for (size_t i = 0; i < sizeof(invalid_names) / sizeof(invalid_names[0]); i++)
		cr_expect(!nhi_name_is_valid(invalid_names[i]), "accepted invalid name #%zu", i);
}

Test(names, null_and_long_names_fail)
{
	char big[301];

	cr_assert(!nhi_name_is_valid(NULL));
	memset(big, 'a', 300);
	big[300] = '\0';
	cr_assert(!nhi_name_is_valid(big));
	big[NHI_NAME_MAX] = '\0';
	cr_assert(nhi_name_is_valid(big));
	big[NHI_NAME_MAX - 1] = '$';
	cr_assert(nhi_name_is_valid(big), "trailing $ within 32 bytes");
}

Test(names, principals)
{
	static const char *const ok[] = {
		"alice", "root", "nhi:alice", "team-ops", "alice@example.com", "A.B_c-1",
		"role/admin", "%u", "x",
	};
	static const char *const bad[] = {
		"", "a,b", "a b", "a\nb", "a\tb", "\x7f", "caf\xc3\xa9", "alice\r",
	};
	char big[300];

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		cr_expect(nhi_principal_is_valid(ok[i]), "refused \"%s\"", ok[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect(!nhi_principal_is_valid(bad[i]), "accepted invalid principal #%zu", i);
	cr_assert(!nhi_principal_is_valid(NULL));

	memset(big, 'p', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	cr_assert(!nhi_principal_is_valid(big), "300 bytes accepted");
	big[NHI_PRINCIPAL_MAX] = '\0';
	cr_assert(nhi_principal_is_valid(big));
	big[NHI_PRINCIPAL_MAX] = 'p';
	big[NHI_PRINCIPAL_MAX + 1] = '\0';
	cr_assert(!nhi_principal_is_valid(big));
}

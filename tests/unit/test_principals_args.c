#include "config.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "log.h"
#include "principals_args.h"

#define FP "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU"

static int parse(const char *account, const char *uid, const char *serial, const char *key_id,
                 const char *fp, struct nhi_principals_args *ret)
{
	char *argv[] = {(char *)account, (char *)uid, (char *)serial, (char *)key_id, (char *)fp};

	return nhi_principals_args_parse(argv, ret);
}

static void quiet(void)
{
	nhi_log_init("test", 0, LOG_DEBUG);
}

TestSuite(principals_args, .init = quiet);

Test(principals_args, accepts_what_sshd_gives_for_an_nhi_certificate)
{
	struct nhi_principals_args a;

	cr_assert_eq(parse("backup-bot", "70001", "42", "nhi:backup-bot:42", FP, &a), 0);
	cr_assert_str_eq(a.account, "backup-bot");
	cr_assert_eq(a.uid, 70001);
	cr_assert_eq(a.serial, 42);
	cr_assert_str_eq(a.key_id, "nhi:backup-bot:42");
	cr_assert_str_eq(a.key_fp, FP);
	cr_assert_eq(parse("a", "0", "9223372036854775807", "nhi:a:9223372036854775807", FP, &a),
	             0);
	cr_assert_eq(a.serial, 9223372036854775807ull);
}

Test(principals_args, rejects_hostile_account_names)
{
	static const char *const bad[] = {"",    "a/b",  "..", "a\nroot", "%u",
	                                  "a b", "Root", "-c", "a:b"};
	char longname[301];
	struct nhi_principals_args a = {.account = "untouched"};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect_lt(parse(bad[i], "1", "1", "nhi:x:1", FP, &a), 0, "accepted '%s'",
		             bad[i]);
	memset(longname, 'a', 300);
	longname[300] = '\0';
	cr_expect_lt(parse(longname, "1", "1", "nhi:x:1", FP, &a), 0);
	cr_assert_str_eq(a.account, "untouched");
}

Test(principals_args, numbers_are_canonical_decimal_in_range)
{
	static const char *const bad[] = {"",
	                                  "abc",
	                                  "-1",
	                                  "+1",
	                                  " 1",
	                                  "1 ",
	                                  "01",
	                                  "0x10",
	                                  "1e3",
	                                  "18446744073709551616",
	                                  "9223372036854775808"};
	struct nhi_principals_args a;
	char key_id[64];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(key_id, sizeof(key_id), "nhi:x:%s", bad[i]);
		cr_expect_lt(parse("x", "1", bad[i], key_id, FP, &a), 0, "serial '%s'", bad[i]);
		cr_expect_lt(parse("x", bad[i], "1", "nhi:x:1", FP, &a), 0, "uid '%s'", bad[i]);
	}
	/* (uid_t)-1 means "no uid" to the kernel. */
	cr_expect_lt(parse("x", "4294967295", "1", "nhi:x:1", FP, &a), 0);
	cr_expect_lt(parse("x", "4294967296", "1", "nhi:x:1", FP, &a), 0);
	cr_expect_eq(parse("x", "4294967294", "1", "nhi:x:1", FP, &a), 0);
}

Test(principals_args, key_id_is_nhi_identity_serial_with_the_same_serial)
{
	static const char *const bad[] = {"",          "nhi:x:2",     "nhi:x:01", "nhi:x:1 ",
	                                  "nhi:x:1\n", "nhi::1",      "nhi:X:1",  "nhi:a/b:1",
	                                  "nhi:x:y:1", "x:x:1",       "NHI:x:1",  "nhi:x",
	                                  "nhi:x:",    "nhi:x:1,root"};
	struct nhi_principals_args a;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect_lt(parse("x", "1", "1", bad[i], FP, &a), 0, "key id '%s'", bad[i]);
}

Test(principals_args, fingerprint_is_sha256_base64)
{
	static const char *const bad[] = {"",
	                                  "SHA256:",
	                                  "MD5:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU",
	                                  "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuF",
	                                  "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
	                                  "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuF%",
	                                  "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuF\n"};
	struct nhi_principals_args a;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect_lt(parse("x", "1", "1", "nhi:x:1", bad[i], &a), 0, "fingerprint '%s'",
		             bad[i]);
}

/* pam_nhi/authinfo.c: SSH_AUTH_INFO_0 as sshd writes it, certificates made
 * by ssh-keygen, and hostile input. */
#include "config.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../pam_nhi/authinfo.h"
#include "err.h"
#include "support.h"

/* Makes an ed25519 user certificate with ssh-keygen (serial, key id) and
 * returns the text of its -cert.pub ("TYPE BASE64 COMMENT"). */
static char *keygen_cert(const char *type, const char *bits, const char *serial, const char *key_id)
{
	char *dir = test_mkdtemp(), *ca = test_path(dir, "ca"), *user = test_path(dir, "user");
	char *certpub, *text, *out = NULL;
	char *ca_argv[] = {
	        (char *)test_ssh_keygen(), "-q", "-t", "ed25519", "-N", "", "-f", ca, NULL};
	char *user_argv[] = {(char *)test_ssh_keygen(),
	                     "-q",
	                     "-t",
	                     (char *)type,
	                     "-b",
	                     (char *)bits,
	                     "-N",
	                     "",
	                     "-f",
	                     user,
	                     NULL};
	char *sign_argv[] = {(char *)test_ssh_keygen(),
	                     "-q",
	                     "-s",
	                     ca,
	                     "-I",
	                     (char *)key_id,
	                     "-n",
	                     "bot",
	                     "-z",
	                     (char *)serial,
	                     "-V",
	                     "+1h",
	                     NULL,
	                     NULL};

	cr_assert_eq(test_run(ca_argv, &out), 0, "%s", out);
	free(out);
	cr_assert_eq(test_run(user_argv, &out), 0, "%s", out);
	free(out);
	if (asprintf(&certpub, "%s.pub", user) < 0)
		cr_assert_fail("asprintf");
	sign_argv[12] = certpub;
	cr_assert_eq(test_run(sign_argv, &out), 0, "%s", out);
	free(out);
	free(certpub);
	if (asprintf(&certpub, "%s-cert.pub", user) < 0)
		cr_assert_fail("asprintf");
	text = test_read_file(certpub, NULL);
	free(certpub);
	free(ca);
	free(user);
	test_rmtree(dir);
	free(dir);
	return text;
}

static void parse_cert(const char *type, const char *bits)
{
	char *text = keygen_cert(type, bits, "18446744073709551615", "nhi:backup-bot:42");
	char line[8192], *sp;
	struct nhi_authinfo ai;

	/* "publickey TYPE BASE64" from "TYPE BASE64 COMMENT" */
	if ((sp = strchr(text, ' ')) != NULL && (sp = strchr(sp + 1, ' ')) != NULL)
		*sp = '\0';
	snprintf(line, sizeof(line), "password\npublickey %s\n", text);
	cr_assert_eq(nhi_authinfo_parse(line, &ai), 0);
	cr_assert_str_eq(ai.method, "publickey");
	cr_assert(ai.is_cert);
	cr_assert_eq(ai.cert_serial, UINT64_MAX);
	cr_assert_str_eq(ai.cert_key_id, "nhi:backup-bot:42");
	cr_assert(ai.key_blob_len > 100);
	nhi_authinfo_clear(&ai);
	free(text);
}

Test(authinfo, ed25519_certificate_from_ssh_keygen)
{
	parse_cert("ed25519", "256");
}

Test(authinfo, ecdsa_certificate_from_ssh_keygen)
{
	parse_cert("ecdsa", "384");
}

Test(authinfo, rsa_certificate_from_ssh_keygen)
{
	parse_cert("rsa", "2048");
}

Test(authinfo, plain_key)
{
	struct nhi_authinfo ai;
	const char *line = "publickey ssh-ed25519 "
	                   "AAAAC3NzaC1lZDI1NTE5AAAAIG3SQ9Ew1bZx1m5Ge0jNIt5Cbo2DZnVXPvoU3bu6HJBf";

	cr_assert_eq(nhi_authinfo_parse(line, &ai), 0);
	cr_assert_str_eq(ai.key_type, "ssh-ed25519");
	cr_assert(!ai.is_cert);
	cr_assert_eq(ai.key_blob_len, 51);
	nhi_authinfo_clear(&ai);
}

Test(authinfo, no_publickey_line)
{
	struct nhi_authinfo ai;

	cr_assert_eq(nhi_authinfo_parse(NULL, &ai), 0);
	cr_assert_str_eq(ai.method, "");
	cr_assert_eq(nhi_authinfo_parse("keyboard-interactive\n", &ai), 0);
	cr_assert_str_eq(ai.method, "keyboard-interactive");
	cr_assert_null(ai.key_blob);
}

Test(authinfo, hostile_input_is_refused)
{
	static const char *const bad[] = {
	        "publickey",
	        "publickey ssh-ed25519",
	        "publickey ssh-ed25519 AAAA=AAA",
	        "publickey ssh-ed25519 AAA",
	        "publickey ssh-ed25519 ====",
	        "publickey ssh-ed25519 !!!!",
	        "Publickey ssh-ed25519 AAAA",
	        "publickey \x01type AAAA",
	        /* a certificate type over a blob too short to hold one */
	        "publickey ssh-ed25519-cert-v01@openssh.com AAAAC3NzaC1lZDI1NTE5",
	        /* the blob's type disagrees with the line's (blob: ssh-ed25519) */
	        "publickey ssh-ed25519-cert-v01@openssh.com "
	        "AAAAC3NzaC1lZDI1NTE5AAAAIG3SQ9Ew1bZx1m5Ge0jNIt5Cbo2DZnVXPvoU3bu6HJBf",
	};
	struct nhi_authinfo ai;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&ai, 0x5a, sizeof(ai));
		cr_assert_lt(nhi_authinfo_parse(bad[i], &ai), 0, "accepted: %s", bad[i]);
		cr_assert_eq(ai.cert_serial, 0x5a5a5a5a5a5a5a5aull, "ret touched: %s", bad[i]);
	}
}

Test(authinfo, oversized_input_is_refused)
{
	size_t n = NHI_AUTHINFO_TEXT_MAX + 16;
	char *text = malloc(n + 1);
	struct nhi_authinfo ai;

	cr_assert_not_null(text);
	memcpy(text, "publickey ssh-ed25519 ", 22);
	memset(text + 22, 'A', n - 22);
	text[n] = '\0';
	cr_assert_eq(nhi_authinfo_parse(text, &ai), NHI_ERR_LINE_TOO_LONG);
	/* one line within the whole but past the blob cap */
	text[NHI_AUTHINFO_TEXT_MAX - 1] = '\0';
	cr_assert_eq(nhi_authinfo_parse(text, &ai), NHI_ERR_LINE_TOO_LONG);
	free(text);
}

Test(authinfo, base64_is_strict)
{
	uint8_t out[8];
	size_t len;

	cr_assert_eq(nhi_authinfo_b64_decode("Zm9vYg==", 8, out, sizeof(out), &len), 0);
	cr_assert_eq(len, 4);
	cr_assert_eq(memcmp(out, "foob", 4), 0);
	cr_assert_eq(nhi_authinfo_b64_decode("Zm9vYmE=", 8, out, sizeof(out), &len), 0);
	cr_assert_eq(len, 5);
	cr_assert_lt(nhi_authinfo_b64_decode("Zm9=YmE=", 8, out, sizeof(out), &len), 0);
	cr_assert_lt(nhi_authinfo_b64_decode("Zm9vY=E=", 8, out, sizeof(out), &len), 0);
	cr_assert_lt(nhi_authinfo_b64_decode("Zm9vYmFy", 8, out, 5, &len), 0);
}

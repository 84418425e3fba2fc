#include "config.h"

#include <criterion/criterion.h>
#include <string.h>

#include "err.h"
#include "issue_authinfo.h"
#include "sshkey.h"

#define ED_KEY "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOiR16jrckFF6poBAeX0jFe+xPejVqhxixpfER8y9J+k"
#define ED_FP  "SHA256:NznVx3orJGpBgfgYENR9TQ5qOw4EnpsBFuwhVZ1n1o0" /* ssh-keygen -lf */

static int parse(const char *text)
{
	struct nhi_key *key = NULL;
	int r = nhi_issue_authinfo_parse(text, &key);

	cr_assert((r == 0) == (key != NULL));
	nhi_key_free(key);
	return r;
}

Test(issue_authinfo, reads_the_device_key_sshd_recorded)
{
	char fp[NHI_FINGERPRINT_MAX];
	struct nhi_key *key = NULL;

	cr_assert_eq(nhi_issue_authinfo_parse("publickey " ED_KEY "\n", &key), 0);
	cr_assert_eq(nhi_key_fingerprint(key, fp), 0);
	cr_assert_str_eq(fp, ED_FP);
	nhi_key_free(key);
	cr_assert_eq(parse("publickey " ED_KEY), 0, "the last newline is optional");
}

Test(issue_authinfo, refuses_anything_but_one_plain_key)
{
	cr_assert_eq(parse(""), NHI_ERR_INVALID_FORMAT);
	cr_assert_eq(parse("password\n"), NHI_ERR_INVALID_FORMAT);
	cr_assert_eq(parse("keyboard-interactive\npublickey " ED_KEY "\n"), NHI_ERR_INVALID_FORMAT,
	             "a second method");
	cr_assert_eq(parse("publickey " ED_KEY "\npublickey " ED_KEY "\n"), NHI_ERR_INVALID_FORMAT,
	             "a second key");
	cr_assert_eq(parse("publickey " ED_KEY " comment\n"), NHI_ERR_INVALID_FORMAT);
	cr_assert_eq(parse("publickey  " ED_KEY "\n"), NHI_ERR_INVALID_FORMAT);
	cr_assert_eq(parse("publickey\tssh-ed25519 AAAA\n"), NHI_ERR_INVALID_FORMAT);
	cr_assert_eq(parse("publickey ssh-ed25519\n"), NHI_ERR_INVALID_FORMAT);
	cr_assert_eq(parse("publickey ssh-ed25519-cert-v01@openssh.com AAAA\n"),
	             NHI_ERR_KEY_TYPE_UNKNOWN, "a certificate is not a device key");
	cr_assert_eq(parse("publickey ssh-foo AAAA\n"), NHI_ERR_KEY_TYPE_UNKNOWN);
	cr_assert_lt(parse("publickey ssh-ed25519 AAAA!!!!\n"), 0);
	cr_assert_lt(
	        parse("publickey ssh-rsa "
	              "AAAAC3NzaC1lZDI1NTE5AAAAIOiR16jrckFF6poBAeX0jFe+xPejVqhxixpfER8y9J+k\n"),
	        0, "a type that disagrees with its blob");
}

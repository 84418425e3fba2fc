/* nhi-pamdrive: drives a real PAM stack the way sshd does, for the
 * integration tests: items (rhost, tty, ruser) and PAM environment
 * variables (SSH_AUTH_INFO_0) set before the stages run, which pamtester
 * cannot do for the environment.
 *
 *   nhi-pamdrive [-I item=value]... [-e NAME=VALUE]... SERVICE USER STAGE...
 *
 * STAGE is acct_mgmt, open_session or close_session. Prints every message
 * of the conversation ("error: ..." or "info: ...") and one line per stage
 * ("acct_mgmt: PAM_PERM_DENIED"); stops at the first stage that fails and
 * exits with its PAM code (0 when all succeed, 100 on usage errors). */
#include "config.h"

#include <security/pam_appl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int converse(int n, const struct pam_message **msg, struct pam_response **ret_resp,
                    void *data)
{
	struct pam_response *resp = calloc((size_t)n, sizeof(*resp));

	(void)data;
	if (resp == NULL)
		return PAM_BUF_ERR;
	for (int i = 0; i < n; i++) {
		switch (msg[i]->msg_style) {
		case PAM_ERROR_MSG:
			printf("error: %s\n", msg[i]->msg);
			break;
		case PAM_TEXT_INFO:
			printf("info: %s\n", msg[i]->msg);
			break;
		default:
			/* No prompts: the stages under test must not ask. */
			free(resp);
			return PAM_CONV_ERR;
		}
	}
	*ret_resp = resp;
	return PAM_SUCCESS;
}

static const char *code_name(int code)
{
	static const struct {
		int code;
		const char *name;
	} names[] = {
	        {PAM_SUCCESS, "PAM_SUCCESS"},
	        {PAM_PERM_DENIED, "PAM_PERM_DENIED"},
	        {PAM_ACCT_EXPIRED, "PAM_ACCT_EXPIRED"},
	        {PAM_USER_UNKNOWN, "PAM_USER_UNKNOWN"},
	        {PAM_AUTHINFO_UNAVAIL, "PAM_AUTHINFO_UNAVAIL"},
	        {PAM_SESSION_ERR, "PAM_SESSION_ERR"},
	        {PAM_IGNORE, "PAM_IGNORE"},
	        {PAM_AUTH_ERR, "PAM_AUTH_ERR"},
	        {PAM_SYSTEM_ERR, "PAM_SYSTEM_ERR"},
	        {PAM_BUF_ERR, "PAM_BUF_ERR"},
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (names[i].code == code)
			return names[i].name;
	}
	return "PAM_OTHER";
}

static int item_type(const char *name)
{
	if (strcmp(name, "rhost") == 0)
		return PAM_RHOST;
	if (strcmp(name, "tty") == 0)
		return PAM_TTY;
	if (strcmp(name, "ruser") == 0)
		return PAM_RUSER;
	return -1;
}

int main(int argc, char **argv)
{
	struct pam_conv conv = {converse, NULL};
	pam_handle_t *pamh = NULL;
	int i, r, code = 0;

	for (i = 1; i + 1 < argc && argv[i][0] == '-'; i += 2) {
		if (strcmp(argv[i], "-I") != 0 && strcmp(argv[i], "-e") != 0)
			break;
	}
	if (argc - i < 3) {
		fprintf(stderr, "usage: nhi-pamdrive [-I item=value]... [-e NAME=VALUE]... "
		                "SERVICE USER STAGE...\n");
		return 100;
	}
	if (pam_start(argv[i], argv[i + 1], &conv, &pamh) != PAM_SUCCESS) {
		fprintf(stderr, "nhi-pamdrive: pam_start failed\n");
		return 100;
	}
	for (int j = 1; j < i; j += 2) {
		char *eq = strchr(argv[j + 1], '=');
		int type;

		if (eq == NULL) {
			fprintf(stderr, "nhi-pamdrive: %s: NAME=VALUE expected\n", argv[j + 1]);
			code = 100;
			goto out;
		}
		if (strcmp(argv[j], "-e") == 0) {
			r = pam_putenv(pamh, argv[j + 1]);
		} else {
			*eq = '\0';
			if ((type = item_type(argv[j + 1])) < 0) {
				fprintf(stderr, "nhi-pamdrive: unknown item %s\n", argv[j + 1]);
				code = 100;
				goto out;
			}
			r = pam_set_item(pamh, type, eq + 1);
		}
		if (r != PAM_SUCCESS) {
			fprintf(stderr, "nhi-pamdrive: %s\n", pam_strerror(pamh, r));
			code = 100;
			goto out;
		}
	}
	for (int j = i + 2; j < argc; j++) {
		if (strcmp(argv[j], "acct_mgmt") == 0) {
			r = pam_acct_mgmt(pamh, 0);
		} else if (strcmp(argv[j], "open_session") == 0) {
			r = pam_open_session(pamh, 0);
		} else if (strcmp(argv[j], "close_session") == 0) {
			r = pam_close_session(pamh, 0);
		} else {
			fprintf(stderr, "nhi-pamdrive: unknown stage %s\n", argv[j]);
			code = 100;
			goto out;
		}
		printf("%s: %s\n", argv[j], code_name(r));
		fflush(stdout);
		if (r != PAM_SUCCESS) {
			code = r;
			goto out;
		}
	}
out:
	pam_end(pamh, code == 0 ? PAM_SUCCESS : PAM_ABORT);
	return code;
}

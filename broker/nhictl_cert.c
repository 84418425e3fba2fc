/* nhictl cert ... and nhictl revoke. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "nhictl.h"

static const struct nhictl_field cert_fields[] = {
        {"serial", "serial", NHICTL_INT, true},
        {"identity", "identity", NHICTL_STR, true},
        {"state", "state", NHICTL_STR, true},
        {"valid_after", "valid_after", NHICTL_TIME, false},
        {"valid_before", "valid_before", NHICTL_TIME, true},
        {"principal", "principals", NHICTL_LIST, true},
        {"key_id", "key_id", NHICTL_STR, false},
        {"key_fingerprint", "key_fingerprint", NHICTL_STR, true},
        {"issued_at", "issued_at", NHICTL_TIME, false},
        {"requester_uid", "requester_uid", NHICTL_INT, false},
        {"requester_pid", "requester_pid", NHICTL_INT, false},
        {"requester_exe", "requester_exe", NHICTL_STR, false},
        {"revoked_at", "revoked_at", NHICTL_TIME, false},
        {"revoke_reason", "revoke_reason", NHICTL_STR, false},
        {"ca_fingerprint", "ca_fingerprint", NHICTL_STR, false},
};
#define N_CERT_FIELDS (sizeof(cert_fields) / sizeof(cert_fields[0]))

static void usage_cert(FILE *f)
{
	fprintf(f, "usage: nhictl cert list [--identity NAME] [--active] [--json]\n"
	           "       nhictl cert show SERIAL [--json]\n"
	           "\n"
	           "  --identity NAME  only this identity's certificates\n"
	           "  --active         only certificates neither expired nor revoked\n"
	           "  -j, --json       JSON output: one object per certificate and line\n"
	           "  -h, --help       this help\n");
}

/* A decimal serial, or a usage error naming it. */
static int parse_serial(const char *cmd, const char *text)
{
	if (text[0] == '\0' || strspn(text, "0123456789") != strlen(text) || strlen(text) > 20)
		return nhictl_usage_error(cmd, "invalid serial '%s': a decimal number", text);
	return NHICTL_EXIT_OK;
}

static int cert_list(struct nhictl *ctl, int argc, char **argv)
{
	static const struct option options[] = {
	        {"identity", required_argument, NULL, 'i'},
	        {"active", no_argument, NULL, 'a'},
	        {"json", no_argument, NULL, 'j'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	struct nhi_kv args, *all = NULL;
	const char *identity = NULL;
	bool active = false;
	size_t n = 0;
	int opt, rc;

	optind = 0;
	while ((opt = getopt_long(argc, argv, ":i:ajh", options, NULL)) != -1) {
		if (opt == 'i')
			identity = optarg;
		else if (opt == 'a')
			active = true;
		else if ((rc = nhictl_common_opt(ctl, "cert list", opt, argv, usage_cert)) !=
		         NHICTL_OPT_DONE)
			return rc;
	}
	if (optind < argc)
		return nhictl_usage_error("cert list", "unexpected argument '%s'", argv[optind]);
	nhi_kv_init(&args);
	if ((identity != NULL && nhi_kv_add_str(&args, "identity", identity) < 0) ||
	    (active && nhi_kv_add_str(&args, "active", "yes") < 0))
		rc = NHICTL_EXIT_FAILED;
	else /* paged by serial */
		rc = nhictl_call_pages(ctl, NHI_MSG_CERT_LIST, &args, "serial", "after_serial", &all,
		                       &n);
	if (rc == NHICTL_EXIT_OK)
		nhictl_print_list(ctl, cert_fields, N_CERT_FIELDS, all, n);
	nhi_kv_clear(&args);
	nhictl_records_free(all, n);
	return rc;
}

static int cert_show(struct nhictl *ctl, int argc, char **argv)
{
	struct nhi_msg_reply reply = {0};
	struct nhi_kv args;
	const char *serial;
	int rc;

	if ((rc = nhictl_one_arg(ctl, "cert show", argc, argv, usage_cert, "SERIAL", &serial)) !=
	    NHICTL_EXIT_OK)
		return rc;
	if ((rc = parse_serial("cert show", serial)) != NHICTL_EXIT_OK)
		return rc;
	nhi_kv_init(&args);
	if (nhi_kv_add_str(&args, "serial", serial) < 0)
		rc = NHICTL_EXIT_FAILED;
	else
		rc = nhictl_call(ctl, NHI_MSG_CERT_SHOW, &args, &reply);
	if (rc == NHICTL_EXIT_OK && reply.n_records > 0)
		nhictl_print_item(ctl, cert_fields, N_CERT_FIELDS, &reply.records[0]);
	nhi_kv_clear(&args);
	nhi_msg_reply_clear(&reply);
	return rc;
}

int nhictl_cmd_cert(struct nhictl *ctl, int argc, char **argv)
{
	const char *sub;
	int rc = nhictl_subcommand_start(argc, argv, usage_cert);

	if (rc != NHICTL_GO_ON)
		return rc;
	sub = argv[1];
	if (strcmp(sub, "list") == 0)
		return cert_list(ctl, argc - 1, argv + 1);
	if (strcmp(sub, "show") == 0)
		return cert_show(ctl, argc - 1, argv + 1);
	return nhictl_usage_error("cert", "unknown subcommand '%s'", sub);
}

static void usage_revoke(FILE *f)
{
	fprintf(f, "usage: nhictl revoke --serial N | --identity NAME | --key FINGERPRINT\n"
	           "                     [--reason TEXT] [--json]\n"
	           "\n"
	           "Revokes certificates or keys and rewrites the KRL sshd reads (RevokedKeys).\n"
	           "\n"
	           "  --serial N         one certificate\n"
	           "  --identity NAME    every unrevoked certificate of an identity\n"
	           "  --key FINGERPRINT  the key itself (listed in the KRL, so sshd refuses it\n"
	           "                     bare or certified) and every unrevoked certificate\n"
	           "                     of it (SHA256:..., as ssh-keygen -lf prints it)\n"
	           "  --reason TEXT      recorded with the revocation and in the audit trail\n"
	           "  -j, --json         JSON output\n"
	           "  -h, --help         this help\n");
}

int nhictl_cmd_revoke(struct nhictl *ctl, int argc, char **argv)
{
	static const struct option options[] = {
	        {"serial", required_argument, NULL, 's'},
	        {"identity", required_argument, NULL, 'i'},
	        {"key", required_argument, NULL, 'k'},
	        {"reason", required_argument, NULL, 'r'},
	        {"json", no_argument, NULL, 'j'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	static const struct nhictl_field fields[] = {
	        {"revoked", "revoked", NHICTL_INT, true},
	        {"serial", "serials", NHICTL_LIST, true},
	        {"key_revoked", "key_revoked", NHICTL_STR, false},
	};
	struct nhi_msg_reply reply = {0};
	struct nhi_kv args;
	const char *serial = NULL, *identity = NULL, *key = NULL, *reason = NULL;
	int opt, rc;

	optind = 0;
	while ((opt = getopt_long(argc, argv, ":s:i:k:r:jh", options, NULL)) != -1) {
		switch (opt) {
		case 's':
			serial = optarg;
			break;
		case 'i':
			identity = optarg;
			break;
		case 'k':
			key = optarg;
			break;
		case 'r':
			reason = optarg;
			break;
		default:
			if ((rc = nhictl_common_opt(ctl, "revoke", opt, argv, usage_revoke)) !=
			    NHICTL_OPT_DONE)
				return rc;
		}
	}
	if (optind < argc)
		return nhictl_usage_error("revoke", "unexpected argument '%s'", argv[optind]);
	if ((serial != NULL) + (identity != NULL) + (key != NULL) != 1)
		return nhictl_usage_error("revoke",
		                          "give exactly one of --serial, --identity or --key");
	if (serial != NULL && (rc = parse_serial("revoke", serial)) != NHICTL_EXIT_OK)
		return rc;
	nhi_kv_init(&args);
	if ((serial != NULL && nhi_kv_add_str(&args, "serial", serial) < 0) ||
	    (identity != NULL && nhi_kv_add_str(&args, "identity", identity) < 0) ||
	    (key != NULL && nhi_kv_add_str(&args, "fingerprint", key) < 0) ||
	    (reason != NULL && nhi_kv_add_str(&args, "reason", reason) < 0))
		rc = NHICTL_EXIT_FAILED;
	else
		rc = nhictl_call(ctl, NHI_MSG_REVOKE, &args, &reply);
	if (rc == NHICTL_EXIT_OK) {
		if (ctl->json && reply.n_records > 0) {
			nhictl_print_item(ctl, fields, 3, &reply.records[0]);
		} else if (!ctl->json) {
			char buf[256];
			printf("%s\n", nhictl_clean(reply.message != NULL ? reply.message : "done",
			                            buf, sizeof(buf)));
		}
	}
	nhi_kv_clear(&args);
	nhi_msg_reply_clear(&reply);
	return rc;
}

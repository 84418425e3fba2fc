/* nhictl keys ...: the static keys discovery found in authorized_keys files. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "nhictl.h"

static const struct nhictl_field key_fields[] = {
        {"fingerprint", "fingerprint", NHICTL_STR, true},
        {"type", "type", NHICTL_STR, true},
        {"bits", "bits", NHICTL_INT, false},
        {"account", "account", NHICTL_STR, true},
        {"path", "path", NHICTL_STR, true},
        {"line", "line", NHICTL_INT, true},
        {"state", "state", NHICTL_STR, true},
        {"weak", "weak", NHICTL_BOOL, true},
        {"options", "options", NHICTL_STR, false},
        {"comment", "comment", NHICTL_STR, false},
        {"first_seen", "first_seen", NHICTL_TIME, false},
        {"last_seen", "last_seen", NHICTL_TIME, true},
        {"last_used", "last_used", NHICTL_TIME, false},
        {"exception_owner", "exception_owner", NHICTL_STR, false},
        {"exception_reason", "exception_reason", NHICTL_STR, false},
        {"exception_until", "exception_until", NHICTL_TIME, false},
};
#define N_KEY_FIELDS (sizeof(key_fields) / sizeof(key_fields[0]))

static void usage_keys(FILE *f)
{
	fprintf(f, "usage: nhictl keys list [--account NAME] [--json]\n"
	           "       nhictl keys show FINGERPRINT [--json]\n"
	           "       nhictl keys retire|restore FINGERPRINT [--json]\n"
	           "       nhictl keys except FINGERPRINT --owner IDENTITY --reason TEXT --until DATE\n"
	           "\n"
	           "Static keys found in authorized_keys files when sshd asked about a login.\n"
	           "\n"
	           "  --account NAME  only this account's keys\n"
	           "  -j, --json      JSON output: one object per key and line\n"
	           "  -h, --help      this help\n");
}

static int keys_list(struct nhictl *ctl, int argc, char **argv)
{
	static const struct option options[] = {
	        {"account", required_argument, NULL, 'a'},
	        {"json", no_argument, NULL, 'j'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	struct nhi_msg_reply reply = {0};
	struct nhi_kv args;
	const char *account = NULL;
	int opt, rc;

	optind = 0;
	while ((opt = getopt_long(argc, argv, ":a:jh", options, NULL)) != -1) {
		if (opt == 'a')
			account = optarg;
		else if ((rc = nhictl_common_opt(ctl, "keys list", opt, argv, usage_keys)) !=
		         NHICTL_OPT_DONE)
			return rc;
	}
	if (optind < argc)
		return nhictl_usage_error("keys list", "unexpected argument '%s'", argv[optind]);
	nhi_kv_init(&args);
	if (account != NULL && nhi_kv_add_str(&args, "account", account) < 0)
		rc = NHICTL_EXIT_FAILED;
	else
		rc = nhictl_call(ctl, NHI_MSG_KEYS_LIST, &args, &reply);
	if (rc == NHICTL_EXIT_OK) {
		nhictl_print_list(ctl, key_fields, N_KEY_FIELDS, reply.records, reply.n_records);
		if (reply.message != NULL && reply.message[0] != '\0') {
			char buf[256];

			fprintf(stderr, "nhictl: %s\n",
			        nhictl_clean(reply.message, buf, sizeof(buf)));
		}
	}
	nhi_kv_clear(&args);
	nhi_msg_reply_clear(&reply);
	return rc;
}

static int keys_show(struct nhictl *ctl, int argc, char **argv)
{
	struct nhi_msg_reply reply = {0};
	struct nhi_kv args;
	const char *fp;
	int rc;

	if ((rc = nhictl_one_arg(ctl, "keys show", argc, argv, usage_keys, "FINGERPRINT", &fp)) !=
	    NHICTL_EXIT_OK)
		return rc;
	if (strncmp(fp, "SHA256:", 7) != 0)
		return nhictl_usage_error("keys show",
		                          "invalid fingerprint '%s': SHA256:..., as ssh-keygen -lf "
		                          "prints it",
		                          fp);
	nhi_kv_init(&args);
	if (nhi_kv_add_str(&args, "fingerprint", fp) < 0)
		rc = NHICTL_EXIT_FAILED;
	else
		rc = nhictl_call(ctl, NHI_MSG_KEYS_SHOW, &args, &reply);
	/* One key may sit in several files: one item per file. */
	for (size_t i = 0; rc == NHICTL_EXIT_OK && i < reply.n_records; i++) {
		if (i > 0 && !ctl->json)
			printf("\n");
		nhictl_print_item(ctl, key_fields, N_KEY_FIELDS, &reply.records[i]);
	}
	nhi_kv_clear(&args);
	nhi_msg_reply_clear(&reply);
	return rc;
}

int nhictl_cmd_keys(struct nhictl *ctl, int argc, char **argv)
{
	const char *sub;
	int rc = nhictl_subcommand_start(argc, argv, usage_keys);

	if (rc != NHICTL_GO_ON)
		return rc;
	sub = argv[1];
	if (strcmp(sub, "list") == 0)
		return keys_list(ctl, argc - 1, argv + 1);
	if (strcmp(sub, "show") == 0)
		return keys_show(ctl, argc - 1, argv + 1);
	if (strcmp(sub, "retire") == 0)
		return nhictl_keys_retire(ctl, argc - 1, argv + 1);
	if (strcmp(sub, "restore") == 0)
		return nhictl_keys_restore(ctl, argc - 1, argv + 1);
	if (strcmp(sub, "except") == 0)
		return nhictl_keys_except(ctl, argc - 1, argv + 1);
	return nhictl_usage_error("keys", "unknown subcommand '%s'", sub);
}

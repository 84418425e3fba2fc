/* nhictl ca show|rotate and nhictl status: records shown as the broker
 * sends them, every field. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "nhictl.h"

static void usage_ca(FILE *f)
{
	fprintf(f, "usage: nhictl ca show [--json]\n"
	           "       nhictl ca rotate [--json]\n"
	           "\n"
	           "show lists every CA key sshd trusts (the signing one and older ones kept\n"
	           "until their last certificate expires); rotate makes a new signing key.\n"
	           "\n"
	           "  -j, --json    JSON output: one object per key and line\n"
	           "  -h, --help    this help\n");
}

static void usage_status(FILE *f)
{
	fprintf(f, "usage: nhictl status [--json]\n"
	           "\n"
	           "The broker's version, CA fingerprint, counts and uptime.\n"
	           "\n"
	           "  -j, --json    JSON output\n"
	           "  -h, --help    this help\n");
}

/* Options of a command that has only the common ones; -1 after --help. */
static int only_common(struct nhictl *ctl, const char *cmd, int argc, char **argv,
                       void (*usage)(FILE *f))
{
	static const struct option options[] = {
	        {"json", no_argument, NULL, 'j'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	int opt, rc;

	optind = 0;
	while ((opt = getopt_long(argc, argv, ":jh", options, NULL)) != -1) {
		rc = nhictl_common_opt(ctl, cmd, opt, argv, usage);
		if (rc == NHICTL_EXIT_OK)
			return -1;
		if (rc != NHICTL_OPT_DONE)
			return rc;
	}
	if (optind < argc)
		return nhictl_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
	return NHICTL_EXIT_OK;
}

static int call_and_print(struct nhictl *ctl, uint8_t type, bool list)
{
	struct nhi_msg_reply reply = {0};
	int rc;

	if ((rc = nhictl_call(ctl, type, NULL, &reply)) != NHICTL_EXIT_OK)
		return rc;
	if (list)
		nhictl_print_list(ctl, NULL, 0, reply.records, reply.n_records);
	else if (reply.n_records > 0)
		nhictl_print_item(ctl, NULL, 0, &reply.records[0]);
	if (!ctl->json && reply.message != NULL && reply.message[0] != '\0') {
		char buf[512];
		fprintf(stderr, "%s\n", nhictl_clean(reply.message, buf, sizeof(buf)));
	}
	nhi_msg_reply_clear(&reply);
	return NHICTL_EXIT_OK;
}

int nhictl_cmd_ca(struct nhictl *ctl, int argc, char **argv)
{
	const char *sub;
	int rc = nhictl_subcommand_start(argc, argv, usage_ca);

	if (rc != NHICTL_GO_ON)
		return rc;
	sub = argv[1];
	if (strcmp(sub, "show") != 0 && strcmp(sub, "rotate") != 0)
		return nhictl_usage_error("ca", "unknown subcommand '%s'", sub);
	rc = only_common(ctl, strcmp(sub, "show") == 0 ? "ca show" : "ca rotate", argc - 1,
	                 argv + 1, usage_ca);
	if (rc != NHICTL_EXIT_OK)
		return rc < 0 ? NHICTL_EXIT_OK : rc;
	if (strcmp(sub, "show") == 0)
		return call_and_print(ctl, NHI_MSG_CA_SHOW, true);
	return call_and_print(ctl, NHI_MSG_CA_ROTATE, false);
}

int nhictl_cmd_status(struct nhictl *ctl, int argc, char **argv)
{
	int rc = only_common(ctl, "status", argc, argv, usage_status);

	if (rc != NHICTL_EXIT_OK)
		return rc < 0 ? NHICTL_EXIT_OK : rc;
	return call_and_print(ctl, NHI_MSG_STATUS, false);
}

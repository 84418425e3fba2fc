/* nhictl group ...: unix groups of broker-managed accounts, served by
 * nss_nhi: add one, list, show, and change its members. */
#include "config.h"

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "names.h"
#include "nhictl.h"

static const struct nhictl_field group_fields[] = {
        {"name", "name", NHICTL_STR, true},
        {"gid", "gid", NHICTL_INT, true},
        {"member_count", "member_count", NHICTL_INT, false},
        {"member", "members", NHICTL_LIST, true},
};
#define N_GROUP_FIELDS (sizeof(group_fields) / sizeof(group_fields[0]))

static void usage_group(FILE *f)
{
	fprintf(f, "usage: nhictl group add NAME [--gid GID] [--json]\n"
	           "       nhictl group list [--json]\n"
	           "       nhictl group show NAME [--json]\n"
	           "       nhictl group member-add NAME IDENTITY [--json]\n"
	           "       nhictl group member-remove NAME IDENTITY [--json]\n"
	           "\n"
	           "Unix groups of broker-managed accounts, served by nss_nhi. A new\n"
	           "group gets the highest free gid of [nss] uid_min..uid_max unless\n"
	           "--gid names one; neither may be a group of /etc/group. Members are\n"
	           "identities with unix accounts; holders of a role named like the\n"
	           "group are members too. A group's record lists its first 200\n"
	           "members; member_count counts them all.\n"
	           "\n"
	           "  --gid GID    add: this gid instead of an allocated one\n"
	           "  -j, --json   JSON output: one object per group and line\n"
	           "  -h, --help   this help\n");
}

/* The common options and exactly n positional arguments into args[]. */
static int positional(struct nhictl *ctl, const char *cmd, int argc, char **argv, size_t n,
                      const char *const *what, const char **args)
{
	static const struct option options[] = {
	        {"json", no_argument, NULL, 'j'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	int opt, rc;

	optind = 0;
	while ((opt = getopt_long(argc, argv, ":jh", options, NULL)) != -1)
		if ((rc = nhictl_common_opt(ctl, cmd, opt, argv, usage_group)) != NHICTL_OPT_DONE)
			return rc;
	for (size_t i = 0; i < n; i++) {
		if (optind + (int)i >= argc)
			return nhictl_usage_error(cmd, "missing %s", what[i]);
		args[i] = argv[optind + (int)i];
		if (!nhi_name_is_valid(args[i]))
			return nhictl_usage_error(cmd, "invalid %s '%s'", what[i], args[i]);
	}
	if (optind + (int)n < argc)
		return nhictl_usage_error(cmd, "unexpected argument '%s'", argv[optind + (int)n]);
	return NHICTL_EXIT_OK;
}

/* Sends args and prints the one group record of the reply. */
static int call_item(struct nhictl *ctl, uint8_t type, struct nhi_kv *args)
{
	struct nhi_msg_reply reply = {0};
	int rc = nhictl_call(ctl, type, args, &reply);

	if (rc == NHICTL_EXIT_OK && reply.n_records == 1)
		nhictl_print_item(ctl, group_fields, N_GROUP_FIELDS, &reply.records[0]);
	nhi_msg_reply_clear(&reply);
	return rc;
}

/* A gid: decimal digits only, below (gid_t)-1, which means "no gid". */
static bool parse_gid(const char *s, unsigned long long *ret)
{
	char *end;

	if (s[0] < '0' || s[0] > '9' || strlen(s) > 10)
		return false;
	*ret = strtoull(s, &end, 10);
	return *end == '\0' && *ret < 4294967295ull;
}

static int group_add(struct nhictl *ctl, int argc, char **argv)
{
	static const struct option options[] = {
	        {"gid", required_argument, NULL, 'g'},
	        {"json", no_argument, NULL, 'j'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	struct nhi_kv args;
	const char *gid = NULL, *name;
	unsigned long long v = 0;
	int opt, rc;

	optind = 0;
	while ((opt = getopt_long(argc, argv, ":g:jh", options, NULL)) != -1) {
		if (opt == 'g')
			gid = optarg;
		else if ((rc = nhictl_common_opt(ctl, "group add", opt, argv, usage_group)) !=
		         NHICTL_OPT_DONE)
			return rc;
	}
	if (optind >= argc)
		return nhictl_usage_error("group add", "missing group name");
	if (optind + 1 < argc)
		return nhictl_usage_error("group add", "unexpected argument '%s'",
		                          argv[optind + 1]);
	name = argv[optind];
	if (!nhi_name_is_valid(name))
		return nhictl_usage_error("group add", "invalid group name '%s'", name);
	if (gid != NULL && !parse_gid(gid, &v))
		return nhictl_usage_error("group add", "invalid --gid '%s': 0 to 4294967294", gid);
	nhi_kv_init(&args);
	if (nhi_kv_add_str(&args, "name", name) < 0 ||
	    (gid != NULL && nhi_kv_add_u64(&args, "gid", v) < 0))
		rc = NHICTL_EXIT_FAILED;
	else
		rc = call_item(ctl, NHI_MSG_GROUP_ADD, &args);
	nhi_kv_clear(&args);
	return rc;
}

static int group_list(struct nhictl *ctl, int argc, char **argv)
{
	struct nhi_msg_reply reply = {0};
	int rc;

	if ((rc = positional(ctl, "group list", argc, argv, 0, NULL, NULL)) != NHICTL_EXIT_OK)
		return rc;
	if ((rc = nhictl_call(ctl, NHI_MSG_GROUP_LIST, NULL, &reply)) == NHICTL_EXIT_OK)
		nhictl_print_list(ctl, group_fields, N_GROUP_FIELDS, reply.records,
		                  reply.n_records);
	nhi_msg_reply_clear(&reply);
	return rc;
}

static int group_show(struct nhictl *ctl, int argc, char **argv)
{
	static const char *const what[] = {"group name"};
	const char *arg[1];
	struct nhi_kv args;
	int rc;

	if ((rc = positional(ctl, "group show", argc, argv, 1, what, arg)) != NHICTL_EXIT_OK)
		return rc;
	nhi_kv_init(&args);
	if (nhi_kv_add_str(&args, "name", arg[0]) < 0)
		rc = NHICTL_EXIT_FAILED;
	else
		rc = call_item(ctl, NHI_MSG_GROUP_SHOW, &args);
	nhi_kv_clear(&args);
	return rc;
}

static int group_member(struct nhictl *ctl, const char *sub, int argc, char **argv)
{
	static const char *const what[] = {"group name", "identity name"};
	const char *arg[2];
	struct nhi_kv args;
	char cmd[32];
	int rc;

	snprintf(cmd, sizeof(cmd), "group %s", sub);
	if ((rc = positional(ctl, cmd, argc, argv, 2, what, arg)) != NHICTL_EXIT_OK)
		return rc;
	nhi_kv_init(&args);
	if (nhi_kv_add_str(&args, "name", arg[0]) < 0 ||
	    nhi_kv_add_str(&args, "identity", arg[1]) < 0)
		rc = NHICTL_EXIT_FAILED;
	else
		rc = call_item(ctl,
		               strcmp(sub, "member-add") == 0 ? NHI_MSG_GROUP_MEMBER_ADD
		                                              : NHI_MSG_GROUP_MEMBER_REMOVE,
		               &args);
	nhi_kv_clear(&args);
	return rc;
}

int nhictl_cmd_group(struct nhictl *ctl, int argc, char **argv)
{
	const char *sub;
	int rc = nhictl_subcommand_start(argc, argv, usage_group);

	if (rc != NHICTL_GO_ON)
		return rc;
	sub = argv[1];
	if (strcmp(sub, "add") == 0)
		return group_add(ctl, argc - 1, argv + 1);
	if (strcmp(sub, "list") == 0)
		return group_list(ctl, argc - 1, argv + 1);
	if (strcmp(sub, "show") == 0)
		return group_show(ctl, argc - 1, argv + 1);
	if (strcmp(sub, "member-add") == 0 || strcmp(sub, "member-remove") == 0)
		return group_member(ctl, sub, argc - 1, argv + 1);
	return nhictl_usage_error("group", "unknown subcommand '%s'", sub);
}

/* nhictl grant ...: just-in-time elevation grants: list them, and approve,
 * deny or revoke one. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "names.h"
#include "nhictl.h"

static const struct nhictl_field grant_fields[] = {
        {"id", "id", NHICTL_INT, true},
        {"identity", "identity", NHICTL_STR, true},
        {"role", "role", NHICTL_STR, true},
        {"state", "state", NHICTL_STR, true},
        {"expired", "expired", NHICTL_BOOL, false},
        {"ttl", "ttl", NHICTL_SECS, false},
        {"created", "created", NHICTL_TIME, false},
        {"expires", "expires", NHICTL_TIME, true},
        {"decided_by", "decided_by", NHICTL_STR, false},
        {"revoked_at", "revoked_at", NHICTL_TIME, false},
        {"reason", "reason", NHICTL_STR, true},
};
#define N_GRANT_FIELDS (sizeof(grant_fields) / sizeof(grant_fields[0]))

static void usage_grant(FILE *f)
{
	fprintf(f, "usage: nhictl grant list [--identity NAME] [--active] [--json]\n"
	           "       nhictl grant approve|deny|revoke ID [--json]\n"
	           "\n"
	           "Just-in-time elevation grants, requested with 'nhi elevate'.\n"
	           "approve and deny act on a pending grant (never by its requester);\n"
	           "revoke ends an active one at once.\n"
	           "\n"
	           "  --identity NAME  list: only this identity's grants\n"
	           "  --active         list: only grants in force now\n"
	           "  -j, --json       JSON output: one object per grant and line\n"
	           "  -h, --help       this help\n");
}

static int grant_list(struct nhictl *ctl, int argc, char **argv)
{
	static const struct option options[] = {
	        {"identity", required_argument, NULL, 'i'},
	        {"active", no_argument, NULL, 'a'},
	        {"json", no_argument, NULL, 'j'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	struct nhi_kv filter, *all = NULL;
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
		else if ((rc = nhictl_common_opt(ctl, "grant list", opt, argv, usage_grant)) !=
		         NHICTL_OPT_DONE)
			return rc;
	}
	if (optind < argc)
		return nhictl_usage_error("grant list", "unexpected argument '%s'", argv[optind]);
	if (identity != NULL && !nhi_name_is_valid(identity))
		return nhictl_usage_error("grant list", "invalid identity name '%s'", identity);
	nhi_kv_init(&filter);
	if ((identity != NULL && nhi_kv_add_str(&filter, "identity", identity) < 0) ||
	    (active && nhi_kv_add_str(&filter, "active", "yes") < 0))
		rc = NHICTL_EXIT_FAILED;
	else /* The broker answers in pages, newest first, by id. */
		rc = nhictl_call_pages(ctl, NHI_MSG_GRANT_LIST, &filter, "id", "after_id", &all,
		                       &n);
	if (rc == NHICTL_EXIT_OK)
		nhictl_print_list(ctl, grant_fields, N_GRANT_FIELDS, all, n);
	nhictl_records_free(all, n);
	nhi_kv_clear(&filter);
	return rc;
}

/* A grant id: a positive decimal number. */
static bool parse_id(const char *s, unsigned long long *ret)
{
	char *end;

	if (*s < '1' || *s > '9' || strlen(s) > 18)
		return false;
	*ret = strtoull(s, &end, 10);
	return *end == '\0';
}

static int grant_decide(struct nhictl *ctl, const char *action, int argc, char **argv)
{
	struct nhi_msg_reply reply = {0};
	struct nhi_kv args;
	unsigned long long id;
	const char *arg;
	char cmd[32];
	int rc;

	snprintf(cmd, sizeof(cmd), "grant %s", action);
	if ((rc = nhictl_one_arg(ctl, cmd, argc, argv, usage_grant, "grant ID", &arg)) !=
	    NHICTL_EXIT_OK)
		return rc;
	if (!parse_id(arg, &id))
		return nhictl_usage_error(cmd, "invalid grant ID '%s': a positive number", arg);
	nhi_kv_init(&args);
	if (nhi_kv_add_u64(&args, "id", id) < 0 || nhi_kv_add_str(&args, "action", action) < 0)
		rc = NHICTL_EXIT_FAILED;
	else
		rc = nhictl_call(ctl, NHI_MSG_GRANT_DECIDE, &args, &reply);
	if (rc == NHICTL_EXIT_OK && reply.n_records == 1)
		nhictl_print_item(ctl, grant_fields, N_GRANT_FIELDS, &reply.records[0]);
	nhi_kv_clear(&args);
	nhi_msg_reply_clear(&reply);
	return rc;
}

int nhictl_cmd_grant(struct nhictl *ctl, int argc, char **argv)
{
	const char *sub;
	int rc = nhictl_subcommand_start(argc, argv, usage_grant);

	if (rc != NHICTL_GO_ON)
		return rc;
	sub = argv[1];
	if (strcmp(sub, "list") == 0)
		return grant_list(ctl, argc - 1, argv + 1);
	if (strcmp(sub, "approve") == 0 || strcmp(sub, "deny") == 0 || strcmp(sub, "revoke") == 0)
		return grant_decide(ctl, sub, argc - 1, argv + 1);
	return nhictl_usage_error("grant", "unknown subcommand '%s'", sub);
}

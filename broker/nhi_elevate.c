/* nhi elevate: asks the broker for a just-in-time grant of one of the
 * caller's roles. While it is active, sudo through a PAM service with
 * `pam_nhi.so elevate` needs no password. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "err.h"
#include "nhi_cli.h"

static void elevate_usage(FILE *f)
{
	fprintf(f, "usage: nhi elevate --role ROLE --reason TEXT [--ttl D] [--json]\n"
	           "\n"
	           "Asks for a just-in-time grant of ROLE, one of your identity's roles.\n"
	           "While it is active, sudo on this host needs no password. When the\n"
	           "policy asks for approval, the grant waits for an administrator\n"
	           "('nhictl grant approve ID').\n"
	           "\n"
	           "  -r, --role ROLE      the role to act in\n"
	           "  -m, --reason TEXT    why, for the audit trail and the approver (required)\n"
	           "  -t, --ttl D          lifetime, e.g. 300, 15m, 1h (default and cap: the\n"
	           "                       policy's grant_ttl_max)\n"
	           "  -j, --json           JSON output\n"
	           "  -h, --help           this help\n");
}

static void print_grant(const struct nhi_cli *cli, const struct nhi_kv *rec)
{
	const char *id = nhi_kv_str(rec, "id"), *role = nhi_kv_str(rec, "role");
	const char *state = nhi_kv_str(rec, "state");
	uint64_t expires = 0, ttl = 0;
	char b1[128], b2[128], when[64];

	if (nhi_kv_u64(rec, "expires", &expires) < 0)
		expires = 0;
	if (nhi_kv_u64(rec, "ttl", &ttl) < 0)
		ttl = 0;
	id = id != NULL ? id : "?";
	role = role != NULL ? role : "?";
	state = state != NULL ? state : "?";
	if (cli->json) {
		/* The id is a number; anything else from the broker is not. */
		if (id[0] == '\0' || strspn(id, "0123456789") != strlen(id) || strlen(id) > 19)
			id = "0";
		printf("{\"id\":%s,\"role\":", id);
		nhi_cli_json_string(stdout, role);
		printf(",\"state\":");
		nhi_cli_json_string(stdout, state);
		printf(",\"ttl\":%llu", (unsigned long long)ttl);
		if (expires != 0)
			printf(",\"expires\":%llu", (unsigned long long)expires);
		printf("}\n");
		return;
	}
	nhi_cli_clean(role, b1, sizeof(b1));
	nhi_cli_clean(id, b2, sizeof(b2));
	if (strcmp(state, "active") == 0 && expires != 0) {
		nhi_cli_format_time(expires, when, sizeof(when));
		printf("grant %s: role %s active until %s\n", b2, b1, when);
	} else if (strcmp(state, "pending") == 0) {
		printf("grant %s: role %s awaits approval by an administrator "
		       "(nhictl grant approve %s)\n",
		       b2, b1, b2);
	} else {
		printf("grant %s: role %s is %s\n", b2, b1,
		       nhi_cli_clean(state, when, sizeof(when)));
	}
}

int nhi_cmd_elevate(struct nhi_cli *cli, int argc, char **argv)
{
	static const struct option options[] = {
	        {"role", required_argument, NULL, 'r'}, {"reason", required_argument, NULL, 'm'},
	        {"ttl", required_argument, NULL, 't'},  {"json", no_argument, NULL, 'j'},
	        {"help", no_argument, NULL, 'h'},       {NULL, 0, NULL, 0},
	};
	const char *role = NULL, *reason = NULL;
	struct nhi_msg_reply reply = {0};
	struct nhi_kv args;
	uint32_t ttl = 0;
	char buf[512];
	int opt, rc;

	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "+:r:m:t:jh", options, NULL)) != -1) {
		switch (opt) {
		case 'r':
			role = optarg;
			break;
		case 'm':
			reason = optarg;
			break;
		case 't':
			if (nhi_parse_duration(optarg, &ttl) < 0 || ttl == 0)
				return nhi_cli_usage_error(
				        "elevate",
				        "invalid --ttl '%s': a duration such as 300, 15m or 1h",
				        nhi_cli_clean(optarg, buf, sizeof(buf)));
			break;
		case 'j':
			cli->json = true;
			break;
		case 'h':
			elevate_usage(stdout);
			return NHI_EXIT_OK;
		case ':':
			return nhi_cli_usage_error(
			        "elevate", "option '%s' needs a value",
			        nhi_cli_clean(argv[optind - 1], buf, sizeof(buf)));
		default:
			return nhi_cli_usage_error(
			        "elevate", "unknown option '%s'",
			        nhi_cli_clean(argv[optind - 1], buf, sizeof(buf)));
		}
	}
	if (optind != argc)
		return nhi_cli_usage_error("elevate", "unexpected argument '%s'",
		                           nhi_cli_clean(argv[optind], buf, sizeof(buf)));
	if (role == NULL || role[0] == '\0')
		return nhi_cli_usage_error("elevate", "--role ROLE is required");
	if (reason == NULL || reason[0] == '\0')
		return nhi_cli_usage_error("elevate", "--reason TEXT is required");
	nhi_kv_init(&args);
	if (nhi_kv_add_str(&args, "role", role) < 0 ||
	    nhi_kv_add_str(&args, "reason", reason) < 0 ||
	    (ttl != 0 && nhi_kv_add_u64(&args, "ttl", ttl) < 0)) {
		nhi_kv_clear(&args);
		return nhi_cli_fail("out of memory");
	}
	rc = nhi_cli_call(cli, NHI_MSG_GRANT_REQUEST, &args, &reply);
	nhi_kv_clear(&args);
	if (rc != NHI_EXIT_OK)
		return rc;
	if (reply.n_records != 1) {
		nhi_msg_reply_clear(&reply);
		return nhi_cli_fail("the broker answered without a grant");
	}
	print_grant(cli, &reply.records[0]);
	nhi_msg_reply_clear(&reply);
	return NHI_EXIT_OK;
}

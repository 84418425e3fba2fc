/* nhictl keys retire|restore|except: taking a static key out of service,
 * putting it back, or keeping it for a while under keys_mode = enforce. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "nhictl.h"

static const struct nhictl_field result_fields[] = {
        {"fingerprint", "fingerprint", NHICTL_STR, true},
        {"account", "account", NHICTL_STR, true},
        {"path", "path", NHICTL_STR, true},
        {"state", "state", NHICTL_STR, true},
        {"removed", "removed", NHICTL_BOOL, true},
        {"restored", "restored", NHICTL_BOOL, true},
};
#define N_RESULT_FIELDS (sizeof(result_fields) / sizeof(result_fields[0]))

static void usage_retire(FILE *f)
{
	fprintf(f, "usage: nhictl keys retire FINGERPRINT [--json]\n"
	           "       nhictl keys restore FINGERPRINT [--json]\n"
	           "       nhictl keys except FINGERPRINT --owner IDENTITY --reason TEXT\n"
	           "                          --until DATE [--json]\n"
	           "\n"
	           "retire: take the key out of every file it was seen in (a backup is kept)\n"
	           "        and put it in the KRL. restore: take it out of the KRL and put its\n"
	           "        line back from the newest backup. except: keep it allowed until DATE\n"
	           "        under keys_mode = enforce.\n"
	           "\n"
	           "  --owner IDENTITY  who answers for the exception\n"
	           "  --reason TEXT     why the key is still needed\n"
	           "  --until DATE      YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS]Z (UTC) or @SECONDS\n"
	           "  -j, --json        JSON output\n"
	           "  -h, --help        this help\n");
}

/* 0 and *ret for a date the broker can compare, else -1. */
static int parse_until(const char *s, int64_t *ret)
{
	static const char *const formats[] = {"%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%MZ", "%Y-%m-%d"};
	char *end;

	if (s[0] == '@') {
		long long v = strtoll(s + 1, &end, 10);

		if (end == s + 1 || *end != '\0' || v <= 0)
			return -1;
		*ret = v;
		return 0;
	}
	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
		struct tm tm = {0};

		end = strptime(s, formats[i], &tm);
		if (end != NULL && *end == '\0') {
			*ret = (int64_t)timegm(&tm);
			return 0;
		}
	}
	return -1;
}

static int run(struct nhictl *ctl, const char *cmd, uint8_t type, int argc, char **argv)
{
	static const struct option options[] = {
	        {"owner", required_argument, NULL, 'o'},
	        {"reason", required_argument, NULL, 'r'},
	        {"until", required_argument, NULL, 'u'},
	        {"json", no_argument, NULL, 'j'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	const char *owner = NULL, *reason = NULL, *until_text = NULL;
	bool except = type == NHI_MSG_KEYS_EXCEPT;
	struct nhi_msg_reply reply = {0};
	struct nhi_kv args;
	int64_t until = 0;
	int opt, rc, r;

	optind = 0;
	while ((opt = getopt_long(argc, argv, except ? ":o:r:u:jh" : ":jh", options, NULL)) != -1) {
		if (except && opt == 'o')
			owner = optarg;
		else if (except && opt == 'r')
			reason = optarg;
		else if (except && opt == 'u')
			until_text = optarg;
		else if ((rc = nhictl_common_opt(ctl, cmd, opt, argv, usage_retire)) !=
		         NHICTL_OPT_DONE)
			return rc;
	}
	if (optind >= argc)
		return nhictl_usage_error(cmd, "missing FINGERPRINT");
	if (optind + 1 < argc)
		return nhictl_usage_error(cmd, "unexpected argument '%s'", argv[optind + 1]);
	if (strncmp(argv[optind], "SHA256:", 7) != 0)
		return nhictl_usage_error(
		        cmd, "invalid fingerprint '%s': SHA256:..., as ssh-keygen -lf prints it",
		        argv[optind]);
	if (except) {
		if (owner == NULL || reason == NULL || until_text == NULL)
			return nhictl_usage_error(cmd,
			                          "--owner, --reason and --until are required");
		if (parse_until(until_text, &until) < 0)
			return nhictl_usage_error(cmd,
			                          "invalid date '%s': YYYY-MM-DD, "
			                          "YYYY-MM-DDTHH:MM[:SS]Z or @SECONDS",
			                          until_text);
	}
	nhi_kv_init(&args);
	r = nhi_kv_add_str(&args, "fingerprint", argv[optind]);
	if (r == 0 && except)
		r = nhi_kv_add_str(&args, "owner", owner) < 0 ||
		                    nhi_kv_add_str(&args, "reason", reason) < 0 ||
		                    nhi_kv_add_i64(&args, "until", until) < 0
		            ? NHI_ERR_ALLOC
		            : 0;
	if (r < 0)
		rc = NHICTL_EXIT_FAILED;
	else
		rc = nhictl_call(ctl, type, &args, &reply);
	if (rc == NHICTL_EXIT_OK)
		nhictl_print_list(ctl, result_fields, N_RESULT_FIELDS, reply.records,
		                  reply.n_records);
	nhi_kv_clear(&args);
	nhi_msg_reply_clear(&reply);
	return rc;
}

int nhictl_keys_retire(struct nhictl *ctl, int argc, char **argv)
{
	return run(ctl, "keys retire", NHI_MSG_KEYS_RETIRE, argc, argv);
}

int nhictl_keys_restore(struct nhictl *ctl, int argc, char **argv)
{
	return run(ctl, "keys restore", NHI_MSG_KEYS_RESTORE, argc, argv);
}

int nhictl_keys_except(struct nhictl *ctl, int argc, char **argv)
{
	return run(ctl, "keys except", NHI_MSG_KEYS_EXCEPT, argc, argv);
}

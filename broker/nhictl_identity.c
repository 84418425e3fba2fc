/* nhictl identity ... and nhictl enroll. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conf.h"
#include "err.h"
#include "nhictl.h"

static const struct nhictl_field identity_fields[] = {
        {"name", "name", NHICTL_STR, true},
        {"kind", "kind", NHICTL_STR, true},
        {"status", "status", NHICTL_STR, true},
        {"owner", "owner", NHICTL_STR, true},
        {"uid", "uid", NHICTL_INT, true},
        {"gid", "gid", NHICTL_INT, false},
        {"shell", "shell", NHICTL_STR, false},
        {"home", "home", NHICTL_STR, false},
        {"gecos", "gecos", NHICTL_STR, false},
        {"ttl_default", "ttl", NHICTL_SECS, true},
        {"ttl_max", "ttl_max", NHICTL_SECS, true},
        {"allow_pty", "allow_pty", NHICTL_BOOL, false},
        {"source_addresses", "source_addresses", NHICTL_STR, false},
        {"force_command", "force_command", NHICTL_STR, false},
        {"role", "roles", NHICTL_LIST, false},
        {"selector", "selectors", NHICTL_LIST, false},
        {"review_due", "review_due", NHICTL_TIME, false},
        {"last_used", "last_used", NHICTL_TIME, true},
        {"created", "created", NHICTL_TIME, false},
        {"updated", "updated", NHICTL_TIME, false},
};
#define N_IDENTITY_FIELDS (sizeof(identity_fields) / sizeof(identity_fields[0]))

static void usage_identity(FILE *f)
{
	fprintf(f,
	        "usage: nhictl identity add NAME --kind KIND [FIELD OPTIONS]\n"
	        "       nhictl identity list\n"
	        "       nhictl identity show NAME\n"
	        "       nhictl identity set NAME [FIELD OPTIONS] [--clear FIELD]...\n"
	        "       nhictl identity suspend|resume|retire NAME\n"
	        "       nhictl identity import FILE|-   (see identity import --help)\n"
	        "\n"
	        "Field options (add and set):\n"
	        "  --kind KIND             human, automation, service or breakglass\n"
	        "  --owner TEXT            who answers for it\n"
	        "  --uid N, --gid N        its unix account\n"
	        "  --shell PATH, --home PATH, --gecos TEXT\n"
	        "  --ttl D                 default certificate lifetime (5m, 1h, ...)\n"
	        "  --ttl-max D             cap, at most the kind's cap in nhi.conf\n"
	        "  --allow-pty, --no-pty   whether its certificates permit a pty\n"
	        "  --source-address CIDR   where its certificates may be used (repeat)\n"
	        "  --force-command CMD     the only command its certificates run\n"
	        "  --review-in D           review due D from now\n"
	        "  --role R                add: an extra principal (repeat)\n"
	        "  --selector KIND=VALUE   add: an attestation selector (repeat): uid=N,\n"
	        "                          gid=N, exe_path=PATH, exe_sha256=HEX,\n"
	        "                          systemd_unit=NAME\n"
	        "  --add-role R, --remove-role R, --add-selector S, --remove-selector S\n"
	        "                          set: change roles and selectors (repeat)\n"
	        "  --clear FIELD           set: unset owner, uid, gid, shell, home, gecos,\n"
	        "                          ttl, ttl-max, source-address, force-command or review\n"
	        "\n"
	        "  -j, --json              JSON output\n"
	        "  -h, --help              this help\n"
	        "\n"
	        "retire is final: it revokes the identity's certificates.\n");
}

enum {
	OPT_KIND = 256,
	OPT_OWNER,
	OPT_UID,
	OPT_GID,
	OPT_SHELL,
	OPT_HOME,
	OPT_GECOS,
	OPT_TTL,
	OPT_TTL_MAX,
	OPT_ALLOW_PTY,
	OPT_NO_PTY,
	OPT_SOURCE,
	OPT_FORCE,
	OPT_REVIEW,
	OPT_ROLE,
	OPT_SELECTOR,
	OPT_ADD_ROLE,
	OPT_REMOVE_ROLE,
	OPT_ADD_SELECTOR,
	OPT_REMOVE_SELECTOR,
	OPT_CLEAR,
};

static const struct option field_options[] = {
        {"kind", required_argument, NULL, OPT_KIND},
        {"owner", required_argument, NULL, OPT_OWNER},
        {"uid", required_argument, NULL, OPT_UID},
        {"gid", required_argument, NULL, OPT_GID},
        {"shell", required_argument, NULL, OPT_SHELL},
        {"home", required_argument, NULL, OPT_HOME},
        {"gecos", required_argument, NULL, OPT_GECOS},
        {"ttl", required_argument, NULL, OPT_TTL},
        {"ttl-max", required_argument, NULL, OPT_TTL_MAX},
        {"allow-pty", no_argument, NULL, OPT_ALLOW_PTY},
        {"no-pty", no_argument, NULL, OPT_NO_PTY},
        {"source-address", required_argument, NULL, OPT_SOURCE},
        {"force-command", required_argument, NULL, OPT_FORCE},
        {"review-in", required_argument, NULL, OPT_REVIEW},
        {"role", required_argument, NULL, OPT_ROLE},
        {"selector", required_argument, NULL, OPT_SELECTOR},
        {"add-role", required_argument, NULL, OPT_ADD_ROLE},
        {"remove-role", required_argument, NULL, OPT_REMOVE_ROLE},
        {"add-selector", required_argument, NULL, OPT_ADD_SELECTOR},
        {"remove-selector", required_argument, NULL, OPT_REMOVE_SELECTOR},
        {"clear", required_argument, NULL, OPT_CLEAR},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
};

/* --clear FIELD -> the record key sent empty. */
static const struct {
	const char *name, *key;
} clearable[] = {
        {"owner", "owner"},
        {"uid", "uid"},
        {"gid", "gid"},
        {"shell", "shell"},
        {"home", "home"},
        {"gecos", "gecos"},
        {"ttl", "ttl_default"},
        {"ttl-max", "ttl_max"},
        {"review", "review_due"},
        {"source-address", "source_addresses"},
        {"force-command", "force_command"},
};

static int add_duration(struct nhi_kv *args, const char *cmd, const char *opt, const char *key,
                        const char *text, uint64_t base)
{
	uint32_t secs;

	if (nhi_parse_duration(text, &secs) < 0 || secs == 0)
		return nhictl_usage_error(
		        cmd, "invalid %s '%s': a duration such as 300, 5m, 8h or 2d", opt, text);
	return nhi_kv_add_u64(args, key, base + secs) < 0 ? NHICTL_EXIT_FAILED : NHICTL_EXIT_OK;
}

/* The field options of add (adding) and set (changing) into args. */
static int parse_fields(struct nhictl *ctl, const char *cmd, bool is_set, int argc, char **argv,
                        struct nhi_kv *args, char **ret_sources)
{
	char *sources = NULL;
	const char *key;
	int opt, rc;

	optind = 0;
	while ((opt = getopt_long(argc, argv, ":jh", field_options, NULL)) != -1) {
		rc = NHICTL_EXIT_OK;
		key = NULL;
		switch (opt) {
		case OPT_KIND:
			key = "kind";
			break;
		case OPT_OWNER:
			key = "owner";
			break;
		case OPT_UID:
			key = "uid";
			break;
		case OPT_GID:
			key = "gid";
			break;
		case OPT_SHELL:
			key = "shell";
			break;
		case OPT_HOME:
			key = "home";
			break;
		case OPT_GECOS:
			key = "gecos";
			break;
		case OPT_FORCE:
			key = "force_command";
			break;
		case OPT_ALLOW_PTY:
		case OPT_NO_PTY:
			if (nhi_kv_add_str(args, "allow_pty", opt == OPT_ALLOW_PTY ? "yes" : "no") <
			    0)
				rc = NHICTL_EXIT_FAILED;
			break;
		case OPT_TTL:
			rc = add_duration(args, cmd, "--ttl", "ttl_default", optarg, 0);
			break;
		case OPT_TTL_MAX:
			rc = add_duration(args, cmd, "--ttl-max", "ttl_max", optarg, 0);
			break;
		case OPT_REVIEW:
			rc = add_duration(args, cmd, "--review-in", "review_due", optarg,
			                  (uint64_t)time(NULL));
			break;
		case OPT_SOURCE: {
			/* Repeated addresses travel as sshd's one comma list. */
			char *joined;
			if (asprintf(&joined, "%s%s%s", sources != NULL ? sources : "",
			             sources != NULL ? "," : "", optarg) < 0)
				rc = NHICTL_EXIT_FAILED;
			else {
				free(sources);
				sources = joined;
			}
			break;
		}
		case OPT_ROLE:
		case OPT_SELECTOR:
			if (is_set)
				rc = nhictl_usage_error(cmd, "'%s' is for add; use --add-%s",
				                        argv[optind - 1],
				                        opt == OPT_ROLE ? "role" : "selector");
			key = opt == OPT_ROLE ? "role" : "selector";
			break;
		case OPT_ADD_ROLE:
		case OPT_REMOVE_ROLE:
		case OPT_ADD_SELECTOR:
		case OPT_REMOVE_SELECTOR:
		case OPT_CLEAR:
			if (!is_set) {
				rc = nhictl_usage_error(cmd, "'%s' is for set", argv[optind - 1]);
				break;
			}
			if (opt == OPT_CLEAR) {
				size_t i, n = sizeof(clearable) / sizeof(clearable[0]);
				for (i = 0; i < n && strcmp(clearable[i].name, optarg) != 0; i++)
					;
				if (i == n)
					rc = nhictl_usage_error(cmd, "cannot clear '%s'", optarg);
				else if (nhi_kv_add_str(args, clearable[i].key, "") < 0)
					rc = NHICTL_EXIT_FAILED;
				break;
			}
			key = opt == OPT_ADD_ROLE       ? "add_role"
			      : opt == OPT_REMOVE_ROLE  ? "remove_role"
			      : opt == OPT_ADD_SELECTOR ? "add_selector"
			                                : "remove_selector";
			break;
		default:
			rc = nhictl_common_opt(ctl, cmd, opt, argv, usage_identity);
			if (rc == NHICTL_OPT_DONE)
				rc = NHICTL_EXIT_OK;
			else if (rc == NHICTL_EXIT_OK)
				rc = -1; /* --help: done, successfully */
			break;
		}
		if (rc == NHICTL_EXIT_OK && key != NULL && nhi_kv_add_str(args, key, optarg) < 0)
			rc = NHICTL_EXIT_FAILED;
		if (rc != NHICTL_EXIT_OK) {
			free(sources);
			return rc;
		}
	}
	*ret_sources = sources;
	return NHICTL_EXIT_OK;
}

/* The one NAME operand of a subcommand. */
static int one_name(const char *cmd, int argc, char **argv, const char **ret)
{
	if (optind >= argc)
		return nhictl_usage_error(cmd, "missing NAME");
	if (optind + 1 < argc)
		return nhictl_usage_error(cmd, "unexpected argument '%s'", argv[optind + 1]);
	*ret = argv[optind];
	return NHICTL_EXIT_OK;
}

static int show_reply(struct nhictl *ctl, struct nhi_msg_reply *reply)
{
	if (reply->n_records > 0)
		nhictl_print_item(ctl, identity_fields, N_IDENTITY_FIELDS, &reply->records[0]);
	if (!ctl->json && reply->message != NULL && reply->message[0] != '\0') {
		char buf[512];
		fprintf(stderr, "%s\n", nhictl_clean(reply->message, buf, sizeof(buf)));
	}
	return NHICTL_EXIT_OK;
}

static int identity_change(struct nhictl *ctl, int argc, char **argv, bool is_set)
{
	const char *cmd = is_set ? "identity set" : "identity add";
	struct nhi_msg_reply reply = {0};
	struct nhi_kv args;
	char *sources = NULL;
	const char *name;
	int rc;

	nhi_kv_init(&args);
	rc = parse_fields(ctl, cmd, is_set, argc, argv, &args, &sources);
	if (rc < 0) {
		rc = NHICTL_EXIT_OK;
		goto out;
	}
	if (rc != NHICTL_EXIT_OK || (rc = one_name(cmd, argc, argv, &name)) != NHICTL_EXIT_OK)
		goto out;
	if (!is_set && nhi_kv_find(&args, "kind") == NULL) {
		rc = nhictl_usage_error(cmd, "missing --kind");
		goto out;
	}
	if (nhi_kv_add_str(&args, "name", name) < 0 ||
	    (sources != NULL && nhi_kv_add_str(&args, "source_addresses", sources) < 0)) {
		rc = NHICTL_EXIT_FAILED;
		goto out;
	}
	rc = nhictl_call(ctl, is_set ? NHI_MSG_IDENTITY_SET : NHI_MSG_IDENTITY_ADD, &args, &reply);
	if (rc == NHICTL_EXIT_OK)
		rc = show_reply(ctl, &reply);
out:
	free(sources);
	nhi_kv_clear(&args);
	nhi_msg_reply_clear(&reply);
	return rc;
}

/* Parses the options of a subcommand that takes only the common ones. Returns
 * -1 after --help. */
static int simple_opts(struct nhictl *ctl, const char *cmd, int argc, char **argv,
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
			return rc == NHICTL_OPT_OWN ? NHICTL_EXIT_USAGE : rc;
	}
	return NHICTL_EXIT_OK;
}

static int identity_list(struct nhictl *ctl, int argc, char **argv)
{
	struct nhi_kv *all = NULL;
	size_t n = 0;
	int rc;

	if ((rc = simple_opts(ctl, "identity list", argc, argv, usage_identity)) != 0)
		return rc < 0 ? NHICTL_EXIT_OK : rc;
	if (optind < argc)
		return nhictl_usage_error("identity list", "unexpected argument '%s'",
		                          argv[optind]);
	/* The broker answers in pages, by name. */
	rc = nhictl_call_pages(ctl, NHI_MSG_IDENTITY_LIST, NULL, "name", "after", &all, &n);
	if (rc == NHICTL_EXIT_OK)
		nhictl_print_list(ctl, identity_fields, N_IDENTITY_FIELDS, all, n);
	nhictl_records_free(all, n);
	return rc;
}

/* show, suspend, resume, retire: one NAME. */
static int identity_one(struct nhictl *ctl, int argc, char **argv, const char *sub)
{
	struct nhi_msg_reply reply = {0};
	struct nhi_kv args;
	char cmd[32];
	const char *name;
	int rc;

	snprintf(cmd, sizeof(cmd), "identity %s", sub);
	if ((rc = simple_opts(ctl, cmd, argc, argv, usage_identity)) != 0)
		return rc < 0 ? NHICTL_EXIT_OK : rc;
	if ((rc = one_name(cmd, argc, argv, &name)) != NHICTL_EXIT_OK)
		return rc;
	nhi_kv_init(&args);
	if (nhi_kv_add_str(&args, "name", name) < 0 ||
	    (strcmp(sub, "show") != 0 && nhi_kv_add_str(&args, "status", sub) < 0)) {
		nhi_kv_clear(&args);
		return NHICTL_EXIT_FAILED;
	}
	rc = nhictl_call(ctl,
	                 strcmp(sub, "show") == 0 ? NHI_MSG_IDENTITY_SHOW : NHI_MSG_IDENTITY_STATUS,
	                 &args, &reply);
	if (rc == NHICTL_EXIT_OK)
		rc = show_reply(ctl, &reply);
	nhi_kv_clear(&args);
	nhi_msg_reply_clear(&reply);
	return rc;
}

int nhictl_cmd_identity(struct nhictl *ctl, int argc, char **argv)
{
	const char *sub;
	int rc = nhictl_subcommand_start(argc, argv, usage_identity);

	if (rc != NHICTL_GO_ON)
		return rc;
	sub = argv[1];
	if (strcmp(sub, "add") == 0)
		return identity_change(ctl, argc - 1, argv + 1, false);
	if (strcmp(sub, "set") == 0)
		return identity_change(ctl, argc - 1, argv + 1, true);
	if (strcmp(sub, "import") == 0)
		return nhictl_cmd_identity_import(ctl, argc - 1, argv + 1);
	if (strcmp(sub, "list") == 0)
		return identity_list(ctl, argc - 1, argv + 1);
	if (strcmp(sub, "show") == 0 || strcmp(sub, "suspend") == 0 || strcmp(sub, "resume") == 0 ||
	    strcmp(sub, "retire") == 0)
		return identity_one(ctl, argc - 1, argv + 1, sub);
	return nhictl_usage_error("identity", "unknown subcommand '%s'", sub);
}

static void usage_enroll(FILE *f)
{
	fprintf(f, "usage: nhictl enroll NAME [--ttl D] [--json]\n"
	           "\n"
	           "Creates a one-use enrollment code for the human identity NAME. The code\n"
	           "is shown once: the broker keeps only its SHA-256 hash.\n"
	           "\n"
	           "  --ttl D       how long the code is valid (default 15m, at most 24h)\n"
	           "  -j, --json    JSON output\n"
	           "  -h, --help    this help\n");
}

int nhictl_cmd_enroll(struct nhictl *ctl, int argc, char **argv)
{
	static const struct option options[] = {
	        {"ttl", required_argument, NULL, 't'},
	        {"json", no_argument, NULL, 'j'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	struct nhi_msg_reply reply = {0};
	struct nhi_kv args;
	const char *name, *code;
	char when[64], buf[128];
	uint32_t ttl = 0;
	int opt, rc;

	optind = 0;
	while ((opt = getopt_long(argc, argv, ":t:jh", options, NULL)) != -1) {
		if (opt == 't') {
			if (nhi_parse_duration(optarg, &ttl) < 0 || ttl == 0 || ttl > 86400)
				return nhictl_usage_error("enroll", "invalid --ttl '%s': 1s to 24h",
				                          optarg);
			continue;
		}
		rc = nhictl_common_opt(ctl, "enroll", opt, argv, usage_enroll);
		if (rc != NHICTL_OPT_DONE)
			return rc;
	}
	if ((rc = one_name("enroll", argc, argv, &name)) != NHICTL_EXIT_OK)
		return rc;
	nhi_kv_init(&args);
	if (nhi_kv_add_str(&args, "identity", name) < 0 ||
	    (ttl != 0 && nhi_kv_add_u64(&args, "ttl", ttl) < 0)) {
		nhi_kv_clear(&args);
		return NHICTL_EXIT_FAILED;
	}
	rc = nhictl_call(ctl, NHI_MSG_ENROLL_CODE, &args, &reply);
	nhi_kv_clear(&args);
	if (rc != NHICTL_EXIT_OK)
		return rc;
	if (reply.n_records == 0 || (code = nhi_kv_str(&reply.records[0], "code")) == NULL) {
		fprintf(stderr, "nhictl: the broker sent no code\n");
		nhi_msg_reply_clear(&reply);
		return NHICTL_EXIT_FAILED;
	}
	if (ctl->json) {
		static const struct nhictl_field fields[] = {
		        {"identity", "identity", NHICTL_STR, true},
		        {"code", "code", NHICTL_STR, true},
		        {"expires", "expires", NHICTL_TIME, true},
		};
		nhictl_print_item(ctl, fields, 3, &reply.records[0]);
	} else {
		const char *exp = nhi_kv_str(&reply.records[0], "expires");
		nhictl_format_time(exp != NULL ? strtoll(exp, NULL, 10) : 0, when, sizeof(when));
		printf("Enrollment code for %s, valid until %s:\n\n    %s\n\n"
		       "It is shown only this once and works once. Give it to the engineer\n"
		       "over a channel you trust.\n",
		       name, when, nhictl_clean(code, buf, sizeof(buf)));
	}
	nhi_msg_reply_clear(&reply);
	return NHICTL_EXIT_OK;
}

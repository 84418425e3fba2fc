/* nhictl: administers the nhi broker over its socket. */
#include "config.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "argv.h"
#include "conf.h"
#include "err.h"
#include "nhictl.h"

#define TIMEOUT_MS_DEFAULT 10000

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: nhictl [-c FILE] [--socket PATH] [--timeout SECONDS] [--json] COMMAND ...\n"
	        "\n"
	        "Administers the nhi broker (nhid). Root or the admin group only.\n"
	        "\n"
	        "Commands:\n"
	        "  identity add|list|show|set|suspend|resume|retire|import   the inventory\n"
	        "  enroll NAME [--ttl D]          a one-use enrollment code for a human\n"
	        "  cert list|show                 issued certificates\n"
	        "  revoke --serial N | --identity NAME | --key FINGERPRINT [--reason TEXT]\n"
	        "  audit verify|export|tail       the hash-chained audit trail\n"
	        "  ca show|rotate                 the user CA\n"
	        "  status                         the broker's state\n"
	        "  keys list|show|except|retire|restore   static keys in authorized_keys files\n"
	        "  breakglass init --account NAME sealed one-time codes (root, no broker needed)\n"
	        "  grant list|approve|deny|revoke just-in-time elevation grants\n"
	        "  discover [--account NAME] [--enforce]   static keys of every account, in bulk\n"
	        "  group add|list|show|member-add|member-remove   unix groups served by nss_nhi\n"
	        "\n"
	        "Options:\n"
	        "  -c, --config FILE   configuration (default " NHI_CONFIG_PATH_DEFAULT ")\n"
	        "      --socket PATH   the broker's socket (default: from the configuration)\n"
	        "      --timeout S     seconds to wait for the broker (default 10)\n"
	        "  -j, --json          JSON output: one object per line\n"
	        "  -h, --help          this help; 'nhictl COMMAND --help' for a command\n"
	        "  -V, --version       the version\n"
	        "\n"
	        "Exit status: 0 ok, 1 refused or failed, 2 usage, 3 broker unavailable,\n"
	        "4 audit verification failed. See nhictl(8).\n");
}

int nhictl_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "nhictl %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'nhictl %s --help'.\n", cmd);
	return NHICTL_EXIT_USAGE;
}

int nhictl_subcommand_start(int argc, char **argv, void (*cmd_usage)(FILE *f))
{
	if (argc < 2) {
		cmd_usage(stderr);
		return NHICTL_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		cmd_usage(stdout);
		return NHICTL_EXIT_OK;
	}
	return NHICTL_GO_ON;
}

int nhictl_common_opt(struct nhictl *ctl, const char *cmd, int opt, char **argv,
                      void (*cmd_usage)(FILE *f))
{
	switch (opt) {
	case 'h':
		cmd_usage(stdout);
		return NHICTL_EXIT_OK;
	case 'j':
		ctl->json = true;
		return NHICTL_OPT_DONE;
	case ':':
		return nhictl_usage_error(cmd, "option '%s' needs a value", argv[optind - 1]);
	case '?':
		if (optopt != 0)
			return nhictl_usage_error(cmd, "unknown option '-%c'", optopt);
		return nhictl_usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
	}
	return NHICTL_OPT_OWN;
}

int nhictl_one_arg(struct nhictl *ctl, const char *cmd, int argc, char **argv,
                   void (*cmd_usage)(FILE *f), const char *what, const char **ret_arg)
{
	static const struct option options[] = {
	        {"json", no_argument, NULL, 'j'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	int opt, rc;

	optind = 0;
	while ((opt = getopt_long(argc, argv, ":jh", options, NULL)) != -1)
		if ((rc = nhictl_common_opt(ctl, cmd, opt, argv, cmd_usage)) != NHICTL_OPT_DONE)
			return rc;
	if (optind >= argc)
		return nhictl_usage_error(cmd, "missing %s", what);
	if (optind + 1 < argc)
		return nhictl_usage_error(cmd, "unexpected argument '%s'", argv[optind + 1]);
	*ret_arg = argv[optind];
	return NHICTL_EXIT_OK;
}

int nhictl_call(const struct nhictl *ctl, uint8_t type, const struct nhi_kv *args,
                struct nhi_msg_reply *ret_reply)
{
	struct nhi_kv none;
	int r;

	nhi_kv_init(&none);
	memset(ret_reply, 0, sizeof(*ret_reply));
	r = nhi_msg_call(ctl->socket_path, ctl->timeout_ms, type, args != NULL ? args : &none,
	                 ret_reply);
	if (r < 0) {
		nhi_msg_reply_clear(ret_reply);
		fprintf(stderr, "nhictl: broker at %s: %s\n", ctl->socket_path, nhi_strerror(r));
		switch (r) {
		case NHI_ERR_BROKER_UNAVAILABLE:
		case NHI_ERR_TIMEOUT:
		case NHI_ERR_PEER_CLOSED:
		case NHI_ERR_PROTOCOL:
		case NHI_ERR_PROTOCOL_VERSION:
		case NHI_ERR_SYSTEM:
			return NHICTL_EXIT_UNAVAILABLE;
		default:
			return NHICTL_EXIT_FAILED;
		}
	}
	if (ret_reply->status < 0) {
		char buf[1024];
		const char *msg = ret_reply->message != NULL && ret_reply->message[0] != '\0'
		                          ? ret_reply->message
		                          : nhi_strerror(ret_reply->status);
		fprintf(stderr, "nhictl: %s\n", nhictl_clean(msg, buf, sizeof(buf)));
		nhi_msg_reply_clear(ret_reply);
		return NHICTL_EXIT_FAILED;
	}
	return NHICTL_EXIT_OK;
}

int nhictl_call_pages(const struct nhictl *ctl, uint8_t type, const struct nhi_kv *filter,
                      const char *cursor, const char *after_arg, struct nhi_kv **ret_all,
                      size_t *ret_n)
{
	struct nhi_msg_reply reply = {0};
	struct nhi_kv args;
	const char *last;
	int rc = NHICTL_EXIT_OK;

	nhi_kv_init(&args);
	for (;;) {
		nhi_kv_clear(&args);
		for (size_t i = 0; filter != NULL && i < filter->n && rc == NHICTL_EXIT_OK; i++)
			if (nhi_kv_add(&args, filter->items[i].key, filter->items[i].value,
			               filter->items[i].len) < 0)
				rc = NHICTL_EXIT_FAILED;
		if (rc == NHICTL_EXIT_OK && *ret_n > 0) {
			/* A page whose last record has no cursor cannot be
			 * followed; asking again from the start would loop. */
			last = nhi_kv_str(&(*ret_all)[*ret_n - 1], cursor);
			if (last == NULL || nhi_kv_add_str(&args, after_arg, last) < 0)
				rc = NHICTL_EXIT_FAILED;
		}
		if (rc != NHICTL_EXIT_OK ||
		    (rc = nhictl_call(ctl, type, &args, &reply)) != NHICTL_EXIT_OK ||
		    reply.n_records == 0)
			break;
		if (nhictl_records_take(ret_all, ret_n, &reply) < 0) {
			rc = NHICTL_EXIT_FAILED;
			break;
		}
		nhi_msg_reply_clear(&reply);
	}
	nhi_msg_reply_clear(&reply);
	nhi_kv_clear(&args);
	return rc;
}

static const struct {
	const char *name;
	int (*fn)(struct nhictl *ctl, int argc, char **argv);
} commands[] = {
        {"identity", nhictl_cmd_identity}, {"enroll", nhictl_cmd_enroll}, {"cert", nhictl_cmd_cert},
        {"revoke", nhictl_cmd_revoke},     {"audit", nhictl_cmd_audit},   {"ca", nhictl_cmd_ca},
        {"status", nhictl_cmd_status},
        {"keys", nhictl_cmd_keys},
        {"breakglass", nhictl_cmd_breakglass},
        {"grant", nhictl_cmd_grant},
        {"discover", nhictl_cmd_discover},
        {"group", nhictl_cmd_group},
};

int nhictl_load_config(const struct nhictl *ctl, struct nhi_config **ret_cfg)
{
	const char *path = ctl->config_path != NULL ? ctl->config_path : NHI_CONFIG_PATH_DEFAULT;
	char err[512];
	int r;

	r = nhi_config_load(path, ret_cfg, err, sizeof(err));
	if (r == NHI_ERR_NOT_FOUND && ctl->config_path == NULL)
		return nhi_config_defaults(ret_cfg);
	if (r == NHI_ERR_NOT_FOUND)
		fprintf(stderr, "nhictl: cannot read configuration '%s': no such file\n", path);
	else if (r < 0)
		fprintf(stderr, "nhictl: %s\n", err);
	return r;
}

/* The socket: --socket, else the configuration's. */
static int find_socket(const struct nhictl *ctl, const char *socket_opt, char **ret)
{
	struct nhi_config *cfg = NULL;
	int r;

	if (socket_opt != NULL) {
		*ret = strdup(socket_opt);
		return *ret != NULL ? 0 : NHI_ERR_ALLOC;
	}
	if ((r = nhictl_load_config(ctl, &cfg)) < 0)
		return r;
	if ((*ret = strdup(cfg->socket_path)) == NULL)
		r = NHI_ERR_ALLOC;
	nhi_config_free(cfg);
	return r;
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
	        {"config", required_argument, NULL, 'c'},
	        {"socket", required_argument, NULL, 'S'},
	        {"timeout", required_argument, NULL, 't'},
	        {"json", no_argument, NULL, 'j'},
	        {"help", no_argument, NULL, 'h'},
	        {"version", no_argument, NULL, 'V'},
	        {NULL, 0, NULL, 0},
	};
	struct nhictl ctl = {.timeout_ms = TIMEOUT_MS_DEFAULT};
	const char *socket_opt = NULL;
	char *socket_path = NULL;
	uint32_t secs;
	int opt, rc = NHICTL_EXIT_USAGE;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+:c:jhV", options, NULL)) != -1) {
		switch (opt) {
		case 'c':
			ctl.config_path = optarg;
			break;
		case 'S':
			socket_opt = optarg;
			break;
		case 't':
			if (nhi_parse_duration(optarg, &secs) < 0 || secs == 0 || secs > 3600) {
				fprintf(stderr, "nhictl: invalid --timeout '%s': 1s to 1h\n",
				        optarg);
				return NHICTL_EXIT_USAGE;
			}
			ctl.timeout_ms = (int)secs * 1000;
			break;
		case 'j':
			ctl.json = true;
			break;
		case 'h':
			usage(stdout);
			return NHICTL_EXIT_OK;
		case 'V':
			printf("nhictl %s\n", PACKAGE_VERSION);
			return NHICTL_EXIT_OK;
		case ':':
			fprintf(stderr, "nhictl: option '%s' needs a value\n", argv[optind - 1]);
			return NHICTL_EXIT_USAGE;
		default:
			if (optopt != 0)
				fprintf(stderr, "nhictl: unknown option '-%c'\n", optopt);
			else
				fprintf(stderr, "nhictl: unknown option '%s'\n", argv[optind - 1]);
			fprintf(stderr, "Try 'nhictl --help'.\n");
			return NHICTL_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return NHICTL_EXIT_USAGE;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[optind], commands[i].name) != 0)
			continue;
		if (!nhi_argv_wants_help(argc - optind, argv + optind) &&
		    find_socket(&ctl, socket_opt, &socket_path) < 0)
			return NHICTL_EXIT_FAILED;
		ctl.socket_path = socket_path;
		/* Each command parses its own argv from its name on. */
		rc = commands[i].fn(&ctl, argc - optind, argv + optind);
		free(socket_path);
		return rc;
	}
	fprintf(stderr, "nhictl: unknown command '%s'\nTry 'nhictl --help'.\n", argv[optind]);
	return rc;
}

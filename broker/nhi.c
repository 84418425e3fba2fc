/* nhi: asks the local broker for short-lived credentials, as any user. */
#include "config.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "argv.h"
#include "conf.h"
#include "err.h"
#include "log.h"
#include "nhi_cli.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: nhi [-c FILE] [--socket PATH] [--timeout D] [--json] COMMAND ...\n"
	           "\n"
	           "Asks the local nhi broker (nhid) for short-lived OpenSSH certificates.\n"
	           "\n"
	           "Commands:\n"
	           "  cert --identity NAME [--ttl D] [--out PATH]\n"
	           "                      a certificate for a new in-memory key, loaded into\n"
	           "                      the ssh-agent (or written to PATH and PATH-cert.pub)\n"
	           "  whoami              what the broker sees of this process\n"
	           "  status              the broker's state\n"
	           "  elevate --role ROLE --reason TEXT [--ttl D]\n"
	           "                      a just-in-time grant: sudo without a password\n"
	           "  enroll --code CODE HOST\n"
	           "                      enroll a device key with the broker on HOST (over ssh)\n"
	           "  login [--ttl D] HOST\n"
	           "                      a certificate from the broker on HOST for a new key,\n"
	           "                      loaded into the ssh-agent\n"
	           "  ssh --identity NAME [-p PORT] [-l USER] HOST [--] [COMMAND...]\n"
	           "                      run COMMAND on HOST with a certificate for a key\n"
	           "                      that exists only in memory\n"
	           "\n"
	           "Options:\n"
	           "  -c, --config FILE   configuration (default " NHI_CONFIG_PATH_DEFAULT ")\n"
	           "      --socket PATH   the broker's socket (default: from the configuration)\n"
	           "      --timeout D     how long to wait for the broker (default: the\n"
	           "                      configuration's helper_timeout_ms)\n"
	           "  -j, --json          JSON output\n"
	           "  -h, --help          this help; 'nhi COMMAND --help' for a command\n"
	           "  -V, --version       the version\n"
	           "\n"
	           "Exit status: 0 ok, 1 refused or failed, 2 usage, 3 broker unavailable or\n"
	           "timed out. See nhi(1).\n");
}

int nhi_cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "nhi %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'nhi %s --help'.\n", cmd);
	return NHI_EXIT_USAGE;
}

int nhi_cli_fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "nhi: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return NHI_EXIT_REFUSED;
}

const char *nhi_cli_clean(const char *s, char *buf, size_t len)
{
	return nhi_log_sanitize(s != NULL ? s : "", buf, len);
}

void nhi_cli_json_string(FILE *f, const char *s)
{
	const unsigned char *p;

	fputc('"', f);
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p == '\n')
			fputs("\\n", f);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(f, "\\u%04x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

void nhi_cli_format_time(uint64_t t, char *buf, size_t len)
{
	time_t tt = t > (uint64_t)INT64_MAX ? (time_t)INT64_MAX : (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL || strftime(buf, len, "%Y-%m-%d %H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "%llu", (unsigned long long)t);
}

int nhi_cli_call(const struct nhi_cli *cli, uint8_t type, const struct nhi_kv *args,
                 struct nhi_msg_reply *ret_reply)
{
	char buf[1024];
	int r;

	memset(ret_reply, 0, sizeof(*ret_reply));
	r = nhi_msg_call(cli->socket_path, cli->timeout_ms, type, args, ret_reply);
	if (r < 0) {
		nhi_msg_reply_clear(ret_reply);
		fprintf(stderr, "nhi: broker at %s: %s\n",
		        nhi_cli_clean(cli->socket_path, buf, sizeof(buf)), nhi_strerror(r));
		switch (r) {
		case NHI_ERR_BROKER_UNAVAILABLE:
		case NHI_ERR_TIMEOUT:
		case NHI_ERR_PEER_CLOSED:
		case NHI_ERR_PROTOCOL:
		case NHI_ERR_PROTOCOL_VERSION:
		case NHI_ERR_SYSTEM:
			return NHI_EXIT_UNAVAILABLE;
		default:
			return NHI_EXIT_REFUSED;
		}
	}
	if (ret_reply->status < 0) {
		const char *msg = ret_reply->message != NULL && ret_reply->message[0] != '\0'
		                          ? ret_reply->message
		                          : nhi_strerror(ret_reply->status);
		fprintf(stderr, "nhi: %s\n", nhi_cli_clean(msg, buf, sizeof(buf)));
		nhi_msg_reply_clear(ret_reply);
		return NHI_EXIT_REFUSED;
	}
	return NHI_EXIT_OK;
}

/* Fields that are numbers in JSON; everything else is a string. */
static bool is_numeric_field(const char *key)
{
	static const char *const numeric[] = {
	        "uid", "gid", "pid", "attested_pid", "identities", "certificates", "uptime",
	};

	for (size_t i = 0; i < sizeof(numeric) / sizeof(numeric[0]); i++) {
		if (strcmp(key, numeric[i]) == 0)
			return true;
	}
	return false;
}

static bool is_decimal(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return false;
	}
	return true;
}

/* The records of a whoami or status answer, as "key: value" lines or one
 * JSON object per record. Binary values are not expected here; any that
 * come are shown escaped. */
static void print_records(const struct nhi_cli *cli, const struct nhi_msg_reply *reply)
{
	char buf[1024];

	for (size_t i = 0; i < reply->n_records; i++) {
		const struct nhi_kv *rec = &reply->records[i];

		if (cli->json)
			fputc('{', stdout);
		for (size_t j = 0; j < rec->n; j++) {
			const char *key = rec->items[j].key;
			const char *value = (const char *)rec->items[j].value;

			if (strlen(value) != rec->items[j].len)
				value = "(binary)";
			if (!cli->json) {
				printf("%-16s %s\n", nhi_cli_clean(key, buf, sizeof(buf)),
				       nhi_cli_clean(value, buf + 64, sizeof(buf) - 64));
				continue;
			}
			if (j > 0)
				fputc(',', stdout);
			nhi_cli_json_string(stdout, key);
			fputc(':', stdout);
			if (is_numeric_field(key) && is_decimal(value) && strlen(value) < 20)
				fputs(value, stdout);
			else
				nhi_cli_json_string(stdout, value);
		}
		if (cli->json)
			fputs("}\n", stdout);
		else if (i + 1 < reply->n_records)
			fputc('\n', stdout);
	}
}

/* whoami and status: no arguments, records printed as they come. */
static int cmd_simple(struct nhi_cli *cli, int argc, char **argv, uint8_t type, const char *help)
{
	static const struct option options[] = {
	        {"json", no_argument, NULL, 'j'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	struct nhi_msg_reply reply;
	struct nhi_kv args;
	int opt, rc;

	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "+:jh", options, NULL)) != -1) {
		switch (opt) {
		case 'j':
			cli->json = true;
			break;
		case 'h':
			printf("usage: nhi %s [--json]\n\n%s\n", argv[0], help);
			return NHI_EXIT_OK;
		default:
			return nhi_cli_usage_error(argv[0], "unknown option '%s'",
			                           argv[optind - 1]);
		}
	}
	if (optind != argc)
		return nhi_cli_usage_error(argv[0], "unexpected argument '%s'", argv[optind]);
	nhi_kv_init(&args);
	if ((rc = nhi_cli_call(cli, type, &args, &reply)) != NHI_EXIT_OK)
		return rc;
	print_records(cli, &reply);
	nhi_msg_reply_clear(&reply);
	return NHI_EXIT_OK;
}

static int cmd_whoami(struct nhi_cli *cli, int argc, char **argv)
{
	return cmd_simple(
	        cli, argc, argv, NHI_MSG_WHOAMI,
	        "What the broker attests about this process: uid, gid, the executable\n"
	        "and its sha256, the systemd unit, and the identity they match. When run\n"
	        "through nhi, the process attested is the one that ran nhi.");
}

static int cmd_status(struct nhi_cli *cli, int argc, char **argv)
{
	return cmd_simple(cli, argc, argv, NHI_MSG_STATUS,
	                  "The broker's version, its CA fingerprint and how many identities and\n"
	                  "certificates it holds.");
}

static const struct {
	const char *name;
	int (*fn)(struct nhi_cli *cli, int argc, char **argv);
} commands[] = {
        {"cert", nhi_cmd_cert},
        {"whoami", cmd_whoami},
        {"status", cmd_status},
        {"elevate", nhi_cmd_elevate},
        {"enroll", nhi_cmd_enroll},
        {"login", nhi_cmd_login},
        {"ssh", nhi_cmd_ssh},
};

/* The socket and the timeout: the options, else the configuration's
 * (-c FILE, else the default file when it exists, else the built-in
 * defaults). */
static int load_settings(const char *config_path, const char *socket_opt, struct nhi_cli *cli,
                         char **ret_socket)
{
	struct nhi_config *cfg = NULL;
	const char *path = config_path != NULL ? config_path : NHI_CONFIG_PATH_DEFAULT;
	char err[512], buf[512];
	int r;

	r = nhi_config_load(path, &cfg, err, sizeof(err));
	if (r == NHI_ERR_NOT_FOUND && config_path == NULL) {
		r = nhi_config_defaults(&cfg);
	} else if (r == NHI_ERR_NOT_FOUND) {
		fprintf(stderr, "nhi: cannot read configuration '%s': no such file\n",
		        nhi_cli_clean(path, buf, sizeof(buf)));
		return r;
	} else if (r < 0) {
		fprintf(stderr, "nhi: %s\n", nhi_cli_clean(err, buf, sizeof(buf)));
		return r;
	}
	if (r < 0)
		return r;
	if (cli->timeout_ms == 0)
		cli->timeout_ms = (int)cfg->helper_timeout_ms;
	*ret_socket = strdup(socket_opt != NULL ? socket_opt : cfg->socket_path);
	nhi_config_free(cfg);
	return *ret_socket != NULL ? 0 : NHI_ERR_ALLOC;
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
	struct nhi_cli cli = {0};
	const char *config_path = NULL, *socket_opt = NULL;
	char *socket_path = NULL, buf[256];
	uint32_t secs;
	int opt, rc = NHI_EXIT_USAGE;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+:c:jhV", options, NULL)) != -1) {
		switch (opt) {
		case 'c':
			config_path = optarg;
			break;
		case 'S':
			socket_opt = optarg;
			break;
		case 't':
			if (nhi_parse_duration(optarg, &secs) < 0 || secs == 0 || secs > 3600) {
				fprintf(stderr, "nhi: invalid --timeout '%s': 1s to 1h\n",
				        nhi_cli_clean(optarg, buf, sizeof(buf)));
				return NHI_EXIT_USAGE;
			}
			cli.timeout_ms = (int)secs * 1000;
			break;
		case 'j':
			cli.json = true;
			break;
		case 'h':
			usage(stdout);
			return NHI_EXIT_OK;
		case 'V':
			printf("nhi %s\n", PACKAGE_VERSION);
			return NHI_EXIT_OK;
		case ':':
			fprintf(stderr, "nhi: option '%s' needs a value\n",
			        nhi_cli_clean(argv[optind - 1], buf, sizeof(buf)));
			return NHI_EXIT_USAGE;
		default:
			fprintf(stderr, "nhi: unknown option '%s'\nTry 'nhi --help'.\n",
			        nhi_cli_clean(argv[optind - 1], buf, sizeof(buf)));
			return NHI_EXIT_USAGE;
		}
	}
	if (optind == argc) {
		usage(stderr);
		return NHI_EXIT_USAGE;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[optind], commands[i].name) != 0)
			continue;
		if (!nhi_argv_wants_help(argc - optind, argv + optind) &&
		    load_settings(config_path, socket_opt, &cli, &socket_path) < 0)
			return NHI_EXIT_USAGE;
		cli.socket_path = socket_path;
		rc = commands[i].fn(&cli, argc - optind, argv + optind);
		free(socket_path);
		return rc;
	}
	fprintf(stderr, "nhi: unknown command '%s'\nTry 'nhi --help'.\n",
	        nhi_cli_clean(argv[optind], buf, sizeof(buf)));
	return rc;
}

/* nhi enroll and nhi login: an engineer reaches the broker host over
 * OpenSSH as the login account (ssh from PATH, authenticated by a device
 * key in the agent or given with -i), where nhi-issue relays one request
 * to the broker. `login` makes an Ed25519 key in memory, has it certified
 * and gives key and certificate to the ssh-agent for the certificate's
 * lifetime; nothing is written to disk. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "agent.h"
#include "cert.h"
#include "conf.h"
#include "err.h"
#include "fileio.h"
#include "nhi_cli.h"
#include "sshkey.h"

#define LOGIN_USER_DEFAULT "nhi-login"
#define SSH_OPTS_MAX       32u
#define ANSWER_MAX         (64u * 1024u)

struct remote_opts {
	const char *cmd;
	const char *host;
	const char *login_user;
	const char *identity_file;
	const char *code;
	uint32_t ttl;
	const char *ssh_opts[SSH_OPTS_MAX]; /* pairs: "-p" PORT, "-o" OPTION */
	size_t n_ssh_opts;
};

static void remote_usage(FILE *f, const char *cmd)
{
	if (strcmp(cmd, "enroll") == 0)
		fprintf(f,
		        "usage: nhi enroll --code CODE [-i KEY] [-p PORT] [-o SSH-OPTION]... HOST\n"
		        "\n"
		        "Enrolls a device key with the one-use code an administrator gave you.\n"
		        "The key is the one ssh authenticates with to the login account on\n"
		        "HOST: the first in your ssh-agent, or the one given with -i. A FIDO\n"
		        "(sk-ssh-ed25519) key is best.\n");
	else
		fprintf(f, "usage: nhi login [--ttl D] [-i KEY] [-p PORT] [-o SSH-OPTION]... HOST\n"
		           "\n"
		           "Gets a short-lived certificate from the broker on HOST with your\n"
		           "enrolled device key. A new Ed25519 key made in memory and its\n"
		           "certificate go to the ssh-agent at SSH_AUTH_SOCK, which drops them\n"
		           "when the certificate expires.\n");
	fprintf(f,
	        "\n"
	        "  -c, --code CODE      the enrollment code (enroll)\n"
	        "  -t, --ttl D          certificate lifetime, e.g. 30m, 1h (login; cap: policy)\n"
	        "  -i, --key FILE       the device key for ssh (-i, with IdentitiesOnly)\n"
	        "  -l, --user NAME      the login account on HOST (default " LOGIN_USER_DEFAULT
	        ")\n"
	        "  -p PORT, -o OPTION   passed to ssh\n"
	        "  -j, --json           print the result as one JSON object\n"
	        "  -h, --help           this help\n");
}

static int add_ssh_opt(struct remote_opts *o, const char *flag, const char *value)
{
	if (o->n_ssh_opts + 2 > SSH_OPTS_MAX)
		return nhi_cli_usage_error(o->cmd, "too many ssh options");
	if (value[0] == '\0' || value[0] == '-')
		return nhi_cli_usage_error(o->cmd, "%s needs a value", flag);
	o->ssh_opts[o->n_ssh_opts++] = flag;
	o->ssh_opts[o->n_ssh_opts++] = value;
	return 0;
}

/* > 0: an exit code; < 0: --help was printed; 0: go on. */
static int parse_remote_opts(const char *cmd, int argc, char **argv, struct nhi_cli *cli,
                             struct remote_opts *o)
{
	static const struct option options[] = {
	        {"code", required_argument, NULL, 'c'},
	        {"ttl", required_argument, NULL, 't'},
	        {"key", required_argument, NULL, 'i'},
	        {"user", required_argument, NULL, 'l'},
	        {"json", no_argument, NULL, 'j'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	char buf[256];
	int opt, rc;

	memset(o, 0, sizeof(*o));
	o->cmd = cmd;
	o->login_user = LOGIN_USER_DEFAULT;
	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "+:c:t:i:l:p:o:jh", options, NULL)) != -1) {
		switch (opt) {
		case 'c':
			if (strcmp(cmd, "enroll") != 0)
				return nhi_cli_usage_error(cmd, "--code is for 'nhi enroll'");
			o->code = optarg;
			break;
		case 't':
			if (strcmp(cmd, "login") != 0)
				return nhi_cli_usage_error(cmd, "--ttl is for 'nhi login'");
			if (nhi_parse_duration(optarg, &o->ttl) < 0 || o->ttl == 0)
				return nhi_cli_usage_error(
				        cmd, "invalid --ttl '%s': a duration such as 30m or 1h",
				        nhi_cli_clean(optarg, buf, sizeof(buf)));
			break;
		case 'i':
			o->identity_file = optarg;
			break;
		case 'l':
			o->login_user = optarg;
			break;
		case 'p':
		case 'o':
			if ((rc = add_ssh_opt(o, opt == 'p' ? "-p" : "-o", optarg)) != 0)
				return rc;
			break;
		case 'j':
			cli->json = true;
			break;
		case 'h':
			remote_usage(stdout, cmd);
			return -1;
		case ':':
			return nhi_cli_usage_error(cmd, "option needs a value");
		default:
			return nhi_cli_usage_error(cmd, "unknown option");
		}
	}
	if (optind + 1 != argc)
		return nhi_cli_usage_error(cmd, "expected one HOST");
	o->host = argv[optind];
	if (o->host[0] == '\0' || o->host[0] == '-' || strpbrk(o->host, " \t\n@") != NULL)
		return nhi_cli_usage_error(cmd, "invalid host '%s'",
		                           nhi_cli_clean(o->host, buf, sizeof(buf)));
	if (o->login_user[0] == '\0' || o->login_user[0] == '-')
		return nhi_cli_usage_error(cmd, "invalid --user");
	if (strcmp(cmd, "enroll") == 0 && o->code == NULL)
		return nhi_cli_usage_error(cmd, "--code CODE is required");
	return 0;
}

/* Runs ssh to the login account with request on its stdin; the first
 * line of its stdout in *ret_answer. ssh's and nhi-issue's own messages
 * go to our stderr as they come. Returns an exit code. */
static int run_ssh(const struct remote_opts *o, const char *request, char **ret_answer)
{
	const char *argv[SSH_OPTS_MAX + 16];
	int in[2] = {-1, -1}, out[2] = {-1, -1}, status, rc = NHI_EXIT_REFUSED;
	char *answer = NULL, *nl;
	size_t n = 0, got = 0;
	ssize_t k;
	pid_t pid;

	argv[n++] = "ssh";
	argv[n++] = "-T";
	argv[n++] = "-o";
	argv[n++] = "BatchMode=yes";
	if (o->identity_file != NULL) {
		argv[n++] = "-o";
		argv[n++] = "IdentitiesOnly=yes";
		argv[n++] = "-i";
		argv[n++] = o->identity_file;
	}
	for (size_t i = 0; i < o->n_ssh_opts; i++)
		argv[n++] = o->ssh_opts[i];
	argv[n++] = "-l";
	argv[n++] = o->login_user;
	argv[n++] = "--";
	argv[n++] = o->host;
	argv[n] = NULL;

	if ((answer = malloc(ANSWER_MAX + 1)) == NULL)
		return nhi_cli_fail("out of memory");
	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0) {
		rc = nhi_cli_fail("cannot make a pipe: %s", strerror(errno));
		goto out;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		rc = nhi_cli_fail("cannot fork: %s", strerror(errno));
		goto out;
	}
	if (pid == 0) {
		if (dup2(in[0], STDIN_FILENO) < 0 || dup2(out[1], STDOUT_FILENO) < 0)
			_exit(127);
		execvp("ssh", (char *const *)argv);
		fprintf(stderr, "nhi: cannot run ssh: %s\n", strerror(errno));
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	in[0] = out[1] = -1;
	signal(SIGPIPE, SIG_IGN);
	/* A failed write shows as ssh's exit status below. */
	(void)nhi_write_all(in[1], request, strlen(request));
	close(in[1]);
	in[1] = -1;
	for (;;) {
		k = read(out[0], answer + got, ANSWER_MAX - got);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0 || (got += (size_t)k) == ANSWER_MAX)
			break;
	}
	answer[got] = '\0';
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		rc = nhi_cli_fail("%s on %s refused or failed (ssh exit %d)", o->cmd, o->host,
		                  WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		goto out;
	}
	if ((nl = strchr(answer, '\n')) == NULL || strlen(answer) != got) {
		rc = nhi_cli_fail("unexpected answer from %s", o->host);
		goto out;
	}
	*nl = '\0';
	*ret_answer = answer;
	answer = NULL;
	rc = NHI_EXIT_OK;
out:
	for (int i = 0; i < 2; i++) {
		if (in[i] >= 0)
			close(in[i]);
		if (out[i] >= 0)
			close(out[i]);
	}
	free(answer);
	return rc;
}

int nhi_cmd_enroll(struct nhi_cli *cli, int argc, char **argv)
{
	struct remote_opts o;
	char *request = NULL, *answer = NULL, *id, *fp, buf[256];
	int rc;

	if ((rc = parse_remote_opts("enroll", argc, argv, cli, &o)) != 0)
		return rc < 0 ? NHI_EXIT_OK : rc;
	if (strpbrk(o.code, " \t\r\n") != NULL || strlen(o.code) > 64)
		return nhi_cli_usage_error("enroll", "invalid --code");
	if (asprintf(&request, "enroll %s\n", o.code) < 0)
		return nhi_cli_fail("out of memory");
	rc = run_ssh(&o, request, &answer);
	sodium_memzero(request, strlen(request));
	free(request);
	if (rc != NHI_EXIT_OK)
		return rc;
	/* "enrolled IDENTITY FINGERPRINT" */
	id = strchr(answer, ' ');
	fp = id != NULL ? strchr(id + 1, ' ') : NULL;
	if (strncmp(answer, "enrolled ", 9) != 0 || fp == NULL) {
		free(answer);
		return nhi_cli_fail("unexpected answer from %s", o.host);
	}
	*fp++ = '\0';
	id++;
	if (cli->json) {
		fputs("{\"identity\":", stdout);
		nhi_cli_json_string(stdout, id);
		fputs(",\"device_key\":", stdout);
		nhi_cli_json_string(stdout, fp);
		fputs("}\n", stdout);
	} else {
		printf("device key %s", nhi_cli_clean(fp, buf, sizeof(buf)));
		printf(" enrolled for %s\n", nhi_cli_clean(id, buf, sizeof(buf)));
	}
	free(answer);
	return NHI_EXIT_OK;
}

static void print_login(const struct nhi_cli *cli, const struct nhi_cert *cert, uint32_t lifetime)
{
	char buf[512], before[64];

	if (cli->json) {
		printf("{\"serial\":%" PRIu64 ",\"key_id\":", cert->serial);
		nhi_cli_json_string(stdout, cert->key_id);
		fputs(",\"principals\":[", stdout);
		for (size_t i = 0; i < cert->n_principals; i++) {
			if (i > 0)
				fputc(',', stdout);
			nhi_cli_json_string(stdout, cert->principals[i]);
		}
		printf("],\"valid_after\":%" PRIu64 ",\"valid_before\":%" PRIu64
		       ",\"agent_lifetime\":%" PRIu32 "}\n",
		       cert->valid_after, cert->valid_before, lifetime);
		return;
	}
	nhi_cli_format_time(cert->valid_before, before, sizeof(before));
	printf("serial:      %" PRIu64 "\n", cert->serial);
	printf("key id:      %s\n", nhi_cli_clean(cert->key_id, buf, sizeof(buf)));
	printf("principals: ");
	for (size_t i = 0; i < cert->n_principals; i++)
		printf(" %s", nhi_cli_clean(cert->principals[i], buf, sizeof(buf)));
	printf("\nvalid until: %s\nssh-agent:   added, removed after %" PRIu32 "s\n", before,
	       lifetime);
}

int nhi_cmd_login(struct nhi_cli *cli, int argc, char **argv)
{
	struct remote_opts o;
	struct nhi_key *pub = NULL;
	struct nhi_cert *cert = NULL;
	uint8_t *sk = NULL;
	char *text = NULL, *request = NULL, *answer = NULL;
	const char *agent;
	uint64_t now;
	uint32_t lifetime;
	int r, rc;

	if ((rc = parse_remote_opts("login", argc, argv, cli, &o)) != 0)
		return rc < 0 ? NHI_EXIT_OK : rc;
	agent = getenv("SSH_AUTH_SOCK");
	if (agent == NULL || agent[0] == '\0')
		return nhi_cli_usage_error("login", "no ssh-agent (SSH_AUTH_SOCK is not set)");
	if (sodium_init() < 0)
		return nhi_cli_fail("cannot initialise libsodium");
	if ((sk = sodium_malloc(NHI_ED25519_SK_BYTES)) == NULL ||
	    (pub = calloc(1, sizeof(*pub))) == NULL) {
		rc = nhi_cli_fail("out of memory");
		goto out;
	}
	pub->type = NHI_KEY_ED25519;
	if (crypto_sign_keypair(pub->ed25519_pk, sk) != 0 ||
	    (r = nhi_key_to_text(pub, NULL, &text)) < 0 ||
	    asprintf(&request, "issue %" PRIu32 " %s\n", o.ttl, text) < 0) {
		request = NULL;
		rc = nhi_cli_fail("cannot make a key");
		goto out;
	}
	if ((rc = run_ssh(&o, request, &answer)) != NHI_EXIT_OK)
		goto out;
	if ((r = nhi_cert_from_text(answer, &cert, NULL)) < 0 || cert->type != NHI_CERT_TYPE_USER ||
	    !nhi_key_equal(cert->key, pub)) {
		rc = nhi_cli_fail("%s answered with a certificate that is not for the new key",
		                  o.host);
		goto out;
	}
	now = (uint64_t)time(NULL);
	if (cert->valid_before <= now) {
		rc = nhi_cli_fail("the certificate has already expired: check the clocks");
		goto out;
	}
	lifetime = cert->valid_before - now > UINT32_MAX ? UINT32_MAX
	                                                 : (uint32_t)(cert->valid_before - now);
	if ((r = nhi_agent_add_ed25519_cert(agent, sk, cert, cert->key_id, lifetime,
	                                    cli->timeout_ms)) < 0) {
		rc = nhi_cli_fail("cannot add the key to the ssh-agent at SSH_AUTH_SOCK: %s",
		                  nhi_strerror(r));
		goto out;
	}
	print_login(cli, cert, lifetime);
	rc = NHI_EXIT_OK;
out:
	sodium_free(sk); /* zeroes before it frees */
	nhi_cert_free(cert);
	nhi_key_free(pub);
	free(text);
	free(request);
	free(answer);
	return rc;
}

/* nhi-issue: the ForceCommand of the login user (nhi-login). sshd has
 * authenticated a device key; ExposeAuthInfo names it in the file that
 * SSH_USER_AUTH points to. One request line on stdin:
 *
 *   enroll CODE                  enroll that device key with a one-use code
 *   issue TTL TYPE BASE64        certify the public key for the identity
 *                                owning the device key (TTL seconds, 0: default)
 *
 * The answer is one line on stdout (the certificate, or "enrolled IDENTITY
 * FINGERPRINT"); a refusal is one line on stderr and a non-zero exit. The
 * broker decides everything; this program only reads strictly and relays.
 * SSH_USER_AUTH is trusted because the login user's only authorized keys
 * come from the broker, without environment= options, and sshd runs with
 * PermitUserEnvironment no. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "b64.h"
#include "buf.h"
#include "conf.h"
#include "err.h"
#include "issue_authinfo.h"
#include "log.h"
#include "msg.h"
#include "sshkey.h"

#define PROGRAM_NAME "nhi-issue"
#define REQUEST_MAX  (NHI_KEY_TEXT_MAX + 128u)
#define TTL_MAX      86400u

enum { EXIT_REFUSED = 1, EXIT_USAGE = 2, EXIT_UNAVAILABLE = 3 };

static int say(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int say(int code, const char *fmt, ...)
{
	va_list ap;

	fputs(PROGRAM_NAME ": ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return code;
}

/* The whole of a small regular file we own, read without following links. */
static int read_auth_info(const char *path, char **ret_text)
{
	struct stat st;
	char *text = NULL;
	size_t got = 0;
	ssize_t n;
	int fd, r = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	if (fd < 0)
		return NHI_ERR_SYSTEM;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != getuid() ||
	    (st.st_mode & 0077) != 0) {
		r = NHI_ERR_FILE_UNSAFE;
		goto out;
	}
	if (st.st_size <= 0 || (size_t)st.st_size > NHI_ISSUE_AUTHINFO_MAX) {
		r = NHI_ERR_FILE_TOO_LARGE;
		goto out;
	}
	if ((text = malloc((size_t)st.st_size + 1)) == NULL) {
		r = NHI_ERR_ALLOC;
		goto out;
	}
	while (got < (size_t)st.st_size) {
		n = read(fd, text + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = NHI_ERR_SYSTEM;
			goto out;
		}
		got += (size_t)n;
	}
	text[got] = '\0';
	if (strlen(text) != got)
		r = NHI_ERR_INVALID_FORMAT;
out:
	close(fd);
	if (r < 0) {
		free(text);
		return r;
	}
	*ret_text = text;
	return 0;
}

static int read_request(char *buf, size_t size)
{
	size_t got = 0;
	ssize_t n;

	while (got < size - 1) {
		n = read(STDIN_FILENO, buf + got, size - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return NHI_ERR_SYSTEM;
		if (n == 0)
			break;
		got += (size_t)n;
		if (memchr(buf, '\n', got) != NULL)
			break;
	}
	buf[got] = '\0';
	if (got > 0 && buf[got - 1] == '\n')
		buf[--got] = '\0';
	if (got == 0 || strlen(buf) != got || strchr(buf, '\n') != NULL)
		return NHI_ERR_INVALID_FORMAT;
	return 0;
}

static int add_key(struct nhi_kv *args, const char *name, const struct nhi_key *key)
{
	struct nhi_buf *blob = nhi_buf_new();
	int r;

	if (blob == NULL)
		return NHI_ERR_ALLOC;
	r = nhi_key_to_blob(key, blob);
	if (r == 0)
		r = nhi_kv_add(args, name, nhi_buf_ptr(blob), nhi_buf_len(blob));
	nhi_buf_free(blob);
	return r;
}

/* "issue TTL TYPE BASE64" -> args; a ttl of 0 asks for the default. */
static int parse_issue(char *req, struct nhi_kv *args)
{
	struct nhi_key *key = NULL;
	char *ttl_text = req, *key_text, *end;
	unsigned long ttl;
	bool is_cert = false;
	int r;

	key_text = strchr(req, ' ');
	if (key_text == NULL)
		return NHI_ERR_INVALID_FORMAT;
	*key_text++ = '\0';
	errno = 0;
	ttl = strtoul(ttl_text, &end, 10);
	if (ttl_text[0] < '0' || ttl_text[0] > '9' || *end != '\0' || errno != 0 || ttl > TTL_MAX)
		return NHI_ERR_INVALID_ARGUMENT;
	{
		char *sp = strchr(key_text, ' ');

		if (sp == NULL || strchr(sp + 1, ' ') != NULL)
			return NHI_ERR_INVALID_FORMAT;
		*sp = '\0';
		if (nhi_key_type_from_name(key_text, &is_cert) == NHI_KEY_UNKNOWN || is_cert)
			return NHI_ERR_KEY_TYPE_UNKNOWN;
		*sp = ' ';
	}
	if ((r = nhi_key_from_text(key_text, &key, NULL)) < 0)
		return r;
	r = add_key(args, "public_key", key);
	if (r == 0 && ttl > 0)
		r = nhi_kv_add_u64(args, "ttl", ttl);
	nhi_key_free(key);
	return r;
}

static int load_config(const char *path, bool explicit_path, struct nhi_config **ret_cfg)
{
	char err[256];
	int r = nhi_config_load(path, ret_cfg, err, sizeof(err));

	if (r == NHI_ERR_NOT_FOUND && !explicit_path)
		return nhi_config_defaults(ret_cfg);
	if (r < 0)
		nhi_log_error("%s", err);
	return r;
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: " PROGRAM_NAME " [-c CONFIG] [--enroll]\n"
	           "The ForceCommand of the nhi login account: reads one request on stdin\n"
	           "('enroll CODE' or 'issue TTL TYPE BASE64') for the device key named by\n"
	           "SSH_USER_AUTH and prints the broker's answer. See nhi-issue(8).\n");
}

int main(int argc, char **argv)
{
	const char *config_path = NHI_CONFIG_PATH_DEFAULT, *auth_path, *rec_text;
	struct nhi_msg_reply reply = {0};
	struct nhi_config *cfg = NULL;
	struct nhi_key *device = NULL;
	struct nhi_kv args;
	char *auth = NULL, *req = NULL, fp[NHI_FINGERPRINT_MAX], buf[256];
	bool explicit_config = false, enroll_only = false, enroll;
	uint8_t type;
	int i, r, rc = EXIT_REFUSED;

	nhi_kv_init(&args);
	nhi_log_init(PROGRAM_NAME, NHI_LOG_SYSLOG, LOG_INFO);
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
			config_path = argv[++i];
			explicit_config = true;
		} else if (strcmp(argv[i], "--enroll") == 0) {
			enroll_only = true;
		} else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		} else {
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	auth_path = getenv("SSH_USER_AUTH");
	if (auth_path == NULL || auth_path[0] != '/') {
		rc = say(EXIT_USAGE, "SSH_USER_AUTH is not set: sshd needs 'ExposeAuthInfo yes'");
		goto out;
	}
	if ((r = read_auth_info(auth_path, &auth)) < 0 ||
	    (r = nhi_issue_authinfo_parse(auth, &device)) < 0 ||
	    (r = nhi_key_fingerprint(device, fp)) < 0) {
		nhi_log_error("cannot read the authenticated key from SSH_USER_AUTH: %s",
		              nhi_strerror(r));
		rc = say(EXIT_REFUSED, "cannot tell which device key authenticated: %s",
		         nhi_strerror(r));
		goto out;
	}
	if ((req = malloc(REQUEST_MAX)) == NULL || (r = read_request(req, REQUEST_MAX)) < 0) {
		rc = say(EXIT_USAGE, "expected one request line on stdin");
		goto out;
	}
	enroll = strncmp(req, "enroll ", 7) == 0;
	if (!enroll && strncmp(req, "issue ", 6) != 0) {
		rc = say(EXIT_USAGE, "unknown request: expected 'enroll CODE' or 'issue TTL KEY'");
		goto out;
	}
	if (!enroll && enroll_only) {
		rc = say(EXIT_REFUSED, "device key %s is not enrolled: run 'nhi enroll' first", fp);
		goto out;
	}
	if ((r = add_key(&args, "device_key", device)) < 0 ||
	    (r = enroll ? nhi_kv_add_str(&args, "code", req + 7) : parse_issue(req + 6, &args)) <
	            0) {
		rc = say(EXIT_USAGE, "invalid request: %s", nhi_strerror(r));
		goto out;
	}
	if ((r = load_config(config_path, explicit_config, &cfg)) < 0) {
		rc = say(EXIT_UNAVAILABLE, "cannot read the configuration");
		goto out;
	}
	type = enroll ? NHI_MSG_DEVICE_ENROLL : NHI_MSG_DEVICE_ISSUE;
	r = nhi_msg_call(cfg->socket_path, (int)cfg->helper_timeout_ms, type, &args, &reply);
	if (r < 0) {
		nhi_log_error("broker at %s: %s", cfg->socket_path, nhi_strerror(r));
		rc = say(EXIT_UNAVAILABLE, "the broker is unavailable");
		goto out;
	}
	if (reply.status < 0) {
		rc = say(EXIT_REFUSED, "%s",
		         nhi_log_sanitize(reply.message != NULL ? reply.message : "refused", buf,
		                          sizeof(buf)));
		goto out;
	}
	if (reply.n_records != 1) {
		rc = say(EXIT_REFUSED, "unexpected answer from the broker");
		goto out;
	}
	if (enroll) {
		const char *id = nhi_kv_str(&reply.records[0], "identity");
		const char *kfp = nhi_kv_str(&reply.records[0], "fingerprint");

		if (id == NULL || kfp == NULL) {
			rc = say(EXIT_REFUSED, "unexpected answer from the broker");
			goto out;
		}
		printf("enrolled %s %s\n", nhi_log_sanitize(id, buf, sizeof(buf)), kfp);
	} else {
		rec_text = nhi_kv_str(&reply.records[0], "certificate_text");
		if (rec_text == NULL || strchr(rec_text, '\n') != NULL) {
			rc = say(EXIT_REFUSED, "unexpected answer from the broker");
			goto out;
		}
		printf("%s\n", rec_text);
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		rc = EXIT_REFUSED;
		goto out;
	}
	rc = 0;
out:
	nhi_msg_reply_clear(&reply);
	nhi_kv_clear(&args);
	nhi_key_free(device);
	nhi_config_free(cfg);
	free(auth);
	if (req != NULL) {
		explicit_bzero(req, REQUEST_MAX);
		free(req);
	}
	return rc;
}

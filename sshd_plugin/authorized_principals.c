/* nhi-authorized-principals: sshd's AuthorizedPrincipalsCommand.
 *
 *   nhi-authorized-principals [-c CONFIG] %u %U %s %i %f
 *
 * sshd expands the tokens unquoted into argv, so every argument is checked
 * before anything else happens; then the broker is asked once, within
 * helper_timeout_ms, whether this certificate may log in as this account.
 * Only the principals it answers are printed. Any doubt prints nothing and
 * exits 1: sshd then refuses the certificate (closed for certificates). */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "conf.h"
#include "err.h"
#include "kv.h"
#include "log.h"
#include "msg.h"
#include "names.h"

#define PROGRAM_NAME "nhi-authorized-principals"
#define DECIMAL_MAX  20u  /* digits of UINT64_MAX */
#define KEY_ID_MAX   128u /* "nhi:" name ":" serial, with room */
#define FP_B64_LEN   43u  /* unpadded base64 of a SHA-256 digest */
#define OUTPUT_MAX   16u  /* principal lines we are ready to print */

struct principals_query {
	const char *account;
	uint64_t uid;
	uint64_t serial;
	const char *key_id;
	const char *key_fp;
};

/* Canonical decimal: digits only, no sign, no leading zero, no overflow. */
static int parse_decimal(const char *s, uint64_t max, uint64_t *ret)
{
	uint64_t v = 0;
	size_t n = strlen(s);

	if (n == 0 || n > DECIMAL_MAX || strspn(s, "0123456789") != n || (s[0] == '0' && n > 1))
		return NHI_ERR_INVALID_FORMAT;
	for (size_t i = 0; i < n; i++) {
		unsigned d = (unsigned)(s[i] - '0');

		if (v > (max - d) / 10)
			return NHI_ERR_INVALID_FORMAT;
		v = v * 10 + d;
	}
	*ret = v;
	return 0;
}

/* "nhi:<identity>:<serial>", the serial being exactly the one sshd gave. */
static bool key_id_is_valid(const char *key_id, const char *serial_text)
{
	char identity[NHI_NAME_MAX + 1];
	const char *p, *colon;
	size_t len;

	if (strlen(key_id) > KEY_ID_MAX || strncmp(key_id, "nhi:", 4) != 0)
		return false;
	p = key_id + 4;
	if ((colon = strchr(p, ':')) == NULL || (len = (size_t)(colon - p)) > NHI_NAME_MAX)
		return false;
	memcpy(identity, p, len);
	identity[len] = '\0';
	return nhi_name_is_valid(identity) && strcmp(colon + 1, serial_text) == 0;
}

/* "SHA256:" and 43 characters of unpadded base64, as sshd prints it. */
static bool fingerprint_is_valid(const char *fp)
{
	static const char b64[] =
	        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

	return strncmp(fp, "SHA256:", 7) == 0 && strlen(fp) == 7 + FP_B64_LEN &&
	       strspn(fp + 7, b64) == FP_B64_LEN;
}

static int parse_arguments(char *const *argv, struct principals_query *ret)
{
	struct principals_query q = {0};
	char buf[80];

	if (!nhi_name_is_valid(argv[0])) {
		nhi_log_warning("invalid account name '%s'", nhi_log_sanitize(argv[0], buf, sizeof(buf)));
		return NHI_ERR_NAME_INVALID;
	}
	q.account = argv[0];
	if (parse_decimal(argv[1], (uid_t)-1 - 1, &q.uid) < 0) {
		nhi_log_warning("%s: invalid uid '%s'", q.account,
		                nhi_log_sanitize(argv[1], buf, sizeof(buf)));
		return NHI_ERR_INVALID_ARGUMENT;
	}
	/* The broker stores serials as int64. */
	if (parse_decimal(argv[2], INT64_MAX, &q.serial) < 0) {
		nhi_log_warning("%s: invalid certificate serial '%s'", q.account,
		                nhi_log_sanitize(argv[2], buf, sizeof(buf)));
		return NHI_ERR_INVALID_ARGUMENT;
	}
	if (!key_id_is_valid(argv[3], argv[2])) {
		nhi_log_warning("%s: key id '%s' is not nhi:<identity>:%s", q.account,
		                nhi_log_sanitize(argv[3], buf, sizeof(buf)), argv[2]);
		return NHI_ERR_INVALID_ARGUMENT;
	}
	q.key_id = argv[3];
	if (!fingerprint_is_valid(argv[4])) {
		nhi_log_warning("%s: invalid key fingerprint '%s'", q.account,
		                nhi_log_sanitize(argv[4], buf, sizeof(buf)));
		return NHI_ERR_INVALID_ARGUMENT;
	}
	q.key_fp = argv[4];
	*ret = q;
	return 0;
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

/* One request, one attempt. The lines to print are copied out only when
 * every one of them is a valid principal. */
static int query_broker(const struct nhi_config *cfg, const struct principals_query *q,
                        char ***ret_lines, size_t *ret_n)
{
	struct nhi_msg_reply reply = {0};
	struct nhi_kv args;
	char **lines = NULL;
	size_t n = 0;
	char buf[80];
	int r;

	nhi_kv_init(&args);
	if ((r = nhi_kv_add_str(&args, "account", q->account)) < 0 ||
	    (r = nhi_kv_add_u64(&args, "uid", q->uid)) < 0 ||
	    (r = nhi_kv_add_u64(&args, "serial", q->serial)) < 0 ||
	    (r = nhi_kv_add_str(&args, "key_id", q->key_id)) < 0 ||
	    (r = nhi_kv_add_str(&args, "key_fingerprint", q->key_fp)) < 0)
		goto out;
	r = nhi_msg_call(cfg->socket_path, (int)cfg->helper_timeout_ms, NHI_MSG_PRINCIPALS_QUERY,
	                 &args, &reply);
	if (r < 0) {
		nhi_log_error("%s: broker at %s: %s", q->account, cfg->socket_path, nhi_strerror(r));
		goto out;
	}
	if (reply.status < 0) {
		r = reply.status;
		nhi_log_notice("%s: certificate %llu refused: %s", q->account,
		               (unsigned long long)q->serial,
		               nhi_log_sanitize(reply.message != NULL ? reply.message : "", buf,
		                                sizeof(buf)));
		goto out;
	}
	if (reply.n_records > OUTPUT_MAX) {
		r = NHI_ERR_TOO_MANY;
		nhi_log_error("%s: the broker answered %zu principals", q->account, reply.n_records);
		goto out;
	}
	if ((lines = calloc(reply.n_records + 1, sizeof(*lines))) == NULL) {
		r = NHI_ERR_ALLOC;
		goto out;
	}
	for (n = 0; n < reply.n_records; n++) {
		const char *p = nhi_kv_str(&reply.records[n], "principal");

		if (p == NULL || !nhi_principal_is_valid(p)) {
			r = NHI_ERR_PROTOCOL;
			nhi_log_error("%s: the broker answered an invalid principal '%s'", q->account,
			              nhi_log_sanitize(p != NULL ? p : "", buf, sizeof(buf)));
			goto out;
		}
		if ((lines[n] = strdup(p)) == NULL) {
			r = NHI_ERR_ALLOC;
			goto out;
		}
	}
	*ret_lines = lines;
	*ret_n = n;
	lines = NULL;
	r = 0;
out:
	if (lines != NULL) {
		for (size_t i = 0; i < n; i++)
			free(lines[i]);
		free(lines);
	}
	nhi_msg_reply_clear(&reply);
	nhi_kv_clear(&args);
	return r;
}

int main(int argc, char **argv)
{
	const char *config_path = NHI_CONFIG_PATH_DEFAULT;
	struct principals_query q;
	struct nhi_config *cfg = NULL;
	char **lines = NULL;
	size_t n = 0;
	bool explicit_config = false;
	int r, status = 1;

	nhi_log_init(PROGRAM_NAME, NHI_LOG_SYSLOG | NHI_LOG_STDERR, LOG_INFO);
	/* Only a literal leading "-c FILE": tokens that sshd expands must never
	 * be read as options, whatever they contain. */
	if (argc >= 3 && strcmp(argv[1], "-c") == 0) {
		config_path = argv[2];
		explicit_config = true;
		argc -= 2;
		argv += 2;
	}
	if (argc != 6) {
		nhi_log_error("usage: " PROGRAM_NAME " [-c CONFIG] %%u %%U %%s %%i %%f");
		goto out;
	}
	if ((r = parse_arguments(argv + 1, &q)) < 0 ||
	    (r = load_config(config_path, explicit_config, &cfg)) < 0)
		goto out;
	nhi_log_set_level(cfg->log_level);
	if ((r = query_broker(cfg, &q, &lines, &n)) < 0 || n == 0)
		goto out;
	for (size_t i = 0; i < n; i++)
		printf("%s\n", lines[i]);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		nhi_log_error("%s: cannot write to sshd", q.account);
		goto out;
	}
	status = 0;
out:
	if (lines != NULL) {
		for (size_t i = 0; i < n; i++)
			free(lines[i]);
		free(lines);
	}
	nhi_config_free(cfg);
	return status;
}

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
#include "principals_args.h"

#define PROGRAM_NAME "nhi-authorized-principals"
#define OUTPUT_MAX   16u /* principal lines we are ready to print */

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
static int query_broker(const struct nhi_config *cfg, const struct nhi_principals_args *q,
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
		nhi_log_error("%s: broker at %s: %s", q->account, cfg->socket_path,
		              nhi_strerror(r));
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
		nhi_log_error("%s: the broker answered %zu principals", q->account,
		              reply.n_records);
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
			nhi_log_error("%s: the broker answered an invalid principal '%s'",
			              q->account,
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
	struct nhi_principals_args q;
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
	if ((r = nhi_principals_args_parse(argv + 1, &q)) < 0 ||
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

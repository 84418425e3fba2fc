/* nhi-authorized-keys: sshd's AuthorizedKeysCommand for static keys.
 *
 *   AuthorizedKeysCommand /usr/libexec/nhi/nhi-authorized-keys %u %U %f %t %k
 *   AuthorizedKeysCommandUser nhi
 *
 * An optional leading "-c FILE" names the configuration (tests). The
 * arguments are checked strictly; anything odd is logged (authpriv) and
 * the helper exits 1 printing nothing. Otherwise it asks the broker once,
 * within helper_timeout_ms, and prints the authorized_keys lines it gets
 * back after parsing each again: a line that does not parse, or does not
 * hold the offered key, is dropped.
 *
 * With [sshd] chain_command set, that command runs first (sshd_plugin/
 * chain.h) and its well-formed lines go to the broker with the query: the
 * broker records them (file "chain:PROGRAM") and answers them under the
 * same policy as file keys.
 *
 * Broker down: no file key is printed and the exit status is 0, whatever
 * keys_broker_down says. This helper runs as the unprivileged helper user
 * and cannot read users' key files itself, so "allow" has no safe meaning
 * for static keys without the broker: the login falls through to sshd's
 * other methods (certificates, which need no broker). The chained
 * command's lines are the exception: the helper holds them itself, so
 * keys_broker_down = allow prints those that hold the offered key, and deny
 * drops them.
 *
 * Every key here is parsed with the *_for_match parsers, which skip the
 * one check that needs libcrypto (an ECDSA point on its curve), so that
 * this helper, run twice per offered key, does not load libcrypto. That
 * is safe because a key here only decides by equality: sshd checked the
 * key it offers before it runs the helper, and a line is printed only when
 * its key is byte for byte that one. A point off its curve can equal no
 * checked key. The broker checks in full what the helper sends it. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authkeys.h"
#include "chain.h"
#include "conf.h"
#include "err.h"
#include "kv.h"
#include "log.h"
#include "msg.h"
#include "names.h"
#include "sshkey.h"

#define UID_TEXT_MAX 10u /* uint32 in decimal */

static bool is_fingerprint(const char *s)
{
	static const char b64[] =
	        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

	return strncmp(s, "SHA256:", 7) == 0 && strlen(s) == 7 + 43 && strspn(s + 7, b64) == 43;
}

static bool is_uid(const char *s)
{
	size_t len = strlen(s);

	if (len == 0 || len > UID_TEXT_MAX || strspn(s, "0123456789") != len ||
	    (len > 1 && s[0] == '0'))
		return false;
	return strtoull(s, NULL, 10) <= 0xffffffffull;
}

static int load_config(const char *path, struct nhi_config **ret)
{
	char err[512];
	int r = nhi_config_load(path != NULL ? path : NHI_CONFIG_PATH_DEFAULT, ret, err,
	                        sizeof(err));

	if (r == NHI_ERR_NOT_FOUND && path == NULL)
		return nhi_config_defaults(ret);
	if (r < 0)
		nhi_log_error("configuration: %s", err);
	return r;
}

/* The offered key from %t and %k, checked against %f. 1: a certificate
 * (not ours to answer); 0: a plain key in *ret; < 0: invalid. */
static int offered_key(const char *type, const char *b64, const char *fp, struct nhi_key **ret)
{
	char have[NHI_FINGERPRINT_MAX], *text = NULL;
	bool is_cert = false;
	int r;

	*ret = NULL;
	if (nhi_key_type_from_name(type, &is_cert) == NHI_KEY_UNKNOWN)
		return NHI_ERR_KEY_TYPE_UNKNOWN;
	if (is_cert)
		return 1;
	if (strlen(b64) > NHI_KEY_TEXT_MAX ||
	    strspn(b64, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
	                "qrstuvwxyz0123456789+/=") != strlen(b64))
		return NHI_ERR_BASE64;
	if (asprintf(&text, "%s %s", type, b64) < 0)
		return NHI_ERR_ALLOC;
	r = nhi_key_from_text_for_match(text, ret, NULL);
	free(text);
	if (r == 0 && (r = nhi_key_fingerprint(*ret, have)) == 0 && strcmp(have, fp) != 0)
		r = NHI_ERR_KEY_INVALID;
	if (r < 0) {
		nhi_key_free(*ret);
		*ret = NULL;
	}
	return r;
}

/* The broker's answer, each line checked again; printed only when all is well. */
static int print_lines(const struct nhi_msg_reply *reply, const struct nhi_key *key)
{
	const char *reason = NULL;
	char buf[128];
	int printed = 0;

	for (size_t i = 0; i < reply->n_records; i++) {
		const struct nhi_kv_item *it = nhi_kv_find(&reply->records[i], "line");
		struct nhi_authkey *ak = NULL;

		if (it == NULL || it->len == 0 || it->len >= NHI_AUTHKEYS_LINE_MAX ||
		    memchr(it->value, '\0', it->len) != NULL ||
		    strpbrk((const char *)it->value, "\r\n") != NULL) {
			nhi_log_warning("dropped a malformed line from the broker");
			continue;
		}
		if (nhi_authkeys_parse_line_for_match((const char *)it->value, it->len, &ak,
		                                      &reason) < 0 ||
		    ak == NULL || ak->opts.cert_authority || !nhi_key_equal(ak->key, key)) {
			nhi_log_warning(
			        "dropped a line from the broker: %s",
			        nhi_log_sanitize(reason != NULL ? reason : "not the offered key",
			                         buf, sizeof(buf)));
			nhi_authkey_free(ak);
			continue;
		}
		nhi_authkey_free(ak);
		if (printf("%s\n", (const char *)it->value) < 0)
			return NHI_ERR_SYSTEM;
		printed++;
	}
	if (fflush(stdout) != 0)
		return NHI_ERR_SYSTEM;
	return printed;
}

/* The broker is down: the chained lines that hold the offered key, as
 * keys_broker_down = allow wants them. */
static int print_chained(char **lines, size_t n, const struct nhi_key *key)
{
	int printed = 0;

	for (size_t i = 0; i < n; i++) {
		struct nhi_authkey *ak = NULL;
		bool holds = nhi_authkeys_parse_line_for_match(lines[i], strlen(lines[i]), &ak,
		                                               NULL) == 0 &&
		             ak != NULL && nhi_key_equal(ak->key, key);

		nhi_authkey_free(ak);
		if (!holds)
			continue;
		if (printf("%s\n", lines[i]) < 0)
			return NHI_ERR_SYSTEM;
		printed++;
	}
	if (fflush(stdout) != 0)
		return NHI_ERR_SYSTEM;
	return printed;
}

int main(int argc, char **argv)
{
	struct nhi_msg_reply reply = {0};
	struct nhi_config *cfg = NULL;
	struct nhi_key *key = NULL;
	char **chained = NULL;
	size_t n_chained = 0;
	const char *config_path = NULL, *user, *uid, *fp, *type, *b64;
	char buf[80];
	struct nhi_kv args;
	int r, rc = 1;

	nhi_log_init("nhi-authorized-keys", NHI_LOG_SYSLOG, LOG_INFO);
	nhi_kv_init(&args);
	if (argc > 2 && strcmp(argv[1], "-c") == 0) {
		config_path = argv[2];
		argc -= 2;
		argv += 2;
	}
	if (argc != 6) {
		nhi_log_error("usage: nhi-authorized-keys [-c FILE] %%u %%U %%f %%t %%k "
		              "(got %d arguments)",
		              argc - 1);
		goto out;
	}
	user = argv[1];
	uid = argv[2];
	fp = argv[3];
	type = argv[4];
	b64 = argv[5];
	if (!nhi_name_is_valid(user)) {
		nhi_log_error("invalid account name '%s'",
		              nhi_log_sanitize(user, buf, sizeof(buf)));
		goto out;
	}
	if (!is_uid(uid) || !is_fingerprint(fp)) {
		nhi_log_error("%s: invalid uid or fingerprint argument", user);
		goto out;
	}
	r = offered_key(type, b64, fp, &key);
	if (r == 1) {
		nhi_log_debug("%s: a certificate: not a static key", user);
		rc = 0;
		goto out;
	}
	if (r < 0) {
		nhi_log_error("%s: invalid key arguments: %s", user, nhi_strerror(r));
		goto out;
	}
	if (load_config(config_path, &cfg) < 0)
		goto out;
	nhi_log_set_level(cfg->log_level);
	if (cfg->chain_command != NULL) {
		const struct nhi_chain_tokens tokens = {user, uid, fp, type, b64};

		/* A failed chained command costs its lines, not the file keys. */
		if (nhi_chain_run(cfg->chain_command, &tokens, (int)cfg->helper_timeout_ms,
		                  &chained, &n_chained) < 0)
			n_chained = 0;
	}
	if (nhi_kv_add_str(&args, "account", user) < 0 || nhi_kv_add_str(&args, "uid", uid) < 0 ||
	    nhi_kv_add_str(&args, "fingerprint", fp) < 0 ||
	    nhi_kv_add_str(&args, "type", type) < 0 || nhi_kv_add_str(&args, "key", b64) < 0)
		goto out;
	for (size_t i = 0; i < n_chained; i++)
		if (nhi_kv_add_str(&args, "chain", chained[i]) < 0)
			goto out;
	r = nhi_msg_call(cfg->socket_path, (int)cfg->helper_timeout_ms, NHI_MSG_KEYS_QUERY, &args,
	                 &reply);
	if (r < 0) {
		/* See the top of this file: nothing to offer without the broker. */
		nhi_log_warning("%s: broker unavailable (%s): no static keys offered", user,
		                nhi_strerror(r));
		if (n_chained > 0 && cfg->keys_broker_down == NHI_BROKER_DOWN_ALLOW) {
			r = print_chained(chained, n_chained, key);
			if (r < 0)
				goto out;
			nhi_log_warning("%s: keys_broker_down = allow: %d chained line(s) for %s",
			                user, r, fp);
		}
		rc = 0;
		goto out;
	}
	if (reply.status < 0) {
		nhi_log_notice("%s: the broker refused: %s", user,
		               nhi_log_sanitize(reply.message != NULL ? reply.message
		                                                      : nhi_strerror(reply.status),
		                                buf, sizeof(buf)));
		rc = 0;
		goto out;
	}
	r = print_lines(&reply, key);
	if (r < 0) {
		nhi_log_error("%s: cannot write to sshd: %s", user, strerror(errno));
		goto out;
	}
	nhi_log_info("%s: %d static key line(s) for %s", user, r, fp);
	rc = 0;
out:
	nhi_msg_reply_clear(&reply);
	nhi_kv_clear(&args);
	nhi_chain_lines_free(chained, n_chained);
	nhi_key_free(key);
	nhi_config_free(cfg);
	return rc;
}

/* Static keys: the sshd helper's query (nhi-authorized-keys) and the
 * administrator's view of what discovery found.
 *
 * A query re-reads the account's key files (broker/discover.c), records
 * every key in the store and answers with the lines that match the key sshd
 * is asking about. keys_mode = observe (the default) changes nothing for
 * the login: every parsed matching line is answered with its options, and
 * with keys_grace > 0 an expiry-time of first_seen + grace is added.
 * keys_mode = enforce retires the static key sshd asks about (see
 * broker/retire.h and handle_keys_retire.c) unless an exception that has
 * not ended keeps it: such a key is answered with an expiry-time at the
 * exception's end. A retired key is never answered, in either mode.
 *
 * The helper may add the lines of the chained command ([sshd]
 * chain_command) it ran. They are recorded as found in the file
 * "chain:PROGRAM" and answered by the same rules, but for enforce: a
 * chained key without a running exception is refused (not answered,
 * audited) rather than retired. There is no file to take it out of, and the
 * tool that prints it owns its keys (often minted for one login), so it is
 * not put in the KRL; nhictl keys retire still can. */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "discover.h"
#include "err.h"
#include "handlers.h"
#include "log.h"
#include "names.h"
#include "sshkey.h"
#include "keys_record.h"
#include "store_static_key.h"

#define KEYS_PAGE_MAX    200u /* records in one keys-list answer */
#define KEYS_PAGE_BUDGET (160u * 1024u) /* bytes of them, well inside one frame */
#define KEYS_MATCH_MAX   16u  /* lines for one offered key: sshd needs one */
#define CHAIN_LINES_MAX  32u  /* chained lines in one query, as the helper keeps */
#define CHAIN_SOURCE_MAX 512u

struct keys_query {
	const char *account;
	uint64_t uid;
	const char *fingerprint;
	struct nhi_key *key; /* the key sshd offers */
};

/* "SHA256:" and 43 characters of unpadded base64, as ssh-keygen -lf prints. */
static bool is_fingerprint(const char *s)
{
	static const char b64[] =
	        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

	return strncmp(s, "SHA256:", 7) == 0 && strlen(s) == 7 + 43 && strspn(s + 7, b64) == 43;
}

static const char *arg(const struct nhi_call *c, const char *key)
{
	return nhi_kv_str(c->args, key);
}

static int query_args(struct nhi_call *c, struct keys_query *q)
{
	const char *type = arg(c, "type"), *b64 = arg(c, "key");
	char fp[NHI_FINGERPRINT_MAX], buf[80], *text = NULL;
	bool is_cert = false;
	int r;

	memset(q, 0, sizeof(*q));
	q->account = arg(c, "account");
	q->fingerprint = arg(c, "fingerprint");
	if (q->account == NULL || !nhi_name_is_valid(q->account))
		return nhi_call_error(
		        c, NHI_ERR_NAME_INVALID, "invalid account name '%s'",
		        nhi_log_sanitize(q->account ? q->account : "", buf, sizeof(buf)));
	if (nhi_kv_u64(c->args, "uid", &q->uid) < 0)
		return nhi_call_error(c, NHI_ERR_INVALID_ARGUMENT, "missing or invalid uid");
	if (q->fingerprint == NULL || !is_fingerprint(q->fingerprint))
		return nhi_call_error(c, NHI_ERR_INVALID_ARGUMENT, "invalid key fingerprint");
	if (type == NULL || b64 == NULL ||
	    nhi_key_type_from_name(type, &is_cert) == NHI_KEY_UNKNOWN || is_cert)
		return nhi_call_error(c, NHI_ERR_KEY_TYPE_UNKNOWN, "missing or unknown key type");
	if (strlen(b64) > NHI_KEY_TEXT_MAX)
		return nhi_call_error(c, NHI_ERR_LINE_TOO_LONG, "key too long");
	if (asprintf(&text, "%s %s", type, b64) < 0)
		return NHI_ERR_ALLOC;
	r = nhi_key_from_text(text, &q->key, NULL);
	free(text);
	if (r < 0)
		return nhi_call_error(c, r, "invalid key: %s", nhi_strerror(r));
	if ((r = nhi_key_fingerprint(q->key, fp)) < 0)
		return r;
	if (strcmp(fp, q->fingerprint) != 0)
		return nhi_call_error(c, NHI_ERR_KEY_INVALID,
		                      "the fingerprint does not match the key");
	return 0;
}

int nhi_keys_audit_discover(struct nhi_call *c, const char *account, const char *subject,
                            const char *what, const char *path, unsigned line,
                            const char *extra_key, const char *extra)
{
	struct nhi_audit_detail *d = NULL;
	struct nhi_audit_event ev = {.type = NHI_AUDIT_DISCOVER};
	int r;

	if ((r = nhi_audit_detail_new(&d)) < 0 || (r = nhi_audit_detail_str(d, "what", what)) < 0 ||
	    (r = nhi_audit_detail_str(d, "account", account)) < 0 ||
	    (r = nhi_audit_detail_str(d, "path", path)) < 0 ||
	    (line > 0 && (r = nhi_audit_detail_int(d, "line", line)) < 0) ||
	    (extra != NULL && (r = nhi_audit_detail_str(d, extra_key, extra)) < 0))
		goto out;
	ev.actor = "nhid";
	ev.subject = subject;
	ev.detail = nhi_audit_detail_text(d);
	r = nhi_audit_append(c->b->audit, &ev, NULL);
out:
	nhi_audit_detail_free(d);
	if (r < 0)
		return nhi_call_error(c, r, "cannot write the audit record: %s", nhi_strerror(r));
	return 0;
}

int nhi_keys_record(struct nhi_call *c, const char *account, const struct nhi_found_key *fk,
                    const char *fingerprint, int64_t now, int64_t *ret_first_seen, char **ret_state,
                    int64_t *ret_until, bool *ret_created)
{
	struct nhi_static_key k = {0};
	char fp[NHI_FINGERPRINT_MAX];
	bool created = false;
	int r;

	*ret_state = NULL;
	*ret_until = 0;
	if (fingerprint == NULL) {
		if ((r = nhi_key_fingerprint(fk->ak->key, fp)) < 0)
			return r;
		fingerprint = fp;
	}
	k.fingerprint = (char *)fingerprint;
	k.type = (char *)nhi_key_type_name(fk->ak->key->type);
	k.bits = nhi_key_bits(fk->ak->key);
	k.account = (char *)account;
	k.path = fk->path;
	k.line = fk->line;
	k.options = fk->ak->options_text;
	k.comment = fk->ak->comment;
	k.last_seen = now;
	k.weak = fk->weak;
	r = nhi_store_static_key_record(c->b->store, &k, ret_first_seen, &created, ret_state,
	                                ret_until);
	if (r < 0)
		return nhi_call_error(c, r, "cannot record a static key: %s", nhi_strerror(r));
	if (ret_created != NULL)
		*ret_created = created;
	else if (created)
		r = nhi_keys_audit_discover(c, account, fingerprint, "key", fk->path, fk->line,
		                            "weak", fk->weak ? "yes" : "no");
	if (r < 0) {
		free(*ret_state);
		*ret_state = NULL;
	}
	return r;
}

/* One answer line for ak, with the expiry of the grace or the exception. */
static int answer_line(struct nhi_call *c, const struct nhi_authkey *ak, int64_t first_seen,
                       bool excepted, int64_t until)
{
	int64_t expiry = 0;
	struct nhi_kv *rec;
	char *line = NULL;
	int r;

	if (c->b->cfg->keys_grace > 0)
		expiry = first_seen + c->b->cfg->keys_grace;
	if (excepted && (expiry == 0 || until < expiry))
		expiry = until;
	if (expiry > 0)
		r = nhi_authkey_format_with_expiry(ak, (time_t)expiry, &line);
	else
		r = nhi_authkey_format(ak, &line);
	if (r == 0 && (r = nhi_call_add_record(c, &rec)) == 0)
		r = nhi_kv_add_str(rec, "line", line);
	free(line);
	return r;
}

/* "chain:" and the program of the broker's own chain_command: the helper
 * is not asked where its lines came from. */
static int chain_source(const struct nhi_config *cfg, char **ret)
{
	const char *p = cfg->chain_command;
	size_t len = strcspn(p, " \t");

	if (len >= CHAIN_SOURCE_MAX)
		len = CHAIN_SOURCE_MAX;
	if (asprintf(ret, "chain:%.*s", (int)len, p) < 0)
		return NHI_ERR_ALLOC;
	return 0;
}

static int answer_chained(struct nhi_call *c, const struct keys_query *q, int64_t now,
                          size_t *matched)
{
	const struct nhi_config *cfg = c->b->cfg;
	size_t n = nhi_kv_count(c->args, "chain");
	struct nhi_found_key fk = {0};
	char *state = NULL;
	int r = 0;

	if (n == 0)
		return 0;
	if (cfg->chain_command == NULL) {
		nhi_log_warning("%s: chained lines but no chain_command configured: ignored",
		                q->account);
		return 0;
	}
	if (n > CHAIN_LINES_MAX)
		return nhi_call_error(c, NHI_ERR_INVALID_ARGUMENT, "more than %u chained lines",
		                      CHAIN_LINES_MAX);
	if ((r = chain_source(cfg, &fk.path)) < 0)
		return r;
	for (size_t i = 0; i < n && r == 0; i++) {
		const struct nhi_kv_item *it = nhi_kv_nth(c->args, "chain", i);
		const char *reason = NULL;
		int64_t first_seen = 0, until = 0;
		bool excepted;

		fk.line = (unsigned)i + 1;
		fk.ak = NULL;
		if (it->len == 0 || it->len >= NHI_AUTHKEYS_LINE_MAX ||
		    memchr(it->value, '\0', it->len) != NULL ||
		    memchr(it->value, '\n', it->len) != NULL ||
		    nhi_authkeys_parse_line((const char *)it->value, it->len, &fk.ak, &reason) <
		            0 ||
		    fk.ak == NULL || fk.ak->opts.cert_authority) {
			nhi_log_warning("%s: chained line %zu dropped: %s", q->account, i + 1,
			                reason != NULL ? reason : "malformed");
			nhi_authkey_free(fk.ak);
			continue;
		}
		fk.weak = nhi_key_policy(fk.ak->key, NULL) != NHI_KEY_ACCEPTABLE;
		free(state);
		state = NULL;
		r = nhi_keys_record(c, q->account, &fk, NULL, now, &first_seen, &state, &until,
		                    NULL);
		if (r < 0 || !nhi_key_equal(fk.ak->key, q->key) ||
		    (state != NULL && strcmp(state, "retired") == 0) ||
		    *matched >= KEYS_MATCH_MAX) {
			nhi_authkey_free(fk.ak);
			continue;
		}
		excepted = state != NULL && strcmp(state, "excepted") == 0 && until > now;
		if (cfg->keys_mode == NHI_KEYS_ENFORCE && !excepted) {
			r = nhi_keys_audit_discover(c, q->account, q->fingerprint, "chain-refused",
			                            fk.path, fk.line, NULL, NULL);
		} else {
			r = answer_line(c, fk.ak, first_seen, excepted, until);
			(*matched)++;
		}
		nhi_authkey_free(fk.ak);
	}
	free(state);
	free(fk.path);
	return r;
}

static int answer_static_keys(struct nhi_call *c, const struct keys_query *q)
{
	const struct nhi_config *cfg = c->b->cfg;
	struct nhi_discovery d = {0};
	int64_t now = (int64_t)nhi_broker_now(), first_seen = 0;
	size_t matched = 0, retired = 0;
	char *state = NULL;
	int64_t until = 0;
	int r;

	r = nhi_discover_account(cfg, q->account, &d);
	if (r == NHI_ERR_NOT_FOUND)
		return nhi_call_deny(c, q->account, r, "no such account");
	if (r < 0)
		return nhi_call_error(c, r, "discovery failed: %s", nhi_strerror(r));
	if (d.uid != q->uid) {
		r = nhi_call_deny(c, q->account, NHI_ERR_REFUSED,
		                  "the uid does not match the account");
		goto out;
	}
	for (size_t i = 0; i < d.n_findings; i++)
		if ((r = nhi_keys_audit_discover(c, q->account, d.findings[i].path, "skipped",
		                                 d.findings[i].path, d.findings[i].line, "reason",
		                                 d.findings[i].reason)) < 0)
			goto out;
	for (size_t i = 0; i < d.n_keys; i++) {
		const struct nhi_found_key *fk = &d.keys[i];
		bool excepted;

		free(state);
		state = NULL;
		until = 0;
		if ((r = nhi_keys_record(c, q->account, fk, NULL, now, &first_seen, &state, &until,
		                         NULL)) < 0)
			goto out;
		/* cert-authority lines are for certificates, not for a plain key;
		 * other keys are retired when sshd asks about them. */
		if (fk->ak->opts.cert_authority || !nhi_key_equal(fk->ak->key, q->key))
			continue;
		excepted = state != NULL && strcmp(state, "excepted") == 0 && until > now;
		if (cfg->keys_mode == NHI_KEYS_ENFORCE && !excepted) {
			char fp[NHI_FINGERPRINT_MAX];

			if ((r = nhi_key_fingerprint(fk->ak->key, fp)) < 0 ||
			    (r = nhi_keys_retire_in(c, "nhid", q->account, fk->path, fk->ak->key,
			                            fp)) < 0)
				goto out;
			retired++;
			continue;
		}
		if ((state != NULL && strcmp(state, "retired") == 0) || matched >= KEYS_MATCH_MAX)
			continue;
		matched++;
		if ((r = answer_line(c, fk->ak, first_seen, excepted, until)) < 0)
			goto out;
	}
	if ((r = answer_chained(c, q, now, &matched)) < 0)
		goto out;
	/* The server rewrites the KRL once the batch has committed. */
	if (retired > 0)
		c->b->krl_dirty = true;
	r = 0;
out:
	free(state);
	nhi_discovery_clear(&d);
	return r;
}

int nhi_handle_keys_query(struct nhi_call *c)
{
	struct keys_query q;
	int r;

	if ((r = query_args(c, &q)) < 0)
		goto out;
	/* Accounts answered from elsewhere than their key files go here. */
	r = nhi_device_keys_answer(c, q.account, q.key, q.fingerprint);
	if (r == 0)
		r = answer_static_keys(c, &q);
	else if (r > 0)
		r = 0;
out:
	nhi_key_free(q.key);
	return r;
}

static int put_static_key(struct nhi_kv *rec, const struct nhi_static_key *k)
{
	int r;

	if ((r = nhi_kv_add_str(rec, "fingerprint", k->fingerprint)) < 0 ||
	    (r = nhi_kv_add_str(rec, "type", k->type)) < 0 ||
	    (r = nhi_kv_add_i64(rec, "bits", k->bits)) < 0 ||
	    (r = nhi_kv_add_str(rec, "account", k->account)) < 0 ||
	    (r = nhi_kv_add_str(rec, "path", k->path)) < 0 ||
	    (r = nhi_kv_add_i64(rec, "line", k->line)) < 0 ||
	    (r = nhi_kv_add_str(rec, "state", k->state != NULL ? k->state : "observed")) < 0 ||
	    (r = nhi_kv_add_str(rec, "weak", k->weak ? "yes" : "no")) < 0 ||
	    (r = nhi_kv_add_i64(rec, "first_seen", k->first_seen)) < 0 ||
	    (r = nhi_kv_add_i64(rec, "last_seen", k->last_seen)) < 0 ||
	    (k->last_used > 0 && (r = nhi_kv_add_i64(rec, "last_used", k->last_used)) < 0) ||
	    (k->options != NULL && (r = nhi_kv_add_str(rec, "options", k->options)) < 0) ||
	    (k->comment != NULL && (r = nhi_kv_add_str(rec, "comment", k->comment)) < 0) ||
	    (k->exception_owner != NULL &&
	     (r = nhi_kv_add_str(rec, "exception_owner", k->exception_owner)) < 0) ||
	    (k->exception_reason != NULL &&
	     (r = nhi_kv_add_str(rec, "exception_reason", k->exception_reason)) < 0) ||
	    (k->exception_until > 0 &&
	     (r = nhi_kv_add_i64(rec, "exception_until", k->exception_until)) < 0))
		return r;
	return 0;
}

/* A page of rows in id order, after_id on (a listing asks again after
 * the last id it got, until a page comes back empty), cut short before
 * the answer could outgrow one frame. */
static int reply_list(struct nhi_call *c, const char *account, const char *fingerprint)
{
	struct nhi_static_key *list = NULL;
	uint64_t after = 0;
	size_t n = 0, budget = 0;
	struct nhi_kv *rec;
	int r;

	if (nhi_kv_find(c->args, "after_id") != NULL &&
	    (nhi_kv_u64(c->args, "after_id", &after) < 0 || after > INT64_MAX))
		return nhi_call_error(c, NHI_ERR_INVALID_ARGUMENT, "invalid after_id");
	r = nhi_store_static_key_page(c->b->store, account, fingerprint, (int64_t)after,
	                              KEYS_PAGE_MAX, &list, &n);
	if (r < 0)
		return nhi_call_error(c, r, "cannot read the store: %s", nhi_strerror(r));
	if (fingerprint != NULL && n == 0 && after == 0)
		r = nhi_call_error(c, NHI_ERR_NOT_FOUND, "no static key %s", fingerprint);
	for (size_t i = 0; i < n && budget < KEYS_PAGE_BUDGET && r == 0; i++) {
		if ((r = nhi_call_add_record(c, &rec)) < 0 ||
		    (r = nhi_kv_add_i64(rec, "id", list[i].id)) < 0 ||
		    (r = put_static_key(rec, &list[i])) < 0)
			break;
		for (size_t k = 0; k < rec->n; k++)
			budget += rec->items[k].len + 16;
	}
	nhi_static_key_list_free(list, n);
	return r;
}

int nhi_handle_keys_list(struct nhi_call *c)
{
	const char *account = arg(c, "account");
	char buf[80];

	if (nhi_kv_find(c->args, "account") != NULL &&
	    (account == NULL || !nhi_name_is_valid(account)))
		return nhi_call_error(c, NHI_ERR_NAME_INVALID, "invalid account name '%s'",
		                      nhi_log_sanitize(account ? account : "", buf, sizeof(buf)));
	return reply_list(c, account, NULL);
}

int nhi_handle_keys_show(struct nhi_call *c)
{
	const char *fp = arg(c, "fingerprint");
	char buf[80];

	if (fp == NULL || !is_fingerprint(fp))
		return nhi_call_error(c, NHI_ERR_INVALID_ARGUMENT,
		                      "invalid key fingerprint '%s': SHA256:<43 base64 characters>",
		                      nhi_log_sanitize(fp ? fp : "", buf, sizeof(buf)));
	return reply_list(c, NULL, fp);
}

/* Static keys taken out of service (retired), put back (restored) or kept
 * for a while (excepted). A retired key is removed from its file and put in
 * the KRL; an excepted one is answered with an expiry-time at the
 * exception's end. Every change is audited before it is answered. */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authkeys.h"
#include "discover.h"
#include "err.h"
#include "handlers.h"
#include "log.h"
#include "names.h"
#include "retire.h"
#include "sshkey.h"
#include "store_static_key.h"

#define EXCEPT_REASON_MAX 512u

static const char *arg(const struct nhi_call *c, const char *key)
{
	return nhi_kv_str(c->args, key);
}

static int audit_retire(struct nhi_call *c, const char *actor, const char *fingerprint,
                        const char *what, const char *account, const char *path,
                        const struct nhi_static_key *exc)
{
	struct nhi_audit_detail *d = NULL;
	struct nhi_audit_event ev = {.type = NHI_AUDIT_RETIRE};
	int r;

	if ((r = nhi_audit_detail_new(&d)) < 0 || (r = nhi_audit_detail_str(d, "what", what)) < 0 ||
	    (r = nhi_audit_detail_str(d, "account", account)) < 0 ||
	    (r = nhi_audit_detail_str(d, "path", path)) < 0 ||
	    (exc != NULL && ((r = nhi_audit_detail_str(d, "owner", exc->exception_owner)) < 0 ||
	                     (r = nhi_audit_detail_str(d, "reason", exc->exception_reason)) < 0 ||
	                     (r = nhi_audit_detail_int(d, "until", exc->exception_until)) < 0)))
		goto out;
	ev.actor = actor;
	ev.subject = fingerprint;
	ev.detail = nhi_audit_detail_text(d);
	r = nhi_audit_append(c->b->audit, &ev, NULL);
out:
	nhi_audit_detail_free(d);
	if (r < 0)
		return nhi_call_error(c, r, "cannot write the audit record: %s", nhi_strerror(r));
	return 0;
}

int nhi_keys_retire_in(struct nhi_call *c, const char *actor, const char *account, const char *path,
                       const struct nhi_key *key, const char *fingerprint)
{
	size_t removed = 0;
	int r;

	/* State and audit first: if the rewrite fails, the request's savepoint
	 * takes both back and the file is as it was. */
	if ((r = nhi_store_static_key_set_state(c->b->store, fingerprint, account, path, "retired",
	                                        NULL, NULL, 0, NULL)) < 0)
		return nhi_call_error(c, r, "cannot retire %s: %s", fingerprint, nhi_strerror(r));
	if ((r = audit_retire(c, actor, fingerprint, "retired", account, path, NULL)) < 0)
		return r;
	if (key != NULL && (r = nhi_retire_key_in_file(c->b, account, path, key, &removed)) < 0)
		return nhi_call_error(c, r, "cannot take %s out of %s: %s", fingerprint, path,
		                      nhi_strerror(r));
	return 0;
}

static bool is_fingerprint(const char *s)
{
	static const char b64[] =
	        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

	return s != NULL && strncmp(s, "SHA256:", 7) == 0 && strlen(s) == 7 + 43 &&
	       strspn(s + 7, b64) == 43;
}

static int fingerprint_arg(struct nhi_call *c, const char **ret)
{
	const char *fp = arg(c, "fingerprint");
	char buf[80];

	if (!is_fingerprint(fp))
		return nhi_call_error(c, NHI_ERR_INVALID_ARGUMENT,
		                      "invalid key fingerprint '%s': SHA256:<43 base64 characters>",
		                      nhi_log_sanitize(fp ? fp : "", buf, sizeof(buf)));
	*ret = fp;
	return 0;
}

static int rows_of(struct nhi_call *c, const char *fp, struct nhi_static_key **ret, size_t *ret_n)
{
	int r = nhi_store_static_key_list(c->b->store, NULL, fp, ret, ret_n);

	if (r < 0)
		return nhi_call_error(c, r, "cannot read the store: %s", nhi_strerror(r));
	if (*ret_n == 0)
		return nhi_call_error(c, NHI_ERR_NOT_FOUND, "no static key %s", fp);
	return 0;
}

static int add_result(struct nhi_call *c, const struct nhi_static_key *k, const char *state,
                      const char *extra_key, const char *extra)
{
	struct nhi_kv *rec;
	int r;

	if ((r = nhi_call_add_record(c, &rec)) < 0 ||
	    (r = nhi_kv_add_str(rec, "fingerprint", k->fingerprint)) < 0 ||
	    (r = nhi_kv_add_str(rec, "account", k->account)) < 0 ||
	    (r = nhi_kv_add_str(rec, "path", k->path)) < 0 ||
	    (r = nhi_kv_add_str(rec, "state", state)) < 0 ||
	    (extra != NULL && (r = nhi_kv_add_str(rec, extra_key, extra)) < 0))
		return r;
	return 0;
}

/* The key itself, read back from the line discovery last saw in its file;
 * NULL when that file no longer holds it (the KRL still covers it). */
static struct nhi_key *key_in_file(struct nhi_call *c, const struct nhi_static_key *k)
{
	struct nhi_discovery d = {0};
	struct nhi_key *key = NULL;
	char fp[NHI_FINGERPRINT_MAX];

	if (nhi_discover_account(c->b->cfg, k->account, &d) < 0)
		return NULL;
	for (size_t i = 0; i < d.n_keys && key == NULL; i++)
		if (strcmp(d.keys[i].path, k->path) == 0 &&
		    nhi_key_fingerprint(d.keys[i].ak->key, fp) == 0 &&
		    strcmp(fp, k->fingerprint) == 0) {
			key = d.keys[i].ak->key;
			d.keys[i].ak->key = NULL;
		}
	nhi_discovery_clear(&d);
	return key;
}

int nhi_handle_keys_retire(struct nhi_call *c)
{
	struct nhi_static_key *rows = NULL;
	const char *fp;
	size_t n = 0;
	int r;

	if ((r = fingerprint_arg(c, &fp)) < 0 || (r = rows_of(c, fp, &rows, &n)) < 0)
		goto out;
	for (size_t i = 0; i < n && r == 0; i++) {
		struct nhi_key *key = key_in_file(c, &rows[i]);

		r = nhi_keys_retire_in(c, c->peer->name, rows[i].account, rows[i].path, key, fp);
		nhi_key_free(key);
		if (r == 0)
			r = add_result(c, &rows[i], "retired", "removed",
			               key != NULL ? "yes" : "no");
	}
	if (r == 0)
		c->b->krl_dirty = true; /* rewritten once the batch commits */
out:
	nhi_static_key_list_free(rows, n);
	return r;
}

int nhi_handle_keys_restore(struct nhi_call *c)
{
	struct nhi_static_key *rows = NULL;
	const char *fp;
	size_t n = 0;
	int r;

	if ((r = fingerprint_arg(c, &fp)) < 0 || (r = rows_of(c, fp, &rows, &n)) < 0)
		goto out;
	for (size_t i = 0; i < n && r == 0; i++) {
		bool restored = false,
		     retired = rows[i].state != NULL && strcmp(rows[i].state, "retired") == 0;
		const char *state = retired ? "observed" : rows[i].state;

		/* An excepted key keeps its exception; only its line comes back. */
		if (retired && (r = nhi_store_static_key_set_state(c->b->store, fp, rows[i].account,
		                                                   rows[i].path, "observed", NULL,
		                                                   NULL, 0, NULL)) < 0) {
			r = nhi_call_error(c, r, "cannot restore %s: %s", fp, nhi_strerror(r));
			break;
		}
		/* A chained command's key has no file to go back to. */
		if (strncmp(rows[i].path, "chain:", 6) == 0)
			r = NHI_ERR_NOT_FOUND;
		else
			r = nhi_restore_key_in_file(c->b, rows[i].account, rows[i].path, fp,
			                            &restored);
		if (r == NHI_ERR_NOT_FOUND) {
			r = 0; /* no backup, or the file is gone: nothing to put back */
		} else if (r < 0) {
			r = nhi_call_error(c, r, "cannot put %s back in %s: %s", fp, rows[i].path,
			                   nhi_strerror(r));
			break;
		}
		if ((retired || restored) &&
		    (r = audit_retire(c, c->peer->name, fp, "restored", rows[i].account,
		                      rows[i].path, NULL)) < 0)
			break;
		r = add_result(c, &rows[i], state != NULL ? state : "observed", "restored",
		               restored ? "yes" : "no");
	}
	if (r == 0)
		c->b->krl_dirty = true; /* rewritten once the batch commits */
out:
	nhi_static_key_list_free(rows, n);
	return r;
}

int nhi_handle_keys_except(struct nhi_call *c)
{
	const char *fp, *owner = arg(c, "owner"), *reason = arg(c, "reason");
	struct nhi_static_key *rows = NULL, exc = {0};
	int64_t until = 0, now = (int64_t)nhi_broker_now();
	bool was_retired = false;
	char buf[80];
	size_t n = 0;
	int r;

	if ((r = fingerprint_arg(c, &fp)) < 0)
		goto out;
	if (owner == NULL || !nhi_name_is_valid(owner)) {
		r = nhi_call_error(c, NHI_ERR_NAME_INVALID, "invalid owner '%s'",
		                   nhi_log_sanitize(owner ? owner : "", buf, sizeof(buf)));
		goto out;
	}
	if (reason == NULL || reason[0] == '\0' || strlen(reason) > EXCEPT_REASON_MAX) {
		r = nhi_call_error(c, NHI_ERR_INVALID_ARGUMENT,
		                   "a reason of 1 to %u characters is required", EXCEPT_REASON_MAX);
		goto out;
	}
	if (nhi_kv_i64(c->args, "until", &until) < 0 || until <= now) {
		r = nhi_call_error(c, NHI_ERR_INVALID_ARGUMENT,
		                   "the exception must end in the future");
		goto out;
	}
	if ((r = rows_of(c, fp, &rows, &n)) < 0)
		goto out;
	exc.exception_owner = (char *)owner;
	exc.exception_reason = (char *)reason;
	exc.exception_until = until;
	for (size_t i = 0; i < n && r == 0; i++) {
		was_retired |= rows[i].state != NULL && strcmp(rows[i].state, "retired") == 0;
		if ((r = nhi_store_static_key_set_state(c->b->store, fp, rows[i].account,
		                                        rows[i].path, "excepted", owner, reason,
		                                        until, NULL)) < 0)
			r = nhi_call_error(c, r, "cannot except %s: %s", fp, nhi_strerror(r));
		else if ((r = audit_retire(c, c->peer->name, fp, "excepted", rows[i].account,
		                           rows[i].path, &exc)) == 0)
			r = add_result(c, &rows[i], "excepted", NULL, NULL);
	}
	/* An exception takes a retired key out of the KRL; the line itself
	 * comes back with keys restore. */
	if (r == 0 && was_retired)
		c->b->krl_dirty = true;
out:
	nhi_static_key_list_free(rows, n);
	return r;
}

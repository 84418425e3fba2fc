/* nhictl discover: the static keys of one account, found, recorded and,
 * with enforce, retired.
 *
 * One request covers one account, so a big estate is many short requests
 * (nhictl walks getpwent) and never one long stall of the event loop; each
 * is bounded by discovery's file and line caps. The broker looks the
 * account up itself and reads its key files by the rules of
 * broker/discover.h, the same as for the keys helper. With enforce, every
 * key that no running exception keeps is retired the way keys_mode =
 * enforce retires the key sshd asks about (handle_keys_retire.c): state
 * and audit first, then the file, then the KRL once the batch commits.
 * cert-authority lines trust certificates, not a key, and are only
 * reported. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "discover.h"
#include "err.h"
#include "handlers.h"
#include "keys_record.h"
#include "log.h"
#include "names.h"
#include "sshkey.h"

static int add_key_record(struct nhi_call *c, const char *account, const struct nhi_found_key *fk,
                          const char *fingerprint, const char *status)
{
	struct nhi_kv *rec;
	int r;

	if ((r = nhi_call_add_record(c, &rec)) < 0 ||
	    (r = nhi_kv_add_str(rec, "kind", "key")) < 0 ||
	    (r = nhi_kv_add_str(rec, "account", account)) < 0 ||
	    (r = nhi_kv_add_str(rec, "path", fk->path)) < 0 ||
	    (r = nhi_kv_add_i64(rec, "line", fk->line)) < 0 ||
	    (r = nhi_kv_add_str(rec, "type", nhi_key_type_name(fk->ak->key->type))) < 0 ||
	    (r = nhi_kv_add_i64(rec, "bits", nhi_key_bits(fk->ak->key))) < 0 ||
	    (r = nhi_kv_add_str(rec, "fingerprint", fingerprint)) < 0 ||
	    (r = nhi_kv_add_str(rec, "weak", fk->weak ? "yes" : "no")) < 0 ||
	    (r = nhi_kv_add_str(rec, "status", status)) < 0 ||
	    (fk->ak->comment != NULL && (r = nhi_kv_add_str(rec, "comment", fk->ak->comment)) < 0))
		return r;
	return 0;
}

static int add_skipped_record(struct nhi_call *c, const char *account,
                              const struct nhi_discover_finding *f)
{
	struct nhi_kv *rec;
	int r;

	if ((r = nhi_call_add_record(c, &rec)) < 0 ||
	    (r = nhi_kv_add_str(rec, "kind", "skipped")) < 0 ||
	    (r = nhi_kv_add_str(rec, "account", account)) < 0 ||
	    (r = nhi_kv_add_str(rec, "path", f->path)) < 0 ||
	    (f->line > 0 && (r = nhi_kv_add_i64(rec, "line", f->line)) < 0) ||
	    (r = nhi_kv_add_str(rec, "reason", f->reason)) < 0)
		return r;
	return 0;
}

/* Whether an earlier line of the same file holds the same key: its
 * retirement already took every line of it out. */
static bool retired_before(const struct nhi_discovery *d, size_t i)
{
	for (size_t j = 0; j < i; j++)
		if (strcmp(d->keys[j].path, d->keys[i].path) == 0 &&
		    !d->keys[j].ak->opts.cert_authority &&
		    nhi_key_equal(d->keys[j].ak->key, d->keys[i].ak->key))
			return true;
	return false;
}

/* The key's status after this request: observed, excepted, retired or
 * cert-authority; retiring it first when enforce asks for it. */
static int settle_key(struct nhi_call *c, const char *account, const struct nhi_discovery *d,
                      size_t i, bool enforce, int64_t now, const char *fp, const char **ret_status,
                      bool *ret_retired)
{
	const struct nhi_found_key *fk = &d->keys[i];
	int64_t first_seen = 0, until = 0;
	char *state = NULL;
	bool excepted, retired;
	int r;

	*ret_retired = false;
	if ((r = nhi_keys_record(c, account, fk, now, &first_seen, &state, &until)) < 0)
		return r;
	excepted = state != NULL && strcmp(state, "excepted") == 0 && until > now;
	retired = state != NULL && strcmp(state, "retired") == 0;
	free(state);
	if (fk->ak->opts.cert_authority) {
		*ret_status = "cert-authority";
		return 0;
	}
	if (excepted) {
		*ret_status = "excepted";
		return 0;
	}
	if (enforce && !retired_before(d, i)) {
		/* A retired key whose line was put back is taken out again. */
		if ((r = nhi_keys_retire_in(c, c->peer->name, account, fk->path, fk->ak->key, fp)) <
		    0)
			return r;
		*ret_retired = true;
		retired = true;
	}
	*ret_status = retired || (enforce && retired_before(d, i)) ? "retired" : "observed";
	return 0;
}

int nhi_handle_discover(struct nhi_call *c)
{
	const char *account = nhi_kv_str(c->args, "account"),
	           *enforce_arg = nhi_kv_str(c->args, "enforce");
	int64_t now = (int64_t)nhi_broker_now();
	struct nhi_discovery d = {0};
	bool enforce, any_retired = false;
	char buf[80];
	int r;

	if (account == NULL || !nhi_name_is_valid(account))
		return nhi_call_error(c, NHI_ERR_NAME_INVALID, "invalid account name '%s'",
		                      nhi_log_sanitize(account ? account : "", buf, sizeof(buf)));
	if (enforce_arg != NULL && strcmp(enforce_arg, "yes") != 0 &&
	    strcmp(enforce_arg, "no") != 0)
		return nhi_call_error(c, NHI_ERR_INVALID_ARGUMENT, "enforce must be yes or no");
	enforce = enforce_arg != NULL && strcmp(enforce_arg, "yes") == 0;
	r = nhi_discover_account(c->b->cfg, account, &d);
	if (r == NHI_ERR_NOT_FOUND)
		return nhi_call_error(c, r, "no such account '%s'", account);
	if (r < 0)
		return nhi_call_error(c, r, "discovery of %s failed: %s", account, nhi_strerror(r));
	for (size_t i = 0; i < d.n_findings; i++)
		if ((r = nhi_keys_audit_discover(c, account, d.findings[i].path, "skipped",
		                                 d.findings[i].path, d.findings[i].line, "reason",
		                                 d.findings[i].reason)) < 0 ||
		    (r = add_skipped_record(c, account, &d.findings[i])) < 0)
			goto out;
	for (size_t i = 0; i < d.n_keys; i++) {
		char fp[NHI_FINGERPRINT_MAX];
		const char *status = NULL;
		bool retired = false;

		if ((r = nhi_key_fingerprint(d.keys[i].ak->key, fp)) < 0 ||
		    (r = settle_key(c, account, &d, i, enforce, now, fp, &status, &retired)) < 0 ||
		    (r = add_key_record(c, account, &d.keys[i], fp, status)) < 0)
			goto out;
		any_retired |= retired;
	}
	if (d.n_findings_dropped > 0)
		r = nhi_call_message(c, "%zu more skipped files or lines not listed",
		                     d.n_findings_dropped);
	/* The server rewrites the KRL once the batch has committed. */
	if (any_retired)
		c->b->krl_dirty = true;
out:
	nhi_discovery_clear(&d);
	return r;
}

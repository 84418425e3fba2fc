/* nhictl discover: the static keys of a few accounts, found, recorded
 * and, with enforce, retired.
 *
 * One request covers at most NHI_DISCOVER_BATCH_MAX accounts (one with
 * enforce), so a big estate is many short requests (nhictl walks getpwent)
 * and never one long stall of the event loop; each account is bounded by
 * discovery's file and line caps, and the commit (with its audit anchor)
 * is shared by the batch. A batch ends early, before the account whose
 * rows no longer fit in the reply (the counts record says how many
 * accounts were done), so only an account alone in its request can have
 * rows cut short, and the counts record is always whole. An account that does not exist is a
 * "failed" record, not a failed request. The broker looks the account up itself and reads its key
 * files by the rules of broker/discover.h, the same as for the keys helper. With enforce, every key
 * that no running exception keeps is retired the way keys_mode = enforce retires the key sshd asks
 * about (handle_keys_retire.c): state and audit first, then the file, then the KRL once the batch
 * commits. cert-authority lines trust certificates, not a key, and are only reported. */
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

#define DISCOVER_REPLY_BUDGET (160u * 1024u) /* bytes of rows, under the frame cap */
#define DISCOVER_TYPES_MAX    16u
/* New keys named in one audit record: with its account and path the
 * record's syslog line (a 1 KiB detail) still holds every fingerprint. */
#define DISCOVER_AUDIT_KEYS 12u

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

/* The keys of one file new to the inventory, audited together: one
 * record lists each one's line and fingerprint (and the lines of the weak
 * ones), instead of a record and a syslog line per key. */
struct new_keys {
	const char *path; /* the discovery's: lives until it is cleared */
	size_t n;
	char keys[DISCOVER_AUDIT_KEYS * (12 + NHI_FINGERPRINT_MAX)]; /* "LINE=FP LINE=FP" */
	char weak[DISCOVER_AUDIT_KEYS * 12];                         /* "LINE LINE" */
};

/* Writes the record of the new keys noted so far, if any. */
static int audit_new_keys(struct nhi_call *c, const char *account, struct new_keys *nk)
{
	struct nhi_audit_event ev = {.type = NHI_AUDIT_DISCOVER};
	struct nhi_audit_detail *d = NULL;
	int r;

	if (nk->n == 0)
		return 0;
	if ((r = nhi_audit_detail_new(&d)) < 0 ||
	    (r = nhi_audit_detail_str(d, "what", "keys")) < 0 ||
	    (r = nhi_audit_detail_str(d, "account", account)) < 0 ||
	    (r = nhi_audit_detail_str(d, "path", nk->path)) < 0 ||
	    (r = nhi_audit_detail_int(d, "count", (int64_t)nk->n)) < 0 ||
	    (r = nhi_audit_detail_str(d, "keys", nk->keys)) < 0 ||
	    (nk->weak[0] != '\0' && (r = nhi_audit_detail_str(d, "weak", nk->weak)) < 0))
		goto out;
	ev.actor = "nhid";
	ev.subject = nk->path;
	ev.detail = nhi_audit_detail_text(d);
	r = nhi_audit_append(c->b->audit, &ev, NULL);
out:
	nhi_audit_detail_free(d);
	nk->n = 0;
	nk->keys[0] = nk->weak[0] = '\0';
	if (r < 0)
		return nhi_call_error(c, r, "cannot write the audit record: %s", nhi_strerror(r));
	return 0;
}

/* Notes a key new to the inventory; a full record, or one of another
 * file, is written first. */
static int note_new_key(struct nhi_call *c, const char *account, struct new_keys *nk,
                        const struct nhi_found_key *fk, const char *fp)
{
	size_t len;
	int r;

	if (nk->n > 0 && (nk->n == DISCOVER_AUDIT_KEYS || strcmp(nk->path, fk->path) != 0) &&
	    (r = audit_new_keys(c, account, nk)) < 0)
		return r;
	nk->path = fk->path;
	len = strlen(nk->keys);
	snprintf(nk->keys + len, sizeof(nk->keys) - len, "%s%u=%s", len > 0 ? " " : "", fk->line,
	         fp);
	if (fk->weak) {
		len = strlen(nk->weak);
		snprintf(nk->weak + len, sizeof(nk->weak) - len, "%s%u", len > 0 ? " " : "",
		         fk->line);
	}
	nk->n++;
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
                      size_t i, bool enforce, int64_t now, const char *fp, struct new_keys *nk,
                      const char **ret_status, bool *ret_retired)
{
	const struct nhi_found_key *fk = &d->keys[i];
	int64_t first_seen = 0, until = 0;
	char *state = NULL;
	bool excepted, retired, created = false;
	int r;

	*ret_retired = false;
	if ((r = nhi_keys_record(c, account, fk, fp, now, &first_seen, &state, &until, &created)) <
	    0)
		return r;
	if (created && (r = note_new_key(c, account, nk, fk, fp)) < 0) {
		free(state);
		return r;
	}
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
		/* A retired key whose line was put back is taken out again; the
		 * trail has it found before it has it retired. */
		if ((r = audit_new_keys(c, account, nk)) < 0 ||
		    (r = nhi_keys_retire_in(c, c->peer->name, account, fk->path, fk->ak->key, fp)) <
		            0)
			return r;
		*ret_retired = true;
		retired = true;
	}
	*ret_status = retired || (enforce && retired_before(d, i)) ? "retired" : "observed";
	return 0;
}

/* What one request found, counted in full even when its rows do not all
 * fit in the reply. */
struct discover_counts {
	size_t keys, weak, retired, excepted, skipped, not_listed, reply_bytes;
	size_t accounts_done; /* of the request's, in order */
	struct {
		const char *name; /* static: nhi_key_type_name */
		size_t n;
	} types[DISCOVER_TYPES_MAX];
	size_t n_types;
};

/* Whether a row of about len bytes still fits the reply; counted if not. */
static bool fits(struct discover_counts *n, size_t len)
{
	if (n->reply_bytes + len > DISCOVER_REPLY_BUDGET) {
		n->not_listed++;
		return false;
	}
	n->reply_bytes += len;
	return true;
}

static size_t key_row_len(const char *account, const struct nhi_found_key *fk)
{
	return 256 + strlen(account) + strlen(fk->path) +
	       (fk->ak->comment != NULL ? strlen(fk->ak->comment) : 0);
}

static void count_key(struct discover_counts *n, const struct nhi_found_key *fk, const char *status)
{
	const char *type = nhi_key_type_name(fk->ak->key->type);
	size_t i;

	n->keys++;
	n->weak += fk->weak;
	n->retired += strcmp(status, "retired") == 0;
	n->excepted += strcmp(status, "excepted") == 0;
	for (i = 0; i < n->n_types && strcmp(n->types[i].name, type) != 0; i++)
		;
	if (i == n->n_types && i < DISCOVER_TYPES_MAX)
		n->types[n->n_types++].name = type;
	if (i < n->n_types)
		n->types[i].n++;
}

static int add_counts_record(struct nhi_call *c, const struct discover_counts *n)
{
	struct nhi_kv *rec;
	char one[128];
	int r;

	if ((r = nhi_call_add_record(c, &rec)) < 0 ||
	    (r = nhi_kv_add_str(rec, "kind", "counts")) < 0 ||
	    (r = nhi_kv_add_u64(rec, "keys", n->keys)) < 0 ||
	    (r = nhi_kv_add_u64(rec, "weak", n->weak)) < 0 ||
	    (r = nhi_kv_add_u64(rec, "retired", n->retired)) < 0 ||
	    (r = nhi_kv_add_u64(rec, "excepted", n->excepted)) < 0 ||
	    (r = nhi_kv_add_u64(rec, "skipped", n->skipped)) < 0 ||
	    (r = nhi_kv_add_u64(rec, "not_listed", n->not_listed)) < 0 ||
	    (r = nhi_kv_add_u64(rec, "accounts_done", n->accounts_done)) < 0)
		return r;
	for (size_t i = 0; i < n->n_types; i++) {
		snprintf(one, sizeof(one), "%s %zu", n->types[i].name, n->types[i].n);
		if ((r = nhi_kv_add_str(rec, "type", one)) < 0)
			return r;
	}
	return 0;
}

static int add_failed_record(struct nhi_call *c, const char *account, const char *reason)
{
	struct nhi_kv *rec;
	int r;

	if ((r = nhi_call_add_record(c, &rec)) < 0 ||
	    (r = nhi_kv_add_str(rec, "kind", "failed")) < 0 ||
	    (r = nhi_kv_add_str(rec, "account", account)) < 0 ||
	    (r = nhi_kv_add_str(rec, "reason", reason)) < 0)
		return r;
	return 0;
}

/* One account: its findings and keys recorded, counted and (as far as the
 * reply has room) listed; retired first with enforce. */
static int discover_one(struct nhi_call *c, const char *account, bool enforce, int64_t now,
                        struct discover_counts *n, bool *ret_retired)
{
	struct nhi_discovery d = {0};
	struct new_keys nk = {0};
	int r;

	r = nhi_discover_account(c->b->cfg, account, &d);
	if (r == NHI_ERR_NOT_FOUND)
		return add_failed_record(c, account, "no such account");
	if (r < 0)
		return nhi_call_error(c, r, "discovery of %s failed: %s", account, nhi_strerror(r));
	for (size_t i = 0; i < d.n_findings; i++) {
		n->skipped++;
		if ((r = nhi_keys_audit_discover(c, account, d.findings[i].path, "skipped",
		                                 d.findings[i].path, d.findings[i].line, "reason",
		                                 d.findings[i].reason)) < 0 ||
		    (fits(n, 256 + strlen(d.findings[i].path)) &&
		     (r = add_skipped_record(c, account, &d.findings[i])) < 0))
			goto out;
	}
	n->skipped += d.n_findings_dropped;
	n->not_listed += d.n_findings_dropped;
	for (size_t i = 0; i < d.n_keys; i++) {
		char fp[NHI_FINGERPRINT_MAX];
		const char *status = NULL;
		bool retired = false;

		if ((r = nhi_key_fingerprint(d.keys[i].ak->key, fp)) < 0 ||
		    (r = settle_key(c, account, &d, i, enforce, now, fp, &nk, &status, &retired)) <
		            0)
			goto out;
		count_key(n, &d.keys[i], status);
		*ret_retired |= retired;
		if (fits(n, key_row_len(account, &d.keys[i])) &&
		    (r = add_key_record(c, account, &d.keys[i], fp, status)) < 0)
			goto out;
	}
	r = audit_new_keys(c, account, &nk);
out:
	nhi_discovery_clear(&d);
	return r;
}

int nhi_handle_discover(struct nhi_call *c)
{
	const char *enforce_arg = nhi_kv_str(c->args, "enforce");
	size_t n_accounts = nhi_kv_count(c->args, "account");
	int64_t now = (int64_t)nhi_broker_now();
	struct discover_counts counts = {0};
	bool enforce, any_retired = false;
	char buf[80];
	int r = 0;

	if (enforce_arg != NULL && strcmp(enforce_arg, "yes") != 0 &&
	    strcmp(enforce_arg, "no") != 0)
		return nhi_call_error(c, NHI_ERR_INVALID_ARGUMENT, "enforce must be yes or no");
	enforce = enforce_arg != NULL && strcmp(enforce_arg, "yes") == 0;
	if (n_accounts == 0 || n_accounts > NHI_DISCOVER_BATCH_MAX)
		return nhi_call_error(c, NHI_ERR_INVALID_ARGUMENT, "1 to %u accounts per request",
		                      NHI_DISCOVER_BATCH_MAX);
	/* A retirement rewrites a file that a rollback cannot put back: one
	 * account per request keeps what a failure can leave behind small. */
	if (enforce && n_accounts > 1)
		return nhi_call_error(c, NHI_ERR_INVALID_ARGUMENT,
		                      "enforce takes one account per request");
	for (size_t i = 0; i < n_accounts; i++) {
		const struct nhi_kv_item *it = nhi_kv_nth(c->args, "account", i);
		const char *account = (const char *)it->value;

		if (memchr(it->value, '\0', it->len) != NULL || !nhi_name_is_valid(account))
			return nhi_call_error(c, NHI_ERR_NAME_INVALID, "invalid account name '%s'",
			                      nhi_log_sanitize(account, buf, sizeof(buf)));
	}
	for (counts.accounts_done = 0; counts.accounts_done < n_accounts && r == 0;
	     counts.accounts_done++) {
		struct discover_counts before = counts;
		size_t rows = c->reply.n_records;

		r = discover_one(
		        c, (const char *)nhi_kv_nth(c->args, "account", counts.accounts_done)->value,
		        enforce, now, &counts, &any_retired);
		/* Its rows did not all fit after the other accounts': they are
		 * taken back out and the batch ends before it, so nhictl sends
		 * it again, first, with the whole reply for it. What it found
		 * stays recorded; found again, it reads the same. */
		if (r == 0 && counts.accounts_done > 0 && counts.not_listed > before.not_listed) {
			nhi_call_drop_records(c, rows);
			counts = before;
			break;
		}
	}
	if (r == 0)
		r = add_counts_record(c, &counts);
	if (r == 0 && counts.not_listed > 0)
		r = nhi_call_message(c,
		                     "%zu rows not listed: the reply is full (the counts are whole; "
		                     "nhictl keys list --account NAME lists every key)",
		                     counts.not_listed);
	/* The server rewrites the KRL once the batch has committed. */
	if (r == 0 && any_retired)
		c->b->krl_dirty = true;
	return r;
}

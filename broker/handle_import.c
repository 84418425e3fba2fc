/* nhictl identity import, broker side: a staged upload. BEGIN opens a
 * staging area owned by the caller's uid and pid; CHUNKs add records;
 * COMMIT checks every record again (the client is never trusted) and
 * applies them all inside the request's one transaction: any bad record
 * and nothing is applied. Staging lives in memory; an import whose client
 * is gone or silent for IMPORT_IDLE_SECS is dropped. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accounts.h"
#include "err.h"
#include "handlers.h"
#include "identity_fields.h"
#include "log.h"
#include "names.h"
#include "nss_export.h"

#define IMPORT_RECORDS_MAX 200000u      /* as nhictl's cap on lines */
#define IMPORT_BYTES_MAX   (256u << 20) /* staged record bytes per import */
#define IMPORT_PENDING_MAX 4u           /* open imports at a time */
#define IMPORT_IDLE_SECS   120u

struct staged {
	struct nhi_kv rec;
	uint64_t line;
};

struct import {
	uint64_t id;
	uid_t uid;
	pid_t pid;
	uint64_t touched;
	struct staged *recs;
	size_t n, cap, bytes;
	struct import *next;
};

/* One broker process, one event loop: a module list is enough. */
static struct import *imports;

static void import_free(struct import *im)
{
	if (im == NULL)
		return;
	for (size_t i = 0; i < im->n; i++)
		nhi_kv_clear(&im->recs[i].rec);
	free(im->recs);
	free(im);
}

static void import_unlink(struct import *im)
{
	for (struct import **p = &imports; *p != NULL; p = &(*p)->next) {
		if (*p == im) {
			*p = im->next;
			return;
		}
	}
}

/* Drops imports whose client process is gone or that went quiet. */
static void sweep(uint64_t now)
{
	struct import **p = &imports, *im;

	while ((im = *p) != NULL) {
		bool gone = kill(im->pid, 0) < 0 && errno == ESRCH;
		if (gone || now > im->touched + IMPORT_IDLE_SECS) {
			nhi_log_info("identity import %016" PRIx64 " discarded: %s", im->id,
			             gone ? "its client is gone" : "idle");
			*p = im->next;
			import_free(im);
			continue;
		}
		p = &im->next;
	}
}

/* The caller's own open import named by the request's import_id. */
static int find_import(struct nhi_call *c, struct import **ret)
{
	uint64_t id;

	sweep(nhi_broker_now());
	if (nhi_kv_u64(c->args, "import_id", &id) < 0)
		return nhi_call_error(c, NHI_ERR_INVALID_ARGUMENT, "missing or invalid import_id");
	for (struct import *im = imports; im != NULL; im = im->next) {
		if (im->id == id && im->uid == c->peer->uid && im->pid == c->peer->pid) {
			im->touched = nhi_broker_now();
			*ret = im;
			return 0;
		}
	}
	return nhi_call_error(c, NHI_ERR_IMPORT_UNKNOWN,
	                      "no import %016" PRIx64 " of this client: it expired or was "
	                      "discarded",
	                      id);
}

int nhi_handle_import_begin(struct nhi_call *c)
{
	struct import *im;
	struct nhi_kv *rec;
	size_t pending = 0;
	int r;

	sweep(nhi_broker_now());
	for (im = imports; im != NULL; im = im->next)
		pending++;
	if (pending >= IMPORT_PENDING_MAX)
		return nhi_call_error(c, NHI_ERR_TOO_MANY,
		                      "%zu imports are already in progress; try again later",
		                      pending);
	if ((im = calloc(1, sizeof(*im))) == NULL)
		return NHI_ERR_ALLOC;
	if (sodium_init() < 0) {
		free(im);
		return nhi_call_error(c, NHI_ERR_CRYPTO, "libsodium failed to initialise");
	}
	/* Unguessable, though the owner check is what keeps others out. */
	do
		randombytes_buf(&im->id, sizeof(im->id));
	while (im->id == 0);
	im->uid = c->peer->uid;
	im->pid = c->peer->pid;
	im->touched = nhi_broker_now();
	if ((r = nhi_call_add_record(c, &rec)) < 0 ||
	    (r = nhi_kv_add_u64(rec, "import_id", im->id)) < 0) {
		free(im);
		return r;
	}
	im->next = imports;
	imports = im;
	return 0;
}

/* The keys a staged record may carry; role and selector may repeat. */
static bool key_allowed(const char *key, bool *ret_repeats)
{
	static const char *const scalars[] = {
	        "line",
	        "name",
	        "kind",
	        "owner",
	        "uid",
	        "gid",
	        "shell",
	        "home",
	        "gecos",
	        "ttl_default",
	        "ttl_max",
	        "allow_pty",
	        "source_addresses",
	        "force_command",
	        "review_due",
	};

	*ret_repeats = strcmp(key, "role") == 0 || strcmp(key, "selector") == 0;
	if (*ret_repeats)
		return true;
	for (size_t i = 0; i < sizeof(scalars) / sizeof(scalars[0]); i++)
		if (strcmp(key, scalars[i]) == 0)
			return true;
	return false;
}

/* One record of a chunk: decoded and checked for shape; the field values
 * are checked at commit, against the store as it is then. */
static int stage_one(struct nhi_call *c, struct import *im, const struct nhi_kv_item *it)
{
	struct nhi_buf *b = nhi_buf_from(it->value, it->len);
	struct staged *st;
	bool repeats;
	int r;

	if (b == NULL)
		return NHI_ERR_ALLOC;
	if (im->n == im->cap) {
		size_t cap = im->cap == 0 ? 256 : im->cap * 2;
		struct staged *grown = reallocarray(im->recs, cap, sizeof(*grown));
		if (grown == NULL) {
			nhi_buf_free(b);
			return NHI_ERR_ALLOC;
		}
		im->recs = grown;
		im->cap = cap;
	}
	st = &im->recs[im->n];
	nhi_kv_init(&st->rec);
	r = nhi_kv_get(b, &st->rec);
	if (r == 0 && nhi_buf_len(b) != 0)
		r = NHI_ERR_PROTOCOL;
	nhi_buf_free(b);
	if (r < 0) {
		nhi_kv_clear(&st->rec);
		return nhi_call_error(c, NHI_ERR_PROTOCOL, "malformed import record");
	}
	if (nhi_kv_u64(&st->rec, "line", &st->line) < 0 || st->line == 0) {
		nhi_kv_clear(&st->rec);
		return nhi_call_error(c, NHI_ERR_INVALID_ARGUMENT, "import record without a line");
	}
	for (size_t k = 0; k < st->rec.n; k++) {
		const char *key = st->rec.items[k].key;
		if (!key_allowed(key, &repeats) ||
		    (!repeats && nhi_kv_find(&st->rec, key) != &st->rec.items[k])) {
			char buf[48];
			r = nhi_call_error(c, NHI_ERR_INVALID_ARGUMENT,
			                   "line %" PRIu64 ": %s field '%s'", st->line,
			                   key_allowed(key, &repeats) ? "repeated" : "unknown",
			                   nhi_log_sanitize(key, buf, sizeof(buf)));
			nhi_kv_clear(&st->rec);
			return r;
		}
	}
	im->n++;
	return 0;
}

int nhi_handle_import_chunk(struct nhi_call *c)
{
	struct import *im;
	size_t n = nhi_kv_count(c->args, "record");
	int r;

	if ((r = find_import(c, &im)) < 0)
		return r;
	if (im->n + n > IMPORT_RECORDS_MAX)
		r = nhi_call_error(c, NHI_ERR_TOO_MANY, "an import holds at most %u identities",
		                   IMPORT_RECORDS_MAX);
	for (size_t i = 0; i < n && r == 0; i++) {
		const struct nhi_kv_item *it = nhi_kv_nth(c->args, "record", i);
		im->bytes += it->len;
		if (im->bytes > IMPORT_BYTES_MAX)
			r = nhi_call_error(c, NHI_ERR_TOO_MANY, "import larger than %u MiB",
			                   IMPORT_BYTES_MAX >> 20);
		else
			r = stage_one(c, im, it);
	}
	if (r < 0) {
		/* A bad chunk spoils the whole import. */
		import_unlink(im);
		import_free(im);
		return r;
	}
	return 0;
}

int nhi_handle_import_abort(struct nhi_call *c)
{
	struct import *im;
	int r;

	if ((r = find_import(c, &im)) < 0)
		return r;
	import_unlink(im);
	import_free(im);
	return 0;
}

static int cmp_name(const void *a, const void *b)
{
	const struct staged *x = *(const struct staged *const *)a;
	const struct staged *y = *(const struct staged *const *)b;
	int d = strcmp(nhi_kv_str(&x->rec, "name"), nhi_kv_str(&y->rec, "name"));

	return d != 0 ? d : (x->line > y->line) - (x->line < y->line);
}

/* Names present and valid, each once in the file. */
static int check_names(struct nhi_call *c, struct import *im)
{
	struct staged **by_name;
	char buf[80];
	int r = 0;

	for (size_t i = 0; i < im->n; i++) {
		const char *name = nhi_kv_str(&im->recs[i].rec, "name");
		if (name == NULL || !nhi_name_is_valid(name))
			return nhi_call_error(
			        c, NHI_ERR_NAME_INVALID,
			        "line %" PRIu64 ": field 'name': invalid identity name "
			        "'%s'",
			        im->recs[i].line,
			        nhi_log_sanitize(name != NULL ? name : "", buf, sizeof(buf)));
	}
	if ((by_name = calloc(im->n + 1, sizeof(*by_name))) == NULL)
		return NHI_ERR_ALLOC;
	for (size_t i = 0; i < im->n; i++)
		by_name[i] = &im->recs[i];
	qsort(by_name, im->n, sizeof(*by_name), cmp_name);
	for (size_t i = 1; i < im->n && r == 0; i++) {
		const char *name = nhi_kv_str(&by_name[i]->rec, "name");
		if (strcmp(name, nhi_kv_str(&by_name[i - 1]->rec, "name")) == 0)
			r = nhi_call_error(c, NHI_ERR_INVALID_ARGUMENT,
			                   "line %" PRIu64
			                   ": field 'name': '%s' already on line %" PRIu64,
			                   by_name[i]->line, name, by_name[i - 1]->line);
	}
	free(by_name);
	return r;
}

static bool str_eq(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static bool identity_equal(const struct nhi_identity *a, const struct nhi_identity *b)
{
	return a->kind == b->kind && str_eq(a->owner, b->owner) && a->uid == b->uid &&
	       a->gid == b->gid && str_eq(a->shell, b->shell) && str_eq(a->home, b->home) &&
	       str_eq(a->gecos, b->gecos) && a->review_due == b->review_due &&
	       a->ttl_default == b->ttl_default && a->ttl_max == b->ttl_max &&
	       a->allow_pty == b->allow_pty && str_eq(a->source_addresses, b->source_addresses) &&
	       str_eq(a->force_command, b->force_command);
}

/* The sub-request's error, as the import's, prefixed with the line. */
static int line_error(struct nhi_call *c, struct nhi_call *sub, uint64_t line, int r)
{
	const char *msg = sub->reply.message != NULL && sub->reply.message[0] != '\0'
	                          ? sub->reply.message
	                          : nhi_strerror(r);

	return nhi_call_error(c, sub->reply.status < 0 ? sub->reply.status : r,
	                      "line %" PRIu64 ": %s", line, msg);
}

/* Roles and selectors a record lists are made present; returns whether any
 * was added. Ones the identity already has are left as they are. */
static int ensure_lists(struct nhi_call *sub, const char *name, bool *changed)
{
	const struct nhi_kv *rec = sub->args;
	struct nhi_store *s = sub->b->store;
	int r;

	for (size_t i = 0; i < nhi_kv_count(rec, "role"); i++) {
		const struct nhi_kv_item *it = nhi_kv_nth(rec, "role", i);
		const char *role = (const char *)it->value;
		char buf[96];
		if (strlen(role) != it->len || !nhi_principal_is_valid(role))
			return nhi_call_error(sub, NHI_ERR_INVALID_ARGUMENT,
			                      "field 'roles': invalid role '%s'",
			                      nhi_log_sanitize(role, buf, sizeof(buf)));
		r = nhi_store_role_add(s, name, role);
		if (r == 0)
			*changed = true;
		else if (r != NHI_ERR_EXISTS)
			return nhi_call_error(sub, r, "cannot add role: %s", nhi_strerror(r));
	}
	for (size_t i = 0; i < nhi_kv_count(rec, "selector"); i++) {
		const struct nhi_kv_item *it = nhi_kv_nth(rec, "selector", i);
		enum nhi_selector_kind kind;
		char *value = NULL;
		if (strlen((const char *)it->value) != it->len)
			return nhi_call_error(sub, NHI_ERR_INVALID_ARGUMENT,
			                      "field 'selectors': not text");
		if ((r = nhi_identity_parse_selector(sub, (const char *)it->value, &kind, &value)) <
		    0)
			return r;
		r = nhi_store_selector_add(s, name, kind, value);
		free(value);
		if (r == 0)
			*changed = true;
		else if (r != NHI_ERR_EXISTS)
			return nhi_call_error(sub, r, "cannot add selector: %s", nhi_strerror(r));
	}
	return 0;
}

enum outcome { CREATED, UPDATED, UNCHANGED };

/* One record: created when the name is new, else the fields it names are
 * changed (like `identity set`); fields it leaves out stay as they are. */
static int apply_one(struct nhi_call *c, const struct staged *st, enum outcome *ret)
{
	struct nhi_call sub = {.b = c->b, .peer = c->peer, .type = c->type, .args = &st->rec};
	struct nhi_identity cur, want;
	const char *name = nhi_kv_str(&st->rec, "name");
	bool changed = false;
	int r;

	nhi_identity_init(&cur);
	nhi_identity_init(&want);
	r = nhi_store_identity_get(c->b->store, name, &cur);
	if (r == NHI_ERR_NOT_FOUND) {
		if (nhi_kv_find(&st->rec, "kind") == NULL) {
			r = nhi_call_error(&sub, NHI_ERR_INVALID_ARGUMENT, "missing field 'kind'");
			goto out;
		}
		if ((r = nhi_identity_apply_fields(&sub, &want)) < 0)
			goto out;
		if ((want.name = strdup(name)) == NULL) {
			r = NHI_ERR_ALLOC;
			goto out;
		}
		/* Its uid and gid, when it needs them, come after the last
		 * record (assign_accounts). */
		if ((r = nhi_store_identity_add(c->b->store, &want, NULL)) < 0) {
			r = nhi_call_error(&sub, r, "cannot add identity '%s': %s", name,
			                   nhi_strerror(r));
			goto out;
		}
		if ((r = ensure_lists(&sub, name, &changed)) < 0)
			goto out;
		*ret = CREATED;
		goto out;
	}
	if (r < 0) {
		r = nhi_call_error(&sub, r, "cannot read identity '%s': %s", name, nhi_strerror(r));
		goto out;
	}
	if (cur.status == NHI_STATUS_RETIRED) {
		r = nhi_call_error(&sub, NHI_ERR_REFUSED, "identity '%s' is retired", name);
		goto out;
	}
	if ((r = nhi_store_identity_get(c->b->store, name, &want)) < 0 ||
	    (r = nhi_identity_apply_fields(&sub, &want)) < 0)
		goto out;
	if (!identity_equal(&cur, &want)) {
		if ((r = nhi_store_identity_update(c->b->store, &want)) < 0) {
			r = nhi_call_error(&sub, r, "cannot update identity '%s': %s", name,
			                   nhi_strerror(r));
			goto out;
		}
		changed = true;
		c->b->nss_dirty = true;
	}
	if ((r = ensure_lists(&sub, name, &changed)) < 0)
		goto out;
	*ret = changed ? UPDATED : UNCHANGED;
out:
	if (r < 0)
		r = line_error(c, &sub, st->line, r);
	nhi_call_clear(&sub);
	nhi_identity_clear(&cur);
	nhi_identity_clear(&want);
	return r;
}

/* Unix accounts for every created identity that needs one, in one pass
 * over the ids in use: allocating record by record rescanned them all for
 * each record, which made a large import quadratic. */
static int assign_accounts(struct nhi_call *c)
{
	struct nhi_account_params p;
	size_t n = 0;
	int r;

	nhi_nss_account_params(c->b, &p);
	r = nhi_accounts_assign_all(c->b->store, &p, &n);
	if (r == NHI_ERR_ID_RANGE_EXHAUSTED)
		return nhi_call_error(c, r,
		                      "no free uid left in %u-%u for the imported identities: "
		                      "widen [nss] uid_min/uid_max",
		                      p.uid_min, p.uid_max);
	if (r < 0)
		return nhi_call_error(c, r, "cannot allocate uids: %s", nhi_strerror(r));
	c->b->nss_dirty = true;
	return 0;
}

static int audit_import(struct nhi_call *c, const size_t counts[3], size_t records)
{
	struct nhi_audit_detail *d = NULL;
	struct nhi_audit_event ev = {.type = NHI_AUDIT_IDENTITY_CHANGE};
	int r;

	if ((r = nhi_audit_detail_new(&d)) < 0 ||
	    (r = nhi_audit_detail_str(d, "action", "import")) < 0 ||
	    (r = nhi_audit_detail_int(d, "records", (int64_t)records)) < 0 ||
	    (r = nhi_audit_detail_int(d, "created", (int64_t)counts[CREATED])) < 0 ||
	    (r = nhi_audit_detail_int(d, "updated", (int64_t)counts[UPDATED])) < 0 ||
	    (r = nhi_audit_detail_int(d, "unchanged", (int64_t)counts[UNCHANGED])) < 0)
		goto out;
	ev.actor = c->peer->name;
	ev.subject = "*";
	ev.detail = nhi_audit_detail_text(d);
	r = nhi_audit_append(c->b->audit, &ev, NULL);
out:
	nhi_audit_detail_free(d);
	if (r < 0)
		return nhi_call_error(c, r, "cannot write the audit record: %s", nhi_strerror(r));
	return 0;
}

int nhi_handle_import_commit(struct nhi_call *c)
{
	struct import *im;
	size_t counts[3] = {0, 0, 0};
	struct nhi_kv *rec;
	enum outcome o = UNCHANGED;
	int r;

	if ((r = find_import(c, &im)) < 0)
		return r;
	/* Whatever happens, this import is over: a retry starts afresh. */
	import_unlink(im);
	if ((r = check_names(c, im)) < 0)
		goto out;
	/* The server runs this request in one savepoint of one transaction:
	 * an error below rolls back every record applied before it. */
	for (size_t i = 0; i < im->n; i++) {
		if ((r = apply_one(c, &im->recs[i], &o)) < 0)
			goto out;
		counts[o]++;
	}
	if (counts[CREATED] > 0 && (r = assign_accounts(c)) < 0)
		goto out;
	if ((r = audit_import(c, counts, im->n)) < 0 || (r = nhi_call_add_record(c, &rec)) < 0 ||
	    (r = nhi_kv_add_u64(rec, "records", im->n)) < 0 ||
	    (r = nhi_kv_add_u64(rec, "created", counts[CREATED])) < 0 ||
	    (r = nhi_kv_add_u64(rec, "updated", counts[UPDATED])) < 0 ||
	    (r = nhi_kv_add_u64(rec, "unchanged", counts[UNCHANGED])) < 0)
		goto out;
	r = nhi_call_message(c, "%zu identities: %zu created, %zu updated, %zu unchanged", im->n,
	                     counts[CREATED], counts[UPDATED], counts[UNCHANGED]);
out:
	import_free(im);
	return r;
}

#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
#include "broker.h"
#include "ca.h"
#include "err.h"
#include "fileio.h"
#include "log.h"

#define CA_COMMENT "nhi user CA"

struct nhi_ca_set {
	struct nhi_ca_key *signer;
	bool from_credentials;       /* read-only: systemd owns the file */
	struct nhi_ca_trusted *keys; /* [0] is the signer's public key */
	size_t n_keys;
};

static void trusted_clear(struct nhi_ca_trusted *t)
{
	nhi_key_free(t->key);
	free(t->text);
	memset(t, 0, sizeof(*t));
}

void nhi_ca_set_free(struct nhi_ca_set *ca)
{
	if (ca == NULL)
		return;
	nhi_ca_free(ca->signer);
	for (size_t i = 0; i < ca->n_keys; i++)
		trusted_clear(&ca->keys[i]);
	free(ca->keys);
	free(ca);
}

const struct nhi_ca_key *nhi_ca_set_signer(const struct nhi_ca_set *ca)
{
	return ca != NULL ? ca->signer : NULL;
}

const char *nhi_ca_set_fingerprint(const struct nhi_ca_set *ca)
{
	return ca != NULL && ca->n_keys > 0 ? ca->keys[0].fingerprint : "";
}

size_t nhi_ca_set_count(const struct nhi_ca_set *ca)
{
	return ca != NULL ? ca->n_keys : 0;
}

const struct nhi_ca_trusted *nhi_ca_set_get(const struct nhi_ca_set *ca, size_t i)
{
	return ca != NULL && i < ca->n_keys ? &ca->keys[i] : NULL;
}

const struct nhi_key *nhi_ca_set_find(const struct nhi_ca_set *ca, const char *fingerprint)
{
	if (fingerprint == NULL)
		return NULL;
	for (size_t i = 0; i < nhi_ca_set_count(ca); i++) {
		if (strcmp(ca->keys[i].fingerprint, fingerprint) == 0)
			return ca->keys[i].key;
	}
	return NULL;
}

/* Takes ownership of key. */
static int add_trusted(struct nhi_ca_set *ca, struct nhi_key *key, uint64_t until, bool current)
{
	struct nhi_ca_trusted *v, t = {.key = key, .trusted_until = until, .current = current};
	int r;

	if ((r = nhi_key_fingerprint(key, t.fingerprint)) < 0 ||
	    (r = nhi_key_to_text(key, current ? CA_COMMENT : CA_COMMENT " (retired)", &t.text)) < 0)
		goto fail;
	if (nhi_ca_set_find(ca, t.fingerprint) != NULL) {
		trusted_clear(&t); /* listed twice: keep the first */
		return 0;
	}
	if ((v = realloc(ca->keys, (ca->n_keys + 1) * sizeof(*v))) == NULL) {
		r = NHI_ERR_ALLOC;
		goto fail;
	}
	ca->keys = v;
	ca->keys[ca->n_keys++] = t;
	return 0;
fail:
	trusted_clear(&t);
	return r;
}

/* Retired keys from the store meta; those no longer needed are dropped. */
static int load_retired(struct nhi_broker *b, struct nhi_ca_set *ca, uint64_t now)
{
	char *text = NULL, *line, *save = NULL;
	int r;

	r = nhi_store_meta_get(b->store, NHI_CA_META_RETIRED, &text);
	if (r == NHI_ERR_NOT_FOUND)
		return 0;
	if (r < 0)
		return r;
	for (line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		struct nhi_key *key = NULL;
		char *tab = strchr(line, '\t'), *end;
		unsigned long long until;

		errno = 0;
		until = strtoull(line, &end, 10);
		if (tab == NULL || end != tab || errno != 0 ||
		    nhi_key_from_text(tab + 1, &key, NULL) < 0) {
			nhi_log_warning("ignoring a malformed retired CA key in the store");
			continue;
		}
		if (until < now) {
			nhi_key_free(key);
			continue;
		}
		if ((r = add_trusted(ca, key, until, false)) < 0)
			goto out;
	}
	r = 0;
out:
	free(text);
	return r;
}

static int save_retired(struct nhi_broker *b, const struct nhi_ca_set *ca)
{
	char *text = NULL, *line = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	int r = 0;

	if (f == NULL)
		return NHI_ERR_ALLOC;
	for (size_t i = 0; i < ca->n_keys; i++) {
		if (ca->keys[i].current)
			continue;
		free(line);
		line = NULL;
		if (nhi_key_to_text(ca->keys[i].key, NULL, &line) < 0) {
			r = NHI_ERR_ALLOC;
			break;
		}
		fprintf(f, "%" PRIu64 "\t%s\n", ca->keys[i].trusted_until, line);
	}
	free(line);
	if (fclose(f) != 0 && r == 0)
		r = NHI_ERR_ALLOC;
	if (r == 0)
		r = nhi_store_meta_set(b->store, NHI_CA_META_RETIRED, text);
	free(text);
	return r;
}

int nhi_ca_set_write_pub(struct nhi_broker *b)
{
	char *path = nhi_broker_path(b, NHI_CA_PUB_NAME), *text = NULL;
	size_t len = 0;
	FILE *f;
	int r;

	if (path == NULL || (f = open_memstream(&text, &len)) == NULL) {
		free(path);
		return NHI_ERR_ALLOC;
	}
	for (size_t i = 0; i < nhi_ca_set_count(b->ca); i++)
		fprintf(f, "%s\n", b->ca->keys[i].text);
	r = fclose(f) == 0 ? nhi_atomic_write(path, text, len, 0644) : NHI_ERR_ALLOC;
	free(text);
	free(path);
	return r;
}

static int audit_ca_change(struct nhi_broker *b, const char *actor, const char *action,
                           const struct nhi_ca_set *ca, const char *old_fp, uint64_t old_until)
{
	struct nhi_audit_detail *d = NULL;
	struct nhi_audit_event ev = {.type = NHI_AUDIT_CA_CHANGE, .actor = actor};
	int r;

	if ((r = nhi_audit_detail_new(&d)) < 0 ||
	    (r = nhi_audit_detail_str(d, "action", action)) < 0 ||
	    (r = nhi_audit_detail_str(d, "fingerprint", nhi_ca_set_fingerprint(ca))) < 0)
		goto out;
	if (old_fp != NULL &&
	    ((r = nhi_audit_detail_str(d, "previous", old_fp)) < 0 ||
	     (r = nhi_audit_detail_int(d, "previous_trusted_until", (int64_t)old_until)) < 0))
		goto out;
	ev.subject = nhi_ca_set_fingerprint(ca);
	ev.detail = nhi_audit_detail_text(d);
	r = nhi_audit_append(b->audit, &ev, NULL);
out:
	nhi_audit_detail_free(d);
	return r;
}

static int set_signer(struct nhi_ca_set *ca, struct nhi_ca_key *signer)
{
	struct nhi_key *pub = NULL;
	int r;

	if ((r = nhi_ca_public(signer, &pub)) < 0)
		return r;
	if ((r = add_trusted(ca, pub, 0, true)) < 0)
		return r;
	ca->signer = signer;
	return 0;
}

/* The private key file the broker owns: the configured path or the state
 * directory's user_ca. */
static char *key_path(const struct nhi_broker *b)
{
	if (b->cfg->ca_key_path != NULL)
		return strdup(b->cfg->ca_key_path);
	return nhi_broker_path(b, NHI_CA_KEY_NAME);
}

static int load_or_generate(struct nhi_broker *b, struct nhi_ca_set *ca, bool *ret_generated)
{
	const char *creds = secure_getenv("CREDENTIALS_DIRECTORY");
	struct nhi_ca_key *signer = NULL;
	char *path = NULL;
	int r;

	*ret_generated = false;
	if (creds != NULL && creds[0] == '/') {
		if (asprintf(&path, "%s/%s", creds, NHI_CA_KEY_NAME) < 0)
			return NHI_ERR_ALLOC;
		r = nhi_ca_load(path, &signer);
		if (r == 0)
			ca->from_credentials = true;
		else if (r != NHI_ERR_NOT_FOUND)
			goto out;
		free(path);
		path = NULL;
	}
	if (signer == NULL) {
		if ((path = key_path(b)) == NULL) {
			r = NHI_ERR_ALLOC;
			goto out;
		}
		r = nhi_ca_load(path, &signer);
		if (r == NHI_ERR_NOT_FOUND) {
			if ((r = nhi_ca_generate(&signer)) < 0 ||
			    (r = nhi_ca_save(signer, path, CA_COMMENT)) < 0)
				goto out;
			*ret_generated = true;
		} else if (r < 0) {
			goto out;
		}
	}
	if ((r = set_signer(ca, signer)) < 0)
		goto out;
	signer = NULL;
out:
	nhi_ca_free(signer);
	free(path);
	return r;
}

int nhi_ca_set_open(struct nhi_broker *b, struct nhi_ca_set **ret_ca)
{
	struct nhi_ca_set *ca = calloc(1, sizeof(*ca));
	bool generated = false;
	int r;

	if (ca == NULL)
		return NHI_ERR_ALLOC;
	if ((r = load_or_generate(b, ca, &generated)) < 0 ||
	    (r = load_retired(b, ca, nhi_broker_now())) < 0)
		goto out;
	if (generated) {
		nhi_log_notice("generated the user CA %s", nhi_ca_set_fingerprint(ca));
		if ((r = audit_ca_change(b, "nhid", "generate", ca, NULL, 0)) < 0)
			goto out;
	}
	b->ca = ca;
	if ((r = nhi_ca_set_write_pub(b)) < 0) {
		b->ca = NULL;
		goto out;
	}
	b->ca = NULL;
	*ret_ca = ca;
	ca = NULL;
	r = 0;
out:
	nhi_ca_set_free(ca);
	return r;
}

/* The last moment a certificate signed by fp is valid, at least now. */
static int last_validity(struct nhi_broker *b, const char *fp, uint64_t now, uint64_t *ret)
{
	struct nhi_cert_record *certs = NULL;
	size_t n = 0;
	uint64_t until = now;
	int r;

	if ((r = nhi_store_cert_list(b->store, NULL, 0, &certs, &n)) < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		if (certs[i].ca_fp != NULL && strcmp(certs[i].ca_fp, fp) == 0 &&
		    certs[i].valid_before > until)
			until = certs[i].valid_before;
	}
	nhi_cert_record_list_free(certs, n);
	*ret = until;
	return 0;
}

int nhi_ca_set_rotate(struct nhi_broker *b, const char *actor, uint64_t now)
{
	struct nhi_ca_set *old = b->ca, *ca = calloc(1, sizeof(*ca));
	struct nhi_ca_key *signer = NULL;
	struct nhi_key *old_pub = NULL;
	char old_fp[NHI_FINGERPRINT_MAX];
	char *path = NULL;
	uint64_t until = now;
	int r;

	if (ca == NULL)
		return NHI_ERR_ALLOC;
	if (old == NULL || old->n_keys == 0) {
		r = NHI_ERR_INTERNAL;
		goto out;
	}
	if (old->from_credentials) {
		r = NHI_ERR_FILE_UNSAFE;
		goto out;
	}
	memcpy(old_fp, old->keys[0].fingerprint, sizeof(old_fp));
	if ((r = last_validity(b, old_fp, now, &until)) < 0 || (r = nhi_ca_generate(&signer)) < 0 ||
	    (r = set_signer(ca, signer)) < 0)
		goto out;
	signer = NULL;
	/* The old key and every retired key still needed, in that order. */
	if ((r = nhi_key_dup(old->keys[0].key, &old_pub)) < 0 ||
	    (r = add_trusted(ca, old_pub, until, false)) < 0)
		goto out;
	old_pub = NULL;
	for (size_t i = 1; i < old->n_keys; i++) {
		struct nhi_key *k = NULL;

		if (old->keys[i].trusted_until < now)
			continue;
		if ((r = nhi_key_dup(old->keys[i].key, &k)) < 0 ||
		    (r = add_trusted(ca, k, old->keys[i].trusted_until, false)) < 0)
			goto out;
	}
	/* Store and audit first: when they fail nothing on disk has changed. */
	if ((r = save_retired(b, ca)) < 0 ||
	    (r = audit_ca_change(b, actor, "rotate", ca, old_fp, until)) < 0)
		goto out;
	if ((path = key_path(b)) == NULL) {
		r = NHI_ERR_ALLOC;
		goto out;
	}
	if ((r = nhi_ca_save(ca->signer, path, CA_COMMENT)) < 0)
		goto out;
	b->ca = ca;
	ca = NULL;
	nhi_ca_set_free(old);
	if ((r = nhi_ca_set_write_pub(b)) < 0)
		goto out;
	nhi_log_notice("rotated the user CA to %s; %s stays trusted until %" PRIu64,
	               nhi_ca_set_fingerprint(b->ca), old_fp, until);
	r = 0;
out:
	nhi_key_free(old_pub);
	nhi_ca_free(signer);
	nhi_ca_set_free(ca);
	free(path);
	return r;
}

/* Drops retired keys past their trusted_until from the set, the store and
 * user_ca.pub, with a "ca-change" (expire) audit record for each, in its own
 * transaction. Cheap when nothing expired: the server calls it every turn. */
int nhi_ca_set_prune(struct nhi_broker *b, uint64_t now)
{
	struct nhi_ca_set *ca = b->ca;
	size_t kept = 0, dropped = 0;
	int r;

	if (ca == NULL)
		return 0;
	for (size_t i = 0; i < ca->n_keys; i++)
		dropped += !ca->keys[i].current && ca->keys[i].trusted_until < now;
	if (dropped == 0)
		return 0;
	if ((r = nhi_store_begin(b->store)) < 0)
		return r;
	for (size_t i = 0; i < ca->n_keys; i++) {
		const struct nhi_ca_trusted *t = &ca->keys[i];

		if (!t->current && t->trusted_until < now &&
		    (r = audit_ca_change(b, "nhid", "expire", ca, t->fingerprint,
		                         t->trusted_until)) < 0) {
			nhi_store_rollback(b->store);
			return r;
		}
	}
	for (size_t i = 0; i < ca->n_keys; i++) {
		struct nhi_ca_trusted *t = &ca->keys[i];

		if (!t->current && t->trusted_until < now) {
			nhi_log_notice("user CA key %s expired: no certificate it signed is valid",
			               t->fingerprint);
			trusted_clear(t);
			continue;
		}
		if (kept != i) {
			ca->keys[kept] = *t;
			memset(t, 0, sizeof(*t));
		}
		kept++;
	}
	ca->n_keys = kept;
	if ((r = save_retired(b, ca)) < 0 || (r = nhi_store_commit(b->store)) < 0)
		goto fail;
	return nhi_ca_set_write_pub(b);
fail:
	nhi_store_rollback(b->store);
	/* Expired keys sign nothing anyone accepts: dropping them from
	 * user_ca.pub is right even when the store could not record it. */
	(void)nhi_ca_set_write_pub(b);
	return r;
}

#include "config.h"

#include <criterion/criterion.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker.h"
#include "ca.h"
#include "cert.h"
#include "err.h"
#include "handlers.h"
#include "support.h"

static char *dir;
static struct nhi_broker *b;
static struct nhi_peer me;
static struct nhi_buf *subject;
static char exe[PATH_MAX];

static void setup(void)
{
	struct nhi_broker_options o = {.no_syslog = true};
	struct nhi_ca_key *k = NULL;
	struct nhi_key *pub = NULL;
	char err[512];
	ssize_t n;

	cr_assert_eq(sodium_init() >= 0, true);
	dir = test_mkdtemp();
	o.state_dir = dir;
	cr_assert_eq(nhi_broker_open(&o, &b, err, sizeof(err)), 0, "%s", err);
	me = (struct nhi_peer){.pid = getpid(), .uid = getuid(), .gid = getgid()};
	snprintf(me.name, sizeof(me.name), "uid:%u", (unsigned)getuid());
	cr_assert_eq(nhi_ca_generate(&k), 0);
	cr_assert_eq(nhi_ca_public(k, &pub), 0);
	subject = nhi_buf_new();
	cr_assert_eq(nhi_key_to_blob(pub, subject), 0);
	nhi_key_free(pub);
	nhi_ca_free(k);
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	cr_assert_gt(n, 0);
	exe[n] = '\0';
}

static void teardown(void)
{
	nhi_buf_free(subject);
	nhi_broker_close(b);
	test_rmtree(dir);
	free(dir);
}

TestSuite(issue, .init = setup, .fini = teardown);

static void add_identity(const char *name, enum nhi_identity_kind kind, int64_t uid,
                         enum nhi_identity_status status)
{
	struct nhi_identity id;

	nhi_identity_init(&id);
	id.name = (char *)name;
	id.kind = kind;
	id.uid = uid;
	id.status = status;
	cr_assert_eq(nhi_store_identity_add(b->store, &id, NULL), 0);
}

/* One request as the server runs it: in a transaction, rolled back when
 * the handler fails. */
static void request(const char *identity, const char *ttl, struct nhi_call *c)
{
	struct nhi_kv args;

	nhi_kv_init(&args);
	if (identity != NULL)
		cr_assert_eq(nhi_kv_add_str(&args, "identity", identity), 0);
	cr_assert_eq(nhi_kv_add(&args, "public_key", nhi_buf_ptr(subject), nhi_buf_len(subject)),
	             0);
	if (ttl != NULL)
		cr_assert_eq(nhi_kv_add_str(&args, "ttl", ttl), 0);
	memset(c, 0, sizeof(*c));
	c->b = b;
	c->peer = &me;
	c->args = &args;
	cr_assert_eq(nhi_store_begin(b->store), 0);
	if (nhi_handle_cert_request(c) < 0 || c->reply.status < 0)
		nhi_store_rollback(b->store);
	else
		cr_assert_eq(nhi_store_commit(b->store), 0);
	c->args = NULL;
	nhi_kv_clear(&args);
}

static size_t cert_count(void)
{
	struct nhi_cert_record *list = NULL;
	size_t n = 0;

	cr_assert_eq(nhi_store_cert_list(b->store, NULL, 0, &list, &n), 0);
	nhi_cert_record_list_free(list, n);
	return n;
}

Test(issue, human_bound_to_caller_uid)
{
	const struct nhi_kv_item *blob;
	struct nhi_cert *cert = NULL;
	struct nhi_cert_record rec;
	struct nhi_key *ca = NULL;
	struct nhi_call c;
	uint64_t serial = 0;

	add_identity("alice", NHI_KIND_HUMAN, getuid(), NHI_STATUS_ACTIVE);
	cr_assert_eq(nhi_store_role_add(b->store, "alice", "ops"), 0);
	request("alice", NULL, &c);
	cr_assert_eq(c.reply.status, 0, "%s", c.reply.message);
	cr_assert_eq(c.reply.n_records, 1);
	blob = nhi_kv_find(&c.reply.records[0], "certificate");
	cr_assert_not_null(blob);
	cr_assert_eq(nhi_cert_from_blob(blob->value, blob->len, &cert), 0);
	cr_assert_eq(nhi_ca_public(nhi_ca_set_signer(b->ca), &ca), 0);
	cr_assert_eq(nhi_cert_check_user(cert, ca, "ops", nhi_broker_now()), 0);
	cr_assert_eq(nhi_kv_u64(&c.reply.records[0], "serial", &serial), 0);
	cr_assert_eq(cert->serial, serial);
	cr_assert_str_eq(nhi_kv_str(&c.reply.records[0], "key_id"), cert->key_id);
	cr_assert_eq(nhi_kv_count(&c.reply.records[0], "principal"), 2);
	cr_assert_not_null(nhi_cert_find_extension(cert, "permit-pty"));
	cr_assert_eq(cert->valid_before - nhi_broker_now() <= 3600, true);
	/* Recorded, with its CA, and audited. */
	cr_assert_eq(nhi_store_cert_get(b->store, serial, &rec), 0);
	cr_assert_str_eq(rec.ca_fp, nhi_ca_set_fingerprint(b->ca));
	cr_assert_str_eq(rec.identity, "alice");
	nhi_cert_record_clear(&rec);
	nhi_cert_free(cert);
	nhi_key_free(ca);
	nhi_call_clear(&c);

	/* Serials strictly increase. */
	request("alice", "60", &c);
	cr_assert_eq(c.reply.status, 0, "%s", c.reply.message);
	{
		uint64_t s2 = 0;

		cr_assert_eq(nhi_kv_u64(&c.reply.records[0], "serial", &s2), 0);
		cr_assert_gt(s2, serial);
	}
	nhi_call_clear(&c);
}

Test(issue, human_of_another_uid_denied)
{
	struct nhi_call c;

	add_identity("bob", NHI_KIND_HUMAN, getuid() + 1, NHI_STATUS_ACTIVE);
	request("bob", NULL, &c);
	cr_assert_eq(c.reply.status, NHI_ERR_REFUSED);
	cr_assert_str_eq(c.deny_subject, "bob");
	cr_assert_eq(cert_count(), 0);
	nhi_call_clear(&c);
}

static void add_automation(const char *name, const char *exe_sha256)
{
	char uid[32];

	add_identity(name, NHI_KIND_AUTOMATION, NHI_ID_NONE, NHI_STATUS_ACTIVE);
	snprintf(uid, sizeof(uid), "%u", (unsigned)getuid());
	cr_assert_eq(nhi_store_selector_add(b->store, name, NHI_SELECTOR_UID, uid), 0);
	cr_assert_eq(nhi_store_selector_add(b->store, name, NHI_SELECTOR_EXE_PATH, exe), 0);
	if (exe_sha256 != NULL)
		cr_assert_eq(
		        nhi_store_selector_add(b->store, name, NHI_SELECTOR_EXE_SHA256, exe_sha256),
		        0);
}

Test(issue, automation_matching_selectors)
{
	const struct nhi_kv_item *blob;
	struct nhi_cert *cert = NULL;
	struct nhi_call c;

	add_automation("backup-bot", NULL);
	request("backup-bot", NULL, &c);
	cr_assert_eq(c.reply.status, 0, "%s", c.reply.message);
	blob = nhi_kv_find(&c.reply.records[0], "certificate");
	cr_assert_eq(nhi_cert_from_blob(blob->value, blob->len, &cert), 0);
	cr_assert_null(nhi_cert_find_extension(cert, "permit-pty"));
	cr_assert_eq(cert->valid_before - cert->valid_after, 300 + 60);
	nhi_cert_free(cert);
	nhi_call_clear(&c);
}

Test(issue, automation_mismatch_names_selector_not_value)
{
	static const char digest[] =
	        "00000000000000000000000000000000000000000000000000000000deadbeef";
	struct nhi_call c;

	add_automation("backup-bot", digest);
	request("backup-bot", NULL, &c);
	cr_assert_eq(c.reply.status, NHI_ERR_ATTESTATION);
	cr_assert_not_null(strstr(c.reply.message, "exe_sha256"), "%s", c.reply.message);
	cr_assert_null(strstr(c.reply.message, "deadbeef"), "%s", c.reply.message);
	cr_assert_str_eq(c.deny_subject, "backup-bot");
	cr_assert_eq(cert_count(), 0);
	nhi_call_clear(&c);
}

Test(issue, automation_without_selectors_denied)
{
	struct nhi_call c;

	add_identity("lonely", NHI_KIND_AUTOMATION, NHI_ID_NONE, NHI_STATUS_ACTIVE);
	request("lonely", NULL, &c);
	cr_assert_eq(c.reply.status, NHI_ERR_ATTESTATION);
	cr_assert_eq(cert_count(), 0);
	nhi_call_clear(&c);
}

Test(issue, ttl_above_cap_denied)
{
	struct nhi_call c;

	add_automation("backup-bot", NULL);
	request("backup-bot", "7200", &c);
	cr_assert_eq(c.reply.status, NHI_ERR_TTL_EXCEEDED);
	cr_assert_str_eq(c.reply.message, "ttl 7200 exceeds the cap 3600 for backup-bot");
	nhi_call_clear(&c);
	request("backup-bot", "99999999999999999999", &c);
	cr_assert_eq(c.reply.status, NHI_ERR_INVALID_ARGUMENT);
	nhi_call_clear(&c);
	cr_assert_eq(cert_count(), 0);
}

Test(issue, suspended_breakglass_unknown_denied)
{
	struct nhi_call c;

	add_identity("carol", NHI_KIND_HUMAN, getuid(), NHI_STATUS_SUSPENDED);
	add_identity("glass", NHI_KIND_BREAKGLASS, NHI_ID_NONE, NHI_STATUS_ACTIVE);
	request("carol", NULL, &c);
	cr_assert_eq(c.reply.status, NHI_ERR_IDENTITY_INACTIVE);
	cr_assert_str_eq(c.deny_subject, "carol");
	nhi_call_clear(&c);
	request("glass", NULL, &c);
	cr_assert_eq(c.reply.status, NHI_ERR_REFUSED);
	cr_assert_not_null(c.deny_subject);
	nhi_call_clear(&c);
	request("nobody", NULL, &c);
	cr_assert_eq(c.reply.status, NHI_ERR_NOT_FOUND);
	cr_assert_str_eq(c.deny_subject, "nobody");
	nhi_call_clear(&c);
	cr_assert_eq(cert_count(), 0);
}

Test(issue, bad_input_is_an_error_not_a_denial)
{
	static const char *const names[] = {"../x", "a\nb", "%s", ""};
	char longname[301];
	struct nhi_call c;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		request(names[i], NULL, &c);
		cr_assert_eq(c.reply.status, NHI_ERR_NAME_INVALID, "%zu", i);
		cr_assert_null(c.deny_subject);
		nhi_call_clear(&c);
	}
	memset(longname, 'a', 300);
	longname[300] = '\0';
	request(longname, NULL, &c);
	cr_assert_eq(c.reply.status, NHI_ERR_NAME_INVALID);
	nhi_call_clear(&c);
	request(NULL, NULL, &c);
	cr_assert_eq(c.reply.status, NHI_ERR_INVALID_ARGUMENT);
	nhi_call_clear(&c);
	/* A key blob that is not a key. */
	nhi_buf_reset(subject);
	cr_assert_eq(nhi_buf_put(subject, "garbage", 7), 0);
	add_identity("alice", NHI_KIND_HUMAN, getuid(), NHI_STATUS_ACTIVE);
	request("alice", NULL, &c);
	cr_assert_lt(c.reply.status, 0);
	cr_assert_null(c.deny_subject);
	nhi_call_clear(&c);
}

Test(issue, whoami_lists_matching_identities)
{
	struct nhi_kv args;
	struct nhi_call c = {.b = NULL};
	bool bot = false, alice = false;

	add_identity("alice", NHI_KIND_HUMAN, getuid(), NHI_STATUS_ACTIVE);
	add_automation("backup-bot", NULL);
	add_automation("other-bot",
	               "00000000000000000000000000000000000000000000000000000000deadbeef");
	nhi_kv_init(&args);
	c.b = b;
	c.peer = &me;
	c.args = &args;
	cr_assert_eq(nhi_handle_whoami(&c), 0);
	cr_assert_eq(c.reply.n_records, 1);
	cr_assert_str_eq(nhi_kv_str(&c.reply.records[0], "exe"), exe);
	cr_assert_eq(strlen(nhi_kv_str(&c.reply.records[0], "exe_sha256")), 64);
	for (size_t i = 0; i < nhi_kv_count(&c.reply.records[0], "identity"); i++) {
		const char *v = (const char *)nhi_kv_nth(&c.reply.records[0], "identity", i)->value;

		alice |= strcmp(v, "alice") == 0;
		bot |= strcmp(v, "backup-bot") == 0;
		cr_assert_str_neq(v, "other-bot");
	}
	cr_assert(alice && bot);
	nhi_call_clear(&c);
}

Test(issue, whoami_matches_only_active_machines_with_selectors_in_name_order)
{
	struct nhi_kv args;
	struct nhi_call c = {.b = NULL};
	const struct nhi_kv *rec;
	char uid[32];

	snprintf(uid, sizeof(uid), "%u", (unsigned)getuid());
	add_automation("zz-bot", NULL);
	add_automation("parked-bot", NULL);
	cr_assert_eq(nhi_store_identity_set_status(b->store, "parked-bot", NHI_STATUS_SUSPENDED),
	             0);
	add_identity("bare-bot", NHI_KIND_AUTOMATION, NHI_ID_NONE, NHI_STATUS_ACTIVE);
	add_identity("a-svc", NHI_KIND_SERVICE, NHI_ID_NONE, NHI_STATUS_ACTIVE);
	cr_assert_eq(nhi_store_selector_add(b->store, "a-svc", NHI_SELECTOR_UID, uid), 0);
	/* Only automation and service identities are matched by attestation. */
	add_identity("glass", NHI_KIND_BREAKGLASS, NHI_ID_NONE, NHI_STATUS_ACTIVE);
	cr_assert_eq(nhi_store_selector_add(b->store, "glass", NHI_SELECTOR_UID, uid), 0);
	nhi_kv_init(&args);
	c.b = b;
	c.peer = &me;
	c.args = &args;
	cr_assert_eq(nhi_handle_whoami(&c), 0);
	cr_assert_eq(c.reply.n_records, 1);
	rec = &c.reply.records[0];
	cr_assert_eq(nhi_kv_count(rec, "identity"), 2);
	cr_assert_str_eq((const char *)nhi_kv_nth(rec, "identity", 0)->value, "a-svc");
	cr_assert_str_eq((const char *)nhi_kv_nth(rec, "identity", 1)->value, "zz-bot");
	nhi_call_clear(&c);
}

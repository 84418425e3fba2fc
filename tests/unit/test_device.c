#include "config.h"

#include <criterion/criterion.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker.h"
#include "ca.h"
#include "dispatch.h"
#include "enroll_limit.h"
#include "err.h"
#include "handlers.h"
#include "support.h"

static char *dir;
static struct nhi_broker *b;
static struct nhi_peer login_peer;
static struct nhi_buf *device, *subject;

static void new_key(struct nhi_buf **ret)
{
	struct nhi_ca_key *k = NULL;
	struct nhi_key *pub = NULL;

	cr_assert_eq(nhi_ca_generate(&k), 0);
	cr_assert_eq(nhi_ca_public(k, &pub), 0);
	*ret = nhi_buf_new();
	cr_assert_eq(nhi_key_to_blob(pub, *ret), 0);
	nhi_key_free(pub);
	nhi_ca_free(k);
}

static void setup(void)
{
	struct nhi_broker_options o = {.no_syslog = true};
	struct nhi_identity id;
	char err[512];

	cr_assert_eq(sodium_init() >= 0, true);
	dir = test_mkdtemp();
	o.state_dir = dir;
	cr_assert_eq(nhi_broker_open(&o, &b, err, sizeof(err)), 0, "%s", err);
	login_peer = (struct nhi_peer){.pid = getpid(), .uid = 4242, .is_login = true};
	snprintf(login_peer.name, sizeof(login_peer.name), "uid:4242");
	new_key(&device);
	new_key(&subject);
	nhi_identity_init(&id);
	id.name = "alice";
	id.kind = NHI_KIND_HUMAN;
	id.status = NHI_STATUS_ACTIVE;
	cr_assert_eq(nhi_store_identity_add(b->store, &id, NULL), 0);
}

static void teardown(void)
{
	nhi_buf_free(device);
	nhi_buf_free(subject);
	nhi_broker_close(b);
	test_rmtree(dir);
	free(dir);
}

TestSuite(device, .init = setup, .fini = teardown);

/* One request as the server runs it: rolled back when the handler fails. */
static int call(nhi_handler_fn *fn, const struct nhi_kv *args, struct nhi_call *c)
{
	memset(c, 0, sizeof(*c));
	c->b = b;
	c->peer = &login_peer;
	c->args = args;
	cr_assert_eq(nhi_store_begin(b->store), 0);
	if (fn(c) < 0 || c->reply.status < 0)
		nhi_store_rollback(b->store);
	else
		cr_assert_eq(nhi_store_commit(b->store), 0);
	c->args = NULL;
	return c->reply.status;
}

/* A fresh enrollment code for alice, as nhictl enroll gets it. */
static char *new_code(void)
{
	struct nhi_kv args;
	struct nhi_call c;
	char *code;

	nhi_kv_init(&args);
	cr_assert_eq(nhi_kv_add_str(&args, "identity", "alice"), 0);
	cr_assert_eq(call(nhi_handle_enroll_code, &args, &c), 0);
	code = strdup(nhi_kv_str(&c.reply.records[0], "code"));
	nhi_call_clear(&c);
	nhi_kv_clear(&args);
	return code;
}

static int enroll(const char *code, const struct nhi_buf *key)
{
	struct nhi_kv args;
	struct nhi_call c;
	int r;

	nhi_kv_init(&args);
	cr_assert_eq(nhi_kv_add_str(&args, "code", code), 0);
	cr_assert_eq(nhi_kv_add(&args, "device_key", nhi_buf_ptr(key), nhi_buf_len(key)), 0);
	r = call(nhi_handle_device_enroll, &args, &c);
	if (r == 0)
		cr_assert_str_eq(nhi_kv_str(&c.reply.records[0], "identity"), "alice");
	nhi_call_clear(&c);
	nhi_kv_clear(&args);
	return r;
}

static int issue(const struct nhi_buf *dev, const struct nhi_buf *key)
{
	struct nhi_kv args;
	struct nhi_call c;
	int r;

	nhi_kv_init(&args);
	cr_assert_eq(nhi_kv_add(&args, "device_key", nhi_buf_ptr(dev), nhi_buf_len(dev)), 0);
	cr_assert_eq(nhi_kv_add(&args, "public_key", nhi_buf_ptr(key), nhi_buf_len(key)), 0);
	r = call(nhi_handle_device_issue, &args, &c);
	if (r == 0)
		cr_assert_not_null(nhi_kv_str(&c.reply.records[0], "certificate_text"));
	nhi_call_clear(&c);
	nhi_kv_clear(&args);
	return r;
}

Test(device, enroll_once_then_issue)
{
	char *code = new_code(), *lower = strdup(code);

	for (char *p = lower; *p; p++)
		*p = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
	cr_assert_eq(issue(device, subject), NHI_ERR_DEVICE_KEY);
	cr_assert_eq(enroll(lower, device), 0, "codes are read in any case");
	cr_assert_eq(enroll(code, subject), NHI_ERR_ENROLL_CODE, "a code works once");
	cr_assert_eq(issue(device, subject), 0);
	cr_assert_eq(issue(device, device), NHI_ERR_INVALID_ARGUMENT);
	cr_assert_eq(issue(subject, subject), NHI_ERR_DEVICE_KEY);
	free(code);
	free(lower);
}

Test(device, enrolled_key_cannot_enroll_again)
{
	char *a = new_code(), *c2 = new_code();

	cr_assert_eq(enroll(a, device), 0);
	cr_assert_eq(enroll(c2, device), NHI_ERR_EXISTS);
	/* The refusal rolled back: the second code is still good. */
	cr_assert_eq(enroll(c2, subject), 0);
	free(a);
	free(c2);
}

Test(device, malformed_codes)
{
	static const char *const bad[] = {"",
	                                  "-",
	                                  "AAAA",
	                                  "AAAA-AAAA-AAAA-AAAA-AAAA-AAAA-AA",
	                                  "AAAA-AAAA-AAAA-AAAA-AAAA-AA1",
	                                  "AAAA AAAA"};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(enroll(bad[i], device), NHI_ERR_ENROLL_CODE, "%s", bad[i]);
}

Test(device, suspended_identity_gets_nothing)
{
	char *code = new_code();

	cr_assert_eq(enroll(code, device), 0);
	cr_assert_eq(nhi_store_identity_set_status(b->store, "alice", NHI_STATUS_SUSPENDED), 0);
	cr_assert_eq(issue(device, subject), NHI_ERR_IDENTITY_INACTIVE);
	cr_assert_eq(nhi_store_device_key_revoke(b->store, "nope"), NHI_ERR_NOT_FOUND);
	free(code);
}

/* One enrollment attempt as the server would audit it: the status, and
 * whether a denial record would be written. */
static int enroll_as(uid_t uid, const char *code, const struct nhi_buf *key, bool *ret_audited)
{
	struct nhi_peer saved = login_peer;
	struct nhi_kv args;
	struct nhi_call c;
	int r;

	login_peer.uid = uid;
	snprintf(login_peer.name, sizeof(login_peer.name), "uid:%u", (unsigned)uid);
	nhi_kv_init(&args);
	cr_assert_eq(nhi_kv_add_str(&args, "code", code), 0);
	cr_assert_eq(nhi_kv_add(&args, "device_key", nhi_buf_ptr(key), nhi_buf_len(key)), 0);
	r = call(nhi_handle_device_enroll, &args, &c);
	*ret_audited = c.deny_subject != NULL;
	nhi_call_clear(&c);
	nhi_kv_clear(&args);
	login_peer = saved;
	return r;
}

Test(device, failed_attempts_are_limited_per_uid_and_audited_once)
{
	static const char wrong[] = "AAAA-AAAA-AAAA-AAAA-AAAA-AAAA-AA";
	char *good = new_code();
	bool audited = false;

	for (unsigned i = 0; i < NHI_ENROLL_UID_FAILURES; i++) {
		cr_assert_eq(enroll_as(4242, wrong, device, &audited), NHI_ERR_ENROLL_CODE);
		cr_assert(audited, "every failure is a denial");
	}
	cr_assert_eq(enroll_as(4242, good, device, &audited), NHI_ERR_RATE_LIMITED,
	             "a full window refuses even a good code");
	cr_assert(audited, "the first refusal of the window is audited");
	cr_assert_eq(enroll_as(4242, "x", device, &audited), NHI_ERR_RATE_LIMITED);
	cr_assert_not(audited, "later refusals in the window are not");
	/* Another caller is not held back by this one, and the good code was
	 * not used up by the refusals. */
	cr_assert_eq(enroll_as(4343, good, device, &audited), 0);
	free(good);
}

Test(device, failed_attempts_are_limited_for_all_callers)
{
	static const char wrong[] = "AAAA-AAAA-AAAA-AAAA-AAAA-AAAA-AA";
	char *good = new_code();
	bool audited = false;

	for (unsigned i = 0; i < NHI_ENROLL_GLOBAL_FAILURES; i++)
		cr_assert_eq(enroll_as(10000 + i, wrong, device, &audited), NHI_ERR_ENROLL_CODE);
	cr_assert_eq(enroll_as(20000, good, device, &audited), NHI_ERR_RATE_LIMITED);
	cr_assert(audited);
	cr_assert_eq(enroll_as(20001, good, device, &audited), NHI_ERR_RATE_LIMITED);
	cr_assert_not(audited);
	free(good);
}

Test(device, limit_window_passes)
{
	struct nhi_enroll_limit l = {0};
	int64_t t = 1000000, wait = 0;
	bool first = false;

	for (unsigned i = 0; i < NHI_ENROLL_UID_FAILURES - 1; i++)
		nhi_enroll_limit_failed(&l, 7, t + i);
	cr_assert_eq(nhi_enroll_limit_check(&l, 7, t + 20, &wait, &first), 0, "not full yet");
	nhi_enroll_limit_failed(&l, 7, t + 20);
	cr_assert_eq(nhi_enroll_limit_check(&l, 7, t + 21, &wait, &first), NHI_ERR_RATE_LIMITED);
	cr_assert_eq(wait, NHI_ENROLL_WINDOW - 21);
	cr_assert(first);
	cr_assert_eq(nhi_enroll_limit_check(&l, 7, t + 59, &wait, &first), NHI_ERR_RATE_LIMITED);
	cr_assert_not(first);
	cr_assert_eq(wait, 1);
	cr_assert_eq(nhi_enroll_limit_check(&l, 7, t + NHI_ENROLL_WINDOW, &wait, &first), 0,
	             "the window has passed");
	/* A new window opens with the next failure and is reported afresh. */
	for (unsigned i = 0; i < NHI_ENROLL_UID_FAILURES; i++)
		nhi_enroll_limit_failed(&l, 7, t + 100);
	cr_assert_eq(nhi_enroll_limit_check(&l, 7, t + 100, &wait, &first), NHI_ERR_RATE_LIMITED);
	cr_assert(first);
}

Test(device, limit_tracks_many_uids)
{
	struct nhi_enroll_limit l = {0};
	int64_t wait = 0;
	bool first = false;

	/* More uids than slots, each under its own limit and spread in time so
	 * the global window stays open but below its limit per window. */
	for (unsigned u = 0; u < NHI_ENROLL_UIDS_MAX * 2; u++)
		nhi_enroll_limit_failed(&l, 5000 + u, 1000 + (int64_t)u * NHI_ENROLL_WINDOW);
	cr_assert_eq(l.n_uids, NHI_ENROLL_UIDS_MAX);
	for (unsigned i = 0; i < NHI_ENROLL_UID_FAILURES; i++)
		nhi_enroll_limit_failed(&l, 1, 1000000);
	cr_assert_eq(nhi_enroll_limit_check(&l, 1, 1000001, &wait, &first), NHI_ERR_RATE_LIMITED);
	cr_assert_eq(nhi_enroll_limit_check(&l, 2, 1000001, &wait, &first), 0);
}

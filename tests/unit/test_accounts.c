/* Unix account allocation (accounts.c) and the NSS cache writer
 * (nss_export.c), against crafted passwd and group files; and the
 * broker's rewrite when a quarantine ends. */
#include <config.h>

#include <criterion/criterion.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "accounts.h"
#include "accounts_fixture.h"
#include "broker.h"
#include "conf.h"
#include "err.h"
#include "nss_export.h"
#include "nsscache.h"
#include "store.h"
#include "store_account.h"
#include "support.h"

static struct accounts_fixture fx;

static const char passwd_text[] = "root:x:0:0:root:/root:/bin/bash\n"
                                  "taken:x:5000:5000::/home/taken:/bin/sh\n"
                                  "also:x:5002:100::/home/also:/bin/sh\n"
                                  "local-alice:x:1001:1001::/home/la:/bin/sh\n";
static const char group_text[] = "root:x:0:\n"
                                 "taken:x:5000:\n"
                                 "g5001:x:5001:\n"
                                 "staff:x:5100:\n";

static void setup(void)
{
	accounts_fixture_open(&fx, passwd_text, group_text, 5000, 5009);
}

static void teardown(void)
{
	accounts_fixture_close(&fx);
}

TestSuite(accounts, .init = setup, .fini = teardown);

/* Adds an identity of kind through the allocator, as the add handler does. */
static struct nhi_identity add(const char *name, enum nhi_identity_kind kind)
{
	struct nhi_identity id;
	int r;

	nhi_identity_init(&id);
	id.name = strdup(name);
	id.kind = kind;
	r = nhi_accounts_assign(fx.store, &fx.params, &id);
	cr_assert_eq(r, 0, "assign %s: %s", name, nhi_strerror(r));
	r = nhi_store_identity_add(fx.store, &id, NULL);
	cr_assert_eq(r, 0, "add %s: %s", name, nhi_strerror(r));
	return id;
}

Test(accounts, reads_local_files_without_nss)
{
	struct nhi_local_accounts l;

	cr_assert_eq(nhi_local_accounts_read(fx.passwd_path, fx.group_path, &l), 0);
	cr_expect(nhi_id_set_has(&l.uids, 5000));
	cr_expect(nhi_id_set_has(&l.uids, 5002));
	cr_expect_not(nhi_id_set_has(&l.uids, 5001));
	cr_expect(nhi_id_set_has(&l.gids, 5001));
	cr_expect(nhi_local_has_user(&l, "local-alice"));
	cr_expect_not(nhi_local_has_user(&l, "nobody-here"));
	cr_expect(nhi_local_has_group(&l, "staff"));
	nhi_local_accounts_clear(&l);
}

Test(accounts, missing_local_file_is_an_error)
{
	struct nhi_local_accounts l;
	char *missing = test_path(fx.dir, "nope");

	cr_expect_eq(nhi_local_accounts_read(missing, fx.group_path, &l), NHI_ERR_SYSTEM);
	cr_expect_eq(nhi_local_accounts_read(fx.passwd_path, missing, &l), NHI_ERR_SYSTEM);
	free(missing);
}

Test(accounts, skips_local_uids_and_gids)
{
	struct nhi_identity a = add("alice", NHI_KIND_HUMAN);
	struct nhi_identity b = add("bot", NHI_KIND_AUTOMATION);
	struct nhi_identity c = add("svc", NHI_KIND_SERVICE);

	/* 5000 is a local uid and gid, 5001 a local gid, 5002 a local uid:
	 * 5003 is the first id free as both. */
	cr_expect_eq(a.uid, 5003);
	cr_expect_eq(a.gid, 5003);
	cr_expect_eq(b.uid, 5004);
	cr_expect_eq(b.gid, 5004);
	cr_expect_eq(c.uid, 5005);
	cr_expect_eq(c.gid, 5005);
	nhi_identity_clear(&a);
	nhi_identity_clear(&b);
	nhi_identity_clear(&c);
}

Test(accounts, uid_and_gid_differ_when_no_id_is_free_as_both)
{
	struct nhi_identity a;

	fx.params.uid_max = 5002;
	a = add("alice", NHI_KIND_HUMAN);
	cr_expect_eq(a.uid, 5001, "5001 is only a local gid");
	cr_expect_eq(a.gid, 5002, "5002 is only a local uid");
	nhi_identity_clear(&a);
}

Test(accounts, breakglass_and_explicit_ids)
{
	struct nhi_identity bg, pinned;

	bg = add("bg", NHI_KIND_BREAKGLASS);
	cr_expect_eq(bg.uid, NHI_ID_NONE);
	cr_expect_eq(bg.gid, NHI_ID_NONE);
	nhi_identity_init(&pinned);
	pinned.name = strdup("pinned");
	pinned.kind = NHI_KIND_HUMAN;
	pinned.uid = 1001;
	cr_assert_eq(nhi_accounts_assign(fx.store, &fx.params, &pinned), 0);
	cr_expect_eq(pinned.uid, 1001, "an administrator's uid is kept");
	nhi_identity_clear(&bg);
	nhi_identity_clear(&pinned);
}

Test(accounts, range_exhaustion)
{
	struct nhi_identity id;
	char name[32];
	int r = 0, n;

	/* 5000..5009 minus the local 5000 and 5002: eight uids. */
	for (n = 0; n < 8; n++) {
		snprintf(name, sizeof(name), "u%d", n);
		id = add(name, NHI_KIND_AUTOMATION);
		cr_expect(id.uid >= 5001 && id.uid <= 5009);
		nhi_identity_clear(&id);
	}
	nhi_identity_init(&id);
	id.name = strdup("one-too-many");
	id.kind = NHI_KIND_HUMAN;
	r = nhi_accounts_assign(fx.store, &fx.params, &id);
	cr_expect_eq(r, NHI_ERR_ID_RANGE_EXHAUSTED, "%s", nhi_strerror(r));
	cr_expect_eq(id.uid, NHI_ID_NONE);
	nhi_identity_clear(&id);
}

Test(accounts, quarantine_then_release)
{
	struct nhi_identity a = add("alice", NHI_KIND_HUMAN), got, b;

	cr_assert_eq(a.uid, 5003);
	cr_assert_eq(nhi_store_identity_set_status(fx.store, "alice", NHI_STATUS_RETIRED), 0);
	nhi_identity_init(&got);
	cr_assert_eq(nhi_store_identity_get(fx.store, "alice", &got), 0);
	fx.params.now = got.updated + 10;
	cr_expect(nhi_account_resolves(&got, fx.params.quarantine, fx.params.now));
	b = add("bob", NHI_KIND_HUMAN);
	cr_expect_neq(b.uid, 5003, "a quarantined uid is not reused");
	nhi_identity_clear(&b);

	fx.params.now = got.updated + fx.params.quarantine;
	cr_expect_not(nhi_account_resolves(&got, fx.params.quarantine, fx.params.now));
	b = add("carol", NHI_KIND_HUMAN);
	cr_expect_eq(b.uid, 5003, "after quarantine the uid is free again");
	nhi_identity_clear(&b);
	nhi_identity_clear(&got);
	cr_assert_eq(nhi_store_identity_get(fx.store, "alice", &got), 0);
	cr_expect_eq(got.uid, NHI_ID_NONE, "the retired identity lost its uid");
	nhi_identity_clear(&got);
	nhi_identity_clear(&a);
}

Test(accounts, assign_all_gives_existing_rows_ids_once)
{
	struct nhi_identity id, got;
	size_t n = 0;

	nhi_identity_init(&id);
	id.name = strdup("old");
	id.kind = NHI_KIND_HUMAN;
	cr_assert_eq(nhi_store_identity_add(fx.store, &id, NULL), 0);
	cr_assert_eq(nhi_accounts_assign_all(fx.store, &fx.params, &n), 0);
	cr_expect_eq(n, 1);
	nhi_identity_init(&got);
	cr_assert_eq(nhi_store_identity_get(fx.store, "old", &got), 0);
	cr_expect_eq(got.uid, 5003);
	nhi_identity_clear(&got);
	cr_assert_eq(nhi_accounts_assign_all(fx.store, &fx.params, &n), 0);
	cr_expect_eq(n, 0, "ids are stable: nothing to do the second time");
	cr_assert_eq(nhi_store_identity_get(fx.store, "old", &got), 0);
	cr_expect_eq(got.uid, 5003);
	nhi_identity_clear(&got);
	nhi_identity_clear(&id);
}

/* One pass for many identities (an import): the same ids as allocating
 * them one by one, lowest first, around local ids, and the range's end. */
Test(accounts, assign_all_many_in_one_pass)
{
	/* 5000..5009: 5000 and 5002 are local uids, 5000 and 5001 local gids. */
	static const int64_t want[] = {5003, 5004, 5005, 5006, 5007, 5008, 5009};
	struct nhi_identity id, got;
	char name[16];
	size_t n = 0;

	for (int i = 0; i < 8; i++) {
		nhi_identity_init(&id);
		snprintf(name, sizeof(name), "m%d", i);
		id.name = name;
		id.kind = NHI_KIND_SERVICE;
		cr_assert_eq(nhi_store_identity_add(fx.store, &id, NULL), 0);
	}
	cr_expect_eq(nhi_accounts_assign_all(fx.store, &fx.params, &n), 0);
	cr_expect_eq(n, 8);
	for (int i = 0; i < 7; i++) {
		snprintf(name, sizeof(name), "m%d", i);
		nhi_identity_init(&got);
		cr_assert_eq(nhi_store_identity_get(fx.store, name, &got), 0);
		cr_expect_eq(got.uid, want[i], "%s: uid %lld", name, (long long)got.uid);
		cr_expect_eq(got.gid, want[i]);
		nhi_identity_clear(&got);
	}
	/* No id is free as both any more: the last one gets the lowest free
	 * uid (5001, only a local gid) and the lowest free gid (5002, only a
	 * local uid) apart. */
	nhi_identity_init(&got);
	cr_assert_eq(nhi_store_identity_get(fx.store, "m7", &got), 0);
	cr_expect_eq(got.uid, 5001);
	cr_expect_eq(got.gid, 5002);
	nhi_identity_clear(&got);
}

Test(accounts, export_writes_a_cache_nss_nhi_reads)
{
	struct nhi_config *cfg = NULL;
	struct nhi_nsscache *cache = NULL;
	struct nhi_identity a = add("alice", NHI_KIND_HUMAN), pinned;
	struct passwd pw;
	struct group gr;
	struct stat st;
	char buf[1024];
	int r;

	nhi_identity_init(&pinned);
	pinned.name = strdup("local-alice");
	pinned.kind = NHI_KIND_HUMAN;
	pinned.uid = 1001;
	cr_assert_eq(nhi_store_identity_add(fx.store, &pinned, NULL), 0);
	cr_assert_eq(nhi_config_defaults(&cfg), 0);
	r = nhi_nss_export_to(fx.store, cfg, &fx.params, fx.cache_path);
	cr_assert_eq(r, 0, "export: %s", nhi_strerror(r));
	cr_assert_eq(stat(fx.cache_path, &st), 0);
	cr_expect_eq(st.st_mode & 07777, 0644);
	cr_assert_eq(nhi_nsscache_open(fx.cache_path, &cache), 0);
	cr_expect_eq(nhi_nsscache_user_count(cache), 1, "the local account is left out");
	cr_assert_eq(nhi_nsscache_getpwnam(cache, "alice", &pw, buf, sizeof(buf)), 0);
	cr_expect_eq(pw.pw_uid, 5003);
	cr_expect_eq(pw.pw_gid, 5003);
	cr_expect_str_eq(pw.pw_dir, "/home/alice");
	cr_expect_str_eq(pw.pw_shell, "/bin/bash");
	cr_assert_eq(nhi_nsscache_getgrgid(cache, 5003, &gr, buf, sizeof(buf)), 0);
	cr_expect_str_eq(gr.gr_name, "alice");
	cr_expect_eq(nhi_nsscache_getpwnam(cache, "local-alice", &pw, buf, sizeof(buf)),
	             NHI_ERR_NOT_FOUND);
	nhi_nsscache_close(cache);
	nhi_config_free(cfg);
	nhi_identity_clear(&a);
	nhi_identity_clear(&pinned);
}

/* The broker's side: nhi_nss_expire() drops a retired account from the
 * cache once its quarantine has ended, and only then. */
static char *bdir;

static void broker_setup(void)
{
	cr_assert_eq(sodium_init() >= 0, true);
	bdir = test_mkdtemp();
}

static void broker_teardown(void)
{
	test_rmtree(bdir);
	free(bdir);
}

TestSuite(nss_expire, .init = broker_setup, .fini = broker_teardown);

static bool cache_has(struct nhi_broker *b, const char *name)
{
	char *path = nhi_broker_path(b, NHI_NSS_CACHE_NAME), buf[1024];
	struct nhi_nsscache *cache = NULL;
	struct passwd pw;
	int r;

	cr_assert_not_null(path);
	cr_assert_eq(nhi_nsscache_open(path, &cache), 0);
	r = nhi_nsscache_getpwnam(cache, name, &pw, buf, sizeof(buf));
	nhi_nsscache_close(cache);
	free(path);
	cr_assert(r == 0 || r == NHI_ERR_NOT_FOUND, "lookup: %s", nhi_strerror(r));
	return r == 0;
}

Test(nss_expire, rewrites_the_cache_when_a_quarantine_ends)
{
	struct nhi_broker_options o = {.state_dir = bdir, .no_syslog = true};
	struct nhi_broker *b = NULL;
	struct nhi_identity id;
	int64_t now = (int64_t)nhi_broker_now();
	char err[512];

	cr_assert_eq(nhi_broker_open(&o, &b, err, sizeof(err)), 0, "%s", err);
	b->cfg->uid_quarantine = 100;
	nhi_identity_init(&id);
	id.name = "gone";
	id.kind = NHI_KIND_SERVICE;
	id.uid = id.gid = 79990;
	cr_assert_eq(nhi_store_begin(b->store), 0);
	cr_assert_eq(nhi_store_identity_add(b->store, &id, NULL), 0);
	cr_assert_eq(nhi_store_identity_set_status(b->store, "gone", NHI_STATUS_RETIRED), 0);
	cr_assert_eq(nhi_store_commit(b->store), 0);
	cr_assert_eq(nhi_nss_export(b), 0);
	cr_expect(cache_has(b, "gone"), "resolves during its quarantine");
	cr_expect_geq(b->nss_expiry, now + 100);
	cr_expect_leq(b->nss_expiry, (int64_t)nhi_broker_now() + 100);
	cr_assert_eq(nhi_nss_expire(b, (uint64_t)b->nss_expiry - 1), 0);
	cr_expect(cache_has(b, "gone"), "still there a second before the end");
	cr_assert_eq(nhi_nss_expire(b, (uint64_t)b->nss_expiry), 0);
	cr_expect_not(cache_has(b, "gone"), "gone once the quarantine has ended");
	cr_expect_eq(b->nss_expiry, 0, "nothing left to expire");
	nhi_broker_close(b);
}

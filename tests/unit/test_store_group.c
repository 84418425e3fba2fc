/* broker/store_group.c: groups and memberships in the store; the gid a new
 * group gets (accounts.c); and what the NSS cache writer (nss_export.c)
 * makes of them, against crafted passwd and group files. */
#include <config.h>

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "accounts.h"
#include "accounts_fixture.h"
#include "conf.h"
#include "err.h"
#include "nss_export.h"
#include "nsscache.h"
#include "store.h"
#include "store_group.h"
#include "support.h"

static struct accounts_fixture fx;

static const char passwd_text[] = "root:x:0:0:root:/root:/bin/bash\n";
static const char group_text[] = "root:x:0:\n"
                                 "staff:x:6009:\n";

static void add_identity(const char *name, enum nhi_identity_kind kind, int64_t uid, int64_t gid)
{
	accounts_fixture_add(&fx, name, kind, uid, gid, NULL, NULL, NULL);
}

static void setup(void)
{
	accounts_fixture_open(&fx, passwd_text, group_text, 6000, 6009);
	add_identity("alice", NHI_KIND_HUMAN, 6000, 6000);
	add_identity("bob", NHI_KIND_AUTOMATION, 6001, 6001);
}

static void teardown(void)
{
	accounts_fixture_close(&fx);
}

TestSuite(store_group, .init = setup, .fini = teardown);

Test(store_group, add_get_and_unique_name_and_gid)
{
	struct nhi_store_group g;

	cr_assert_eq(nhi_store_group_add(fx.store, "ops", 6005, 1), 0);
	cr_expect_eq(nhi_store_group_add(fx.store, "ops", 6006, 1), NHI_ERR_EXISTS);
	cr_expect_eq(nhi_store_group_add(fx.store, "dev", 6005, 1), NHI_ERR_EXISTS);
	cr_expect_eq(nhi_store_group_add(fx.store, "dev", -1, 1), NHI_ERR_INVALID_ARGUMENT);
	cr_assert_eq(nhi_store_group_get(fx.store, "ops", &g), 0);
	cr_expect_str_eq(g.name, "ops");
	cr_expect_eq(g.gid, 6005);
	cr_expect_eq(g.n_members, 0);
	nhi_store_group_clear(&g);
	cr_expect_eq(nhi_store_group_get(fx.store, "nope", &g), NHI_ERR_NOT_FOUND);
}

Test(store_group, members_added_once_and_removed)
{
	struct nhi_store_group g;

	cr_assert_eq(nhi_store_group_add(fx.store, "ops", 6005, 1), 0);
	cr_assert_eq(nhi_store_group_member_add(fx.store, "ops", "bob"), 0);
	cr_assert_eq(nhi_store_group_member_add(fx.store, "ops", "alice"), 0);
	cr_expect_eq(nhi_store_group_member_add(fx.store, "ops", "alice"), NHI_ERR_EXISTS);
	cr_expect_eq(nhi_store_group_member_add(fx.store, "ops", "carol"), NHI_ERR_NOT_FOUND);
	cr_expect_eq(nhi_store_group_member_add(fx.store, "nope", "alice"), NHI_ERR_NOT_FOUND);
	cr_assert_eq(nhi_store_group_get(fx.store, "ops", &g), 0);
	cr_assert_eq(g.n_members, 2);
	cr_expect_str_eq(g.members[0], "alice", "members are sorted");
	cr_expect_str_eq(g.members[1], "bob");
	nhi_store_group_clear(&g);
	cr_assert_eq(nhi_store_group_member_remove(fx.store, "ops", "alice"), 0);
	cr_expect_eq(nhi_store_group_member_remove(fx.store, "ops", "alice"), NHI_ERR_NOT_FOUND);
	cr_assert_eq(nhi_store_group_get(fx.store, "ops", &g), 0);
	cr_assert_eq(g.n_members, 1);
	cr_expect_str_eq(g.members[0], "bob");
	nhi_store_group_clear(&g);
}

Test(store_group, changes_need_a_transaction)
{
	cr_assert_eq(nhi_store_rollback(fx.store), 0);
	cr_expect_eq(nhi_store_group_add(fx.store, "ops", 6005, 1), NHI_ERR_STORE_TRANSACTION);
	cr_assert_eq(nhi_store_begin(fx.store), 0);
}

Test(store_group, gid_from_the_top_of_the_range_avoiding_every_taken_gid)
{
	uint32_t gid = 0;

	/* 6009 is a local group's. */
	cr_assert_eq(nhi_accounts_group_gid(fx.store, &fx.params, NHI_ID_NONE, &gid), 0);
	cr_expect_eq(gid, 6008);
	cr_assert_eq(nhi_store_group_add(fx.store, "ops", gid, 1), 0);
	cr_assert_eq(nhi_accounts_group_gid(fx.store, &fx.params, NHI_ID_NONE, &gid), 0);
	cr_expect_eq(gid, 6007);
	/* Explicit gids: taken by a local group, a store group, an identity. */
	cr_expect_eq(nhi_accounts_group_gid(fx.store, &fx.params, 6009, &gid), NHI_ERR_EXISTS);
	cr_expect_eq(nhi_accounts_group_gid(fx.store, &fx.params, 6008, &gid), NHI_ERR_EXISTS);
	cr_expect_eq(nhi_accounts_group_gid(fx.store, &fx.params, 6001, &gid), NHI_ERR_EXISTS);
	cr_expect_eq(nhi_accounts_group_gid(fx.store, &fx.params, 4294967295LL, &gid),
	             NHI_ERR_INVALID_ARGUMENT);
	cr_assert_eq(nhi_accounts_group_gid(fx.store, &fx.params, 7000, &gid), 0);
	cr_expect_eq(gid, 7000, "an explicit gid may lie outside the range");
}

Test(store_group, range_exhaustion)
{
	uint32_t gid;
	char name[16];

	for (int i = 0; i < 7; i++) {
		snprintf(name, sizeof(name), "g%d", i);
		cr_assert_eq(nhi_accounts_group_gid(fx.store, &fx.params, NHI_ID_NONE, &gid), 0);
		cr_assert_eq(nhi_store_group_add(fx.store, name, gid, 1), 0);
	}
	cr_expect_eq(nhi_accounts_group_gid(fx.store, &fx.params, NHI_ID_NONE, &gid),
	             NHI_ERR_ID_RANGE_EXHAUSTED);
}

Test(store_group, export_has_groups_members_and_one_private_group_per_gid)
{
	struct nhi_config *cfg = NULL;
	struct nhi_nsscache *cache = NULL;
	struct group gr;
	char buf[1024];
	size_t cursor = 0;
	uint32_t gid;
	int r;

	/* carol shares bob's primary gid: bob's private group stays bob's. */
	add_identity("carol", NHI_KIND_SERVICE, 6002, 6001);
	add_identity("bg", NHI_KIND_BREAKGLASS, NHI_ID_NONE, NHI_ID_NONE);
	cr_assert_eq(nhi_store_group_add(fx.store, "ops", 6005, 1), 0);
	cr_assert_eq(nhi_store_group_member_add(fx.store, "ops", "carol"), 0);
	cr_assert_eq(nhi_store_group_member_add(fx.store, "ops", "alice"), 0);
	cr_assert_eq(nhi_store_group_member_add(fx.store, "ops", "bg"), 0);
	/* A store group named like a local one is left out. */
	cr_assert_eq(nhi_store_group_add(fx.store, "staff", 6006, 1), 0);
	cr_assert_eq(nhi_config_defaults(&cfg), 0);
	r = nhi_nss_export_to(fx.store, cfg, &fx.params, fx.cache_path);
	cr_assert_eq(r, 0, "export: %s", nhi_strerror(r));
	cr_assert_eq(nhi_nsscache_open(fx.cache_path, &cache), 0);
	cr_expect_eq(nhi_nsscache_user_count(cache), 3);
	cr_expect_eq(nhi_nsscache_group_count(cache), 3, "ops, alice, bob");
	cr_assert_eq(nhi_nsscache_getgrnam(cache, "ops", &gr, buf, sizeof(buf)), 0);
	cr_expect_eq(gr.gr_gid, 6005);
	cr_assert_not_null(gr.gr_mem[0]);
	cr_expect_str_eq(gr.gr_mem[0], "alice");
	cr_assert_not_null(gr.gr_mem[1]);
	cr_expect_str_eq(gr.gr_mem[1], "carol");
	cr_expect_null(gr.gr_mem[2], "a member without a unix account is left out");
	cr_assert_eq(nhi_nsscache_getgrgid(cache, 6001, &gr, buf, sizeof(buf)), 0);
	cr_expect_str_eq(gr.gr_name, "bob");
	cr_expect_eq(nhi_nsscache_getgrnam(cache, "carol", &gr, buf, sizeof(buf)),
	             NHI_ERR_NOT_FOUND);
	cr_expect_eq(nhi_nsscache_getgrnam(cache, "staff", &gr, buf, sizeof(buf)),
	             NHI_ERR_NOT_FOUND);
	cr_assert_eq(nhi_nsscache_next_group_of(cache, "carol", &cursor, &gid), 0);
	cr_expect_eq(gid, 6005, "initgroups finds carol's store group");
	nhi_nsscache_close(cache);
	nhi_config_free(cfg);
}

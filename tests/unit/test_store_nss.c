/* broker/store_nss.c: the one-pass read of the identities for the NSS
 * cache; and what the cache writer (nss_export.c) makes of orders and
 * memberships that its fast paths must not get wrong. */
#include <config.h>

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accounts.h"
#include "accounts_fixture.h"
#include "conf.h"
#include "err.h"
#include "nss_export.h"
#include "nsscache.h"
#include "store.h"
#include "store_account.h"
#include "store_group.h"
#include "store_nss.h"
#include "support.h"

static struct accounts_fixture fx;
static struct nhi_store_nss_accounts list;

static const char passwd_text[] = "root:x:0:0:root:/root:/bin/bash\n";
static const char group_text[] = "root:x:0:\n";

static void add_full(const char *name, enum nhi_identity_kind kind, int64_t uid, int64_t gid,
                     const char *gecos, const char *home, const char *shell)
{
	accounts_fixture_add(&fx, name, kind, uid, gid, gecos, home, shell);
}

static void add_identity(const char *name, int64_t uid, int64_t gid)
{
	add_full(name, NHI_KIND_SERVICE, uid, gid, NULL, NULL, NULL);
}

static void setup(void)
{
	accounts_fixture_open(&fx, passwd_text, group_text, 6000, 6999);
}

static void teardown(void)
{
	nhi_store_nss_accounts_clear(&list);
	accounts_fixture_close(&fx);
}

TestSuite(store_nss, .init = setup, .fini = teardown);

Test(store_nss, empty_store_is_empty)
{
	cr_assert_eq(nhi_store_nss_accounts(fx.store, &list), 0);
	cr_expect_eq(list.n, 0);
	nhi_store_nss_accounts_clear(&list);
	nhi_store_nss_accounts_clear(NULL);
	cr_expect_eq(nhi_store_nss_accounts(NULL, &list), NHI_ERR_INVALID_ARGUMENT);
}

Test(store_nss, rows_by_name_with_unset_fields_null)
{
	add_full("zed", NHI_KIND_HUMAN, 6002, 6002, "Zed Z", "/srv/zed", "/bin/zsh");
	add_identity("amy", 6001, NHI_ID_NONE);
	add_full("bg", NHI_KIND_BREAKGLASS, NHI_ID_NONE, NHI_ID_NONE, NULL, NULL, NULL);
	cr_assert_eq(nhi_store_identity_set_status(fx.store, "amy", NHI_STATUS_RETIRED), 0);

	cr_assert_eq(nhi_store_nss_accounts(fx.store, &list), 0);
	cr_assert_eq(list.n, 3);
	cr_expect_str_eq(list.v[0].name, "amy");
	cr_expect_str_eq(list.v[1].name, "bg");
	cr_expect_str_eq(list.v[2].name, "zed");
	cr_expect_eq(list.v[0].uid, 6001);
	cr_expect_eq(list.v[0].gid, NHI_ID_NONE);
	cr_expect_eq(list.v[0].status, NHI_STATUS_RETIRED);
	cr_expect_gt(list.v[0].updated, 0, "a retirement is dated");
	cr_expect_null(list.v[0].gecos);
	cr_expect_null(list.v[0].home);
	cr_expect_null(list.v[0].shell);
	cr_expect_eq(list.v[1].kind, NHI_KIND_BREAKGLASS);
	cr_expect_eq(list.v[1].uid, NHI_ID_NONE);
	cr_expect_eq(list.v[2].kind, NHI_KIND_HUMAN);
	cr_expect_str_eq(list.v[2].gecos, "Zed Z");
	cr_expect_str_eq(list.v[2].home, "/srv/zed");
	cr_expect_str_eq(list.v[2].shell, "/bin/zsh");
}

/* Enough text for several string blocks, and one string larger than a
 * block: every string must still read back whole. */
Test(store_nss, strings_survive_across_blocks)
{
	enum { N = 2000 };
	size_t big_len = 100000;
	char *big = malloc(big_len + 1);
	char name[16], gecos[256];

	cr_assert_not_null(big);
	memset(big, 'g', big_len);
	big[big_len] = '\0';
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "s%05d", i);
		snprintf(gecos, sizeof(gecos), "%0200d", i);
		add_full(name, NHI_KIND_SERVICE, 10000 + i, NHI_ID_NONE, gecos, NULL, "/bin/sh");
	}
	add_full("s01000x", NHI_KIND_SERVICE, 9000, NHI_ID_NONE, big, NULL, NULL);

	cr_assert_eq(nhi_store_nss_accounts(fx.store, &list), 0);
	cr_assert_eq(list.n, N + 1);
	for (size_t i = 0, k = 0; i < list.n; i++) {
		if (strcmp(list.v[i].name, "s01000x") == 0) {
			cr_expect_eq(strlen(list.v[i].gecos), big_len);
			cr_expect_eq(list.v[i].gecos[big_len - 1], 'g');
			continue;
		}
		snprintf(name, sizeof(name), "s%05zu", k);
		snprintf(gecos, sizeof(gecos), "%0200zu", k);
		cr_expect_str_eq(list.v[i].name, name);
		cr_expect_str_eq(list.v[i].gecos, gecos);
		cr_expect_str_eq(list.v[i].shell, "/bin/sh");
		k++;
	}
	free(big);
}

static struct nhi_nsscache *export_open(void)
{
	struct nhi_config *cfg = NULL;
	struct nhi_nsscache *cache = NULL;
	int r;

	cr_assert_eq(nhi_config_defaults(&cfg), 0);
	r = nhi_nss_export_to(fx.store, cfg, &fx.params, fx.cache_path);
	cr_assert_eq(r, 0, "export: %s", nhi_strerror(r));
	cr_assert_eq(nhi_nsscache_open(fx.cache_path, &cache), 0);
	nhi_config_free(cfg);
	return cache;
}

/* Gids out of order by name take the sorting path: the first user by
 * name of a shared gid still owns its private group, also when another
 * user's gid comes between them. */
Test(store_nss, private_groups_when_gids_are_out_of_order)
{
	struct nhi_nsscache *cache;
	struct group gr;
	char buf[512];

	add_identity("a1", 6003, 6002);
	add_identity("a2", 6002, 6003);
	add_identity("a3", 6001, 6002);
	cache = export_open();
	cr_expect_eq(nhi_nsscache_user_count(cache), 3);
	cr_expect_eq(nhi_nsscache_group_count(cache), 2, "a1 and a2: a3 shares a1's gid");
	cr_assert_eq(nhi_nsscache_getgrgid(cache, 6002, &gr, buf, sizeof(buf)), 0);
	cr_expect_str_eq(gr.gr_name, "a1");
	cr_assert_eq(nhi_nsscache_getgrgid(cache, 6003, &gr, buf, sizeof(buf)), 0);
	cr_expect_str_eq(gr.gr_name, "a2");
	cr_expect_eq(nhi_nsscache_getgrnam(cache, "a3", &gr, buf, sizeof(buf)), NHI_ERR_NOT_FOUND);
	nhi_nsscache_close(cache);
}

/* The same with gids rising: the path that skips the sort. */
Test(store_nss, private_groups_when_gids_rise_with_names)
{
	struct nhi_nsscache *cache;
	struct group gr;
	char buf[512];

	add_identity("b1", 6001, 6001);
	add_identity("b2", 6002, 6001);
	add_identity("b3", 6003, 6003);
	cache = export_open();
	cr_expect_eq(nhi_nsscache_group_count(cache), 2);
	cr_assert_eq(nhi_nsscache_getgrgid(cache, 6001, &gr, buf, sizeof(buf)), 0);
	cr_expect_str_eq(gr.gr_name, "b1");
	cr_expect_eq(nhi_nsscache_getgrnam(cache, "b2", &gr, buf, sizeof(buf)), NHI_ERR_NOT_FOUND);
	nhi_nsscache_close(cache);
}

Test(store_nss, members_an_empty_group_and_an_identity_in_none)
{
	struct nhi_nsscache *cache;
	struct group gr;
	char buf[512];
	size_t cursor = 0;
	uint32_t gid;

	add_identity("carol", 6001, 6001);
	add_identity("dave", 6002, 6002);
	add_identity("erin", 6003, 6003);
	cr_assert_eq(nhi_store_group_add(fx.store, "empty", 6100, 1), 0);
	cr_assert_eq(nhi_store_group_add(fx.store, "ops", 6101, 1), 0);
	cr_assert_eq(nhi_store_group_member_add(fx.store, "ops", "erin"), 0);
	cr_assert_eq(nhi_store_group_member_add(fx.store, "ops", "carol"), 0);
	/* A group named like a user takes the name from its private group. */
	cr_assert_eq(nhi_store_group_add(fx.store, "dave", 6102, 1), 0);
	cache = export_open();
	cr_expect_eq(nhi_nsscache_group_count(cache), 5, "empty, ops, dave, carol, erin");
	cr_assert_eq(nhi_nsscache_getgrnam(cache, "empty", &gr, buf, sizeof(buf)), 0);
	cr_expect_eq(gr.gr_gid, 6100);
	cr_expect_null(gr.gr_mem[0]);
	cr_assert_eq(nhi_nsscache_getgrnam(cache, "ops", &gr, buf, sizeof(buf)), 0);
	cr_assert_not_null(gr.gr_mem[0]);
	cr_expect_str_eq(gr.gr_mem[0], "carol", "members sorted by name");
	cr_assert_not_null(gr.gr_mem[1]);
	cr_expect_str_eq(gr.gr_mem[1], "erin");
	cr_expect_null(gr.gr_mem[2]);
	cr_assert_eq(nhi_nsscache_getgrnam(cache, "dave", &gr, buf, sizeof(buf)), 0);
	cr_expect_eq(gr.gr_gid, 6102, "the store group, not dave's private one");
	cr_expect_eq(nhi_nsscache_getgrgid(cache, 6002, &gr, buf, sizeof(buf)), NHI_ERR_NOT_FOUND);
	cr_expect_eq(nhi_nsscache_next_group_of(cache, "dave", &cursor, &gid), NHI_ERR_NOT_FOUND,
	             "dave is in no group");
	nhi_nsscache_close(cache);
}

/* Each rewrite's generation is above the last, also when the clock says
 * otherwise (the old file's header is read for it). */
Test(store_nss, generation_grows_past_a_future_one)
{
	struct nhi_nsscache *cache;
	uint64_t future = (uint64_t)4000000000 * 1000000u;

	add_identity("fred", 6001, 6001);
	cr_assert_eq(nhi_nsscache_write(fx.cache_path, future, NULL, 0, NULL, 0), 0);
	cache = export_open();
	cr_expect_eq(nhi_nsscache_generation(cache), future + 1);
	cr_expect_eq(nhi_nsscache_user_count(cache), 1);
	nhi_nsscache_close(cache);
}

/* Members by membership and by a role of the group's name, each listed
 * once and sorted, whatever order they were added in; groups in name
 * order, an empty one with none. */
Test(store_nss, groups_members_by_membership_and_role_once_and_sorted)
{
	struct nhi_store_nss_groups g = {0};

	add_identity("zoe", 6001, 6001);
	add_identity("yan", 6002, 6002);
	add_identity("xia", 6003, 6003);
	add_identity("wes", 6004, 6004);
	cr_assert_eq(nhi_store_group_add(fx.store, "web", 6101, 1), 0);
	cr_assert_eq(nhi_store_group_add(fx.store, "db", 6100, 1), 0);
	cr_assert_eq(nhi_store_group_add(fx.store, "none", 6102, 1), 0);
	cr_assert_eq(nhi_store_group_member_add(fx.store, "web", "zoe"), 0);
	cr_assert_eq(nhi_store_group_member_add(fx.store, "web", "xia"), 0);
	cr_assert_eq(nhi_store_role_add(fx.store, "xia", "web"), 0);
	cr_assert_eq(nhi_store_role_add(fx.store, "yan", "web"), 0);
	cr_assert_eq(nhi_store_role_add(fx.store, "wes", "db"), 0);
	cr_assert_eq(nhi_store_role_add(fx.store, "wes", "not-a-group"), 0);

	cr_assert_eq(nhi_store_nss_groups(fx.store, &g), 0);
	cr_assert_eq(g.n, 3);
	cr_expect_str_eq(g.v[0].name, "db");
	cr_expect_eq(g.v[0].gid, 6100);
	cr_assert_eq(g.v[0].n_members, 1);
	cr_expect_str_eq(g.v[0].members[0], "wes");
	cr_expect_str_eq(g.v[1].name, "none");
	cr_expect_eq(g.v[1].n_members, 0);
	cr_expect_str_eq(g.v[2].name, "web");
	cr_assert_eq(g.v[2].n_members, 3, "xia is a member and has the role: once");
	cr_expect_str_eq(g.v[2].members[0], "xia");
	cr_expect_str_eq(g.v[2].members[1], "yan");
	cr_expect_str_eq(g.v[2].members[2], "zoe");
	nhi_store_nss_groups_clear(&g);
	nhi_store_nss_groups_clear(NULL);

	/* The same as the per-group read it replaces. */
	struct nhi_store_group *old = NULL;
	size_t n_old = 0;
	cr_assert_eq(nhi_store_nss_groups(fx.store, &g), 0);
	cr_assert_eq(nhi_store_group_list_all(fx.store, &old, &n_old), 0);
	cr_assert_eq(n_old, g.n);
	for (size_t i = 0; i < n_old; i++) {
		cr_expect_str_eq(old[i].name, g.v[i].name);
		cr_expect_eq(old[i].gid, g.v[i].gid);
		cr_assert_eq(old[i].n_members, g.v[i].n_members, "%s", old[i].name);
		for (size_t j = 0; j < old[i].n_members; j++)
			cr_expect_str_eq(old[i].members[j], g.v[i].members[j]);
	}
	nhi_store_group_list_free(old, n_old);
	nhi_store_nss_groups_clear(&g);
}

Test(store_nss, no_groups)
{
	struct nhi_store_nss_groups g = {0};

	add_identity("solo", 6001, 6001);
	cr_assert_eq(nhi_store_nss_groups(fx.store, &g), 0);
	cr_expect_eq(g.n, 0);
	nhi_store_nss_groups_clear(&g);
	cr_expect_eq(nhi_store_nss_groups(NULL, &g), NHI_ERR_INVALID_ARGUMENT);
}

/* Names longer than the 8-byte prefix, equal in it, and one a prefix of
 * another: the prefix orders as strcmp does, and ties fall back to it. */
Test(store_nss, name_prefix_orders_as_strcmp)
{
	static const char *const names[] = {
	        "a", "ab", "abc", "longname", "longname-a", "longname-b", "longnamf", "z_", "z_$"};
	size_t n = sizeof(names) / sizeof(names[0]);

	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < n; j++) {
			uint64_t x = nhi_store_nss_name_prefix(names[i]);
			uint64_t y = nhi_store_nss_name_prefix(names[j]);
			int c = strcmp(names[i], names[j]);

			if (c < 0)
				cr_expect_leq(x, y, "%s, %s", names[i], names[j]);
			else if (c > 0)
				cr_expect_geq(x, y, "%s, %s", names[i], names[j]);
			else
				cr_expect_eq(x, y);
		}
	cr_expect_eq(nhi_store_nss_name_prefix("longname-a"),
	             nhi_store_nss_name_prefix("longname-b"));
}

Test(store_nss, members_equal_in_their_prefix_sorted_and_exported)
{
	struct nhi_nsscache *cache;
	struct group gr;
	char buf[512];

	add_identity("longname-c", 6001, 6001);
	add_identity("longname-a", 6002, 6002);
	add_identity("longname-b", 6003, 6003);
	add_identity("longname", 6004, 6004);
	cr_assert_eq(nhi_store_group_add(fx.store, "team", 6100, 1), 0);
	cr_assert_eq(nhi_store_role_add(fx.store, "longname-c", "team"), 0);
	cr_assert_eq(nhi_store_group_member_add(fx.store, "team", "longname-b"), 0);
	cr_assert_eq(nhi_store_role_add(fx.store, "longname-b", "team"), 0);
	cr_assert_eq(nhi_store_group_member_add(fx.store, "team", "longname"), 0);
	cr_assert_eq(nhi_store_role_add(fx.store, "longname-a", "team"), 0);
	cache = export_open();
	cr_assert_eq(nhi_nsscache_getgrnam(cache, "team", &gr, buf, sizeof(buf)), 0);
	cr_assert_not_null(gr.gr_mem[3]);
	cr_expect_str_eq(gr.gr_mem[0], "longname");
	cr_expect_str_eq(gr.gr_mem[1], "longname-a");
	cr_expect_str_eq(gr.gr_mem[2], "longname-b");
	cr_expect_str_eq(gr.gr_mem[3], "longname-c");
	cr_expect_null(gr.gr_mem[4]);
	nhi_nsscache_close(cache);
}

/* broker/store_grant.c: the life of a grant in the store, and which grant
 * counts at a given moment. */
#include <config.h>

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "store.h"
#include "store_grant.h"
#include "support.h"

static char *dir, *db_path;
static struct nhi_store *s;

static void setup(void)
{
	struct nhi_identity id;
	int r;

	dir = test_mkdtemp();
	db_path = test_path(dir, "nhi.db");
	cr_assert_eq(r = nhi_store_open(db_path, &s), 0, "open: %s", nhi_strerror(r));
	nhi_identity_init(&id);
	id.name = "alice";
	id.kind = NHI_KIND_HUMAN;
	id.uid = 70001;
	cr_assert_eq(nhi_store_identity_add(s, &id, NULL), 0);
}

static void teardown(void)
{
	nhi_store_close(s);
	test_rmtree(dir);
	free(db_path);
	free(dir);
}

static int64_t add(const char *role, enum nhi_grant_state state, int64_t created, int64_t expires)
{
	struct nhi_grant g = {
	        .identity = "alice",
	        .role = (char *)role,
	        .reason = "because",
	        .state = state,
	        .ttl = 600,
	        .created = created,
	        .expires = expires,
	};
	int64_t id = 0;

	cr_assert_eq(nhi_store_grant_add(s, &g, &id), 0);
	cr_assert_gt(id, 0);
	return id;
}

TestSuite(store_grant, .init = setup, .fini = teardown);

Test(store_grant, active_until_expiry_only)
{
	struct nhi_grant g = {0};
	int64_t id = add("ops", NHI_GRANT_ACTIVE, 1000, 1600);

	cr_assert_eq(nhi_store_grant_find_active(s, "alice", NULL, 1599, &g), 0);
	cr_assert_eq(g.id, id);
	cr_assert_str_eq(g.role, "ops");
	cr_assert_str_eq(g.reason, "because");
	cr_assert_eq(g.expires, 1600);
	nhi_grant_clear(&g);
	cr_assert_eq(nhi_store_grant_find_active(s, "alice", NULL, 1600, &g), NHI_ERR_NOT_FOUND);
	cr_assert_eq(nhi_store_grant_find_active(s, "alice", "db", 1500, &g), NHI_ERR_NOT_FOUND);
	cr_assert_eq(nhi_store_grant_find_active(s, "bob", NULL, 1500, &g), NHI_ERR_NOT_FOUND);
}

Test(store_grant, pending_counts_only_once_approved)
{
	struct nhi_grant g = {0};
	int64_t id = add("ops", NHI_GRANT_PENDING, 1000, 0);

	cr_assert_eq(nhi_store_grant_find_active(s, "alice", NULL, 1001, &g), NHI_ERR_NOT_FOUND);
	/* Only a pending grant can be approved; a second decision fails. */
	cr_assert_eq(nhi_store_grant_decide(s, id, NHI_GRANT_PENDING, NHI_GRANT_ACTIVE, "root",
	                                    1100, 1700),
	             0);
	cr_assert_eq(
	        nhi_store_grant_decide(s, id, NHI_GRANT_PENDING, NHI_GRANT_DENIED, "root", 1100, 0),
	        NHI_ERR_NOT_FOUND);
	cr_assert_eq(nhi_store_grant_find_active(s, "alice", "ops", 1200, &g), 0);
	cr_assert_eq(g.expires, 1700);
	cr_assert_str_eq(g.decided_by, "root");
	nhi_grant_clear(&g);
	cr_assert_eq(
	        nhi_store_grant_decide(s, id, NHI_GRANT_ACTIVE, NHI_GRANT_REVOKED, "root", 1300, 0),
	        0);
	cr_assert_eq(nhi_store_grant_find_active(s, "alice", NULL, 1301, &g), NHI_ERR_NOT_FOUND);
	cr_assert_eq(nhi_store_grant_get(s, id, &g), 0);
	cr_assert_eq(g.state, NHI_GRANT_REVOKED);
	cr_assert_eq(g.revoked_at, 1300);
	cr_assert_eq(g.expires, 1700);
	nhi_grant_clear(&g);
}

Test(store_grant, denied_never_counts_and_list_is_newest_first)
{
	struct nhi_grant g = {0}, *list = NULL;
	size_t n = 0;
	int64_t a = add("ops", NHI_GRANT_PENDING, 1000, 0);
	int64_t b = add("db", NHI_GRANT_ACTIVE, 1001, 5000);

	cr_assert_eq(
	        nhi_store_grant_decide(s, a, NHI_GRANT_PENDING, NHI_GRANT_DENIED, "root", 1002, 0),
	        0);
	cr_assert_eq(nhi_store_grant_find_active(s, "alice", "ops", 1003, &g), NHI_ERR_NOT_FOUND);
	cr_assert_eq(nhi_store_grant_page(s, NULL, 0, 0, 10, &list, &n), 0);
	cr_assert_eq(n, 2);
	cr_assert_eq(list[0].id, b);
	cr_assert_eq(list[1].id, a);
	cr_assert_eq(list[1].state, NHI_GRANT_DENIED);
	nhi_grant_list_free(list, n);
	cr_assert_eq(nhi_store_grant_page(s, "bob", 0, 0, 10, &list, &n), 0);
	cr_assert_eq(n, 0);
	nhi_grant_list_free(list, n);
}

Test(store_grant, bad_input)
{
	struct nhi_grant g = {
	        .identity = "nobody", .role = "ops", .reason = "x", .state = NHI_GRANT_ACTIVE};

	cr_assert_eq(nhi_store_grant_add(s, &g, NULL), NHI_ERR_NOT_FOUND);
	g.identity = "alice";
	g.state = NHI_GRANT_REVOKED;
	cr_assert_eq(nhi_store_grant_add(s, &g, NULL), NHI_ERR_INVALID_ARGUMENT);
	cr_assert_eq(nhi_store_grant_get(s, 42, &g), NHI_ERR_NOT_FOUND);
	cr_assert_eq(
	        nhi_store_grant_decide(s, 42, NHI_GRANT_PENDING, NHI_GRANT_ACTIVE, "root", 1, 2),
	        NHI_ERR_NOT_FOUND);
	cr_assert_str_eq(nhi_grant_state_name((enum nhi_grant_state)99), "unknown");
}

/* Walks every page of limit grants, newest first, into ids (at most max);
 * each page must start below the last id of the one before. */
static size_t walk_pages(const char *identity, int64_t active_at, size_t limit, int64_t *ids,
                         size_t max)
{
	size_t total = 0;
	int64_t before = 0;

	for (;;) {
		struct nhi_grant *list = NULL;
		size_t n = 0;

		cr_assert_eq(nhi_store_grant_page(s, identity, active_at, before, limit, &list, &n),
		             0);
		cr_assert_leq(n, limit);
		for (size_t i = 0; i < n; i++) {
			cr_assert_lt(total, max);
			ids[total++] = list[i].id;
			before = list[i].id;
		}
		nhi_grant_list_free(list, n);
		if (n == 0)
			return total;
	}
}

Test(store_grant, pages_cover_every_grant_once_newest_first)
{
	struct nhi_identity bob;
	struct nhi_grant g = {.role = "ops", .reason = "paged", .ttl = 600};
	int64_t want_all[40], want_bob[40], want_active[40], got[40], id;
	size_t n_all = 0, n_bob = 0, n_active = 0;
	struct nhi_grant *list = NULL;
	size_t n = 0;

	/* An empty table is one empty page. */
	cr_assert_eq(walk_pages(NULL, 0, 5, got, 40), 0);
	nhi_identity_init(&bob);
	bob.name = "bob";
	bob.kind = NHI_KIND_HUMAN;
	cr_assert_eq(nhi_store_identity_add(s, &bob, NULL), 0);
	for (int i = 0; i < 23; i++) {
		g.identity = i % 3 == 0 ? "bob" : "alice";
		g.state = i % 4 == 2 ? NHI_GRANT_PENDING : NHI_GRANT_ACTIVE;
		g.created = 1000 + i;
		g.expires = g.state == NHI_GRANT_PENDING ? 0 : i % 2 ? 1200 : 2000;
		cr_assert_eq(nhi_store_grant_add(s, &g, &id), 0);
		/* Newest first: each id goes in front. */
		memmove(want_all + 1, want_all, n_all++ * sizeof(*want_all));
		want_all[0] = id;
		if (i % 3 == 0) {
			memmove(want_bob + 1, want_bob, n_bob++ * sizeof(*want_bob));
			want_bob[0] = id;
		}
		if (g.state == NHI_GRANT_ACTIVE && g.expires > 1500) {
			memmove(want_active + 1, want_active, n_active++ * sizeof(*want_active));
			want_active[0] = id;
		}
	}
	for (size_t limit = 1; limit <= 24; limit += 4) {
		cr_assert_eq(walk_pages(NULL, 0, limit, got, 40), n_all);
		cr_assert_arr_eq(got, want_all, n_all * sizeof(*got));
		cr_assert_eq(walk_pages("bob", 0, limit, got, 40), n_bob);
		cr_assert_arr_eq(got, want_bob, n_bob * sizeof(*got));
		cr_assert_eq(walk_pages(NULL, 1500, limit, got, 40), n_active);
		cr_assert_arr_eq(got, want_active, n_active * sizeof(*got));
	}
	cr_assert_eq(walk_pages("carol", 0, 5, got, 40), 0);
	/* Below the oldest: nothing; above the newest: from the newest. */
	cr_assert_eq(nhi_store_grant_page(s, NULL, 0, want_all[n_all - 1], 5, &list, &n), 0);
	cr_assert_eq(n, 0);
	nhi_grant_list_free(list, n);
	cr_assert_eq(nhi_store_grant_page(s, NULL, 0, want_all[0] + 100, 5, &list, &n), 0);
	cr_assert_eq(n, 5);
	cr_assert_eq(list[0].id, want_all[0]);
	cr_assert_str_eq(list[0].reason, "paged");
	nhi_grant_list_free(list, n);
	cr_assert_eq(nhi_store_grant_page(s, NULL, 0, 0, 0, &list, &n), NHI_ERR_INVALID_ARGUMENT);
}

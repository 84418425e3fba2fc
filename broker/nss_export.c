/* The NSS cache writer: see nss_export.h. */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "broker.h"
#include "err.h"
#include "log.h"
#include "nss_export.h"
#include "nsscache.h"
#include "store_account.h"
#include "store_nss.h"

struct export
{
	struct nhi_nss_user *users;
	struct nhi_nss_group *groups;
	size_t n_users, n_groups;
	char **strings; /* homes built from home_base, freed at the end */
	size_t n_strings;
};

static void export_clear(struct export *e)
{
	free(e->users);
	for (size_t i = 0; i < e->n_groups; i++)
		free((void *)e->groups[i].members);
	free(e->groups);
	nhi_strv_free(e->strings, e->n_strings);
}

static int cmp_str_ptr(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A name with its prefix (nhi_store_nss_name_prefix), for the searches
 * that run once per group member. */
struct name_key {
	uint64_t prefix;
	const char *name;
};

static int cmp_name_key(const void *a, const void *b)
{
	const struct name_key *x = a, *y = b;

	if (x->prefix != y->prefix)
		return (x->prefix > y->prefix) - (x->prefix < y->prefix);
	return strcmp(x->name, y->name);
}

/* The exported users' names, sorted, so that member lists are filtered in
 * O(log n) per member: at 100 000 accounts a linear scan per member and
 * per group made the rewrite quadratic. The store hands the users over
 * ordered by name already; the sort is for any other order. */
static int user_names_sorted(const struct export *e, struct name_key **ret)
{
	struct name_key *v = calloc(e->n_users + 1, sizeof(*v));
	bool sorted = true;

	if (v == NULL)
		return NHI_ERR_ALLOC;
	for (size_t i = 0; i < e->n_users; i++) {
		v[i].name = e->users[i].name;
		v[i].prefix = nhi_store_nss_name_prefix(v[i].name);
		if (i > 0 && sorted && cmp_name_key(&v[i - 1], &v[i]) > 0)
			sorted = false;
	}
	if (!sorted)
		qsort(v, e->n_users, sizeof(*v), cmp_name_key);
	*ret = v;
	return 0;
}

static bool names_have(const char *const *v, size_t n, const char *name)
{
	return n > 0 && bsearch(&name, v, n, sizeof(*v), cmp_str_ptr) != NULL;
}

static bool user_names_have(const struct name_key *v, size_t n, const char *name)
{
	struct name_key key = {nhi_store_nss_name_prefix(name), name};

	return n > 0 && bsearch(&key, v, n, sizeof(*v), cmp_name_key) != NULL;
}

/* The store's groups with a gid, members limited to exported users. */
static int add_store_groups(struct export *e, const struct nhi_local_accounts *l,
                            const struct nhi_store_group *g, size_t n)
{
	struct name_key *users = NULL;
	int r;

	/* The store keeps group names and gids unique: only clashes with the
	 * local files are left to check. */
	if ((r = user_names_sorted(e, &users)) < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		struct nhi_nss_group *out;
		const char **members;
		size_t k = 0;

		if (g[i].gid < 0 || g[i].gid > UINT32_MAX)
			continue;
		if (nhi_local_has_group(l, g[i].name) ||
		    nhi_id_set_has(&l->gids, (uint32_t)g[i].gid)) {
			nhi_log_warning(
			        "group '%s' (gid %lld) clashes with a local group: left out of "
			        "the NSS cache",
			        g[i].name, (long long)g[i].gid);
			continue;
		}
		if ((members = calloc(g[i].n_members + 1, sizeof(*members))) == NULL) {
			r = NHI_ERR_ALLOC;
			goto out;
		}
		for (size_t j = 0; j < g[i].n_members; j++)
			if (user_names_have(users, e->n_users, g[i].members[j]))
				members[k++] = g[i].members[j];
		out = &e->groups[e->n_groups++];
		out->name = g[i].name;
		out->gid = (uint32_t)g[i].gid;
		out->members = members;
		out->n_members = k;
	}
out:
	free(users);
	return r;
}

/* Users by gid, then by position: the first user of each gid owns its
 * private group. */
static int cmp_user_gid(const void *a, const void *b, void *users)
{
	const struct nhi_nss_user *u = users;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	uint32_t gx = u[x].gid, gy = u[y].gid;

	return gx != gy ? (gx > gy) - (gx < gy) : (x > y) - (x < y);
}

/* Each user's private primary group, unless a store or local group already
 * owns that gid or name, or an earlier user's private group has the gid. */
static int add_private_groups(struct export *e, const struct nhi_local_accounts *l)
{
	struct nhi_id_set gids = {0};
	const char **names = calloc(e->n_groups + 1, sizeof(*names));
	size_t *order = calloc(e->n_users + 1, sizeof(*order));
	bool *later = calloc(e->n_users + 1, sizeof(*later));
	size_t n_store = e->n_groups;
	bool sorted = true;
	int r = 0;

	if (names == NULL || order == NULL || later == NULL) {
		r = NHI_ERR_ALLOC;
		goto out;
	}
	for (size_t i = 0; i < n_store && r == 0; i++) {
		names[i] = e->groups[i].name;
		r = nhi_id_set_add(&gids, e->groups[i].gid);
	}
	if (r < 0)
		goto out;
	nhi_id_set_sort(&gids);
	if (n_store > 1)
		qsort(names, n_store, sizeof(*names), cmp_str_ptr);
	/* Users whose gids already grow with their position (as when each
	 * has its own, handed out in name order) need no sort. */
	for (size_t i = 0; i < e->n_users; i++) {
		order[i] = i;
		if (i > 0 && sorted && e->users[i - 1].gid > e->users[i].gid)
			sorted = false;
	}
	if (!sorted)
		qsort_r(order, e->n_users, sizeof(*order), cmp_user_gid, e->users);
	for (size_t i = 1; i < e->n_users; i++)
		if (e->users[order[i]].gid == e->users[order[i - 1]].gid)
			later[order[i]] = true;
	for (size_t i = 0; i < e->n_users; i++) {
		const struct nhi_nss_user *u = &e->users[i];
		struct nhi_nss_group *g;

		if (later[i] || nhi_id_set_has(&gids, u->gid) ||
		    names_have(names, n_store, u->name) || nhi_local_has_group(l, u->name) ||
		    nhi_id_set_has(&l->gids, u->gid))
			continue;
		g = &e->groups[e->n_groups];
		if ((g->members = calloc(1, sizeof(char *))) == NULL) {
			r = NHI_ERR_ALLOC;
			goto out;
		}
		e->n_groups++;
		g->name = u->name;
		g->gid = u->gid;
		g->n_members = 0;
	}
out:
	free(names);
	free(order);
	free(later);
	nhi_id_set_clear(&gids);
	return r;
}

/* What a rewrite wrote, for the log and the quarantine check. */
struct export_result {
	size_t n_users, n_groups;
	int64_t next_expiry; /* when the next retired account stops resolving; 0: none */
};

static int build(struct nhi_store *s, const struct nhi_config *cfg,
                 const struct nhi_account_params *p, const char *path, struct export_result *ret)
{
	struct export e = {0};
	struct nhi_local_accounts l = {0};
	struct nhi_store_nss_accounts ids = {0};
	struct nhi_store_nss_groups groups = {0};
	size_t n_ids, i;
	uint64_t generation = 0, old_generation;
	struct timeval tv;
	int r;

	if ((r = nhi_local_accounts_read(p->passwd_path, p->group_path, &l)) < 0 ||
	    (r = nhi_store_nss_accounts(s, &ids)) < 0 || (r = nhi_store_nss_groups(s, &groups)) < 0)
		goto out;
	n_ids = ids.n;
	e.users = calloc(n_ids + 1, sizeof(*e.users));
	e.groups = calloc(n_ids + groups.n + 1, sizeof(*e.groups));
	e.strings = calloc(n_ids + 1, sizeof(*e.strings));
	if (e.users == NULL || e.groups == NULL || e.strings == NULL) {
		r = NHI_ERR_ALLOC;
		goto out;
	}
	for (i = 0; i < n_ids; i++) {
		const struct nhi_store_nss_account *id = &ids.v[i];
		struct nhi_identity state;
		struct nhi_nss_user *u;
		uint32_t uid, gid;

		nhi_identity_init(&state);
		state.uid = id->uid;
		state.status = id->status;
		state.updated = id->updated;
		if (!nhi_account_kind_is_unix(id->kind) ||
		    !nhi_account_resolves(&state, p->quarantine, p->now) || id->uid > UINT32_MAX)
			continue;
		if (id->status == NHI_STATUS_RETIRED) {
			int64_t end = id->updated + (int64_t)p->quarantine;
			if (ret->next_expiry == 0 || end < ret->next_expiry)
				ret->next_expiry = end;
		}
		uid = (uint32_t)id->uid;
		gid = id->gid >= 0 && id->gid <= UINT32_MAX ? (uint32_t)id->gid : uid;
		if (nhi_local_has_user(&l, id->name) || nhi_id_set_has(&l.uids, uid)) {
			/* A human bound to a local account of the broker host. */
			nhi_log_debug("identity '%s' is a local account: not in the NSS cache",
			              id->name);
			continue;
		}
		u = &e.users[e.n_users++];
		u->name = id->name;
		u->uid = uid;
		u->gid = gid;
		u->gecos = id->gecos != NULL ? id->gecos : "";
		u->shell = id->shell != NULL ? id->shell : cfg->default_shell;
		if (id->home != NULL) {
			u->home = id->home;
		} else {
			if (asprintf(&e.strings[e.n_strings], "%s/%s", cfg->home_base, id->name) <
			    0) {
				e.strings[e.n_strings] = NULL;
				r = NHI_ERR_ALLOC;
				goto out;
			}
			u->home = e.strings[e.n_strings++];
		}
	}
	if ((r = add_store_groups(&e, &l, groups.v, groups.n)) < 0)
		goto out;
	if ((r = add_private_groups(&e, &l)) < 0)
		goto out;
	/* The generation grows with every rewrite, even across restarts. */
	gettimeofday(&tv, NULL);
	generation = (uint64_t)tv.tv_sec * 1000000u + (uint64_t)tv.tv_usec;
	if (nhi_nsscache_read_generation(path, &old_generation) == 0 &&
	    old_generation >= generation && old_generation < UINT64_MAX)
		generation = old_generation + 1;
	r = nhi_nsscache_write(path, generation, e.users, e.n_users, e.groups, e.n_groups);
	ret->n_users = e.n_users;
	ret->n_groups = e.n_groups;
out:
	export_clear(&e);
	nhi_local_accounts_clear(&l);
	nhi_store_nss_accounts_clear(&ids);
	nhi_store_nss_groups_clear(&groups);
	return r;
}

int nhi_nss_export_to(struct nhi_store *s, const struct nhi_config *cfg,
                      const struct nhi_account_params *p, const char *path)
{
	struct export_result res = {0};

	return build(s, cfg, p, path, &res);
}

void nhi_nss_account_params(const struct nhi_broker *b, struct nhi_account_params *ret)
{
	ret->passwd_path = NHI_PASSWD_PATH;
	ret->group_path = NHI_GROUP_PATH;
	ret->uid_min = b->cfg->uid_min;
	ret->uid_max = b->cfg->uid_max;
	ret->quarantine = b->cfg->uid_quarantine;
	ret->now = (int64_t)nhi_broker_now();
}

static uint64_t monotonic_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Rewrites the cache as of now (unix seconds). */
static int export_at(struct nhi_broker *b, uint64_t now)
{
	struct nhi_account_params p;
	struct export_result res = {0};
	char *path = nhi_broker_path(b, NHI_NSS_CACHE_NAME);
	uint64_t t0 = monotonic_us();
	int r;

	if (path == NULL)
		return NHI_ERR_ALLOC;
	nhi_nss_account_params(b, &p);
	p.now = (int64_t)now;
	if ((r = build(b->store, b->cfg, &p, path, &res)) == 0) {
		b->nss_expiry = res.next_expiry;
		/* The rewrite's cost, which grows with the accounts: an admin
		 * (and bench/nss.sh) reads it here. */
		nhi_log_info("NSS cache rewritten: %zu users, %zu groups in %.1f ms", res.n_users,
		             res.n_groups, (double)(monotonic_us() - t0) / 1000.0);
	}
	free(path);
	return r;
}

int nhi_nss_export(struct nhi_broker *b)
{
	return export_at(b, nhi_broker_now());
}

int nhi_nss_expire(struct nhi_broker *b, uint64_t now)
{
	int r;

	if (b->nss_expiry <= 0 || (int64_t)now < b->nss_expiry)
		return 0;
	nhi_log_info("a retired account's quarantine ended: rewriting the NSS cache");
	if ((r = export_at(b, now)) < 0) {
		/* Retried in a minute, not at every wake-up in between. */
		b->nss_expiry = (int64_t)now + 60;
		nhi_log_error("cannot rewrite the NSS cache: %s", nhi_strerror(r));
	}
	return r;
}

int nhi_nss_start(struct nhi_broker *b)
{
	struct nhi_account_params p;
	size_t n = 0;
	int r;

	nhi_nss_account_params(b, &p);
	if ((r = nhi_store_begin(b->store)) < 0)
		return r;
	if ((r = nhi_accounts_assign_all(b->store, &p, &n)) < 0) {
		nhi_store_rollback(b->store);
		return r;
	}
	if ((r = nhi_store_commit(b->store)) < 0)
		return r;
	if (n > 0)
		nhi_log_info("gave %zu identit%s a unix account", n, n == 1 ? "y" : "ies");
	return nhi_nss_export(b);
}

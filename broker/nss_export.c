/* The NSS cache writer: see nss_export.h. */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "broker.h"
#include "err.h"
#include "log.h"
#include "nss_export.h"
#include "nsscache.h"
#include "store_account.h"

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

static bool user_exported(const struct export *e, const char *name)
{
	for (size_t i = 0; i < e->n_users; i++)
		if (strcmp(e->users[i].name, name) == 0)
			return true;
	return false;
}

static bool group_name_taken(const struct export *e, const char *name)
{
	for (size_t i = 0; i < e->n_groups; i++)
		if (strcmp(e->groups[i].name, name) == 0)
			return true;
	return false;
}

static bool gid_taken(const struct export *e, uint32_t gid)
{
	for (size_t i = 0; i < e->n_groups; i++)
		if (e->groups[i].gid == gid)
			return true;
	return false;
}

/* The store's groups with a gid, members limited to exported users. */
static int add_store_groups(struct export *e, const struct nhi_local_accounts *l,
                            const struct nhi_store_group *g, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct nhi_nss_group *out;
		const char **members;
		size_t k = 0;

		if (g[i].gid < 0 || g[i].gid > UINT32_MAX)
			continue;
		if (nhi_local_has_group(l, g[i].name) ||
		    nhi_id_set_has(&l->gids, (uint32_t)g[i].gid) ||
		    gid_taken(e, (uint32_t)g[i].gid)) {
			nhi_log_warning(
			        "group '%s' (gid %lld) clashes with a local group: left out of "
			        "the NSS cache",
			        g[i].name, (long long)g[i].gid);
			continue;
		}
		if ((members = calloc(g[i].n_members + 1, sizeof(*members))) == NULL)
			return NHI_ERR_ALLOC;
		for (size_t j = 0; j < g[i].n_members; j++)
			if (user_exported(e, g[i].members[j]))
				members[k++] = g[i].members[j];
		out = &e->groups[e->n_groups++];
		out->name = g[i].name;
		out->gid = (uint32_t)g[i].gid;
		out->members = members;
		out->n_members = k;
	}
	return 0;
}

static int build(struct nhi_store *s, const struct nhi_config *cfg,
                 const struct nhi_account_params *p, const char *path)
{
	struct export e = {0};
	struct nhi_local_accounts l = {0};
	struct nhi_identity *ids = NULL;
	struct nhi_store_group *groups = NULL;
	size_t n_ids = 0, n_groups = 0, i;
	uint64_t generation = 0;
	struct nhi_nsscache *old = NULL;
	struct timeval tv;
	int r;

	if ((r = nhi_local_accounts_read(p->passwd_path, p->group_path, &l)) < 0 ||
	    (r = nhi_store_identity_list(s, &ids, &n_ids)) < 0 ||
	    (r = nhi_store_group_list_all(s, &groups, &n_groups)) < 0)
		goto out;
	e.users = calloc(n_ids + 1, sizeof(*e.users));
	e.groups = calloc(n_ids + n_groups + 1, sizeof(*e.groups));
	e.strings = calloc(n_ids + 1, sizeof(*e.strings));
	if (e.users == NULL || e.groups == NULL || e.strings == NULL) {
		r = NHI_ERR_ALLOC;
		goto out;
	}
	for (i = 0; i < n_ids; i++) {
		const struct nhi_identity *id = &ids[i];
		struct nhi_nss_user *u;
		uint32_t uid, gid;

		if (!nhi_account_kind_is_unix(id->kind) ||
		    !nhi_account_resolves(id, p->quarantine, p->now) || id->uid > UINT32_MAX)
			continue;
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
	if ((r = add_store_groups(&e, &l, groups, n_groups)) < 0)
		goto out;
	/* Each user's private primary group, unless a store or local group
	 * already owns that gid or name. */
	for (i = 0; i < e.n_users; i++) {
		const struct nhi_nss_user *u = &e.users[i];
		struct nhi_nss_group *g;

		if (gid_taken(&e, u->gid) || group_name_taken(&e, u->name) ||
		    nhi_local_has_group(&l, u->name) || nhi_id_set_has(&l.gids, u->gid))
			continue;
		g = &e.groups[e.n_groups];
		if ((g->members = calloc(1, sizeof(char *))) == NULL) {
			r = NHI_ERR_ALLOC;
			goto out;
		}
		e.n_groups++;
		g->name = u->name;
		g->gid = u->gid;
		g->n_members = 0;
	}
	/* The generation grows with every rewrite, even across restarts. */
	gettimeofday(&tv, NULL);
	generation = (uint64_t)tv.tv_sec * 1000000u + (uint64_t)tv.tv_usec;
	if (nhi_nsscache_open(path, &old) == 0) {
		if (nhi_nsscache_generation(old) >= generation)
			generation = nhi_nsscache_generation(old) + 1;
		nhi_nsscache_close(old);
	}
	r = nhi_nsscache_write(path, generation, e.users, e.n_users, e.groups, e.n_groups);
out:
	export_clear(&e);
	nhi_local_accounts_clear(&l);
	nhi_identity_list_free(ids, n_ids);
	nhi_store_group_list_free(groups, n_groups);
	return r;
}

int nhi_nss_export_to(struct nhi_store *s, const struct nhi_config *cfg,
                      const struct nhi_account_params *p, const char *path)
{
	return build(s, cfg, p, path);
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

int nhi_nss_export(struct nhi_broker *b)
{
	struct nhi_account_params p;
	char *path = nhi_broker_path(b, NHI_NSS_CACHE_NAME);
	int r;

	if (path == NULL)
		return NHI_ERR_ALLOC;
	nhi_nss_account_params(b, &p);
	r = build(b->store, b->cfg, &p, path);
	free(path);
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

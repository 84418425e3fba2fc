/* Unix account allocation for identities: see accounts.h. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "accounts.h"
#include "err.h"
#include "store_account.h"

int nhi_id_set_add(struct nhi_id_set *set, uint32_t id)
{
	if (set->n == set->cap) {
		size_t cap = set->cap ? set->cap * 2 : 64;
		uint32_t *p = reallocarray(set->ids, cap, sizeof(*p));

		if (p == NULL)
			return NHI_ERR_ALLOC;
		set->ids = p;
		set->cap = cap;
	}
	set->ids[set->n++] = id;
	return 0;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

void nhi_id_set_sort(struct nhi_id_set *set)
{
	if (set->n > 1)
		qsort(set->ids, set->n, sizeof(*set->ids), cmp_u32);
}

bool nhi_id_set_has(const struct nhi_id_set *set, uint32_t id)
{
	return set->n > 0 && bsearch(&id, set->ids, set->n, sizeof(id), cmp_u32) != NULL;
}

/* Adds id keeping the set sorted, for ids taken while allocating. */
static int id_set_insert(struct nhi_id_set *set, uint32_t id)
{
	size_t i;
	int r;

	if ((r = nhi_id_set_add(set, id)) < 0)
		return r;
	for (i = set->n - 1; i > 0 && set->ids[i - 1] > id; i--)
		set->ids[i] = set->ids[i - 1];
	set->ids[i] = id;
	return 0;
}

void nhi_id_set_clear(struct nhi_id_set *set)
{
	free(set->ids);
	memset(set, 0, sizeof(*set));
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int names_add(char ***names, size_t *n, const char *name)
{
	char **p = reallocarray(*names, *n + 1, sizeof(**names));

	if (p == NULL)
		return NHI_ERR_ALLOC;
	*names = p;
	if ((p[*n] = strdup(name)) == NULL)
		return NHI_ERR_ALLOC;
	(*n)++;
	return 0;
}

static FILE *open_db_file(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	FILE *f;

	if (fd < 0)
		return NULL;
	if ((f = fdopen(fd, "r")) == NULL)
		close(fd);
	return f;
}

int nhi_local_accounts_read(const char *passwd_path, const char *group_path,
                            struct nhi_local_accounts *ret)
{
	struct nhi_local_accounts l = {0};
	struct passwd *pw;
	struct group *gr;
	FILE *f = NULL;
	int r = 0;

	if ((f = open_db_file(passwd_path)) == NULL) {
		r = NHI_ERR_SYSTEM;
		goto out;
	}
	/* fgetpwent parses the file itself: no NSS, so no recursion into
	 * nss_nhi. It skips lines it cannot parse. */
	while (r == 0 && (pw = fgetpwent(f)) != NULL)
		r = nhi_id_set_add(&l.uids, pw->pw_uid) ||
		                    names_add(&l.users, &l.n_users, pw->pw_name)
		            ? NHI_ERR_ALLOC
		            : 0;
	fclose(f);
	if (r < 0)
		goto out;
	if ((f = open_db_file(group_path)) == NULL) {
		r = NHI_ERR_SYSTEM;
		goto out;
	}
	while (r == 0 && (gr = fgetgrent(f)) != NULL)
		r = nhi_id_set_add(&l.gids, gr->gr_gid) ||
		                    names_add(&l.groups, &l.n_groups, gr->gr_name)
		            ? NHI_ERR_ALLOC
		            : 0;
	fclose(f);
	if (r < 0)
		goto out;
	nhi_id_set_sort(&l.uids);
	nhi_id_set_sort(&l.gids);
	if (l.n_users > 1)
		qsort(l.users, l.n_users, sizeof(*l.users), cmp_str);
	if (l.n_groups > 1)
		qsort(l.groups, l.n_groups, sizeof(*l.groups), cmp_str);
	*ret = l;
	return 0;
out:
	nhi_local_accounts_clear(&l);
	return r;
}

static bool names_have(char *const *names, size_t n, const char *name)
{
	return n > 0 && bsearch(&name, names, n, sizeof(*names), cmp_str) != NULL;
}

bool nhi_local_has_user(const struct nhi_local_accounts *l, const char *name)
{
	return names_have(l->users, l->n_users, name);
}

bool nhi_local_has_group(const struct nhi_local_accounts *l, const char *name)
{
	return names_have(l->groups, l->n_groups, name);
}

void nhi_local_accounts_clear(struct nhi_local_accounts *l)
{
	nhi_id_set_clear(&l->uids);
	nhi_id_set_clear(&l->gids);
	nhi_strv_free(l->users, l->n_users);
	nhi_strv_free(l->groups, l->n_groups);
	memset(l, 0, sizeof(*l));
}

bool nhi_account_kind_is_unix(enum nhi_identity_kind kind)
{
	return kind == NHI_KIND_HUMAN || kind == NHI_KIND_AUTOMATION || kind == NHI_KIND_SERVICE;
}

bool nhi_account_resolves(const struct nhi_identity *id, uint32_t quarantine, int64_t now)
{
	if (id->uid == NHI_ID_NONE)
		return false;
	if (id->status != NHI_STATUS_RETIRED)
		return true;
	return id->updated + (int64_t)quarantine > now;
}

/* Every id an allocation must avoid. */
struct taken {
	struct nhi_id_set uids, gids;
};

static void taken_clear(struct taken *t)
{
	nhi_id_set_clear(&t->uids);
	nhi_id_set_clear(&t->gids);
}

static int add_range_id(struct nhi_id_set *set, int64_t id)
{
	return id >= 0 && id <= UINT32_MAX ? nhi_id_set_add(set, (uint32_t)id) : 0;
}

/* Local files, then every id the store holds: identities (retired ones
 * still in quarantine included, as they keep their ids) and groups. */
static int taken_load(struct nhi_store *s, const struct nhi_account_params *p, struct taken *t)
{
	struct nhi_local_accounts l = {0};
	struct nhi_identity *ids = NULL;
	struct nhi_store_group *groups = NULL;
	size_t n_ids = 0, n_groups = 0, i;
	int r;

	if ((r = nhi_local_accounts_read(p->passwd_path, p->group_path, &l)) < 0)
		return r;
	t->uids = l.uids;
	t->gids = l.gids;
	memset(&l.uids, 0, sizeof(l.uids));
	memset(&l.gids, 0, sizeof(l.gids));
	nhi_local_accounts_clear(&l);
	if ((r = nhi_store_identity_list(s, &ids, &n_ids)) < 0 ||
	    (r = nhi_store_group_list_all(s, &groups, &n_groups)) < 0)
		goto out;
	for (i = 0; i < n_ids && r == 0; i++)
		r = add_range_id(&t->uids, ids[i].uid) || add_range_id(&t->gids, ids[i].gid)
		            ? NHI_ERR_ALLOC
		            : 0;
	for (i = 0; i < n_groups && r == 0; i++)
		r = add_range_id(&t->gids, groups[i].gid);
	nhi_id_set_sort(&t->uids);
	nhi_id_set_sort(&t->gids);
out:
	nhi_identity_list_free(ids, n_ids);
	nhi_store_group_list_free(groups, n_groups);
	return r;
}

/* The lowest free uid, preferring one whose number is a free gid too.
 * *hint (may be NULL) is where a scan may start: no id below it is free as
 * both. Ids are only taken while one set of them is in use, so the lowest
 * id free as both never moves down, and a run of allocations that keeps
 * the hint does not rescan the range for each one. */
static int pick(const struct nhi_account_params *p, const struct taken *t, uint32_t *hint,
                uint32_t *ret_uid, uint32_t *ret_gid)
{
	uint32_t id, uid = 0, gid = 0;
	bool have_uid = false, have_gid = false;

	id = hint != NULL && *hint > p->uid_min ? *hint : p->uid_min;
	for (; id >= p->uid_min && id <= p->uid_max; id++) {
		if (!nhi_id_set_has(&t->uids, id) && !nhi_id_set_has(&t->gids, id)) {
			if (hint != NULL)
				*hint = id;
			*ret_uid = *ret_gid = id;
			return 0;
		}
		if (id == UINT32_MAX)
			break;
	}
	if (hint != NULL)
		*hint = id; /* past the range: the next call skips this scan */
	/* No id is free as both: the lowest free uid and gid, apart. */
	for (id = p->uid_min; id >= p->uid_min && id <= p->uid_max; id++) {
		bool uid_free = !nhi_id_set_has(&t->uids, id);
		bool gid_free = !nhi_id_set_has(&t->gids, id);

		if (uid_free && !have_uid) {
			uid = id;
			have_uid = true;
		}
		if (gid_free && !have_gid) {
			gid = id;
			have_gid = true;
		}
		if (id == UINT32_MAX)
			break;
	}
	if (!have_uid || !have_gid)
		return NHI_ERR_ID_RANGE_EXHAUSTED;
	*ret_uid = uid;
	*ret_gid = gid;
	return 0;
}

static int assign_one(const struct nhi_account_params *p, struct taken *t, uint32_t *hint,
                      struct nhi_identity *id)
{
	uint32_t uid, gid;
	int r;

	if (!nhi_account_kind_is_unix(id->kind) || id->status == NHI_STATUS_RETIRED ||
	    id->uid != NHI_ID_NONE)
		return 0;
	if ((r = pick(p, t, hint, &uid, &gid)) < 0)
		return r;
	/* An administrator's gid is kept; only the uid was missing. */
	if (id->gid != NHI_ID_NONE)
		gid = (uint32_t)id->gid;
	if ((r = id_set_insert(&t->uids, uid)) < 0 || (r = id_set_insert(&t->gids, gid)) < 0)
		return r;
	id->uid = uid;
	id->gid = gid;
	return 1;
}

int nhi_accounts_assign(struct nhi_store *s, const struct nhi_account_params *p,
                        struct nhi_identity *id)
{
	struct taken t = {0};
	int r;

	if (!nhi_account_kind_is_unix(id->kind) || id->uid != NHI_ID_NONE)
		return 0;
	if ((r = nhi_store_account_release_retired(s, p->now - (int64_t)p->quarantine, NULL)) < 0)
		return r;
	if ((r = taken_load(s, p, &t)) == 0)
		r = assign_one(p, &t, NULL, id);
	taken_clear(&t);
	return r < 0 ? r : 0;
}

int nhi_accounts_assign_all(struct nhi_store *s, const struct nhi_account_params *p, size_t *ret_n)
{
	struct taken t = {0};
	struct nhi_identity *ids = NULL;
	size_t n_ids = 0, n = 0;
	uint32_t hint = 0;
	int r;

	if ((r = nhi_store_account_release_retired(s, p->now - (int64_t)p->quarantine, NULL)) < 0 ||
	    (r = taken_load(s, p, &t)) < 0 || (r = nhi_store_identity_list(s, &ids, &n_ids)) < 0)
		goto out;
	for (size_t i = 0; i < n_ids && r >= 0; i++) {
		if ((r = assign_one(p, &t, &hint, &ids[i])) == 1) {
			r = nhi_store_account_set_ids(s, ids[i].name, ids[i].uid, ids[i].gid);
			n++;
		}
	}
out:
	nhi_identity_list_free(ids, n_ids);
	taken_clear(&t);
	if (r >= 0 && ret_n != NULL)
		*ret_n = n;
	return r < 0 ? r : 0;
}

int nhi_accounts_group_gid(struct nhi_store *s, const struct nhi_account_params *p, int64_t want,
                           uint32_t *ret_gid)
{
	struct taken t = {0};
	uint32_t gid;
	int r;

	if ((r = nhi_store_account_release_retired(s, p->now - (int64_t)p->quarantine, NULL)) < 0 ||
	    (r = taken_load(s, p, &t)) < 0)
		goto out;
	if (want != NHI_ID_NONE) {
		if (want < 0 || want >= UINT32_MAX) {
			r = NHI_ERR_INVALID_ARGUMENT;
		} else if (nhi_id_set_has(&t.gids, (uint32_t)want)) {
			r = NHI_ERR_EXISTS;
		} else {
			*ret_gid = (uint32_t)want;
			r = 0;
		}
		goto out;
	}
	/* Downwards from the top, so that the low ids stay free as uid = gid
	 * pairs for identities' private groups. */
	r = NHI_ERR_ID_RANGE_EXHAUSTED;
	for (gid = p->uid_max; gid >= p->uid_min && gid <= p->uid_max; gid--) {
		if (!nhi_id_set_has(&t.gids, gid)) {
			*ret_gid = gid;
			r = 0;
			break;
		}
		if (gid == 0)
			break;
	}
out:
	taken_clear(&t);
	return r;
}

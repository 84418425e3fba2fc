/* Unix groups of broker-managed accounts (nhictl group): add one, list,
 * show, and change its members. Every change is audited and makes nhid
 * rewrite the NSS cache once the batch commits (nss_dirty), so that
 * `getent group` and `id` show it. Admin only (dispatch.c). */
#include "config.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "accounts.h"
#include "audit.h"
#include "call.h"
#include "err.h"
#include "handlers.h"
#include "log.h"
#include "names.h"
#include "nss_export.h"
#include "store_group.h"

/* A name argument that must be a valid account-style name. */
static int arg_name(struct nhi_call *c, const char *key, const char *what, const char **ret)
{
	const char *v = nhi_kv_str(c->args, key);
	char buf[96];

	if (nhi_kv_find(c->args, key) == NULL)
		return nhi_call_error(c, NHI_ERR_INVALID_ARGUMENT, "missing %s", what);
	if (v == NULL || !nhi_name_is_valid(v))
		return nhi_call_error(c, NHI_ERR_INVALID_ARGUMENT, "invalid %s '%s'", what,
		                      v != NULL ? nhi_log_sanitize(v, buf, sizeof(buf)) : "");
	*ret = v;
	return 0;
}

/* Members listed in one reply record, which holds at most NHI_KV_MAX
 * fields. The count is always complete; the NSS cache has every member. */
#define GROUP_MEMBERS_SHOWN 200u

static int add_group_record(struct nhi_call *c, const struct nhi_store_group *g)
{
	struct nhi_kv *rec;
	int r;

	if ((r = nhi_call_add_record(c, &rec)) < 0 ||
	    (r = nhi_kv_add_str(rec, "name", g->name)) < 0 ||
	    (g->gid != NHI_ID_NONE && (r = nhi_kv_add_i64(rec, "gid", g->gid)) < 0) ||
	    (r = nhi_kv_add_u64(rec, "member_count", g->n_members)) < 0)
		return r;
	for (size_t i = 0; i < g->n_members && i < GROUP_MEMBERS_SHOWN && r == 0; i++)
		r = nhi_kv_add_str(rec, "member", g->members[i]);
	return r;
}

static int reply_group(struct nhi_call *c, const char *name)
{
	struct nhi_store_group g = {0};
	int r;

	if ((r = nhi_store_group_get(c->b->store, name, &g)) == NHI_ERR_NOT_FOUND)
		return nhi_call_error(c, r, "no group '%s'", name);
	if (r < 0)
		return nhi_call_error(c, r, "cannot read group '%s': %s", name, nhi_strerror(r));
	r = add_group_record(c, &g);
	nhi_store_group_clear(&g);
	return r;
}

/* One identity-change record about the group: action, gid or member. */
static int audit_group(struct nhi_call *c, const char *group, const char *action, int64_t gid,
                       const char *identity)
{
	struct nhi_audit_event ev = {.type = NHI_AUDIT_IDENTITY_CHANGE};
	struct nhi_audit_detail *d = NULL;
	int r;

	if ((r = nhi_audit_detail_new(&d)) < 0 ||
	    (r = nhi_audit_detail_str(d, "action", action)) < 0 ||
	    (r = nhi_audit_detail_str(d, "group", group)) < 0 ||
	    (gid != NHI_ID_NONE && (r = nhi_audit_detail_int(d, "gid", gid)) < 0) ||
	    (identity != NULL && (r = nhi_audit_detail_str(d, "identity", identity)) < 0))
		goto out;
	ev.actor = c->peer->name;
	ev.subject = identity != NULL ? identity : group;
	ev.detail = nhi_audit_detail_text(d);
	r = nhi_audit_append(c->b->audit, &ev, NULL);
out:
	nhi_audit_detail_free(d);
	if (r < 0)
		return nhi_call_error(c, r, "cannot write the audit record: %s", nhi_strerror(r));
	return 0;
}

/* A group name must not shadow a local group, nor an identity's private
 * group (the NSS cache would leave one of them out). */
static int check_group_name(struct nhi_call *c, const struct nhi_account_params *p,
                            const char *name)
{
	struct nhi_local_accounts l = {0};
	struct nhi_identity id;
	int r;

	if ((r = nhi_local_accounts_read(p->passwd_path, p->group_path, &l)) < 0)
		return nhi_call_error(c, r, "cannot read %s: %s", p->group_path, nhi_strerror(r));
	r = nhi_local_has_group(&l, name);
	nhi_local_accounts_clear(&l);
	if (r)
		return nhi_call_error(c, NHI_ERR_EXISTS, "group '%s' exists in %s", name,
		                      p->group_path);
	nhi_identity_init(&id);
	r = nhi_store_identity_get(c->b->store, name, &id);
	nhi_identity_clear(&id);
	if (r == 0)
		return nhi_call_error(c, NHI_ERR_EXISTS,
		                      "identity '%s' exists: its private group has that name",
		                      name);
	if (r != NHI_ERR_NOT_FOUND)
		return nhi_call_error(c, r, "cannot read identity '%s': %s", name, nhi_strerror(r));
	return 0;
}

int nhi_handle_group_add(struct nhi_call *c)
{
	struct nhi_account_params p;
	int64_t want = NHI_ID_NONE;
	uint32_t gid;
	const char *name;
	int r;

	if ((r = arg_name(c, "name", "group name", &name)) < 0)
		return r;
	if (nhi_kv_find(c->args, "gid") != NULL &&
	    (nhi_kv_i64(c->args, "gid", &want) < 0 || want < 0 || want >= UINT32_MAX))
		return nhi_call_error(c, NHI_ERR_INVALID_ARGUMENT, "invalid gid");
	nhi_nss_account_params(c->b, &p);
	if ((r = check_group_name(c, &p, name)) < 0)
		return r;
	r = nhi_accounts_group_gid(c->b->store, &p, want, &gid);
	if (r == NHI_ERR_EXISTS)
		return nhi_call_error(c, r, "gid %" PRId64 " is in use", want);
	if (r == NHI_ERR_ID_RANGE_EXHAUSTED)
		return nhi_call_error(c, r,
		                      "no free gid left in %u-%u: widen [nss] uid_min/uid_max",
		                      p.uid_min, p.uid_max);
	if (r < 0)
		return nhi_call_error(c, r, "cannot allocate a gid: %s", nhi_strerror(r));
	r = nhi_store_group_add(c->b->store, name, gid, p.now);
	if (r == NHI_ERR_EXISTS)
		return nhi_call_error(c, r, "group '%s' exists", name);
	if (r < 0)
		return nhi_call_error(c, r, "cannot add group '%s': %s", name, nhi_strerror(r));
	c->b->nss_dirty = true;
	if ((r = audit_group(c, name, "group-add", gid, NULL)) < 0)
		return r;
	return reply_group(c, name);
}

int nhi_handle_group_list(struct nhi_call *c)
{
	struct nhi_store_group *groups = NULL;
	size_t n = 0;
	int r;

	if ((r = nhi_store_group_list_all(c->b->store, &groups, &n)) < 0)
		return nhi_call_error(c, r, "cannot list groups: %s", nhi_strerror(r));
	for (size_t i = 0; i < n && r == 0; i++)
		r = add_group_record(c, &groups[i]);
	nhi_store_group_list_free(groups, n);
	return r;
}

int nhi_handle_group_show(struct nhi_call *c)
{
	const char *name;
	int r;

	if ((r = arg_name(c, "name", "group name", &name)) < 0)
		return r;
	return reply_group(c, name);
}

static int member_change(struct nhi_call *c, bool add)
{
	struct nhi_identity id;
	enum nhi_identity_kind kind;
	const char *name, *identity;
	int r;

	if ((r = arg_name(c, "name", "group name", &name)) < 0 ||
	    (r = arg_name(c, "identity", "identity name", &identity)) < 0)
		return r;
	nhi_identity_init(&id);
	r = nhi_store_identity_get(c->b->store, identity, &id);
	kind = id.kind;
	nhi_identity_clear(&id);
	if (r == NHI_ERR_NOT_FOUND)
		return nhi_call_error(c, r, "no identity '%s'", identity);
	if (r < 0)
		return nhi_call_error(c, r, "cannot read identity '%s': %s", identity,
		                      nhi_strerror(r));
	if (add && !nhi_account_kind_is_unix(kind))
		return nhi_call_error(c, NHI_ERR_REFUSED,
		                      "identity '%s' is a %s identity: it has no unix account",
		                      identity, nhi_identity_kind_name(kind));
	if (add)
		r = nhi_store_group_member_add(c->b->store, name, identity);
	else
		r = nhi_store_group_member_remove(c->b->store, name, identity);
	if (r == NHI_ERR_EXISTS)
		return nhi_call_error(c, r, "'%s' is already a member of '%s'", identity, name);
	if (r == NHI_ERR_NOT_FOUND && add)
		return nhi_call_error(c, r, "no group '%s'", name);
	if (r == NHI_ERR_NOT_FOUND)
		return nhi_call_error(c, r,
		                      "no group '%s', or '%s' is not a member of it (a role of "
		                      "the group's name is removed with identity set)",
		                      name, identity);
	if (r < 0)
		return nhi_call_error(c, r, "cannot change group '%s': %s", name, nhi_strerror(r));
	c->b->nss_dirty = true;
	if ((r = audit_group(c, name, add ? "group-member-add" : "group-member-remove", NHI_ID_NONE,
	                     identity)) < 0)
		return r;
	return reply_group(c, name);
}

int nhi_handle_group_member_add(struct nhi_call *c)
{
	return member_change(c, true);
}

int nhi_handle_group_member_remove(struct nhi_call *c)
{
	return member_change(c, false);
}

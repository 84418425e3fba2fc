/* Just-in-time elevation. A user bound to an active human identity asks
 * for one of its roles with a reason and a lifetime; the grant is active
 * at once or waits for an administrator's approval (grant_approval).
 * pam_nhi's `elevate` mode asks here at sudo time whether a grant is in
 * force; nothing is written to sudoers. Every step is audited. */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "audit.h"
#include "conf.h"
#include "err.h"
#include "handlers.h"
#include "log.h"
#include "names.h"
#include "store_grant.h"

#define GRANT_REASON_MAX 256u
#define GRANT_PAGE_MAX    200u           /* grants in one grant-list answer */
#define GRANT_PAGE_BUDGET (160u * 1024u) /* bytes of them, well inside one frame */

/* A reason fit for a log line and an approver's screen: 1..256 bytes of
 * printable text, UTF-8 allowed, no control bytes. */
static bool reason_is_valid(const char *reason)
{
	size_t len;

	if (reason == NULL || (len = strlen(reason)) == 0 || len > GRANT_REASON_MAX)
		return false;
	for (const unsigned char *p = (const unsigned char *)reason; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f)
			return false;
	}
	return true;
}

static bool has_role(struct nhi_store *s, const char *identity, const char *role, int *ret_err)
{
	char **roles = NULL;
	size_t n = 0;
	bool found = false;

	if ((*ret_err = nhi_store_role_list(s, identity, &roles, &n)) < 0)
		return false;
	for (size_t i = 0; i < n && !found; i++)
		found = strcmp(roles[i], role) == 0;
	nhi_strv_free(roles, n);
	return found;
}

static int add_grant_record(struct nhi_call *c, const struct nhi_grant *g)
{
	struct nhi_kv *rec;
	int r;

	if ((r = nhi_call_add_record(c, &rec)) < 0 || (r = nhi_kv_add_i64(rec, "id", g->id)) < 0 ||
	    (r = nhi_kv_add_str(rec, "identity", g->identity)) < 0 ||
	    (r = nhi_kv_add_str(rec, "role", g->role)) < 0 ||
	    (r = nhi_kv_add_str(rec, "state", nhi_grant_state_name(g->state))) < 0 ||
	    (r = nhi_kv_add_str(rec, "reason", g->reason)) < 0 ||
	    (r = nhi_kv_add_u64(rec, "ttl", g->ttl)) < 0 ||
	    (r = nhi_kv_add_i64(rec, "created", g->created)) < 0 ||
	    (g->expires != 0 && (r = nhi_kv_add_i64(rec, "expires", g->expires)) < 0) ||
	    (g->decided_by != NULL && (r = nhi_kv_add_str(rec, "decided_by", g->decided_by)) < 0) ||
	    (g->revoked_at != 0 && (r = nhi_kv_add_i64(rec, "revoked_at", g->revoked_at)) < 0))
		return r;
	return 0;
}

/* One ELEVATE audit record: event (request, approve, deny, revoke, use)
 * about grant g, by the caller. */
static int audit_grant(struct nhi_call *c, const char *event, const struct nhi_grant *g,
                       const char *service)
{
	struct nhi_audit_event ev = {.type = NHI_AUDIT_ELEVATE};
	struct nhi_audit_detail *d = NULL;
	int r;

	if ((r = nhi_audit_detail_new(&d)) < 0 ||
	    (r = nhi_audit_detail_str(d, "event", event)) < 0 ||
	    (r = nhi_audit_detail_int(d, "grant", g->id)) < 0 ||
	    (r = nhi_audit_detail_str(d, "role", g->role)) < 0 ||
	    (r = nhi_audit_detail_str(d, "state", nhi_grant_state_name(g->state))) < 0 ||
	    (r = nhi_audit_detail_str(d, "reason", g->reason)) < 0 ||
	    (r = nhi_audit_detail_int(d, "ttl", g->ttl)) < 0 ||
	    (g->expires != 0 && (r = nhi_audit_detail_int(d, "expires", g->expires)) < 0) ||
	    (service != NULL && (r = nhi_audit_detail_str(d, "service", service)) < 0))
		goto out;
	ev.actor = c->peer->name;
	ev.subject = g->identity;
	ev.detail = nhi_audit_detail_text(d);
	if ((r = nhi_audit_append(c->b->audit, &ev, NULL)) < 0)
		r = nhi_call_error(c, r, "cannot write the audit record: %s", nhi_strerror(r));
out:
	nhi_audit_detail_free(d);
	return r;
}

int nhi_handle_grant_request(struct nhi_call *c)
{
	const struct nhi_config *cfg = c->b->cfg;
	const char *role = nhi_kv_str(c->args, "role");
	const char *reason = nhi_kv_str(c->args, "reason");
	struct nhi_grant g = {0};
	struct nhi_identity id;
	uint64_t ttl = cfg->grant_ttl_max;
	int64_t now = (int64_t)nhi_broker_now();
	int r;

	nhi_identity_init(&id);
	if (role == NULL || !nhi_principal_is_valid(role))
		return nhi_call_error(c, NHI_ERR_INVALID_ARGUMENT, "a valid role is required");
	if (!reason_is_valid(reason))
		return nhi_call_error(c, NHI_ERR_INVALID_ARGUMENT,
		                      "a reason of 1 to %u printable bytes is required",
		                      GRANT_REASON_MAX);
	if ((r = nhi_kv_u64(c->args, "ttl", &ttl)) < 0 && r != NHI_ERR_NOT_FOUND)
		return nhi_call_error(c, NHI_ERR_INVALID_ARGUMENT, "invalid ttl");
	if (ttl == 0)
		return nhi_call_error(c, NHI_ERR_INVALID_ARGUMENT, "ttl must be at least 1s");
	if (ttl > cfg->grant_ttl_max)
		return nhi_call_error(c, NHI_ERR_TTL_EXCEEDED,
		                      "ttl %" PRIu64 "s exceeds grant_ttl_max (%us)", ttl,
		                      cfg->grant_ttl_max);
	r = nhi_store_identity_get_by_uid(c->b->store, c->peer->uid, &id);
	if (r == NHI_ERR_NOT_FOUND || (r == 0 && id.kind != NHI_KIND_HUMAN)) {
		r = nhi_call_deny(c, c->peer->name, NHI_ERR_REFUSED,
		                  "uid %u is not bound to a human identity",
		                  (unsigned)c->peer->uid);
		goto out;
	} else if (r < 0) {
		r = nhi_call_error(c, r, "cannot read the store: %s", nhi_strerror(r));
		goto out;
	}
	if (id.status != NHI_STATUS_ACTIVE) {
		r = nhi_call_deny(c, id.name, NHI_ERR_IDENTITY_INACTIVE, "identity %s is %s",
		                  id.name, nhi_identity_status_name(id.status));
		goto out;
	}
	if (!has_role(c->b->store, id.name, role, &r)) {
		if (r < 0)
			r = nhi_call_error(c, r, "cannot read the roles: %s", nhi_strerror(r));
		else
			r = nhi_call_deny(c, id.name, NHI_ERR_GRANT_ROLE,
			                  "identity %s does not hold role %s", id.name, role);
		goto out;
	}
	g = (struct nhi_grant){
	        .identity = id.name,
	        .role = (char *)role,
	        .reason = (char *)reason,
	        .ttl = (uint32_t)ttl,
	        .created = now,
	};
	if (cfg->grant_approval == NHI_GRANT_APPROVAL_ADMIN) {
		g.state = NHI_GRANT_PENDING;
	} else {
		g.state = NHI_GRANT_ACTIVE;
		g.expires = now + (int64_t)ttl;
	}
	if ((r = nhi_store_grant_add(c->b->store, &g, &g.id)) < 0) {
		r = nhi_call_error(c, r, "cannot store the grant: %s", nhi_strerror(r));
		goto out;
	}
	if ((r = audit_grant(c, "request", &g, NULL)) < 0 || (r = add_grant_record(c, &g)) < 0)
		goto out;
	nhi_log_info("grant %" PRId64 ": %s requested role %s for %us: %s", g.id, id.name, role,
	             g.ttl, nhi_grant_state_name(g.state));
	r = 0;
out:
	nhi_identity_clear(&id);
	return r;
}

/* sudo through pam_nhi elevate without a grant: a denial on record, like
 * the broker's other refusals, though the answer stays "none" so that the
 * next method in sudo's stack (a password) may still decide. */
static int audit_grant_denial(struct nhi_call *c, const char *user, const char *role,
                              const char *service, const char *why)
{
	struct nhi_audit_event ev = {.type = NHI_AUDIT_DENY};
	struct nhi_audit_detail *d = NULL;
	int r;

	if ((r = nhi_audit_detail_new(&d)) < 0 ||
	    (r = nhi_audit_detail_str(d, "request", nhi_msg_name(c->type))) < 0 ||
	    (r = nhi_audit_detail_str(d, "reason", why)) < 0 ||
	    (r = nhi_audit_detail_str(d, "role", role != NULL ? role : "any")) < 0 ||
	    (service != NULL && (r = nhi_audit_detail_str(d, "service", service)) < 0) ||
	    (r = nhi_audit_detail_int(d, "uid", c->peer->uid)) < 0 ||
	    (r = nhi_audit_detail_int(d, "pid", c->peer->pid)) < 0)
		goto out;
	ev.actor = c->peer->name;
	ev.subject = user;
	ev.detail = nhi_audit_detail_text(d);
	if ((r = nhi_audit_append(c->b->audit, &ev, NULL)) < 0)
		r = nhi_call_error(c, r, "cannot write the audit record: %s", nhi_strerror(r));
out:
	nhi_audit_detail_free(d);
	return r;
}

int nhi_handle_grant_check(struct nhi_call *c)
{
	const char *user = nhi_kv_str(c->args, "user");
	const char *role = nhi_kv_str(c->args, "role");
	const char *service = nhi_kv_str(c->args, "service");
	struct nhi_grant g = {0};
	struct nhi_identity id;
	struct nhi_kv *rec;
	const char *why = NULL;
	int r;

	nhi_identity_init(&id);
	if (user == NULL || !nhi_name_is_valid(user))
		return nhi_call_error(c, NHI_ERR_INVALID_ARGUMENT, "a valid user is required");
	if (role != NULL && !nhi_principal_is_valid(role))
		return nhi_call_error(c, NHI_ERR_INVALID_ARGUMENT, "invalid role");
	r = nhi_store_identity_get(c->b->store, user, &id);
	if (r == NHI_ERR_NOT_FOUND) {
		why = "not managed";
	} else if (r < 0) {
		r = nhi_call_error(c, r, "cannot read the store: %s", nhi_strerror(r));
		goto out;
	} else if (id.kind != NHI_KIND_HUMAN || id.status != NHI_STATUS_ACTIVE) {
		why = "not an active human identity";
	} else if ((r = nhi_store_grant_find_active(c->b->store, user, role,
	                                            (int64_t)nhi_broker_now(), &g)) ==
	           NHI_ERR_NOT_FOUND) {
		why = "no active grant";
	} else if (r < 0) {
		r = nhi_call_error(c, r, "cannot read the grants: %s", nhi_strerror(r));
		goto out;
	}
	if (why != NULL) {
		nhi_log_info("grant check %s role %s via %s: none (%s)", user,
		             role != NULL ? role : "any", service != NULL ? service : "-", why);
		/* Accounts the broker does not manage are not its to refuse:
		 * logged only, or every admin's sudo would fill the trail. */
		if (id.name != NULL && (r = audit_grant_denial(c, user, role, service, why)) < 0)
			goto out;
		if ((r = nhi_call_add_record(c, &rec)) < 0)
			goto out;
		r = nhi_kv_add_str(rec, "decision", "none");
		goto out;
	}
	if ((r = nhi_call_add_record(c, &rec)) < 0)
		goto out;
	/* The use is on record before pam_nhi lets sudo go on. */
	if ((r = audit_grant(c, "use", &g, service)) < 0)
		goto out;
	nhi_log_info("grant %" PRId64 " of %s (role %s) used via %s", g.id, user, g.role,
	             service != NULL ? service : "-");
	if ((r = nhi_kv_add_str(rec, "decision", "allow")) < 0 ||
	    (r = nhi_kv_add_i64(rec, "id", g.id)) < 0 ||
	    (r = nhi_kv_add_str(rec, "role", g.role)) < 0 ||
	    (r = nhi_kv_add_i64(rec, "expires", g.expires)) < 0)
		goto out;
	r = 0;
out:
	nhi_grant_clear(&g);
	nhi_identity_clear(&id);
	return r;
}

/* A page of grants newest first, below after_id when given (a listing
 * asks again after the last id it got, until a page comes back empty),
 * cut short before the answer could outgrow one frame. */
int nhi_handle_grant_list(struct nhi_call *c)
{
	const char *identity = nhi_kv_str(c->args, "identity");
	const char *active = nhi_kv_str(c->args, "active");
	int64_t now = (int64_t)nhi_broker_now();
	struct nhi_grant *list = NULL;
	uint64_t after = 0;
	size_t n = 0, budget = 0;
	struct nhi_kv *rec;
	int r;

	if (identity != NULL && !nhi_name_is_valid(identity))
		return nhi_call_error(c, NHI_ERR_INVALID_ARGUMENT, "invalid identity");
	if (nhi_kv_find(c->args, "after_id") != NULL &&
	    (nhi_kv_u64(c->args, "after_id", &after) < 0 || after == 0 || after > INT64_MAX))
		return nhi_call_error(c, NHI_ERR_INVALID_ARGUMENT, "invalid after_id");
	if ((r = nhi_store_grant_page(c->b->store, identity, active != NULL ? now : 0,
	                              (int64_t)after, GRANT_PAGE_MAX, &list, &n)) < 0) {
		r = nhi_call_error(c, r, "cannot read the grants: %s", nhi_strerror(r));
		goto out;
	}
	for (size_t i = 0; i < n && budget < GRANT_PAGE_BUDGET; i++) {
		/* An active grant past its end is shown as expired. */
		bool expired = list[i].state == NHI_GRANT_ACTIVE && list[i].expires <= now;

		if ((r = add_grant_record(c, &list[i])) < 0)
			goto out;
		rec = &c->reply.records[c->reply.n_records - 1];
		if (expired && (r = nhi_kv_add_str(rec, "expired", "yes")) < 0)
			goto out;
		for (size_t k = 0; k < rec->n; k++)
			budget += rec->items[k].len + 16;
	}
	r = 0;
out:
	nhi_grant_list_free(list, n);
	return r;
}

int nhi_handle_grant_decide(struct nhi_call *c)
{
	const char *action = nhi_kv_str(c->args, "action");
	enum nhi_grant_state from, to;
	struct nhi_identity requester;
	struct nhi_grant g = {0};
	int64_t now = (int64_t)nhi_broker_now(), expires = 0, id;
	const char *event;
	int r;

	nhi_identity_init(&requester);
	if (nhi_kv_i64(c->args, "id", &id) < 0 || id <= 0)
		return nhi_call_error(c, NHI_ERR_INVALID_ARGUMENT, "a grant id is required");
	if (action != NULL && strcmp(action, "approve") == 0) {
		from = NHI_GRANT_PENDING, to = NHI_GRANT_ACTIVE, event = "approve";
	} else if (action != NULL && strcmp(action, "deny") == 0) {
		from = NHI_GRANT_PENDING, to = NHI_GRANT_DENIED, event = "deny";
	} else if (action != NULL && strcmp(action, "revoke") == 0) {
		from = NHI_GRANT_ACTIVE, to = NHI_GRANT_REVOKED, event = "revoke";
	} else {
		return nhi_call_error(c, NHI_ERR_INVALID_ARGUMENT,
		                      "action must be approve, deny or revoke");
	}
	if ((r = nhi_store_grant_get(c->b->store, id, &g)) == NHI_ERR_NOT_FOUND) {
		r = nhi_call_error(c, r, "no grant %" PRId64, id);
		goto out;
	} else if (r < 0) {
		r = nhi_call_error(c, r, "cannot read the grant: %s", nhi_strerror(r));
		goto out;
	}
	if (g.state != from) {
		r = nhi_call_error(c, NHI_ERR_GRANT_STATE, "grant %" PRId64 " is %s, not %s", id,
		                   nhi_grant_state_name(g.state), nhi_grant_state_name(from));
		goto out;
	}
	/* Four eyes: the requester's own uid cannot approve (or deny) it,
	 * even from the admin group. Revoking one's own grant is fine. */
	if (to != NHI_GRANT_REVOKED &&
	    (r = nhi_store_identity_get(c->b->store, g.identity, &requester)) < 0) {
		r = nhi_call_error(c, r, "cannot read identity %s: %s", g.identity,
		                   nhi_strerror(r));
		goto out;
	}
	if (to != NHI_GRANT_REVOKED && requester.uid != NHI_ID_NONE &&
	    requester.uid == (int64_t)c->peer->uid) {
		r = nhi_call_deny(c, g.identity, NHI_ERR_GRANT_SELF,
		                  "grant %" PRId64 " was requested by %s: another administrator "
		                  "must decide",
		                  id, g.identity);
		goto out;
	}
	if (to == NHI_GRANT_ACTIVE) {
		/* The lifetime starts now, within today's cap. */
		uint32_t ttl = g.ttl < c->b->cfg->grant_ttl_max ? g.ttl : c->b->cfg->grant_ttl_max;
		expires = now + (int64_t)ttl;
	}
	if ((r = nhi_store_grant_decide(c->b->store, id, from, to, c->peer->name, now, expires)) <
	    0) {
		r = nhi_call_error(c, r, "cannot update grant %" PRId64 ": %s", id,
		                   nhi_strerror(r));
		goto out;
	}
	nhi_grant_clear(&g);
	if ((r = nhi_store_grant_get(c->b->store, id, &g)) < 0 ||
	    (r = audit_grant(c, event, &g, NULL)) < 0 || (r = add_grant_record(c, &g)) < 0)
		goto out;
	nhi_log_info("grant %" PRId64 " of %s (role %s): %s by %s", id, g.identity, g.role, event,
	             c->peer->name);
	r = 0;
out:
	nhi_identity_clear(&requester);
	nhi_grant_clear(&g);
	return r;
}

/* Grants: just-in-time elevation of a human identity to one of its roles,
 * for a bounded time and a stated reason, active at once or after an
 * administrator's approval. pam_nhi's `elevate` mode asks for them. */
#ifndef NHI_STORE_GRANT_H
#define NHI_STORE_GRANT_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

enum nhi_grant_state {
	NHI_GRANT_PENDING = 0, /* awaits an administrator's approval */
	NHI_GRANT_ACTIVE,      /* in force until expires (or revoked) */
	NHI_GRANT_DENIED,
	NHI_GRANT_REVOKED,
};

struct nhi_grant {
	int64_t id;
	char *identity;
	char *role;
	char *reason;
	char *decided_by; /* who approved, denied or revoked it; NULL: nobody */
	enum nhi_grant_state state;
	uint32_t ttl;       /* requested lifetime in seconds */
	int64_t created;    /* requested at */
	int64_t expires;    /* 0 while pending */
	int64_t revoked_at; /* 0: not revoked */
};

const char *nhi_grant_state_name(enum nhi_grant_state state);

/* Adds a grant for identity in state (pending or active); expires is 0
 * for a pending one. ret_id gets its id. */
int nhi_store_grant_add(struct nhi_store *s, const struct nhi_grant *in, int64_t *ret_id);
int nhi_store_grant_get(struct nhi_store *s, int64_t id, struct nhi_grant *ret);
/* A page of the grants, newest first: at most limit grants with an id below
 * before_id (0: from the newest), of identity (NULL: all), and when
 * active_at > 0 only those active and unexpired at active_at. */
int nhi_store_grant_page(struct nhi_store *s, const char *identity, int64_t active_at,
                         int64_t before_id, size_t limit, struct nhi_grant **ret_list,
                         size_t *ret_n);
/* Moves grant id from state from to state to, recording by and when; for
 * an approval expires is the new end. NHI_ERR_NOT_FOUND when no grant id
 * is in state from (a concurrent decision, or a wrong id). */
int nhi_store_grant_decide(struct nhi_store *s, int64_t id, enum nhi_grant_state from,
                           enum nhi_grant_state to, const char *by, int64_t when, int64_t expires);
/* The active grant of identity for role (NULL: any role) that runs the
 * longest at now; NHI_ERR_NOT_FOUND when there is none. */
int nhi_store_grant_find_active(struct nhi_store *s, const char *identity, const char *role,
                                int64_t now, struct nhi_grant *ret);
void nhi_grant_clear(struct nhi_grant *g);
void nhi_grant_list_free(struct nhi_grant *list, size_t n);

#endif

/* Static keys: the authorized_keys entries discovery found, one row per
 * (fingerprint, account, file). */
#ifndef NHI_STORE_STATIC_KEY_H
#define NHI_STORE_STATIC_KEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

struct nhi_static_key {
	int64_t id;        /* the row's, set by the list functions */
	char *fingerprint; /* SHA256:... */
	char *type;        /* ssh-ed25519, ... */
	int64_t bits;
	char *account;
	char *path;
	int64_t line;  /* 1-based line in path */
	char *options; /* as written; NULL: none */
	char *comment; /* NULL: none */
	int64_t first_seen, last_seen;
	int64_t last_used; /* a session opened with it (pam_nhi); 0: never */
	char *state;       /* observed, excepted, retired */
	bool weak;
	char *exception_owner, *exception_reason; /* state excepted only */
	int64_t exception_until;                  /* 0: none */
};

/* Inserts the key, or refreshes type, bits, line, options, comment, weak
 * and last_seen of the row with the same fingerprint, account and path:
 * first_seen and state are kept. ret_first_seen gets the row's first_seen
 * after the upsert, ret_created whether the row is new. */
int nhi_store_static_key_upsert(struct nhi_store *s, const struct nhi_static_key *k,
                                int64_t *ret_first_seen, bool *ret_created);
/* The same, and the row's state (heap, NULL: observed) in *ret_state and
 * its exception end in *ret_until, when not NULL: one lookup and one write
 * per key, and only last_seen written when nothing else changed. */
int nhi_store_static_key_record(struct nhi_store *s, const struct nhi_static_key *k,
                                int64_t *ret_first_seen, bool *ret_created, char **ret_state,
                                int64_t *ret_until);
/* Rows by account (NULL: all) or by fingerprint (NULL: any), ordered by
 * account, path and line. */
int nhi_store_static_key_list(struct nhi_store *s, const char *account, const char *fingerprint,
                              struct nhi_static_key **ret_list, size_t *ret_n);
/* A page of the same rows in id order: at most limit of them with an id
 * above after_id (0: from the first). */
int nhi_store_static_key_page(struct nhi_store *s, const char *account, const char *fingerprint,
                              int64_t after_id, size_t limit, struct nhi_static_key **ret_list,
                              size_t *ret_n);
/* Sets the state of the rows of fingerprint (in account and path when not
 * NULL). owner, reason and until are kept for "excepted" and cleared for
 * any other state. NHI_ERR_NOT_FOUND when no row matches. */
int nhi_store_static_key_set_state(struct nhi_store *s, const char *fingerprint,
                                   const char *account, const char *path, const char *state,
                                   const char *owner, const char *reason, int64_t until,
                                   size_t *ret_count);
/* The one row of fingerprint in account's file path (the table's unique
 * key, so an index lookup). NHI_ERR_NOT_FOUND without one. */
int nhi_store_static_key_get(struct nhi_store *s, const char *fingerprint, const char *account,
                             const char *path, struct nhi_static_key *ret);
/* Sets last_used of account's rows of the key (every file holding it) to
 * when; *ret_count gets how many rows that was (0: not in the inventory). */
int nhi_store_static_key_touch(struct nhi_store *s, const char *account, const char *fingerprint,
                               int64_t when, size_t *ret_count);
void nhi_static_key_clear(struct nhi_static_key *k);
void nhi_static_key_list_free(struct nhi_static_key *list, size_t n);

#endif

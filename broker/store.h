/* The broker's store: identities, certificates, audit records and the rest
 * of the broker's state, behind one interface of domain operations.
 *
 * sqlite3 (WAL, synchronous=FULL) is the embedded backend; nothing outside
 * broker/store*.c sees SQL or sqlite3.h, so a shared backend (PostgreSQL)
 * can implement the same functions for a fleet.
 *
 * Conventions: functions return 0 or a negative NHI_ERR_*; NHI_ERR_NOT_FOUND
 * when the named thing does not exist, NHI_ERR_EXISTS when a unique name,
 * serial or fingerprint is taken. Strings are stored and returned verbatim:
 * validating names is the caller's policy, not the store's. Times are unix
 * seconds; 0 means "none" for optional times. A handle is used by one thread
 * at a time. */
#ifndef NHI_STORE_H
#define NHI_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The schema this code writes. Opening an older database migrates it
 * forward; a newer one is refused with NHI_ERR_STORE_VERSION. */
#define NHI_STORE_SCHEMA_VERSION 5

struct nhi_store;

/* Opens (creating it 0600 if absent) the database at path, migrates it to
 * NHI_STORE_SCHEMA_VERSION and returns a handle. The path's last component
 * must not be a symlink. */
int nhi_store_open(const char *path, struct nhi_store **ret_store);
/* Opens an existing database read-only, for readers that must not change
 * it (nhictl audit verify --local while the broker is down): nothing is
 * created or migrated; a schema newer than this nhi is refused. */
int nhi_store_open_readonly(const char *path, struct nhi_store **ret_store);
/* Closes s (NULL is fine); an open transaction is rolled back. */
void nhi_store_close(struct nhi_store *s);
/* The path s was opened with. */
const char *nhi_store_path(const struct nhi_store *s);
/* The schema version of the open database. */
int nhi_store_schema_version(struct nhi_store *s, int *ret_version);
/* The backend's message for the last failure, for a CLI or a log line. */
const char *nhi_store_last_error(const struct nhi_store *s);
/* The database's journal mode ("wal"), for checks and `nhictl status`. */
int nhi_store_journal_mode(struct nhi_store *s, char **ret_mode);

/* Transactions. One writer at a time: begin takes the write lock at once
 * (waiting up to the busy timeout, else NHI_ERR_STORE_BUSY). Transactions
 * do not nest. After commit returns, no transaction is open: when the
 * commit fails the work is rolled back and nothing of it is durable.
 * Rollback with no transaction open is a no-op, so cleanup paths may call
 * it unconditionally. */
int nhi_store_begin(struct nhi_store *s);
int nhi_store_commit(struct nhi_store *s);
int nhi_store_rollback(struct nhi_store *s);
bool nhi_store_in_transaction(const struct nhi_store *s);
/* One level of savepoint inside the open transaction, so that one request
 * of a batch can be undone without losing the others. */
int nhi_store_savepoint(struct nhi_store *s);
int nhi_store_savepoint_release(struct nhi_store *s);
int nhi_store_savepoint_rollback(struct nhi_store *s);
/* One callback told the fate of every transaction after it ends: committed
 * (durable) or not. The audit trail uses it to move its head anchor only
 * after a commit. fn NULL removes it. */
typedef void nhi_store_txn_hook(void *arg, bool committed);
void nhi_store_set_txn_hook(struct nhi_store *s, nhi_store_txn_hook *fn, void *arg);

/* Meta: small named values (CA rotation state and such). */
int nhi_store_meta_get(struct nhi_store *s, const char *key, char **ret_value);
int nhi_store_meta_set(struct nhi_store *s, const char *key, const char *value);

/* Identities. */
enum nhi_identity_kind {
	NHI_KIND_HUMAN = 0,
	NHI_KIND_AUTOMATION,
	NHI_KIND_SERVICE,
	NHI_KIND_BREAKGLASS,
};
enum nhi_identity_status {
	NHI_STATUS_ACTIVE = 0,
	NHI_STATUS_SUSPENDED,
	NHI_STATUS_RETIRED,
};
const char *nhi_identity_kind_name(enum nhi_identity_kind kind);
int nhi_identity_kind_from_name(const char *name, enum nhi_identity_kind *ret_kind);
const char *nhi_identity_status_name(enum nhi_identity_status status);
int nhi_identity_status_from_name(const char *name, enum nhi_identity_status *ret_status);

#define NHI_ID_NONE (-1) /* uid or gid not set */

struct nhi_identity {
	int64_t id; /* set by the store */
	char *name;
	enum nhi_identity_kind kind;
	char *owner; /* NULL: none */
	enum nhi_identity_status status;
	int64_t uid, gid; /* NHI_ID_NONE: not a unix account */
	char *shell, *home, *gecos;
	int64_t review_due;   /* 0: none */
	int64_t last_used;    /* 0: never */
	uint32_t ttl_default; /* seconds; 0: the kind's default */
	uint32_t ttl_max;     /* seconds; 0: the kind's cap */
	bool allow_pty;
	char *source_addresses;   /* NULL: any; else sshd's CIDR list */
	char *force_command;      /* NULL: none */
	int64_t created, updated; /* set by the store */
};

/* An empty identity: no uid/gid, active, everything else unset. */
void nhi_identity_init(struct nhi_identity *id);
/* Frees the strings of id and re-initialises it. */
void nhi_identity_clear(struct nhi_identity *id);
void nhi_identity_list_free(struct nhi_identity *list, size_t n);

/* Adds in (name, kind and the other fields; id/created/updated ignored). */
int nhi_store_identity_add(struct nhi_store *s, const struct nhi_identity *in, int64_t *ret_id);
int nhi_store_identity_get(struct nhi_store *s, const char *name, struct nhi_identity *ret);
/* The identity bound to unix uid (humans on the broker host). */
int nhi_store_identity_get_by_uid(struct nhi_store *s, int64_t uid, struct nhi_identity *ret);
/* Every identity, ordered by name. */
int nhi_store_identity_list(struct nhi_store *s, struct nhi_identity **ret_list, size_t *ret_n);
/* At most limit identities named after after (NULL: from the first),
 * ordered by name: one page of a listing, read by the name index. */
int nhi_store_identity_page(struct nhi_store *s, const char *after, size_t limit,
                            struct nhi_identity **ret_list, size_t *ret_n);
/* How many identities there are. */
int nhi_store_identity_count(struct nhi_store *s, size_t *ret_n);
/* Rewrites every field but name, id and created from in, found by name. */
int nhi_store_identity_update(struct nhi_store *s, const struct nhi_identity *in);
int nhi_store_identity_set_status(struct nhi_store *s, const char *name,
                                  enum nhi_identity_status status);
int nhi_store_identity_touch(struct nhi_store *s, const char *name, int64_t when);

/* Roles: the extra principals an identity's certificates carry. */
int nhi_store_role_add(struct nhi_store *s, const char *identity, const char *role);
int nhi_store_role_remove(struct nhi_store *s, const char *identity, const char *role);
/* Sorted; free with nhi_strv_free. */
int nhi_store_role_list(struct nhi_store *s, const char *identity, char ***ret_roles,
                        size_t *ret_n);
void nhi_strv_free(char **v, size_t n);

/* Attestation selectors: every one must match the caller. */
enum nhi_selector_kind {
	NHI_SELECTOR_UID = 0,
	NHI_SELECTOR_GID,
	NHI_SELECTOR_EXE_PATH,
	NHI_SELECTOR_EXE_SHA256,
	NHI_SELECTOR_SYSTEMD_UNIT,
};
const char *nhi_selector_kind_name(enum nhi_selector_kind kind);
int nhi_selector_kind_from_name(const char *name, enum nhi_selector_kind *ret_kind);

struct nhi_selector {
	enum nhi_selector_kind kind;
	char *value;
};
int nhi_store_selector_add(struct nhi_store *s, const char *identity, enum nhi_selector_kind kind,
                           const char *value);
int nhi_store_selector_remove(struct nhi_store *s, const char *identity,
                              enum nhi_selector_kind kind, const char *value);
int nhi_store_selector_list(struct nhi_store *s, const char *identity,
                            struct nhi_selector **ret_list, size_t *ret_n);
void nhi_selector_list_free(struct nhi_selector *list, size_t n);
/* Called with each candidate of nhi_store_selector_candidates; a negative
 * return stops the walk and is returned. It must not use the store. */
typedef int nhi_selector_candidate_fn(const char *identity, const struct nhi_selector *sels,
                                      size_t n, void *userdata);
/* Calls fn once per active automation or service identity that has
 * selectors, in name order, with its selectors in the order they were
 * added: the identities attestation can match, read in one query. */
int nhi_store_selector_candidates(struct nhi_store *s, nhi_selector_candidate_fn *fn,
                                  void *userdata);

/* Certificate serials. Allocates the next serial inside the open
 * transaction that will record the certificate: it is consumed only when
 * that transaction commits. A rolled-back transaction consumes nothing, so
 * its retry gets the same number; that is safe because a certificate leaves
 * the broker only after its record is committed. A committed serial is never
 * handed out again, across restarts and crashes: the counter is durable and
 * never falls below the highest recorded certificate. */
int nhi_store_next_serial(struct nhi_store *s, uint64_t *ret_serial);

/* Issued certificates. Serials and validity bounds must fit in int64. */
struct nhi_cert_record {
	uint64_t serial;
	char *identity; /* the identity's name */
	char *key_id;
	char *key_fp; /* SHA256:... of the subject key */
	char **principals;
	size_t n_principals;
	uint64_t valid_after, valid_before;
	int64_t requester_uid; /* NHI_ID_NONE: unknown */
	int64_t requester_pid; /* 0: unknown */
	char *requester_exe;   /* NULL: unknown */
	int64_t issued_at;
	int64_t revoked_at; /* 0: not revoked */
	char *revoke_reason;
	char *ca_fp; /* the signing CA key */
};
void nhi_cert_record_clear(struct nhi_cert_record *c);
void nhi_cert_record_list_free(struct nhi_cert_record *list, size_t n);

int nhi_store_cert_insert(struct nhi_store *s, const struct nhi_cert_record *c);
int nhi_store_cert_get(struct nhi_store *s, uint64_t serial, struct nhi_cert_record *ret);

#define NHI_CERT_LIST_REVOKED   0x1 /* only revoked certificates */
#define NHI_CERT_LIST_UNREVOKED 0x2 /* only certificates not revoked */
/* Certificates by ascending serial; identity NULL lists all identities. */
int nhi_store_cert_list(struct nhi_store *s, const char *identity, unsigned flags,
                        struct nhi_cert_record **ret_list, size_t *ret_n);
/* How many certificates are not revoked (expired ones included). */
int nhi_store_cert_count_unrevoked(struct nhi_store *s, size_t *ret_n);
/* Revokes one certificate; NHI_ERR_NOT_FOUND if unknown. Revoking again keeps
 * the first time and reason. */
int nhi_store_cert_revoke(struct nhi_store *s, uint64_t serial, int64_t when, const char *reason);
/* Revokes every unrevoked certificate of identity; returns how many. */
int nhi_store_cert_revoke_identity(struct nhi_store *s, const char *identity, int64_t when,
                                   const char *reason, size_t *ret_count);

/* Enrollment codes: one use, short-lived; only a hash of the code is kept
 * (the caller hashes, e.g. SHA-256 of the random code). */
#define NHI_ENROLL_HASH_LEN 32
int nhi_store_enroll_code_add(struct nhi_store *s, const char *identity,
                              const uint8_t code_hash[NHI_ENROLL_HASH_LEN], int64_t now,
                              int64_t expires);
/* Consumes the code: marks it used at now and returns its identity's name.
 * An unknown, used or expired code is NHI_ERR_NOT_FOUND, all alike, so the
 * answer tells a guesser nothing. */
int nhi_store_enroll_code_use(struct nhi_store *s, const uint8_t code_hash[NHI_ENROLL_HASH_LEN],
                              int64_t now, char **ret_identity);

/* Device keys: the keys engineers enrolled, by SHA256 fingerprint. */
struct nhi_device_key {
	char *identity;
	char *fingerprint;
	uint8_t *blob; /* the public key's wire blob */
	size_t blob_len;
	char *text; /* the authorized_keys form */
	bool is_fido;
	int64_t enrolled_at;
	bool revoked;
};
void nhi_device_key_clear(struct nhi_device_key *k);
void nhi_device_key_list_free(struct nhi_device_key *list, size_t n);
/* identity, fingerprint, blob, text, is_fido and enrolled_at from k. */
int nhi_store_device_key_add(struct nhi_store *s, const struct nhi_device_key *k);
int nhi_store_device_key_get(struct nhi_store *s, const char *fingerprint,
                             struct nhi_device_key *ret);
int nhi_store_device_key_list(struct nhi_store *s, const char *identity,
                              struct nhi_device_key **ret_list, size_t *ret_n);
int nhi_store_device_key_revoke(struct nhi_store *s, const char *fingerprint);

/* Audit rows, as the audit trail (broker/audit.h) writes and reads them.
 * Strings borrowed: valid until the next call on whatever returned them. */
#define NHI_AUDIT_HASH_LEN 32
struct nhi_audit_record {
	uint64_t seq;
	int64_t time;
	uint32_t usec;
	const char *type, *actor, *subject, *detail;
	uint8_t prev_hash[NHI_AUDIT_HASH_LEN];
	uint8_t hash[NHI_AUDIT_HASH_LEN];
	bool malformed; /* a field the store could not read faithfully */
};
/* Inserts r inside the open transaction; r->seq must be the next one. */
int nhi_store_audit_insert(struct nhi_store *s, const struct nhi_audit_record *r);
/* The last record's seq and hash; 0 and zeros when there is none. */
int nhi_store_audit_head(struct nhi_store *s, uint64_t *ret_seq,
                         uint8_t ret_hash[NHI_AUDIT_HASH_LEN]);
/* The hash stored for seq; NHI_ERR_NOT_FOUND if no such row. */
int nhi_store_audit_hash_at(struct nhi_store *s, uint64_t seq,
                            uint8_t ret_hash[NHI_AUDIT_HASH_LEN]);

/* Rows in seq order from from_seq on. next sets *ret to NULL at the end;
 * the record it returns lives until the next call. */
struct nhi_store_audit_iter;
int nhi_store_audit_iter_new(struct nhi_store *s, uint64_t from_seq,
                             struct nhi_store_audit_iter **ret_iter);
int nhi_store_audit_iter_next(struct nhi_store_audit_iter *it, const struct nhi_audit_record **ret);
void nhi_store_audit_iter_free(struct nhi_store_audit_iter *it);

#endif

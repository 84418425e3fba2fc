/* The audit trail: one hash-chained sequence of records in the store.
 *
 * Record n holds seq n (from 1, no gaps), time, event type, actor, subject,
 * a detail (one flat JSON object), prev_hash (record n-1's hash; 32 zero
 * bytes for record 1) and hash = SHA-256 over the wire encoding of
 *
 *   string "nhi-audit-v1", uint64 seq, uint64 time, uint32 usec,
 *   string type, string actor, string subject, string detail,
 *   string prev_hash
 *
 * where every string is length-prefixed, so no field can bleed into the
 * next. Changing, removing, inserting or reordering records breaks the
 * chain at the first record touched, and nhi_audit_verify names it.
 *
 * The chain alone cannot reveal a cut tail: dropping the last records
 * leaves a valid shorter chain. So a head anchor (last seq and its hash)
 * lives outside the database, in the file `audit.head` next to it (mode
 * 0600, replaced atomically), rewritten after every commit that appended
 * records. Verify checks the chain reaches the anchor's seq with the
 * anchor's hash. The anchor is written only after the commit, so after a
 * crash it may lag the database by the last records committed, never lead
 * it: records past the anchor are reported as unanchored, not as a fault.
 * Each record also goes to syslog (authpriv) with its seq and hash, a copy
 * off the host that neither file can rewrite.
 *
 * Appends join the caller's open transaction, so a certificate's row and
 * its audit record commit together or not at all; without an open
 * transaction, an append commits on its own. */
#ifndef NHI_AUDIT_H
#define NHI_AUDIT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "store.h"

#define NHI_AUDIT_ANCHOR_NAME "audit.head"
#define NHI_AUDIT_DETAIL_MAX  (64u * 1024u)
#define NHI_AUDIT_FIELD_MAX   4096u /* actor and subject */

enum nhi_audit_type {
	NHI_AUDIT_ISSUE = 0,
	NHI_AUDIT_DENY,
	NHI_AUDIT_IDENTITY_CHANGE,
	NHI_AUDIT_ENROLL,
	NHI_AUDIT_REVOKE,
	NHI_AUDIT_CA_CHANGE,
	NHI_AUDIT_DISCOVER,
	NHI_AUDIT_RETIRE,
	NHI_AUDIT_LOGIN,
	NHI_AUDIT_SESSION,
	NHI_AUDIT_ELEVATE,
	NHI_AUDIT_BREAKGLASS,
	NHI_AUDIT_TYPE_COUNT
};
/* "issue", "deny", "identity-change", ... as stored in records. */
const char *nhi_audit_type_name(enum nhi_audit_type type);
int nhi_audit_type_from_name(const char *name, enum nhi_audit_type *ret_type);

struct nhi_audit_event {
	enum nhi_audit_type type;
	const char *actor;   /* who: "uid:1000", an identity name, "nhid" */
	const char *subject; /* what it was about: identity, serial, key */
	const char *detail;  /* one flat JSON object; NULL: {} */
};

/* Builds a flat JSON object for nhi_audit_event.detail. Every add returns
 * the first error so far; text is NULL after an error. */
struct nhi_audit_detail;
int nhi_audit_detail_new(struct nhi_audit_detail **ret_detail);
void nhi_audit_detail_free(struct nhi_audit_detail *d);
int nhi_audit_detail_str(struct nhi_audit_detail *d, const char *key, const char *value);
int nhi_audit_detail_int(struct nhi_audit_detail *d, const char *key, int64_t value);
int nhi_audit_detail_bool(struct nhi_audit_detail *d, const char *key, bool value);
const char *nhi_audit_detail_text(const struct nhi_audit_detail *d);

/* The head anchor. */
struct nhi_audit_anchor {
	uint64_t seq;
	uint8_t hash[NHI_AUDIT_HASH_LEN];
};
/* "<directory of db_path>/audit.head", heap-allocated; NULL without memory. */
char *nhi_audit_anchor_path(const char *db_path);
/* NHI_ERR_NOT_FOUND when the file does not exist. */
int nhi_audit_anchor_read(const char *path, struct nhi_audit_anchor *ret_anchor);
int nhi_audit_anchor_write(const char *path, const struct nhi_audit_anchor *anchor);

/* A writer of the trail bound to a store. */
struct nhi_audit;
#define NHI_AUDIT_NO_SYSLOG 0x1 /* tests: do not log each record */
/* The daemon: the head anchor is written by a thread of its own after each
 * commit, so its two fsyncs stay off the path of the next answer. The
 * anchor may then trail the committed head by the writes in flight, as it
 * already may after a crash between commit and anchor: it only ever names
 * a committed record. Close writes the last head before returning. */
#define NHI_AUDIT_ANCHOR_ASYNC 0x2
/* anchor_path NULL: audit.head next to the store's database. Refuses with
 * NHI_ERR_AUDIT_BROKEN when the database no longer holds the anchored
 * record (a truncated or rewritten tail), so nothing is appended onto it.
 * A missing anchor is re-created at the current head, with a warning. The
 * audit handle owns the store's transaction hook until it is closed. */
int nhi_audit_open(struct nhi_store *s, const char *anchor_path, unsigned flags,
                   struct nhi_audit **ret_audit);
void nhi_audit_close(struct nhi_audit *a);
/* Appends ev as the next record. Inside an open transaction it becomes
 * durable, is logged and anchored only when that transaction commits. */
int nhi_audit_append(struct nhi_audit *a, const struct nhi_audit_event *ev, uint64_t *ret_seq);

/* For a caller that rolls back to a store savepoint: a mark of what was
 * appended so far, and forgetting the log lines queued after it. */
size_t nhi_audit_mark(const struct nhi_audit *a);
void nhi_audit_rollback_to(struct nhi_audit *a, size_t mark);

/* The hash a record must carry (its own hash field is ignored). */
int nhi_audit_record_hash(const struct nhi_audit_record *r, uint8_t ret_hash[NHI_AUDIT_HASH_LEN]);

enum nhi_audit_fault {
	NHI_AUDIT_FAULT_NONE = 0,
	NHI_AUDIT_FAULT_MALFORMED, /* a field unreadable, a hash not 32 bytes, a bad seq */
	NHI_AUDIT_FAULT_MISSING,   /* a gap in the seqs: a record was removed */
	NHI_AUDIT_FAULT_LINK,      /* prev_hash is not the previous record's hash */
	NHI_AUDIT_FAULT_HASH,      /* contents do not match the record's hash */
	NHI_AUDIT_FAULT_TRUNCATED, /* the chain ends before the anchor's seq */
	NHI_AUDIT_FAULT_ANCHOR,    /* the anchored record's hash differs from the anchor */
};
struct nhi_audit_report {
	enum nhi_audit_fault fault;
	uint64_t bad_seq; /* the first record that does not verify */
	char reason[160];
	uint64_t checked;  /* records verified before the fault (or all) */
	uint64_t last_seq; /* head of the verified chain */
	uint8_t last_hash[NHI_AUDIT_HASH_LEN];
	uint64_t unanchored; /* records after the anchor (a crash lag) */
};
/* Walks the whole chain, and with anchor checks it reaches the anchor.
 * Returns 0 when everything verifies, NHI_ERR_AUDIT_BROKEN when it does not
 * (report says where and why), other errors when the store fails. The
 * report is filled in both of the first two cases. */
int nhi_audit_verify(struct nhi_store *s, const struct nhi_audit_anchor *anchor,
                     struct nhi_audit_report *ret_report);

/* Verifies the chain against the anchor next to the database and puts the
 * verdict in rec: ok (yes only with the anchor present), fault, bad_seq,
 * reason, checked, head_seq, head_hash, unanchored, anchor, anchor_seq; msg
 * gets one line for humans. A broken chain returns 0 (ok=no); errors are
 * for a store that cannot be read. */
struct nhi_kv;
int nhi_audit_verdict(struct nhi_store *s, struct nhi_kv *rec, char *msg, size_t msglen);
/* Adds n bytes (at most a hash) as lower-case hex. */
int nhi_audit_add_hex(struct nhi_kv *rec, const char *key, const uint8_t *p, size_t n);

/* Records in seq order: from a seq, or the last n. next sets *ret NULL at
 * the end; a record lives until the next call. */
struct nhi_audit_iter;
int nhi_audit_iter_open(struct nhi_store *s, uint64_t from_seq, struct nhi_audit_iter **ret_iter);
int nhi_audit_iter_open_tail(struct nhi_store *s, uint64_t last_n,
                             struct nhi_audit_iter **ret_iter);
int nhi_audit_iter_next(struct nhi_audit_iter *it, const struct nhi_audit_record **ret);
void nhi_audit_iter_free(struct nhi_audit_iter *it);

/* One JSON object and a newline: seq, time, usec, type, actor, subject,
 * detail (the object itself; as a string if it is not a flat object),
 * prev_hash and hash in hex. */
int nhi_audit_record_write_json(const struct nhi_audit_record *r, FILE *out);
/* Every record from from_seq (1: all) as JSON lines. */
int nhi_audit_export_json(struct nhi_store *s, uint64_t from_seq, FILE *out);

#endif

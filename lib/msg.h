/* The broker's messages. A request body is the protocol header (proto.h)
 * and one record of arguments (kv.h); a response body is the response
 * header (status and a message for humans) and a list of records: uint32
 * count, then each record. Libc only.
 *
 * Who may send what is decided by the broker from SO_PEERCRED alone (see
 * broker/dispatch.c); nothing in a message says who the caller is. */
#ifndef NHI_MSG_H
#define NHI_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "kv.h"

enum nhi_msg_type {
	/* Any local user. */
	NHI_MSG_STATUS = 1,          /* -> version, ca_fingerprint, identities, certificates */
	NHI_MSG_WHOAMI = 2,          /* -> uid, gid, pid, exe, exe_sha256, unit, identity */
	NHI_MSG_CERT_REQUEST = 3,    /* identity, public_key (blob), ttl? -> certificate (blob),
				      * serial, valid_after, valid_before, principals */
	/* Admins: root or the admin group. */
	NHI_MSG_IDENTITY_ADD = 10,   /* name, kind, owner?, uid?, ... -> identity record */
	NHI_MSG_IDENTITY_LIST = 11,  /* -> one record per identity */
	NHI_MSG_IDENTITY_SHOW = 12,  /* name -> identity record with role/selector fields */
	NHI_MSG_IDENTITY_SET = 13,   /* name, fields to change -> identity record */
	NHI_MSG_IDENTITY_STATUS = 14,/* name, status -> identity record */
	NHI_MSG_ENROLL_CODE = 15,    /* identity, ttl? -> code, expires */
	NHI_MSG_CERT_LIST = 16,      /* identity?, active? -> one record per certificate */
	NHI_MSG_CERT_SHOW = 17,      /* serial -> certificate record */
	NHI_MSG_REVOKE = 18,         /* serial | identity | fingerprint, reason? -> revoked */
	NHI_MSG_AUDIT_VERIFY = 19,   /* -> records, head_seq, ok | bad_seq, reason */
	NHI_MSG_AUDIT_EXPORT = 20,   /* after_seq?, limit? -> one record per audit record */
	NHI_MSG_CA_SHOW = 21,        /* -> one record per trusted CA key */
	NHI_MSG_CA_ROTATE = 22,      /* -> the new CA record */
	NHI_MSG_RELOAD = 23,         /* re-read the configuration */
	/* Static keys. KEYS_QUERY: the sshd helper (helper user or admin). */
	NHI_MSG_GROUP_ADD = 30,      /* name, gid? -> group record (name, gid, member...) */
	NHI_MSG_GROUP_LIST = 31,     /* -> one group record per group */
	NHI_MSG_GROUP_SHOW = 32,     /* name -> group record */
	NHI_MSG_GROUP_MEMBER_ADD = 33,    /* name, identity -> group record */
	NHI_MSG_GROUP_MEMBER_REMOVE = 34, /* name, identity -> group record */
	NHI_MSG_KEYS_QUERY = 40,     /* account, uid, fingerprint, type, key -> line per record */
	NHI_MSG_KEYS_LIST = 41,      /* account?, after_id? -> a page of records, one per
	                              * static key, in id order (admin) */
	NHI_MSG_KEYS_SHOW = 42,      /* fingerprint, after_id? -> a page of records, one per
	                              * file holding it (admin) */
	NHI_MSG_KEYS_RETIRE = 43,    /* fingerprint -> one record per file it was taken out of */
	NHI_MSG_KEYS_RESTORE = 44,   /* fingerprint -> one record per file, restored yes|no */
	NHI_MSG_KEYS_EXCEPT = 45,    /* fingerprint, owner, reason, until -> one record per file */
	NHI_MSG_DISCOVER = 46,       /* account (1..NHI_DISCOVER_BATCH_MAX, one with enforce),
				      * enforce? (yes|no) -> records of kind key, skipped (a
				      * file or line), failed (an account), then counts (admin) */
	/* The sshd helper user (or admins). */
	NHI_MSG_PRINCIPALS_QUERY = 50, /* account, uid, serial, key_id, key_fingerprint
					* -> one record: principal */
	/* nhi-issue, as the login user (or admins). */
	NHI_MSG_DEVICE_ENROLL = 51,  /* code, device_key (blob) -> identity, fingerprint, is_fido */
	NHI_MSG_DEVICE_ISSUE = 52,   /* device_key (blob), public_key (blob), ttl?
				      * -> the record of a certificate request */
	/* pam_nhi (root or the helper user). */
	NHI_MSG_LOGIN_CHECK = 60,    /* user, service, rhost?, tty?, method?, key_type?,
				      * key_fp?, cert_serial?, cert_key_id?
				      * -> decision (allow | unknown), identity?, kind? */
	NHI_MSG_SESSION_EVENT = 61,  /* event (open | close), user, service, session,
				      * rhost?, tty?, method?, key_type?, key_fp?,
				      * cert_serial?, cert_key_id? -> seq? */
	/* Identity import (admins): a staged upload, applied in one transaction. */
	NHI_MSG_IMPORT_BEGIN = 35,   /* -> import_id */
	NHI_MSG_IMPORT_CHUNK = 36,   /* import_id, record (blob: one encoded record each,
				      * with its source line), repeated -> staged */
	NHI_MSG_IMPORT_COMMIT = 37,  /* import_id -> created, updated, unchanged */
	NHI_MSG_IMPORT_ABORT = 38,   /* import_id -> nothing; the staging is dropped */
	/* Grants (JIT elevation). REQUEST: any local user bound to a human
	 * identity; CHECK: pam_nhi; LIST and DECIDE: admins. */
	NHI_MSG_GRANT_REQUEST = 70,  /* role, reason, ttl? -> grant record */
	NHI_MSG_GRANT_CHECK = 71,    /* user, role?, service? -> decision (allow | none),
				      * id?, role?, expires? */
	NHI_MSG_GRANT_LIST = 72,     /* identity?, active? -> one record per grant */
	NHI_MSG_GRANT_DECIDE = 73,   /* id, action (approve | deny | revoke), reason?
				      * -> grant record */
	/* Ranges by area; each area adds its types here, in its range.
	 *  30-39  accounts, groups and the NSS cache (identity import)
	 *  40-49  static keys: the keys helper, discovery, retirement
	 *  50-59  engineers: principals helper, enrollment, nhi-issue
	 *  60-69  pam_nhi: login checks and sessions
	 *  70-79  grants (JIT elevation) and break-glass */
};

/* Accounts in one NHI_MSG_DISCOVER request. */
#define NHI_DISCOVER_BATCH_MAX 64u

/* The name of a message type for logs ("cert-request"), NULL if unknown. */
const char *nhi_msg_name(uint8_t type);

/* Client side: one call, one answer. status is the broker's verdict (0 or
 * a negative NHI_ERR_*), message its words for humans; the return value is
 * about the transport (unavailable, timeout, protocol). The records belong
 * to the caller: nhi_msg_records_free. */
struct nhi_msg_reply {
	int status;
	char *message;
	struct nhi_kv *records;
	size_t n_records;
};
int nhi_msg_call(const char *socket_path, int timeout_ms, uint8_t type, const struct nhi_kv *args,
		 struct nhi_msg_reply *ret_reply);
void nhi_msg_reply_clear(struct nhi_msg_reply *reply);

/* Broker side. */
int nhi_msg_get_request(struct nhi_buf *body, uint8_t *ret_type, struct nhi_kv *ret_args);
int nhi_msg_put_reply(struct nhi_buf *body, uint8_t type, int status, const char *message,
		      const struct nhi_kv *records, size_t n_records);

#endif

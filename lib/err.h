/* Error codes shared by every part of nhi.
 * Functions return 0 or one of these (negative); errors are translated
 * only at the edges: PAM codes, NSS status, CLI exit codes. */
#ifndef NHI_ERR_H
#define NHI_ERR_H

enum nhi_err {
	NHI_OK = 0,
	NHI_ERR_INTERNAL = -1,
	NHI_ERR_ALLOC = -2,
	NHI_ERR_INVALID_ARGUMENT = -3,
	NHI_ERR_NO_BUFFER_SPACE = -4,   /* a write would exceed the buffer's cap */
	NHI_ERR_MESSAGE_INCOMPLETE = -5, /* a read past the end of the data */
	NHI_ERR_STRING_TOO_LARGE = -6,
	NHI_ERR_INVALID_FORMAT = -7,
	NHI_ERR_BIGNUM_IS_NEGATIVE = -8,
	NHI_ERR_BIGNUM_TOO_LARGE = -9,
	NHI_ERR_KEY_TYPE_UNKNOWN = -10,
	NHI_ERR_KEY_TYPE_MISMATCH = -11,
	NHI_ERR_KEY_INVALID = -12,
	NHI_ERR_KEY_IS_CERT = -13,
	NHI_ERR_KEY_NOT_CERT = -14,
	NHI_ERR_KEY_REFUSED = -15,       /* algorithm policy refuses it */
	NHI_ERR_KEY_REVOKED = -16,
	NHI_ERR_SIGNATURE_INVALID = -17,
	NHI_ERR_CERT_EXPIRED = -18,
	NHI_ERR_CERT_NOT_YET_VALID = -19,
	NHI_ERR_CERT_PRINCIPAL = -20,
	NHI_ERR_CERT_WRONG_CA = -21,
	NHI_ERR_CERT_OPTIONS = -22,      /* unknown critical option, unsorted or duplicate names */
	NHI_ERR_BASE64 = -23,
	NHI_ERR_LINE_TOO_LONG = -24,
	NHI_ERR_TOO_MANY = -25,          /* a count past a hard cap */
	NHI_ERR_SYSTEM = -26,            /* see errno */
	NHI_ERR_FILE_UNSAFE = -27,       /* symlink, wrong owner, wrong mode, not a regular file */
	NHI_ERR_FILE_TOO_LARGE = -28,
	NHI_ERR_CONFIG = -29,
	NHI_ERR_NAME_INVALID = -30,
	NHI_ERR_CRYPTO = -31,
	NHI_ERR_NOT_FOUND = -32,
	NHI_ERR_TIMEOUT = -33,           /* a peer did not answer in time */
	NHI_ERR_PROTOCOL = -34,          /* a malformed or unexpected frame */
	NHI_ERR_PROTOCOL_VERSION = -35,
	NHI_ERR_BROKER_UNAVAILABLE = -36,/* no broker listening */
	NHI_ERR_PEER_CLOSED = -37,
	NHI_ERR_STORE = -38,             /* the database failed; see nhi_store_last_error() */
	NHI_ERR_STORE_BUSY = -39,        /* another writer holds the database */
	NHI_ERR_STORE_CORRUPT = -40,
	NHI_ERR_STORE_VERSION = -41,     /* schema written by a newer nhi */
	NHI_ERR_STORE_TRANSACTION = -42, /* no transaction open, or one already open */
	NHI_ERR_EXISTS = -43,            /* a unique name, serial or key is taken */
	NHI_ERR_AUDIT_BROKEN = -44,      /* the audit chain or its head anchor does not verify */
	NHI_ERR_REFUSED = -45,           /* the peer understood and said no */
	NHI_ERR_KEY_ENCRYPTED = -46,     /* a passphrase-protected private key */
	NHI_ERR_TTL_EXCEEDED = -47,      /* a requested lifetime above the policy's cap */
	NHI_ERR_ATTESTATION = -48,       /* the caller does not match the identity's selectors */
	NHI_ERR_IDENTITY_INACTIVE = -49, /* a suspended or retired identity */
	/* -50..-53: the NSS cache. */
	NHI_ERR_CACHE_CORRUPT = -50,     /* a cache file that fails validation */
	NHI_ERR_CACHE_VERSION = -51,     /* a cache file in a format we do not read */
	NHI_ERR_RESULT_TOO_LARGE = -52,  /* the caller's buffer cannot hold the answer */
	NHI_ERR_IMPORT_UNKNOWN = -54,    /* no such staged import: expired, or another caller's */
	NHI_ERR_ID_RANGE_EXHAUSTED = -53, /* no free uid or gid left in [nss] uid_min..uid_max */
	/* -60..-63: engineers (principals helper). */
	NHI_ERR_CERT_MISMATCH = -60,     /* a presented key id or key differs from the record */
	NHI_ERR_ENROLL_CODE = -61,       /* an enrollment code unknown, used or expired */
	NHI_ERR_DEVICE_KEY = -62,        /* a device key not enrolled, or revoked */
	/* -65..-68: logins (pam_nhi) */
	NHI_ERR_IDENTITY_RETIRED = -65,  /* a retired identity: the account has expired */
	NHI_ERR_LOGIN_CREDENTIAL = -66,  /* the login's credential is not allowed for it */
	/* -70..-72: grants (JIT elevation) */
	NHI_ERR_GRANT_ROLE = -70,        /* a role the identity does not hold */
	NHI_ERR_GRANT_STATE = -71,       /* the grant is not pending (or active) any more */
	NHI_ERR_GRANT_SELF = -72,        /* an administrator deciding on their own grant */
	/* -57..-58, -63..-64: discovery and enrollment limits */
	NHI_ERR_RATE_LIMITED = -57,      /* too many failed attempts: wait for the window to pass */
};

/* A static, human-readable message for an error code. Never NULL. */
const char *nhi_strerror(int err);

#endif

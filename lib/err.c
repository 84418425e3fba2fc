#include "config.h"

#include "err.h"

const char *nhi_strerror(int err)
{
	switch ((enum nhi_err)err) {
	case NHI_OK: return "success";
	case NHI_ERR_INTERNAL: return "internal error";
	case NHI_ERR_ALLOC: return "out of memory";
	case NHI_ERR_INVALID_ARGUMENT: return "invalid argument";
	case NHI_ERR_NO_BUFFER_SPACE: return "data exceeds the size limit";
	case NHI_ERR_MESSAGE_INCOMPLETE: return "data is truncated";
	case NHI_ERR_STRING_TOO_LARGE: return "string is too long";
	case NHI_ERR_INVALID_FORMAT: return "invalid format";
	case NHI_ERR_BIGNUM_IS_NEGATIVE: return "number is negative";
	case NHI_ERR_BIGNUM_TOO_LARGE: return "number is too large";
	case NHI_ERR_KEY_TYPE_UNKNOWN: return "unknown key type";
	case NHI_ERR_KEY_TYPE_MISMATCH: return "key type does not match its contents";
	case NHI_ERR_KEY_INVALID: return "invalid key";
	case NHI_ERR_KEY_IS_CERT: return "a certificate where a plain key was expected";
	case NHI_ERR_KEY_NOT_CERT: return "a plain key where a certificate was expected";
	case NHI_ERR_KEY_REFUSED: return "key algorithm refused by policy";
	case NHI_ERR_KEY_REVOKED: return "key is revoked";
	case NHI_ERR_SIGNATURE_INVALID: return "signature is invalid";
	case NHI_ERR_CERT_EXPIRED: return "certificate has expired";
	case NHI_ERR_CERT_NOT_YET_VALID: return "certificate is not yet valid";
	case NHI_ERR_CERT_PRINCIPAL: return "principal not in certificate";
	case NHI_ERR_CERT_WRONG_CA: return "certificate signed by an untrusted CA";
	case NHI_ERR_CERT_OPTIONS: return "invalid certificate options";
	case NHI_ERR_BASE64: return "invalid base64";
	case NHI_ERR_LINE_TOO_LONG: return "line is too long";
	case NHI_ERR_TOO_MANY: return "too many elements";
	case NHI_ERR_SYSTEM: return "system error";
	case NHI_ERR_FILE_UNSAFE: return "file is unsafe (link, owner, mode or type)";
	case NHI_ERR_FILE_TOO_LARGE: return "file is too large";
	case NHI_ERR_CONFIG: return "invalid configuration";
	case NHI_ERR_NAME_INVALID: return "invalid name";
	case NHI_ERR_CRYPTO: return "cryptographic failure";
	case NHI_ERR_NOT_FOUND: return "not found";
	case NHI_ERR_TIMEOUT: return "timed out";
	case NHI_ERR_PROTOCOL: return "protocol error";
	case NHI_ERR_PROTOCOL_VERSION: return "unsupported protocol version";
	case NHI_ERR_BROKER_UNAVAILABLE: return "broker unavailable";
	case NHI_ERR_STORE: return "database error";
	case NHI_ERR_STORE_BUSY: return "database is locked by another writer";
	case NHI_ERR_STORE_CORRUPT: return "database is corrupt";
	case NHI_ERR_STORE_VERSION: return "database was written by a newer version of nhi";
	case NHI_ERR_STORE_TRANSACTION: return "database transaction misuse";
	case NHI_ERR_EXISTS: return "already exists";
	case NHI_ERR_AUDIT_BROKEN: return "audit trail does not verify";
	case NHI_ERR_PEER_CLOSED: return "connection closed by peer";
	case NHI_ERR_REFUSED: return "refused by peer";
	case NHI_ERR_KEY_ENCRYPTED: return "private key is encrypted (passphrase-protected keys are not supported)";
	case NHI_ERR_TTL_EXCEEDED: return "requested lifetime exceeds the policy's cap";
	case NHI_ERR_ATTESTATION: return "caller does not match the identity's attestation selectors";
	case NHI_ERR_IDENTITY_INACTIVE: return "identity is suspended or retired";
	case NHI_ERR_CACHE_CORRUPT: return "cache file is corrupt";
	case NHI_ERR_CACHE_VERSION: return "cache file format version not supported";
	case NHI_ERR_RESULT_TOO_LARGE: return "result does not fit the caller's buffer";
	case NHI_ERR_IMPORT_UNKNOWN: return "no such import: it expired or belongs to another caller";
	case NHI_ERR_ID_RANGE_EXHAUSTED: return "no free uid or gid left in the configured range";
	case NHI_ERR_CERT_MISMATCH: return "certificate does not match the broker's record";
	case NHI_ERR_ENROLL_CODE: return "enrollment code is unknown, used or expired";
	case NHI_ERR_DEVICE_KEY: return "device key is not enrolled or is revoked";
	case NHI_ERR_RATE_LIMITED: return "too many failed attempts; try again later";
	case NHI_ERR_IDENTITY_RETIRED: return "identity is retired";
	case NHI_ERR_LOGIN_CREDENTIAL: return "credential not allowed for this login";
	case NHI_ERR_GRANT_ROLE: return "role not held by the identity";
	case NHI_ERR_GRANT_STATE: return "grant not in a state that allows this";
	case NHI_ERR_GRANT_SELF: return "a grant cannot be decided by its requester";
	}
	return "unknown error";
}

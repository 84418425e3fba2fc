/* The store's schema as an ordered list of forward migrations. Never edit a
 * step that has shipped: add a new one. Each runs in its own transaction
 * together with the bump of PRAGMA user_version. */
#include <config.h>

#include "store_internal.h"

/* v1: identities, their roles and selectors, issued certificates, meta and
 * the audit chain. */
static const char migration_1[] =
        "CREATE TABLE meta ("
        "  key TEXT PRIMARY KEY,"
        "  value TEXT NOT NULL"
        ") WITHOUT ROWID;"
        "CREATE TABLE identities ("
        "  id INTEGER PRIMARY KEY,"
        "  name TEXT NOT NULL UNIQUE,"
        "  kind TEXT NOT NULL CHECK (kind IN ('human','automation','service','breakglass')),"
        "  owner TEXT,"
        "  status TEXT NOT NULL DEFAULT 'active'"
        "    CHECK (status IN ('active','suspended','retired')),"
        "  uid INTEGER, gid INTEGER, shell TEXT, home TEXT, gecos TEXT,"
        "  review_due INTEGER, last_used INTEGER,"
        "  ttl_default INTEGER NOT NULL DEFAULT 0 CHECK (ttl_default >= 0),"
        "  ttl_max INTEGER NOT NULL DEFAULT 0 CHECK (ttl_max >= 0),"
        "  allow_pty INTEGER NOT NULL DEFAULT 0 CHECK (allow_pty IN (0, 1)),"
        "  source_addresses TEXT, force_command TEXT,"
        "  created INTEGER NOT NULL, updated INTEGER NOT NULL"
        ");"
        /* One identity per unix uid, or NSS answers would be ambiguous. */
        "CREATE UNIQUE INDEX identities_uid ON identities(uid) WHERE uid IS NOT NULL;"
        "CREATE TABLE roles ("
        "  identity_id INTEGER NOT NULL REFERENCES identities(id) ON DELETE CASCADE,"
        "  role TEXT NOT NULL,"
        "  PRIMARY KEY (identity_id, role)"
        ") WITHOUT ROWID;"
        "CREATE TABLE selectors ("
        "  id INTEGER PRIMARY KEY,"
        "  identity_id INTEGER NOT NULL REFERENCES identities(id) ON DELETE CASCADE,"
        "  kind TEXT NOT NULL"
        "    CHECK (kind IN ('uid','gid','exe_path','exe_sha256','systemd_unit')),"
        "  value TEXT NOT NULL,"
        "  UNIQUE (identity_id, kind, value)"
        ");"
        "CREATE TABLE certs ("
        "  serial INTEGER PRIMARY KEY CHECK (serial > 0),"
        "  identity_id INTEGER NOT NULL REFERENCES identities(id),"
        "  key_id TEXT NOT NULL,"
        "  key_fp TEXT NOT NULL,"
        "  principals BLOB NOT NULL," /* wire-encoded list of strings */
        "  valid_after INTEGER NOT NULL, valid_before INTEGER NOT NULL,"
        "  requester_uid INTEGER, requester_pid INTEGER, requester_exe TEXT,"
        "  issued_at INTEGER NOT NULL,"
        "  revoked_at INTEGER, revoke_reason TEXT,"
        "  ca_fp TEXT NOT NULL"
        ");"
        "CREATE INDEX certs_identity ON certs(identity_id);"
        "CREATE INDEX certs_key_fp ON certs(key_fp);"
        "CREATE INDEX certs_revoked ON certs(revoked_at) WHERE revoked_at IS NOT NULL;"
        "CREATE TABLE audit ("
        "  seq INTEGER PRIMARY KEY,"
        "  time INTEGER NOT NULL, usec INTEGER NOT NULL,"
        "  type TEXT NOT NULL, actor TEXT NOT NULL, subject TEXT NOT NULL,"
        "  detail TEXT NOT NULL,"
        "  prev_hash BLOB NOT NULL, hash BLOB NOT NULL"
        ");";

/* v2: groups, device keys and enrollment, static keys found on hosts, and
 * grants (JIT elevation, break-glass). */
static const char migration_2[] =
        "CREATE TABLE groups ("
        "  id INTEGER PRIMARY KEY,"
        "  name TEXT NOT NULL UNIQUE,"
        "  gid INTEGER UNIQUE,"
        "  created INTEGER NOT NULL"
        ");"
        "CREATE TABLE memberships ("
        "  group_id INTEGER NOT NULL REFERENCES groups(id) ON DELETE CASCADE,"
        "  identity_id INTEGER NOT NULL REFERENCES identities(id) ON DELETE CASCADE,"
        "  PRIMARY KEY (group_id, identity_id)"
        ") WITHOUT ROWID;"
        "CREATE INDEX memberships_identity ON memberships(identity_id);"
        "CREATE TABLE device_keys ("
        "  id INTEGER PRIMARY KEY,"
        "  identity_id INTEGER NOT NULL REFERENCES identities(id) ON DELETE CASCADE,"
        "  fingerprint TEXT NOT NULL UNIQUE,"
        "  key_blob BLOB NOT NULL, key_text TEXT NOT NULL,"
        "  is_fido INTEGER NOT NULL DEFAULT 0 CHECK (is_fido IN (0, 1)),"
        "  enrolled_at INTEGER NOT NULL,"
        "  state TEXT NOT NULL DEFAULT 'active' CHECK (state IN ('active','revoked'))"
        ");"
        "CREATE INDEX device_keys_identity ON device_keys(identity_id);"
        "CREATE TABLE enrollment_codes ("
        "  id INTEGER PRIMARY KEY,"
        "  identity_id INTEGER NOT NULL REFERENCES identities(id) ON DELETE CASCADE,"
        "  code_hash BLOB NOT NULL UNIQUE," /* the code itself is never stored */
        "  created INTEGER NOT NULL, expires INTEGER NOT NULL, used_at INTEGER"
        ");"
        "CREATE TABLE static_keys ("
        "  id INTEGER PRIMARY KEY,"
        "  fingerprint TEXT NOT NULL, type TEXT NOT NULL, bits INTEGER,"
        "  account TEXT NOT NULL, path TEXT NOT NULL, line INTEGER,"
        "  options TEXT, comment TEXT,"
        "  first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL, last_used INTEGER,"
        "  state TEXT NOT NULL DEFAULT 'observed'"
        "    CHECK (state IN ('observed','excepted','retired')),"
        "  weak INTEGER NOT NULL DEFAULT 0 CHECK (weak IN (0, 1)),"
        "  exception_owner TEXT, exception_reason TEXT, exception_until INTEGER,"
        "  UNIQUE (fingerprint, account, path)"
        ");"
        "CREATE INDEX static_keys_account ON static_keys(account);"
        "CREATE TABLE grants ("
        "  id INTEGER PRIMARY KEY,"
        "  identity_id INTEGER NOT NULL REFERENCES identities(id) ON DELETE CASCADE,"
        "  role TEXT NOT NULL, reason TEXT NOT NULL, approved_by TEXT,"
        "  created INTEGER NOT NULL, expires INTEGER NOT NULL, revoked_at INTEGER"
        ");"
        "CREATE INDEX grants_identity ON grants(identity_id);";

/* v3: the life of a grant: requested, then pending approval, active,
 * denied or revoked; ttl is the lifetime asked for, which starts when an
 * administrator approves a pending grant. */
static const char migration_3[] =
        "ALTER TABLE grants ADD COLUMN state TEXT NOT NULL DEFAULT 'active'"
        "  CHECK (state IN ('pending','active','denied','revoked'));"
        "ALTER TABLE grants ADD COLUMN ttl INTEGER NOT NULL DEFAULT 0;";

/* v4: keys revoked by an administrator (nhictl revoke --key), whatever
 * certificates they have: listed in the KRL by the SHA-256 hash their
 * fingerprint carries. */
static const char migration_4[] =
        "CREATE TABLE revoked_keys ("
        "  fingerprint TEXT PRIMARY KEY CHECK (length(fingerprint) = 50"
        "    AND substr(fingerprint, 1, 7) = 'SHA256:'),"
        "  revoked_at INTEGER NOT NULL, reason TEXT NOT NULL, revoked_by TEXT NOT NULL"
        ");";

/* v5: static keys unique by (account, path, fingerprint), in that order.
 * Bulk discovery inserts an account's keys together; with the random
 * fingerprint first, every insert landed on another page of the unique
 * index and each commit rewrote most of it (10 000 accounts: 7.6 s of the
 * broker's CPU instead of 2.5 s). The account index is the new index's
 * prefix and goes. A list by fingerprint alone (enrollment's check,
 * retire by fingerprint) read the table before too: its optional terms
 * keep sqlite from any index. sqlite changes a UNIQUE constraint only by
 * copying the table. */
static const char migration_5[] =
        "CREATE TABLE static_keys_v5 ("
        "  id INTEGER PRIMARY KEY,"
        "  fingerprint TEXT NOT NULL, type TEXT NOT NULL, bits INTEGER,"
        "  account TEXT NOT NULL, path TEXT NOT NULL, line INTEGER,"
        "  options TEXT, comment TEXT,"
        "  first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL, last_used INTEGER,"
        "  state TEXT NOT NULL DEFAULT 'observed'"
        "    CHECK (state IN ('observed','excepted','retired')),"
        "  weak INTEGER NOT NULL DEFAULT 0 CHECK (weak IN (0, 1)),"
        "  exception_owner TEXT, exception_reason TEXT, exception_until INTEGER,"
        "  UNIQUE (account, path, fingerprint)"
        ");"
        "INSERT INTO static_keys_v5 (id, fingerprint, type, bits, account, path, line, options,"
        "  comment, first_seen, last_seen, last_used, state, weak, exception_owner,"
        "  exception_reason, exception_until)"
        " SELECT id, fingerprint, type, bits, account, path, line, options, comment,"
        "  first_seen, last_seen, last_used, state, weak, exception_owner, exception_reason,"
        "  exception_until FROM static_keys;"
        "DROP TABLE static_keys;"
        "ALTER TABLE static_keys_v5 RENAME TO static_keys;";

const char *const store_migrations[] = {
        migration_1,
        migration_2,
        migration_3,
        migration_4,
        migration_5,
};
const size_t store_n_migrations = sizeof(store_migrations) / sizeof(store_migrations[0]);

_Static_assert(sizeof(store_migrations) / sizeof(store_migrations[0]) == NHI_STORE_SCHEMA_VERSION,
               "one migration per schema version");

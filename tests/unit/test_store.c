#include <config.h>

#include <criterion/criterion.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "store.h"
#include "support.h"

static char *dir;
static char *db_path;

static void setup(void)
{
	dir = test_mkdtemp();
	db_path = test_path(dir, "nhi.db");
}

static void teardown(void)
{
	test_rmtree(dir);
	free(db_path);
	free(dir);
}

static struct nhi_store *open_store(void)
{
	struct nhi_store *s = NULL;
	int r = nhi_store_open(db_path, &s);

	cr_assert_eq(r, 0, "open: %s", nhi_strerror(r));
	return s;
}

/* Raw SQL against the file, as a previous release or an intruder would. */
static void raw_exec(const char *sql)
{
	sqlite3 *db = NULL;
	char *msg = NULL;

	cr_assert_eq(sqlite3_open(db_path, &db), SQLITE_OK);
	cr_assert_eq(sqlite3_exec(db, sql, NULL, NULL, &msg), SQLITE_OK, "%s: %s", sql, msg);
	sqlite3_close(db);
}

static int64_t raw_int(const char *sql)
{
	sqlite3_stmt *st = NULL;
	sqlite3 *db = NULL;
	int64_t v;

	cr_assert_eq(sqlite3_open(db_path, &db), SQLITE_OK);
	cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK, "%s", sql);
	cr_assert_eq(sqlite3_step(st), SQLITE_ROW, "%s", sql);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

static void add_identity(struct nhi_store *s, const char *name, enum nhi_identity_kind kind,
                         int64_t uid)
{
	struct nhi_identity id;
	int r;

	nhi_identity_init(&id);
	id.name = (char *)name;
	id.kind = kind;
	id.uid = uid;
	r = nhi_store_identity_add(s, &id, NULL);
	cr_assert_eq(r, 0, "add %s: %s", name, nhi_strerror(r));
}

static void insert_cert(struct nhi_store *s, uint64_t serial, const char *identity)
{
	char *principals[] = {"alice", "ops"};
	struct nhi_cert_record c = {
	        .serial = serial,
	        .identity = (char *)identity,
	        .key_id = "nhi:test",
	        .key_fp = "SHA256:abc",
	        .principals = principals,
	        .n_principals = 2,
	        .valid_after = 1000,
	        .valid_before = 2000,
	        .requester_uid = 1000,
	        .requester_pid = 42,
	        .issued_at = 1000,
	        .ca_fp = "SHA256:ca",
	};
	int r = nhi_store_cert_insert(s, &c);

	cr_assert_eq(r, 0, "insert %llu: %s", (unsigned long long)serial, nhi_strerror(r));
}

TestSuite(store, .init = setup, .fini = teardown);

Test(store, creates_current_schema_in_wal_mode_0600)
{
	struct nhi_store *s = open_store();
	struct stat st;
	char *mode = NULL;
	int v = -1;

	cr_assert_eq(nhi_store_schema_version(s, &v), 0);
	cr_assert_eq(v, NHI_STORE_SCHEMA_VERSION);
	cr_assert_eq(nhi_store_journal_mode(s, &mode), 0);
	cr_assert_str_eq(mode, "wal");
	free(mode);
	cr_assert_eq(nhi_store_meta_set(s, "k", "v"), 0);
	cr_assert_eq(stat(db_path, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600);
	nhi_store_close(s);

	/* Reopening is a no-op migration. */
	s = open_store();
	cr_assert_eq(nhi_store_schema_version(s, &v), 0);
	cr_assert_eq(v, NHI_STORE_SCHEMA_VERSION);
	nhi_store_close(s);
}

Test(store, tightens_a_world_readable_file)
{
	struct stat st;

	test_write_file(db_path, "", 0, 0644);
	chmod(db_path, 0644);
	nhi_store_close(open_store());
	cr_assert_eq(stat(db_path, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600);
}

Test(store, refuses_a_symlink)
{
	char *target = test_path(dir, "elsewhere.db");
	struct nhi_store *s = NULL;

	cr_assert_eq(symlink(target, db_path), 0);
	cr_assert_eq(nhi_store_open(db_path, &s), NHI_ERR_FILE_UNSAFE);
	cr_assert_null(s);
	cr_assert_neq(access(target, F_OK), 0, "nothing created through the link");
	free(target);
}

Test(store, refuses_a_file_that_is_not_a_database)
{
	struct nhi_store *s = NULL;
	const char junk[] = "this is not an sqlite database, not at all, no no no no no no";

	test_write_file(db_path, junk, sizeof(junk), 0600);
	cr_assert_eq(nhi_store_open(db_path, &s), NHI_ERR_STORE_CORRUPT);
}

Test(store, refuses_a_database_from_the_future)
{
	struct nhi_store *s = NULL;

	raw_exec("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
	         "PRAGMA user_version = 99;");
	cr_assert_eq(nhi_store_open(db_path, &s), NHI_ERR_STORE_VERSION);
	cr_assert_null(s);
	/* And leaves it as it was. */
	cr_assert_eq(raw_int("PRAGMA user_version"), 99);
}

/* Schema version 1 as the first release wrote it. */
static const char schema_v1[] =
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;"
        "CREATE TABLE identities (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
        "  kind TEXT NOT NULL CHECK (kind IN ('human','automation','service','breakglass')),"
        "  owner TEXT, status TEXT NOT NULL DEFAULT 'active'"
        "  CHECK (status IN ('active','suspended','retired')),"
        "  uid INTEGER, gid INTEGER, shell TEXT, home TEXT, gecos TEXT,"
        "  review_due INTEGER, last_used INTEGER,"
        "  ttl_default INTEGER NOT NULL DEFAULT 0 CHECK (ttl_default >= 0),"
        "  ttl_max INTEGER NOT NULL DEFAULT 0 CHECK (ttl_max >= 0),"
        "  allow_pty INTEGER NOT NULL DEFAULT 0 CHECK (allow_pty IN (0, 1)),"
        "  source_addresses TEXT, force_command TEXT,"
        "  created INTEGER NOT NULL, updated INTEGER NOT NULL);"
        "CREATE UNIQUE INDEX identities_uid ON identities(uid) WHERE uid IS NOT NULL;"
        "CREATE TABLE roles (identity_id INTEGER NOT NULL REFERENCES identities(id)"
        "  ON DELETE CASCADE, role TEXT NOT NULL, PRIMARY KEY (identity_id, role)) WITHOUT ROWID;"
        "CREATE TABLE selectors (id INTEGER PRIMARY KEY, identity_id INTEGER NOT NULL"
        "  REFERENCES identities(id) ON DELETE CASCADE, kind TEXT NOT NULL"
        "  CHECK (kind IN ('uid','gid','exe_path','exe_sha256','systemd_unit')),"
        "  value TEXT NOT NULL, UNIQUE (identity_id, kind, value));"
        "CREATE TABLE certs (serial INTEGER PRIMARY KEY CHECK (serial > 0),"
        "  identity_id INTEGER NOT NULL REFERENCES identities(id), key_id TEXT NOT NULL,"
        "  key_fp TEXT NOT NULL, principals BLOB NOT NULL,"
        "  valid_after INTEGER NOT NULL, valid_before INTEGER NOT NULL,"
        "  requester_uid INTEGER, requester_pid INTEGER, requester_exe TEXT,"
        "  issued_at INTEGER NOT NULL, revoked_at INTEGER, revoke_reason TEXT,"
        "  ca_fp TEXT NOT NULL);"
        "CREATE INDEX certs_identity ON certs(identity_id);"
        "CREATE INDEX certs_key_fp ON certs(key_fp);"
        "CREATE INDEX certs_revoked ON certs(revoked_at) WHERE revoked_at IS NOT NULL;"
        "CREATE TABLE audit (seq INTEGER PRIMARY KEY, time INTEGER NOT NULL,"
        "  usec INTEGER NOT NULL, type TEXT NOT NULL, actor TEXT NOT NULL,"
        "  subject TEXT NOT NULL, detail TEXT NOT NULL, prev_hash BLOB NOT NULL,"
        "  hash BLOB NOT NULL);"
        "INSERT INTO identities (name, kind, uid, created, updated)"
        "  VALUES ('backup-bot', 'automation', 2001, 1, 1);"
        "INSERT INTO selectors (identity_id, kind, value) VALUES (1, 'exe_path', "
        "'/usr/bin/restic');"
        /* principals: one wire string "backup" */
        "INSERT INTO certs (serial, identity_id, key_id, key_fp, principals, valid_after,"
        "  valid_before, issued_at, ca_fp)"
        "  VALUES (41, 1, 'nhi:backup-bot:41', 'SHA256:k', X'000000066261636b7570',"
        "  10, 20, 10, 'SHA256:ca');"
        "INSERT INTO meta (key, value) VALUES ('cert_serial_last', '41');"
        "PRAGMA user_version = 1;";

Test(store, migrates_a_version_1_database)
{
	struct nhi_identity id;
	struct nhi_selector *sel = NULL;
	struct nhi_cert_record c;
	struct nhi_store *s;
	uint64_t serial;
	size_t n = 0;
	int v = 0;

	raw_exec(schema_v1);
	s = open_store();
	cr_assert_eq(nhi_store_schema_version(s, &v), 0);
	cr_assert_eq(v, NHI_STORE_SCHEMA_VERSION);

	/* The old rows survive, readable through the current code. */
	cr_assert_eq(nhi_store_identity_get(s, "backup-bot", &id), 0);
	cr_assert_eq(id.kind, NHI_KIND_AUTOMATION);
	cr_assert_eq(id.uid, 2001);
	nhi_identity_clear(&id);
	cr_assert_eq(nhi_store_selector_list(s, "backup-bot", &sel, &n), 0);
	cr_assert_eq(n, 1);
	cr_assert_str_eq(sel[0].value, "/usr/bin/restic");
	nhi_selector_list_free(sel, n);
	cr_assert_eq(nhi_store_cert_get(s, 41, &c), 0);
	cr_assert_eq(c.n_principals, 1);
	cr_assert_str_eq(c.principals[0], "backup");
	nhi_cert_record_clear(&c);

	/* Serials continue above the old ones. */
	cr_assert_eq(nhi_store_begin(s), 0);
	cr_assert_eq(nhi_store_next_serial(s, &serial), 0);
	cr_assert_eq(serial, 42);
	cr_assert_eq(nhi_store_rollback(s), 0);
	nhi_store_close(s);

	/* Version 2's tables exist and enforce their constraints. */
	cr_assert_eq(raw_int("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN"
	                     " ('groups','memberships','device_keys','enrollment_codes',"
	                     "  'static_keys','grants')"),
	             6);
	raw_exec("INSERT INTO device_keys (identity_id, fingerprint, key_blob, key_text,"
	         " enrolled_at) VALUES (1, 'SHA256:d', X'00', 'ssh-ed25519 AAAA', 1)");
	cr_assert_eq(raw_int("PRAGMA user_version"), NHI_STORE_SCHEMA_VERSION);
}

Test(store, transactions_do_not_nest_and_rollback_is_idempotent)
{
	struct nhi_store *s = open_store();
	uint64_t serial;

	cr_assert_eq(nhi_store_rollback(s), 0);
	cr_assert_eq(nhi_store_commit(s), NHI_ERR_STORE_TRANSACTION);
	cr_assert_eq(nhi_store_next_serial(s, &serial), NHI_ERR_STORE_TRANSACTION);
	cr_assert_eq(nhi_store_begin(s), 0);
	cr_assert(nhi_store_in_transaction(s));
	cr_assert_eq(nhi_store_begin(s), NHI_ERR_STORE_TRANSACTION);
	cr_assert_eq(nhi_store_commit(s), 0);
	cr_assert_not(nhi_store_in_transaction(s));
	nhi_store_close(s);
}

static int hook_commits, hook_rollbacks;

static void count_hook(void *arg, bool committed)
{
	(void)arg;
	if (committed)
		hook_commits++;
	else
		hook_rollbacks++;
}

Test(store, txn_hook_learns_each_outcome)
{
	struct nhi_store *s = open_store();
	char *v = NULL;

	hook_commits = hook_rollbacks = 0;
	nhi_store_set_txn_hook(s, count_hook, NULL);
	cr_assert_eq(nhi_store_begin(s), 0);
	cr_assert_eq(nhi_store_meta_set(s, "a", "1"), 0);
	cr_assert_eq(nhi_store_rollback(s), 0);
	cr_assert_eq(nhi_store_meta_get(s, "a", &v), NHI_ERR_NOT_FOUND);
	cr_assert_eq(nhi_store_begin(s), 0);
	cr_assert_eq(nhi_store_meta_set(s, "a", "2"), 0);
	cr_assert_eq(nhi_store_commit(s), 0);
	cr_assert_eq(hook_commits, 1);
	cr_assert_eq(hook_rollbacks, 1);
	cr_assert_eq(nhi_store_meta_get(s, "a", &v), 0);
	cr_assert_str_eq(v, "2");
	free(v);
	nhi_store_close(s);
}

static uint64_t take_serial(struct nhi_store *s, bool commit)
{
	uint64_t serial = 0;

	cr_assert_eq(nhi_store_begin(s), 0);
	cr_assert_eq(nhi_store_next_serial(s, &serial), 0);
	if (commit) {
		insert_cert(s, serial, "alice");
		cr_assert_eq(nhi_store_commit(s), 0);
	} else {
		cr_assert_eq(nhi_store_rollback(s), 0);
	}
	return serial;
}

Test(store, serials_increase_across_reopen_and_rollback)
{
	struct nhi_store *s = open_store();
	uint64_t a, b, c, d, e;

	add_identity(s, "alice", NHI_KIND_HUMAN, 1000);
	a = take_serial(s, true);
	b = take_serial(s, true);
	cr_assert_eq(a, 1);
	cr_assert_gt(b, a);
	nhi_store_close(s);

	s = open_store();
	/* A rolled-back allocation consumes nothing: the retry gets the same
	 * number, and no committed serial is ever handed out again. */
	c = take_serial(s, false);
	cr_assert_gt(c, b);
	d = take_serial(s, true);
	cr_assert_eq(d, c);
	nhi_store_close(s);

	/* Even if the counter is lost or wound back, the table wins. */
	raw_exec("UPDATE meta SET value = '1' WHERE key = 'cert_serial_last'");
	s = open_store();
	e = take_serial(s, true);
	cr_assert_gt(e, d);
	nhi_store_close(s);
}

Test(store, identity_crud)
{
	struct nhi_store *s = open_store();
	struct nhi_identity id, got, *list = NULL;
	size_t n = 0;
	int64_t rowid = 0;

	nhi_identity_init(&id);
	id.name = "alice";
	id.kind = NHI_KIND_HUMAN;
	id.owner = "security";
	id.uid = 1500;
	id.gid = 1500;
	id.shell = "/bin/bash";
	id.home = "/home/alice";
	id.gecos = "Alice";
	id.review_due = 1900000000;
	id.ttl_default = 3600;
	id.ttl_max = 28800;
	id.allow_pty = true;
	id.source_addresses = "10.0.0.0/8";
	cr_assert_eq(nhi_store_identity_add(s, &id, &rowid), 0);
	cr_assert_gt(rowid, 0);
	cr_assert_eq(nhi_store_identity_add(s, &id, NULL), NHI_ERR_EXISTS);

	cr_assert_eq(nhi_store_identity_get(s, "alice", &got), 0);
	cr_assert_eq(got.id, rowid);
	cr_assert_str_eq(got.owner, "security");
	cr_assert_eq(got.uid, 1500);
	cr_assert_str_eq(got.home, "/home/alice");
	cr_assert_eq(got.review_due, 1900000000);
	cr_assert_eq(got.last_used, 0);
	cr_assert_eq(got.ttl_max, 28800);
	cr_assert(got.allow_pty);
	cr_assert_str_eq(got.source_addresses, "10.0.0.0/8");
	cr_assert_null(got.force_command);
	cr_assert_eq(got.status, NHI_STATUS_ACTIVE);
	cr_assert_gt(got.created, 0);

	/* Set fields: rewrite from a modified copy. */
	free(got.force_command);
	got.force_command = strdup("/usr/bin/true");
	free(got.source_addresses);
	got.source_addresses = NULL;
	got.allow_pty = false;
	cr_assert_eq(nhi_store_identity_update(s, &got), 0);
	nhi_identity_clear(&got);
	cr_assert_eq(nhi_store_identity_get(s, "alice", &got), 0);
	cr_assert_str_eq(got.force_command, "/usr/bin/true");
	cr_assert_null(got.source_addresses);
	cr_assert_not(got.allow_pty);
	nhi_identity_clear(&got);

	cr_assert_eq(nhi_store_identity_set_status(s, "alice", NHI_STATUS_SUSPENDED), 0);
	cr_assert_eq(nhi_store_identity_touch(s, "alice", 1700000000), 0);
	cr_assert_eq(nhi_store_identity_get_by_uid(s, 1500, &got), 0);
	cr_assert_str_eq(got.name, "alice");
	cr_assert_eq(got.status, NHI_STATUS_SUSPENDED);
	cr_assert_eq(got.last_used, 1700000000);
	nhi_identity_clear(&got);

	/* Unknown names, and a uid already bound to someone else. */
	cr_assert_eq(nhi_store_identity_get(s, "bob", &got), NHI_ERR_NOT_FOUND);
	cr_assert_eq(nhi_store_identity_set_status(s, "bob", NHI_STATUS_RETIRED),
	             NHI_ERR_NOT_FOUND);
	cr_assert_eq(nhi_store_identity_get_by_uid(s, 4242, &got), NHI_ERR_NOT_FOUND);
	id.name = "alice2";
	cr_assert_eq(nhi_store_identity_add(s, &id, NULL), NHI_ERR_EXISTS);
	add_identity(s, "backup-bot", NHI_KIND_AUTOMATION, NHI_ID_NONE);
	add_identity(s, "ci-bot", NHI_KIND_AUTOMATION, NHI_ID_NONE);

	cr_assert_eq(nhi_store_identity_list(s, &list, &n), 0);
	cr_assert_eq(n, 3);
	cr_assert_str_eq(list[0].name, "alice");
	cr_assert_str_eq(list[1].name, "backup-bot");
	cr_assert_eq(list[2].uid, NHI_ID_NONE);
	nhi_identity_list_free(list, n);
	nhi_store_close(s);
}

Test(store, roles_and_selectors)
{
	struct nhi_store *s = open_store();
	struct nhi_selector *sel = NULL;
	char **roles = NULL;
	size_t n = 0;

	add_identity(s, "backup-bot", NHI_KIND_AUTOMATION, NHI_ID_NONE);
	cr_assert_eq(nhi_store_role_add(s, "backup-bot", "storage"), 0);
	cr_assert_eq(nhi_store_role_add(s, "backup-bot", "backup"), 0);
	cr_assert_eq(nhi_store_role_add(s, "backup-bot", "backup"), NHI_ERR_EXISTS);
	cr_assert_eq(nhi_store_role_add(s, "nobody", "backup"), NHI_ERR_NOT_FOUND);
	cr_assert_eq(nhi_store_role_list(s, "backup-bot", &roles, &n), 0);
	cr_assert_eq(n, 2);
	cr_assert_str_eq(roles[0], "backup");
	cr_assert_str_eq(roles[1], "storage");
	nhi_strv_free(roles, n);
	cr_assert_eq(nhi_store_role_remove(s, "backup-bot", "storage"), 0);
	cr_assert_eq(nhi_store_role_remove(s, "backup-bot", "storage"), NHI_ERR_NOT_FOUND);
	cr_assert_eq(nhi_store_role_list(s, "nobody", &roles, &n), NHI_ERR_NOT_FOUND);

	cr_assert_eq(nhi_store_selector_add(s, "backup-bot", NHI_SELECTOR_UID, "2001"), 0);
	cr_assert_eq(nhi_store_selector_add(s, "backup-bot", NHI_SELECTOR_EXE_SHA256, "0123abcd"),
	             0);
	cr_assert_eq(nhi_store_selector_add(s, "backup-bot", NHI_SELECTOR_UID, "2001"),
	             NHI_ERR_EXISTS);
	cr_assert_eq(nhi_store_selector_add(s, "nobody", NHI_SELECTOR_UID, "1"), NHI_ERR_NOT_FOUND);
	cr_assert_eq(nhi_store_selector_list(s, "backup-bot", &sel, &n), 0);
	cr_assert_eq(n, 2);
	cr_assert_eq(sel[0].kind, NHI_SELECTOR_UID);
	cr_assert_str_eq(sel[0].value, "2001");
	cr_assert_eq(sel[1].kind, NHI_SELECTOR_EXE_SHA256);
	nhi_selector_list_free(sel, n);
	cr_assert_eq(nhi_store_selector_remove(s, "backup-bot", NHI_SELECTOR_UID, "2001"), 0);
	cr_assert_eq(nhi_store_selector_list(s, "backup-bot", &sel, &n), 0);
	cr_assert_eq(n, 1);
	nhi_selector_list_free(sel, n);
	nhi_store_close(s);
}

Test(store, hostile_strings_are_stored_verbatim)
{
	static const char *const names[] = {
	        "o'brien",
	        "'; DROP TABLE identities; --",
	        "\"); DELETE FROM certs; --",
	        "x\\y%s%n%%",
	        "\x01\x02\x7f\xff\xfe",
	        "new\nline\r\ttab",
	        "\xf0\x9f\x98\x80 emoji",
	        "../../etc/passwd",
	        "?1 ?2 :name @x $y",
	};
	struct nhi_store *s = open_store();
	struct nhi_identity got, *list = NULL;
	char **roles = NULL;
	size_t i, n = 0;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		add_identity(s, names[i], NHI_KIND_SERVICE, NHI_ID_NONE);
		cr_assert_eq(nhi_store_role_add(s, names[i], names[i]), 0);
		cr_assert_eq(nhi_store_meta_set(s, names[i], names[i]), 0);
	}
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char *v = NULL;

		cr_assert_eq(nhi_store_identity_get(s, names[i], &got), 0, "%zu", i);
		cr_assert_str_eq(got.name, names[i]);
		nhi_identity_clear(&got);
		cr_assert_eq(nhi_store_role_list(s, names[i], &roles, &n), 0);
		cr_assert_eq(n, 1);
		cr_assert_str_eq(roles[0], names[i]);
		nhi_strv_free(roles, n);
		cr_assert_eq(nhi_store_meta_get(s, names[i], &v), 0);
		cr_assert_str_eq(v, names[i]);
		free(v);
	}
	/* Nothing was interpreted: every table is still there. */
	cr_assert_eq(nhi_store_identity_list(s, &list, &n), 0);
	cr_assert_eq(n, sizeof(names) / sizeof(names[0]));
	nhi_identity_list_free(list, n);
	cr_assert_eq(nhi_store_identity_get(s, "o'brie", &got), NHI_ERR_NOT_FOUND);
	nhi_store_close(s);
	cr_assert_eq(raw_int("SELECT count(*) FROM sqlite_master WHERE name = 'certs'"), 1);
}

Test(store, certificates_record_list_and_revoke)
{
	struct nhi_store *s = open_store();
	struct nhi_cert_record c, *list = NULL;
	size_t n = 0, count = 0;

	add_identity(s, "alice", NHI_KIND_HUMAN, 1000);
	add_identity(s, "bob", NHI_KIND_HUMAN, 1001);
	insert_cert(s, 10, "alice");
	insert_cert(s, 11, "alice");
	insert_cert(s, 12, "bob");
	cr_assert_eq(nhi_store_begin(s), 0);
	/* Duplicate serials and unknown identities are refused. */
	{
		struct nhi_cert_record dup = {.serial = 10,
		                              .identity = "bob",
		                              .key_id = "k",
		                              .key_fp = "f",
		                              .ca_fp = "c"};
		cr_assert_eq(nhi_store_cert_insert(s, &dup), NHI_ERR_EXISTS);
		dup.serial = 13;
		dup.identity = "carol";
		cr_assert_eq(nhi_store_cert_insert(s, &dup), NHI_ERR_NOT_FOUND);
	}
	cr_assert_eq(nhi_store_rollback(s), 0);

	cr_assert_eq(nhi_store_cert_get(s, 11, &c), 0);
	cr_assert_str_eq(c.identity, "alice");
	cr_assert_str_eq(c.key_id, "nhi:test");
	cr_assert_eq(c.n_principals, 2);
	cr_assert_str_eq(c.principals[1], "ops");
	cr_assert_eq(c.valid_before, 2000);
	cr_assert_eq(c.requester_uid, 1000);
	cr_assert_eq(c.requester_pid, 42);
	cr_assert_null(c.requester_exe);
	cr_assert_eq(c.revoked_at, 0);
	nhi_cert_record_clear(&c);
	cr_assert_eq(nhi_store_cert_get(s, 99, &c), NHI_ERR_NOT_FOUND);

	cr_assert_eq(nhi_store_cert_revoke(s, 11, 5000, "key lost"), 0);
	cr_assert_eq(nhi_store_cert_revoke(s, 11, 6000, "again"), 0);
	cr_assert_eq(nhi_store_cert_revoke(s, 99, 5000, "x"), NHI_ERR_NOT_FOUND);
	cr_assert_eq(nhi_store_cert_get(s, 11, &c), 0);
	cr_assert_eq(c.revoked_at, 5000, "the first revocation stands");
	cr_assert_str_eq(c.revoke_reason, "key lost");
	nhi_cert_record_clear(&c);

	cr_assert_eq(nhi_store_cert_list(s, "alice", 0, &list, &n), 0);
	cr_assert_eq(n, 2);
	cr_assert_eq(list[0].serial, 10);
	nhi_cert_record_list_free(list, n);
	cr_assert_eq(nhi_store_cert_list(s, NULL, NHI_CERT_LIST_UNREVOKED, &list, &n), 0);
	cr_assert_eq(n, 2);
	cr_assert_eq(list[1].serial, 12);
	nhi_cert_record_list_free(list, n);
	cr_assert_eq(nhi_store_cert_count_unrevoked(s, &count), 0);
	cr_assert_eq(count, 2, "the count agrees with the unrevoked list");

	cr_assert_eq(nhi_store_cert_revoke_identity(s, "alice", 7000, "offboarded", &count), 0);
	cr_assert_eq(count, 1);
	cr_assert_eq(nhi_store_cert_count_unrevoked(s, &count), 0);
	cr_assert_eq(count, 1);
	cr_assert_eq(nhi_store_cert_list(s, NULL, NHI_CERT_LIST_REVOKED, &list, &n), 0);
	cr_assert_eq(n, 2);
	cr_assert_eq(list[0].serial, 10);
	cr_assert_str_eq(list[0].revoke_reason, "offboarded");
	cr_assert_eq(list[1].revoked_at, 5000);
	nhi_cert_record_list_free(list, n);
	cr_assert_eq(nhi_store_cert_list(s, "carol", 0, &list, &n), NHI_ERR_NOT_FOUND);
	nhi_store_close(s);
}

Test(store, meta_values)
{
	struct nhi_store *s = open_store();
	char *v = NULL;

	cr_assert_eq(nhi_store_meta_get(s, "ca_rotation", &v), NHI_ERR_NOT_FOUND);
	cr_assert_eq(nhi_store_meta_set(s, "ca_rotation", "pending"), 0);
	cr_assert_eq(nhi_store_meta_set(s, "ca_rotation", "done"), 0);
	cr_assert_eq(nhi_store_meta_get(s, "ca_rotation", &v), 0);
	cr_assert_str_eq(v, "done");
	free(v);
	nhi_store_close(s);
}

Test(store, enrollment_codes_are_single_use_and_expire)
{
	struct nhi_store *s = open_store();
	uint8_t code[NHI_ENROLL_HASH_LEN], other[NHI_ENROLL_HASH_LEN];
	char *name = NULL;

	memset(code, 0x11, sizeof(code));
	memset(other, 0x22, sizeof(other));
	add_identity(s, "alice", NHI_KIND_HUMAN, 1000);
	cr_assert_eq(nhi_store_enroll_code_add(s, "alice", code, 100, 200), 0);
	cr_assert_eq(nhi_store_enroll_code_add(s, "alice", other, 100, 150), 0);
	cr_assert_eq(nhi_store_enroll_code_add(s, "nobody", code, 100, 200), NHI_ERR_NOT_FOUND);
	cr_assert_eq(nhi_store_enroll_code_add(s, "alice", code, 100, 200), NHI_ERR_EXISTS);

	cr_assert_eq(nhi_store_enroll_code_use(s, other, 150, &name), NHI_ERR_NOT_FOUND, "expired");
	cr_assert_eq(nhi_store_enroll_code_use(s, code, 120, &name), 0);
	cr_assert_str_eq(name, "alice");
	free(name);
	cr_assert_eq(nhi_store_enroll_code_use(s, code, 121, &name), NHI_ERR_NOT_FOUND, "used");
	nhi_store_close(s);
	/* Only the hash is kept, never a code. */
	cr_assert_eq(raw_int("SELECT count(*) FROM enrollment_codes WHERE used_at = 120"), 1);
}

Test(store, device_keys)
{
	struct nhi_store *s = open_store();
	uint8_t blob[] = {0, 0, 0, 11, 's', 's', 'h', '-', 'e', 'd', '2', '5', '5', '1', '9'};
	struct nhi_device_key k = {
	        .identity = "alice",
	        .fingerprint = "SHA256:dev1",
	        .blob = blob,
	        .blob_len = sizeof(blob),
	        .text = "sk-ssh-ed25519@openssh.com AAAA alice@laptop",
	        .is_fido = true,
	        .enrolled_at = 1234,
	};
	struct nhi_device_key got, *list = NULL;
	size_t n = 0;

	add_identity(s, "alice", NHI_KIND_HUMAN, 1000);
	cr_assert_eq(nhi_store_device_key_add(s, &k), 0);
	cr_assert_eq(nhi_store_device_key_add(s, &k), NHI_ERR_EXISTS);
	k.identity = "nobody";
	k.fingerprint = "SHA256:dev2";
	cr_assert_eq(nhi_store_device_key_add(s, &k), NHI_ERR_NOT_FOUND);

	cr_assert_eq(nhi_store_device_key_get(s, "SHA256:dev1", &got), 0);
	cr_assert_str_eq(got.identity, "alice");
	cr_assert_eq(got.blob_len, sizeof(blob));
	cr_assert_eq(memcmp(got.blob, blob, sizeof(blob)), 0);
	cr_assert(got.is_fido);
	cr_assert_not(got.revoked);
	nhi_device_key_clear(&got);

	cr_assert_eq(nhi_store_device_key_revoke(s, "SHA256:dev1"), 0);
	cr_assert_eq(nhi_store_device_key_revoke(s, "SHA256:none"), NHI_ERR_NOT_FOUND);
	cr_assert_eq(nhi_store_device_key_list(s, "alice", &list, &n), 0);
	cr_assert_eq(n, 1);
	cr_assert(list[0].revoked);
	nhi_device_key_list_free(list, n);
	cr_assert_eq(nhi_store_device_key_get(s, "SHA256:none", &got), NHI_ERR_NOT_FOUND);
	nhi_store_close(s);
}

Test(store, identity_pages_cover_every_identity_once_in_name_order)
{
	struct nhi_store *s = open_store();
	struct nhi_identity *all = NULL, *page = NULL;
	size_t n_all = 0, n = 0, count = 1;
	char name[32];

	cr_assert_eq(nhi_store_identity_page(s, NULL, 10, &page, &n), 0);
	cr_assert_eq(n, 0);
	nhi_identity_list_free(page, n);
	cr_assert_eq(nhi_store_identity_count(s, &count), 0);
	cr_assert_eq(count, 0);
	/* Added out of order, and with names that sort around the digits. */
	for (int i = 0; i < 37; i++) {
		snprintf(name, sizeof(name), "id-%02d", (i * 17) % 37);
		add_identity(s, name, NHI_KIND_AUTOMATION, NHI_ID_NONE);
	}
	add_identity(s, "_first", NHI_KIND_SERVICE, NHI_ID_NONE);
	add_identity(s, "zed", NHI_KIND_HUMAN, 70010);
	cr_assert_eq(nhi_store_identity_list(s, &all, &n_all), 0);
	cr_assert_eq(n_all, 39);
	cr_assert_eq(nhi_store_identity_count(s, &count), 0);
	cr_assert_eq(count, 39);
	for (size_t limit = 1; limit <= 40; limit += 3) {
		const char *after = NULL;
		size_t seen = 0;

		do {
			cr_assert_eq(nhi_store_identity_page(s, after, limit, &page, &n), 0);
			cr_assert_leq(n, limit);
			for (size_t i = 0; i < n; i++, seen++) {
				cr_assert_lt(seen, n_all);
				cr_assert_str_eq(page[i].name, all[seen].name);
				cr_assert_eq(page[i].kind, all[seen].kind);
				cr_assert_eq(page[i].uid, all[seen].uid);
			}
			after = n > 0 ? all[seen - 1].name : NULL;
			nhi_identity_list_free(page, n);
		} while (n > 0);
		cr_assert_eq(seen, n_all);
	}
	cr_assert_eq(nhi_store_identity_page(s, "zzz", 10, &page, &n), 0);
	cr_assert_eq(n, 0);
	nhi_identity_list_free(page, n);
	cr_assert_eq(nhi_store_identity_page(s, "id-35", 10, &page, &n), 0);
	cr_assert_eq(n, 2);
	cr_assert_str_eq(page[0].name, "id-36");
	cr_assert_str_eq(page[1].name, "zed");
	nhi_identity_list_free(page, n);
	cr_assert_eq(nhi_store_identity_page(s, NULL, 0, &page, &n), NHI_ERR_INVALID_ARGUMENT);
	nhi_identity_list_free(all, n_all);
	nhi_store_close(s);
}

struct seen_candidates {
	char names[8][32];
	size_t n_sels[8];
	char first[8][80];
	size_t n;
	size_t stop_after; /* 0: never */
};

static int note_candidate(const char *identity, const struct nhi_selector *sels, size_t n,
                          void *userdata)
{
	struct seen_candidates *seen = userdata;

	cr_assert_lt(seen->n, 8);
	cr_assert_gt(n, 0);
	snprintf(seen->names[seen->n], sizeof(seen->names[0]), "%s", identity);
	snprintf(seen->first[seen->n], sizeof(seen->first[0]), "%s=%s",
	         nhi_selector_kind_name(sels[0].kind), sels[0].value);
	seen->n_sels[seen->n] = n;
	if (++seen->n == seen->stop_after)
		return NHI_ERR_REFUSED;
	return 0;
}

Test(store, selector_candidates_are_active_machines_with_selectors)
{
	struct nhi_store *s = open_store();
	struct seen_candidates seen = {0};

	cr_assert_eq(nhi_store_selector_candidates(s, note_candidate, &seen), 0);
	cr_assert_eq(seen.n, 0);
	add_identity(s, "zz-svc", NHI_KIND_SERVICE, NHI_ID_NONE);
	add_identity(s, "backup-bot", NHI_KIND_AUTOMATION, NHI_ID_NONE);
	add_identity(s, "no-selectors", NHI_KIND_AUTOMATION, NHI_ID_NONE);
	add_identity(s, "parked-bot", NHI_KIND_AUTOMATION, NHI_ID_NONE);
	add_identity(s, "alice", NHI_KIND_HUMAN, 70001);
	add_identity(s, "glass", NHI_KIND_BREAKGLASS, NHI_ID_NONE);
	/* Interleaved, so the rows of one identity are not adjacent by id. */
	cr_assert_eq(nhi_store_selector_add(s, "backup-bot", NHI_SELECTOR_UID, "2001"), 0);
	cr_assert_eq(nhi_store_selector_add(s, "zz-svc", NHI_SELECTOR_SYSTEMD_UNIT, "zz.service"),
	             0);
	cr_assert_eq(nhi_store_selector_add(s, "backup-bot", NHI_SELECTOR_EXE_PATH, "/usr/bin/b"),
	             0);
	cr_assert_eq(nhi_store_selector_add(s, "parked-bot", NHI_SELECTOR_UID, "2002"), 0);
	cr_assert_eq(nhi_store_selector_add(s, "alice", NHI_SELECTOR_UID, "70001"), 0);
	cr_assert_eq(nhi_store_selector_add(s, "glass", NHI_SELECTOR_UID, "2003"), 0);
	cr_assert_eq(nhi_store_selector_add(s, "zz-svc", NHI_SELECTOR_UID, "2004"), 0);
	cr_assert_eq(nhi_store_identity_set_status(s, "parked-bot", NHI_STATUS_SUSPENDED), 0);

	cr_assert_eq(nhi_store_selector_candidates(s, note_candidate, &seen), 0);
	cr_assert_eq(seen.n, 2);
	cr_assert_str_eq(seen.names[0], "backup-bot");
	cr_assert_eq(seen.n_sels[0], 2);
	cr_assert_str_eq(seen.first[0], "uid=2001");
	cr_assert_str_eq(seen.names[1], "zz-svc");
	cr_assert_eq(seen.n_sels[1], 2);
	cr_assert_str_eq(seen.first[1], "systemd_unit=zz.service");

	/* The callback's error ends the walk and is the answer. */
	memset(&seen, 0, sizeof(seen));
	seen.stop_after = 1;
	cr_assert_eq(nhi_store_selector_candidates(s, note_candidate, &seen), NHI_ERR_REFUSED);
	cr_assert_eq(seen.n, 1);
	nhi_store_close(s);
}

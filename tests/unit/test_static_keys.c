/* Discovery of static keys (broker/discover.c) and their inventory
 * (broker/store_static_key.c). */
#include <config.h>

#include <criterion/criterion.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "discover.h"
#include "err.h"
#include "store.h"
#include "store_static_key.h"
#include "support.h"

#define KEY1 "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGTpaihF+9CfEkqRbzUMjx9Xc3HV8CA8SVR0fiY0e83V"

static char *dir;

static void setup(void)
{
	dir = test_mkdtemp();
}

static void teardown(void)
{
	test_rmtree(dir);
	free(dir);
}

TestSuite(static_keys, .init = setup, .fini = teardown);

Test(static_keys, expand)
{
	char *out = NULL, big[NHI_DISCOVER_PATH_MAX + 8];

	cr_assert_eq(nhi_discover_expand("%h/.ssh/%u%%", "/home/a", "a", &out), 0);
	cr_assert_str_eq(out, "/home/a/.ssh/a%");
	free(out);
	cr_assert_eq(nhi_discover_expand("%h/%x", "/home/a", "a", &out), NHI_ERR_INVALID_FORMAT);
	cr_assert_eq(nhi_discover_expand("%h/%", "/home/a", "a", &out), NHI_ERR_INVALID_FORMAT);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	cr_assert_eq(nhi_discover_expand("%h", big, "a", &out), NHI_ERR_STRING_TOO_LARGE);
	cr_assert_null(out);
}

/* Discovery for root, with one key file in the test directory: root owns
 * it, and the directories above lie outside root's home, so only the
 * symlink rules apply to them. */
static void discover(const char *name, struct nhi_discovery *d)
{
	struct nhi_config *cfg = NULL;
	char *pattern = test_path(dir, name);

	if (geteuid() != 0)
		cr_skip_test("needs root: the key file must belong to the account");
	cr_assert_eq(nhi_config_defaults(&cfg), 0);
	for (size_t i = 0; i < cfg->n_key_files; i++) {
		free(cfg->key_files[i]);
		cfg->key_files[i] = NULL;
	}
	cfg->key_files[0] = pattern;
	cfg->n_key_files = 1;
	cr_assert_eq(nhi_discover_account(cfg, "root", d), 0);
	nhi_config_free(cfg);
}

static void write_keys(const char *name, const char *text, int mode)
{
	char *path = test_path(dir, name);

	test_write_file(path, text, strlen(text), mode);
	free(path);
}

Test(static_keys, good_file)
{
	struct nhi_discovery d;

	write_keys("k", "# comment\n\nno-pty " KEY1 " one\n" KEY1 "\n", 0600);
	discover("k", &d);
	cr_assert_eq(d.n_findings, 0);
	cr_assert_eq(d.n_keys, 2);
	cr_assert_eq(d.keys[0].line, 3);
	cr_assert_str_eq(d.keys[0].ak->options_text, "no-pty");
	cr_assert_eq(d.keys[1].line, 4);
	cr_assert_not(d.keys[0].weak);
	nhi_discovery_clear(&d);
}

Test(static_keys, missing_file_is_no_finding)
{
	struct nhi_discovery d;

	discover("absent", &d);
	cr_assert_eq(d.n_keys, 0);
	cr_assert_eq(d.n_findings, 0);
	nhi_discovery_clear(&d);
}

static void expect_skipped(const char *name, const char *reason_part)
{
	struct nhi_discovery d;

	discover(name, &d);
	cr_assert_eq(d.n_keys, 0, "%s: keys read", name);
	cr_assert_eq(d.n_findings, 1, "%s: findings", name);
	cr_assert_not_null(strstr(d.findings[0].reason, reason_part), "%s: %s", name,
	                   d.findings[0].reason);
	nhi_discovery_clear(&d);
}

Test(static_keys, hostile_files)
{
	char *target = test_path(dir, "k"), *lnk = test_path(dir, "lnk");
	char *big = malloc(NHI_DISCOVER_FILE_MAX + 2);

	write_keys("k", KEY1 "\n", 0600);
	cr_assert_eq(symlink(target, lnk), 0);
	expect_skipped("lnk", "symlink");

	write_keys("writable", KEY1 "\n", 0600);
	free(target);
	target = test_path(dir, "writable");
	cr_assert_eq(chmod(target, 0666), 0);
	expect_skipped("writable", "owner or mode");

	free(target);
	target = test_path(dir, "binary");
	test_write_file(target, KEY1 "\n\0\n", sizeof(KEY1 "\n\0\n") - 1, 0600);
	expect_skipped("binary", "binary");

	cr_assert_not_null(big);
	memcpy(big, KEY1 "\n", sizeof(KEY1));
	memset(big + sizeof(KEY1), '#', NHI_DISCOVER_FILE_MAX + 2 - sizeof(KEY1));
	free(target);
	target = test_path(dir, "big");
	test_write_file(target, big, NHI_DISCOVER_FILE_MAX + 1, 0600);
	expect_skipped("big", "too large");

	free(target);
	target = test_path(dir, "k");
	free(lnk);
	lnk = test_path(dir, "hardlink");
	cr_assert_eq(link(target, lnk), 0);
	expect_skipped("hardlink", "hard link");

	free(lnk);
	lnk = test_path(dir, "adir");
	cr_assert_eq(mkdir(lnk, 0700), 0);
	expect_skipped("adir", "regular");
	free(big);
	free(target);
	free(lnk);
}

Test(static_keys, bad_lines_skipped_good_kept)
{
	struct nhi_discovery d;
	size_t len = NHI_AUTHKEYS_LINE_MAX + 100;
	char *text = malloc(len + 2 * sizeof(KEY1) + 64);

	cr_assert_not_null(text);
	memset(text, 'A', len);
	memcpy(text, "ssh-ed25519 ", 12);
	strcpy(text + len, "\ncommand=\"unterminated " KEY1 "\n" KEY1 "\n");
	write_keys("k", text, 0600);
	discover("k", &d);
	cr_assert_eq(d.n_keys, 1);
	cr_assert_eq(d.keys[0].line, 3);
	cr_assert_eq(d.n_findings, 2);
	cr_assert_eq(d.findings[0].line, 1);
	cr_assert_eq(d.findings[1].line, 2);
	nhi_discovery_clear(&d);
	free(text);
}

Test(static_keys, store_upsert_keeps_first_seen)
{
	char *db = test_path(dir, "nhi.db");
	struct nhi_store *s = NULL;
	struct nhi_static_key k = {
	        .fingerprint = "SHA256:abc",
	        .type = "ssh-ed25519",
	        .bits = 256,
	        .account = "alice",
	        .path = "/home/alice/.ssh/authorized_keys",
	        .line = 2,
	        .options = "no-pty",
	        .last_seen = 100,
	};
	struct nhi_static_key *list = NULL;
	int64_t first = 0;
	bool created = false;
	size_t n = 0;

	cr_assert_eq(nhi_store_open(db, &s), 0);
	cr_assert_eq(nhi_store_static_key_upsert(s, &k, &first, &created), 0);
	cr_assert(created);
	cr_assert_eq(first, 100);
	k.last_seen = 200;
	k.line = 5;
	k.options = NULL;
	cr_assert_eq(nhi_store_static_key_upsert(s, &k, &first, &created), 0);
	cr_assert_not(created);
	cr_assert_eq(first, 100);
	k.path = "/home/alice/.ssh/authorized_keys2";
	cr_assert_eq(nhi_store_static_key_upsert(s, &k, &first, &created), 0);
	cr_assert(created);

	cr_assert_eq(nhi_store_static_key_list(s, "alice", NULL, &list, &n), 0);
	cr_assert_eq(n, 2);
	cr_assert_eq(list[0].first_seen, 100);
	cr_assert_eq(list[0].last_seen, 200);
	cr_assert_eq(list[0].line, 5);
	cr_assert_null(list[0].options);
	cr_assert_str_eq(list[0].state, "observed");
	nhi_static_key_list_free(list, n);
	cr_assert_eq(nhi_store_static_key_list(s, "bob", NULL, &list, &n), 0);
	cr_assert_eq(n, 0);
	nhi_static_key_list_free(list, n);
	cr_assert_eq(nhi_store_static_key_list(s, NULL, "SHA256:abc", &list, &n), 0);
	cr_assert_eq(n, 2);
	nhi_static_key_list_free(list, n);
	nhi_store_close(s);
	free(db);
}

/* Pages walk the rows in id order without repeats or gaps, narrowed by
 * account or fingerprint, and end with an empty page. */
Test(static_keys, store_pages_cover_every_row_once)
{
	char *db = test_path(dir, "nhi.db");
	struct nhi_store *s = NULL;
	struct nhi_static_key k = {
	        .type = "ssh-ed25519",
	        .bits = 256,
	        .path = "/home/x/.ssh/authorized_keys",
	        .last_seen = 100,
	};
	struct nhi_static_key *list = NULL;
	char fp[32], account[16];
	int64_t first, after = 0, seen = 0;
	bool created;
	size_t n, pages = 0;

	cr_assert_eq(nhi_store_open(db, &s), 0);
	for (int i = 0; i < 25; i++) {
		snprintf(fp, sizeof(fp), "SHA256:k%d", i % 10);
		snprintf(account, sizeof(account), "u%d", i / 10);
		k.fingerprint = fp;
		k.account = account;
		k.line = i % 10 + 1;
		cr_assert_eq(nhi_store_static_key_upsert(s, &k, &first, &created), 0);
		cr_assert(created);
	}
	do {
		cr_assert_eq(nhi_store_static_key_page(s, NULL, NULL, after, 7, &list, &n), 0);
		cr_assert_leq(n, 7);
		for (size_t i = 0; i < n; i++) {
			cr_assert_gt(list[i].id, after);
			after = list[i].id;
			seen++;
		}
		nhi_static_key_list_free(list, n);
		pages++;
	} while (n > 0);
	cr_assert_eq(seen, 25);
	cr_assert_eq(pages, 5); /* 7 + 7 + 7 + 4, then the empty one */

	cr_assert_eq(nhi_store_static_key_page(s, "u1", NULL, 0, 100, &list, &n), 0);
	cr_assert_eq(n, 10);
	for (size_t i = 0; i < n; i++)
		cr_assert_str_eq(list[i].account, "u1");
	after = list[4].id;
	nhi_static_key_list_free(list, n);
	cr_assert_eq(nhi_store_static_key_page(s, "u1", NULL, after, 100, &list, &n), 0);
	cr_assert_eq(n, 5);
	nhi_static_key_list_free(list, n);
	cr_assert_eq(nhi_store_static_key_page(s, NULL, "SHA256:k3", 0, 100, &list, &n), 0);
	cr_assert_eq(n, 3); /* u0, u1, u2 */
	nhi_static_key_list_free(list, n);
	nhi_store_close(s);
	free(db);
}

/* A session opened with a static key touches every row of that account
 * holding it, and no other account's. */
Test(static_keys, store_touch_sets_last_used_of_the_accounts_rows)
{
	char *db = test_path(dir, "nhi.db");
	struct nhi_store *s = NULL;
	struct nhi_static_key k = {
	        .fingerprint = "SHA256:abc",
	        .type = "ssh-ed25519",
	        .account = "alice",
	        .path = "/home/alice/.ssh/authorized_keys",
	        .line = 1,
	        .last_seen = 100,
	};
	struct nhi_static_key *list = NULL;
	int64_t first = 0;
	bool created = false;
	size_t n = 0, touched = 9;

	cr_assert_eq(nhi_store_open(db, &s), 0);
	cr_assert_eq(nhi_store_static_key_upsert(s, &k, &first, &created), 0);
	k.path = "/home/alice/.ssh/authorized_keys2";
	cr_assert_eq(nhi_store_static_key_upsert(s, &k, &first, &created), 0);
	k.account = "bob";
	k.path = "/home/bob/.ssh/authorized_keys";
	cr_assert_eq(nhi_store_static_key_upsert(s, &k, &first, &created), 0);

	cr_assert_eq(nhi_store_static_key_touch(s, "alice", "SHA256:abc", 500, &touched), 0);
	cr_assert_eq(touched, 2);
	cr_assert_eq(nhi_store_static_key_touch(s, "alice", "SHA256:other", 500, &touched), 0);
	cr_assert_eq(touched, 0);
	cr_assert_eq(nhi_store_static_key_list(s, NULL, "SHA256:abc", &list, &n), 0);
	cr_assert_eq(n, 3);
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(list[i].last_used, strcmp(list[i].account, "alice") == 0 ? 500 : 0,
		             "%s %s", list[i].account, list[i].path);
	nhi_static_key_list_free(list, n);
	nhi_store_close(s);
	free(db);
}

Test(static_keys, store_record_returns_state_and_refreshes)
{
	char *db = test_path(dir, "nhi.db");
	struct nhi_store *s = NULL;
	struct nhi_static_key k = {
	        .fingerprint = "SHA256:def",
	        .type = "ssh-ed25519",
	        .bits = 256,
	        .account = "alice",
	        .path = "/home/alice/.ssh/authorized_keys",
	        .line = 1,
	        .comment = "laptop",
	        .last_seen = 100,
	};
	struct nhi_static_key *list = NULL;
	int64_t first = 0, until = -1;
	char *state = NULL;
	bool created = false;
	size_t n = 0;

	cr_assert_eq(nhi_store_open(db, &s), 0);
	cr_assert_eq(nhi_store_static_key_record(s, &k, &first, &created, &state, &until), 0);
	cr_assert(created);
	cr_assert_eq(first, 100);
	cr_assert_null(state);
	cr_assert_eq(until, 0);

	/* Seen again, unchanged: only last_seen moves. */
	k.last_seen = 150;
	cr_assert_eq(nhi_store_static_key_record(s, &k, &first, &created, &state, &until), 0);
	cr_assert_not(created);
	cr_assert_eq(first, 100);
	cr_assert_str_eq(state, "observed");
	free(state);
	state = NULL;

	cr_assert_eq(nhi_store_static_key_set_state(s, "SHA256:def", "alice", NULL, "excepted",
	                                            "ops", "migration", 999, NULL),
	             0);
	/* Changed: line and comment are refreshed, state and exception kept. */
	k.last_seen = 200;
	k.line = 3;
	k.comment = NULL;
	cr_assert_eq(nhi_store_static_key_record(s, &k, &first, &created, &state, &until), 0);
	cr_assert_not(created);
	cr_assert_eq(first, 100);
	cr_assert_str_eq(state, "excepted");
	cr_assert_eq(until, 999);
	free(state);

	cr_assert_eq(nhi_store_static_key_list(s, "alice", NULL, &list, &n), 0);
	cr_assert_eq(n, 1);
	cr_assert_eq(list[0].first_seen, 100);
	cr_assert_eq(list[0].last_seen, 200);
	cr_assert_eq(list[0].line, 3);
	cr_assert_null(list[0].comment);
	cr_assert_str_eq(list[0].exception_owner, "ops");
	nhi_static_key_list_free(list, n);
	nhi_store_close(s);
	free(db);
}

/* static_keys as schema version 4 made it: unique by fingerprint first. */
static const char static_keys_v4[] =
        "DROP TABLE static_keys;"
        "CREATE TABLE static_keys (id INTEGER PRIMARY KEY,"
        "  fingerprint TEXT NOT NULL, type TEXT NOT NULL, bits INTEGER,"
        "  account TEXT NOT NULL, path TEXT NOT NULL, line INTEGER, options TEXT, comment TEXT,"
        "  first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL, last_used INTEGER,"
        "  state TEXT NOT NULL DEFAULT 'observed'"
        "    CHECK (state IN ('observed','excepted','retired')),"
        "  weak INTEGER NOT NULL DEFAULT 0 CHECK (weak IN (0, 1)),"
        "  exception_owner TEXT, exception_reason TEXT, exception_until INTEGER,"
        "  UNIQUE (fingerprint, account, path));"
        "CREATE INDEX static_keys_account ON static_keys(account);"
        "INSERT INTO static_keys VALUES (7, 'SHA256:old', 'ssh-rsa', 2048, 'alice',"
        "  '/home/alice/.ssh/authorized_keys', 3, 'no-pty', 'laptop', 10, 20, 15,"
        "  'excepted', 1, 'root', 'vendor', 99);"
        "PRAGMA user_version = 4;";

static void raw_exec(const char *db, const char *sql)
{
	sqlite3 *h = NULL;
	char *msg = NULL;

	cr_assert_eq(sqlite3_open(db, &h), SQLITE_OK);
	cr_assert_eq(sqlite3_exec(h, sql, NULL, NULL, &msg), SQLITE_OK, "%s", msg);
	sqlite3_close(h);
}

/* The first column of every index on static_keys, comma-separated in
 * name order. */
static char *raw_index_leads(const char *db)
{
	static const char sql[] =
	        "SELECT group_concat(c.name) FROM (SELECT name FROM "
	        "pragma_index_list('static_keys')"
	        " ORDER BY name) AS l, pragma_index_info(l.name) AS c WHERE c.seqno = 0";
	sqlite3_stmt *st = NULL;
	sqlite3 *h = NULL;
	char *leads;

	cr_assert_eq(sqlite3_open(db, &h), SQLITE_OK);
	cr_assert_eq(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK, "%s", sqlite3_errmsg(h));
	cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
	leads = strdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	sqlite3_close(h);
	return leads;
}

Test(static_keys, version_4_rows_survive_and_keys_are_found_by_account_first)
{
	char *db = test_path(dir, "nhi.db");
	struct nhi_store *s = NULL;
	struct nhi_static_key k = {0}, dup = {
	                                       .fingerprint = "SHA256:old",
	                                       .type = "ssh-rsa",
	                                       .bits = 2048,
	                                       .account = "alice",
	                                       .path = "/home/alice/.ssh/authorized_keys",
	                                       .line = 3,
	                                       .last_seen = 30,
	                               };
	int64_t first = 0, until = 0;
	char *state = NULL, *leads;
	bool created = true;
	size_t n = 0;
	int v = 0;

	cr_assert_eq(nhi_store_open(db, &s), 0);
	nhi_store_close(s);
	raw_exec(db, static_keys_v4);
	cr_assert_eq(nhi_store_open(db, &s), 0);
	cr_assert_eq(nhi_store_schema_version(s, &v), 0);
	cr_assert_eq(v, NHI_STORE_SCHEMA_VERSION);

	/* Every column of the old row, exception included. */
	cr_assert_eq(nhi_store_static_key_get(s, "SHA256:old", "alice",
	                                      "/home/alice/.ssh/authorized_keys", &k),
	             0);
	cr_assert_str_eq(k.type, "ssh-rsa");
	cr_assert_eq(k.bits, 2048);
	cr_assert_eq(k.line, 3);
	cr_assert_str_eq(k.options, "no-pty");
	cr_assert_str_eq(k.comment, "laptop");
	cr_assert_eq(k.first_seen, 10);
	cr_assert_eq(k.last_seen, 20);
	cr_assert_str_eq(k.state, "excepted");
	cr_assert(k.weak);
	cr_assert_str_eq(k.exception_owner, "root");
	cr_assert_str_eq(k.exception_reason, "vendor");
	cr_assert_eq(k.exception_until, 99);
	nhi_static_key_clear(&k);

	/* Still one row per (account, path, fingerprint): seen again, not new. */
	cr_assert_eq(nhi_store_static_key_record(s, &dup, &first, &created, &state, &until), 0);
	cr_assert_not(created);
	cr_assert_eq(first, 10);
	cr_assert_str_eq(state, "excepted");
	cr_assert_eq(until, 99);
	free(state);

	/* One row's state by its unique key; by fingerprint alone, every row. */
	dup.path = "/home/alice/.ssh/authorized_keys2";
	cr_assert_eq(nhi_store_static_key_record(s, &dup, &first, &created, NULL, NULL), 0);
	cr_assert(created);
	cr_assert_eq(nhi_store_static_key_set_state(s, "SHA256:old", "alice", dup.path, "retired",
	                                            NULL, NULL, 0, &n),
	             0);
	cr_assert_eq(n, 1);
	cr_assert_eq(nhi_store_static_key_get(s, "SHA256:old", "alice",
	                                      "/home/alice/.ssh/authorized_keys", &k),
	             0);
	cr_assert_str_eq(k.state, "excepted");
	nhi_static_key_clear(&k);
	cr_assert_eq(nhi_store_static_key_set_state(s, "SHA256:old", NULL, NULL, "observed", NULL,
	                                            NULL, 0, &n),
	             0);
	cr_assert_eq(n, 2);
	cr_assert_eq(nhi_store_static_key_set_state(s, "SHA256:old", "bob", dup.path, "retired",
	                                            NULL, NULL, 0, &n),
	             NHI_ERR_NOT_FOUND);
	nhi_store_close(s);

	/* One index, account first: an account's keys are inserted next to
	 * each other, not on a random page per fingerprint. */
	leads = raw_index_leads(db);
	cr_assert_str_eq(leads, "account");
	free(leads);
	free(db);
}

#include <config.h>

#include <criterion/criterion.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "audit_json.h"
#include "err.h"
#include "store.h"
#include "support.h"

static char *dir;
static char *db_path;
static char *anchor_path;

static void setup(void)
{
	dir = test_mkdtemp();
	db_path = test_path(dir, "nhi.db");
	anchor_path = test_path(dir, NHI_AUDIT_ANCHOR_NAME);
}

static void teardown(void)
{
	test_rmtree(dir);
	free(anchor_path);
	free(db_path);
	free(dir);
}

TestSuite(audit, .init = setup, .fini = teardown);

static struct nhi_store *open_store(void)
{
	struct nhi_store *s = NULL;

	cr_assert_eq(nhi_store_open(db_path, &s), 0);
	return s;
}

static struct nhi_audit *open_audit(struct nhi_store *s)
{
	struct nhi_audit *a = NULL;
	int r = nhi_audit_open(s, NULL, NHI_AUDIT_NO_SYSLOG, &a);

	cr_assert_eq(r, 0, "audit open: %s", nhi_strerror(r));
	return a;
}

/* n records in one transaction, with varied contents. */
static void append_n(struct nhi_audit *a, struct nhi_store *s, unsigned n)
{
	char subject[64], detail[128];
	unsigned i;

	cr_assert_eq(nhi_store_begin(s), 0);
	for (i = 0; i < n; i++) {
		struct nhi_audit_event ev = {
		        .type = (enum nhi_audit_type)(i % NHI_AUDIT_TYPE_COUNT),
		        .actor = i % 2 ? "uid:0" : "nhid",
		        .subject = subject,
		        .detail = detail,
		};
		snprintf(subject, sizeof(subject), "identity-%u", i % 37);
		snprintf(detail, sizeof(detail), "{\"serial\":%u,\"reason\":\"r\\\"%u\"}", i, i);
		cr_assert_eq(nhi_audit_append(a, &ev, NULL), 0);
	}
	cr_assert_eq(nhi_store_commit(s), 0);
}

/* A store with n records, closed again; the anchor file is at n. */
static void make_trail(unsigned n)
{
	struct nhi_store *s = open_store();
	struct nhi_audit *a = open_audit(s);

	append_n(a, s, n);
	nhi_audit_close(a);
	nhi_store_close(s);
}

static void raw_exec(const char *sql)
{
	sqlite3 *db = NULL;
	char *msg = NULL;

	cr_assert_eq(sqlite3_open(db_path, &db), SQLITE_OK);
	cr_assert_eq(sqlite3_exec(db, sql, NULL, NULL, &msg), SQLITE_OK, "%s: %s", sql, msg);
	sqlite3_close(db);
}

static int verify(struct nhi_audit_report *rep)
{
	struct nhi_audit_anchor anchor;
	struct nhi_store *s = open_store();
	int r;

	cr_assert_eq(nhi_audit_anchor_read(anchor_path, &anchor), 0);
	r = nhi_audit_verify(s, &anchor, rep);
	nhi_store_close(s);
	return r;
}

static void expect_fault(enum nhi_audit_fault fault, uint64_t seq)
{
	struct nhi_audit_report rep;

	cr_assert_eq(verify(&rep), NHI_ERR_AUDIT_BROKEN);
	cr_assert_eq(rep.fault, fault, "fault %d, want %d: %s", rep.fault, fault, rep.reason);
	cr_assert_eq(rep.bad_seq, seq, "bad seq %llu, want %llu: %s",
	             (unsigned long long)rep.bad_seq, (unsigned long long)seq, rep.reason);
	cr_log_info("detected: %s", rep.reason);
}

Test(audit, thousand_records_verify_and_are_anchored)
{
	struct nhi_audit_anchor anchor;
	struct nhi_audit_report rep;

	make_trail(1000);
	cr_assert_eq(nhi_audit_anchor_read(anchor_path, &anchor), 0);
	cr_assert_eq(anchor.seq, 1000);
	cr_assert_eq(verify(&rep), 0, "%s", rep.reason);
	cr_assert_eq(rep.fault, NHI_AUDIT_FAULT_NONE);
	cr_assert_eq(rep.checked, 1000);
	cr_assert_eq(rep.last_seq, 1000);
	cr_assert_eq(rep.unanchored, 0);
	cr_assert_eq(memcmp(rep.last_hash, anchor.hash, NHI_AUDIT_HASH_LEN), 0);
}

Test(audit, anchor_file_is_private)
{
	struct stat st;

	make_trail(1);
	cr_assert_eq(stat(anchor_path, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600);
}

Test(audit, modified_field_names_the_record)
{
	make_trail(1000);
	raw_exec("UPDATE audit SET subject = 'someone-else' WHERE seq = 500");
	expect_fault(NHI_AUDIT_FAULT_HASH, 500);
}

Test(audit, modified_time_names_the_record)
{
	make_trail(100);
	raw_exec("UPDATE audit SET time = time - 3600 WHERE seq = 42");
	expect_fault(NHI_AUDIT_FAULT_HASH, 42);
}

Test(audit, hidden_text_after_a_nul_is_caught)
{
	make_trail(100);
	/* Same C string, different stored bytes. */
	raw_exec("UPDATE audit SET detail = detail || char(0) || 'x' WHERE seq = 7");
	expect_fault(NHI_AUDIT_FAULT_MALFORMED, 7);
}

Test(audit, deleted_record_names_the_gap)
{
	make_trail(1000);
	raw_exec("DELETE FROM audit WHERE seq = 500");
	expect_fault(NHI_AUDIT_FAULT_MISSING, 500);
}

/* Moves records k.. up by one, making room for a forgery at k. */
static void make_room_at(unsigned k)
{
	char sql[256];

	snprintf(sql, sizeof(sql),
	         "UPDATE audit SET seq = -seq WHERE seq >= %u;"
	         "UPDATE audit SET seq = 1 - seq WHERE seq < 0;",
	         k);
	raw_exec(sql);
}

static void insert_forged(unsigned k, bool well_hashed)
{
	struct nhi_audit_record r = {
	        .seq = k,
	        .time = 1,
	        .usec = 0,
	        .type = "issue",
	        .actor = "uid:0",
	        .subject = "mallory",
	        .detail = "{}",
	};
	struct nhi_store *s = open_store();
	sqlite3_stmt *st = NULL;
	sqlite3 *db = NULL;

	cr_assert_eq(nhi_store_audit_hash_at(s, k - 1, r.prev_hash), 0);
	nhi_store_close(s);
	if (well_hashed)
		cr_assert_eq(nhi_audit_record_hash(&r, r.hash), 0);
	else
		memset(r.hash, 0xab, sizeof(r.hash));
	cr_assert_eq(sqlite3_open(db_path, &db), SQLITE_OK);
	cr_assert_eq(sqlite3_prepare_v2(db,
	                                "INSERT INTO audit VALUES (?1, 1, 0, 'issue', 'uid:0',"
	                                " 'mallory', '{}', ?2, ?3)",
	                                -1, &st, NULL),
	             SQLITE_OK);
	sqlite3_bind_int64(st, 1, k);
	sqlite3_bind_blob(st, 2, r.prev_hash, NHI_AUDIT_HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_blob(st, 3, r.hash, NHI_AUDIT_HASH_LEN, SQLITE_STATIC);
	cr_assert_eq(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	sqlite3_close(db);
}

Test(audit, inserted_forgery_names_it)
{
	make_trail(1000);
	make_room_at(500);
	insert_forged(500, false);
	expect_fault(NHI_AUDIT_FAULT_HASH, 500);
}

Test(audit, inserted_well_hashed_forgery_breaks_the_next_link)
{
	/* A forger who knows the hash function makes record 500 itself look
	 * right; the chain then breaks at the record after it, which still
	 * points at the original 499. */
	make_trail(1000);
	make_room_at(500);
	insert_forged(500, true);
	expect_fault(NHI_AUDIT_FAULT_LINK, 501);
}

Test(audit, swapped_records_name_the_first)
{
	make_trail(1000);
	raw_exec("UPDATE audit SET seq = -1 WHERE seq = 300;"
	         "UPDATE audit SET seq = 300 WHERE seq = 700;"
	         "UPDATE audit SET seq = 700 WHERE seq = -1;");
	expect_fault(NHI_AUDIT_FAULT_LINK, 300);
}

Test(audit, truncated_tail_is_caught_by_the_anchor)
{
	struct nhi_store *s;
	struct nhi_audit *a = NULL;

	make_trail(1000);
	raw_exec("DELETE FROM audit WHERE seq > 997");
	expect_fault(NHI_AUDIT_FAULT_TRUNCATED, 998);
	/* And the writer refuses to extend the cut chain. */
	s = open_store();
	cr_assert_eq(nhi_audit_open(s, NULL, NHI_AUDIT_NO_SYSLOG, &a), NHI_ERR_AUDIT_BROKEN);
	cr_assert_null(a);
	nhi_store_close(s);
}

Test(audit, rewritten_tail_is_caught_by_the_anchor)
{
	char *other = test_path(dir, "forger.head");
	struct nhi_audit *a = NULL;
	struct nhi_store *s;

	/* Cut the last 3 and append 3 others with a writer of the forger's own:
	 * a valid chain of 1000 again, but not the anchored record 1000. */
	make_trail(1000);
	raw_exec("DELETE FROM audit WHERE seq > 997");
	s = open_store();
	cr_assert_eq(nhi_audit_open(s, other, NHI_AUDIT_NO_SYSLOG, &a), 0);
	append_n(a, s, 3);
	nhi_audit_close(a);
	nhi_store_close(s);
	expect_fault(NHI_AUDIT_FAULT_ANCHOR, 1000);
	free(other);
}

Test(audit, edited_anchor_is_caught)
{
	struct nhi_audit_anchor anchor, edited;
	char text[256];

	make_trail(1000);
	cr_assert_eq(nhi_audit_anchor_read(anchor_path, &anchor), 0);

	edited = anchor;
	edited.hash[5] ^= 1;
	cr_assert_eq(nhi_audit_anchor_write(anchor_path, &edited), 0);
	expect_fault(NHI_AUDIT_FAULT_ANCHOR, 1000);

	edited = anchor;
	edited.seq = 990;
	cr_assert_eq(nhi_audit_anchor_write(anchor_path, &edited), 0);
	expect_fault(NHI_AUDIT_FAULT_ANCHOR, 990);

	edited = anchor;
	edited.seq = 1005;
	cr_assert_eq(nhi_audit_anchor_write(anchor_path, &edited), 0);
	expect_fault(NHI_AUDIT_FAULT_TRUNCATED, 1001);

	/* A mangled file does not parse at all. */
	snprintf(text, sizeof(text), "nhi-audit-head 1 1000 %064d\nextra\n", 0);
	test_write_file(anchor_path, text, strlen(text), 0600);
	cr_assert_eq(nhi_audit_anchor_read(anchor_path, &edited), NHI_ERR_INVALID_FORMAT);
	test_write_file(anchor_path, "nhi-audit-head 1 -1 00\n", 23, 0600);
	cr_assert_eq(nhi_audit_anchor_read(anchor_path, &edited), NHI_ERR_INVALID_FORMAT);
}

Test(audit, anchor_that_lags_is_not_a_fault)
{
	struct nhi_audit_anchor anchor;
	struct nhi_audit_report rep;

	/* As after a crash between the commit and the anchor write. */
	make_trail(10);
	cr_assert_eq(nhi_audit_anchor_read(anchor_path, &anchor), 0);
	make_trail(5);
	cr_assert_eq(nhi_audit_anchor_write(anchor_path, &anchor), 0);
	cr_assert_eq(verify(&rep), 0, "%s", rep.reason);
	cr_assert_eq(rep.last_seq, 15);
	cr_assert_eq(rep.unanchored, 5);
}

Test(audit, records_share_the_callers_transaction)
{
	struct nhi_audit_event ev = {.type = NHI_AUDIT_ISSUE, .actor = "nhid", .subject = "x"};
	struct nhi_audit_anchor anchor;
	struct nhi_audit_report rep;
	struct nhi_store *s = open_store();
	struct nhi_audit *a = open_audit(s);
	uint64_t seq = 0;

	cr_assert_eq(nhi_audit_append(a, &ev, &seq), 0);
	cr_assert_eq(seq, 1);
	cr_assert_eq(nhi_store_begin(s), 0);
	cr_assert_eq(nhi_audit_append(a, &ev, &seq), 0);
	cr_assert_eq(seq, 2);
	cr_assert_eq(nhi_store_rollback(s), 0);
	/* Rolled back: neither stored nor anchored; the next takes seq 2. */
	cr_assert_eq(nhi_audit_anchor_read(anchor_path, &anchor), 0);
	cr_assert_eq(anchor.seq, 1);
	cr_assert_eq(nhi_store_begin(s), 0);
	cr_assert_eq(nhi_store_meta_set(s, "issued", "yes"), 0);
	cr_assert_eq(nhi_audit_append(a, &ev, &seq), 0);
	cr_assert_eq(seq, 2);
	cr_assert_eq(nhi_audit_anchor_read(anchor_path, &anchor), 0);
	cr_assert_eq(anchor.seq, 1, "not anchored before the commit");
	cr_assert_eq(nhi_store_commit(s), 0);
	cr_assert_eq(nhi_audit_anchor_read(anchor_path, &anchor), 0);
	cr_assert_eq(anchor.seq, 2);
	cr_assert_eq(nhi_audit_verify(s, &anchor, &rep), 0, "%s", rep.reason);
	nhi_audit_close(a);
	nhi_store_close(s);
}

Test(audit, bad_events_are_refused)
{
	struct nhi_store *s = open_store();
	struct nhi_audit *a = open_audit(s);
	struct nhi_audit_event ev = {.type = NHI_AUDIT_DENY, .actor = "uid:1000", .subject = "x"};
	static const char *const bad_details[] = {
	        "",
	        "[]",
	        "{\"a\":{\"b\":1}}",
	        "{\"a\":[1]}",
	        "{\"a\":1,}",
	        "{\"a\" 1}",
	        "{\"a\":01}",
	        "{\"a\":\"\x01\"}",
	        "{\"a\":\"\xff\"}",
	        "{} {}",
	        "{\"a\":tru}",
	};
	size_t i;

	for (i = 0; i < sizeof(bad_details) / sizeof(bad_details[0]); i++) {
		ev.detail = bad_details[i];
		cr_assert_eq(nhi_audit_append(a, &ev, NULL), NHI_ERR_INVALID_FORMAT, "%zu", i);
	}
	ev.detail = " { \"a\" : -1.5e3 , \"b\":null,\"c\":true,\"d\":\"\\u00e9\\n\" } ";
	cr_assert_eq(nhi_audit_append(a, &ev, NULL), 0);
	ev.type = NHI_AUDIT_TYPE_COUNT;
	cr_assert_eq(nhi_audit_append(a, &ev, NULL), NHI_ERR_INVALID_ARGUMENT);
	ev.type = NHI_AUDIT_DENY;
	ev.actor = NULL;
	cr_assert_eq(nhi_audit_append(a, &ev, NULL), NHI_ERR_INVALID_ARGUMENT);
	nhi_audit_close(a);
	nhi_store_close(s);
}

Test(audit, type_names_round_trip)
{
	enum nhi_audit_type t;
	unsigned i;

	for (i = 0; i < NHI_AUDIT_TYPE_COUNT; i++) {
		cr_assert_not_null(nhi_audit_type_name((enum nhi_audit_type)i));
		cr_assert_eq(
		        nhi_audit_type_from_name(nhi_audit_type_name((enum nhi_audit_type)i), &t),
		        0);
		cr_assert_eq(t, i);
	}
	cr_assert_str_eq(nhi_audit_type_name(NHI_AUDIT_IDENTITY_CHANGE), "identity-change");
	cr_assert_eq(nhi_audit_type_from_name("nope", &t), NHI_ERR_INVALID_ARGUMENT);
}

Test(audit, detail_builder_escapes_everything)
{
	struct nhi_audit_detail *d = NULL;
	const char *text;

	cr_assert_eq(nhi_audit_detail_new(&d), 0);
	cr_assert_str_eq(nhi_audit_detail_text(d), "{}");
	cr_assert_eq(nhi_audit_detail_str(d, "name", "a\"b\\c\nd\x01\xff\xc3\xa9"), 0);
	cr_assert_eq(nhi_audit_detail_int(d, "serial", -42), 0);
	cr_assert_eq(nhi_audit_detail_bool(d, "pty", false), 0);
	cr_assert_eq(nhi_audit_detail_str(d, "key\"", NULL), 0);
	text = nhi_audit_detail_text(d);
	cr_assert_str_eq(text, "{\"name\":\"a\\\"b\\\\c\\nd\\u0001\\u00ff\xc3\xa9\","
	                       "\"serial\":-42,\"pty\":false,\"key\\\"\":null}");
	cr_assert(nhi_json_is_flat_object(text, strlen(text)));
	cr_assert_eq(nhi_audit_detail_str(d, NULL, "x"), NHI_ERR_INVALID_ARGUMENT);
	cr_assert_null(nhi_audit_detail_text(d), "an error sticks");
	nhi_audit_detail_free(d);
	nhi_audit_detail_free(NULL);
}

Test(audit, hundred_thousand_records_verify)
{
	struct nhi_audit_anchor anchor;
	struct nhi_audit_report rep;
	struct nhi_store *s;
	struct timespec t0, t1;

	make_trail(100000);
	s = open_store();
	cr_assert_eq(nhi_audit_anchor_read(anchor_path, &anchor), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	cr_assert_eq(nhi_audit_verify(s, &anchor, &rep), 0, "%s", rep.reason);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	cr_assert_eq(rep.checked, 100000);
	cr_log_info("verified 100000 records in %.3f s",
	            (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	nhi_store_close(s);
}

static void append_hostile(struct nhi_audit *a)
{
	struct nhi_audit_detail *d = NULL;
	struct nhi_audit_event ev = {
	        .type = NHI_AUDIT_DENY,
	        .actor = "uid:1000\n\"forged\":1",
	        .subject = "'; DROP TABLE audit; -- \x01\xfe\xf0\x9f\x98\x80",
	};

	cr_assert_eq(nhi_audit_detail_new(&d), 0);
	cr_assert_eq(nhi_audit_detail_str(d, "why", "}\n{\"seq\":0}"), 0);
	ev.detail = nhi_audit_detail_text(d);
	cr_assert_eq(nhi_audit_append(a, &ev, NULL), 0);
	nhi_audit_detail_free(d);
}

Test(audit, json_export_lines_parse)
{
	char *out_path = test_path(dir, "export.jsonl");
	struct nhi_store *s = open_store();
	struct nhi_audit *a = open_audit(s);
	char *text, *line, *save = NULL, *output = NULL;
	size_t len = 0, lines = 0;
	FILE *f;
	int status;

	append_n(a, s, 50);
	append_hostile(a);
	f = fopen(out_path, "w");
	cr_assert_not_null(f);
	cr_assert_eq(nhi_audit_export_json(s, 1, f), 0);
	fclose(f);
	nhi_audit_close(a);
	nhi_store_close(s);

	text = test_read_file(out_path, &len);
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		lines++;
		cr_assert(strncmp(line, "{\"seq\":", 7) == 0, "%s", line);
		cr_assert(strstr(line, "\"hash\":\""), "%s", line);
		cr_assert_eq(line[strlen(line) - 1], '}');
	}
	cr_assert_eq(lines, 51, "one line per record, none split by hostile text");
	free(text);

	if (access("/usr/bin/python3", X_OK) == 0) {
		char *argv[] = {"/usr/bin/python3", "-c",
		                "import json,sys\n"
		                "rows=[json.loads(l) for l in open(sys.argv[1])]\n"
		                "assert [r['seq'] for r in rows]==list(range(1,52))\n"
		                "assert all(len(r['hash'])==64 for r in rows)\n"
		                "assert rows[-1]['detail']['why']=='}\\n{\"seq\":0}'\n"
		                "assert rows[-1]['actor']=='uid:1000\\n\"forged\":1'\n",
		                out_path, NULL};

		status = test_run(argv, &output);
		cr_assert_eq(status, 0, "python3: %s", output ? output : "");
		free(output);
	}
	free(out_path);
}

Test(audit, tail_iterates_the_last_records)
{
	struct nhi_store *s = open_store();
	struct nhi_audit *a = open_audit(s);
	const struct nhi_audit_record *r;
	struct nhi_audit_iter *it = NULL;
	uint64_t want = 18;

	append_n(a, s, 20);
	cr_assert_eq(nhi_audit_iter_open_tail(s, 3, &it), 0);
	while (nhi_audit_iter_next(it, &r) == 0 && r) {
		cr_assert_eq(r->seq, want);
		want++;
	}
	cr_assert_eq(want, 21);
	nhi_audit_iter_free(it);
	cr_assert_eq(nhi_audit_iter_open_tail(s, 100, &it), 0);
	cr_assert_eq(nhi_audit_iter_next(it, &r), 0);
	cr_assert_eq(r->seq, 1);
	nhi_audit_iter_free(it);
	nhi_audit_close(a);
	nhi_store_close(s);
}

Test(audit, missing_anchor_is_recreated_at_the_head)
{
	struct nhi_audit_anchor anchor;
	struct nhi_store *s;
	struct nhi_audit *a;

	make_trail(10);
	cr_assert_eq(unlink(anchor_path), 0);
	cr_assert_eq(nhi_audit_anchor_read(anchor_path, &anchor), NHI_ERR_NOT_FOUND);
	s = open_store();
	a = open_audit(s);
	cr_assert_eq(nhi_audit_anchor_read(anchor_path, &anchor), 0);
	cr_assert_eq(anchor.seq, 10);
	nhi_audit_close(a);
	nhi_store_close(s);
}

/* The daemon's anchor thread: the anchor trails the head only while writes
 * are in flight, never names an uncommitted record, and close leaves it at
 * the last committed head. */
Test(audit, async_anchor_reaches_the_head_at_close)
{
	struct nhi_store *s = open_store();
	struct nhi_audit *a = NULL;
	struct nhi_audit_anchor anchor;
	struct nhi_audit_report rep;
	int r = nhi_audit_open(s, NULL, NHI_AUDIT_NO_SYSLOG | NHI_AUDIT_ANCHOR_ASYNC, &a);

	cr_assert_eq(r, 0, "audit open: %s", nhi_strerror(r));
	for (unsigned i = 0; i < 50; i++) {
		append_n(a, s, 3);
		cr_assert_eq(nhi_audit_anchor_read(anchor_path, &anchor), 0);
		cr_assert_leq(anchor.seq, 3 * (i + 1));
		cr_assert_eq(anchor.seq % 3, 0, "anchor at %llu: inside a transaction",
		             (unsigned long long)anchor.seq);
	}
	/* A rolled back transaction moves nothing. */
	cr_assert_eq(nhi_store_begin(s), 0);
	{
		struct nhi_audit_event ev = {
		        .type = NHI_AUDIT_ISSUE, .actor = "nhid", .subject = "x", .detail = "{}"};
		cr_assert_eq(nhi_audit_append(a, &ev, NULL), 0);
	}
	nhi_store_rollback(s);
	nhi_audit_close(a);
	nhi_store_close(s);
	cr_assert_eq(nhi_audit_anchor_read(anchor_path, &anchor), 0);
	cr_assert_eq(anchor.seq, 150);
	cr_assert_eq(verify(&rep), 0, "%s", rep.reason);
	cr_assert_eq(rep.unanchored, 0);
	cr_assert_eq(memcmp(rep.last_hash, anchor.hash, NHI_AUDIT_HASH_LEN), 0);
}

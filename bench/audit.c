/* Audit trail verification against the floor of reading and hashing the
 * same records, in the same run:
 *
 *   verify  nhi_audit_verify, what `nhictl audit verify` runs: every
 *           record's hash recomputed from its fields, every link to the
 *           previous record, the chain reaching the head anchor;
 *   floor   one SELECT of the same rows in the same order, each row's
 *           columns hashed once with SHA-256 and nothing compared: no
 *           verification can read and hash less.
 *
 * The trail is made first in a temporary directory: RECORDS records
 * through nhi_audit_append, varied types, actors, subjects and JSON
 * details of the sizes issuance writes. Rounds alternate the two and each
 * keeps its best, so a burst of other load favours neither. DESIGN.md
 * budgets 1 000 000 records in 2 s.
 *
 * usage: audit [-n RECORDS] [-r ROUNDS] */
#include "config.h"

#include <errno.h>
#include <openssl/evp.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "bench_util.h"
#include "err.h"
#include "store.h"

#define APPEND_TXN 50000u /* records per transaction while the trail is made */

/* RECORDS records, with an anchor at the last; what an issuing broker
 * writes, in shape and size. */
static void make_trail(const char *db, const char *anchor, unsigned n)
{
	char subject[64], detail[256];
	struct nhi_store *s = NULL;
	struct nhi_audit *a = NULL;
	int r;

	if ((r = nhi_store_open(db, &s)) < 0 || (r = nhi_audit_open(s, anchor, NHI_AUDIT_NO_SYSLOG,
	                                                            &a)) < 0)
		bench_die("opening the store", r);
	for (unsigned i = 0; i < n; i++) {
		struct nhi_audit_event ev = {
		        .type = i % 5 ? NHI_AUDIT_ISSUE : NHI_AUDIT_SESSION,
		        .actor = i % 3 ? "uid:1000" : "uid:0",
		        .subject = subject,
		        .detail = detail,
		};

		snprintf(subject, sizeof(subject), "backup-bot-%u", i % 97);
		snprintf(detail, sizeof(detail),
		         "{\"serial\":%u,\"key_id\":\"nhi:backup-bot-%u:%u\",\"principals\":"
		         "\"backup,ops\",\"valid_after\":%u,\"valid_before\":%u,\"pty\":false}",
		         i, i % 97, i, 1700000000u + i, 1700003600u + i);
		if (i % APPEND_TXN == 0 && (r = nhi_store_begin(s)) < 0)
			bench_die("begin", r);
		if ((r = nhi_audit_append(a, &ev, NULL)) < 0)
			bench_die("append", r);
		if ((i + 1) % APPEND_TXN == 0 || i + 1 == n)
			if ((r = nhi_store_commit(s)) < 0)
				bench_die("commit", r);
	}
	nhi_audit_close(a);
	nhi_store_close(s);
}

static double run_verify(const char *db, const char *anchor_path, unsigned n)
{
	struct nhi_audit_anchor anchor;
	struct nhi_audit_report rep;
	struct nhi_store *s = NULL;
	double t0, t;
	int r;

	if ((r = nhi_store_open_readonly(db, &s)) < 0 ||
	    (r = nhi_audit_anchor_read(anchor_path, &anchor)) < 0)
		bench_die("opening the trail", r);
	t0 = bench_now_s();
	r = nhi_audit_verify(s, &anchor, &rep);
	t = bench_now_s() - t0;
	if (r < 0 || rep.checked != n || rep.unanchored != 0) {
		fprintf(stderr, "audit: verify: %s (%llu records checked)\n",
		        r < 0 ? rep.reason : "not every record", (unsigned long long)rep.checked);
		exit(1);
	}
	nhi_store_close(s);
	return t;
}

/* Every row read and its columns hashed: what verification cannot avoid. */
static double run_floor(const char *db, unsigned n)
{
	unsigned char md[EVP_MAX_MD_SIZE], folded = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_MD *sha = EVP_MD_fetch(NULL, "SHA256", NULL);
	sqlite3_stmt *st = NULL;
	sqlite3 *h = NULL;
	unsigned rows = 0, len;
	double t0, t;
	int rc;

	if (ctx == NULL || sha == NULL)
		bench_die("SHA-256", NHI_ERR_CRYPTO);
	if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(h,
	                       "SELECT seq, time, usec, type, actor, subject, detail, prev_hash, "
	                       "hash FROM audit ORDER BY seq",
	                       -1, &st, NULL) != SQLITE_OK)
		bench_die("sqlite", NHI_ERR_STORE);
	t0 = bench_now_s();
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		EVP_DigestInit_ex(ctx, sha, NULL);
		/* seq, time and usec as the integers they are stored as (a
		 * blob read would convert them to text first); the rest as
		 * stored bytes. */
		for (int c = 0; c < 3; c++) {
			sqlite3_int64 v = sqlite3_column_int64(st, c);

			EVP_DigestUpdate(ctx, &v, sizeof(v));
		}
		for (int c = 3; c < 9; c++) {
			const void *p = sqlite3_column_blob(st, c);

			if (p != NULL)
				EVP_DigestUpdate(ctx, p, (size_t)sqlite3_column_bytes(st, c));
		}
		EVP_DigestFinal_ex(ctx, md, &len);
		folded ^= md[0];
		rows++;
	}
	t = bench_now_s() - t0;
	if (rc != SQLITE_DONE || rows != n)
		bench_die("reading the trail", NHI_ERR_STORE);
	sqlite3_finalize(st);
	sqlite3_close(h);
	EVP_MD_free(sha);
	EVP_MD_CTX_free(ctx);
	/* Used, so the hashing cannot be optimised away. */
	if (folded == 0 && rows == 0)
		printf("\n");
	return t;
}

int main(int argc, char **argv)
{
	const char *tmpdir = getenv("TMPDIR");
	unsigned n = 1000000, rounds = 3;
	double made, verify = 1e9, floor = 1e9;
	char *dir, *db, *anchor;
	int c;

	while ((c = getopt(argc, argv, "n:r:")) != -1) {
		switch (c) {
		case 'n':
			n = bench_parse_count(optarg, 100000000);
			break;
		case 'r':
			rounds = bench_parse_count(optarg, 100000000);
			break;
		default:
			fprintf(stderr, "usage: audit [-n RECORDS] [-r ROUNDS]\n");
			return 2;
		}
	}
	if (asprintf(&dir, "%s/nhi-bench-audit.XXXXXX", tmpdir != NULL ? tmpdir : "/tmp") < 0 ||
	    mkdtemp(dir) == NULL || asprintf(&db, "%s/nhi.db", dir) < 0 ||
	    (anchor = nhi_audit_anchor_path(db)) == NULL)
		bench_die("temporary directory", 0);

	made = bench_now_s();
	make_trail(db, anchor, n);
	made = bench_now_s() - made;
	for (unsigned i = 0; i < rounds; i++) {
		double v = run_verify(db, anchor, n), f = run_floor(db, n);

		verify = v < verify ? v : verify;
		floor = f < floor ? f : floor;
	}
	bench_rmtree(dir);

	printf("audit: %u records (made in %.1f s through nhi_audit_append), best of %u rounds\n",
	       n, made, rounds);
	printf("  %-46s %8.3f s   %6.2f us/record\n", "verify (nhi_audit_verify, anchor included)",
	       verify, 1e6 * verify / n);
	printf("  %-46s %8.3f s   %6.2f us/record\n", "floor (one SELECT, SHA-256 of each row)",
	       floor, 1e6 * floor / n);
	printf("ratio verify / floor: %.2f\n", verify / floor);
	printf("verify at 1 000 000 records: %.2f s (design budget: <= 2 s)\n",
	       verify * 1000000.0 / n);
	free(anchor);
	free(db);
	free(dir);
	return 0;
}

/* broker/store_revoked_key.c: keys revoked by fingerprint, kept once, listed
 * in order for the KRL. */
#include <config.h>

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "store.h"
#include "store_revoked_key.h"
#include "support.h"

#define FP_A "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
#define FP_B "SHA256:BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"

static char *dir, *db_path;
static struct nhi_store *s;

static void setup(void)
{
	int r;

	dir = test_mkdtemp();
	db_path = test_path(dir, "nhi.db");
	cr_assert_eq(r = nhi_store_open(db_path, &s), 0, "open: %s", nhi_strerror(r));
}

static void teardown(void)
{
	nhi_store_close(s);
	test_rmtree(dir);
	free(db_path);
	free(dir);
}

TestSuite(store_revoked_key, .init = setup, .fini = teardown);

static int add(const char *fp, const char *reason, bool *ret_added)
{
	int r;

	cr_assert_eq(nhi_store_begin(s), 0);
	r = nhi_store_revoked_key_add(s, fp, 1000, reason, "uid:0", ret_added);
	if (r == 0)
		cr_assert_eq(nhi_store_commit(s), 0);
	else
		nhi_store_rollback(s);
	return r;
}

Test(store_revoked_key, added_once_and_listed_in_order)
{
	char **fps = NULL;
	size_t n = 0;
	bool added;

	cr_assert_eq(nhi_store_revoked_key_list(s, &fps, &n), 0);
	cr_assert_eq(n, 0);
	nhi_strv_free(fps, n);
	cr_assert_eq(add(FP_B, "lost", &added), 0);
	cr_assert(added);
	cr_assert_eq(add(FP_A, "stolen", &added), 0);
	cr_assert(added);
	cr_assert_eq(add(FP_B, "again", &added), 0);
	cr_assert_not(added, "a second revocation must not replace the first");
	cr_assert_eq(nhi_store_revoked_key_list(s, &fps, &n), 0);
	cr_assert_eq(n, 2);
	cr_assert_str_eq(fps[0], FP_A);
	cr_assert_str_eq(fps[1], FP_B);
	nhi_strv_free(fps, n);
}

Test(store_revoked_key, malformed_fingerprints_are_refused)
{
	char **fps = NULL;
	size_t n = 0;
	bool added;

	cr_assert_lt(add("SHA256:short", "x", &added), 0);
	cr_assert_lt(add("MD5:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "x", &added), 0);
	cr_assert_eq(nhi_store_revoked_key_add(s, NULL, 1, "x", "y", &added),
	             NHI_ERR_INVALID_ARGUMENT);
	cr_assert_eq(nhi_store_revoked_key_list(s, &fps, &n), 0);
	cr_assert_eq(n, 0);
	nhi_strv_free(fps, n);
}

Test(store_revoked_key, needs_a_transaction)
{
	bool added;

	cr_assert_eq(nhi_store_revoked_key_add(s, FP_A, 1, "x", "uid:0", &added),
	             NHI_ERR_STORE_TRANSACTION);
}
